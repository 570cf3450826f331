//! The certificates the JWSs of solution #7 (TR 33.790 §6.7.2.1) are checked with, read one
//! way: the DER of a PEM certificate, its SHA-256 thumbprint as a JOSE header carries it
//! (`x5t#S256`, RFC 7515 §4.1.8), its fingerprint as SIP carries it (RFC 8122 §5:
//! `sha-256 AB:CD:…`), its P-256 key and the URIs its subject alternative names hold.
//!
//! No chain is validated here: the UE certificates are checked against the UE CA when a node
//! loads them ([`crate::ue_certs`]), and the NEF's and the DAC's certificates are
//! pre-configured (NOTE 7 and NOTE 9 of §6.7.2.1).

use p256::ecdsa::VerifyingKey;
use sha2::{Digest as _, Sha256};
use stir::ChainFault;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer as _;

use crate::Error;

/// The hash function token of a fingerprint (RFC 8122 §5, RFC 4572's registry).
pub const FINGERPRINT_HASH: &str = "sha-256";

/// The DER of the first certificate of a PEM text.
pub fn der_from_pem(pem: &str) -> Result<Vec<u8>, Error> {
    stir::cert::pem_certificates(pem.as_bytes())
        .map_err(|source| Error::Certificate { source })?
        .into_iter()
        .next()
        .ok_or(Error::Certificate {
            source: stir::Error::UntrustedCertificate {
                fault: ChainFault::Empty,
            },
        })
}

/// The `x5t#S256` of a certificate: base64url of the SHA-256 of its DER (RFC 7515 §4.1.8).
pub fn thumbprint(der: &[u8]) -> String {
    stir::jose::b64u(&Sha256::digest(der))
}

/// The fingerprint of a certificate as SIP carries it (RFC 8122 §5): `sha-256` and the SHA-256
/// of its DER as upper-case hex pairs joined by `:`.
pub fn fingerprint(der: &[u8]) -> String {
    let pairs: Vec<String> = Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("{FINGERPRINT_HASH} {}", pairs.join(":"))
}

/// Whether two fingerprints are the same: the hash token and the hex digits compare
/// case-insensitively (RFC 8122 §5), surrounding white space ignored.
pub fn same_fingerprint(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// The P-256 key of a certificate (DER).
pub fn verifying_key(der: &[u8]) -> Result<VerifyingKey, Error> {
    let cert = parse(der)?;
    stir::cert::public_key(&cert).map_err(|source| Error::Certificate { source })
}

/// The `uniformResourceIdentifier` entries of a certificate's subject alternative names, in
/// order (a UE certificate's IMPU and tel URI).
pub fn uris(der: &[u8]) -> Result<Vec<String>, Error> {
    let cert = parse(der)?;
    let san = cert
        .subject_alternative_name()
        .map_err(|_| Error::Certificate {
            source: stir::Error::BadSubjectAltName {
                subject: cert.subject().to_string(),
            },
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

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(Error::Certificate {
            source: stir::Error::UntrustedCertificate {
                fault: ChainFault::Unparsable { index: 0 },
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{fixture_key, read};
    use proto::trace::Reason;

    #[test]
    fn a_ue_certificate_reads_as_der_key_and_uris() {
        let der = der_from_pem(&read("pki/ue/ue-a.pem")).unwrap();
        assert_eq!(
            verifying_key(&der).unwrap(),
            *fixture_key("ue-a").verifying_key()
        );
        assert_eq!(
            uris(&der).unwrap(),
            [
                "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org",
                "tel:+12025551000"
            ]
        );
    }

    #[test]
    fn thumbprint_and_fingerprint_are_sha256_of_the_der() {
        let der = der_from_pem(&read("pki/ue/ue-a.pem")).unwrap();
        let digest = Sha256::digest(&der);
        assert_eq!(
            stir::jose::b64u_decode(&thumbprint(&der), stir::Part::Header).unwrap(),
            digest.to_vec()
        );
        let fp = fingerprint(&der);
        assert!(fp.starts_with("sha-256 "), "{fp}");
        let hex = fp.trim_start_matches("sha-256 ");
        assert_eq!(hex.len(), 32 * 3 - 1);
        assert_eq!(hex, hex.to_ascii_uppercase());
        assert_eq!(&hex[..2], format!("{:02X}", digest[0]));
        assert!(same_fingerprint(
            &fp,
            &format!("  SHA-256 {} ", hex.to_lowercase())
        ));
        let other = der_from_pem(&read("pki/ue/ue-b.pem")).unwrap();
        assert!(!same_fingerprint(&fp, &fingerprint(&other)));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        for e in [
            der_from_pem("garbage").unwrap_err(),
            verifying_key(b"junk").unwrap_err(),
            uris(b"junk").unwrap_err(),
        ] {
            assert_eq!(e.reason(), Reason::CertificateInvalid, "{e}");
        }
    }
}
