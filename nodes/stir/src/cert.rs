//! SHAKEN certificates (RFC 8226, ATIS-1000080): parsing the PEM chain an `x5u` URL serves,
//! building a path from the end-entity certificate to a trust anchor, checking validity periods
//! and keyUsage, reading the TNAuthList extension that says which numbers or service provider
//! the key may sign for ([`authorises`]) and the CRL distribution point, and checking the
//! end-entity certificate against its issuer's CRL ([`check_revocation`]).
//! The same path building serves other end-entity certificates ([`validate_end_entity`]): a UE
//! certificate whose subject alternative names say which identities its key stands for.
//!
//! Signatures on certificates are checked with the same P-256 code as PASSporTs; only
//! `ecdsa-with-SHA256` is accepted, as SHAKEN requires.

use std::fmt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use p256::ecdsa::{Signature, VerifyingKey};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::Oid;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer as _;

use crate::Error;
use crate::es256::{self, Encoding};

mod crl;
mod tn_auth_list;

pub use crl::{CrlFault, crl_der};
pub use tn_auth_list::{OID_TN_AUTH_LIST, TnEntry, authorises, parse_tn_auth_list};

/// ecdsa-with-SHA256 (RFC 5758 §3.2).
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// Longest chain accepted (end-entity, intermediates, anchor).
const MAX_DEPTH: usize = 5;

/// Trust anchors: DER certificates of the roots a verifier accepts (the STI-CA), with the
/// chains and CRLs already validated against them ([`validate_chain_cached`],
/// [`check_revocation_cached`]). Clones share that cache; [`TrustAnchors::extend`] empties it.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    ders: Vec<Vec<u8>>,
    validated: Arc<Mutex<Validated>>,
}

/// Most entries the validation cache holds; past it, the cache starts again empty.
const CACHE_ENTRIES: usize = 1024;

/// Chains and CRL checks that passed against these anchors. A chain is keyed by its `x5u` and
/// the SHA-256 of the bytes served there (new bytes at the same URL are validated afresh), and
/// is reused only while `now` lies inside every certificate's validity on its path. A CRL check
/// is keyed by the chain's digest and the CRL's, and is reused only inside the CRL's
/// thisUpdate..nextUpdate (and the chain's window). Only successes are kept: a failing chain or
/// a revoked certificate is judged in full each time.
#[derive(Debug, Default)]
struct Validated {
    chains: HashMap<ChainId, Window<(VerifyingKey, CertInfo)>>,
    crls: HashMap<([u8; 32], [u8; 32]), Window<()>>,
}

/// A served chain: its `x5u` and the SHA-256 of the bytes served there.
type ChainId = (String, [u8; 32]);

/// A cached outcome and the span (Unix seconds, inclusive) in which it may be reused.
#[derive(Debug, Clone)]
struct Window<T> {
    value: T,
    from: i64,
    until: i64,
}

/// The outcome cached under `key` in the cache `pick` selects, if `now` is inside its window.
fn cached<K: Eq + std::hash::Hash, T: Clone>(
    anchors: &TrustAnchors,
    pick: impl FnOnce(&Validated) -> &HashMap<K, Window<T>>,
    key: &K,
    now: i64,
) -> Option<T> {
    let cache = anchors.validated.lock().unwrap_or_else(|e| e.into_inner());
    let hit = pick(&cache).get(key)?;
    (hit.from <= now && now <= hit.until).then(|| hit.value.clone())
}

/// Keeps `window` under `key` in the cache `pick` selects (emptied first when full).
fn remember<K: Eq + std::hash::Hash, T>(
    anchors: &TrustAnchors,
    pick: impl FnOnce(&mut Validated) -> &mut HashMap<K, Window<T>>,
    key: K,
    window: Window<T>,
) {
    let mut cache = anchors.validated.lock().unwrap_or_else(|e| e.into_inner());
    let map = pick(&mut cache);
    if map.len() >= CACHE_ENTRIES {
        map.clear();
    }
    map.insert(key, window);
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl TrustAnchors {
    /// Every certificate in a PEM file becomes an anchor.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let ders = pem_certificates(pem)?;
        for der in &ders {
            parse(der)?;
        }
        Ok(Self {
            ders,
            validated: Arc::default(),
        })
    }

    /// How many chains and CRL checks the validation cache holds.
    pub fn cached(&self) -> (usize, usize) {
        let v = self.validated.lock().unwrap_or_else(|e| e.into_inner());
        (v.chains.len(), v.crls.len())
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.ders.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ders.is_empty()
    }

    /// Adds the anchors of `other`.
    pub fn extend(&mut self, other: TrustAnchors) {
        self.ders.extend(other.ders);
        // New anchors may validate what failed before; the old cache was judged without them.
        self.validated = Arc::default();
    }
}

