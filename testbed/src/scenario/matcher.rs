//! Lining a run's trace up with a figure. Each step the variant takes is looked for after the
//! previous taken step started (not after it ended: the TR draws the 18x/200 leaving the callee
//! and reaching the caller as two steps, while the 180 reaches the caller before the 200 leaves
//! the callee); its hops must appear in order. A step the variant does not take, or that its
//! threat's mitigation prevents, must be absent: its first hop may not appear anywhere. Records
//! the harness wrote (node [`TESTBED`]) never match.

use proto::trace::{Body, Note, Outcome, Record};
use serde::Serialize;
use serde_json::Value;

use super::content::{Content, json_text};
use super::{Expect, Figure, Hop, Plan, Require, Step, Want};
use crate::node::TESTBED;

/// What became of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Taken and seen: the trace index of each hop's record.
    Seen {
        /// One index per hop.
        records: Vec<usize>,
    },
    /// Taken, but not (wholly) seen: the hops found, in order, until the first missing one.
    Missing {
        /// One entry per hop.
        records: Vec<Option<usize>>,
    },
    /// The variant's option does not take it; it is absent, as it should be.
    NotTaken {
        /// Why, in our words.
        why: &'static str,
    },
    /// The variant's threat was stopped before it (by step `by`'s check); it is absent.
    Prevented {
        /// The step whose check stopped it.
        by: &'static str,
    },
    /// It should be absent (not taken or prevented) but happened: its first hop is here.
    Happened {
        /// The record of its first hop.
        record: usize,
    },
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// The step's id.
    pub step: &'static str,
    /// What became of it.
    #[serde(flatten)]
    pub status: Status,
}

impl StepResult {
    /// Whether the step came out as the variant says: seen if taken, absent if not.
    pub fn ok(&self) -> bool {
        !matches!(
            self.status,
            Status::Missing { .. } | Status::Happened { .. }
        )
    }

    /// Whether it counts toward the N of "n/N TR steps": only the steps the variant takes.
    pub fn counted(&self) -> bool {
        matches!(self.status, Status::Seen { .. } | Status::Missing { .. })
    }

    /// Whether it was seen.
    pub fn seen(&self) -> bool {
        matches!(self.status, Status::Seen { .. })
    }

    /// Trace indices this step points at (seen hops, or the record of a step that happened).
    pub fn records(&self) -> Vec<usize> {
        match &self.status {
            Status::Seen { records } => records.clone(),
            Status::Missing { records } => records.iter().flatten().copied().collect(),
            Status::Happened { record } => vec![*record],
            Status::NotTaken { .. } | Status::Prevented { .. } => Vec::new(),
        }
    }
}

/// The trace, read once: each record's content.
struct Read<'a> {
    trace: &'a [Record],
    content: Vec<Option<Content>>,
}

impl<'a> Read<'a> {
    fn new(trace: &'a [Record]) -> Self {
        let content = trace
            .iter()
            .map(|r| match &r.body {
                Body::Sent { message, .. } => Some(Content::of(message)),
                _ => None,
            })
            .collect();
        Self { trace, content }
    }
}

/// Lines the ordered trace up with the figure: one result per step, in the figure's order.
/// A step the variant does not take, or that its threat's mitigation prevents, must be absent
/// from the flow: from the first record of the figure's first taken step on (what a variant
/// sets up before its flow — solution 9's ADC established before another AF tries to
/// terminate it — is not the flow).
pub fn match_steps(figure: &Figure, trace: &[Record]) -> Vec<StepResult> {
    let read = Read::new(trace);
    let mut step_start = 0;
    // The last message a taken step matched: what a step's first hop answers, if it is a
    // response (`Require::AnswersPrevious`) or in the same dialog.
    let mut last_message = None;
    let mut flow_start: Option<usize> = None;
    let taken: Vec<Option<Status>> = figure
        .steps
        .iter()
        .map(|step| {
            if step.plan != Plan::Taken {
                return None;
            }
            let (status, first, last) = find_step(&read, step, step_start, last_message);
            if let Some(first) = first {
                step_start = first + 1;
                flow_start = Some(flow_start.map_or(first, |f| f.min(first)));
            }
            last_message = last.or(last_message);
            Some(status)
        })
        .collect();
    let from = flow_start.unwrap_or(0);
    figure
        .steps
        .iter()
        .zip(taken)
        .map(|(step, status)| {
            let status = match (&step.plan, status) {
                (_, Some(status)) => status,
                (Plan::NotTaken(why), None) => {
                    absent(&read, step, from).unwrap_or(Status::NotTaken { why })
                }
                (Plan::Prevented { by }, None) => {
                    absent(&read, step, from).unwrap_or(Status::Prevented { by })
                }
                (Plan::Taken, None) => Status::Missing {
                    records: Vec::new(),
                },
            };
            StepResult {
                step: step.id,
                status,
            }
        })
        .collect()
}

