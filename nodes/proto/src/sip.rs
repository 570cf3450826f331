//! SIP (RFC 3261) without sockets: the wire form of messages ([`wire`]), the proxy helpers of
//! §16 ([`proxy`]), the UAC dialog helpers of §12/§13 ([`ua`]), the transaction state machines
//! of §17 ([`transaction`]) and their timers ([`Timers`]).
//!
//! Messages are parsed and built with rsipstack's SIP types (the fixed `rsip` parser),
//! re-exported as [`msg`]. `kit::sip` drives all of this over UDP and TCP.

pub mod proxy;
pub mod syntax;
#[cfg(test)]
mod tests;
pub mod transaction;
pub mod ua;
pub mod wire;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

/// rsipstack's SIP message model and parser (the fixed `rsip`): build and read messages with it.
pub use rsipstack::sip as msg;
pub use rsipstack::sip::{Header, HeadersExt, Method, Request, Response, SipMessage, StatusCode};
pub use wire::{encode_request, encode_response, reason_phrase, request_summary, response_summary};

/// A message larger than this goes over TCP even where UDP is preferred (RFC 3261 §18.1.1).
pub const UDP_SIZE_LIMIT: usize = 1300;

/// SIP transport protocol (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SipTransport {
    /// Unreliable: the transaction layer retransmits (Timers A, E, G).
    Udp,
    /// Reliable: no retransmissions, and the wait states end at once (Timers D, J, K = 0).
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2): reliable like TCP, with the peers authenticated.
    Tls,
}

impl SipTransport {
    /// As written in a Via header (`SIP/2.0/UDP`).
    pub fn via_name(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
            SipTransport::Tls => "TLS",
        }
    }

    /// Whether the transport is unreliable (retransmissions needed).
    pub fn is_udp(self) -> bool {
        self == SipTransport::Udp
    }
}

impl fmt::Display for SipTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_name())
    }
}

/// One place a SIP request may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SipTarget {
    /// Where to.
    pub addr: SocketAddr,
    /// Over what.
    pub transport: SipTransport,
}

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
