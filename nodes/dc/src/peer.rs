//! One SCTP association and its negotiated data channels: made from an offer or an answer
//! (RFC 3264 over [`proto::sdp`]), opened (bounded), used stream by stream, closed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

use crate::engine::{self, Channel, Conn, engine_sdp};
use crate::error::engine_error;
use crate::trace::{describe, message};
use crate::{DcError, DcOwner, millis};
use proto::clock::Rng;
use proto::sdp::{self, Application, DcMap};
use proto::trace::{Act, Note, Reason};

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

/// Locks a mutex; a poisoned one still holds a whole value (flags and handles only).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Peer {
    /// A peer connection with a channel for each of `maps`; the receiver says when ICE
    /// gathering is complete.
    async fn build(
        owner: &DcOwner,
        rng: &mut Rng,
        maps: &[DcMap],
        mid: &str,
    ) -> Result<(Peer, watch::Receiver<bool>), DcError> {
        let engine::Engine { pc, gathered, conn } = engine::peer_connection(owner, rng).await?;
        let mut channels = BTreeMap::new();
        let mut tasks = Vec::new();
        for map in maps {
            let (channel, task) = engine::open_channel(&pc, map, owner.tap.clone()).await?;
            tasks.push(task);
            channels.insert(map.stream, Arc::new(channel));
        }
        let peer = Peer {
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
        };
        Ok((peer, gathered))
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
            *lock(&self.remote) = Some(c.addr);
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
        let offer = peer.pc.create_offer(None).await.map_err(engine_error)?;
        peer.pc
            .set_local_description(offer)
            .await
            .map_err(engine_error)?;
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
        let remote = RTCSessionDescription::offer(engine_sdp(offer)).map_err(engine_error)?;
        peer.pc
            .set_remote_description(remote)
            .await
            .map_err(engine_error)?;
        let answer = peer.pc.create_answer(None).await.map_err(engine_error)?;
        peer.pc
            .set_local_description(answer)
            .await
            .map_err(engine_error)?;
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
        let remote = RTCSessionDescription::answer(engine_sdp(answer)).map_err(engine_error)?;
        self.pc
            .set_remote_description(remote)
            .await
            .map_err(engine_error)
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
        lock(&self.remote).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Waits (bounded) until the association is up and every channel is open, then records
    /// `DC open` for each — once, however many tasks wait: the first to see it open records it
    /// while the others wait for the record, so no waiter goes on before it. On failure records
    /// why, and the channels are unusable.
    pub async fn wait_open(&self) -> Result<(), DcError> {
        let bound = self.owner.timers.connect;
        let outcome = tokio::time::timeout(bound, self.open_or_failed()).await;
        let remote = self.remote_addr();
        match outcome {
            Ok(Ok(())) => {
                let mut opened = lock(&self.opened);
                if !*opened {
                    *opened = true;
                    self.note_open(remote);
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
                self.note_not_connected(&e);
                Err(e)
            }
        }
    }

    /// Every channel open, or the connection failed or closed first (with its state).
    async fn open_or_failed(&self) -> Result<(), String> {
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
        tokio::select! {
            r = all_open => r,
            r = failed => r,
        }
    }

    /// `DC open` for each channel, naming the peer.
    fn note_open(&self, remote: SocketAddr) {
        for ch in self.channels.values() {
            self.owner.tap.note(
                &self.owner.node,
                None,
                Note::done(
                    Act::DcOpen,
                    format!(
                        "DC open {} with {}",
                        describe(&ch.map),
                        self.peer_name(remote)
                    ),
                ),
            );
        }
    }

    /// The failed check of a section whose channels did not come up.
    fn note_not_connected(&self, e: &DcError) {
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
    }

    fn peer_name(&self, addr: SocketAddr) -> String {
        self.owner
            .tap
            .node_at(kit::tap::Layer::Udp, addr)
            .unwrap_or_else(|| addr.to_string())
    }

    /// Sends one message on `stream` (recorded first, then sent).
    pub async fn send(&self, stream: u16, data: &[u8]) -> Result<(), DcError> {
        let ch = self
            .channels
            .get(&stream)
            .ok_or(DcError::NoStream(stream))?;
        if *lock(&self.closed) {
            return Err(DcError::Closed);
        }
        let m = message(&ch.map, self.local, self.remote_addr(), data);
        self.owner.tap.sent(&self.owner.node, m);
        ch.dc.send(BytesMut::from(data)).await.map_err(engine_error)
    }

    /// The next message on `stream`, within `bound`; recorded as received.
    pub async fn recv(&self, stream: u16, bound: Duration) -> Result<Vec<u8>, DcError> {
        let ch = self
            .channels
            .get(&stream)
            .ok_or(DcError::NoStream(stream))?;
        let mut inbox = ch.inbox.lock().await;
        let waiting = &ch.waiting;
        waiting.reading.store(true, SeqCst);
        let got = tokio::time::timeout(bound, inbox.recv()).await;
        waiting.reading.store(false, SeqCst);
        let data = got
            .map_err(|_| DcError::Timeout {
                stream,
                ms: millis(bound),
            })?
            .ok_or(DcError::Closed)?;
        // A message that waited in the inbox was held on the tap; it is read now.
        if waiting
            .held
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.owner.tap.taken();
        }
        let m = message(&ch.map, self.remote_addr(), self.local, &data);
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
            let mut closed = lock(&self.closed);
            if *closed {
                return;
            }
            *closed = true;
        }
        let was_open = *lock(&self.opened);
        for ch in self.channels.values() {
            let _ = tokio::time::timeout(Duration::from_millis(200), ch.dc.close()).await;
            if was_open {
                self.owner.tap.note(
                    &self.owner.node,
                    None,
                    Note::done(Act::DcClose, format!("DC close {}", describe(&ch.map))),
                );
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.pc.close()).await;
        self.abort_tasks();
    }

    /// Whether [`Peer::close`] has run.
    pub fn is_closed(&self) -> bool {
        *lock(&self.closed)
    }

    fn abort_tasks(&self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.abort_tasks();
    }
}
