//! The STIR/SHAKEN network functions of the simulated world (TS 24.229 Annex V, ATIS-1000074):
//! the signing server [`sti_as`], the verification server [`sti_vs`] and the certificate
//! repository [`sti_cr`]. Each serves HTTPS with the fixture PKI; the token logic is `stir`'s.
//!
//! What they did goes into the trace as typed notes: the STI-AS's `SignPassport`, the STI-VS's
//! checks (each failure with its [`Reason`], see [`reason`]) and its `VerifyIdentity` verdict.
#![warn(missing_docs)]

pub mod sti_as;
pub mod sti_cr;
pub mod sti_vs;

use kit::http::{Client, Request};
use proto::trace::Reason;
use stir::rcd::Fetched;
use stir::{Error, FetchError, Rcd};

/// Largest RCD resource (jCard, icon) fetched for an `rcdi` digest.
pub const MAX_RCD_BYTES: usize = 64 * 1024;

/// Why a PASSporT failed, typed for the trace (pure; the SIP answer is
/// [`stir::Error::sip_answer`]'s). Grouped like the SIP answers:
///
/// - 428: no Identity header → [`Reason::MissingIdentity`].
/// - 436: the certificate could not be fetched from x5u → [`Reason::Unreachable`], except an
///   x5u that is not an `https` URL (RFC 8226 §9), which is the credential's fault and so
///   [`Reason::CertificateInvalid`]; an `info` parameter naming another certificate than the
///   PASSporT's x5u → [`Reason::CertificateInvalid`].
/// - 437: the certificate cannot be used (alg, chain, validity, TNAuthList, SAN) →
///   [`Reason::CertificateInvalid`].
/// - 438: malformed tokens and headers → [`Reason::Malformed`]; orig/dest not those of the call →
///   [`Reason::ClaimMismatch`]; a signature that does not verify → [`Reason::SignatureInvalid`].
/// - 403: `iat` too far from now or Date → [`Reason::Stale`].
/// - The signer's own failures (encoding, key, RCD content not supplied) → [`Reason::Malformed`].
pub fn reason(e: &Error) -> Reason {
    use Error::*;
    match e {
        MissingIdentity => Reason::MissingIdentity,
        X5uUnavailable {
            fault: FetchError::NotHttps { .. },
            ..
        } => Reason::CertificateInvalid,
        X5uUnavailable { .. } => Reason::Unreachable,
        InfoMismatch { .. }
        | UnsupportedAlg { .. }
        | UntrustedCertificate { .. }
        | CertificateNotValid { .. }
        | NoTnAuthList { .. }
        | BadTnAuthList { .. }
        | BadSubjectAltName { .. } => Reason::CertificateInvalid,
        MalformedIdentity { .. }
        | MalformedJws { .. }
        | MalformedJson { .. }
        | WrongTyp { .. }
        | UnsupportedPpt { .. }
        | PptMismatch { .. }
        | MissingClaim { .. }
        | MalformedCallInfo { .. } => Reason::Malformed,
        OrigMismatch { .. } | DestMismatch { .. } => Reason::ClaimMismatch,
        BadSignature => Reason::SignatureInvalid,
        Stale { .. } => Reason::Stale,
        Encode { .. } | Key { .. } | RcdContentMissing { .. } => Reason::Malformed,
    }
}

/// Fetches the content behind the URIs an `rcd` claim names (`jcl`, `icn`) over HTTPS, for
/// computing or checking `rcdi` (RFC 9795 §6.2.2). A URI that cannot be fetched is left out:
/// the signer then fails loudly, the verifier reports the digest as not fetched.
pub async fn fetch_rcd_content(client: &Client, rcd: &Rcd) -> Fetched {
    let mut fetched = Fetched::new();
    for uri in [&rcd.jcl, &rcd.icn].into_iter().flatten() {
        if !uri.starts_with("https://") {
            continue;
        }
        if let Ok(response) = client.send(Request::get(uri.as_str())).await
            && response.status == 200
            && response.body.len() <= MAX_RCD_BYTES
        {
            fetched.insert(uri.clone(), response.body.to_vec());
        }
    }
    fetched
}