/// A taken step: its hops in order from `start`; the index of the first one found, and of the
/// last message found. `previous` is the last message the steps before matched.
fn find_step(
    read: &Read<'_>,
    step: &Step,
    start: usize,
    mut previous: Option<usize>,
) -> (Status, Option<usize>, Option<usize>) {
    let mut cursor = start;
    let mut first = None;
    let mut last_message = None;
    let mut found = Vec::with_capacity(step.hops.len());
    for hop in &step.hops {
        let at = (cursor..read.trace.len()).find(|&i| matches(read, hop, i, previous));
        if let Some(i) = at {
            cursor = i + 1;
            first.get_or_insert(i);
            // Requirements on "the previous hop" mean the previous message (an action
            // between a request and its response does not count).
            if read.content[i].is_some() {
                previous = Some(i);
                last_message = Some(i);
            }
        }
        found.push(at);
    }
    let status = if found.iter().all(Option::is_some) {
        Status::Seen {
            records: found.into_iter().flatten().collect(),
        }
    } else {
        Status::Missing { records: found }
    };
    (status, first, last_message)
}

/// `Some(Happened)` if the step's first hop is in the trace from record `from` on.
fn absent(read: &Read<'_>, step: &Step, from: usize) -> Option<Status> {
    let hop = step.hops.first()?;
    (from..read.trace.len())
        .find(|&i| matches(read, hop, i, None))
        .map(|record| Status::Happened { record })
}

/// Whether record `i` is `hop`; `previous` is the record of the hop before it in the step.
fn matches(read: &Read<'_>, hop: &Hop, i: usize, previous: Option<usize>) -> bool {
    let record = &read.trace[i];
    if record.node == TESTBED || !hop.from.contains(&record.node.as_str()) {
        return false;
    }
    match (&record.body, hop.expect) {
        (Body::Sent { to, .. }, expect)
            if !matches!(expect, Expect::Act(..) | Expect::Token(_) | Expect::Jws(_)) =>
        {
            let to_ok = to.as_deref().is_some_and(|t| hop.to.contains(&t));
            let Some(content) = &read.content[i] else {
                return false;
            };
            to_ok
                && is(content, expect)
                && hop
                    .require
                    .iter()
                    .all(|r| carries(read, content, i, r, previous))
        }
        (Body::Note { note, .. }, Expect::Act(act, want)) => note
            .action()
            .is_some_and(|(got, outcome)| got == act && wanted(outcome, want)),
        (
            Body::Note {
                note: Note::Token { header, .. },
                ..
            },
            Expect::Token(ppt),
        ) => header.get("ppt").and_then(|p| p.as_str()) == Some(ppt),
        (
            Body::Note {
                note: Note::Token { header, claims, .. },
                ..
            },
            Expect::Jws(typ),
        ) => {
            header.get("typ").and_then(|t| t.as_str()) == Some(typ)
                && hop.require.iter().all(|r| claims_carry(claims, r))
        }
        _ => false,
    }
}

fn wanted(outcome: Outcome, want: Want) -> bool {
    match (outcome, want) {
        (Outcome::Done, Want::Done) => true,
        (Outcome::Refused(got), Want::Refused(reason)) => got == reason,
        _ => false,
    }
}

/// Whether the message is what `expect` names (method, status, path).
fn is(content: &Content, expect: Expect) -> bool {
    match (content, expect) {
        (Content::Sip(s), Expect::SipRequest(method)) => s.method.as_deref() == Some(method),
        (Content::Sip(s), Expect::SipResponse { method, lo, hi }) => {
            s.status.is_some_and(|c| (lo..=hi).contains(&c))
                && content.cseq_method().as_deref() == Some(method)
        }
        (Content::Http(h), Expect::HttpRequest { method, path }) => {
            h.status.is_none() && h.method == method && h.path.starts_with(path)
        }
        (Content::Http(h), Expect::HttpResponse { method, path }) => {
            h.status.is_some() && h.method == method && h.path.starts_with(path)
        }
        (Content::Dc(d), Expect::DcMessage { stream, kind }) => {
            d.stream == stream
                && d.http.is_none()
                && serde_json::from_str::<serde_json::Value>(&d.body)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                    .as_deref()
                    == Some(kind)
        }
        (Content::Dc(d), Expect::DcHttpRequest { method, path }) => d
            .http
            .as_ref()
            .is_some_and(|h| h.status.is_none() && h.method == method && h.path.starts_with(path)),
        (Content::Dc(d), Expect::DcHttpResponse) => {
            d.http.as_ref().is_some_and(|h| h.status.is_some())
        }
        _ => false,
    }
}

