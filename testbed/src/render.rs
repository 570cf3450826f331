//! The forms of a run. [`text`]: everything (the command line's default): header, the TR steps
//! with what became of each, outcomes, choices, the ladder, then every message in full with its
//! notes. [`review`]: what a reviewer reads in a snapshot: the steps, the outcomes, and the
//! ladder with, under each message, its security-relevant headers and the tokens, checks and
//! actions noted about it, one line each, so a one-header change is a one-line diff.
//! [`json`]: versioned, every record (the full bytes). [`mermaid`]: a sequence diagram. Ports
//! (chosen by the OS) are replaced by the node that owns them and DTLS fingerprints (which
//! cannot be seeded) by a placeholder, so every form is byte-stable.

pub mod export;
mod ladder;
mod mermaid;
mod normal;
pub mod pcap;

use std::fmt::Write as _;

use proto::trace::Note;
use serde_json::json;

pub use ladder::proto;
pub use mermaid::mermaid;
pub use normal::{normalise, unseeded};

use crate::run::Run;
use crate::scenario::Status;

/// The header lines: solution, figure, variant, threat, result.
fn header(out: &mut String, run: &Run) {
    let v = &run.variant;
    let _ = writeln!(
        out,
        "═══ Solution {} · TR 33.790 §{} · Figure {} — {}",
        v.solution, v.figure.clause, v.figure.figure, v.figure.title
    );
    let _ = writeln!(out, "    variant: {} — {}", v.id, v.title);
    if let Some(threat) = v.threat {
        let _ = writeln!(out, "    threat:  §{} {}", threat.clause, threat.text);
    }
    for stopped in &run.faults {
        let _ = writeln!(out, "    fault:   {stopped}");
    }
    let (seen, total) = run.step_count();
    let not_counted = |f: fn(&Status) -> bool| run.steps.iter().filter(|s| f(&s.status)).count();
    let prevented = not_counted(|s| matches!(s, Status::Prevented { .. }));
    let not_taken = not_counted(|s| matches!(s, Status::NotTaken { .. }));
    let passed = run.outcomes.iter().filter(|o| o.passed).count();
    let _ = writeln!(
        out,
        "    result:  {} ({seen}/{total} TR steps, {prevented} prevented, {not_taken} n/a; {passed}/{} outcomes)",
        if run.passed() { "PASS" } else { "FAIL" },
        run.outcomes.len()
    );
    if let Some(error) = &run.error {
        let _ = writeln!(out, "    error:   {error}");
    }
}

