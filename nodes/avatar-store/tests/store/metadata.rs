//! The DAC's avatar metadata (solution #7 steps 8–9) as the XR AS meets it: an access token of
//! the NEF for the avatar gets the signed metadata; a token for another avatar, an expired
//! token, a token granted to another client or no token are refused.

use avatar::access_token::{self, AccessClaims, LIFETIME, SCOPE_READ};
use avatar::wire::{METADATA_TYPE, metadata_path};
use avatar_store::DacConfig;
use avatar_store::dac::{HOST as DAC, NEF_HOST};
use kit::http::{Client, Request, Response};
use p256::ecdsa::SigningKey;
use proto::trace::{Act, Note, Outcome, Reason};

use super::{MF, NOW, UE_A, World, XR_AS, problem, refused};

fn tls(host: &str) -> (SigningKey, Vec<u8>) {
    let read = |p: String| std::fs::read_to_string(kit::fixtures::dir().join(p)).unwrap();
    let key = avatar::keys::signing_key_pem(&read(format!("pki/tls/{host}.key.pem"))).unwrap();
    let der = avatar::cert::der_from_pem(&read(format!("pki/tls/{host}.pem"))).unwrap();
    (key, der)
}

fn token(avatar_id: &str, iat: i64) -> String {
    let claims = AccessClaims {
        iss: NEF_HOST.into(),
        sub: XR_AS.into(),
        aud: DAC.into(),
        scope: SCOPE_READ.into(),
        avatar_id: avatar_id.into(),
        app_id: "avatar-call".into(),
        impu: UE_A.into(),
        iat,
        exp: iat + LIFETIME,
        jti: format!("at-{avatar_id}-{iat}"),
    };
    let (key, der) = tls(NEF_HOST);
    access_token::issue(&claims, &key, &der).unwrap()
}

async fn get(client: &Client, avatar_id: &str, token: Option<&str>) -> Response {
    let mut req = Request::get(format!("https://{DAC}{}", metadata_path(avatar_id)));
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    client.send(req).await.unwrap()
}

async fn dac(w: &World, config: DacConfig) -> kit::http::Server {
    let server = avatar_store::dac::start(&w.ctx("dac", DAC), config)
        .await
        .unwrap();
    w.hosts.add(DAC, server.local_addr());
    server
}

#[tokio::test]
async fn dac_serves_signed_metadata_for_a_good_access_token_only() {
    let w = World::new();
    let _server = dac(&w, DacConfig::from_fixtures().unwrap()).await;
    let xr_as = w.client("xr-as-o", XR_AS);
    let dac_cert = tls(DAC).1;

    // A good token: the signed metadata, verifiable with the DAC's certificate.
    let r = get(&xr_as, "qbranch-agent", Some(&token("qbranch-agent", NOW))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header_value("content-type"), Some(METADATA_TYPE));
    let jws = String::from_utf8(r.body.to_vec()).unwrap();
    let m = avatar::metadata::verify(&jws, &dac_cert, "qbranch-agent", NOW + 600).unwrap();
    assert_eq!((m.iss.as_str(), m.exp), (DAC, NOW + 600));
    assert_eq!(m.name, "Q-Branch agent");
    // Without a client certificate the token alone decides.
    let r = get(
        &w.anonymous(),
        "qbranch-agent",
        Some(&token("qbranch-agent", NOW)),
    )
    .await;
    assert_eq!(r.status, 200);

    // A token for another avatar: 403 insufficient_scope.
    let r = get(&xr_as, "owl", Some(&token("qbranch-agent", NOW))).await;
    assert_eq!(problem(&r, 403).reason, Reason::NotAuthorised);
    let challenge = r.header_value("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    // An expired token: 401 invalid_token.
    let r = get(
        &xr_as,
        "qbranch-agent",
        Some(&token("qbranch-agent", NOW - LIFETIME - 1)),
    )
    .await;
    assert_eq!(problem(&r, 401).reason, Reason::Expired);
    let challenge = r.header_value("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // No token: 401 with the bare challenge.
    let r = get(&xr_as, "qbranch-agent", None).await;
    assert_eq!(problem(&r, 401).reason, Reason::MissingIdentity);
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Bearer realm=\"dac.avatars.example\"")
    );
    // The XR AS's token presented by the MF: 401.
    let mf = w.client("mf-o", MF);
    let r = get(&mf, "qbranch-agent", Some(&token("qbranch-agent", NOW))).await;
    assert_eq!(problem(&r, 401).reason, Reason::NotAuthorised);

    notes(&w);
}

fn notes(w: &World) {
    assert_eq!(
        w.actions("dac"),
        [
            (Act::VerifyAvatarToken, Outcome::Done),
            (Act::ServeAvatarObject, Outcome::Done),
            (Act::VerifyAvatarToken, Outcome::Done),
            (Act::ServeAvatarObject, Outcome::Done),
            (Act::VerifyAvatarToken, refused(Reason::NotAuthorised)),
            (Act::VerifyAvatarToken, refused(Reason::Expired)),
            (Act::VerifyAvatarToken, refused(Reason::MissingIdentity)),
            (Act::VerifyAvatarToken, refused(Reason::NotAuthorised)),
        ]
    );
    let typs: Vec<String> = w
        .notes("dac")
        .into_iter()
        .filter_map(|(_, n)| match n {
            Note::Token { header, .. } => header["typ"].as_str().map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(
        typs,
        [
            "at+jwt",
            "avatar-metadata+jwt",
            "at+jwt",
            "avatar-metadata+jwt",
            "at+jwt",
            "at+jwt",
            "at+jwt"
        ]
    );
}

/// The testbed's "expired metadata" variant: the DAC signs metadata that has already expired,
/// which the XR AS refuses (step 9.1).
#[tokio::test]
async fn a_negative_lifetime_makes_expired_metadata() {
    let w = World::new();
    let config = DacConfig {
        metadata_lifetime: -1,
        ..DacConfig::from_fixtures().unwrap()
    };
    let _server = dac(&w, config).await;
    let xr_as = w.client("xr-as-o", XR_AS);
    let r = get(&xr_as, "owl", Some(&token("owl", NOW))).await;
    assert_eq!(r.status, 200);
    let jws = String::from_utf8(r.body.to_vec()).unwrap();
    let e = avatar::metadata::verify(&jws, &tls(DAC).1, "owl", NOW).unwrap_err();
    assert_eq!(e.reason(), Reason::Expired);
    let tampered = avatar::metadata::tamper(&jws);
    let e = avatar::metadata::verify(&tampered, &tls(DAC).1, "owl", NOW - 10).unwrap_err();
    assert_eq!(e.reason(), Reason::SignatureInvalid);
}
