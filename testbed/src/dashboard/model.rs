//! What the dashboard shows, built from a run's trace and nothing else (DESIGN §4): one entry
//! per message or internal action, with the notes that belong to it.

use std::collections::HashMap;

use proto::trace::{Body, Note, Proto, Transport};
use serde_json::Value;

use crate::render;
use crate::run::Run;

/// A decoded token as a node noted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub node: String,
    pub label: String,
    pub header: Value,
    pub claims: Value,
}

/// A check as a node noted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub node: String,
    pub name: String,
    pub passed: bool,
    pub detail: String,
    pub code: Option<u16>,
}

/// One row of the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `#12` for messages; `None` for an action.
    pub number: Option<usize>,
    pub from: String,
    /// `None` for an action (it stays at its node).
    pub to: Option<String>,
    pub proto: &'static str,
    pub summary: String,
    /// TR step id, when this row is one of the figure's steps.
    pub step: Option<String>,
    /// DNS look-ups and 100 Trying: shown dimmed, hidden by a toggle.
    pub supporting: bool,
    pub raw: String,
    pub tokens: Vec<Token>,
    pub checks: Vec<Check>,
    pub choices: Vec<(String, String)>,
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
    pub name: String,
    pub passed: bool,
    pub error: Option<String>,
    pub steps_seen: usize,
    pub steps_total: usize,
    pub outcomes: Vec<(bool, String, String)>,
    pub entries: Vec<Entry>,
    /// Columns of the ladder, in order of first appearance (DNS last).
    pub nodes: Vec<String>,
    /// The text form (for export).
    pub text: String,
    pub elapsed_ms: f64,
}

fn proto(p: Proto, t: Transport) -> &'static str {
    match (p, t) {
        (Proto::Sip, Transport::Udp) => "SIP/UDP",
        (Proto::Sip, _) => "SIP/TCP",
        (Proto::Http, Transport::Tls) => "HTTPS",
        (Proto::Http, _) => "HTTP",
        (Proto::Dns, _) => "DNS",
        (Proto::Dc, _) => "DC",
    }
}

impl View {
    pub fn from_run(run: &Run) -> View {
        let mut step_of: HashMap<usize, String> = HashMap::new();
        for m in &run.steps {
            for i in m.records.iter().flatten() {
                step_of.insert(*i, m.step.to_owned());
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
                        proto: proto(message.proto, message.transport),
                        summary: message.summary.clone(),
                        step: step_of.get(&i).cloned(),
                        supporting,
                        raw: render::normalise(&message.raw.replace("\r\n", "\n"), &run.names),
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
                    if let Note::Action { label } = note {
                        entries.push(Entry {
                            number: None,
                            from: r.node.clone(),
                            to: None,
                            proto: "",
                            summary: label.clone(),
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
                } => e.checks.push(Check {
                    node,
                    name,
                    passed,
                    detail,
                    code,
                }),
                Note::Choice { id, text } => e.choices.push((id, text)),
                Note::Action { label } => e.actions.push((node, label)),
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
            steps_seen: run.steps.iter().filter(|s| s.seen()).count(),
            steps_total: run.steps.len(),
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
