//! JSON shapes of the Ms reference point between an IMS AS (or IBCF) and the STI-AS/STI-VS
//! (3GPP TS 24.229 Annex V.2): `POST /stir/v1/signing` and `POST /stir/v1/verification`.
//! Member names follow the public OpenAPI description of that annex (copied into
//! `fixtures/vectors/`). One extension, recorded as a testbed choice: a signing request may carry
//! `ppt: "rcd"` with `rcd`, `rcdi` and `crn`, so RCD PASSporTs (RFC 9795) go over the same API;
//! another (choice `7-signed-avatar-id`, TR 33.790 §6.7.2.1 NOTE 2: "Ms reference point can be
//! used to sign Avatar-id"): `ppt: "avatar"` with `avatar`, and the verification response gives
//! the verified `avatar` claim back in `validClaims`, as it does `rcd`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::avatar::AvatarClaim;
use crate::passport::{Attest, Dest, Orig, Ppt};
use crate::rcd::Rcd;
use crate::verify::Verified;
use crate::{Error, Verstat};

/// Path of the signing operation.
pub const SIGNING_PATH: &str = "/stir/v1/signing";
/// Path of the verification operation.
pub const VERIFICATION_PATH: &str = "/stir/v1/verification";

/// Body of a 4xx answer: `{"error": "Missing Mandatory Parameter"}` (the error strings of the
/// Annex V OpenAPI description: `Missing Request body`, `Missing Mandatory Parameter`,
/// `Invalid Parameter Value`, `Failed To Parse Message Body`), with our detail appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One of the Annex V error strings, then our detail.
    pub error: String,
}

/// `{"signingRequest": {...}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningRequestBody {
    /// The request.
    pub signing_request: SigningRequest,
}

/// What the STI-AS is to sign: the PASSporT claims (RFC 8225 §5, RFC 8588, RFC 9795, and the
/// signed Avatar-id's `avatar`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningRequest {
    /// Absent means `shaken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppt: Option<String>,
    /// SHAKEN attestation level (RFC 8588 §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attest: Option<Attest>,
    /// The callee (RFC 8225 §5.2.1).
    pub dest: Dest,
    /// Issued at, seconds since the epoch (RFC 8225 §5.1.1).
    pub iat: i64,
    /// The caller (RFC 8225 §5.2.1).
    pub orig: Orig,
    /// Origination identifier (RFC 8588 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origid: Option<String>,
    /// Rich Call Data (RFC 9795; testbed extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcd: Option<Rcd>,
    /// RCD integrity digests (RFC 9795; testbed extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcdi: Option<BTreeMap<String, String>>,
    /// Call reason (RFC 9795; testbed extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crn: Option<String>,
    /// The Avatar-id, application and caller to sign, with `ppt: "avatar"` (TR 33.790
    /// §6.7.2.1 NOTE 2; testbed extension, choice `7-signed-avatar-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<AvatarClaim>,
    /// Echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `{"signingResponse": {"identityHeader": "..."}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningResponseBody {
    /// The response.
    pub signing_response: SigningResponse,
}

/// The signed result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningResponse {
    /// The Identity header value to add (RFC 8224 §4.1).
    pub identity_header: String,
    /// The request's `requestId`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An identity in a verification request: `{"tn": "..."}` or `{"uri": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MsParty {
    /// A telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tn: Option<String>,
    /// A URI without a telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `{"verificationRequest": {...}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRequestBody {
    /// The request.
    pub verification_request: VerificationRequest,
}

/// What the STI-VS is to verify, and the SIP facts to verify it against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRequest {
    /// The `shaken` Identity header value.
    pub identity_header: String,
    /// Further Identity header values (`rcd`, `div`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_headers: Vec<String>,
    /// The caller, from P-Asserted-Identity or From.
    pub from: MsParty,
    /// The callee, from To or the Request-URI.
    pub to: MsParty,
    /// The SIP Date header, seconds since the epoch.
    pub time: i64,
    /// Echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `{"verificationResponse": {...}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationResponseBody {
    /// The response.
    pub verification_response: VerificationResponse,
}

/// The verification outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationResponse {
    /// The `verstat` value for the caller's identity (TS 24.229 §7.2A.20).
    pub verstat_value: String,
    /// One entry per PASSporT, `shaken` first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify_results: Vec<VerifyResultEntry>,
    /// The request's `requestId`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `{"verifyResult": {...}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResultEntry {
    /// The result.
    pub verify_result: VerifyResult,
}

/// The result for one PASSporT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    /// The PASSporT's `ppt` (`shaken`, `rcd`, …).
    pub ppt: String,
    /// `pass` or `fail`.
    pub status: String,
    /// On failure: the SIP status code the failure maps to ([`Error::sip_answer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u16>,
    /// On failure: its reason phrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
    /// On failure: what went wrong, for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_description: Option<String>,
    /// On failure: the compact PASSporT, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport: Option<String>,
    /// On success: the claims as carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_claims: Option<Value>,
}

