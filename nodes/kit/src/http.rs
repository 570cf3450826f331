//! HTTP/1.1 over TCP or TLS on hyper: a client that resolves hosts through a [`Resolve`] the
//! node is given (so the world's DNS, not the OS, decides where a hostname is), and a server that
//! hands each request to an async handler. Every wait is bounded: connect + exchange by the
//! client's timeout, a TLS handshake and a request by the server's, bodies by a size limit.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::Error;
use crate::tap::Tap;
use proto::trace::{Message, Transport};

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a host is. The URL's port (or the scheme's default) is passed in; a resolver that
/// knows better (DNS SRV, a `--resolve` override) answers with its own port.
pub trait Resolve: Send + Sync + fmt::Debug {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>>;
}

/// The operating system's resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>> {
        Box::pin(async move {
            tokio::net::lookup_host((host, port))
                .await?
                .next()
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
                })
        })
    }
}

/// Fixed host → address entries (curl's `--resolve`), falling back to the system resolver.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    pub entries: HashMap<String, SocketAddr>,
    pub fallback_to_system: bool,
}

impl Resolve for StaticResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>> {
        Box::pin(async move {
            match self.entries.get(&host.to_ascii_lowercase()) {
                Some(addr) => Ok(*addr),
                None if self.fallback_to_system => SystemResolver.resolve(host, port).await,
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} is not known"),
                )),
            }
        })
    }
}

