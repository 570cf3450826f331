//! The `stir` crate against standard vectors (fixtures/vectors, origins in its README) and the
//! fixture PKI: byte-exact signing, `rcdi` digests, and one test per verification failure with
//! the SIP code it must map to; the certificate rules (TNAuthList coverage, keyUsage,
//! revocation) with the negative fixtures in `certificates`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use serde_json::{Value, json};
use stir::jose::{self, CompactJws};
use stir::rcd::{self, Fetched};
use stir::verify::{self, StaticFetcher};
use stir::*;

#[path = "stir/avatar.rs"]
mod avatar;
#[path = "stir/certificates.rs"]
mod certificates;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn toml_file(path: &str) -> toml::Table {
    read(path).parse().unwrap()
}

fn vector_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(&read("vectors/rfc8225_A1_pkcs8.pem")).unwrap()
}

// ---- standard vectors ------------------------------------------------------------------------

#[test]
fn rfc8225_and_rfc8588_vectors_sign_byte_exact() {
    let key = vector_key();
    let vectors = toml_file("vectors/passports.toml");
    let public = VerifyingKey::from_public_key_pem(&read("vectors/rfc8225_A2_pub.pem")).unwrap();
    assert_eq!(key.verifying_key(), &public, "A.1 and A.2 are one key pair");
    for v in vectors["vector"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let (header, payload, jws) = (
            v["header"].as_str().unwrap(),
            v["payload"].as_str().unwrap(),
            v["jws"].as_str().unwrap(),
        );
        // Signing the published canonical bytes reproduces the published token exactly.
        assert_eq!(
            jose::sign_es256(&key, header.as_bytes(), payload.as_bytes()),
            jws,
            "{name}"
        );
        // Decoding the token and re-canonicalising its parts gives the same bytes back.
        let decoded = passport::decode(jws).unwrap();
        let (h, p) = decoded.passport.canonical().unwrap();
        assert_eq!(
            (h.as_slice(), p.as_slice()),
            (header.as_bytes(), payload.as_bytes()),
            "{name}"
        );
        // And the typed model signs to the same token.
        assert_eq!(decoded.passport.sign(&key).unwrap(), jws, "{name}");
        jose::verify_es256(&public, &CompactJws::split(jws).unwrap()).unwrap();
    }
}

#[test]
fn rfc8588_vector_built_from_parts() {
    let passport = Passport::shaken(
        "https://cert.example.org/passport.cer",
        Attest::A,
        Orig::tn("+1 215 555 0121"),
        Dest::tn("12155550131"),
        1443208345,
        "123e4567-e89b-12d3-a456-426655440000",
    );
    let vectors = toml_file("vectors/passports.toml");
    let expected = vectors["vector"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some("rfc8588"))
        .unwrap();
    assert_eq!(
        passport.sign(&vector_key()).unwrap(),
        expected["jws"].as_str().unwrap()
    );
}

#[test]
fn string_iat_is_rejected_with_438() {
    let vectors = toml_file("vectors/passports.toml");
    let v = vectors["vector"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some("rfc8588"))
        .unwrap();
    let token = jose::sign_es256(
        &vector_key(),
        v["header"].as_str().unwrap().as_bytes(),
        v["string_iat_payload"].as_str().unwrap().as_bytes(),
    );
    let err = passport::decode(&token).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MalformedJson {
                part: Part::Payload,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.sip_answer().code, 438);
    // Through the whole pipeline too.
    let identity = IdentityHeader::new(token, "https://cert.example.org/passport.cer", "shaken");
    let err = run(
        &identity,
        &SipFacts::default(),
        1443208345,
        &StaticFetcher::default(),
    )
    .unwrap_err();
    assert_eq!(err.sip_answer().code, 438);
}

