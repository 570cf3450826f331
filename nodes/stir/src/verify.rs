//! The verification pipeline of RFC 8224 §6.2 with SHAKEN's certificate rules (RFC 8588, RFC
//! 8226, ATIS-1000080: chain, validity, keyUsage, TNAuthList covering `orig`, revocation by
//! CRL) and RCD integrity (RFC 9795), as a verification service (STI-VS) runs it. The same
//! pipeline verifies the testbed's `avatar` PASSporT (the signed Avatar-id of TR 33.790
//! §6.7.2.1 step 3), which must carry a well-formed `avatar` claim.
//!
//! Pure: the certificate behind `x5u` and the CRL behind its distribution point come from a
//! [`CertFetcher`] the caller supplies (an HTTPS client with a cache in the STI-VS, files in the
//! `testbed verify` command), and `now` is an argument. The outcome is a [`Verified`] or an [`Error`], which [`Error::sip_answer`] and
//! [`Error::verstat`] turn into what goes on the wire.

use std::collections::BTreeMap;
use std::future::Future;

use p256::ecdsa::VerifyingKey;
use serde::Serialize;

use crate::avatar::AvatarClaim;
use crate::cert::{self, CertInfo, TrustAnchors};
use crate::identity::IdentityHeader;
use crate::jose::{self, CompactJws};
use crate::passport::{self, Attest, Claims, Decoded, Header, Ppt, canonical_tn};

mod steps;
use crate::rcd::{self, DigestStatus, Fetched, Rcd};
use crate::{Error, FetchError};

/// Where a verifier gets the certificate chain an `x5u` names, and the CRL a certificate's
/// distribution point names.
pub trait CertFetcher {
    /// Returns the PEM chain (end-entity first) served at `x5u`.
    fn fetch(&self, x5u: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;

    /// Returns the CRL (DER, or PEM) served at `url` (RFC 5280 §4.2.1.13).
    fn fetch_crl(&self, url: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
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
    /// Whether the signer's certificate is checked against its issuer's CRL.
    pub revocation: Revocation,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            freshness: 60,
            revocation: Revocation::Crl,
        }
    }
}

/// How a verifier establishes that the signer's certificate is not revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revocation {
    /// The CRL at the certificate's first distribution point (ATIS-1000080): a certificate
    /// without one, or whose CRL cannot be had or used, is refused (437); a listed one is
    /// refused as revoked (438).
    #[default]
    Crl,
    /// Not checked (a verifier told so explicitly, e.g. offline with no CRL at hand).
    Off,
}

/// The RCD part of a verified PASSporT.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RcdOutcome {
    /// The `rcd` claim.
    pub rcd: Rcd,
    /// One status per `rcdi` entry, and [`DigestStatus::Uncovered`] for each URI member no
    /// entry covers (with no `rcdi` at all, every URI member).
    pub digests: BTreeMap<String, DigestStatus>,
}

impl RcdOutcome {
    /// RCD may be shown only if every digest matched and every URI member was covered by one
    /// (RFC 9795 §6.2.2). RCD with no URI member needs no `rcdi`: the signature covers it.
    pub fn intact(&self) -> bool {
        self.digests.values().all(DigestStatus::is_match)
    }
}

/// A PASSporT that passed every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verified {
    /// The token's `ppt`; `None` for a base PASSporT.
    pub ppt: Option<Ppt>,
    /// The JOSE header.
    #[serde(skip)]
    pub header: Header,
    /// The claims, parsed.
    #[serde(skip)]
    pub claims: Claims,
    /// The claims exactly as carried (for display and the Ms `validClaims`).
    pub claims_json: serde_json::Value,
    /// The SHAKEN attestation level, if any.
    pub attest: Option<Attest>,
    /// What the signer's certificate chain says.
    pub cert: CertInfo,
    /// The RCD and its `rcdi` digests, for an RCD token.
    pub rcd: Option<RcdOutcome>,
    /// The verified `avatar` claim (the signed Avatar-id), for an avatar token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<AvatarClaim>,
}

