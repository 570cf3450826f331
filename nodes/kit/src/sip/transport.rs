//! The transport layer (RFC 3261 §18): the UDP socket, TCP and TLS connections (accepted and
//! opened, every one with TCP_NODELAY; TLS as `tls` configures it, §26.2), framing, the trace
//! record of every message in and out
//! (recorded as sent before its bytes are written), validation of what arrives (§8.2, §16.3:
//! a malformed request gets a `400` saying why, a malformed response is dropped), and
//! choosing where requests (§8.1.2, §18.1.1, RFC 3263) and responses (§18.2.2) go.
//!
//! This file holds what the three directions share; [`send`], [`route`] and [`receive`] are
//! the directions, [`secure`] the TLS handshakes of both sides.

mod receive;
mod route;
mod secure;
mod send;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::SipTransport;
use super::endpoint::{Inner, RefusalCounters};
use crate::Error;
use proto::trace::{Message, Note, Reason, Transport};

use crate::tap::Tap;

/// The read half of a stream connection (TCP, or TLS over it).
pub(super) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a stream connection.
pub(super) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// One stream connection, TCP or TLS: the write half (shared by whoever sends on it), its
/// addresses and, over TLS, who the peer proved to be; a reader task owns the read half.
pub(crate) struct TcpConn {
    pub(super) local: SocketAddr,
    pub(super) peer: SocketAddr,
    /// TCP or TLS.
    pub(super) transport: SipTransport,
    /// Over TLS: the DNS name of the peer's verified certificate (a client's, when accepted).
    pub(crate) peer_identity: Option<String>,
    writer: tokio::sync::Mutex<WriteHalf>,
    closed: AtomicBool,
}

impl fmt::Debug for TcpConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpConn")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("transport", &self.transport)
            .field("peer_identity", &self.peer_identity)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What a new stream connection is, before the endpoint adopts it.
#[derive(Debug, Clone)]
pub(super) struct Stream {
    pub(super) local: SocketAddr,
    pub(super) peer: SocketAddr,
    pub(super) transport: SipTransport,
    pub(super) peer_identity: Option<String>,
}

impl TcpConn {
    pub(super) fn is_open(&self) -> bool {
        !self.closed.load(Ordering::SeqCst)
    }

    /// Its key in the endpoint's connection table.
    pub(super) fn key(&self) -> (SipTransport, SocketAddr) {
        (self.transport, self.peer)
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
        SipTransport::Tls => Transport::Tls,
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

/// The trace message for SIP `bytes`; where the tap keeps no records, only what matches a send
/// to its receive (the text would be dropped).
fn traced(
    tap: &Tap,
    transport: Transport,
    src: SocketAddr,
    dst: SocketAddr,
    summary: impl FnOnce() -> String,
    bytes: &[u8],
) -> Message {
    if tap.keeps_records() {
        Message::sip(transport, src, dst, summary(), lossy(bytes))
            .with_wire(proto::trace::wire_if_lossy(bytes))
    } else {
        Message::sip_counted(transport, src, dst, bytes)
    }
}

/// The check a response fails when no client transaction is waiting for it.
const UNMATCHED: &str = "SIP response matches a transaction";

impl Inner {
    /// Bound on one socket operation (connect, write, a lock on a connection).
    fn io_bound(&self) -> Duration {
        self.timers().t1x64()
    }

    /// A failed check about message `id`: malformed input, or a response no transaction wants.
    pub(super) fn note_check(&self, id: u64, name: &str, detail: String, code: Option<u16>) {
        let reason = if name == UNMATCHED {
            Reason::NoRecord
        } else {
            let counter = match code {
                _ if name == super::transaction::LOOP_CHECK => &self.refusals.looped,
                Some(_) => &self.refusals.malformed,
                None => &self.refusals.unanswerable,
            };
            RefusalCounters::count(counter);
            Reason::Malformed
        };
        self.tap.note(
            &self.config.node,
            Some(id),
            Note::fail(name, reason, code, detail),
        );
    }
}
