//! Latency summaries and what the process holds (resident memory, open sockets), for
//! `testbed bench`. Numbers are reported, never asserted.

use std::time::Duration;

use serde::Serialize;

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Samples.
    pub n: usize,
    /// Fastest.
    pub min_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Summary {
    /// The summary of `samples` (nearest-rank percentiles); `None` without samples.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let at = |q: f64| ms(sorted[((sorted.len() - 1) as f64 * q).round() as usize]);
        let total: Duration = sorted.iter().sum();
        Some(Self {
            n: sorted.len(),
            min_ms: ms(sorted[0]),
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            max_ms: ms(sorted[sorted.len() - 1]),
            mean_ms: ms(total) / sorted.len() as f64,
        })
    }

    /// `median 1.23 ms · p99 4.56 ms (n 100)`.
    pub fn short(&self) -> String {
        format!(
            "median {:.2} ms · p99 {:.2} ms (n {})",
            self.p50_ms, self.p99_ms, self.n
        )
    }

    /// Every figure on one line.
    pub fn line(&self) -> String {
        format!(
            "min {:.2} · median {:.2} · p90 {:.2} · p99 {:.2} · max {:.2} ms (n {})",
            self.min_ms, self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.n
        )
    }
}

/// What the process holds, from `/proc/self` (zeros where it cannot be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Resident memory now, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident memory, KiB (`VmHWM`).
    pub peak_rss_kib: u64,
    /// Open file descriptors.
    pub fds: usize,
    /// Of those, sockets.
    pub sockets: usize,
    /// CPU time used so far (user + system), ms.
    pub cpu_ms: u64,
}

impl Process {
    /// Reads `/proc/self`.
    pub fn now() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        let (mut fds, mut sockets) = (0, 0);
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            for entry in dir.flatten() {
                fds += 1;
                if std::fs::read_link(entry.path())
                    .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
                {
                    sockets += 1;
                }
            }
        }
        Self {
            rss_kib: field("VmRSS:"),
            peak_rss_kib: field("VmHWM:"),
            fds,
            sockets,
            cpu_ms: cpu_ms(),
        }
    }
}

/// User + system CPU time of this process, ms (`/proc/self/stat` fields 14 and 15, in clock
/// ticks of 1/100 s on Linux).
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after its ')' are plain.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After ')': state is index 0, so utime (field 14) is index 11 and stime index 12.
    (tick(11) + tick(12)) * 10
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_sorted_samples() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!((s.n, s.min_ms, s.max_ms), (100, 1.0, 100.0));
        assert_eq!((s.p50_ms, s.p90_ms, s.p99_ms), (51.0, 90.0, 99.0));
        assert!((s.mean_ms - 50.5).abs() < 1e-9);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn the_process_reads_itself() {
        let p = Process::now();
        assert!(p.rss_kib > 0 && p.peak_rss_kib >= p.rss_kib, "{p:?}");
        assert!(p.fds >= 3, "{p:?}");
    }
}