/// One check the verifier ran, in the order it ran them: what the trace and the dashboard show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`iat fresh`, `ES256 signature`, …).
    pub name: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was compared, or why it failed.
    pub detail: String,
}

/// The name of the check recorded for each `rcdi` digest (and each URI member it must cover).
pub const RCDI_CHECK: &str = "rcdi digest";

/// Every check run and the outcome. On failure the last check is the failed one.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The checks run, in order.
    pub checks: Vec<Check>,
    /// The verified token, or the error of the failed check.
    pub outcome: Result<Verified, Error>,
}

/// Everything a verification needs besides the token.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a, F> {
    /// What SIP says about the call.
    pub facts: &'a SipFacts,
    /// Seconds since the epoch.
    pub now: i64,
    /// Where the `x5u` certificate comes from.
    pub fetcher: &'a F,
    /// The roots the chain must lead to.
    pub anchors: &'a TrustAnchors,
    /// Verifier settings.
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
/// (header parameters, token shape, freshness, identities, credential with its revocation, the
/// credential's authority over `orig`, signature), then the RFC 9795 `rcdi` digests, which
/// never fail the token, only its RCD.
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

/// The pipeline: the checks of [`verify_report`] in order, each recorded as it runs; the first
/// failure ends it.
async fn run<F: CertFetcher>(
    identity: &IdentityHeader,
    ctx: &Context<'_, F>,
    checks: &mut Vec<Check>,
) -> Result<Verified, Error> {
    let (decoded, ppt) = token_checks(identity, checks)?;
    let Decoded {
        passport,
        claims_json,
        ..
    } = decoded;
    let (header, claims) = (&passport.header, &passport.claims);
    check(
        checks,
        "info parameter names the x5u",
        steps::info_names_x5u(identity, header),
        |_| header.x5u.clone(),
    )?;
    call_checks(claims, ctx, checks)?;
    let (key, cert) = credential_checks(header, ctx, checks).await?;
    check(
        checks,
        "TNAuthList covers orig",
        steps::tn_authorised(&cert, &claims.orig),
        |_| {
            let entries: Vec<String> = cert.tn_auth_list.iter().map(ToString::to_string).collect();
            format!(
                "{} by [{}]",
                steps::orig_text(&claims.orig),
                entries.join(", ")
            )
        },
    )?;
    let signature = CompactJws::split(&identity.jws).and_then(|jws| jose::verify_es256(&key, &jws));
    check(checks, "ES256 signature", signature, |_| {
        format!("verified with the key of {}", cert.subject)
    })?;
    let rcd = rcd_outcome(claims, ctx.fetched, checks);
    Ok(Verified {
        ppt,
        attest: claims.attest,
        header: passport.header.clone(),
        claims: passport.claims.clone(),
        claims_json,
        cert,
        rcd,
        avatar: claims.avatar.clone(),
    })
}

