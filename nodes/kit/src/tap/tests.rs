//! The tap's ordering, pairing and naming rules.

#![allow(clippy::unwrap_used)]

use super::*;
use proto::trace::Act;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn receive_after_send_regardless_of_arrival_order() {
    let tap = Tap::new();
    tap.register(Layer::Udp, addr(1), "a");
    tap.register(Layer::Udp, addr(2), "b");
    // b's unrelated note reaches the tap first; then a sends to b, b receives, b answers.
    tap.note("b", None, Note::done(Act::Route, "boot"));
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
        tap.note("busy", None, Note::done(Act::Route, "x"));
    }
    tap.barrier();
    tap.note("quiet", None, Note::done(Act::Route, "after"));
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

#[test]
fn names_go_by_transport_and_a_port_number_names_one_node() {
    let tap = Tap::new();
    tap.register(Layer::Udp, addr(5060), "pcscf");
    tap.register(Transport::Tcp, addr(5060), "pcscf");
    tap.register(Transport::Tls, addr(443), "hss");
    assert_eq!(
        tap.node_at(Transport::Udp, addr(5060)).as_deref(),
        Some("pcscf")
    );
    assert_eq!(
        tap.node_at(Transport::Tls, addr(443)).as_deref(),
        Some("hss")
    );
    // DNS is recorded from a node's main address, whatever transport that is.
    assert_eq!(
        tap.node_at(Transport::Udp, addr(443)).as_deref(),
        Some("hss")
    );
    assert!(tap.ambiguities().is_empty());
    // A TCP client port may not take a number another node has.
    assert!(!tap.claim_port(443, "as"));
    assert!(tap.claim_port(443, "hss"));
    assert!(tap.claim_port(40_000, "as"));
    // An ICE socket on a number already used by another node: the trace is ambiguous.
    tap.register(Layer::Udp, addr(40_000), "ue-a");
    let found = tap.ambiguities();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].to_string(),
        "port 40000 was used by as and by ue-a: the trace cannot say whose it is"
    );
}

#[test]
fn records_since_is_the_tail_of_arrival_order() {
    let tap = Tap::new();
    for i in 0..4 {
        tap.note("a", None, Note::done(Act::Route, format!("n{i}")));
    }
    let all = tap.records();
    assert_eq!(tap.records_since(0), all);
    assert_eq!(tap.records_since(3), all[3..].to_vec());
    assert!(tap.records_since(4).is_empty());
    assert!(tap.records_since(99).is_empty());
}

fn exchange(tap: &Tap, n: u16) {
    let m = Message::sip(
        Transport::Udp,
        addr(1),
        addr(2),
        format!("MESSAGE {n}"),
        format!("MESSAGE {n} raw"),
    );
    tap.sent("a", m.clone());
    tap.received("b", m);
}

#[test]
fn a_ring_keeps_the_latest_records_and_counters_keep_none() {
    let ring = Tap::new();
    ring.set_mode(TraceMode::Ring(10));
    for n in 0..100 {
        exchange(&ring, n);
    }
    let kept = ring.records();
    assert!((10..=20).contains(&kept.len()), "{}", kept.len());
    // The newest record is the last receive.
    assert!(matches!(&kept[kept.len() - 1].body,
        Body::Received { message, .. } if message.summary == "MESSAGE 99"));
    let c = ring.counts();
    assert_eq!((c.sent, c.received, c.notes), (100, 100, 0));
    assert_eq!(c.dropped, 200 - kept.len() as u64);

    let counters = Tap::new();
    counters.set_mode(TraceMode::Counters);
    for n in 0..50 {
        exchange(&counters, n);
    }
    counters.note("a", None, Note::done(Act::Route, "x"));
    assert!(counters.is_empty());
    let c = counters.counts();
    assert_eq!((c.sent, c.received, c.notes, c.dropped), (50, 50, 1, 101));
    // Pairing still works without records: nothing is left in flight.
    assert_eq!((counters.in_flight(), counters.awaiting()), (0, 0));
}

#[test]
fn a_dns_answer_closes_its_query() {
    let tap = Tap::new();
    for id in 0..20u16 {
        tap.sent(
            "a",
            Message::dns(addr(1), addr(53), "A? x".into(), "x IN A".into(), id),
        );
        tap.received(
            "a",
            Message::dns(addr(53), addr(1), "A x → 1".into(), "x IN A".into(), id),
        );
    }
    assert_eq!(tap.in_flight(), 0);
    assert_eq!(tap.len(), 40);
}

#[test]
fn watchers_see_every_record_and_may_use_the_tap() {
    let tap = Tap::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (inner, log) = (tap.clone(), seen.clone());
    let calls = seen.clone();
    tap.watch(move |record| {
        // The lock is released: the watcher may read the tap (a deadlock otherwise).
        let len = inner.len();
        log.lock().unwrap().push((record.node.clone(), len));
    });
    tap.note("a", None, Note::done(Act::Route, "one"));
    let m = Message::sip(
        Transport::Udp,
        addr(1),
        addr(2),
        "INVITE".into(),
        "INVITE raw".into(),
    );
    tap.sent("a", m.clone());
    tap.received("b", m);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("a".to_owned(), 1),
            ("a".to_owned(), 2),
            ("b".to_owned(), 3)
        ]
    );
    // Counters mode keeps nothing, and calls no one.
    tap.set_mode(TraceMode::Counters);
    tap.note("a", None, Note::done(Act::Route, "two"));
    assert_eq!(tap.len(), 3);
    assert_eq!(calls.lock().unwrap().len(), 3);
}
