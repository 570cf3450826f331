//! Library part of `pkigen`, the generator of the testbed's fixture PKI under `fixtures/pki/`:
//! the STIR/SHAKEN PKI (STI-CA root, STI-ICA, one STI-SP certificate with an RFC 8226
//! TNAuthList per operator, deliberately bad ones for negative tests, and the STI-ICA's CRL),
//! the TLS PKI (one server-and-client certificate per network function) and UE certificates,
//! all read from `fixtures/world.toml`. The binary (`cargo run -p pkigen`) loads what is on
//! disk ([`previous::Previous`], so keys and unchanged files are kept), calls
//! [`fixture::generate`] and [`fixture::write`]; the crate's tests check the committed files.
#![warn(missing_docs)]

use std::path::PathBuf;

pub mod fixture;
pub mod index;
pub mod issue;
pub mod previous;
pub mod tnauth;
pub mod world;

pub use fixture::{Fixture, generate, write};
pub use index::{Format, Index, IndexEntry, Kind, Negative};
pub use issue::{IssuedCert, IssuedCrl};
pub use previous::Previous;
pub use tnauth::{TN_AUTH_LIST_OID, TN_AUTH_LIST_OID_STR, tn_auth_list_range, tn_auth_list_spc};
pub use world::World;

/// `fixtures/world.toml` of this workspace, wherever the command runs from.
pub fn default_world_path() -> PathBuf {
    workspace_root().join("fixtures").join("world.toml")
}

/// `fixtures/pki` of this workspace, wherever the command runs from.
pub fn default_out_dir() -> PathBuf {
    workspace_root().join("fixtures").join("pki")
}

/// The workspace root: two levels above this crate (`tools/pkigen`).
fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}
