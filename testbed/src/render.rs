//! The text form of a run: header, ladder with TR step numbers, the step list, outcomes, the
//! choices in play, then every message in full with its notes (tokens, checks, actions). The
//! command line prints it; the snapshots pin it. Ports (chosen by the OS) are replaced by the
//! name of the node that owns them, so the text is byte-stable between runs and machines.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use proto::trace::{Body, Note, Proto, Record, Transport};

use crate::run::Run;

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

/// Message numbers (#1, #2, …) in trace order, by message id, and the TR step of each.
struct Index {
    number: HashMap<u64, usize>,
    step: HashMap<usize, String>,
}

fn index(run: &Run) -> Index {
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
        for i in m.records.iter().flatten() {
            step.insert(*i, m.step.to_owned());
        }
    }
    Index { number, step }
}

fn note_line(note: &Note) -> Vec<String> {
    match note {
        Note::Token {
            label,
            header,
            claims,
        } => {
            let mut lines = vec![format!("◆ {label}")];
            let pretty =
                |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
            lines.extend(
                format!("header {}", pretty(header))
                    .lines()
                    .map(|l| format!("    {l}")),
            );
            lines.extend(
                format!("claims {}", pretty(claims))
                    .lines()
                    .map(|l| format!("    {l}")),
            );
            lines
        }
        Note::Check {
            name,
            passed,
            detail,
            code,
        } => {
            let mark = if *passed { "✔" } else { "✘" };
            let code = code.map(|c| format!(" [{c}]")).unwrap_or_default();
            vec![format!("{mark} {name}: {detail}{code}")]
        }
        Note::Choice { id, text } => vec![format!("☞ testbed choice {id}: {text}")],
        Note::Action { label } => vec![format!("● {label}")],
    }
}

