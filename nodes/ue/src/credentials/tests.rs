//! The credentials of solution #4: Authorization values, challenges, the UE key, the token
//! request, and the reasons a token refusal maps to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use p256::ecdsa::VerifyingKey;
use p256::ecdsa::signature::Verifier as _;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer as _, X509Certificate};

const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const ID3P: &str = "tel:+12025550100";
const REALM: &str = "authz.enterprise.example";

fn params(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The public key of `fixtures/pki/ue/<ue>.pem` (what the authorization server checks with).
fn certificate_key(ue: &str) -> VerifyingKey {
    let pem = kit::fixtures::read(&format!("pki/ue/{ue}.pem")).unwrap();
    let der = Pem::iter_from_buffer(&pem)
        .map_while(Result::ok)
        .find(|b| b.label == "CERTIFICATE")
        .unwrap()
        .contents;
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    VerifyingKey::from_sec1_bytes(&cert.tbs_certificate.subject_pki.subject_public_key.data)
        .unwrap()
}

/// What `third_party::authz::verify_ue_signature` does.
fn verifies(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
    let raw = stir::jose::b64u_decode(signature, stir::jose::Part::Signature).unwrap();
    raw.len() == 64 && Signature::from_slice(&raw).is_ok_and(|s| key.verify(message, &s).is_ok())
}

#[test]
fn bearer_authorization_values() {
    assert_eq!(
        bearer_authorization(REALM, ID3P, Some("eyJ.x.y")),
        r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100", token="eyJ.x.y""#
    );
    assert_eq!(
        bearer_authorization(REALM, ID3P, None),
        r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100""#
    );
    assert_eq!(
        bearer_authorization(REALM, "", None),
        r#"Bearer realm="authz.enterprise.example""#
    );
    // Quotes and backslashes are escaped, and come back unescaped.
    let odd = bearer_authorization(r#"a"b\c"#, "x, y", None);
    assert_eq!(odd, r#"Bearer realm="a\"b\\c", 3pid="x, y""#);
    assert_eq!(
        parse_auth_params(&odd).unwrap().1,
        params(&[("realm", r#"a"b\c"#), ("3pid", "x, y")])
    );
}

#[test]
fn challenge_authorization_values() {
    let base = bearer_authorization(REALM, ID3P, None);
    let value = challenge_authorization(&base, "00ff", "c2ln");
    assert_eq!(
        value,
        r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100", nonce="00ff", proof="c2ln""#
    );
    let (scheme, p) = parse_auth_params(&value).unwrap();
    assert_eq!(scheme, "Bearer");
    assert_eq!(
        p,
        params(&[
            ("realm", REALM),
            ("3pid", ID3P),
            ("nonce", "00ff"),
            ("proof", "c2ln")
        ])
    );
    assert_eq!(
        challenge_authorization("Bearer", "n", "p"),
        r#"Bearer nonce="n", proof="p""#
    );
}

fn response(text: &str) -> Response {
    Response::try_from(text).unwrap()
}

fn unauthorized(www_authenticate: &[&str]) -> Response {
    let mut text = String::from(
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP pbx.test:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n",
    );
    for w in www_authenticate {
        text.push_str(&format!("WWW-Authenticate: {w}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    response(&text)
}

#[test]
fn bearer_challenges_in_401() {
    let r = unauthorized(&[r#"Bearer realm="authz.enterprise.example", nonce="abc""#]);
    assert_eq!(
        bearer_challenge(&r),
        Some(BearerChallenge {
            realm: Some(REALM.into()),
            nonce: "abc".into()
        })
    );
    // Digest first, a Bearer without nonce, then the one to answer.
    let r = unauthorized(&[
        r#"Digest realm="ims", nonce="d""#,
        r#"Bearer realm="other""#,
        r#"BEARER nonce="n2""#,
    ]);
    assert_eq!(
        bearer_challenge(&r),
        Some(BearerChallenge {
            realm: None,
            nonce: "n2".into()
        })
    );
    assert_eq!(bearer_challenge(&unauthorized(&[])), None);
    assert_eq!(
        bearer_challenge(&unauthorized(&[r#"Digest realm="ims", nonce="d""#])),
        None
    );
    assert_eq!(
        bearer_challenge(&unauthorized(&[r#"Bearer realm="x", nonce="unterminated"#])),
        None
    );
}

#[test]
fn retry_keeps_the_dialog_attempt() {
    let initial = Request::try_from(
        "INVITE tel:+12155551001 SIP/2.0\r\nVia: SIP/2.0/UDP pbx.test:5060;branch=z9hG4bKold\r\nMax-Forwards: 70\r\nFrom: <sip:+12025552001@ims.test>;tag=ft\r\nTo: <tel:+12155551001>\r\nCall-ID: cid-1\r\nCSeq: 1 INVITE\r\nContact: <sip:+12025552001@127.0.0.1:5060>\r\nRoute: <sip:ibcf.test;lr>\r\nAuthorization: Bearer realm=\"r\", 3pid=\"t\"\r\nDate: Mon, 02 Mar 2026 09:00:00 GMT\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
    )
    .unwrap();
    let retry = challenge_retry(
        &initial,
        2,
        r#"Bearer realm="r", 3pid="t", nonce="n", proof="p""#,
    );
    assert!(sipmsg::first(&retry.headers, "Via").is_none());
    assert_eq!(sipmsg::first(&retry.headers, "CSeq"), Some("2 INVITE"));
    assert_eq!(
        sipmsg::values(&retry.headers, "Authorization"),
        vec![r#"Bearer realm="r", 3pid="t", nonce="n", proof="p""#]
    );
    for h in [
        "From",
        "To",
        "Call-ID",
        "Contact",
        "Route",
        "Date",
        "Content-Type",
    ] {
        assert_eq!(
            sipmsg::first(&retry.headers, h),
            sipmsg::first(&initial.headers, h),
            "{h}"
        );
    }
    assert_eq!(retry.body, initial.body);
    assert_eq!(retry.uri, initial.uri);
    // Without an Authorization header: one is added, before Date.
    let mut bare = initial.clone();
    sipmsg::remove(&mut bare.headers, "Authorization");
    let retry = challenge_retry(&bare, 2, "Bearer nonce=\"n\", proof=\"p\"");
    let names: Vec<String> = retry.headers.iter().map(|h| h.name().to_string()).collect();
    let at = names.iter().position(|n| n == "Authorization").unwrap();
    assert_eq!(names[at + 1], "Date");
}

#[test]
fn ue_key_signs_what_the_certificate_verifies() {
    let key = ue_signing_key("ue-a").unwrap();
    let cert = certificate_key("ue-a");
    assert_eq!(key.verifying_key(), &cert);
    // A challenge proof: ES256 over the nonce bytes, raw r‖s, base64url.
    let nonce = "5f0c3a9e1d2b4c6a8e0f1a2b3c4d5e6f";
    let proof = ue_signature(&key, proof_signing_input(nonce));
    assert_eq!(proof.len(), 86);
    assert!(!proof.contains(['=', '+', '/']));
    assert!(verifies(&cert, nonce.as_bytes(), &proof));
    assert!(!verifies(&cert, b"another nonce", &proof));
    assert!(!verifies(
        &certificate_key("ue-pbx"),
        nonce.as_bytes(),
        &proof
    ));
    // Deterministic (RFC 6979).
    assert_eq!(proof, ue_signature(&key, proof_signing_input(nonce)));
    // A token request: over "{impu}|{id3p}|{iat}".
    let iat = 1_772_442_000;
    let r = token_request(&key, UE_A, ID3P, iat);
    assert_eq!((r.impu.as_str(), r.id3p.as_str(), r.iat), (UE_A, ID3P, iat));
    assert!(verifies(
        &cert,
        format!("{UE_A}|{ID3P}|{iat}").as_bytes(),
        &r.signature
    ));
    assert!(!verifies(
        &cert,
        token_signing_input(UE_A, ID3P, iat + 1).as_bytes(),
        &r.signature
    ));
    // Its JSON is what the token endpoint reads.
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["iat", "id3p", "impu", "signature"]
    );
}

#[test]
fn missing_ue_key() {
    assert!(matches!(
        ue_signing_key("no-such-ue"),
        Err(Error::Fixture { .. })
    ));
}

#[test]
fn challenge_answers_follow_the_configured_value() {
    let challenge = BearerChallenge {
        realm: Some(REALM.into()),
        nonce: "n".into(),
    };
    assert_eq!(
        challenge_answer(None, &challenge, "p"),
        r#"Bearer realm="authz.enterprise.example", nonce="n", proof="p""#
    );
    assert_eq!(
        challenge_answer(
            Some(bearer_authorization(REALM, ID3P, None)),
            &challenge,
            "p"
        ),
        r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100", nonce="n", proof="p""#
    );
    let bare = BearerChallenge {
        realm: None,
        nonce: "n".into(),
    };
    assert_eq!(
        challenge_answer(None, &bare, "p"),
        r#"Bearer nonce="n", proof="p""#
    );
}

fn oauth(error: &str) -> OAuthError {
    OAuthError {
        error: error.into(),
        error_description: "why".into(),
    }
}

#[test]
fn token_refusals_map_to_reasons() {
    for (status, error, reason) in [
        (403, "unauthorized_client", Reason::NotEntitled),
        (400, "invalid_grant", Reason::NotEntitled),
        (403, "invalid_scope", Reason::NotEntitled),
        (403, "access_denied", Reason::NotEntitled),
        (400, "expired_token", Reason::Expired),
        (400, "expired", Reason::Expired),
        (401, "invalid_client", Reason::SignatureInvalid),
        (400, "invalid_request", Reason::Malformed),
        (500, "server_error", Reason::Unreachable),
        (503, "temporarily_unavailable", Reason::Unreachable),
        (502, "something_else", Reason::Unreachable),
        (403, "something_else", Reason::Malformed),
    ] {
        assert_eq!(
            token_refusal_reason(status, Some(&oauth(error))),
            reason,
            "{status} {error}"
        );
    }
    assert_eq!(token_refusal_reason(403, None), Reason::Unreachable);
    assert_eq!(token_refusal_reason(500, None), Reason::Unreachable);
}

#[test]
fn failed_exchanges_map_to_reasons() {
    assert_eq!(
        exchange_reason(&Error::Timeout { ms: 3000 }),
        Reason::Timeout
    );
    assert_eq!(
        exchange_reason(&Error::Fixture {
            path: "pki/ue/x.key.pem".into(),
            detail: "missing".into()
        }),
        Reason::Malformed
    );
    assert_eq!(
        exchange_reason(&Error::Resolve {
            host: "authz.test".into(),
            detail: "unknown".into()
        }),
        Reason::Unreachable
    );
    let refusal = Refusal::from(Error::Timeout { ms: 1 });
    assert_eq!(refusal.reason, Reason::Timeout);
}