impl VerifyResult {
    /// The entry for one PASSporT's outcome. `passport` is the compact JWS, echoed on failure.
    pub fn from_outcome(ppt: &str, passport: &str, outcome: &Result<Verified, Error>) -> Self {
        match outcome {
            Ok(verified) => Self {
                ppt: ppt.to_owned(),
                status: "pass".into(),
                reason_code: None,
                reason_text: None,
                reason_description: None,
                passport: None,
                valid_claims: Some(verified.claims_json.clone()),
            },
            Err(error) => {
                let answer = error.sip_answer();
                Self {
                    ppt: ppt.to_owned(),
                    status: "fail".into(),
                    reason_code: Some(answer.code),
                    reason_text: Some(answer.reason.to_owned()),
                    reason_description: Some(error.to_string()),
                    passport: Some(passport.to_owned()),
                    valid_claims: None,
                }
            }
        }
    }
}

impl VerifyResult {
    /// The verified `avatar` claim of a passing `avatar` PASSporT (from `validClaims`, where it
    /// comes back as carried); `None` for another `ppt`, a failure, or no well-formed claim.
    pub fn avatar(&self) -> Option<AvatarClaim> {
        if self.ppt != Ppt::Avatar.as_str() || self.status != "pass" {
            return None;
        }
        crate::avatar::from_claims(self.valid_claims.as_ref()?)
            .ok()
            .flatten()
    }
}

impl VerificationResponse {
    /// The verified `avatar` claim of the first passing `avatar` PASSporT, if any.
    pub fn avatar(&self) -> Option<AvatarClaim> {
        self.verify_results
            .iter()
            .find_map(|e| e.verify_result.avatar())
    }

    /// Builds the response. `verstat` follows the `shaken` PASSporT's outcome (the first entry):
    /// RCD failures do not change the caller's TN validation, they only drop the RCD.
    pub fn new(results: Vec<VerifyResult>, shaken: Option<&Result<Verified, Error>>) -> Self {
        let verstat = match shaken {
            None => Verstat::NoValidation,
            Some(Ok(_)) => Verstat::Passed,
            Some(Err(e)) => e.verstat(),
        };
        Self {
            verstat_value: verstat.as_str().to_owned(),
            verify_results: results
                .into_iter()
                .map(|verify_result| VerifyResultEntry { verify_result })
                .collect(),
            request_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signing_request_matches_the_annex_example() {
        // Request example from the Ms OpenAPI description (fixtures/vectors/).
        let json = r#"{"signingRequest":{"attest":"A","orig":{"tn":"17035550001"},"dest":{"tn":["15715550000"]},"iat":1671467335,"origid":"2088448c-718e-4930-be5d-0ec9b25d2f00"}}"#;
        let body: SigningRequestBody = serde_json::from_str(json).unwrap();
        assert_eq!(body.signing_request.attest, Some(Attest::A));
        assert_eq!(
            body.signing_request.dest.tn.as_deref(),
            Some(&["15715550000".to_owned()][..])
        );
        let back: Value = serde_json::to_value(&body).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(json).unwrap());
    }

    #[test]
    fn avatar_requests_add_one_member_and_results_give_the_claim_back() {
        let plain = SigningRequest {
            attest: Some(Attest::A),
            dest: Dest::tn("+12155551001"),
            iat: 1,
            orig: Orig::tn("+12025551000"),
            ..SigningRequest::default()
        };
        let plain_json = serde_json::to_string(&plain).unwrap();
        assert_eq!(
            plain_json,
            r#"{"attest":"A","dest":{"tn":["12155551001"]},"iat":1,"orig":{"tn":"12025551000"}}"#
        );
        let claim = AvatarClaim::new("owl", "avatar-call", "sip:+12025551000@ims.example");
        let avatar = SigningRequest {
            ppt: Some("avatar".into()),
            avatar: Some(claim.clone()),
            ..plain
        };
        let json: Value = serde_json::to_value(&avatar).unwrap();
        assert_eq!(json["avatar"]["id"], "owl");
        let back: SigningRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, avatar);

        let mut result = VerifyResult {
            ppt: "avatar".into(),
            status: "pass".into(),
            reason_code: None,
            reason_text: None,
            reason_description: None,
            passport: None,
            valid_claims: Some(serde_json::json!({"avatar": claim, "iat": 1})),
        };
        let response = VerificationResponse::new(vec![result.clone()], None);
        assert_eq!(response.avatar(), Some(claim.clone()));
        assert_eq!(response.verstat_value, "No-TN-Validation");
        result.ppt = "shaken".into();
        assert_eq!(result.avatar(), None, "only an avatar PASSporT's");
        let failed = VerifyResult::from_outcome("avatar", "a.b.c", &Err(Error::BadSignature));
        assert_eq!(failed.avatar(), None);
    }

    #[test]
    fn failure_entry_carries_code_and_text() {
        let r = VerifyResult::from_outcome("shaken", "a.b.c", &Err(Error::BadSignature));
        let json = serde_json::to_value(VerificationResponse::new(
            vec![r],
            Some(&Err(Error::BadSignature)),
        ))
        .unwrap();
        assert_eq!(json["verstatValue"], "TN-Validation-Failed");
        assert_eq!(json["verifyResults"][0]["verifyResult"]["reasonCode"], 438);
        assert_eq!(
            json["verifyResults"][0]["verifyResult"]["reasonText"],
            "Invalid Identity Header"
        );
        assert_eq!(json["verifyResults"][0]["verifyResult"]["status"], "fail");
    }
}
