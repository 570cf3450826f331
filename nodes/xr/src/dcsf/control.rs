//! DC session control the NEF granted (TR 33.790 §6.9.2.2 steps 5–6): an application data
//! channel established toward both parties of the subscriber's ongoing call (offers from the
//! MF, re-INVITEs by the originating IMS AS, the answers completed at the MF), or a data
//! channel terminated (re-INVITEs removing it, the MF's associations of it released). Update,
//! the establishment of a bootstrap channel and application download are not carried out by
//! the testbed (501).

use kit::http::{Request, Response};
use kit::node::json_response;
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{
    AS_DC_CONTROL_PATH, Change, ControlOutcome, ControlRequest, DcChange, DcChanged, DcRecord,
    DcSection, EventKind, Operation, Target,
};
use proto::wire::mf::{
    ADC_MID, COMPLETE_PATH, CompleteRequest, OFFER_PATH, OfferRequest, OfferResponse, OfferSection,
    RELEASE_PATH, ReleaseRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::party_tn;
use super::{Dcsf, Exposure, lock};
use crate::upstream;

/// Why a hop of a control request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failed {
    reason: Reason,
    detail: String,
}

/// What the DCSF does with a granted request. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Establish an application data channel.
    EstablishAdc,
    /// Terminate a data channel.
    Terminate,
    /// Not carried out by the testbed.
    Unsupported,
}

impl Plan {
    fn of(operation: Operation, target: Target) -> Self {
        match (operation, target) {
            (Operation::Establish, Target::Adc) => Plan::EstablishAdc,
            (Operation::Terminate, _) => Plan::Terminate,
            _ => Plan::Unsupported,
        }
    }
}