#[test]
fn rcdi_vector_digests_recomputed() {
    let v = toml_file("vectors/rcdi.toml");
    // The documented digests are SHA-384 over the raw UTF-8 of each value.
    assert_eq!(
        DigestAlg::Sha384.sri(v["nam"].as_str().unwrap().as_bytes()),
        v["nam_digest"].as_str().unwrap()
    );
    assert_eq!(
        DigestAlg::Sha384.sri(v["apn"].as_str().unwrap().as_bytes()),
        v["apn_digest"].as_str().unwrap()
    );
    // The checker agrees on the documented payload, pointer by pointer.
    let claims: Claims = serde_json::from_str(v["payload"].as_str().unwrap()).unwrap();
    let status = rcd::check_rcdi(
        claims.rcd.as_ref().unwrap(),
        claims.rcdi.as_ref().unwrap(),
        &Fetched::new(),
    );
    // Both digests match; the vector's `jcl` ("cid:123456") has no digest at all, so what is
    // behind it is not covered and this RCD may not be shown (RFC 9795 §6.2.2).
    assert_eq!(status.len(), 3);
    assert!(
        status["/nam"].is_match() && status["/apn"].is_match(),
        "{status:?}"
    );
    assert_eq!(
        status["/jcl"],
        DigestStatus::Uncovered {
            uri: "cid:123456".into()
        }
    );
    // The unknown "iss" claim survives decoding and canonicalisation unchanged.
    assert_eq!(
        jose::canonical_json(&claims).unwrap(),
        v["payload"].as_str().unwrap().as_bytes()
    );
    // A changed name no longer matches.
    let mut changed = claims.rcd.clone().unwrap();
    changed.nam = Some("Alice Liddel".into());
    let status = rcd::check_rcdi(&changed, claims.rcdi.as_ref().unwrap(), &Fetched::new());
    assert!(matches!(status["/nam"], DigestStatus::Mismatch { .. }));
    assert!(matches!(status["/jcl"], DigestStatus::Uncovered { .. }));
    assert!(status["/apn"].is_match());
}

#[test]
fn embedded_jcard_digest_uses_jcs() {
    // RFC 9795: an embedded jCard is digested over its RFC 8785 canonical form, whatever the
    // member order or whitespace it was written with.
    let jcd: Value = serde_json::from_str(
        r#"["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Q Branch"]]]"#,
    )
    .unwrap();
    let rcd = Rcd {
        jcd: Some(jcd.clone()),
        ..Rcd::default()
    };
    let rcdi = rcd::compute_rcdi(&rcd, &Fetched::new(), DigestAlg::Sha256).unwrap();
    let jcs = br#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch"]]]"#;
    assert_eq!(rcdi["/jcd"], DigestAlg::Sha256.sri(jcs));
    assert_eq!(jose::canonical_json(&jcd).unwrap(), jcs);
}

// ---- the verification pipeline on the fixture PKI ------------------------------------------

/// The scenario clock of fixtures/world.toml: 2026-03-02T09:00:00Z.
const NOW: i64 = 1_772_442_000;
const X5U: &str = "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/sti-sp-1001.pem";
const UE_A: &str = "+12025551000";
const UE_B: &str = "+12155551001";
/// The STI-SP certificates' CRL distribution point (the world's `sti-repo`).
const CRL_URL: &str = "https://certs.sti.example/crl/sti-ica.crl";

fn sp_key(name: &str) -> SigningKey {
    SigningKey::from_pkcs8_pem(&read(&format!("pki/{name}.key.pem"))).unwrap()
}

/// The chain `pki/<chain>.chain.pem` at [`X5U`], and the STI-ICA's CRL at [`CRL_URL`].
fn fetcher(chain: &str) -> StaticFetcher {
    let mut f = StaticFetcher::default();
    f.chains.insert(
        X5U.into(),
        read(&format!("pki/{chain}.chain.pem")).into_bytes(),
    );
    f.crls
        .insert(CRL_URL.into(), read("pki/sti-ica.crl.pem").into_bytes());
    f
}

fn anchors() -> TrustAnchors {
    TrustAnchors::from_pem(read("pki/sti-ca.pem").as_bytes()).unwrap()
}