/// One step's mark and what became of it, for every form.
pub fn step_status(status: &Status, at: impl Fn(usize) -> String) -> (&'static str, String) {
    match status {
        Status::Seen { records } => (
            "✔",
            records
                .iter()
                .map(|&i| at(i))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Status::Missing { records } => (
            "✘",
            records
                .iter()
                .map(|r| r.map_or("missing".into(), &at))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Status::NotTaken { why } => ("–", format!("n/a (option not taken: {why})")),
        Status::Prevented { by } => ("⊘", format!("prevented (by step {by}'s check)")),
        Status::Happened { record } => ("✘", format!("should be absent, but {}", at(*record))),
    }
}

/// The TR steps and the outcomes.
fn steps_and_outcomes(out: &mut String, run: &Run, idx: &ladder::Index) {
    let v = &run.variant;
    let _ = writeln!(out, "\nTR steps ({} {})", v.figure.clause, v.figure.figure);
    for (step, result) in v.figure.steps.iter().zip(&run.steps) {
        let (mark, detail) = step_status(&result.status, |i| idx.at(run, i));
        let _ = writeln!(
            out,
            "  {mark} {:<5} {} → {}: {} [{detail}]",
            step.id, step.tr_from, step.tr_to, step.what
        );
    }
    let _ = writeln!(out, "\nOutcomes");
    for o in &run.outcomes {
        let mark = if o.passed { "✔" } else { "✘" };
        let _ = writeln!(out, "  {mark} {} — {}", o.what, o.detail);
    }
}

fn choices(out: &mut String, run: &Run) {
    if !run.variant.choices.is_empty() {
        let _ = writeln!(out, "\nTestbed choices in play");
        for c in &run.variant.choices {
            let _ = writeln!(out, "  {} (TR {}): {}", c.id, c.clause, c.answer);
        }
    }
}

/// The whole run as text, ports normalised.
pub fn text(run: &Run) -> String {
    let idx = ladder::Index::new(run);
    let mut out = String::new();
    header(&mut out, run);
    steps_and_outcomes(&mut out, run, &idx);
    choices(&mut out, run);
    ladder::ladder(&mut out, run, &idx, true);
    ladder::messages(&mut out, run, &idx);
    normalise(&unseeded(&out), &run.ports)
}

/// The reviewable form the snapshots pin: header, steps, outcomes, and the ladder (DNS
/// left out) with each message's security headers and notes.
pub fn review(run: &Run) -> String {
    let idx = ladder::Index::new(run);
    let mut out = String::new();
    header(&mut out, run);
    steps_and_outcomes(&mut out, run, &idx);
    let ids: Vec<&str> = run.variant.choices.iter().map(|c| c.id).collect();
    let _ = writeln!(out, "\nTestbed choices in play: {}", ids.join(", "));
    ladder::review(&mut out, run, &idx);
    normalise(&unseeded(&out), &run.ports)
}

/// The versioned JSON form of a run (`testbed run --format json`): the variant, its figure with
/// what became of each step (indices into `records`), the outcomes, the choices in play and
/// every trace record in causal order. Ports and fingerprints are normalised inside every
/// string, so the document stays valid JSON and byte-stable.
pub fn json(run: &Run) -> String {
    let v = &run.variant;
    let (seen, total) = run.step_count();
    let mut doc = json!({
        "format": "tr33790-testbed-trace",
        "version": 2,
        "solution": v.solution,
        "variant": v.id,
        "title": v.title,
        "threat": v.threat,
        "passed": run.passed(),
        "error": run.error,
        "steps_seen": seen,
        "steps_counted": total,
        "figure": v.figure,
        "steps": run.steps,
        "outcomes": run.outcomes,
        "choices": v.choices,
        "records": run.trace,
    });
    // Only runs with faults (`--down`) carry them: every other export stays as it was.
    if !run.faults.is_empty()
        && let Some(map) = doc.as_object_mut()
    {
        map.insert("faults".into(), json!(run.faults));
    }
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    normalise(&unseeded(&text), &run.ports)
}

/// A note as one line (tokens as compact JSON).
pub fn note_line(note: &Note) -> String {
    match note {
        Note::Token {
            label,
            header,
            claims,
        } => format!("◆ {label} header {header} claims {claims}"),
        Note::Check {
            name,
            passed,
            detail,
            code,
            reason,
        } => {
            let mark = if *passed { "✔" } else { "✘" };
            let code = code.map(|c| format!(" [{c}]")).unwrap_or_default();
            let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            format!("{mark} {name}: {detail}{code}{reason}")
        }
        Note::Choice { id, text } => format!("☞ testbed choice {id}: {text}"),
        Note::KeyAgreement {
            label,
            local_public,
            peer_public,
            kdf,
            salt,
            info,
            key_fingerprint,
        } => format!(
            "⚿ {label}: {kdf}, own public key {local_public}, peer's {peer_public}, salt {salt}, info {info:?} → key {key_fingerprint}"
        ),
        Note::Picture {
            label,
            avatar_id,
            seq,
            rows,
        } => format!(
            "▣ {label} ({avatar_id} frame {seq}, {}×{} cells)",
            rows.first().map_or(0, |r| r.chars().count()),
            rows.len()
        ),
        Note::Action {
            act,
            outcome,
            label,
        } => {
            let tag = serde_json::to_value(act)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            match outcome.reason() {
                None => format!("● [{tag}] {label}"),
                Some(r) => format!("● [{tag} refused: {r}] {label}"),
            }
        }
    }
}
