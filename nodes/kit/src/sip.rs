//! SIP over UDP and TCP (RFC 3261): the endpoint every IMS network function talks through.
//!
//! One [`Endpoint`] per network function binds UDP and TCP on the same loopback port, finds
//! where to send with the node's [`Locate`](crate::locate::Locate) (RFC 3263; RFC 3261 §8.1.2,
//! §16.6), runs the transaction state machines (§17, with the `Accepted` states of RFC 6026)
//! and records every message it sends or receives on the world's [`Tap`](crate::trace::Tap)
//! with the exact text on the wire. Proxy helpers (§16) live in [`proxy`], dialog request
//! builders for a UAC (§12.2.1.1, §13.2.2.4, §9.1) in [`ua`].
//!
//! Messages are parsed and built with rsipstack's SIP types, re-exported as [`msg`]. The
//! transaction layer and the transports are this module's own (over tokio sockets), not
//! rsipstack's endpoint: rsipstack writes and reads TCP bytes where no hook sees them (the
//! trace needs the exact text and local address of every message), adds `received` before any
//! hook sees a request, retransmits cached responses outside its inspector, reports a channel
//! transport as reliable (which turns off every UDP retransmission timer if its transports are
//! replaced), retransmits a proxy's relayed 2xx itself and swallows the ACK of a 2xx inside a
//! finished server transaction, and drops a malformed request silently where §21.4.1 wants a
//! `400`. See [`Endpoint`] for what the transaction layer does.

mod endpoint;
pub mod proxy;
mod transaction;
mod transport;
pub mod ua;
mod wire;

use std::time::Duration;

pub use endpoint::{ClientTransaction, Endpoint, Incoming};
pub use wire::{encode_request, encode_response, reason_phrase, request_summary, response_summary};

pub use crate::locate::{SipTarget, SipTransport};

/// rsipstack's SIP message model and parser (the fixed `rsip`): build and read messages with it.
pub use rsipstack::sip as msg;
pub use rsipstack::sip::{Header, HeadersExt, Method, Request, Response, SipMessage, StatusCode};

/// A message larger than this goes over TCP even where UDP is preferred (RFC 3261 §18.1.1).
pub const UDP_SIZE_LIMIT: usize = 1300;

/// RFC 3261 timer values (§17.1.1.1, table 4 of appendix A). Timers B, D (UDP), F, H, J (UDP),
/// L and M are 64×T1; Timer C (§16.6 step 11) bounds an INVITE that only gets provisional
/// answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate: first retransmission interval.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// Maximum time a message stays in the network (Timers I and K over UDP).
    pub t4: Duration,
    /// Proxy INVITE timer: no final answer this long after the last provisional → 408 + CANCEL.
    pub timer_c: Duration,
    /// A TCP connection that carries no bytes this long is closed (every read has a bound).
    pub tcp_idle: Duration,
}

impl Default for Timers {
    /// The RFC values: T1 500 ms, T2 4 s, T4 5 s, Timer C 180 s (and 300 s TCP idle).
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_c: Duration::from_secs(180),
            tcp_idle: Duration::from_secs(300),
        }
    }
}

impl Timers {
    /// Short values for tests: T1 20 ms (so 64×T1 is 1.28 s), T2 160 ms, T4 200 ms, Timer C 3 s.
    pub fn fast() -> Self {
        Self {
            t1: Duration::from_millis(20),
            t2: Duration::from_millis(160),
            t4: Duration::from_millis(200),
            timer_c: Duration::from_secs(3),
            tcp_idle: Duration::from_secs(30),
        }
    }

    /// 64×T1: Timers B, F, H, L, M and (over UDP) D and J.
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// What an endpoint needs to know about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Node name in the trace (and in the tap's address book).
    pub node: String,
    /// Own FQDN: Via sent-by and Record-Route use it.
    pub host: String,
    pub timers: Timers,
}

impl Config {
    /// A config with the RFC timer values.
    pub fn new(node: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            host: host.into(),
            timers: Timers::default(),
        }
    }

    pub fn with_timers(mut self, timers: Timers) -> Self {
        self.timers = timers;
        self
    }
}
