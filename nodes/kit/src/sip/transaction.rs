//! Transaction state machines (RFC 3261 §17 with the `Accepted` states of RFC 6026 §7), one
//! task per transaction, and matching of requests and responses to them (§17.1.3, §17.2.3).
//! Every state ends on a timer, so every task ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rsipstack::sip::{Header, HeadersExt as _, Host, Method, Request, Response, Version, typed};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::endpoint::{ClientTransaction, Incoming, Inner, Kind, lock, shut_down};
use super::transport::{ReplyPath, TcpConn};
use super::{SipTarget, SipTransport, proxy, ua, wire};
use crate::Error;
use crate::http::BoxFuture;

/// What reaches a client transaction.
#[derive(Debug)]
pub(crate) enum ClientEvent {
    /// A response and its trace message id.
    Response(Response, u64),
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
        response: Response,
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
    /// Set once a 3xx–6xx to INVITE went out: an ACK with this branch is the transaction's.
    absorbs_ack: Arc<AtomicBool>,
}

fn magic_branch(via: &typed::Via) -> Option<&str> {
    via.branch()
        .map(|b| b.value())
        .filter(|b| b.starts_with("z9hG4bK"))
}

/// Server transaction key (§17.2.3): branch, sent-by, method (ACK matches INVITE); for an
/// RFC 2543 request without the magic cookie, the identifying headers instead.
pub(crate) fn server_key(request: &Request) -> Option<String> {
    let method = match request.method {
        Method::Ack => Method::Invite,
        m => m,
    };
    server_key_as(request, method)
}

/// [`server_key`] as if the request had `method` (a CANCEL finds its INVITE, §9.2).
fn server_key_as(request: &Request, method: Method) -> Option<String> {
    let via = wire::top_via(request).ok()?;
    if let Some(branch) = magic_branch(&via) {
        return Some(format!("{branch} {} {method}", via.uri.host_with_port));
    }
    let from_tag = request
        .from_header()
        .ok()
        .and_then(|f| f.tag().ok().flatten())
        .map(|t| t.value().to_owned())
        .unwrap_or_default();
    let call_id = request.call_id_header().ok()?.value().to_owned();
    let seq = request.cseq_header().ok()?.seq().ok()?;
    Some(format!(
        "2543 {} {from_tag} {call_id} {seq} {via} {method}",
        request.uri
    ))
}

fn client_key(branch: &str, method: Method) -> String {
    format!("{branch} {method}")
}

/// Client transaction key of a response (§17.1.3: top Via branch and CSeq method); the top
/// Via must be ours (§18.1.2).
pub(crate) fn response_key(response: &Response, host: &str) -> Result<String, String> {
    let via = wire::top_via(response).map_err(|e| format!("top Via unusable: {e}"))?;
    let ours =
        matches!(&via.uri.host_with_port.host, Host::Domain(d) if d.0.eq_ignore_ascii_case(host));
    if !ours {
        return Err(format!(
            "top Via sent-by {} is not this endpoint",
            via.uri.host_with_port
        ));
    }
    let branch = via
        .branch()
        .ok_or("top Via has no branch")?
        .value()
        .to_owned();
    let method = response
        .cseq_header()
        .map_err(|_| "missing CSeq header".to_owned())?
        .method()
        .map_err(|_| "malformed CSeq header".to_owned())?;
    for (present, name) in [
        (response.call_id_header().is_ok(), "Call-ID"),
        (response.from_header().is_ok(), "From"),
        (response.to_header().is_ok(), "To"),
    ] {
        if !present {
            return Err(format!("missing {name} header"));
        }
    }
    Ok(client_key(&branch, method))
}

/// `now + d`, saturating far in the future instead of overflowing.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}

