//! Solution #9 (TR 33.790 §6.9), the IMS AS's part: the caller's number is signed as any
//! operator does (no third-party identity, [`super::caller_number()`]); on the originating side the
//! AS is where the DCSF learns of a call's data channels and how it changes them:
//!
//! - DC events (§6.9.2.1 step 7's source, choice `9-event-source`): the `m=application`
//!   sections a 2xx to an INVITE or re-INVITE answers with a port are reported
//!   `dc-established` (`POST /dcsf/v1/dc-events`, mutual TLS), those it declines and those
//!   still open when the call's BYE passes `dc-terminated`;
//! - DC session control (§6.9.2.2 step 5: "DCSF triggers IMS AS to re-invite the IMS call to
//!   include DC offer with UEs"): the DCSF (`POST /as/v1/dc-control`, only the DCSF may ask)
//!   has the AS re-INVITE the parties in the call's dialog, caller first, each offered its
//!   current session (a new version) with the MF's section appended (an add) or put in place of
//!   the old one of its mid (an update: a new association), or the section declined (a
//!   removal: at both parties, or at one, its own bootstrap channel), or its bootstrap section
//!   asking for a DC application (`a=dcsa:0 3gpp-req-app:<app>`, a download: that party only),
//!   and gets back what each answered (a party the change does not concern is not
//!   re-INVITEd).
//!
//! The SDP work is pure ([`sections`]), as are naming the parties by IMPU ([`parties`]) and
//! the offers and outcomes of a control request ([`control`]).

mod control;
mod parties;
mod sections;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kit::http::{BoxFuture, Peer, Request as HttpRequest, Response as HttpResponse};
use proto::sdp::Session;
use proto::sip::{Request, Response};
use proto::sipmsg;
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{
    AS_DC_CONTROL_PATH, DCSF_EVENTS_PATH, DcChange, DcChanged, DcReport, DcSection, EventKind,
    PartyAnswer,
};

use super::caller_number::CallerNumber;
use super::{Flow, Origination, Side};
use crate::dialog::Toward;
use crate::io::Io;
use control::{Reoffer, Reoffers, What, answered, not_reinvited, reoffers};

/// The bound on each of the AS's own re-INVITEs.
const WAIT: Duration = Duration::from_secs(2);

/// What the originating AS keeps of a call on its path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    /// The caller's IMPU.
    caller: String,
    /// The callee's IMPU.
    callee: String,
    /// The caller's From tag: whose offer a re-INVITE is.
    caller_tag: String,
    /// The sections reported open (or added at the DCSF's request), by mid.
    open: BTreeMap<String, DcSection>,
    /// The caller's current local session: its last offer answered 2xx, or its last 2xx.
    caller_sdp: String,
    /// The callee's current local session: its last 2xx, or its last offer answered 2xx.
    callee_sdp: String,
}

impl Call {
    /// The local session of `party`.
    fn sdp(&self, party: Toward) -> &str {
        match party {
            Toward::Caller => &self.caller_sdp,
            Toward::Callee => &self.callee_sdp,
        }
    }

    /// Sets the local session of `party`.
    fn set_sdp(&mut self, party: Toward, sdp: String) {
        match party {
            Toward::Caller => self.caller_sdp = sdp,
            Toward::Callee => self.callee_sdp = sdp,
        }
    }

    /// A report of `sections` in this call.
    fn report(&self, call_id: &str, event: EventKind, sections: Vec<DcSection>) -> DcReport {
        DcReport {
            event,
            call_id: call_id.to_owned(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            sections,
        }
    }
}

/// Solution #9's operators.
#[derive(Debug, Default)]
pub(crate) struct DcExposureFlow {
    /// What is presented and signed: the caller's own number.
    plain: CallerNumber,
    /// The calls on the originating AS's path, by Call-ID.
    calls: Mutex<BTreeMap<String, Call>>,
}

/// The IMS AS of solution 9: the caller's number signed; the call's data channels reported to
/// the DCSF and changed by re-INVITEs when the DCSF asks.
pub fn dc_exposure() -> Arc<dyn Flow> {
    Arc::new(DcExposureFlow::default())
}

/// The Call-ID of a request.
fn call_id(request: &Request) -> String {
    sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned()
}

/// The `tag` parameter of a request's header `name` (From, To).
fn tag(request: &Request, name: &str) -> Option<String> {
    sipmsg::first(&request.headers, name)?
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("tag="))
        .map(|t| t.trim().to_owned())
}

