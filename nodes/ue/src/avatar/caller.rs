//! UE-A, the caller: the avatar token (solution #5 step 0a) and the Avatar ID to the XR AS
//! (step 0b); the attestation and rendering negotiation (solution #6 steps 2–3) and UE-B's
//! ephemeral key (UE-B centric step 2); the facial points (solution #5 step 8, solution #6
//! step 8); UE-A-centric rendering (§6.6.2.2 steps 7–9).

use ::avatar::{attestation, render, token};
use dc::Peer;
use proto::trace::{Act, Note};
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AvatarSelection, DcMessage, Jwk, PEER_AVATAR_STREAM, RENDERING_PATH,
    Rendering, RenderingNegotiation, SELECT_PATH,
};

use super::object::{recv, send, unexpected};
use super::{
    AttestationPlan, AvatarError, HttpAnswer, TokenForgery, TokenPlan, alter_signature,
    attestation_claims, bdc_request, parse_answer, refusal, rendering_clause, token_claims,
};
use crate::{Ue, bootstrap_channel};

impl Ue {
    /// TR 33.790 §6.5.2 step 0a: chooses the Avatar ID ([`Act::ChooseAvatar`]), signs the
    /// avatar token with the UE key ([`Act::SignAvatarToken`] and a `Note::Token`; the key is
    /// the one [`Ue::use_ue_key`] names, if any) and sends it to the MF as
    /// [`DcMessage::AvatarToken`] on `p2a` (stream [`AVATAR_APP_STREAM`]). Returns the token.
    pub async fn send_avatar_token(
        &self,
        p2a: &Peer,
        call_id: &str,
        plan: &TokenPlan,
    ) -> Result<String, AvatarError> {
        let id = &plan.avatar_id;
        self.ctx.note(
            None,
            Note::done(
                Act::ChooseAvatar,
                format!("choose Avatar ID {id} (TR 33.790 §6.5.2 step 0a)"),
            ),
        );
        let token = self.sign_avatar_token(call_id, plan)?;
        send(
            p2a,
            AVATAR_APP_STREAM,
            &DcMessage::AvatarToken {
                token: token.clone(),
            },
        )
        .await?;
        Ok(token)
    }

    /// Signs the token `plan` asks for (noted; a UE key that cannot be read is a refusal).
    fn sign_avatar_token(&self, call_id: &str, plan: &TokenPlan) -> Result<String, AvatarError> {
        let label = format!("sign the avatar token for {}", plan.avatar_id);
        let key = match self.ue_key() {
            Ok(key) => key,
            Err(e) => {
                let e = AvatarError::Key(e);
                self.ctx.note(
                    None,
                    Note::refused(Act::SignAvatarToken, e.reason(), format!("{label}: {e}")),
                );
                return Err(e);
            }
        };
        let jti = self.avatar_hex(16);
        let claims = token_claims(plan, &self.impu(), call_id, self.ctx.clock.now(), &jti);
        let mut token = token::sign(&claims, &key);
        if plan.forgery == TokenForgery::BadSignature {
            token = alter_signature(&token);
        }
        let how = match &plan.forgery {
            TokenForgery::None => "with the UE key".to_owned(),
            TokenForgery::BadSignature => "with the UE key, signature bytes altered".to_owned(),
            TokenForgery::OtherSession(earlier) => {
                format!("with the UE key, for session {earlier}")
            }
        };
        let label = format!("{label} {how} (ES256)");
        self.ctx
            .note(None, Note::done(Act::SignAvatarToken, label.clone()));
        if let Some(note) = token::note(&label, &token) {
            self.ctx.note(None, note);
        }
        Ok(token)
    }

