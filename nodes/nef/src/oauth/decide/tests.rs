#![allow(clippy::unwrap_used)]
use super::*;
use avatar::cert;
use kit::fixtures;

const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
const NOW: i64 = 1_772_442_000;

fn text(relative: &str) -> String {
    String::from_utf8(fixtures::read(relative).unwrap()).unwrap()
}

fn der(path: &str) -> Vec<u8> {
    cert::der_from_pem(&text(path)).unwrap()
}

fn certs() -> UeCerts {
    UeCerts::load(&fixtures::dir(), NOW).unwrap()
}

fn ue_token_of(ue: &str, sub: &str, xr_as: &str) -> String {
    let key = avatar::keys::signing_key_pem(&text(&format!("pki/ue/{ue}.key.pem"))).unwrap();
    let claims = UeTokenClaims::new(sub, xr_as, CALL, NOW);
    ue_token::sign(&claims, &key, &der(&format!("pki/ue/{ue}.pem"))).unwrap()
}

fn signed(fingerprint: &str) -> SignedId {
    SignedId {
        impu: UE_A.into(),
        avatar_id: "qbranch-agent".into(),
        app_id: "avatar-call".into(),
        fingerprint: fingerprint.into(),
    }
}

fn form() -> TokenRequest {
    TokenRequest::read("signed.avatar.id", "ue.token.x", "avatar-call")
}

#[test]
fn only_listed_xr_ass_are_clients() {
    let clients: BTreeSet<String> = [XR_AS.to_owned()].into();
    let xr_as = der(&format!("pki/tls/{XR_AS}.pem"));
    assert_eq!(client(Some(&xr_as), &clients).unwrap(), XR_AS);
    let mf = der("pki/tls/mf.ims.mnc001.mcc001.3gppnetwork.org.pem");
    let e = client(Some(&mf), &clients).unwrap_err();
    assert!(matches!(e, TokenRefusal::UnauthorizedClient(_)), "{e}");
    assert_eq!(e.reason(), Reason::NotAuthorised);
    assert!(client(None, &clients).is_err());
}

#[test]
fn the_form_table() {
    assert_eq!(request(form().to_form().as_bytes()).unwrap(), form());
    let with = |grant: &str, scope: &str| TokenRequest {
        grant_type: grant.into(),
        scope: scope.into(),
        ..form()
    };
    for (body, error) in [
        ("scope=x".to_owned(), "invalid_request"),
        (
            with("password", SCOPE_READ).to_form(),
            "unsupported_grant_type",
        ),
        (
            with(CLIENT_CREDENTIALS, "avatar-metadata:write").to_form(),
            "invalid_scope",
        ),
    ] {
        let e = request(body.as_bytes()).unwrap_err();
        assert_eq!(e.error().as_str(), error, "{body}");
    }
}

#[test]
fn the_verdict_table() {
    let fp = "sha-256 AA";
    let ok = AvatarIdVerdict::valid(UE_A, "qbranch-agent", "avatar-call", fp);
    assert_eq!(signed_id(ok.clone(), &form(), "as").unwrap(), signed(fp));
    let e = signed_id(
        AvatarIdVerdict::invalid(Reason::Expired, "old"),
        &form(),
        "as",
    )
    .unwrap_err();
    assert_eq!(
        (e.reason(), e.error().as_str()),
        (Reason::Expired, "invalid_grant")
    );
    let mut untyped = AvatarIdVerdict::invalid(Reason::Expired, "x");
    untyped.reason = None;
    let e = signed_id(untyped, &form(), "as").unwrap_err();
    assert_eq!(e.reason(), Reason::SignatureInvalid);
    let other_app = AvatarIdVerdict::valid(UE_A, "qbranch-agent", "other-app", fp);
    let e = signed_id(other_app, &form(), "as").unwrap_err();
    assert_eq!(e.reason(), Reason::ClaimMismatch);
    let incomplete = AvatarIdVerdict {
        ue_cert_fingerprint: None,
        ..ok
    };
    let e = signed_id(incomplete, &form(), "as").unwrap_err();
    assert_eq!((e.reason(), e.status()), (Reason::Unreachable, 503));
}

#[test]
fn the_ue_token_table() {
    let certs = certs();
    let fp_a = ue_token::fingerprint(&der("pki/ue/ue-a.pem"));
    let fp_b = ue_token::fingerprint(&der("pki/ue/ue-b.pem"));
    let good = ue_token_of("ue-a", UE_A, XR_AS);
    let claims = ue_token(&certs, &signed(&fp_a), &good, XR_AS, NOW).unwrap();
    assert_eq!(claims.sub, UE_A);
    let tel = ue_token_of("ue-a", "tel:+12025551000", XR_AS);
    let other_as = ue_token_of("ue-a", UE_A, "xr-as.ims.mnc002.mcc001.3gppnetwork.org");
    let by_b = ue_token_of(
        "ue-b",
        "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org",
        XR_AS,
    );
    let cases = [
        (&good, signed(&fp_b), Reason::ClaimMismatch),
        (&tel, signed(&fp_a), Reason::ClaimMismatch),
        (&other_as, signed(&fp_a), Reason::NotAuthorised),
        (&by_b, signed(&fp_a), Reason::ClaimMismatch),
        (
            &good,
            SignedId {
                impu: "sip:nobody@example.org".into(),
                ..signed(&fp_a)
            },
            Reason::CertificateInvalid,
        ),
    ];
    for (token, id, reason) in cases {
        let e = ue_token(&certs, &id, token, XR_AS, NOW).unwrap_err();
        assert_eq!(
            (e.reason(), e.error().as_str()),
            (reason, "invalid_grant"),
            "{e}"
        );
    }
    let e = ue_token(&certs, &signed(&fp_a), &good, XR_AS, NOW + 301).unwrap_err();
    assert_eq!(e.reason(), Reason::Expired);
}

#[test]
fn claims_bind_the_signed_id_to_the_client_and_the_dac() {
    let issuer = Issuer {
        nef: "nef.example",
        dac: "dac.avatars.example",
        lifetime: 300,
    };
    let c = claims(&issuer, XR_AS, &signed("x"), NOW, "at-1");
    assert_eq!(
        (
            c.iss.as_str(),
            c.sub.as_str(),
            c.aud.as_str(),
            c.scope.as_str()
        ),
        ("nef.example", XR_AS, "dac.avatars.example", SCOPE_READ)
    );
    assert_eq!(
        (c.avatar_id.as_str(), c.impu.as_str(), c.app_id.as_str()),
        ("qbranch-agent", UE_A, "avatar-call")
    );
    assert_eq!((c.iat, c.exp, c.jti.as_str()), (NOW, NOW + 300, "at-1"));
    assert!(granted_label(&c).contains("qbranch-agent"));
}
