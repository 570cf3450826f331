//! The crate's one error type and its one mapping to the wire: every failure of signing or
//! verification is an [`Error`] variant, grouped by the SIP answer it leads to
//! ([`Error::sip_answer`], RFC 8224 §6.2.2 and §13.2, RFC 8588 §3) and the `verstat` value it
//! gives the caller's identity ([`Error::verstat`], TS 24.229 §7.2A.20).

use std::fmt;

use serde::Serialize;

use crate::avatar::AvatarFault;
use crate::cert::{ChainFault, CrlFault};
use crate::jose::{JwsFault, Part};

/// Everything that can go wrong, grouped by the SIP answer it leads to (RFC 8224 §6.2.2 and
/// §13.2, RFC 8588 §3). The grouping *is* the mapping: see [`Error::sip_answer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ---- 428 Use Identity Header: the request should have carried one --------------------------
    /// The request carries no Identity header (RFC 8224 §6.2.2).
    #[error("no Identity header in the request")]
    MissingIdentity,

    // ---- 436 Bad Identity Info: the credential cannot be obtained ------------------------------
    /// The certificate behind `x5u` could not be fetched (RFC 8224 §6.2.3).
    #[error("certificate at x5u {x5u} could not be obtained: {fault}")]
    X5uUnavailable {
        /// The URL the PASSporT names.
        x5u: String,
        /// Why the fetch failed.
        fault: FetchError,
    },
    /// The Identity header's `info` parameter names another credential than the token's `x5u`.
    #[error("info parameter <{info}> differs from the PASSporT's x5u {x5u}")]
    InfoMismatch {
        /// The `info` parameter, without angle brackets.
        info: String,
        /// The PASSporT header's `x5u`.
        x5u: String,
    },

    // ---- 437 Unsupported Credential: the credential cannot be used ------------------------------
    /// An `alg` other than ES256 (RFC 8588 §3).
    #[error("alg {alg:?} is not supported (SHAKEN allows only ES256)")]
    UnsupportedAlg {
        /// The algorithm named.
        alg: String,
    },
    /// The certificate chain does not lead to a trust anchor (RFC 8226 §9).
    #[error("certificate chain not trusted: {fault}")]
    UntrustedCertificate {
        /// Where the chain breaks.
        fault: ChainFault,
    },
    /// A certificate of the chain is outside its validity period.
    #[error("certificate {subject:?} is not valid now ({now}); valid {not_before}..{not_after}")]
    CertificateNotValid {
        /// The certificate's subject.
        subject: String,
        /// Start of validity, seconds since the epoch.
        not_before: i64,
        /// End of validity, seconds since the epoch.
        not_after: i64,
        /// The verifier's time, seconds since the epoch.
        now: i64,
    },
    /// The end-entity certificate has no TNAuthList (RFC 8226 §9).
    #[error("certificate {subject:?} has no TNAuthList (RFC 8226)")]
    NoTnAuthList {
        /// The certificate's subject.
        subject: String,
    },
    /// The TNAuthList extension is there but does not parse (RFC 8226 §9).
    #[error("certificate {subject:?} has a TNAuthList that does not parse")]
    BadTnAuthList {
        /// The certificate's subject.
        subject: String,
    },
    /// The end-entity certificate's keyUsage lacks digitalSignature, or the extension is absent
    /// (RFC 5280 §4.2.1.3, ATIS-1000080).
    #[error("certificate {subject:?} is not for signing: no keyUsage digitalSignature")]
    KeyUsage {
        /// The certificate's subject.
        subject: String,
    },
    /// The end-entity certificate names no CRL distribution point, so its revocation status
    /// cannot be checked (ATIS-1000080 requires one).
    #[error("certificate {subject:?} names no CRL distribution point: its status is unknown")]
    NoCrlDistributionPoint {
        /// The certificate's subject.
        subject: String,
    },
    /// The CRL at the certificate's distribution point could not be fetched.
    #[error("CRL at {url} could not be obtained: {fault}")]
    CrlUnavailable {
        /// The distribution point.
        url: String,
        /// Why the fetch failed.
        fault: FetchError,
    },
    /// The CRL was fetched but cannot decide the certificate's status.
    #[error("CRL at {url} cannot be used: {fault}")]
    BadCrl {
        /// The distribution point.
        url: String,
        /// What is wrong with it.
        fault: CrlFault,
    },
    /// The subject alternative names extension cannot be read.
    #[error("certificate {subject:?} has subject alternative names that cannot be read")]
    BadSubjectAltName {
        /// The certificate's subject.
        subject: String,
    },

    // ---- 438 Invalid Identity Header: the token is malformed or does not match the call -------
    /// The Identity header value does not parse (RFC 8224 §4.1).
    #[error("Identity header value is malformed ({why}): {value}")]
    MalformedIdentity {
        /// The header value.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The token is not a compact JWS (RFC 7515 §7.1).
    #[error("compact JWS is malformed: {fault}")]
    MalformedJws {
        /// What is wrong with it.
        fault: JwsFault,
    },
    /// A PASSporT part is not the JSON it should be (RFC 8225 §4, §5).
    #[error("PASSporT {part} is malformed: {fault}")]
    MalformedJson {
        /// Which part.
        part: Part,
        /// What is wrong with it.
        fault: JsonFault,
    },
    /// The JOSE `typ` is not `passport` (RFC 8225 §4.1).
    #[error("typ is {typ:?}, expected \"passport\"")]
    WrongTyp {
        /// The `typ` given, if any.
        typ: Option<String>,
    },
    /// A `ppt` this verifier does not know (RFC 8225 §8.1).
    #[error("ppt {ppt:?} is not supported")]
    UnsupportedPpt {
        /// The `ppt` given.
        ppt: String,
    },
    /// The Identity header's `ppt` parameter and the token's own differ (RFC 8225 §8.1).
    #[error("ppt parameter {param:?} differs from the PASSporT header's ppt {token:?}")]
    PptMismatch {
        /// The header parameter, if any.
        param: Option<String>,
        /// The token's `ppt`, if any.
        token: Option<String>,
    },
    /// A claim the `ppt` requires is missing (RFC 8588 §4, §5; RFC 9795).
    #[error("required claim {claim:?} is missing")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// The `avatar` claim is there but not well-formed (TR 33.790 §6.7.2.1 NOTE 2; testbed
    /// choice `7-signed-avatar-id`).
    #[error("avatar claim is malformed: {fault}")]
    MalformedAvatar {
        /// What is wrong with it.
        fault: AvatarFault,
    },
    /// `orig` does not name the caller SIP asserts (RFC 8224 §6.2).
    #[error("orig {token} does not match the caller in SIP ({sip})")]
    OrigMismatch {
        /// The caller as SIP has it.
        sip: String,
        /// The `orig` claim, as JSON.
        token: String,
    },
    /// `dest` does not name the callee SIP addresses (RFC 8224 §6.2).
    #[error("dest {token} does not match the callee in SIP ({sip})")]
    DestMismatch {
        /// The callee as SIP has it.
        sip: String,
        /// The `dest` claim, as JSON.
        token: String,
    },
    /// The signature does not verify with the certificate's key (RFC 7515 §5.2).
    #[error("ES256 signature does not verify with the x5u certificate's key")]
    BadSignature,
    /// The certificate's TNAuthList does not cover `orig` (RFC 8226 §9, RFC 8224 §6.2.3): the
    /// signer may not vouch for that caller, so the Identity header is invalid for this call.
    #[error("certificate {subject:?} (TNAuthList {entries}) does not authorise orig {orig}")]
    TnNotAuthorised {
        /// The certificate's subject.
        subject: String,
        /// The `orig` claim, as JSON.
        orig: String,
        /// The TNAuthList entries, as the trace shows them.
        entries: String,
    },
    /// The signer's certificate is revoked: its issuer's CRL lists it (RFC 5280 §6.3). The
    /// credential was obtained and chains, but it no longer vouches for anything.
    #[error("certificate {subject:?} (serial {serial}) is revoked since {since}")]
    Revoked {
        /// The certificate's subject.
        subject: String,
        /// Its serial number, hex.
        serial: String,
        /// Revocation date, seconds since the epoch.
        since: i64,
    },
    /// A second PASSporT of a `ppt` a request carries once: two different `shaken` PASSporTs
    /// make the caller's attestation ambiguous (RFC 8588 §4 gives a call one `attest` and one
    /// `origid`), so neither is taken (an exact repeat of one header is the same PASSporT and is
    /// verified once, [`crate::verify::distinct`]).
    #[error("a second {ppt} PASSporT in the request: only one may vouch for the caller")]
    DuplicatePassport {
        /// The repeated `ppt`.
        ppt: String,
    },
    /// The Call-Info header value does not parse (RFC 9796).
    #[error("Call-Info value is malformed ({why}): {value}")]
    MalformedCallInfo {
        /// The header value.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },

    // ---- 403 Stale Date ---------------------------------------------------------------------------
    /// `iat` is too far from the verifier's time or the Date header (RFC 8224 §6.2.1).
    #[error("iat {iat} is more than {freshness} s from {against} ({reference})")]
    Stale {
        /// The token's `iat`.
        iat: i64,
        /// The time it was compared with.
        reference: i64,
        /// The largest accepted distance, seconds.
        freshness: i64,
        /// What `reference` is (`now`, `Date header`).
        against: &'static str,
    },

    // ---- local misuse: the signer's own fault, never the peer's -----------------------------------
    /// Something to be signed could not be encoded.
    #[error("cannot encode {what}: {detail}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's complaint.
        detail: String,
    },
    /// The signing key cannot be used.
    #[error("signing key is unusable: {detail}")]
    Key {
        /// Why.
        detail: String,
    },
    /// `rcdi` needs the content behind a URI that the caller did not supply (RFC 9795 §6.2).
    #[error("content behind {uri} is needed to compute rcdi but was not supplied")]
    RcdContentMissing {
        /// The URI.
        uri: String,
    },
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
    NotHttps {
        /// The URL given.
        url: String,
    },
    /// The URL's host is not one the verifier fetches from (its x5u allow-list); nothing was
    /// fetched or resolved.
    HostNotAllowed {
        /// The host named.
        host: String,
    },
    /// Name resolution, connection or TLS failed.
    Unreachable {
        /// What failed.
        detail: String,
    },
    /// No answer in time.
    Timeout {
        /// The time allowed, milliseconds.
        ms: u64,
    },
    /// The server answered with a non-200 status (redirects included: they are not followed).
    Status {
        /// The HTTP status code.
        code: u16,
    },
    /// The body exceeded the limit.
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// Nothing is known at that URL (static fetchers).
    NotFound,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotHttps { url } => write!(f, "{url:?} is not an https URL"),
            FetchError::HostNotAllowed { host } => {
                write!(f, "host {host:?} is not one this verifier fetches from")
            }
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
    /// The status code (RFC 3261 §21).
    pub code: u16,
    /// The reason phrase.
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
    /// The PASSporT verified: the number is validated.
    #[serde(rename = "TN-Validation-Passed")]
    Passed,
    /// The PASSporT did not verify.
    #[serde(rename = "TN-Validation-Failed")]
    Failed,
    /// No validation was done (no PASSporT, or the verifier did not look).
    #[serde(rename = "No-TN-Validation")]
    NoValidation,
}

