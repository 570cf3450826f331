//! Solution 7 at the XR AS (TR 33.790 §6.7.2.1 steps 7–11): the MF relays the caller's UE token
//! with the Avatar-id the IMS AS signed ([`UE_TOKEN_PATH`]); the XR AS
//!
//! - 7: asks the NEF for an access token (`POST` [`TOKEN_PATH`], an RFC 6749 client credentials
//!   form with the signed Avatar-id, the UE token and the application id; mutual TLS with its
//!   client certificate unless the world switched it off);
//! - 8–9: gets the signed avatar metadata from the DAC with it (`GET` [`metadata_path`],
//!   `Authorization: Bearer`);
//! - 9.1: verifies it with the DAC's pre-configured certificate (NOTE 7);
//! - 10: starts controlling the rendering;
//! - 11: hands it to the MF ([`METADATA_RENDER_PATH`], mutual TLS);
//!
//! then answers the MF 200 [`Accepted`], or the first refusal's status and [`Problem`].
//!
//! Notes, on the relay's message: [`Act::ObtainToken`] (done, with the access token's
//! `Note::Token`; refused `MissingIdentity` without a signed Avatar-id, the NEF's reason, or
//! the transport's), [`Act::RequestAvatarObject`] (refused with the DAC's reason),
//! [`Act::VerifyAvatarMetadata`] (refused with the reason: nothing is rendered),
//! [`Act::RequestRendering`], and under a threat switch [`Act::Tamper`] (with the altered
//! metadata's `Note::Token`).

mod decide;

use avatar::wire::{FORM_TYPE, TOKEN_PATH, TokenRequest, metadata_path};
use kit::http::{Request, Response};
use kit::node::json_response;
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    Accepted, MEDIA_ANCHOR_PATH, METADATA_RENDER_PATH, MediaAnchoring, MetadataRender, Problem,
    SignedAvatarId, UeTokenRelay,
};

#[cfg(doc)]
use proto::wire::avatar::UE_TOKEN_PATH;

use super::{XrAs, XrTamper};
use crate::upstream;
use decide::Refusal;

/// What the THREAT notes say.
const THREAT: &str = "THREAT (TR 33.790 §5.2.2, NOTE 10: an XR AS outside the trust domain)";

impl XrAs {
    /// Steps 7–11 for a relayed UE token: the answer to the MF.
    pub(super) async fn ue_token(&self, req: UeTokenRelay, msg: Option<u64>) -> Response {
        match self.metadata_steps(&req, msg).await {
            Ok(accepted) => json_response(200, &accepted),
            Err(refused) => refused,
        }
    }

    async fn metadata_steps(
        &self,
        req: &UeTokenRelay,
        msg: Option<u64>,
    ) -> Result<Accepted, Response> {
        let signed = self.signed_id(req, msg)?;
        self.anchor_media(req, msg).await;
        let token = self.obtain_token(req, signed, msg).await?;
        let avatar_id = decide::asked_avatar(self.config.tamper.as_ref(), &signed.avatar_id);
        if avatar_id != signed.avatar_id {
            self.ctx.note(
                msg,
                Note::done(
                    Act::Tamper,
                    format!(
                        "{THREAT}: ask the DAC for the metadata of {avatar_id} with the access token granted for {}",
                        signed.avatar_id
                    ),
                ),
            );
        }
        let jws = self.request_metadata(avatar_id, &token, msg).await?;
        self.verify_metadata(&jws, avatar_id, msg)?;
        self.ctx.note(
            msg,
            Note::done(
                Act::RequestRendering,
                format!(
                    "start controlling the XR media rendering of {avatar_id} for {} (session {}): hand the signed metadata to the MF",
                    req.tn, req.call_id
                ),
            ),
        );
        let jws = self.threaten_metadata(jws, avatar_id, msg);
        self.hand_to_mf(req, jws).await?;
        Ok(Accepted {
            avatar_id: avatar_id.to_owned(),
            status: "avatar metadata handed to the MF for rendering".into(),
        })
    }

    /// Steps 5 and 6: with the caller's UE token in hand, the XR AS has the caller's IMS AS
    /// anchor the call's media at the MF (its re-INVITEs; choice `7-anchor-reinvite`). What the
    /// parties answered is the IMS AS's to note; a failed request is noted here, and the steps
    /// go on (the IMS AS, not the XR AS, owns the call).
    async fn anchor_media(&self, req: &UeTokenRelay, msg: Option<u64>) {
        let Some(host) = &self.config.ims_as_host else {
            return;
        };
        let body = MediaAnchoring {
            call_id: req.call_id.clone(),
        };
        let url = format!("https://{host}{MEDIA_ANCHOR_PATH}");
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let failed = match self.client.send(Request::post_json(url, body)).await {
            Ok(r) if (200..300).contains(&r.status) => None,
            Ok(r) => Some((
                upstream::refusal_reason(&r),
                format!("it answered {}", r.status),
            )),
            Err(e) => Some((upstream::transport_reason(&e), e.to_string())),
        };
        if let Some((reason, why)) = failed {
            self.ctx.note(
                msg,
                Note::refused(
                    Act::AnchorMedia,
                    reason,
                    format!(
                        "ask the IMS AS to anchor the media of {}: {why}",
                        req.call_id
                    ),
                ),
            );
        }
    }

    /// Notes a refused action and gives the answer to the MF.
    fn refuse(&self, msg: Option<u64>, act: Act, label: &str, (status, p): Refusal) -> Response {
        self.ctx.note(
            msg,
            Note::refused(act, p.reason, format!("{label}: refused ({})", p.detail)),
        );
        json_response(status, &p)
    }

