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

// ---- the validated-chain and CRL caches ------------------------------------------------------

/// The verifier reuses a validated chain and CRL check only where a full check would say the
/// same: same x5u and bytes, inside every certificate's validity and the CRL's update window;
/// failures are never cached.
#[test]
fn cached_chains_answer_as_a_full_validation_would() {
    let anchors = anchors();
    let good = read("pki/sti-sp-1001.chain.pem").into_bytes();
    let uncached = cert::validate_chain(&good, &anchors, NOW).unwrap();
    let first = cert::validate_chain_cached(X5U, &good, &anchors, NOW).unwrap();
    assert_eq!(anchors.cached(), (1, 0));
    let again = cert::validate_chain_cached(X5U, &good, &anchors, NOW + 60).unwrap();
    assert_eq!(
        (first.1.clone(), again.1.clone()),
        (uncached.1.clone(), uncached.1.clone())
    );
    assert_eq!((first.0, again.0), (uncached.0, uncached.0));
    assert_eq!(anchors.cached(), (1, 0), "the second call was a hit");
    // Outside the end-entity's validity the cached entry is not used: the full check answers.
    let late = uncached.1.not_after + 1;
    let cached_late = cert::validate_chain_cached(X5U, &good, &anchors, late).unwrap_err();
    let full_late = cert::validate_chain(&good, &anchors, late).unwrap_err();
    assert_eq!(cached_late.to_string(), full_late.to_string());
    assert!(
        matches!(cached_late, Error::CertificateNotValid { .. }),
        "{cached_late}"
    );
    // Other bytes at the same x5u are validated afresh (and a failure is not kept).
    let rogue = read("pki/sti-sp-rogue.chain.pem").into_bytes();
    let e = cert::validate_chain_cached(X5U, &rogue, &anchors, NOW).unwrap_err();
    assert!(matches!(e, Error::UntrustedCertificate { .. }), "{e}");
    assert_eq!(anchors.cached(), (1, 0));
    // The same bytes under another x5u are another entry.
    cert::validate_chain_cached("https://other.example/c.pem", &good, &anchors, NOW).unwrap();
    assert_eq!(anchors.cached(), (2, 0));
    // Anchors added empty the cache: what was judged without them is judged again.
    let mut more = anchors.clone();
    more.extend(TrustAnchors::from_pem(read("pki/rogue-ca.pem").as_bytes()).unwrap());
    assert_eq!(more.cached(), (0, 0));
}

#[test]
fn cached_crl_checks_keep_only_not_revoked_inside_the_crl_window() {
    let anchors = anchors();
    let crl = read("pki/sti-ica.crl.pem").into_bytes();
    let good = read("pki/sti-sp-1001.chain.pem").into_bytes();
    cert::check_revocation_cached(&good, &anchors, &crl, CRL_URL, NOW).unwrap();
    cert::check_revocation_cached(&good, &anchors, &crl, CRL_URL, NOW + 1).unwrap();
    assert_eq!(anchors.cached(), (0, 1));
    // A revoked certificate is answered in full every time, and never kept.
    let revoked = read("pki/sti-sp-revoked.chain.pem").into_bytes();
    for _ in 0..2 {
        let e = cert::check_revocation_cached(&revoked, &anchors, &crl, CRL_URL, NOW).unwrap_err();
        assert!(matches!(e, Error::Revoked { .. }), "{e}");
    }
    assert_eq!(anchors.cached(), (0, 1));
    // Long after the CRL's nextUpdate the cached "not revoked" is not used.
    let later = 2_400_000_000; // 2046, past the fixture CRL's nextUpdate (2045)
    let cached = cert::check_revocation_cached(&good, &anchors, &crl, CRL_URL, later).unwrap_err();
    let full = cert::check_revocation(&good, &anchors, &crl, CRL_URL, later).unwrap_err();
    assert_eq!(cached.to_string(), full.to_string());
}

/// A whole verification reuses both caches across calls and gives the same result each time.
#[test]
fn repeated_verifications_hit_the_caches_and_agree() {
    let anchors = anchors();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let f = fetcher("sti-sp-1001");
    let id = signed_by("sti-sp-1001");
    let once = || {
        rt.block_on(verify::verify(
            &id,
            &facts(),
            NOW,
            &f,
            &anchors,
            &Policy::default(),
            &Fetched::new(),
        ))
    };
    let (a, b) = (once().unwrap(), once().unwrap());
    assert_eq!(a.cert, b.cert);
    assert_eq!(anchors.cached(), (1, 1));
}
