#![warn(missing_docs)]

//! The node runtime: the crate that opens sockets (WebRTC's own are the `dc` crate's). It
//! drives the socket-free protocol core (`proto`) for every network function: SIP over UDP, TCP
//! and TLS with the transaction state machines ([`sip`], [`sipnode`]), the world's DNS server and
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
    /// A certificate or key in PEM could not be read.
    #[error("PEM material unusable: {detail}")]
    Pem {
        /// What was wrong with it.
        detail: String,
    },
    /// rustls refused the TLS configuration.
    #[error("TLS configuration rejected: {detail}")]
    Tls {
        /// rustls's reason.
        detail: String,
    },
    /// A socket could not be bound.
    #[error("cannot bind: {detail}")]
    Bind {
        /// The operating system's reason.
        detail: String,
    },
    /// A fixture file could not be read.
    #[error("fixture {path} unreadable: {detail}")]
    Fixture {
        /// The file.
        path: String,
        /// The operating system's reason.
        detail: String,
    },
    /// A client was given something other than an `http(s)` URL with a host.
    #[error("{url:?} is not an http(s) URL with a host")]
    Url {
        /// The URL as given.
        url: String,
    },
    /// The world's DNS data or a resolver's configuration was refused.
    #[error("DNS configuration rejected: {detail}")]
    Dns {
        /// What was refused and why.
        detail: String,
    },
    /// A SIP request or response could not be sent as asked (RFC 3261 §8, §17, §18).
    #[error("SIP: {detail}")]
    Sip {
        /// Why.
        detail: String,
    },

    // ---- reaching the peer ------------------------------------------------------------------------
    /// A host name could not be resolved to an address.
    #[error("cannot resolve {host}: {detail}")]
    Resolve {
        /// The name.
        host: String,
        /// The resolver's reason.
        detail: String,
    },
    /// A connection could not be opened (or written to).
    #[error("cannot connect to {addr}: {detail}")]
    Connect {
        /// The peer's address.
        addr: SocketAddr,
        /// The operating system's reason.
        detail: String,
    },
    /// The TLS handshake with a server failed.
    #[error("TLS handshake with {peer} failed: {detail}")]
    Handshake {
        /// The server's name.
        peer: String,
        /// rustls's reason.
        detail: String,
    },
    /// No answer within the bound.
    #[error("no answer within {ms} ms")]
    Timeout {
        /// The bound, in milliseconds.
        ms: u64,
    },

    // ---- the peer misbehaved ----------------------------------------------------------------------
    /// The HTTP exchange failed (the peer closed or spoke something other than HTTP/1.1).
    #[error("HTTP exchange failed: {detail}")]
    Http {
        /// hyper's reason.
        detail: String,
    },
    /// A response body was larger than the client's limit.
    #[error("body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}
