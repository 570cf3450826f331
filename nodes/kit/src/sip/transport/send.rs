//! Sending (RFC 3261 §18.1.1, §18.2.2): UDP datagrams, stream connections (TCP, or TLS as
//! `secure` opens them) opened, adopted and forgotten, and responses sent back the way their
//! request came or where their Via says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rsipstack::sip::Response;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::{
    ReadHalf, ReplyPath, TcpConn, WriteHalf, sip_error, timeout_error, trace_transport, traced,
};
use crate::Error;
use crate::sip::endpoint::{Inner, lock, shut_down};
use crate::sip::transport::Stream;
use crate::sip::wire::{self, ViaHost};
use crate::sip::{SipTarget, SipTransport};
use proto::trace::Transport;

impl Inner {
    /// Sends `bytes` to `target`, over `conn` when given and still open for TCP or TLS.
    /// Returns the stream connection used.
    pub(in crate::sip) async fn transmit(
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
            SipTransport::Tcp | SipTransport::Tls => {
                let conn = match conn {
                    Some(c) if c.is_open() && c.transport == target.transport => c.clone(),
                    _ => self.stream_conn(target).await?,
                };
                self.send_tcp(&conn, bytes, summary).await?;
                Ok(Some(conn))
            }
        }
    }

    /// The open connection to `target`, or a new one (TLS: handshake included).
    pub(super) async fn stream_conn(
        self: &Arc<Self>,
        target: SipTarget,
    ) -> Result<Arc<TcpConn>, Error> {
        match target.transport {
            SipTransport::Tls => self.tls_conn(target.addr).await,
            _ => self.tcp_conn(target.addr).await,
        }
    }

    pub(in crate::sip) async fn send_udp(
        &self,
        dst: SocketAddr,
        bytes: &[u8],
        summary: &str,
    ) -> Result<(), Error> {
        let socket = lock(&self.udp).clone().ok_or_else(shut_down)?;
        self.tap.sent(
            &self.config.node,
            traced(
                &self.tap,
                Transport::Udp,
                self.addr,
                dst,
                || summary.to_owned(),
                bytes,
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

    pub(in crate::sip) async fn send_tcp(
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
                traced(
                    &self.tap,
                    trace_transport(conn.transport),
                    conn.local,
                    conn.peer,
                    || summary.to_owned(),
                    bytes,
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

    pub(super) fn open_conn(
        &self,
        transport: SipTransport,
        peer: SocketAddr,
    ) -> Option<Arc<TcpConn>> {
        lock(&self.conns)
            .get(&(transport, peer))
            .filter(|c| c.is_open())
            .cloned()
    }

    /// The open TCP connection to `peer`, or a new one.
    pub(super) async fn tcp_conn(
        self: &Arc<Self>,
        peer: SocketAddr,
    ) -> Result<Arc<TcpConn>, Error> {
        if let Some(conn) = self.open_conn(SipTransport::Tcp, peer) {
            return Ok(conn);
        }
        let bound = self.io_bound();
        let _one_at_a_time = tokio::time::timeout(bound, self.connecting.lock())
            .await
            .map_err(|_| timeout_error(bound))?;
        if let Some(conn) = self.open_conn(SipTransport::Tcp, peer) {
            return Ok(conn);
        }
        if self.is_closed() {
            return Err(shut_down());
        }
        let stream = self.connect(peer).await?;
        self.adopt(stream, peer)
    }

    /// A new TCP connection to `peer` from a port claimed for this node, bounded.
    pub(super) async fn connect(&self, peer: SocketAddr) -> Result<TcpStream, Error> {
        let bound = self.io_bound();
        match tokio::time::timeout(
            bound,
            crate::ports::connect_tcp(peer, Some((&self.tap, &self.config.node))),
        )
        .await
        {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(Error::Connect {
                addr: peer,
                detail: e.to_string(),
            }),
            Err(_) => Err(Error::Connect {
                addr: peer,
                detail: format!("no connection within {} ms", bound.as_millis()),
            }),
        }
    }

    /// Takes a connected TCP stream into the endpoint: TCP_NODELAY, then [`Inner::adopt_halves`].
    pub(super) fn adopt(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Result<Arc<TcpConn>, Error> {
        let io = |e: std::io::Error| Error::Connect {
            addr: peer,
            detail: e.to_string(),
        };
        stream.set_nodelay(true).map_err(io)?;
        let local = stream.local_addr().map_err(io)?;
        let (reader, writer) = stream.into_split();
        let stream = Stream {
            local,
            peer,
            transport: SipTransport::Tcp,
            peer_identity: None,
        };
        Ok(self.adopt_halves(stream, Box::new(reader), Box::new(writer)))
    }

    /// Takes a connection's halves into the endpoint: the local address on the tap, the
    /// connection in the table, a reader task.
    pub(super) fn adopt_halves(
        self: &Arc<Self>,
        stream: Stream,
        reader: ReadHalf,
        writer: WriteHalf,
    ) -> Arc<TcpConn> {
        self.tap.register(
            trace_transport(stream.transport),
            stream.local,
            &self.config.node,
        );
        let conn = Arc::new(TcpConn {
            local: stream.local,
            peer: stream.peer,
            transport: stream.transport,
            peer_identity: stream.peer_identity,
            writer: tokio::sync::Mutex::new(writer),
            closed: AtomicBool::new(false),
        });
        lock(&self.conns).insert(conn.key(), conn.clone());
        self.spawn(self.clone().tcp_reader(reader, conn.clone()));
        conn
    }

    /// Marks a connection dead and drops it from the table.
    pub(super) fn forget(&self, conn: &Arc<TcpConn>) {
        conn.closed.store(true, Ordering::SeqCst);
        let mut conns = lock(&self.conns);
        if conns.get(&conn.key()).is_some_and(|c| Arc::ptr_eq(c, conn)) {
            conns.remove(&conn.key());
        }
    }

    /// Sends a response back the way its request came (§18.2.2): over UDP to the top Via's
    /// `received`/`rport`/sent-by (else the source), over TCP or TLS on the request's
    /// connection, or if that is gone, on a new one to `received` and the sent-by port (TLS:
    /// verifying the sent-by host name).
    pub(in crate::sip) async fn send_response_on(
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
            SipTransport::Tcp | SipTransport::Tls => {
                if let Some(conn) = path.conn.as_ref().filter(|c| c.is_open())
                    && self.send_tcp(conn, &bytes, &summary).await.is_ok()
                {
                    return Ok(());
                }
                let addr = via_addr.ok_or_else(|| sip_error("no address to answer"))?;
                if path.transport == SipTransport::Tls {
                    self.learn_tls_name(addr, response);
                }
                let target = SipTarget {
                    addr,
                    transport: path.transport,
                };
                let conn = self.stream_conn(target).await?;
                self.send_tcp(&conn, &bytes, &summary).await
            }
        }
    }

    /// Sends a response where its top Via says (§18.2.2; a name is located as in RFC 3263 §5).
    pub(in crate::sip) async fn send_response_by_via(
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
}
