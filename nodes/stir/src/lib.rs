//! STIR/SHAKEN as pure functions: PASSporTs (RFC 8225) with the SHAKEN (RFC 8588) and Rich Call
//! Data (RFC 9795) extensions, the SIP Identity header (RFC 8224), Call-Info for RCD (RFC 9796),
//! SHAKEN certificate checks (RFC 8226), the verification pipeline of a verification service,
//! and the Ms reference point's JSON shapes (3GPP TS 24.229 Annex V.2).
//!
//! This crate opens no socket and reads no clock: time and the certificate fetcher are passed in
//! ([`verify::verify`]). Every failure is one [`Error`] variant, and one pure mapping turns it
//! into the SIP answer ([`Error::sip_answer`]) and the `verstat` value ([`Error::verstat`]).
//!
//! It is not a SIP stack: header *values* are built and parsed here; headers and messages are
//! the node runtime's business.

pub mod cert;
pub mod identity;
pub mod jose;
pub mod ms;
pub mod passport;
pub mod rcd;
pub mod verify;

use std::fmt;

use serde::Serialize;

pub use cert::{CertInfo, ChainFault, EndEntity, TnEntry, TrustAnchors};
pub use identity::IdentityHeader;
pub use jose::{JwsFault, Part};
pub use passport::{Attest, Claims, Dest, Header, Orig, Passport, Ppt};
pub use rcd::{CallInfo, DigestAlg, DigestStatus, Rcd};
pub use verify::{CertFetcher, Check, Context, Party, Policy, Report, SipFacts, Verified};

/// Everything that can go wrong, grouped by the SIP answer it leads to (RFC 8224 §6.2.2 and
/// §13.2, RFC 8588 §3). The grouping *is* the mapping: see [`Error::sip_answer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ---- 428 Use Identity Header: the request should have carried one --------------------------
    #[error("no Identity header in the request")]
    MissingIdentity,

    // ---- 436 Bad Identity Info: the credential cannot be obtained ------------------------------
    #[error("certificate at x5u {x5u} could not be obtained: {fault}")]
    X5uUnavailable { x5u: String, fault: FetchError },
    #[error("info parameter <{info}> differs from the PASSporT's x5u {x5u}")]
    InfoMismatch { info: String, x5u: String },

    // ---- 437 Unsupported Credential: the credential cannot be used ------------------------------
    #[error("alg {alg:?} is not supported (SHAKEN allows only ES256)")]
    UnsupportedAlg { alg: String },
    #[error("certificate chain not trusted: {fault}")]
    UntrustedCertificate { fault: ChainFault },
    #[error("certificate {subject:?} is not valid now ({now}); valid {not_before}..{not_after}")]
    CertificateNotValid {
        subject: String,
        not_before: i64,
        not_after: i64,
        now: i64,
    },
    #[error("certificate {subject:?} has no TNAuthList with an SPC entry (RFC 8226)")]
    NoTnAuthList { subject: String },
    #[error("certificate {subject:?} has a TNAuthList that does not parse")]
    BadTnAuthList { subject: String },
    #[error("certificate {subject:?} has subject alternative names that cannot be read")]
    BadSubjectAltName { subject: String },

    // ---- 438 Invalid Identity Header: the token is malformed or does not match the call -------
    #[error("Identity header value is malformed ({why}): {value}")]
    MalformedIdentity { value: String, why: &'static str },
    #[error("compact JWS is malformed: {fault}")]
    MalformedJws { fault: JwsFault },
    #[error("PASSporT {part} is malformed: {fault}")]
    MalformedJson { part: Part, fault: JsonFault },
    #[error("typ is {typ:?}, expected \"passport\"")]
    WrongTyp { typ: Option<String> },
    #[error("ppt {ppt:?} is not supported")]
    UnsupportedPpt { ppt: String },
    #[error("ppt parameter {param:?} differs from the PASSporT header's ppt {token:?}")]
    PptMismatch {
        param: Option<String>,
        token: Option<String>,
    },
    #[error("required claim {claim:?} is missing")]
    MissingClaim { claim: &'static str },
    #[error("orig {token} does not match the caller in SIP ({sip})")]
    OrigMismatch { sip: String, token: String },
    #[error("dest {token} does not match the callee in SIP ({sip})")]
    DestMismatch { sip: String, token: String },
    #[error("ES256 signature does not verify with the x5u certificate's key")]
    BadSignature,
    #[error("Call-Info value is malformed ({why}): {value}")]
    MalformedCallInfo { value: String, why: &'static str },

    // ---- 403 Stale Date ---------------------------------------------------------------------------
    #[error("iat {iat} is more than {freshness} s from {against} ({reference})")]
    Stale {
        iat: i64,
        reference: i64,
        freshness: i64,
        against: &'static str,
    },

    // ---- local misuse: the signer's own fault, never the peer's -----------------------------------
    #[error("cannot encode {what}: {detail}")]
    Encode { what: &'static str, detail: String },
    #[error("signing key is unusable: {detail}")]
    Key { detail: String },
    #[error("content behind {uri} is needed to compute rcdi but was not supplied")]
    RcdContentMissing { uri: String },
}

/// Why the JSON of a PASSporT part is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonFault {
    /// Not JSON at all.
    Syntax(String),
    /// JSON, but not an object.
    NotAnObject,
    /// An object, but a member is missing or of the wrong type (e.g. a string `iat`).
    Shape(String),
}

impl fmt::Display for JsonFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonFault::Syntax(e) => write!(f, "not JSON ({e})"),
            JsonFault::NotAnObject => f.write_str("not a JSON object"),
            JsonFault::Shape(e) => write!(f, "unexpected shape ({e})"),
        }
    }
}

