//! What both stores are configured with: the avatars of the world and, for each avatar's owner,
//! the owner's UE certificate (pre-configured, choice `avatar-bar-certificate`), checked once at
//! start to chain to the UE CA. A request then finds the avatar it names and the owner's key to
//! verify the avatar token (BAR) or the UE-A attestation (DAC) with.

use std::collections::BTreeMap;
use std::path::Path;

use avatar::{Avatar, Catalogue, FixtureFault};
use p256::ecdsa::VerifyingKey;

use crate::Refusal;

/// The avatars and their owners' UE certificates, as read (not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners {
    catalogue: Catalogue,
    /// Owner UE id (`ue-a`) → its UE certificate (PEM).
    certificates: BTreeMap<String, String>,
    /// The UE CA's certificate (PEM).
    ue_ca: String,
}

impl Owners {
    /// The committed fixtures (`kit::fixtures::dir()`).
    pub fn from_fixtures() -> Result<Self, avatar::Error> {
        Self::from_dir(&kit::fixtures::dir())
    }

    /// The fixtures under `fixtures`: the catalogue of `avatars/`, each owner's
    /// `pki/ue/<owner_ue>.pem` and `pki/ue-ca.pem`.
    pub fn from_dir(fixtures: &Path) -> Result<Self, avatar::Error> {
        let catalogue = Catalogue::from_dir(&fixtures.join("avatars"))?;
        let read = |relative: &str| {
            let path = fixtures.join(relative);
            std::fs::read_to_string(&path).map_err(|e| avatar::Error::Fixture {
                path: path.display().to_string(),
                fault: FixtureFault::Read(e.to_string()),
            })
        };
        let mut certificates = BTreeMap::new();
        for avatar in catalogue.all() {
            if !certificates.contains_key(&avatar.owner_ue) {
                let pem = read(&format!("pki/ue/{}.pem", avatar.owner_ue))?;
                certificates.insert(avatar.owner_ue.clone(), pem);
            }
        }
        let ue_ca = read("pki/ue-ca.pem")?;
        Ok(Self::new(catalogue, certificates, ue_ca))
    }

    /// Owners from parts: the catalogue, each owner UE's certificate (PEM) by UE id, and the UE
    /// CA (PEM).
    pub fn new(
        catalogue: Catalogue,
        certificates: BTreeMap<String, String>,
        ue_ca: String,
    ) -> Self {
        Self {
            catalogue,
            certificates,
            ue_ca,
        }
    }

    /// The avatars.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Checks every owner's certificate at `now` (chain to the UE CA, validity, a P-256 key,
    /// `avatar::keys`). A certificate that fails is kept as its error: requests for that
    /// owner's avatars are refused (CertificateInvalid), the others are served.
    pub fn check(self, now: i64) -> OwnerKeys {
        let keys = self
            .certificates
            .iter()
            .map(|(ue, pem)| {
                let key = avatar::keys::ue_certificate_key(pem, &self.ue_ca, now)
                    .map(|(key, uris)| OwnerKey { key, uris });
                (ue.clone(), key)
            })
            .collect();
        OwnerKeys {
            catalogue: self.catalogue,
            keys,
        }
    }
}

/// An owner's verifying key and the URIs its certificate names (IMPU, tel URI).
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnerKey {
    key: VerifyingKey,
    uris: Vec<String>,
}

/// The avatars and their owners' keys, checked ([`Owners::check`]).
#[derive(Debug, Clone)]
pub struct OwnerKeys {
    catalogue: Catalogue,
    keys: BTreeMap<String, Result<OwnerKey, avatar::Error>>,
}

impl OwnerKeys {
    /// The avatars.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The avatar `avatar_id` and its owner's verifying key. Refused: no such avatar (NoRecord),
    /// the owner's certificate did not pass its checks or does not name the owner's IMPU
    /// (CertificateInvalid).
    pub fn owner_of(&self, avatar_id: &str) -> Result<(&Avatar, &VerifyingKey), Refusal> {
        let avatar = self.catalogue.find(avatar_id)?;
        let owner_ue = || avatar.owner_ue.clone();
        let key = match self.keys.get(&avatar.owner_ue) {
            Some(Ok(key)) => key,
            Some(Err(source)) => {
                return Err(Refusal::OwnerCertificate {
                    owner_ue: owner_ue(),
                    source: source.clone(),
                });
            }
            None => {
                return Err(Refusal::OwnerCertificate {
                    owner_ue: owner_ue(),
                    source: avatar::Error::Fixture {
                        path: format!("pki/ue/{}.pem", avatar.owner_ue),
                        fault: FixtureFault::Read("not configured".into()),
                    },
                });
            }
        };
        if !key.uris.contains(&avatar.owner_impu) {
            return Err(Refusal::CertificateNotOwner {
                owner_ue: owner_ue(),
                impu: avatar.owner_impu.clone(),
            });
        }
        Ok((avatar, &key.key))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{NOW, owners};
    use proto::trace::Reason;

    #[test]
    fn every_fixture_owner_has_a_usable_certificate() {
        let keys = Owners::from_fixtures().unwrap().check(NOW);
        for a in keys.catalogue().all() {
            let (avatar, _) = keys.owner_of(&a.id).unwrap();
            assert_eq!(avatar.id, a.id);
        }
        let ue_a =
            avatar::keys::signing_key_pem(&crate::testing::read("pki/ue/ue-a.key.pem")).unwrap();
        assert_eq!(
            keys.owner_of("qbranch-agent").unwrap().1,
            ue_a.verifying_key()
        );
    }

    #[test]
    fn unknown_avatar_is_no_record() {
        let keys = Owners::from_fixtures().unwrap().check(NOW);
        let e = keys.owner_of("dragon").unwrap_err();
        assert_eq!(e.reason(), Reason::NoRecord);
        assert_eq!(e.status(), 404);
    }

    #[test]
    fn an_unusable_or_foreign_certificate_refuses_only_its_owners_avatars() {
        // Expired at the time of the check.
        let keys = owners(|_| None).check(100);
        let e = keys.owner_of("qbranch-agent").unwrap_err();
        assert!(matches!(e, Refusal::OwnerCertificate { .. }), "{e}");
        assert_eq!(e.reason(), Reason::CertificateInvalid);
        // UE-A's avatars configured with UE-B's certificate: it does not name UE-A.
        let keys = owners(|ue| (ue == "ue-a").then_some("ue-b")).check(NOW);
        let e = keys.owner_of("qbranch-cat").unwrap_err();
        assert!(matches!(e, Refusal::CertificateNotOwner { .. }), "{e}");
        assert_eq!(e.reason(), Reason::CertificateInvalid);
        assert!(keys.owner_of("owl").is_ok());
        // No certificate configured for the owner.
        let parts = Owners::from_fixtures().unwrap();
        let keys = Owners::new(parts.catalogue().clone(), BTreeMap::new(), parts.ue_ca).check(NOW);
        let e = keys.owner_of("owl").unwrap_err();
        assert_eq!(e.reason(), Reason::CertificateInvalid);
    }

    #[test]
    fn missing_fixtures_are_reported() {
        let e = Owners::from_dir(Path::new("/nonexistent")).unwrap_err();
        assert!(matches!(e, avatar::Error::Fixture { .. }), "{e}");
    }
}
