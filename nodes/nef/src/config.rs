//! What the NEF is configured with (`fixtures/nef.toml`): the HSS, the third parties'
//! authorization servers by realm, who may ask for what, and the pool of designated IMPUs.

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
    }
}