/// A party as the notes name it.
fn who(party: Toward) -> &'static str {
    match party {
        Toward::Caller => "UE-A",
        Toward::Callee => "UE-B",
    }
}

/// The mids of `sections`, for a note.
fn mids(sections: &[DcSection]) -> String {
    let mids: Vec<&str> = sections.iter().map(|s| s.mid.as_str()).collect();
    mids.join(", ")
}

impl DcExposureFlow {
    fn calls(&self) -> MutexGuard<'_, BTreeMap<String, Call>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The 2xx `response` to `invite` (originating): the call kept (an initial INVITE), each
    /// party's local session updated, and the sections it opened or closed; the reports to
    /// send.
    fn exchanged(&self, invite: &Request, response: &Response) -> Result<Vec<DcReport>, String> {
        let id = call_id(invite);
        let mut calls = self.calls();
        if tag(invite, "To").is_none() && !calls.contains_key(&id) {
            let (Some(caller), Some(callee)) = (parties::caller(invite), parties::callee(invite))
            else {
                return Err(format!(
                    "call {id}: no caller or callee identity in the INVITE, its data channels are not reported"
                ));
            };
            let caller_tag = tag(invite, "From").unwrap_or_default();
            calls.insert(
                id.clone(),
                Call {
                    caller,
                    callee,
                    caller_tag,
                    open: BTreeMap::new(),
                    caller_sdp: String::new(),
                    callee_sdp: String::new(),
                },
            );
        }
        let Some(call) = calls.get_mut(&id) else {
            return Ok(Vec::new());
        };
        let offerer = if tag(invite, "From").as_deref() == Some(call.caller_tag.as_str()) {
            Toward::Caller
        } else {
            Toward::Callee
        };
        let answerer = match offerer {
            Toward::Caller => Toward::Callee,
            Toward::Callee => Toward::Caller,
        };
        // An exchange without SDP (a re-INVITE refreshing the session) leaves them as they were.
        for (party, body) in [(offerer, &invite.body), (answerer, &response.body)] {
            if !body.is_empty() {
                call.set_sdp(party, String::from_utf8_lossy(body).into_owned());
            }
        }
        let (Some(offer), Some(answer)) = (
            sections::parse(&invite.body),
            sections::parse(&response.body),
        ) else {
            return Ok(Vec::new());
        };
        let exchange = sections::exchange(&offer, &answer, &call.open);
        for s in &exchange.opened {
            call.open.insert(s.mid.clone(), s.clone());
        }
        for s in &exchange.closed {
            call.open.remove(&s.mid);
        }
        let mut reports = Vec::new();
        if !exchange.opened.is_empty() {
            reports.push(call.report(&id, EventKind::DcEstablished, exchange.opened));
        }
        if !exchange.closed.is_empty() {
            reports.push(call.report(&id, EventKind::DcTerminated, exchange.closed));
        }
        Ok(reports)
    }

    /// The call ended: the report of the sections still open, and the call forgotten.
    fn end(&self, call_id: &str) -> Option<DcReport> {
        let call = self.calls().remove(call_id)?;
        let open: Vec<DcSection> = call.open.values().cloned().collect();
        (!open.is_empty()).then(|| call.report(call_id, EventKind::DcTerminated, open))
    }
}

/// Reports a DC event to the DCSF; a failure is noted and the call goes on.
async fn report(io: &Io<'_>, report: &DcReport) {
    if let Err(e) = io.dcsf_post(DCSF_EVENTS_PATH, report).await {
        io.note(Note::refused(
            Act::NotifyDcEvent,
            e.reason(),
            format!(
                "report {} of {} in call {} to the DCSF: {e}; the call goes on",
                report.event,
                mids(&report.sections),
                report.call_id
            ),
        ));
    }
}

impl Flow for DcExposureFlow {
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        invite: &'a mut Request,
        caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        self.plain.present(io, invite, caller_tn)
    }

    fn answers(&self) -> bool {
        true
    }

    fn answer<'a>(
        &'a self,
        io: &'a Io<'a>,
        side: Side,
        invite: &'a Request,
        response: &'a mut Response,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if side != Side::Originating || !io.has_dcsf() {
                return;
            }
            match self.exchanged(invite, response) {
                Ok(reports) => {
                    for r in &reports {
                        report(io, r).await;
                    }
                }
                Err(label) => io.note(Note::refused(
                    Act::NotifyDcEvent,
                    Reason::MissingIdentity,
                    label,
                )),
            }
        })
    }

    fn ended<'a>(&'a self, io: &'a Io<'a>, call_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !io.has_dcsf() {
                return;
            }
            if let Some(r) = self.end(call_id) {
                report(io, &r).await;
            }
        })
    }

    fn serves_https(&self) -> bool {
        true
    }

    fn http<'a>(
        &'a self,
        io: &'a Io<'a>,
        req: &'a HttpRequest,
        peer: &'a Peer,
    ) -> BoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            match (req.method.as_str(), req.target.as_str()) {
                ("POST", AS_DC_CONTROL_PATH) => self.serve_control(io, req, peer).await,
                (_, AS_DC_CONTROL_PATH) => HttpResponse::text(405, "POST only"),
                _ => HttpResponse::text(404, format!("no such resource: {}", req.target)),
            }
        })
    }
}