fn facts() -> SipFacts {
    SipFacts {
        orig: Some(Party::from_uri(&format!(
            "sip:{UE_A}@ims.mnc001.mcc001.3gppnetwork.org;user=phone"
        ))),
        dest: Some(Party::from_uri(&format!("tel:{UE_B}"))),
        date: Some(NOW),
    }
}

fn shaken() -> Passport {
    Passport::shaken(
        X5U,
        Attest::A,
        Orig::tn(UE_A),
        Dest::tn(UE_B),
        NOW,
        "0e9c2b1a-5d3f-4c1e-9a7b-2f6d8e4c1a00",
    )
}

fn identity(p: &Passport, key: &SigningKey) -> IdentityHeader {
    IdentityHeader::new(p.sign(key).unwrap(), X5U, "shaken")
}

/// Signs arbitrary JSON, to build tokens the typed model would refuse to make.
fn raw_identity(
    header: Value,
    claims: Value,
    key: &SigningKey,
    ppt: Option<&str>,
) -> IdentityHeader {
    let token = jose::sign_es256(
        key,
        &jose::canonical_json(&header).unwrap(),
        &jose::canonical_json(&claims).unwrap(),
    );
    let mut id = IdentityHeader::new(token, X5U, ppt.unwrap_or("shaken"));
    id.ppt = ppt.map(str::to_owned);
    id
}

fn run(
    identity: &IdentityHeader,
    facts: &SipFacts,
    now: i64,
    fetcher: &StaticFetcher,
) -> Result<Verified, Error> {
    run_with(identity, facts, now, fetcher, &Fetched::new())
}

fn run_with(
    identity: &IdentityHeader,
    facts: &SipFacts,
    now: i64,
    fetcher: &StaticFetcher,
    fetched: &Fetched,
) -> Result<Verified, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(verify::verify(
        identity,
        facts,
        now,
        fetcher,
        &anchors(),
        &Policy::default(),
        fetched,
    ))
}

fn code(r: Result<Verified, Error>) -> (u16, Error) {
    let e = r.expect_err("verification should fail");
    (e.sip_answer().code, e)
}

#[test]
fn valid_shaken_passes_with_spc_and_attestation() {
    let header = identity(&shaken(), &sp_key("sti-sp-1001")).to_header();
    // Parsed back from the wire form, as an STI-VS would.
    let ids = IdentityHeader::from_headers([header.as_str()]).unwrap();
    let v = run(&ids[0], &facts(), NOW + 5, &fetcher("sti-sp-1001")).unwrap();
    assert_eq!(v.attest, Some(Attest::A));
    assert_eq!(v.ppt, Some(Ppt::Shaken));
    assert_eq!(v.cert.spcs().collect::<Vec<_>>(), ["1001"]);
    assert!(
        v.cert.subject.contains("CN=SHAKEN 1001"),
        "{}",
        v.cert.subject
    );
    assert_eq!(
        v.cert.path.len(),
        3,
        "end-entity, ICA, root: {:?}",
        v.cert.path
    );
    let ms = ms::VerificationResponse::new(
        vec![ms::VerifyResult::from_outcome(
            "shaken",
            &ids[0].jws,
            &Ok(v.clone()),
        )],
        Some(&Ok(v)),
    );
    assert_eq!(ms.verstat_value, "TN-Validation-Passed");
}

#[test]
fn missing_identity_is_428() {
    let err = IdentityHeader::from_headers(Vec::<&str>::new()).unwrap_err();
    assert_eq!(err, Error::MissingIdentity);
    assert_eq!(err.sip_answer().to_string(), "428 Use Identity Header");
    assert_eq!(err.verstat(), Verstat::NoValidation);
}

#[test]
fn unreachable_x5u_is_436() {
    let (c, e) = code(run(
        &identity(&shaken(), &sp_key("sti-sp-1001")),
        &facts(),
        NOW,
        &StaticFetcher::default(),
    ));
    assert_eq!(c, 436, "{e}");
    assert!(matches!(e, Error::X5uUnavailable { .. }));
}

