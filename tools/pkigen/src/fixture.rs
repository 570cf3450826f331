//! The whole fixture PKI for a [`World`]: which certificates exist, who issues them, what their
//! files are called ([`generate`]), keeping what is already on disk ([`Previous`]), and putting
//! the files on disk ([`write()`]).

use std::collections::BTreeSet;
use std::path::{Component, Path};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::index::{Format, Index, IndexEntry, Kind, Negative};
use crate::issue::{self, IssuedCert, IssuedCrl, StiSp, UeNames};
use crate::previous::Previous;
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

/// Host of the STI-CA's repository in world.toml (`[[nf]]` id): the STI-SP certificates' CRL
/// distribution point is on it.
pub const STI_REPO_ID: &str = "sti-repo";
/// Path of the STI-ICA's CRL on the repository (RFC 5280 §4.2.1.13: DER over HTTP).
pub const CRL_PATH: &str = "/crl/sti-ica.crl";
/// The fixture file holding that CRL (PEM).
pub const CRL_FILE: &str = "sti-ica.crl.pem";
/// The only numbers `sti-sp-wrongtn` may sign for: this range (RFC 8226 §9), which does not
/// cover the operator's subscribers (+1 202 555 1xxx).
pub const WRONG_TN_RANGE: (&str, u64) = ("12025559000", 100);

/// Issues every certificate for `world`, keeping what `previous` already has: its keys, and
/// its files byte for byte wherever the content is unchanged ([`Previous`]).
///
/// - STIR/SHAKEN: `sti-ca` (root, trust anchor) → `sti-ica` → `sti-sp-<spc>` for each domain
///   with an `spc` (each with the CRL distribution point on the `sti-repo` host); negatives
///   `sti-sp-rogue` (via `rogue-ca`), `sti-sp-notnauth`, `sti-sp-expired`, `sti-sp-nosign`, `sti-sp-revoked`
///   (listed in the STI-ICA's CRL, [`CRL_FILE`]) and `sti-sp-wrongtn` (a TN range only,
///   [`WRONG_TN_RANGE`]), all for the first domain with an `spc`.
/// - TLS: `tls-ca` → `tls/<host>` for each `[[nf]]`; negative `tls/rogue-af.avatars.example`
///   (via `rogue-ca`).
/// - UE: `ue-ca` → `ue/<id>` for each `[[ue]]`.
pub fn generate(world: &World, previous: &Previous) -> Result<Fixture> {
    let mut fx = Fixture::default();
    let rogue_ca = sti_pki(&mut fx, world, previous)?;
    tls_pki(&mut fx, world, previous, &rogue_ca)?;
    ue_pki(&mut fx, world, previous)?;
    Ok(fx)
}

/// The STIR/SHAKEN PKI, its negative certificates and the STI-ICA's CRL; the rogue CA, which
/// issues negatives of the other PKIs too.
fn sti_pki(fx: &mut Fixture, world: &World, previous: &Previous) -> Result<IssuedCert> {
    let sti_ca = previous.issue("sti-ca", |k| {
        issue::root_ca("STI-CA Root (testbed)", STI_ORG, k)
    })?;
    let desc = "STI-CA root, self-signed: the STIR/SHAKEN trust anchor";
    fx.add("sti-ca", &sti_ca, &[], Meta::new(Kind::Ca, desc))?;

    let sti_ica = previous.issue("sti-ica", |k| {
        issue::intermediate_ca("STI-ICA (testbed)", STI_ORG, &sti_ca, k)
    })?;
    let desc = "STI-ICA, issued by the STI-CA (pathlen 0); issues the STI-SP certificates";
    fx.add(
        "sti-ica",
        &sti_ica,
        &[],
        Meta::new(Kind::IntermediateCa, desc),
    )?;

    let crl_url = crl_url(world)?;
    for (domain, spc) in world.sti_domains() {
        let sp = StiSp {
            spc,
            organization: &domain.name,
            crl_url: Some(&crl_url),
        };
        let stem = format!("sti-sp-{spc}");
        let cert = previous.issue(&stem, |k| issue::sti_sp(&sp, &sti_ica, k))?;
        let desc = format!(
            "STI-SP certificate of {} (SPC {spc} in TNAuthList)",
            domain.name
        );
        let meta = Meta::new(Kind::StiSp, desc).spc(spc);
        fx.add(&stem, &cert, &[&sti_ica], meta)?;
    }
    let rogue_ca = sti_negatives(fx, world, previous, &sti_ica, &crl_url)?;
    Ok(rogue_ca)
}

