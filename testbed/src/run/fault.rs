//! Faults: a network function stopped before the flow, or when the trace reaches a TR step
//! (`testbed run 2:single --down sti-vs`, `--down hss-o@1`). Stopping is real
//! ([`crate::world::World::stop`]): the NF's listeners and sockets close, so its peers meet a
//! refused connection or no answer and their own bounded timeouts decide what follows; work it
//! had started in tasks of its own can send nothing more over HTTPS ([`kit::tap::Tap::stop_node`]),
//! and an MF closes its data channel associations.
//!
//! `nf@step` stops the NF once the step has been seen: the tap hands each record to a watcher
//! ([`kit::tap::Tap::watch`]) in the thread that recorded it, before that thread goes on; when
//! the record is one a hop of the step could match (its node is one of the last hop's), the
//! watcher lines the trace so far up with the figure ([`match_steps`]) and, once the step is
//! seen, stops the NF there and then. Everything after the step happens without it. "Seen"
//! means every hop of the step is in the trace: where a step's last hop is a note written after
//! a nested exchange (the MF noting the XR AS's answer), the NF stops once that exchange is over.
//!
//! Nothing is claimed that did not happen: a step the fault kept from happening is missing
//! (✘), never seen; what the outcome must be is the caller's to say (the variant's checks, or
//! the ones a test puts in their place).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::scenario::{Figure, Plan, match_steps};
use crate::world::{Switch, World};

/// One network function to stop: `nf`, or `nf@step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Down {
    /// A node id (`sti-vs-t`) or one without its operator suffix (`sti-vs`: every such node).
    pub nf: String,
    /// The step of the variant's figure after which it stops (its id: `8`, `7-8`); none: before
    /// the flow.
    pub at: Option<String>,
}

impl Down {
    /// Stopped before the flow.
    pub fn before(nf: &str) -> Self {
        Self {
            nf: nf.to_owned(),
            at: None,
        }
    }

    /// Stopped once step `step` has been seen.
    pub fn at(nf: &str, step: &str) -> Self {
        Self {
            nf: nf.to_owned(),
            at: Some(step.to_owned()),
        }
    }

    /// Reads `nf` or `nf@step` (the command line's `--down`).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (nf, at) = match text.split_once('@') {
            Some((nf, at)) => (nf.trim(), Some(at.trim())),
            None => (text.trim(), None),
        };
        anyhow::ensure!(!nf.is_empty(), "--down {text:?}: name a network function");
        anyhow::ensure!(
            at.is_none_or(|a| !a.is_empty()),
            "--down {text:?}: name a step after @"
        );
        Ok(Self {
            nf: nf.to_owned(),
            at: at.map(str::to_owned),
        })
    }

    /// The step of `figure` this names: its id as the figure writes it, or prefixed by the
    /// figure's clause or figure id and `-` or `:` (`6.2.2.3-8`, `6.2.2.3-1:8`). Only a step the
    /// variant takes can be reached.
    pub fn step<'f>(&self, figure: &'f Figure) -> anyhow::Result<Option<&'f str>> {
        let Some(at) = &self.at else {
            return Ok(None);
        };
        let mut prefixes = vec![figure.clause];
        prefixes.extend(figure.figure.split(',').map(str::trim));
        let candidates: Vec<&str> = std::iter::once(at.as_str())
            .chain(prefixes.iter().flat_map(|p| {
                [
                    at.strip_prefix(&format!("{p}-")),
                    at.strip_prefix(&format!("{p}:")),
                ]
                .into_iter()
                .flatten()
            }))
            .collect();
        let step = figure
            .steps
            .iter()
            .find(|s| candidates.contains(&s.id))
            .ok_or_else(|| {
                let ids: Vec<&str> = figure.steps.iter().map(|s| s.id).collect();
                anyhow::anyhow!(
                    "--down {}@{at}: Figure {} has no step {at} (its steps: {})",
                    self.nf,
                    figure.figure,
                    ids.join(", ")
                )
            })?;
        anyhow::ensure!(
            step.plan == Plan::Taken,
            "--down {}@{at}: this variant does not take step {} (it is n/a or prevented)",
            self.nf,
            step.id
        );
        Ok(Some(step.id))
    }
}

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{}@{at}", self.nf),
            None => f.write_str(&self.nf),
        }
    }
}