#[test]
fn info_differing_from_x5u_is_436() {
    let mut id = identity(&shaken(), &sp_key("sti-sp-1001"));
    id.info = "https://elsewhere.example/cert.pem".into();
    let (c, e) = code(run(&id, &facts(), NOW, &fetcher("sti-sp-1001")));
    assert_eq!(
        (c, matches!(e, Error::InfoMismatch { .. })),
        (436, true),
        "{e}"
    );
}

#[test]
fn unsupported_alg_is_437() {
    let mut id = identity(&shaken(), &sp_key("sti-sp-1001"));
    id.alg = Some("RS256".into());
    let (c, e) = code(run(&id, &facts(), NOW, &fetcher("sti-sp-1001")));
    assert_eq!(
        (c, matches!(e, Error::UnsupportedAlg { .. })),
        (437, true),
        "{e}"
    );
    // In the JOSE header as well.
    let mut p = shaken();
    p.header.alg = "ES384".into();
    let id = IdentityHeader {
        alg: None,
        ..identity(&p, &sp_key("sti-sp-1001"))
    };
    let (c, _) = code(run(&id, &facts(), NOW, &fetcher("sti-sp-1001")));
    assert_eq!(c, 437);
}

#[test]
fn certificate_from_another_ca_is_437() {
    let (c, e) = code(run(
        &identity(&shaken(), &sp_key("sti-sp-rogue")),
        &facts(),
        NOW,
        &fetcher("sti-sp-rogue"),
    ));
    assert_eq!(c, 437, "{e}");
    assert!(
        matches!(
            e,
            Error::UntrustedCertificate {
                fault: ChainFault::NoIssuer { .. }
            }
        ),
        "{e}"
    );
}

#[test]
fn expired_certificate_is_437() {
    let (c, e) = code(run(
        &identity(&shaken(), &sp_key("sti-sp-expired")),
        &facts(),
        NOW,
        &fetcher("sti-sp-expired"),
    ));
    assert_eq!(c, 437, "{e}");
    assert!(matches!(e, Error::CertificateNotValid { .. }), "{e}");
}

#[test]
fn certificate_without_tn_auth_list_is_437() {
    let (c, e) = code(run(
        &identity(&shaken(), &sp_key("sti-sp-notnauth")),
        &facts(),
        NOW,
        &fetcher("sti-sp-notnauth"),
    ));
    assert_eq!(c, 437, "{e}");
    assert!(matches!(e, Error::NoTnAuthList { .. }), "{e}");
}

#[test]
fn key_not_matching_the_certificate_is_438() {
    // Signed with operator 1002's key, but x5u points at 1001's certificate.
    let (c, e) = code(run(
        &identity(&shaken(), &sp_key("sti-sp-1002")),
        &facts(),
        NOW,
        &fetcher("sti-sp-1001"),
    ));
    assert_eq!((c, e.clone()), (438, Error::BadSignature), "{e}");
}

