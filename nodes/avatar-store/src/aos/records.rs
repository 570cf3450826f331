//! What an AOS holds (TR 33.790 §6.8.2 NOTE 1: "a database of avatar objects for each IMS
//! subscriber"): which subscribers may use avatars and their fetch policy
//! (`fixtures/avatars/aos.toml`, [`Subscribers`]), and the avatar objects with the exact bytes it
//! serves and their digest ([`Objects`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use avatar::{Avatar, Catalogue, FixtureFault};
use serde::Deserialize;

/// The subscriber records' file under `fixtures/avatars/`.
pub const FILE: &str = "aos.toml";

/// How often the other party of a call may fetch a subscriber's avatar object (step 21: "a local
/// policy on OAS can determine if the UEs can access the avatar objects once or multiple times").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// One fetch per call.
    Once,
    /// Any number of fetches during the call.
    Repeat,
}

impl Policy {
    /// The wire form (`once`, `repeat`), as `AvatarData::policy` carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Once => "once",
            Policy::Repeat => "repeat",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subscriber's record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    /// The IMPU.
    pub impu: String,
    /// Whether the subscription is authorised to use avatars (step 2's check).
    pub avatars: bool,
    /// The fetch policy for its avatar objects.
    pub policy: Policy,
}

/// The subscribers' records, by IMPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscribers {
    by_impu: BTreeMap<String, Subscriber>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    subscriber: Vec<Subscriber>,
}

impl Subscribers {
    /// The records of `<fixtures>/avatars/aos.toml`.
    pub fn from_dir(fixtures: &Path) -> Result<Self, avatar::Error> {
        let path = fixtures.join("avatars").join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| avatar::Error::Fixture {
            path: path.display().to_string(),
            fault: FixtureFault::Read(e.to_string()),
        })?;
        Self::from_toml(&text)
    }

    /// The records of the TOML text of an [`FILE`]; an IMPU listed twice is refused.
    pub fn from_toml(text: &str) -> Result<Self, avatar::Error> {
        let fault = |fault| avatar::Error::Fixture {
            path: FILE.into(),
            fault,
        };
        let file: File =
            toml::from_str(text).map_err(|e| fault(FixtureFault::Parse(e.to_string())))?;
        let mut by_impu = BTreeMap::new();
        for s in file.subscriber {
            if by_impu.contains_key(&s.impu) {
                return Err(fault(FixtureFault::Duplicate(s.impu)));
            }
            by_impu.insert(s.impu.clone(), s);
        }
        Ok(Self { by_impu })
    }

    /// The record of `impu` (compared exactly).
    pub fn get(&self, impu: &str) -> Option<&Subscriber> {
        self.by_impu.get(impu)
    }
}

/// An avatar object as an AOS serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The avatar (its owner and model).
    pub avatar: Avatar,
    /// The exact bytes served: the model's RFC 8785 canonical JSON.
    pub bytes: Vec<u8>,
    /// `sha256-` and the standard base64 (with padding) of SHA-256 of [`Object::bytes`], as
    /// RFC 9795 `rcdi` writes a digest.
    pub digest: String,
}

impl Object {
    /// The object of `avatar`: its model's canonical JSON and that JSON's digest.
    pub fn new(avatar: &Avatar) -> Result<Self, avatar::Error> {
        let bytes =
            stir::jose::canonical_json(&avatar.model).map_err(|e| avatar::Error::BadObject {
                detail: e.to_string(),
            })?;
        Ok(Self {
            avatar: avatar.clone(),
            digest: digest(&bytes),
            bytes,
        })
    }
}

/// The SRI digest an [`AvatarData`](proto::wire::avatar::AvatarData) carries for `bytes`:
/// `sha256-<base64 of SHA-256>`.
pub fn digest(bytes: &[u8]) -> String {
    stir::DigestAlg::Sha256.sri(bytes)
}

/// Every avatar object, by Avatar ID, with its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    catalogue: Catalogue,
    by_id: BTreeMap<String, Object>,
}

impl Objects {
    /// The objects of every avatar of `catalogue`.
    pub fn new(catalogue: Catalogue) -> Result<Self, avatar::Error> {
        let by_id = catalogue
            .all()
            .map(|a| Ok((a.id.clone(), Object::new(a)?)))
            .collect::<Result<_, avatar::Error>>()?;
        Ok(Self { catalogue, by_id })
    }

    /// The object of `avatar_id`.
    pub fn get(&self, avatar_id: &str) -> Option<&Object> {
        self.by_id.get(avatar_id)
    }

    /// The objects `impu` owns, by Avatar ID (`avatar::Catalogue::of_owner`): the first is the
    /// subscriber's default (NOTE 1).
    pub fn of_owner(&self, impu: &str) -> Vec<&Object> {
        self.catalogue
            .of_owner(impu)
            .into_iter()
            .filter_map(|a| self.by_id.get(&a.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::UE_A;
    use sha2::{Digest as _, Sha256};

    #[test]
    fn the_committed_records() {
        let s = Subscribers::from_dir(&kit::fixtures::dir()).unwrap();
        let a = s.get(UE_A).unwrap();
        assert!(a.avatars);
        assert_eq!(a.policy, Policy::Repeat);
        let b = s
            .get("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org")
            .unwrap();
        assert_eq!((b.avatars, b.policy), (true, Policy::Once));
        let m = s
            .get("sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org")
            .unwrap();
        assert!(!m.avatars);
        assert!(
            s.get("sip:+12025551999@ims.mnc001.mcc001.3gppnetwork.org")
                .is_none()
        );
    }

    #[test]
    fn bad_records_are_refused() {
        let twice = r#"
            [[subscriber]]
            impu = "sip:a@x"
            avatars = true
            policy = "once"
            [[subscriber]]
            impu = "sip:a@x"
            avatars = false
            policy = "repeat"
        "#;
        let e = Subscribers::from_toml(twice).unwrap_err();
        assert!(
            matches!(
                e,
                avatar::Error::Fixture {
                    fault: FixtureFault::Duplicate(_),
                    ..
                }
            ),
            "{e}"
        );
        let policy = "[[subscriber]]\nimpu = \"sip:a@x\"\navatars = true\npolicy = \"twice\"\n";
        let e = Subscribers::from_toml(policy).unwrap_err();
        assert!(
            matches!(
                e,
                avatar::Error::Fixture {
                    fault: FixtureFault::Parse(_),
                    ..
                }
            ),
            "{e}"
        );
        let e = Subscribers::from_dir(Path::new("/nonexistent")).unwrap_err();
        assert!(
            matches!(
                e,
                avatar::Error::Fixture {
                    fault: FixtureFault::Read(_),
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn an_object_is_its_canonical_json_and_the_digest_covers_exactly_those_bytes() {
        let objects = Objects::new(Catalogue::load().unwrap()).unwrap();
        let o = objects.get("qbranch-agent").unwrap();
        let model: proto::wire::avatar::Model = serde_json::from_slice(&o.bytes).unwrap();
        assert_eq!(model, o.avatar.model);
        assert_eq!(o.bytes, stir::jose::canonical_json(&model).unwrap());
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&o.bytes));
        assert_eq!(o.digest, format!("sha256-{b64}"));
        let ids: Vec<_> = objects
            .of_owner(UE_A)
            .iter()
            .map(|o| o.avatar.id.as_str())
            .collect();
        assert_eq!(ids, ["qbranch-agent", "qbranch-cat"]);
    }
}