/// What a verified chain tells about the signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject of the end-entity certificate, RFC 4514 form (e.g. `CN=SHAKEN 1001, O=…`).
    pub subject: String,
    /// Issuer of the end-entity certificate, RFC 4514 form.
    pub issuer: String,
    /// Subjects from the end-entity up to and including the trust anchor.
    pub path: Vec<String>,
    /// Start of the end-entity's validity, seconds since the epoch.
    pub not_before: i64,
    /// End of the end-entity's validity, seconds since the epoch.
    pub not_after: i64,
    /// The end-entity's TNAuthList (RFC 8226 §9).
    pub tn_auth_list: Vec<TnEntry>,
    /// The end-entity's serial number, hex (`1c:02:…`).
    pub serial: String,
    /// The URIs of the end-entity's CRL distribution points (RFC 5280 §4.2.1.13).
    pub crl_urls: Vec<String>,
}

impl CertInfo {
    /// The Service Provider Codes the certificate is authorised for.
    pub fn spcs(&self) -> impl Iterator<Item = &str> {
        self.tn_auth_list.iter().filter_map(|e| match e {
            TnEntry::Spc(spc) => Some(spc.as_str()),
            _ => None,
        })
    }
}

/// Why a certificate chain cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFault {
    /// The x5u content holds no certificate.
    Empty,
    /// A certificate does not parse as X.509 DER.
    Unparsable {
        /// Its position in the chain, 0 for the end-entity.
        index: usize,
    },
    /// No anchor or chain certificate issued this one.
    NoIssuer {
        /// The orphan's subject.
        subject: String,
        /// The issuer it names.
        issuer: String,
    },
    /// The issuer's signature on this certificate is wrong.
    BadSignature {
        /// The certificate's subject.
        subject: String,
    },
    /// A certificate that issues others is not a CA.
    NotCa {
        /// The certificate's subject.
        subject: String,
    },
    /// Not `ecdsa-with-SHA256` / not a P-256 key.
    UnsupportedAlgorithm {
        /// The certificate's subject.
        subject: String,
    },
    /// Longer than the depth limit.
    TooLong,
}

impl fmt::Display for ChainFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainFault::Empty => f.write_str("no certificate in the x5u content"),
            ChainFault::Unparsable { index } => {
                write!(f, "certificate {index} of the chain is not valid X.509")
            }
            ChainFault::NoIssuer { subject, issuer } => {
                write!(
                    f,
                    "no trust anchor or chain certificate named {issuer:?} issued {subject:?}"
                )
            }
            ChainFault::BadSignature { subject } => {
                write!(f, "issuer's signature on {subject:?} does not verify")
            }
            ChainFault::NotCa { subject } => {
                write!(f, "{subject:?} issues certificates but is not a CA")
            }
            ChainFault::UnsupportedAlgorithm { subject } => {
                write!(
                    f,
                    "{subject:?} is not signed with ecdsa-with-SHA256 by a P-256 key"
                )
            }
            ChainFault::TooLong => write!(f, "chain longer than {MAX_DEPTH} certificates"),
        }
    }
}

/// DER blocks of every `CERTIFICATE` in a PEM text.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut ders = Vec::new();
    for block in Pem::iter_from_buffer(pem) {
        match block {
            Ok(block) if block.label == "CERTIFICATE" => ders.push(block.contents),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    if ders.is_empty() {
        return Err(Error::UntrustedCertificate {
            fault: ChainFault::Empty,
        });
    }
    Ok(ders)
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(Error::UntrustedCertificate {
            fault: ChainFault::Unparsable { index: 0 },
        }),
    }
}

fn subject(cert: &X509Certificate<'_>) -> String {
    cert.subject().to_string()
}