/// `https://<sti-repo host>/crl/sti-ica.crl`.
fn crl_url(world: &World) -> Result<String> {
    let Some(repo) = world.nfs.iter().find(|nf| nf.id == STI_REPO_ID) else {
        bail!("world.toml: no [[nf]] {STI_REPO_ID:?} to publish the STI-ICA's CRL");
    };
    Ok(format!("https://{}{CRL_PATH}", repo.host))
}

/// Negative STIR/SHAKEN certificates, all impersonating the first domain with an SPC, and the
/// CRL that revokes `sti-sp-revoked`; returns the rogue CA.
fn sti_negatives(
    fx: &mut Fixture,
    world: &World,
    previous: &Previous,
    sti_ica: &IssuedCert,
    crl_url: &str,
) -> Result<IssuedCert> {
    let Some((victim, spc)) = world.sti_domains().next() else {
        bail!("world.toml: no [[domain]] has an spc");
    };
    let sp = StiSp {
        spc,
        organization: &victim.name,
        crl_url: Some(crl_url),
    };
    let rogue_ca = previous.issue("rogue-ca", |k| issue::root_ca("Rogue CA", ROGUE_ORG, k))?;
    let desc = "Rogue CA, self-signed, under no trust anchor; issues the rogue certificates";
    let meta = Meta::new(Kind::Ca, desc).negative(Negative::RogueIssuer);
    fx.add("rogue-ca", &rogue_ca, &[], meta)?;

    // The rogue's own certificate names no distribution point of the STI-CA's repository.
    let rogue_sp = StiSp {
        crl_url: None,
        ..sp.clone()
    };
    let cert = previous.issue("sti-sp-rogue", |k| issue::sti_sp(&rogue_sp, &rogue_ca, k))?;
    let desc = format!("Bad: STI-SP certificate for SPC {spc} issued by the Rogue CA");
    let meta = sp_meta(desc, spc, Negative::RogueIssuer);
    fx.add("sti-sp-rogue", &cert, &[&rogue_ca], meta)?;

    let cert = previous.issue("sti-sp-notnauth", |k| {
        issue::sti_sp_without_tn_auth_list(&sp, sti_ica, k)
    })?;
    let desc = format!("Bad: STI-SP certificate `SHAKEN {spc}` without TNAuthList");
    let meta = sp_meta(desc, spc, Negative::NoTnAuthList);
    fx.add("sti-sp-notnauth", &cert, &[sti_ica], meta)?;

    let cert = previous.issue("sti-sp-expired", |k| issue::sti_sp_expired(&sp, sti_ica, k))?;
    let desc = format!("Bad: STI-SP certificate for SPC {spc}, valid only 2020 to 2021");
    let meta = sp_meta(desc, spc, Negative::Expired);
    fx.add("sti-sp-expired", &cert, &[sti_ica], meta)?;

    let cert = previous.issue("sti-sp-nosign", |k| {
        issue::sti_sp_not_for_signing(&sp, sti_ica, k)
    })?;
    let desc = format!("Bad: STI-SP certificate for SPC {spc} whose keyUsage is keyAgreement only");
    let meta = sp_meta(desc, spc, Negative::NotForSigning);
    fx.add("sti-sp-nosign", &cert, &[sti_ica], meta)?;
    sti_unauthorised(fx, previous, sti_ica, &sp, crl_url)?;
    Ok(rogue_ca)
}

