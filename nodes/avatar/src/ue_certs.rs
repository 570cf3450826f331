//! Every UE certificate of the world (`fixtures/pki/ue/<ue>.pem`), checked once against the UE
//! CA (`fixtures/pki/ue-ca.pem`) and found by the identity a UE claims: the NEF of solution #7
//! looks up the certificate of the IMPU a signed Avatar-id names to validate the UE token with
//! (§6.7.2.1 step 7), keeping its DER so the fingerprint SIP carried can be compared.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Error, FixtureFault, cert, keys};

/// A UE certificate that chains to the UE CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeCert {
    /// The UE id (`ue-a`), for the reader.
    pub ue: String,
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// The URIs its subject alternative names hold (IMPU, tel URI).
    pub uris: Vec<String>,
}

/// The UE certificates that passed their checks, and those set aside with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UeCerts {
    certs: Vec<UeCert>,
    rejected: BTreeMap<String, Error>,
}

impl UeCerts {
    /// Reads every `pki/ue/<ue>.pem` under `fixtures` (not the `.key.pem` or `.chain.pem`
    /// files) and checks each against `pki/ue-ca.pem` at `now`; a certificate that fails names
    /// no one (it is set aside with its error).
    pub fn load(fixtures: &Path, now: i64) -> Result<Self, Error> {
        let fault = |path: &Path, e: std::io::Error| Error::Fixture {
            path: path.display().to_string(),
            fault: FixtureFault::Read(e.to_string()),
        };
        let ca = fixtures.join("pki/ue-ca.pem");
        let ue_ca = std::fs::read_to_string(&ca).map_err(|e| fault(&ca, e))?;
        let dir = fixtures.join("pki/ue");
        let mut pems = BTreeMap::new();
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
            pems.insert(ue.to_owned(), pem);
        }
        Ok(Self::check(&pems, &ue_ca, now))
    }

    /// Checks each UE's certificate (PEM, by UE id) against the UE CA at `now`.
    pub fn check(pems: &BTreeMap<String, String>, ue_ca: &str, now: i64) -> Self {
        let mut out = Self::default();
        for (ue, pem) in pems {
            let checked = keys::ue_certificate_key(pem, ue_ca, now)
                .and_then(|(_, uris)| Ok((cert::der_from_pem(pem)?, uris)));
            match checked {
                Ok((der, uris)) => out.certs.push(UeCert {
                    ue: ue.clone(),
                    der,
                    uris,
                }),
                Err(e) => {
                    out.rejected.insert(ue.clone(), e);
                }
            }
        }
        out
    }

    /// The certificate that names `identity` (exactly, as a SAN URI).
    pub fn naming(&self, identity: &str) -> Option<&UeCert> {
        self.certs
            .iter()
            .find(|c| c.uris.iter().any(|u| u == identity))
    }

    /// The certificates set aside at the check, with why (UE id → error).
    pub fn rejected(&self) -> &BTreeMap<String, Error> {
        &self.rejected
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{fixtures, read};

    const NOW: i64 = 1_772_442_000;

    #[test]
    fn every_world_ue_is_found_by_its_identities() {
        let certs = UeCerts::load(&fixtures(), NOW).unwrap();
        assert!(certs.rejected().is_empty(), "{:?}", certs.rejected());
        let a = certs
            .naming("sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org")
            .unwrap();
        assert_eq!(a.ue, "ue-a");
        assert_eq!(a.der, cert::der_from_pem(&read("pki/ue/ue-a.pem")).unwrap());
        assert_eq!(certs.naming("tel:+12025551000").unwrap().ue, "ue-a");
        assert!(certs.naming("sip:nobody@example.org").is_none());
    }

    #[test]
    fn expired_certificates_name_no_one_and_missing_fixtures_are_errors() {
        let certs = UeCerts::load(&fixtures(), 100).unwrap();
        assert_eq!(certs.rejected().len(), 5);
        assert!(certs.naming("tel:+12025551000").is_none());
        let e = UeCerts::load(Path::new("/nonexistent"), NOW).unwrap_err();
        assert!(matches!(e, Error::Fixture { .. }), "{e}");
    }
}
