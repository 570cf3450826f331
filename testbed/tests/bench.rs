//! `testbed bench`'s machinery, checked for behaviour only (timings are reported, never
//! asserted): a short load run accounts for every call, keeps no trace records, and leaves the
//! SIP endpoints as it found them; the Ms load gets only good answers from the STI-AS and STI-VS;
//! the set-up extraction finds the caller's INVITE and its 200 in a real run's trace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kit::tap::TraceMode;
use testbed::bench::{load, ms, setup};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_load_run_accounts_for_every_call_and_leaves_nothing_behind() {
    let args = load::LoadArgs {
        duration: Duration::from_millis(700),
        rate: None,
        in_flight: 4,
        trace: TraceMode::Counters,
        drain: Duration::from_secs(10),
        seed: 1,
        rounds: 2,
        // Transactions linger 1.3 s, not 32 s: the drains stay short.
        fast_timers: true,
        calls: None,
        live_bytes: None,
    };
    let report = runtime().block_on(load::run(&args, true)).unwrap();
    assert!(report.completed > 0, "{}", report.text());
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(report.started, report.completed + report.failed);
    assert_eq!(report.rounds.len(), 2);
    assert_eq!(
        report.rounds.iter().map(|r| r.completed).sum::<u64>(),
        report.completed
    );
    assert_eq!(report.setup.unwrap().n as u64, report.completed);
    // Counters only: every message was counted, none kept; every send was received.
    assert!(report.trace.sent > 0 && report.trace.dropped > 0);
    assert_eq!(report.trace.sent, report.trace.received);
    assert_eq!(report.trace_in_flight, 0);
    // Each round drained back to the baseline: no transaction, 2xx retransmission, connection
    // or task left over.
    for r in &report.rounds {
        assert!(r.drained_after_s.is_some(), "{}", report.text());
        assert_eq!(r.sip_after, report.sip_before, "{}", report.text());
    }
    assert!(report.rss_after_kib > 0 && report.peak_rss_kib >= report.rss_after_kib);
}

#[test]
fn the_ms_load_gets_only_good_answers() {
    let args = ms::MsArgs {
        op: ms::Op::Both,
        concurrency: 2,
        duration: Duration::from_millis(300),
        peer: false,
        seed: 1,
    };
    let report = runtime().block_on(ms::run(&args, true)).unwrap();
    assert_eq!(report.runs.len(), 2);
    for r in &report.runs {
        assert_eq!(r.server, "testbed");
        assert!(r.ok > 0, "{}", report.text());
        assert!(r.errors.is_empty(), "{}", report.text());
    }
    assert!(report.ratio.is_empty() && report.peer_note.is_none());
}

#[test]
fn set_up_is_read_from_the_callers_invite_and_its_200() {
    let variant = testbed::scenarios::select("2:single").remove(0);
    let run = runtime().block_on(testbed::run::execute(&variant, 1));
    assert!(run.passed(), "{:?}", run.error);
    let (to_200, dc) = setup::from_trace(&run.trace).expect("an INVITE and its 200");
    assert!(to_200 > Duration::ZERO);
    assert_eq!(dc, None, "solution 2 has no data channel");
    let dc_variant = testbed::scenarios::select("6:net-happy").remove(0);
    let run = runtime().block_on(testbed::run::execute(&dc_variant, 1));
    assert!(run.passed(), "{:?}", run.error);
    let (to_200, dc) = setup::from_trace(&run.trace).unwrap();
    assert!(dc.is_some_and(|d| d > Duration::ZERO) && to_200 > Duration::ZERO);
}