#[test]
fn tampered_tokens_are_438() {
    let key = sp_key("sti-sp-1001");
    let good = identity(&shaken(), &key);
    let jws = CompactJws::split(&good.jws).unwrap();
    // Payload swapped for one naming another caller, signature kept.
    let mut forged = shaken();
    forged.claims.orig = Orig::tn("+12025551666");
    let forged_payload = jose::b64u(&jose::canonical_json(&forged.claims).unwrap());
    let swapped = IdentityHeader {
        jws: format!("{}.{}.{}", jws.header, forged_payload, jws.signature),
        ..good.clone()
    };
    let mut facts_m = facts();
    facts_m.orig = Some(Party::Tn("+12025551666".into()));
    let (c, e) = code(run(&swapped, &facts_m, NOW, &fetcher("sti-sp-1001")));
    assert_eq!((c, e.clone()), (438, Error::BadSignature), "{e}");

    type Case = (&'static str, IdentityHeader, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        (
            "not a JWS",
            IdentityHeader {
                jws: "abc.def".into(),
                ..good.clone()
            },
            |e| matches!(e, Error::MalformedJws { .. }),
        ),
        (
            "header not JSON",
            IdentityHeader {
                jws: format!("{}.{}.{}", jose::b64u(b"{nope"), jws.payload, jws.signature),
                ..good.clone()
            },
            |e| {
                matches!(
                    e,
                    Error::MalformedJson {
                        part: Part::Header,
                        ..
                    }
                )
            },
        ),
        (
            "signature truncated",
            IdentityHeader {
                jws: format!("{}.{}.{}", jws.header, jws.payload, &jws.signature[..40]),
                ..good.clone()
            },
            |e| {
                matches!(
                    e,
                    Error::MalformedJws {
                        fault: JwsFault::SignatureLength(_)
                    }
                )
            },
        ),
        (
            "wrong typ",
            raw_identity(
                json!({"alg":"ES256","ppt":"shaken","typ":"JWT","x5u":X5U}),
                serde_json::to_value(&shaken().claims).unwrap(),
                &key,
                Some("shaken"),
            ),
            |e| matches!(e, Error::WrongTyp { .. }),
        ),
        (
            "ppt param differs",
            IdentityHeader {
                ppt: Some("rcd".into()),
                ..good.clone()
            },
            |e| matches!(e, Error::PptMismatch { .. }),
        ),
        (
            "unsupported ppt",
            raw_identity(
                json!({"alg":"ES256","ppt":"rph","typ":"passport","x5u":X5U}),
                serde_json::to_value(&shaken().claims).unwrap(),
                &key,
                Some("rph"),
            ),
            |e| matches!(e, Error::UnsupportedPpt { .. }),
        ),
        (
            "shaken without attest",
            raw_identity(
                json!({"alg":"ES256","ppt":"shaken","typ":"passport","x5u":X5U}),
                json!({"dest":{"tn":["12155551001"]},"iat":NOW,"orig":{"tn":"12025551000"},"origid":"x"}),
                &key,
                Some("shaken"),
            ),
            |e| matches!(e, Error::MissingClaim { claim: "attest" }),
        ),
    ];
    for (name, id, expect) in cases {
        let (c, e) = code(run(&id, &facts(), NOW, &fetcher("sti-sp-1001")));
        assert_eq!(c, 438, "{name}: {e}");
        assert!(expect(&e), "{name}: {e:?}");
    }
}

#[test]
fn orig_or_dest_not_matching_sip_is_438() {
    let id = identity(&shaken(), &sp_key("sti-sp-1001"));
    let mut f = facts();
    f.orig = Some(Party::Tn("+12025551666".into()));
    let (c, e) = code(run(&id, &f, NOW, &fetcher("sti-sp-1001")));
    assert_eq!(
        (c, matches!(e, Error::OrigMismatch { .. })),
        (438, true),
        "{e}"
    );
    let mut f = facts();
    f.dest = Some(Party::from_uri(
        "sip:+12155559999@ims.mnc002.mcc001.3gppnetwork.org",
    ));
    let (c, e) = code(run(&id, &f, NOW, &fetcher("sti-sp-1001")));
    assert_eq!(
        (c, matches!(e, Error::DestMismatch { .. })),
        (438, true),
        "{e}"
    );
}

#[test]
fn stale_iat_is_403() {
    let id = identity(&shaken(), &sp_key("sti-sp-1001"));
    let (c, e) = code(run(
        &id,
        &SipFacts::default(),
        NOW + 61,
        &fetcher("sti-sp-1001"),
    ));
    assert_eq!((c, e.sip_answer().reason), (403, "Stale Date"), "{e}");
    // Fresh against now but not against the request's Date header.
    let mut f = facts();
    f.date = Some(NOW - 120);
    let (c, e) = code(run(&id, &f, NOW, &fetcher("sti-sp-1001")));
    assert_eq!(c, 403, "{e}");
    // Exactly at the bound is still fresh.
    assert!(run(&id, &SipFacts::default(), NOW + 60, &fetcher("sti-sp-1001")).is_ok());
}

