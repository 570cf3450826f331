//! The originating IMS AS's decisions for TR 33.790 key issue #1, as pure functions over the
//! INVITE and what the HSS and the third party's servers said: solution 2's record choice
//! (§6.2.2.2 steps 2–6, §6.2.2.3 steps 1–5), and for every solution what is presented and
//! signed ([`Presented`]).

use std::collections::BTreeMap;

use proto::sipmsg::{self, NameAddr, Request};
use proto::wire::authz::{AuthorizeRequest, AuthzOption, Proof};
use proto::wire::id3p::RcdRecord;
use proto::wire::sh::Subscription;
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

/// What the originating network presents for the caller, whichever solution found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Presented {
    /// RFC 9795 `rcd` claims; `nam` is the name the callee is shown.
    pub rcd: Rcd,
    /// Digests the AS computed itself over content it fetched (else the STI-AS computes them).
    pub rcdi: Option<BTreeMap<String, String>>,
    /// RFC 9795 §6.3 call reason.
    pub crn: Option<String>,
    /// Sign the `rcd` claims inside the `shaken` PASSporT (solution 1, choice `6.1-passport`)
    /// rather than as a separate `rcd` PASSporT.
    pub in_shaken: bool,
}

impl Presented {
    /// Solution 2: one of the 3P ID server's records.
    pub fn from_record(r: &RcdRecord) -> Self {
        Presented {
            rcd: Rcd {
                nam: Some(r.nam.clone()),
                jcl: r.jcl.clone(),
                icn: r.icn.clone(),
                ..Rcd::default()
            },
            rcdi: None,
            crn: r.crn.clone(),
            in_shaken: false,
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.rcd.nam.as_deref()
    }
}

/// The `fn` (formatted name) of a jCard (RFC 7095), the name a card presents.
pub fn jcard_name(jcard: &serde_json::Value) -> Option<String> {
    jcard.get(1)?.as_array()?.iter().find_map(|prop| {
        (prop.get(0)?.as_str()? == "fn")
            .then(|| prop.get(3)?.as_str().map(str::to_owned))
            .flatten()
    })
}

/// The Ms signing requests: always `shaken` for the caller's number; `rcd` too when something
/// is presented (choice `6.2-ms-two-requests`), unless it rides in the `shaken` one.
pub fn signing_requests(
    caller_tn: &str,
    callee_tn: &str,
    iat: i64,
    attest: Attest,
    presented: Option<&Presented>,
) -> Vec<SigningRequest> {
    let mut shaken = SigningRequest {
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
    match presented {
        None => vec![shaken],
        Some(p) if p.in_shaken => {
            shaken.rcd = Some(p.rcd.clone());
            shaken.rcdi.clone_from(&p.rcdi);
            shaken.crn.clone_from(&p.crn);
            vec![shaken]
        }
        Some(p) => {
            let rcd = SigningRequest {
                ppt: Some("rcd".into()),
                attest: None,
                rcd: Some(p.rcd.clone()),
                rcdi: p.rcdi.clone(),
                crn: p.crn.clone(),
                ..shaken.clone()
            };
            vec![shaken, rcd]
        }
    }
}

/// Asserts the caller (P-Asserted-Identity with the presented name), adds the Identity headers
/// and, for an RCD URL, Call-Info with the jCard URL and call reason (RFC 9796).
pub fn apply(
    invite: &mut Request,
    caller: &NameAddr,
    identities: &[String],
    presented: Option<&Presented>,
) {
    let mut pai = NameAddr {
        display: presented.and_then(|p| p.name().map(str::to_owned)),
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
    if let Some(p) = presented
        && let Some(jcl) = p.rcd.jcl.as_deref()
    {
        let info = CallInfo::rcd_jcard(jcl, p.crn.as_deref());
        sipmsg::push(&mut invite.headers, "Call-Info", info.to_header());
    }
}

/// Solution 4 step 2 (§6.4.2.1): what to ask the third party's authorization server, from the
/// caller's subscription and its `Authorization` header (choice `6.4-authorization-header`:
/// `Bearer realm="…", 3pid="…"[, token="…"][, nonce="…", proof="…"]`).
///
/// - With credentials: option B, if the subscription allows 3P IDs.
/// - Without: option A, if the caller's IMPU is a designated one (provisioned with the realm
///   of its authorization server at step 0a).
pub fn authorization_request(
    subscription: Option<&Subscription>,
    credentials: Option<&str>,
) -> Result<AuthorizeRequest, String> {
    let Some(subscription) = subscription else {
        return Err("the caller has no subscription at this HSS".into());
    };
    match credentials {
        Some(value) => {
            if !subscription.third_party_ids {
                return Err(
                    "the subscription may not use 3P IDs: the Authorization header is ignored"
                        .into(),
                );
            }
            let (scheme, params) = sipmsg::auth_params(value)
                .ok_or_else(|| format!("unreadable Authorization header {value:?}"))?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(format!("Authorization scheme {scheme} is not Bearer"));
            }
            let realm = params
                .get("realm")
                .ok_or("the Authorization header names no realm")?;
            let id3p = params
                .get("3pid")
                .ok_or("the Authorization header names no 3P ID")?;
            let proof = match (params.get("nonce"), params.get("proof")) {
                (Some(nonce), Some(signature)) => Some(Proof {
                    nonce: nonce.clone(),
                    signature: signature.clone(),
                }),
                _ => None,
            };
            Ok(AuthorizeRequest {
                impu: subscription.impu.clone(),
                option: AuthzOption::B,
                realm: Some(realm.clone()),
                id3p: Some(id3p.clone()),
                token: params.get("token").cloned(),
                proof,
            })
        }
        None => match &subscription.authz_realm {
            Some(realm) if subscription.third_party_ids => Ok(AuthorizeRequest {
                impu: subscription.impu.clone(),
                option: AuthzOption::A,
                realm: Some(realm.clone()),
                id3p: subscription.id3p.clone(),
                token: None,
                proof: None,
            }),
            _ => Err("none requested (no Authorization header, not a designated IMPU)".into()),
        },
    }
}

/// The `WWW-Authenticate` value relaying an authorization server's challenge (§6.4.2.2).
pub fn bearer_challenge(realm: &str, nonce: &str) -> String {
    let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "Bearer realm=\"{}\", nonce=\"{}\"",
        quote(realm),
        quote(nonce)
    )
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
            id_info: None,
            id_info_url: None,
            rcd_urls: Vec::new(),
            rcd: None,
            authz_realm: None,
            id3p: None,
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
            Some(&Presented::from_record(&record("A", true))),
        );
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].ppt, None);
        assert_eq!(reqs[0].orig.tn.as_deref(), Some("12025551000"));
        assert_eq!(reqs[1].ppt.as_deref(), Some("rcd"));
        assert_eq!(reqs[1].rcd.as_ref().unwrap().nam.as_deref(), Some("A"));
        assert_eq!(signing_requests("+1", "+2", 5, Attest::A, None).len(), 1);
        let mut inside = Presented::from_record(&record("A", true));
        inside.in_shaken = true;
        let reqs = signing_requests("+1", "+2", 5, Attest::A, Some(&inside));
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].ppt, None);
        assert_eq!(reqs[0].rcd.as_ref().unwrap().nam.as_deref(), Some("A"));
    }

    #[test]
    fn jcard_names() {
        let card: serde_json::Value = serde_json::from_str(
            r#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch"]]]"#,
        )
        .unwrap();
        assert_eq!(jcard_name(&card).as_deref(), Some("Q Branch"));
        assert_eq!(jcard_name(&serde_json::json!(["vcard", []])), None);
        assert_eq!(jcard_name(&serde_json::json!(null)), None);
    }

    #[test]
    fn option_a_or_b_from_subscription_and_header() {
        let mut s = Subscription {
            impu: "sip:+12025551000@ims".into(),
            tn: "+12025551000".into(),
            third_party_ids: true,
            id_server: None,
            verification: false,
            id_info: None,
            id_info_url: None,
            rcd_urls: Vec::new(),
            rcd: None,
            authz_realm: None,
            id3p: None,
        };
        let b = authorization_request(
            Some(&s),
            Some(r#"Bearer realm="authz.example", 3pid="tel:+12025550100", token="t.o.k""#),
        )
        .unwrap();
        assert_eq!(b.option, AuthzOption::B);
        assert_eq!(b.impu, "sip:+12025551000@ims");
        assert_eq!(b.token.as_deref(), Some("t.o.k"));
        assert!(b.proof.is_none());
        let proved = authorization_request(
            Some(&s),
            Some(r#"Bearer realm="r", 3pid="tel:+1", nonce="n", proof="p""#),
        )
        .unwrap();
        assert_eq!(proved.proof.unwrap().nonce, "n");
        assert!(authorization_request(Some(&s), Some(r#"Digest realm="r", 3pid="x""#)).is_err());
        assert!(authorization_request(Some(&s), Some(r#"Bearer 3pid="x""#)).is_err());
        assert!(
            authorization_request(Some(&s), None).is_err(),
            "nothing asked"
        );
        assert!(authorization_request(None, Some("Bearer realm=r, 3pid=x")).is_err());
        s.third_party_ids = false;
        assert!(authorization_request(Some(&s), Some("Bearer realm=r, 3pid=x")).is_err());
        s.third_party_ids = true;
        s.authz_realm = Some("authz.example".into());
        s.id3p = Some("tel:+12025550100".into());
        let a = authorization_request(Some(&s), None).unwrap();
        assert_eq!(a.option, AuthzOption::A);
        assert_eq!(a.id3p.as_deref(), Some("tel:+12025550100"));
    }

    #[test]
    fn challenges_quote_their_values() {
        assert_eq!(
            bearer_challenge("authz.example", "n\"1"),
            r#"Bearer realm="authz.example", nonce="n\"1""#
        );
        let (_, p) = sipmsg::auth_params(&bearer_challenge("r", "a,\"b")).unwrap();
        assert_eq!(p["nonce"], "a,\"b");
    }
}
