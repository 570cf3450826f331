//! UE-B, the callee: its ephemeral key for UE-B-centric rendering (TR 33.790 §6.6.2.3 step 2),
//! rendering the caller's avatar itself (step 9), and showing the frames it receives (from the
//! MF, §6.5.2 step 8 and §6.6.2.1 step 10; from UE-A, §6.6.2.2 step 9).

use dc::Peer;
use proto::trace::{Act, Note};
use proto::wire::avatar::{AVATAR_MEDIA_STREAM, DcMessage, Frame, PEER_AVATAR_STREAM};

use super::AvatarError;
use super::object::{recv, send, unexpected};
use crate::Ue;

impl Ue {
    /// TR 33.790 §6.6.2.3 step 2, UE-B's side: waits (bounded) for UE-A's
    /// [`DcMessage::KeyRequest`] on the peer-to-peer channel `p2p` (stream
    /// [`PEER_AVATAR_STREAM`]), generates an ephemeral key from its seeded stream, keeps it for
    /// call `call_id` and answers [`DcMessage::EphemeralKey`] with its public half.
    pub async fn answer_key_request(&self, p2p: &Peer, call_id: &str) -> Result<(), AvatarError> {
        match recv(p2p, PEER_AVATAR_STREAM).await? {
            DcMessage::KeyRequest => {}
            other => return Err(unexpected(PEER_AVATAR_STREAM, "key-request", &other)),
        }
        let jwk = self.new_ephemeral(call_id)?.public_jwk();
        send(p2p, PEER_AVATAR_STREAM, &DcMessage::EphemeralKey { jwk }).await
    }

    /// TR 33.790 §6.6.2.3 step 9 (UE-B centric): waits for the protected avatar object on the
    /// avatar media channel `avm` (stream [`AVATAR_MEDIA_STREAM`]), opens it with the key kept
    /// for `call_id` (`Note::KeyAgreement`, [`Act::OpenAvatarObject`] done or
    /// refused — then nothing is rendered and the error is returned), then reads `frames`
    /// [`DcMessage::FacialPoints`] from UE-A on `p2p` (stream [`PEER_AVATAR_STREAM`]) and
    /// renders each ([`Act::RenderAvatar`] and a `Note::Picture`), showing it
    /// ([`Act::ShowAvatar`]). Returns the frames shown.
    pub async fn render_received(
        &self,
        avm: &Peer,
        p2p: &Peer,
        call_id: &str,
        frames: usize,
    ) -> Result<Vec<Frame>, AvatarError> {
        let model = self
            .open_delivered(avm, AVATAR_MEDIA_STREAM, call_id)
            .await?;
        let mut shown = Vec::with_capacity(frames);
        for _ in 0..frames {
            let (seq, points) = match recv(p2p, PEER_AVATAR_STREAM).await? {
                DcMessage::FacialPoints { seq, points } => (seq, points),
                other => return Err(unexpected(PEER_AVATAR_STREAM, "facial-points", &other)),
            };
            let frame = self.render(&model, &points, seq);
            self.ctx.note(
                None,
                Note::done(
                    Act::ShowAvatar,
                    format!("show the caller's avatar {} frame {seq}", frame.avatar_id),
                ),
            );
            shown.push(frame);
        }
        Ok(shown)
    }

    /// Reads `frames` [`DcMessage::AvatarFrame`] messages on `peer`/`stream` (the avatar media
    /// channel from the MF, or the peer-to-peer channel from UE-A), each within the bound, and
    /// shows each ([`Act::ShowAvatar`] and a `Note::Picture`). Returns them.
    pub async fn show_frames(
        &self,
        peer: &Peer,
        stream: u16,
        frames: usize,
    ) -> Result<Vec<Frame>, AvatarError> {
        let mut shown = Vec::with_capacity(frames);
        for _ in 0..frames {
            match recv(peer, stream).await? {
                DcMessage::AvatarFrame { frame } => {
                    self.show(&frame, "the caller's");
                    shown.push(frame);
                }
                other => return Err(unexpected(stream, "avatar-frame", &other)),
            }
        }
        Ok(shown)
    }
}
