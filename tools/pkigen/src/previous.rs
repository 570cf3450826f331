//! The fixture PKI already on disk ([`Previous`]), so that regenerating keeps it: every key is
//! reused, and a certificate or CRL whose content (TBSCertificate, TBSCertList) comes out the
//! same keeps its file byte for byte. Regenerating then changes only what the world or the
//! generator changed, and signatures made with the fixture keys (PASSporTs in snapshots) stay
//! the same.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rcgen::KeyPair;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::fixture::checked_relative;
use crate::index::Index;
use crate::issue::{self, IssuedCert, IssuedCrl};

/// The fixture PKI already on disk, so a run keeps it: every key it has is reused, and a
/// certificate (or CRL) whose content comes out unchanged keeps its file byte for byte (only the
/// ECDSA signature would differ). Empty ([`Previous::default`]): every key is new.
#[derive(Debug, Default)]
pub struct Previous {
    /// File contents by path relative to the PKI directory.
    files: BTreeMap<String, String>,
}

impl Previous {
    /// Every file `index.toml` in `dir` lists (nothing when there is no index yet).
    pub fn load(dir: &Path) -> Result<Self> {
        let index_path = dir.join("index.toml");
        if !index_path.exists() {
            return Ok(Self::default());
        }
        let mut files = BTreeMap::new();
        for entry in Index::load(&index_path)?.files {
            let path = dir.join(checked_relative(&entry.path)?);
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.insert(entry.path, text);
            }
        }
        Ok(Self { files })
    }

    /// These files (path relative to the PKI directory, contents), as if loaded.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            files: files.into_iter().collect(),
        }
    }

    /// Whether it holds any file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The key of `<stem>.pem`: the one in `<stem>.key.pem` if there is one, else a new one.
    pub fn key(&self, stem: &str) -> Result<KeyPair> {
        match self.files.get(&format!("{stem}.key.pem")) {
            Some(pem) => KeyPair::from_pem(pem).with_context(|| format!("reading {stem}.key.pem")),
            None => issue::new_key(),
        }
    }

    /// Issues `<stem>` with its kept key; keeps the old certificate file when the new one
    /// certifies the same content (same TBSCertificate bytes).
    pub(crate) fn issue(
        &self,
        stem: &str,
        make: impl FnOnce(KeyPair) -> Result<IssuedCert>,
    ) -> Result<IssuedCert> {
        let mut cert = make(self.key(stem)?)?;
        let path = format!("{stem}.pem");
        if let Some(old) = self.files.get(&path) {
            let old_der = single_der(old, "CERTIFICATE")
                .with_context(|| format!("reading the kept {path}"))?;
            if tbs_certificate(&old_der)? == tbs_certificate(&cert.cert_der)? {
                cert.cert_pem.clone_from(old);
                cert.cert_der = old_der;
            }
        }
        Ok(cert)
    }

    /// The kept CRL at `path` if it has the same content (TBSCertList) as `der`.
    pub(crate) fn unchanged_crl(&self, path: &str, der: &[u8]) -> Result<Option<IssuedCrl>> {
        let Some(old) = self.files.get(path) else {
            return Ok(None);
        };
        let old_der =
            single_der(old, "X509 CRL").with_context(|| format!("reading the kept {path}"))?;
        Ok(
            (tbs_cert_list(&old_der)? == tbs_cert_list(der)?).then(|| IssuedCrl {
                pem: old.clone(),
                der: old_der,
            }),
        )
    }
}

/// The DER of the one PEM block labelled `label` in `pem`.
fn single_der(pem: &str, label: &str) -> Result<Vec<u8>> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("not PEM: {e}"))?;
    if block.label != label {
        bail!("PEM block {:?}, expected {label:?}", block.label);
    }
    Ok(block.contents)
}

fn tbs_certificate(der: &[u8]) -> Result<Vec<u8>> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| anyhow::anyhow!("certificate: {e}"))?;
    Ok(cert.tbs_certificate.as_ref().to_vec())
}

fn tbs_cert_list(der: &[u8]) -> Result<Vec<u8>> {
    let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| anyhow::anyhow!("CRL: {e}"))?;
    Ok(crl.tbs_cert_list.as_ref().to_vec())
}
