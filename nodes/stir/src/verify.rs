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

/// One check the verifier ran, in the order it ran them: what the trace and the dashboard show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    /// What was compared, or why it failed.
    pub detail: String,
}

/// Every check run and the outcome. On failure the last check is the failed one.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub checks: Vec<Check>,
    pub outcome: Result<Verified, Error>,
}

/// Everything a verification needs besides the token.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a, F> {
    pub facts: &'a SipFacts,
    /// Seconds since the epoch.
    pub now: i64,
    pub fetcher: &'a F,
    pub anchors: &'a TrustAnchors,
    pub policy: &'a Policy,
    /// Content behind RCD URIs (jCard, icon) for the `rcdi` check; a URI missing here is
    /// reported as not fetched, not as a mismatch.
    pub fetched: &'a Fetched,
}

/// Verifies one Identity header; see [`verify_report`] for the checks it runs.
pub async fn verify<F: CertFetcher>(
    identity: &IdentityHeader,
    facts: &SipFacts,
    now: i64,
    fetcher: &F,
    anchors: &TrustAnchors,
    policy: &Policy,
    fetched: &Fetched,
) -> Result<Verified, Error> {
    let ctx = Context {
        facts,
        now,
        fetcher,
        anchors,
        policy,
        fetched,
    };
    verify_report(identity, &ctx).await.outcome
}

/// Verifies one Identity header and reports each check: the RFC 8224 §6.2 steps in order
/// (header parameters, token shape, freshness, identities, credential, signature), then the
/// RFC 9795 `rcdi` digests, which never fail the token, only its RCD.
pub async fn verify_report<F: CertFetcher>(
    identity: &IdentityHeader,
    ctx: &Context<'_, F>,
) -> Report {
    let mut checks = Vec::new();
    let outcome = run(identity, ctx, &mut checks).await;
    Report { checks, outcome }
}

/// Records a check and passes its result on.
fn check<T>(
    checks: &mut Vec<Check>,
    name: &'static str,
    result: Result<T, Error>,
    ok: impl FnOnce(&T) -> String,
) -> Result<T, Error> {
    let (passed, detail) = match &result {
        Ok(value) => (true, ok(value)),
        Err(error) => (false, format!("{error} → {}", error.sip_answer())),
    };
    checks.push(Check {
        name,
        passed,
        detail,
    });
    result
}

