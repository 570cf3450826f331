//! The endpoint handle and the state its tasks share (RFC 3261 §8, §17, §18). What it hands
//! its network function is in `tu`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rsipstack::sip::{Request, Response};
use rustls::ClientConfig;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::transaction::{ClientEvent, ServerEntry, ServerEvent};
use super::transport::TcpConn;
use super::tu::{ClientTransaction, Incoming};
use super::{Config, SipTransport, Timers, proxy, tls, wire};
use crate::Error;
use crate::locate::Locate;
use crate::tap::Tap;
use proto::clock::Rng;
use proto::sip::Header;
use proto::trace::{Note, Reason, Transport};

/// A SIP endpoint: UDP and TCP on one loopback port (TLS on a port of its own when
/// [`Config::tls`] asks), the transaction layer, the trace.
///
/// Cheap to clone; the last clone dropped (or [`Endpoint::shutdown`]) stops every task and
/// closes every socket.
///
/// Transactions (RFC 3261 §17, RFC 6026 §7):
/// * client INVITE: Timer A (UDP) retransmits, Timer B gives a local 408; after a 1xx, Timer C
///   (reset by every 1xx other than 100) gives a local 408 and sends a CANCEL; a 3xx–6xx is
///   ACKed by the transaction (same branch, same connection) and its retransmissions re-ACKed;
///   a 2xx moves it to Accepted for 64×T1 (Timer M), handing every further 2xx (retransmitted
///   or forked) to the TU, which sends the ACK ([`Endpoint::send_stateless`]).
/// * client non-INVITE: Timer E (UDP, doubling to T2), Timer F → local 408, Timer K.
/// * server INVITE: a retransmitted INVITE gets the last provisional again; a 3xx–6xx is
///   retransmitted (Timer G, UDP) until its ACK (absorbed) or Timer H; a 2xx moves it to
///   Accepted for 64×T1 (Timer L), absorbing INVITE retransmissions. With
///   [`Incoming::respond`] the endpoint also retransmits the 2xx itself (T1 doubling to T2,
///   over every transport, §13.3.1.4) until the ACK arrives; [`Incoming::relay`] (a proxy)
///   sends each 2xx once.
/// * server non-INVITE: retransmissions get the last response again; Timer J.
/// * The ACK of a 2xx matches no transaction: it reaches the TU as an [`Incoming`] with
///   [`Incoming::is_ack`]. A response matching no transaction is dropped (and traced).
/// * No 100 Trying is sent on the TU's behalf (traces stay deterministic): a proxy sends it.
#[derive(Clone)]
pub struct Endpoint {
    guard: Arc<Guard>,
}

/// What an endpoint holds open ([`Endpoint::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EndpointStats {
    /// Client transactions not yet terminated.
    pub client_transactions: usize,
    /// Server transactions not yet terminated.
    pub server_transactions: usize,
    /// 2xx responses retransmitted until their ACK.
    pub awaiting_ack: usize,
    /// Open TCP and TLS connections.
    pub connections: usize,
    /// Tasks still running (listeners, transactions, connections).
    pub tasks: usize,
}

impl std::ops::Add for EndpointStats {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            client_transactions: self.client_transactions + o.client_transactions,
            server_transactions: self.server_transactions + o.server_transactions,
            awaiting_ack: self.awaiting_ack + o.awaiting_ack,
            connections: self.connections + o.connections,
            tasks: self.tasks + o.tasks,
        }
    }
}

/// What an endpoint refused or dropped to stay within its [`super::Limits`], and the panics
/// it caught while handling a message ([`Endpoint::refusals`]). Counted since it was bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Refusals {
    /// Requests answered `503` with `Retry-After` because the queue to the network function
    /// was full.
    pub overloaded: u64,
    /// ACKs of a 2xx dropped because that queue was full (an ACK is never answered).
    pub dropped: u64,
    /// Accepted TCP or TLS connections closed at once because the connection limit was reached.
    pub connections: u64,
    /// Panics caught while handling one message; the listener went on serving.
    pub panics: u64,
    /// Malformed, oversized or looping requests answered with the error saying so (400, 416,
    /// 482, 505, 513, …) before reaching the network function.
    pub malformed: u64,
    /// Malformed messages dropped because no answer was possible: garbage, a broken ACK, a
    /// request without a Via, a stream that ended inside a message.
    pub unanswerable: u64,
    /// Requests that came back unchanged after passing through here, answered `482`.
    pub looped: u64,
}

#[derive(Debug, Default)]
pub(super) struct RefusalCounters {
    pub(super) overloaded: std::sync::atomic::AtomicU64,
    pub(super) dropped: std::sync::atomic::AtomicU64,
    pub(super) connections: std::sync::atomic::AtomicU64,
    pub(super) panics: std::sync::atomic::AtomicU64,
    pub(super) malformed: std::sync::atomic::AtomicU64,
    pub(super) unanswerable: std::sync::atomic::AtomicU64,
    pub(super) looped: std::sync::atomic::AtomicU64,
}

