//! Solution 3 (§6.3.2). Originating, steps 3–4b: the caller is authorised when the HSS
//! associates their IMPU with third party RCD (step 3); the HSS returns an RCD URL or concrete
//! RCD (4a); for a URL the AS fetches the jCard from the third party's server (4b) and digests
//! it, so the signed `rcdi` covers what was fetched. Terminating, step 9: the STI-VS fetched and
//! digest-checked the jCard behind a verified RCD URL; the AS notes it.

use std::sync::Arc;

use kit::http::BoxFuture;
use proto::sip::Request;
use proto::tn::digits;
use proto::trace::{Act, Note, Reason};
use proto::wire::sh::{self, ConcreteRcd, RcdAnswer, Subscription};
use stir::ms::VerificationResponse;

use super::{Flow, Found, Origination, Refusal};
use crate::Error;
use crate::io::Io;
use crate::orig::Presented;

/// Solution 3: RCD URL or concrete RCD from the HSS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HssRcd;

/// Solution 3 (§6.3): RCD URL or concrete RCD from the HSS, signed as an `rcd` PASSporT with
/// `rcdi` digests; the terminating side notes the jCard's digest check.
pub fn hss_rcd() -> Arc<dyn Flow> {
    Arc::new(HssRcd)
}

impl Flow for HssRcd {
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        _invite: &'a mut Request,
        caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(async move {
            let found = lookup(io, caller_tn).await;
            Origination::found(io.conclude(Act::HssRcdLookup, found))
        })
    }

    fn signing_choice(&self) -> Option<(&'static str, &'static str)> {
        Some((
            crate::choices::SOL3_RCD_HEADER,
            "RCD as an rcd PASSporT with rcdi digests; an RCD URL also as Call-Info purpose=rcd-jcard, concrete RCD inline as jcd",
        ))
    }

    fn verified(&self, io: &Io<'_>, response: Option<&VerificationResponse>) {
        if let Some(url) = response.and_then(content_checked) {
            io.note(Note::done(
                Act::RcdContentChecked,
                format!("verified RCD URL {url}: its jCard was fetched and digest-checked"),
            ));
        }
    }
}

/// Steps 3–4b.
async fn lookup(io: &Io<'_>, caller_tn: &str) -> Found<Presented> {
    let tn = digits(caller_tn);
    associated(io.hss_get::<Subscription>(&sh::path(&tn)).await)?;
    match from_hss(io.hss_get::<RcdAnswer>(&sh::rcd_path(&tn)).await)? {
        HssRcd4a::Concrete(rcd) => Ok(concrete(rcd)),
        HssRcd4a::Url(url) => {
            let body = io
                .get_bytes(&url)
                .await
                .map_err(|e| Refusal::unavailable("third party database", &e, ": no RCD"))?;
            fetched(url, body)
        }
    }
}

/// Step 3: authorised when the HSS associates the IMPU with third party RCD.
fn associated(subscription: Result<Option<Subscription>, Error>) -> Result<(), Refusal> {
    let subscription =
        subscription.map_err(|e| Refusal::unavailable("HSS", &e, ": not authorised, no RCD"))?;
    if subscription.is_some_and(|s| !s.rcd_urls.is_empty() || s.rcd.is_some()) {
        Ok(())
    } else {
        Err(Refusal::new(
            Reason::NotAuthorised,
            "no third party identity is associated with this IMPU in the HSS: not authorised, no RCD",
        ))
    }
}

/// What the HSS holds for the caller (step 4a).
#[derive(Debug, Clone, PartialEq, Eq)]
enum HssRcd4a {
    /// Concrete RCD the HSS fetched in advance.
    Concrete(ConcreteRcd),
    /// An RCD URL to fetch (step 4b).
    Url(String),
}

/// The HSS's RCD answer (step 4a).
fn from_hss(answer: Result<Option<RcdAnswer>, Error>) -> Result<HssRcd4a, Refusal> {
    let no_rcd = |label| Refusal::new(Reason::NoRecord, label);
    match answer {
        Ok(Some(RcdAnswer { rcd: Some(rcd), .. })) => Ok(HssRcd4a::Concrete(rcd)),
        Ok(Some(RcdAnswer { rcd: None, urls })) => urls
            .into_iter()
            .next()
            .map(HssRcd4a::Url)
            .ok_or_else(|| no_rcd("the HSS answered with neither RCD nor RCD URL: no RCD")),
        Ok(None) => Err(no_rcd("the HSS holds no RCD after all: no RCD")),
        Err(e) => Err(Refusal::unavailable("HSS", &e, ": no RCD")),
    }
}

