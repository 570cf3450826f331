//! Avatar communication (TR 33.790 key issue #2; solutions #5, §6.5, and #6, §6.6): the shapes
//! between the UE, the MF, the XR AS, the DCSF, the BAR and the DAC, and the JSON messages on the
//! data channels. HTTPS hops between network functions use mutual TLS with the world's TLS CA;
//! a UE reaches the XR AS by HTTP/1.1 over its bootstrap data channel, which its MF relays
//! (choice `avatar-xr-transport`).
//!
//! Who calls whom:
//!
//! - Solution 5. UE → MF over the application data channel: [`DcMessage::AvatarToken`] (step
//!   0a). UE → MF → XR AS: [`SELECT_PATH`] with [`AvatarSelection`] (step 0b; the XR AS answers
//!   403 with a [`Problem`] for an Avatar ID not in the UE's list, steps 1–2). XR AS → DCSF
//!   ([`DCSF_AVATAR_PATH`]) → MF ([`MF_AVATAR_PATH`]): [`AvatarForward`] (steps 3–4). MF → BAR:
//!   `GET` [`model_path`] with `Authorization: Bearer <token>` (step 5); the BAR answers the
//!   [`Model`] or a [`Problem`] (steps 6–7).
//! - Solution 6. UE → MF → XR AS: [`RENDERING_PATH`] with [`RenderingNegotiation`] (step 2;
//!   the XR AS accepts and keeps it). MF → XR AS: [`ADC_PATH`] with [`AdcEstablished`] once the
//!   caller's application channel is open (step 4). Then XR AS → DAC: [`OBJECT_PATH`] with
//!   [`ObjectRequest`] (step 5); the DAC answers an
//!   [`ObjectResponse`] or a [`Problem`] (step 6). XR AS → MF: [`RENDER_PATH`] with
//!   [`RenderRequest`] (network centric, step 7) or [`DELIVER_PATH`] with [`DeliverRequest`]
//!   (UE-A or UE-B centric, step 7: the MF passes the protected object on over a data channel).

use serde::{Deserialize, Serialize};

use crate::trace::Reason;

// ---- channels ----------------------------------------------------------------------------------

/// The SIP-facing mid of the section the caller's MF offers the callee for rendered avatar
/// media (the testbed's stand-in for video from the network, and the path the XR AS reaches the
/// callee by).
pub const AVATAR_MEDIA_MID: &str = "avm";

/// The stream of that section's one channel.
pub const AVATAR_MEDIA_STREAM: u16 = 1300;

/// That channel's label.
pub const AVATAR_MEDIA_LABEL: &str = "avatar-video";

/// That channel's subprotocol.
pub const AVATAR_MEDIA_SUBPROTOCOL: &str = "avatar-frame";

/// The stream of the caller's application channel to its MF that carries avatar messages (the
/// `p2a` section's channel).
pub const AVATAR_APP_STREAM: u16 = 1100;

/// The stream of the peer-to-peer channel avatar messages between the UEs travel on.
pub const PEER_AVATAR_STREAM: u16 = 1000;

// ---- HTTP paths --------------------------------------------------------------------------------

/// `POST` (UE over its bootstrap channel, relayed by the MF to the XR AS): the Avatar ID the UE
/// will use (solution 5 step 0b). Body [`AvatarSelection`] from the UE, [`XrSelection`] from the
/// MF; answer [`Accepted`] or [`Problem`].
pub const SELECT_PATH: &str = "/xr/v1/avatar";

/// `POST` (UE over its bootstrap channel, relayed to the XR AS): rendering negotiation with the
/// UE-A attestation (solution 6 step 2). Body [`RenderingNegotiation`] from the UE,
/// [`XrRendering`] from the MF; answer [`Accepted`] or [`Problem`].
pub const RENDERING_PATH: &str = "/xr/v1/rendering";

