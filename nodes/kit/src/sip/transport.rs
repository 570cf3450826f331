//! The transport layer (RFC 3261 §18): the UDP socket, TCP connections (accepted and opened,
//! every one with TCP_NODELAY), framing, the trace record of every message in and out
//! (recorded as sent before its bytes are written), validation of what arrives (§8.2, §16.3:
//! a malformed request gets a `400` saying why, a malformed response is dropped), and
//! choosing where requests (§8.1.2, §18.1.1, RFC 3263) and responses (§18.2.2) go.
//!
//! This file holds what the three directions share; [`send`], [`route`] and [`receive`] are
//! the directions.

mod receive;
mod route;
mod send;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::tcp::OwnedWriteHalf;

use super::SipTransport;
use super::endpoint::Inner;
use crate::Error;
use proto::trace::{Note, Reason, Transport};

/// One TCP connection: the write half (shared by whoever sends on it) and its addresses; a
/// reader task owns the read half.
#[derive(Debug)]
pub(crate) struct TcpConn {
    pub(super) local: SocketAddr,
    pub(super) peer: SocketAddr,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    closed: AtomicBool,
}

impl TcpConn {
    pub(super) fn is_open(&self) -> bool {
        !self.closed.load(Ordering::SeqCst)
    }
}

/// Where the responses to a request go: back over its connection, or to its source.
#[derive(Debug, Clone)]
pub(super) struct ReplyPath {
    pub(super) transport: SipTransport,
    pub(super) peer: SocketAddr,
    pub(super) conn: Option<Arc<TcpConn>>,
}

fn trace_transport(transport: SipTransport) -> Transport {
    match transport {
        SipTransport::Udp => Transport::Udp,
        SipTransport::Tcp => Transport::Tcp,
    }
}

fn timeout_error(bound: Duration) -> Error {
    Error::Timeout {
        ms: u64::try_from(bound.as_millis()).unwrap_or(u64::MAX),
    }
}

fn sip_error(detail: impl Into<String>) -> Error {
    Error::Sip {
        detail: detail.into(),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The check a response fails when no client transaction is waiting for it.
const UNMATCHED: &str = "SIP response matches a transaction";

impl Inner {
    /// Bound on one socket operation (connect, write, a lock on a connection).
    fn io_bound(&self) -> Duration {
        self.timers().t1x64()
    }

    /// A failed check about message `id`: malformed input, or a response no transaction wants.
    fn note_check(&self, id: u64, name: &str, detail: String, code: Option<u16>) {
        let reason = if name == UNMATCHED {
            Reason::NoRecord
        } else {
            Reason::Malformed
        };
        self.tap.note(
            &self.config.node,
            Some(id),
            Note::fail(name, reason, code, detail),
        );
    }
}
