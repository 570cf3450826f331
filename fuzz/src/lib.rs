//! Shared helpers of the fuzz targets: the fixture PKI (compiled in, so a target runs from any
//! directory), the scenario clock, and a poll-once executor for the STI-VS's `async` pipeline
//! (its static fetcher answers at once, so no runtime is needed).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;

/// The scenario clock of fixtures/world.toml: 2026-03-02T09:00:00Z (the fixture PASSporTs'
/// `iat`).
pub const NOW: i64 = 1_772_442_000;

/// The x5u of the STI-SP 1001 certificate, as the fixture PASSporTs name it.
pub const X5U: &str = "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/sti-sp-1001.pem";
/// The STI-ICA CRL distribution point of the fixture certificates.
pub const CRL_URL: &str = "https://certs.sti.example/crl/sti-ica.crl";

/// The fixture PKI files the targets use, by their path under `fixtures/pki/`.
pub mod pki {
    /// STI-CA root: the STIR trust anchor.
    pub const STI_CA: &str = include_str!("../../fixtures/pki/sti-ca.pem");
    /// The STI-ICA CRL.
    pub const STI_ICA_CRL: &str = include_str!("../../fixtures/pki/sti-ica.crl.pem");
    /// STI-SP 1001: chain and key (what the fixture PASSporTs are signed with).
    pub const SP_1001_CHAIN: &str = include_str!("../../fixtures/pki/sti-sp-1001.chain.pem");
    /// Its key.
    pub const SP_1001_KEY: &str = include_str!("../../fixtures/pki/sti-sp-1001.key.pem");
    /// The faulty STI-SP chains, served at their own x5u.
    pub const SP_CHAINS: [(&str, &str); 8] = [
        (
            "sti-sp-1001",
            include_str!("../../fixtures/pki/sti-sp-1001.chain.pem"),
        ),
        (
            "sti-sp-1002",
            include_str!("../../fixtures/pki/sti-sp-1002.chain.pem"),
        ),
        (
            "sti-sp-expired",
            include_str!("../../fixtures/pki/sti-sp-expired.chain.pem"),
        ),
        (
            "sti-sp-nosign",
            include_str!("../../fixtures/pki/sti-sp-nosign.chain.pem"),
        ),
        (
            "sti-sp-notnauth",
            include_str!("../../fixtures/pki/sti-sp-notnauth.chain.pem"),
        ),
        (
            "sti-sp-revoked",
            include_str!("../../fixtures/pki/sti-sp-revoked.chain.pem"),
        ),
        (
            "sti-sp-rogue",
            include_str!("../../fixtures/pki/sti-sp-rogue.chain.pem"),
        ),
        (
            "sti-sp-wrongtn",
            include_str!("../../fixtures/pki/sti-sp-wrongtn.chain.pem"),
        ),
    ];
    /// The UE CA.
    pub const UE_CA: &str = include_str!("../../fixtures/pki/ue-ca.pem");
    /// UE-A's certificate.
    pub const UE_A: &str = include_str!("../../fixtures/pki/ue/ue-a.pem");
    /// UE-A's key.
    pub const UE_A_KEY: &str = include_str!("../../fixtures/pki/ue/ue-a.key.pem");
    /// The NEF's TLS certificate (signs access tokens).
    pub const NEF: &str =
        include_str!("../../fixtures/pki/tls/nef.ims.mnc001.mcc001.3gppnetwork.org.pem");
    /// Its key.
    pub const NEF_KEY: &str =
        include_str!("../../fixtures/pki/tls/nef.ims.mnc001.mcc001.3gppnetwork.org.key.pem");
    /// The DAC's TLS certificate (signs avatar metadata).
    pub const DAC: &str = include_str!("../../fixtures/pki/tls/dac.avatars.example.pem");
    /// Its key.
    pub const DAC_KEY: &str = include_str!("../../fixtures/pki/tls/dac.avatars.example.key.pem");
    /// An XR AS TLS certificate (a client of the NEF and the DAC).
    pub const XR_AS: &str =
        include_str!("../../fixtures/pki/tls/xr-as.ims.mnc001.mcc001.3gppnetwork.org.pem");
    /// A DC AS TLS certificate (a client of the NEF's DC exposure API).
    pub const DC_AS: &str = include_str!("../../fixtures/pki/tls/dc-as.avatars.example.pem");
}

/// A PKCS#8 PEM signing key of the fixtures.
pub fn signing_key(pem: &str) -> SigningKey {
    match SigningKey::from_pkcs8_pem(pem) {
        Ok(key) => key,
        Err(e) => panic!("fixture key: {e}"),
    }
}

/// The DER of the first certificate of a fixture PEM.
pub fn der(pem: &str) -> Vec<u8> {
    match avatar::cert::der_from_pem(pem) {
        Ok(der) => der,
        Err(e) => panic!("fixture certificate: {e}"),
    }
}

/// Runs a future that never waits (every fetcher here answers at once) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("a future with a static fetcher did not complete");
}

/// The first byte as a mode selector and the rest as text; `None` for empty or non-UTF-8 input.
pub fn mode_and_text(data: &[u8]) -> Option<(u8, &str)> {
    let (&mode, rest) = data.split_first()?;
    Some((mode, std::str::from_utf8(rest).ok()?))
}