    /// TR 33.790 §6.5.2 step 0b: `POST` [`SELECT_PATH`] `{avatar_id}` as HTTP/1.1 on the
    /// bootstrap channel `bdc` (stream 0, relayed by the MF to the XR AS); the answer within
    /// [`crate::UeConfig::wait`]. A refusal is noted: [`Act::ChooseAvatar`] refused with the
    /// answer's reason ([`refusal`]) — the UE learns its choice was refused.
    pub async fn select_avatar(
        &self,
        bdc: &Peer,
        avatar_id: &str,
    ) -> Result<HttpAnswer, AvatarError> {
        let body = AvatarSelection {
            avatar_id: avatar_id.to_owned(),
        };
        let answer = self.bdc_exchange(bdc, SELECT_PATH, &body).await?;
        if let Some(reason) = refusal(&answer) {
            let detail = answer.problem.as_ref().map_or("", |p| p.detail.as_str());
            self.ctx.note(
                None,
                Note::refused(
                    Act::ChooseAvatar,
                    reason,
                    format!(
                        "Avatar ID {avatar_id} refused, answer {} via the XR AS: {detail}",
                        answer.status
                    ),
                ),
            );
        }
        Ok(answer)
    }

    /// One HTTP/1.1 exchange on the bootstrap channel: `POST path` with `body` as JSON, the
    /// answer within [`crate::UeConfig::wait`].
    async fn bdc_exchange(
        &self,
        bdc: &Peer,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<HttpAnswer, AvatarError> {
        let stream = bootstrap_channel().stream;
        let json = serde_json::to_vec(body).map_err(AvatarError::Encode)?;
        bdc.send(stream, &bdc_request(path, &json)).await?;
        let data = bdc.recv(stream, self.config.wait).await?;
        Ok(parse_answer(&data)?)
    }

    /// TR 33.790 §6.6.2.3 step 2 (UE-B centric): asks UE-B for its ephemeral public key
    /// ([`DcMessage::KeyRequest`] on the peer-to-peer channel `p2p`, stream
    /// [`PEER_AVATAR_STREAM`]) and waits (bounded) for its [`DcMessage::EphemeralKey`]; a key
    /// that is not a P-256 point is refused (Malformed).
    pub async fn request_peer_key(&self, p2p: &Peer) -> Result<Jwk, AvatarError> {
        send(p2p, PEER_AVATAR_STREAM, &DcMessage::KeyRequest).await?;
        match recv(p2p, PEER_AVATAR_STREAM).await? {
            DcMessage::EphemeralKey { jwk } => {
                ::avatar::e2e::jwk_to_public(&jwk)?;
                Ok(jwk)
            }
            other => Err(unexpected(PEER_AVATAR_STREAM, "ephemeral-key", &other)),
        }
    }

    /// TR 33.790 §6.6.2 steps 2–3: UE-A signs the attestation `plan` asks for
    /// ([`Act::SignAttestation`] and a `Note::Token`; UE-A centric: with a fresh ephemeral key
    /// kept for the call as `epk_ue_a`; UE-B centric: `plan.peer_key` as `epk_ue_b`), `POST`s
    /// [`RENDERING_PATH`] `{attestation}` on the bootstrap channel `bdc`, and on the XR AS's
    /// acceptance decides the rendering ([`Act::ChooseRendering`] done; refused with the
    /// answer's reason when refused). Returns the answer.
    pub async fn negotiate_rendering(
        &self,
        bdc: &Peer,
        call_id: &str,
        plan: &AttestationPlan,
    ) -> Result<HttpAnswer, AvatarError> {
        let attestation = self.sign_attestation(call_id, plan)?;
        let body = RenderingNegotiation { attestation };
        let answer = self.bdc_exchange(bdc, RENDERING_PATH, &body).await?;
        let option = plan.rendering.as_str();
        let label = format!(
            "rendering {option} for avatar {} (TR 33.790 {} step 3)",
            plan.avatar_id,
            rendering_clause(plan.rendering)
        );
        let note = match refusal(&answer) {
            None => Note::done(Act::ChooseRendering, format!("{label}: the XR AS accepted")),
            Some(reason) => Note::refused(
                Act::ChooseRendering,
                reason,
                format!("{label}: refused, answer {} via the XR AS", answer.status),
            ),
        };
        self.ctx.note(None, note);
        Ok(answer)
    }

    /// Signs the attestation `plan` asks for (noted; a refusal when the key it needs or the UE
    /// key is not at hand).
    fn sign_attestation(
        &self,
        call_id: &str,
        plan: &AttestationPlan,
    ) -> Result<String, AvatarError> {
        let label = format!(
            "sign the UE-A attestation for avatar {}, XR AS {}, {}",
            plan.avatar_id,
            plan.xr_as,
            plan.rendering.as_str()
        );
        let signed = self.attestation_text(call_id, plan);
        let attestation = match signed {
            Ok(text) => text,
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::refused(Act::SignAttestation, e.reason(), format!("{label}: {e}")),
                );
                return Err(e);
            }
        };
        let mut how = Vec::new();
        if plan.expired {
            how.push("exp in the past");
        }
        if plan.forged_signature {
            how.push("signature bytes altered");
        }
        let label = if how.is_empty() {
            format!("{label} (ES256, TR 33.790 table 6.6.2.4-1)")
        } else {
            format!("{label} (ES256, {})", how.join(", "))
        };
        self.ctx
            .note(None, Note::done(Act::SignAttestation, label.clone()));
        if let Some(note) = attestation::note(&label, &attestation) {
            self.ctx.note(None, note);
        }
        Ok(attestation)
    }

    /// The attestation as sent: claims, signature, alteration (no notes).
    fn attestation_text(
        &self,
        call_id: &str,
        plan: &AttestationPlan,
    ) -> Result<String, AvatarError> {
        let key = self.ue_key().map_err(AvatarError::Key)?;
        let own = match plan.rendering {
            Rendering::UeACentric => Some(self.new_ephemeral(call_id)?.public_jwk()),
            Rendering::NetworkCentric | Rendering::UeBCentric => None,
        };
        let claims = attestation_claims(plan, own, self.ctx.clock.now())?;
        let signed = attestation::sign(&claims, &key);
        Ok(if plan.forged_signature {
            alter_signature(&signed)
        } else {
            signed
        })
    }

    /// Solution #5 step 8 and solution #6 step 8: the facial points of
    /// [`render::script`] as [`DcMessage::FacialPoints`] (seq 1, 2, …) on `peer`/`stream` (the
    /// application channel to the MF, or the peer-to-peer channel for UE-B centric). With
    /// `feedback` (the MF sends each rendered frame back, §6.6.2.1 step 11) it waits (bounded)
    /// after each message for the [`DcMessage::AvatarFrame`] and shows it
    /// ([`Act::ShowAvatar`] and a `Note::Picture`) before sending the next. Returns how many
    /// were sent.
    pub async fn send_facial_points(
        &self,
        peer: &Peer,
        stream: u16,
        feedback: bool,
    ) -> Result<usize, AvatarError> {
        let script = render::script();
        for (seq, points) in (1..).zip(&script) {
            let message = DcMessage::FacialPoints {
                seq,
                points: *points,
            };
            send(peer, stream, &message).await?;
            if feedback {
                match recv(peer, stream).await? {
                    DcMessage::AvatarFrame { frame } => self.show(&frame, "its own"),
                    other => return Err(unexpected(stream, "avatar-frame", &other)),
                }
            }
        }
        Ok(script.len())
    }

    /// TR 33.790 §6.6.2.2 steps 7–9 (UE-A centric): waits for the protected avatar object on
    /// `p2a` (stream [`AVATAR_APP_STREAM`]), opens it with the ephemeral key kept for
    /// `call_id` (`Note::KeyAgreement`, [`Act::OpenAvatarObject`] done or refused — then
    /// nothing is rendered and the error is returned), renders the script's frames
    /// ([`Act::RenderAvatar`] and a `Note::Picture` each) and sends each to UE-B as
    /// [`DcMessage::AvatarFrame`] on `p2p` (stream [`PEER_AVATAR_STREAM`]). Returns how many
    /// were sent.
    pub async fn render_and_send(
        &self,
        p2a: &Peer,
        p2p: &Peer,
        call_id: &str,
    ) -> Result<usize, AvatarError> {
        let model = self.open_delivered(p2a, AVATAR_APP_STREAM, call_id).await?;
        let script = render::script();
        for (seq, points) in (1..).zip(&script) {
            let frame = self.render(&model, points, seq);
            send(p2p, PEER_AVATAR_STREAM, &DcMessage::AvatarFrame { frame }).await?;
        }
        Ok(script.len())
    }
}
