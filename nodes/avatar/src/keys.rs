//! UE key material read one way by every node that needs it: the UE's signing key
//! (`fixtures/pki/ue/<ue>.key.pem`, PKCS#8) and, for the BAR and the DAC, the verifying key of a
//! UE certificate (`fixtures/pki/ue/<ue>.pem`) once it chains to the UE CA
//! (`fixtures/pki/ue-ca.pem`), with stir's end-entity certificate checks.

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey as _;
use stir::TrustAnchors;

use crate::Error;

/// The UE's ES256 signing key from PKCS#8 PEM.
pub fn signing_key_pem(pem: &str) -> Result<SigningKey, Error> {
    SigningKey::from_pkcs8_pem(pem).map_err(|_| Error::BadPrivateKey)
}

/// The ES256 verifying key of a UE certificate and the URIs its subject alternative names hold
/// (the IMPU and the tel URI), once the certificate chains to the UE CA at `now` (seconds since
/// the epoch): ecdsa-with-SHA256 signatures, every certificate valid at `now`, a P-256 key.
pub fn ue_certificate_key(
    cert_pem: &str,
    ue_ca_pem: &str,
    now: i64,
) -> Result<(VerifyingKey, Vec<String>), Error> {
    let anchors = TrustAnchors::from_pem(ue_ca_pem.as_bytes())
        .map_err(|source| Error::Certificate { source })?;
    let ee = stir::cert::validate_end_entity(cert_pem.as_bytes(), &anchors, now)
        .map_err(|source| Error::Certificate { source })?;
    Ok((ee.key, ee.uris))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::read;
    use proto::trace::Reason;

    const NOW: i64 = 1_772_442_000;

    #[test]
    fn ue_a_key_matches_its_certificate() {
        let key = signing_key_pem(&read("pki/ue/ue-a.key.pem")).unwrap();
        let (vk, uris) =
            ue_certificate_key(&read("pki/ue/ue-a.pem"), &read("pki/ue-ca.pem"), NOW).unwrap();
        assert_eq!(vk, *key.verifying_key());
        assert_eq!(
            uris,
            [
                "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org",
                "tel:+12025551000"
            ]
        );
    }

    #[test]
    fn certificate_from_another_ca_expired_or_garbage_is_refused() {
        let ue_ca = read("pki/ue-ca.pem");
        let tls = read("pki/tls/bar.avatars.example.pem");
        let e = ue_certificate_key(&tls, &ue_ca, NOW).unwrap_err();
        assert_eq!(e.reason(), Reason::CertificateInvalid, "{e}");
        let e = ue_certificate_key(&read("pki/ue/ue-a.pem"), &ue_ca, 100).unwrap_err();
        assert_eq!(e.reason(), Reason::CertificateInvalid, "{e}");
        let e = ue_certificate_key(&read("pki/ue/ue-a.pem"), "garbage", NOW).unwrap_err();
        assert_eq!(e.reason(), Reason::CertificateInvalid, "{e}");
    }

    #[test]
    fn a_certificate_is_not_a_private_key() {
        let e = signing_key_pem(&read("pki/ue/ue-a.pem")).unwrap_err();
        assert_eq!(e, Error::BadPrivateKey);
    }
}