/// A request, as the client sends it or the server receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Absolute URL for the client; path and query for the server.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            target: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn post_json(url: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            method: "POST".into(),
            target: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// First value of a header (names compared case-insensitively).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body.into())
    }

    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self::new(status, "application/json", body)
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An HTTP(S) client. Redirects are never followed: a 3xx is returned as it came.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    resolver: Arc<dyn Resolve>,
    trace: Option<Trace>,
    /// Idle persistent connections by origin (`https://host`); shared by clones.
    pool: Arc<Mutex<HashMap<String, Vec<ClientConn>>>>,
    timeout: Duration,
    max_body: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("resolver", &self.resolver)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Trust comes from `tls` (see [`crate::tls::client_config`]); hosts from `resolver`.
    pub fn new(tls: Arc<ClientConfig>, resolver: Arc<dyn Resolve>) -> Self {
        Self {
            tls: TlsConnector::from(tls),
            trace: None,
            pool: Arc::default(),
            resolver,
            timeout: Duration::from_secs(5),
            max_body: 1 << 20,
        }
    }

    /// Records every request and response on `trace.tap` as node `trace.node`.
    pub fn with_trace(mut self, trace: Trace) -> Self {
        self.trace = Some(trace);
        self
    }

    /// Bound on connect + handshake + the whole exchange.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bound on the response body.
    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Sends one request on a fresh connection.
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        let limit = self.timeout;
        tokio::time::timeout(limit, self.exchange(request))
            .await
            .map_err(|_| Error::Timeout {
                ms: limit.as_millis().try_into().unwrap_or(u64::MAX),
            })?
    }

    async fn exchange(&self, request: Request) -> Result<Response, Error> {
        let uri: hyper::Uri = request.target.parse().map_err(|_| Error::Url {
            url: request.target.clone(),
        })?;
        let bad_url = || Error::Url {
            url: request.target.clone(),
        };
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad_url()),
        };
        let host = uri.host().ok_or_else(bad_url)?.to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
        let key = format!("{}://{authority}", if tls { "https" } else { "http" });
        // A kept-alive connection to the same origin first (HTTP/1.1 persistent connections,
        // RFC 9112 §9.3): no new TCP and TLS handshake per request.
        if let Some(mut conn) = self.idle(&key) {
            let response = self.send_on(&mut conn, request, &path, &authority).await?;
            self.keep(key, conn);
            return Ok(response);
        }
        let addr = self
            .resolver
            .resolve(&host, port)
            .await
            .map_err(|e| Error::Resolve {
                host: host.clone(),
                detail: e.to_string(),
            })?;
        let owner = self.trace.as_ref().map(|t| (&t.tap, t.node.as_str()));
        let tcp = crate::ports::connect_tcp(addr, owner)
            .await
            .map_err(|e| Error::Connect {
                addr,
                detail: e.to_string(),
            })?;
        tcp.set_nodelay(true).map_err(|e| Error::Connect {
            addr,
            detail: e.to_string(),
        })?;
        let local = tcp.local_addr().map_err(|e| Error::Connect {
            addr,
            detail: e.to_string(),
        })?;
        if let Some(trace) = &self.trace {
            trace.tap.register(Transport::Tcp, local, &trace.node);
        }
        let wire = Wire {
            local,
            remote: addr,
            transport: if tls { Transport::Tls } else { Transport::Tcp },
        };
        let mut conn = if tls {
            let name = ServerName::try_from(host.clone()).map_err(|_| bad_url())?;
            let stream = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| Error::Handshake {
                    peer: host.clone(),
                    detail: e.to_string(),
                })?;
            ClientConn::open(stream, wire).await?
        } else {
            ClientConn::open(tcp, wire).await?
        };
        let response = self.send_on(&mut conn, request, &path, &authority).await?;
        self.keep(key, conn);
        Ok(response)
    }

    /// An idle connection to `key` that is still open.
    fn idle(&self, key: &str) -> Option<ClientConn> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let list = pool.get_mut(key)?;
        while let Some(conn) = list.pop() {
            if conn.sender.is_ready() {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection to the pool if the server kept it open.
    fn keep(&self, key: String, conn: ClientConn) {
        if conn.sender.is_ready() {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            let list = pool.entry(key).or_default();
            if list.len() < MAX_IDLE_PER_ORIGIN {
                list.push(conn);
            }
        }
    }

    async fn send_on(
        &self,
        conn: &mut ClientConn,
        request: Request,
        path: &str,
        authority: &str,
    ) -> Result<Response, Error> {
        let wire = conn.wire;
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(path);
        if request.header_value("host").is_none() {
            builder = builder.header("host", authority);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut headers = vec![("host".to_owned(), authority.to_owned())];
        headers.retain(|_| request.header_value("host").is_none());
        headers.extend(request.headers.iter().cloned());
        let request_line = format!("{} {path}", request.method);
        if let Some(trace) = &self.trace {
            let raw = wire_text(&format!("{request_line} HTTP/1.1"), &headers, &request.body);
            let identity = [
                request.method.as_bytes(),
                path.as_bytes(),
                &request.body[..],
            ];
            let message = Message::http(
                wire.transport,
                wire.local,
                wire.remote,
                request_line.clone(),
                raw,
                &identity,
            );
            trace.tap.sent(&trace.node, message);
        }
        let req = builder
            .body(Full::new(request.body))
            .map_err(|e| Error::Http {
                detail: e.to_string(),
            })?;
        let response = conn
            .sender
            .send_request(req)
            .await
            .map_err(|e| Error::Http {
                detail: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let headers = collect_headers(response.headers());
        let body = Limited::new(response.into_body(), self.max_body)
            .collect()
            .await
            .map_err(|_| Error::BodyTooLarge {
                limit: self.max_body,
            })?
            .to_bytes();
        if let Some(trace) = &self.trace {
            let status_line = status_line(status);
            let raw = wire_text(&format!("HTTP/1.1 {status_line}"), &headers, &body);
            let summary = format!("{status_line} ({request_line})");
            let identity = [&status.to_be_bytes()[..], &body[..]];
            let message = Message::http(
                wire.transport,
                wire.remote,
                wire.local,
                summary,
                raw,
                &identity,
            );
            trace.tap.received(&trace.node, message);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 4;

/// One HTTP/1.1 client connection: the request sender and the task driving the connection
/// (stopped when the connection is dropped).
struct ClientConn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    wire: Wire,
    driver: JoinHandle<()>,
}

impl ClientConn {
    async fn open<S>(stream: S, wire: Wire) -> Result<ClientConn, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Error::Http {
                detail: e.to_string(),
            })?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(ClientConn {
            sender,
            wire,
            driver,
        })
    }
}

impl Drop for ClientConn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Where an exchange runs, for the trace.
#[derive(Debug, Clone, Copy)]
struct Wire {
    local: SocketAddr,
    remote: SocketAddr,
    transport: Transport,
}

/// Which node's trace an HTTP client or server records into.
#[derive(Debug, Clone)]
pub struct Trace {
    pub tap: Tap,
    pub node: String,
}

/// `200 OK`, `404 Not Found`, …
fn status_line(status: u16) -> String {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_owned()
}

/// An HTTP/1.1 message as text: start line, headers, blank line, body (UTF-8, lossy).
fn wire_text(start: &str, headers: &[(String, String)], body: &[u8]) -> String {
    let mut out = String::from(start);
    out.push_str("\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(body));
    out
}

fn collect_headers(map: &hyper::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// What a server handler sees besides the request: who connected and with which certificate.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The client's end-entity certificate, when mutual TLS was used.
    pub certificate: Option<CertificateDer<'static>>,
    /// Trace id of the received request, for notes about it (when the server is traced).
    pub msg: Option<u64>,
}

/// An async request handler.
pub type Handler = Arc<dyn Fn(Request, Peer) -> BoxFuture<'static, Response> + Send + Sync>;

/// Wraps an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request, Peer) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    Arc::new(move |req, peer| Box::pin(f(req, peer)))
}

/// A running HTTP(S) server. Dropping it (or [`Server::shutdown`]) stops the accept loop and
/// every open connection.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// Server limits.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Bound on the TLS handshake and on reading one request.
    pub timeout: Duration,
    pub max_body: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body: 1 << 20,
        }
    }
}

impl Server {
    /// Serves `handler` on an already bound listener (bind first, so the port is known without a
    /// race). With `tls`, only HTTPS is spoken.
    pub fn start(
        listener: TcpListener,
        tls: Option<Arc<ServerConfig>>,
        handler: Handler,
        limits: ServerLimits,
    ) -> Result<Self, Error> {
        Self::start_traced(listener, tls, handler, limits, None)
    }

    /// [`Server::start`], recording every request and response on `trace`.
    pub fn start_traced(
        listener: TcpListener,
        tls: Option<Arc<ServerConfig>>,
        handler: Handler,
        limits: ServerLimits,
        trace: Option<Trace>,
    ) -> Result<Self, Error> {
        let addr = listener.local_addr().map_err(|e| Error::Bind {
            detail: e.to_string(),
        })?;
        if let Some(trace) = &trace {
            trace.tap.register(Transport::Tcp, addr, &trace.node);
        }
        let conn = Conn {
            local: addr,
            acceptor: tls.map(TlsAcceptor::from),
            handler,
            limits,
            trace,
        };
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((tcp, peer)) = accepted else { continue };
                        let _ = tcp.set_nodelay(true);
                        connections.spawn(conn.clone().serve(tcp, peer));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Self { addr, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What every connection of a server shares.
#[derive(Clone)]
struct Conn {
    local: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    handler: Handler,
    limits: ServerLimits,
    trace: Option<Trace>,
}

impl Conn {
    async fn serve(self, tcp: TcpStream, addr: SocketAddr) {
        match self.acceptor.clone() {
            Some(acceptor) => {
                let handshake = tokio::time::timeout(self.limits.timeout, acceptor.accept(tcp));
                let Ok(Ok(stream)) = handshake.await else {
                    return; // handshake failed or stalled: the client sees the TLS alert or a close
                };
                let certificate = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.clone().into_owned());
                let peer = Peer {
                    addr,
                    certificate,
                    msg: None,
                };
                self.http1(stream, peer, Transport::Tls).await;
            }
            None => {
                let peer = Peer {
                    addr,
                    certificate: None,
                    msg: None,
                };
                self.http1(tcp, peer, Transport::Tcp).await;
            }
        }
    }

    async fn http1<S>(self, stream: S, peer: Peer, transport: Transport)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let timeout = self.limits.timeout;
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            let (conn, mut peer) = (self.clone(), peer.clone());
            async move {
                let response = match read_request(req, conn.limits).await {
                    Ok(request) => {
                        let request_line = format!("{} {}", request.method, request.target);
                        if let Some(trace) = &conn.trace {
                            let raw = wire_text(
                                &format!("{request_line} HTTP/1.1"),
                                &request.headers,
                                &request.body,
                            );
                            let identity = [
                                request.method.as_bytes(),
                                request.target.as_bytes(),
                                &request.body[..],
                            ];
                            let message = Message::http(
                                transport,
                                peer.addr,
                                conn.local,
                                request_line.clone(),
                                raw,
                                &identity,
                            );
                            peer.msg = Some(trace.tap.received(&trace.node, message));
                        }
                        let response = (conn.handler)(request, peer.clone()).await;
                        if let Some(trace) = &conn.trace {
                            let status_line = status_line(response.status);
                            let raw = wire_text(
                                &format!("HTTP/1.1 {status_line}"),
                                &response.headers,
                                &response.body,
                            );
                            let identity = [&response.status.to_be_bytes()[..], &response.body[..]];
                            let message = Message::http(
                                transport,
                                conn.local,
                                peer.addr,
                                format!("{status_line} ({request_line})"),
                                raw,
                                &identity,
                            );
                            trace.tap.sent(&trace.node, message);
                        }
                        response
                    }
                    Err(response) => response,
                };
                let mut builder = hyper::Response::builder().status(response.status);
                for (name, value) in &response.headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
                builder.body(Full::new(response.body)).or_else(|_| {
                    hyper::Response::builder()
                        .status(500)
                        .body(Full::new(Bytes::new()))
                })
            }
        });
        // No automatic Date header: time in a scenario comes from the world's clock, so traces
        // stay byte-stable.
        let connection = hyper::server::conn::http1::Builder::new()
            .auto_date_header(false)
            .header_read_timeout(timeout)
            .timer(hyper_util::rt::TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service);
        let _ = connection.await;
    }
}

async fn read_request(
    req: hyper::Request<Incoming>,
    limits: ServerLimits,
) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let body = tokio::time::timeout(
        limits.timeout,
        Limited::new(body, limits.max_body).collect(),
    )
    .await
    .map_err(|_| Response::text(408, "request body not received in time"))?
    .map_err(|_| Response::text(413, format!("request body over {} bytes", limits.max_body)))?
    .to_bytes();
    Ok(Request {
        method: parts.method.as_str().to_owned(),
        target: parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned(),
        headers: collect_headers(&parts.headers),
        body,
    })
}
