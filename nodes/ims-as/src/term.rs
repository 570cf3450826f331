//! The terminating IMS AS's decisions for TR 33.790 key issue #1 (§6.2.2.2 steps 8–11): what to
//! ask the STI-VS, and how its answer changes the INVITE before the callee sees it.
//!
//! RCD reaches the callee only when it verified and what travels beside it agrees with what was
//! signed: a Call-Info `rcd-jcard` URL (RFC 9796) is not covered by the signature, so it must
//! be the signed `jcl` exactly ([`CallInfoCheck`]); otherwise an attacker between networks could
//! point the callee at another card, and the RCD is removed with it.

use proto::sipmsg::{self, Headers, NameAddr, Request};
use proto::trace::{Note, Reason};
use stir::ms::{MsParty, VerificationRequest, VerificationResponse};
use stir::{CallInfo, IdentityHeader, Rcd, Verstat};

use crate::orig::{callee_tn, caller};

/// The Ms verification request for an INVITE, or `None` when it carries no Identity header.
pub fn verification_request(invite: &Request, now: i64) -> Option<VerificationRequest> {
    let from = caller(invite).and_then(|c| c.tn());
    identity_request(&invite.headers, from, callee_tn(invite), now)
}

/// The Ms verification request for the Identity headers in `headers` (a request's, or a signed
/// answer's: TR 33.790 §6.8.2 step 17, where `orig` is the callee), the `shaken` one first;
/// `None` when there is none. The time is the message's Date, else `now`.
pub fn identity_request(
    headers: &Headers,
    orig_tn: Option<String>,
    dest_tn: Option<String>,
    now: i64,
) -> Option<VerificationRequest> {
    let identities = sipmsg::values(headers, "Identity");
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
    let time = sipmsg::first(headers, "Date")
        .and_then(proto::clock::parse_http_date)
        .unwrap_or(now);
    Some(VerificationRequest {
        identity_header: shaken,
        identity_headers: others,
        from: MsParty {
            tn: orig_tn,
            uri: None,
        },
        to: MsParty {
            tn: dest_tn,
            uri: None,
        },
        time,
        request_id: None,
    })
}

/// What the callee is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The verification status given to the callee (TS 24.229 §7.2A.20).
    pub verstat: Verstat,
    /// The RCD name shown, when an `rcd` PASSporT verified with intact digests.
    pub name: Option<String>,
    /// What was removed, for the trace.
    pub removed: Vec<String>,
    /// How the Call-Info `rcd-jcard` URLs compared with the verified `jcl`, when verified RCD
    /// came with any.
    pub call_info: Option<CallInfoCheck>,
}

/// How the Call-Info `rcd-jcard` URLs of an INVITE compare with the `jcl` of its verified RCD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallInfoCheck {
    /// Every `rcd-jcard` URL is the signed `jcl`.
    Matches {
        /// The URL.
        url: String,
    },
    /// An `rcd-jcard` URL is not the signed `jcl` (or the RCD signed no `jcl`): the RCD is not
    /// shown.
    Mismatch {
        /// The URL that differs.
        url: String,
        /// The signed `jcl`, if any.
        jcl: Option<String>,
    },
}

/// The check's name in the trace.
pub const CALL_INFO_CHECK: &str = "Call-Info rcd-jcard is the signed jcl";

impl CallInfoCheck {
    /// Compares the INVITE's Call-Info `rcd-jcard` URLs with `signed`'s `jcl`; `None` when the
    /// INVITE carries none.
    pub fn of(invite: &Request, signed: &Rcd) -> Option<CallInfoCheck> {
        let urls: Vec<String> = sipmsg::values(&invite.headers, "Call-Info")
            .into_iter()
            .flat_map(|v| CallInfo::parse_list(v).unwrap_or_default())
            .filter(|c| c.purpose.as_deref() == Some(stir::rcd::PURPOSE_RCD_JCARD))
            .map(|c| c.uri)
            .collect();
        let first = urls.first()?.clone();
        Some(
            match urls.into_iter().find(|u| Some(u) != signed.jcl.as_ref()) {
                Some(url) => CallInfoCheck::Mismatch {
                    url,
                    jcl: signed.jcl.clone(),
                },
                None => CallInfoCheck::Matches { url: first },
            },
        )
    }

    /// Whether the RCD may be shown.
    pub fn holds(&self) -> bool {
        matches!(self, CallInfoCheck::Matches { .. })
    }

