//! The DCSF's control requests (§6.9.2.2 step 5), pure: the offers of the AS's re-INVITEs
//! for a change, and what each party's answer comes to.

use kit::http::Response as HttpResponse;
use proto::sdp::{Application, Session};
use proto::sip::Response;
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{Change, DcSection, PartyAnswer};

use super::{Call, sections, who};
use crate::dialog::Toward;

/// What the AS sends each party for one change: the offers, and the mid concerned.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reoffers {
    /// The section's mid.
    pub mid: String,
    /// The section added (its description, kept open), or `None` for a removal.
    pub added: Option<DcSection>,
    /// The offer to the caller (`None`: it has no such section to remove).
    pub caller: Option<Session>,
    /// The offer to the callee.
    pub callee: Option<Session>,
}

/// The offers for `change` in `call` (pure): `Err` is the HTTP answer when there are none.
pub(super) fn reoffers(call: &Call, change: &Change) -> Result<Reoffers, HttpResponse> {
    let local = |party| {
        Session::parse(call.sdp(party)).map_err(|e| {
            HttpResponse::text(
                409,
                format!("{}'s session description is not known: {e}", who(party)),
            )
        })
    };
    match change {
        Change::Update { .. } => Err(HttpResponse::text(
            501,
            "an update of a data channel is not carried out by this testbed",
        )),
        Change::Add { caller, callee } => {
            let section = |offer: &str, party| {
                sections::offered_section(offer).ok_or_else(|| {
                    HttpResponse::text(
                        400,
                        format!("the offer to {} holds no m=application section", who(party)),
                    )
                })
            };
            let (to_caller, to_callee) = (
                section(caller, Toward::Caller)?,
                section(callee, Toward::Callee)?,
            );
            let add =
                |s: &Application, party| local(party).map(|l| Some(sections::with_section(&l, s)));
            Ok(Reoffers {
                mid: to_caller.mid.clone(),
                added: Some(sections::describe(&to_caller)),
                caller: add(&to_caller, Toward::Caller)?,
                callee: add(&to_callee, Toward::Callee)?,
            })
        }
        Change::Remove { mid } => {
            let caller = sections::with_declined(&local(Toward::Caller)?, mid);
            let callee = sections::with_declined(&local(Toward::Callee)?, mid);
            if caller.is_none() && callee.is_none() {
                return Err(HttpResponse::text(
                    404,
                    format!("no data channel section {mid} in the call"),
                ));
            }
            Ok(Reoffers {
                mid: mid.clone(),
                added: None,
                caller,
                callee,
            })
        }
    }
}

/// What one party's re-INVITE of `plan` came to (pure): its answer for the DCSF, the note, and
/// its new local session (the body of its 2xx).
pub(super) fn answered(
    party: Toward,
    plan: &Reoffers,
    sent: Result<Response, crate::Error>,
) -> (PartyAnswer, Note, Option<String>) {
    let what = match plan.added {
        Some(_) => format!("adding data channel section {}", plan.mid),
        None => format!("removing data channel section {}", plan.mid),
    };
    let r = match sent {
        Ok(r) => r,
        Err(e) => {
            let status = match e {
                crate::Error::Transport(kit::Error::Timeout { .. }) => 408,
                _ => 503,
            };
            let note = Note::refused(
                Act::ChangeDataChannels,
                e.reason(),
                format!("re-INVITE to {} {what}: {e}", who(party)),
            );
            return (
                PartyAnswer {
                    status,
                    answer: None,
                },
                note,
                None,
            );
        }
    };
    let status = r.status_code.code();
    if !(200..300).contains(&status) {
        let note = Note::refused(
            Act::ChangeDataChannels,
            Reason::Declined,
            format!(
                "re-INVITE to {} {what} refused: {status} {}",
                who(party),
                r.status_code
            ),
        );
        return (
            PartyAnswer {
                status,
                answer: None,
            },
            note,
            None,
        );
    }
    let body = String::from_utf8_lossy(&r.body).into_owned();
    let answer = plan
        .added
        .as_ref()
        .and(Session::parse(&body).ok())
        .and_then(|s| sections::only(&s, &plan.mid))
        .map(|s| s.render());
    let note = Note::done(
        Act::ChangeDataChannels,
        format!("re-INVITE to {} {what}: {status}", who(party)),
    );
    (PartyAnswer { status, answer }, note, Some(body))
}