#[test]
fn rcd_passport_with_tampered_jcard_reports_mismatch_but_verifies() {
    let jcl = "https://id.enterprise.example/jcard/q-branch.json";
    let jcard =
        br#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch Spy Gadgets"]]]"#;
    let rcd = Rcd {
        nam: Some("Q Branch Spy Gadgets".into()),
        jcl: Some(jcl.into()),
        ..Rcd::default()
    };
    let mut fetched = Fetched::new();
    fetched.insert(jcl.into(), jcard.to_vec());
    let rcdi = rcd::compute_rcdi(&rcd, &fetched, DigestAlg::Sha256).unwrap();
    assert_eq!(rcdi.keys().collect::<Vec<_>>(), ["/jcl", "/nam"]);
    let p = Passport::rcd(X5U, Orig::tn(UE_A), Dest::tn(UE_B), NOW, rcd, Some(rcdi));
    let id = IdentityHeader::new(p.sign(&sp_key("sti-sp-1001")).unwrap(), X5U, "rcd");
    let v = run_with(&id, &facts(), NOW, &fetcher("sti-sp-1001"), &fetched).unwrap();
    assert!(v.rcd.as_ref().unwrap().intact());

    // The jCard changes on the server after signing: the token still verifies, the RCD does not.
    let mut changed = Fetched::new();
    changed.insert(
        jcl.into(),
        br#"["vcard",[["fn",{},"text","Totally Legit Bank"]]]"#.to_vec(),
    );
    let v = run_with(&id, &facts(), NOW, &fetcher("sti-sp-1001"), &changed).unwrap();
    let outcome = v.rcd.unwrap();
    assert!(!outcome.intact());
    assert!(matches!(
        outcome.digests["/jcl"],
        DigestStatus::Mismatch { .. }
    ));
    assert!(outcome.digests["/nam"].is_match());

    // Signed without rcdi: the token verifies, but nothing covers the jCard behind jcl, so the
    // RCD is not intact (a missing rcdi is not a pass).
    let p = Passport::rcd(
        X5U,
        Orig::tn(UE_A),
        Dest::tn(UE_B),
        NOW,
        outcome.rcd.clone(),
        None,
    );
    let id = IdentityHeader::new(p.sign(&sp_key("sti-sp-1001")).unwrap(), X5U, "rcd");
    let outcome = run_with(&id, &facts(), NOW, &fetcher("sti-sp-1001"), &fetched)
        .unwrap()
        .rcd
        .unwrap();
    assert!(!outcome.intact());
    assert_eq!(
        outcome.digests["/jcl"],
        DigestStatus::Uncovered { uri: jcl.into() }
    );

    // RCD without rcd claim under ppt=rcd is malformed.
    let bare = raw_identity(
        json!({"alg":"ES256","ppt":"rcd","typ":"passport","x5u":X5U}),
        json!({"dest":{"tn":["12155551001"]},"iat":NOW,"orig":{"tn":"12025551000"}}),
        &sp_key("sti-sp-1001"),
        Some("rcd"),
    );
    let (c, _) = code(run(&bare, &facts(), NOW, &fetcher("sti-sp-1001")));
    assert_eq!(c, 438);
}

#[test]
fn party_from_uri_extracts_numbers() {
    assert_eq!(
        Party::from_uri("<tel:+1-215-555-1001;phone-context=x>"),
        Party::Tn("+1-215-555-1001".into())
    );
    assert_eq!(
        Party::from_uri("sip:+12025551000@h;user=phone"),
        Party::Tn("+12025551000".into())
    );
    assert_eq!(
        Party::from_uri("sip:alice@example.com"),
        Party::Uri("sip:alice@example.com".into())
    );
}