/// The P-256 key of a certificate.
pub fn public_key(cert: &X509Certificate<'_>) -> Result<VerifyingKey, Error> {
    VerifyingKey::from_sec1_bytes(&cert.tbs_certificate.subject_pki.subject_public_key.data)
        .map_err(|_| Error::UntrustedCertificate {
            fault: ChainFault::UnsupportedAlgorithm {
                subject: subject(cert),
            },
        })
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(), ChainFault> {
    let unsupported = || ChainFault::UnsupportedAlgorithm {
        subject: subject(cert),
    };
    let ecdsa_sha256: Oid<'static> = OID_ECDSA_SHA256.parse().map_err(|_| unsupported())?;
    if cert.signature_algorithm.algorithm != ecdsa_sha256 {
        return Err(unsupported());
    }
    let key = &issuer.tbs_certificate.subject_pki.subject_public_key.data;
    if VerifyingKey::from_sec1_bytes(key).is_err() {
        return Err(ChainFault::UnsupportedAlgorithm {
            subject: subject(issuer),
        });
    }
    let signature = &cert.signature_value.data;
    if Signature::from_der(signature).is_err() {
        return Err(unsupported());
    }
    if es256::verify(key, cert.tbs_certificate.as_ref(), signature, Encoding::Der) {
        Ok(())
    } else {
        Err(ChainFault::BadSignature {
            subject: subject(cert),
        })
    }
}

/// Validates the chain an x5u served (end-entity first) against `anchors` at `now` (seconds since
/// the epoch), requires keyUsage digitalSignature and a TNAuthList on the end-entity
/// (ATIS-1000080), and returns the end-entity's key and facts.
pub fn validate_chain(
    pem: &[u8],
    anchors: &TrustAnchors,
    now: i64,
) -> Result<(VerifyingKey, CertInfo), Error> {
    let ders = pem_certificates(pem)?;
    let chain = parse_chain(&ders)?;
    let path = path_to_anchor(&chain, anchors, now)?;
    let leaf = leaf(&chain)?;
    signs_digitally(leaf)?;
    let tn_auth_list = tn_auth_list(leaf)?;
    let key = public_key(leaf)?;
    let validity = leaf.validity();
    Ok((
        key,
        CertInfo {
            subject: subject(leaf),
            issuer: leaf.issuer().to_string(),
            path,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            tn_auth_list,
            serial: leaf.tbs_certificate.raw_serial_as_string(),
            crl_urls: crl_urls(leaf),
        },
    ))
}

/// [`validate_chain`] for the chain served at `x5u`, reusing an earlier success for the same
/// URL and bytes while `now` is inside the validity of every certificate on its path (see
/// [`TrustAnchors`]). Same answer as [`validate_chain`], without redoing the certificate
/// signatures on every PASSporT.
pub fn validate_chain_cached(
    x5u: &str,
    pem: &[u8],
    anchors: &TrustAnchors,
    now: i64,
) -> Result<(VerifyingKey, CertInfo), Error> {
    let id = (x5u.to_owned(), digest(pem));
    if let Some(hit) = cached(anchors, |v| &v.chains, &id, now) {
        return Ok(hit);
    }
    let (key, info) = validate_chain(pem, anchors, now)?;
    let (from, until) = chain_window(pem, anchors, &info.path);
    let value = (key, info.clone());
    remember(
        anchors,
        |v| &mut v.chains,
        id,
        Window { value, from, until },
    );
    Ok((key, info))
}

/// The span in which every certificate of `pem` and the anchors on `path` are valid.
fn chain_window(pem: &[u8], anchors: &TrustAnchors, path: &[String]) -> (i64, i64) {
    let ders = pem_certificates(pem).unwrap_or_default();
    let certs = ders
        .iter()
        .chain(anchors.ders.iter())
        .filter_map(|d| parse(d).ok())
        .collect::<Vec<_>>();
    let on_path = certs
        .iter()
        .enumerate()
        .filter(|(i, c)| *i < ders.len() || path.contains(&subject(c)));
    on_path.fold((i64::MIN, i64::MAX), |(from, until), (_, c)| {
        let v = c.validity();
        (
            from.max(v.not_before.timestamp()),
            until.min(v.not_after.timestamp()),
        )
    })
}

/// [`check_revocation`], reusing an earlier "not revoked" for the same chain and CRL bytes while
/// `now` is inside the CRL's thisUpdate..nextUpdate and the chain's validity (see
/// [`TrustAnchors`]).
pub fn check_revocation_cached(
    pem: &[u8],
    anchors: &TrustAnchors,
    crl: &[u8],
    url: &str,
    now: i64,
) -> Result<(), Error> {
    let id = (digest(pem), digest(crl));
    if cached(anchors, |v| &v.crls, &id, now).is_some() {
        return Ok(());
    }
    check_revocation(pem, anchors, crl, url, now)?;
    let (from, until) = crl::current_window(crl).unwrap_or((now, now));
    let chain = chain_window(pem, anchors, &[]);
    let window = Window {
        value: (),
        from: from.max(chain.0),
        until: until.min(chain.1),
    };
    remember(anchors, |v| &mut v.crls, id, window);
    Ok(())
}

/// Checks the end-entity certificate of `pem` (the chain [`validate_chain`] accepted) against
/// `crl`, its issuer's CRL fetched from `url`, at `now`. The CRL is checked with the key of the
/// end-entity's issuer, found in the chain or among `anchors`. [`Error::Revoked`] when the CRL
/// lists the certificate; [`Error::BadCrl`] when the CRL cannot decide.
pub fn check_revocation(
    pem: &[u8],
    anchors: &TrustAnchors,
    crl: &[u8],
    url: &str,
    now: i64,
) -> Result<(), Error> {
    let ders = pem_certificates(pem)?;
    let chain = parse_chain(&ders)?;
    let leaf = leaf(&chain)?;
    let roots: Vec<X509Certificate<'_>> =
        anchors.ders.iter().filter_map(|d| parse(d).ok()).collect();
    let issuer = chain
        .iter()
        .skip(1)
        .chain(roots.iter())
        .find(|c| c.subject() == leaf.issuer() && signed_by(leaf, c).is_ok());
    crl::check(leaf, issuer, crl, url, now)
}

/// An end-entity certificate that chains to a trust anchor, for uses other than SHAKEN (a UE
/// certificate that proves which identities a key belongs to): its key and the URIs it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndEntity {
    /// Its P-256 key.
    pub key: VerifyingKey,
    /// Its subject, RFC 4514 form.
    pub subject: String,
    /// Subjects from it up to and including the trust anchor.
    pub path: Vec<String>,
    /// Start of its validity (seconds since the epoch).
    pub not_before: i64,
    /// End of its validity (seconds since the epoch).
    pub not_after: i64,
    /// The `uniformResourceIdentifier` entries of its subject alternative names (RFC 5280
    /// §4.2.1.6), in order (e.g. a SIP and a tel URI).
    pub uris: Vec<String>,
}

