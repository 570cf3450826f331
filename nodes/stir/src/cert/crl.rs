//! Revocation of an end-entity certificate by its issuer's CRL (RFC 5280 §5, §6.3; ATIS-1000080
//! §6.3.5: an STI-VS checks the CRL named in the STI-SP certificate's distribution point).
//!
//! Pure: the CRL's bytes (DER, or PEM `X509 CRL`) come from the caller, who fetched them from
//! the URL [`crate::CertInfo::crl_urls`] names. The CRL must be issued and signed
//! (`ecdsa-with-SHA256`, P-256) by the certificate's own issuer and be current.

use std::fmt;

use p256::ecdsa::{Signature, VerifyingKey};
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::revocation_list::CertificateRevocationList;

use super::{OID_ECDSA_SHA256, subject};
use crate::Error;
use crate::es256::Encoding;

/// Why a CRL cannot be used to decide (the certificate's status stays unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlFault {
    /// Not a DER (or PEM) CRL.
    Unparsable,
    /// Issued by someone other than the certificate's issuer.
    WrongIssuer {
        /// The CRL's issuer.
        crl_issuer: String,
        /// The certificate's issuer.
        cert_issuer: String,
    },
    /// The certificate's issuer is neither in the chain nor an anchor, so the CRL's signature
    /// cannot be checked.
    NoIssuerCertificate {
        /// The issuer's name.
        issuer: String,
    },
    /// Not `ecdsa-with-SHA256` by a P-256 key.
    UnsupportedAlgorithm,
    /// The issuer's signature on the CRL does not verify.
    BadSignature,
    /// `now` is before its thisUpdate or after its nextUpdate.
    NotCurrent {
        /// thisUpdate, seconds since the epoch.
        this_update: i64,
        /// nextUpdate, seconds since the epoch, if any.
        next_update: Option<i64>,
        /// The verifier's time.
        now: i64,
    },
}

impl fmt::Display for CrlFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrlFault::Unparsable => f.write_str("not a DER or PEM CRL"),
            CrlFault::WrongIssuer {
                crl_issuer,
                cert_issuer,
            } => write!(
                f,
                "issued by {crl_issuer:?}, not by the certificate's issuer {cert_issuer:?}"
            ),
            CrlFault::NoIssuerCertificate { issuer } => {
                write!(
                    f,
                    "no certificate of its issuer {issuer:?} to check it with"
                )
            }
            CrlFault::UnsupportedAlgorithm => {
                f.write_str("not signed with ecdsa-with-SHA256 by a P-256 key")
            }
            CrlFault::BadSignature => f.write_str("its issuer's signature does not verify"),
            CrlFault::NotCurrent {
                this_update,
                next_update,
                now,
            } => match next_update {
                Some(next) => write!(f, "not current at {now}: issued {this_update}, next {next}"),
                None => write!(f, "not current at {now}: issued {this_update}"),
            },
        }
    }
}

/// The DER of a CRL given as DER or as PEM (`X509 CRL`); it is not parsed further.
pub fn crl_der(bytes: &[u8]) -> Result<Vec<u8>, CrlFault> {
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(bytes.to_vec());
    }
    Pem::iter_from_buffer(bytes)
        .filter_map(Result::ok)
        .find(|block| block.label == "X509 CRL")
        .map(|block| block.contents)
        .ok_or(CrlFault::Unparsable)
}

/// Checks `leaf` against `crl` at `now`: the CRL is its issuer's (`issuer`), correctly signed and
/// current, and does not list `leaf`'s serial number. A CRL that cannot decide is
/// [`Error::BadCrl`]; a listed certificate is [`Error::Revoked`].
pub(super) fn check(
    leaf: &X509Certificate<'_>,
    issuer: Option<&X509Certificate<'_>>,
    crl: &[u8],
    url: &str,
    now: i64,
) -> Result<(), Error> {
    let bad = |fault| Error::BadCrl {
        url: url.to_owned(),
        fault,
    };
    let der = crl_der(crl).map_err(bad)?;
    let crl = match x509_parser::parse_x509_crl(&der) {
        Ok(([], crl)) => crl,
        _ => return Err(bad(CrlFault::Unparsable)),
    };
    if crl.issuer() != leaf.issuer() {
        return Err(bad(CrlFault::WrongIssuer {
            crl_issuer: crl.issuer().to_string(),
            cert_issuer: leaf.issuer().to_string(),
        }));
    }
    let issuer = issuer.ok_or_else(|| {
        bad(CrlFault::NoIssuerCertificate {
            issuer: leaf.issuer().to_string(),
        })
    })?;
    signed_by_issuer(&crl, issuer).map_err(bad)?;
    current(&crl, now).map_err(bad)?;
    let serial = leaf.tbs_certificate.serial.to_bytes_be();
    match crl
        .iter_revoked_certificates()
        .find(|r| r.serial().to_bytes_be() == serial)
    {
        Some(entry) => Err(Error::Revoked {
            subject: subject(leaf),
            serial: leaf.tbs_certificate.raw_serial_as_string(),
            since: entry.revocation_date.timestamp(),
        }),
        None => Ok(()),
    }
}

fn signed_by_issuer(
    crl: &CertificateRevocationList<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), CrlFault> {
    if crl.signature_algorithm.algorithm.to_id_string() != OID_ECDSA_SHA256 {
        return Err(CrlFault::UnsupportedAlgorithm);
    }
    let key = &issuer.tbs_certificate.subject_pki.subject_public_key.data;
    VerifyingKey::from_sec1_bytes(key).map_err(|_| CrlFault::UnsupportedAlgorithm)?;
    let signature = &crl.signature_value.data;
    Signature::from_der(signature).map_err(|_| CrlFault::BadSignature)?;
    if crate::es256::verify(key, crl.tbs_cert_list.as_ref(), signature, Encoding::Der) {
        Ok(())
    } else {
        Err(CrlFault::BadSignature)
    }
}

/// A CRL's thisUpdate and nextUpdate (or the end of time without one), if it parses.
pub(super) fn current_window(crl: &[u8]) -> Option<(i64, i64)> {
    let der = crl_der(crl).ok()?;
    let (_, crl) = x509_parser::parse_x509_crl(&der).ok()?;
    Some((
        crl.last_update().timestamp(),
        crl.next_update().map_or(i64::MAX, |t| t.timestamp()),
    ))
}

fn current(crl: &CertificateRevocationList<'_>, now: i64) -> Result<(), CrlFault> {
    let this_update = crl.last_update().timestamp();
    let next_update = crl.next_update().map(|t| t.timestamp());
    if now < this_update || next_update.is_some_and(|next| now > next) {
        return Err(CrlFault::NotCurrent {
            this_update,
            next_update,
            now,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_der_are_both_read() {
        assert_eq!(
            crl_der(b"\x30\x03\x02\x01\x01"),
            Ok(b"\x30\x03\x02\x01\x01".to_vec())
        );
        assert_eq!(
            crl_der(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(CrlFault::Unparsable)
        );
    }

    #[test]
    fn faults_read_as_sentences() {
        let fault = CrlFault::NotCurrent {
            this_update: 1,
            next_update: Some(2),
            now: 3,
        };
        assert_eq!(fault.to_string(), "not current at 3: issued 1, next 2");
    }
}
