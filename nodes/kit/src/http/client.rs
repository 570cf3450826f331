//! The HTTP(S) client: one request at a time per connection, persistent connections kept per
//! origin (RFC 9112 §9.3), redirects never followed, every exchange bounded and traced.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use super::{
    Request, Resolve, Response, Trace, collect_headers, status_line, wire_bytes, wire_text,
};
use crate::Error;
use crate::tap::Tap;
use proto::trace::{Message, Transport};

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 4;

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

/// Where a request's URL points: what the client connects to and what it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    tls: bool,
    host: String,
    /// The URL's port, or the scheme's default.
    port: u16,
    /// Path and query (`/` when the URL has none).
    path: String,
    /// `host[:port]` as written in the URL (the `host` header).
    authority: String,
    /// `scheme://authority`: the pool key.
    key: String,
}

impl Origin {
    /// Reads an absolute `http`/`https` URL with a host.
    fn parse(url: &str) -> Result<Origin, Error> {
        let bad_url = || Error::Url {
            url: url.to_owned(),
        };
        let uri: hyper::Uri = url.parse().map_err(|_| bad_url())?;
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
        Ok(Origin {
            tls,
            host,
            port,
            path,
            authority,
            key,
        })
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

    /// Bound on connect + handshake + the whole exchange.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Bound on the response body, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Sends one request, on a kept-alive connection to its origin if there is one, else on
    /// a fresh one.
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        let limit = self.timeout;
        tokio::time::timeout(limit, self.exchange(request))
            .await
            .map_err(|_| Error::Timeout {
                ms: limit.as_millis().try_into().unwrap_or(u64::MAX),
            })?
    }

    async fn exchange(&self, request: Request) -> Result<Response, Error> {
        let origin = Origin::parse(&request.target)?;
        // A node the harness stopped sends nothing (its tasks may outlive its listeners).
        if let Some(trace) = &self.trace
            && trace.tap.is_stopped(&trace.node)
        {
            return Err(Error::Http {
                detail: format!("{} is stopped: nothing sent", trace.node),
            });
        }
        // A kept-alive connection to the same origin first (HTTP/1.1 persistent connections,
        // RFC 9112 §9.3): no new TCP and TLS handshake per request.
        let mut conn = match self.idle(&origin.key) {
            Some(conn) => conn,
            None => self.connect(&origin, &request.target).await?,
        };
        let response = self
            .send_on(&mut conn, request, &origin.path, &origin.authority)
            .await?;
        self.keep(origin.key, conn);
        Ok(response)
    }

    /// A new connection to `origin`: located, connected, TLS when the scheme says so.
    async fn connect(&self, origin: &Origin, url: &str) -> Result<ClientConn, Error> {
        let host = &origin.host;
        let addr = self
            .resolver
            .resolve(host, origin.port)
            .await
            .map_err(|e| Error::Resolve {
                host: host.clone(),
                detail: e.to_string(),
            })?;
        let (tcp, local) = self.open_tcp(addr).await?;
        let claimed = self.trace.as_ref().map(|t| t.tap.clone());
        let wire = Wire {
            local,
            remote: addr,
            transport: if origin.tls {
                Transport::Tls
            } else {
                Transport::Tcp
            },
        };
        if !origin.tls {
            return ClientConn::open(tcp, wire, claimed).await;
        }
        let name = ServerName::try_from(host.clone()).map_err(|_| Error::Url {
            url: url.to_owned(),
        })?;
        let stream = match self.tls.connect(name, tcp).await {
            Ok(stream) => stream,
            Err(e) => {
                if let Some(tap) = &claimed {
                    tap.release_port(local.port());
                }
                return Err(Error::Handshake {
                    peer: host.clone(),
                    detail: e.to_string(),
                });
            }
        };
        ClientConn::open(stream, wire, claimed).await
    }

