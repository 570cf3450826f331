//! Solution 2 (§6.2.2.2 steps 2–6, §6.2.2.3 steps 1–5): the HSS says whether the caller may use
//! 3P IDs and where their 3P ID server is; the AS fetches the caller's RCD records from it
//! (mutual TLS) and picks one against the 3P ID data in the INVITE (the From display name,
//! choice `6.2-3pid-data`).

use std::sync::Arc;

use kit::http::BoxFuture;
use proto::sip::Request;
use proto::sipmsg::{self, NameAddr};
use proto::tn::digits;
use proto::trace::{Act, Note, Reason};
use proto::wire::id3p::{RcdRecord, RcdRecords};
use proto::wire::sh::{self, Subscription};

use super::{Flow, Origination};
use crate::Error;
use crate::io::Io;
use crate::orig::Presented;

/// Solution 2: RCD records from the enterprise's 3P ID server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IdServer;

/// Solution 2 (§6.2): RCD records from the enterprise's 3P ID server, chosen against the 3P ID
/// data in the INVITE.
pub fn id_server() -> Arc<dyn Flow> {
    Arc::new(IdServer)
}

impl Flow for IdServer {
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        invite: &'a mut Request,
        caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(async move { Origination::found(lookup(io, invite, caller_tn).await) })
    }

    fn signing_choice(&self) -> Option<(&'static str, &'static str)> {
        Some((
            crate::choices::SOL2_RCD_HEADER,
            "RCD as an rcd PASSporT, P-Asserted-Identity display name and Call-Info rcd-jcard",
        ))
    }
}

/// Step 3: authorisation from the HSS, then the RCD record from the 3P ID server, chosen
/// against the 3P ID data in the INVITE.
async fn lookup(io: &Io<'_>, invite: &Request, caller_tn: &str) -> Option<Presented> {
    let asked = third_party_id_data(invite);
    io.choice(
        crate::choices::SOL2_3PID_DATA,
        &asked.as_ref().map_or(
            "the INVITE names no 3P ID data (no From display name)".into(),
            |a| format!("3P ID data from the From display name: {a:?}"),
        ),
    );
    let subscription = io
        .hss_get::<Subscription>(&sh::path(&digits(caller_tn)))
        .await;
    let decision = match from_hss(subscription) {
        Err(refused) => refused,
        Ok(server) => {
            let url = records_url(&server, caller_tn);
            from_server(io.get_json::<RcdRecords>(&url).await, asked.as_deref())
        }
    };
    io.note(decision.note());
    if asked.is_none() && decision.record().is_some() {
        io.choice(
            crate::choices::SOL2_NO_3PID_DATA,
            "no 3P ID data named: the default RCD record is used",
        );
    }
    if matches!(decision, RcdDecision::Mismatch { .. }) {
        io.choice(
            crate::choices::SOL2_MISMATCH_POLICY,
            "3P ID data and the server's records disagree: no RCD is presented",
        );
    }
    decision.record().map(Presented::from_record)
}

/// The 3P ID data the caller named: the display name of From (testbed choice `6.2-3pid-data`).
pub fn third_party_id_data(invite: &Request) -> Option<String> {
    sipmsg::first(&invite.headers, "From")
        .and_then(NameAddr::parse)
        .and_then(|n| n.display)
}

/// Where the caller's records are on their 3P ID server.
fn records_url(server: &str, caller_tn: &str) -> String {
    format!(
        "{}{}",
        server.trim_end_matches('/'),
        proto::wire::id3p::path(&digits(caller_tn))
    )
}

/// What the originating IMS system decided about Rich Call Data (§6.2.2.2 step 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcdDecision {
    /// The subscription may not use 3P IDs: any 3P ID data is ignored, no RCD.
    NotAuthorised,
    /// Allowed, but the HSS names no 3P ID server.
    NoServer,
    /// Allowed, but the 3P ID server has no record for this identity.
    NoRecord,
    /// The INVITE names 3P ID data that no record of this identity answers to; local policy
    /// (choice `6.2-mismatch-policy`) presents no RCD.
    Mismatch {
        /// The 3P ID data the INVITE named.
        asked: String,
    },
    /// The HSS or the 3P ID server did not answer usefully (what, and why).
    Unreachable(String),
    /// Present this record.
    Use(Box<RcdRecord>),
}

