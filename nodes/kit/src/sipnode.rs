//! What every SIP network function does the same way: a loop that hands each incoming request
//! to the node's handler in its own task ([`serve`]), stateful forwarding as a proxy with
//! response relaying ([`forward`], RFC 3261 §16.6–16.7), CANCEL (§16.10 for a proxy, §9.2 for a
//! user agent server: [`on_cancel`]), and a handle that stops it all ([`SipNode`]).

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::Error;
use crate::node::Ctx;
use crate::sip::{ClientTransaction, Config, Endpoint, Incoming, TlsConfig};
use proto::sip::proxy::{prepare_response_forward, response_to};
use proto::sip::{Method, Request, Response, Timers, ua};

use crate::http::BoxFuture;

/// Changes a response before a proxy relays it upstream (TR 33.790 §6.8.2 steps 12–20: the
/// terminating AS signs the callee's answer, the originating AS verifies it). Called for every
/// response but 100 Trying, in order, with our Via still on top; retransmissions of a 2xx come
/// again, so an editor that does I/O once keeps what it did.
pub trait EditResponse: Send {
    /// The response to relay instead of `response`.
    fn edit(&mut self, response: Response) -> BoxFuture<'_, Response>;
}

/// Binds a network function's SIP endpoint as its context says: trace name, hostname, the
/// world's resolvers and tap, and the node's seeded random stream.
pub async fn bind(ctx: &Ctx, timers: Timers) -> Result<Endpoint, Error> {
    bind_tls(ctx, timers, TlsConfig::default()).await
}

/// [`bind`], with SIP over TLS as `tls` says: a TLS listener presenting the node's fixture
/// certificate, the certificate it presents as a client, the hosts it always reaches over TLS.
pub async fn bind_tls(ctx: &Ctx, timers: Timers, tls: TlsConfig) -> Result<Endpoint, Error> {
    let config = Config::new(&ctx.id, &ctx.host)
        .with_timers(timers)
        .with_tls(tls);
    Endpoint::bind(config, ctx.locate.clone(), ctx.tap.clone(), ctx.rng()).await
}

/// INVITEs of one node still waiting for a final answer, and how to tell each it was cancelled.
#[derive(Debug, Default)]
struct Pending(Mutex<Vec<(Request, oneshot::Sender<()>)>>);

tokio::task_local! {
    /// The pending INVITEs of the node whose handler task this is.
    static PENDING: Arc<Pending>;
}

/// Registers the INVITE being handled (by a proxy forwarding it, or a user agent ringing) so a
/// CANCEL for it can reach it: the receiver fires when the CANCEL arrives. `None` outside a
/// [`serve`] task.
pub fn on_cancel(invite: &Request) -> Option<oneshot::Receiver<()>> {
    let (tell, told) = oneshot::channel();
    PENDING
        .try_with(|p| {
            p.0.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((invite.clone(), tell))
        })
        .ok()
        .map(|()| told)
}

/// Forgets a registration once its INVITE has a final answer.
fn done(invite: &Request) {
    let _ = PENDING.try_with(|p| {
        p.0.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _)| i != invite);
    });
}

/// A CANCEL: answered 200 at once (§9.2, §16.10), then the matching INVITE's handler is told.
/// One that matches nothing pending is answered 481.
async fn cancel(pending: Arc<Pending>, mut incoming: Incoming) {
    let request = incoming.request().clone();
    let found = {
        let mut list = pending.0.lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .position(|(invite, _)| ua::cancels(&request, invite))
            .map(|i| list.remove(i).1)
    };
    match found {
        Some(tell) => {
            let _ = incoming
                .respond(response_to(&request, 200, "OK", None))
                .await;
            let _ = tell.send(());
        }
        None => {
            let reason = "Call/Transaction Does Not Exist";
            let _ = incoming
                .respond(response_to(&request, 481, reason, None))
                .await;
        }
    }
}

