//! What a variant must show, as typed checks declared per variant, and judging them on what the
//! users saw and on the trace. A refusal is judged by its typed reason: a check for "refused,
//! expired" fails on a refusal for any other reason.

use proto::sipmsg::NameAddr;
use proto::trace::{Act, Body, Note, Outcome as ActOutcome, Reason, Record};
use serde::Serialize;

mod aos;
mod avatar;
mod exposure;

use super::play::{DcExpect, Observed, PlayError};
use crate::scenario::content::Content;

/// One observable outcome a variant must show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Check {
    /// The call is answered (2xx) and hangs up cleanly (BYE answered 200).
    Answered,
    /// The caller's INVITE is refused with this code and nothing reaches the callee.
    Refused(u16),
    /// The attacker's registration attempts end with these codes (401 without credentials,
    /// 403 with wrong ones).
    Registrations(&'static [u16]),
    /// The STI-AS answers a signing request sent to it outside any call with this status.
    DirectSigning(u16),
    /// The shaken PASSporT the STI-AS signs carries this attestation.
    Attested(&'static str),
    /// The callee's P-Asserted-Identity carries `verstat` with this value.
    Verstat(&'static str),
    /// The callee's From carries `verstat` with this value.
    FromVerstat(&'static str),
    /// The callee is shown this caller name (the P-Asserted-Identity display name, else
    /// From's), or none.
    Name(Option<&'static str>),
    /// The callee gets (or does not get) a Call-Info with `purpose=rcd-jcard`.
    Jcard(bool),
    /// Node `from` sends (or does not send) any request to node `to`.
    Asked {
        /// The requester.
        from: &'static str,
        /// The server.
        to: &'static str,
        /// Whether it must.
        yes: bool,
    },
    /// A PASSporT of this `ppt` is (or is not) signed by the STI-AS (its JOSE header).
    Signed {
        /// `shaken`, `rcd`.
        ppt: &'static str,
        /// Whether it must be.
        yes: bool,
    },
    /// The STI-VS rejects the PASSporT of this `ppt`: its Ms answer says `fail` with `code`, and
    /// its failed check gives `reason`.
    VsRejects {
        /// `shaken`, `rcd`.
        ppt: &'static str,
        /// The SIP code (438, 437, …).
        code: u16,
        /// The typed reason.
        reason: Reason,
    },
    /// Node `by` takes `act` (and does not refuse it).
    Did {
        /// The node.
        by: &'static str,
        /// The action.
        act: Act,
    },
    /// Node `by` runs a check that fails for `reason`.
    CheckFails {
        /// The node.
        by: &'static str,
        /// Why it fails.
        reason: Reason,
    },
    /// The callee's P-Asserted-Identity names this number.
    AssertedNumber(&'static str),
    /// Node `by` refuses `act`, for `reason` and no other.
    Refusal {
        /// The node.
        by: &'static str,
        /// The action refused.
        act: Act,
        /// Why.
        reason: Reason,
    },
    /// What the call's data channels must do.
    Dc(DcExpect),
    /// The XR AS's answer to the caller (relayed on its bootstrap channel) has this status.
    AvatarAnswer(u16),
    /// UE-B is shown this many frames of this avatar.
    AvatarShown {
        /// The avatar.
        avatar_id: &'static str,
        /// How many frames.
        frames: usize,
    },
    /// UE-B is shown no avatar.
    NoAvatarShown,
    /// The UE that renders cannot open the avatar object, for this reason, and renders nothing.
    NotRendered(Reason),
    /// Nodes `a` and `b` derive the same object key (`same`), or different ones.
    SameKey {
        /// One node.
        a: &'static str,
        /// The other.
        b: &'static str,
        /// Whether the keys must be equal.
        same: bool,
    },
    /// Solution 8: the originating STI-VS rejects the answer's PASSporT of this `ppt` (as
    /// [`Check::VsRejects`] for the terminating one).
    AnswerVsRejects {
        /// `shaken`, `rcd`.
        ppt: &'static str,
        /// The SIP code.
        code: u16,
        /// The typed reason.
        reason: Reason,
    },
    /// Solution 8: the 200 the caller gets carries P-Asserted-Identity with this `verstat`
    /// (`None`: no P-Asserted-Identity, nothing was signed into the answer).
    AnswerVerstat(Option<&'static str>),
    /// Solution 8 step 21: this party (UE-B is shown the caller's avatar, the caller UE-B's) is
    /// shown this avatar, fetched and checked, or (`None`) none.
    PeerAvatar {
        /// `callee` or `caller`.
        party: Party,
        /// The avatar shown.
        avatar_id: Option<&'static str>,
    },
    /// Solution 8 step 21: the extra fetch (a stranger's, or a second one) is refused for this
    /// reason and shows nothing.
    ExtraFetchRefused(Reason),
    /// Solution 9: the NEF answers the AF's request number `step` (in the plan's order) with
    /// this status.
    AfStatus {
        /// The request's index.
        step: usize,
        /// The status.
        status: u16,
    },
    /// Solution 9: the AF receives notifications of this event, and every one of them names
    /// the parties by pseudonym (`anonymised`) or by IMPU.
    Notified {
        /// The AF.
        af: &'static str,
        /// The event (`dc-established`).
        event: &'static str,
        /// Whether the parties are pseudonyms.
        anonymised: bool,
    },
    /// Solution 9: the AF receives no notification at all.
    NotNotified {
        /// The AF.
        af: &'static str,
    },
    /// Solution 9: after request number `after`, the AF-established ADC is open (or closed) at
    /// both UEs; when open, it carried a message each way between each UE and the MF.
    Adc {
        /// The request's index.
        after: usize,
        /// Whether it is open.
        open: bool,
    },
    /// Solution 9: after request number `after`, UE-A's bootstrap channel is open (or closed).
    Bdc {
        /// The request's index.
        after: usize,
        /// Whether it is open.
        open: bool,
    },
    /// Solution 9: UE `ue` downloaded DC application `app` over its bootstrap channel because
    /// the network asked (`yes`), or downloaded nothing it was asked to.
    Downloaded {
        /// The UE.
        ue: &'static str,
        /// The application.
        app: &'static str,
        /// Whether it did.
        yes: bool,
    },
}

/// A party of the call, for [`Check::PeerAvatar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Party {
    /// The caller (shown the callee's avatar).
    Caller,
    /// UE-B (shown the caller's avatar).
    Callee,
}

/// A judged check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// What was expected, in our words.
    pub what: String,
    /// Whether it was observed.
    pub passed: bool,
    /// What was observed.
    pub detail: String,
}

impl Outcome {
    fn new(what: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// Judges every check.
pub fn judge(checks: &[Check], observed: &Observed, trace: &[Record]) -> Vec<Outcome> {
    checks.iter().map(|c| c.judge(observed, trace)).collect()
}

fn yes_no(yes: bool, a: &str, b: &str) -> String {
    if yes { a.to_owned() } else { b.to_owned() }
}

impl Check {
    /// Judges this check.
    pub fn judge(&self, observed: &Observed, trace: &[Record]) -> Outcome {
        match self {
            Check::Answered => answered(observed),
            Check::Refused(code) => refused(observed, *code),
            Check::Registrations(codes) => registrations(observed, codes),
            Check::DirectSigning(code) => direct_signing(observed, *code),
            Check::Attested(level) => attested(trace, level),
            Check::Verstat(want) => verstat(observed, "P-Asserted-Identity", want),
            Check::FromVerstat(want) => verstat(observed, "From", want),
            Check::Name(want) => name(observed, *want),
            Check::Jcard(want) => jcard(observed, *want),
            Check::Asked { from, to, yes } => asked(trace, from, to, *yes),
            Check::Signed { ppt, yes } => signed(trace, ppt, *yes),
            Check::VsRejects { ppt, code, reason } => {
                vs_rejects(trace, crate::node::STI_VS_T, ppt, *code, *reason)
            }
            Check::AnswerVsRejects { ppt, code, reason } => {
                vs_rejects(trace, crate::node::STI_VS_O, ppt, *code, *reason)
            }
            Check::Refusal { by, act, reason } => refusal(trace, by, *act, *reason),
            Check::Did { by, act } => did(trace, by, *act),
            Check::CheckFails { by, reason } => check_fails(trace, by, *reason),
            Check::AssertedNumber(tn) => asserted_number(observed, tn),
            Check::Dc(want) => dc(observed, *want),
            Check::AvatarAnswer(code) => avatar::answer(observed, *code),
            Check::AvatarShown { avatar_id, frames } => avatar::shown(observed, avatar_id, *frames),
            Check::NoAvatarShown => avatar::none_shown(observed),
            Check::NotRendered(reason) => avatar::not_rendered(observed, *reason),
            Check::SameKey { a, b, same } => avatar::same_key(trace, a, b, *same),
            Check::AnswerVerstat(want) => aos::answer_verstat(observed, *want),
            Check::PeerAvatar { party, avatar_id } => aos::peer(observed, *party, *avatar_id),
            Check::ExtraFetchRefused(reason) => aos::extra_refused(observed, *reason),
            Check::AfStatus { step, status } => exposure::status(observed, *step, *status),
            Check::Notified {
                af,
                event,
                anonymised,
            } => exposure::notified(observed, af, event, *anonymised),
            Check::NotNotified { af } => exposure::not_notified(observed, af),
            Check::Adc { after, open } => exposure::adc(observed, *after, *open),
            Check::Bdc { after, open } => exposure::bdc(observed, *after, *open),
            Check::Downloaded { ue, app, yes } => exposure::downloaded(observed, ue, app, *yes),
        }
    }
}

fn answered(observed: &Observed) -> Outcome {
    let code = observed.answered.unwrap_or(0);
    let bye = observed.bye;
    Outcome::new(
        "the call is answered (200) and completes",
        (200..300).contains(&code) && bye == Some(200),
        format!(
            "final response {code}, BYE {}",
            bye.map_or("not sent".into(), |c| c.to_string())
        ),
    )
}

fn refused(observed: &Observed, want: u16) -> Outcome {
    let code = observed.answered.unwrap_or(0);
    let reached = observed.callee_got.is_some();
    Outcome::new(
        format!("the caller's INVITE is refused with {want}, and nothing reaches the callee"),
        code == want && !reached,
        format!(
            "final response {code}; the callee {}",
            if reached {
                "received an INVITE"
            } else {
                "received nothing"
            }
        ),
    )
}

fn registrations(observed: &Observed, want: &[u16]) -> Outcome {
    let got: Vec<String> = observed.registrations.iter().map(u16::to_string).collect();
    let wanted: Vec<String> = want.iter().map(u16::to_string).collect();
    Outcome::new(
        format!(
            "the attacker's registrations end with {}",
            wanted.join(", then ")
        ),
        observed.registrations == want,
        format!("registration answers: {}", got.join(", ")),
    )
}

fn direct_signing(observed: &Observed, want: u16) -> Outcome {
    Outcome::new(
        format!("the STI-AS answers a signing request from outside its network with {want}"),
        observed.direct_signing == Some(want),
        format!(
            "answer: {}",
            observed
                .direct_signing
                .map_or("none".into(), |c| c.to_string())
        ),
    )
}

fn attested(trace: &[Record], want: &str) -> Outcome {
    let levels: Vec<String> = notes(trace, crate::node::STI_AS_O)
        .filter_map(|n| match n {
            Note::Token { header, claims, .. }
                if header.get("ppt").and_then(|p| p.as_str()) == Some("shaken") =>
            {
                claims
                    .get("attest")
                    .and_then(|a| a.as_str())
                    .map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    Outcome::new(
        format!("the shaken PASSporT is signed with attestation {want}"),
        !levels.is_empty() && levels.iter().all(|l| l == want),
        format!("attest: {}", levels.join(", ")),
    )
}

/// The INVITE the callee received, read.
fn at_callee(observed: &Observed) -> Option<Content> {
    observed
        .callee_got
        .as_ref()
        .map(|invite| Content::sip(proto::sip::SipMessage::Request(invite.clone())))
}

const NO_INVITE: &str = "no INVITE reached the callee";

fn verstat(observed: &Observed, header: &str, want: &str) -> Outcome {
    let what = format!("the callee gets {header} with verstat={want}");
    let Some(invite) = at_callee(observed) else {
        return Outcome::new(what, false, NO_INVITE);
    };
    let addr = invite.name_addr(header);
    let got = addr
        .as_ref()
        .and_then(|a| a.uri_param("verstat").map(str::to_owned))
        .unwrap_or_else(|| "(none)".into());
    let uri = addr.as_ref().map_or("(none)".into(), |a| a.uri.clone());
    let uri = uri.split(";verstat=").next().unwrap_or_default();
    Outcome::new(
        what,
        got == want,
        format!("{header} {uri} with verstat={got}"),
    )
}

fn name(observed: &Observed, want: Option<&str>) -> Outcome {
    let what = match want {
        Some(n) => format!("the callee is shown the verified name {n:?}"),
        None => "the callee is shown no caller name".into(),
    };
    let Some(invite) = at_callee(observed) else {
        return Outcome::new(what, false, NO_INVITE);
    };
    let display = |h: &str| invite.name_addr(h).and_then(|n: NameAddr| n.display);
    let shown = display("P-Asserted-Identity").or_else(|| display("From"));
    Outcome::new(
        what,
        shown.as_deref() == want,
        format!(
            "name at the callee: {}",
            shown.map_or("none".into(), |n| format!("{n:?}"))
        ),
    )
}

fn jcard(observed: &Observed, want: bool) -> Outcome {
    let what = yes_no(
        want,
        "the callee gets the jCard URL (Call-Info purpose=rcd-jcard)",
        "the callee gets no jCard URL",
    );
    let Some(invite) = at_callee(observed) else {
        return Outcome::new(what, false, NO_INVITE);
    };
    let got = invite
        .header_values("Call-Info")
        .iter()
        .any(|v| v.contains("purpose=rcd-jcard"));
    Outcome::new(
        what,
        got == want,
        format!("Call-Info rcd-jcard {}", yes_no(got, "present", "absent")),
    )
}

fn asked(trace: &[Record], from: &str, to: &str, yes: bool) -> Outcome {
    let requests = trace
        .iter()
        .filter(|r| r.node == from)
        .filter_map(|r| match &r.body {
            Body::Sent {
                to: Some(t),
                message,
                ..
            } if t == to => Some(Content::of(message)),
            _ => None,
        })
        .filter(|c| c.status().is_none())
        .count();
    Outcome::new(
        yes_no(
            yes,
            &format!("{from} asks {to}"),
            &format!("{from} does not ask {to}"),
        ),
        (requests > 0) == yes,
        format!("{from} → {to} requests: {requests}"),
    )
}

fn notes<'a>(trace: &'a [Record], node: &'a str) -> impl Iterator<Item = &'a Note> + 'a {
    trace
        .iter()
        .filter(move |r| r.node == node)
        .filter_map(|r| match &r.body {
            Body::Note { note, .. } => Some(note),
            _ => None,
        })
}

fn signed(trace: &[Record], ppt: &str, yes: bool) -> Outcome {
    let count = notes(trace, crate::node::STI_AS_O)
        .filter(|n| match n {
            Note::Token { header, .. } => header.get("ppt").and_then(|p| p.as_str()) == Some(ppt),
            _ => false,
        })
        .count();
    Outcome::new(
        yes_no(
            yes,
            &format!("a {ppt} PASSporT is signed"),
            &format!("no {ppt} PASSporT is signed"),
        ),
        (count > 0) == yes,
        format!("{ppt} PASSporTs signed: {count}"),
    )
}

fn vs_rejects(trace: &[Record], by: &str, ppt: &str, code: u16, reason: Reason) -> Outcome {
    let who = if by == crate::node::STI_VS_O {
        "originating STI-VS"
    } else {
        "STI-VS"
    };
    let what = format!("the {who} rejects the {ppt} PASSporT with {code} ({reason})");
    let answered = trace
        .iter()
        .filter(|r| r.node == by)
        .filter_map(|r| r.message().filter(|_| matches!(r.body, Body::Sent { .. })))
        .filter_map(|m| Content::of(m).json())
        .flat_map(|doc| {
            doc.pointer("/verificationResponse/verifyResults")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
        })
        .filter_map(|e| e.get("verifyResult").cloned())
        .find(|e| e.get("ppt").and_then(|p| p.as_str()) == Some(ppt));
    let failed_check = notes(trace, by).find_map(|n| match n {
        Note::Check {
            passed: false,
            code: Some(c),
            reason: Some(r),
            name,
            detail,
        } if *c == code && *r == reason => Some(format!("{name}: {detail}")),
        _ => None,
    });
    let status = answered.as_ref().map(|e| {
        (
            e.get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("?")
                .to_owned(),
            e.get("reasonCode").and_then(serde_json::Value::as_u64),
        )
    });
    let in_answer = status
        .as_ref()
        .is_some_and(|(s, c)| s == "fail" && *c == Some(u64::from(code)));
    Outcome::new(
        what,
        in_answer && failed_check.is_some(),
        format!(
            "Ms answer for {ppt}: {}; check: {}",
            status.map_or("none".into(), |(s, c)| format!(
                "{s} {}",
                c.map_or("-".into(), |c| c.to_string())
            )),
            failed_check.unwrap_or_else(|| format!("no failed check for {reason}"))
        ),
    )
}

fn refusal(trace: &[Record], by: &str, act: Act, reason: Reason) -> Outcome {
    let outcomes: Vec<ActOutcome> = notes(trace, by)
        .filter_map(Note::action)
        .filter(|(a, _)| *a == act)
        .map(|(_, o)| o)
        .collect();
    let refused: Vec<Reason> = outcomes.iter().filter_map(|o| o.reason()).collect();
    let passed = refused.contains(&reason) && refused.iter().all(|r| *r == reason);
    let tag = serde_json::to_value(act)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Outcome::new(
        format!("{by} refuses {tag}: {reason}"),
        passed,
        if outcomes.is_empty() {
            format!("{by} took no {tag} action")
        } else {
            format!(
                "{by} {tag}: {}",
                outcomes
                    .iter()
                    .map(|o| o
                        .reason()
                        .map_or("done".into(), |r| format!("refused ({r})")))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    )
}

fn tag(act: Act) -> String {
    serde_json::to_value(act)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn did(trace: &[Record], by: &str, act: Act) -> Outcome {
    let outcomes: Vec<ActOutcome> = notes(trace, by)
        .filter_map(Note::action)
        .filter(|(a, _)| *a == act)
        .map(|(_, o)| o)
        .collect();
    let tag = tag(act);
    Outcome::new(
        format!("{by} takes {tag}"),
        outcomes.iter().any(|o| o.is_done()) && outcomes.iter().all(|o| o.is_done()),
        format!(
            "{by} {tag}: {}",
            if outcomes.is_empty() {
                "none".to_owned()
            } else {
                outcomes
                    .iter()
                    .map(|o| {
                        o.reason()
                            .map_or("done".into(), |r| format!("refused ({r})"))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    )
}

fn check_fails(trace: &[Record], by: &str, reason: Reason) -> Outcome {
    let failed = notes(trace, by).find_map(|n| match n {
        Note::Check {
            passed: false,
            reason: Some(r),
            name,
            detail,
            ..
        } if *r == reason => Some(format!("{name}: {detail}")),
        _ => None,
    });
    Outcome::new(
        format!("{by} finds a check failing: {reason}"),
        failed.is_some(),
        failed.unwrap_or_else(|| format!("no failed check of {by} for {reason}")),
    )
}

fn asserted_number(observed: &Observed, tn: &str) -> Outcome {
    let what = format!("the callee is told the caller is {tn} (P-Asserted-Identity)");
    let Some(invite) = at_callee(observed) else {
        return Outcome::new(what, false, NO_INVITE);
    };
    let got = invite.name_addr("P-Asserted-Identity").and_then(|n| n.tn());
    let want = format!("+{}", proto::tn::digits(tn));
    Outcome::new(
        what,
        got.as_deref().map(|g| format!("+{}", proto::tn::digits(g))) == Some(want),
        format!(
            "P-Asserted-Identity number: {}",
            got.unwrap_or_else(|| "none".into())
        ),
    )
}

fn dc(observed: &Observed, want: DcExpect) -> Outcome {
    let up = observed.bye == Some(200);
    let Some(p2p) = &observed.dc else {
        return Outcome::new("data channels", false, "no data channel phase ran");
    };
    let detail = format!(
        "peer to peer {}, to the network {}, call up until BYE: {up}",
        describe(p2p),
        observed.network.as_ref().map_or("-".into(), describe)
    );
    let (what, passed) = match want {
        DcExpect::Up => (
            "the data channels open on both sides and carry avatar messages both ways; BYE closes them",
            matches!(p2p, Ok(3)) && up,
        ),
        DcExpect::Declined => (
            "the callee declines the data channels (port 0) and the call stays up",
            matches!(p2p, Err(PlayError::Dc(dc::DcError::Declined))) && up,
        ),
        DcExpect::Unreachable => (
            "the data channels fail within their bound and the call stays up",
            matches!(p2p, Err(PlayError::Dc(dc::DcError::NotConnected { .. }))) && up,
        ),
        DcExpect::Bootstrap => (
            "peer-to-peer channels carry avatar messages both ways; each UE's bootstrap channel to its own network's MF carries GET / and its DC application list; a re-INVITE adds a channel to the caller's MF that carries a message each way; BYE closes them",
            matches!(p2p, Ok(3)) && matches!(observed.network, Some(Ok(3))) && up,
        ),
    };
    Outcome::new(what, passed, detail)
}

fn describe(r: &Result<usize, PlayError>) -> String {
    match r {
        Ok(n) => format!("{n} exchanges"),
        Err(e) => format!("failed: {e}"),
    }
}