/// `POST` on the XR AS: the MF reports that the caller's application data channel to it has
/// opened (solution 6 step 4); with the rendering negotiated (step 2), the XR AS then requests
/// the avatar object (step 5). Body [`AdcEstablished`]; answer 204.
pub const ADC_PATH: &str = "/xr/v1/adc";

/// `POST` on the DCSF: the XR AS passes an accepted Avatar ID on (solution 5 step 3). Body
/// [`AvatarForward`]; answer [`Accepted`] or [`Problem`] (the MF's, passed back).
pub const DCSF_AVATAR_PATH: &str = "/dcsf/v1/avatar";

/// `POST` on the MF: the DCSF passes the Avatar ID on (solution 5 step 4); the MF downloads the
/// model (steps 5–7) before it answers [`Accepted`] or [`Problem`].
pub const MF_AVATAR_PATH: &str = "/mf/v1/avatar";

/// `GET` on the BAR: the base avatar model of `avatar_id` for the session `session` (the
/// call's Call-ID the token must be bound to), with `Authorization: Bearer <token>` (solution
/// 5 step 5).
pub fn model_path(avatar_id: &str, session: &str) -> String {
    format!(
        "{MODEL_PATH_PREFIX}{}?session={}",
        pct(avatar_id),
        pct(session)
    )
}

/// What [`model_path`] starts with.
pub const MODEL_PATH_PREFIX: &str = "/bar/v1/models/";

/// `POST` on the DAC: the avatar object, with the UE-A attestation (solution 6 step 5). Body
/// [`ObjectRequest`]; answer [`ObjectResponse`] or [`Problem`].
pub const OBJECT_PATH: &str = "/dac/v1/objects";

/// `POST` on the MF: render this avatar object with the caller's facial points (solution 6
/// network centric, step 7). Body [`RenderRequest`]; answer [`Accepted`].
pub const RENDER_PATH: &str = "/mf/v1/render";

/// `POST` on the MF: pass this message to a party of the call over its data channel (solution
/// 6 UE-A or UE-B centric, step 7). Body [`DeliverRequest`]; answer [`Accepted`] or [`Problem`].
pub const DELIVER_PATH: &str = "/mf/v1/deliver";

/// `POST` on an operator's AOS, by its IMS AS (solution 8 steps 2, 12): is this subscriber
/// authorised to use avatars (and this Avatar ID), and its avatar data for the call. Body
/// [`AvatarLookup`]; answer [`AvatarData`] or [`Problem`].
pub const AOS_LOOKUP_PATH: &str = "/aos/v1/lookups";

/// `GET` on an AOS, by a UE (solution 8 step 21): `{AOS_OBJECT_PREFIX}{avatar_id}?call={call_id}`
/// with `Authorization: Bearer <request JWS>`; answer the avatar [`Model`] or [`Problem`].
pub const AOS_OBJECT_PREFIX: &str = "/aos/v1/objects/";

/// An IMS AS asks its AOS for a subscriber's avatar data for a call (solution 8 steps 2, 12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarLookup {
    /// The subscriber (its IMPU).
    pub impu: String,
    /// The Avatar ID the subscriber named in its INVITE or 18x/200, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_id: Option<String>,
    /// The other party of the call (its IMPU): who may fetch the object (step 21's tuple).
    pub peer_impu: String,
    /// The call's Call-ID.
    pub call_id: String,
}

/// What an AOS answers an IMS AS: the avatar data to sign into the Identity header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarData {
    /// The Avatar ID (the one named, or the subscriber's default).
    pub avatar_id: String,
    /// The avatar's name (signed as the RCD `nam`).
    pub name: String,
    /// Where the other party fetches the object (`https://{aos}/aos/v1/objects/{avatar_id}`).
    pub object_url: String,
    /// The object's integrity digest (`sha256-` and base64 of SHA-256 of the bytes served), as
    /// RFC 9795 `rcdi` writes it.
    pub digest: String,
    /// How often the other party may fetch it (`once` or `repeat`).
    pub policy: String,
}