    /// The trace note: a check that held, or failed with [`Reason::ClaimMismatch`].
    pub fn note(&self) -> Note {
        match self {
            CallInfoCheck::Matches { url } => Note::pass(
                CALL_INFO_CHECK,
                format!("Call-Info <{url}> is the signed jcl"),
            ),
            CallInfoCheck::Mismatch { url, jcl } => {
                let signed = jcl.as_ref().map_or("no jcl was signed".to_owned(), |j| {
                    format!("the signed jcl is <{j}>")
                });
                Note::fail(
                    CALL_INFO_CHECK,
                    Reason::ClaimMismatch,
                    None,
                    format!(
                        "Call-Info <{url}>, but {signed}: the RCD is removed, no name is shown"
                    ),
                )
            }
        }
    }
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

impl Delivery {
    /// The deliver note's label after verification: verstat, the name shown, what was removed.
    pub fn label(&self) -> String {
        let removed = if self.removed.is_empty() {
            String::new()
        } else {
            format!("; removed {}", self.removed.join(", "))
        };
        let name = self.name.as_ref().map_or("no verified name".into(), |n| {
            format!("verified name {n:?}")
        });
        format!("deliver with verstat={}, {name}{removed}", self.verstat)
    }

    /// The deliver note's label when the flow had nothing verified (solution 4: a callee not
    /// subscribed to verification).
    pub fn label_unverified(&self) -> String {
        let removed = if self.removed.is_empty() {
            "nothing".to_owned()
        } else {
            self.removed.join(", ")
        };
        format!(
            "deliver without verification (verstat={}); removed {removed}",
            self.verstat
        )
    }
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
/// names) kept only when the caller's number passed, the `rcd` PASSporT verified and every
/// Call-Info `rcd-jcard` URL is its signed `jcl`, else removed so no unverified name reaches the
/// callee (choice `6.2-term-display`).
pub fn apply(invite: &mut Request, response: Option<&VerificationResponse>) -> Delivery {
    let verstat = response.map_or(Verstat::NoValidation, |r| verstat_of(&r.verstat_value));
    let verified = if verstat == Verstat::Passed {
        response.and_then(verified_rcd)
    } else {
        None
    };
    let call_info = verified
        .as_ref()
        .and_then(|rcd| CallInfoCheck::of(invite, rcd));
    let signed = verified.filter(|_| call_info.as_ref().is_none_or(CallInfoCheck::holds));
    let mut removed = Vec::new();
    let name = show_pai(&mut invite.headers, verstat, signed.as_ref(), &mut removed);
    show_from(invite, verstat, signed.is_some(), &mut removed);
    if signed.is_none() {
        strip_rcd(&mut invite.headers, &mut removed);
    }
    Delivery {
        verstat,
        name,
        removed,
        call_info,
    }
}

/// Applies the verification of a signed answer (TR 33.790 §6.8.2 steps 19–20, STIR on
/// responses): `verstat` on the answer's P-Asserted-Identity (the callee, as its network
/// asserted it), the callee's `rcd` (its avatar) kept only when the number passed and the `rcd`
/// PASSporT verified, else the `rcd` Identity header removed. From and To are the dialog's and
/// stay as they are.
pub fn apply_answer(headers: &mut Headers, response: Option<&VerificationResponse>) -> Delivery {
    let verstat = response.map_or(Verstat::NoValidation, |r| verstat_of(&r.verstat_value));
    let signed = if verstat == Verstat::Passed {
        response.and_then(verified_rcd)
    } else {
        None
    };
    let mut removed = Vec::new();
    let name = show_pai(headers, verstat, signed.as_ref(), &mut removed);
    if signed.is_none() {
        strip_rcd(headers, &mut removed);
    }
    Delivery {
        verstat,
        name,
        removed,
        call_info: None,
    }
}

/// P-Asserted-Identity with `verstat`, and the signed name (else none); the name shown.
fn show_pai(
    headers: &mut Headers,
    verstat: Verstat,
    signed: Option<&Rcd>,
    removed: &mut Vec<String>,
) -> Option<String> {
    let mut pai = sipmsg::first(headers, "P-Asserted-Identity").and_then(NameAddr::parse)?;
    let mut name = None;
    if let Some(signed) = signed {
        // The callee is shown the name that was signed, whatever the header says.
        if signed.nam.is_some() && pai.display != signed.nam {
            removed
                .push("P-Asserted-Identity display name (replaced by the signed name)".to_owned());
            pai.display.clone_from(&signed.nam);
        }
        name.clone_from(&pai.display);
    } else if pai.display.take().is_some() {
        removed.push("P-Asserted-Identity display name".to_owned());
    }
    pai.set_uri_param("verstat", verstat.as_str());
    sipmsg::set(headers, "P-Asserted-Identity", pai.render());
    name
}

/// From with its own `verstat` (failed for a number other than the one validated), and no
/// display name unless the RCD verified.
fn show_from(invite: &mut Request, verstat: Verstat, rcd_ok: bool, removed: &mut Vec<String>) {
    let validated_tn = sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .and_then(NameAddr::parse)
        .and_then(|p| p.tn());
    let Some(mut from) = sipmsg::first(&invite.headers, "From").and_then(NameAddr::parse) else {
        return;
    };
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

/// Unverified RCD removed: the `rcd` Identity header and Call-Info `purpose=rcd-jcard`.
fn strip_rcd(headers: &mut Headers, removed: &mut Vec<String>) {
    let before = sipmsg::values(headers, "Identity").len();
    let keep: Vec<String> = sipmsg::values(headers, "Identity")
        .into_iter()
        .filter(|v| IdentityHeader::parse(v).map_or(true, |h| h.ppt.as_deref() != Some("rcd")))
        .map(str::to_owned)
        .collect();
    if keep.len() != before {
        sipmsg::remove(headers, "Identity");
        for v in keep {
            sipmsg::push(headers, "Identity", v);
        }
        removed.push("Identity (ppt=rcd)".to_owned());
    }
    let infos: Vec<String> = sipmsg::values(headers, "Call-Info")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let kept: Vec<CallInfo> = infos
        .iter()
        .flat_map(|v| CallInfo::parse_list(v).unwrap_or_default())
        .filter(|c| c.purpose.as_deref() != Some(stir::rcd::PURPOSE_RCD_JCARD))
        .collect();
    if !infos.is_empty() && kept.len() != infos.len() {
        sipmsg::remove(headers, "Call-Info");
        for c in kept {
            sipmsg::push(headers, "Call-Info", c.to_header());
        }
        removed.push("Call-Info (purpose=rcd-jcard)".to_owned());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use stir::ms::{VerifyResult, VerifyResultEntry};

    #[test]
    fn delivery_labels_say_what_the_callee_gets() {
        let mut d = Delivery {
            verstat: Verstat::Passed,
            name: Some("Q Branch".into()),
            removed: Vec::new(),
            call_info: None,
        };
        assert_eq!(
            d.label(),
            "deliver with verstat=TN-Validation-Passed, verified name \"Q Branch\""
        );
        d.verstat = Verstat::NoValidation;
        d.name = None;
        d.removed = vec!["From display name".into()];
        assert_eq!(
            d.label(),
            "deliver with verstat=No-TN-Validation, no verified name; removed From display name"
        );
        assert_eq!(
            d.label_unverified(),
            "deliver without verification (verstat=No-TN-Validation); removed From display name"
        );
    }

    fn invite() -> Request {
        let text = "INVITE tel:+12155551001 SIP/2.0\r\n\
             Via: SIP/2.0/UDP ibcf.test:5060;branch=z9hG4bK1\r\n\
             P-Asserted-Identity: \"Q Branch\" <tel:+12025551000>\r\n\
             From: \"Q Branch\" <tel:+12025550100>;tag=a1\r\n\
             To: <tel:+12155551001>\r\n\
             Call-ID: c1@ue.test\r\n\
             CSeq: 1 INVITE\r\n\
             Identity: aaa.bbb.ccc;info=<https://cr/1.pem>;ppt=shaken\r\n\
             Identity: ddd.eee.fff;info=<https://cr/1.pem>;ppt=rcd\r\n\
             Call-Info: <https://id/q.json>;purpose=rcd-jcard\r\n\
             Content-Length: 0\r\n\r\n";
        Request::try_from(text).unwrap_or_else(|e| panic!("test INVITE: {e}"))
    }

    #[test]
    fn unverified_rcd_does_not_reach_the_callee() {
        let mut i = invite();
        let d = apply(&mut i, None);
        assert_eq!(d.verstat, Verstat::NoValidation);
        assert_eq!(d.name, None);
        assert_eq!(
            d.removed,
            [
                "P-Asserted-Identity display name",
                "From display name",
                "Identity (ppt=rcd)",
                "Call-Info (purpose=rcd-jcard)"
            ]
        );
        assert_eq!(sipmsg::values(&i.headers, "Identity").len(), 1);
        assert!(sipmsg::first(&i.headers, "Call-Info").is_none());
        let pai = sipmsg::first(&i.headers, "P-Asserted-Identity").unwrap_or_default();
        assert!(pai.contains("verstat=No-TN-Validation"), "{pai}");
        assert!(!pai.contains("Q Branch"), "{pai}");
    }

    const JCL: &str = "https://id/q.json";

    fn invite_with(call_info: &str) -> Request {
        let text = format!(
            "INVITE tel:+12155551001 SIP/2.0\r\n\
             Via: SIP/2.0/UDP ibcf.test:5060;branch=z9hG4bK1\r\n\
             P-Asserted-Identity: \"Q Branch\" <tel:+12025551000>\r\n\
             From: \"Q Branch\" <tel:+12025551000>;tag=a1\r\n\
             To: <tel:+12155551001>\r\n\
             Call-ID: c1@ue.test\r\n\
             CSeq: 1 INVITE\r\n\
             Identity: aaa.bbb.ccc;info=<https://cr/1.pem>;ppt=shaken\r\n\
             Identity: ddd.eee.fff;info=<https://cr/1.pem>;ppt=rcd\r\n\
             Call-Info: <{call_info}>;purpose=rcd-jcard\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap_or_else(|e| panic!("test INVITE: {e}"))
    }

    /// The STI-VS's answer: both PASSporTs verified, the `rcd` one naming `JCL`.
    fn verified() -> VerificationResponse {
        let result = |ppt: &str, claims| VerifyResultEntry {
            verify_result: VerifyResult {
                ppt: ppt.into(),
                status: "pass".into(),
                reason_code: None,
                reason_text: None,
                reason_description: None,
                passport: None,
                valid_claims: Some(claims),
            },
        };
        VerificationResponse {
            verstat_value: "TN-Validation-Passed".into(),
            verify_results: vec![
                result("shaken", json!({"attest": "A"})),
                result(
                    "rcd",
                    json!({"rcd": {"nam": "Q Branch", "jcl": JCL}, "rcdi": {"/jcl": "x"}}),
                ),
            ],
            request_id: None,
        }
    }

    #[test]
    fn the_signed_jcl_in_call_info_is_shown() {
        let mut i = invite_with(JCL);
        let d = apply(&mut i, Some(&verified()));
        assert_eq!(d.name.as_deref(), Some("Q Branch"));
        assert_eq!(
            d.call_info,
            Some(CallInfoCheck::Matches { url: JCL.into() })
        );
        assert_eq!(
            d.call_info.unwrap().note(),
            Note::pass(
                CALL_INFO_CHECK,
                format!("Call-Info <{JCL}> is the signed jcl")
            )
        );
        assert!(sipmsg::first(&i.headers, "Call-Info").is_some());
    }

    #[test]
    fn a_swapped_call_info_url_removes_the_rcd() {
        let swapped = "https://attacker.example/bank.json";
        let mut i = invite_with(swapped);
        let d = apply(&mut i, Some(&verified()));
        assert_eq!(d.verstat, Verstat::Passed, "the number still verified");
        assert_eq!(d.name, None, "no name is shown");
        let check = d.call_info.clone().unwrap();
        assert_eq!(
            check,
            CallInfoCheck::Mismatch {
                url: swapped.into(),
                jcl: Some(JCL.into())
            }
        );
        let Note::Check {
            passed: false,
            reason: Some(Reason::ClaimMismatch),
            ..
        } = check.note()
        else {
            panic!("{:?}", check.note())
        };
        assert!(sipmsg::first(&i.headers, "Call-Info").is_none());
        assert_eq!(sipmsg::values(&i.headers, "Identity").len(), 1);
        assert!(
            d.removed
                .contains(&"Call-Info (purpose=rcd-jcard)".to_owned())
        );
        let pai = sipmsg::first(&i.headers, "P-Asserted-Identity").unwrap_or_default();
        assert!(!pai.contains("Q Branch"), "{pai}");
    }

    #[test]
    fn without_verified_rcd_there_is_nothing_to_compare() {
        let mut i = invite_with(JCL);
        let d = apply(&mut i, None);
        assert_eq!(d.call_info, None);
    }
}