impl RefusalCounters {
    pub(super) fn count(counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> Refusals {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        Refusals {
            overloaded: get(&self.overloaded),
            dropped: get(&self.dropped),
            connections: get(&self.connections),
            panics: get(&self.panics),
            malformed: get(&self.malformed),
            unanswerable: get(&self.unanswerable),
            looped: get(&self.looped),
        }
    }
}

/// Shuts the endpoint down when the last [`Endpoint`] clone goes.
struct Guard(Arc<Inner>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.guard.0, f)
    }
}

/// State shared by the endpoint's tasks.
pub(super) struct Inner {
    pub(super) config: Config,
    pub(super) locate: Arc<dyn Locate>,
    pub(super) tap: Tap,
    pub(super) rng: Mutex<Rng>,
    pub(super) addr: SocketAddr,
    pub(super) udp: Mutex<Option<Arc<UdpSocket>>>,
    /// The TLS listener's address, when there is one.
    pub(super) tls_addr: Option<SocketAddr>,
    /// The TLS client configuration, made on the first TLS connection this endpoint opens.
    pub(super) tls_client: OnceLock<Arc<ClientConfig>>,
    /// The host name each TLS address was located under: the name its server certificate must
    /// carry (RFC 5922 §4).
    pub(super) tls_names: Mutex<HashMap<SocketAddr, String>>,
    /// Open TCP and TLS connections by transport and peer address (accepted ones by the peer's
    /// ephemeral address).
    pub(super) conns: Mutex<HashMap<(SipTransport, SocketAddr), Arc<TcpConn>>>,
    /// Serialises opening connections, so two sends to a new peer share one.
    pub(super) connecting: tokio::sync::Mutex<()>,
    pub(super) clients: Mutex<HashMap<String, mpsc::UnboundedSender<ClientEvent>>>,
    pub(super) servers: Mutex<HashMap<String, ServerEntry>>,
    /// Server INVITE transactions retransmitting a 2xx, by (Call-ID, CSeq number).
    pub(super) awaiting_ack: Mutex<HashMap<(String, u32), mpsc::UnboundedSender<ServerEvent>>>,
    /// Requests for the network function, at most [`super::Limits::queue`] waiting.
    pub(super) incoming: Mutex<Option<mpsc::Sender<Incoming>>>,
    pub(super) incoming_rx: tokio::sync::Mutex<mpsc::Receiver<Incoming>>,
    /// What the endpoint refused or dropped to stay within its limits, and panics caught.
    pub(super) refusals: RefusalCounters,
    pub(super) tasks: Mutex<JoinSet<()>>,
    pub(super) closed: AtomicBool,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("node", &self.config.node)
            .field("host", &self.config.host)
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Locks a mutex; a poisoned one still holds consistent maps (no code panics while holding it).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn shut_down() -> Error {
    Error::Sip {
        detail: "endpoint shut down".into(),
    }
}

impl Inner {
    pub(super) fn timers(&self) -> Timers {
        self.config.timers
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Runs `task` until it ends or the endpoint shuts down.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        if self.is_closed() {
            return;
        }
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    pub(super) fn next_branch(&self) -> String {
        lock(&self.rng).branch()
    }

    pub(super) fn next_tag(&self) -> String {
        lock(&self.rng).tag()
    }

    /// Hands a request to the network function; when [`super::Limits::queue`] requests wait
    /// already, answers it `503` with `Retry-After` instead (an ACK is dropped).
    pub(super) fn deliver(&self, incoming: Incoming) {
        let sent = {
            let queue = lock(&self.incoming);
            let Some(tx) = queue.as_ref() else { return };
            tx.try_send(incoming)
        };
        let full = match sent {
            Err(mpsc::error::TrySendError::Full(incoming)) => incoming,
            _ => return,
        };
        let limits = self.config.limits;
        let (id, waiting) = (full.trace_id, limits.queue);
        if full.is_ack() {
            RefusalCounters::count(&self.refusals.dropped);
            self.note_overload(
                id,
                format!("{waiting} requests wait already: ACK dropped"),
                None,
            );
            return;
        }
        RefusalCounters::count(&self.refusals.overloaded);
        let mut response = proxy::response_to(full.request(), 503, "Service Unavailable", None);
        response
            .headers
            .push(Header::RetryAfter(limits.retry_after_s.to_string().into()));
        self.note_overload(
            id,
            format!(
                "{waiting} requests wait already: answered 503 with Retry-After {} s",
                limits.retry_after_s
            ),
            Some(503),
        );
        full.answer_now(response);
    }

    /// A failed "has room" check on the trace, typed [`Reason::Overloaded`].
    pub(super) fn note_overload(&self, id: u64, detail: String, code: Option<u16>) {
        self.tap.note(
            &self.config.node,
            Some(id),
            Note::fail(ROOM_CHECK, Reason::Overloaded, code, detail),
        );
    }

    pub(super) fn shutdown(&self) {
        {
            let mut tasks = lock(&self.tasks);
            self.closed.store(true, Ordering::SeqCst);
            tasks.abort_all();
        }
        let udp = lock(&self.udp).take();
        drop(udp);
        let conns = std::mem::take(&mut *lock(&self.conns));
        drop(conns);
        let clients = std::mem::take(&mut *lock(&self.clients));
        drop(clients);
        let servers = std::mem::take(&mut *lock(&self.servers));
        drop(servers);
        let acks = std::mem::take(&mut *lock(&self.awaiting_ack));
        drop(acks);
        let incoming = lock(&self.incoming).take();
        drop(incoming);
    }
}

/// The check an endpoint fails when a request or connection finds no room.
pub const ROOM_CHECK: &str = "SIP endpoint has room";

fn bind_error(e: std::io::Error) -> Error {
    Error::Bind {
        detail: e.to_string(),
    }
}

/// UDP on 127.0.0.1:0, then TCP on the same port (again with a new port if TCP's is taken).
async fn bind_udp_tcp() -> Result<(UdpSocket, TcpListener, SocketAddr), Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = UdpSocket::bind("127.0.0.1:0").await.map_err(bind_error)?;
        let addr = udp.local_addr().map_err(bind_error)?;
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok((udp, listener, addr)),
            Err(e) if attempt >= 32 => return Err(bind_error(e)),
            Err(_) => continue,
        }
    }
}

