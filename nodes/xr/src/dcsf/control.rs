//! DC session control the NEF granted (TR 33.790 §6.9.2.2 steps 5–6), with the MF and the
//! originating IMS AS:
//!
//! * establish an application data channel (ADC) toward both parties of the subscriber's
//!   ongoing call: offers from the MF, re-INVITEs by the IMS AS, the answers completed at the
//!   MF; `dc-established`;
//! * update an ADC: the MF's associations of its mid released, both legs offered again (same
//!   mid and application), re-INVITEs that update the section, the answers completed; the
//!   record stays open under the same id, and nothing is notified (there is no such event);
//! * terminate a data channel: re-INVITEs removing it (a bootstrap channel at its own party
//!   only), the MF's associations of it released; `dc-terminated`;
//! * download an application over the bootstrap channel of the subscriber's party: a
//!   re-INVITE re-offering its `bdc` section naming the application (the `app-downloaded`
//!   event comes from the UE's own download, [`super::exposure`]).
//!
//! The establishment of a bootstrap channel is refused when the subscriber has one, and not
//! carried out by the testbed otherwise (501), nor are an update of a bootstrap channel or a
//! download over an ADC.

use kit::http::{Request, Response};
use kit::node::json_response;
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{
    AS_DC_CONTROL_PATH, Change, ControlOutcome, ControlRequest, DcChange, DcChanged, DcRecord,
    DcSection, EventKind, Operation, Party, PartyAnswer, Target,
};
use proto::wire::mf::{
    ADC_MID, COMPLETE_PATH, CompleteRequest, OFFER_PATH, OfferRequest, OfferResponse, OfferSection,
    RELEASE_PATH, ReleaseRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::{self, party_tn};
use super::{Dcsf, Exposure, lock};
use crate::upstream;

/// Why a hop of a control request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failed {
    reason: Reason,
    detail: String,
}

/// Why a request is refused before anything is asked of the MF or the IMS AS: the status,
/// the typed reason, and what is wrong (for the label).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    status: u16,
    reason: Reason,
    why: String,
}

impl Refusal {
    fn new(status: u16, reason: Reason, why: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            why: why.into(),
        }
    }
}

/// What the DCSF does with a granted request. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Establish an application data channel.
    EstablishAdc,
    /// Establish a bootstrap data channel (refused or not carried out).
    EstablishBdc,
    /// Update an application data channel.
    UpdateAdc,
    /// Terminate a data channel.
    Terminate,
    /// Have a party download an application over its bootstrap channel.
    Download,
    /// Not carried out by the testbed.
    Unsupported,
}

impl Plan {
    fn of(operation: Operation, target: Target) -> Self {
        match (operation, target) {
            (Operation::Establish, Target::Adc) => Plan::EstablishAdc,
            (Operation::Establish, Target::Bdc) => Plan::EstablishBdc,
            (Operation::Update, Target::Adc) => Plan::UpdateAdc,
            (Operation::Terminate, _) => Plan::Terminate,
            (Operation::Download, Target::Bdc) => Plan::Download,
            _ => Plan::Unsupported,
        }
    }
}

/// Whether a re-INVITE status is a success.
fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Whether the parties accepted an added or updated section: at least one was re-INVITEd,
/// and each that was answered 2xx with a section (a party not re-INVITEd does not refuse).
fn both_answered(changed: &DcChanged) -> bool {
    let parties = [&changed.caller, &changed.callee];
    parties.iter().any(|p| p.reinvited)
        && parties
            .iter()
            .filter(|p| p.reinvited)
            .all(|p| success(p.status) && p.answer.is_some())
}

/// The answer of `party`.
fn answer_of(changed: &DcChanged, party: Party) -> &PartyAnswer {
    match party {
        Party::Caller => &changed.caller,
        Party::Callee => &changed.callee,
    }
}

/// What the parties answered, for labels (`re-INVITEs answered 200 and 200`; a party not
/// re-INVITEd: `not re-INVITEd`).
fn statuses(changed: &DcChanged) -> String {
    let one = |p: &PartyAnswer| {
        if p.reinvited {
            p.status.to_string()
        } else {
            "not re-INVITEd".to_owned()
        }
    };
    format!(
        "re-INVITEs answered {} and {}",
        one(&changed.caller),
        one(&changed.callee)
    )
}

