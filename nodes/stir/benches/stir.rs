//! Criterion micro-benchmarks of the STIR hot paths: ES256 signing (p256, RFC 6979) and
//! verification (ring behind `es256::verify`, and the p256 reference), the whole PASSporT
//! verification of an STI-VS with the certificate chain and CRL from its caches, the chain
//! validation itself without the cache, `rcdi` over an embedded jCard, and Identity header
//! parsing. `cargo bench -p stir`; the numbers are in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::Value;
use stir::es256::{self, Encoding};
use stir::rcd::{self, Fetched};
use stir::verify::{self, StaticFetcher};
use stir::*;

/// The scenario clock of fixtures/world.toml: 2026-03-02T09:00:00Z.
const NOW: i64 = 1_772_442_000;
const X5U: &str = "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/sti-sp-1001.pem";
const CRL_URL: &str = "https://certs.sti.example/crl/sti-ica.crl";
const UE_A: &str = "+12025551000";
const UE_B: &str = "+12155551001";

fn read(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn key() -> SigningKey {
    SigningKey::from_pkcs8_pem(&read("pki/sti-sp-1001.key.pem")).unwrap()
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

fn es256_benches(c: &mut Criterion) {
    let key = key();
    let token = shaken().sign(&key).unwrap();
    let jws = jose::CompactJws::split(&token).unwrap();
    let input = jws.signing_input();
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    let raw = signature.to_bytes().to_vec();
    let sec1 = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
    c.bench_function("es256 sign (p256, RFC 6979)", |b| {
        b.iter(|| {
            let s: p256::ecdsa::Signature = key.sign(black_box(input.as_bytes()));
            black_box(s)
        })
    });
    c.bench_function("es256 verify (ring, es256::verify)", |b| {
        b.iter(|| es256::verify(black_box(&sec1), input.as_bytes(), &raw, Encoding::Fixed))
    });
    c.bench_function("es256 verify (p256 reference)", |b| {
        b.iter(|| es256::verify_p256(black_box(&sec1), input.as_bytes(), &raw, Encoding::Fixed))
    });
}

fn verify_benches(c: &mut Criterion) {
    let key = key();
    let identity = IdentityHeader::new(shaken().sign(&key).unwrap(), X5U, "shaken");
    let mut fetcher = StaticFetcher::default();
    fetcher
        .chains
        .insert(X5U.into(), read("pki/sti-sp-1001.chain.pem").into_bytes());
    fetcher
        .crls
        .insert(CRL_URL.into(), read("pki/sti-ica.crl.pem").into_bytes());
    let anchors = TrustAnchors::from_pem(read("pki/sti-ca.pem").as_bytes()).unwrap();
    let facts = SipFacts {
        orig: Some(Party::from_uri(&format!(
            "sip:{UE_A}@ims.mnc001.mcc001.3gppnetwork.org;user=phone"
        ))),
        dest: Some(Party::from_uri(&format!("tel:{UE_B}"))),
        date: Some(NOW),
    };
    let policy = Policy::default();
    let fetched = Fetched::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let once = || {
        rt.block_on(verify::verify(
            &identity, &facts, NOW, &fetcher, &anchors, &policy, &fetched,
        ))
    };
    once().expect("the fixture PASSporT verifies");
    c.bench_function(
        "passport verify (parse, claims, cached chain and CRL, signature)",
        |b| b.iter(|| black_box(once().is_ok())),
    );
    let chain = read("pki/sti-sp-1001.chain.pem").into_bytes();
    c.bench_function("certificate chain validation (uncached)", |b| {
        b.iter(|| black_box(cert::validate_chain(&chain, &anchors, NOW).is_ok()))
    });
    c.bench_function("identity header parse", |b| {
        let header = identity.to_header();
        b.iter(|| black_box(IdentityHeader::parse(black_box(&header)).is_ok()))
    });
}

fn rcdi_benches(c: &mut Criterion) {
    let jcd: Value = serde_json::from_str(
        r#"["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Alice Liddell"],
            ["org", {}, "text", "Wonderland Ltd"], ["tel", {"type": ["work", "voice"]}, "uri",
            "tel:+1-202-555-1000"], ["email", {}, "text", "alice@example.com"]]]"#,
    )
    .unwrap();
    let rcd = Rcd {
        nam: Some("Alice Liddell".into()),
        jcd: Some(jcd),
        ..Rcd::default()
    };
    let fetched = Fetched::new();
    let rcdi = rcd::compute_rcdi(&rcd, &fetched, DigestAlg::Sha256).unwrap();
    c.bench_function("rcdi compute (nam + embedded jCard, JCS + SHA-256)", |b| {
        b.iter(|| {
            black_box(rcd::compute_rcdi(
                black_box(&rcd),
                &fetched,
                DigestAlg::Sha256,
            ))
        })
    });
    c.bench_function("rcdi check", |b| {
        b.iter(|| black_box(rcd::check_rcdi(black_box(&rcd), &rcdi, &fetched)))
    });
}

criterion_group!(benches, es256_benches, verify_benches, rcdi_benches);
criterion_main!(benches);