/// (Call-ID, CSeq number): how the ACK of a 2xx finds the transaction retransmitting it.
fn ack_key(request: &Request) -> Option<(String, u32)> {
    Some((
        request.call_id_header().ok()?.value().to_owned(),
        request.cseq_header().ok()?.seq().ok()?,
    ))
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
            let absorbed = lock(&self.servers)
                .get(&key)
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
                trace_id: id,
                kind: Kind::Ack,
                answered: true,
                bound,
            });
            return;
        }
        let (events, receiver) = mpsc::unbounded_channel();
        {
            let mut servers = lock(&self.servers);
            if let Some(existing) = servers.get(&key) {
                let _ = existing.events.send(ServerEvent::Retransmission);
                return;
            }
            // A CANCEL for no INVITE we know is answered here (§9.2), not by the TU.
            let orphan_cancel = request.method == Method::Cancel
                && server_key_as(&request, Method::Invite)
                    .is_none_or(|k| !servers.contains_key(&k));
            let absorbs_ack = Arc::new(AtomicBool::new(false));
            servers.insert(
                key.clone(),
                ServerEntry {
                    events: events.clone(),
                    absorbs_ack: absorbs_ack.clone(),
                },
            );
            let t = self.timers();
            let invite = request.method == Method::Invite;
            // Bound on waiting for the TU's final answer.
            let cap = if invite {
                t.timer_c.saturating_add(t.t1x64())
            } else {
                t.t1x64().saturating_mul(2)
            };
            let server = ServerTx {
                inner: self.clone(),
                key,
                request: request.clone(),
                udp: path.transport == SipTransport::Udp,
                path: path.clone(),
                own: events.clone(),
                absorbs_ack,
                invite,
                state: SState::Trying,
                last: None,
                to_tag: None,
                retx: None,
                end: later(Instant::now(), cap),
                cap,
                awaiting: None,
            };
            drop(servers);
            self.spawn(server.run(receiver));
            if orphan_cancel {
                let (done, _) = oneshot::channel();
                let tag = self.next_tag();
                let response = proxy::response_to(
                    &request,
                    481,
                    "Call/Transaction Does Not Exist",
                    Some(&tag),
                );
                let _ = events.send(ServerEvent::Respond {
                    response,
                    relay: true,
                    done,
                });
                return;
            }
        }
        self.deliver(Incoming {
            request,
            source: path.peer,
            transport: path.transport,
            trace_id: id,
            kind: Kind::Transaction(events),
            answered: false,
            bound,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SState {
    /// No response yet.
    Trying,
    Proceeding,
    /// INVITE answered 2xx (RFC 6026 §7.1).
    Accepted,
    Completed,
    /// INVITE: the ACK of the 3xx–6xx came.
    Confirmed,
}

struct ServerTx {
    inner: Arc<Inner>,
    key: String,
    request: Request,
    path: ReplyPath,
    own: mpsc::UnboundedSender<ServerEvent>,
    absorbs_ack: Arc<AtomicBool>,
    invite: bool,
    udp: bool,
    state: SState,
    last: Option<Response>,
    to_tag: Option<String>,
    /// Next retransmission of `last` and the current interval (Timer G; a UAS's 2xx).
    retx: Option<(Instant, Duration)>,
    /// When the current state ends (Timers H, I, J, L; the wait for the TU).
    end: Instant,
    /// How long to wait for the TU's final answer (renewed by each provisional it sends).
    cap: Duration,
    awaiting: Option<(String, u32)>,
}

enum Step<E> {
    Event(E),
    Closed,
    Timer,
}

impl ServerTx {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<ServerEvent>) {
        let t = self.inner.timers();
        loop {
            let next = self.retx.map_or(self.end, |(at, _)| at.min(self.end));
            let step = tokio::select! {
                e = events.recv() => e.map_or(Step::Closed, Step::Event),
                () = tokio::time::sleep_until(next) => Step::Timer,
            };
            let now = Instant::now();
            match step {
                Step::Closed => break,
                Step::Timer => {
                    if now >= self.end {
                        break;
                    }
                    if let Some((at, interval)) = self.retx
                        && at <= now
                    {
                        self.resend().await;
                        let interval = interval.saturating_mul(2).min(t.t2);
                        self.retx = Some((later(now, interval), interval));
                    }
                }
                Step::Event(ServerEvent::Retransmission) => {
                    if matches!(self.state, SState::Proceeding | SState::Completed) {
                        self.resend().await;
                    }
                }
                Step::Event(ServerEvent::Ack) => {
                    if self.state == SState::Completed {
                        self.state = SState::Confirmed;
                        self.retx = None;
                        self.end = later(now, if self.udp { t.t4 } else { Duration::ZERO });
                    }
                }
                Step::Event(ServerEvent::Ack2xx) => {
                    if self.state == SState::Accepted {
                        self.retx = None;
                    }
                }
                Step::Event(ServerEvent::Abandoned) => {
                    if matches!(self.state, SState::Trying | SState::Proceeding) {
                        let response =
                            proxy::response_to(&self.request, 500, "Server Internal Error", None);
                        let _ = self.respond(response, true).await;
                    }
                }
                Step::Event(ServerEvent::Respond {
                    response,
                    relay,
                    done,
                }) => {
                    let result = self.respond(response, relay).await;
                    let _ = done.send(result);
                }
            }
        }
        self.finish();
    }

    async fn resend(&self) {
        if let Some(last) = &self.last {
            let _ = self.inner.send_response_on(last, &self.path).await;
        }
    }

    async fn respond(&mut self, mut response: Response, relay: bool) -> Result<(), Error> {
        let code = response.status_code.code();
        if !(100..700).contains(&code) {
            return Err(Error::Sip {
                detail: format!("{code} is not a status code"),
            });
        }
        if code > 100 && matches!(response.to_header().map(|to| to.tag()), Ok(Ok(None))) {
            let inner = &self.inner;
            let tag = self.to_tag.get_or_insert_with(|| inner.next_tag()).clone();
            if let Ok(to) = response.to_header_mut() {
                let _ = to.mut_tag(tag.into());
            }
        }
        let t = self.inner.timers();
        let now = Instant::now();
        match (self.state, code) {
            (SState::Trying | SState::Proceeding, 100..=199) => {
                self.state = SState::Proceeding;
                self.end = self.end.max(later(now, self.cap));
            }
            (SState::Trying | SState::Proceeding, 200..=299) if self.invite => {
                self.state = SState::Accepted;
                self.end = later(now, t.t1x64());
                if !relay {
                    self.retx = Some((later(now, t.t1), t.t1));
                    if let Some(key) = ack_key(&self.request) {
                        lock(&self.inner.awaiting_ack).insert(key.clone(), self.own.clone());
                        self.awaiting = Some(key);
                    }
                }
            }
            (SState::Trying | SState::Proceeding, _) if self.invite => {
                self.state = SState::Completed;
                self.absorbs_ack.store(true, Ordering::SeqCst);
                self.retx = self.udp.then_some((later(now, t.t1), t.t1));
                self.end = later(now, t.t1x64());
            }
            (SState::Trying | SState::Proceeding, _) => {
                self.state = SState::Completed;
                self.end = later(now, if self.udp { t.t1x64() } else { Duration::ZERO });
            }
            (SState::Accepted, 200..=299) => {}
            _ => {
                return Err(Error::Sip {
                    detail: "a final response was already sent".into(),
                });
            }
        }
        let sent = self.inner.send_response_on(&response, &self.path).await;
        self.last = Some(response);
        sent
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
            let t = inner.timers();
            let now = Instant::now();
            let invite = request.method == Method::Invite;
            let udp = target.transport == SipTransport::Udp;
            let client = ClientTx {
                inner: inner.clone(),
                key,
                own: events,
                request: request.clone(),
                bytes,
                summary,
                target,
                conn: conn.clone(),
                invite,
                state: CState::Calling,
                retx: udp.then_some((later(now, t.t1), t.t1)),
                timeout: Some(later(now, t.t1x64())),
                timer_c: invite.then_some(later(now, t.timer_c)),
                end: None,
                ack: None,
                tu: Some(tu),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CState {
    /// Calling (INVITE) / Trying (non-INVITE).
    Calling,
    Proceeding,
    /// INVITE answered 2xx (RFC 6026 §7.2).
    Accepted,
    Completed,
    /// Timer C fired after a provisional: CANCEL sent, 408 given; waiting for the final.
    Cancelled,
}

struct ClientTx {
    inner: Arc<Inner>,
    key: String,
    own: mpsc::UnboundedSender<ClientEvent>,
    request: Request,
    bytes: Vec<u8>,
    summary: String,
    target: SipTarget,
    conn: Option<Arc<TcpConn>>,
    invite: bool,
    state: CState,
    /// Timer A / E: next retransmission and the current interval.
    retx: Option<(Instant, Duration)>,
    /// Timer B / F.
    timeout: Option<Instant>,
    timer_c: Option<Instant>,
    /// Timers D, K, M; the wait after Timer C.
    end: Option<Instant>,
    /// The ACK of a 3xx–6xx, as sent.
    ack: Option<(Vec<u8>, String)>,
    tu: Option<mpsc::UnboundedSender<(Response, Option<u64>)>>,
}

impl ClientTx {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<ClientEvent>) {
        while let Some(next) = [self.retx.map(|r| r.0), self.timeout, self.timer_c, self.end]
            .into_iter()
            .flatten()
            .min()
        {
            let step = tokio::select! {
                e = events.recv() => e.map_or(Step::Closed, Step::Event),
                () = tokio::time::sleep_until(next) => Step::Timer,
            };
            let running = match step {
                Step::Closed => false,
                Step::Event(ClientEvent::Response(response, id)) => {
                    self.on_response(response, id).await;
                    true
                }
                Step::Timer => self.on_timers().await,
            };
            if !running {
                break;
            }
        }
        let mut clients = lock(&self.inner.clients);
        if clients
            .get(&self.key)
            .is_some_and(|c| c.same_channel(&self.own))
        {
            clients.remove(&self.key);
        }
    }

    fn to_tu(&self, response: Response, id: Option<u64>) {
        if let Some(tu) = &self.tu {
            let _ = tu.send((response, id));
        }
    }

    fn local_408(&mut self) {
        let response = proxy::response_to(&self.request, 408, "Request Timeout", None);
        self.to_tu(response, None);
        self.tu = None;
    }

    async fn send_ack(&mut self, response: &Response) {
        if self.ack.is_none() {
            let ack = ack_for_failure(&self.request, response);
            self.ack = Some((wire::encode_request(&ack), wire::request_summary(&ack)));
        }
        if let Some((bytes, summary)) = &self.ack
            && let Ok(Some(conn)) = self
                .inner
                .transmit(self.target, bytes, summary, self.conn.as_ref())
                .await
        {
            self.conn = Some(conn);
        }
    }

    async fn on_response(&mut self, response: Response, id: u64) {
        let t = self.inner.timers();
        let now = Instant::now();
        let udp = self.target.transport == SipTransport::Udp;
        let code = response.status_code.code();
        match (self.state, code) {
            (CState::Calling | CState::Proceeding, 100..=199) => {
                self.state = CState::Proceeding;
                if self.invite {
                    self.retx = None;
                    self.timeout = None;
                    if code > 100 {
                        self.timer_c = Some(later(now, t.timer_c));
                    }
                }
                self.to_tu(response, Some(id));
            }
            (CState::Calling | CState::Proceeding, 200..=299) if self.invite => {
                self.state = CState::Accepted;
                self.retx = None;
                self.timeout = None;
                self.timer_c = None;
                self.end = Some(later(now, t.t1x64()));
                self.to_tu(response, Some(id));
            }
            (CState::Accepted, 200..=299) => self.to_tu(response, Some(id)),
            (CState::Calling | CState::Proceeding, 300..=699) if self.invite => {
                self.state = CState::Completed;
                self.retx = None;
                self.timeout = None;
                self.timer_c = None;
                self.send_ack(&response).await;
                self.end = Some(later(now, if udp { t.t1x64() } else { Duration::ZERO }));
                self.to_tu(response, Some(id));
                self.tu = None;
            }
            (CState::Completed, 300..=699) if self.invite => self.send_ack(&response).await,
            (CState::Cancelled, 300..=699) => {
                self.state = CState::Completed;
                self.send_ack(&response).await;
                self.end = Some(later(now, if udp { t.t1x64() } else { Duration::ZERO }));
            }
            (CState::Calling | CState::Proceeding, 200..=699) => {
                self.state = CState::Completed;
                self.retx = None;
                self.timeout = None;
                self.end = Some(later(now, if udp { t.t4 } else { Duration::ZERO }));
                self.to_tu(response, Some(id));
                self.tu = None;
            }
            // Retransmissions of a final response, stray provisionals: absorbed.
            _ => {}
        }
    }

    /// Handles due timers; false when the transaction ends.
    async fn on_timers(&mut self) -> bool {
        let t = self.inner.timers();
        let now = Instant::now();
        if let Some((at, interval)) = self.retx
            && at <= now
        {
            let _ = self
                .inner
                .transmit(self.target, &self.bytes, &self.summary, self.conn.as_ref())
                .await;
            let interval = if self.invite {
                interval.saturating_mul(2)
            } else if self.state == CState::Proceeding {
                t.t2
            } else {
                interval.saturating_mul(2).min(t.t2)
            };
            self.retx = Some((later(now, interval), interval));
        }
        if self.timeout.is_some_and(|at| at <= now) {
            self.local_408();
            return false;
        }
        if self.timer_c.is_some_and(|at| at <= now) {
            self.timer_c = None;
            match self.state {
                CState::Proceeding => {
                    if let Ok(cancel) = ua::cancel_for(&self.request) {
                        let _ = self
                            .inner
                            .start_client(cancel, self.target, self.conn.clone())
                            .await;
                    }
                    self.local_408();
                    self.state = CState::Cancelled;
                    self.end = Some(later(now, t.t1x64()));
                }
                CState::Calling => {
                    self.local_408();
                    return false;
                }
                _ => {}
            }
        }
        self.end.is_none_or(|at| at > now)
    }
}

/// The ACK of a 3xx–6xx (§17.1.1.3): the INVITE's Request-URI, top Via, Route, From, Call-ID
/// and CSeq number, the response's To.
fn ack_for_failure(invite: &Request, response: &Response) -> Request {
    let mut headers = Vec::new();
    if let Ok(via) = invite.top_via_header() {
        headers.push(Header::Via(via));
    }
    for header in invite.headers.iter() {
        if matches!(header, Header::Route(_)) {
            headers.push(header.clone());
        }
    }
    headers.push(Header::MaxForwards(70.into()));
    for header in invite.headers.iter() {
        if matches!(header, Header::From(_) | Header::CallId(_)) {
            headers.push(header.clone());
        }
    }
    if let Ok(to) = response.to_header() {
        headers.push(Header::To(to.clone()));
    }
    let seq = invite.cseq_header().and_then(|c| c.seq()).unwrap_or(0);
    headers.push(
        typed::CSeq {
            seq,
            method: Method::Ack,
        }
        .into(),
    );
    headers.push(Header::ContentLength(0.into()));
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use rsipstack::sip::SipMessage;

    use super::*;
    use crate::clock::Rng;

    const SAMPLES: [&str; 3] = [
        "INVITE sip:+12155551001@b.test;user=phone SIP/2.0\r\n\
         Via: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP p.test;branch=z9hG4bK2\r\n\
         Route: <sip:p.test;lr>, <sip:q.test;lr>\r\nMax-Forwards: 70\r\n\
         From: \"A\" <sip:alice@a.test>;tag=a1\r\nTo: <tel:+12155551001>\r\nCall-ID: c1@a.test\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:alice@a.test>\r\nContent-Length: 4\r\n\r\nv=0\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1;received=127.0.0.1\r\n\
         Record-Route: <sip:p.test;lr>\r\nFrom: <sip:alice@a.test>;tag=a1\r\n\
         To: <sip:bob@b.test>;tag=b1\r\nCall-ID: c1@a.test\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:bob@b.test>\r\nContent-Length: 0\r\n\r\n",
        "ACK sip:bob@b.test SIP/2.0\r\nv: SIP/2.0/TCP a.test;branch=z9hG4bK3\r\nf: <sip:a@a.test>;tag=1\r\n\
         t: <sip:b@b.test>;tag=2\r\ni: x\r\nCSeq: 1 ACK\r\nl: 0\r\n\r\n",
    ];

    fn exercise(bytes: &[u8], invite: &Request) {
        let addr = SocketAddr::from(([127, 0, 0, 1], 5060));
        let _ = wire::salvage_reply(bytes, "x");
        let _ = wire::garbage_summary(bytes);
        let mut buf = bytes.to_vec();
        let _ = wire::take_frame(&mut buf);
        match SipMessage::try_from(bytes) {
            Ok(SipMessage::Request(mut r)) => {
                let _ = proxy::check_request(&r);
                let _ = wire::stamp_received(&mut r, addr);
                let _ = server_key(&r);
                let _ = ack_key(&r);
                let _ = wire::request_summary(&r);
                let _ = wire::encode_request(&r);
                let _ = proxy::via_values(&r);
                let _ = proxy::response_to(&r, 400, "Bad Request (x)", Some("t"));
                let _ =
                    proxy::prepare_forward(&r, "p.test", addr, SipTransport::Udp, "z9hG4bK2", true);
                let _ = ua::cancel_for(&r);
                let _ = ua::cancels(&r, invite);
            }
            Ok(SipMessage::Response(r)) => {
                let _ = response_key(&r, "a.test");
                let _ = wire::response_summary(&r);
                let _ = wire::encode_response(&r);
                let _ = proxy::prepare_response_forward(&r);
                let _ = wire::top_via(&r).map(|v| wire::via_target(&v));
                let _ = ua::ack_for_2xx(invite, &r);
                let _ = ack_for_failure(invite, &r);
            }
            Err(_) => {}
        }
    }

    #[test]
    fn mangled_input_never_panics() {
        let invite = match SipMessage::try_from(SAMPLES[0]) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("{other:?}"),
        };
        let mut rng = Rng::for_node(1, "fuzz");
        let mut n = |m: usize| (rng.u32() as usize) % m.max(1);
        const NOISE: &[u8] = b":;,<>\"=@ \r\n\t/[]?&%";
        for sample in SAMPLES {
            exercise(sample.as_bytes(), &invite);
            for _ in 0..4000 {
                let mut bytes = sample.as_bytes().to_vec();
                for _ in 0..1 + n(6) {
                    let i = n(bytes.len());
                    match n(5) {
                        0 if i < bytes.len() => bytes[i] = n(256) as u8,
                        1 if i < bytes.len() => {
                            bytes.remove(i);
                        }
                        2 => bytes.insert(i, NOISE[n(NOISE.len())]),
                        3 => bytes.truncate(i),
                        _ => {
                            let j = n(bytes.len());
                            let chunk: Vec<u8> = bytes[j..].iter().take(n(20)).copied().collect();
                            let at = i.min(bytes.len());
                            bytes.splice(at..at, chunk);
                        }
                    }
                }
                exercise(&bytes, &invite);
            }
        }
    }
}
