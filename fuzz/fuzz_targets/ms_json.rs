//! The Ms reference point's JSON bodies (3GPP TS 24.229 Annex V.2, stir::ms) as the STI-AS,
//! the STI-VS and their clients read them: `serde_json::from_slice` of every request and
//! response body, and the helpers the nodes call on them.
//!
//! Properties: nothing panics; every body that parses serialises to JSON that parses back to an
//! equal body.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use stir::ms::{
    ErrorBody, MsParty, SigningRequest, SigningRequestBody, SigningResponseBody,
    VerificationRequestBody, VerificationResponseBody, VerifyResult,
};
use stir::{AvatarClaim, Passport, Ppt};

fuzz_target!(|data: &[u8]| {
    if let Some(body) = round_trip::<SigningRequestBody>(data) {
        signing_request(&body.signing_request);
    }
    let _ = round_trip::<SigningRequest>(data);
    let _ = round_trip::<SigningResponseBody>(data);
    if let Some(body) = round_trip::<VerificationRequestBody>(data) {
        let request = body.verification_request;
        let _ = stir::IdentityHeader::parse(&request.identity_header);
        for value in &request.identity_headers {
            let _ = stir::IdentityHeader::parse_list(value);
        }
        party(&request.from);
        party(&request.to);
    }
    if let Some(body) = round_trip::<VerificationResponseBody>(data) {
        let _ = body.verification_response.avatar();
        for entry in &body.verification_response.verify_results {
            let _ = entry.verify_result.avatar();
        }
    }
    if let Some(result) = round_trip::<VerifyResult>(data) {
        let _ = result.avatar();
    }
    let _ = round_trip::<ErrorBody>(data);
    let _ = round_trip::<MsParty>(data);
});

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let json = match serde_json::to_vec(&value) {
        Ok(json) => json,
        Err(e) => panic!("{value:?} does not serialise: {e}"),
    };
    match serde_json::from_slice::<T>(&json) {
        Ok(again) => assert_eq!(
            again,
            value,
            "{} changes through JSON: {}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&json)
        ),
        Err(e) => panic!(
            "{} serialises to JSON that does not parse ({e}): {}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&json)
        ),
    }
    Some(value)
}

/// What the STI-AS does with a signing request before it signs: the ppt, the passport it
/// would sign (without the key) and the avatar claim check.
fn signing_request(request: &SigningRequest) {
    let ppt = request.ppt.as_deref().map(str::parse::<Ppt>);
    if let Some(avatar) = &request.avatar {
        let _ = AvatarClaim::check(avatar);
        let passport = Passport::avatar(
            "https://sti-cr.example/x.pem",
            request.orig.clone(),
            request.dest.clone(),
            request.iat,
            avatar.clone(),
        );
        let _ = passport.canonical();
    }
    if matches!(ppt, Some(Ok(Ppt::Rcd)))
        && let Some(rcd) = &request.rcd
    {
        let passport = Passport::rcd(
            "https://sti-cr.example/x.pem",
            request.orig.clone(),
            request.dest.clone(),
            request.iat,
            rcd.clone(),
            request.rcdi.clone(),
        );
        let _ = passport.canonical();
    }
}

fn party(party: &MsParty) {
    if let Some(uri) = &party.uri {
        let _ = stir::Party::from_uri(uri);
    }
    if let Some(tn) = &party.tn {
        let _ = stir::passport::canonical_tn(tn);
    }
}