/// Concrete RCD: signed inline as `jcd` (no third party fetch).
fn concrete(rcd: ConcreteRcd) -> (Presented, String) {
    let label = format!(
        "the HSS associates this IMPU with third party RCD (authorised); concrete RCD from the HSS: {:?}, signed inline as jcd",
        rcd.nam
    );
    let presented = Presented {
        rcd: stir::Rcd {
            nam: Some(rcd.nam.clone()),
            jcd: Some(rcd.jcard()),
            ..stir::Rcd::default()
        },
        rcdi: None,
        crn: None,
        in_shaken: false,
    };
    (presented, label)
}

/// Step 4b: the jCard fetched from `url`, named and digested (`rcdi` over these bytes).
fn fetched(url: String, body: Vec<u8>) -> Found<Presented> {
    let Some(nam) = serde_json::from_slice(&body)
        .ok()
        .and_then(|card| crate::orig::jcard_name(&card))
    else {
        return Err(Refusal::new(
            Reason::Malformed,
            format!("{url} is not a jCard with a name: no RCD"),
        ));
    };
    let rcd = stir::Rcd {
        nam: Some(nam.clone()),
        jcl: Some(url.clone()),
        ..stir::Rcd::default()
    };
    let fetched = stir::rcd::Fetched::from([(url, body)]);
    let rcdi = stir::rcd::compute_rcdi(&rcd, &fetched, stir::DigestAlg::Sha256).map_err(|e| {
        Refusal::new(
            Reason::Malformed,
            format!("cannot digest the RCD ({e}): no RCD"),
        )
    })?;
    let label = format!(
        "the HSS associates this IMPU with third party RCD (authorised); RCD fetched from the third party database: {nam:?}; rcdi digests computed over what was fetched"
    );
    let presented = Presented {
        rcd,
        rcdi: Some(rcdi),
        crn: None,
        in_shaken: false,
    };
    Ok((presented, label))
}

