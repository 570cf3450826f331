//! The decisions against the committed directory and fixture PKI, at the scenario clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::signature::Signer as _;
use proto::trace::Outcome;
use stir::{ChainFault, TrustAnchors};

use super::*;
use crate::authz::{AUDIENCE, DAY, ISSUER, TOKEN_LIFETIME};

const NOW: i64 = 1_772_442_000; // 2026-03-02T09:00:00Z, the scenario clock
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_X: &str = "sip:+12025551999@ims.mnc001.mcc001.3gppnetwork.org";
const UE_PBX: &str = "sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org";
const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";
const ID3P: &str = "tel:+12025550100";

fn authority(stale: bool) -> Authority {
    Authority::load(stale).unwrap()
}

fn ue_key(ue: &str) -> SigningKey {
    let pem = fixtures::read(&format!("pki/ue/{ue}.key.pem")).unwrap();
    SigningKey::from_pkcs8_pem(std::str::from_utf8(&pem).unwrap()).unwrap()
}

fn sign(ue: &str, message: &[u8]) -> String {
    let s: Signature = ue_key(ue).sign(message);
    jose::b64u(&s.to_bytes())
}

fn token_request(ue: &str, impu: &str, id3p: &str, iat: i64) -> TokenRequest {
    TokenRequest {
        impu: impu.into(),
        id3p: id3p.into(),
        iat,
        signature: sign(ue, token_signing_input(impu, id3p, iat).as_bytes()),
    }
}

fn rng() -> Rng {
    Rng::for_node(1, "authz3p")
}

fn option_b(impu: &str, token: Option<String>, proof: Option<Proof>) -> AuthorizeRequest {
    AuthorizeRequest {
        impu: impu.into(),
        option: AuthzOption::B,
        realm: Some(REALM.into()),
        id3p: Some(ID3P.into()),
        token,
        proof,
    }
}

fn token_for(a: &Authority, impu: &str, id3p: &str, now: i64) -> String {
    a.mint(impu, id3p, now, "jti-1").unwrap().0.access_token
}

/// The typed actions a decision notes, in order.
fn actions(d: &Decision) -> Vec<(Act, Outcome)> {
    d.notes.iter().filter_map(Note::action).collect()
}