async fn run<F: CertFetcher>(
    identity: &IdentityHeader,
    ctx: &Context<'_, F>,
    checks: &mut Vec<Check>,
) -> Result<Verified, Error> {
    // RFC 8224 §4.1: only ES256 is defined for SHAKEN.
    let alg_param = match &identity.alg {
        Some(alg) if alg != passport::ES256 => Err(Error::UnsupportedAlg { alg: alg.clone() }),
        other => Ok(other.clone()),
    };
    check(checks, "alg parameter", alg_param, |a| {
        a.as_deref().map_or("absent".into(), |a| a.to_owned())
    })?;
    let decoded = check(
        checks,
        "PASSporT decodes",
        passport::decode(&identity.jws),
        |d| {
            format!(
                "JOSE header and {} claims",
                d.claims_json.as_object().map_or(0, |o| o.len())
            )
        },
    )?;
    let Decoded {
        passport,
        claims_json,
        ..
    } = decoded;
    let header = &passport.header;
    let alg = if header.alg == passport::ES256 {
        Ok(())
    } else {
        Err(Error::UnsupportedAlg {
            alg: header.alg.clone(),
        })
    };
    check(checks, "alg is ES256", alg, |_| "ES256".into())?;
    let typ = if header.typ.as_deref() == Some(passport::TYP) {
        Ok(())
    } else {
        Err(Error::WrongTyp {
            typ: header.typ.clone(),
        })
    };
    check(checks, "typ is passport", typ, |_| "passport".into())?;
    // RFC 8225 §8.1: the header parameter and the token's own ppt must agree.
    let ppt = if identity.ppt == header.ppt {
        passport.ppt()
    } else {
        Err(Error::PptMismatch {
            param: identity.ppt.clone(),
            token: header.ppt.clone(),
        })
    };
    let ppt = check(
        checks,
        "ppt known and matches the header parameter",
        ppt,
        |p| p.map_or("none".into(), |p| p.to_string()),
    )?;
    let claims = &passport.claims;
    let missing = match ppt {
        Some(Ppt::Shaken) if claims.attest.is_none() => Some("attest"),
        Some(Ppt::Shaken) if claims.origid.is_none() => Some("origid"),
        Some(Ppt::Rcd) if claims.rcd.is_none() => Some("rcd"),
        _ => None,
    };
    let required = missing.map_or(Ok(()), |claim| Err(Error::MissingClaim { claim }));
    check(checks, "required claims present", required, |_| match ppt {
        Some(Ppt::Shaken) => "orig, dest, iat, attest, origid".into(),
        Some(Ppt::Rcd) => "orig, dest, iat, rcd".into(),
        _ => "orig, dest, iat".into(),
    })?;
    // RFC 8224 §6.2.3: the info parameter names the credential the signature is checked with.
    let info = if identity.info == header.x5u {
        Ok(())
    } else {
        Err(Error::InfoMismatch {
            info: identity.info.clone(),
            x5u: header.x5u.clone(),
        })
    };
    check(checks, "info parameter names the x5u", info, |_| {
        header.x5u.clone()
    })?;
    let (iat, freshness) = (claims.iat, ctx.policy.freshness);
    let fresh = if (ctx.now - iat).abs() > freshness {
        Err(Error::Stale {
            iat,
            reference: ctx.now,
            freshness,
            against: "now",
        })
    } else {
        Ok(())
    };
    check(checks, "iat fresh", fresh, |_| {
        format!("iat {iat} within {freshness} s of now ({})", ctx.now)
    })?;
    if let Some(date) = ctx.facts.date {
        let fresh = if (date - iat).abs() > freshness {
            Err(Error::Stale {
                iat,
                reference: date,
                freshness,
                against: "Date header",
            })
        } else {
            Ok(())
        };
        check(checks, "iat fresh against Date", fresh, |_| {
            format!("iat {iat} within {freshness} s of Date ({date})")
        })?;
    }
    if let Some(orig) = &ctx.facts.orig {
        let matches = if orig.matches_orig(&claims.orig) {
            Ok(())
        } else {
            Err(Error::OrigMismatch {
                sip: orig.text(),
                token: serde_json::to_string(&claims.orig).unwrap_or_default(),
            })
        };
        check(checks, "orig matches the caller", matches, |_| orig.text())?;
    }
    if let Some(dest) = &ctx.facts.dest {
        let matches = if dest.matches_dest(&claims.dest) {
            Ok(())
        } else {
            Err(Error::DestMismatch {
                sip: dest.text(),
                token: serde_json::to_string(&claims.dest).unwrap_or_default(),
            })
        };
        check(checks, "dest matches the callee", matches, |_| dest.text())?;
    }
    let fetched = ctx
        .fetcher
        .fetch(&header.x5u)
        .await
        .map_err(|fault| Error::X5uUnavailable {
            x5u: header.x5u.clone(),
            fault,
        });
    let pem = check(checks, "x5u certificate obtained", fetched, |pem| {
        format!("{} bytes from {}", pem.len(), header.x5u)
    })?;
    let (key, cert) = check(
        checks,
        "certificate chain, validity and TNAuthList",
        cert::validate_chain(&pem, ctx.anchors, ctx.now),
        |(_, c)| {
            let entries: Vec<String> = c.tn_auth_list.iter().map(ToString::to_string).collect();
            format!("{} [{}]", c.path.join(" → "), entries.join(", "))
        },
    )?;
    let signature = CompactJws::split(&identity.jws).and_then(|jws| jose::verify_es256(&key, &jws));
    check(checks, "ES256 signature", signature, |_| {
        format!("verified with the key of {}", cert.subject)
    })?;
    let rcd = claims.rcd.clone().map(|rcd_claim| {
        let digests = claims
            .rcdi
            .as_ref()
            .map(|rcdi| rcd::check_rcdi(&rcd_claim, rcdi, ctx.fetched))
            .unwrap_or_default();
        for (pointer, status) in &digests {
            checks.push(Check {
                name: "rcdi digest",
                passed: status.is_match(),
                detail: format!(
                    "{pointer}: {}",
                    serde_json::to_string(status).unwrap_or_default()
                ),
            });
        }
        RcdOutcome {
            rcd: rcd_claim,
            digests,
        }
    });
    Ok(Verified {
        ppt,
        attest: claims.attest,
        header: passport.header.clone(),
        claims: passport.claims.clone(),
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
