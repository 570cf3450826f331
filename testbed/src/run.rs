//! Running a scenario variant: start a world with what the variant needs, play the users'
//! part ([`play`]), stop the world, line the trace up with the TR figure
//! ([`crate::scenario::match_steps`]) and judge what must be observed ([`judge`]). Benchmarks
//! of the same worlds are in [`bench`].

pub mod bench;
pub mod fault;
pub mod judge;
pub mod play;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kit::tap::Layer;
use proto::clock::Clock;
use proto::sip::Timers;
use proto::trace::Record;

use crate::scenario::{StepResult, match_steps};
use crate::solution::Variant;
use crate::world::{Description, Options, World};
use judge::Outcome;

/// The outcome of one run.
#[derive(Debug)]
pub struct Run {
    /// What was run.
    pub variant: Variant,
    /// The trace, in causal order.
    pub trace: Vec<Record>,
    /// Every port number a node of the world used, and the node (for naming ports in text).
    pub ports: Vec<(u16, String)>,
    /// Every (transport, address) a node registered.
    pub addresses: Vec<(Layer, SocketAddr, String)>,
    /// The addresses the world's servers listened on.
    pub listening: Vec<(SocketAddr, String)>,
    /// One result per step of the figure.
    pub steps: Vec<StepResult>,
    /// One per check of the variant.
    pub outcomes: Vec<Outcome>,
    /// A failure that stopped the run, or made its trace unusable.
    pub error: Option<String>,
    /// The network functions stopped by faults ([`execute_with`]), and when; empty without.
    pub faults: Vec<fault::Stopped>,
    /// Measured durations.
    pub timing: Timing,
}

/// Measured durations (reported, never asserted).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// World start-up.
    pub startup: Duration,
    /// INVITE sent → final response at the caller (ringing included).
    pub call_setup: Duration,
    /// The whole run.
    pub total: Duration,
}

impl Run {
    /// Every step as the variant says, every check observed, no error.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.steps.iter().all(StepResult::ok)
            && self.outcomes.iter().all(|o| o.passed)
    }

    /// Steps seen, and steps the variant takes (n/a and prevented ones are not counted).
    pub fn step_count(&self) -> (usize, usize) {
        let counted = self.steps.iter().filter(|s| s.counted());
        let total = counted.clone().count();
        (counted.filter(|s| s.seen()).count(), total)
    }
}

/// Timers for scenario runs: the RFC values, with Timer C short so a lost final answer fails
/// a run in seconds, not minutes.
pub fn scenario_timers() -> Timers {
    Timers {
        timer_c: Duration::from_secs(10),
        ..Timers::default()
    }
}

/// The options of a scenario world for `variant`.
fn options(description: &Description, variant: &Variant, seed: u64) -> anyhow::Result<Options> {
    let solution = variant.solution().ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no solution {} registered",
            variant.name(),
            variant.solution
        )
    })?;
    Ok(Options {
        as_flow: solution.as_flow,
        seed,
        clock: Clock::Fixed(description.start_time()?),
        timers: scenario_timers(),
        setup: variant.setup.clone(),
        needs: variant.needs(),
        auto_answer: false,
    })
}

/// Runs one variant with `seed`. There is no retry: a run whose trace cannot name its ports
/// (two nodes on one port number) fails and says why.
pub async fn execute(variant: &Variant, seed: u64) -> Run {
    execute_with(variant, seed, &[]).await
}

/// Runs one variant with `seed`, with network functions stopped ([`fault::Down`]: before the
/// flow, or once a step has been seen). The variant's figure and checks judge the run as they
/// would without faults, so a step the fault kept from happening is missing, never seen; a
/// caller that expects another outcome (the tests of `tests/faults.rs`) puts its own checks in
/// the variant. A fault that names no NF of the world, or no step the variant takes, is the
/// run's error.
pub async fn execute_with(variant: &Variant, seed: u64, downs: &[fault::Down]) -> Run {
    let began = Instant::now();
    let mut run = Run {
        variant: variant.clone(),
        trace: Vec::new(),
        ports: Vec::new(),
        addresses: Vec::new(),
        listening: Vec::new(),
        steps: Vec::new(),
        outcomes: Vec::new(),
        error: None,
        faults: Vec::new(),
        timing: Timing::default(),
    };
    let world = async {
        let description = Description::load()?;
        let options = options(&description, variant, seed)?;
        World::start(description, options).await
    }
    .await;
    let world = match world {
        Ok(w) => w,
        Err(e) => {
            run.error = Some(format!("{e:#}"));
            return run;
        }
    };
    run.timing.startup = world.startup;
    let armed = match fault::Armed::arm(&world, &variant.figure, downs) {
        Ok(armed) => armed,
        Err(e) => {
            world.shutdown().await;
            run.error = Some(format!("{e:#}"));
            return run;
        }
    };
    let played = play::play(&world, &variant.script, &mut run.timing).await;
    run.faults = armed.report();
    let tap = world.tap.clone();
    run.listening = world.addresses.clone();
    world.shutdown().await;
    run.trace = tap.ordered();
    run.ports = tap.ports();
    run.addresses = tap.names();
    run.steps = match_steps(&variant.figure, &run.trace);
    match played {
        Ok(observed) => run.outcomes = judge::judge(&variant.checks, &observed, &run.trace),
        Err(e) => run.error = Some(format!("{e:#}")),
    }
    let ambiguities = tap.ambiguities();
    if !ambiguities.is_empty() && run.error.is_none() {
        let list: Vec<String> = ambiguities.iter().map(ToString::to_string).collect();
        run.error = Some(format!("the trace is ambiguous: {}", list.join("; ")));
    }
    run.timing.total = began.elapsed();
    run
}
