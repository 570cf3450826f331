//! The ladder of a run: one line per message (and per action), with the TR step it shows; the
//! full messages with their notes; and the review form, where each message carries its
//! security-relevant headers and the notes made about it, one line each.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use proto::trace::{Body, Message, Proto, Record, Transport};

use super::note_line;
use crate::run::Run;
use crate::scenario::content::Content;

/// Headers a reviewer of a security testbed wants to see change (From too, once it carries
/// `verstat`).
pub const SECURITY_HEADERS: &[&str] = &[
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "P-Served-User",
    "Identity",
    "Call-Info",
    "Authorization",
    "WWW-Authenticate",
];

/// How a message travelled, as the views write it.
pub fn proto(p: Proto, t: Transport) -> &'static str {
    match (p, t) {
        (Proto::Sip, Transport::Udp) => "SIP/UDP",
        (Proto::Sip, Transport::Tls) => "SIP/TLS",
        (Proto::Sip, _) => "SIP/TCP",
        (Proto::Http, Transport::Tls) => "HTTPS",
        (Proto::Http, _) => "HTTP",
        (Proto::Dns, _) => "DNS",
        (Proto::Dc, _) => "DC",
    }
}

/// Message numbers (#1, #2, …) in trace order, and the TR step each record shows.
pub struct Index {
    number: HashMap<u64, usize>,
    step: HashMap<usize, String>,
}

impl Index {
    /// Numbers the run's messages and maps records to steps.
    pub fn new(run: &Run) -> Self {
        let mut number = HashMap::new();
        for r in &run.trace {
            let id = match &r.body {
                Body::Sent { msg, .. } | Body::Received { msg, .. } => *msg,
                Body::Note { .. } => continue,
            };
            let next = number.len() + 1;
            number.entry(id).or_insert(next);
        }
        let mut step = HashMap::new();
        for m in &run.steps {
            for i in m.records() {
                step.insert(i, m.step.to_owned());
            }
        }
        Self { number, step }
    }

    /// `#12` for a message record, `● node` for a note.
    pub fn at(&self, run: &Run, i: usize) -> String {
        match run.trace.get(i).map(|r| (&r.body, r)) {
            Some((Body::Sent { msg, .. } | Body::Received { msg, .. }, _)) => {
                format!("#{}", self.number.get(msg).copied().unwrap_or(0))
            }
            Some((Body::Note { .. }, r)) => format!("● {}", r.node),
            None => "?".into(),
        }
    }

    /// The message number of message id `msg`.
    pub fn number(&self, msg: u64) -> usize {
        self.number.get(&msg).copied().unwrap_or(0)
    }

    /// `step 7` for a record that shows a step.
    pub fn step(&self, i: usize) -> String {
        self.step
            .get(&i)
            .map_or(String::new(), |s| format!("step {s}"))
    }
}

