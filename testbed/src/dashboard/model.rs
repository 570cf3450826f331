//! What the dashboard shows, built from a run's trace and nothing else: one entry per message
//! or action, with the notes that belong to it, and what became of each TR step.

use std::collections::HashMap;

use proto::trace::{Act, Body, Message, Note, Outcome, Proto, Record};
use proto::wire::exposure::{AF_NOTIFY_PATH, NEF_NOTIFY_PREFIX};
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

/// A key agreement as a node noted it (public keys and parameters only).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyAgreement {
    /// Who ran it.
    pub node: String,
    /// What it was for.
    pub label: String,
    /// The node's own ephemeral public key (JWK).
    pub local_public: Value,
    /// The peer's ephemeral public key (JWK).
    pub peer_public: Value,
    /// Key derivation and cipher.
    pub kdf: String,
    /// HKDF salt (base64url).
    pub salt: String,
    /// HKDF info.
    pub info: String,
    /// Fingerprint of the derived key.
    pub key_fingerprint: String,
}

/// An avatar frame a node rendered or showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Who rendered or showed it.
    pub node: String,
    /// What it is.
    pub label: String,
    /// The avatar.
    pub avatar_id: String,
    /// The frame's sequence number.
    pub seq: u32,
    /// Braille rows.
    pub rows: Vec<String>,
}

/// What a row shows of solution 9's DC exposure: the NEF's policy decision, or a DC event
/// notification as the DCSF sent it to the NEF (before) or as the NEF passed it on (after
/// anonymisation, where the policy says).
#[derive(Debug, Clone, PartialEq)]
pub enum Exposure {
    /// The NEF's decision on an AF's request (or its check of the ADC's application).
    Decision {
        /// Whether it was granted.
        granted: bool,
        /// The note's line.
        line: String,
    },
    /// A notification the DCSF sent the NEF.
    Before(Value),
    /// A notification the NEF sent the AF.
    After(Value),
}

