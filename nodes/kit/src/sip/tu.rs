//! What the transaction user holds (RFC 3261 §17): a request to answer, in its server
//! transaction or as the ACK of a 2xx ([`Incoming`]), and a request sent in a client
//! transaction ([`ClientTransaction`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{Method, Request, Response};
use tokio::sync::{mpsc, oneshot};

use super::endpoint::Inner;
use super::transaction::ServerEvent;
use super::transport::TcpConn;
use super::{SipTarget, SipTransport};
use crate::Error;

/// How a request reached the network function.
#[derive(Debug)]
pub(super) enum Kind {
    /// A server transaction: responses go through it.
    Transaction(mpsc::UnboundedSender<ServerEvent>),
    /// An ACK outside any transaction (the ACK of a 2xx).
    Ack,
}

/// A request handed to the network function: a server transaction to answer, or an ACK of a
/// 2xx (no transaction, nothing to answer; a proxy forwards it).
///
/// Dropped without a final response, the transaction answers `500`.
#[derive(Debug)]
pub struct Incoming {
    pub(super) request: Request,
    pub(super) source: SocketAddr,
    pub(super) transport: SipTransport,
    pub(super) peer_identity: Option<String>,
    pub(super) trace_id: u64,
    pub(super) kind: Kind,
    pub(super) answered: bool,
    pub(super) bound: Duration,
}

impl Incoming {
    /// The request, with `received`/`rport` added to its top Via (§18.2.1).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The request's method.
    pub fn method(&self) -> Method {
        self.request.method
    }

    /// The address the request came from.
    pub fn source(&self) -> SocketAddr {
        self.source
    }

    /// The transport the request came over (UDP, TCP or TLS).
    pub fn transport(&self) -> SipTransport {
        self.transport
    }

    /// Over TLS, who the client proved to be: the DNS name (subject alternative name) of the
    /// certificate it presented, verified against the world's TLS CA in the handshake. `None`
    /// over UDP or TCP, or when the client presented no certificate (a listener with
    /// [`crate::node::ClientAuth::Optional`]).
    pub fn peer_identity(&self) -> Option<String> {
        self.peer_identity.clone()
    }

    /// An ACK outside any transaction (nothing to answer).
    pub fn is_ack(&self) -> bool {
        matches!(self.kind, Kind::Ack)
    }

    /// The trace message id of the request as received (for notes about it).
    pub fn trace_id(&self) -> u64 {
        self.trace_id
    }

    /// Answers as a user agent server: provisional or final. A final response without a To
    /// tag gets the transaction's tag. A 2xx to INVITE is retransmitted by the endpoint until
    /// the ACK arrives (§13.3.1.4) or 64×T1 pass.
    pub async fn respond(&mut self, response: Response) -> Result<(), Error> {
        self.send(response, false).await
    }

    /// Passes a response on as a proxy (§16.7 step 10): like [`Incoming::respond`], but a 2xx
    /// is sent once (each retransmission from downstream is relayed again while the
    /// transaction is in Accepted).
    pub async fn relay(&mut self, response: Response) -> Result<(), Error> {
        self.send(response, true).await
    }

    async fn send(&mut self, response: Response, relay: bool) -> Result<(), Error> {
        let Kind::Transaction(events) = &self.kind else {
            return Err(Error::Sip {
                detail: "an ACK is not answered".into(),
            });
        };
        let last = response.status_code.code() >= 200;
        let (done, result) = oneshot::channel();
        events
            .send(ServerEvent::Respond {
                response: Box::new(response),
                relay,
                done,
            })
            .map_err(|_| ended())?;
        let result = tokio::time::timeout(self.bound, result)
            .await
            .map_err(|_| Error::Timeout {
                ms: u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX),
            })?
            .map_err(|_| ended())?;
        if last {
            self.answered = true;
        }
        result
    }
}

impl Incoming {
    /// Hands a final `response` to the server transaction without waiting for it to go out:
    /// the endpoint's own answer to a request the network function never sees.
    pub(super) fn answer_now(mut self, response: Response) {
        if let Kind::Transaction(events) = &self.kind {
            let (done, _) = oneshot::channel();
            let respond = ServerEvent::Respond {
                response: Box::new(response),
                relay: false,
                done,
            };
            self.answered = events.send(respond).is_ok();
        }
    }
}

fn ended() -> Error {
    Error::Sip {
        detail: "the server transaction has ended".into(),
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Kind::Transaction(events) = &self.kind
            && !self.answered
        {
            let _ = events.send(ServerEvent::Abandoned);
        }
    }
}

/// A request sent in a client transaction; its responses arrive through
/// [`ClientTransaction::next_response`].
#[derive(Debug)]
pub struct ClientTransaction {
    pub(super) request: Request,
    pub(super) target: SipTarget,
    pub(super) conn: Option<Arc<TcpConn>>,
    pub(super) responses: mpsc::UnboundedReceiver<(Box<Response>, Option<u64>)>,
    pub(super) last_trace_id: Option<u64>,
    pub(super) inner: Arc<Inner>,
}

impl ClientTransaction {
    /// The next response: provisional ones, then the final one. After a 2xx to INVITE, further
    /// 2xx (retransmitted or forked) until Timer M (64×T1). When Timer B/F or Timer C expires,
    /// a locally generated `408 Request Timeout`, once. Then `None`.
    pub async fn next_response(&mut self) -> Option<Response> {
        let (response, id) = self.responses.recv().await?;
        self.last_trace_id = id;
        Some(*response)
    }

    /// The request as sent (with its Via and Content-Length).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Where it went.
    pub fn target(&self) -> SipTarget {
        self.target
    }

    /// Trace message id of the response last returned (`None` for a locally generated one).
    pub fn last_trace_id(&self) -> Option<u64> {
        self.last_trace_id
    }

    /// Sends the CANCEL of this INVITE (§9.1) to the same place, in its own transaction.
    pub async fn cancel(&self) -> Result<ClientTransaction, Error> {
        if self.request.method != Method::Invite {
            return Err(Error::Sip {
                detail: "only an INVITE is cancelled".into(),
            });
        }
        let cancel =
            super::ua::cancel_for(&self.request).map_err(|detail| Error::Sip { detail })?;
        self.inner
            .start_client(cancel, self.target, self.conn.clone())
            .await
    }
}
