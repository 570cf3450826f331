//! What the DCSF keeps for DC capability exposure (TR 33.790 §6.9): the data channels of calls
//! as the IMS ASs report them ([`DcRecord`], `dc-1`, `dc-2`… in arrival order) and the NEF's
//! event subscriptions (§6.9.2.1 steps 4–5), and which subscriptions an event of a call is
//! notified to (step 7). Pure: the driver in [`super::exposure`] does the I/O.

use proto::wire::dcsf::AppList;
use proto::wire::exposure::{
    AppInfo, DcRecord, DcReport, DcSection, DcsfSubscribe, EventKind, Notification, Party, Target,
};

/// One of the NEF's subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Subscription {
    /// `sub-1`, …
    pub id: String,
    /// The watched subscriber (IMPU).
    pub impu: String,
    /// The events notified.
    pub events: Vec<EventKind>,
    /// Where they are posted.
    pub notify_uri: String,
}

/// The records and the subscriptions.
#[derive(Debug, Default)]
pub(super) struct Book {
    records: Vec<DcRecord>,
    subscriptions: Vec<Subscription>,
}

/// The party's telephone number of an IMPU: its user part without the scheme
/// (`sip:+12025551000@ims.example` → `+12025551000`, `tel:+12025551000` → `+12025551000`).
pub(super) fn party_tn(impu: &str) -> &str {
    let rest = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|scheme| impu.strip_prefix(scheme))
        .unwrap_or(impu);
    let user = rest.split_once('@').map_or(rest, |(user, _)| user);
    user.split_once(';').map_or(user, |(user, _)| user)
}

/// Whether two IMPUs name the same subscriber (the same number, whatever the URI form).
pub(super) fn same_subscriber(a: &str, b: &str) -> bool {
    let (ta, tb) = (party_tn(a), party_tn(b));
    let (da, db) = (proto::tn::digits(ta), proto::tn::digits(tb));
    if da.is_empty() || db.is_empty() {
        ta == tb
    } else {
        da == db
    }
}

/// Whether `impu` is a party of the record's call.
fn party_of(record: &DcRecord, impu: &str) -> bool {
    same_subscriber(&record.caller, impu) || same_subscriber(&record.callee, impu)
}

/// Which party of the record's call `impu` is (the caller first); `None`: neither.
pub(super) fn party(record: &DcRecord, impu: &str) -> Option<Party> {
    if same_subscriber(&record.caller, impu) {
        Some(Party::Caller)
    } else if same_subscriber(&record.callee, impu) {
        Some(Party::Callee)
    } else {
        None
    }
}

/// The IMPU of `party` in the record's call.
pub(super) fn impu_of(record: &DcRecord, party: Party) -> &str {
    match party {
        Party::Caller => &record.caller,
        Party::Callee => &record.callee,
    }
}

/// Whose bootstrap channel a `bdc` record is: the caller's, as the originating IMS AS reports
/// the sections of its own party (the callee has its own `bdc`, from its own network).
pub(super) fn bdc_party(_record: &DcRecord) -> Party {
    Party::Caller
}

/// The application `app` as the subscriber's list describes it (just its id when the list
/// does not hold it).
pub(super) fn app_info(list: Option<&AppList>, app: &str) -> AppInfo {
    let known = list.and_then(|l| l.apps.iter().find(|a| a.id == app));
    AppInfo {
        id: app.to_owned(),
        name: known.map(|a| a.name.clone()),
        url: known.map(|a| a.url.clone()),
    }
}

/// The notification of `event` about `record`, at `at` (seconds since the epoch).
pub(super) fn notification(
    event: EventKind,
    record: &DcRecord,
    app: Option<AppInfo>,
    at: i64,
) -> Notification {
    Notification {
        event,
        caller: Some(record.caller.clone()),
        callee: Some(record.callee.clone()),
        dc_id: Some(record.dc_id.clone()),
        target: Some(record.section.target),
        app,
        at,
    }
}

/// `app-downloaded` of `app` to a party of the call of `call` over its bootstrap data channel
/// `bdc` (when recorded), at `at`.
pub(super) fn downloaded(
    call: &DcRecord,
    bdc: Option<String>,
    app: AppInfo,
    at: i64,
) -> Notification {
    Notification {
        event: EventKind::AppDownloaded,
        caller: Some(call.caller.clone()),
        callee: Some(call.callee.clone()),
        dc_id: bdc,
        target: Some(Target::Bdc),
        app: Some(app),
        at,
    }
}

