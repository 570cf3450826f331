//! `testbed bench load`: sustained calls through the whole solution-2 chain (UE-A → P-CSCF →
//! S-CSCF → IMS AS, which has the STI-AS sign over Ms → the terminating IMS AS, which has the
//! STI-VS verify with the certificate from the STI-CR → UE-B, which answers at once → BYE), at
//! a target rate or as fast as the machine goes, with up to `in_flight` calls at once.
//!
//! Every call is accounted for: answered and hung up (its INVITE → 200 time at the caller is
//! kept), or failed with the reason. The world's trace keeps only counts (or a bounded ring),
//! so memory stays flat however long it runs. After the last call the SIP endpoints are
//! watched until their transactions and connections are back where they were before the run
//! (RFC 3261's Timers J and K keep some for a while after each call), and that is reported too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kit::sip::EndpointStats;
use kit::tap::{Counts, TraceMode};
use proto::clock::Clock;
use serde::Serialize;

use super::progress::Progress;
use super::stats::{Process, Summary};
use crate::node::UE_A;
use crate::run::bench::CALLEE;
use crate::world::{DcSetup, Description, Options, Setup, World};

/// The options of a benchmark world: solution 2's flow, fixed clock, callees answering at once.
pub fn options(
    description: &Description,
    seed: u64,
    dc: Option<DcSetup>,
) -> anyhow::Result<Options> {
    Ok(Options {
        seed,
        clock: Clock::Fixed(description.start_time()?),
        timers: crate::run::scenario_timers(),
        setup: Setup {
            dc,
            ..Setup::default()
        },
        needs: Vec::new(),
        as_flow: crate::scenarios::sol2_third_party_rcd::SOLUTION.as_flow,
        auto_answer: true,
    })
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadArgs {
    /// How long calls are started for.
    pub duration: Duration,
    /// Calls per second to start; `None`: as fast as `in_flight` allows.
    pub rate: Option<f64>,
    /// Most calls at once.
    pub in_flight: usize,
    /// What the world's trace keeps.
    pub trace: TraceMode,
    /// Longest wait for the endpoints to drain after the last call.
    pub drain: Duration,
    /// Seed of the world.
    pub seed: u64,
    /// Times the load runs in the same world, each drained before the next.
    pub rounds: usize,
    /// SIP timers of `proto::sip::Timers::fast` (T1 20 ms, T4 200 ms) instead of RFC 3261's
    /// defaults (T1 500 ms, T4 5 s): RFC 3261 §17.1.1.1 allows a smaller T1 (though it does not
    /// recommend it) in a closed private network, which loopback is. Finished transactions then
    /// linger 1.3 s instead of 32 s (Timers D, J, L are 64×T1), so memory under load plateaus
    /// about 25× lower; the calls themselves are unchanged.
    pub fast_timers: bool,
    /// Calls to start in each round, at most (the round also ends at `duration`); `None`: as
    /// many as `duration` allows.
    pub calls: Option<u64>,
    /// Reads the process's live heap bytes (a counting allocator's, in tests): read before the
    /// first round and after each round's drain, to show whether anything stays behind.
    pub live_bytes: Option<fn() -> u64>,
}

/// What `bench load` reports.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Calls per second asked for (`null`: as fast as possible).
    pub rate_target: Option<f64>,
    /// Whether the world ran with `--fast-timers`.
    pub fast_timers: bool,
    /// Most calls at once.
    pub in_flight: usize,
    /// Seconds calls were started for.
    pub duration_s: f64,
    /// Seconds from the first call to the last one's end.
    pub elapsed_s: f64,
    /// Calls started.
    pub started: u64,
    /// Calls answered and hung up.
    pub completed: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Failed calls by reason.
    pub failures: BTreeMap<String, u64>,
    /// Completed calls per second of `elapsed_s`.
    pub calls_per_s: f64,
    /// INVITE → 200 at the caller, completed calls.
    pub setup: Option<Summary>,
    /// CPU time (user + system, whole process) per completed call, ms.
    pub cpu_ms_per_call: f64,
    /// Resident memory before the first call, KiB.
    pub rss_before_kib: u64,
    /// Resident memory after the run, KiB.
    pub rss_after_kib: u64,
    /// Peak resident memory of the process, KiB.
    pub peak_rss_kib: u64,
    /// Open sockets before and after.
    pub sockets_before: usize,
    /// See `sockets_before`.
    pub sockets_after: usize,
    /// SIP endpoints before the first call.
    pub sip_before: EndpointStats,
    /// SIP endpoints right after the last call.
    pub sip_at_end: EndpointStats,
    /// SIP endpoints once drained (or when the drain bound ran out).
    pub sip_after: EndpointStats,
    /// Seconds until the endpoints held no more than before the run.
    pub drained_after_s: Option<f64>,
    /// Each round.
    pub rounds: Vec<Round>,
    /// What the trace was handed.
    pub trace: Counts,
    /// Trace messages still expected to arrive after the run.
    pub trace_in_flight: usize,
    /// Live heap bytes before the first round ([`LoadArgs::live_bytes`]).
    pub live_bytes_before: Option<u64>,
}

