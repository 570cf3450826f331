//! The transaction driver: one short task per transaction that feeds `proto`'s state machine
//! ([`proto::sip::transaction`]) what happened — a message matched it, the TU answered, its
//! next timer came due — and carries out what the machine says (send, deliver to the TU,
//! start a CANCEL, forget the transaction). The machines decide; this file only waits and
//! moves bytes. Every machine ends on a timer, so every task ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use proto::sip::transaction::{
    Client, ClientInput, ClientOutput, Server, ServerInput, ServerOutput, ack_key, client_key,
    server_key, server_key_as,
};
use rsipstack::sip::{Method, Request, Response};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::endpoint::{Inner, lock, shut_down};
use super::transport::{ReplyPath, TcpConn};
use super::tu::{ClientTransaction, Incoming, Kind};
use super::{SipTarget, proxy, wire};
use crate::Error;
use crate::http::BoxFuture;

/// What reaches a client transaction.
#[derive(Debug)]
pub(crate) enum ClientEvent {
    /// A response and its trace message id (boxed: a channel's blocks are sized by its
    /// largest event, and a transaction lives 32 s after its last message over UDP).
    Response(Box<Response>, u64),
}

/// What reaches a server transaction.
#[derive(Debug)]
pub(crate) enum ServerEvent {
    /// The request came again.
    Retransmission,
    /// The ACK of a 3xx–6xx (same branch).
    Ack,
    /// The ACK of a 2xx this transaction is retransmitting (matched by Call-ID and CSeq).
    Ack2xx,
    /// The TU answers.
    Respond {
        /// Boxed, as in [`ClientEvent::Response`].
        response: Box<Response>,
        relay: bool,
        done: oneshot::Sender<Result<(), Error>>,
    },
    /// The TU dropped the request without a final answer.
    Abandoned,
}

/// A live server transaction in the endpoint's table.
#[derive(Debug)]
pub(crate) struct ServerEntry {
    events: mpsc::UnboundedSender<ServerEvent>,
    /// The request's [`proto::sip::proxy::loop_invariants`]: a request with another branch and
    /// the same digest that passed through here before has looped.
    invariants: u64,
    /// Set once a 3xx–6xx to INVITE went out: an ACK with this branch is the transaction's.
    absorbs_ack: Arc<AtomicBool>,
}

/// The check a request fails when it came back unchanged (answered 482).
pub(crate) const LOOP_CHECK: &str = "request has not looped";

/// What a new server transaction's request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opened {
    /// A request for the TU.
    New,
    /// A CANCEL for no INVITE this endpoint knows.
    OrphanCancel,
    /// A request that passed through here before and came back unchanged (§16.3 step 4).
    Looped,
}

// ---- server transactions ---------------------------------------------------------------------

impl Inner {
    /// A request that passed validation: to its server transaction, or a new one for the TU,
    /// or (an ACK of a 2xx) straight to the TU.
    pub(super) fn dispatch_request(self: &Arc<Self>, request: Request, path: ReplyPath, id: u64) {
        let Some(key) = server_key(&request) else {
            return;
        };
        let bound = self.timers().t1x64();
        if request.method == Method::Ack {
            self.dispatch_ack(&key, request, path, id, bound);
            return;
        }
        let Some((events, opened)) = self.open_server(key, &request, &path) else {
            return; // a retransmission, handed to its transaction
        };
        match opened {
            Opened::New => {}
            // A CANCEL for no INVITE we know is answered here (§9.2), not by the TU.
            Opened::OrphanCancel => return self.answer_orphan_cancel(&request, &events),
            Opened::Looped => return self.answer_loop(&request, &events, id),
        }
        self.deliver(Incoming {
            request,
            source: path.peer,
            transport: path.transport,
            peer_identity: path.conn.as_ref().and_then(|c| c.peer_identity.clone()),
            trace_id: id,
            kind: Kind::Transaction(events),
            answered: false,
            bound,
        });
    }

