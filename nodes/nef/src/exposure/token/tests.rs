#![allow(clippy::unwrap_used)]
use super::*;

const NEF: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
const AF: &str = "dc-as.avatars.example";
const OTHER: &str = "authz.enterprise.example";
const NOW: i64 = 1_772_442_000;

fn text(path: &str) -> String {
    String::from_utf8(kit::fixtures::read(path).unwrap()).unwrap()
}

fn cert(host: &str) -> Vec<u8> {
    avatar::cert::der_from_pem(&text(&format!("pki/tls/{host}.pem"))).unwrap()
}

fn key(host: &str) -> SigningKey {
    avatar::keys::signing_key_pem(&text(&format!("pki/tls/{host}.key.pem"))).unwrap()
}

fn good(scope: Scope) -> ExposureClaims {
    let issuer = Issuer {
        nef: NEF,
        lifetime: LIFETIME,
    };
    claims(&issuer, AF, &cert(AF), scope, NOW, "jti-1")
}

fn issued(c: &ExposureClaims) -> String {
    issue(c, &key(NEF), &cert(NEF)).unwrap()
}

fn check(token: &str, presented: Option<&str>, needed: Scope, now: i64) -> Result<(), TokenError> {
    let der = presented.map(cert);
    validate(token, &cert(NEF), der.as_deref(), needed, now).map(|_| ())
}

#[test]
fn an_issued_token_round_trips() {
    let c = good(Scope::Control);
    let token = issued(&c);
    let back = validate(&token, &cert(NEF), Some(&cert(AF)), Scope::Control, NOW + 1).unwrap();
    assert_eq!(back, c);
    let d = avatar::access_token::decode(&token).unwrap();
    assert_eq!(d.header["typ"], TYP);
    assert_eq!(d.header["alg"], "ES256");
    assert_eq!(d.header["x5t#S256"], avatar::cert::thumbprint(&cert(NEF)));
    assert_eq!(d.claims["aud"], AUDIENCE);
    assert_eq!(d.claims["sub"], AF);
    assert_eq!(d.claims["scope"], "dc-control");
    assert_eq!(d.claims["exp"], NOW + LIFETIME);
    assert_eq!(
        d.claims["cnf"]["x5t#S256"],
        avatar::cert::thumbprint(&cert(AF))
    );
    assert_eq!(issued(&c), token, "deterministic");
    let note = note("access token", &token).unwrap();
    assert!(matches!(note, Note::Token { .. }));
}

/// Each way a token fails, its status, RFC 6750 code and reason.
#[test]
fn each_failure_has_its_status_and_reason() {
    let events = issued(&good(Scope::Events));
    let wrong_aud = issued(&ExposureClaims {
        aud: "dac.avatars.example".into(),
        ..good(Scope::Events)
    });
    let forged = issue(&good(Scope::Events), &key(AF), &cert(NEF)).unwrap();
    let not_nef = issue(&good(Scope::Events), &key(AF), &cert(AF)).unwrap();
    type Case<'a> = (&'a str, Option<&'a str>, Scope, i64, u16, &'a str, Reason);
    let cases: [Case<'_>; 9] = [
        (
            &wrong_aud,
            Some(AF),
            Scope::Events,
            NOW,
            401,
            "invalid_token",
            Reason::NotAuthorised,
        ),
        (
            &events,
            Some(AF),
            Scope::Control,
            NOW,
            403,
            "insufficient_scope",
            Reason::Policy,
        ),
        (
            &events,
            Some(AF),
            Scope::Events,
            NOW + LIFETIME + 1,
            401,
            "invalid_token",
            Reason::Expired,
        ),
        (
            &events,
            Some(AF),
            Scope::Events,
            NOW - SKEW - 1,
            401,
            "invalid_token",
            Reason::Stale,
        ),
        (
            &events,
            Some(OTHER),
            Scope::Events,
            NOW,
            401,
            "invalid_token",
            Reason::ClaimMismatch,
        ),
        (
            &events,
            None,
            Scope::Events,
            NOW,
            401,
            "invalid_token",
            Reason::MissingIdentity,
        ),
        (
            &forged,
            Some(AF),
            Scope::Events,
            NOW,
            401,
            "invalid_token",
            Reason::SignatureInvalid,
        ),
        (
            &not_nef,
            Some(AF),
            Scope::Events,
            NOW,
            401,
            "invalid_token",
            Reason::ClaimMismatch,
        ),
        (
            "x.y.z",
            Some(AF),
            Scope::Events,
            NOW,
            401,
            "invalid_token",
            Reason::Malformed,
        ),
    ];
    for (token, presented, needed, now, status, code, reason) in cases {
        let e = check(token, presented, needed, now).unwrap_err();
        assert_eq!(
            (e.status(), e.code(), e.reason()),
            (status, Some(code), reason),
            "{e}"
        );
        assert!(e.challenge().unwrap().contains(code));
    }
    let e = check(&events, Some(OTHER), Scope::Events, NOW).unwrap_err();
    assert!(matches!(e, TokenError::OtherCertificate { .. }), "{e}");
    let e = check(&events, Some(AF), Scope::Control, NOW).unwrap_err();
    assert_eq!(
        e.challenge().unwrap(),
        "Bearer error=\"insufficient_scope\", scope=\"dc-control\""
    );
    let nef = TokenError::Nef { detail: "x".into() };
    assert_eq!(
        (nef.status(), nef.code(), nef.challenge()),
        (500, None, None)
    );
}

#[test]
fn a_token_with_both_scopes_serves_both() {
    let both = issued(&ExposureClaims {
        scope: "dc-events dc-control".into(),
        ..good(Scope::Events)
    });
    for needed in [Scope::Events, Scope::Control] {
        assert!(check(&both, Some(AF), needed, NOW).is_ok(), "{needed}");
    }
    let near = ExposureClaims {
        scope: "dc-controls".into(),
        ..good(Scope::Events)
    };
    assert!(!near.allows(Scope::Control));
}