/// `{"error": …}` with a 400, the Ms error shape.
pub(crate) fn ms_error(kind: &str, detail: impl std::fmt::Display) -> kit::http::Response {
    kit::node::json_response(
        400,
        &stir::ms::ErrorBody {
            error: format!("{kind}: {detail}"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stir::{ChainFault, JsonFault, JwsFault, Part};

    fn unavailable(fault: FetchError) -> Error {
        Error::X5uUnavailable {
            x5u: "https://cr.example/c.pem".into(),
            fault,
        }
    }

    fn all(expected: Reason, errors: impl IntoIterator<Item = Error>) {
        for error in errors {
            assert_eq!(reason(&error), expected, "{error:?}");
        }
    }

    #[test]
    fn no_identity_and_unobtainable_credentials() {
        all(Reason::MissingIdentity, [Error::MissingIdentity]);
        all(
            Reason::Unreachable,
            [
                unavailable(FetchError::Unreachable {
                    detail: "connection refused".into(),
                }),
                unavailable(FetchError::Timeout { ms: 3000 }),
                unavailable(FetchError::Status { code: 404 }),
                unavailable(FetchError::TooLarge { limit: 1 }),
                unavailable(FetchError::NotFound),
            ],
        );
        all(
            Reason::CertificateInvalid,
            [
                unavailable(FetchError::NotHttps {
                    url: "http://cr.example/c.pem".into(),
                }),
                Error::InfoMismatch {
                    info: "https://a/c.pem".into(),
                    x5u: "https://b/c.pem".into(),
                },
            ],
        );
    }

    #[test]
    fn unusable_credentials() {
        let subject = || "CN=SHAKEN 1001".to_owned();
        all(
            Reason::CertificateInvalid,
            [
                Error::UnsupportedAlg {
                    alg: "RS256".into(),
                },
                Error::UntrustedCertificate {
                    fault: ChainFault::Empty,
                },
                Error::CertificateNotValid {
                    subject: subject(),
                    not_before: 0,
                    not_after: 1,
                    now: 2,
                },
                Error::NoTnAuthList { subject: subject() },
                Error::BadTnAuthList { subject: subject() },
                Error::BadSubjectAltName { subject: subject() },
            ],
        );
    }

    #[test]
    fn invalid_identity_headers() {
        let (sip, token) = ("+12025551000".to_owned(), "+12025551666".to_owned());
        all(
            Reason::Malformed,
            [
                Error::MalformedIdentity {
                    value: "x".into(),
                    why: "no info",
                },
                Error::MalformedJws {
                    fault: JwsFault::PartCount(2),
                },
                Error::MalformedJson {
                    part: Part::Payload,
                    fault: JsonFault::NotAnObject,
                },
                Error::WrongTyp { typ: None },
                Error::UnsupportedPpt { ppt: "rph".into() },
                Error::PptMismatch {
                    param: Some("rcd".into()),
                    token: None,
                },
                Error::MissingClaim { claim: "attest" },
                Error::MalformedCallInfo {
                    value: "x".into(),
                    why: "no purpose",
                },
            ],
        );
        all(
            Reason::ClaimMismatch,
            [
                Error::OrigMismatch {
                    sip: sip.clone(),
                    token: token.clone(),
                },
                Error::DestMismatch { sip, token },
            ],
        );
        all(Reason::SignatureInvalid, [Error::BadSignature]);
    }

    #[test]
    fn stale_and_local_failures() {
        all(
            Reason::Stale,
            [Error::Stale {
                iat: 0,
                reference: 100,
                freshness: 60,
                against: "now",
            }],
        );
        all(
            Reason::Malformed,
            [
                Error::Encode {
                    what: "claims",
                    detail: "x".into(),
                },
                Error::Key { detail: "x".into() },
                Error::RcdContentMissing {
                    uri: "https://id/j.json".into(),
                },
            ],
        );
    }
}