/// The party name for labels.
fn party_name(party: Party) -> &'static str {
    match party {
        Party::Caller => "the caller",
        Party::Callee => "the callee",
    }
}

/// The ongoing data channel an update or a termination names (`dc_id` of `req`, read from the
/// book as `record`): it must be the subscriber's, of the request's kind, and open. Pure.
fn named_record(record: Option<&DcRecord>, req: &ControlRequest) -> Result<DcRecord, Refusal> {
    let Some(record) = record else {
        return Err(Refusal::new(404, Reason::NoRecord, "unknown"));
    };
    if records::party(record, &req.impu).is_none() {
        return Err(Refusal::new(
            404,
            Reason::Mismatch,
            "not a data channel of its calls",
        ));
    }
    if record.section.target != req.target {
        return Err(Refusal::new(
            409,
            Reason::Mismatch,
            format!("it is a {}", record.section.target),
        ));
    }
    if !record.open {
        return Err(Refusal::new(409, Reason::Closed, "already closed"));
    }
    Ok(record.clone())
}

/// The change that removes the record's section: a bootstrap channel at its own party only,
/// any other section at both parties. Pure.
fn removal(record: &DcRecord) -> Change {
    let only = match record.section.target {
        Target::Bdc => Some(records::bdc_party(record)),
        Target::Adc => None,
    };
    Change::Remove {
        mid: record.section.mid.clone(),
        only,
    }
}

impl Dcsf {
    /// A granted control request carried out, or refused with a typed note.
    pub(super) async fn control(
        &self,
        x: &Exposure,
        req: ControlRequest,
        msg: Option<u64>,
    ) -> Response {
        match Plan::of(req.operation, req.target) {
            Plan::EstablishAdc => self.establish(x, req, msg).await,
            Plan::EstablishBdc => self.establish_bdc(&req, msg),
            Plan::UpdateAdc => self.update(x, req, msg).await,
            Plan::Terminate => self.terminate(x, req, msg).await,
            Plan::Download => self.download(x, req, msg).await,
            Plan::Unsupported => self.unsupported(&req, "", msg),
        }
    }

    /// 501: what the testbed does not carry out (`why`: more about it, or empty).
    fn unsupported(&self, req: &ControlRequest, why: &str, msg: Option<u64>) -> Response {
        let text = format!(
            "the testbed does not carry out {} of a {} (for {}){why}",
            req.operation, req.target, req.impu
        );
        self.ctx.note(
            msg,
            Note::refused(Act::ControlDc, Reason::Policy, text.clone()),
        );
        Response::text(501, text)
    }

    /// A refusal noted and answered with a problem.
    fn refuse(&self, msg: Option<u64>, status: u16, reason: Reason, label: String) -> Response {
        self.ctx
            .note(msg, Note::refused(Act::ControlDc, reason, label.clone()));
        upstream::problem(status, reason, label)
    }