impl RcdDecision {
    /// The record to present, if any.
    pub fn record(&self) -> Option<&RcdRecord> {
        match self {
            RcdDecision::Use(r) => Some(r),
            _ => None,
        }
    }

    /// Why no record is presented (`None`: one is).
    pub fn reason(&self) -> Option<Reason> {
        match self {
            RcdDecision::NotAuthorised => Some(Reason::NotAuthorised),
            RcdDecision::NoServer | RcdDecision::NoRecord => Some(Reason::NoRecord),
            RcdDecision::Mismatch { .. } => Some(Reason::Mismatch),
            RcdDecision::Unreachable(_) => Some(Reason::Unreachable),
            RcdDecision::Use(_) => None,
        }
    }

    /// One line for the trace.
    pub fn explain(&self) -> String {
        match self {
            RcdDecision::NotAuthorised => {
                "subscription not authorised for 3P IDs: 3P ID data ignored, no RCD".into()
            }
            RcdDecision::NoServer => "no 3P ID server for this subscription: no RCD".into(),
            RcdDecision::NoRecord => "3P ID server has no RCD for this identity: no RCD".into(),
            RcdDecision::Mismatch { asked } => {
                format!(
                    "3P ID data {asked:?} matches no RCD record of this identity: local policy presents no RCD"
                )
            }
            RcdDecision::Unreachable(why) => format!("{why}: no RCD"),
            RcdDecision::Use(r) => format!("RCD record {:?} selected: name {:?}", r.id, r.nam),
        }
    }

    /// The trace note: the RCD lookup done, or refused with its reason.
    pub fn note(&self) -> Note {
        let label = format!("3P ID check: {}", self.explain());
        match self.reason() {
            None => Note::done(Act::RcdLookup, label),
            Some(reason) => Note::refused(Act::RcdLookup, reason, label),
        }
    }
}

/// The HSS's answer: the 3P ID server to ask, or the decision already made.
fn from_hss(answer: Result<Option<Subscription>, Error>) -> Result<String, RcdDecision> {
    match answer {
        Ok(subscription) => authorise(subscription.as_ref()).map(str::to_owned),
        Err(e) => Err(RcdDecision::Unreachable(format!("HSS unavailable ({e})"))),
    }
}

/// Authorisation (from the HSS subscription) before any 3P ID server lookup.
pub fn authorise(subscription: Option<&Subscription>) -> Result<&str, RcdDecision> {
    match subscription {
        Some(s) if s.third_party_ids => s.id_server.as_deref().ok_or(RcdDecision::NoServer),
        _ => Err(RcdDecision::NotAuthorised),
    }
}

/// The 3P ID server's answer, chosen against the 3P ID data asked for.
fn from_server(answer: Result<Option<RcdRecords>, Error>, asked: Option<&str>) -> RcdDecision {
    match answer {
        Ok(Some(records)) => choose(&records.records, asked),
        Ok(None) => RcdDecision::NoRecord,
        Err(e) => RcdDecision::Unreachable(format!("3P ID server unavailable ({e})")),
    }
}