/// Percent-encodes what is not unreserved (RFC 3986 §2.3), for a path segment or query value.
pub fn pct(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes percent-encoding (RFC 3986 §2.1); `None` for a malformed escape or non-UTF-8.
pub fn unpct(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---- bodies --------------------------------------------------------------------------------------

/// The UE's choice of avatar (solution 5 step 0b), as it sends it over its bootstrap channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarSelection {
    /// The Avatar ID.
    pub avatar_id: String,
}

/// [`AvatarSelection`] as the MF relays it to the XR AS: with the served UE and the call the
/// bootstrap channel belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XrSelection {
    /// The served UE's telephone number (`+12025551000`).
    pub tn: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// The Avatar ID.
    pub avatar_id: String,
}

/// Rendering negotiation (solution 6 step 2), as the UE sends it over its bootstrap channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderingNegotiation {
    /// The UE-A attestation (a compact JWS, table 6.6.2.4-1).
    pub attestation: String,
}

/// [`RenderingNegotiation`] as the MF relays it to the XR AS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XrRendering {
    /// The served UE's telephone number.
    pub tn: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// The UE-A attestation (compact JWS).
    pub attestation: String,
}

/// The caller's application data channel to the MF is open (solution 6 step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdcEstablished {
    /// The served UE's telephone number.
    pub tn: String,
    /// The call's Call-ID.
    pub call_id: String,
}

/// `POST /xr/v1/ue-tokens`: the MF relays the caller's UE token to the XR AS with what the IMS
/// AS gave it for the call (solution 7 step 4).
pub const UE_TOKEN_PATH: &str = "/xr/v1/ue-tokens";

/// `POST /mf/v1/avatar-metadata`: the XR AS hands the MF the signed avatar metadata to render
/// (solution 7 step 11).
pub const METADATA_RENDER_PATH: &str = "/mf/v1/avatar-metadata";

/// `POST /mf/v1/avatar-stop`: stop sending rendered frames to a party (solution 7: UE-B rejected
/// the avatar at step 6).
pub const AVATAR_STOP_PATH: &str = "/mf/v1/avatar-stop";

/// `POST /as/v1/media-anchoring`: the XR AS, holding the caller's UE token, asks the caller's
/// IMS AS to anchor the call's media at the MF (solution 7 steps 5 and 6).
pub const MEDIA_ANCHOR_PATH: &str = "/as/v1/media-anchoring";

/// Anchor the media of this call at the MF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaAnchoring {
    /// The call's Call-ID.
    pub call_id: String,
}

/// What the IMS AS's re-INVITEs came to: whether each party accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaAnchored {
    /// UE-A accepted its re-INVITE (step 5).
    pub caller: bool,
    /// UE-B accepted its re-INVITE with the avatar (step 6).
    pub callee: bool,
}

/// The Avatar-id the caller's IMS AS had signed over Ms (solution 7 step 3), as it hands it to
/// the MF with the application channel it anchors there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAvatarId {
    /// The PASSporT (`ppt` avatar), compact JWS.
    pub signed: String,
    /// The Avatar-id it signs.
    pub avatar_id: String,
    /// The application id it signs.
    pub app_id: String,
    /// The caller's IMPU it signs.
    pub impu: String,
}

/// The caller's UE token, relayed by the MF to the XR AS (solution 7 step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UeTokenRelay {
    /// The caller's telephone number.
    pub tn: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// The UE token (compact JWS).
    pub ue_token: String,
    /// The signed Avatar-id the IMS AS gave the MF for the call, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_avatar_id: Option<SignedAvatarId>,
}

/// The signed avatar metadata to render (solution 7 step 11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataRender {
    /// The caller's telephone number.
    pub tn: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// The signed metadata (compact JWS, `avatar-metadata+jwt`).
    pub metadata: String,
}

/// Stop sending rendered frames to `party` in the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarStop {
    /// The call's Call-ID.
    pub call_id: String,
    /// To whom no more frames go.
    pub party: Party,
}

