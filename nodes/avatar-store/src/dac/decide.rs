//! The DAC's decisions, without I/O (solution #6 step 6): who is asking (the TLS client
//! certificate's DNS names), whether the UE-A attestation holds for that requester, and how the
//! avatar object goes out (as is, or protected for the rendering UE).

use avatar::Avatar;
use avatar::attestation::{self, Claims};
use avatar::e2e::{self, EphemeralKey, SessionKey};
use proto::clock::Rng;
use proto::wire::avatar::{Jwk, ObjectRequest, Party, Protected, Rendering};

use crate::owners::OwnerKeys;
use crate::refusal::Refusal;

/// The requester's identities: the DNS names of its verified TLS client certificate.
/// [`Refusal::NoClientIdentity`] (NotAuthorised) without a certificate or names.
pub fn requester_names(certificate: Option<&[u8]>) -> Result<Vec<String>, Refusal> {
    let refuse = |detail: String| Refusal::NoClientIdentity { detail };
    let der = certificate.ok_or_else(|| {
        refuse("no client certificate: only an XR AS named in an attestation may ask".into())
    })?;
    let names = kit::tls::dns_names(der).map_err(refuse)?;
    if names.is_empty() {
        return Err(refuse("the client certificate names no host".into()));
    }
    Ok(names)
}

/// The body of `POST /dac/v1/objects`.
pub fn object_request(body: &[u8]) -> Result<ObjectRequest, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal::BadBody {
        detail: e.to_string(),
    })
}

/// How the object goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// As is, to the XR AS for the MF to render (network centric).
    Object,
    /// Protected for the rendering UE, with its ephemeral public key (UE-A or UE-B centric).
    Protect {
        /// The rendering UE.
        party: Party,
        /// Its ephemeral public key, from the attestation.
        recipient: Jwk,
    },
}

/// An attestation that holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The avatar it names.
    pub avatar: &'a Avatar,
    /// Its claims.
    pub claims: Claims,
    /// How the object goes out.
    pub delivery: Delivery,
}

/// Step 6. The avatar the attestation names and its owner's key (NoRecord,
/// CertificateInvalid), then `avatar::attestation::verify` with that key for the requester at
/// `now` (Malformed, SignatureInvalid, Expired, NotAuthorised for another XR AS, Malformed
/// without the rendering option's key), and the rendering UE's ephemeral key must be a P-256
/// point (Malformed). The requester is the name of its certificate the attestation names, or
/// its first name.
pub fn decide<'a>(
    keys: &'a OwnerKeys,
    att: &str,
    names: &[String],
    now: i64,
) -> Result<Verified<'a>, Refusal> {
    let unverified = attestation::unverified_claims(att)?;
    let (avatar, key) = keys.owner_of(&unverified.avatar_id)?;
    let requester = names
        .iter()
        .find(|n| **n == unverified.xr_as)
        .or(names.first())
        .map(String::as_str)
        .unwrap_or_default();
    let claims = attestation::verify(att, key, requester, now)?;
    let delivery = delivery(&claims)?;
    Ok(Verified {
        avatar,
        claims,
        delivery,
    })
}

/// Network centric: the object as is; UE-A or UE-B centric: protected for that UE's ephemeral
/// key, which must be there (`verify` checked) and a P-256 point.
fn delivery(claims: &Claims) -> Result<Delivery, Refusal> {
    let (party, claim) = match claims.rendering {
        Rendering::NetworkCentric => return Ok(Delivery::Object),
        Rendering::UeACentric => (Party::Caller, "epk_ue_a"),
        Rendering::UeBCentric => (Party::Callee, "epk_ue_b"),
    };
    let recipient = claims
        .recipient_key()
        .ok_or(avatar::Error::MissingEphemeralKey {
            rendering: claims.rendering,
            claim,
        })?;
    e2e::jwk_to_public(recipient)?;
    Ok(Delivery::Protect {
        party,
        recipient: recipient.clone(),
    })
}

/// The random inputs of one protection, drawn from the DAC's seeded stream.
#[derive(Debug, Clone)]
pub struct Draw {
    /// The DAC's ephemeral key.
    pub key: EphemeralKey,
    /// HKDF salt.
    pub salt: [u8; e2e::SALT_LEN],
    /// AES-GCM nonce.
    pub nonce: [u8; e2e::NONCE_LEN],
}

/// How often 32 drawn bytes may fail to be a P-256 scalar before the DAC gives up (each draw
/// fails with probability below 2⁻³²).
const KEY_DRAWS: usize = 4;

/// Draws 32 bytes for the ephemeral key (again, should they not be a scalar), then 16 salt
/// bytes and 12 nonce bytes.
pub fn draw(rng: &mut Rng) -> Result<Draw, Refusal> {
    let key = (0..KEY_DRAWS)
        .find_map(|_| EphemeralKey::from_bytes(bytes(rng)).ok())
        .ok_or(Refusal::Protection {
            source: avatar::Error::BadEphemeralSecret,
        })?;
    Ok(Draw {
        key,
        salt: bytes(rng),
        nonce: bytes(rng),
    })
}

/// `N` bytes from the stream, four at a time (little-endian words).
fn bytes<const N: usize>(rng: &mut Rng) -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(4) {
        let word = rng.u32().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

/// The object of `verified` protected for `recipient` with `draw`, and the session key (for
/// its fingerprint).
pub fn protect(
    verified: &Verified<'_>,
    recipient: &Jwk,
    draw: &Draw,
) -> Result<(Protected, SessionKey), Refusal> {
    e2e::protect(
        &verified.avatar.model,
        &draw.key,
        recipient,
        draw.salt,
        draw.nonce,
        verified.claims.rendering,
    )
    .map_err(|source| Refusal::Protection { source })
}

/// The rendering UE, as the trace names it.
pub fn party_name(party: Party) -> &'static str {
    match party {
        Party::Caller => "UE-A",
        Party::Callee => "UE-B",
    }
}

/// The label of the `VerifyAttestation` note for an attestation that holds.
pub fn verified_label(v: &Verified<'_>) -> String {
    format!(
        "UE-A attestation for {} verified with the owner's UE certificate ({}, {}): XR AS {}, {}, expires {}",
        v.avatar.id,
        v.avatar.owner_ue,
        v.avatar.owner_impu,
        v.claims.xr_as,
        v.claims.rendering.as_str(),
        v.claims.exp
    )
}

/// The label of the refused `VerifyAttestation` note.
pub fn refused_label(refusal: &Refusal) -> String {
    format!("refuse avatar object request: {refusal}")
}

/// The label of the `ProtectAvatarObject` note: the recipient, the cipher and the key's
/// fingerprint.
pub fn protected_label(v: &Verified<'_>, party: Party, key: &SessionKey) -> String {
    format!(
        "protect avatar object {} for {} ({}) with {}, key {}",
        v.avatar.id,
        party_name(party),
        v.claims.rendering.as_str(),
        e2e::KDF,
        key.fingerprint()
    )
}

#[cfg(test)]
mod tests;
