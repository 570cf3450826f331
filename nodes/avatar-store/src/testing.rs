//! Test helpers: the committed fixtures, read from the workspace's `fixtures/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use p256::ecdsa::SigningKey;

use crate::owners::{OwnerKeys, Owners};

/// The scenario clock (2 March 2026, 09:00 UTC).
pub(crate) const NOW: i64 = 1_772_442_000;
/// UE-A's IMPU (owner of `qbranch-agent` and `qbranch-cat`).
pub(crate) const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
/// A call's Call-ID.
pub(crate) const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
/// The XR AS of the originating operator.
pub(crate) const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";

/// A fixture file's text, by its path under `fixtures/`.
pub(crate) fn read(relative: &str) -> String {
    let path = kit::fixtures::dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A UE's signing key (`fixtures/pki/ue/<ue>.key.pem`).
pub(crate) fn ue_key(ue: &str) -> SigningKey {
    avatar::keys::signing_key_pem(&read(&format!("pki/ue/{ue}.key.pem"))).unwrap()
}

/// The committed owners, checked at [`NOW`].
pub(crate) fn keys() -> OwnerKeys {
    Owners::from_fixtures().unwrap().check(NOW)
}

/// The committed owners, but with the certificate of UE `x` replaced by that of `swap(x)`.
pub(crate) fn owners(swap: impl Fn(&str) -> Option<&'static str>) -> Owners {
    let fixtures = Owners::from_fixtures().unwrap();
    let catalogue = fixtures.catalogue().clone();
    let certificates: BTreeMap<String, String> = catalogue
        .all()
        .map(|a| {
            let ue = swap(&a.owner_ue).unwrap_or(&a.owner_ue);
            (a.owner_ue.clone(), read(&format!("pki/ue/{ue}.pem")))
        })
        .collect();
    Owners::new(catalogue, certificates, read("pki/ue-ca.pem"))
}
