//! The avatars of the world (`fixtures/avatars/`): `avatars.toml` lists each avatar (its Avatar
//! ID, name, owner UE and owner IMPU, model file) and `<id>.json` holds its base avatar model
//! (format [`FORMAT`], [`proto::wire::avatar::Model`]). The BAR and the DAC serve these models,
//! the XR AS reads each UE's avatar list from here (solution #5 step 1), the UEs choose from it.
//!
//! This crate does not know where the fixtures live beyond [`Catalogue::load`]'s default; a
//! node passes `kit::fixtures::dir().join("avatars")` to [`Catalogue::from_dir`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proto::wire::avatar::Model;
use serde::Deserialize;

use crate::{Error, FixtureFault};

/// The model format this crate reads and renders.
pub const FORMAT: &str = "testbed-avatar/1";

/// The list of avatars in the avatars directory.
pub const LIST: &str = "avatars.toml";

/// The side of the square canvas model coordinates are on (0 to 63).
pub const CANVAS: i32 = 64;

/// One avatar: who owns it and its base avatar model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    /// The Avatar ID.
    pub id: String,
    /// Its name, as shown.
    pub name: String,
    /// The owner's UE id (`ue-a`): its certificate is `pki/ue/<owner_ue>.pem`.
    pub owner_ue: String,
    /// The owner's public identity (IMPU).
    pub owner_impu: String,
    /// The base avatar model (the avatar object).
    pub model: Model,
}

/// Every avatar of the world, by Avatar ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    avatars: BTreeMap<String, Avatar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct List {
    avatar: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    owner: String,
    impu: String,
    model: String,
}

impl Catalogue {
    /// The default avatars directory: `avatars/` under `TESTBED_FIXTURES` if set, else under the
    /// workspace's `fixtures/` this crate was built from (as `kit::fixtures::dir` resolves it).
    pub fn default_dir() -> PathBuf {
        std::env::var_os("TESTBED_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"))
            .join("avatars")
    }

    /// The committed avatars ([`Catalogue::default_dir`]).
    pub fn load() -> Result<Self, Error> {
        Self::from_dir(&Self::default_dir())
    }

    /// The avatars of `dir`: its [`LIST`] and the model files it names.
    pub fn from_dir(dir: &Path) -> Result<Self, Error> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| Error::Fixture {
                path: path.display().to_string(),
                fault: FixtureFault::Read(e.to_string()),
            })
        };
        Self::from_list(&read(LIST)?, read)
    }

    /// The avatars of the TOML text of a [`LIST`]; `read` gives a model file's text by its name.
    pub fn from_list(
        text: &str,
        read: impl Fn(&str) -> Result<String, Error>,
    ) -> Result<Self, Error> {
        let list: List = toml::from_str(text).map_err(|e| Error::Fixture {
            path: LIST.into(),
            fault: FixtureFault::Parse(e.to_string()),
        })?;
        let mut avatars = BTreeMap::new();
        for entry in list.avatar {
            let fault = |fault| Error::Fixture {
                path: entry.model.clone(),
                fault,
            };
            let model: Model = serde_json::from_str(&read(&entry.model)?)
                .map_err(|e| fault(FixtureFault::Parse(e.to_string())))?;
            check_model(&entry, &model).map_err(fault)?;
            if avatars.contains_key(&entry.id) {
                return Err(fault(FixtureFault::Duplicate(entry.id)));
            }
            let avatar = Avatar {
                id: entry.id,
                name: entry.name,
                owner_ue: entry.owner,
                owner_impu: entry.impu,
                model,
            };
            avatars.insert(avatar.id.clone(), avatar);
        }
        Ok(Self { avatars })
    }

    /// The avatar with this Avatar ID.
    pub fn get(&self, id: &str) -> Option<&Avatar> {
        self.avatars.get(id)
    }

    /// [`Catalogue::get`], or [`Error::UnknownAvatar`] (NoRecord).
    pub fn find(&self, id: &str) -> Result<&Avatar, Error> {
        self.get(id)
            .ok_or_else(|| Error::UnknownAvatar { id: id.to_owned() })
    }

    /// A UE's avatar list, by Avatar ID: the avatars its IMPU owns. `impu_or_tn` is the IMPU
    /// (`sip:+12025551000@…`, compared exactly) or a telephone number in any form (`+12025551000`,
    /// `12025551000`, `tel:+12025551000`), compared by digits with the IMPU's user part.
    pub fn of_owner(&self, impu_or_tn: &str) -> Vec<&Avatar> {
        self.avatars
            .values()
            .filter(|a| owned_by(&a.owner_impu, impu_or_tn))
            .collect()
    }

    /// Every avatar, by Avatar ID.
    pub fn all(&self) -> impl Iterator<Item = &Avatar> {
        self.avatars.values()
    }

    /// How many avatars there are.
    pub fn len(&self) -> usize {
        self.avatars.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.avatars.is_empty()
    }
}

/// Whether `who` (an IMPU, or a telephone number) is `impu`.
fn owned_by(impu: &str, who: &str) -> bool {
    if who.starts_with("sip:") || who.starts_with("sips:") {
        return impu == who;
    }
    let digits = proto::tn::digits(who);
    let user = impu
        .split_once(':')
        .map_or(impu, |(_, rest)| rest)
        .split('@')
        .next()
        .unwrap_or_default();
    !digits.is_empty() && proto::tn::digits(user) == digits
}

