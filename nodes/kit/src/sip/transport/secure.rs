//! The TLS handshakes (RFC 3261 §26.2): accepted on the endpoint's TLS listener (the client's
//! certificate checked as [`crate::sip::TlsConfig::listen`] says) and opened as a client
//! (verifying the server's certificate against the name the address was located under, RFC 5922
//! §4). Every handshake is bounded; one this side refuses is a failed check on the trace
//! (who refused says so), and the sender of a request sees a failed handshake as an error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{Host, Response};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::{Stream, TcpConn, timeout_error};
use crate::Error;
use crate::sip::endpoint::{Inner, lock, shut_down};
use crate::sip::tls::{self, Refusal};
use crate::sip::{SipTransport, wire};
use proto::trace::Note;

/// The check a TLS server notes when it refuses a client's handshake.
const CLIENT_CHECK: &str = "SIP over TLS: client certificate";
/// The check a TLS client notes when it refuses a server's handshake.
const SERVER_CHECK: &str = "SIP over TLS: server certificate";

impl Inner {
    /// Accepts TLS connections until the endpoint shuts down; each handshake in its own task.
    pub(in crate::sip) async fn tls_accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        acceptor: TlsAcceptor,
    ) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    if self.refuse_connection(peer) {
                        drop(stream);
                        continue;
                    }
                    let task = self.clone().tls_accept(stream, peer, acceptor.clone());
                    self.spawn(task);
                }
                // Out of descriptors or similar: back off a little, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// One accepted connection: the handshake (bounded), then the connection adopted with the
    /// identity the client's certificate proves. A handshake refused here is noted.
    async fn tls_accept(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        acceptor: TlsAcceptor,
    ) {
        if stream.set_nodelay(true).is_err() {
            return;
        }
        let Ok(local) = stream.local_addr() else {
            return;
        };
        let bound = self.io_bound();
        let tls = match tokio::time::timeout(bound, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                self.note_refusal(CLIENT_CHECK, &e);
                return;
            }
            // The client stalled or went away: nothing was refused.
            Err(_) => return,
        };
        let peer_identity = tls::peer_identity(tls.get_ref().1.peer_certificates());
        let (reader, writer) = tokio::io::split(tls);
        let stream = Stream {
            local,
            peer,
            transport: SipTransport::Tls,
            peer_identity,
        };
        self.adopt_halves(stream, Box::new(reader), Box::new(writer));
    }

    /// The open TLS connection to `peer`, or a new one: TCP from a claimed port, then the
    /// handshake (bounded), verifying the server's certificate against the host name `peer` was
    /// located under.
    pub(super) async fn tls_conn(
        self: &Arc<Self>,
        peer: SocketAddr,
    ) -> Result<Arc<TcpConn>, Error> {
        if let Some(conn) = self.open_conn(SipTransport::Tls, peer) {
            return Ok(conn);
        }
        let bound = self.io_bound();
        let _one_at_a_time = tokio::time::timeout(bound, self.connecting.lock())
            .await
            .map_err(|_| timeout_error(bound))?;
        if let Some(conn) = self.open_conn(SipTransport::Tls, peer) {
            return Ok(conn);
        }
        if self.is_closed() {
            return Err(shut_down());
        }
        let name = lock(&self.tls_names)
            .get(&peer)
            .cloned()
            .ok_or_else(|| Error::Sip {
                detail: format!("no host name to verify the TLS server at {peer} against"),
            })?;
        let server_name = ServerName::try_from(name.clone()).map_err(|e| Error::Handshake {
            peer: name.clone(),
            detail: e.to_string(),
        })?;
        let connector = TlsConnector::from(self.tls_client()?);
        let stream = self.connect(peer).await?;
        let local = stream.local_addr().map_err(|e| Error::Connect {
            addr: peer,
            detail: e.to_string(),
        })?;
        let handshake = tokio::time::timeout(bound, connector.connect(server_name, stream)).await;
        let tls = match handshake {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                self.note_refusal(SERVER_CHECK, &e);
                return Err(Error::Handshake {
                    peer: name,
                    detail: e.to_string(),
                });
            }
            Err(_) => {
                return Err(Error::Handshake {
                    peer: name,
                    detail: format!("no handshake within {} ms", bound.as_millis()),
                });
            }
        };
        let peer_identity = tls::peer_identity(tls.get_ref().1.peer_certificates());
        let (reader, writer) = tokio::io::split(tls);
        let stream = Stream {
            local,
            peer,
            transport: SipTransport::Tls,
            peer_identity,
        };
        Ok(self.adopt_halves(stream, Box::new(reader), Box::new(writer)))
    }

    /// The TLS client configuration ([`crate::sip::TlsConfig::certificate`]), made once.
    fn tls_client(&self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = self.tls_client.get() {
            return Ok(config.clone());
        }
        let made = tls::client_config(self.config.tls.certificate.as_deref())?;
        Ok(self.tls_client.get_or_init(|| made).clone())
    }

    /// Remembers that the TLS server at `addr` is `host` (it was located under that name).
    pub(super) fn learn_tls_host(&self, addr: SocketAddr, host: &str) {
        lock(&self.tls_names).insert(addr, host.to_ascii_lowercase());
    }

    /// Remembers the sent-by host of a response's top Via as the name of the TLS server at
    /// `addr` (a response whose connection is gone goes to a new one, §18.2.2).
    pub(super) fn learn_tls_name(&self, addr: SocketAddr, response: &Response) {
        if let Ok(via) = wire::top_via(response)
            && let Host::Domain(domain) = &via.uri.host_with_port.host
        {
            self.learn_tls_host(addr, &domain.0);
        }
    }

    /// Notes a handshake this side refused (an I/O error that is no rustls refusal of ours is
    /// not noted: the peer refused, or the connection broke).
    fn note_refusal(&self, check: &str, error: &std::io::Error) {
        let Some(Refusal { reason, detail }) = tls::rustls_error(error).and_then(tls::refusal)
        else {
            return;
        };
        self.tap.note(
            &self.config.node,
            None,
            Note::fail(check, reason, None, detail),
        );
    }
}