    /// `POST https://{host}{path}` with a JSON body; the JSON answer of a 2xx.
    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        host: &str,
        path: &str,
        body: &B,
    ) -> Result<R, Failed> {
        let answer = self.post_status(host, path, body).await?;
        serde_json::from_slice(&answer.body).map_err(|e| Failed {
            reason: Reason::Malformed,
            detail: format!("{host}{path}: {e}"),
        })
    }

    /// `POST https://{host}{path}` with a JSON body; the answer if 2xx.
    async fn post_status<B: Serialize>(
        &self,
        host: &str,
        path: &str,
        body: &B,
    ) -> Result<Response, Failed> {
        let body = serde_json::to_vec(body).map_err(|e| Failed {
            reason: Reason::Malformed,
            detail: e.to_string(),
        })?;
        let url = format!("https://{host}{path}");
        match self.client.send(Request::post_json(url, body)).await {
            Ok(r) if success(r.status) => Ok(r),
            Ok(r) => Err(Failed {
                reason: upstream::refusal_reason(&r),
                detail: format!("{host}{path} answered {}", r.status),
            }),
            Err(e) => Err(Failed {
                reason: upstream::transport_reason(&e),
                detail: format!("{host}{path}: {e}"),
            }),
        }
    }

    /// The MF's associations of `mid` in the call released.
    async fn release_mid(&self, x: &Exposure, call_id: &str, mid: &str) -> Result<(), Failed> {
        let req = ReleaseRequest {
            call_id: call_id.to_owned(),
            mid: Some(mid.to_owned()),
        };
        self.post_status(&x.mf_host, RELEASE_PATH, &req)
            .await
            .map(drop)
    }

    /// [`Dcsf::release_mid`], best effort: a failure is in the MF's trace, and the control
    /// answer says what failed first.
    async fn release(&self, x: &Exposure, call_id: &str, mid: &str) {
        let _ = self.release_mid(x, call_id, mid).await;
    }

    /// The MF's offer of the ADC for `app` to the party `tn`.
    async fn offer(
        &self,
        x: &Exposure,
        tn: &str,
        call_id: &str,
        app: &str,
    ) -> Result<String, Failed> {
        let req = OfferRequest {
            tn: tn.to_owned(),
            call_id: call_id.to_owned(),
            section: OfferSection::Application,
            app: Some(app.to_owned()),
        };
        let r: OfferResponse = self.post(&x.mf_host, OFFER_PATH, &req).await?;
        Ok(r.offer)
    }

    /// Offers of the ADC for `app` to both parties, the re-INVITEs (`change` of the two
    /// offers: an addition or an update), the answers completed at the MF; what the parties
    /// answered and whether the channels are set up.
    async fn offer_both(
        &self,
        x: &Exposure,
        call: &DcRecord,
        app: &str,
        change: fn(String, String) -> Change,
    ) -> Result<(DcChanged, bool), Failed> {
        let (tn_a, tn_b) = (party_tn(&call.caller), party_tn(&call.callee));
        let offer_a = self.offer(x, tn_a, &call.call_id, app).await?;
        let offer_b = self.offer(x, tn_b, &call.call_id, app).await?;
        let change = DcChange {
            call_id: call.call_id.clone(),
            change: change(offer_a, offer_b),
        };
        let changed: DcChanged = self.post(&x.as_host, AS_DC_CONTROL_PATH, &change).await?;
        let mut completed = both_answered(&changed);
        for (tn, party) in [(tn_a, &changed.caller), (tn_b, &changed.callee)] {
            // A party that refused (or was not re-INVITEd) has nothing to complete.
            let Some(answer) = party
                .answer
                .as_ref()
                .filter(|_| party.reinvited && success(party.status))
            else {
                continue;
            };
            let req = CompleteRequest {
                call_id: call.call_id.clone(),
                answer: answer.clone(),
                tn: Some(tn.to_owned()),
            };
            completed &= self
                .post_status(&x.mf_host, COMPLETE_PATH, &req)
                .await
                .is_ok();
        }
        Ok((changed, completed))
    }

    /// §6.9.2.2 step 5: an ADC of `app_id` in the subscriber's ongoing call.
    async fn establish(&self, x: &Exposure, req: ControlRequest, msg: Option<u64>) -> Response {
        let Some(app) = req.app_id.clone().filter(|a| !a.is_empty()) else {
            let label = format!("establish an ADC for {}: no application named", req.impu);
            return self.refuse(msg, 400, Reason::Malformed, label);
        };
        let Some(call) = lock(&self.book).ongoing(&req.impu).cloned() else {
            let label = format!(
                "establish an ADC of {app} for {}: no ongoing call",
                req.impu
            );
            return self.refuse(msg, 404, Reason::NoRecord, label);
        };
        let what = format!(
            "establish an ADC of {app} in call {} ({} and {})",
            call.call_id, call.caller, call.callee
        );
        let add = |caller, callee| Change::Add { caller, callee };
        let (changed, completed) = match self.offer_both(x, &call, &app, add).await {
            Ok(done) => done,
            Err(f) => {
                self.release(x, &call.call_id, ADC_MID).await;
                let label = format!("{what}: {}", f.detail);
                return self.refuse(msg, 502, f.reason, label);
            }
        };
        let mut outcome = ControlOutcome {
            operation: Operation::Establish,
            target: Target::Adc,
            dc_id: None,
            app_id: Some(app.clone()),
            reinvites: vec![changed.caller.status, changed.callee.status],
        };
        let statuses = statuses(&changed);
        if !completed {
            self.release(x, &call.call_id, ADC_MID).await;
            self.ctx.note(
                msg,
                Note::refused(
                    Act::ControlDc,
                    Reason::Declined,
                    format!("{what}: {statuses}; released"),
                ),
            );
            return json_response(409, &outcome);
        }
        let section = DcSection {
            mid: ADC_MID.into(),
            target: Target::Adc,
            app: Some(app.clone()),
            labels: vec![app],
        };
        let (record, new) =
            lock(&self.book).establish(&call.call_id, &call.caller, &call.callee, &section);
        outcome.dc_id = Some(record.dc_id.clone());
        self.ctx.note(
            msg,
            Note::done(
                Act::ControlDc,
                format!("{what}: {statuses}: {}", record.dc_id),
            ),
        );
        if new {
            self.notify_all(EventKind::DcEstablished, &record, msg)
                .await;
        }
        json_response(200, &outcome)
    }

    /// A bootstrap channel for the subscriber: refused when it has one (409), else not
    /// carried out by the testbed (501).
    fn establish_bdc(&self, req: &ControlRequest, msg: Option<u64>) -> Response {
        let open = lock(&self.book).open_bdc_of(&req.impu).cloned();
        match open {
            Some(bdc) => {
                let label = format!(
                    "establish a bdc for {}: it already has its bootstrap data channel ({} in \
                     call {})",
                    req.impu, bdc.dc_id, bdc.call_id
                );
                self.refuse(msg, 409, Reason::Policy, label)
            }
            None => self.unsupported(req, ": it has no bootstrap data channel open", msg),
        }
    }

    /// The ongoing data channel the request names (`verb` for labels): the record and the
    /// label's beginning, or the refusal answered.
    fn named(
        &self,
        req: &ControlRequest,
        verb: &str,
        msg: Option<u64>,
    ) -> Result<(DcRecord, String), Response> {
        let Some(dc_id) = req.dc_id.clone() else {
            let label = format!(
                "{verb} a {} of {}: no data channel named",
                req.target, req.impu
            );
            return Err(self.refuse(msg, 400, Reason::Malformed, label));
        };
        let what = format!("{verb} {} {dc_id} of {}", req.target, req.impu);
        let record = lock(&self.book).record(&dc_id).cloned();
        named_record(record.as_ref(), req)
            .map(|r| (r, what.clone()))
            .map_err(|r| self.refuse(msg, r.status, r.reason, format!("{what}: {}", r.why)))
    }

    /// §6.9.2.2 step 5: the ADC `dc_id` updated: the MF's old associations of its mid released,
    /// both legs offered again (same mid and application), the re-INVITEs, the answers
    /// completed; the record stays open under its id.
    async fn update(&self, x: &Exposure, req: ControlRequest, msg: Option<u64>) -> Response {
        let (record, what) = match self.named(&req, "update", msg) {
            Ok(named) => named,
            Err(refused) => return refused,
        };
        if record.section.mid != ADC_MID {
            let label = format!(
                "{what}: mid {} is not an application data channel the MF offers",
                record.section.mid
            );
            return self.refuse(msg, 409, Reason::Mismatch, label);
        }
        let app = record
            .section
            .app
            .clone()
            .or_else(|| req.app_id.clone())
            .filter(|a| !a.is_empty());
        let Some(app) = app else {
            let label = format!("{what}: no DC application named");
            return self.refuse(msg, 400, Reason::Malformed, label);
        };
        let what = format!("{what} ({app}, call {})", record.call_id);
        let call_id = record.call_id.clone();
        let update = |caller, callee| Change::Update { caller, callee };
        let reoffered = match self.release_mid(x, &call_id, ADC_MID).await {
            Ok(()) => self.offer_both(x, &record, &app, update).await,
            Err(f) => Err(f),
        };
        let (changed, completed) = match reoffered {
            Ok(done) => done,
            Err(f) => {
                self.release(x, &call_id, ADC_MID).await;
                return self.refuse(msg, 502, f.reason, format!("{what}: {}", f.detail));
            }
        };
        let outcome = ControlOutcome {
            operation: Operation::Update,
            target: Target::Adc,
            dc_id: Some(record.dc_id.clone()),
            app_id: Some(app),
            reinvites: vec![changed.caller.status, changed.callee.status],
        };
        let statuses = statuses(&changed);
        if !completed {
            self.release(x, &call_id, ADC_MID).await;
            let label = format!("{what}: {statuses}; released");
            self.ctx
                .note(msg, Note::refused(Act::ControlDc, Reason::Declined, label));
            return json_response(409, &outcome);
        }
        self.ctx.note(
            msg,
            Note::done(
                Act::ControlDc,
                format!("{what}: {statuses}: new associations, {}", record.dc_id),
            ),
        );
        json_response(200, &outcome)
    }

    /// §6.9.2.2 step 5: the data channel `dc_id` of the subscriber's call terminated.
    async fn terminate(&self, x: &Exposure, req: ControlRequest, msg: Option<u64>) -> Response {
        let (record, what) = match self.named(&req, "terminate", msg) {
            Ok(named) => named,
            Err(refused) => return refused,
        };
        let change = DcChange {
            call_id: record.call_id.clone(),
            change: removal(&record),
        };
        let changed: DcChanged = match self.post(&x.as_host, AS_DC_CONTROL_PATH, &change).await {
            Ok(c) => c,
            Err(f) => return self.refuse(msg, 502, f.reason, format!("{what}: {}", f.detail)),
        };
        if let Err(f) = self
            .release_mid(x, &record.call_id, &record.section.mid)
            .await
        {
            return self.refuse(msg, 502, f.reason, format!("{what}: {}", f.detail));
        }
        let closed = lock(&self.book).close(&record.dc_id);
        let at = match &change.change {
            Change::Remove {
                only: Some(party), ..
            } => format!(" at {}", party_name(*party)),
            _ => String::new(),
        };
        self.ctx.note(
            msg,
            Note::done(
                Act::ControlDc,
                format!(
                    "{what} (mid {} of call {}{at}): {}",
                    record.section.mid,
                    record.call_id,
                    statuses(&changed)
                ),
            ),
        );
        if let Some((closed, true)) = closed {
            self.notify_all(EventKind::DcTerminated, &closed, msg).await;
        }
        json_response(
            200,
            &ControlOutcome {
                operation: Operation::Terminate,
                target: record.section.target,
                dc_id: Some(record.dc_id),
                app_id: record.section.app,
                reinvites: vec![changed.caller.status, changed.callee.status],
            },
        )
    }

    /// §6.9.2.2 ("DC application download"): the subscriber's party of its ongoing call has
    /// application `app_id` downloaded over its bootstrap channel (a re-INVITE by the IMS AS).
    async fn download(&self, x: &Exposure, req: ControlRequest, msg: Option<u64>) -> Response {
        let Some(app) = req.app_id.clone().filter(|a| !a.is_empty()) else {
            let label = format!("download for {}: no application named", req.impu);
            return self.refuse(msg, 400, Reason::Malformed, label);
        };
        let call = lock(&self.book).ongoing(&req.impu).cloned();
        let Some((call, party)) = call.and_then(|c| records::party(&c, &req.impu).map(|p| (c, p)))
        else {
            let label = format!("download {app} for {}: no ongoing call", req.impu);
            return self.refuse(msg, 404, Reason::NoRecord, label);
        };
        let what = format!(
            "had {} ({}) download {app} over its bootstrap channel in call {}",
            records::impu_of(&call, party),
            party_name(party),
            call.call_id
        );
        let change = DcChange {
            call_id: call.call_id.clone(),
            change: Change::Download {
                party,
                app: app.clone(),
            },
        };
        let changed: DcChanged = match self.post(&x.as_host, AS_DC_CONTROL_PATH, &change).await {
            Ok(c) => c,
            Err(f) => return self.refuse(msg, 502, f.reason, format!("{what}: {}", f.detail)),
        };
        let answer = answer_of(&changed, party);
        let outcome = ControlOutcome {
            operation: Operation::Download,
            target: Target::Bdc,
            dc_id: None,
            app_id: Some(app),
            reinvites: vec![answer.status],
        };
        if answer.reinvited && success(answer.status) {
            let label = format!("{what}: re-INVITE answered {}", answer.status);
            self.ctx.note(msg, Note::done(Act::ControlDc, label));
            json_response(200, &outcome)
        } else {
            let answered = if answer.reinvited {
                format!("re-INVITE answered {}", answer.status)
            } else {
                "not re-INVITEd".to_owned()
            };
            self.ctx.note(
                msg,
                Note::refused(
                    Act::ControlDc,
                    Reason::Declined,
                    format!("{what}: {answered}"),
                ),
            );
            json_response(409, &outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sip:+12025551000@ims.example";
    const B: &str = "sip:+12155551001@ims.example";

    #[test]
    fn plans_by_operation_and_target() {
        let table = [
            (Operation::Establish, Target::Adc, Plan::EstablishAdc),
            (Operation::Establish, Target::Bdc, Plan::EstablishBdc),
            (Operation::Update, Target::Adc, Plan::UpdateAdc),
            (Operation::Update, Target::Bdc, Plan::Unsupported),
            (Operation::Terminate, Target::Adc, Plan::Terminate),
            (Operation::Terminate, Target::Bdc, Plan::Terminate),
            (Operation::Download, Target::Bdc, Plan::Download),
            (Operation::Download, Target::Adc, Plan::Unsupported),
        ];
        for (op, t, plan) in table {
            assert_eq!(Plan::of(op, t), plan, "{op} {t}");
        }
    }

    fn party(status: u16, answer: Option<&str>) -> PartyAnswer {
        PartyAnswer {
            reinvited: true,
            status,
            answer: answer.map(str::to_owned),
        }
    }

    fn skipped() -> PartyAnswer {
        PartyAnswer {
            reinvited: false,
            status: 0,
            answer: None,
        }
    }

    fn changed(caller: PartyAnswer, callee: PartyAnswer) -> DcChanged {
        DcChanged { caller, callee }
    }

    #[test]
    fn both_parties_must_answer_with_a_section() {
        let ok = || party(200, Some("v=0"));
        assert!(both_answered(&changed(ok(), ok())));
        assert!(!both_answered(&changed(ok(), party(488, None))));
        assert!(!both_answered(&changed(party(200, None), ok())));
        assert!(!both_answered(&changed(party(603, Some("v=0")), ok())));
        // A party not re-INVITEd does not refuse; but someone must have been.
        assert!(both_answered(&changed(ok(), skipped())));
        assert!(!both_answered(&changed(skipped(), party(488, None))));
        assert!(!both_answered(&changed(skipped(), skipped())));
        assert_eq!(
            statuses(&changed(ok(), skipped())),
            "re-INVITEs answered 200 and not re-INVITEd"
        );
        let c = changed(ok(), party(486, None));
        assert_eq!(answer_of(&c, Party::Callee).status, 486);
        assert_eq!(answer_of(&c, Party::Caller).status, 200);
    }

    fn record(mid: &str, target: Target, open: bool) -> DcRecord {
        DcRecord {
            dc_id: "dc-1".into(),
            call_id: "c1".into(),
            caller: A.into(),
            callee: B.into(),
            section: DcSection {
                mid: mid.into(),
                target,
                app: None,
                labels: vec![],
            },
            open,
        }
    }

    fn request(impu: &str, operation: Operation, target: Target) -> ControlRequest {
        ControlRequest {
            impu: impu.into(),
            operation,
            target,
            dc_id: Some("dc-1".into()),
            app_id: None,
        }
    }

    #[test]
    fn named_records_must_be_the_subscribers_of_the_kind_and_open() {
        let adc = record(ADC_MID, Target::Adc, true);
        let update = request("tel:+12155551001", Operation::Update, Target::Adc);
        assert_eq!(named_record(Some(&adc), &update), Ok(adc.clone()));
        let status = |r: Option<&DcRecord>, req: &ControlRequest| {
            named_record(r, req).map_err(|e| (e.status, e.reason))
        };
        assert_eq!(status(None, &update), Err((404, Reason::NoRecord)));
        let stranger = request("sip:+19995550000@x", Operation::Update, Target::Adc);
        assert_eq!(status(Some(&adc), &stranger), Err((404, Reason::Mismatch)));
        let bdc = request(A, Operation::Terminate, Target::Bdc);
        assert_eq!(status(Some(&adc), &bdc), Err((409, Reason::Mismatch)));
        let closed = record(ADC_MID, Target::Adc, false);
        assert_eq!(status(Some(&closed), &update), Err((409, Reason::Closed)));
    }

    #[test]
    fn a_bootstrap_channel_is_removed_at_its_own_party_only() {
        assert_eq!(
            removal(&record("bdc", Target::Bdc, true)),
            Change::Remove {
                mid: "bdc".into(),
                only: Some(Party::Caller)
            }
        );
        assert_eq!(
            removal(&record(ADC_MID, Target::Adc, true)),
            Change::Remove {
                mid: ADC_MID.into(),
                only: None
            }
        );
    }
}
