//! The whole fixture PKI for a [`World`]: which certificates exist, who issues them, what their
//! files are called ([`generate`]), and putting the files on disk ([`write()`]).

use std::collections::BTreeSet;
use std::path::{Component, Path};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::index::{Format, Index, IndexEntry, Kind, Negative};
use crate::issue::{self, IssuedCert};
use crate::world::World;

/// Organization of the STIR/SHAKEN CAs.
pub const STI_ORG: &str = "sti.example";
/// Organization of the Rogue CA.
pub const ROGUE_ORG: &str = "rogue.example";
/// Organization of the TLS and UE CAs.
pub const TESTBED_ORG: &str = "Testbed";
/// Host the rogue TLS client certificate claims to be (an AF in the avatar provider).
pub const ROGUE_AF_HOST: &str = "dc-as.avatars.example";
/// File stem of the rogue TLS client certificate, under `tls/`.
pub const ROGUE_AF_STEM: &str = "tls/rogue-af.avatars.example";

/// Generated PKI, in memory.
#[derive(Debug, Default)]
pub struct Fixture {
    /// `(relative path, contents)` of every certificate, key and chain file.
    pub files: Vec<(String, String)>,
    /// The index describing those files.
    pub index: Index,
}

/// What [`Fixture::add`] needs to know about a certificate besides the certificate itself.
struct Meta {
    kind: Kind,
    description: String,
    spc: Option<String>,
    host: Option<String>,
    ue: Option<String>,
    negative: Option<Negative>,
}

impl Meta {
    fn new(kind: Kind, description: impl Into<String>) -> Self {
        Meta {
            kind,
            description: description.into(),
            spc: None,
            host: None,
            ue: None,
            negative: None,
        }
    }
    fn spc(self, spc: &str) -> Self {
        Meta {
            spc: Some(spc.to_owned()),
            ..self
        }
    }
    fn host(self, host: &str) -> Self {
        Meta {
            host: Some(host.to_owned()),
            ..self
        }
    }
    fn ue(self, id: &str) -> Self {
        Meta {
            ue: Some(id.to_owned()),
            ..self
        }
    }
    fn negative(self, why: Negative) -> Self {
        Meta {
            negative: Some(why),
            ..self
        }
    }
}

/// Issues every certificate for `world`, with fresh keys.
///
/// - STIR/SHAKEN: `sti-ca` (root, trust anchor) → `sti-ica` → `sti-sp-<spc>` for each domain
///   with an `spc`; negatives `sti-sp-rogue` (via `rogue-ca`), `sti-sp-notnauth`,
///   `sti-sp-expired`, all for the first domain with an `spc`.
/// - TLS: `tls-ca` → `tls/<host>` for each `[[nf]]`; negative `tls/rogue-af.avatars.example`
///   (via `rogue-ca`).
/// - UE: `ue-ca` → `ue/<id>` for each `[[ue]]`.
pub fn generate(world: &World) -> Result<Fixture> {
    let mut fx = Fixture::default();
    let rogue_ca = sti_pki(&mut fx, world)?;
    tls_pki(&mut fx, world, &rogue_ca)?;
    ue_pki(&mut fx, world)?;
    Ok(fx)
}

/// The STIR/SHAKEN PKI and its negative certificates; the rogue CA, which issues negatives of
/// the other PKIs too.
fn sti_pki(fx: &mut Fixture, world: &World) -> Result<IssuedCert> {
    let sti_ca = issue::root_ca("STI-CA Root (testbed)", STI_ORG)?;
    let desc = "STI-CA root, self-signed: the STIR/SHAKEN trust anchor";
    fx.add("sti-ca", &sti_ca, &[], Meta::new(Kind::Ca, desc))?;

    let sti_ica = issue::intermediate_ca("STI-ICA (testbed)", STI_ORG, &sti_ca)?;
    let desc = "STI-ICA, issued by the STI-CA (pathlen 0); issues the STI-SP certificates";
    fx.add(
        "sti-ica",
        &sti_ica,
        &[],
        Meta::new(Kind::IntermediateCa, desc),
    )?;

    for (domain, spc) in world.sti_domains() {
        let cert = issue::sti_sp(spc, &domain.name, &sti_ica)?;
        let desc = format!(
            "STI-SP certificate of {} (SPC {spc} in TNAuthList)",
            domain.name
        );
        let meta = Meta::new(Kind::StiSp, desc).spc(spc);
        fx.add(&format!("sti-sp-{spc}"), &cert, &[&sti_ica], meta)?;
    }

    // Negative STIR/SHAKEN certificates, all impersonating the first domain with an SPC.
    let Some((victim, spc)) = world.sti_domains().next() else {
        bail!("world.toml: no [[domain]] has an spc");
    };
    let org = &victim.name;
    let rogue_ca = issue::root_ca("Rogue CA", ROGUE_ORG)?;
    let desc = "Rogue CA, self-signed, under no trust anchor; issues the rogue certificates";
    let meta = Meta::new(Kind::Ca, desc).negative(Negative::RogueIssuer);
    fx.add("rogue-ca", &rogue_ca, &[], meta)?;

    let cert = issue::sti_sp(spc, org, &rogue_ca)?;
    let desc = format!("Bad: STI-SP certificate for SPC {spc} issued by the Rogue CA");
    let meta = Meta::new(Kind::StiSp, desc)
        .spc(spc)
        .negative(Negative::RogueIssuer);
    fx.add("sti-sp-rogue", &cert, &[&rogue_ca], meta)?;

    let cert = issue::sti_sp_without_tn_auth_list(spc, org, &sti_ica)?;
    let desc = format!("Bad: STI-SP certificate `SHAKEN {spc}` without TNAuthList");
    let meta = Meta::new(Kind::StiSp, desc)
        .spc(spc)
        .negative(Negative::NoTnAuthList);
    fx.add("sti-sp-notnauth", &cert, &[&sti_ica], meta)?;

    let cert = issue::sti_sp_expired(spc, org, &sti_ica)?;
    let desc = format!("Bad: STI-SP certificate for SPC {spc}, valid only 2020 to 2021");
    let meta = Meta::new(Kind::StiSp, desc)
        .spc(spc)
        .negative(Negative::Expired);
    fx.add("sti-sp-expired", &cert, &[&sti_ica], meta)?;
    Ok(rogue_ca)
}