impl Book {
    /// A report of the IMS AS taken in: `dc-established` opens a record per section not open
    /// yet (an open `(call, mid)` is the same data channel), `dc-terminated` closes the open
    /// record of each section (of every section of the call when it names none: the call
    /// ended). The records that changed, to notify.
    pub fn report(&mut self, report: &DcReport) -> Vec<DcRecord> {
        match report.event {
            EventKind::DcEstablished => report
                .sections
                .iter()
                .filter_map(|s| {
                    let (record, new) =
                        self.establish(&report.call_id, &report.caller, &report.callee, s);
                    new.then_some(record)
                })
                .collect(),
            EventKind::DcTerminated => {
                let all = report.sections.is_empty();
                let mids: Vec<&str> = report.sections.iter().map(|s| s.mid.as_str()).collect();
                self.records
                    .iter_mut()
                    .filter(|r| r.open && r.call_id == report.call_id)
                    .filter(|r| all || mids.contains(&r.section.mid.as_str()))
                    .map(|r| {
                        r.open = false;
                        r.clone()
                    })
                    .collect()
            }
            // Not an event of a call's data channels: nothing to record.
            EventKind::AppDownloaded => Vec::new(),
        }
    }

    /// The open record of `(call_id, section.mid)`, or a new one (`true`).
    pub fn establish(
        &mut self,
        call_id: &str,
        caller: &str,
        callee: &str,
        section: &DcSection,
    ) -> (DcRecord, bool) {
        if let Some(open) = self
            .records
            .iter()
            .find(|r| r.open && r.call_id == call_id && r.section.mid == section.mid)
        {
            return (open.clone(), false);
        }
        let record = DcRecord {
            dc_id: format!("dc-{}", self.records.len() + 1),
            call_id: call_id.to_owned(),
            caller: caller.to_owned(),
            callee: callee.to_owned(),
            section: section.clone(),
            open: true,
        };
        self.records.push(record.clone());
        (record, true)
    }

    /// Marks the record closed: the closed record and whether it was open until now (an IMS
    /// AS's report may have closed it first); `None`: unknown.
    pub fn close(&mut self, dc_id: &str) -> Option<(DcRecord, bool)> {
        let record = self.records.iter_mut().find(|r| r.dc_id == dc_id)?;
        let was_open = std::mem::replace(&mut record.open, false);
        Some((record.clone(), was_open))
    }

    /// The record `dc_id`.
    pub fn record(&self, dc_id: &str) -> Option<&DcRecord> {
        self.records.iter().find(|r| r.dc_id == dc_id)
    }

    /// The subscriber's ongoing call: the latest open record it is a party of.
    pub fn ongoing(&self, impu: &str) -> Option<&DcRecord> {
        self.records
            .iter()
            .rev()
            .find(|r| r.open && party_of(r, impu))
    }

    /// The subscriber's open bootstrap data channel: an open `bdc` record of a call whose
    /// bootstrap channel is its own ([`bdc_party`]).
    pub fn open_bdc_of(&self, impu: &str) -> Option<&DcRecord> {
        self.records.iter().rev().find(|r| {
            r.open
                && r.section.target == Target::Bdc
                && same_subscriber(impu_of(r, bdc_party(r)), impu)
        })
    }

    /// The latest open record of a call of the party with number `tn` (a UE fetching its
    /// application list over its bootstrap channel), and the id of its bootstrap data channel
    /// in that call, if recorded.
    pub fn ongoing_of_tn(&self, tn: &str) -> Option<(DcRecord, Option<String>)> {
        let record = self.ongoing(tn)?.clone();
        let bdc = self
            .records
            .iter()
            .rev()
            .find(|r| r.open && r.call_id == record.call_id && r.section.target == Target::Bdc)
            .map(|r| r.dc_id.clone());
        Some((record, bdc))
    }

    /// A subscription of the NEF created.
    pub fn subscribe(&mut self, req: DcsfSubscribe) -> Subscription {
        let sub = Subscription {
            id: format!("sub-{}", self.subscriptions.len() + 1),
            impu: req.impu,
            events: req.events,
            notify_uri: req.notify_uri,
        };
        self.subscriptions.push(sub.clone());
        sub
    }