impl DcExposureFlow {
    /// §6.9.2.2 step 5 for the DCSF (`POST /as/v1/dc-control`, its client certificate must name
    /// the operator's DCSF): the re-INVITEs to the caller, then the callee (each only if the
    /// change concerns it), and what each answered.
    async fn serve_control(&self, io: &Io<'_>, req: &HttpRequest, peer: &Peer) -> HttpResponse {
        if !io.is_dcsf(peer.certificate.as_deref()) {
            io.note(Note::refused(
                Act::ChangeDataChannels,
                Reason::NotAuthorised,
                "a DC control request from a client that is not the operator's DCSF: 403",
            ));
            return HttpResponse::text(403, "only the operator's DCSF may ask");
        }
        let Ok(asked) = serde_json::from_slice::<DcChange>(&req.body) else {
            return HttpResponse::text(400, "the body is not a DC change");
        };
        let planned = {
            let calls = self.calls();
            let Some(call) = calls.get(&asked.call_id) else {
                return HttpResponse::text(404, format!("no call {}", asked.call_id));
            };
            reoffers(call, &asked.change)
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(answer) => return answer,
        };
        let id = asked.call_id.as_str();
        let caller = self.reoffer(io, id, Toward::Caller, &plan).await;
        let callee = self.reoffer(io, id, Toward::Callee, &plan).await;
        if let Some(call) = self.calls().get_mut(id) {
            let answered: Vec<Session> = [&caller, &callee]
                .iter()
                .filter_map(|a| a.answer.as_deref())
                .filter_map(|s| Session::parse(s).ok())
                .collect();
            let up = answered
                .iter()
                .any(|s| s.application(&plan.mid).is_some_and(|a| !a.is_declined()));
            match &plan.what {
                // The DCSF notifies an added or updated section itself: kept open, not
                // reported here.
                What::Add(section) | What::Update(section) if up => {
                    call.open.insert(plan.mid.clone(), section.clone());
                }
                What::Add(_) | What::Remove => {
                    call.open.remove(&plan.mid);
                }
                // An update both parties answered declined closes the section; one both
                // refused leaves the session as it was (RFC 3261 §14.1).
                What::Update(_) if !answered.is_empty() => {
                    call.open.remove(&plan.mid);
                }
                What::Update(_) | What::Download(_) => {}
            }
        }
        kit::node::json_response(200, &DcChanged { caller, callee })
    }

    /// One party's re-INVITE of `plan`: sent in the dialog (the ACK landed before going on),
    /// noted, the party's local session updated from its 2xx. What it answered: for an added or
    /// updated section, the answered section as a session holding only it; not re-INVITEd
    /// (status 0) when the change does not concern it.
    async fn reoffer(
        &self,
        io: &Io<'_>,
        call: &str,
        party: Toward,
        plan: &Reoffers,
    ) -> PartyAnswer {
        let offer = match plan.to(party) {
            Reoffer::Send(offer) => offer,
            Reoffer::NoSection => {
                io.note(Note::done(
                    Act::ChangeDataChannels,
                    format!(
                        "{} has no data channel section {}: not re-INVITEd",
                        who(party),
                        plan.mid
                    ),
                ));
                return not_reinvited();
            }
            Reoffer::OtherParty => return not_reinvited(),
        };
        // Dialog::request writes the Content-Type of an SDP body itself.
        let sent = io
            .send_in_dialog(call, party, "INVITE", &[], &offer.render(), WAIT)
            .await;
        io.landed().await;
        let (answer, note, local) = answered(party, plan, sent);
        if let Some(body) = local
            && let Some(c) = self.calls().get_mut(call)
        {
            c.set_sdp(party, body);
        }
        io.note(note);
        answer
    }
}

#[cfg(test)]
mod tests;
