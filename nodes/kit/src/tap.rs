//! The trace tap: every transport in `kit` hands the [`Tap`] each message it sends and receives;
//! network functions add notes (tokens they decoded, checks they ran, testbed choices, internal
//! actions). The record types are `proto::trace`'s.
//!
//! Order. Network functions run concurrently, so the order in which records reach the tap can
//! differ between runs. Each record therefore carries a Lamport timestamp: a node's counter
//! goes up by one per record, and a receive jumps past the matching send. Sorting by
//! (timestamp, node, the node's own sequence) gives an order that respects causality — a send
//! before its receive, a request before its response — and does not depend on thread timing
//! ([`Tap::ordered`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use proto::trace::{Body, Message, Note, Proto, Record, Transport};

/// What the tap keeps of the records it is handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceMode {
    /// Every record (scenario runs, the dashboard, exports).
    #[default]
    Full,
    /// The most recent records only, at least this many and at most twice as many (a load run
    /// that still wants to look at its last calls).
    Ring(usize),
    /// No records, only [`Counts`] (a load run: memory stays flat however many calls).
    Counters,
}

/// What a tap has been handed, whatever its [`TraceMode`] kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    /// Messages recorded as sent.
    pub sent: u64,
    /// Messages recorded as received.
    pub received: u64,
    /// Notes.
    pub notes: u64,
    /// Records not kept (ring overflow, or every record in counters mode).
    pub dropped: u64,
}

/// Everything the tap holds, behind one lock.
#[derive(Debug)]
struct State {
    started: Instant,
    mode: TraceMode,
    counts: Counts,
    records: Vec<Record>,
    clocks: HashMap<String, (u64, u64)>,
    in_flight: HashMap<(SocketAddr, SocketAddr, u64), Vec<(u64, u64)>>,
    /// Messages sent and not yet received, DNS left out (the DNS server records nothing).
    awaiting: usize,
    /// Of those, messages that arrived and wait in a receiver's inbox, not yet read (data
    /// channel messages are recorded as received when the node reads them).
    held: usize,
    next_msg: u64,
    /// The world's address book: who owns each (transport, address).
    names: HashMap<(Layer, SocketAddr), String>,
    /// Who owns each port number, whatever the transport: the text of a trace names ports by
    /// number (a Via, an SRV answer, an ICE candidate), so one number must mean one node.
    ports: HashMap<u16, String>,
    /// Port numbers two nodes used in this world, and who.
    ambiguities: Vec<Ambiguity>,
    /// UDP sockets holding the numbers of the world's TCP ports, so no UDP socket (an ICE
    /// candidate, say) takes a number a TCP port of another node has.
    guards: Vec<std::net::UdpSocket>,
    /// Set by [`Tap::barrier`]: no later record sorts before it.
    floor: u64,
    /// Called with each record kept, after the lock is released ([`Tap::watch`]).
    watchers: Vec<Watcher>,
    /// Nodes the harness stopped ([`Tap::stop_node`]).
    stopped: std::collections::HashSet<String>,
}

/// A function the tap calls with each record it keeps ([`Tap::watch`]).
#[derive(Clone)]
struct Watcher(Arc<dyn Fn(&Record) + Send + Sync>);

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// The transport layer an address belongs to: TLS runs over TCP, so the two share addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// UDP (SIP over UDP, DNS, ICE).
    Udp,
    /// TCP (SIP over TCP, HTTP, HTTPS).
    Tcp,
}

impl From<Transport> for Layer {
    fn from(t: Transport) -> Self {
        match t {
            Transport::Udp => Layer::Udp,
            Transport::Tcp | Transport::Tls => Layer::Tcp,
        }
    }
}

impl From<proto::sip::SipTransport> for Layer {
    fn from(t: proto::sip::SipTransport) -> Self {
        match t {
            proto::sip::SipTransport::Udp => Layer::Udp,
            proto::sip::SipTransport::Tcp | proto::sip::SipTransport::Tls => Layer::Tcp,
        }
    }
}

/// A port number two nodes of one world used: the trace cannot say whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    /// The number.
    pub port: u16,
    /// The node that had it first.
    pub first: String,
    /// The node that had it too.
    pub second: String,
}

impl std::fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "port {} was used by {} and by {}: the trace cannot say whose it is",
            self.port, self.first, self.second
        )
    }
}

/// The trace tap of one world. Cheap to clone; every node of the world holds one.
#[derive(Debug, Clone)]
pub struct Tap(Arc<Mutex<State>>);

impl Default for Tap {
    fn default() -> Self {
        Self::new()
    }
}

