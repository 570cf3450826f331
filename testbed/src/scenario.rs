//! Scenarios as data (DESIGN §4): each declares its TR figure's steps — clause, figure, step
//! number, who sends to whom, what happens in our words, and what in the trace shows it — and
//! the outcomes its threat variant must show. [`match_steps`] lines a run's trace up with the
//! steps; a step the run never performed is reported missing, never skipped silently.

use proto::trace::{Body, Note, Proto, Record};
use serde::Serialize;

/// What in the trace shows a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Expect {
    /// A SIP request with this method, sent by one of `from` to one of `to`.
    SipRequest(&'static str),
    /// A SIP response with a status code in `lo..=hi` to a request of this method.
    SipResponse {
        method: &'static str,
        lo: u16,
        hi: u16,
    },
    /// An HTTP request whose request line starts with this (`POST /stir/v1/signing`).
    HttpRequest(&'static str),
    /// An HTTP response to a request whose line starts with this.
    HttpResponse(&'static str),
    /// A note of an internal action by one of `from` whose label contains this.
    Action(&'static str),
}

/// One part of a TR step: who, to whom, and what in the trace shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub from: &'static [&'static str],
    /// Empty for an internal action.
    pub to: &'static [&'static str],
    pub expect: Expect,
}

/// A hop, as scenario tables write it.
pub const fn hop(
    from: &'static [&'static str],
    to: &'static [&'static str],
    expect: Expect,
) -> Hop {
    Hop { from, to, expect }
}

/// An INVITE request.
pub const fn invite() -> Expect {
    Expect::SipRequest("INVITE")
}

/// A response to an INVITE with a status in `lo..=hi`.
pub const fn invite_response(lo: u16, hi: u16) -> Expect {
    Expect::SipResponse {
        method: "INVITE",
        lo,
        hi,
    }
}

/// One numbered step of a TR figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The TR's own id (`3`, `7-8`).
    pub id: &'static str,
    /// The TR's endpoints, as the TR names them (`originating IMS system → STI-AS`).
    pub tr_from: &'static str,
    pub tr_to: &'static str,
    /// What happens, in the project's words.
    pub what: &'static str,
    /// Each must be seen, in this order, after the previous step's.
    pub hops: Vec<Hop>,
}

/// A TR figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub clause: &'static str,
    pub figure: &'static str,
    pub title: &'static str,
    pub steps: Vec<Step>,
}

/// Where a step was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepMatch {
    pub step: &'static str,
    /// Index into the ordered trace of each hop's record; `None` for a hop not seen.
    pub records: Vec<Option<usize>>,
}

impl StepMatch {
    pub fn seen(&self) -> bool {
        self.records.iter().all(Option::is_some)
    }
}

fn sip_start_line(raw: &str) -> &str {
    raw.lines().next().unwrap_or_default()
}

/// CSeq method of a SIP message.
pub fn sip_cseq_method(raw: &str) -> Option<&str> {
    raw.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("cseq")
            .then(|| value.split_whitespace().nth(1))
            .flatten()
    })
}

/// SIP status code of a response, if the message is one.
pub fn sip_status(raw: &str) -> Option<u16> {
    let line = sip_start_line(raw);
    line.strip_prefix("SIP/2.0 ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn hop_matches(hop: &Hop, record: &Record) -> bool {
    let sender = hop.from.contains(&record.node.as_str());
    match (&record.body, hop.expect) {
        (Body::Sent { to, message, .. }, expect) => {
            let to_ok = to.as_deref().is_some_and(|t| hop.to.contains(&t));
            if !sender || !to_ok {
                return false;
            }
            match (message.proto, expect) {
                (Proto::Sip, Expect::SipRequest(method)) => {
                    sip_status(&message.raw).is_none()
                        && sip_start_line(&message.raw).starts_with(&format!("{method} "))
                }
                (Proto::Sip, Expect::SipResponse { method, lo, hi }) => {
                    sip_status(&message.raw).is_some_and(|c| (lo..=hi).contains(&c))
                        && sip_cseq_method(&message.raw) == Some(method)
                }
                (Proto::Http, Expect::HttpRequest(line)) => message.summary.starts_with(line),
                (Proto::Http, Expect::HttpResponse(line)) => message
                    .summary
                    .split_once(" (")
                    .is_some_and(|(_, req)| req.starts_with(line)),
                _ => false,
            }
        }
        (
            Body::Note {
                note: Note::Action { label },
                ..
            },
            Expect::Action(text),
        ) => sender && label.contains(text),
        _ => false,
    }
}

/// Lines the ordered trace up with the figure. A step's hops are found in order; each step
/// starts after the previous step started (not after it ended: the TR draws the 18x/200 leaving
/// the callee and reaching the caller as two steps, while the 180 reaches the caller before
/// the 200 leaves the callee). Returns one match per step, in the figure's order.
pub fn match_steps(figure: &Figure, trace: &[Record]) -> Vec<StepMatch> {
    let mut step_start = 0;
    figure
        .steps
        .iter()
        .map(|step| {
            let mut cursor = step_start;
            let mut first = None;
            let records = step
                .hops
                .iter()
                .map(|hop| {
                    let found = trace
                        .iter()
                        .enumerate()
                        .skip(cursor)
                        .find(|(_, r)| hop_matches(hop, r))
                        .map(|(i, _)| i);
                    if let Some(i) = found {
                        cursor = i + 1;
                        first.get_or_insert(i);
                    }
                    found
                })
                .collect();
            if let Some(i) = first {
                step_start = i + 1;
            }
            StepMatch {
                step: step.id,
                records,
            }
        })
        .collect()
}

/// An observable outcome a variant must show, checked on the trace and the UEs' view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub what: String,
    pub passed: bool,
    pub detail: String,
}

