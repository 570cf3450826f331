//! The transport layer (RFC 3261 §18): the UDP socket, TCP connections (accepted and opened,
//! every one with TCP_NODELAY), framing, the trace record of every message in and out
//! (recorded as sent before its bytes are written), validation of what arrives (§8.2, §16.3:
//! a malformed request gets a `400` saying why, a malformed response is dropped), and
//! choosing where requests (§8.1.2, §18.1.1, RFC 3263) and responses (§18.2.2) go.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rsipstack::sip::headers::untyped::ToTypedHeader as _;
use rsipstack::sip::{
    Header, HeadersExt as _, Host, Method, Param, Request, Response, Scheme, SipMessage, Uri,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::endpoint::{Inner, lock, shut_down};
use super::wire::{self, Frame, ViaHost};
use super::{SipTarget, SipTransport, UDP_SIZE_LIMIT, proxy};
use crate::Error;
use proto::trace::{Message, Note, Reason, Transport};

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

    // ---- sending ---------------------------------------------------------------------------

    /// Sends `bytes` to `target`, over `conn` when given and still open for TCP. Returns the
    /// TCP connection used.
    pub(super) async fn transmit(
        self: &Arc<Self>,
        target: SipTarget,
        bytes: &[u8],
        summary: &str,
        conn: Option<&Arc<TcpConn>>,
    ) -> Result<Option<Arc<TcpConn>>, Error> {
        match target.transport {
            SipTransport::Udp => {
                self.send_udp(target.addr, bytes, summary).await?;
                Ok(None)
            }
            SipTransport::Tcp => {
                let conn = match conn {
                    Some(c) if c.is_open() => c.clone(),
                    _ => self.tcp_conn(target.addr).await?,
                };
                self.send_tcp(&conn, bytes, summary).await?;
                Ok(Some(conn))
            }
        }
    }

    pub(super) async fn send_udp(
        &self,
        dst: SocketAddr,
        bytes: &[u8],
        summary: &str,
    ) -> Result<(), Error> {
        let socket = lock(&self.udp).clone().ok_or_else(shut_down)?;
        self.tap.sent(
            &self.config.node,
            Message::sip(
                Transport::Udp,
                self.addr,
                dst,
                summary.to_owned(),
                lossy(bytes),
            ),
        );
        let bound = self.io_bound();
        match tokio::time::timeout(bound, socket.send_to(bytes, dst)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::Connect {
                addr: dst,
                detail: e.to_string(),
            }),
            Err(_) => Err(timeout_error(bound)),
        }
    }

    pub(super) async fn send_tcp(
        &self,
        conn: &Arc<TcpConn>,
        bytes: &[u8],
        summary: &str,
    ) -> Result<(), Error> {
        let bound = self.io_bound();
        let written = tokio::time::timeout(bound, async {
            let mut writer = conn.writer.lock().await;
            self.tap.sent(
                &self.config.node,
                Message::sip(
                    Transport::Tcp,
                    conn.local,
                    conn.peer,
                    summary.to_owned(),
                    lossy(bytes),
                ),
            );
            writer.write_all(bytes).await
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.forget(conn);
                Err(Error::Connect {
                    addr: conn.peer,
                    detail: e.to_string(),
                })
            }
            Err(_) => {
                self.forget(conn);
                Err(timeout_error(bound))
            }
        }
    }

    fn open_conn(&self, peer: SocketAddr) -> Option<Arc<TcpConn>> {
        lock(&self.conns)
            .get(&peer)
            .filter(|c| c.is_open())
            .cloned()
    }

    /// The open connection to `peer`, or a new one.
    async fn tcp_conn(self: &Arc<Self>, peer: SocketAddr) -> Result<Arc<TcpConn>, Error> {
        if let Some(conn) = self.open_conn(peer) {
            return Ok(conn);
        }
        let bound = self.io_bound();
        let _one_at_a_time = tokio::time::timeout(bound, self.connecting.lock())
            .await
            .map_err(|_| timeout_error(bound))?;
        if let Some(conn) = self.open_conn(peer) {
            return Ok(conn);
        }
        if self.is_closed() {
            return Err(shut_down());
        }
        let stream = match tokio::time::timeout(
            bound,
            crate::ports::connect_tcp(peer, Some((&self.tap, &self.config.node))),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                return Err(Error::Connect {
                    addr: peer,
                    detail: e.to_string(),
                });
            }
            Err(_) => {
                return Err(Error::Connect {
                    addr: peer,
                    detail: format!("no connection within {} ms", bound.as_millis()),
                });
            }
        };
        self.adopt(stream, peer)
    }

    /// Takes a connected stream into the endpoint: TCP_NODELAY, the local address on the tap,
    /// a reader task.
    fn adopt(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) -> Result<Arc<TcpConn>, Error> {
        let io = |e: std::io::Error| Error::Connect {
            addr: peer,
            detail: e.to_string(),
        };
        stream.set_nodelay(true).map_err(io)?;
        let local = stream.local_addr().map_err(io)?;
        self.tap.register(Transport::Tcp, local, &self.config.node);
        let (reader, writer) = stream.into_split();
        let conn = Arc::new(TcpConn {
            local,
            peer,
            writer: tokio::sync::Mutex::new(writer),
            closed: AtomicBool::new(false),
        });
        lock(&self.conns).insert(peer, conn.clone());
        self.spawn(self.clone().tcp_reader(reader, conn.clone()));
        Ok(conn)
    }

    /// Marks a connection dead and drops it from the table.
    fn forget(&self, conn: &Arc<TcpConn>) {
        conn.closed.store(true, Ordering::SeqCst);
        let mut conns = lock(&self.conns);
        if conns.get(&conn.peer).is_some_and(|c| Arc::ptr_eq(c, conn)) {
            conns.remove(&conn.peer);
        }
    }

    /// Sends a response back the way its request came (§18.2.2): over UDP to the top Via's
    /// `received`/`rport`/sent-by (else the source), over TCP on the request's connection, or
    /// if that is gone, on a new one to `received` and the sent-by port.
    pub(super) async fn send_response_on(
        self: &Arc<Self>,
        response: &Response,
        path: &ReplyPath,
    ) -> Result<(), Error> {
        let bytes = wire::encode_response(response);
        let summary = wire::response_summary(response);
        let via_addr = wire::top_via(response)
            .ok()
            .and_then(|v| wire::via_target(&v).ok())
            .and_then(|t| t.addr());
        match path.transport {
            SipTransport::Udp => {
                self.send_udp(via_addr.unwrap_or(path.peer), &bytes, &summary)
                    .await
            }
            SipTransport::Tcp => {
                if let Some(conn) = path.conn.as_ref().filter(|c| c.is_open())
                    && self.send_tcp(conn, &bytes, &summary).await.is_ok()
                {
                    return Ok(());
                }
                let addr = via_addr.ok_or_else(|| sip_error("no address to answer"))?;
                let conn = self.tcp_conn(addr).await?;
                self.send_tcp(&conn, &bytes, &summary).await
            }
        }
    }

    /// Sends a response where its top Via says (§18.2.2; a name is located as in RFC 3263 §5).
    pub(super) async fn send_response_by_via(
        self: &Arc<Self>,
        response: &Response,
    ) -> Result<(), Error> {
        if self.is_closed() {
            return Err(shut_down());
        }
        let via = wire::top_via(response).map_err(sip_error)?;
        let target = wire::via_target(&via).map_err(sip_error)?;
        let targets = match (&target.host, target.addr()) {
            (_, Some(addr)) => vec![SipTarget {
                addr,
                transport: target.transport,
            }],
            (ViaHost::Name(host), None) => {
                self.locate_host(host, target.port, Some(target.transport))
                    .await?
            }
            (ViaHost::Ip(_), None) => Vec::new(),
        };
        let bytes = wire::encode_response(response);
        let summary = wire::response_summary(response);
        let mut last = None;
        for target in targets {
            match self.transmit(target, &bytes, &summary, None).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| sip_error("no address to answer")))
    }

    // ---- preparing and routing requests ---------------------------------------------------

    /// Adds what a request must carry when it leaves: a Via with a fresh branch if it has none,
    /// Max-Forwards 70 if it has none (§8.1.1), Content-Length of its body.
    pub(super) fn prepare_outgoing(&self, mut request: Request) -> Result<Request, Error> {
        if self.is_closed() {
            return Err(shut_down());
        }
        if !request.headers.iter().any(|h| matches!(h, Header::Via(_))) {
            let via = format!(
                "SIP/2.0/UDP {}:{};branch={}",
                self.config.host,
                self.addr.port(),
                self.next_branch()
            );
            request.headers.0.insert(0, Header::Via(via.into()));
        }
        if request.max_forwards_header().is_err() {
            let at = request
                .headers
                .0
                .iter()
                .rposition(|h| matches!(h, Header::Via(_)))
                .map_or(0, |i| i + 1);
            request.headers.0.insert(at, Header::MaxForwards(70.into()));
        }
        let length = u32::try_from(request.body.len()).map_err(|_| sip_error("body too large"))?;
        request
            .headers
            .unique_push(Header::ContentLength(length.into()));
        Ok(request)
    }

    /// Where a request goes, in order, each with the request as it is sent there (our Via
    /// naming the transport). Over TCP when larger than 1300 bytes (§18.1.1).
    pub(super) async fn routes_for(
        &self,
        request: &Request,
    ) -> Result<Vec<(SipTarget, Request)>, Error> {
        let uri = match request.typed_route_headers() {
            Ok(routes) if !routes.is_empty() => routes
                .into_iter()
                .next()
                .map_or_else(|| request.uri.clone(), |r| r.uri),
            Ok(_) => request.uri.clone(),
            Err(e) => return Err(sip_error(format!("Route header unusable: {e}"))),
        };
        let large = wire::encode_request(request).len() > UDP_SIZE_LIMIT;
        let mut routes: Vec<(SipTarget, Request)> = Vec::new();
        for mut target in self.locate_uri(&uri).await? {
            if large && target.transport == SipTransport::Udp {
                target.transport = SipTransport::Tcp;
            }
            if routes.iter().any(|(t, _)| *t == target) {
                continue;
            }
            routes.push((target, self.with_via_transport(request, target.transport)));
        }
        Ok(routes)
    }

    /// `request` with our top Via's transport set to `transport` (§18.1.1).
    fn with_via_transport(&self, request: &Request, transport: SipTransport) -> Request {
        let mut request = request.clone();
        let host = &self.config.host;
        if let Ok(via) = request.via_header_mut() {
            let _ = via.update_first_value(|value| {
                let mut top = value.typed()?;
                let ours = matches!(&top.uri.host_with_port.host, Host::Domain(d) if d.0.eq_ignore_ascii_case(host));
                if ours {
                    top.transport = wire::rsip_transport(transport);
                    Ok(top.into())
                } else {
                    Ok(value)
                }
            });
        }
        request
    }

    /// Targets for a SIP URI (RFC 3263 §4): a numeric host directly, a name through Locate.
    async fn locate_uri(&self, uri: &Uri) -> Result<Vec<SipTarget>, Error> {
        match &uri.scheme {
            None | Some(Scheme::Sip) => {}
            Some(other) => return Err(sip_error(format!("cannot route a {other}: URI"))),
        }
        let transport = uri
            .params
            .iter()
            .find_map(|p| match p {
                Param::Transport(t) => Some(*t),
                _ => None,
            })
            .map(wire::sip_transport)
            .transpose()
            .map_err(sip_error)?;
        let port = uri.host_with_port.port.as_ref().map(|p| p.0);
        match &uri.host_with_port.host {
            Host::IpAddr(ip) => Ok(vec![SipTarget {
                addr: SocketAddr::new(*ip, port.unwrap_or(5060)),
                transport: transport.unwrap_or(SipTransport::Udp),
            }]),
            Host::Domain(domain) => self.locate_host(&domain.0, port, transport).await,
        }
    }

    async fn locate_host(
        &self,
        host: &str,
        port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> Result<Vec<SipTarget>, Error> {
        let bound = self.io_bound();
        let resolve = |detail: String| Error::Resolve {
            host: host.to_owned(),
            detail,
        };
        let targets = tokio::time::timeout(bound, self.locate.sip_targets(host, port, transport))
            .await
            .map_err(|_| resolve(format!("no answer within {} ms", bound.as_millis())))?
            .map_err(|e| resolve(e.to_string()))?;
        if targets.is_empty() {
            return Err(resolve("no SIP targets".into()));
        }
        Ok(targets)
    }

    // ---- receiving -------------------------------------------------------------------------

    pub(super) async fn udp_loop(self: Arc<Self>, socket: Arc<UdpSocket>) {
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

    pub(super) async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
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

    async fn tcp_reader(self: Arc<Self>, mut reader: OwnedReadHalf, conn: Arc<TcpConn>) {
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
                            SipTransport::Tcp,
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
    async fn on_broken_stream(self: &Arc<Self>, bytes: &[u8], reason: &str, conn: &Arc<TcpConn>) {
        let id = self.tap.received(
            &self.config.node,
            Message::sip(
                Transport::Tcp,
                conn.peer,
                conn.local,
                wire::garbage_summary(bytes),
                lossy(bytes),
            ),
        );
        self.note_check(id, "SIP message well-formed", reason.to_owned(), Some(400));
        if let Some((reply, summary)) = wire::salvage_reply(bytes, reason) {
            let _ = self.send_tcp(conn, &reply, &summary).await;
        }
    }

    /// One datagram or framed stream message.
    async fn on_bytes(
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
        let summary = match &parsed {
            Ok(SipMessage::Request(r)) => wire::request_summary(r),
            Ok(SipMessage::Response(r)) => wire::response_summary(r),
            Err(_) => wire::garbage_summary(bytes),
        };
        let id = self.tap.received(
            &self.config.node,
            Message::sip(
                trace_transport(transport),
                peer,
                local,
                summary,
                lossy(bytes),
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
                    let _ = match (&path.transport, &path.conn) {
                        (SipTransport::Tcp, Some(conn)) => {
                            self.send_tcp(conn, &reply, &summary).await
                        }
                        _ => self.send_udp(peer, &reply, &summary).await,
                    };
                }
            }
            Ok(SipMessage::Request(request)) => self.on_request(request, path, id).await,
            Ok(SipMessage::Response(response)) => self.on_response(response, id),
        }
    }

    async fn on_request(self: &Arc<Self>, mut request: Request, path: ReplyPath, id: u64) {
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

    fn on_response(&self, response: Response, id: u64) {
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
                let _ = client.send(super::transaction::ClientEvent::Response(response, id));
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
