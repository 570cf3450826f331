//! What both ends share: avatar messages on data channels (JSON, one per message, each wait
//! bounded by [`MESSAGE_WAIT`]), the UE's ephemeral keys (one per call, from its seeded stream,
//! never noted), opening a protected avatar object (TR 33.790 §6.6.2.2 step 8, §6.6.2.3 step
//! 9: derive the key, note the agreement, open) and showing a frame.

use ::avatar::e2e::{self, EphemeralKey, SessionKey};
use dc::Peer;
use proto::trace::{Act, Note};
use proto::wire::avatar::{DcMessage, Frame, Model, Protected};
use stir::Part;
use stir::jose::b64u_decode;

use super::{AvatarError, MESSAGE_WAIT, bytes32};
use crate::{State, Ue, lock};

/// Sends `message` as compact JSON on `stream`.
pub(super) async fn send(peer: &Peer, stream: u16, message: &DcMessage) -> Result<(), AvatarError> {
    let data = serde_json::to_vec(message).map_err(AvatarError::Encode)?;
    peer.send(stream, &data).await?;
    Ok(())
}

/// The next message on `stream` within [`MESSAGE_WAIT`], read as a [`DcMessage`].
pub(super) async fn recv(peer: &Peer, stream: u16) -> Result<DcMessage, AvatarError> {
    let data = peer.recv(stream, MESSAGE_WAIT).await?;
    serde_json::from_slice(&data).map_err(|_| AvatarError::Unexpected {
        stream,
        expected: "an avatar message",
        got: "not an avatar message".into(),
    })
}

/// The wire name of a message's type (its JSON `type`).
pub(super) fn kind(message: &DcMessage) -> &'static str {
    match message {
        DcMessage::AvatarToken { .. } => "avatar-token",
        DcMessage::FacialPoints { .. } => "facial-points",
        DcMessage::AvatarFrame { .. } => "avatar-frame",
        DcMessage::ProtectedAvatar { .. } => "protected-avatar",
        DcMessage::KeyRequest => "key-request",
        DcMessage::EphemeralKey { .. } => "ephemeral-key",
        DcMessage::UeToken { .. } => "ue-token",
        DcMessage::Ack { .. } => "ack",
    }
}

/// The error for `got` arriving on `stream` where `expected` was awaited.
pub(super) fn unexpected(stream: u16, expected: &'static str, got: &DcMessage) -> AvatarError {
    AvatarError::Unexpected {
        stream,
        expected,
        got: kind(got).to_owned(),
    }
}

/// The session key for `p` with the UE's ephemeral key: its salt decoded, then ECDH and HKDF
/// ([`e2e::derive`]). Pure.
pub(super) fn session_key(
    own: &EphemeralKey,
    p: &Protected,
) -> Result<SessionKey, ::avatar::Error> {
    let salt = b64u_decode(&p.salt, Part::Payload)
        .map_err(|_| ::avatar::Error::BadProtected { field: "salt" })?;
    e2e::derive(own, &p.epk, &salt, &p.info)
}

/// Forgets the ephemeral keys kept for call `call_id` (the call ended).
pub(crate) fn forget_call(st: &mut State, call_id: &str) {
    st.ephemeral_keys.retain(|(id, _)| id != call_id);
}

impl Ue {
    /// A fresh ephemeral key from the UE's seeded stream, kept for call `call_id` (replacing
    /// one kept before).
    pub(super) fn new_ephemeral(&self, call_id: &str) -> Result<EphemeralKey, AvatarError> {
        let hex = self.avatar_hex(32);
        let seed = bytes32(&hex).ok_or(AvatarError::NoEphemeralSecret)?;
        let key = EphemeralKey::from_bytes(seed).map_err(|_| AvatarError::NoEphemeralSecret)?;
        let mut st = lock(&self.state);
        st.ephemeral_keys.retain(|(id, _)| id != call_id);
        st.ephemeral_keys.push((call_id.to_owned(), key.clone()));
        Ok(key)
    }