/// An accepted Avatar ID on its way to the caller's MF (solution 5 steps 3–4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarForward {
    /// The served UE's telephone number.
    pub tn: String,
    /// The call's Call-ID (the session the MF holds the token for).
    pub call_id: String,
    /// The Avatar ID.
    pub avatar_id: String,
}

/// What a server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The Avatar ID it is about.
    pub avatar_id: String,
    /// What was done, for the reader (`model downloaded`).
    pub status: String,
}

/// Why a server refused: the typed reason and the reader's words (with a 4xx or 5xx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The typed reason.
    pub reason: Reason,
    /// Why, for the reader.
    pub detail: String,
}

/// The avatar object request (solution 6 step 5). The requester is the TLS client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRequest {
    /// The UE-A attestation (compact JWS).
    pub attestation: String,
}

/// The DAC's answer (solution 6 step 6): the object itself for network-centric rendering, or
/// protected for the rendering UE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectResponse {
    /// The Avatar ID.
    pub avatar_id: String,
    /// The rendering option of the attestation.
    pub rendering: Rendering,
    /// The object, for network-centric rendering.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object: Option<Model>,
    /// The object protected for the rendering UE (UE-A or UE-B centric).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub protected: Option<Protected>,
}

/// Render this object with the caller's facial points (solution 6 network centric, step 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderRequest {
    /// The caller's telephone number.
    pub tn: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// The avatar object.
    pub object: Model,
}

/// Which party of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The caller (UE-A): over its application channel to the MF.
    Caller,
    /// The callee (UE-B): over the avatar media channel the MF offered it.
    Callee,
}

/// Pass `message` to a party of the call over its data channel (solution 6 step 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliverRequest {
    /// The call's Call-ID.
    pub call_id: String,
    /// To whom.
    pub to: Party,
    /// What (a [`DcMessage`]).
    pub message: DcMessage,
}

/// The rendering option of an attestation (table 6.6.2.4-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rendering {
    /// The MF renders (§6.6.2.1).
    NetworkCentric,
    /// UE-A renders (§6.6.2.2).
    UeACentric,
    /// UE-B renders (§6.6.2.3).
    UeBCentric,
}

impl Rendering {
    /// The wire form (`network-centric`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rendering::NetworkCentric => "network-centric",
            Rendering::UeACentric => "ue-a-centric",
            Rendering::UeBCentric => "ue-b-centric",
        }
    }
}

/// A P-256 public key as a JWK (RFC 7518 §6.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The x coordinate (base64url, 32 bytes).
    pub x: String,
    /// The y coordinate (base64url, 32 bytes).
    pub y: String,
}

/// An avatar object protected for one recipient: ephemeral-static ECDH on P-256 between the
/// DAC's ephemeral key `epk` and the recipient's ephemeral key from the attestation, HKDF-SHA256
/// with `salt` and `info` to a 256-bit key, AES-256-GCM with `nonce` over the object's JSON and
/// `aad` (choice `avatar-e2e`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protected {
    /// `ECDH-P256+HKDF-SHA256+A256GCM`.
    pub alg: String,
    /// The DAC's ephemeral public key.
    pub epk: Jwk,
    /// HKDF salt (base64url, 16 bytes).
    pub salt: String,
    /// HKDF info (text).
    pub info: String,
    /// AES-GCM nonce (base64url, 12 bytes).
    pub nonce: String,
    /// Additional authenticated data (text: the Avatar ID).
    pub aad: String,
    /// Ciphertext with its 16-byte tag appended (base64url).
    pub ciphertext: String,
}

/// A base avatar model (the avatar object): a face drawn from a few shapes on a 64×64 canvas,
/// which facial points move (`fixtures/avatars/<id>.json`, format `testbed-avatar/1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// `testbed-avatar/1`.
    pub format: String,
    /// The Avatar ID.
    pub id: String,
    /// Its name, as shown.
    pub name: String,
    /// The owner's public identity (IMPU).
    pub owner: String,
    /// The face's outline: a closed polyline, canvas coordinates (0–63).
    pub outline: Vec<[i32; 2]>,
    /// Eye centres and radius: `[x, y, r]` each.
    pub eyes: Vec<[i32; 3]>,
    /// Mouth: centre `[x, y]` and half-width.
    pub mouth: Mouth,
    /// Further strokes (ears, hair, whiskers): open polylines.
    #[serde(default)]
    pub strokes: Vec<Vec<[i32; 2]>>,
}