/// Nothing pending: no transactions and no 2xx awaiting its ACK.
fn idle(now: &EndpointStats) -> bool {
    now.client_transactions == 0 && now.server_transactions == 0 && now.awaiting_ack == 0
}

/// Back to what the world held before the run (or less).
fn drained(now: &EndpointStats, before: &EndpointStats) -> bool {
    now.client_transactions <= before.client_transactions
        && now.server_transactions <= before.server_transactions
        && now.awaiting_ack <= before.awaiting_ack
        && now.connections <= before.connections
        && now.tasks <= before.tasks
}

/// One call: INVITE → 200 at the caller (the time kept), then BYE.
async fn one_call(world: &World) -> Result<Duration, String> {
    let a = world.ue(UE_A).map_err(|e| e.to_string())?;
    let began = Instant::now();
    let call = a
        .call(CALLEE, None)
        .await
        .map_err(|e| format!("INVITE: {e}"))?;
    let took = began.elapsed();
    if !call.answered() {
        return Err(format!("INVITE answered {}", call.code));
    }
    match a.hang_up(&call).await {
        Ok(200) => Ok(took),
        Ok(code) => Err(format!("BYE answered {code}")),
        Err(e) => Err(format!("BYE: {e}")),
    }
}

type CallResult = Result<Result<Duration, String>, tokio::task::JoinError>;

/// Files a finished call: its time, or its failure's reason.
fn collect(result: CallResult, times: &mut Vec<Duration>, failures: &mut BTreeMap<String, u64>) {
    match result {
        Ok(Ok(t)) => times.push(t),
        Ok(Err(reason)) => *failures.entry(reason).or_default() += 1,
        Err(e) => *failures.entry(format!("call task: {e}")).or_default() += 1,
    }
}

/// One round's figures (`--rounds`: the same load again in the same world, to show whether
/// anything stays behind from one round to the next).
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    /// Calls started.
    pub started: u64,
    /// Calls answered and hung up.
    pub completed: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Completed calls per second.
    pub calls_per_s: f64,
    /// Resident memory once the round drained, KiB.
    pub rss_after_kib: u64,
    /// Peak resident memory so far, KiB.
    pub peak_rss_kib: u64,
    /// SIP endpoints right after the round's last call.
    pub sip_at_end: EndpointStats,
    /// SIP endpoints once drained.
    pub sip_after: EndpointStats,
    /// Seconds until the endpoints were back at the baseline.
    pub drained_after_s: Option<f64>,
    /// Open sockets (file descriptors) once drained.
    pub sockets_after: usize,
    /// Live heap bytes once drained ([`LoadArgs::live_bytes`]).
    pub live_bytes_after: Option<u64>,
}

/// What one round leaves for the whole report.
struct RoundRun {
    round: Round,
    times: Vec<Duration>,
    failures: BTreeMap<String, u64>,
    elapsed: Duration,
    cpu_ms: u64,
}