/// Picks the record (§6.2.2.1 NOTE 3): the one the 3P ID data names, else the default.
pub fn choose(records: &[RcdRecord], asked: Option<&str>) -> RcdDecision {
    if records.is_empty() {
        return RcdDecision::NoRecord;
    }
    match asked {
        Some(asked) => match records.iter().find(|r| r.id == asked) {
            Some(r) => RcdDecision::Use(Box::new(r.clone())),
            None => RcdDecision::Mismatch {
                asked: asked.to_owned(),
            },
        },
        None => records
            .iter()
            .find(|r| r.default)
            .map_or(RcdDecision::NoRecord, |r| {
                RcdDecision::Use(Box::new(r.clone()))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::trace::Outcome;

    fn record(id: &str, default: bool) -> RcdRecord {
        RcdRecord {
            id: id.into(),
            nam: id.into(),
            jcl: Some(format!("https://id/{id}.json")),
            icn: None,
            crn: None,
            default,
        }
    }

    fn subscription(third_party_ids: bool, id_server: Option<&str>) -> Subscription {
        Subscription {
            impu: "x".into(),
            tn: "+1".into(),
            third_party_ids,
            id_server: id_server.map(str::to_owned),
            verification: false,
            id_info: None,
            id_info_url: None,
            rcd_urls: Vec::new(),
            rcd: None,
            authz_realm: None,
            id3p: None,
        }
    }

    fn down() -> Error {
        Error::Unconfigured { peer: "HSS" }
    }

    #[test]
    fn choosing_records() {
        let records = [record("A", true), record("B", false)];
        assert_eq!(
            choose(&records, None),
            RcdDecision::Use(Box::new(record("A", true)))
        );
        assert_eq!(
            choose(&records, Some("B")),
            RcdDecision::Use(Box::new(record("B", false)))
        );
        assert_eq!(
            choose(&records, Some("Evil")),
            RcdDecision::Mismatch {
                asked: "Evil".into()
            }
        );
        assert_eq!(choose(&[], None), RcdDecision::NoRecord);
        assert_eq!(choose(&[record("B", false)], None), RcdDecision::NoRecord);
    }

    #[test]
    fn authorisation_comes_first() {
        let mut s = subscription(false, Some("https://id"));
        assert_eq!(authorise(Some(&s)), Err(RcdDecision::NotAuthorised));
        assert_eq!(authorise(None), Err(RcdDecision::NotAuthorised));
        s.third_party_ids = true;
        assert_eq!(authorise(Some(&s)), Ok("https://id"));
        s.id_server = None;
        assert_eq!(authorise(Some(&s)), Err(RcdDecision::NoServer));
    }

    #[test]
    fn hss_and_server_answers() {
        assert_eq!(
            from_hss(Ok(Some(subscription(true, Some("https://id/"))))),
            Ok("https://id/".into())
        );
        assert_eq!(from_hss(Ok(None)), Err(RcdDecision::NotAuthorised));
        assert!(matches!(
            from_hss(Err(down())),
            Err(RcdDecision::Unreachable(_))
        ));
        let records = RcdRecords {
            tn: "+1".into(),
            records: vec![record("A", true)],
        };
        assert_eq!(
            from_server(Ok(Some(records)), None),
            RcdDecision::Use(Box::new(record("A", true)))
        );
        assert_eq!(from_server(Ok(None), None), RcdDecision::NoRecord);
        assert!(matches!(
            from_server(Err(down()), Some("A")),
            RcdDecision::Unreachable(_)
        ));
        assert_eq!(
            records_url("https://id/", "+1 202 555 1000"),
            "https://id/rcd/v1/subscribers/12025551000"
        );
    }

    #[test]
    fn decisions_map_to_typed_outcomes() {
        let cases = [
            (RcdDecision::NotAuthorised, Some(Reason::NotAuthorised)),
            (RcdDecision::NoServer, Some(Reason::NoRecord)),
            (RcdDecision::NoRecord, Some(Reason::NoRecord)),
            (
                RcdDecision::Mismatch { asked: "X".into() },
                Some(Reason::Mismatch),
            ),
            (
                RcdDecision::Unreachable("HSS unavailable".into()),
                Some(Reason::Unreachable),
            ),
            (RcdDecision::Use(Box::new(record("A", true))), None),
        ];
        for (decision, reason) in cases {
            assert_eq!(decision.reason(), reason);
            let outcome = reason.map_or(Outcome::Done, Outcome::Refused);
            assert_eq!(
                decision.note().action(),
                Some((Act::RcdLookup, outcome)),
                "{decision:?}"
            );
        }
        let Note::Action { label, .. } = RcdDecision::Use(Box::new(record("A", true))).note()
        else {
            unreachable!("an action note")
        };
        assert_eq!(label, "3P ID check: RCD record \"A\" selected: name \"A\"");
    }
}
