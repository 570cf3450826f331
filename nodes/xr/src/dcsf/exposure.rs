//! The DCSF's DC capability exposure interface (TR 33.790 §6.9): who may call which path (the
//! IMS ASs report events; only the NEF subscribes, reads records and controls), the IMS ASs'
//! reports taken in, and the notifications posted to the NEF's subscriptions (§6.9.2.1 step 7)
//! — synchronously and bounded, before the answer, so that the trace reads in causal order.

use kit::http::{Peer, Request, Response};
use kit::node::json_response;
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{
    DCSF_CONTROL_PATH, DCSF_DC_PREFIX, DCSF_EVENTS_PATH, DCSF_SUBSCRIPTIONS_PATH, DcRecord,
    DcReport, DcsfSubscribe, EventKind, Notification, Subscribed,
};
use serde::de::DeserializeOwned;

use super::records::{self, Subscription};
use super::{Dcsf, Exposure, lock};
use crate::upstream;

/// Whether a client with certificate DNS names `names` is one of `allowed`. Pure.
pub(super) fn allowed(names: &[String], allowed: &[&str]) -> bool {
    names.iter().any(|n| allowed.contains(&n.as_str()))
}

/// The DNS names of the client's certificate (none without one, or unreadable).
fn client_names(peer: &Peer) -> Vec<String> {
    peer.certificate
        .as_deref()
        .and_then(|der| kit::tls::dns_names(der).ok())
        .unwrap_or_default()
}

/// A JSON body, or the 400 answer.
fn body<T: DeserializeOwned>(req: &Request) -> Result<T, Response> {
    serde_json::from_slice(&req.body)
        .map_err(|e| upstream::problem(400, Reason::Malformed, e.to_string()))
}

impl Dcsf {
    /// The answer to a request on an exposure path; `None`: not one of them.
    pub(super) async fn exposure(
        &self,
        x: &Exposure,
        req: &Request,
        peer: &Peer,
    ) -> Option<Response> {
        let target = req.target.as_str();
        let (method, act, hosts): (&str, Act, Vec<&str>) = match target {
            DCSF_EVENTS_PATH => (
                "POST",
                Act::NotifyDcEvent,
                x.as_hosts.iter().map(String::as_str).collect(),
            ),
            DCSF_SUBSCRIPTIONS_PATH => ("POST", Act::SubscribeDcEvents, vec![&x.nef_host]),
            DCSF_CONTROL_PATH => ("POST", Act::ControlDc, vec![&x.nef_host]),
            t if t.starts_with(DCSF_DC_PREFIX) => ("GET", Act::ControlDc, vec![&x.nef_host]),
            _ => return None,
        };
        if req.method != method {
            return Some(Response::text(405, format!("only {method}")));
        }
        let names = client_names(peer);
        if !allowed(&names, &hosts) {
            let who = if names.is_empty() {
                "a client without a certificate name".to_owned()
            } else {
                names.join(", ")
            };
            let label = format!("{method} {target} from {who}: not a client of this path");
            self.ctx
                .note(peer.msg, Note::refused(act, Reason::NotAuthorised, label));
            return Some(upstream::problem(
                403,
                Reason::NotAuthorised,
                format!("{who} may not use {target}"),
            ));
        }
        let msg = peer.msg;
        Some(match target {
            DCSF_EVENTS_PATH => match body::<DcReport>(req) {
                Ok(r) => self.report(r, msg).await,
                Err(e) => e,
            },
            DCSF_SUBSCRIPTIONS_PATH => match body::<DcsfSubscribe>(req) {
                Ok(s) => self.subscribe(s, msg),
                Err(e) => e,
            },
            DCSF_CONTROL_PATH => match body(req) {
                Ok(c) => self.control(x, c, msg).await,
                Err(e) => e,
            },
            _ => self.dc_record(&target[DCSF_DC_PREFIX.len()..]),
        })
    }

    /// An IMS AS's report: the records kept, each change notified; 204.
    async fn report(&self, report: DcReport, msg: Option<u64>) -> Response {
        let changed = lock(&self.book).report(&report);
        for record in changed {
            self.notify_all(report.event, &record, msg).await;
        }
        Response::new(204, "text/plain", "")
    }

