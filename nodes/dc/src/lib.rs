#![warn(missing_docs)]

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
//!
//! Modules: [`Peer`] (one association: offer, answer, open, send, receive, close) in `peer`,
//! the webrtc-rs engine it drives in `engine`, what goes on the trace in `trace`, and
//! [`DcError`] in `error`.

mod engine;
mod error;
mod peer;
mod trace;

use std::time::Duration;

use kit::tap::Tap;

pub use error::DcError;
pub use peer::Peer;
pub use trace::describe_payload;

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
    /// A 5 ms check interval while connecting and a 10 ms keepalive once connected (the ICE
    /// agent ticks at min(200 ms, keepalive), and DTLS/SCTP progress waits for its ticks: on
    /// loopback INVITE → first application message takes a median ~21 ms with 10 ms, ~35 ms
    /// with 20 ms, ~55 ms with 40 ms and ~400 ms with the defaults, at 100 small STUN
    /// indications a second per association; `testbed bench dc`, BENCHMARKS.md); 3 s to connect.
    fn default() -> Self {
        Self {
            ice_check: Duration::from_millis(5),
            ice_keepalive: Duration::from_millis(10),
            gather: Duration::from_secs(2),
            connect: Duration::from_secs(3),
        }
    }
}

/// Who owns a peer and how it is named in the trace.
#[derive(Debug, Clone)]
pub struct DcOwner {
    /// The node the peer's records are written under.
    pub node: String,
    /// The world's trace tap.
    pub tap: Tap,
    /// Engine settings and bounds.
    pub timers: DcTimers,
}

/// A duration in whole milliseconds, for error texts.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
