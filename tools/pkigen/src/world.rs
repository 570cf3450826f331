//! The parts of `fixtures/world.toml` that the PKI generator reads: the scenario clock, the
//! domains (some with a STIR/SHAKEN Service Provider Code), the network functions with their
//! hostnames, and the UEs with their IMPU and telephone number. Unknown keys are ignored, so the
//! world file can grow without breaking this crate.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The simulated world: `fixtures/world.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct World {
    /// Scenario clock start (RFC 3339, UTC); see [`World::scenario_start`].
    pub scenario_start: String,
    /// `[[domain]]` tables.
    #[serde(default, rename = "domain")]
    pub domains: Vec<Domain>,
    /// `[[nf]]` tables.
    #[serde(default, rename = "nf")]
    pub nfs: Vec<Nf>,
    /// `[[ue]]` tables.
    #[serde(default, rename = "ue")]
    pub ues: Vec<Ue>,
}

/// One `[[domain]]`.
#[derive(Debug, Clone, Deserialize)]
pub struct Domain {
    /// Domain name, e.g. `ims.mnc001.mcc001.3gppnetwork.org`.
    pub name: String,
    /// Free-text role, e.g. "originating operator".
    #[serde(default)]
    pub role: Option<String>,
    /// STIR/SHAKEN Service Provider Code; a domain with one gets an STI-SP certificate.
    #[serde(default)]
    pub spc: Option<String>,
}

/// One `[[nf]]`: a network function, which gets a TLS certificate for its `host`.
#[derive(Debug, Clone, Deserialize)]
pub struct Nf {
    /// Short identifier, e.g. `pcscf-o`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Hostname; the TLS certificate's CN and DNS SAN.
    pub host: String,
}

/// One `[[ue]]`: user equipment, which gets a UE certificate named by its IMPU.
#[derive(Debug, Clone, Deserialize)]
pub struct Ue {
    /// Short identifier, e.g. `ue-a`; names the files `ue/<id>.pem`.
    pub id: String,
    /// Human-readable name; the certificate's CN.
    pub name: String,
    /// IMS public user identity (SIP URI); a URI SAN.
    pub impu: String,
    /// Telephone number in E.164 form; the URI SAN `tel:<tn>`.
    pub tn: String,
    /// Optional display name (not used in certificates).
    #[serde(default)]
    pub display: Option<String>,
}

impl World {
    /// Parses and checks the world from TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        let world: World = toml::from_str(text).context("parsing world TOML")?;
        world.check()?;
        Ok(world)
    }

    /// Reads, parses and checks the world file at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in {}", path.display()))
    }

    /// The scenario clock start as a timestamp.
    pub fn scenario_start(&self) -> Result<OffsetDateTime> {
        OffsetDateTime::parse(&self.scenario_start, &Rfc3339)
            .with_context(|| format!("scenario_start {:?} is not RFC 3339", self.scenario_start))
    }

    /// Domains that have a Service Provider Code, with that code, in file order.
    pub fn sti_domains(&self) -> impl Iterator<Item = (&Domain, &str)> {
        self.domains
            .iter()
            .filter_map(|d| d.spc.as_deref().map(|spc| (d, spc)))
    }

    /// Rejects values that would make unsafe file names or invalid certificate fields.
    fn check(&self) -> Result<()> {
        self.scenario_start()?;
        for (domain, spc) in self.sti_domains() {
            if !is_file_name_safe(spc) {
                bail!(
                    "domain {}: spc {spc:?} must be [A-Za-z0-9._-]+",
                    domain.name
                );
            }
        }
        for nf in &self.nfs {
            if !is_file_name_safe(&nf.host) {
                bail!("nf {}: host {:?} must be [A-Za-z0-9._-]+", nf.id, nf.host);
            }
        }
        for ue in &self.ues {
            if !is_file_name_safe(&ue.id) {
                bail!("ue id {:?} must be [A-Za-z0-9._-]+", ue.id);
            }
            if !ue.impu.is_ascii() || !ue.tn.is_ascii() {
                bail!("ue {}: impu and tn must be ASCII (IA5String URIs)", ue.id);
            }
        }
        Ok(())
    }
}

/// True if `s` is non-empty, does not start with a dot, and uses only `[A-Za-z0-9._-]`.
fn is_file_name_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const SMALL: &str = r#"
        scenario_start = "2026-03-02T09:00:00Z"
        [[domain]]
        name = "a.example"
        spc = "1001"
        extra = "ignored"
        [[domain]]
        name = "b.example"
        [[nf]]
        id = "x"
        name = "X"
        host = "x.a.example"
        [[ue]]
        id = "ue-a"
        name = "UE-A"
        impu = "sip:+1@a.example"
        tn = "+1"
    "#;

    #[test]
    fn parses_small_world() {
        let w = World::from_toml(SMALL).unwrap();
        assert_eq!(w.domains.len(), 2);
        let sti: Vec<_> = w.sti_domains().map(|(d, s)| (d.name.as_str(), s)).collect();
        assert_eq!(sti, [("a.example", "1001")]);
        assert_eq!(w.nfs[0].host, "x.a.example");
        assert_eq!(w.ues[0].tn, "+1");
        assert_eq!(w.scenario_start().unwrap().unix_timestamp(), 1_772_442_000);
    }

    #[test]
    fn rejects_path_like_ids() {
        let bad = SMALL.replace("id = \"ue-a\"", "id = \"../ue-a\"");
        assert!(World::from_toml(&bad).is_err());
        let bad = SMALL.replace("spc = \"1001\"", "spc = \"10/01\"");
        assert!(World::from_toml(&bad).is_err());
    }

    #[test]
    fn rejects_bad_scenario_start() {
        let bad = SMALL.replace("2026-03-02T09:00:00Z", "yesterday");
        assert!(World::from_toml(&bad).is_err());
    }
}
