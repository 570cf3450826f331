//! `testbed bench`: what the testbed costs, measured over real sockets and reported (with
//! `--json` too), never asserted. Call set-up per solution ([`setup`]), sustained solution-2
//! load with many calls in flight ([`load`]) and how it scales, the Ms reference point under
//! load against a peer implementation in the same run ([`ms`]), and world start-up ([`start`]).
//! The sequential latency figures of earlier versions (calls, data channels, avatar frames)
//! are in [`crate::run::bench`].

pub mod load;
pub mod ms;
pub mod progress;
pub mod setup;
pub mod start;
pub mod stats;

use serde::Serialize;

/// One level of [`scaling`].
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    /// Calls in flight.
    pub in_flight: usize,
    /// The load run at that level.
    pub report: load::LoadReport,
}

/// The load run at each of `levels` calls in flight, as fast as each goes, `duration` each.
pub async fn scaling(
    levels: &[usize],
    base: &load::LoadArgs,
    json: bool,
) -> anyhow::Result<Vec<Level>> {
    let mut out = Vec::new();
    for &in_flight in levels {
        let args = load::LoadArgs {
            in_flight,
            rate: None,
            ..base.clone()
        };
        out.push(Level {
            in_flight,
            report: load::run(&args, json).await?,
        });
    }
    Ok(out)
}

/// The human form of [`scaling`]: one row per level.
pub fn scaling_text(levels: &[Level]) -> String {
    let mut out = String::from(
        "solution-2 calls as fast as they go, by calls in flight:\n\
         in flight | calls/s | set-up p50 ms | set-up p99 ms | failed | CPU ms/call | peak RSS MiB\n",
    );
    for l in levels {
        let r = &l.report;
        let (p50, p99) = r
            .setup
            .as_ref()
            .map_or((f64::NAN, f64::NAN), |s| (s.p50_ms, s.p99_ms));
        out.push_str(&format!(
            "{:>9} | {:>7.0} | {:>13.2} | {:>13.2} | {:>6} | {:>11.2} | {:>12.1}\n",
            l.in_flight,
            r.calls_per_s,
            p50,
            p99,
            r.failed,
            r.cpu_ms_per_call,
            r.peak_rss_kib as f64 / 1024.0
        ));
    }
    out
}
