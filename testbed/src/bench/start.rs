//! `testbed bench start`: how long a world takes to start (every network function of every
//! solution, bound and reachable through its DNS) and the process's resident memory once it
//! is up; then the same over `runs` starts and stops, which also shows whether stopping a world
//! gives back what it took.

use std::time::Duration;

use serde::Serialize;

use super::progress::Progress;
use super::stats::{Process, Summary};
use crate::world::{Description, Options, World, family};

/// What `bench start` reports.
#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    /// Worlds started (and stopped).
    pub runs: usize,
    /// NF families started beyond the core (every solution's).
    pub families: Vec<&'static str>,
    /// Network functions with a listening address, per world.
    pub listeners: usize,
    /// Start-up time: first bind → DNS up.
    pub startup: Summary,
    /// Resident memory before the first world, KiB.
    pub rss_before_kib: u64,
    /// Resident memory with the first world up, KiB.
    pub rss_first_world_kib: u64,
    /// Resident memory after every world stopped, KiB.
    pub rss_after_kib: u64,
    /// Open sockets before the first world and after the last stopped.
    pub sockets_before: usize,
    /// See `sockets_before`.
    pub sockets_after: usize,
}

/// Starts and stops `runs` worlds with every family.
pub async fn run(runs: usize, seed: u64, json: bool) -> anyhow::Result<StartReport> {
    let families = crate::scenarios::all()
        .iter()
        .fold(Vec::new(), |acc, v| family::union(&acc, &v.needs()));
    let before = Process::now();
    let mut times = Vec::with_capacity(runs);
    let (mut first_rss, mut listeners) = (0, 0);
    let mut progress = Progress::new("bench start", json);
    for n in 0..runs {
        let description = Description::load()?;
        let options = Options {
            needs: families.clone(),
            ..super::load::options(&description, seed, None)?
        };
        let world = World::start(description, options).await?;
        times.push(world.startup);
        if n == 0 {
            first_rss = Process::now().rss_kib;
            listeners = world.addresses.len();
        }
        world.shutdown().await;
        progress.update(|| format!("{}/{runs} worlds", n + 1));
    }
    progress.finish();
    // Sockets close as their tasks end; give the last world's a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = Process::now();
    Ok(StartReport {
        runs,
        families: families.iter().map(|f| f.name).collect(),
        listeners,
        startup: Summary::of(&times).ok_or_else(|| anyhow::anyhow!("no world started"))?,
        rss_before_kib: before.rss_kib,
        rss_first_world_kib: first_rss,
        rss_after_kib: after.rss_kib,
        sockets_before: before.sockets,
        sockets_after: after.sockets,
    })
}

impl StartReport {
    /// The human form.
    pub fn text(&self) -> String {
        format!(
            "world start-up ({} runs; core + {}; {} listening addresses): {}\n\
             resident memory: {:.1} MiB before · {:.1} MiB with the first world up · {:.1} MiB after {} starts and stops\n\
             open sockets: {} before · {} after",
            self.runs,
            self.families.join(", "),
            self.listeners,
            self.startup.line(),
            self.rss_before_kib as f64 / 1024.0,
            self.rss_first_world_kib as f64 / 1024.0,
            self.rss_after_kib as f64 / 1024.0,
            self.runs,
            self.sockets_before,
            self.sockets_after,
        )
    }
}