/// The exposure card at a row: the latest decision and the latest notification pair.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExposureCard<'a> {
    /// The latest decision (granted, line).
    pub decision: Option<(bool, &'a str)>,
    /// The latest notification as the DCSF sent it.
    pub before: Option<&'a Value>,
    /// The latest notification as the AF got it (after `before`).
    pub after: Option<&'a Value>,
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
    /// Key agreements noted about it.
    pub keys: Vec<KeyAgreement>,
    /// Avatar frames noted about it.
    pub pictures: Vec<Picture>,
    /// What it shows of DC exposure (solution 9).
    pub exposure: Option<Exposure>,
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
    /// The latest avatar frame on row `idx` or before it (what the avatar pane shows as the
    /// ladder is stepped through): the row and the picture.
    pub fn picture_at(&self, idx: usize) -> Option<(usize, &Picture)> {
        let end = idx.saturating_add(1).min(self.entries.len());
        self.entries[..end]
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, e)| e.pictures.last().map(|p| (i, p)))
    }

    /// The DC exposure card on row `idx` (what the exposure pane shows as the ladder is stepped
    /// through): the latest decision and notification pair up to it, if any.
    pub fn exposure_at(&self, idx: usize) -> Option<ExposureCard<'_>> {
        let end = idx.saturating_add(1).min(self.entries.len());
        let mut card = ExposureCard::default();
        for e in &self.entries[..end] {
            match &e.exposure {
                Some(Exposure::Decision { granted, line }) => {
                    card.decision = Some((*granted, line.as_str()));
                }
                Some(Exposure::Before(v)) => {
                    card.before = Some(v);
                    card.after = None;
                }
                Some(Exposure::After(v)) => card.after = Some(v),
                None => {}
            }
        }
        (card != ExposureCard::default()).then_some(card)
    }

    /// The view of `run`.
    pub fn from_run(run: &Run) -> View {
        let entries = entries(run);
        let nodes = columns(&entries);
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

impl View {
    /// The view of a live trace (an attached served world, see [`crate::live`]): `records` in
    /// causal order, named with `ports`. No TR figure, so no step numbers and no outcomes.
    pub fn from_records(name: String, records: &[Record], ports: &[(u16, String)]) -> View {
        let entries = rows(records, &HashMap::new(), ports);
        let nodes = columns(&entries);
        View {
            name,
            passed: true,
            error: None,
            steps_seen: 0,
            steps_total: 0,
            steps: Vec::new(),
            outcomes: Vec::new(),
            entries,
            nodes,
            text: String::new(),
            elapsed_ms: 0.0,
        }
    }
}

/// The ladder's rows, in trace order: one per message sent and one per action, each message
/// with the notes about it.
fn entries(run: &Run) -> Vec<Entry> {
    let mut step_of: HashMap<usize, String> = HashMap::new();
    for m in &run.steps {
        for i in m.records() {
            step_of.insert(i, m.step.to_owned());
        }
    }
    rows(&run.trace, &step_of, &run.ports)
}

/// The rows of `trace` (in causal order), with the TR step of each record in `step_of`.
fn rows(trace: &[Record], step_of: &HashMap<usize, String>, ports: &[(u16, String)]) -> Vec<Entry> {
    let mut rows = Rows::default();
    for (i, r) in trace.iter().enumerate() {
        let step = step_of.get(&i).cloned();
        match &r.body {
            Body::Sent { msg, to, message } => {
                let n = rows.number(*msg);
                rows.by_msg.insert(*msg, rows.entries.len());
                rows.last_of.insert(r.node.clone(), rows.entries.len());
                let mut entry = Entry::message(n, &r.node, to.as_deref(), message, step, ports);
                entry.exposure = notification(message);
                rows.entries.push(entry);
            }
            Body::Received { msg, .. } => {
                rows.number(*msg);
            }
            Body::Note { msg, note } => {
                if let Some((act, outcome)) = note.action() {
                    rows.last_of.insert(r.node.clone(), rows.entries.len());
                    let mut entry = Entry::action(&r.node, note, step);
                    if matches!(act, Act::AuthorizeExposure | Act::CheckDcApplication) {
                        entry.exposure = Some(Exposure::Decision {
                            granted: outcome == Outcome::Done,
                            line: entry.summary.clone(),
                        });
                    }
                    rows.entries.push(entry);
                }
                match msg {
                    Some(m) => rows.pending.push((*m, r.node.clone(), note.clone())),
                    // A key agreement or a frame about no message: on the node's latest row.
                    None if matches!(note, Note::KeyAgreement { .. } | Note::Picture { .. }) => {
                        if let Some(e) = rows
                            .last_of
                            .get(&r.node)
                            .and_then(|i| rows.entries.get_mut(*i))
                        {
                            e.attach(r.node.clone(), note.clone());
                        }
                    }
                    None => {}
                }
            }
        }
    }
    rows.attach_notes()
}

/// A DC event notification this message carries: to the NEF from the DCSF (before), or to the
/// AF from the NEF (after). Read from the request line and the JSON body.
fn notification(message: &Message) -> Option<Exposure> {
    if message.proto != Proto::Http {
        return None;
    }
    let (head, body) = message.raw.split_once("\r\n\r\n")?;
    let path = head
        .lines()
        .next()?
        .strip_prefix("POST ")?
        .split(' ')
        .next()?;
    let json = || serde_json::from_str::<Value>(body).ok();
    if path.starts_with(NEF_NOTIFY_PREFIX) {
        json().map(Exposure::Before)
    } else if path == AF_NOTIFY_PATH {
        json().map(Exposure::After)
    } else {
        None
    }
}

/// The rows while the trace is read.
#[derive(Default)]
struct Rows {
    entries: Vec<Entry>,
    /// The row of each message sent.
    by_msg: HashMap<u64, usize>,
    /// `#n` of each message, numbered in order of first appearance (sent or received).
    numbers: HashMap<u64, usize>,
    /// Notes about a message (node, note), attached once every message has its row.
    pending: Vec<(u64, String, Note)>,
    /// The latest row each node sent or acted on.
    last_of: HashMap<String, usize>,
}

impl Rows {
    /// The number of message `msg`, given one on its first appearance.
    fn number(&mut self, msg: u64) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(msg).or_insert(next)
    }

    /// The rows with every note on the row of the message it is about (notes about a message
    /// that has no row are dropped).
    fn attach_notes(mut self) -> Vec<Entry> {
        for (msg, node, note) in self.pending {
            if let Some(e) = self.by_msg.get(&msg).and_then(|i| self.entries.get_mut(*i)) {
                e.attach(node, note);
            }
        }
        self.entries
    }
}

