//! The verification pipeline of RFC 8224 §6.2 with SHAKEN's certificate rules (RFC 8588, RFC
//! 8226) and RCD integrity (RFC 9795), as a verification service (STI-VS) runs it.
//!
//! Pure: the certificate behind `x5u` comes from a [`CertFetcher`] the caller supplies (an HTTPS
//! client with a cache in the STI-VS, a file in the `testbed verify` command), and `now` is an
//! argument. The outcome is a [`Verified`] or an [`Error`], which [`Error::sip_answer`] and
//! [`Error::verstat`] turn into what goes on the wire.

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use crate::cert::{self, CertInfo, TrustAnchors};
use crate::identity::IdentityHeader;
use crate::jose::{self, CompactJws};
use crate::passport::{self, Attest, Claims, Decoded, Header, Ppt, canonical_tn};
use crate::rcd::{self, DigestStatus, Fetched, Rcd};
use crate::{Error, FetchError};

/// Where a verifier gets the certificate chain an `x5u` names.
pub trait CertFetcher {
    /// Returns the PEM chain (end-entity first) served at `x5u`.
    fn fetch(&self, x5u: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// An identity as SIP carries it, for comparison with `orig`/`dest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// A telephone number (any form; compared in canonical form).
    Tn(String),
    /// A SIP/SIPS URI without a telephone number.
    Uri(String),
}

impl Party {
    /// Takes a number from a `tel:` URI or a SIP URI whose user part is a global number
    /// (`sip:+1202…@host;user=phone`), else the URI itself.
    pub fn from_uri(uri: &str) -> Party {
        let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
        let user = if let Some(rest) = uri.strip_prefix("tel:") {
            Some(rest.split(';').next().unwrap_or_default())
        } else {
            uri.strip_prefix("sip:")
                .or_else(|| uri.strip_prefix("sips:"))
                .and_then(|r| r.split_once('@'))
                .map(|(user, _)| user.split(';').next().unwrap_or_default())
                .filter(|u| u.starts_with('+'))
        };
        match user {
            Some(tn) if !canonical_tn(tn).is_empty() => Party::Tn(tn.to_owned()),
            _ => Party::Uri(uri.to_owned()),
        }
    }

    fn matches_orig(&self, orig: &passport::Orig) -> bool {
        match self {
            Party::Tn(tn) => orig.tn.as_deref() == Some(canonical_tn(tn).as_str()),
            Party::Uri(uri) => orig.uri.as_deref() == Some(uri.as_str()),
        }
    }

    fn matches_dest(&self, dest: &passport::Dest) -> bool {
        match self {
            Party::Tn(tn) => dest.tn.iter().flatten().any(|d| *d == canonical_tn(tn)),
            Party::Uri(uri) => dest.uri.iter().flatten().any(|d| d == uri),
        }
    }

    fn text(&self) -> String {
        match self {
            Party::Tn(tn) => format!("tn {}", canonical_tn(tn)),
            Party::Uri(uri) => format!("uri {uri}"),
        }
    }
}

/// The SIP facts a PASSporT must agree with. `None` skips a comparison (e.g. `testbed verify`
/// given only a token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SipFacts {
    /// From the P-Asserted-Identity, else the From header.
    pub orig: Option<Party>,
    /// From the To header or the Request-URI.
    pub dest: Option<Party>,
    /// The Date header, seconds since the epoch.
    pub date: Option<i64>,
}

/// Verifier settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Largest accepted distance between `iat` and now (and the Date header), seconds.
    /// RFC 8224 §6.2.1 recommends 60.
    pub freshness: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { freshness: 60 }
    }
}

/// The RCD part of a verified PASSporT.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RcdOutcome {
    pub rcd: Rcd,
    /// One status per `rcdi` entry; empty when the token carries no `rcdi`.
    pub digests: BTreeMap<String, DigestStatus>,
}

impl RcdOutcome {
    /// RCD may be shown only if every digest matched (RFC 9795 §6.2.2). Without `rcdi`, the RCD
    /// is as trustworthy as the signature (nothing behind a URI is covered).
    pub fn intact(&self) -> bool {
        self.digests.values().all(DigestStatus::is_match)
    }
}

/// A PASSporT that passed every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verified {
    pub ppt: Option<Ppt>,
    #[serde(skip)]
    pub header: Header,
    #[serde(skip)]
    pub claims: Claims,
    /// The claims exactly as carried (for display and the Ms `validClaims`).
    pub claims_json: serde_json::Value,
    pub attest: Option<Attest>,
    pub cert: CertInfo,
    pub rcd: Option<RcdOutcome>,
}