    /// An ACK: absorbed by the server transaction whose 3xx–6xx it acknowledges; else the ACK
    /// of a 2xx, which stops that 2xx's retransmissions and goes to the TU.
    fn dispatch_ack(
        self: &Arc<Self>,
        key: &str,
        request: Request,
        path: ReplyPath,
        id: u64,
        bound: Duration,
    ) {
        let absorbed = lock(&self.servers)
            .get(key)
            .filter(|e| e.absorbs_ack.load(Ordering::SeqCst))
            .map(|e| {
                let _ = e.events.send(ServerEvent::Ack);
            })
            .is_some();
        if absorbed {
            return;
        }
        if let Some(k) = ack_key(&request)
            && let Some(server) = lock(&self.awaiting_ack).get(&k)
        {
            let _ = server.send(ServerEvent::Ack2xx);
        }
        self.deliver(Incoming {
            request,
            source: path.peer,
            transport: path.transport,
            peer_identity: path.conn.as_ref().and_then(|c| c.peer_identity.clone()),
            trace_id: id,
            kind: Kind::Ack,
            answered: true,
            bound,
        });
    }

    /// Starts the server transaction `key` for `request`: its events sender, and what the
    /// request is ([`Opened`]). `None` when the transaction exists already (the request is a
    /// retransmission, and that transaction has been told).
    fn open_server(
        self: &Arc<Self>,
        key: String,
        request: &Request,
        path: &ReplyPath,
    ) -> Option<(mpsc::UnboundedSender<ServerEvent>, Opened)> {
        let (events, receiver) = mpsc::unbounded_channel();
        let invariants = proxy::loop_invariants(request);
        let mut servers = lock(&self.servers);
        if let Some(existing) = servers.get(&key) {
            let _ = existing.events.send(ServerEvent::Retransmission);
            return None;
        }
        let opened = if request.method == Method::Cancel
            && server_key_as(request, Method::Invite).is_none_or(|k| !servers.contains_key(&k))
        {
            Opened::OrphanCancel
        } else if proxy::passed_through(request, &self.config.host)
            && servers.values().any(|e| e.invariants == invariants)
        {
            Opened::Looped
        } else {
            Opened::New
        };
        let absorbs_ack = Arc::new(AtomicBool::new(false));
        servers.insert(
            key.clone(),
            ServerEntry {
                events: events.clone(),
                invariants,
                absorbs_ack: absorbs_ack.clone(),
            },
        );
        let machine = Server::new(
            request.clone(),
            path.transport,
            self.timers(),
            Instant::now().into_std(),
        );
        let server = ServerTx {
            inner: self.clone(),
            key,
            path: path.clone(),
            own: events.clone(),
            absorbs_ack,
            awaiting: None,
            machine,
        };
        drop(servers);
        self.spawn(server.run(receiver));
        Some((events, opened))
    }

    /// Answers a request that came back to this element unchanged `482 Loop Detected` through
    /// its own transaction (§16.3 step 4), before the TU sees it.
    fn answer_loop(&self, request: &Request, events: &mpsc::UnboundedSender<ServerEvent>, id: u64) {
        self.note_check(
            id,
            LOOP_CHECK,
            "it passed through here before and came back unchanged (same Request-URI, tags, \
             Call-ID, CSeq and Route): answered 482"
                .into(),
            Some(482),
        );
        let (done, _) = oneshot::channel();
        let response = proxy::response_to(request, 482, "Loop Detected", None);
        let _ = events.send(ServerEvent::Respond {
            response: Box::new(response),
            relay: false,
            done,
        });
    }

    /// Answers a CANCEL that matches no INVITE `481` through its own transaction (§9.2).
    fn answer_orphan_cancel(&self, request: &Request, events: &mpsc::UnboundedSender<ServerEvent>) {
        let (done, _) = oneshot::channel();
        let tag = self.next_tag();
        let response =
            proxy::response_to(request, 481, "Call/Transaction Does Not Exist", Some(&tag));
        let _ = events.send(ServerEvent::Respond {
            response: Box::new(response),
            relay: true,
            done,
        });
    }
}

