//! The STIR/SHAKEN network functions of the simulated world (TS 24.229 Annex V, ATIS-1000074,
//! ATIS-1000080): the signing server [`sti_as`], the verification server [`sti_vs`], the
//! certificate repository [`sti_cr`] and the STI-CA's repository [`sti_repo`] (its CRL). Each
//! serves HTTPS with the fixture PKI; the token logic is `stir`'s.
//!
//! The Ms servers authenticate their clients: mutual TLS with the world's TLS CA, and only the
//! hosts the world authorises ([`MsClients`], the operator's IMS AS) are served; others get a
//! 403 and nothing is signed or verified for them.
//!
//! What they did goes into the trace as typed notes: the STI-AS's `SignPassport`, the STI-VS's
//! checks (each failure with its [`Reason`], see [`reason`]) and its `VerifyIdentity` verdict.
#![warn(missing_docs)]

pub mod sti_as;
pub mod sti_cr;
pub mod sti_repo;
pub mod sti_vs;

use std::fmt;

use kit::http::{Client, Request};
use proto::trace::Reason;
use stir::rcd::Fetched;
use stir::{Error, FetchError, Rcd};

/// An STI-SP certificate of the fixture PKI, by its file stem (`sti-sp-1001`): the key an STI-AS
/// signs with (`pki/<stem>.key.pem`) and the chain an STI-CR serves (`pki/<stem>.chain.pem`, at
/// `/certs/<stem>.pem`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpCert(String);

impl SpCert {
    /// The operator's own certificate for its SPC (`sti-sp-<spc>`).
    pub fn of_spc(spc: &str) -> Self {
        SpCert(format!("sti-sp-{spc}"))
    }

    /// `sti-sp-revoked`: SPC 1001's shape, listed in the STI-ICA's CRL.
    pub fn revoked() -> Self {
        SpCert("sti-sp-revoked".into())
    }

    /// `sti-sp-wrongtn`: a TNAuthList of one TN range that covers none of the subscribers.
    pub fn wrong_tn() -> Self {
        SpCert("sti-sp-wrongtn".into())
    }

    /// Any fixture certificate by its stem (`sti-sp-expired`, `sti-sp-rogue`, …).
    pub fn named(stem: impl Into<String>) -> Self {
        SpCert(stem.into())
    }

    /// The file stem.
    pub fn stem(&self) -> &str {
        &self.0
    }

    /// The fixture path of its private key.
    pub fn key_path(&self) -> String {
        format!("pki/{}.key.pem", self.0)
    }

    /// The fixture path of its chain (end-entity first).
    pub fn chain_path(&self) -> String {
        format!("pki/{}.chain.pem", self.0)
    }
}

impl fmt::Display for SpCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Ms clients a server serves: TLS client certificates (verified against the world's TLS CA
/// by the TLS layer) whose DNS names include one of these hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsClients(Vec<String>);

/// Why an Ms client is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRefusal {
    /// It presented no certificate.
    NoCertificate,
    /// Its certificate's names cannot be read.
    Unreadable(String),
    /// Its certificate names none of the authorised hosts.
    NotListed {
        /// The DNS names it has.
        names: Vec<String>,
    },
}

impl MsClients {
    /// Serve the clients with these hostnames (e.g. `as.ims.mnc001.mcc001.3gppnetwork.org`).
    pub fn new<S: Into<String>>(hosts: impl IntoIterator<Item = S>) -> Self {
        MsClients(hosts.into_iter().map(Into::into).collect())
    }

    /// The hosts served.
    pub fn hosts(&self) -> &[String] {
        &self.0
    }

    /// The authorised host the client's certificate (DER) names, or why it is not served.
    pub fn authorise(&self, certificate: Option<&[u8]>) -> Result<String, ClientRefusal> {
        let der = certificate.ok_or(ClientRefusal::NoCertificate)?;
        let names = kit::tls::dns_names(der).map_err(ClientRefusal::Unreadable)?;
        names
            .iter()
            .find(|n| self.0.iter().any(|h| h.eq_ignore_ascii_case(n)))
            .cloned()
            .ok_or(ClientRefusal::NotListed { names })
    }