/// The Identity header's parameters and the token's shape: `alg` parameter, decoding, JOSE
/// `alg` and `typ`, `ppt`, and the claims the `ppt` requires.
fn token_checks(
    identity: &IdentityHeader,
    checks: &mut Vec<Check>,
) -> Result<(Decoded, Option<Ppt>), Error> {
    check(checks, "alg parameter", steps::alg_param(identity), |a| {
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
    let header = &decoded.passport.header;
    check(checks, "alg is ES256", steps::alg_is_es256(header), |_| {
        "ES256".into()
    })?;
    check(
        checks,
        "typ is passport",
        steps::typ_is_passport(header),
        |_| "passport".into(),
    )?;
    let ppt = check(
        checks,
        "ppt known and matches the header parameter",
        steps::ppt(identity, &decoded.passport),
        |p| p.map_or("none".into(), |p| p.to_string()),
    )?;
    check(
        checks,
        "required claims present",
        steps::required_claims(ppt, &decoded.passport.claims),
        |_| steps::required_list(ppt),
    )?;
    Ok((decoded, ppt))
}

/// The token against the call: `iat` fresh against now and the Date header, `orig` and `dest`
/// against the SIP identities (each comparison only when SIP gave the fact).
fn call_checks<F>(
    claims: &Claims,
    ctx: &Context<'_, F>,
    checks: &mut Vec<Check>,
) -> Result<(), Error> {
    let (iat, freshness) = (claims.iat, ctx.policy.freshness);
    check(
        checks,
        "iat fresh",
        steps::fresh(iat, ctx.now, freshness, "now"),
        |_| format!("iat {iat} within {freshness} s of now ({})", ctx.now),
    )?;
    if let Some(date) = ctx.facts.date {
        check(
            checks,
            "iat fresh against Date",
            steps::fresh(iat, date, freshness, "Date header"),
            |_| format!("iat {iat} within {freshness} s of Date ({date})"),
        )?;
    }
    if let Some(orig) = &ctx.facts.orig {
        check(
            checks,
            "orig matches the caller",
            steps::orig_matches(orig, claims),
            |_| orig.text(),
        )?;
    }
    if let Some(dest) = &ctx.facts.dest {
        check(
            checks,
            "dest matches the callee",
            steps::dest_matches(dest, claims),
            |_| dest.text(),
        )?;
    }
    Ok(())
}

/// The credential (RFC 8224 §6.2.3, RFC 8226, ATIS-1000080): the chain behind `x5u`, fetched,
/// then validated against the trust anchors at `now` with its keyUsage and TNAuthList, then
/// checked against its issuer's CRL (unless the policy says not to). Returns the signer's key
/// and facts.
async fn credential_checks<F: CertFetcher>(
    header: &Header,
    ctx: &Context<'_, F>,
    checks: &mut Vec<Check>,
) -> Result<(VerifyingKey, CertInfo), Error> {
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
        "certificate chain, validity, keyUsage and TNAuthList",
        cert::validate_chain_cached(&header.x5u, &pem, ctx.anchors, ctx.now),
        |(_, c)| {
            let entries: Vec<String> = c.tn_auth_list.iter().map(ToString::to_string).collect();
            format!("{} [{}]", c.path.join(" → "), entries.join(", "))
        },
    )?;
    if ctx.policy.revocation == Revocation::Crl {
        let status = revocation(&pem, &cert, ctx).await;
        check(checks, "certificate not revoked (CRL)", status, |url| {
            format!("serial {} not in the CRL at {url}", cert.serial)
        })?;
    }
    Ok((key, cert))
}

/// The CRL behind the certificate's first distribution point, fetched, and the certificate
/// checked against it; the URL on success.
async fn revocation<F: CertFetcher>(
    pem: &[u8],
    cert: &CertInfo,
    ctx: &Context<'_, F>,
) -> Result<String, Error> {
    let url = cert
        .crl_urls
        .first()
        .ok_or_else(|| Error::NoCrlDistributionPoint {
            subject: cert.subject.clone(),
        })?;
    let crl = ctx
        .fetcher
        .fetch_crl(url)
        .await
        .map_err(|fault| Error::CrlUnavailable {
            url: url.clone(),
            fault,
        })?;
    cert::check_revocation_cached(pem, ctx.anchors, &crl, url, ctx.now)?;
    Ok(url.clone())
}

/// The RCD of a verified token with one recorded check per `rcdi` digest and per URI member no
/// digest covers (RFC 9795 §6.2.2; a token without `rcdi` covers none); a mismatch never fails
/// the token, only its RCD. `None` without an `rcd` claim.
fn rcd_outcome(claims: &Claims, fetched: &Fetched, checks: &mut Vec<Check>) -> Option<RcdOutcome> {
    let rcd_claim = claims.rcd.clone()?;
    let none = BTreeMap::new();
    let rcdi = claims.rcdi.as_ref().unwrap_or(&none);
    let digests = rcd::check_rcdi(&rcd_claim, rcdi, fetched);
    for (pointer, status) in &digests {
        checks.push(Check {
            name: RCDI_CHECK,
            passed: status.is_match(),
            detail: format!(
                "{pointer}: {}",
                serde_json::to_string(status).unwrap_or_default()
            ),
        });
    }
    Some(RcdOutcome {
        rcd: rcd_claim,
        digests,
    })
}

/// The name of the check recorded for a second PASSporT of a `ppt` a request carries once.
pub const ONCE_CHECK: &str = "one PASSporT of its ppt per request";

/// A request's Identity values with exact repeats dropped, in order: one header sent twice is
/// one PASSporT, verified once.
pub fn distinct<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for value in values {
        if !out.iter().any(|v| v.trim() == value.trim()) {
            out.push(value);
        }
    }
    out
}

