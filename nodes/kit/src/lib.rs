//! The node runtime: the crate that opens sockets (WebRTC's own are the `dc` crate's). It
//! drives the socket-free protocol core (`proto`) for every network function: SIP over UDP and
//! TCP with the transaction state machines ([`sip`], [`sipnode`]), the world's DNS server and
//! each node's resolver ([`dns`], [`locate`]), an HTTP(S) client and server over rustls with the
//! fixture PKI ([`http`], [`tls`]), the x5u certificate fetcher an STI-VS uses ([`x5u`]), the
//! trace tap every transport writes to ([`tap`]), what the world gives each node ([`node`]) and
//! the committed fixtures ([`fixtures`]).
//!
//! Protocol logic does not live here: `proto` decides what a SIP message means and what a
//! transaction does next, `stir` what a token means; `kit` moves bytes and keeps time.

pub mod dns;
pub mod fixtures;
pub mod http;
pub mod locate;
pub mod node;
pub mod ports;
pub mod sip;
pub mod sipnode;
pub mod tap;
pub mod tls;
pub mod x5u;

use std::net::SocketAddr;

/// Everything that can go wrong moving bytes, grouped by where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ---- local configuration ----------------------------------------------------------------------
    #[error("PEM material unusable: {detail}")]
    Pem { detail: String },
    #[error("TLS configuration rejected: {detail}")]
    Tls { detail: String },
    #[error("cannot bind: {detail}")]
    Bind { detail: String },
    #[error("fixture {path} unreadable: {detail}")]
    Fixture { path: String, detail: String },
    #[error("{url:?} is not an http(s) URL with a host")]
    Url { url: String },
    #[error("DNS configuration rejected: {detail}")]
    Dns { detail: String },
    #[error("SIP: {detail}")]
    Sip { detail: String },

    // ---- reaching the peer ------------------------------------------------------------------------
    #[error("cannot resolve {host}: {detail}")]
    Resolve { host: String, detail: String },
    #[error("cannot connect to {addr}: {detail}")]
    Connect { addr: SocketAddr, detail: String },
    #[error("TLS handshake with {peer} failed: {detail}")]
    Handshake { peer: String, detail: String },
    #[error("no answer within {ms} ms")]
    Timeout { ms: u64 },

    // ---- the peer misbehaved ----------------------------------------------------------------------
    #[error("HTTP exchange failed: {detail}")]
    Http { detail: String },
    #[error("body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
}