/// The whole run as text, ports normalised.
pub fn text(run: &Run) -> String {
    let idx = index(run);
    let mut out = String::new();
    let v = &run.variant;
    let _ = writeln!(
        out,
        "═══ Solution {} · TR 33.790 §{} · Figure {} — {}",
        v.solution, v.figure.clause, v.figure.figure, v.figure.title
    );
    let _ = writeln!(out, "    variant: {} — {}", v.id, v.title);
    if let Some(threat) = v.threat {
        let _ = writeln!(out, "    threat:  {threat}");
    }
    let seen = run.steps.iter().filter(|s| s.seen()).count();
    let passed = run.outcomes.iter().filter(|o| o.passed).count();
    let verdict = if run.passed() { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "    result:  {verdict} ({seen}/{} TR steps, {passed}/{} outcomes)",
        run.steps.len(),
        run.outcomes.len()
    );
    if let Some(error) = &run.error {
        let _ = writeln!(out, "    error:   {error}");
    }

    let _ = writeln!(out, "\nLadder (TR step · message · from → to)");
    for (i, r) in run.trace.iter().enumerate() {
        let step = idx
            .step
            .get(&i)
            .map_or(String::new(), |s| format!("step {s}"));
        match &r.body {
            Body::Sent { msg, to, message } => {
                let n = idx.number.get(msg).copied().unwrap_or(0);
                let to = to.as_deref().unwrap_or("?");
                let _ = writeln!(
                    out,
                    "  {step:<9} #{n:<3} {:<9} → {to:<9} {:<8} {}",
                    r.node,
                    proto(message.proto, message.transport),
                    message.summary
                );
            }
            Body::Received {
                msg,
                from: None,
                message,
            } => {
                let n = idx.number.get(msg).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "  {step:<9} #{n:<3} {:<9} ← outside  {:<8} {}",
                    r.node,
                    proto(message.proto, message.transport),
                    message.summary
                );
            }
            Body::Received { .. } => {}
            Body::Note {
                note: Note::Action { label },
                ..
            } => {
                let _ = writeln!(out, "  {step:<9}      {:<9} ● {label}", r.node);
            }
            Body::Note { .. } => {}
        }
    }

    let _ = writeln!(out, "\nTR steps ({} {})", v.figure.clause, v.figure.figure);
    for (step, m) in v.figure.steps.iter().zip(&run.steps) {
        let mark = if m.seen() { "✔" } else { "✘" };
        let at: Vec<String> = m
            .records
            .iter()
            .map(|r| match r.and_then(|i| run.trace.get(i)) {
                Some(rec) => match &rec.body {
                    Body::Sent { msg, .. } | Body::Received { msg, .. } => {
                        format!("#{}", idx.number.get(msg).copied().unwrap_or(0))
                    }
                    Body::Note { .. } => format!("● {}", rec.node),
                },
                None => "missing".into(),
            })
            .collect();
        let _ = writeln!(
            out,
            "  {mark} {:<5} {} → {}: {} [{}]",
            step.id,
            step.tr_from,
            step.tr_to,
            step.what,
            at.join(", ")
        );
    }

    let _ = writeln!(out, "\nOutcomes");
    for o in &run.outcomes {
        let _ = writeln!(
            out,
            "  {} {} — {}",
            if o.passed { "✔" } else { "✘" },
            o.what,
            o.detail
        );
    }

    if !v.choices.is_empty() {
        let _ = writeln!(out, "\nTestbed choices in play");
        for id in &v.choices {
            if let Some(c) = crate::choices::get(id) {
                let _ = writeln!(out, "  {} (TR {}): {}", c.id, c.clause, c.answer);
            }
        }
    }

    let _ = writeln!(out, "\nMessages");
    let mut notes_by_msg: BTreeMap<u64, Vec<&Record>> = BTreeMap::new();
    for r in &run.trace {
        if let Body::Note { msg: Some(m), .. } = &r.body {
            notes_by_msg.entry(*m).or_default().push(r);
        }
    }
    for (i, r) in run.trace.iter().enumerate() {
        match &r.body {
            Body::Sent { msg, to, message } => {
                let n = idx.number.get(msg).copied().unwrap_or(0);
                let step = idx
                    .step
                    .get(&i)
                    .map_or(String::new(), |s| format!(" · step {s}"));
                let _ = writeln!(
                    out,
                    "\n──── #{n}{step} · {} → {} · {} · {} → {}",
                    r.node,
                    to.as_deref().unwrap_or("?"),
                    proto(message.proto, message.transport),
                    message.src,
                    message.dst
                );
                for line in message.raw.replace("\r\n", "\n").trim_end().lines() {
                    let _ = writeln!(out, "  {line}");
                }
                for rec in notes_by_msg.get(msg).into_iter().flatten() {
                    if let Body::Note { note, .. } = &rec.body {
                        for line in note_line(note) {
                            let _ = writeln!(out, "  │ {}: {line}", rec.node);
                        }
                    }
                }
            }
            Body::Note { msg: None, note } => {
                for line in note_line(note) {
                    let _ = writeln!(out, "\n  │ {}: {line}", r.node);
                }
            }
            _ => {}
        }
    }
    normalise(&unseeded(&out), &run.names)
}