/// The TLS PKI: a certificate per NF host, and a rogue AF's.
fn tls_pki(fx: &mut Fixture, world: &World, rogue_ca: &IssuedCert) -> Result<()> {
    let tls_ca = issue::root_ca("Testbed TLS CA", TESTBED_ORG)?;
    let desc = "Testbed TLS CA, self-signed: the TLS trust anchor of every NF";
    fx.add("tls-ca", &tls_ca, &[], Meta::new(Kind::Ca, desc))?;

    for nf in &world.nfs {
        let cert = issue::tls_node(&nf.host, &tls_ca)?;
        let desc = format!(
            "TLS certificate of {} (`{}`), server and client",
            nf.name, nf.id
        );
        let meta = Meta::new(Kind::Tls, desc).host(&nf.host);
        fx.add(&format!("tls/{}", nf.host), &cert, &[&tls_ca], meta)?;
    }

    let cert = issue::tls_node(ROGUE_AF_HOST, rogue_ca)?;
    let desc = format!("Bad: TLS client certificate for {ROGUE_AF_HOST} issued by the Rogue CA");
    let meta = Meta::new(Kind::Tls, desc)
        .host(ROGUE_AF_HOST)
        .negative(Negative::RogueIssuer);
    fx.add(ROGUE_AF_STEM, &cert, &[rogue_ca], meta)?;
    Ok(())
}

/// The UE certificates, under the UE CA.
fn ue_pki(fx: &mut Fixture, world: &World) -> Result<()> {
    let ue_ca = issue::root_ca("Testbed UE CA", TESTBED_ORG)?;
    let desc = "Testbed UE CA, self-signed; issues the UE certificates";
    fx.add("ue-ca", &ue_ca, &[], Meta::new(Kind::Ca, desc))?;

    for ue in &world.ues {
        let cert = issue::ue(&ue.name, &ue.impu, &ue.tn, &ue_ca)?;
        let desc = format!(
            "UE certificate of {} (`{}`): {}, tel:{}",
            ue.name, ue.id, ue.impu, ue.tn
        );
        fx.add(
            &format!("ue/{}", ue.id),
            &cert,
            &[],
            Meta::new(Kind::Ue, desc).ue(&ue.id),
        )?;
    }
    Ok(())
}

impl Fixture {
    /// Adds `<stem>.pem`, `<stem>.key.pem` and, unless `parents` is empty, `<stem>.chain.pem`
    /// (the certificate followed by `parents`).
    fn add(
        &mut self,
        stem: &str,
        cert: &IssuedCert,
        parents: &[&IssuedCert],
        meta: Meta,
    ) -> Result<()> {
        let (_, x509) = X509Certificate::from_der(&cert.cert_der)
            .map_err(|e| anyhow::anyhow!("re-parsing {stem}: {e}"))?;
        let validity = x509.validity();
        let entry = |path: String, format: Format| -> Result<IndexEntry> {
            Ok(IndexEntry {
                path,
                kind: meta.kind,
                format,
                subject: x509.subject().to_string(),
                issuer: x509.issuer().to_string(),
                not_before: rfc3339(validity.not_before.to_datetime())?,
                not_after: rfc3339(validity.not_after.to_datetime())?,
                spc: meta.spc.clone(),
                host: meta.host.clone(),
                ue: meta.ue.clone(),
                negative: meta.negative,
                description: match format {
                    Format::Certificate => meta.description.clone(),
                    Format::PrivateKey => format!("Private key of `{stem}.pem` (test-only)"),
                    Format::Chain => format!("`{stem}.pem` followed by its issuing CA"),
                },
            })
        };
        let mut files = vec![
            (
                entry(format!("{stem}.pem"), Format::Certificate)?,
                cert.cert_pem.clone(),
            ),
            (
                entry(format!("{stem}.key.pem"), Format::PrivateKey)?,
                cert.key_pem.clone(),
            ),
        ];
        if !parents.is_empty() {
            files.push((
                entry(format!("{stem}.chain.pem"), Format::Chain)?,
                cert.chain_pem(parents),
            ));
        }
        for (entry, contents) in files {
            if self.index.get(&entry.path).is_some() {
                bail!("two certificates would be written to {}", entry.path);
            }
            self.files.push((entry.path.clone(), contents));
            self.index.files.push(entry);
        }
        Ok(())
    }
}