    /// The signed Avatar-id the MF relayed: without one the NEF is not asked.
    fn signed_id<'a>(
        &self,
        req: &'a UeTokenRelay,
        msg: Option<u64>,
    ) -> Result<&'a SignedAvatarId, Response> {
        req.signed_avatar_id.as_ref().ok_or_else(|| {
            let label = format!(
                "ask the NEF for an access token for the avatar metadata of {}'s call (session {})",
                req.tn, req.call_id
            );
            let problem = Problem {
                reason: Reason::MissingIdentity,
                detail: "no signed Avatar-id came with the UE token: the NEF is not asked".into(),
            };
            self.refuse(msg, Act::ObtainToken, &label, (403, problem))
        })
    }

    /// Step 7: the access token from the NEF.
    async fn obtain_token(
        &self,
        req: &UeTokenRelay,
        signed: &SignedAvatarId,
        msg: Option<u64>,
    ) -> Result<String, Response> {
        let nef = self.config.nef_host.as_deref().unwrap_or_default();
        let label = format!(
            "ask the NEF {nef} for an access token to the metadata of {} with the signed Avatar-id and the UE token of {} (application {}, session {}{})",
            signed.avatar_id,
            req.tn,
            signed.app_id,
            req.call_id,
            if self.config.client_certificate {
                ""
            } else {
                "; no client certificate presented"
            }
        );
        let form = TokenRequest::read(&signed.signed, &req.ue_token, &signed.app_id).to_form();
        let request = Request {
            method: "POST".into(),
            target: format!("https://{nef}{TOKEN_PATH}"),
            headers: vec![("content-type".into(), FORM_TYPE.into())],
            body: form.into(),
        };
        let answer = self.token_client.send(request).await;
        match decide::token_outcome(answer.as_ref()) {
            Ok(granted) => {
                self.ctx.note(
                    msg,
                    Note::done(Act::ObtainToken, format!("{label}: granted")),
                );
                let what = format!("access token from the NEF for {}", signed.avatar_id);
                if let Some(note) = avatar::access_token::note(&what, &granted.access_token) {
                    self.ctx.note(msg, note);
                }
                Ok(granted.access_token)
            }
            Err(refused) => Err(self.refuse(msg, Act::ObtainToken, &label, refused)),
        }
    }

    /// Steps 8–9: the signed metadata of `avatar_id` from the DAC with the access token.
    async fn request_metadata(
        &self,
        avatar_id: &str,
        token: &str,
        msg: Option<u64>,
    ) -> Result<String, Response> {
        let dac = &self.config.dac_host;
        let label = format!(
            "request the avatar metadata of {avatar_id} from the DAC {dac} with the access token"
        );
        let url = format!("https://{dac}{}", metadata_path(avatar_id));
        let request = Request::get(url).header("Authorization", &format!("Bearer {token}"));
        let answer = self.token_client.send(request).await;
        match decide::metadata_outcome(answer.as_ref()) {
            Ok(jws) => {
                self.ctx
                    .note(msg, Note::done(Act::RequestAvatarObject, label));
                Ok(jws)
            }
            Err(refused) => Err(self.refuse(msg, Act::RequestAvatarObject, &label, refused)),
        }
    }

    /// Step 9.1: signature, Avatar-id and expiry, with the DAC's pre-configured certificate.
    fn verify_metadata(
        &self,
        jws: &str,
        avatar_id: &str,
        msg: Option<u64>,
    ) -> Result<(), Response> {
        let label = format!(
            "verify the signed avatar metadata of {avatar_id} with the DAC's pre-configured certificate"
        );
        let now = self.ctx.clock.now();
        match avatar::metadata::verify(jws, &self.config.dac_certificate, avatar_id, now) {
            Ok(m) => {
                self.ctx.note(
                    msg,
                    Note::done(
                        Act::VerifyAvatarMetadata,
                        format!("{label}: it holds (expires {})", m.exp),
                    ),
                );
                Ok(())
            }
            Err(e) => {
                let problem = Problem {
                    reason: e.reason(),
                    detail: format!("the DAC's metadata does not verify: {e}"),
                };
                Err(self.refuse(msg, Act::VerifyAvatarMetadata, &label, (403, problem)))
            }
        }
    }

    /// Threat `AlterMetadata`: the metadata changed before step 11 (noted, with what it became).
    fn threaten_metadata(&self, jws: String, avatar_id: &str, msg: Option<u64>) -> String {
        if self.config.tamper != Some(XrTamper::AlterMetadata) {
            return jws;
        }
        let altered = avatar::metadata::tamper(&jws);
        self.ctx.note(
            msg,
            Note::done(
                Act::Tamper,
                format!("{THREAT}: change the signed avatar metadata of {avatar_id} before it is handed to the MF"),
            ),
        );
        if let Some(note) =
            avatar::metadata::note(&format!("altered avatar metadata of {avatar_id}"), &altered)
        {
            self.ctx.note(msg, note);
        }
        altered
    }

    /// Step 11: the metadata to the MF; its refusal is passed on (502 with its reason).
    async fn hand_to_mf(&self, req: &UeTokenRelay, metadata: String) -> Result<(), Response> {
        let body = MetadataRender {
            tn: req.tn.clone(),
            call_id: req.call_id.clone(),
            metadata,
        };
        let url = format!("https://{}{METADATA_RENDER_PATH}", self.config.mf_host);
        let body = serde_json::to_vec(&body).unwrap_or_default();
        match self.client.send(Request::post_json(url, body)).await {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(upstream::problem(
                502,
                upstream::refusal_reason(&r),
                format!("the MF answered {}", r.status),
            )),
            Err(e) => Err(upstream::problem(
                502,
                upstream::transport_reason(&e),
                format!("MF: {e}"),
            )),
        }
    }
}