/// The versioned JSON form of a run (`testbed run --format json`): the variant, its figure with
/// where each step was seen (indices into `records`), the outcomes, the choices in play and
/// every trace record in causal order. Ports are named as in [`text`], so it is byte-stable.
pub fn json(run: &Run) -> String {
    let v = &run.variant;
    let doc = serde_json::json!({
        "format": "tr33790-testbed-trace",
        "version": 1,
        "solution": v.solution,
        "variant": v.id,
        "title": v.title,
        "threat": v.threat,
        "passed": run.passed(),
        "error": run.error,
        "figure": v.figure,
        "steps": run.steps,
        "outcomes": run.outcomes,
        "choices": v.choices.iter().filter_map(|id| crate::choices::get(id)).collect::<Vec<_>>(),
        "records": run.trace,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    normalise(&unseeded(&text), &run.names)
}

/// A Mermaid sequence diagram of a run (`testbed run --format mermaid`): one participant per
/// node in order of appearance, one arrow per message (DNS look-ups and 100 Trying left out),
/// TR step numbers as notes where a step starts, and the nodes' actions as notes.
pub fn mermaid(run: &Run) -> String {
    let idx = index(run);
    let id = |node: &str| node.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    // Mermaid reads `;` and `#` specially in message text.
    let clean = |text: &str| text.replace(';', ",").replace('#', "no. ");
    let shown = |r: &Record| match &r.body {
        Body::Sent {
            to: Some(_),
            message,
            ..
        } => message.proto != Proto::Dns && !message.summary.starts_with("100 Trying"),
        _ => false,
    };
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
    let v = &run.variant;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "%% {} — TR 33.790 §{} Figure {}",
        v.name(),
        v.figure.clause,
        v.figure.figure
    );
    let _ = writeln!(out, "sequenceDiagram");
    let _ = writeln!(out, "    autonumber");
    for p in &participants {
        let _ = writeln!(out, "    participant {} as {p}", id(p));
    }
    let mut last_step = String::new();
    for (i, r) in run.trace.iter().enumerate() {
        if let Some(step) = idx.step.get(&i)
            && *step != last_step
            && participants.contains(&r.node)
        {
            let _ = writeln!(out, "    Note over {}: step {step}", id(&r.node));
            last_step.clone_from(step);
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
            Body::Note {
                note: Note::Action { label },
                ..
            } if participants.contains(&r.node) => {
                let _ = writeln!(out, "    Note right of {}: {}", id(&r.node), clean(label));
            }
            _ => {}
        }
    }
    normalise(&out, &run.names)
}

/// Replaces what a run cannot seed: DTLS certificate fingerprints (`a=fingerprint:<alg> <hex>`)
/// become `<dtls-fingerprint>`.
pub fn unseeded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.find("a=fingerprint:") {
            Some(at) => {
                let rest = &line[at + "a=fingerprint:".len()..];
                let alg = rest.split(' ').next().unwrap_or("");
                out.push_str(&line[..at]);
                out.push_str("a=fingerprint:");
                out.push_str(alg);
                out.push_str(" <dtls-fingerprint>");
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Replaces every port the world's nodes bound (as `:port` and as a space-separated number, the
/// form DNS SRV answers take) by the node's name.
pub fn normalise(text: &str, names: &[(std::net::SocketAddr, String)]) -> String {
    let mut ports: Vec<(String, String)> = names
        .iter()
        .map(|(a, n)| (a.port().to_string(), n.clone()))
        .collect();
    ports.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    'outer: while i < bytes.len() {
        let c = bytes[i];
        if (c == b':' || c == b' ') && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit() {
            for (port, node) in &ports {
                let end = i + 1 + port.len();
                if text.get(i + 1..end) == Some(port.as_str())
                    && !bytes.get(end).is_some_and(u8::is_ascii_digit)
                {
                    // A space form only counts when a space (or line end) follows too.
                    if c == b' ' && !matches!(bytes.get(end), Some(b' ') | Some(b'\n') | None) {
                        continue;
                    }
                    out.push(c as char);
                    out.push('<');
                    out.push_str(node);
                    out.push('>');
                    i = end;
                    continue 'outer;
                }
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalised() {
        assert_eq!(
            unseeded("x\n  a=fingerprint:sha-256 AB:CD:01\ny"),
            "x\n  a=fingerprint:sha-256 <dtls-fingerprint>\ny"
        );
    }

    #[test]
    fn ports_become_node_names() {
        let names = vec![(
            "127.0.0.1:43121"
                .parse()
                .unwrap_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
            "pcscf-o".to_owned(),
        )];
        let text = "Via: SIP/2.0/UDP pcscf.example:43121;branch=z\n_sip._udp SRV 0 0 43121 pcscf.\n\"iat\":431210,x:43121\n";
        assert_eq!(
            normalise(text, &names),
            "Via: SIP/2.0/UDP pcscf.example:<pcscf-o>;branch=z\n_sip._udp SRV 0 0 <pcscf-o> pcscf.\n\"iat\":431210,x:<pcscf-o>\n"
        );
    }
}
