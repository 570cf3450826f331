//! What the NEF is configured with (`fixtures/nef.toml`): the HSS, the third parties'
//! authorization servers by realm, who may ask for what, the pool of designated IMPUs, and
//! the peers of its avatar token (solution #7) and DC exposure (solution #9) endpoints.

use std::collections::{BTreeMap, BTreeSet};

use kit::{Error, fixtures};
use serde::Deserialize;

/// One designated IMPU the NEF may allocate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PoolEntry {
    /// The IMPU (`sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org`).
    pub impu: String,
    /// Its telephone number (`+12025550100`).
    pub tn: String,
}

/// What the NEF is configured with (`fixtures/nef.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NefConfig {
    /// The HSS designated IMPUs are provisioned at.
    pub hss_host: String,
    /// Realm → host of the third party's authorization server.
    pub realms: BTreeMap<String, String>,
    /// AF hosts (authorization servers) allowed to request allocations.
    pub allowed_afs: BTreeSet<String>,
    /// The IMS AS allowed to ask for authorisations.
    pub ims_as_host: String,
    /// Designated IMPUs, allocated in this order.
    pub pool: Vec<PoolEntry>,
    /// Solution #7: access tokens for avatar metadata (none: the token endpoint answers 404).
    #[serde(default)]
    pub avatar: Option<AvatarTokens>,
    /// Solution #9: the DC exposure APIs (none: their paths answer 404).
    #[serde(default)]
    pub exposure: Option<ExposureConfig>,
}

/// Solution #9 (TR 33.790 §6.9): where the NEF asks for the DC exposure policy and the consent
/// (the HSS/UDM, step 2) and where it subscribes and has data channels controlled (the DCSF,
/// steps 3–6), and how long its access tokens live (`[exposure]` in `nef.toml`). The world
/// sets both hosts to its own HSS and DCSF when it starts the NEF.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureConfig {
    /// The HSS/UDM holding the DC exposure policy and the subscribers' consent.
    pub hss_host: String,
    /// The DCSF: event subscriptions, the ADCs' applications, DC session control.
    pub dcsf_host: String,
    /// How long an access token is valid, in seconds (the world sets -1 for expired tokens).
    #[serde(default = "default_exposure_lifetime")]
    pub token_lifetime: i64,
}

fn default_exposure_lifetime() -> i64 {
    crate::exposure::token::LIFETIME
}

/// Solution #7 (TR 33.790 §6.7.2.1 step 7): who may get access tokens for avatar metadata, for
/// which DAC, for how long, and which IMS AS verifies signed Avatar-ids (`[avatar]` in
/// `nef.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvatarTokens {
    /// The XR ASs (by their TLS client certificate's DNS name) that may ask for tokens.
    pub clients: BTreeSet<String>,
    /// The DAC the tokens are for: their audience ("DAC instance id").
    pub dac: String,
    /// How long a token is valid, in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime: i64,
    /// The IMS AS that verifies signed Avatar-ids; `ims_as_host` when not given.
    #[serde(default)]
    pub as_host: Option<String>,
}

fn default_token_lifetime() -> i64 {
    avatar::access_token::LIFETIME
}

impl NefConfig {
    /// The configuration in a TOML text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Fixture {
            path: "nef.toml".into(),
            detail: e.to_string(),
        })
    }

    /// The committed `fixtures/nef.toml`.
    pub fn load() -> Result<Self, Error> {
        Self::from_toml(&String::from_utf8_lossy(&fixtures::read("nef.toml")?))
    }

    /// The IMS AS that verifies signed Avatar-ids for solution #7: `[avatar] as_host`, else
    /// `ims_as_host`.
    pub fn avatar_id_verifier(&self) -> &str {
        self.avatar
            .as_ref()
            .and_then(|a| a.as_host.as_deref())
            .unwrap_or(&self.ims_as_host)
    }

    /// The realm an AF speaks for: the realm whose authorization server it is, else its host.
    pub fn realm_of(&self, af_host: &str) -> String {
        self.realms
            .iter()
            .find(|(_, host)| host.eq_ignore_ascii_case(af_host))
            .map_or_else(|| af_host.to_owned(), |(realm, _)| realm.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const AUTHZ: &str = "authz.enterprise.example";

    #[test]
    fn fixture_config() {
        let c = NefConfig::load().unwrap();
        assert_eq!(c.hss_host, "hss.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(c.realms[AUTHZ], AUTHZ);
        assert!(c.allowed_afs.contains(AUTHZ));
        assert_eq!(
            c.pool[0].impu,
            "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org"
        );
        assert_eq!(c.realm_of(AUTHZ), AUTHZ);
        assert_eq!(c.realm_of("other.example"), "other.example");
        let avatar = c.avatar.as_ref().unwrap();
        assert!(
            avatar
                .clients
                .contains("xr-as.ims.mnc001.mcc001.3gppnetwork.org")
        );
        assert_eq!(avatar.dac, "dac.avatars.example");
        assert_eq!(avatar.token_lifetime, 300);
        assert_eq!(c.avatar_id_verifier(), c.ims_as_host);
        let exposure = c.exposure.as_ref().unwrap();
        assert_eq!(exposure.hss_host, c.hss_host);
        assert_eq!(exposure.dcsf_host, "dcsf.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(exposure.token_lifetime, 300);
    }

    #[test]
    fn the_avatar_section_is_optional_and_as_host_overrides() {
        let base =
            "hss_host = \"h\"\nims_as_host = \"as\"\nallowed_afs = []\npool = []\n[realms]\n";
        let c = NefConfig::from_toml(base).unwrap();
        assert_eq!((c.avatar.as_ref(), c.avatar_id_verifier()), (None, "as"));
        let with = format!("{base}[avatar]\nclients = [\"x\"]\ndac = \"d\"\nas_host = \"as2\"\n");
        let c = NefConfig::from_toml(&with).unwrap();
        assert_eq!(c.avatar_id_verifier(), "as2");
        assert_eq!(c.avatar.unwrap().token_lifetime, 300);
        assert_eq!(c.exposure, None);
    }
}
