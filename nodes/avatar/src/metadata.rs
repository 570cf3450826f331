//! The signed avatar metadata of solution #7 (TR 33.790 §6.7.2.1 steps 9, 9.1 and 11.1): the
//! DAC answers the XR AS the avatar metadata signed by the avatar provider; the XR AS (step 9.1)
//! and the MF (step 11.1, NOTE 10: when the XR AS is outside the trust domain) verify "the
//! signature of the avatar and expiration time of the avatar" with the provider's
//! pre-configured certificate (NOTEs 7 and 9).
//!
//! Encoding (the testbed's choice): a compact JWS, header `{"alg":"ES256",
//! "typ":"avatar-metadata+jwt","x5t#S256":…}` signed with the DAC's TLS key, claims `iss` (the
//! DAC's host), `avatar_id`, `name`, `model` (the base avatar model as the BAR serves it),
//! `iat` and `exp`.

use p256::ecdsa::SigningKey;
use proto::trace::Note;
use proto::wire::avatar::Model;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::token::Decoded;
use crate::{Avatar, Error, jws, x5t};

/// The JOSE `typ` of signed avatar metadata.
pub const TYP: &str = "avatar-metadata+jwt";

/// How long signed metadata is valid by default, in seconds (`exp` = `iat` + this).
pub const LIFETIME: i64 = 600;

/// The avatar metadata, as signed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The avatar provider (the DAC's host).
    pub iss: String,
    /// The Avatar ID.
    pub avatar_id: String,
    /// The avatar's name, as shown.
    pub name: String,
    /// The base avatar model.
    pub model: Model,
    /// Signed at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

impl Metadata {
    /// The metadata of `avatar` as `iss` signs it at `iat`, valid for `lifetime` seconds (a
    /// negative lifetime makes metadata that has already expired).
    pub fn of(avatar: &Avatar, iss: &str, iat: i64, lifetime: i64) -> Self {
        Self {
            iss: iss.to_owned(),
            avatar_id: avatar.id.clone(),
            name: avatar.name.clone(),
            model: avatar.model.clone(),
            iat,
            exp: iat + lifetime,
        }
    }
}

/// Signs `metadata` with the avatar provider's key; the header names its certificate.
pub fn sign(metadata: &Metadata, key: &SigningKey, cert_der: &[u8]) -> Result<String, Error> {
    x5t::sign(TYP, metadata, key, cert_der)
}

/// Decodes signed metadata without verifying it (for trace notes).
pub fn decode(jws: &str) -> Result<Decoded, Error> {
    jws::decode(jws)
}

/// Verifies signed metadata with the provider's certificate `dac_cert_der` at `now`, in this
/// order: shape, header and claims (Malformed), `x5t#S256` ([`Error::Thumbprint`]), the
/// signature ([`Error::BadSignature`]), `avatar_id` is the one expected
/// ([`Error::AvatarMismatch`]), `exp` has not passed ([`Error::Expired`]).
pub fn verify(
    jws: &str,
    dac_cert_der: &[u8],
    expected_avatar_id: &str,
    now: i64,
) -> Result<Metadata, Error> {
    let metadata: Metadata = x5t::verify(jws, TYP, dac_cert_der)?;
    if metadata.avatar_id != expected_avatar_id {
        return Err(Error::AvatarMismatch {
            claimed: metadata.avatar_id,
            requested: expected_avatar_id.to_owned(),
        });
    }
    if metadata.exp < now {
        return Err(Error::Expired {
            exp: metadata.exp,
            now,
        });
    }
    Ok(metadata)
}

/// What an untrusted XR AS makes of signed metadata (NOTE 10): the payload changed (the name
/// and the model's name prefixed with `Tampered `), the header and the old signature kept, so
/// [`verify`] refuses it ([`Error::BadSignature`]). Not signed metadata: returned unchanged.
pub fn tamper(jws: &str) -> String {
    let Ok(decoded) = decode(jws) else {
        return jws.to_owned();
    };
    let mut claims = decoded.claims;
    for pointer in ["/name", "/model/name"] {
        if let Some(slot) = claims.pointer_mut(pointer)
            && let Some(name) = slot.as_str()
        {
            *slot = Value::String(format!("Tampered {name}"));
        }
    }
    x5t::replace_payload(jws, &claims)
}

/// A `Note::Token` with the metadata's header and claims, if it decodes.
pub fn note(label: &str, jws: &str) -> Option<Note> {
    jws::note(label, jws)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::read;
    use crate::{Catalogue, cert};
    use proto::trace::Reason;

    const DAC: &str = "dac.avatars.example";
    const NOW: i64 = 1_772_442_000;

    fn tls(host: &str) -> (SigningKey, Vec<u8>) {
        let key = crate::keys::signing_key_pem(&read(&format!("pki/tls/{host}.key.pem"))).unwrap();
        let der = cert::der_from_pem(&read(&format!("pki/tls/{host}.pem"))).unwrap();
        (key, der)
    }

    fn metadata(lifetime: i64) -> Metadata {
        let catalogue = Catalogue::load().unwrap();
        Metadata::of(catalogue.get("qbranch-agent").unwrap(), DAC, NOW, lifetime)
    }

    fn signed(lifetime: i64) -> String {
        let (key, der) = tls(DAC);
        sign(&metadata(lifetime), &key, &der).unwrap()
    }

    #[test]
    fn signed_metadata_verifies_with_the_providers_certificate() {
        let jws = signed(LIFETIME);
        let got = verify(&jws, &tls(DAC).1, "qbranch-agent", NOW + LIFETIME).unwrap();
        assert_eq!(got, metadata(LIFETIME));
        assert_eq!(got.model.id, "qbranch-agent");
        assert_eq!(got.name, got.model.name);
        let d = decode(&jws).unwrap();
        assert_eq!(d.header["typ"], TYP);
        assert_eq!(d.claims["iss"], DAC);
    }

    #[test]
    fn each_failure_has_its_reason() {
        let jws = signed(LIFETIME);
        let dac = tls(DAC).1;
        let reason =
            |jws: &str, id: &str, now: i64| verify(jws, &dac, id, now).unwrap_err().reason();
        assert_eq!(
            reason(&jws, "qbranch-agent", NOW + LIFETIME + 1),
            Reason::Expired
        );
        assert_eq!(reason(&jws, "owl", NOW), Reason::ClaimMismatch);
        assert_eq!(
            reason(&tamper(&jws), "qbranch-agent", NOW),
            Reason::SignatureInvalid
        );
        // Already expired when signed (the "expired metadata" variant).
        assert_eq!(reason(&signed(-1), "qbranch-agent", NOW), Reason::Expired);
        // Checked with another certificate than the one that signed.
        let e = verify(&jws, &tls("bar.avatars.example").1, "qbranch-agent", NOW).unwrap_err();
        assert!(matches!(e, Error::Thumbprint { .. }), "{e}");
        assert_eq!(reason("nope", "qbranch-agent", NOW), Reason::Malformed);
    }

    #[test]
    fn tampering_changes_the_name_and_keeps_the_signature() {
        let jws = signed(LIFETIME);
        let bad = tamper(&jws);
        assert_ne!(bad, jws);
        assert_eq!(bad.split('.').nth(2), jws.split('.').nth(2));
        assert_eq!(bad.split('.').next(), jws.split('.').next());
        let d = decode(&bad).unwrap();
        assert_eq!(d.claims["name"], "Tampered Q-Branch agent");
        assert_eq!(d.claims["model"]["name"], "Tampered Q-Branch agent");
        assert_eq!(tamper("not a jws"), "not a jws");
    }
}
