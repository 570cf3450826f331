//! PASSporT decoding and the STI-VS verification pipeline (stir::passport, stir::verify,
//! stir::cert) with the fixture PKI: the STI-CA anchor, the STI-SP chains at their x5u, the
//! STI-ICA CRL, at the scenario clock. The first byte picks what the rest is:
//!
//! - `0` (mod 4): an Identity header value, parsed and verified as received;
//! - `1`: `<identity params>\n<JOSE header JSON>\n<claims JSON>`, signed with the STI-SP 1001 key
//!   (so the pipeline runs past the signature: TNAuthList, rcdi, the avatar claim) and verified;
//! - `2`: a certificate chain (PEM) served at the x5u: chain, end-entity and revocation checks;
//! - `3`: raw bytes as a CRL for the fixture chain, and as a TNAuthList extension value.
//!
//! Properties: nothing panics; a decoded PASSporT's canonical form decodes to a PASSporT with
//! the same canonical form; a failed verification reports the failed check last; a passed one
//! has no failed check other than an rcdi digest (which never fails the token).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stir::cert::{self, TnEntry};
use stir::jose;
use stir::ms::{VerificationResponse, VerifyResult};
use stir::passport::{self, Passport};
use stir::rcd::Fetched;
use stir::verify::{self, Context, RCDI_CHECK, StaticFetcher};
use stir::{IdentityHeader, Party, Policy, SipFacts, TrustAnchors};
use testbed_fuzz::{CRL_URL, NOW, X5U, block_on, pki, signing_key};

const UE_A: &str = "+12025551000";
const UE_B: &str = "+12155551001";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                received(text);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                signed(text);
            }
        }
        2 => chain(rest),
        _ => crl_and_tn_auth_list(rest),
    }
});

fn anchors() -> TrustAnchors {
    match TrustAnchors::from_pem(pki::STI_CA.as_bytes()) {
        Ok(anchors) => anchors,
        Err(e) => panic!("fixture anchor: {e}"),
    }
}

fn fetcher() -> StaticFetcher {
    let mut fetcher = StaticFetcher::default();
    for (name, chain) in pki::SP_CHAINS {
        fetcher.chains.insert(
            format!("https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/{name}.pem"),
            chain.as_bytes().to_vec(),
        );
    }
    fetcher
        .crls
        .insert(CRL_URL.into(), pki::STI_ICA_CRL.as_bytes().to_vec());
    fetcher
}

/// An Identity header value as the STI-VS receives it.
fn received(value: &str) {
    for identity in IdentityHeader::parse_list(value).unwrap_or_default() {
        verify_one(&identity);
    }
}