    /// The refusal as the trace and the 403 body say it.
    pub fn refusal_text(&self, refusal: &ClientRefusal) -> String {
        let only = self.0.join(", ");
        match refusal {
            ClientRefusal::NoCertificate => {
                format!("no client certificate: only {only} may ask")
            }
            ClientRefusal::Unreadable(e) => format!("{e}: only {only} may ask"),
            ClientRefusal::NotListed { names } => {
                format!(
                    "client certificate names {}, only {only} may ask",
                    names.join(", ")
                )
            }
        }
    }
}

/// Largest RCD resource (jCard, icon) fetched for an `rcdi` digest.
pub const MAX_RCD_BYTES: usize = 64 * 1024;

/// Why a PASSporT failed, typed for the trace (pure; the SIP answer is
/// [`stir::Error::sip_answer`]'s). Grouped like the SIP answers:
///
/// - 428: no Identity header → [`Reason::MissingIdentity`].
/// - 436: the certificate could not be fetched from x5u → [`Reason::Unreachable`], except an
///   x5u that is not an `https` URL (RFC 8226 §9) or names a host the verifier does not fetch
///   from, which is the credential's fault and so [`Reason::CertificateInvalid`]; an `info` parameter naming another certificate than the
///   PASSporT's x5u → [`Reason::CertificateInvalid`].
/// - 437: the certificate cannot be used (alg, chain, validity, keyUsage, TNAuthList, SAN, no
///   CRL distribution point, a CRL that cannot decide) → [`Reason::CertificateInvalid`]; a CRL
///   that could not be fetched → [`Reason::Unreachable`] (an `http:` one is the certificate's
///   fault: [`Reason::CertificateInvalid`]).
/// - 438: malformed tokens and headers (an `avatar` PASSporT's missing or ill-formed `avatar`
///   claim, a second `shaken` PASSporT among them) → [`Reason::Malformed`]; orig/dest not those of the call →
///   [`Reason::ClaimMismatch`]; a signature that does not verify → [`Reason::SignatureInvalid`];
///   a certificate whose TNAuthList does not cover `orig` → [`Reason::NotEntitled`]; a revoked
///   certificate → [`Reason::Revoked`].
/// - 403: `iat` too far from now or Date → [`Reason::Stale`].
/// - The signer's own failures (encoding, key, RCD content not supplied) → [`Reason::Malformed`].
pub fn reason(e: &Error) -> Reason {
    use Error::*;
    match e {
        MissingIdentity => Reason::MissingIdentity,
        X5uUnavailable {
            fault: FetchError::NotHttps { .. } | FetchError::HostNotAllowed { .. },
            ..
        } => Reason::CertificateInvalid,
        X5uUnavailable { .. } => Reason::Unreachable,
        CrlUnavailable {
            fault: FetchError::NotHttps { .. },
            ..
        } => Reason::CertificateInvalid,
        CrlUnavailable { .. } => Reason::Unreachable,
        InfoMismatch { .. }
        | UnsupportedAlg { .. }
        | UntrustedCertificate { .. }
        | CertificateNotValid { .. }
        | NoTnAuthList { .. }
        | BadTnAuthList { .. }
        | KeyUsage { .. }
        | NoCrlDistributionPoint { .. }
        | BadCrl { .. }
        | BadSubjectAltName { .. } => Reason::CertificateInvalid,
        TnNotAuthorised { .. } => Reason::NotEntitled,
        Revoked { .. } => Reason::Revoked,
        MalformedIdentity { .. }
        | MalformedJws { .. }
        | MalformedJson { .. }
        | WrongTyp { .. }
        | UnsupportedPpt { .. }
        | PptMismatch { .. }
        | MissingClaim { .. }
        | MalformedAvatar { .. }
        | DuplicatePassport { .. }
        | MalformedCallInfo { .. } => Reason::Malformed,
        OrigMismatch { .. } | DestMismatch { .. } => Reason::ClaimMismatch,
        BadSignature => Reason::SignatureInvalid,
        Stale { .. } => Reason::Stale,
        Encode { .. } | Key { .. } | RcdContentMissing { .. } => Reason::Malformed,
    }
}

