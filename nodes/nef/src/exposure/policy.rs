//! The DC exposure policy (`fixtures/dc-exposure.toml`, TR 33.790 §6.9.2 step 2: "NEF retrieves
//! authorization policies locally or from HSS/UDM"): per AF, what it may subscribe to and
//! control and which DC applications it owns; per subscriber, what the user consented to.

use kit::{Error, fixtures};
use serde::Deserialize;

pub use super::wire::{AfPolicy, Consent};

/// The fixture's file name under `fixtures/`.
pub const FIXTURE: &str = "dc-exposure.toml";

/// The whole DC exposure policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The AFs the policy knows, by host.
    #[serde(default)]
    pub af: Vec<AfPolicy>,
    /// Per-subscriber consent.
    #[serde(default)]
    pub consent: Vec<Consent>,
}

impl Policy {
    /// The policy in a TOML text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Fixture {
            path: FIXTURE.into(),
            detail: e.to_string(),
        })
    }

    /// The committed `fixtures/dc-exposure.toml`.
    pub fn load() -> Result<Self, Error> {
        Self::from_toml(&String::from_utf8_lossy(&fixtures::read(FIXTURE)?))
    }

    /// The AF with this host (DNS names compare case-insensitively).
    pub fn af(&self, host: &str) -> Option<&AfPolicy> {
        self.af.iter().find(|a| a.host.eq_ignore_ascii_case(host))
    }

    /// The consent of this subscriber; [`Consent::none`] when it has no entry.
    pub fn consent(&self, impu: &str) -> Consent {
        self.consent
            .iter()
            .find(|c| c.impu == impu)
            .cloned()
            .unwrap_or_else(|| Consent::none(impu))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::wire::Operation;
    use super::*;
    use std::collections::BTreeSet;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
    const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";

    #[test]
    fn the_fixture_has_four_afs_and_consent() {
        let p = Policy::load().unwrap();
        let ims = p.af("DC-AS.ims.mnc001.mcc001.3gppnetwork.org").unwrap();
        assert!(ims.trusted && !ims.anonymise && ims.owns("avatar-call"));
        assert_eq!(ims.events.len(), 3);
        assert_eq!(ims.control.len(), 4);
        let third = p.af("dc-as.avatars.example").unwrap();
        assert!(!third.trusted && third.anonymise && third.owns("screen-share"));
        assert_eq!(
            third.control,
            BTreeSet::from([Operation::Establish, Operation::Update])
        );
        assert!(p.af("rogue-af.avatars.example").is_some());
        let other = p.af("dc-as.whiteboard.example").unwrap();
        assert!(other.trusted && other.owns("whiteboard") && !other.owns("avatar-call"));
        assert!(p.af("authz.enterprise.example").is_none());
        for ue in [UE_A, UE_B] {
            let c = p.consent(ue);
            assert!(c.events && c.control, "{ue}");
        }
        assert_eq!(p.consent(UE_M), Consent::none(UE_M));
        assert_eq!(p.consent("sip:nobody@x"), Consent::none("sip:nobody@x"));
    }

    #[test]
    fn unknown_fields_and_words_are_refused() {
        let af = "[[af]]\nhost = \"h\"\ntrusted = true\nevents = []\nanonymise = false\n\
                  control = []\ntargets = []\napps = []\n";
        assert_eq!(Policy::from_toml(af).unwrap().af.len(), 1);
        assert!(Policy::from_toml(&format!("{af}colour = \"red\"\n")).is_err());
        let bad_event = af.replace("events = []", "events = [\"dc-hijacked\"]");
        assert!(Policy::from_toml(&bad_event).is_err());
        let bad_op = af.replace("control = []", "control = [\"delete\"]");
        assert!(Policy::from_toml(&bad_op).is_err());
        assert!(Policy::from_toml("[[consent]]\nimpu = \"x\"\nevents = true\n").is_err());
    }
}