/// Whether a re-INVITE status is a success.
fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Whether both parties accepted an added section (a 2xx with an answer each).
fn both_answered(changed: &DcChanged) -> bool {
    [&changed.caller, &changed.callee]
        .iter()
        .all(|p| success(p.status) && p.answer.is_some())
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
            Plan::Terminate => self.terminate(x, req, msg).await,
            Plan::Unsupported => {
                let text = format!(
                    "the testbed does not carry out {} of a {} (for {})",
                    req.operation, req.target, req.impu
                );
                self.ctx.note(
                    msg,
                    Note::refused(Act::ControlDc, Reason::Policy, text.clone()),
                );
                Response::text(501, text)
            }
        }
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

    /// The MF's associations of `mid` in the call released (best effort: a failure is in the
    /// MF's trace, and the control answer says what failed first).
    async fn release(&self, x: &Exposure, call_id: &str, mid: &str) {
        let req = ReleaseRequest {
            call_id: call_id.to_owned(),
            mid: Some(mid.to_owned()),
        };
        let _ = self.post_status(&x.mf_host, RELEASE_PATH, &req).await;
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

    /// Offers to both parties, the re-INVITEs, the answers completed at the MF; what the
    /// parties answered and whether both channels are set up.
    async fn add(
        &self,
        x: &Exposure,
        call: &DcRecord,
        app: &str,
    ) -> Result<(DcChanged, bool), Failed> {
        let (tn_a, tn_b) = (party_tn(&call.caller), party_tn(&call.callee));
        let offer_a = self.offer(x, tn_a, &call.call_id, app).await?;
        let offer_b = self.offer(x, tn_b, &call.call_id, app).await?;
        let change = DcChange {
            call_id: call.call_id.clone(),
            change: Change::Add {
                caller: offer_a,
                callee: offer_b,
            },
        };
        let changed: DcChanged = self.post(&x.as_host, AS_DC_CONTROL_PATH, &change).await?;
        let mut completed = both_answered(&changed);
        for (tn, party) in [(tn_a, &changed.caller), (tn_b, &changed.callee)] {
            // A party that refused has nothing to complete (`both_answered` is false then).
            let Some(answer) = party.answer.as_ref().filter(|_| success(party.status)) else {
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
        let (changed, completed) = match self.add(x, &call, &app).await {
            Ok(done) => done,
            Err(f) => {
                self.release(x, &call.call_id, ADC_MID).await;
                let label = format!("{what}: {}", f.detail);
                return self.refuse(msg, 502, f.reason, label);
            }
        };
        let reinvites = vec![changed.caller.status, changed.callee.status];
        let mut outcome = ControlOutcome {
            operation: Operation::Establish,
            target: Target::Adc,
            dc_id: None,
            app_id: Some(app.clone()),
            reinvites,
        };
        let statuses = format!(
            "re-INVITEs answered {} and {}",
            changed.caller.status, changed.callee.status
        );
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

    /// §6.9.2.2 step 5: the data channel `dc_id` of the subscriber's call terminated.
    async fn terminate(&self, x: &Exposure, req: ControlRequest, msg: Option<u64>) -> Response {
        let Some(dc_id) = req.dc_id.clone() else {
            let label = format!(
                "terminate a {} of {}: no data channel named",
                req.target, req.impu
            );
            return self.refuse(msg, 400, Reason::Malformed, label);
        };
        let what = format!("terminate {} {dc_id} of {}", req.target, req.impu);
        let record = lock(&self.book).record(&dc_id).cloned();
        let record = match record {
            None => return self.refuse(msg, 404, Reason::NoRecord, format!("{what}: unknown")),
            Some(r)
                if !super::records::same_subscriber(&r.caller, &req.impu)
                    && !super::records::same_subscriber(&r.callee, &req.impu) =>
            {
                let label = format!("{what}: not a data channel of its calls");
                return self.refuse(msg, 404, Reason::Mismatch, label);
            }
            Some(r) if r.section.target != req.target => {
                let label = format!("{what}: it is a {}", r.section.target);
                return self.refuse(msg, 409, Reason::Mismatch, label);
            }
            Some(r) if !r.open => {
                return self.refuse(msg, 409, Reason::Closed, format!("{what}: already closed"));
            }
            Some(r) => r,
        };
        let change = DcChange {
            call_id: record.call_id.clone(),
            change: Change::Remove {
                mid: record.section.mid.clone(),
            },
        };
        let changed: DcChanged = match self.post(&x.as_host, AS_DC_CONTROL_PATH, &change).await {
            Ok(c) => c,
            Err(f) => return self.refuse(msg, 502, f.reason, format!("{what}: {}", f.detail)),
        };
        let release = ReleaseRequest {
            call_id: record.call_id.clone(),
            mid: Some(record.section.mid.clone()),
        };
        if let Err(f) = self.post_status(&x.mf_host, RELEASE_PATH, &release).await {
            return self.refuse(msg, 502, f.reason, format!("{what}: {}", f.detail));
        }
        let closed = lock(&self.book).close(&dc_id);
        self.ctx.note(
            msg,
            Note::done(
                Act::ControlDc,
                format!(
                    "{what} (mid {} of call {}): re-INVITEs answered {} and {}",
                    record.section.mid,
                    record.call_id,
                    changed.caller.status,
                    changed.callee.status
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
                dc_id: Some(dc_id),
                app_id: record.section.app,
                reinvites: vec![changed.caller.status, changed.callee.status],
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::wire::exposure::PartyAnswer;

    #[test]
    fn plans_by_operation_and_target() {
        assert_eq!(
            Plan::of(Operation::Establish, Target::Adc),
            Plan::EstablishAdc
        );
        assert_eq!(Plan::of(Operation::Terminate, Target::Adc), Plan::Terminate);
        assert_eq!(Plan::of(Operation::Terminate, Target::Bdc), Plan::Terminate);
        for (op, t) in [
            (Operation::Establish, Target::Bdc),
            (Operation::Update, Target::Adc),
            (Operation::Update, Target::Bdc),
            (Operation::Download, Target::Bdc),
            (Operation::Download, Target::Adc),
        ] {
            assert_eq!(Plan::of(op, t), Plan::Unsupported, "{op} {t}");
        }
    }

    #[test]
    fn both_parties_must_answer_with_a_section() {
        let party = |status, answer: Option<&str>| PartyAnswer {
            status,
            answer: answer.map(str::to_owned),
        };
        let changed = |a, b| DcChanged {
            caller: a,
            callee: b,
        };
        assert!(both_answered(&changed(
            party(200, Some("v=0")),
            party(200, Some("v=0"))
        )));
        assert!(!both_answered(&changed(
            party(200, Some("v=0")),
            party(488, None)
        )));
        assert!(!both_answered(&changed(
            party(200, None),
            party(200, Some("v=0"))
        )));
        assert!(!both_answered(&changed(
            party(603, Some("v=0")),
            party(200, Some("v=0"))
        )));
    }
}
