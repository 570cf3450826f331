//! Load without loss: 10,000 calls through the solution-2 chain (UE-A → P-CSCF → S-CSCF →
//! IMS AS with the STI-AS signing → the terminating side with the STI-VS verifying → UE-B and
//! back, then BYE), as fast as the machine goes with 16 calls in flight, in two rounds of
//! 5,000 in one world. Every call is accounted for (answered and hung up, or failed with a
//! reason: none is expected), and after each round's drain the world holds what it held
//! before: no transaction, no 2xx waiting for its ACK, no extra task (each transaction's timers
//! run in its task) or connection, no socket the second round added to the first's, and no
//! live heap (stats_alloc's counting wrapper of the system allocator) the second round added.
//! One test, one run: the socket and heap counts are the process's, so a second world running
//! alongside would blur them.
//!
//! A test of behaviour: the time it takes is not checked (BENCHMARKS.md has the rates).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::time::Duration;

use kit::tap::TraceMode;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use testbed::bench::load;

/// The system allocator, counting what it hands out and takes back.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed.
fn live_bytes() -> u64 {
    // stats_alloc counts a growing realloc in `bytes_allocated` and a shrinking one in
    // `bytes_deallocated`.
    let s = ALLOCATOR.stats();
    u64::try_from(s.bytes_allocated.saturating_sub(s.bytes_deallocated)).unwrap_or(u64::MAX)
}

/// What a second round of the same calls may leave above the first: hash tables keep the
/// capacity their busiest moment needed (a slightly busier second round can double one), so
/// not zero; a leak of 200 bytes per call would already exceed it.
const SLACK: u64 = 1 << 20;

const CALLS: u64 = 10_000;

/// 10,000 calls in two rounds of 5,000, live heap read before and after each drain.
fn ten_thousand_calls() -> (load::LoadArgs, load::LoadReport) {
    let args = load::LoadArgs {
        // The rounds end by count; this only bounds a machine that stalls.
        duration: Duration::from_secs(600),
        rate: None,
        in_flight: 16,
        trace: TraceMode::Counters,
        drain: Duration::from_secs(20),
        seed: 1,
        rounds: 2,
        // Transactions linger 64×T1 = 1.3 s after each call, not 32 s: short drains.
        fast_timers: true,
        calls: Some(CALLS / 2),
        live_bytes: Some(live_bytes),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(load::run(&args, true)).unwrap();
    (args, report)
}

#[test]
fn ten_thousand_calls_are_all_accounted_for_and_nothing_stays_behind() {
    let (args, report) = ten_thousand_calls();
    let text = report.text();

    // Every call accounted for.
    assert_eq!(report.started, CALLS, "{text}");
    assert_eq!(report.completed + report.failed, report.started, "{text}");
    assert_eq!(
        report.failed, 0,
        "failures by reason: {:?}",
        report.failures
    );
    assert_eq!(report.rounds.len(), 2);
    for round in &report.rounds {
        assert_eq!(round.started, CALLS / 2, "{text}");
        assert_eq!(round.completed, CALLS / 2, "{text}");
    }

    // Nothing stays behind after either drain: transactions, ACK waits, tasks (and the timers
    // they run), connections, sockets.
    let before = report.sip_before;
    assert_eq!(before.client_transactions, 0);
    assert_eq!(before.server_transactions, 0);
    assert_eq!(before.awaiting_ack, 0);
    for (n, round) in report.rounds.iter().enumerate() {
        assert_eq!(round.sip_after, before, "round {}: {text}", n + 1);
        assert!(round.drained_after_s.is_some(), "round {}: {text}", n + 1);
    }
    // Sockets: the rounds fill the HTTPS connection pools (IMS AS → STI-AS, IMS AS → STI-VS: at
    // most one connection per call in flight, two sockets each, kept alive for reuse), up to a
    // cap set by the calls in flight, not by the number of calls: after 5,000 calls and after
    // 10,000 the process holds no more than that cap above where it started. (Which pool
    // connections a round opens depends on how the calls overlap, so the second round may add a
    // few the first did not need.)
    let (first, second) = (&report.rounds[0], &report.rounds[1]);
    let cap = report.sockets_before + 4 * args.in_flight;
    for (n, round) in report.rounds.iter().enumerate() {
        assert!(
            round.sockets_after <= cap,
            "round {} left {} sockets, {} before (cap {cap})",
            n + 1,
            round.sockets_after,
            report.sockets_before
        );
    }

    // The live heap: the second round leaves no more than the first (nothing per call stays:
    // the UEs forget a call's state at its end and keep only their last few INVITEs).
    let live_first = first.live_bytes_after.unwrap();
    let live_second = second.live_bytes_after.unwrap();
    assert!(
        live_second <= live_first + SLACK,
        "live heap grew by {} bytes over 5,000 calls (first round left {live_first}, second \
         {live_second}, before {:?})",
        live_second.saturating_sub(live_first),
        report.live_bytes_before
    );

    eprintln!(
        "10,000 calls: {:.0} calls/s; sockets before, after round 1, after round 2: {:?}; live \
         heap before {:?}, after round 1 {:?}, after round 2 {:?}",
        report.calls_per_s,
        (
            report.sockets_before,
            first.sockets_after,
            second.sockets_after
        ),
        report.live_bytes_before,
        first.live_bytes_after,
        second.live_bytes_after
    );
}
