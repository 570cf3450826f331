//! SIP over UDP, TCP and TLS (RFC 3261): the endpoint every IMS network function talks through.
//!
//! One [`Endpoint`] per network function binds UDP and TCP on the same loopback port (and, when
//! its [`TlsConfig`] asks, a TLS listener on a port of its own), finds
//! where to send with the node's [`Locate`](crate::locate::Locate) (RFC 3263; RFC 3261 §8.1.2,
//! §16.6), runs the transaction state machines (§17, with the `Accepted` states of RFC 6026)
//! and records every message it sends or receives on the world's [`Tap`](crate::tap::Tap)
//! with the exact text on the wire. What SIP means without sockets — messages, the proxy and UA
//! helpers, the transaction state machines and their timers — is `proto::sip`'s.
//!
//! Messages are parsed and built with rsipstack's SIP types (`proto::sip::msg`). The
//! transaction layer and the transports are this module's own (over tokio sockets), not
//! rsipstack's endpoint: rsipstack writes and reads TCP bytes where no hook sees them (the
//! trace needs the exact text and local address of every message), adds `received` before any
//! hook sees a request, retransmits cached responses outside its inspector, reports a channel
//! transport as reliable (which turns off every UDP retransmission timer if its transports are
//! replaced), retransmits a proxy's relayed 2xx itself and swallows the ACK of a 2xx inside a
//! finished server transaction, and drops a malformed request silently where §21.4.1 wants a
//! `400`. See [`Endpoint`] for what the transaction layer does.

mod endpoint;
mod tls;
mod transaction;
mod transport;
mod tu;

pub use endpoint::{Endpoint, EndpointStats, ROOM_CHECK, Refusals};
use proto::sip::{SipTarget, SipTransport, Timers, UDP_SIZE_LIMIT, proxy, ua, wire};
pub use tls::TlsConfig;
pub use tu::{ClientTransaction, Incoming};

/// What an endpoint needs to know about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Node name in the trace (and in the tap's address book).
    pub node: String,
    /// Own FQDN: Via sent-by and Record-Route use it.
    pub host: String,
    /// RFC 3261 timer values (T1, T2, T4 and what derives from them, §17).
    pub timers: Timers,
    /// SIP over TLS (RFC 3261 §26): a listener, the certificate it presents as a client, hosts
    /// always reached over TLS. None of it by default.
    pub tls: TlsConfig,
    /// Bounds on what the endpoint takes in.
    pub limits: Limits,
}

/// Bounds on what an endpoint takes in, so that a flood costs it bounded memory and it keeps
/// answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// New requests waiting for the network function to take them. Past it, a request is
    /// answered `503 Service Unavailable` with `Retry-After` (RFC 3261 §21.5.4) by its server
    /// transaction and not queued; an ACK of a 2xx is dropped (and counted).
    pub queue: usize,
    /// Open TCP and TLS connections, accepted and opened. Past it, a newly accepted connection
    /// is closed at once (and counted); connections the endpoint opens itself are not refused.
    pub connections: usize,
    /// The `Retry-After` of an overload 503, in seconds.
    pub retry_after_s: u32,
}

impl Default for Limits {
    /// 1,024 queued requests, 256 connections, retry after 1 s.
    fn default() -> Self {
        Self {
            queue: 1024,
            connections: 256,
            retry_after_s: 1,
        }
    }
}

impl Config {
    /// A config with the RFC timer values.
    pub fn new(node: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            host: host.into(),
            timers: Timers::default(),
            tls: TlsConfig::default(),
            limits: Limits::default(),
        }
    }

    /// The same config with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same config with other timer values.
    pub fn with_timers(mut self, timers: Timers) -> Self {
        self.timers = timers;
        self
    }

    /// The same config with SIP over TLS as `tls` says.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }
}
