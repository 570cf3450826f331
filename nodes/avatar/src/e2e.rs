//! The avatar object protected end to end between the DAC and the rendering UE (solution #6,
//! TR 33.790 §6.6.2.2 steps 6–8 and §6.6.2.3 steps 6–9): the DAC generates an ephemeral key pair,
//! derives a session key from its ephemeral private key and the UE's ephemeral public key from
//! the attestation, and protects the object; the UE derives the same key from its ephemeral
//! private key and the DAC's ephemeral public key, and opens it. The XR AS and the MF carry the
//! protected object and cannot open it.
//!
//! The TR leaves the mechanism open (confidentiality is FFS); the testbed's choice: ECDH on P-256
//! (the x coordinate of d·Q, computed with p256's arithmetic), HKDF-SHA256 with a 16-byte salt
//! and info `TR 33.790 avatar object|<avatar_id>|<rendering>` to a 32-byte key, AES-256-GCM with
//! a 12-byte nonce over the model's canonical JSON, the Avatar ID as additional data. Every
//! random input (ephemeral secrets, salt, nonce) is passed in, so a run is reproducible.

use std::fmt;

use p256::elliptic_curve::point::AffineCoordinates as _;
use p256::{AffinePoint, SecretKey};
use proto::trace::Note;
use proto::wire::avatar::{Jwk, Model, Protected, Rendering};
use ring::{aead, hkdf};
use sha2::{Digest as _, Sha256};
use stir::Part;
use stir::jose::{b64u, b64u_decode};

use crate::{Error, jws};

mod jwk;

pub use jwk::jwk_to_public;

/// `Protected.alg`: the key agreement, derivation and cipher.
pub const ALG: &str = "ECDH-P256+HKDF-SHA256+A256GCM";

/// The key derivation and cipher, as the trace shows it.
pub const KDF: &str = "ECDH P-256 → HKDF-SHA256 → AES-256-GCM";

/// What the HKDF info starts with.
pub const INFO_PREFIX: &str = "TR 33.790 avatar object";

/// Length of the HKDF salt.
pub const SALT_LEN: usize = 16;

/// Length of the AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// An ephemeral P-256 key pair (the DAC's, UE-A's or UE-B's, one per call). Its `Debug` shows
/// only the public key.
#[derive(Clone)]
pub struct EphemeralKey {
    secret: SecretKey,
}

impl EphemeralKey {
    /// The key whose private scalar is `seed` (32 bytes from the node's seeded stream); refuses
    /// zero and values not below the group order ([`Error::BadEphemeralSecret`]).
    pub fn from_bytes(seed: [u8; 32]) -> Result<Self, Error> {
        let secret = SecretKey::from_slice(&seed).map_err(|_| Error::BadEphemeralSecret)?;
        Ok(Self { secret })
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Jwk {
        jwk::from_public(&self.secret.public_key())
    }
}

impl fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralKey")
            .field("public", &self.public_jwk())
            .finish_non_exhaustive()
    }
}

/// A derived 256-bit session key. Its `Debug` shows the fingerprint, never the key.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// `sha256:` and the first 16 hex digits of SHA-256 of the key: enough to compare the two
    /// ends in a trace, nothing to recover the key from.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0);
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.fingerprint())
    }
}

/// The HKDF info for an avatar object: `TR 33.790 avatar object|<avatar_id>|<rendering>`.
pub fn info(avatar_id: &str, rendering: Rendering) -> String {
    format!("{INFO_PREFIX}|{avatar_id}|{}", rendering.as_str())
}

/// The session key between `own` and the peer's public key: the x coordinate of the ECDH shared
/// point, through HKDF-SHA256 with `salt` and `info`, to 32 bytes.
pub fn derive(
    own: &EphemeralKey,
    peer: &Jwk,
    salt: &[u8],
    info: &str,
) -> Result<SessionKey, Error> {
    let peer = jwk_to_public(peer)?;
    let shared = ecdh_x(&own.secret, &peer);
    hkdf_sha256(&shared, salt, info)
}

/// ECDH on P-256 (SEC 1 §3.3.1): the x coordinate of d·Q. The peer's key is a valid point not at
/// infinity and d is non-zero, so on a prime-order curve d·Q is never the identity.
fn ecdh_x(own: &SecretKey, peer: &p256::PublicKey) -> [u8; 32] {
    let point = AffinePoint::from(peer.to_projective() * *own.to_nonzero_scalar());
    let mut x = [0u8; 32];
    x.copy_from_slice(&point.x());
    x
}