/// The negatives whose fault is not in their shape but in what they may sign for:
/// `sti-sp-wrongtn` (a TN range that misses the subscribers) and `sti-sp-revoked` (listed in
/// the STI-ICA's CRL, issued here too).
fn sti_unauthorised(
    fx: &mut Fixture,
    previous: &Previous,
    sti_ica: &IssuedCert,
    sp: &StiSp<'_>,
    crl_url: &str,
) -> Result<()> {
    let spc = sp.spc;
    let (start, count) = WRONG_TN_RANGE;
    let cert = previous.issue("sti-sp-wrongtn", |k| {
        issue::sti_sp_tn_range(sp, start, count, sti_ica, k)
    })?;
    let desc = format!(
        "Bad: STI-SP certificate `SHAKEN {spc}` whose TNAuthList is only the TN range {start} (+{count}), no SPC"
    );
    let meta = sp_meta(desc, spc, Negative::TnNotCovered);
    fx.add("sti-sp-wrongtn", &cert, &[sti_ica], meta)?;

    let revoked = previous.issue("sti-sp-revoked", |k| issue::sti_sp(sp, sti_ica, k))?;
    let desc = format!("Bad: STI-SP certificate for SPC {spc}, revoked in the STI-ICA's CRL");
    let meta = sp_meta(desc, spc, Negative::Revoked);
    fx.add("sti-sp-revoked", &revoked, &[sti_ica], meta)?;
    sti_crl(fx, previous, sti_ica, &revoked, crl_url)
}

fn sp_meta(description: String, spc: &str, why: Negative) -> Meta {
    Meta::new(Kind::StiSp, description).spc(spc).negative(why)
}

/// The STI-ICA's CRL, revoking `revoked`.
fn sti_crl(
    fx: &mut Fixture,
    previous: &Previous,
    sti_ica: &IssuedCert,
    revoked: &IssuedCert,
    crl_url: &str,
) -> Result<()> {
    let (_, x509) = X509Certificate::from_der(&revoked.cert_der)
        .map_err(|e| anyhow::anyhow!("re-parsing sti-sp-revoked: {e}"))?;
    let serial = x509.tbs_certificate.raw_serial().to_vec();
    let mut crl = issue::crl(sti_ica, &[serial])?;
    if let Some(kept) = previous.unchanged_crl(CRL_FILE, &crl.der)? {
        crl = kept;
    }
    let desc = format!(
        "CRL of the STI-ICA (PEM; served as DER at {crl_url}): revokes `sti-sp-revoked.pem`"
    );
    fx.add_crl(CRL_FILE, &crl, Meta::new(Kind::IntermediateCa, desc))
}

/// The TLS PKI: a certificate per NF host, and a rogue AF's.
fn tls_pki(
    fx: &mut Fixture,
    world: &World,
    previous: &Previous,
    rogue_ca: &IssuedCert,
) -> Result<()> {
    let tls_ca = previous.issue("tls-ca", |k| {
        issue::root_ca("Testbed TLS CA", TESTBED_ORG, k)
    })?;
    let desc = "Testbed TLS CA, self-signed: the TLS trust anchor of every NF";
    fx.add("tls-ca", &tls_ca, &[], Meta::new(Kind::Ca, desc))?;

    for nf in &world.nfs {
        let stem = format!("tls/{}", nf.host);
        let cert = previous.issue(&stem, |k| issue::tls_node(&nf.host, &tls_ca, k))?;
        let desc = format!(
            "TLS certificate of {} (`{}`), server and client",
            nf.name, nf.id
        );
        let meta = Meta::new(Kind::Tls, desc).host(&nf.host);
        fx.add(&stem, &cert, &[&tls_ca], meta)?;
    }

    let cert = previous.issue(ROGUE_AF_STEM, |k| {
        issue::tls_node(ROGUE_AF_HOST, rogue_ca, k)
    })?;
    let desc = format!("Bad: TLS client certificate for {ROGUE_AF_HOST} issued by the Rogue CA");
    let meta = Meta::new(Kind::Tls, desc)
        .host(ROGUE_AF_HOST)
        .negative(Negative::RogueIssuer);
    fx.add(ROGUE_AF_STEM, &cert, &[rogue_ca], meta)?;
    Ok(())
}