/// Step 9: the RCD URL of a PASSporT that verified with an `rcdi` entry covering it — the
/// STI-VS fetched that jCard and checked its digest. `None` otherwise.
fn content_checked(response: &VerificationResponse) -> Option<String> {
    response
        .verify_results
        .iter()
        .filter(|e| e.verify_result.status == "pass")
        .filter_map(|e| e.verify_result.valid_claims.as_ref())
        .find_map(|claims| {
            let jcl = claims.pointer("/rcd/jcl")?.as_str()?;
            claims.get("rcdi")?.get("/jcl")?;
            Some(jcl.to_owned())
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use stir::ms::{VerifyResult, VerifyResultEntry};

    const CARD: &str = r#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch"]]]"#;

    fn subscription(rcd_urls: Vec<String>, rcd: Option<ConcreteRcd>) -> Subscription {
        Subscription {
            impu: "x".into(),
            tn: "+1".into(),
            third_party_ids: true,
            id_server: None,
            verification: false,
            id_info: None,
            id_info_url: None,
            rcd_urls,
            rcd,
            authz_realm: None,
            id3p: None,
        }
    }

    fn concrete_rcd() -> ConcreteRcd {
        ConcreteRcd {
            nam: "Q Branch".into(),
            org: None,
            title: None,
            locality: None,
        }
    }

    #[test]
    fn authorised_only_with_an_association() {
        let url = vec!["https://db/q.json".to_owned()];
        assert_eq!(associated(Ok(Some(subscription(url, None)))), Ok(()));
        assert_eq!(
            associated(Ok(Some(subscription(Vec::new(), Some(concrete_rcd()))))),
            Ok(())
        );
        let none = associated(Ok(Some(subscription(Vec::new(), None))));
        assert_eq!(none.unwrap_err().reason, Reason::NotAuthorised);
        assert_eq!(
            associated(Ok(None)).unwrap_err().reason,
            Reason::NotAuthorised
        );
        let down = Error::Unconfigured { peer: "HSS" };
        assert_eq!(
            associated(Err(down)).unwrap_err().reason,
            Reason::Unreachable
        );
    }

    #[test]
    fn the_hss_answer_is_concrete_rcd_or_a_url() {
        let both = RcdAnswer {
            urls: vec!["https://db/q.json".into()],
            rcd: Some(concrete_rcd()),
        };
        assert_eq!(
            from_hss(Ok(Some(both))),
            Ok(HssRcd4a::Concrete(concrete_rcd()))
        );
        let url = RcdAnswer {
            urls: vec!["https://db/q.json".into(), "https://db/r.json".into()],
            rcd: None,
        };
        assert_eq!(
            from_hss(Ok(Some(url))),
            Ok(HssRcd4a::Url("https://db/q.json".into()))
        );
        let empty = RcdAnswer {
            urls: Vec::new(),
            rcd: None,
        };
        assert_eq!(
            from_hss(Ok(Some(empty))).unwrap_err().reason,
            Reason::NoRecord
        );
        assert_eq!(from_hss(Ok(None)).unwrap_err().reason, Reason::NoRecord);
        let down = Error::Unconfigured { peer: "HSS" };
        assert_eq!(from_hss(Err(down)).unwrap_err().reason, Reason::Unreachable);
    }

    #[test]
    fn concrete_rcd_is_signed_inline() {
        let (p, _) = concrete(concrete_rcd());
        assert_eq!(p.name(), Some("Q Branch"));
        assert!(p.rcd.jcd.is_some());
        assert_eq!(p.rcd.jcl, None);
        assert!(!p.in_shaken);
    }

    #[test]
    fn a_fetched_jcard_is_named_and_digested() {
        let url = "https://db/q.json".to_owned();
        let (p, _) = fetched(url.clone(), CARD.as_bytes().to_vec()).unwrap();
        assert_eq!(p.name(), Some("Q Branch"));
        assert_eq!(p.rcd.jcl.as_deref(), Some(url.as_str()));
        let rcdi = p.rcdi.unwrap();
        assert_eq!(
            rcdi["/jcl"],
            stir::DigestAlg::Sha256.sri(CARD.as_bytes()),
            "the digest covers the bytes fetched"
        );
        let refused = fetched(url.clone(), b"not json".to_vec()).unwrap_err();
        assert_eq!(refused.reason, Reason::Malformed);
        let nameless = fetched(url, br#"["vcard",[]]"#.to_vec()).unwrap_err();
        assert_eq!(nameless.reason, Reason::Malformed);
    }

    fn response(status: &str, claims: serde_json::Value) -> VerificationResponse {
        VerificationResponse {
            verstat_value: "TN-Validation-Passed".into(),
            verify_results: vec![VerifyResultEntry {
                verify_result: VerifyResult {
                    ppt: "rcd".into(),
                    status: status.into(),
                    reason_code: None,
                    reason_text: None,
                    reason_description: None,
                    passport: None,
                    valid_claims: Some(claims),
                },
            }],
            request_id: None,
        }
    }

    #[test]
    fn content_is_checked_only_with_jcl_and_its_rcdi() {
        let covered = json!({
            "rcd": {"nam": "Q Branch", "jcl": "https://db/q.json"},
            "rcdi": {"/jcl": "sha256-x"}
        });
        assert_eq!(
            content_checked(&response("pass", covered.clone())).as_deref(),
            Some("https://db/q.json")
        );
        assert_eq!(content_checked(&response("fail", covered)), None);
        let uncovered = json!({
            "rcd": {"nam": "Q Branch", "jcl": "https://db/q.json"},
            "rcdi": {"/nam": "sha256-x"}
        });
        assert_eq!(content_checked(&response("pass", uncovered)), None);
        let no_rcdi = json!({"rcd": {"nam": "Q Branch", "jcl": "https://db/q.json"}});
        assert_eq!(content_checked(&response("pass", no_rcdi)), None);
        let inline = json!({"rcd": {"nam": "Q Branch", "jcd": []}, "rcdi": {"/jcd": "x"}});
        assert_eq!(content_checked(&response("pass", inline)), None);
    }
}