/// A running SIP network function: its endpoint and the loop serving it.
#[derive(Debug)]
pub struct SipNode {
    /// The node's SIP endpoint.
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
    let pending = Arc::new(Pending::default());
    let task = tokio::spawn(async move {
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                incoming = ep.next_request() => match incoming {
                    Some(incoming) if incoming.method() == Method::Cancel && !incoming.is_ack() => {
                        tasks.spawn(cancel(pending.clone(), incoming));
                    }
                    Some(incoming) => {
                        tasks.spawn(PENDING.scope(pending.clone(), handle(ep.clone(), incoming)));
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
/// INVITE, retransmitted 2xx keep being relayed until the client transaction ends. When the
/// INVITE is cancelled upstream before its final answer, the CANCEL goes on downstream (§16.10)
/// and the 487 it brings is relayed like any final answer.
pub async fn relay_responses(incoming: &mut Incoming, tx: ClientTransaction) -> Option<u16> {
    relay_edited(incoming, tx, None).await
}

/// [`relay_responses`], each response first given to `editor` when there is one.
pub async fn relay_edited(
    incoming: &mut Incoming,
    mut tx: ClientTransaction,
    mut editor: Option<&mut dyn EditResponse>,
) -> Option<u16> {
    let invite = incoming.method() == Method::Invite;
    let mut cancelled = if invite {
        on_cancel(incoming.request())
    } else {
        None
    };
    let mut final_code = None;
    loop {
        let response = match cancelled.as_mut() {
            Some(signal) if final_code.is_none() => tokio::select! {
                r = tx.next_response() => r,
                fired = signal => {
                    cancelled = None;
                    if fired.is_ok()
                        && let Ok(mut cancel_tx) = tx.cancel().await
                    {
                        // The CANCEL's own 200 stays here; the INVITE's 487 is relayed below.
                        tokio::spawn(async move { while cancel_tx.next_response().await.is_some() {} });
                    }
                    continue;
                }
            },
            _ => tx.next_response().await,
        };
        let Some(mut response) = response else { break };
        let code = response.status_code.code();
        if code == 100 {
            continue;
        }
        if let Some(editor) = editor.as_deref_mut() {
            response = editor.edit(response).await;
        }
        if let Some(up) = prepare_response_forward(&response) {
            let _ = incoming.relay(up).await;
        }
        if code >= 200 {
            if final_code.is_none() && invite {
                done(incoming.request());
            }
            final_code.get_or_insert(code);
            if !(invite && code < 300) {
                break;
            }
        }
    }
    if invite && final_code.is_none() {
        done(incoming.request());
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
    forward_edited(endpoint, incoming, request, None).await
}

/// [`forward`], each response given to `editor` before it is relayed ([`EditResponse`]).
pub async fn forward_edited(
    endpoint: &Endpoint,
    incoming: &mut Incoming,
    request: Request,
    editor: Option<&mut dyn EditResponse>,
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
        Ok(tx) => relay_edited(incoming, tx, editor).await,
        Err(e) => {
            let reason = format!("Service Unavailable ({e})");
            let _ = incoming
                .respond(response_to(incoming.request(), 503, &reason, None))
                .await;
            Some(503)
        }
    }
}

/// What a proxy checks first of every request it might forward (RFC 3261 §16.3 steps 3 and 5,
/// before its own policy): Max-Forwards 0 is answered `483 Too Many Hops`, a Proxy-Require
/// `420 Bad Extension` (an ACK is dropped). True when the request may go on.
pub async fn forwardable(incoming: &mut Incoming) -> bool {
    let Err(answer) = proto::sip::proxy::check_forwardable(incoming.request()) else {
        return true;
    };
    if !incoming.is_ack() {
        let _ = incoming.respond(answer).await;
    }
    false
}

/// Answers a request the node refuses, with a reason phrase that says why.
pub async fn refuse(incoming: &mut Incoming, code: u16, reason: &str) {
    if !incoming.is_ack() {
        let _ = incoming
            .respond(response_to(incoming.request(), code, reason, None))
            .await;
    }
}
