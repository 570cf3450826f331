//! Receiving: the UDP loop, accepted TCP connections and their framing, and validation of what
//! arrives (§8.2, §16.3: a malformed request gets a `400` saying why, a malformed response is
//! dropped) before a request goes to the transaction layer and a response to its client
//! transaction.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{Method, Request, Response, SipMessage};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, UdpSocket};

use super::{ReadHalf, ReplyPath, TcpConn, UNMATCHED, trace_transport, traced};
use crate::sip::endpoint::{Inner, lock};
use crate::sip::transaction::ClientEvent;
use crate::sip::wire::{self, Frame};
use crate::sip::{SipTransport, proxy};

impl Inner {
    pub(in crate::sip) async fn udp_loop(self: Arc<Self>, socket: Arc<UdpSocket>) {
        let mut buf = vec![0u8; wire::MAX_MESSAGE];
        loop {
            match socket.recv_from(&mut buf).await {
                Ok((n, peer)) => {
                    let bytes = buf[..n].to_vec();
                    self.on_bytes(&bytes, peer, self.addr, SipTransport::Udp, None)
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
                        self.on_bytes(
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
                        self.on_broken_stream(&bytes, &reason, &conn).await;
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
        self.forget(&conn);
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            let _ = conn.writer.lock().await.shutdown().await;
        })
        .await;
    }

    /// A stream that cannot be framed: trace what came, answer 400 if possible, close.
    pub(super) async fn on_broken_stream(
        self: &Arc<Self>,
        bytes: &[u8],
        reason: &str,
        conn: &Arc<TcpConn>,
    ) {
        let id = self.tap.received(
            &self.config.node,
            traced(
                &self.tap,
                trace_transport(conn.transport),
                conn.peer,
                conn.local,
                || wire::garbage_summary(bytes),
                bytes,
            ),
        );
        self.note_check(id, "SIP message well-formed", reason.to_owned(), Some(400));
        if let Some((reply, summary)) = wire::salvage_reply(bytes, reason) {
            let _ = self.send_tcp(conn, &reply, &summary).await;
        }
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
        let parsed = SipMessage::try_from(bytes);
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
                let detail = e.to_string();
                let reply = wire::salvage_reply(bytes, &detail);
                let code = reply.as_ref().map(|_| 400);
                self.note_check(id, "SIP message well-formed", detail, code);
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
            let ack = request.method == Method::Ack;
            self.note_check(
                id,
                "SIP message well-formed",
                reason.clone(),
                (!ack).then_some(code),
            );
            if !ack {
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
