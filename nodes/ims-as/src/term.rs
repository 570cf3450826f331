//! The terminating IMS AS's decisions for TR 33.790 solution 2 (§6.2.2.2 steps 8–11): what to
//! ask the STI-VS, and how its answer changes the INVITE before the callee sees it.

use proto::sipmsg::{self, NameAddr, Request};
use stir::ms::{MsParty, VerificationRequest, VerificationResponse};
use stir::{CallInfo, IdentityHeader, Rcd, Verstat};

use crate::orig::{callee_tn, caller};

/// The Ms verification request for an INVITE, or `None` when it carries no Identity header.
pub fn verification_request(invite: &Request, now: i64) -> Option<VerificationRequest> {
    let identities = sipmsg::values(&invite.headers, "Identity");
    if identities.is_empty() {
        return None;
    }
    let is_shaken = |v: &str| {
        IdentityHeader::parse(v).map_or(true, |h| h.ppt.as_deref().is_none_or(|p| p == "shaken"))
    };
    let shaken = identities
        .iter()
        .copied()
        .find(|v| is_shaken(v))
        .unwrap_or(identities[0])
        .to_owned();
    let others = identities
        .iter()
        .filter(|v| **v != shaken)
        .map(|v| (*v).to_owned())
        .collect();
    let time = sipmsg::first(&invite.headers, "Date")
        .and_then(proto::clock::parse_http_date)
        .unwrap_or(now);
    Some(VerificationRequest {
        identity_header: shaken,
        identity_headers: others,
        from: MsParty {
            tn: caller(invite).and_then(|c| c.tn()),
            uri: None,
        },
        to: MsParty {
            tn: callee_tn(invite),
            uri: None,
        },
        time,
        request_id: None,
    })
}

/// What the callee is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub verstat: Verstat,
    /// The RCD name shown, when an `rcd` PASSporT verified with intact digests.
    pub name: Option<String>,
    /// What was removed, for the trace.
    pub removed: Vec<String>,
}

/// The `rcd` claims of a PASSporT that verified with intact digests: an `rcd` PASSporT, or a
/// `shaken` one carrying them (solution 1).
pub fn verified_rcd(response: &VerificationResponse) -> Option<Rcd> {
    response
        .verify_results
        .iter()
        .filter(|e| e.verify_result.status == "pass")
        .filter_map(|e| e.verify_result.valid_claims.as_ref()?.get("rcd").cloned())
        .find_map(|v| serde_json::from_value(v).ok())
}

fn verstat_of(value: &str) -> Verstat {
    match value {
        "TN-Validation-Passed" => Verstat::Passed,
        "TN-Validation-Failed" => Verstat::Failed,
        _ => Verstat::NoValidation,
    }
}

/// Applies the verification outcome (§6.2.2.2 steps 10–11): `verstat` on the P-Asserted-Identity
/// and From URIs (TS 24.229 §7.2A.20); RCD (the `rcd` Identity, Call-Info `rcd-jcard`, display
/// names) kept only when the caller's number passed and the `rcd` PASSporT verified, else
/// removed so no unverified name reaches the callee (choice `6.2-term-display`).
pub fn apply(invite: &mut Request, response: Option<&VerificationResponse>) -> Delivery {
    let verstat = response.map_or(Verstat::NoValidation, |r| verstat_of(&r.verstat_value));
    let signed = if verstat == Verstat::Passed {
        response.and_then(verified_rcd)
    } else {
        None
    };
    let rcd_ok = signed.is_some();
    let mut removed = Vec::new();
    let mut name = None;
    if let Some(mut pai) =
        sipmsg::first(&invite.headers, "P-Asserted-Identity").and_then(NameAddr::parse)
    {
        if let Some(signed) = &signed {
            // The callee is shown the name that was signed, whatever the header says.
            if signed.nam.is_some() && pai.display != signed.nam {
                removed.push(
                    "P-Asserted-Identity display name (replaced by the signed name)".to_owned(),
                );
                pai.display.clone_from(&signed.nam);
            }
            name.clone_from(&pai.display);
        } else if pai.display.take().is_some() {
            removed.push("P-Asserted-Identity display name".to_owned());
        }
        pai.set_uri_param("verstat", verstat.as_str());
        sipmsg::set(&mut invite.headers, "P-Asserted-Identity", pai.render());
    }
    let validated_tn = sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .and_then(NameAddr::parse)
        .and_then(|p| p.tn());
    if let Some(mut from) = sipmsg::first(&invite.headers, "From").and_then(NameAddr::parse) {
        if !rcd_ok && from.display.take().is_some() {
            removed.push("From display name".to_owned());
        }
        if let Some(tn) = from.tn() {
            // A number in From other than the one validated is not vouched for (solution 4:
            // a 3P ID the network did not authorise, choice `6.4-rejected`).
            let from_verstat =
                if verstat == Verstat::Passed && validated_tn.as_ref().is_some_and(|v| *v != tn) {
                    removed.push(format!(
                        "From number {tn} not validated (verstat={})",
                        Verstat::Failed.as_str()
                    ));
                    Verstat::Failed
                } else {
                    verstat
                };
            from.set_uri_param("verstat", from_verstat.as_str());
        }
        sipmsg::set(&mut invite.headers, "From", from.render());
    }
    if !rcd_ok {
        let before = sipmsg::values(&invite.headers, "Identity").len();
        let keep: Vec<String> = sipmsg::values(&invite.headers, "Identity")
            .into_iter()
            .filter(|v| IdentityHeader::parse(v).map_or(true, |h| h.ppt.as_deref() != Some("rcd")))
            .map(str::to_owned)
            .collect();
        if keep.len() != before {
            sipmsg::remove(&mut invite.headers, "Identity");
            for v in keep {
                sipmsg::push(&mut invite.headers, "Identity", v);
            }
            removed.push("Identity (ppt=rcd)".to_owned());
        }
        let infos: Vec<String> = sipmsg::values(&invite.headers, "Call-Info")
            .into_iter()
            .map(str::to_owned)
            .collect();
        let kept: Vec<CallInfo> = infos
            .iter()
            .flat_map(|v| CallInfo::parse_list(v).unwrap_or_default())
            .filter(|c| c.purpose.as_deref() != Some(stir::rcd::PURPOSE_RCD_JCARD))
            .collect();
        if !infos.is_empty() && kept.len() != infos.len() {
            sipmsg::remove(&mut invite.headers, "Call-Info");
            for c in kept {
                sipmsg::push(&mut invite.headers, "Call-Info", c.to_header());
            }
            removed.push("Call-Info (purpose=rcd-jcard)".to_owned());
        }
    }
    Delivery {
        verstat,
        name,
        removed,
    }
}
