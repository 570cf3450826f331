//! Receiving: the UDP loop, accepted TCP connections and their framing, and validation of what
//! arrives (§8.2, §16.3: a malformed request gets a `400` saying why, a malformed response is
//! dropped) before a request goes to the transaction layer and a response to its client
//! transaction.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{HeadersExt as _, Method, Request, Response, SipMessage};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, UdpSocket};

use super::{ReadHalf, ReplyPath, TcpConn, UNMATCHED, trace_transport, traced};
use crate::sip::endpoint::{Inner, ROOM_CHECK, RefusalCounters, lock};
use crate::sip::transaction::ClientEvent;
use crate::sip::wire::{self, Frame};
use crate::sip::{SipTransport, proxy};
use proto::trace::{Note, Reason};

/// The check a node fails when handling one message panicked (the listener goes on).
pub const PANIC_CHECK: &str = "message handled without a panic";

/// The check a message fails when it is larger than the endpoint handles (answered 513).
pub const SIZE_CHECK: &str = "SIP message within the size limits";

impl Inner {
    pub(in crate::sip) async fn udp_loop(self: Arc<Self>, socket: Arc<UdpSocket>) {
        let mut buf = vec![0u8; wire::MAX_MESSAGE];
        loop {
            match socket.recv_from(&mut buf).await {
                Ok((n, peer)) => {
                    let bytes = wire::trim_datagram(&buf[..n]).to_vec();
                    self.on_bytes_isolated(&bytes, peer, self.addr, SipTransport::Udp, None)
                        .await;
                }
                // An ICMP error reported on the socket: nothing to read, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }

    pub(in crate::sip) async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    if self.refuse_connection(peer) {
                        drop(stream);
                        continue;
                    }
                    let _ = self.adopt(stream, peer);
                }
                // Out of descriptors or similar: back off a little, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Reads one stream connection (TCP or TLS) until it closes, fails or idles out.
    pub(super) async fn tcp_reader(self: Arc<Self>, mut reader: ReadHalf, conn: Arc<TcpConn>) {
        let idle = self.timers().tcp_idle;
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        'read: loop {
            loop {
                match wire::take_frame(&mut buf) {
                    Frame::Message(bytes) => {
                        self.on_bytes_isolated(
                            &bytes,
                            conn.peer,
                            conn.local,
                            conn.transport,
                            Some(conn.clone()),
                        )
                        .await;
                    }
                    Frame::Incomplete => break,
                    Frame::Broken(reason) => {
                        let bytes = std::mem::take(&mut buf);
                        self.on_broken_stream(&bytes, &reason, &conn, false).await;
                        break 'read;
                    }
                    Frame::TooLarge(reason) => {
                        let bytes = std::mem::take(&mut buf);
                        self.on_broken_stream(&bytes, &reason, &conn, true).await;
                        break 'read;
                    }
                }
            }
            match tokio::time::timeout(idle, reader.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                // Closed by the peer, failed, or idle for too long.
                _ => break,
            }
        }
        if !buf.iter().all(u8::is_ascii_whitespace) {
            self.on_cut_short(&buf, &conn);
        }
        self.forget(&conn);
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            let _ = conn.writer.lock().await.shutdown().await;
        })
        .await;
    }

    /// A stream that cannot be framed: trace what came, answer 400 (513 when the next
    /// message is `too_large`) if possible, close.
    pub(super) async fn on_broken_stream(
        self: &Arc<Self>,
        bytes: &[u8],
        reason: &str,
        conn: &Arc<TcpConn>,
        too_large: bool,
    ) {
        let id = self.trace_stream_bytes(bytes, conn);
        let reply = if too_large {
            wire::salvage_too_large(bytes, reason)
        } else {
            wire::salvage_reply(bytes, reason)
        };
        let (check, code) = if too_large {
            (SIZE_CHECK, 513)
        } else {
            ("SIP message well-formed", 400)
        };
        let answered = reply.as_ref().map(|_| code);
        self.note_check(id, check, reason.to_owned(), answered);
        if let Some((reply, summary)) = reply {
            let _ = self.send_tcp(conn, &reply, &summary).await;
        }
    }

    /// Records bytes of a stream that are no message (unframeable, or cut short) as received
    /// from the connection's peer; returns their trace id.
    fn trace_stream_bytes(&self, bytes: &[u8], conn: &TcpConn) -> u64 {
        self.tap.received(
            &self.config.node,
            traced(
                &self.tap,
                trace_transport(conn.transport),
                conn.peer,
                conn.local,
                || wire::garbage_summary(bytes),
                bytes,
            ),
        )
    }

    /// A connection that ended in the middle of a message: traced and counted as dropped (no
    /// answer is possible on a closed stream).
    fn on_cut_short(&self, bytes: &[u8], conn: &Arc<TcpConn>) {
        let id = self.trace_stream_bytes(bytes, conn);
        self.note_check(
            id,
            "SIP message well-formed",
            format!(
                "the connection ended {} bytes into a message: dropped",
                bytes.len()
            ),
            None,
        );
    }

    /// Whether an accepted connection from `peer` is refused because
    /// [`crate::sip::Limits::connections`] are open already (counted and traced).
    pub(in crate::sip) fn refuse_connection(&self, peer: SocketAddr) -> bool {
        let (open, limit) = (lock(&self.conns).len(), self.config.limits.connections);
        if open < limit {
            return false;
        }
        RefusalCounters::count(&self.refusals.connections);
        self.tap.note(
            &self.config.node,
            None,
            Note::fail(
                ROOM_CHECK,
                Reason::Overloaded,
                None,
                format!("{open} connections open (limit {limit}): the one from {peer} closed"),
            ),
        );
        true
    }

    /// [`Inner::on_bytes`], with a panic while handling the message caught here: counted and
    /// traced, and the listener (UDP loop or connection reader) goes on serving.
    async fn on_bytes_isolated(
        self: &Arc<Self>,
        bytes: &[u8],
        peer: SocketAddr,
        local: SocketAddr,
        transport: SipTransport,
        conn: Option<Arc<TcpConn>>,
    ) {
        use futures_util::FutureExt as _;
        let handled =
            std::panic::AssertUnwindSafe(self.on_bytes(bytes, peer, local, transport, conn))
                .catch_unwind()
                .await;
        let Err(panic) = handled else { return };
        RefusalCounters::count(&self.refusals.panics);
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        self.tap.note(
            &self.config.node,
            None,
            Note::fail(
                PANIC_CHECK,
                Reason::Malformed,
                None,
                format!(
                    "handling {} bytes from {peer} panicked ({what}); the message is dropped and \
                     the listener goes on",
                    bytes.len()
                ),
            ),
        );
    }

    /// One datagram or framed stream message.
    pub(super) async fn on_bytes(
        self: &Arc<Self>,
        bytes: &[u8],
        peer: SocketAddr,
        local: SocketAddr,
        transport: SipTransport,
        conn: Option<Arc<TcpConn>>,
    ) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return; // keep-alive
        }
        #[cfg(test)]
        if bytes == tests::PANIC_PROBE {
            panic!("the unit tests' panic probe");
        }
        let too_large = wire::too_large(bytes);
        let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let line_fault =
            proto::sip::syntax::request_line_fault(&String::from_utf8_lossy(first_line));
        let parsed = match (&too_large, line_fault) {
            // Not parsed at all: a summary from the start line is all the trace gets.
            (Some(reason), _) => Err(rsipstack::sip::Error::ParseError(reason.clone())),
            (None, Some(fault)) => Err(rsipstack::sip::Error::ParseError(fault.to_owned())),
            (None, None) => SipMessage::try_from(bytes),
        };
        let summary = || match &parsed {
            Ok(SipMessage::Request(r)) => wire::request_summary(r),
            Ok(SipMessage::Response(r)) => wire::response_summary(r),
            Err(_) => wire::garbage_summary(bytes),
        };
        let id = self.tap.received(
            &self.config.node,
            traced(
                &self.tap,
                trace_transport(transport),
                peer,
                local,
                summary,
                bytes,
            ),
        );
        let path = ReplyPath {
            transport,
            peer,
            conn,
        };
        match parsed {
            Err(e) => {
                let (reply, check, code, detail) = match too_large {
                    Some(reason) => (
                        wire::salvage_too_large(bytes, &reason),
                        SIZE_CHECK,
                        513,
                        reason,
                    ),
                    None => {
                        let detail = line_fault.map_or_else(|| e.to_string(), str::to_owned);
                        let reply = wire::salvage_reply(bytes, &detail);
                        (reply, "SIP message well-formed", 400, detail)
                    }
                };
                let code = reply.as_ref().map(|_| code);
                self.note_check(id, check, detail, code);
                if let Some((reply, summary)) = reply {
                    let _ = match &path.conn {
                        Some(conn) => self.send_tcp(conn, &reply, &summary).await,
                        None => self.send_udp(peer, &reply, &summary).await,
                    };
                }
            }
            Ok(SipMessage::Request(request)) => self.on_request(request, path, id).await,
            Ok(SipMessage::Response(response)) => self.on_response(response, id),
        }
    }

    pub(super) async fn on_request(
        self: &Arc<Self>,
        mut request: Request,
        path: ReplyPath,
        id: u64,
    ) {
        let stamped = wire::stamp_received(&mut request, path.peer);
        let checked = proxy::check_request(&request).and_then(|()| {
            stamped.map_err(|e| (400, format!("Bad Request (malformed Via header: {e})")))
        });
        if let Err((code, reason)) = checked {
            // An ACK is never answered, nor a request without a Via to send the answer by
            // (§18.2.2): both are dropped and counted.
            let answerable = request.method != Method::Ack && request.top_via_header().is_ok();
            self.note_check(
                id,
                "SIP message well-formed",
                reason.clone(),
                answerable.then_some(code),
            );
            if answerable {
                let tag = self.next_tag();
                let response = proxy::response_to(&request, code, &reason, Some(&tag));
                let _ = self.send_response_on(&response, &path).await;
            }
            return;
        }
        self.dispatch_request(request, path, id);
    }

    pub(super) fn on_response(&self, response: Response, id: u64) {
        let key = match proto::sip::transaction::response_key(&response, &self.config.host) {
            Ok(key) => key,
            Err(reason) => {
                self.note_check(id, "SIP message well-formed", reason, None);
                return;
            }
        };
        let client = lock(&self.clients).get(&key).cloned();
        match client {
            Some(client) => {
                let _ = client.send(ClientEvent::Response(Box::new(response), id));
            }
            None => self.note_check(
                id,
                UNMATCHED,
                "no client transaction for it; dropped".into(),
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use tokio::net::UdpSocket;

    use crate::http::BoxFuture;
    use crate::locate::Locate;
    use crate::sip::{Config, Endpoint};
    use crate::tap::Tap;
    use proto::clock::Rng;
    use proto::sip::{SipTarget, SipTransport, Timers};

    /// A datagram on which `on_bytes` panics, in this crate's unit tests only: there is no
    /// known input that makes the SIP parser panic (the fuzz target `sip_message` looks for one).
    pub(super) const PANIC_PROBE: &[u8] = b"PANIC-PROBE";

    #[derive(Debug)]
    struct Nowhere;

    impl Locate for Nowhere {
        fn sip_targets<'a>(
            &'a self,
            host: &'a str,
            _port: Option<u16>,
            _transport: Option<SipTransport>,
        ) -> BoxFuture<'a, std::io::Result<Vec<SipTarget>>> {
            Box::pin(async move {
                Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    host.to_owned(),
                ))
            })
        }
    }

    fn options(port: u16, branch: &str) -> String {
        format!(
            "OPTIONS sip:b@ue-b.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=r1\r\nTo: <sip:b@ue-b.test>\r\n\
             Call-ID: {branch}@raw\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    }

    #[tokio::test]
    async fn a_panic_handling_one_datagram_does_not_stop_the_listener() {
        let tap = Tap::new();
        let config = Config::new("ue-b", "ue-b.test").with_timers(Timers::fast());
        let b = Endpoint::bind(
            config,
            std::sync::Arc::new(Nowhere),
            tap.clone(),
            Rng::for_node(1, "ue-b"),
        )
        .await
        .unwrap();
        let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = raw.local_addr().unwrap().port();
        raw.send_to(PANIC_PROBE, b.local_addr()).await.unwrap();
        raw.send_to(options(port, "z9hG4bKafter").as_bytes(), b.local_addr())
            .await
            .unwrap();
        let next = tokio::time::timeout(Duration::from_secs(2), b.next_request()).await;
        let incoming = next.unwrap().unwrap();
        assert_eq!(incoming.request().method, proto::sip::Method::Options);
        assert_eq!(b.refusals().panics, 1);
        let noted = tap.records().into_iter().any(|r| {
            matches!(&r.body, proto::trace::Body::Note { note: proto::trace::Note::Check { name, passed: false, .. }, .. } if name == super::PANIC_CHECK)
        });
        assert!(noted, "the panic is on the trace");
    }
}