    /// The ephemeral key kept for call `call_id`.
    fn kept_ephemeral(&self, call_id: &str) -> Result<EphemeralKey, AvatarError> {
        lock(&self.state)
            .ephemeral_keys
            .iter()
            .find(|(id, _)| id == call_id)
            .map(|(_, key)| key.clone())
            .ok_or_else(|| AvatarError::NoKeyForCall {
                call_id: call_id.to_owned(),
            })
    }

    /// `n` random bytes as hex from the UE's avatar stream.
    pub(super) fn avatar_hex(&self, n: usize) -> String {
        self.avatar_rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .hex(n)
    }

    /// Waits for the protected avatar object on `peer`/`stream` and opens it with the
    /// ephemeral key kept for `call_id`: `Note::KeyAgreement` (the UE's and the DAC's public
    /// keys, the key's fingerprint), then [`Act::OpenAvatarObject`] done, or refused with the
    /// reason (`DecryptionFailed`: altered, or protected for another key) — nothing is rendered.
    pub(super) async fn open_delivered(
        &self,
        peer: &Peer,
        stream: u16,
        call_id: &str,
    ) -> Result<Model, AvatarError> {
        let (avatar_id, protected) = match recv(peer, stream).await? {
            DcMessage::ProtectedAvatar {
                avatar_id,
                protected,
            } => (avatar_id, protected),
            other => return Err(unexpected(stream, "protected-avatar", &other)),
        };
        let label = format!("open the protected avatar object {avatar_id}");
        let opened = self.kept_ephemeral(call_id).and_then(|own| {
            self.derive_and_open(&own, &protected, &avatar_id)
                .map_err(AvatarError::from)
        });
        match opened {
            Ok(model) => {
                self.ctx.note(
                    None,
                    Note::done(
                        Act::OpenAvatarObject,
                        format!("{label}: AES-256-GCM tag verified, model {}", model.id),
                    ),
                );
                Ok(model)
            }
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::refused(
                        Act::OpenAvatarObject,
                        e.reason(),
                        format!("{label}: {e}: nothing rendered"),
                    ),
                );
                Err(e)
            }
        }
    }

    /// Derives the session key (noting the agreement, never a private key), then opens.
    fn derive_and_open(
        &self,
        own: &EphemeralKey,
        protected: &Protected,
        avatar_id: &str,
    ) -> Result<Model, ::avatar::Error> {
        let key = session_key(own, protected)?;
        self.ctx.note(
            None,
            e2e::key_agreement_note(
                &format!(
                    "derive the session key for avatar {avatar_id} with the DAC's ephemeral key"
                ),
                &own.public_jwk(),
                &protected.epk,
                protected,
                &key,
            ),
        );
        e2e::open(protected, own).map(|(model, _)| model)
    }

    /// Shows `frame` to the user: [`Act::ShowAvatar`] and its `Note::Picture`.
    pub(super) fn show(&self, frame: &Frame, whose: &str) {
        let label = format!(
            "show {whose} avatar {} frame {}",
            frame.avatar_id, frame.seq
        );
        self.ctx
            .note(None, Note::done(Act::ShowAvatar, label.clone()));
        self.ctx.note(None, ::avatar::render::note(&label, frame));
    }

    /// Renders `points` on `model` as frame `seq`: [`Act::RenderAvatar`] and its
    /// `Note::Picture`.
    pub(super) fn render(
        &self,
        model: &Model,
        points: &proto::wire::avatar::FacialPoints,
        seq: u32,
    ) -> Frame {
        let frame = ::avatar::render::render(model, points, seq);
        let label = format!("render avatar {} frame {seq}", model.id);
        self.ctx
            .note(None, Note::done(Act::RenderAvatar, label.clone()));
        self.ctx.note(None, ::avatar::render::note(&label, &frame));
        frame
    }
}