/// The claims of a compact JWS (its payload as JSON), without verifying it: the matcher reads
/// what travelled; whether it verifies is the receiving node's check, in its notes.
fn jws_claims(jws: &str) -> Option<Value> {
    let mut parts = jws.split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    let bytes = stir::jose::b64u_decode(payload, stir::jose::Part::Payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether a token note's claims carry what `require` asks (pointers into the claims).
fn claims_carry(claims: &Value, require: &Require) -> bool {
    match require {
        Require::Json(pointer) => claims.pointer(pointer).is_some(),
        Require::NoJson(pointer) => claims.pointer(pointer).is_none(),
        Require::JsonIs(pointer, value) => json_text(claims, pointer).is_some_and(|v| v == *value),
        Require::JsonHas(pointer, part) => {
            json_text(claims, pointer).is_some_and(|v| v.contains(part))
        }
        _ => false,
    }
}

/// Whether the message carries what `require` asks.
fn carries(
    read: &Read<'_>,
    content: &Content,
    i: usize,
    require: &Require,
    previous: Option<usize>,
) -> bool {
    match require {
        Require::Header(name) => !content.header_values(name).is_empty(),
        Require::HeaderHas(name, part) => {
            content.header_values(name).iter().any(|v| v.contains(part))
        }
        Require::NoHeader(name) => content.header_values(name).is_empty(),
        Require::DisplayName(name) => content.name_addr(name).is_some_and(|n| n.display.is_some()),
        Require::NoDisplayName(name) => {
            content.name_addr(name).is_some_and(|n| n.display.is_none())
        }
        Require::Json(pointer) => content.json().is_some_and(|j| j.pointer(pointer).is_some()),
        Require::NoJson(pointer) => content.json().is_some_and(|j| j.pointer(pointer).is_none()),
        Require::JsonIs(pointer, value) => content
            .json()
            .and_then(|j| json_text(&j, pointer))
            .is_some_and(|v| v == *value),
        Require::JsonHas(pointer, part) => content
            .json()
            .and_then(|j| json_text(&j, pointer))
            .is_some_and(|v| v.contains(part)),
        Require::Status(code) => content.status() == Some(*code),
        Require::IdentityClaim(pointer) => content.header_values("Identity").iter().any(|v| {
            stir::IdentityHeader::parse(v)
                .ok()
                .and_then(|h| stir::passport::decode(&h.jws).ok())
                .is_some_and(|d| d.claims_json.pointer(pointer).is_some())
        }),
        Require::Dcmap => content.body().lines().any(|l| l.starts_with("a=dcmap:")),
        Require::BodyLine(line) => content.body().lines().any(|l| l.trim_end() == *line),
        Require::JwsClaim { at, claim, is } => content
            .json()
            .and_then(|j| j.pointer(at).and_then(Value::as_str).and_then(jws_claims))
            .and_then(|claims| json_text(&claims, claim))
            .is_some_and(|v| v == *is),
        Require::SameDialog => previous_content(read, previous)
            .is_some_and(|p| p.call_id().is_some() && p.call_id() == content.call_id()),
        Require::AnswersPrevious => answers(read, content, i, previous),
    }
}

fn previous_content<'r>(read: &'r Read<'_>, previous: Option<usize>) -> Option<&'r Content> {
    previous
        .and_then(|p| read.content.get(p))
        .and_then(Option::as_ref)
}

/// Whether record `i` (a response) answers the request at `previous`.
fn answers(read: &Read<'_>, content: &Content, i: usize, previous: Option<usize>) -> bool {
    let Some(p) = previous else {
        return false;
    };
    let (Some(request), Some(response)) = (read.trace[p].message(), read.trace[i].message()) else {
        return false;
    };
    match (previous_content(read, previous), content) {
        (Some(Content::Http(_)), Content::Http(_)) | (Some(Content::Dc(_)), Content::Dc(_)) => {
            response.src == request.dst && response.dst == request.src
        }
        (Some(req @ Content::Sip(_)), Content::Sip(_)) => {
            req.call_id().is_some()
                && req.call_id() == content.call_id()
                && req.cseq() == content.cseq()
                && req.top_branch() == content.top_branch()
        }
        _ => false,
    }
}