/// Writes `fixture`, `index.toml` and `README.md` into `out_dir`, first deleting files listed in
/// an existing `index.toml` that the new fixture no longer has (e.g. a removed `[[nf]]`).
pub fn write(fixture: &Fixture, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let index_path = out_dir.join("index.toml");
    if index_path.exists() {
        let old = Index::load(&index_path)?;
        let new: BTreeSet<&str> = fixture.files.iter().map(|(p, _)| p.as_str()).collect();
        for stale in old.files.iter().filter(|e| !new.contains(e.path.as_str())) {
            let path = out_dir.join(checked_relative(&stale.path)?);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing stale {}", path.display()))?;
            }
        }
    }
    for (rel, contents) in &fixture.files {
        write_file(&out_dir.join(checked_relative(rel)?), contents)?;
    }
    write_file(&index_path, &fixture.index.to_toml()?)?;
    write_file(&out_dir.join("README.md"), &fixture.index.readme())
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// `rel` as a path, if it is relative and has no `..` (so it stays inside the output directory).
fn checked_relative(rel: &str) -> Result<&Path> {
    let path = Path::new(rel);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("refusing path {rel:?} outside the output directory");
    }
    Ok(path)
}

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    Ok(t.format(&Rfc3339)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const WORLD: &str = r#"
        scenario_start = "2026-03-02T09:00:00Z"
        [[domain]]
        name = "a.example"
        spc = "1001"
        [[domain]]
        name = "b.example"
        spc = "1002"
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
    fn generates_expected_file_set() {
        let world = World::from_toml(WORLD).unwrap();
        let fx = generate(&world).unwrap();
        let paths: Vec<&str> = fx.files.iter().map(|(p, _)| p.as_str()).collect();
        for stem in [
            "sti-ca",
            "sti-ica",
            "sti-sp-1001",
            "sti-sp-1002",
            "rogue-ca",
            "sti-sp-rogue",
            "sti-sp-notnauth",
            "sti-sp-expired",
            "tls-ca",
            "tls/x.a.example",
            ROGUE_AF_STEM,
            "ue-ca",
            "ue/ue-a",
        ] {
            assert!(
                paths.contains(&format!("{stem}.pem").as_str()),
                "{stem}.pem"
            );
            assert!(
                paths.contains(&format!("{stem}.key.pem").as_str()),
                "{stem}.key.pem"
            );
        }
        for stem in [
            "sti-sp-1001",
            "sti-sp-rogue",
            "tls/x.a.example",
            ROGUE_AF_STEM,
        ] {
            assert!(
                paths.contains(&format!("{stem}.chain.pem").as_str()),
                "{stem}.chain.pem"
            );
        }
        assert_eq!(paths.len(), fx.index.files.len());
        let e = fx.index.get("sti-sp-1002.pem").unwrap();
        assert_eq!(e.subject, "O=b.example, CN=SHAKEN 1002");
        assert_eq!(e.issuer, "O=sti.example, CN=STI-ICA (testbed)");
        assert_eq!(e.not_before, "2025-01-01T00:00:00Z");
        assert_eq!(e.not_after, "2045-01-01T00:00:00Z");
        let e = fx.index.get("sti-sp-expired.pem").unwrap();
        assert_eq!(e.not_after, "2021-01-01T00:00:00Z");
        assert_eq!(e.subject, "O=a.example, CN=SHAKEN 1001");
    }

    #[test]
    fn index_round_trips_and_readme_lists_every_file() {
        let world = World::from_toml(WORLD).unwrap();
        let fx = generate(&world).unwrap();
        let back: Index = toml::from_str(&fx.index.to_toml().unwrap()).unwrap();
        assert_eq!(back, fx.index);
        let readme = fx.index.readme();
        for (path, _) in &fx.files {
            assert!(readme.contains(&format!("`{path}`")), "{path} in README");
        }
    }

    #[test]
    fn spc_colliding_with_a_negative_name_is_an_error() {
        let world = World::from_toml(&WORLD.replace("1002", "rogue")).unwrap();
        assert!(generate(&world).is_err());
    }

    #[test]
    fn refuses_paths_outside_output() {
        assert!(checked_relative("../x.pem").is_err());
        assert!(checked_relative("/etc/x.pem").is_err());
        assert!(checked_relative("tls/x.pem").is_ok());
    }
}