impl Tap {
    /// An empty tap: no records, no addresses, the clock starting now.
    pub fn new() -> Self {
        Tap(Arc::new(Mutex::new(State {
            started: Instant::now(),
            mode: TraceMode::Full,
            counts: Counts::default(),
            records: Vec::new(),
            clocks: HashMap::new(),
            in_flight: HashMap::new(),
            awaiting: 0,
            held: 0,
            next_msg: 1,
            names: HashMap::new(),
            ports: HashMap::new(),
            ambiguities: Vec::new(),
            guards: Vec::new(),
            floor: 0,
            watchers: Vec::new(),
            stopped: std::collections::HashSet::new(),
        })))
    }

    /// Sets what the tap keeps from now on ([`TraceMode`]); records kept so far stay.
    pub fn set_mode(&self, mode: TraceMode) {
        self.state().mode = mode;
    }

    /// Calls `watch` with every record kept from now on, in the thread that recorded it, once
    /// the tap's lock is released (so `watch` may use the tap) and before that thread goes on:
    /// the harness stops a network function when the trace reaches a step (`--down nf@step`).
    /// Nothing is called in [`TraceMode::Counters`].
    pub fn watch(&self, watch: impl Fn(&Record) + Send + Sync + 'static) {
        self.state().watchers.push(Watcher(Arc::new(watch)));
    }

    /// Marks `node` as stopped (a fault the harness injected, after closing its listeners): the
    /// transports refuse to send for it from now on ([`Tap::is_stopped`]), so work it had
    /// already started in a task of its own cannot reach its peers either.
    pub fn stop_node(&self, node: &str) {
        self.state().stopped.insert(node.to_owned());
    }

    /// Whether `node` was stopped ([`Tap::stop_node`]).
    pub fn is_stopped(&self, node: &str) -> bool {
        let s = self.state();
        !s.stopped.is_empty() && s.stopped.contains(node)
    }

    /// Hands `record` (just kept) to the watchers, with the lock released.
    fn notify(&self, s: MutexGuard<'_, State>) {
        if s.watchers.is_empty() || s.mode == TraceMode::Counters {
            return;
        }
        let watchers = s.watchers.clone();
        let Some(record) = s.records.last().cloned() else {
            return;
        };
        drop(s);
        for w in watchers {
            (w.0)(&record);
        }
    }

    /// What the tap keeps.
    pub fn mode(&self) -> TraceMode {
        self.state().mode
    }

    /// Whether records are kept at all (not [`TraceMode::Counters`]): a sender may skip
    /// building text that would only be dropped.
    pub fn keeps_records(&self) -> bool {
        self.state().mode != TraceMode::Counters
    }

    /// What the tap has been handed so far.
    pub fn counts(&self) -> Counts {
        self.state().counts
    }

    /// Messages sent whose receive is still expected (a steady load keeps this bounded).
    pub fn in_flight(&self) -> usize {
        self.state().in_flight.values().map(Vec::len).sum()
    }