/// When a fault took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "when", rename_all = "kebab-case")]
pub enum When {
    /// Before the users did anything.
    BeforeFlow,
    /// Once this step had been seen, this long after the world started.
    AfterStep {
        /// The step's id.
        step: String,
        /// Since the world started.
        #[serde(skip)]
        at: Duration,
    },
    /// Never: the run did not reach the step.
    NotReached {
        /// The step's id.
        step: String,
    },
}

/// What a fault stopped, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stopped {
    /// As asked.
    pub down: Down,
    /// The nodes stopped.
    pub nodes: Vec<String>,
    /// When.
    pub when: When,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes = if self.nodes.is_empty() {
            "nothing".to_owned()
        } else {
            self.nodes.join(", ")
        };
        match &self.when {
            When::BeforeFlow => write!(f, "--down {}: stopped {nodes} before the flow", self.down),
            When::AfterStep { step, at } => write!(
                f,
                "--down {}: stopped {nodes} once step {step} had been seen ({:.1} ms into the run)",
                self.down,
                at.as_secs_f64() * 1e3
            ),
            When::NotReached { step } => write!(
                f,
                "--down {}: step {step} was never reached, so {} kept running",
                self.down, self.down.nf
            ),
        }
    }
}

/// The faults armed in a world, reported once the run is over.
#[derive(Debug, Default)]
pub struct Armed {
    stopped: Vec<Arc<Mutex<Stopped>>>,
}

impl Armed {
    /// Stops what must be down before the flow now and arms the rest on the world's tap.
    /// Fails when a fault names no running NF or no step the variant takes.
    pub fn arm(world: &World, figure: &Figure, downs: &[Down]) -> anyhow::Result<Self> {
        let mut armed = Armed::default();
        for down in downs {
            let known = world_nfs(world)
                .iter()
                .any(|id| Switch::names(&down.nf, id));
            anyhow::ensure!(
                known,
                "--down {down}: this world runs no {} (its NFs: {}; user agents cannot be stopped)",
                down.nf,
                world_nfs(world).join(", ")
            );
            match down.step(figure)? {
                None => {
                    let nodes = world.stop(&down.nf);
                    armed.stopped.push(Arc::new(Mutex::new(Stopped {
                        down: down.clone(),
                        nodes,
                        when: When::BeforeFlow,
                    })));
                }
                Some(step) => armed.watch(world, figure, down, step),
            }
        }
        Ok(armed)
    }

    fn watch(&mut self, world: &World, figure: &Figure, down: &Down, step: &str) {
        let stopped = Arc::new(Mutex::new(Stopped {
            down: down.clone(),
            nodes: Vec::new(),
            when: When::NotReached {
                step: step.to_owned(),
            },
        }));
        self.stopped.push(stopped.clone());
        // The nodes whose records could complete the step: those of its last hop.
        let index = figure.steps.iter().position(|s| s.id == step).unwrap_or(0);
        let last = figure.steps[index].hops.last();
        let nodes: Vec<&'static str> = last
            .map(|h| h.from.iter().chain(h.to.iter()).copied().collect())
            .unwrap_or_default();
        let figure = figure.clone();
        let switch = world.switch();
        let trace = Mutex::new(Vec::new());
        let fired = AtomicBool::new(false);
        let nf = down.nf.clone();
        let began = std::time::Instant::now();
        world.tap.watch(move |record| {
            if fired.load(Ordering::Acquire) {
                return;
            }
            let reached = {
                let mut trace = trace.lock().unwrap_or_else(|p| p.into_inner());
                trace.push(record.clone());
                if !nodes.is_empty() && !nodes.contains(&record.node.as_str()) {
                    return;
                }
                kit::tap::order(&mut trace);
                match_steps(&figure, &trace)
                    .get(index)
                    .is_some_and(|s| s.seen())
            };
            // One watcher call wins; no lock of the watcher's is held while the NF stops.
            if reached && !fired.swap(true, Ordering::AcqRel) {
                let nodes = switch.stop(&nf);
                let mut stopped = stopped.lock().unwrap_or_else(|p| p.into_inner());
                stopped.nodes = nodes;
                stopped.when = When::AfterStep {
                    step: figure.steps[index].id.to_owned(),
                    at: began.elapsed(),
                };
            }
        });
    }

    /// What was stopped, and when.
    pub fn report(&self) -> Vec<Stopped> {
        self.stopped
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }
}

/// The network functions a world runs (not its user agents), for messages.
fn world_nfs(world: &World) -> Vec<String> {
    let mut ids: Vec<String> = world
        .addresses
        .iter()
        .map(|(_, id)| id.clone())
        .filter(|id| !world.ues.contains_key(id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
