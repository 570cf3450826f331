//! WebRTC data channels (RFC 8831/8832 over DTLS/SCTP/ICE, webrtc-rs) on loopback, negotiated in
//! SIP with [`proto::sdp`]: one [`Peer`] is one SCTP association (one `m=application` section).
//!
//! Every channel is negotiated (RFC 8864 `a=dcmap`, no in-band DCEP): both sides create it from
//! the dcmap ids before the offer (or the answer) is made. The SIP-facing SDP is the project's
//! own ([`proto::sdp::Application`]); the engine is handed a minimal SDP made from it, and what
//! the engine writes (ICE credentials, host candidate, fingerprint, setup) is read back into it.
//!
//! Trace. Opening, every message (HTTP shown as HTTP, JSON as JSON, anything else as hex) and
//! closing are recorded on the node's [`Tap`] with the stream id and label, as `Proto::Dc`
//! messages between the two peers' ICE addresses. An open is recorded when the owner asks
//! ([`Peer::wait_open`]) so the trace does not depend on SCTP timing.
//!
//! Bounds. Gathering, connecting and receiving all have a limit; a peer that never answers ICE
//! fails [`Peer::wait_open`] with an error that says so. [`Peer::close`] ends the channels, the
//! peer connection and every task this module started.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};

use kit::tap::Tap;
use proto::clock::Rng;
use proto::sdp::{self, Application, DcMap};
use proto::trace::{Act, Message, Note, Reason};

/// What went wrong with a data channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcError {
    #[error("WebRTC engine: {0}")]
    Engine(String),
    #[error("SDP: {0}")]
    Sdp(String),
    #[error("the m=application section was declined (port 0)")]
    Declined,
    #[error(
        "ICE/DTLS/SCTP to {remote} not up within {ms} ms ({state}): the data channels are not available"
    )]
    NotConnected {
        remote: String,
        ms: u64,
        state: String,
    },
    #[error("no stream {0} on this association")]
    NoStream(u16),
    #[error("nothing received on stream {stream} within {ms} ms")]
    Timeout { stream: u16, ms: u64 },
    #[error("the data channels are closed")]
    Closed,
}

impl DcError {
    /// The trace's reason for it.
    pub fn reason(&self) -> Reason {
        match self {
            DcError::Engine(_) | DcError::NoStream(_) => Reason::Unreachable,
            DcError::Sdp(_) => Reason::Malformed,
            DcError::Declined => Reason::Declined,
            DcError::NotConnected { .. } => Reason::NotConnected,
            DcError::Timeout { .. } => Reason::Timeout,
            DcError::Closed => Reason::Closed,
        }
    }
}

fn engine(e: impl std::fmt::Display) -> DcError {
    DcError::Engine(e.to_string())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DcTimers {
    /// ICE connectivity-check interval while connecting.
    pub ice_check: Duration,
    /// STUN keepalive once connected (also the agent's tick).
    pub ice_keepalive: Duration,
    /// Bound on ICE gathering (host candidates on loopback: immediate).
    pub gather: Duration,
    /// Bound on ICE + DTLS + SCTP from the answer to open channels.
    pub connect: Duration,
}

impl Default for DcTimers {
    /// A 5 ms check interval while connecting and a 40 ms keepalive once connected (the ICE
    /// agent ticks at min(200 ms, keepalive), and DTLS/SCTP progress waits for its ticks: 40 ms
    /// brings the first message ~48 ms after the answer on loopback, against ~208 ms with a 1 s
    /// keepalive, at 25 small STUN indications a second per association); 3 s to connect.
    fn default() -> Self {
        Self {
            ice_check: Duration::from_millis(5),
            ice_keepalive: Duration::from_millis(40),
            gather: Duration::from_secs(2),
            connect: Duration::from_secs(3),
        }
    }
}

/// Who owns a peer and how it is named in the trace.
#[derive(Debug, Clone)]
pub struct DcOwner {
    pub node: String,
    pub tap: Tap,
    pub timers: DcTimers,
}

/// The engine-side mid. The SIP-facing mid is the SDP's own; the engine sees one section only.
const ENGINE_MID: &str = "0";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Conn {
    New,
    Connected,
    Failed(String),
    Closed,
}

struct Handler {
    gathered: watch::Sender<bool>,
    conn: watch::Sender<Conn>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let next = match state {
            RTCPeerConnectionState::Connected => Conn::Connected,
            RTCPeerConnectionState::Failed => Conn::Failed("failed".into()),
            RTCPeerConnectionState::Closed => Conn::Closed,
            _ => return,
        };
        let _ = self.conn.send(next);
    }
}

