//! The HTTP(S) server: an accept loop, one task per connection (TLS handshake bounded, mutual
//! TLS when configured), each request read (bounded), traced, handed to the node's handler,
//! its response traced and written.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::{
    BoxFuture, Request, Response, Trace, collect_headers, status_line, wire_bytes, wire_text,
};
use crate::Error;
use proto::trace::{Message, Transport};

/// What a server handler sees besides the request: who connected and with which certificate.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
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
    /// Bound on a request body, in bytes (larger: `413`).
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

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the accept loop and every open connection.
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
            let (conn, peer) = (self.clone(), peer.clone());
            async move { to_hyper(conn.answer(req, peer, transport).await) }
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

    /// One request: read (bounded; a slow or large body is answered here), traced, handed to
    /// the handler, its response traced.
    async fn answer(
        &self,
        req: hyper::Request<Incoming>,
        mut peer: Peer,
        transport: Transport,
    ) -> Response {
        let request = match read_request(req, self.limits).await {
            Ok(request) => request,
            Err(response) => return response,
        };
        let request_line = format!("{} {}", request.method, request.target);
        peer.msg = self.trace_request(transport, &peer, &request_line, &request);
        let response = (self.handler)(request, peer.clone()).await;
        self.trace_response(transport, &peer, &request_line, &response);
        response
    }

    /// Records a request as received (identified by method, target and body); its trace id.
    fn trace_request(
        &self,
        transport: Transport,
        peer: &Peer,
        request_line: &str,
        request: &Request,
    ) -> Option<u64> {
        let trace = self.trace.as_ref()?;
        let start = format!("{request_line} HTTP/1.1");
        let raw = wire_text(&trace.tap, &start, &request.headers, &request.body);
        let identity = [
            request.method.as_bytes(),
            request.target.as_bytes(),
            &request.body[..],
        ];
        let message = Message::http(
            transport,
            peer.addr,
            self.local,
            request_line.to_owned(),
            raw,
            &identity,
        )
        .with_wire(wire_bytes(
            &trace.tap,
            &start,
            &request.headers,
            &request.body,
        ));
        Some(trace.tap.received(&trace.node, message))
    }

    /// Records a response as sent (identified by status and body).
    fn trace_response(
        &self,
        transport: Transport,
        peer: &Peer,
        request_line: &str,
        response: &Response,
    ) {
        let Some(trace) = &self.trace else { return };
        let status_line = status_line(response.status);
        let start = format!("HTTP/1.1 {status_line}");
        let raw = wire_text(&trace.tap, &start, &response.headers, &response.body);
        let identity = [&response.status.to_be_bytes()[..], &response.body[..]];
        let message = Message::http(
            transport,
            self.local,
            peer.addr,
            format!("{status_line} ({request_line})"),
            raw,
            &identity,
        )
        .with_wire(wire_bytes(
            &trace.tap,
            &start,
            &response.headers,
            &response.body,
        ));
        trace.tap.sent(&trace.node, message);
    }
}

/// The response as hyper writes it; one hyper refuses (a bad header) becomes an empty `500`.
fn to_hyper(response: Response) -> Result<hyper::Response<Full<Bytes>>, hyper::http::Error> {
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

/// Reads a request whole, within the limits: a body not received in time is answered `408`,
/// one over the size limit `413`.
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
