//! The DCSF's control requests (§6.9.2.2 step 5), pure: the offers of the AS's re-INVITEs
//! for a change, and what each party's answer comes to.

use kit::http::Response as HttpResponse;
use proto::sdp::{Application, Session};
use proto::sip::Response;
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{Change, DcSection, Party, PartyAnswer};

use super::{Call, sections, who};
use crate::dialog::Toward;

/// What a change does to the section `mid` of [`Reoffers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum What {
    /// A section added (its description, kept open when a party answers it with a port).
    Add(DcSection),
    /// A section re-offered as a new association for the same mid (its new description).
    Update(DcSection),
    /// A section declined (port 0).
    Remove,
    /// A party asked to download this DC application over its bootstrap channel.
    Download(String),
}

/// What the AS sends one party for one change.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Reoffer {
    /// A re-INVITE with this offer.
    Send(Session),
    /// No re-INVITE: the party has no section of the mid.
    NoSection,
    /// No re-INVITE: the change is for the other party only.
    OtherParty,
}

/// What the AS sends each party for one change: the offers, and the mid concerned.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reoffers {
    /// The section's mid.
    pub mid: String,
    /// What the change does.
    pub what: What,
    /// The re-INVITE to the caller.
    pub caller: Reoffer,
    /// The re-INVITE to the callee.
    pub callee: Reoffer,
}

impl Reoffers {
    /// The re-INVITE to `party`.
    pub(super) fn to(&self, party: Toward) -> &Reoffer {
        match party {
            Toward::Caller => &self.caller,
            Toward::Callee => &self.callee,
        }
    }
}

/// The dialog side of a party of the wire.
pub(super) fn toward(party: Party) -> Toward {
    match party {
        Party::Caller => Toward::Caller,
        Party::Callee => Toward::Callee,
    }
}

/// A party, as a description of a change names it.
fn role(party: Toward) -> &'static str {
    match party {
        Toward::Caller => "the caller",
        Toward::Callee => "the callee",
    }
}

/// A re-INVITE with `offer`, or none when the party has no section of the mid (`None`).
fn reoffer(offer: Option<Session>) -> Reoffer {
    offer.map_or(Reoffer::NoSection, Reoffer::Send)
}

/// The offers for `change` in `call` (pure): `Err` is the HTTP answer when there are none.
pub(super) fn reoffers(call: &Call, change: &Change) -> Result<Reoffers, HttpResponse> {
    match change {
        Change::Add { caller, callee } => added(call, caller, callee),
        Change::Update { caller, callee } => updated(call, caller, callee),
        Change::Remove { mid, only: None } => {
            let caller = sections::with_declined(&local(call, Toward::Caller)?, mid);
            let callee = sections::with_declined(&local(call, Toward::Callee)?, mid);
            if caller.is_none() && callee.is_none() {
                return Err(none_of(mid));
            }
            Ok(Reoffers {
                mid: mid.clone(),
                what: What::Remove,
                caller: reoffer(caller),
                callee: reoffer(callee),
            })
        }
        Change::Remove {
            mid,
            only: Some(party),
        } => {
            let party = toward(*party);
            let offer = sections::with_declined(&local(call, party)?, mid).ok_or_else(|| {
                HttpResponse::text(
                    404,
                    format!("{} has no data channel section {mid}", who(party)),
                )
            })?;
            Ok(one(party, mid, What::Remove, offer))
        }
        Change::Download { party, app } => {
            let party = toward(*party);
            let offer = sections::with_download(&local(call, party)?, app).ok_or_else(|| {
                HttpResponse::text(
                    409,
                    format!(
                        "{} has no bootstrap data channel ({}) to download {app} over",
                        who(party),
                        sections::BDC_MID
                    ),
                )
            })?;
            Ok(one(
                party,
                sections::BDC_MID,
                What::Download(app.clone()),
                offer,
            ))
        }
    }
}

/// `party`'s current session description in `call`.
fn local(call: &Call, party: Toward) -> Result<Session, HttpResponse> {
    Session::parse(call.sdp(party)).map_err(|e| {
        HttpResponse::text(
            409,
            format!("{}'s session description is not known: {e}", who(party)),
        )
    })
}

