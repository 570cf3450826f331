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

use proto::trace::{Body, Message, Note, Proto, Record};
#[derive(Debug)]
struct State {
    started: Instant,
    records: Vec<Record>,
    clocks: HashMap<String, (u64, u64)>,
    in_flight: HashMap<(SocketAddr, SocketAddr, u64), Vec<(u64, u64)>>,
    /// Messages sent and not yet received, DNS left out (the DNS server records nothing).
    awaiting: usize,
    next_msg: u64,
    names: HashMap<SocketAddr, String>,
    /// Whether an address was registered by two different nodes (a UDP and a TCP socket may
    /// share a port number).
    ambiguous: bool,
    /// Set by [`Tap::barrier`]: no later record sorts before it.
    floor: u64,
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
    pub fn new() -> Self {
        Tap(Arc::new(Mutex::new(State {
            started: Instant::now(),
            records: Vec::new(),
            clocks: HashMap::new(),
            in_flight: HashMap::new(),
            awaiting: 0,
            next_msg: 1,
            names: HashMap::new(),
            ambiguous: false,
            floor: 0,
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a node panicked while recording; the records are still whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `addr` belongs to `node` (the world's address book, for naming peers).
    pub fn register(&self, addr: SocketAddr, node: &str) {
        let mut s = self.state();
        if s.names
            .insert(addr, node.to_owned())
            .is_some_and(|old| old != node)
        {
            s.ambiguous = true;
        }
    }

    /// Whether two nodes registered the same address (so names in the trace may be wrong).
    pub fn ambiguous(&self) -> bool {
        self.state().ambiguous
    }

    /// Every registered address and its node.
    pub fn names(&self) -> Vec<(SocketAddr, String)> {
        let mut v: Vec<_> = self
            .state()
            .names
            .iter()
            .map(|(a, n)| (*a, n.clone()))
            .collect();
        v.sort();
        v
    }

    /// The node an address belongs to, if registered.
    pub fn node_at(&self, addr: SocketAddr) -> Option<String> {
        self.state().names.get(&addr).cloned()
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
        if message.proto != Proto::Dns {
            s.awaiting += 1;
        }
        s.in_flight
            .entry((message.src, message.dst, message.key))
            .or_default()
            .push((msg, lamport));
        let to = s.names.get(&message.dst).cloned();
        let at = s.started.elapsed();
        s.records.push(Record {
            lamport,
            node: node.to_owned(),
            node_seq,
            at,
            body: Body::Sent { msg, to, message },
        });
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
        let from = s.names.get(&message.src).cloned();
        let at = s.started.elapsed();
        s.records.push(Record {
            lamport,
            node: node.to_owned(),
            node_seq,
            at,
            body: Body::Received { msg, from, message },
        });
        msg
    }

    /// Adds a note by `node`, about message `msg` if given.
    pub fn note(&self, node: &str, msg: Option<u64>, note: Note) {
        let mut s = self.state();
        let (lamport, node_seq) = Self::tick(&mut s, node, 0);
        let at = s.started.elapsed();
        s.records.push(Record {
            lamport,
            node: node.to_owned(),
            node_seq,
            at,
            body: Body::Note { msg, note },
        });
    }

    /// Messages (SIP, HTTP, data channel) sent and not yet received: 0 when nothing is on the
    /// wire.
    pub fn awaiting(&self) -> usize {
        self.state().awaiting
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

    /// Records in causal order, independent of thread timing (see the module docs).
    pub fn ordered(&self) -> Vec<Record> {
        let mut records = self.records();
        records.sort_by(|a, b| {
            (a.lamport, &a.node, a.node_seq).cmp(&(b.lamport, &b.node, b.node_seq))
        });
        records
    }

    /// Number of records so far.
    pub fn len(&self) -> usize {
        self.state().records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::trace::Transport;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn receive_after_send_regardless_of_arrival_order() {
        let tap = Tap::new();
        tap.register(addr(1), "a");
        tap.register(addr(2), "b");
        // b's unrelated note reaches the tap first; then a sends to b, b receives, b answers.
        tap.note(
            "b",
            None,
            Note::Action {
                label: "boot".into(),
            },
        );
        let m = Message::sip(
            Transport::Udp,
            addr(1),
            addr(2),
            "INVITE".into(),
            "INVITE raw".into(),
        );
        let id = tap.sent("a", m.clone());
        assert_eq!(tap.received("b", m), id);
        let r = Message::sip(
            Transport::Udp,
            addr(2),
            addr(1),
            "200".into(),
            "200 raw".into(),
        );
        let rid = tap.sent("b", r.clone());
        assert_eq!(tap.received("a", r), rid);
        let order: Vec<(String, u64)> = tap
            .ordered()
            .iter()
            .map(|r| (r.node.clone(), r.lamport))
            .collect();
        assert_eq!(
            order,
            [
                ("a".into(), 1),
                ("b".into(), 1),
                ("b".into(), 2),
                ("b".into(), 3),
                ("a".into(), 4)
            ]
        );
        match &tap.ordered()[2].body {
            Body::Received { from, msg, .. } => {
                assert_eq!((from.as_deref(), *msg), (Some("a"), id))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn barrier_orders_phases() {
        let tap = Tap::new();
        for _ in 0..5 {
            tap.note("busy", None, Note::Action { label: "x".into() });
        }
        tap.barrier();
        tap.note(
            "quiet",
            None,
            Note::Action {
                label: "after".into(),
            },
        );
        let last = tap.ordered().pop().unwrap();
        assert_eq!((last.node.as_str(), last.lamport), ("quiet", 6));
    }

    #[test]
    fn retransmissions_pair_up_in_order() {
        let tap = Tap::new();
        let m = Message::sip(
            Transport::Udp,
            addr(1),
            addr(2),
            "INVITE".into(),
            "same".into(),
        );
        let first = tap.sent("a", m.clone());
        let second = tap.sent("a", m.clone());
        assert_eq!(tap.received("b", m.clone()), first);
        assert_eq!(tap.received("b", m.clone()), second);
        // A third copy nobody sent (from outside the world) gets a fresh id.
        assert!(tap.received("b", m) > second);
    }
}