struct Channel {
    map: DcMap,
    dc: Arc<dyn DataChannel>,
    open: watch::Receiver<bool>,
    inbox: tokio::sync::Mutex<mpsc::Receiver<Vec<u8>>>,
}

/// One SCTP association and its negotiated data channels.
pub struct Peer {
    owner: DcOwner,
    pc: Arc<dyn PeerConnection>,
    conn: watch::Receiver<Conn>,
    channels: BTreeMap<u16, Arc<Channel>>,
    local: SocketAddr,
    remote: Mutex<Option<SocketAddr>>,
    /// SIP-facing mid.
    mid: String,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    opened: Mutex<bool>,
    closed: Mutex<bool>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("node", &self.owner.node)
            .field("local", &self.local)
            .field("mid", &self.mid)
            .field("streams", &self.channels.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The minimal SDP the engine is given for a section.
fn engine_sdp(app: &Application) -> String {
    let mut a = app.clone();
    a.mid = ENGINE_MID.into();
    a.dcmaps.clear();
    a.dcsa.clear();
    let session = sdp::Session {
        session_id: 1,
        version: 1,
        name: "-".into(),
        media: vec![sdp::Media::Application(a)],
    };
    let text = session.render();
    // BUNDLE group the engine expects for its single section.
    text.replacen(
        "t=0 0\r\n",
        &format!("t=0 0\r\na=group:BUNDLE {ENGINE_MID}\r\n"),
        1,
    )
}

/// Summary and text of a payload: HTTP as HTTP, JSON as JSON, anything else as hex.
pub fn describe_payload(data: &[u8]) -> (String, String) {
    if let Ok(text) = std::str::from_utf8(data) {
        let first = text.lines().next().unwrap_or("");
        if first.starts_with("HTTP/1.1 ")
            || first.ends_with(" HTTP/1.1") && first.split(' ').count() == 3
        {
            return (first.to_owned(), text.to_owned());
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            let compact = v.to_string();
            let pretty = serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_owned());
            return (compact, pretty);
        }
        if !text.chars().any(char::is_control) {
            return (format!("{text:?}"), text.to_owned());
        }
    }
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    (
        format!("{} bytes 0x{}", data.len(), hex.get(..32).unwrap_or(&hex)),
        hex,
    )
}

impl Peer {
    async fn build(
        owner: &DcOwner,
        rng: &mut Rng,
        maps: &[DcMap],
        mid: &str,
    ) -> Result<(Peer, watch::Receiver<bool>), DcError> {
        let (gathered_tx, gathered) = watch::channel(false);
        let (conn_tx, conn) = watch::channel(Conn::New);
        let t = owner.timers;
        let settings = SettingEngineBuilder::new()
            .with_ice_credentials(rng.hex(8), rng.hex(24))
            .with_ice_connection_attempts(Some(t.ice_check), None)
            .with_ice_timeouts(Some(t.connect), Some(t.connect), Some(t.ice_keepalive))
            .with_include_loopback_candidate(true)
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                conn: conn_tx,
            }))
            .with_udp_addrs(vec![SocketAddr::from(([127, 0, 0, 1], 0))])
            .build()
            .await
            .map_err(engine)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let mut channels = BTreeMap::new();
        let mut tasks = Vec::new();
        for map in maps {
            let init = RTCDataChannelInit {
                ordered: map.ordered,
                max_packet_life_time: map.max_time,
                max_retransmits: map.max_retr,
                protocol: map.subprotocol.clone(),
                negotiated: Some(map.stream),
            };
            let dc = pc
                .create_data_channel(&map.label, Some(init))
                .await
                .map_err(engine)?;
            let (open_tx, open) = watch::channel(false);
            let (inbox_tx, inbox) = mpsc::channel(256);
            let poll = dc.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(event) = poll.poll().await {
                    match event {
                        DataChannelEvent::OnOpen => {
                            let _ = open_tx.send(true);
                        }
                        DataChannelEvent::OnMessage(m)
                            if inbox_tx.send(m.data.to_vec()).await.is_err() =>
                        {
                            break;
                        }
                        DataChannelEvent::OnClose => break,
                        _ => {}
                    }
                }
            }));
            channels.insert(
                map.stream,
                Arc::new(Channel {
                    map: map.clone(),
                    dc,
                    open,
                    inbox: tokio::sync::Mutex::new(inbox),
                }),
            );
        }
        Ok((
            Peer {
                owner: owner.clone(),
                pc,
                conn,
                channels,
                local: SocketAddr::from(([127, 0, 0, 1], 0)),
                remote: Mutex::new(None),
                mid: mid.to_owned(),
                tasks: Mutex::new(tasks),
                opened: Mutex::new(false),
                closed: Mutex::new(false),
            },
            gathered,
        ))
    }

    /// Waits for gathering and reads the engine's local description into a SIP-facing section.
    async fn local_section(
        &mut self,
        mut gathered: watch::Receiver<bool>,
        maps: &[DcMap],
        dcsa: &[(u16, String)],
    ) -> Result<Application, DcError> {
        let bound = self.owner.timers.gather;
        let _ = tokio::time::timeout(bound, gathered.wait_for(|g| *g)).await;
        let local = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| DcError::Engine("no local description".into()))?;
        let parsed = sdp::Session::parse(&local.sdp).map_err(|e| DcError::Sdp(e.to_string()))?;
        let mut app = parsed
            .applications()
            .next()
            .cloned()
            .ok_or_else(|| DcError::Sdp("the engine wrote no m=application".into()))?;
        let candidate = app
            .candidates
            .iter()
            .find(|c| c.addr.ip().is_loopback())
            .cloned()
            .ok_or_else(|| {
                DcError::Engine(format!(
                    "no loopback host candidate gathered within {} ms",
                    millis(bound)
                ))
            })?;
        self.local = candidate.addr;
        self.owner
            .tap
            .register(kit::tap::Layer::Udp, self.local, &self.owner.node);
        app.candidates = vec![sdp::Candidate::host(candidate.addr)];
        app.port = candidate.addr.port();
        app.mid = self.mid.clone();
        app.dcmaps = maps.to_vec();
        app.dcsa = dcsa.to_vec();
        Ok(app)
    }

    fn set_remote_from(&self, app: &Application) {
        if let Some(c) = app.candidates.first() {
            *self.remote.lock().unwrap_or_else(|p| p.into_inner()) = Some(c.addr);
        }
    }

    /// Makes an offer for `maps` (channels created first, then the offer): the section to put
    /// in the INVITE (or re-INVITE) under `mid`.
    pub async fn offer(
        owner: &DcOwner,
        rng: &mut Rng,
        mid: &str,
        maps: &[DcMap],
        dcsa: &[(u16, String)],
    ) -> Result<(Peer, Application), DcError> {
        let (mut peer, gathered) = Self::build(owner, rng, maps, mid).await?;
        let offer = peer.pc.create_offer(None).await.map_err(engine)?;
        peer.pc.set_local_description(offer).await.map_err(engine)?;
        let app = peer.local_section(gathered, maps, dcsa).await?;
        Ok((peer, app))
    }

    /// Answers an offered section, accepting every channel it maps.
    pub async fn answer(
        owner: &DcOwner,
        rng: &mut Rng,
        offer: &Application,
    ) -> Result<(Peer, Application), DcError> {
        if offer.is_declined() {
            return Err(DcError::Declined);
        }
        let (mut peer, gathered) = Self::build(owner, rng, &offer.dcmaps, &offer.mid).await?;
        peer.set_remote_from(offer);
        let remote = RTCSessionDescription::offer(engine_sdp(offer)).map_err(engine)?;
        peer.pc
            .set_remote_description(remote)
            .await
            .map_err(engine)?;
        let answer = peer.pc.create_answer(None).await.map_err(engine)?;
        peer.pc
            .set_local_description(answer)
            .await
            .map_err(engine)?;
        let app = peer
            .local_section(gathered, &offer.dcmaps, &offer.dcsa)
            .await?;
        Ok((peer, app))
    }

    /// Applies the answer to this peer's offer. A declined answer (port 0) is an error; the
    /// caller closes the peer and goes on without data channels.
    pub async fn complete(&self, answer: &Application) -> Result<(), DcError> {
        if answer.is_declined() {
            return Err(DcError::Declined);
        }
        self.set_remote_from(answer);
        let remote = RTCSessionDescription::answer(engine_sdp(answer)).map_err(engine)?;
        self.pc.set_remote_description(remote).await.map_err(engine)
    }

    /// The SIP-facing mid.
    pub fn mid(&self) -> &str {
        &self.mid
    }

    /// The local ICE address (the host candidate).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn remote_addr(&self) -> SocketAddr {
        self.remote
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn describe(map: &DcMap) -> String {
        if map.subprotocol.is_empty() {
            format!("stream {} {:?}", map.stream, map.label)
        } else {
            format!(
                "stream {} {:?} ({})",
                map.stream, map.label, map.subprotocol
            )
        }
    }

    /// Waits (bounded) until the association is up and every channel is open, then records
    /// `DC open` for each. On failure records why, and the channels are unusable.
    pub async fn wait_open(&self) -> Result<(), DcError> {
        let bound = self.owner.timers.connect;
        let mut conn = self.conn.clone();
        let all_open = async {
            for ch in self.channels.values() {
                let mut open = ch.open.clone();
                if open.wait_for(|o| *o).await.is_err() {
                    return Err("channel ended before opening".to_owned());
                }
            }
            Ok(())
        };
        let failed = async {
            let _ = conn
                .wait_for(|c| matches!(c, Conn::Failed(_) | Conn::Closed))
                .await;
            Err::<(), String>(format!("{:?}", *conn.borrow()))
        };
        let outcome = tokio::time::timeout(bound, async {
            tokio::select! {
                r = all_open => r,
                r = failed => r,
            }
        })
        .await;
        let remote = self.remote_addr();
        match outcome {
            Ok(Ok(())) => {
                *self.opened.lock().unwrap_or_else(|p| p.into_inner()) = true;
                for ch in self.channels.values() {
                    self.owner.tap.note(
                        &self.owner.node,
                        None,
                        Note::done(
                            Act::DcOpen,
                            format!(
                                "DC open {} with {}",
                                Self::describe(&ch.map),
                                self.peer_name(remote)
                            ),
                        ),
                    );
                }
                Ok(())
            }
            other => {
                let state = match other {
                    Ok(Err(s)) => s,
                    _ => format!("{:?}", *self.conn.borrow()),
                };
                let e = DcError::NotConnected {
                    remote: remote.to_string(),
                    ms: millis(bound),
                    state: state.to_lowercase(),
                };
                self.owner.tap.note(
                    &self.owner.node,
                    None,
                    Note::fail(
                        format!("data channels on m=application mid {}", self.mid),
                        Reason::NotConnected,
                        None,
                        e.to_string(),
                    ),
                );
                Err(e)
            }
        }
    }

    fn peer_name(&self, addr: SocketAddr) -> String {
        self.owner
            .tap
            .node_at(kit::tap::Layer::Udp, addr)
            .unwrap_or_else(|| addr.to_string())
    }

    fn message(&self, ch: &DcMap, src: SocketAddr, dst: SocketAddr, data: &[u8]) -> Message {
        let (summary, raw) = describe_payload(data);
        let label = format!("DC message stream {} {:?}", ch.stream, ch.label);
        let summary = if ch.subprotocol == "http" {
            format!("{label} (HTTP): {summary}")
        } else {
            format!("{label}: {summary}")
        };
        Message::dc(src, dst, summary, raw, ch.stream, data)
    }

    /// Sends one message on `stream` (recorded first, then sent).
    pub async fn send(&self, stream: u16, data: &[u8]) -> Result<(), DcError> {
        let ch = self
            .channels
            .get(&stream)
            .ok_or(DcError::NoStream(stream))?;
        if *self.closed.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(DcError::Closed);
        }
        let m = self.message(&ch.map, self.local, self.remote_addr(), data);
        self.owner.tap.sent(&self.owner.node, m);
        ch.dc.send(BytesMut::from(data)).await.map_err(engine)
    }

    /// The next message on `stream`, within `bound`; recorded as received.
    pub async fn recv(&self, stream: u16, bound: Duration) -> Result<Vec<u8>, DcError> {
        let ch = self
            .channels
            .get(&stream)
            .ok_or(DcError::NoStream(stream))?;
        let mut inbox = ch.inbox.lock().await;
        let data = tokio::time::timeout(bound, inbox.recv())
            .await
            .map_err(|_| DcError::Timeout {
                stream,
                ms: millis(bound),
            })?
            .ok_or(DcError::Closed)?;
        let m = self.message(&ch.map, self.remote_addr(), self.local, &data);
        self.owner.tap.received(&self.owner.node, m);
        Ok(data)
    }

    /// The channels this peer maps.
    pub fn streams(&self) -> Vec<DcMap> {
        self.channels.values().map(|c| c.map.clone()).collect()
    }

    /// Closes every channel and the peer connection, records `DC close` for each channel that
    /// was open, and ends every task this peer started. Idempotent.
    pub async fn close(&self) {
        {
            let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
            if *closed {
                return;
            }
            *closed = true;
        }
        let was_open = *self.opened.lock().unwrap_or_else(|p| p.into_inner());
        for ch in self.channels.values() {
            let _ = tokio::time::timeout(Duration::from_millis(200), ch.dc.close()).await;
            if was_open {
                self.owner.tap.note(
                    &self.owner.node,
                    None,
                    Note::done(
                        Act::DcClose,
                        format!("DC close {}", Self::describe(&ch.map)),
                    ),
                );
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.pc.close()).await;
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }

    /// Whether [`Peer::close`] has run.
    pub fn is_closed(&self) -> bool {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}
