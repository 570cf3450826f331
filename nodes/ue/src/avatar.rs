//! The UE's part in avatar communication (TR 33.790 key issue #2): solution #5 (§6.5.2), the
//! avatar token UE-A signs and sends its MF (step 0a) and the Avatar ID it names to the XR AS
//! (step 0b); solution #6 (§6.6.2), the UE-A attestation and rendering negotiation (steps 2–3),
//! UE-B's ephemeral key (UE-B centric, step 2), and the rendering end of the protected avatar
//! object (UE-A centric steps 7–9, UE-B centric step 9); in both, the facial points the caller
//! sends and the frames a UE shows; solution #7 (§6.7.2.1, network-centric rendering), UE-A's
//! choice of avatar and rendering (step 2), the application data channel carrying the Avatar-id
//! and its certificate's fingerprint (step 3) and the UE token (step 4).
//!
//! It is not the cryptography (crate `avatar`: tokens, attestations, ECDH/HKDF/AES-GCM, the
//! renderer) and not the data channels (crate `dc`): the harness hands each method the peers of
//! the call; the method carries out what the user does and notes it. Pure parts: the claims a
//! plan gives ([`token_claims`], [`attestation_claims`]), the threat variants' alterations
//! ([`alter_signature`]), HTTP/1.1 over the bootstrap channel ([`bdc_request`],
//! [`parse_answer`], [`refusal`]). Random values (jti, ephemeral secrets) come from the UE's own
//! seeded stream `<id>/avatar`; times from the scenario clock.
//!
//! Notes: [`Act::ChooseAvatar`] (done at step 0a; refused with the XR AS's reason when it
//! refuses the Avatar ID), [`Act::SignAvatarToken`] and [`Act::SignAttestation`] each with a
//! `Note::Token`, [`Act::ChooseRendering`] (done when the XR AS accepted, refused with its
//! reason), `Note::KeyAgreement` and [`Act::OpenAvatarObject`] (done, or refused:
//! `DecryptionFailed` for an object altered or protected for another key), [`Act::RenderAvatar`]
//! and [`Act::ShowAvatar`] each with a `Note::Picture`; for solution #7 [`Act::ChooseRendering`]
//! and [`Act::ChooseAvatar`] (refused `NotEntitled` for an Avatar-id not in the application's
//! list), a `Note::Choice` [`FINGERPRINT_CARRIER`], and [`Act::SendUeToken`] with a
//! `Note::Token`. No private key is ever noted.

use std::time::Duration;

use ::avatar::attestation;
use ::avatar::token;
#[cfg(doc)]
use proto::trace::Act;
use proto::wire::avatar::{Jwk, Rendering};
use stir::Part;
use stir::jose::{b64u, b64u_decode};

mod aos;
mod callee;
mod caller;
mod error;
mod http;
mod network;
mod object;

pub use aos::{PeerAvatar, peer_avatar};
pub use error::{AvatarError, HttpFault};
pub use http::{HttpAnswer, bdc_request, parse_answer, refusal};
pub use network::{AvatarAdc, FINGERPRINT_CARRIER, avatar_app_channel, avatar_dcsa, check_listed};
pub(crate) use object::forget_call;

/// The bound on each wait for a message from a peer on a data channel.
pub const MESSAGE_WAIT: Duration = Duration::from_secs(2);

/// How the avatar token is made (solution #5 threats).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenForgery {
    /// Honestly: over this call, signed with the UE key.
    #[default]
    None,
    /// Signed, then its signature bytes altered.
    BadSignature,
    /// Made for another session: the `call_id` claim names this earlier call (a replay).
    OtherSession(String),
}

/// What the caller's avatar token says and how it is made (solution #5 step 0a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPlan {
    /// The Avatar ID the token names.
    pub avatar_id: String,
    /// How it is made.
    pub forgery: TokenForgery,
}

/// What UE-A's attestation says and how it is made (solution #6 step 2, table 6.6.2.4-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationPlan {
    /// The Avatar ID.
    pub avatar_id: String,
    /// The rendering option.
    pub rendering: Rendering,
    /// The XR AS it names (host name).
    pub xr_as: String,
    /// Its `exp` lies in the past (threat variant).
    pub expired: bool,
    /// Its signature bytes are altered (threat variant).
    pub forged_signature: bool,
    /// UE-B's ephemeral public key (UE-B centric: [`crate::Ue::request_peer_key`]).
    pub peer_key: Option<Jwk>,
}

/// The claims of the avatar token `plan` asks for, in call `call_id` (unless the plan replays
/// another session), for `impu`, issued at `now`, with id `jti`. Pure.
pub fn token_claims(
    plan: &TokenPlan,
    impu: &str,
    call_id: &str,
    now: i64,
    jti: &str,
) -> token::Claims {
    let session = match &plan.forgery {
        TokenForgery::OtherSession(earlier) => earlier.as_str(),
        TokenForgery::None | TokenForgery::BadSignature => call_id,
    };
    token::Claims::new(&plan.avatar_id, impu, session, now, jti)
}

/// The claims of the attestation `plan` asks for at `now`: `own_key` is UE-A's ephemeral
/// public key (UE-A centric), `plan.peer_key` UE-B's (UE-B centric); `exp` is `now` plus the
/// lifetime, or as far in the past for an expired plan. Pure; [`AvatarError::NoEphemeralKey`]
/// when the rendering option's key is not at hand.
pub fn attestation_claims(
    plan: &AttestationPlan,
    own_key: Option<Jwk>,
    now: i64,
) -> Result<attestation::Claims, AvatarError> {
    let (epk_ue_a, epk_ue_b) = match plan.rendering {
        Rendering::NetworkCentric => (None, None),
        Rendering::UeACentric => (Some(own_key.ok_or(AvatarError::NoEphemeralKey)?), None),
        Rendering::UeBCentric => (
            None,
            Some(plan.peer_key.clone().ok_or(AvatarError::NoEphemeralKey)?),
        ),
    };
    let exp = if plan.expired {
        now - attestation::LIFETIME
    } else {
        now + attestation::LIFETIME
    };
    Ok(attestation::Claims {
        avatar_id: plan.avatar_id.clone(),
        xr_as: plan.xr_as.clone(),
        rendering: plan.rendering,
        epk_ue_a,
        epk_ue_b,
        exp,
    })
}

/// A compact JWS with its signature bytes altered (the last byte of `s` flipped): the header
/// and claims read as before, the signature no longer verifies. A string that is not three
/// dot-separated parts with a base64url signature is returned as it is. Pure.
pub fn alter_signature(jws: &str) -> String {
    let Some((signed, signature)) = jws.rsplit_once('.') else {
        return jws.to_owned();
    };
    match b64u_decode(signature, Part::Signature) {
        Ok(mut bytes) if !bytes.is_empty() => {
            if let Some(last) = bytes.last_mut() {
                *last ^= 0x01;
            }
            format!("{signed}.{}", b64u(&bytes))
        }
        _ => jws.to_owned(),
    }
}

/// 32 bytes from `hex` (64 hex digits, as the seeded stream gives them); `None` otherwise.
fn bytes32(hex: &str) -> Option<[u8; 32]> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    bytes?.try_into().ok()
}

/// The TR step a [`Rendering`] option's label names.
fn rendering_clause(rendering: Rendering) -> &'static str {
    match rendering {
        Rendering::NetworkCentric => "§6.6.2.1",
        Rendering::UeACentric => "§6.6.2.2",
        Rendering::UeBCentric => "§6.6.2.3",
    }
}

#[cfg(test)]
mod tests;