/// The one m=application section of the MF's `offer` to `party`.
fn section(offer: &str, party: Toward) -> Result<Application, HttpResponse> {
    sections::offered_section(offer).ok_or_else(|| {
        HttpResponse::text(
            400,
            format!("the offer to {} holds no m=application section", who(party)),
        )
    })
}

/// 404: no section `mid` at either party.
fn none_of(mid: &str) -> HttpResponse {
    HttpResponse::text(404, format!("no data channel section {mid} in the call"))
}

/// `Change::Add`: each party's session with the MF's section appended.
fn added(call: &Call, caller: &str, callee: &str) -> Result<Reoffers, HttpResponse> {
    let (to_caller, to_callee) = (
        section(caller, Toward::Caller)?,
        section(callee, Toward::Callee)?,
    );
    let add = |s: &Application, party| {
        local(call, party).map(|l| Reoffer::Send(sections::with_section(&l, s)))
    };
    Ok(Reoffers {
        mid: to_caller.mid.clone(),
        what: What::Add(sections::describe(&to_caller)),
        caller: add(&to_caller, Toward::Caller)?,
        callee: add(&to_callee, Toward::Callee)?,
    })
}

/// `Change::Update`: each party's section of the mid replaced in place by the MF's new one.
fn updated(call: &Call, caller: &str, callee: &str) -> Result<Reoffers, HttpResponse> {
    let (to_caller, to_callee) = (
        section(caller, Toward::Caller)?,
        section(callee, Toward::Callee)?,
    );
    if to_caller.mid != to_callee.mid {
        return Err(HttpResponse::text(
            400,
            format!(
                "the offers update two sections ({} and {})",
                to_caller.mid, to_callee.mid
            ),
        ));
    }
    let update = |s: &Application, party| {
        local(call, party).map(|l| reoffer(sections::with_replaced(&l, s)))
    };
    let (a, b) = (
        update(&to_caller, Toward::Caller)?,
        update(&to_callee, Toward::Callee)?,
    );
    if a == Reoffer::NoSection && b == Reoffer::NoSection {
        return Err(none_of(&to_caller.mid));
    }
    Ok(Reoffers {
        mid: to_caller.mid.clone(),
        what: What::Update(sections::describe(&to_caller)),
        caller: a,
        callee: b,
    })
}

/// A change re-INVITEing `party` only, with `offer`.
fn one(party: Toward, mid: &str, what: What, offer: Session) -> Reoffers {
    let (caller, callee) = match party {
        Toward::Caller => (Reoffer::Send(offer), Reoffer::OtherParty),
        Toward::Callee => (Reoffer::OtherParty, Reoffer::Send(offer)),
    };
    Reoffers {
        mid: mid.to_owned(),
        what,
        caller,
        callee,
    }
}

/// A party not re-INVITEd (status 0).
pub(super) fn not_reinvited() -> PartyAnswer {
    PartyAnswer {
        reinvited: false,
        status: 0,
        answer: None,
    }
}

/// What one party's re-INVITE of `plan` came to (pure): its answer for the DCSF, the note, and
/// its new local session (the body of its 2xx).
pub(super) fn answered(
    party: Toward,
    plan: &Reoffers,
    sent: Result<Response, crate::Error>,
) -> (PartyAnswer, Note, Option<String>) {
    let what = match &plan.what {
        What::Add(_) => format!("adding data channel section {}", plan.mid),
        What::Update(_) => format!("updating data channel section {}", plan.mid),
        What::Remove => format!("removing data channel section {}", plan.mid),
        What::Download(app) => format!(
            "asking {} to download {app} over its bootstrap channel",
            role(party)
        ),
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
                    reinvited: true,
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
                reinvited: true,
                status,
                answer: None,
            },
            note,
            None,
        );
    }
    let body = String::from_utf8_lossy(&r.body).into_owned();
    let answer = matches!(plan.what, What::Add(_) | What::Update(_))
        .then(|| Session::parse(&body).ok())
        .flatten()
        .and_then(|s| sections::only(&s, &plan.mid))
        .map(|s| s.render());
    let note = Note::done(
        Act::ChangeDataChannels,
        format!("re-INVITE to {} {what}: {status}", who(party)),
    );
    (
        PartyAnswer {
            reinvited: true,
            status,
            answer,
        },
        note,
        Some(body),
    )
}