impl EndEntity {
    /// Whether its subject alternative names include `uri` (exact comparison).
    pub fn names(&self, uri: &str) -> bool {
        self.uris.iter().any(|u| u == uri)
    }
}

/// Validates an end-entity certificate (the first in `pem`; any others are candidate
/// intermediates) against `anchors` at `now` (seconds since the epoch): a path to an anchor with
/// `ecdsa-with-SHA256` signatures by P-256 keys, every certificate on it valid at `now`, and a
/// P-256 key. Unlike [`validate_chain`] it requires no TNAuthList; it returns the key and the
/// URIs the certificate names, for the caller to match against the identity it expects.
pub fn validate_end_entity(
    pem: &[u8],
    anchors: &TrustAnchors,
    now: i64,
) -> Result<EndEntity, Error> {
    let ders = pem_certificates(pem)?;
    let chain = parse_chain(&ders)?;
    let path = path_to_anchor(&chain, anchors, now)?;
    let leaf = leaf(&chain)?;
    let uris = san_uris(leaf)?;
    let key = public_key(leaf)?;
    let validity = leaf.validity();
    Ok(EndEntity {
        key,
        subject: subject(leaf),
        path,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        uris,
    })
}

/// Every certificate of a chain, parsed; a fault names the index of the one that is not X.509.
fn parse_chain(ders: &[Vec<u8>]) -> Result<Vec<X509Certificate<'_>>, Error> {
    ders.iter()
        .enumerate()
        .map(|(index, der)| {
            parse(der).map_err(|_| Error::UntrustedCertificate {
                fault: ChainFault::Unparsable { index },
            })
        })
        .collect()
}

/// The end-entity certificate: the first of the chain.
fn leaf<'c, 'a>(chain: &'c [X509Certificate<'a>]) -> Result<&'c X509Certificate<'a>, Error> {
    chain.first().ok_or(Error::UntrustedCertificate {
        fault: ChainFault::Empty,
    })
}