impl Verstat {
    /// The parameter value as written in the P-Asserted-Identity or From URI.
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
    ///
    /// A certificate that cannot be used at all — not trusted, out of validity, not for
    /// signing, without a TNAuthList, or whose revocation status cannot be established (no CRL
    /// distribution point, CRL unobtainable or unusable) — is 437: the credential is not one the
    /// verifier can use. A usable credential that does not vouch for this call — its TNAuthList
    /// does not cover `orig`, or its issuer revoked it — is 438, like a signature that does not
    /// verify: the Identity header is invalid for this request.
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
            | KeyUsage { .. }
            | NoCrlDistributionPoint { .. }
            | CrlUnavailable { .. }
            | BadCrl { .. }
            | BadSubjectAltName { .. } => (437, "Unsupported Credential"),
            MalformedIdentity { .. }
            | MalformedJws { .. }
            | MalformedJson { .. }
            | WrongTyp { .. }
            | UnsupportedPpt { .. }
            | PptMismatch { .. }
            | MissingClaim { .. }
            | MalformedAvatar { .. }
            | OrigMismatch { .. }
            | DestMismatch { .. }
            | BadSignature
            | TnNotAuthorised { .. }
            | Revoked { .. }
            | DuplicatePassport { .. }
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
                Error::TnNotAuthorised {
                    subject: "CN=SHAKEN 1001".into(),
                    orig: r#"{"tn":"12025551000"}"#.into(),
                    entries: "TN range 12025559000 (+100)".into(),
                },
                438,
                Verstat::Failed,
            ),
            (
                Error::Revoked {
                    subject: "CN=SHAKEN 1001".into(),
                    serial: "1c".into(),
                    since: 0,
                },
                438,
                Verstat::Failed,
            ),
            (
                Error::KeyUsage {
                    subject: "CN=SHAKEN 1001".into(),
                },
                437,
                Verstat::Failed,
            ),
            (
                Error::CrlUnavailable {
                    url: "https://certs.sti.example/crl/sti-ica.crl".into(),
                    fault: FetchError::Timeout { ms: 2000 },
                },
                437,
                Verstat::Failed,
            ),
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