/// Fetches the content behind every URI an `rcd` claim names (`jcl`, `icn`, URIs inside an
/// embedded jCard: [`stir::rcd::uri_members`]) over HTTPS, for computing or checking `rcdi`
/// (RFC 9795 §6.2.2). A URI that cannot be fetched is left out: the signer then fails loudly,
/// the verifier reports the digest as not fetched.
pub async fn fetch_rcd_content(client: &Client, rcd: &Rcd) -> Fetched {
    let mut fetched = Fetched::new();
    for (_, uri) in stir::rcd::uri_members(rcd) {
        if !uri.starts_with("https://") || fetched.contains_key(&uri) {
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
    ms_error_status(400, kind, detail)
}

/// `{"error": …}` with `status`.
pub(crate) fn ms_error_status(
    status: u16,
    kind: &str,
    detail: impl std::fmt::Display,
) -> kit::http::Response {
    kit::node::json_response(
        status,
        &stir::ms::ErrorBody {
            error: format!("{kind}: {detail}"),
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
                unavailable(FetchError::HostNotAllowed {
                    host: "evil.example".into(),
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
                Error::KeyUsage { subject: subject() },
                Error::NoCrlDistributionPoint { subject: subject() },
                Error::BadCrl {
                    url: "https://certs.sti.example/crl/sti-ica.crl".into(),
                    fault: stir::CrlFault::BadSignature,
                },
                Error::CrlUnavailable {
                    url: "http://certs.sti.example/crl/sti-ica.crl".into(),
                    fault: FetchError::NotHttps {
                        url: "http://certs.sti.example/crl/sti-ica.crl".into(),
                    },
                },
            ],
        );
        all(
            Reason::Unreachable,
            [Error::CrlUnavailable {
                url: "https://certs.sti.example/crl/sti-ica.crl".into(),
                fault: FetchError::Timeout { ms: 3000 },
            }],
        );
    }

    #[test]
    fn credentials_that_do_not_vouch_for_the_call() {
        let subject = || "CN=SHAKEN 1001".to_owned();
        let not_entitled = Error::TnNotAuthorised {
            subject: subject(),
            orig: r#"{"tn":"12025551000"}"#.into(),
            entries: "TN range 12025559000 (+100)".into(),
        };
        let revoked = Error::Revoked {
            subject: subject(),
            serial: "1c:02".into(),
            since: 0,
        };
        assert_eq!(reason(&not_entitled), Reason::NotEntitled);
        assert_eq!(reason(&revoked), Reason::Revoked);
        assert_eq!(not_entitled.sip_answer().code, 438);
        assert_eq!(revoked.sip_answer().code, 438);
    }

    #[test]
    fn only_listed_ms_clients_are_served() {
        let der = |host: &str| {
            let pem = kit::fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
            kit::tls::certs_from_pem(&pem).unwrap().remove(0).to_vec()
        };
        let clients = MsClients::new(["as.ims.mnc001.mcc001.3gppnetwork.org"]);
        assert_eq!(
            clients.authorise(Some(&der("as.ims.mnc001.mcc001.3gppnetwork.org"))),
            Ok("as.ims.mnc001.mcc001.3gppnetwork.org".to_owned())
        );
        let other = clients
            .authorise(Some(&der("pbx.enterprise.example")))
            .unwrap_err();
        assert_eq!(
            other,
            ClientRefusal::NotListed {
                names: vec!["pbx.enterprise.example".into()]
            }
        );
        assert_eq!(
            clients.refusal_text(&other),
            "client certificate names pbx.enterprise.example, only as.ims.mnc001.mcc001.3gppnetwork.org may ask"
        );
        assert_eq!(clients.authorise(None), Err(ClientRefusal::NoCertificate));
        assert!(matches!(
            clients.authorise(Some(b"junk")),
            Err(ClientRefusal::Unreadable(_))
        ));
        assert_eq!(SpCert::of_spc("1001").key_path(), "pki/sti-sp-1001.key.pem");
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
        all(
            Reason::Malformed,
            [
                Error::MissingClaim { claim: "avatar" },
                Error::MalformedAvatar {
                    fault: stir::AvatarFault::Empty("id"),
                },
            ],
        );
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