/// A model agrees with its entry and stays on the canvas.
fn check_model(entry: &Entry, model: &Model) -> Result<(), FixtureFault> {
    if model.format != FORMAT {
        return Err(FixtureFault::Format(model.format.clone()));
    }
    for (field, listed, got) in [
        ("id", &entry.id, &model.id),
        ("name", &entry.name, &model.name),
        ("owner", &entry.impu, &model.owner),
    ] {
        if listed != got {
            return Err(FixtureFault::Differs {
                field,
                listed: listed.clone(),
                model: got.clone(),
            });
        }
    }
    let on = |c: i32| (0..CANVAS).contains(&c);
    let points = model
        .outline
        .iter()
        .chain(model.strokes.iter().flatten())
        .copied()
        .chain(model.eyes.iter().map(|e| [e[0], e[1]]))
        .chain([model.mouth.center]);
    let radii = model
        .eyes
        .iter()
        .map(|e| e[2])
        .chain([model.mouth.half_width]);
    if points.flatten().all(on) && radii.into_iter().all(|r| (1..CANVAS / 2).contains(&r)) {
        Ok(())
    } else {
        Err(FixtureFault::OffCanvas)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keys::ue_certificate_key;
    use crate::testing::{fixtures, read};

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
    const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";
    const NOW: i64 = 1_772_442_000;

    fn ids(list: Vec<&Avatar>) -> Vec<&str> {
        list.into_iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn every_fixture_parses_and_ids_match() {
        let c = Catalogue::from_dir(&fixtures().join("avatars")).unwrap();
        assert_eq!(c, Catalogue::load().unwrap());
        assert_eq!(
            c.all().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["owl", "qbranch-agent", "qbranch-cat", "shark"]
        );
        for a in c.all() {
            assert_eq!(a.model.id, a.id);
            assert_eq!(a.model.format, FORMAT);
            assert_eq!(a.model.owner, a.owner_impu);
            assert_eq!(a.model.eyes.len(), 2, "{}", a.id);
        }
        // Every file in the directory is listed.
        let mut files: Vec<String> = std::fs::read_dir(fixtures().join("avatars"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".json"))
            .collect();
        files.sort();
        let listed: Vec<String> = c.all().map(|a| format!("{}.json", a.id)).collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn owners_exist_with_certificates_naming_them() {
        let c = Catalogue::load().unwrap();
        let ue_ca = read("pki/ue-ca.pem");
        for a in c.all() {
            let cert = read(&format!("pki/ue/{}.pem", a.owner_ue));
            let (_, uris) = ue_certificate_key(&cert, &ue_ca, NOW).unwrap();
            assert!(uris.contains(&a.owner_impu), "{}: {uris:?}", a.id);
        }
        let subscribers = read("subscribers.toml");
        for a in c.all() {
            assert!(subscribers.contains(&a.owner_impu), "{}", a.owner_impu);
        }
    }

    #[test]
    fn avatar_lists_by_impu_or_number() {
        let c = Catalogue::load().unwrap();
        assert_eq!(ids(c.of_owner(UE_A)), ["qbranch-agent", "qbranch-cat"]);
        assert_eq!(
            ids(c.of_owner("+12025551000")),
            ["qbranch-agent", "qbranch-cat"]
        );
        assert_eq!(
            ids(c.of_owner("tel:+12025551000")),
            ["qbranch-agent", "qbranch-cat"]
        );
        assert_eq!(ids(c.of_owner("12155551001")), ["owl"]);
        assert_eq!(ids(c.of_owner(UE_B)), ["owl"]);
        assert_eq!(ids(c.of_owner(UE_M)), ["shark"]);
        assert!(c.of_owner("+12025559999").is_empty());
        assert!(c.of_owner("").is_empty());
        assert!(c.of_owner("sip:+12025551000@elsewhere.example").is_empty());
        assert_eq!(c.get("owl").unwrap().owner_ue, "ue-b");
        assert_eq!(
            c.find("dragon").unwrap_err().reason(),
            proto::trace::Reason::NoRecord
        );
    }

    #[test]
    fn a_list_that_disagrees_with_its_model_is_refused() {
        let dir = fixtures().join("avatars");
        let read = |name: &str| Ok(std::fs::read_to_string(dir.join(name)).unwrap());
        let entry = |id: &str, model: &str| {
            format!(
                "[[avatar]]\nid = \"{id}\"\nname = \"Owl\"\nowner = \"ue-b\"\nimpu = \"{UE_B}\"\nmodel = \"{model}\"\n"
            )
        };
        let e = Catalogue::from_list(&entry("owl2", "owl.json"), read).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Fixture {
                    fault: FixtureFault::Differs { field: "id", .. },
                    ..
                }
            ),
            "{e}"
        );
        let twice = format!("{}{}", entry("owl", "owl.json"), entry("owl", "owl.json"));
        let e = Catalogue::from_list(&twice, read).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Fixture {
                    fault: FixtureFault::Duplicate(_),
                    ..
                }
            ),
            "{e}"
        );
        let e = Catalogue::from_list("avatar = 1", read).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Fixture {
                    fault: FixtureFault::Parse(_),
                    ..
                }
            ),
            "{e}"
        );
        let e = Catalogue::from_dir(Path::new("/nonexistent")).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Fixture {
                    fault: FixtureFault::Read(_),
                    ..
                }
            ),
            "{e}"
        );
    }
}