/// HKDF-SHA256 (RFC 5869) to a 32-byte key.
fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &str) -> Result<SessionKey, Error> {
    struct Len32;
    impl hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let failed = |_| Error::Crypto {
        operation: "HKDF-SHA256",
    };
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info.as_bytes()];
    let okm = prk.expand(&info, Len32).map_err(failed)?;
    let mut key = [0u8; 32];
    okm.fill(&mut key).map_err(failed)?;
    Ok(SessionKey(key))
}

fn cipher(key: &SessionKey) -> Result<aead::LessSafeKey, Error> {
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, &key.0).map_err(|_| Error::Crypto {
        operation: "AES-256-GCM key",
    })?;
    Ok(aead::LessSafeKey::new(unbound))
}

/// The DAC protects `object` for the rendering UE whose ephemeral public key is `recipient`,
/// with its own ephemeral key `dac`, `salt` and `nonce` (fresh per object, from its seeded
/// stream). Returns the protected object and the session key (for the trace's fingerprint).
pub fn protect(
    object: &Model,
    dac: &EphemeralKey,
    recipient: &Jwk,
    salt: [u8; 16],
    nonce: [u8; 12],
    rendering: Rendering,
) -> Result<(Protected, SessionKey), Error> {
    let info = info(&object.id, rendering);
    let key = derive(dac, recipient, &salt, &info)?;
    let mut in_out = jws::canonical(object)?;
    cipher(&key)?
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(object.id.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| Error::Crypto {
            operation: "AES-256-GCM seal",
        })?;
    let protected = Protected {
        alg: ALG.into(),
        epk: dac.public_jwk(),
        salt: b64u(&salt),
        info,
        nonce: b64u(&nonce),
        aad: object.id.clone(),
        ciphertext: b64u(&in_out),
    };
    Ok((protected, key))
}

/// The rendering UE opens a protected object with its ephemeral key: derives the session key
/// with the DAC's ephemeral public key, checks the AES-GCM tag ([`Error::DecryptionFailed`] when
/// anything was altered or the object is for another key) and reads the model.
pub fn open(p: &Protected, own: &EphemeralKey) -> Result<(Model, SessionKey), Error> {
    if p.alg != ALG {
        return Err(Error::BadProtected { field: "alg" });
    }
    let salt = fixed::<SALT_LEN>(&p.salt, "salt")?;
    let nonce = fixed::<NONCE_LEN>(&p.nonce, "nonce")?;
    let mut in_out =
        b64u_decode(&p.ciphertext, Part::Payload).map_err(|_| Error::BadProtected {
            field: "ciphertext",
        })?;
    let key = derive(own, &p.epk, &salt, &p.info)?;
    let plain = cipher(&key)?
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(p.aad.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| Error::DecryptionFailed)?;
    let model = serde_json::from_slice(plain).map_err(|e| Error::BadObject {
        detail: e.to_string(),
    })?;
    Ok((model, key))
}

/// A base64url field of exactly `N` bytes.
fn fixed<const N: usize>(text: &str, field: &'static str) -> Result<[u8; N], Error> {
    b64u_decode(text, Part::Payload)
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or(Error::BadProtected { field })
}