/// Builds the path from the end-entity (`chain[0]`) through the chain's other certificates to
/// one of `anchors`, checking each signature, that each issuer in the chain is a CA, and that
/// every certificate on the path is valid at `now`. Returns the subjects along the path.
fn path_to_anchor(
    chain: &[X509Certificate<'_>],
    anchors: &TrustAnchors,
    now: i64,
) -> Result<Vec<String>, Error> {
    let roots: Vec<X509Certificate<'_>> =
        anchors.ders.iter().filter_map(|d| parse(d).ok()).collect();
    let leaf = leaf(chain)?;
    let mut path = vec![subject(leaf)];
    let mut current = leaf;
    let mut used = vec![false; chain.len()];
    used[0] = true;
    check_validity(current, now)?;
    loop {
        if path.len() > MAX_DEPTH {
            return Err(Error::UntrustedCertificate {
                fault: ChainFault::TooLong,
            });
        }
        // An anchor that issued the current certificate ends the path.
        if let Some(root) = roots
            .iter()
            .find(|r| r.subject() == current.issuer() && signed_by(current, r).is_ok())
        {
            check_validity(root, now)?;
            if !std::ptr::eq(root, current) && subject(root) != subject(current) {
                path.push(subject(root));
            }
            return Ok(path);
        }
        let i = next_issuer(chain, &used, current)?;
        let issuer = &chain[i];
        signed_by(current, issuer).map_err(|fault| Error::UntrustedCertificate { fault })?;
        if !issuer.is_ca() {
            return Err(Error::UntrustedCertificate {
                fault: ChainFault::NotCa {
                    subject: subject(issuer),
                },
            });
        }
        check_validity(issuer, now)?;
        used[i] = true;
        path.push(subject(issuer));
        current = issuer;
    }
}

/// The index of the unused chain certificate named as `current`'s issuer.
fn next_issuer(
    chain: &[X509Certificate<'_>],
    used: &[bool],
    current: &X509Certificate<'_>,
) -> Result<usize, Error> {
    chain
        .iter()
        .enumerate()
        .find(|(i, c)| !used[*i] && c.subject() == current.issuer())
        .map(|(i, _)| i)
        .ok_or_else(|| Error::UntrustedCertificate {
            fault: ChainFault::NoIssuer {
                subject: subject(current),
                issuer: current.issuer().to_string(),
            },
        })
}

/// The URIs among a certificate's subject alternative names (none when it has no SAN).
fn san_uris(cert: &X509Certificate<'_>) -> Result<Vec<String>, Error> {
    let san = cert
        .subject_alternative_name()
        .map_err(|_| Error::BadSubjectAltName {
            subject: subject(cert),
        })?;
    Ok(san
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(u) => Some((*u).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

fn check_validity(cert: &X509Certificate<'_>, now: i64) -> Result<(), Error> {
    let v = cert.validity();
    let (not_before, not_after) = (v.not_before.timestamp(), v.not_after.timestamp());
    if now < not_before || now > not_after {
        return Err(Error::CertificateNotValid {
            subject: subject(cert),
            not_before,
            not_after,
            now,
        });
    }
    Ok(())
}

/// Reads the TNAuthList of an end-entity certificate; SHAKEN requires one (RFC 8226 §9). Which
/// numbers it covers is checked against the PASSporT's `orig` ([`authorises`]).
fn tn_auth_list(cert: &X509Certificate<'_>) -> Result<Vec<TnEntry>, Error> {
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == OID_TN_AUTH_LIST)
        .ok_or_else(|| Error::NoTnAuthList {
            subject: subject(cert),
        })?;
    parse_tn_auth_list(ext.value).ok_or_else(|| Error::BadTnAuthList {
        subject: subject(cert),
    })
}

/// The end-entity key is for signatures: keyUsage present with digitalSignature (RFC 5280
/// §4.2.1.3; ATIS-1000080 requires the extension on STI certificates).
fn signs_digitally(cert: &X509Certificate<'_>) -> Result<(), Error> {
    match cert.key_usage() {
        Ok(Some(ku)) if ku.value.digital_signature() => Ok(()),
        _ => Err(Error::KeyUsage {
            subject: subject(cert),
        }),
    }
}

/// The URIs of a certificate's CRL distribution points (full names only).
fn crl_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() else {
            continue;
        };
        for point in points.iter() {
            if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                urls.extend(names.iter().filter_map(|n| match n {
                    GeneralName::URI(u) => Some((*u).to_owned()),
                    _ => None,
                }));
            }
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pem_without_certificates_is_empty_chain() {
        assert!(matches!(
            pem_certificates(b"hello"),
            Err(Error::UntrustedCertificate {
                fault: ChainFault::Empty
            })
        ));
    }
}