    /// The subscriptions `event` about the call of `record` is notified to: those of the
    /// caller or the callee that asked for the event.
    pub fn matching(&self, event: EventKind, record: &DcRecord) -> Vec<Subscription> {
        self.subscriptions
            .iter()
            .filter(|s| s.events.contains(&event) && party_of(record, &s.impu))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::wire::dcsf::App;

    const A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const B: &str = "sip:+12155551001@ims.mnc002.mcc002.3gppnetwork.org";

    fn section(mid: &str, target: Target) -> DcSection {
        DcSection {
            mid: mid.into(),
            target,
            app: None,
            labels: vec![],
        }
    }

    fn report(event: EventKind, call: &str, sections: Vec<DcSection>) -> DcReport {
        DcReport {
            event,
            call_id: call.into(),
            caller: A.into(),
            callee: B.into(),
            sections,
        }
    }

    #[test]
    fn impus_name_parties_by_number() {
        assert_eq!(party_tn(A), "+12025551000");
        assert_eq!(party_tn("tel:+12025551000"), "+12025551000");
        assert_eq!(party_tn("sip:+1202;user=phone"), "+1202");
        assert_eq!(party_tn("alice"), "alice");
        assert!(same_subscriber(A, "tel:+12025551000"));
        assert!(same_subscriber(A, "12025551000"));
        assert!(!same_subscriber(A, B));
        assert!(same_subscriber("sip:alice@x", "sip:alice@y"));
        assert!(!same_subscriber("sip:alice@x", "sip:bob@x"));
    }

    #[test]
    fn records_open_once_per_call_and_mid_and_close() {
        let mut book = Book::default();
        let up = report(
            EventKind::DcEstablished,
            "c1",
            vec![section("bdc", Target::Bdc), section("p2a", Target::Adc)],
        );
        let new = book.report(&up);
        let ids: Vec<&str> = new.iter().map(|r| r.dc_id.as_str()).collect();
        assert_eq!(ids, ["dc-1", "dc-2"]);
        // The same sections again: not new records.
        assert!(book.report(&up).is_empty());
        assert_eq!(book.ongoing(B).unwrap().dc_id, "dc-2");
        assert_eq!(book.ongoing("tel:+12025551000").unwrap().call_id, "c1");
        assert!(book.ongoing("sip:+19995550000@x").is_none());
        let (r, bdc) = book.ongoing_of_tn("+12155551001").unwrap();
        assert_eq!((r.dc_id.as_str(), bdc.as_deref()), ("dc-2", Some("dc-1")));
        // The bootstrap channel is the caller's.
        assert_eq!(book.open_bdc_of("tel:+12025551000").unwrap().dc_id, "dc-1");
        assert!(book.open_bdc_of(B).is_none());
        assert_eq!(party(&r, "tel:+12155551001"), Some(Party::Callee));
        assert_eq!(party(&r, A), Some(Party::Caller));
        assert_eq!(party(&r, "sip:+19995550000@x"), None);
        assert_eq!(impu_of(&r, Party::Callee), B);

        // One section terminated; then the call ended (no sections).
        let down = report(
            EventKind::DcTerminated,
            "c1",
            vec![section("p2a", Target::Adc)],
        );
        let closed = book.report(&down);
        assert_eq!(closed.len(), 1);
        assert!(!closed[0].open && closed[0].dc_id == "dc-2");
        assert!(book.report(&down).is_empty(), "closed once");
        assert_eq!(book.ongoing(A).unwrap().dc_id, "dc-1");
        let ended = book.report(&report(EventKind::DcTerminated, "c1", vec![]));
        assert_eq!(ended[0].dc_id, "dc-1");
        assert!(book.open_bdc_of(A).is_none());
        assert!(book.ongoing(A).is_none());
        // Re-established after closing: a new data channel.
        let again = book.report(&up);
        assert_eq!(again[0].dc_id, "dc-3");
        assert!(book.record("dc-1").is_some_and(|r| !r.open));
        assert!(book.record("dc-9").is_none());
        let (closed, was_open) = book.close("dc-3").unwrap();
        assert!(!closed.open && was_open);
        assert!(!book.close("dc-3").unwrap().1, "closed once");
        assert!(book.close("dc-9").is_none());
    }

    #[test]
    fn subscriptions_match_parties_and_events() {
        let mut book = Book::default();
        let sub = |impu: &str, events: Vec<EventKind>| DcsfSubscribe {
            impu: impu.into(),
            events,
            notify_uri: "https://nef/n".into(),
        };
        let s1 = book.subscribe(sub(A, vec![EventKind::DcEstablished]));
        let s2 = book.subscribe(sub(
            "tel:+12155551001",
            vec![EventKind::DcTerminated, EventKind::DcEstablished],
        ));
        book.subscribe(sub("sip:+19995550000@x", vec![EventKind::DcEstablished]));
        assert_eq!((s1.id.as_str(), s2.id.as_str()), ("sub-1", "sub-2"));
        let (record, _) = book.establish("c1", A, B, &section("adc", Target::Adc));
        let ids = |event| -> Vec<String> {
            book.matching(event, &record)
                .into_iter()
                .map(|s| s.id)
                .collect()
        };
        assert_eq!(ids(EventKind::DcEstablished), ["sub-1", "sub-2"]);
        assert_eq!(ids(EventKind::DcTerminated), ["sub-2"]);
        assert!(ids(EventKind::AppDownloaded).is_empty());
    }

    #[test]
    fn notifications_carry_the_record_and_the_application() {
        let list = AppList {
            tn: "+12025551000".into(),
            apps: vec![App {
                id: "avatar-call".into(),
                name: "Avatar call".into(),
                url: "https://apps/avatar".into(),
                avatar_ids: vec![],
            }],
        };
        let known = app_info(Some(&list), "avatar-call");
        assert_eq!(known.name.as_deref(), Some("Avatar call"));
        assert_eq!(known.url.as_deref(), Some("https://apps/avatar"));
        let unknown = app_info(Some(&list), "other");
        assert_eq!((unknown.id.as_str(), unknown.name), ("other", None));
        let mut book = Book::default();
        let (record, _) = book.establish("c1", A, B, &section("adc", Target::Adc));
        let n = notification(EventKind::DcEstablished, &record, Some(known), 7);
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            serde_json::json!({
                "event": "dc-established", "caller": A, "callee": B, "dcId": "dc-1",
                "target": "adc", "at": 7,
                "app": {"id": "avatar-call", "name": "Avatar call", "url": "https://apps/avatar"}
            })
        );
    }
}
