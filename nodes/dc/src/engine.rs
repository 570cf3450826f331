//! The webrtc-rs engine behind a [`Peer`](crate::Peer): a peer connection on loopback (host
//! candidates only, the owner's ICE timers, ICE credentials from the seeded rng) whose state
//! is watched through channels, the negotiated data channels (RFC 8864 `a=dcmap`: created from
//! the stream ids on both sides, no DCEP), and the minimal SDP the engine is handed.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState, SettingEngineBuilder,
};

use kit::tap::Tap;

use crate::error::engine_error;
use crate::{DcError, DcOwner};
use proto::clock::Rng;
use proto::sdp::{self, Application, DcMap};

/// The engine-side mid. The SIP-facing mid is the SDP's own; the engine sees one section only.
const ENGINE_MID: &str = "0";

/// Messages a channel may hold before its reader takes them.
const INBOX: usize = 256;

/// The peer connection's state, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conn {
    /// Not connected yet.
    New,
    /// ICE, DTLS and SCTP are up.
    Connected,
    /// The connection failed (with the engine's word for it).
    Failed(String),
    /// The connection was closed.
    Closed,
}

/// A peer connection and the two things a peer waits for.
pub(crate) struct Engine {
    /// The peer connection.
    pub(crate) pc: Arc<dyn PeerConnection>,
    /// True once ICE gathering is complete.
    pub(crate) gathered: watch::Receiver<bool>,
    /// The connection state.
    pub(crate) conn: watch::Receiver<Conn>,
}

/// Forwards the engine's state changes to the watch channels.
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

/// One negotiated data channel: its dcmap, the engine's channel, whether it is open, and what
/// arrived on it.
pub(crate) struct Channel {
    /// The channel as the SDP maps it.
    pub(crate) map: DcMap,
    /// The engine's channel.
    pub(crate) dc: Arc<dyn DataChannel>,
    /// True once the channel is open.
    pub(crate) open: watch::Receiver<bool>,
    /// Messages received and not yet taken.
    pub(crate) inbox: tokio::sync::Mutex<mpsc::Receiver<Vec<u8>>>,
    /// Whether a read is waiting, and how many inbox messages arrived with none waiting.
    pub(crate) waiting: Arc<Waiting>,
}

/// Which arrivals are held on the tap: a message that arrives while its node waits to read it is
/// read at once (the wait records it), so it stays on the wire until then; one that arrives with
/// no read waiting sits in the inbox until the node reads it later, off the wire
/// ([`Tap::held`]). Counted per channel, so a read knows whether the message it takes was held.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    /// A read is waiting on the inbox.
    pub(crate) reading: std::sync::atomic::AtomicBool,
    /// Messages in the inbox that arrived with no read waiting (held on the tap).
    pub(crate) held: std::sync::atomic::AtomicUsize,
}

/// A peer connection for `owner`: loopback host candidates, its ICE timers, ICE credentials
/// from `rng`.
pub(crate) async fn peer_connection(owner: &DcOwner, rng: &mut Rng) -> Result<Engine, DcError> {
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
        .map_err(engine_error)?;
    Ok(Engine {
        pc: Arc::new(pc),
        gathered,
        conn,
    })
}

/// Creates the negotiated channel `map` on `pc` and the task that reads its events (ended by
/// aborting it, or when the channel closes).
pub(crate) async fn open_channel(
    pc: &Arc<dyn PeerConnection>,
    map: &DcMap,
    tap: Tap,
) -> Result<(Channel, JoinHandle<()>), DcError> {
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
        .map_err(engine_error)?;
    let (open_tx, open) = watch::channel(false);
    let (inbox_tx, inbox) = mpsc::channel(INBOX);
    let waiting = Arc::new(Waiting::default());
    let task = tokio::spawn(poll_events(
        dc.clone(),
        open_tx,
        inbox_tx,
        (tap, waiting.clone()),
    ));
    let channel = Channel {
        map: map.clone(),
        dc,
        open,
        inbox: tokio::sync::Mutex::new(inbox),
        waiting,
    };
    Ok((channel, task))
}

/// A channel's events: open is signalled, messages go to the inbox (held on the tap when no
/// read waits for them: see [`Waiting`]), a close ends the loop.
async fn poll_events(
    dc: Arc<dyn DataChannel>,
    open: watch::Sender<bool>,
    inbox: mpsc::Sender<Vec<u8>>,
    (tap, waiting): (Tap, Arc<Waiting>),
) {
    use std::sync::atomic::Ordering::SeqCst;
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                let _ = open.send(true);
            }
            DataChannelEvent::OnMessage(m) => {
                // Counted before it is in the inbox, so a read can never take it first.
                let held = !waiting.reading.load(SeqCst);
                if held {
                    waiting.held.fetch_add(1, SeqCst);
                    tap.held();
                }
                if inbox.send(m.data.to_vec()).await.is_err() {
                    if held {
                        tap.taken();
                    }
                    break;
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}

/// The minimal SDP the engine is given for a section: one section under the engine's mid, in
/// a BUNDLE group, without the dcmap and dcsa lines (the channels are created beforehand).
pub(crate) fn engine_sdp(app: &Application) -> String {
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