#[test]
fn report_lists_every_check_in_order() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (anchors, policy, fetched, facts) = (anchors(), Policy::default(), Fetched::new(), facts());
    let fetcher = fetcher("sti-sp-1001");
    let ctx = verify::Context {
        facts: &facts,
        now: NOW,
        fetcher: &fetcher,
        anchors: &anchors,
        policy: &policy,
        fetched: &fetched,
    };
    let report = rt.block_on(verify::verify_report(
        &identity(&shaken(), &sp_key("sti-sp-1001")),
        &ctx,
    ));
    assert!(report.outcome.is_ok());
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "alg parameter",
            "PASSporT decodes",
            "alg is ES256",
            "typ is passport",
            "ppt known and matches the header parameter",
            "required claims present",
            "info parameter names the x5u",
            "iat fresh",
            "iat fresh against Date",
            "orig matches the caller",
            "dest matches the callee",
            "x5u certificate obtained",
            "certificate chain, validity, keyUsage and TNAuthList",
            "certificate not revoked (CRL)",
            "TNAuthList covers orig",
            "ES256 signature",
        ]
    );
    assert!(report.checks.iter().all(|c| c.passed));
    // A failure stops at the failed check, which says what it maps to.
    let report = rt.block_on(verify::verify_report(
        &identity(&shaken(), &sp_key("sti-sp-1002")),
        &ctx,
    ));
    let last = report.checks.last().unwrap();
    assert_eq!((last.name, last.passed), ("ES256 signature", false));
    assert!(
        last.detail.ends_with("438 Invalid Identity Header"),
        "{}",
        last.detail
    );
}

// ---- end-entity certificates other than SHAKEN's (a UE certificate, fixtures/pki/ue) -------------

fn ue_ca() -> TrustAnchors {
    TrustAnchors::from_pem(read("pki/ue-ca.pem").as_bytes()).unwrap()
}

#[test]
fn ue_certificate_chains_to_the_ue_ca_and_names_its_identities() {
    let ee = cert::validate_end_entity(read("pki/ue/ue-a.pem").as_bytes(), &ue_ca(), NOW).unwrap();
    assert_eq!(
        ee.uris,
        [
            "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org",
            "tel:+12025551000"
        ]
    );
    assert!(ee.names("tel:+12025551000"));
    assert!(!ee.names("tel:+12025551999"));
    assert_eq!(ee.path, ["CN=UE-A", "O=Testbed, CN=Testbed UE CA"]);
    let key = read("pki/ue/ue-a.key.pem");
    let key = SigningKey::from_pkcs8_pem(&key).unwrap();
    assert_eq!(ee.key, *key.verifying_key());
}

#[test]
fn end_entity_from_another_ca_or_out_of_validity_is_refused() {
    let ue = read("pki/ue/ue-a.pem");
    // Another CA as the anchor, and a TLS certificate against the UE CA.
    let e = cert::validate_end_entity(ue.as_bytes(), &anchors(), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UntrustedCertificate {
                fault: ChainFault::NoIssuer { .. }
            }
        ),
        "{e}"
    );
    let tls = read("pki/tls/authz.enterprise.example.pem");
    let e = cert::validate_end_entity(tls.as_bytes(), &ue_ca(), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UntrustedCertificate {
                fault: ChainFault::NoIssuer { .. }
            }
        ),
        "{e}"
    );
    // Valid 2025–2045 only.
    let e = cert::validate_end_entity(ue.as_bytes(), &ue_ca(), 100).unwrap_err();
    assert!(matches!(e, Error::CertificateNotValid { .. }), "{e}");
    let e = cert::validate_end_entity(b"garbage", &ue_ca(), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UntrustedCertificate {
                fault: ChainFault::Empty
            }
        ),
        "{e}"
    );
}

#[test]
fn end_entity_needs_no_tn_auth_list() {
    // validate_chain refuses this SHAKEN certificate; as a plain end-entity it chains fine.
    let pem = read("pki/sti-sp-notnauth.chain.pem");
    assert!(matches!(
        cert::validate_chain(pem.as_bytes(), &anchors(), NOW),
        Err(Error::NoTnAuthList { .. })
    ));
    let ee = cert::validate_end_entity(pem.as_bytes(), &anchors(), NOW).unwrap();
    assert_eq!(ee.path.len(), 3, "{:?}", ee.path);
}
