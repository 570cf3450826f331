//! Test helpers: the committed fixtures, read from the workspace's `fixtures/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use p256::ecdsa::SigningKey;

/// The workspace's `fixtures/`.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A fixture file's text, by its path under `fixtures/`.
pub(crate) fn read(relative: &str) -> String {
    let path = fixtures().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A UE's signing key (`fixtures/pki/ue/<ue>.key.pem`).
pub(crate) fn fixture_key(ue: &str) -> SigningKey {
    crate::keys::signing_key_pem(&read(&format!("pki/ue/{ue}.key.pem"))).unwrap()
}