/// The task of one server transaction: the machine and what it needs from the endpoint.
struct ServerTx {
    inner: Arc<Inner>,
    key: String,
    path: ReplyPath,
    own: mpsc::UnboundedSender<ServerEvent>,
    absorbs_ack: Arc<AtomicBool>,
    /// Where it waits for the ACK of its 2xx in the endpoint's table.
    awaiting: Option<(String, u32)>,
    machine: Server,
}

impl ServerTx {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<ServerEvent>) {
        while let Some(wake) = self.machine.next_wake() {
            // `None`: the machine's next timer came due.
            let event = tokio::select! {
                e = events.recv() => match e {
                    Some(e) => Some(e),
                    None => break,
                },
                () = tokio::time::sleep_until(Instant::from_std(wake)) => None,
            };
            let now = Instant::now().into_std();
            let (input, done) = match event {
                None => (ServerInput::Tick, None),
                Some(ServerEvent::Retransmission) => (ServerInput::Retransmission, None),
                Some(ServerEvent::Ack) => (ServerInput::Ack, None),
                Some(ServerEvent::Ack2xx) => (ServerInput::Ack2xx, None),
                Some(ServerEvent::Abandoned) => (ServerInput::Abandoned, None),
                Some(ServerEvent::Respond {
                    response,
                    relay,
                    done,
                }) => {
                    let fresh_tag = self
                        .machine
                        .needs_tag(&response)
                        .then(|| self.inner.next_tag());
                    let input = ServerInput::Respond {
                        response: *response,
                        relay,
                        fresh_tag,
                    };
                    (input, Some(done))
                }
            };
            let outputs = self.machine.handle(now, input);
            // Boxed: the task's own future stays small while it waits out its timers.
            let result = Box::pin(self.carry_out(outputs)).await;
            if let Some(done) = done {
                let _ = done.send(result);
            }
        }
        self.finish();
    }

    /// Does what the machine said; the result of sending a response (for the TU that sent it).
    async fn carry_out(&mut self, outputs: Vec<ServerOutput>) -> Result<(), Error> {
        let mut result = Ok(());
        for output in outputs {
            match output {
                ServerOutput::Send(response) => {
                    result = self.inner.send_response_on(&response, &self.path).await;
                }
                ServerOutput::Refused(e) => {
                    result = Err(Error::Sip {
                        detail: e.to_string(),
                    });
                }
                ServerOutput::AbsorbAck => self.absorbs_ack.store(true, Ordering::SeqCst),
                ServerOutput::AwaitAck2xx => {
                    if let Some(key) = ack_key(self.machine.request()) {
                        lock(&self.inner.awaiting_ack).insert(key.clone(), self.own.clone());
                        self.awaiting = Some(key);
                    }
                }
                ServerOutput::Terminated => {}
            }
        }
        result
    }

    fn finish(&self) {
        let mut servers = lock(&self.inner.servers);
        if servers
            .get(&self.key)
            .is_some_and(|e| e.events.same_channel(&self.own))
        {
            servers.remove(&self.key);
        }
        drop(servers);
        if let Some(key) = &self.awaiting {
            let mut awaiting = lock(&self.inner.awaiting_ack);
            if awaiting.get(key).is_some_and(|s| s.same_channel(&self.own)) {
                awaiting.remove(key);
            }
        }
    }
}

// ---- client transactions ---------------------------------------------------------------------