/// The TLS listener: a claimed TCP port on 127.0.0.1, registered on the tap, and its acceptor.
async fn bind_tls(
    config: &Config,
    client_auth: crate::node::ClientAuth,
    tap: &Tap,
) -> Result<(TcpListener, TlsAcceptor, SocketAddr), Error> {
    let acceptor = TlsAcceptor::from(tls::server_config(&config.host, client_auth)?);
    let listener = crate::ports::listen_tcp(
        std::net::Ipv4Addr::LOCALHOST.into(),
        Some((tap, &config.node)),
    )
    .await
    .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    tap.register(Transport::Tls, addr, &config.node);
    Ok((listener, acceptor, addr))
}

impl Endpoint {
    /// Binds UDP and TCP on 127.0.0.1 with the same port (UDP on :0, then TCP on that port,
    /// again with a new port if TCP's is taken) and registers the address on the tap as
    /// `config.node`. With [`Config::tls`]'s `listen`, also a TLS listener on a port of its own
    /// (claimed on the tap like every TCP socket of the world), presenting the fixture
    /// certificate of `config.host`.
    pub async fn bind(
        config: Config,
        locate: Arc<dyn Locate>,
        tap: Tap,
        rng: Rng,
    ) -> Result<Endpoint, Error> {
        let (udp, listener, addr) = bind_udp_tcp().await?;
        tap.register(Transport::Udp, addr, &config.node);
        tap.register(Transport::Tcp, addr, &config.node);
        let tls_listener = match config.tls.listen {
            Some(client_auth) => Some(bind_tls(&config, client_auth, &tap).await?),
            None => None,
        };
        let udp = Arc::new(udp);
        let (incoming_tx, incoming_rx) = mpsc::channel(config.limits.queue.max(1));
        let inner = Arc::new(Inner {
            config,
            locate,
            tap,
            rng: Mutex::new(rng),
            addr,
            udp: Mutex::new(Some(udp.clone())),
            tls_addr: tls_listener.as_ref().map(|(_, _, a)| *a),
            tls_client: OnceLock::new(),
            tls_names: Mutex::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
            connecting: tokio::sync::Mutex::new(()),
            clients: Mutex::new(HashMap::new()),
            servers: Mutex::new(HashMap::new()),
            awaiting_ack: Mutex::new(HashMap::new()),
            incoming: Mutex::new(Some(incoming_tx)),
            incoming_rx: tokio::sync::Mutex::new(incoming_rx),
            refusals: RefusalCounters::default(),
            tasks: Mutex::new(JoinSet::new()),
            closed: AtomicBool::new(false),
        });
        inner.spawn(inner.clone().udp_loop(udp));
        inner.spawn(inner.clone().accept_loop(listener));
        if let Some((listener, acceptor, _)) = tls_listener {
            inner.spawn(inner.clone().tls_accept_loop(listener, acceptor));
        }
        Ok(Endpoint {
            guard: Arc::new(Guard(inner)),
        })
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.guard.0
    }