/// Why the certificate behind an x5u could not be had (RFC 8224 §6.2.3; the fetch rules of
/// RFC 8226 §9 and ATIS-1000080: https only, no redirects, bounded size and time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FetchError {
    /// The URL is not `https:` (or not a URL).
    NotHttps { url: String },
    /// Name resolution, connection or TLS failed.
    Unreachable { detail: String },
    /// No answer in time.
    Timeout { ms: u64 },
    /// The server answered with a non-200 status (redirects included: they are not followed).
    Status { code: u16 },
    /// The body exceeded the limit.
    TooLarge { limit: usize },
    /// Nothing is known at that URL (static fetchers).
    NotFound,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotHttps { url } => write!(f, "{url:?} is not an https URL"),
            FetchError::Unreachable { detail } => write!(f, "unreachable: {detail}"),
            FetchError::Timeout { ms } => write!(f, "no answer within {ms} ms"),
            FetchError::Status { code } => write!(f, "server answered HTTP {code}"),
            FetchError::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            FetchError::NotFound => f.write_str("no certificate known at that URL"),
        }
    }
}

/// A SIP final response: status code and reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SipAnswer {
    pub code: u16,
    pub reason: &'static str,
}

impl fmt::Display for SipAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}

/// The `verstat` parameter value (3GPP TS 24.229 §7.2A.20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verstat {
    #[serde(rename = "TN-Validation-Passed")]
    Passed,
    #[serde(rename = "TN-Validation-Failed")]
    Failed,
    #[serde(rename = "No-TN-Validation")]
    NoValidation,
}

impl Verstat {
    pub fn as_str(self) -> &'static str {
        match self {
            Verstat::Passed => "TN-Validation-Passed",
            Verstat::Failed => "TN-Validation-Failed",
            Verstat::NoValidation => "No-TN-Validation",
        }
    }
}

impl fmt::Display for Verstat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The SIP answer a verifier gives for this failure (RFC 8224 §6.2.2, §13.2; RFC 8588 §3).
    pub fn sip_answer(&self) -> SipAnswer {
        use Error::*;
        let (code, reason) = match self {
            MissingIdentity => (428, "Use Identity Header"),
            X5uUnavailable { .. } | InfoMismatch { .. } => (436, "Bad Identity Info"),
            UnsupportedAlg { .. }
            | UntrustedCertificate { .. }
            | CertificateNotValid { .. }
            | NoTnAuthList { .. }
            | BadTnAuthList { .. }
            | BadSubjectAltName { .. } => (437, "Unsupported Credential"),
            MalformedIdentity { .. }
            | MalformedJws { .. }
            | MalformedJson { .. }
            | WrongTyp { .. }
            | UnsupportedPpt { .. }
            | PptMismatch { .. }
            | MissingClaim { .. }
            | OrigMismatch { .. }
            | DestMismatch { .. }
            | BadSignature
            | MalformedCallInfo { .. } => (438, "Invalid Identity Header"),
            Stale { .. } => (403, "Stale Date"),
            Encode { .. } | Key { .. } | RcdContentMissing { .. } => (500, "Server Internal Error"),
        };
        SipAnswer { code, reason }
    }

    /// The `verstat` a verifier reports for this failure: no token (or a verifier that could
    /// not run) is `No-TN-Validation`; anything else is `TN-Validation-Failed`.
    pub fn verstat(&self) -> Verstat {
        match self.sip_answer().code {
            428 | 500 => Verstat::NoValidation,
            _ => Verstat::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_covers_the_five_codes() {
        let cases = [
            (Error::MissingIdentity, 428, Verstat::NoValidation),
            (
                Error::X5uUnavailable {
                    x5u: "http://x".into(),
                    fault: FetchError::NotHttps {
                        url: "http://x".into(),
                    },
                },
                436,
                Verstat::Failed,
            ),
            (
                Error::UnsupportedAlg {
                    alg: "RS256".into(),
                },
                437,
                Verstat::Failed,
            ),
            (Error::BadSignature, 438, Verstat::Failed),
            (
                Error::Stale {
                    iat: 0,
                    reference: 100,
                    freshness: 60,
                    against: "now",
                },
                403,
                Verstat::Failed,
            ),
        ];
        for (error, code, verstat) in cases {
            assert_eq!(error.sip_answer().code, code, "{error}");
            assert_eq!(error.verstat(), verstat, "{error}");
        }
        assert_eq!(
            Error::Stale {
                iat: 0,
                reference: 100,
                freshness: 60,
                against: "now"
            }
            .sip_answer()
            .to_string(),
            "403 Stale Date"
        );
    }
}