/// `<params>\n<header>\n<claims>`: signed with the fixture key, then verified.
fn signed(text: &str) {
    let mut parts = text.splitn(3, '\n');
    let (Some(params), Some(header), Some(claims)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let key = signing_key(pki::SP_1001_KEY);
    let token = jose::sign_es256(&key, header.as_bytes(), claims.as_bytes());
    if let Ok(identity) = IdentityHeader::parse(&format!("{token}{params}")) {
        verify_one(&identity);
    }
}

fn verify_one(identity: &IdentityHeader) {
    if let Ok(decoded) = passport::decode(&identity.jws) {
        canonical_round_trip(&decoded.passport);
        let _ = decoded.passport.ppt();
    }
    let facts = SipFacts {
        orig: Some(Party::from_uri(&format!(
            "sip:{UE_A}@ims.mnc001.mcc001.3gppnetwork.org;user=phone"
        ))),
        dest: Some(Party::from_uri(&format!("tel:{UE_B}"))),
        date: Some(NOW),
    };
    let mut fetched = Fetched::new();
    fetched.insert(
        "https://id.enterprise.example/jcards/q-branch.json".into(),
        br#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch Spy Gadgets"]]]"#
            .to_vec(),
    );
    let (fetcher, anchors, policy) = (fetcher(), anchors(), Policy::default());
    let ctx = Context {
        facts: &facts,
        now: NOW,
        fetcher: &fetcher,
        anchors: &anchors,
        policy: &policy,
        fetched: &fetched,
    };
    let report = block_on(verify::verify_report(identity, &ctx));
    match &report.outcome {
        Ok(verified) => {
            let failed: Vec<_> = report
                .checks
                .iter()
                .filter(|c| !c.passed && c.name != RCDI_CHECK)
                .collect();
            assert!(failed.is_empty(), "verified with failed checks: {failed:?}");
            let _ = verified.rcd.as_ref().map(verify::RcdOutcome::intact);
        }
        Err(error) => {
            let last = report.checks.last();
            assert!(
                last.is_some_and(|c| !c.passed),
                "failed ({error}) but the last check passed: {last:?}"
            );
            let _ = (error.sip_answer(), error.verstat());
        }
    }
    let ppt = identity.ppt.as_deref().unwrap_or("shaken");
    let result = VerifyResult::from_outcome(ppt, &identity.jws, &report.outcome);
    let _ = result.avatar();
    let response = VerificationResponse::new(vec![result], Some(&report.outcome));
    let _ = response.avatar();
    let _ = serde_json::to_vec(&response);
    // The same token at another x5u and without revocation data.
    let _ = block_on(verify::verify(
        identity,
        &SipFacts::default(),
        NOW,
        &StaticFetcher {
            fallback: Some(pki::SP_1001_CHAIN.as_bytes().to_vec()),
            ..StaticFetcher::default()
        },
        &anchors,
        &Policy {
            revocation: verify::Revocation::Off,
            ..Policy::default()
        },
        &fetched,
    ));
}

/// A decoded PASSporT's canonical form decodes to a PASSporT with the same canonical form (what
/// the STI-AS signs is stable). Compared as bytes: RFC 8785 writes `1.0` as `1`, which reads back
/// as an integer, a different `serde_json::Value` for the same JSON number
/// (regressions/passport/float-integral-claim.txt).
fn canonical_round_trip(passport: &Passport) {
    let Ok((header, claims)) = passport.canonical() else {
        return;
    };
    let token = format!("{}.{}.AA", jose::b64u(&header), jose::b64u(&claims));
    let again = match passport::decode(&token) {
        Ok(again) => again.passport.canonical(),
        Err(e) => panic!(
            "the canonical form of a decoded PASSporT does not decode ({e}): {:?} . {:?}",
            String::from_utf8_lossy(&header),
            String::from_utf8_lossy(&claims)
        ),
    };
    let again = again.ok().map(|(h, c)| {
        (
            String::from_utf8_lossy(&h).into_owned(),
            String::from_utf8_lossy(&c).into_owned(),
        )
    });
    let first = (
        String::from_utf8_lossy(&header).into_owned(),
        String::from_utf8_lossy(&claims).into_owned(),
    );
    assert_eq!(again, Some(first), "canonical form not stable");
}

/// A chain served at the x5u.
fn chain(pem: &[u8]) {
    let anchors = anchors();
    let _ = cert::pem_certificates(pem);
    if let Ok((_, info)) = cert::validate_chain(pem, &anchors, NOW) {
        let _ = cert::authorises(&info.tn_auth_list, Some("12025551000"));
        let _ = cert::check_revocation(pem, &anchors, pki::STI_ICA_CRL.as_bytes(), CRL_URL, NOW);
    }
    let _ = cert::validate_chain_cached(X5U, pem, &anchors, NOW);
    let _ = cert::validate_end_entity(pem, &anchors, NOW);
    let _ = cert::check_revocation(pem, &anchors, pki::STI_ICA_CRL.as_bytes(), CRL_URL, NOW);
}

/// Bytes as the CRL of the fixture chain's issuer, and as a TNAuthList.
fn crl_and_tn_auth_list(bytes: &[u8]) {
    let anchors = anchors();
    let _ = cert::crl_der(bytes);
    let _ = cert::check_revocation(pki::SP_1001_CHAIN.as_bytes(), &anchors, bytes, CRL_URL, NOW);
    let _ =
        cert::check_revocation_cached(pki::SP_1001_CHAIN.as_bytes(), &anchors, bytes, CRL_URL, NOW);
    if let Some(entries) = cert::parse_tn_auth_list(bytes) {
        for tn in ["12025551000", "12155551001", "1"] {
            let _ = cert::authorises(&entries, Some(tn));
        }
        let _ = cert::authorises(&entries, None);
        let _: Vec<String> = entries.iter().map(TnEntry::to_string).collect();
    }
}