/// Runs the load in a fresh solution-2 world, `rounds` times.
pub async fn run(args: &LoadArgs, json: bool) -> anyhow::Result<LoadReport> {
    let timers = args.fast_timers.then(proto::sip::Timers::fast);
    let world = crate::run::bench::world_with(args.seed, None, timers).await?;
    world.tap.set_mode(args.trace);
    // One call first, so lazily made state (TLS connections, DNS answers, the x5u cache) is
    // there before the baseline is read.
    let warm = one_call(&world).await;
    if let Err(e) = warm {
        world.shutdown().await;
        anyhow::bail!("the warm-up call failed: {e}");
    }
    let world = Arc::new(world);
    let (sip_before, _) = settle(&world, args.drain).await;
    let before = Process::now();
    let live_bytes_before = args.live_bytes.map(|read| read());
    let in_flight = args.in_flight.max(1);
    let mut rounds = Vec::new();
    let (mut times, mut failures) = (Vec::new(), BTreeMap::<String, u64>::new());
    let (mut elapsed, mut cpu_ms) = (Duration::ZERO, 0);
    for n in 0..args.rounds.max(1) {
        let r = round(&world, args, in_flight, &sip_before, n, json).await;
        times.extend(r.times);
        for (reason, k) in r.failures {
            *failures.entry(reason).or_default() += k;
        }
        elapsed += r.elapsed;
        cpu_ms += r.cpu_ms;
        rounds.push(r.round);
    }
    let after = sockets_settled(before.sockets).await;
    let last = rounds.last().cloned();
    let trace = world.tap.counts();
    let trace_in_flight = world.tap.in_flight();
    let failed: u64 = failures.values().sum();
    let completed = times.len() as u64;
    let report = LoadReport {
        rate_target: args.rate,
        fast_timers: args.fast_timers,
        in_flight,
        duration_s: args.duration.as_secs_f64(),
        elapsed_s: elapsed.as_secs_f64(),
        started: rounds.iter().map(|r| r.started).sum(),
        completed,
        failed,
        failures,
        calls_per_s: completed as f64 / elapsed.as_secs_f64().max(1e-9),
        setup: Summary::of(&times),
        cpu_ms_per_call: cpu_ms as f64 / (completed.max(1)) as f64,
        rss_before_kib: before.rss_kib,
        rss_after_kib: after.rss_kib,
        peak_rss_kib: after.peak_rss_kib,
        sockets_before: before.sockets,
        sockets_after: after.sockets,
        sip_before,
        sip_at_end: last.as_ref().map(|r| r.sip_at_end).unwrap_or_default(),
        sip_after: last.as_ref().map(|r| r.sip_after).unwrap_or_default(),
        drained_after_s: last.and_then(|r| r.drained_after_s),
        rounds,
        trace,
        trace_in_flight,
        live_bytes_before,
    };
    match Arc::try_unwrap(world) {
        Ok(world) => world.shutdown().await,
        Err(_) => anyhow::bail!("a call task still holds the world"),
    }
    Ok(report)
}

/// One round: calls for `args.duration`, then the drain.
async fn round(
    world: &Arc<World>,
    args: &LoadArgs,
    in_flight: usize,
    sip_before: &EndpointStats,
    n: usize,
    json: bool,
) -> RoundRun {
    let before = Process::now();
    let label = if args.rounds > 1 {
        format!("bench load round {}/{}", n + 1, args.rounds)
    } else {
        "bench load".into()
    };
    let Calls {
        started,
        times,
        failures,
        elapsed,
    } = place_calls(world, args, in_flight, Progress::new(label, json)).await;
    let cpu_ms = Process::now().cpu_ms.saturating_sub(before.cpu_ms);
    let sip_at_end = world.sip_stats();
    let (sip_after, drained_after) = settle(world, args.drain).await;
    let after = sockets_settled(before.sockets).await;
    let live_bytes_after = args.live_bytes.map(|read| read());
    let completed = times.len() as u64;
    RoundRun {
        round: Round {
            started,
            completed,
            failed: failures.values().sum(),
            calls_per_s: completed as f64 / elapsed.as_secs_f64().max(1e-9),
            rss_after_kib: after.rss_kib,
            peak_rss_kib: after.peak_rss_kib,
            sip_at_end,
            sip_after,
            drained_after_s: drained(&sip_after, sip_before).then_some(drained_after.as_secs_f64()),
            sockets_after: after.sockets,
            live_bytes_after,
        },
        times,
        failures,
        elapsed,
        cpu_ms,
    }
}

/// What one round's calls came to.
struct Calls {
    started: u64,
    times: Vec<Duration>,
    failures: BTreeMap<String, u64>,
    elapsed: Duration,
}

