//! The certificate rules of ATIS-1000080 and RFC 8226 on the negative fixtures: a TNAuthList
//! must cover `orig` (`sti-sp-wrongtn`), the end-entity key must be for digitalSignature, and
//! the certificate must not be revoked in its issuer's CRL (`sti-sp-revoked`, `sti-ica.crl.pem`),
//! which must itself be the issuer's, correctly signed and current.

use super::*;

fn run_policy(
    identity: &IdentityHeader,
    facts: &SipFacts,
    fetcher: &StaticFetcher,
    policy: &Policy,
) -> Result<Verified, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(verify::verify(
        identity,
        facts,
        NOW,
        fetcher,
        &anchors(),
        policy,
        &Fetched::new(),
    ))
}

fn signed_by(cert: &str) -> IdentityHeader {
    identity(&shaken(), &sp_key(cert))
}

#[test]
fn the_good_certificate_names_its_crl_and_is_not_revoked() {
    let v = run(
        &signed_by("sti-sp-1001"),
        &facts(),
        NOW,
        &fetcher("sti-sp-1001"),
    )
    .unwrap();
    assert_eq!(v.cert.crl_urls, [CRL_URL]);
    assert!(!v.cert.serial.is_empty());
}

#[test]
fn revoked_certificate_is_438() {
    let (c, e) = code(run(
        &signed_by("sti-sp-revoked"),
        &facts(),
        NOW,
        &fetcher("sti-sp-revoked"),
    ));
    assert_eq!(c, 438, "{e}");
    assert!(matches!(e, Error::Revoked { .. }), "{e}");
    // Only when the CRL is looked at: a verifier told not to check accepts it.
    let off = Policy {
        revocation: Revocation::Off,
        ..Policy::default()
    };
    let v = run_policy(
        &signed_by("sti-sp-revoked"),
        &facts(),
        &fetcher("sti-sp-revoked"),
        &off,
    );
    assert!(v.is_ok(), "{v:?}");
}

#[test]
fn a_crl_that_cannot_decide_is_437() {
    let id = signed_by("sti-sp-1001");
    let mut none = fetcher("sti-sp-1001");
    none.crls.clear();
    let (c, e) = code(run(&id, &facts(), NOW, &none));
    assert_eq!(c, 437, "{e}");
    assert!(
        matches!(e, Error::CrlUnavailable { ref url, .. } if url == CRL_URL),
        "{e}"
    );

    let mut garbage = fetcher("sti-sp-1001");
    garbage.crls.insert(CRL_URL.into(), b"not a CRL".to_vec());
    let (c, e) = code(run(&id, &facts(), NOW, &garbage));
    assert_eq!(c, 437, "{e}");
    assert!(
        matches!(
            e,
            Error::BadCrl {
                fault: CrlFault::Unparsable,
                ..
            }
        ),
        "{e}"
    );

    // The CRL with a byte of its signature changed: the issuer did not sign that.
    let mut der = crl_der();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let mut forged = fetcher("sti-sp-1001");
    forged.crls.insert(CRL_URL.into(), der);
    let (c, e) = code(run(&id, &facts(), NOW, &forged));
    assert_eq!(c, 437, "{e}");
    assert!(
        matches!(
            e,
            Error::BadCrl {
                fault: CrlFault::BadSignature,
                ..
            }
        ),
        "{e}"
    );
}

/// The DER of the fixture CRL.
fn crl_der() -> Vec<u8> {
    let pem = read("pki/sti-ica.crl.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

#[test]
fn the_crl_must_be_the_issuers_and_current() {
    let crl = read("pki/sti-ica.crl.pem");
    // The DER form is read as well as the PEM one.
    let good = read("pki/sti-sp-1001.chain.pem");
    cert::check_revocation(good.as_bytes(), &anchors(), &crl_der(), CRL_URL, NOW).unwrap();
    // Past its nextUpdate (2045) the CRL says nothing any more.
    let e = cert::check_revocation(
        good.as_bytes(),
        &anchors(),
        crl.as_bytes(),
        CRL_URL,
        2_400_000_000,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::BadCrl {
                fault: CrlFault::NotCurrent { .. },
                ..
            }
        ),
        "{e}"
    );
    // The STI-ICA's CRL says nothing about a certificate the Rogue CA issued.
    let rogue = read("pki/sti-sp-rogue.chain.pem");
    let e = cert::check_revocation(rogue.as_bytes(), &anchors(), crl.as_bytes(), CRL_URL, NOW)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::BadCrl {
                fault: CrlFault::WrongIssuer { .. },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn tn_range_not_covering_orig_is_438() {
    let (c, e) = code(run(
        &signed_by("sti-sp-wrongtn"),
        &facts(),
        NOW,
        &fetcher("sti-sp-wrongtn"),
    ));
    assert_eq!(c, 438, "{e}");
    assert!(matches!(e, Error::TnNotAuthorised { .. }), "{e}");

    // A number inside its range (12025559000 +100) it may sign for.
    let mut p = shaken();
    p.claims.orig = Orig::tn("+12025559042");
    let id = identity(&p, &sp_key("sti-sp-wrongtn"));
    let mut f = facts();
    f.orig = Some(Party::Tn("+12025559042".into()));
    let v = run(&id, &f, NOW, &fetcher("sti-sp-wrongtn")).unwrap();
    assert_eq!(v.cert.spcs().count(), 0, "no SPC in its TNAuthList");
}

#[test]
fn spc_only_certificate_covers_any_orig() {
    // ATIS-1000080: an SPC authorises the provider's numbers, which the verifier cannot list.
    let mut p = shaken();
    p.claims.orig = Orig::tn("+19995550000");
    let id = identity(&p, &sp_key("sti-sp-1001"));
    let mut f = facts();
    f.orig = Some(Party::Tn("+19995550000".into()));
    assert!(run(&id, &f, NOW, &fetcher("sti-sp-1001")).is_ok());
}

#[test]
fn a_key_not_for_digital_signature_is_437() {
    // The STI-ICA's own certificate (keyCertSign and cRLSign only) as the signer's.
    let chain = format!("{}{}", read("pki/sti-ica.pem"), read("pki/sti-ca.pem"));
    let mut f = StaticFetcher::default();
    f.chains.insert(X5U.into(), chain.into_bytes());
    let (c, e) = code(run(&signed_by("sti-ica"), &facts(), NOW, &f));
    assert_eq!(c, 437, "{e}");
    assert!(matches!(e, Error::KeyUsage { .. }), "{e}");
}