    /// Keeps `record` as the mode says.
    fn keep(s: &mut State, record: Record) {
        match &record.body {
            Body::Sent { .. } => s.counts.sent += 1,
            Body::Received { .. } => s.counts.received += 1,
            Body::Note { .. } => s.counts.notes += 1,
        }
        match s.mode {
            TraceMode::Full => s.records.push(record),
            TraceMode::Ring(keep) => {
                if s.records.len() >= keep.max(1) * 2 {
                    let excess = s.records.len() - keep.max(1);
                    s.records.drain(..excess);
                    s.counts.dropped += excess as u64;
                }
                s.records.push(record);
            }
            TraceMode::Counters => s.counts.dropped += 1,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a node panicked while recording; the records are still whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `addr` over `transport` belongs to `node` (the world's address book, for
    /// naming peers). A port number another node already used makes the world ambiguous
    /// ([`Tap::ambiguities`]).
    pub fn register(&self, transport: impl Into<Layer>, addr: SocketAddr, node: &str) {
        let mut s = self.state();
        Self::own_port(&mut s, addr.port(), node);
        s.names.insert((transport.into(), addr), node.to_owned());
    }

    fn own_port(s: &mut State, port: u16, node: &str) {
        match s.ports.get(&port) {
            Some(first) if first != node => {
                let ambiguity = Ambiguity {
                    port,
                    first: first.clone(),
                    second: node.to_owned(),
                };
                s.ambiguities.push(ambiguity);
            }
            Some(_) => {}
            None => {
                s.ports.insert(port, node.to_owned());
            }
        }
    }

    /// Claims port number `port` for `node`: false if another node of the world used it
    /// already (the caller then picks another port).
    pub fn claim_port(&self, port: u16, node: &str) -> bool {
        let mut s = self.state();
        match s.ports.get(&port) {
            Some(owner) => owner == node,
            None => {
                s.ports.insert(port, node.to_owned());
                true
            }
        }
    }

    /// Keeps a UDP socket holding a TCP port's number until [`Tap::release_guards`].
    pub fn keep_guard(&self, guard: std::net::UdpSocket) {
        self.state().guards.push(guard);
    }

    /// A TCP port a node's connection used is free again (the connection closed). In
    /// [`TraceMode::Full`] nothing changes: the trace names ports by number after the run, so
    /// the world keeps every claim for its lifetime. In the other modes (a load run, where
    /// connections come and go by the thousand) the claim, its guard socket and its address
    /// book entries go, so neither sockets nor the maps grow with the number of connections.
    pub fn release_port(&self, port: u16) {
        let mut s = self.state();
        if s.mode == TraceMode::Full {
            return;
        }
        s.ports.remove(&port);
        s.names
            .retain(|(layer, addr), _| !(*layer == Layer::Tcp && addr.port() == port));
        s.guards
            .retain(|g| g.local_addr().map_or(true, |a| a.port() != port));
    }

    /// Closes the guard sockets (the world has stopped).
    pub fn release_guards(&self) {
        self.state().guards.clear();
    }

    /// Port numbers two nodes used: a trace with any cannot be named reliably.
    pub fn ambiguities(&self) -> Vec<Ambiguity> {
        self.state().ambiguities.clone()
    }

    /// Every port number a node of the world used, and the node.
    pub fn ports(&self) -> Vec<(u16, String)> {
        let mut v: Vec<_> = self
            .state()
            .ports
            .iter()
            .map(|(p, n)| (*p, n.clone()))
            .collect();
        v.sort();
        v
    }

    /// Every registered (transport, address) and its node.
    pub fn names(&self) -> Vec<(Layer, SocketAddr, String)> {
        let mut v: Vec<_> = self
            .state()
            .names
            .iter()
            .map(|((l, a), n)| (*l, *a, n.clone()))
            .collect();
        v.sort();
        v
    }

    /// The node an address over a transport belongs to, if registered.
    pub fn node_at(&self, transport: impl Into<Layer>, addr: SocketAddr) -> Option<String> {
        Self::lookup(&self.state(), transport.into(), addr)
    }

    /// The node that registered exactly this (transport, address), if any: no fallback by port.
    pub fn node_exact(&self, transport: impl Into<Layer>, addr: SocketAddr) -> Option<String> {
        self.state().names.get(&(transport.into(), addr)).cloned()
    }

    /// By (transport, address); else by port number alone (a DNS query is recorded from the
    /// node's main address, whichever transport that is).
    fn lookup(s: &State, layer: Layer, addr: SocketAddr) -> Option<String> {
        s.names
            .get(&(layer, addr))
            .or_else(|| s.ports.get(&addr.port()))
            .cloned()
    }

    fn tick(state: &mut State, node: &str, at_least: u64) -> (u64, u64) {
        let floor = state.floor;
        let entry = state.clocks.entry(node.to_owned()).or_insert((0, 0));
        entry.0 = entry.0.max(at_least).max(floor) + 1;
        entry.1 += 1;
        *entry
    }

    /// Records a message `node` sent; returns the message id.
    pub fn sent(&self, node: &str, message: Message) -> u64 {
        let mut s = self.state();
        let (lamport, node_seq) = Self::tick(&mut s, node, 0);
        let msg = s.next_msg;
        s.next_msg += 1;
        // The DNS server records nothing, so a query is never received and its answer never
        // matches a send: a query is not kept in flight (a load run would keep every one).
        if message.proto != Proto::Dns {
            s.awaiting += 1;
            s.in_flight
                .entry((message.src, message.dst, message.key))
                .or_default()
                .push((msg, lamport));
        }
        let to = Self::lookup(&s, message.transport.into(), message.dst);
        let at = s.started.elapsed();
        let record = Record {
            lamport,
            node: node.to_owned(),
            node_seq,
            at,
            body: Body::Sent { msg, to, message },
        };
        Self::keep(&mut s, record);
        self.notify(s);
        msg
    }

    /// Records a message `node` received; returns the id of the matching send (or a new id
    /// for a message from outside the world).
    pub fn received(&self, node: &str, message: Message) -> u64 {
        let mut s = self.state();
        let key = (message.src, message.dst, message.key);
        let matched = s
            .in_flight
            .get_mut(&key)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
        if s.in_flight.get(&key).is_some_and(Vec::is_empty) {
            s.in_flight.remove(&key);
        }
        if matched.is_some() && message.proto != Proto::Dns {
            s.awaiting = s.awaiting.saturating_sub(1);
        }
        let (msg, sent_at) = match matched {
            Some(m) => m,
            None => {
                let msg = s.next_msg;
                s.next_msg += 1;
                (msg, 0)
            }
        };
        let (lamport, node_seq) = Self::tick(&mut s, node, sent_at);
        let from = Self::lookup(&s, message.transport.into(), message.src);
        let at = s.started.elapsed();
        let record = Record {
            lamport,
            node: node.to_owned(),
            node_seq,
            at,
            body: Body::Received { msg, from, message },
        };
        Self::keep(&mut s, record);
        self.notify(s);
        msg
    }

    /// Waits, at most `bound`, until no message sent is still on the wire (see
    /// [`Tap::awaiting`]). For a network function that sends something it does not wait an
    /// answer for (an ACK) and goes on with more: waiting for it to land keeps the trace's order
    /// from depending on which of the two gets there first (the testbed's traces are
    /// byte-stable). It changes nothing on the wire.
    pub async fn landed(&self, bound: std::time::Duration) {
        let start = std::time::Instant::now();
        while self.awaiting() > 0 && start.elapsed() < bound {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// A message recorded as sent (`msg`, not DNS) will never be received: its exchange failed
    /// before the peer read it (a TLS handshake the server refused after the client had sent).
    /// It no longer counts as on the wire.
    pub fn lost(&self, msg: u64) {
        let mut s = self.state();
        let mut found = false;
        for list in s.in_flight.values_mut() {
            if let Some(i) = list.iter().position(|(m, _)| *m == msg) {
                list.remove(i);
                found = true;
                break;
            }
        }
        s.in_flight.retain(|_, v| !v.is_empty());
        if found {
            s.awaiting = s.awaiting.saturating_sub(1);
        }
    }

    /// Adds a note by `node`, about message `msg` if given.
    pub fn note(&self, node: &str, msg: Option<u64>, note: Note) {
        let mut s = self.state();
        let (lamport, node_seq) = Self::tick(&mut s, node, 0);
        let at = s.started.elapsed();
        let record = Record {
            lamport,
            node: node.to_owned(),
            node_seq,
            at,
            body: Body::Note { msg, note },
        };
        Self::keep(&mut s, record);
        self.notify(s);
    }

    /// Messages (SIP, HTTP, data channel) sent and not yet received, less those that arrived and
    /// wait unread in an inbox ([`Tap::held`]): 0 when nothing is on the wire.
    pub fn awaiting(&self) -> usize {
        let s = self.state();
        s.awaiting.saturating_sub(s.held)
    }

    /// A message arrived and waits in a receiver's inbox: it is no longer on the wire, though
    /// not yet read (and so not yet recorded as received). A message that is never read (its
    /// channel closed first) stays held, and so never counts as on the wire.
    pub fn held(&self) {
        self.state().held += 1;
    }

    /// A held message was read (its receive is recorded next).
    pub fn taken(&self) {
        let mut s = self.state();
        s.held = s.held.saturating_sub(1);
    }

    /// Marks a point every node has passed (the world was quiet): every later record sorts
    /// after every earlier one. Scenarios call it between user actions, so a phase's
    /// concurrent tails (an ACK still crossing proxies) do not interleave with the next phase.
    pub fn barrier(&self) {
        let mut s = self.state();
        s.floor = s
            .clocks
            .values()
            .map(|c| c.0)
            .max()
            .unwrap_or(0)
            .max(s.floor);
    }

    /// Records in the order they reached the tap.
    pub fn records(&self) -> Vec<Record> {
        self.state().records.clone()
    }

    /// Records from index `from` of arrival order on (none when `from` is past the end),
    /// cloning only that tail: a live reader's next page.
    pub fn records_since(&self, from: usize) -> Vec<Record> {
        self.state()
            .records
            .get(from..)
            .map(<[Record]>::to_vec)
            .unwrap_or_default()
    }

    /// Records in causal order, independent of thread timing (see the module docs).
    pub fn ordered(&self) -> Vec<Record> {
        let mut records = self.records();
        order(&mut records);
        records
    }

    /// Number of records so far.
    pub fn len(&self) -> usize {
        self.state().records.len()
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sorts records into the causal order of [`Tap::ordered`]: by (Lamport timestamp, node, the
/// node's own sequence). For records that left the tap (a live trace read over the network).
pub fn order(records: &mut [Record]) {
    records.sort_by(|a, b| (a.lamport, &a.node, a.node_seq).cmp(&(b.lamport, &b.node, b.node_seq)));
}

#[cfg(test)]
mod tests;
