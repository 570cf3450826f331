//! The committed fixtures (`fixtures/` at the workspace root): PKI and world description.
//! The directory is the one this crate was built from, unless `TESTBED_FIXTURES` names another.

use std::path::PathBuf;

use crate::Error;

/// Root of the fixtures directory.
pub fn dir() -> PathBuf {
    std::env::var_os("TESTBED_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"))
}

/// Reads a fixture file by its path under the fixtures directory.
pub fn read(relative: &str) -> Result<Vec<u8>, Error> {
    let path = dir().join(relative);
    std::fs::read(&path).map_err(|e| Error::Fixture {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// The STIR/SHAKEN trust anchor: the STI-CA root certificate (PEM).
pub const STI_CA: &str = "pki/sti-ca.pem";
/// The CA that issued every TLS certificate of the world (PEM).
pub const TLS_CA: &str = "pki/tls-ca.pem";

/// TLS chain and key of a network function, by hostname.
pub fn tls_identity(host: &str) -> Result<crate::tls::Identity, Error> {
    crate::tls::Identity::from_pem(
        &read(&format!("pki/tls/{host}.chain.pem"))?,
        &read(&format!("pki/tls/{host}.key.pem"))?,
    )
}