impl Inner {
    /// Sends `request` (already carrying its Via) to `target` in a new client transaction.
    pub(super) fn start_client(
        self: &Arc<Self>,
        request: Request,
        target: SipTarget,
        conn: Option<Arc<TcpConn>>,
    ) -> BoxFuture<'static, Result<ClientTransaction, Error>> {
        let inner = self.clone();
        Box::pin(async move {
            if inner.is_closed() {
                return Err(shut_down());
            }
            let via = wire::top_via(&request).map_err(|detail| Error::Sip { detail })?;
            let branch = via
                .branch()
                .map(|b| b.value().to_owned())
                .ok_or_else(|| Error::Sip {
                    detail: "the top Via has no branch".into(),
                })?;
            let key = client_key(&branch, request.method);
            let bytes = wire::encode_request(&request);
            let summary = wire::request_summary(&request);
            let (events, receiver) = mpsc::unbounded_channel();
            lock(&inner.clients).insert(key.clone(), events.clone());
            let conn = match inner
                .transmit(target, &bytes, &summary, conn.as_ref())
                .await
            {
                Ok(conn) => conn,
                Err(e) => {
                    let mut clients = lock(&inner.clients);
                    if clients.get(&key).is_some_and(|c| c.same_channel(&events)) {
                        clients.remove(&key);
                    }
                    return Err(e);
                }
            };
            let (tu, responses) = mpsc::unbounded_channel();
            let machine = Client::new(
                request.clone(),
                target.transport,
                inner.timers(),
                Instant::now().into_std(),
            );
            let client = ClientTx {
                inner: inner.clone(),
                key,
                own: events,
                bytes,
                summary,
                target,
                conn: conn.clone(),
                tu: Some(tu),
                machine,
            };
            inner.spawn(client.run(receiver));
            Ok(ClientTransaction {
                request,
                target,
                conn,
                responses,
                last_trace_id: None,
                inner,
            })
        })
    }
}

/// The task of one client transaction: the machine and what it needs from the endpoint.
struct ClientTx {
    inner: Arc<Inner>,
    key: String,
    own: mpsc::UnboundedSender<ClientEvent>,
    /// The request as first sent, for retransmissions.
    bytes: Vec<u8>,
    summary: String,
    target: SipTarget,
    conn: Option<Arc<TcpConn>>,
    /// Dropped when the machine says the TU gets nothing more, so its `next_response` ends.
    tu: Option<mpsc::UnboundedSender<(Box<Response>, Option<u64>)>>,
    machine: Client,
}

impl ClientTx {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<ClientEvent>) {
        while let Some(wake) = self.machine.next_wake() {
            let input = tokio::select! {
                e = events.recv() => match e {
                    Some(ClientEvent::Response(response, id)) => ClientInput::Response(*response, id),
                    None => break,
                },
                () = tokio::time::sleep_until(Instant::from_std(wake)) => ClientInput::Tick,
            };
            let outputs = self.machine.handle(Instant::now().into_std(), input);
            // Boxed: the task's own future stays small while it waits out its timers.
            Box::pin(self.carry_out(outputs)).await;
        }
        let mut clients = lock(&self.inner.clients);
        if clients
            .get(&self.key)
            .is_some_and(|c| c.same_channel(&self.own))
        {
            clients.remove(&self.key);
        }
    }

    async fn carry_out(&mut self, outputs: Vec<ClientOutput>) {
        for output in outputs {
            match output {
                ClientOutput::Retransmit => {
                    let _ = self
                        .inner
                        .transmit(self.target, &self.bytes, &self.summary, self.conn.as_ref())
                        .await;
                }
                ClientOutput::SendAck(ack) => {
                    let (bytes, summary) =
                        (wire::encode_request(&ack), wire::request_summary(&ack));
                    if let Ok(Some(conn)) = self
                        .inner
                        .transmit(self.target, &bytes, &summary, self.conn.as_ref())
                        .await
                    {
                        self.conn = Some(conn);
                    }
                }
                ClientOutput::ToTu(response, id) => {
                    if let Some(tu) = &self.tu {
                        let _ = tu.send((Box::new(response), id));
                    }
                }
                ClientOutput::TuDone => self.tu = None,
                ClientOutput::Cancel(cancel) => {
                    let _ = self
                        .inner
                        .start_client(cancel, self.target, self.conn.clone())
                        .await;
                }
                ClientOutput::Terminated => {}
            }
        }
    }
}