/// The mouth of a [`Model`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mouth {
    /// Centre, canvas coordinates.
    pub center: [i32; 2],
    /// Half-width.
    pub half_width: i32,
}

/// Facial feature points for one frame (the rendering data of solution 6 step 8), in integer
/// percent so that every frame is byte-stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacialPoints {
    /// How open the eyes are, 0–100.
    pub eyes_open: u8,
    /// How open the mouth is, 0–100.
    pub mouth_open: u8,
    /// Smile (positive) or frown (negative), −100–100.
    pub smile: i8,
    /// Where the eyes look, left (negative) to right (positive), −100–100.
    pub gaze: i8,
}

/// One rendered frame: the testbed's stand-in for a video frame of the rendered avatar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The avatar it shows.
    pub avatar_id: String,
    /// Its sequence number (from the facial points it was rendered with).
    pub seq: u32,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// The picture as Braille rows (each character 2×4 pixels), top row first.
    pub rows: Vec<String>,
}

/// The JSON messages avatar communication puts on data channels (one per data channel message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum DcMessage {
    /// UE → MF, application channel: the avatar token (solution 5 step 0a).
    AvatarToken {
        /// The compact JWS.
        token: String,
    },
    /// UE → MF (network centric) or UE-A → UE-B (UE-B centric): rendering data for one frame
    /// (solution 6 step 8).
    FacialPoints {
        /// The frame's sequence number.
        seq: u32,
        /// The points.
        points: FacialPoints,
    },
    /// A rendered frame: MF → UE-B (video), MF → UE-A (feedback), UE-A → UE-B (UE-A centric
    /// video).
    AvatarFrame {
        /// The frame.
        frame: Frame,
    },
    /// XR AS (through the MF) → the rendering UE: the protected avatar object and the DAC's
    /// ephemeral key (solution 6 step 7, UE-A or UE-B centric).
    ProtectedAvatar {
        /// The Avatar ID.
        avatar_id: String,
        /// The protected object.
        protected: Protected,
    },
    /// UE-A → UE-B: ask for UE-B's ephemeral public key (solution 6 UE-B centric, step 2).
    KeyRequest,
    /// UE-B → UE-A: UE-B's ephemeral public key for this call.
    EphemeralKey {
        /// The key.
        jwk: Jwk,
    },
    /// UE-A → MF, application channel: the UE token (solution 7 step 4), relayed to the XR AS.
    UeToken {
        /// The compact JWS (`ue-token+jwt`).
        token: String,
    },
    /// An acknowledgement (the MF's application answers what it does not otherwise answer).
    Ack {
        /// What was received, for the reader.
        received: String,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percent_encoding_round_trips() {
        let id = "qbranch-agent";
        assert_eq!(pct(id), id);
        let call = "a1b2@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
        assert_eq!(pct(call), "a1b2%40ue-a.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(unpct(&pct(call)).unwrap(), call);
        assert_eq!(unpct("%4"), None);
        assert_eq!(
            model_path("x y", "c@d"),
            "/bar/v1/models/x%20y?session=c%40d"
        );
    }

    #[test]
    fn dc_messages_are_tagged_json() {
        let m = DcMessage::KeyRequest;
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"key-request"}"#
        );
        let t = DcMessage::AvatarToken {
            token: "a.b.c".into(),
        };
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(text, r#"{"type":"avatar-token","token":"a.b.c"}"#);
        assert_eq!(serde_json::from_str::<DcMessage>(&text).unwrap(), t);
        assert_eq!(
            serde_json::to_string(&Rendering::UeBCentric).unwrap(),
            r#""ue-b-centric""#
        );
    }
}