impl Entry {
    /// The row of a message `node` sent.
    fn message(
        number: usize,
        node: &str,
        to: Option<&str>,
        message: &Message,
        step: Option<String>,
        ports: &[(u16, String)],
    ) -> Entry {
        Entry {
            number: Some(number),
            from: node.to_owned(),
            to: Some(to.unwrap_or("?").to_owned()),
            proto: render::proto(message.proto, message.transport),
            summary: render::normalise(&message.summary, ports),
            step,
            supporting: message.proto == Proto::Dns || message.summary.starts_with("100 Trying"),
            raw: render::normalise(&render::unseeded(&message.raw.replace("\r\n", "\n")), ports),
            tokens: Vec::new(),
            checks: Vec::new(),
            choices: Vec::new(),
            actions: Vec::new(),
            keys: Vec::new(),
            pictures: Vec::new(),
            exposure: None,
        }
    }

    /// The row of an action `node` took (it stays at its node).
    fn action(node: &str, note: &Note, step: Option<String>) -> Entry {
        Entry {
            number: None,
            from: node.to_owned(),
            to: None,
            proto: "",
            summary: render::note_line(note).trim_start_matches("● ").to_owned(),
            step,
            supporting: false,
            raw: String::new(),
            tokens: Vec::new(),
            checks: Vec::new(),
            choices: Vec::new(),
            actions: Vec::new(),
            keys: Vec::new(),
            pictures: Vec::new(),
            exposure: None,
        }
    }

    /// Files a note `node` wrote about this row's message.
    fn attach(&mut self, node: String, note: Note) {
        match note {
            Note::Token {
                label,
                header,
                claims,
            } => self.tokens.push(Token {
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
            } => self.checks.push(Check {
                node,
                name,
                passed,
                detail,
                code,
                reason,
            }),
            Note::Choice { id, text } => self.choices.push((id, text)),
            Note::KeyAgreement {
                label,
                local_public,
                peer_public,
                kdf,
                salt,
                info,
                key_fingerprint,
            } => self.keys.push(KeyAgreement {
                node,
                label,
                local_public,
                peer_public,
                kdf,
                salt,
                info,
                key_fingerprint,
            }),
            Note::Picture {
                label,
                avatar_id,
                seq,
                rows,
            } => self.pictures.push(Picture {
                node,
                label,
                avatar_id,
                seq,
                rows,
            }),
            action @ Note::Action { .. } => self.actions.push((node, render::note_line(&action))),
        }
    }
}

/// The ladder's columns: nodes in order of first appearance, DNS last.
fn columns(entries: &[Entry]) -> Vec<String> {
    let mut nodes: Vec<String> = Vec::new();
    for e in entries {
        for n in std::iter::once(&e.from).chain(e.to.iter()) {
            if n != "dns" && n != "?" && !nodes.contains(n) {
                nodes.push(n.clone());
            }
        }
    }
    if entries.iter().any(|e| e.to.as_deref() == Some("dns")) {
        nodes.push("dns".into());
    }
    nodes
}
