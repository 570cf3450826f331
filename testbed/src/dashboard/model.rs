//! What the dashboard shows, built from a run's trace and nothing else: one entry per message
//! or action, with the notes that belong to it, and what became of each TR step.

use std::collections::HashMap;

use proto::trace::{Body, Note, Proto};
use serde_json::Value;

use crate::render;
use crate::run::Run;

/// A decoded token as a node noted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Who noted it.
    pub node: String,
    /// What it is.
    pub label: String,
    /// The JOSE header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
}

/// A check as a node noted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Who ran it.
    pub node: String,
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Why.
    pub detail: String,
    /// The code a failure leads to.
    pub code: Option<u16>,
    /// Why it failed, typed.
    pub reason: Option<proto::trace::Reason>,
}

/// One row of the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `#12` for messages; `None` for an action.
    pub number: Option<usize>,
    /// The sender (or the node acting).
    pub from: String,
    /// `None` for an action (it stays at its node).
    pub to: Option<String>,
    /// `SIP/UDP`, `HTTPS`, …
    pub proto: &'static str,
    /// One line.
    pub summary: String,
    /// TR step id, when this row is one of the figure's steps.
    pub step: Option<String>,
    /// DNS look-ups and 100 Trying: shown dimmed, hidden by a toggle.
    pub supporting: bool,
    /// The message as sent (ports named).
    pub raw: String,
    /// Tokens noted about it.
    pub tokens: Vec<Token>,
    /// Checks noted about it.
    pub checks: Vec<Check>,
    /// Testbed choices noted about it.
    pub choices: Vec<(String, String)>,
    /// Actions noted about it: node and the action's line.
    pub actions: Vec<(String, String)>,
}

impl Entry {
    /// Whether any check on this row failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| !c.passed)
    }

    /// Text searched by `/`: summary, raw message and every note.
    pub fn haystack(&self) -> String {
        let mut s = format!("{}\n{}\n", self.summary, self.raw);
        for t in &self.tokens {
            s.push_str(&format!("{} {} {}\n", t.label, t.header, t.claims));
        }
        for c in &self.checks {
            s.push_str(&format!("{} {}\n", c.name, c.detail));
        }
        s.to_lowercase()
    }
}

/// The dashboard's view of one run.
#[derive(Debug, Clone)]
pub struct View {
    /// `2:single`.
    pub name: String,
    /// Whether the run passed.
    pub passed: bool,
    /// What stopped it.
    pub error: Option<String>,
    /// Steps seen.
    pub steps_seen: usize,
    /// Steps the variant takes (n/a and prevented ones are not counted).
    pub steps_total: usize,
    /// Every step: id, mark and what became of it.
    pub steps: Vec<(String, &'static str, String)>,
    /// Outcomes: passed, what, detail.
    pub outcomes: Vec<(bool, String, String)>,
    /// The ladder's rows.
    pub entries: Vec<Entry>,
    /// Columns of the ladder, in order of first appearance (DNS last).
    pub nodes: Vec<String>,
    /// The text form (for export).
    pub text: String,
    /// How long the run took.
    pub elapsed_ms: f64,
}

impl View {
    /// The view of `run`.
    pub fn from_run(run: &Run) -> View {
        let mut step_of: HashMap<usize, String> = HashMap::new();
        for m in &run.steps {
            for i in m.records() {
                step_of.insert(i, m.step.to_owned());
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        let mut by_msg: HashMap<u64, usize> = HashMap::new();
        let mut numbers: HashMap<u64, usize> = HashMap::new();
        let mut pending_notes: Vec<(u64, String, Note)> = Vec::new();
        for (i, r) in run.trace.iter().enumerate() {
            match &r.body {
                Body::Sent { msg, to, message } => {
                    let next = numbers.len() + 1;
                    let n = *numbers.entry(*msg).or_insert(next);
                    let supporting =
                        message.proto == Proto::Dns || message.summary.starts_with("100 Trying");
                    by_msg.insert(*msg, entries.len());
                    entries.push(Entry {
                        number: Some(n),
                        from: r.node.clone(),
                        to: Some(to.clone().unwrap_or_else(|| "?".into())),
                        proto: render::proto(message.proto, message.transport),
                        summary: message.summary.clone(),
                        step: step_of.get(&i).cloned(),
                        supporting,
                        raw: render::normalise(
                            &render::unseeded(&message.raw.replace("\r\n", "\n")),
                            &run.ports,
                        ),
                        tokens: Vec::new(),
                        checks: Vec::new(),
                        choices: Vec::new(),
                        actions: Vec::new(),
                    });
                }
                Body::Received { msg, .. } => {
                    let next = numbers.len() + 1;
                    numbers.entry(*msg).or_insert(next);
                }
                Body::Note { msg, note } => {
                    if note.action().is_some() {
                        entries.push(Entry {
                            number: None,
                            from: r.node.clone(),
                            to: None,
                            proto: "",
                            summary: render::note_line(note).trim_start_matches("● ").to_owned(),
                            step: step_of.get(&i).cloned(),
                            supporting: false,
                            raw: String::new(),
                            tokens: Vec::new(),
                            checks: Vec::new(),
                            choices: Vec::new(),
                            actions: Vec::new(),
                        });
                    }
                    if let Some(m) = msg {
                        pending_notes.push((*m, r.node.clone(), note.clone()));
                    }
                }
            }
        }
        for (msg, node, note) in pending_notes {
            let Some(e) = by_msg.get(&msg).and_then(|i| entries.get_mut(*i)) else {
                continue;
            };
            match note {
                Note::Token {
                    label,
                    header,
                    claims,
                } => e.tokens.push(Token {
                    node,
                    label,
                    header,
                    claims,
                }),
                Note::Check {
                    name,
                    passed,
                    detail,
                    code,
                    reason,
                } => e.checks.push(Check {
                    node,
                    name,
                    passed,
                    detail,
                    code,
                    reason,
                }),
                Note::Choice { id, text } => e.choices.push((id, text)),
                action @ Note::Action { .. } => e.actions.push((node, render::note_line(&action))),
            }
        }
        let mut nodes: Vec<String> = Vec::new();
        for e in &entries {
            for n in std::iter::once(&e.from).chain(e.to.iter()) {
                if n != "dns" && n != "?" && !nodes.contains(n) {
                    nodes.push(n.clone());
                }
            }
        }
        if entries.iter().any(|e| e.to.as_deref() == Some("dns")) {
            nodes.push("dns".into());
        }
        View {
            name: run.variant.name(),
            passed: run.passed(),
            error: run.error.clone(),
            steps_seen: run.step_count().0,
            steps_total: run.step_count().1,
            steps: run
                .steps
                .iter()
                .map(|s| {
                    let (mark, detail) = render::step_status(&s.status, |i| format!("record {i}"));
                    (s.step.to_owned(), mark, detail)
                })
                .collect(),
            outcomes: run
                .outcomes
                .iter()
                .map(|o| (o.passed, o.what.clone(), o.detail.clone()))
                .collect(),
            entries,
            nodes,
            text: render::text(run),
            elapsed_ms: run.timing.total.as_secs_f64() * 1e3,
        }
    }
}