impl Outcome {
    pub fn check(what: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            passed,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::tap::Tap;
    use proto::trace::{Message, Transport};

    fn addr(p: u16) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], p))
    }

    fn figure() -> Figure {
        Figure {
            clause: "x",
            figure: "x-1",
            title: "t",
            steps: vec![
                Step {
                    id: "1",
                    tr_from: "A",
                    tr_to: "B",
                    what: "invite",
                    hops: vec![Hop {
                        from: &["a"],
                        to: &["b"],
                        expect: Expect::SipRequest("INVITE"),
                    }],
                },
                Step {
                    id: "2",
                    tr_from: "B",
                    tr_to: "B",
                    what: "sign",
                    hops: vec![Hop {
                        from: &["b"],
                        to: &[],
                        expect: Expect::Action("sign"),
                    }],
                },
                Step {
                    id: "3",
                    tr_from: "B",
                    tr_to: "A",
                    what: "ok",
                    hops: vec![Hop {
                        from: &["b"],
                        to: &["a"],
                        expect: Expect::SipResponse {
                            method: "INVITE",
                            lo: 200,
                            hi: 299,
                        },
                    }],
                },
            ],
        }
    }

    #[test]
    fn steps_match_in_order_and_missing_ones_show() {
        let tap = Tap::new();
        tap.register(addr(1), "a");
        tap.register(addr(2), "b");
        let invite = Message::sip(
            Transport::Udp,
            addr(1),
            addr(2),
            "INVITE".into(),
            "INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n".into(),
        );
        tap.sent("a", invite.clone());
        tap.received("b", invite);
        tap.note(
            "b",
            None,
            Note::Action {
                label: "sign PASSporT".into(),
            },
        );
        let ok = Message::sip(
            Transport::Udp,
            addr(2),
            addr(1),
            "200".into(),
            "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n".into(),
        );
        tap.sent("b", ok);
        let m = match_steps(&figure(), &tap.ordered());
        assert!(m.iter().all(StepMatch::seen), "{m:?}");
        assert_eq!(m[2].records, vec![Some(3)]);

        // Without the signing action, step 2 is missing but step 3 still matches after step 1.
        let tap2 = Tap::new();
        tap2.register(addr(1), "a");
        tap2.register(addr(2), "b");
        let ok = Message::sip(
            Transport::Udp,
            addr(2),
            addr(1),
            "200".into(),
            "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n".into(),
        );
        tap2.sent("b", ok);
        let m = match_steps(&figure(), &tap2.ordered());
        assert_eq!(
            m.iter().map(StepMatch::seen).collect::<Vec<_>>(),
            [false, false, true]
        );
    }

    #[test]
    fn sip_helpers() {
        assert_eq!(sip_status("SIP/2.0 180 Ringing\r\n"), Some(180));
        assert_eq!(sip_status("INVITE sip:x SIP/2.0\r\n"), None);
        assert_eq!(
            sip_cseq_method("BYE sip:x SIP/2.0\r\nCSeq: 2 BYE\r\n\r\nbody"),
            Some("BYE")
        );
    }
}
