//! Every UE certificate of the world (`fixtures/pki/ue/*.pem`), checked once at start to chain to
//! the UE CA, and looked up by the identity a UE claims: the AOS of solution #8 finds the
//! certificate whose subject alternative names hold a fetch proof's `sub` and verifies the proof
//! with its key. Unlike [`Owners`](crate::Owners), which holds the certificates of the avatars'
//! owners by UE id, any UE of the world may fetch an object, so every certificate is read.

use std::collections::BTreeMap;
use std::path::Path;

use avatar::FixtureFault;
use p256::ecdsa::VerifyingKey;

use crate::Refusal;

/// The UE certificates and the UE CA, as read (not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// UE id (`ue-a`) → its UE certificate (PEM).
    certificates: BTreeMap<String, String>,
    /// The UE CA's certificate (PEM).
    ue_ca: String,
}

impl Directory {
    /// The committed fixtures (`kit::fixtures::dir()`).
    pub fn from_fixtures() -> Result<Self, avatar::Error> {
        Self::from_dir(&kit::fixtures::dir())
    }

    /// The fixtures under `fixtures`: every `pki/ue/<ue>.pem` (not the `.key.pem` files) and
    /// `pki/ue-ca.pem`.
    pub fn from_dir(fixtures: &Path) -> Result<Self, avatar::Error> {
        let fault = |path: &Path, e: std::io::Error| avatar::Error::Fixture {
            path: path.display().to_string(),
            fault: FixtureFault::Read(e.to_string()),
        };
        let dir = fixtures.join("pki/ue");
        let mut certificates = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| fault(&dir, e))? {
            let path = entry.map_err(|e| fault(&dir, e))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(ue) = name.strip_suffix(".pem") else {
                continue;
            };
            if ue.ends_with(".key") || ue.ends_with(".chain") {
                continue;
            }
            let pem = std::fs::read_to_string(&path).map_err(|e| fault(&path, e))?;
            certificates.insert(ue.to_owned(), pem);
        }
        let ca = fixtures.join("pki/ue-ca.pem");
        let ue_ca = std::fs::read_to_string(&ca).map_err(|e| fault(&ca, e))?;
        Ok(Self::new(certificates, ue_ca))
    }

    /// A directory from parts: each UE's certificate (PEM) by UE id, and the UE CA (PEM).
    pub fn new(certificates: BTreeMap<String, String>, ue_ca: String) -> Self {
        Self {
            certificates,
            ue_ca,
        }
    }

    /// Checks every certificate at `now` (chain to the UE CA, validity, a P-256 key,
    /// `avatar::keys`). A certificate that fails names no one: it is set aside with its error.
    pub fn check(&self, now: i64) -> UeKeys {
        let mut keys = Vec::new();
        let mut rejected = BTreeMap::new();
        for (ue, pem) in &self.certificates {
            match avatar::keys::ue_certificate_key(pem, &self.ue_ca, now) {
                Ok((key, uris)) => keys.push(UeKey {
                    ue: ue.clone(),
                    key,
                    uris,
                }),
                Err(e) => {
                    rejected.insert(ue.clone(), e);
                }
            }
        }
        UeKeys { keys, rejected }
    }
}

/// A UE's verifying key and the URIs its certificate names (IMPU, tel URI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeKey {
    /// The UE id (`ue-b`), for the reader.
    pub ue: String,
    /// The certificate's key.
    pub key: VerifyingKey,
    /// The URIs of its subject alternative names.
    pub uris: Vec<String>,
}

/// The UE certificates that passed their checks ([`Directory::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeKeys {
    keys: Vec<UeKey>,
    rejected: BTreeMap<String, avatar::Error>,
}

impl UeKeys {
    /// The UE whose certificate names `sub` (exactly, as a SAN URI). Refused: no usable
    /// certificate names it ([`Refusal::UnknownUe`], CertificateInvalid).
    pub fn naming(&self, sub: &str) -> Result<&UeKey, Refusal> {
        self.keys
            .iter()
            .find(|k| k.uris.iter().any(|u| u == sub))
            .ok_or_else(|| Refusal::UnknownUe {
                sub: sub.to_owned(),
            })
    }

    /// The certificates set aside at the check, with why (UE id → error).
    pub fn rejected(&self) -> &BTreeMap<String, avatar::Error> {
        &self.rejected
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{NOW, UE_A, ue_key};
    use proto::trace::Reason;

    #[test]
    fn every_world_ue_is_found_by_its_impu_and_tel_uri() {
        let keys = Directory::from_fixtures().unwrap().check(NOW);
        assert!(keys.rejected().is_empty(), "{:?}", keys.rejected());
        for ue in ["ue-a", "ue-b", "ue-m", "ue-x", "ue-pbx"] {
            let key = ue_key(ue);
            let found = keys.keys.iter().find(|k| k.ue == ue).unwrap();
            assert_eq!(found.key, *key.verifying_key(), "{ue}");
            for uri in &found.uris {
                assert_eq!(keys.naming(uri).unwrap().ue, ue, "{uri}");
            }
        }
        assert_eq!(keys.naming(UE_A).unwrap().ue, "ue-a");
        assert_eq!(keys.naming("tel:+12025551000").unwrap().ue, "ue-a");
    }

    #[test]
    fn an_unknown_identity_or_an_unusable_certificate_names_no_one() {
        let keys = Directory::from_fixtures().unwrap().check(NOW);
        let e = keys.naming("sip:+19995550000@example.org").unwrap_err();
        assert_eq!((e.reason(), e.status()), (Reason::CertificateInvalid, 403));
        // Expired at the time of the check: set aside.
        let keys = Directory::from_fixtures().unwrap().check(100);
        assert_eq!(keys.rejected().len(), 5);
        assert!(keys.naming(UE_A).is_err());
    }

    #[test]
    fn missing_fixtures_are_reported() {
        let e = Directory::from_dir(Path::new("/nonexistent")).unwrap_err();
        assert!(matches!(e, avatar::Error::Fixture { .. }), "{e}");
    }
}