/// The report for a PASSporT of type `ppt` when the request already carried one of that type:
/// for `shaken`, which vouches for the caller, a failed [`ONCE_CHECK`] and
/// [`Error::DuplicatePassport`]; `None` for the other types (several `rcd` or `div` PASSporTs
/// may ride one request). Nothing is fetched for it.
pub fn repeated(ppt: &str) -> Option<Report> {
    if ppt != "shaken" {
        return None;
    }
    let error = Error::DuplicatePassport {
        ppt: ppt.to_owned(),
    };
    Some(Report {
        checks: vec![Check {
            name: ONCE_CHECK,
            passed: false,
            detail: format!("{error} → {}", error.sip_answer()),
        }],
        outcome: Err(error),
    })
}

/// A fetcher over in-memory maps (tests, and `testbed verify --cert`/`--crl`).
#[derive(Debug, Clone, Default)]
pub struct StaticFetcher {
    /// PEM chains by x5u.
    pub chains: BTreeMap<String, Vec<u8>>,
    /// Served for any x5u not in `chains`, when set.
    pub fallback: Option<Vec<u8>>,
    /// CRLs by distribution point URL.
    pub crls: BTreeMap<String, Vec<u8>>,
    /// Served for any CRL URL not in `crls`, when set.
    pub crl_fallback: Option<Vec<u8>>,
}

impl CertFetcher for StaticFetcher {
    fn fetch(&self, x5u: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send {
        let found = self.chains.get(x5u).or(self.fallback.as_ref()).cloned();
        std::future::ready(found.ok_or(FetchError::NotFound))
    }

    fn fetch_crl(&self, url: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send {
        let found = self.crls.get(url).or(self.crl_fallback.as_ref()).cloned();
        std::future::ready(found.ok_or(FetchError::NotFound))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn repeats_count_once_and_a_second_shaken_is_refused() {
        assert_eq!(
            distinct(["a.b.c;info=<x>", " a.b.c;info=<x> ", "d"]),
            ["a.b.c;info=<x>", "d"]
        );
        let report = repeated("shaken").unwrap();
        assert_eq!(
            report.outcome,
            Err(Error::DuplicatePassport {
                ppt: "shaken".into()
            })
        );
        assert_eq!(report.checks[0].name, ONCE_CHECK);
        assert!(!report.checks[0].passed);
        assert_eq!(report.outcome.unwrap_err().sip_answer().code, 438);
        assert!(repeated("rcd").is_none());
    }

    #[test]
    fn a_certificate_without_a_distribution_point_has_no_known_status() {
        let cert = CertInfo {
            subject: "CN=SHAKEN 1001".into(),
            issuer: "CN=STI-ICA".into(),
            path: Vec::new(),
            not_before: 0,
            not_after: 1,
            tn_auth_list: Vec::new(),
            serial: "01".into(),
            crl_urls: Vec::new(),
        };
        let (facts, anchors, policy) = (
            SipFacts::default(),
            TrustAnchors::default(),
            Policy::default(),
        );
        let (fetcher, fetched) = (StaticFetcher::default(), Fetched::new());
        let ctx = Context {
            facts: &facts,
            now: 0,
            fetcher: &fetcher,
            anchors: &anchors,
            policy: &policy,
            fetched: &fetched,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = rt.block_on(revocation(b"", &cert, &ctx)).unwrap_err();
        assert_eq!(
            error,
            Error::NoCrlDistributionPoint {
                subject: "CN=SHAKEN 1001".into()
            }
        );
        assert_eq!(error.sip_answer().code, 437);
    }
}
