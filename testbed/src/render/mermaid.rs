//! A Mermaid sequence diagram of a run (`testbed run --format mermaid`): one participant per
//! node in order of appearance, one arrow per message (DNS look-ups and 100 Trying left out),
//! the TR step numbers as notes where a step starts, steps the variant does not take or its
//! threat's mitigation prevents as notes where they would have been, and the nodes' actions.

use std::fmt::Write as _;

use proto::trace::{Body, Proto, Record};

use super::ladder::{Index, proto};
use super::{normalise, note_line, step_status};
use crate::run::Run;
use crate::scenario::Status;

/// Mermaid reads `;` and `#` specially in message text.
fn clean(text: &str) -> String {
    text.replace(';', ",").replace('#', "no. ")
}

fn id(node: &str) -> String {
    node.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

fn shown(r: &Record) -> bool {
    match &r.body {
        Body::Sent {
            to: Some(_),
            message,
            ..
        } => message.proto != Proto::Dns && !message.summary.starts_with("100 Trying"),
        _ => false,
    }
}

fn participants(run: &Run) -> Vec<String> {
    let mut participants: Vec<String> = Vec::new();
    for r in run.trace.iter().filter(|r| shown(r)) {
        if let Body::Sent { to: Some(to), .. } = &r.body {
            for n in [&r.node, to] {
                if !participants.contains(n) {
                    participants.push(n.clone());
                }
            }
        }
    }
    participants
}

/// The diagram's first lines: a comment naming the run, the participants.
fn preamble(out: &mut String, run: &Run, participants: &[String]) {
    let v = &run.variant;
    let _ = writeln!(
        out,
        "%% {} — TR 33.790 §{} Figure {}",
        v.name(),
        v.figure.clause,
        v.figure.figure
    );
    let _ = writeln!(out, "sequenceDiagram");
    let _ = writeln!(out, "    autonumber");
    for p in participants {
        let _ = writeln!(out, "    participant {} as {p}", id(p));
    }
}

/// The diagram.
pub fn mermaid(run: &Run) -> String {
    let idx = Index::new(run);
    let participants = participants(run);
    let first = participants.first().map_or("testbed".to_owned(), |p| id(p));
    let mut out = String::new();
    preamble(&mut out, run, &participants);
    // Steps not taken or prevented are noted where they would have come: before the next
    // step that was seen.
    let mut pending = 0;
    let mut absent = |out: &mut String, upto: usize| {
        while pending < upto.min(run.steps.len()) {
            let s = &run.steps[pending];
            if matches!(s.status, Status::NotTaken { .. } | Status::Prevented { .. }) {
                let (_, detail) = step_status(&s.status, |_| String::new());
                let _ = writeln!(
                    out,
                    "    Note over {first}: step {} {}",
                    s.step,
                    clean(&detail)
                );
            }
            pending += 1;
        }
    };
    let mut last_step = String::new();
    for (i, r) in run.trace.iter().enumerate() {
        let step = idx.step(i);
        if !step.is_empty() && step != last_step && participants.contains(&r.node) {
            let position = run
                .steps
                .iter()
                .position(|s| format!("step {}", s.step) == step)
                .unwrap_or(0);
            absent(&mut out, position);
            let _ = writeln!(out, "    Note over {}: {step}", id(&r.node));
            last_step = step;
        }
        match &r.body {
            Body::Sent {
                to: Some(to),
                message,
                ..
            } if shown(r) => {
                let arrow = if message.proto == Proto::Dc {
                    "-)"
                } else {
                    "->>"
                };
                let _ = writeln!(
                    out,
                    "    {}{arrow}{}: {} {}",
                    id(&r.node),
                    id(to),
                    proto(message.proto, message.transport),
                    clean(&message.summary)
                );
            }
            Body::Note { note, .. }
                if note.action().is_some() && participants.contains(&r.node) =>
            {
                let _ = writeln!(
                    out,
                    "    Note right of {}: {}",
                    id(&r.node),
                    clean(&note_line(note))
                );
            }
            _ => {}
        }
    }
    absent(&mut out, run.steps.len());
    normalise(&out, &run.ports)
}
