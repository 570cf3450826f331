//! The originating IMS AS's decisions for TR 33.790 solution 2 (§6.2.2.2 steps 2–6, §6.2.2.3
//! steps 1–5), as pure functions over the INVITE and what the HSS and the 3P ID server said.

use kit::sipmsg::{self, NameAddr, Request};
use kit::wire::id3p::RcdRecord;
use kit::wire::sh::Subscription;
use stir::ms::SigningRequest;
use stir::{Attest, CallInfo, Dest, Orig, Rcd};

/// The caller's number: from the P-Asserted-Identity the P-CSCF (or trunk IBCF) asserted,
/// else from From.
pub fn caller(invite: &Request) -> Option<NameAddr> {
    sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .and_then(NameAddr::parse)
        .filter(|n| n.tn().is_some())
        .or_else(|| sipmsg::first(&invite.headers, "From").and_then(NameAddr::parse))
}

/// The callee's number, from the Request-URI (else To).
pub fn callee_tn(invite: &Request) -> Option<String> {
    NameAddr::parse(&invite.uri.to_string())
        .and_then(|n| n.tn())
        .or_else(|| {
            sipmsg::first(&invite.headers, "To")
                .and_then(NameAddr::parse)
                .and_then(|n| n.tn())
        })
}

/// The 3P ID data the caller named: the display name of From (testbed choice `6.2-3pid-data`).
pub fn third_party_id_data(invite: &Request) -> Option<String> {
    sipmsg::first(&invite.headers, "From")
        .and_then(NameAddr::parse)
        .and_then(|n| n.display)
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
    Mismatch { asked: String },
    /// Present this record.
    Use(Box<RcdRecord>),
}

impl RcdDecision {
    pub fn record(&self) -> Option<&RcdRecord> {
        match self {
            RcdDecision::Use(r) => Some(r),
            _ => None,
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
            RcdDecision::Use(r) => format!("RCD record {:?} selected: name {:?}", r.id, r.nam),
        }
    }
}

/// Authorisation (from the HSS subscription) before any 3P ID server lookup.
pub fn authorise(subscription: Option<&Subscription>) -> Result<&str, RcdDecision> {
    match subscription {
        Some(s) if s.third_party_ids => s.id_server.as_deref().ok_or(RcdDecision::NoServer),
        _ => Err(RcdDecision::NotAuthorised),
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

/// The Ms signing requests: always `shaken` for the caller's number; `rcd` too when a record is
/// presented (choice `6.2-ms-two-requests`).
pub fn signing_requests(
    caller_tn: &str,
    callee_tn: &str,
    iat: i64,
    attest: Attest,
    record: Option<&RcdRecord>,
) -> Vec<SigningRequest> {
    let shaken = SigningRequest {
        ppt: None,
        attest: Some(attest),
        dest: Dest::tn(callee_tn),
        iat,
        orig: Orig::tn(caller_tn),
        origid: None,
        rcd: None,
        rcdi: None,
        crn: None,
        request_id: None,
    };
    let mut out = vec![shaken.clone()];
    if let Some(r) = record {
        out.push(SigningRequest {
            ppt: Some("rcd".into()),
            attest: None,
            rcd: Some(Rcd {
                nam: Some(r.nam.clone()),
                jcl: r.jcl.clone(),
                icn: r.icn.clone(),
                ..Rcd::default()
            }),
            crn: r.crn.clone(),
            ..shaken
        });
    }
    out
}

/// Step 3/4: P-Asserted-Identity asserting the number and the RCD name; the Identity headers;
/// Call-Info with the jCard URL and call reason (RFC 9796).
pub fn apply(
    invite: &mut Request,
    caller: &NameAddr,
    identities: &[String],
    record: Option<&RcdRecord>,
) {
    let mut pai = NameAddr {
        display: record.map(|r| r.nam.clone()),
        uri: caller.uri.clone(),
        params: String::new(),
    };
    if pai.display.is_none() {
        pai.display.clone_from(&caller.display);
    }
    sipmsg::set(&mut invite.headers, "P-Asserted-Identity", pai.render());
    for identity in identities {
        sipmsg::push(&mut invite.headers, "Identity", identity.clone());
    }
    if let Some(jcl) = record.and_then(|r| r.jcl.as_deref()) {
        let info = CallInfo::rcd_jcard(jcl, record.and_then(|r| r.crn.as_deref()));
        sipmsg::push(&mut invite.headers, "Call-Info", info.to_header());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
        let mut s = Subscription {
            impu: "x".into(),
            tn: "+1".into(),
            third_party_ids: false,
            id_server: Some("https://id".into()),
            verification: false,
        };
        assert_eq!(authorise(Some(&s)), Err(RcdDecision::NotAuthorised));
        assert_eq!(authorise(None), Err(RcdDecision::NotAuthorised));
        s.third_party_ids = true;
        assert_eq!(authorise(Some(&s)), Ok("https://id"));
        s.id_server = None;
        assert_eq!(authorise(Some(&s)), Err(RcdDecision::NoServer));
    }

    #[test]
    fn signing_requests_shaken_then_rcd() {
        let reqs = signing_requests(
            "+12025551000",
            "+12155551001",
            5,
            Attest::A,
            Some(&record("A", true)),
        );
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].ppt, None);
        assert_eq!(reqs[0].orig.tn.as_deref(), Some("12025551000"));
        assert_eq!(reqs[1].ppt.as_deref(), Some("rcd"));
        assert_eq!(reqs[1].rcd.as_ref().unwrap().nam.as_deref(), Some("A"));
        assert_eq!(signing_requests("+1", "+2", 5, Attest::A, None).len(), 1);
    }
}