    /// §6.9.2.1 steps 4–5: the NEF's subscription created; 201.
    fn subscribe(&self, req: DcsfSubscribe, msg: Option<u64>) -> Response {
        if req.events.is_empty() {
            return upstream::problem(400, Reason::Malformed, "no events to subscribe to");
        }
        let sub = lock(&self.book).subscribe(req);
        let events: Vec<&str> = sub.events.iter().map(|e| e.as_str()).collect();
        self.ctx.note(
            msg,
            Note::done(
                Act::SubscribeDcEvents,
                format!(
                    "subscription {} of the NEF to {} of {} (notify {})",
                    sub.id,
                    events.join(", "),
                    sub.impu,
                    sub.notify_uri
                ),
            ),
        );
        json_response(
            201,
            &Subscribed {
                subscription_id: sub.id,
                events: sub.events,
                anonymised: None,
            },
        )
    }

    /// §6.9.2.2 step 3: a record for the NEF; 404 unknown.
    fn dc_record(&self, dc_id: &str) -> Response {
        match lock(&self.book).record(dc_id) {
            Some(r) => json_response(200, r),
            None => upstream::problem(404, Reason::NoRecord, format!("no data channel {dc_id}")),
        }
    }

    /// `event` about `record` notified to each matching subscription, with the application
    /// the section names as the subscriber's list describes it.
    pub(super) async fn notify_all(&self, event: EventKind, record: &DcRecord, msg: Option<u64>) {
        let subs = lock(&self.book).matching(event, record);
        for sub in subs {
            let app = record.section.app.as_deref().map(|app| {
                let tn = proto::tn::digits(records::party_tn(&sub.impu));
                records::app_info(self.config.store.get(&tn), app)
            });
            let n = records::notification(event, record, app, self.ctx.clock.now());
            self.notify(&sub, &n, msg).await;
        }
    }

    /// The UE with number `tn_digits` downloaded application `app_id` over its bootstrap
    /// channel: when it is a party of an ongoing call, `app-downloaded` of that application.
    pub(super) async fn app_downloaded(&self, tn_digits: &str, app_id: &str, msg: Option<u64>) {
        let Some((call, bdc)) = lock(&self.book).ongoing_of_tn(tn_digits) else {
            return;
        };
        let subs = lock(&self.book).matching(EventKind::AppDownloaded, &call);
        let info = records::app_info(self.config.store.get(tn_digits), app_id);
        let n = records::downloaded(&call, bdc, info, self.ctx.clock.now());
        for sub in &subs {
            self.notify(sub, &n, msg).await;
        }
    }

    /// One notification posted (bounded by the client's timeout); a failure is noted and
    /// does not fail what caused it.
    async fn notify(&self, sub: &Subscription, n: &Notification, msg: Option<u64>) {
        let what = format!(
            "{} {}{} to {} ({})",
            n.event,
            n.dc_id.as_deref().unwrap_or("-"),
            n.app
                .as_ref()
                .map(|a| format!(" app {}", a.id))
                .unwrap_or_default(),
            sub.id,
            sub.notify_uri
        );
        let body = match serde_json::to_vec(n) {
            Ok(b) => b,
            Err(e) => {
                let label = format!("notify {what}: {e}");
                self.ctx.note(
                    msg,
                    Note::refused(Act::NotifyDcEvent, Reason::Malformed, label),
                );
                return;
            }
        };
        let note = match self
            .client
            .send(Request::post_json(sub.notify_uri.clone(), body))
            .await
        {
            Ok(r) if (200..300).contains(&r.status) => {
                Note::done(Act::NotifyDcEvent, format!("notify {what}"))
            }
            Ok(r) => Note::refused(
                Act::NotifyDcEvent,
                upstream::refusal_reason(&r),
                format!("notify {what}: answered {}", r.status),
            ),
            Err(e) => Note::refused(
                Act::NotifyDcEvent,
                upstream::transport_reason(&e),
                format!("notify {what}: {e}"),
            ),
        };
        self.ctx.note(msg, note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_named_by_their_certificate() {
        let nef = ["nef.example".to_owned()];
        assert!(allowed(&nef, &["nef.example"]));
        assert!(!allowed(&nef, &["as.example"]));
        assert!(!allowed(&[], &["nef.example"]));
        assert!(allowed(
            &["x".to_owned(), "as-t.example".to_owned()],
            &["as-o.example", "as-t.example"]
        ));
    }
}