/// Verifies one Identity header. `fetched` holds the content behind RCD URIs (jCard, icon) for
/// the `rcdi` check; a URI missing from it is reported as not fetched, not as a mismatch.
pub async fn verify<F: CertFetcher>(
    identity: &IdentityHeader,
    facts: &SipFacts,
    now: i64,
    fetcher: &F,
    anchors: &TrustAnchors,
    policy: &Policy,
    fetched: &Fetched,
) -> Result<Verified, Error> {
    // RFC 8224 §4.1: only ES256 is defined for SHAKEN.
    if let Some(alg) = &identity.alg
        && alg != passport::ES256
    {
        return Err(Error::UnsupportedAlg { alg: alg.clone() });
    }
    let Decoded {
        passport,
        claims_json,
        ..
    } = passport::decode(&identity.jws)?;
    let header = &passport.header;
    if header.alg != passport::ES256 {
        return Err(Error::UnsupportedAlg {
            alg: header.alg.clone(),
        });
    }
    if header.typ.as_deref() != Some(passport::TYP) {
        return Err(Error::WrongTyp {
            typ: header.typ.clone(),
        });
    }
    // RFC 8225 §8.1: the header parameter and the token's own ppt must agree.
    if identity.ppt != header.ppt {
        return Err(Error::PptMismatch {
            param: identity.ppt.clone(),
            token: header.ppt.clone(),
        });
    }
    let ppt = passport.ppt()?;
    if ppt == Some(Ppt::Shaken)
        && (passport.claims.attest.is_none() || passport.claims.origid.is_none())
    {
        return Err(Error::MissingClaim {
            claim: if passport.claims.attest.is_none() {
                "attest"
            } else {
                "origid"
            },
        });
    }
    if ppt == Some(Ppt::Rcd) && passport.claims.rcd.is_none() {
        return Err(Error::MissingClaim { claim: "rcd" });
    }
    // RFC 8224 §6.2.3: the info parameter names the credential the signature is checked with.
    if identity.info != header.x5u {
        return Err(Error::InfoMismatch {
            info: identity.info.clone(),
            x5u: header.x5u.clone(),
        });
    }
    let iat = passport.claims.iat;
    if (now - iat).abs() > policy.freshness {
        return Err(Error::Stale {
            iat,
            reference: now,
            freshness: policy.freshness,
            against: "now",
        });
    }
    if let Some(date) = facts.date
        && (date - iat).abs() > policy.freshness
    {
        return Err(Error::Stale {
            iat,
            reference: date,
            freshness: policy.freshness,
            against: "Date header",
        });
    }
    if let Some(orig) = &facts.orig
        && !orig.matches_orig(&passport.claims.orig)
    {
        return Err(Error::OrigMismatch {
            sip: orig.text(),
            token: serde_json::to_string(&passport.claims.orig).unwrap_or_default(),
        });
    }
    if let Some(dest) = &facts.dest
        && !dest.matches_dest(&passport.claims.dest)
    {
        return Err(Error::DestMismatch {
            sip: dest.text(),
            token: serde_json::to_string(&passport.claims.dest).unwrap_or_default(),
        });
    }
    let pem = fetcher
        .fetch(&header.x5u)
        .await
        .map_err(|fault| Error::X5uUnavailable {
            x5u: header.x5u.clone(),
            fault,
        })?;
    let (key, cert) = cert::validate_chain(&pem, anchors, now)?;
    jose::verify_es256(&key, &CompactJws::split(&identity.jws)?)?;
    let rcd = passport.claims.rcd.clone().map(|rcd_claim| {
        let digests = passport
            .claims
            .rcdi
            .as_ref()
            .map(|rcdi| rcd::check_rcdi(&rcd_claim, rcdi, fetched))
            .unwrap_or_default();
        RcdOutcome {
            rcd: rcd_claim,
            digests,
        }
    });
    Ok(Verified {
        ppt,
        attest: passport.claims.attest,
        header: passport.header,
        claims: passport.claims,
        claims_json,
        cert,
        rcd,
    })
}

/// A fetcher over an in-memory map (tests, and `testbed verify --cert`).
#[derive(Debug, Clone, Default)]
pub struct StaticFetcher {
    pub chains: BTreeMap<String, Vec<u8>>,
    /// Served for any x5u not in `chains`, when set.
    pub fallback: Option<Vec<u8>>,
}

impl CertFetcher for StaticFetcher {
    fn fetch(&self, x5u: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send {
        let found = self.chains.get(x5u).or(self.fallback.as_ref()).cloned();
        std::future::ready(found.ok_or(FetchError::NotFound))
    }
}
