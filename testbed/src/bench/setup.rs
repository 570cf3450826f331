//! `testbed bench setup`: call set-up latency per solution, over real sockets. Each solution's
//! first happy-path variant runs `calls` times (a fresh world each time, as `testbed run` does);
//! from each run's trace, at the caller: its first INVITE sent → the 200 to that INVITE received
//! (same Call-ID, CSeq INVITE), and where the flow uses data channels, that INVITE → the first
//! data channel message any node receives. The trace's timestamps are wall-clock, so the figure
//! includes whatever the flow does between (the HSS fetch, Ms signing and verification, the
//! callee's answer as the scenario drives it). A solution whose flow has no INVITE says so.

use serde::Serialize;

use proto::trace::{Body, Proto, Record};

use super::progress::Progress;
use super::stats::Summary;

/// One solution's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SolutionSetup {
    /// Its number.
    pub solution: u8,
    /// The variant run.
    pub variant: String,
    /// INVITE → 200 at the caller.
    pub setup: Option<Summary>,
    /// INVITE → first data channel message received, where there is one.
    pub first_dc: Option<Summary>,
    /// Runs that did not pass (none expected), with why.
    pub failed: Vec<String>,
}

/// The value of the first `name:` (or compact `short:`) header line in a SIP message's text.
fn header<'a>(raw: &'a str, name: &str, short: &str) -> Option<&'a str> {
    raw.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        let n = n.trim();
        (n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(short)).then(|| v.trim())
    })
}

/// (INVITE → 200, INVITE → first DC message) of the caller's first INVITE in `trace`.
pub fn from_trace(trace: &[Record]) -> Option<(std::time::Duration, Option<std::time::Duration>)> {
    let (index, invite) = trace.iter().enumerate().find(|(_, r)| {
        matches!(&r.body, Body::Sent { message, .. }
            if message.proto == Proto::Sip && message.raw.starts_with("INVITE "))
    })?;
    let Body::Sent { message, .. } = &invite.body else {
        return None;
    };
    let call_id = header(&message.raw, "Call-ID", "i")?;
    let rest = &trace[index..];
    let ok = rest.iter().find(|r| {
        r.node == invite.node
            && matches!(&r.body, Body::Received { message, .. }
                if message.proto == Proto::Sip
                    && message.raw.starts_with("SIP/2.0 200")
                    && header(&message.raw, "Call-ID", "i") == Some(call_id)
                    && header(&message.raw, "CSeq", "CSeq").is_some_and(|c| c.ends_with("INVITE")))
    })?;
    let dc = rest
        .iter()
        .find(|r| matches!(&r.body, Body::Received { message, .. } if message.proto == Proto::Dc));
    Some((
        ok.at.saturating_sub(invite.at),
        dc.map(|r| r.at.saturating_sub(invite.at)),
    ))
}

/// Runs each chosen solution's first happy variant `calls` times.
pub async fn run(
    solutions: &[u8],
    calls: usize,
    seed: u64,
    json: bool,
) -> anyhow::Result<Vec<SolutionSetup>> {
    let mut out = Vec::new();
    let mut progress = Progress::new("bench setup", json);
    for solution in crate::scenarios::SOLUTIONS {
        if !solutions.is_empty() && !solutions.contains(&solution.number) {
            continue;
        }
        let Some(variant) = (solution.variants)()
            .into_iter()
            .find(|v| v.threat.is_none())
        else {
            continue;
        };
        let (mut setups, mut dcs, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for n in 0..calls {
            progress.update(|| format!("{} run {}/{calls}", variant.name(), n + 1));
            let run = crate::run::execute(&variant, seed).await;
            if !run.passed() {
                failed.push(format!(
                    "run {}: {}",
                    n + 1,
                    run.error
                        .as_deref()
                        .unwrap_or("a step or outcome is missing")
                ));
                continue;
            }
            if let Some((setup, dc)) = from_trace(&run.trace) {
                setups.push(setup);
                dcs.extend(dc);
            }
        }
        out.push(SolutionSetup {
            solution: solution.number,
            variant: variant.name(),
            setup: Summary::of(&setups),
            first_dc: Summary::of(&dcs),
            failed,
        });
    }
    progress.finish();
    Ok(out)
}

/// The human form.
pub fn text(results: &[SolutionSetup]) -> String {
    let mut out = String::from("call set-up per solution (wall clock, from each run's trace):\n");
    for r in results {
        let setup = r
            .setup
            .as_ref()
            .map_or("no INVITE in the flow".into(), |s| {
                format!("INVITE → 200 {}", s.short())
            });
        let dc = r
            .first_dc
            .as_ref()
            .map(|s| format!(" · INVITE → first DC message {}", s.short()))
            .unwrap_or_default();
        let failed = if r.failed.is_empty() {
            String::new()
        } else {
            format!(" · {} runs failed: {}", r.failed.len(), r.failed.join("; "))
        };
        out.push_str(&format!("  {:<18} {setup}{dc}{failed}\n", r.variant));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_by_full_and_compact_name_in_the_head_only() {
        let raw = "SIP/2.0 200 OK\r\ni: abc@x\r\nCSeq: 1 INVITE\r\n\r\nCall-ID: body";
        assert_eq!(header(raw, "Call-ID", "i"), Some("abc@x"));
        assert_eq!(header(raw, "CSeq", "CSeq"), Some("1 INVITE"));
        assert_eq!(
            header("INVITE x SIP/2.0\r\n\r\nCall-ID: b", "Call-ID", "i"),
            None
        );
    }
}