/// The checks a decision notes: (passed, reason).
fn checks(d: &Decision) -> Vec<(bool, Option<Reason>)> {
    d.notes
        .iter()
        .filter_map(|n| match n {
            Note::Check { passed, reason, .. } => Some((*passed, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn token_issued_to_an_employee_that_proves_its_key() {
    let a = authority(false);
    let ledger = Ledger::default();
    let (response, claims) = a
        .issue(
            &ledger,
            &token_request("ue-a", UE_A, ID3P, NOW - 10),
            NOW,
            "j1",
        )
        .unwrap();
    assert_eq!(response.token_type, "Bearer");
    assert_eq!(response.expires_in, TOKEN_LIFETIME);
    assert_eq!(response.realm, REALM);
    assert_eq!(
        (claims.iat, claims.exp, claims.sub.as_str()),
        (NOW, NOW + 3600, UE_A)
    );
    let parts: Vec<&str> = response.access_token.split('.').collect();
    let header: serde_json::Value =
        serde_json::from_slice(&jose::b64u_decode(parts[0], Part::Header).unwrap()).unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": HOST})
    );
    let payload: serde_json::Value =
        serde_json::from_slice(&jose::b64u_decode(parts[1], Part::Payload).unwrap()).unwrap();
    assert_eq!(payload["3pid"], ID3P);
    assert_eq!(payload["aud"], AUDIENCE);
    assert_eq!(payload["iss"], ISSUER);
    // And it validates.
    let c = a
        .validate_token(&ledger, &response.access_token, UE_A, ID3P, NOW + 60)
        .unwrap();
    assert_eq!(c, claims);
}

#[test]
fn token_refusals() {
    let a = authority(false);
    let l = Ledger::default();
    // Signed with another UE's key.
    let mut r = token_request("ue-m", UE_A, ID3P, NOW);
    let d = a.issue(&l, &r, NOW, "j").unwrap_err();
    assert_eq!(d, Denial::BadUeSignature { ue: "ue-a".into() });
    assert_eq!(d.oauth().0, 401);
    assert_eq!(d.reason(), Reason::SignatureInvalid);
    r.signature = "not base64!".into();
    assert!(matches!(
        a.issue(&l, &r, NOW, "j"),
        Err(Denial::BadUeSignature { .. })
    ));
    // Not an employee.
    let d = a
        .issue(&l, &token_request("ue-m", UE_M, ID3P, NOW), NOW, "j")
        .unwrap_err();
    assert_eq!(d, Denial::NotAnEmployee { impu: UE_M.into() });
    assert_eq!(d.reason(), Reason::NoRecord);
    // The ex-employee.
    let d = a
        .issue(&l, &token_request("ue-x", UE_X, ID3P, NOW), NOW, "j")
        .unwrap_err();
    assert_eq!(d, Denial::EmployeeRevoked { impu: UE_X.into() });
    assert_eq!(d.oauth(), (403, "unauthorized_client"));
    assert_eq!(d.reason(), Reason::Revoked);
    // A 3P ID not allowed.
    let d = a
        .issue(
            &l,
            &token_request("ue-a", UE_A, "tel:+19999999999", NOW),
            NOW,
            "j",
        )
        .unwrap_err();
    assert!(matches!(d, Denial::Id3pNotAllowed { .. }), "{d}");
    assert_eq!(d.reason(), Reason::NotEntitled);
    // A replayed old request.
    let d = a
        .issue(&l, &token_request("ue-a", UE_A, ID3P, NOW - 3600), NOW, "j")
        .unwrap_err();
    assert!(matches!(d, Denial::StaleRequest { .. }), "{d}");
    assert_eq!(d.reason(), Reason::Stale);
    // A UE certificate not valid at the clock (the fixtures are valid 2025–2045).
    let d = a
        .issue(&l, &token_request("ue-a", UE_A, ID3P, 100), 100, "j")
        .unwrap_err();
    assert!(
        matches!(
            d,
            Denial::UeCertificate {
                fault: CertFault::Invalid(stir::Error::CertificateNotValid { .. }),
                ..
            }
        ),
        "{d}"
    );
    assert_eq!(d.reason(), Reason::CertificateInvalid);
}

#[test]
fn ue_certificate_checks() {
    let a = authority(false);
    let employee = a.directory.employees[UE_A].clone();
    let expected = *ue_key("ue-a").verifying_key();
    assert_eq!(a.ue_key(&employee, NOW).unwrap(), expected);
    let fault = |a: &Authority, e: &Employee| match a.ue_key(e, NOW).unwrap_err() {
        Denial::UeCertificate { fault, .. } => fault,
        other => panic!("{other}"),
    };
    // UE-A's certificate does not name UE-M.
    let mut other = employee.clone();
    other.impu = UE_M.into();
    assert!(
        matches!(fault(&a, &other), CertFault::DoesNotName { ref impu, .. } if impu == UE_M),
        "{}",
        fault(&a, &other)
    );
    // A TLS certificate is not from the UE CA.
    let mut tls = a.clone();
    tls.directory.ue_certs.insert(
        "ue-a".into(),
        fixtures::read("pki/tls/authz.enterprise.example.pem").unwrap(),
    );
    let no_issuer = |f: CertFault| {
        matches!(
            f,
            CertFault::Invalid(stir::Error::UntrustedCertificate {
                fault: ChainFault::NoIssuer { .. }
            })
        )
    };
    assert!(no_issuer(fault(&tls, &employee)));
    // Checked against another CA: refused.
    let mut other_ca = a.clone();
    other_ca.directory.ue_ca =
        TrustAnchors::from_pem(&fixtures::read("pki/tls-ca.pem").unwrap()).unwrap();
    assert!(no_issuer(fault(&other_ca, &employee)));
    // Not a certificate, and none on file.
    let mut garbage = a.clone();
    garbage
        .directory
        .ue_certs
        .insert("ue-a".into(), b"garbage".to_vec());
    assert!(matches!(
        fault(&garbage, &employee),
        CertFault::Invalid(stir::Error::UntrustedCertificate {
            fault: ChainFault::Empty
        })
    ));
    let mut unknown = employee.clone();
    unknown.ue = "ue-none".into();
    assert_eq!(fault(&a, &unknown), CertFault::NotOnFile);
}

#[test]
fn valid_token_authorizes_and_creates_the_name_card() {
    let a = authority(false);
    let mut l = Ledger::default();
    let token = token_for(&a, UE_A, ID3P, NOW);
    let d = a.authorize(
        &mut l,
        &option_b(UE_A, Some(token), None),
        NOW + 5,
        &mut rng(),
    );
    assert!(d.response.authorized, "{:?}", d.response);
    assert_eq!(d.response.denial, None);
    assert_eq!(d.response.id3p.as_deref(), Some(ID3P));
    assert_eq!(
        d.response.name_card,
        Some(NameCard {
            nam: "Q Branch Spy Gadgets".into(),
            jcl: "https://authz.enterprise.example/cards/q-branch.json".into(),
        })
    );
    assert_eq!(actions(&d), [(Act::AuthorizeId3p, Outcome::Done)]);
    let Some(Note::Token { claims, .. }) = d.notes.first() else {
        panic!("no token note first: {:?}", d.notes);
    };
    assert_eq!(claims["sub"], UE_A);
}

/// A refusal: no name card, one refused [`Act::AuthorizeId3p`] note whose reason is the
/// answer's `denial`. Returns the answer's text and the reason.
fn refused(a: &Authority, l: &mut Ledger, req: AuthorizeRequest, now: i64) -> (String, Reason) {
    let d = a.authorize(l, &req, now, &mut rng());
    assert!(!d.response.authorized);
    assert!(d.response.name_card.is_none());
    assert!(d.response.challenge.is_none());
    let reason = d.denial().expect("a refusal carries its typed reason");
    assert_eq!(
        actions(&d),
        [(Act::AuthorizeId3p, Outcome::Refused(reason))]
    );
    (d.response.reason, reason)
}

#[test]
fn expired_token() {
    let a = authority(false);
    let token = token_for(&a, UE_A, ID3P, NOW);
    let (text, reason) = refused(
        &a,
        &mut Ledger::default(),
        option_b(UE_A, Some(token), None),
        NOW + 3600,
    );
    assert!(text.starts_with("token expired"), "{text}");
    assert_eq!(reason, Reason::Expired);
    // The threat switch issues tokens that are already stale.
    let stale = authority(true);
    let (response, claims) = stale
        .issue(
            &Ledger::default(),
            &token_request("ue-a", UE_A, ID3P, NOW),
            NOW,
            "j",
        )
        .unwrap();
    assert_eq!((claims.iat, claims.exp), (NOW - 2 * DAY, NOW - DAY));
    let (text, reason) = refused(
        &stale,
        &mut Ledger::default(),
        option_b(UE_A, Some(response.access_token), None),
        NOW,
    );
    assert!(text.starts_with("token expired"), "{text}");
    assert_eq!(reason, Reason::Expired);
}

#[test]
fn revoked_tokens() {
    let a = authority(false);
    // UE-X kept a token from before it left.
    let token = token_for(&a, UE_X, ID3P, NOW);
    let (text, reason) = refused(
        &a,
        &mut Ledger::default(),
        option_b(UE_X, Some(token), None),
        NOW,
    );
    assert_eq!(
        text,
        format!("token revoked: {UE_X} is no longer an employee")
    );
    assert_eq!(reason, Reason::Revoked);
    // UE-A leaves at run time; and a token revoked by id.
    let token = token_for(&a, UE_A, ID3P, NOW);
    let mut l = Ledger::default();
    l.revoked_employees.insert(UE_A.into());
    let (text, reason) = refused(&a, &mut l, option_b(UE_A, Some(token.clone()), None), NOW);
    assert!(text.contains("no longer an employee"), "{text}");
    assert_eq!(reason, Reason::Revoked);
    let mut l = Ledger::default();
    l.revoked_jtis.insert("jti-1".into());
    let (text, reason) = refused(&a, &mut l, option_b(UE_A, Some(token), None), NOW);
    assert_eq!(text, "token revoked: jti jti-1");
    assert_eq!(reason, Reason::Revoked);
}

#[test]
fn wrong_subject_wrong_3pid_bad_signature_wrong_realm() {
    let a = authority(false);
    let mut l = Ledger::default();
    // UE-M replays UE-A's token.
    let token = token_for(&a, UE_A, ID3P, NOW);
    let (text, reason) = refused(&a, &mut l, option_b(UE_M, Some(token.clone()), None), NOW);
    assert!(text.contains("issued to sip:+12025551000"), "{text}");
    assert_eq!(reason, Reason::ClaimMismatch);
    // Another 3P ID than the token's.
    let mut r = option_b(UE_A, Some(token.clone()), None);
    r.id3p = Some("tel:+12025550199".into());
    let (text, reason) = refused(&a, &mut l, r, NOW);
    assert!(text.starts_with("token is for 3P ID"), "{text}");
    assert_eq!(reason, Reason::ClaimMismatch);
    // A token signed by someone else (a UE's key instead of the server's).
    let forged = jose::sign_es256(
        &ue_key("ue-m"),
        br#"{"alg":"ES256","kid":"authz.enterprise.example","typ":"JWT"}"#,
        token
            .split('.')
            .nth(1)
            .map(|p| jose::b64u_decode(p, Part::Payload).unwrap())
            .unwrap()
            .as_slice(),
    );
    let (text, reason) = refused(&a, &mut l, option_b(UE_A, Some(forged), None), NOW);
    assert!(text.contains("signature does not verify"), "{text}");
    assert_eq!(reason, Reason::SignatureInvalid);
    let (text, reason) = refused(&a, &mut l, option_b(UE_A, Some("a.b".into()), None), NOW);
    assert!(text.starts_with("token malformed"), "{text}");
    assert_eq!(reason, Reason::Malformed);
    // Another realm.
    let mut r = option_b(UE_A, Some(token), None);
    r.realm = Some("authz.other.example".into());
    let (text, reason) = refused(&a, &mut l, r, NOW);
    assert!(text.contains("not this server's"), "{text}");
    assert_eq!(reason, Reason::ClaimMismatch);
    // No token, and the UE's policy is token only.
    let mut token_only = authority(false);
    token_only.directory.employees.get_mut(UE_A).unwrap().auth = AuthPolicy::Token;
    let (text, reason) = refused(&token_only, &mut l, option_b(UE_A, None, None), NOW);
    assert!(text.contains("does not authenticate"), "{text}");
    assert_eq!(reason, Reason::AuthenticationRequired);
}

/// A challenge: not authorised, a nonce, [`Act::ChallengeUe`] done and nothing else noted.
fn challenged(a: &Authority, l: &mut Ledger, impu: &str, r: &mut Rng) -> String {
    let d = a.authorize(l, &option_b(impu, None, None), NOW, r);
    assert!(!d.response.authorized);
    assert_eq!(d.denial(), Some(Reason::AuthenticationRequired));
    assert_eq!(actions(&d), [(Act::ChallengeUe, Outcome::Done)]);
    d.response.challenge.unwrap()
}

#[test]
fn challenge_and_proof() {
    let a = authority(false);
    let mut l = Ledger::default();
    let mut r = rng();
    let nonce = challenged(&a, &mut l, UE_PBX, &mut r);
    assert_eq!(l.challenges.len(), 1);

    // A proof signed with the wrong key: refused (the check noted as failed), and the nonce is
    // used up.
    let bad = Proof {
        nonce: nonce.clone(),
        signature: sign("ue-a", nonce.as_bytes()),
    };
    let d = a.authorize(&mut l, &option_b(UE_PBX, None, Some(bad)), NOW + 1, &mut r);
    assert!(d.response.reason.contains("does not verify"), "{d:?}");
    assert_eq!(checks(&d), [(false, Some(Reason::SignatureInvalid))]);
    assert_eq!(
        actions(&d),
        [(
            Act::AuthorizeId3p,
            Outcome::Refused(Reason::SignatureInvalid)
        )]
    );
    let good = Proof {
        nonce: nonce.clone(),
        signature: sign("ue-pbx", nonce.as_bytes()),
    };
    let (text, reason) = refused(&a, &mut l, option_b(UE_PBX, None, Some(good)), NOW + 2);
    assert_eq!(text, "unknown, expired or already used nonce");
    assert_eq!(reason, Reason::Expired);

    // A fresh challenge, answered correctly: authorised, once.
    let nonce2 = challenged(&a, &mut l, UE_PBX, &mut r);
    assert_ne!(nonce, nonce2);
    let good = Proof {
        nonce: nonce2.clone(),
        signature: sign("ue-pbx", nonce2.as_bytes()),
    };
    let d = a.authorize(
        &mut l,
        &option_b(UE_PBX, None, Some(good.clone())),
        NOW + 3,
        &mut r,
    );
    assert!(d.response.authorized, "{:?}", d.response);
    assert_eq!(
        d.response.name_card.clone().unwrap().nam,
        "Q Branch Front Desk"
    );
    assert_eq!(checks(&d), [(true, None)]);
    assert_eq!(actions(&d), [(Act::AuthorizeId3p, Outcome::Done)]);
    let (text, _) = refused(&a, &mut l, option_b(UE_PBX, None, Some(good)), NOW + 4);
    assert_eq!(text, "unknown, expired or already used nonce");

    // A nonce issued to one caller does not serve another, and expires.
    let nonce3 = challenged(&a, &mut l, UE_PBX, &mut r);
    let proof = Proof {
        nonce: nonce3.clone(),
        signature: sign("ue-a", nonce3.as_bytes()),
    };
    let (text, reason) = refused(&a, &mut l, option_b(UE_A, None, Some(proof)), NOW);
    assert!(text.contains("was issued to"), "{text}");
    assert_eq!(reason, Reason::ClaimMismatch);
    let nonce4 = challenged(&a, &mut l, UE_PBX, &mut r);
    let late = Proof {
        nonce: nonce4.clone(),
        signature: sign("ue-pbx", nonce4.as_bytes()),
    };
    let (text, reason) = refused(
        &a,
        &mut l,
        option_b(UE_PBX, None, Some(late)),
        NOW + CHALLENGE_LIFETIME + 1,
    );
    assert_eq!(text, "unknown, expired or already used nonce");
    assert_eq!(reason, Reason::Expired);
    assert!(l.challenges.is_empty());
}

#[test]
fn option_a_needs_an_allocation_of_this_server() {
    let a = authority(false);
    let mut l = Ledger::default();
    let designated = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
    let req = AuthorizeRequest {
        impu: designated.into(),
        option: AuthzOption::A,
        realm: None,
        id3p: None,
        token: None,
        proof: None,
    };
    let (text, reason) = refused(&a, &mut l, req.clone(), NOW);
    assert!(text.contains("not a designated IMPU"), "{text}");
    assert_eq!(reason, Reason::NoRecord);
    l.allocations.insert(
        designated.into(),
        Designated {
            allocation: Allocation {
                impu: designated.into(),
                tn: "+12025550100".into(),
                id3p: ID3P.into(),
                realm: REALM.into(),
            },
            employee_impu: UE_A.into(),
        },
    );
    let d = a.authorize(&mut l, &req, NOW, &mut rng());
    assert!(d.response.authorized, "{:?}", d.response);
    assert_eq!(d.response.id3p.as_deref(), Some(ID3P));
    assert_eq!(actions(&d), [(Act::AuthorizeId3p, Outcome::Done)]);
    let mut other = req.clone();
    other.id3p = Some("tel:+19999999999".into());
    let (_, reason) = refused(&a, &mut l, other, NOW);
    assert_eq!(reason, Reason::NotEntitled);
    l.revoked_employees.insert(UE_A.into());
    let (text, reason) = refused(&a, &mut l, req, NOW);
    assert!(text.contains("no longer an employee"), "{text}");
    assert_eq!(reason, Reason::Revoked);
}

#[test]
fn option_b_without_3p_id_is_malformed() {
    let a = authority(false);
    let mut r = option_b(UE_A, None, None);
    r.id3p = None;
    let (text, reason) = refused(&a, &mut Ledger::default(), r, NOW);
    assert_eq!(text, "request has no id3p");
    assert_eq!(reason, Reason::Malformed);
}