/// The ladder: one line per message sent and per action noted.
pub fn ladder(out: &mut String, run: &Run, idx: &Index, dns: bool) {
    let _ = writeln!(out, "\nLadder (TR step · message · from → to)");
    for (i, r) in run.trace.iter().enumerate() {
        if let Some(line) = ladder_line(idx, i, r, dns) {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn ladder_line(idx: &Index, i: usize, r: &Record, dns: bool) -> Option<String> {
    let step = idx.step(i);
    match &r.body {
        Body::Sent { msg, to, message } => {
            if !dns && message.proto == Proto::Dns {
                return None;
            }
            Some(format!(
                "  {step:<9} #{:<3} {:<9} → {:<9} {:<8} {}",
                idx.number(*msg),
                r.node,
                to.as_deref().unwrap_or("?"),
                proto(message.proto, message.transport),
                message.summary
            ))
        }
        Body::Received {
            msg,
            from: None,
            message,
        } => Some(format!(
            "  {step:<9} #{:<3} {:<9} ← outside  {:<8} {}",
            idx.number(*msg),
            r.node,
            proto(message.proto, message.transport),
            message.summary
        )),
        Body::Note { note, .. } if note.action().is_some() => Some(format!(
            "  {step:<9}      {:<9} {}",
            r.node,
            note_line(note)
        )),
        _ => None,
    }
}

/// Notes by the message they are about.
fn notes_by_message(run: &Run) -> BTreeMap<u64, Vec<&Record>> {
    let mut notes: BTreeMap<u64, Vec<&Record>> = BTreeMap::new();
    for r in &run.trace {
        if let Body::Note { msg: Some(m), .. } = &r.body {
            notes.entry(*m).or_default().push(r);
        }
    }
    notes
}

/// Every message in full, with the notes about it; notes about no message where they fell.
pub fn messages(out: &mut String, run: &Run, idx: &Index) {
    let _ = writeln!(out, "\nMessages");
    let notes = notes_by_message(run);
    for (i, r) in run.trace.iter().enumerate() {
        match &r.body {
            Body::Sent { msg, to, message } => {
                let step = idx.step(i);
                let step = if step.is_empty() {
                    step
                } else {
                    format!(" · {step}")
                };
                let _ = writeln!(
                    out,
                    "\n──── #{}{step} · {} → {} · {} · {} → {}",
                    idx.number(*msg),
                    r.node,
                    to.as_deref().unwrap_or("?"),
                    proto(message.proto, message.transport),
                    message.src,
                    message.dst
                );
                for line in message.raw.replace("\r\n", "\n").trim_end().lines() {
                    let _ = writeln!(out, "  {line}");
                }
                for rec in notes.get(msg).into_iter().flatten() {
                    if let Body::Note { note, .. } = &rec.body {
                        let _ = writeln!(out, "  │ {}: {}", rec.node, note_line(note));
                    }
                }
            }
            Body::Note { msg: None, note } => {
                let _ = writeln!(out, "\n  │ {}: {}", r.node, note_line(note));
            }
            _ => {}
        }
    }
}

/// The lines of a message a reviewer reads: its security headers and its SDP's data channel
/// lines.
fn security_lines(message: &Message) -> Vec<String> {
    let content = Content::of(message);
    let mut lines = Vec::new();
    if message.proto == Proto::Sip {
        for name in SECURITY_HEADERS {
            for value in content.header_values(name) {
                lines.push(format!("{name}: {value}"));
            }
        }
        for value in content.header_values("From") {
            if value.contains("verstat=") {
                lines.push(format!("From: {value}"));
            }
        }
        for l in content.body().lines() {
            let l = l.trim_end();
            if l.starts_with("m=application") || l.starts_with("a=dcmap:") {
                lines.push(l.to_owned());
            }
        }
    }
    lines
}

/// The review ladder: every message but DNS, its security headers, and every note.
pub fn review(out: &mut String, run: &Run, idx: &Index) {
    let _ = writeln!(
        out,
        "\nLadder (TR step · message · from → to; DNS look-ups left out), with security headers and notes"
    );
    let mut notes: BTreeMap<u64, Vec<(usize, &Record)>> = BTreeMap::new();
    for (i, r) in run.trace.iter().enumerate() {
        if let Body::Note { msg: Some(m), .. } = &r.body {
            notes.entry(*m).or_default().push((i, r));
        }
    }
    for (i, r) in run.trace.iter().enumerate() {
        match &r.body {
            Body::Sent { msg, message, .. } if message.proto != Proto::Dns => {
                if let Some(line) = ladder_line(idx, i, r, false) {
                    let _ = writeln!(out, "{line}");
                }
                for line in security_lines(message) {
                    let _ = writeln!(out, "                 │ {line}");
                }
                for (j, rec) in notes.get(msg).into_iter().flatten() {
                    if let Body::Note { note, .. } = &rec.body {
                        let step = idx.step(*j);
                        let _ = writeln!(
                            out,
                            "                 │ {step}{}{}: {}",
                            if step.is_empty() { "" } else { " " },
                            rec.node,
                            note_line(note)
                        );
                    }
                }
            }
            Body::Note { msg: None, note } => {
                let step = idx.step(i);
                let _ = writeln!(out, "  {step:<9}      {:<9} {}", r.node, note_line(note));
            }
            _ => {}
        }
    }
}