/// Places calls for `args.duration`, at `args.rate` or as fast as `in_flight` permits allow,
/// and waits for every one to end.
async fn place_calls(
    world: &Arc<World>,
    args: &LoadArgs,
    in_flight: usize,
    mut progress: Progress,
) -> Calls {
    let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut calls = tokio::task::JoinSet::new();
    let (mut started, mut times, mut failures) = (0u64, Vec::new(), BTreeMap::<String, u64>::new());
    let began = Instant::now();
    let deadline = began + args.duration;
    loop {
        if args.calls.is_some_and(|n| started >= n) {
            break;
        }
        if let Some(rate) = args.rate {
            let due = began + Duration::from_secs_f64(started as f64 / rate.max(1e-3));
            if due >= deadline {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        if Instant::now() >= deadline {
            break;
        }
        started += 1;
        let w = world.clone();
        calls.spawn(async move {
            let _permit = permit;
            one_call(&w).await
        });
        while let Some(done) = calls.try_join_next() {
            collect(done, &mut times, &mut failures);
        }
        let elapsed = began.elapsed().as_secs_f64();
        let failed: u64 = failures.values().sum();
        progress.update(|| {
            format!(
                "{elapsed:.1}/{:.0} s · {started} started · {} completed ({:.0}/s) · {} in flight{}",
                args.duration.as_secs_f64(),
                times.len(),
                times.len() as f64 / elapsed.max(1e-3),
                calls.len(),
                if failed > 0 {
                    format!(" · {failed} failed")
                } else {
                    String::new()
                }
            )
        });
    }
    // Every call's waits are bounded (the UE's transaction timers), so this ends.
    while let Some(done) = calls.join_next().await {
        collect(done, &mut times, &mut failures);
    }
    let elapsed = began.elapsed();
    progress.finish();
    Calls {
        started,
        times,
        failures,
        elapsed,
    }
}

/// The process once its open sockets are back to `baseline` (connections and lookups that
/// ended with the drain close as their tasks do), or after 3 s.
async fn sockets_settled(baseline: usize) -> Process {
    let waited = Instant::now();
    let mut now = Process::now();
    while now.sockets > baseline && waited.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = Process::now();
    }
    now
}

/// Waits, at most `bound`, until the world's SIP endpoints stop shrinking to nothing pending
/// (no transactions, no 2xx awaiting ACK); returns what they hold then and how long it took.
async fn settle(world: &World, bound: Duration) -> (EndpointStats, Duration) {
    let began = Instant::now();
    loop {
        let now = world.sip_stats();
        if idle(&now) || began.elapsed() >= bound {
            return (now, began.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl LoadReport {
    /// The human form.
    pub fn text(&self) -> String {
        let mut out = format!(
            "solution-2 load, {} for {:.0} s with up to {} calls in flight{}:\n\
             calls: {} started · {} completed · {} failed · {:.1} calls/s over {:.2} s\n",
            self.rate_target
                .map_or("as fast as possible".into(), |r| format!(
                    "{r:.0} calls/s asked"
                )),
            self.duration_s,
            self.in_flight,
            if self.fast_timers {
                " (fast SIP timers: T1 20 ms)"
            } else {
                ""
            },
            self.started,
            self.completed,
            self.failed,
            self.calls_per_s,
            self.elapsed_s,
        );
        for (reason, n) in &self.failures {
            out.push_str(&format!("  failed ×{n}: {reason}\n"));
        }
        if self.rounds.len() > 1 {
            for (i, r) in self.rounds.iter().enumerate() {
                out.push_str(&format!(
                    "  round {}: {} completed · {} failed · {:.1} calls/s · {:.1} MiB after the drain · {:.1} MiB peak · endpoints {} → {}\n",
                    i + 1,
                    r.completed,
                    r.failed,
                    r.calls_per_s,
                    r.rss_after_kib as f64 / 1024.0,
                    r.peak_rss_kib as f64 / 1024.0,
                    stats(&r.sip_at_end),
                    stats(&r.sip_after),
                ));
            }
        }
        if let Some(s) = &self.setup {
            out.push_str(&format!("set-up (INVITE → 200 at UE-A): {}\n", s.line()));
        }
        out.push_str(&format!(
            "CPU: {:.2} ms per call (whole process, every NF)\n\
             memory: {:.1} MiB before · {:.1} MiB after · {:.1} MiB peak\n\
             sockets: {} before · {} after\n\
             SIP endpoints (client tx / server tx / 2xx awaiting ACK / connections / tasks): \
             before {} · at the end {} · after the drain {} ({})\n\
             trace ({}): {} sent · {} received · {} notes · {} not kept · {} still in flight",
            self.cpu_ms_per_call,
            self.rss_before_kib as f64 / 1024.0,
            self.rss_after_kib as f64 / 1024.0,
            self.peak_rss_kib as f64 / 1024.0,
            self.sockets_before,
            self.sockets_after,
            stats(&self.sip_before),
            stats(&self.sip_at_end),
            stats(&self.sip_after),
            self.drained_after_s.map_or(
                "not back to the baseline within the bound".into(),
                |s| format!("back to the baseline after {s:.1} s")
            ),
            if self.trace.dropped == 0 {
                "full"
            } else {
                "counts"
            },
            self.trace.sent,
            self.trace.received,
            self.trace.notes,
            self.trace.dropped,
            self.trace_in_flight,
        ));
        out
    }
}

fn stats(s: &EndpointStats) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        s.client_transactions, s.server_transactions, s.awaiting_ack, s.connections, s.tasks
    )
}