    /// The UDP and TCP address (same port).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner().addr
    }

    /// The TLS listener's address, when [`Config::tls`] asked for one (publish it in DNS as
    /// the host's `SIPS+D2T` service).
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.inner().tls_addr
    }

    /// Own FQDN (Via sent-by, Record-Route).
    pub fn host(&self) -> &str {
        &self.inner().config.host
    }

    /// Trace node name.
    pub fn node(&self) -> &str {
        &self.inner().config.node
    }

    /// What the endpoint was bound with.
    pub fn config(&self) -> &Config {
        &self.inner().config
    }

    /// The tap every message of this endpoint is recorded on.
    pub fn tap(&self) -> &Tap {
        &self.inner().tap
    }

    /// The next request for the network function: a new server transaction, or an ACK that
    /// matches none. `None` once the endpoint is shut down.
    pub async fn next_request(&self) -> Option<Incoming> {
        if self.inner().is_closed() {
            return None;
        }
        let next = self.inner().incoming_rx.lock().await.recv().await;
        if self.inner().is_closed() {
            return None;
        }
        next
    }

    /// Sends a request in a new client transaction. A request without Via gets one with a fresh
    /// branch; without Max-Forwards, 70; Content-Length is set from the body. It goes to the
    /// top Route's URI if there is one, else the Request-URI (§8.1.2, §16.6), located with the
    /// node's [`Locate`] (RFC 3263) and tried target by target until one takes it; over TCP
    /// when it is larger than 1300 bytes (§18.1.1), the top Via (when ours) saying so.
    pub async fn send_request(&self, request: Request) -> Result<ClientTransaction, Error> {
        let inner = self.inner().clone();
        let request = inner.prepare_outgoing(request)?;
        let mut last = None;
        for (target, request) in inner.routes_for(&request).await? {
            match inner.start_client(request, target, None).await {
                Ok(tx) => return Ok(tx),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(shut_down))
    }

    /// Sends a request outside any transaction (the ACK of a 2xx; a proxy relaying one),
    /// prepared and routed like [`Endpoint::send_request`].
    pub async fn send_stateless(&self, request: Request) -> Result<(), Error> {
        let inner = self.inner().clone();
        let request = inner.prepare_outgoing(request)?;
        let mut last = None;
        for (target, request) in inner.routes_for(&request).await? {
            let bytes = wire::encode_request(&request);
            let summary = wire::request_summary(&request);
            match inner.transmit(target, &bytes, &summary, None).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(shut_down))
    }

    /// Sends a response outside any transaction (a proxy relaying a 2xx whose transaction is
    /// gone) to where its top Via says (§18.2.2: `received`, `rport`, sent-by).
    pub async fn send_response_stateless(&self, response: Response) -> Result<(), Error> {
        self.inner().send_response_by_via(&response).await
    }

    /// A fresh Via branch (with the RFC 3261 magic cookie) from the seeded rng.
    pub fn next_branch(&self) -> String {
        self.inner().next_branch()
    }

    /// A fresh From/To tag from the seeded rng.
    pub fn next_tag(&self) -> String {
        self.inner().next_tag()
    }

    /// A fresh Call-ID (`…@host`) from the seeded rng.
    pub fn next_call_id(&self) -> String {
        lock(&self.inner().rng).call_id(&self.inner().config.host)
    }

    /// Stops every task and closes every socket of this endpoint. Requests not yet taken are
    /// dropped; [`Endpoint::next_request`] returns `None` from now on.
    pub fn shutdown(&self) {
        self.inner().shutdown();
    }

    /// [`Endpoint::shutdown`], then waits (at most a second) until every task has ended, so
    /// the port can be bound again. Do not call it from a task of this endpoint.
    pub async fn close(&self) {
        self.inner().shutdown();
        let mut tasks = std::mem::take(&mut *lock(&self.inner().tasks));
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
    }

    /// What the endpoint holds open now: a load run checks none of it grows.
    pub fn stats(&self) -> EndpointStats {
        let inner = self.inner();
        EndpointStats {
            client_transactions: lock(&inner.clients).len(),
            server_transactions: lock(&inner.servers).len(),
            awaiting_ack: lock(&inner.awaiting_ack).len(),
            connections: lock(&inner.conns).len(),
            tasks: self.running_tasks(),
        }
    }

    /// What the endpoint refused or dropped to stay within its limits, and panics it caught.
    pub fn refusals(&self) -> Refusals {
        self.inner().refusals.read()
    }

    /// Tasks still running (sockets, transactions, connections): 0 after [`Endpoint::close`].
    pub fn running_tasks(&self) -> usize {
        let mut tasks = lock(&self.inner().tasks);
        while tasks.try_join_next().is_some() {}
        tasks.len()
    }
}