    /// A TCP connection to `addr` (TCP_NODELAY), its local address on the tap when traced.
    async fn open_tcp(&self, addr: SocketAddr) -> Result<(TcpStream, SocketAddr), Error> {
        let connect_error = |e: std::io::Error| Error::Connect {
            addr,
            detail: e.to_string(),
        };
        let owner = self.trace.as_ref().map(|t| (&t.tap, t.node.as_str()));
        let tcp = crate::ports::connect_tcp(addr, owner)
            .await
            .map_err(connect_error)?;
        tcp.set_nodelay(true).map_err(connect_error)?;
        let local = tcp.local_addr().map_err(connect_error)?;
        if let Some(trace) = &self.trace {
            trace.tap.register(Transport::Tcp, local, &trace.node);
        }
        Ok((tcp, local))
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

    /// One exchange on `conn`: the request traced, sent, the response read (bounded) and
    /// traced.
    async fn send_on(
        &self,
        conn: &mut ClientConn,
        request: Request,
        path: &str,
        authority: &str,
    ) -> Result<Response, Error> {
        let wire = conn.wire;
        let headers = outgoing_headers(&request, authority);
        let request_line = format!("{} {path}", request.method);
        let sent = self.trace_request(wire, path, &request_line, &headers, &request);
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(path);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let req = builder.body(Full::new(request.body)).map_err(http_error)?;
        let response = match conn.sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                // Never read by the server (its TLS refused us after our handshake ended).
                if let (Some(trace), Some(msg)) = (&self.trace, sent) {
                    trace.tap.lost(msg);
                }
                return Err(exchange_error(&e));
            }
        };
        let status = response.status().as_u16();
        let headers = collect_headers(response.headers());
        let body = Limited::new(response.into_body(), self.max_body)
            .collect()
            .await
            .map_err(|_| Error::BodyTooLarge {
                limit: self.max_body,
            })?
            .to_bytes();
        let response = Response {
            status,
            headers,
            body,
        };
        self.trace_response(wire, &request_line, &response);
        Ok(response)
    }

    /// Records a request as sent (identified by method, path and body); its message id.
    fn trace_request(
        &self,
        wire: Wire,
        path: &str,
        request_line: &str,
        headers: &[(String, String)],
        request: &Request,
    ) -> Option<u64> {
        let trace = self.trace.as_ref()?;
        let start = format!("{request_line} HTTP/1.1");
        let raw = wire_text(&trace.tap, &start, headers, &request.body);
        let identity = [
            request.method.as_bytes(),
            path.as_bytes(),
            &request.body[..],
        ];
        let message = Message::http(
            wire.transport,
            wire.local,
            wire.remote,
            request_line.to_owned(),
            raw,
            &identity,
        )
        .with_wire(wire_bytes(&trace.tap, &start, headers, &request.body));
        Some(trace.tap.sent(&trace.node, message))
    }

    /// Records a response as received (identified by status and body).
    fn trace_response(&self, wire: Wire, request_line: &str, response: &Response) {
        let Some(trace) = &self.trace else { return };
        let status_line = status_line(response.status);
        let start = format!("HTTP/1.1 {status_line}");
        let raw = wire_text(&trace.tap, &start, &response.headers, &response.body);
        let summary = format!("{status_line} ({request_line})");
        let identity = [&response.status.to_be_bytes()[..], &response.body[..]];
        let message = Message::http(
            wire.transport,
            wire.remote,
            wire.local,
            summary,
            raw,
            &identity,
        )
        .with_wire(wire_bytes(
            &trace.tap,
            &start,
            &response.headers,
            &response.body,
        ));
        trace.tap.received(&trace.node, message);
    }
}

/// The header fields a request goes out with: `host` first unless the request has its own,
/// then the request's, in order.
fn outgoing_headers(request: &Request, authority: &str) -> Vec<(String, String)> {
    let mut headers = Vec::with_capacity(request.headers.len() + 1);
    if request.header_value("host").is_none() {
        headers.push(("host".to_owned(), authority.to_owned()));
    }
    headers.extend(request.headers.iter().cloned());
    headers
}

/// A request that got no answer: a connection the server closed (or refused at TLS, which the
/// client learns only now, TLS 1.3) reads the same whichever way hyper saw it go, so the
/// trace does not depend on timing.
fn exchange_error(e: &hyper::Error) -> Error {
    if e.is_parse() || e.is_user() {
        return http_error(e);
    }
    Error::Http {
        detail: "the connection closed before an answer".into(),
    }
}

fn http_error(e: impl fmt::Display) -> Error {
    Error::Http {
        detail: e.to_string(),
    }
}

/// One HTTP/1.1 client connection: the request sender and the task driving the connection
/// (stopped when the connection is dropped).
struct ClientConn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    wire: Wire,
    driver: JoinHandle<()>,
    /// The tap that claimed the connection's local port, told when it closes.
    claimed: Option<Tap>,
}

impl ClientConn {
    async fn open<S>(stream: S, wire: Wire, claimed: Option<Tap>) -> Result<ClientConn, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) =
            match hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
            {
                Ok(pair) => pair,
                Err(e) => {
                    if let Some(tap) = &claimed {
                        tap.release_port(wire.local.port());
                    }
                    return Err(http_error(e));
                }
            };
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(ClientConn {
            sender,
            wire,
            driver,
            claimed,
        })
    }
}

impl Drop for ClientConn {
    fn drop(&mut self) {
        self.driver.abort();
        if let Some(tap) = &self.claimed {
            tap.release_port(self.wire.local.port());
        }
    }
}

/// Where an exchange runs, for the trace.
#[derive(Debug, Clone, Copy)]
struct Wire {
    local: SocketAddr,
    remote: SocketAddr,
    transport: Transport,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn origins_default_the_port_and_key_the_pool_by_scheme_and_authority() {
        let o = Origin::parse("https://as.example/v1/x?y=1").unwrap();
        assert_eq!(
            (o.tls, o.host.as_str(), o.port, o.path.as_str()),
            (true, "as.example", 443, "/v1/x?y=1")
        );
        assert_eq!(
            (o.authority.as_str(), o.key.as_str()),
            ("as.example", "https://as.example")
        );
        let o = Origin::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((o.tls, o.port, o.path.as_str()), (false, 8080, "/"));
        assert_eq!(o.key, "http://127.0.0.1:8080");
    }

    #[test]
    fn urls_without_an_http_scheme_or_host_are_refused() {
        for url in ["ftp://a.example/", "/relative", "not a url"] {
            assert!(
                matches!(Origin::parse(url), Err(Error::Url { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn host_goes_first_unless_the_request_has_one() {
        let r = Request::get("http://a.example/").header("accept", "*/*");
        let names: Vec<_> = outgoing_headers(&r, "a.example:80")
            .into_iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        assert_eq!(names, ["host: a.example:80", "accept: */*"]);
        let r = r.header("Host", "b.example");
        assert_eq!(outgoing_headers(&r, "a.example").len(), 2);
    }
}