/// The UE certificates, under the UE CA.
fn ue_pki(fx: &mut Fixture, world: &World, previous: &Previous) -> Result<()> {
    let ue_ca = previous.issue("ue-ca", |k| issue::root_ca("Testbed UE CA", TESTBED_ORG, k))?;
    let desc = "Testbed UE CA, self-signed; issues the UE certificates";
    fx.add("ue-ca", &ue_ca, &[], Meta::new(Kind::Ca, desc))?;

    for ue in &world.ues {
        let names = UeNames {
            name: &ue.name,
            impu: &ue.impu,
            tn: &ue.tn,
        };
        let stem = format!("ue/{}", ue.id);
        let cert = previous.issue(&stem, |k| issue::ue(&names, &ue_ca, k))?;
        let desc = format!(
            "UE certificate of {} (`{}`): {}, tel:{}",
            ue.name, ue.id, ue.impu, ue.tn
        );
        fx.add(&stem, &cert, &[], Meta::new(Kind::Ue, desc).ue(&ue.id))?;
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
                    Format::Certificate | Format::Crl => meta.description.clone(),
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

impl Fixture {
    /// Adds a CRL file at `path`: its index entry names the CRL's issuer as both subject and
    /// issuer, and its this-update and next-update as the validity.
    fn add_crl(&mut self, path: &str, crl: &IssuedCrl, meta: Meta) -> Result<()> {
        let (_, parsed) = x509_parser::parse_x509_crl(&crl.der)
            .map_err(|e| anyhow::anyhow!("re-parsing {path}: {e}"))?;
        let Some(next_update) = parsed.next_update() else {
            bail!("{path}: a CRL without nextUpdate");
        };
        let issuer = parsed.issuer().to_string();
        let entry = IndexEntry {
            path: path.to_owned(),
            kind: meta.kind,
            format: Format::Crl,
            subject: issuer.clone(),
            issuer,
            not_before: rfc3339(parsed.last_update().to_datetime())?,
            not_after: rfc3339(next_update.to_datetime())?,
            spc: meta.spc,
            host: meta.host,
            ue: meta.ue,
            negative: meta.negative,
            description: meta.description,
        };
        if self.index.get(path).is_some() {
            bail!("two files would be written to {path}");
        }
        self.files.push((path.to_owned(), crl.pem.clone()));
        self.index.files.push(entry);
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
pub(crate) fn checked_relative(rel: &str) -> Result<&Path> {
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
        [[nf]]
        id = "sti-repo"
        name = "STI repository"
        host = "certs.sti.example"
        [[ue]]
        id = "ue-a"
        name = "UE-A"
        impu = "sip:+1@a.example"
        tn = "+1"
    "#;

    #[test]
    fn generates_expected_file_set() {
        let world = World::from_toml(WORLD).unwrap();
        let fx = generate(&world, &Previous::default()).unwrap();
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
            "sti-sp-revoked",
            "sti-sp-wrongtn",
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
        assert!(paths.contains(&CRL_FILE));
        assert_eq!(fx.index.get(CRL_FILE).unwrap().format, Format::Crl);
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
        let fx = generate(&world, &Previous::default()).unwrap();
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
        assert!(generate(&world, &Previous::default()).is_err());
    }

    #[test]
    fn a_world_without_the_sti_repository_is_an_error() {
        let world = World::from_toml(&WORLD.replace("sti-repo", "other")).unwrap();
        assert!(generate(&world, &Previous::default()).is_err());
    }

    #[test]
    fn a_second_run_keeps_every_key_and_every_unchanged_file() {
        let world = World::from_toml(WORLD).unwrap();
        let first = generate(&world, &Previous::default()).unwrap();
        let previous = Previous::from_files(first.files.iter().cloned());
        let second = generate(&world, &previous).unwrap();
        assert_eq!(second.files, first.files, "byte for byte");

        // A changed certificate keeps its key; its file changes, the others do not.
        let mut changed = WORLD.replace("name = \"b.example\"", "name = \"c.example\"");
        changed.push('\n');
        let world = World::from_toml(&changed).unwrap();
        let third = generate(&world, &previous).unwrap();
        for ((path, old), (same_path, new)) in first.files.iter().zip(&third.files) {
            assert_eq!(path, same_path);
            let differs = path.starts_with("sti-sp-1002.") && !path.ends_with(".key.pem");
            assert_eq!(old != new, differs, "{path}");
        }
    }

    #[test]
    fn refuses_paths_outside_output() {
        assert!(checked_relative("../x.pem").is_err());
        assert!(checked_relative("/etc/x.pem").is_err());
        assert!(checked_relative("tls/x.pem").is_ok());
    }
}
