//! What every SIP network function does the same way: a loop that hands each incoming request
//! to the node's handler in its own task ([`serve`]), stateful forwarding as a proxy with
//! response relaying ([`forward`], RFC 3261 §16.6–16.7), and a handle that stops it all
//! ([`SipNode`]).

use std::future::Future;

use tokio::task::{JoinHandle, JoinSet};

use crate::sip::proxy::{prepare_response_forward, response_to};
use crate::sip::{ClientTransaction, Endpoint, Incoming, Method, Request};

/// A running SIP network function: its endpoint and the loop serving it.
#[derive(Debug)]
pub struct SipNode {
    pub endpoint: Endpoint,
    task: JoinHandle<()>,
}

impl SipNode {
    /// Stops the loop (and every request task it started) and closes the endpoint's sockets.
    pub fn shutdown(&self) {
        self.task.abort();
        self.endpoint.shutdown();
    }
}

impl Drop for SipNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves `endpoint`: each request goes to `handle` in its own task. The tasks live in the
/// loop's task set, so stopping the [`SipNode`] stops them too.
pub fn serve<F, Fut>(endpoint: Endpoint, handle: F) -> SipNode
where
    F: Fn(Endpoint, Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let ep = endpoint.clone();
    let task = tokio::spawn(async move {
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                incoming = ep.next_request() => match incoming {
                    Some(incoming) => {
                        tasks.spawn(handle(ep.clone(), incoming));
                    }
                    None => break,
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
    });
    SipNode { endpoint, task }
}

/// Relays every response of `tx` upstream through `incoming` (our Via removed) and returns the
/// final status. A 100 Trying is hop-by-hop and not relayed (§16.7 step 5); after a 2xx to an
/// INVITE, retransmitted 2xx keep being relayed until the client transaction ends.
pub async fn relay_responses(incoming: &mut Incoming, mut tx: ClientTransaction) -> Option<u16> {
    let invite = incoming.method() == Method::Invite;
    let mut final_code = None;
    while let Some(response) = tx.next_response().await {
        let code = response.status_code.code();
        if code == 100 {
            continue;
        }
        if let Some(up) = prepare_response_forward(&response) {
            let _ = incoming.relay(up).await;
        }
        if code >= 200 {
            final_code.get_or_insert(code);
            if !(invite && code < 300) {
                break;
            }
        }
    }
    final_code
}

/// Forwards a prepared request as a stateful proxy: an ACK of a 2xx statelessly; an INVITE
/// with `100 Trying` first; every response relayed. When the next hop cannot be reached, the
/// request is answered `503` with the reason. Returns the final status.
pub async fn forward(
    endpoint: &Endpoint,
    incoming: &mut Incoming,
    request: Request,
) -> Option<u16> {
    if incoming.is_ack() {
        let _ = endpoint.send_stateless(request).await;
        return None;
    }
    if incoming.method() == Method::Invite {
        let _ = incoming
            .respond(response_to(incoming.request(), 100, "Trying", None))
            .await;
    }
    match endpoint.send_request(request).await {
        Ok(tx) => relay_responses(incoming, tx).await,
        Err(e) => {
            let reason = format!("Service Unavailable ({e})");
            let _ = incoming
                .respond(response_to(incoming.request(), 503, &reason, None))
                .await;
            Some(503)
        }
    }
}

/// Answers a request the node refuses, with a reason phrase that says why.
pub async fn refuse(incoming: &mut Incoming, code: u16, reason: &str) {
    if !incoming.is_ack() {
        let _ = incoming
            .respond(response_to(incoming.request(), code, reason, None))
            .await;
    }
}