/// The `Note::KeyAgreement` for a key derived for `p`: both ephemeral public keys (`own` is the
/// noting node's), the derivation's parameters and the key's fingerprint; no private key.
pub fn key_agreement_note(
    label: &str,
    own: &Jwk,
    peer: &Jwk,
    p: &Protected,
    key: &SessionKey,
) -> Note {
    Note::KeyAgreement {
        label: label.to_owned(),
        local_public: jwk::to_value(own),
        peer_public: jwk::to_value(peer),
        kdf: KDF.to_owned(),
        salt: p.salt.clone(),
        info: p.info.clone(),
        key_fingerprint: key.fingerprint(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::trace::Reason;

    const SALT: [u8; 16] = [0x5a; 16];
    const NONCE: [u8; 12] = [0x0c; 12];

    fn hex32(text: &str) -> [u8; 32] {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    fn key(byte: u8) -> EphemeralKey {
        EphemeralKey::from_bytes([byte; 32]).unwrap()
    }

    fn model() -> Model {
        Model {
            format: "testbed-avatar/1".into(),
            id: "qbranch-agent".into(),
            name: "Q-Branch agent".into(),
            owner: "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org".into(),
            outline: vec![[10, 10], [50, 10], [50, 50], [10, 50]],
            eyes: vec![[20, 25, 4], [40, 25, 4]],
            mouth: proto::wire::avatar::Mouth {
                center: [30, 40],
                half_width: 6,
            },
            strokes: vec![],
        }
    }

    /// RFC 5903 §8.1, from `testdata/rfc5903-p256-ecdh.toml`.
    #[test]
    fn rfc5903_p256_ecdh_vector() {
        let text = include_str!("../testdata/rfc5903-p256-ecdh.toml");
        let v: std::collections::BTreeMap<String, String> = toml::from_str(text).unwrap();
        let i = EphemeralKey::from_bytes(hex32(&v["i"])).unwrap();
        let r = EphemeralKey::from_bytes(hex32(&v["r"])).unwrap();
        let gi = i.public_jwk();
        assert_eq!(gi.x, b64u(&hex32(&v["gix"])));
        assert_eq!(gi.y, b64u(&hex32(&v["giy"])));
        let gr = jwk_to_public(&r.public_jwk()).unwrap();
        assert_eq!(r.public_jwk().x, b64u(&hex32(&v["grx"])));
        assert_eq!(ecdh_x(&i.secret, &gr), hex32(&v["girx"]));
        assert_eq!(
            ecdh_x(&r.secret, &jwk_to_public(&gi).unwrap()),
            hex32(&v["girx"])
        );
    }

    #[test]
    fn protect_and_open_round_trip_with_one_key_at_both_ends() {
        let (dac, ue) = (key(1), key(2));
        let (p, dac_key) = protect(
            &model(),
            &dac,
            &ue.public_jwk(),
            SALT,
            NONCE,
            Rendering::UeACentric,
        )
        .unwrap();
        assert_eq!(p.alg, ALG);
        assert_eq!(p.info, "TR 33.790 avatar object|qbranch-agent|ue-a-centric");
        assert_eq!(p.aad, "qbranch-agent");
        assert_eq!(p.epk, dac.public_jwk());
        let (opened, ue_key) = open(&p, &ue).unwrap();
        assert_eq!(opened, model());
        assert_eq!(ue_key.fingerprint(), dac_key.fingerprint());
        assert!(dac_key.fingerprint().starts_with("sha256:"));
        assert_eq!(dac_key.fingerprint().len(), "sha256:".len() + 16);
        assert_eq!(
            format!("{dac_key:?}"),
            format!("SessionKey({})", dac_key.fingerprint())
        );
    }

    #[test]
    fn protection_is_deterministic_given_seeds() {
        let run = || {
            protect(
                &model(),
                &key(1),
                &key(2).public_jwk(),
                SALT,
                NONCE,
                Rendering::UeBCentric,
            )
            .unwrap()
            .0
        };
        assert_eq!(run(), run());
        let other_salt = protect(
            &model(),
            &key(1),
            &key(2).public_jwk(),
            [0; 16],
            NONCE,
            Rendering::UeBCentric,
        )
        .unwrap()
        .0;
        assert_ne!(run().ciphertext, other_salt.ciphertext);
    }

    #[test]
    fn any_alteration_or_another_key_fails_decryption() {
        let ue = key(2);
        let (p, _) = protect(
            &model(),
            &key(1),
            &ue.public_jwk(),
            SALT,
            NONCE,
            Rendering::UeACentric,
        )
        .unwrap();
        let mut bytes = b64u_decode(&p.ciphertext, Part::Payload).unwrap();
        bytes[3] ^= 0x01;
        let flipped = Protected {
            ciphertext: b64u(&bytes),
            ..p.clone()
        };
        assert_eq!(open(&flipped, &ue).unwrap_err(), Error::DecryptionFailed);
        let other_aad = Protected {
            aad: "qbranch-cat".into(),
            ..p.clone()
        };
        assert_eq!(open(&other_aad, &ue).unwrap_err(), Error::DecryptionFailed);
        let other_info = Protected {
            info: info("qbranch-agent", Rendering::NetworkCentric),
            ..p.clone()
        };
        assert_eq!(open(&other_info, &ue).unwrap_err(), Error::DecryptionFailed);
        // The XR AS (or anyone) with another ephemeral key cannot open it.
        let e = open(&p, &key(3)).unwrap_err();
        assert_eq!(e.reason(), Reason::DecryptionFailed);
    }

    #[test]
    fn unusable_fields_are_malformed() {
        let ue = key(2);
        let (p, _) = protect(
            &model(),
            &key(1),
            &ue.public_jwk(),
            SALT,
            NONCE,
            Rendering::UeACentric,
        )
        .unwrap();
        let cases = [
            (
                Protected {
                    alg: "A128GCM".into(),
                    ..p.clone()
                },
                "alg",
            ),
            (
                Protected {
                    salt: b64u(&[1; 15]),
                    ..p.clone()
                },
                "salt",
            ),
            (
                Protected {
                    nonce: "!".into(),
                    ..p.clone()
                },
                "nonce",
            ),
            (
                Protected {
                    ciphertext: "*".into(),
                    ..p.clone()
                },
                "ciphertext",
            ),
        ];
        for (bad, field) in cases {
            assert_eq!(open(&bad, &ue).unwrap_err(), Error::BadProtected { field });
        }
    }

    #[test]
    fn jwk_must_be_a_p256_point() {
        let good = key(5).public_jwk();
        assert!(jwk_to_public(&good).is_ok());
        let mut off_curve = good.clone();
        let mut y = b64u_decode(&good.y, Part::Payload).unwrap();
        y[31] ^= 0x01;
        off_curve.y = b64u(&y);
        let e = jwk_to_public(&off_curve).unwrap_err();
        assert_eq!(
            e,
            Error::BadJwk {
                fault: crate::JwkFault::NotOnCurve
            }
        );
        assert_eq!(e.reason(), Reason::Malformed);
        let rsa = Jwk {
            kty: "RSA".into(),
            ..good.clone()
        };
        assert!(matches!(
            jwk_to_public(&rsa),
            Err(Error::BadJwk {
                fault: crate::JwkFault::Kty(_)
            })
        ));
        let p384 = Jwk {
            crv: "P-384".into(),
            ..good.clone()
        };
        assert!(matches!(
            jwk_to_public(&p384),
            Err(Error::BadJwk {
                fault: crate::JwkFault::Crv(_)
            })
        ));
        let short = Jwk {
            x: b64u(&[1; 31]),
            ..good
        };
        assert!(matches!(
            jwk_to_public(&short),
            Err(Error::BadJwk {
                fault: crate::JwkFault::Coordinate("x")
            })
        ));
        // And protecting for such a key fails the same way.
        let e = protect(
            &model(),
            &key(1),
            &off_curve,
            SALT,
            NONCE,
            Rendering::UeACentric,
        )
        .unwrap_err();
        assert_eq!(e.reason(), Reason::Malformed);
    }

    #[test]
    fn ephemeral_secrets_must_be_scalars() {
        assert_eq!(
            EphemeralKey::from_bytes([0; 32]).unwrap_err(),
            Error::BadEphemeralSecret
        );
        assert_eq!(
            EphemeralKey::from_bytes([0xff; 32]).unwrap_err(),
            Error::BadEphemeralSecret
        );
        assert_eq!(key(9).public_jwk(), key(9).public_jwk());
        let debug = format!("{:?}", key(9));
        assert!(debug.contains(&key(9).public_jwk().x), "{debug}");
    }

    #[test]
    fn key_agreement_note_has_no_private_key() {
        let (dac, ue) = (key(1), key(2));
        let (p, k) = protect(
            &model(),
            &dac,
            &ue.public_jwk(),
            SALT,
            NONCE,
            Rendering::UeBCentric,
        )
        .unwrap();
        let note = key_agreement_note("derive", &dac.public_jwk(), &ue.public_jwk(), &p, &k);
        let text = serde_json::to_string(&note).unwrap();
        assert!(!text.contains(&b64u(&[1; 32])), "{text}");
        match note {
            Note::KeyAgreement {
                local_public,
                peer_public,
                kdf,
                salt,
                info,
                key_fingerprint,
                ..
            } => {
                assert_eq!(local_public["x"], dac.public_jwk().x);
                assert_eq!(peer_public["crv"], "P-256");
                assert_eq!(kdf, KDF);
                assert_eq!(salt, b64u(&SALT));
                assert_eq!(info, p.info);
                assert_eq!(key_fingerprint, k.fingerprint());
            }
            other => panic!("{other:?}"),
        }
    }
}
