//! Solution 6 steps 5–7 for one call (TR 33.790 §6.6.2.1–§6.6.2.3): the avatar object
//! requested from the DAC with the UE-A attestation (mutual TLS: the XR AS's certificate is its
//! identity), then handed to the MF: to render (network centric) or to deliver to the rendering
//! UE (UE-A or UE-B centric), with the threat switches applied on the way. A DAC refusal ends
//! it: its status and problem are the answer.

use avatar::e2e::EphemeralKey;
use kit::http::{Request, Response};
use kit::node::json_response;
use proto::clock::Rng;
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    DELIVER_PATH, OBJECT_PATH, ObjectRequest, ObjectResponse, RENDER_PATH, Rendering,
};

use super::decide::{self, Rendition, Run};
use super::{XrAs, XrTamper};
use crate::upstream;

/// What the THREAT notes say.
const THREAT: &str = "THREAT (TR 33.790 §5.2.2, avatar object manipulated in transit)";

impl XrAs {
    /// Steps 5–7; `Err` is the answer to give instead of the request's own (a refusal).
    pub(super) async fn run(&self, run: &Run, msg: Option<u64>) -> Result<(), Response> {
        let object = self.request_object(run, msg).await?;
        let mut rendition = match decide::rendition(run, object) {
            Ok(r) => r,
            Err(missing) => {
                let detail = format!("the DAC's answer has no {missing}");
                self.ctx.note(
                    msg,
                    Note::refused(
                        Act::RequestRendering,
                        Reason::Malformed,
                        format!("{}: {detail}", rendering_label(run)),
                    ),
                );
                return Err(upstream::problem(502, Reason::Malformed, detail));
            }
        };
        self.threaten(run, &mut rendition, msg);
        self.request_rendering(run, &rendition, msg).await
    }

    /// Step 5 (and the DAC's answer, step 6).
    async fn request_object(
        &self,
        run: &Run,
        msg: Option<u64>,
    ) -> Result<ObjectResponse, Response> {
        let n = &run.negotiation;
        let label = format!(
            "request the avatar object of {} ({}) from the DAC with the UE-A attestation (session {})",
            n.avatar_id,
            n.rendering.as_str(),
            run.call_id
        );
        let url = format!("https://{}{OBJECT_PATH}", self.config.dac_host);
        let body = serde_json::to_vec(&ObjectRequest {
            attestation: n.attestation.clone(),
        })
        .unwrap_or_default();
        let answer = self.client.send(Request::post_json(url, body)).await;
        match decide::dac_outcome(answer.as_ref()) {
            Ok(object) => {
                self.ctx
                    .note(msg, Note::done(Act::RequestAvatarObject, label));
                Ok(object)
            }
            Err((status, problem)) => {
                self.ctx.note(
                    msg,
                    Note::refused(
                        Act::RequestAvatarObject,
                        problem.reason,
                        format!("{label}: refused ({})", problem.detail),
                    ),
                );
                Err(json_response(status, &problem))
            }
        }
    }

    /// The threat switched on, if any, on the protected object on its way.
    fn threaten(&self, run: &Run, rendition: &mut Rendition, msg: Option<u64>) {
        let avatar_id = &run.negotiation.avatar_id;
        let rendering = run.negotiation.rendering;
        let Some(protected) = rendition.protected_mut() else {
            return;
        };
        match &self.config.tamper {
            Some(XrTamper::AlterObject) if decide::alter(protected) => self.ctx.note(
                msg,
                Note::done(
                    Act::Tamper,
                    format!(
                        "{THREAT}: flip one byte of the protected avatar object of {avatar_id} before it is delivered"
                    ),
                ),
            ),
            Some(XrTamper::TryOpen) if rendering == Rendering::UeBCentric => {
                let own = self.ephemeral_key(&run.call_id);
                let label = format!(
                    "the XR AS derives a key for the protected avatar object of {avatar_id} with an ephemeral key of its own"
                );
                let (agreement, opened) = decide::try_open(&label, protected, &own);
                if let Some(note) = agreement {
                    self.ctx.note(msg, note);
                }
                let label = format!("the XR AS opens the protected avatar object of {avatar_id}");
                let note = match opened {
                    Ok(_) => Note::done(Act::OpenAvatarObject, label),
                    Err(e) => Note::refused(
                        Act::OpenAvatarObject,
                        e.reason(),
                        format!("{label}: {e} (it is not the recipient)"),
                    ),
                };
                self.ctx.note(msg, note);
            }
            _ => {}
        }
    }

    /// An ephemeral key of the XR AS's own for a call, from its seeded stream.
    fn ephemeral_key(&self, call_id: &str) -> EphemeralKey {
        let mut rng = Rng::for_node(self.ctx.seed, &format!("{}/epk/{call_id}", self.ctx.id));
        loop {
            let mut seed = [0u8; 32];
            for chunk in seed.chunks_mut(4) {
                chunk.copy_from_slice(&rng.u32().to_be_bytes());
            }
            // A draw of zero or above the group order (chance about 2^-32) is drawn again.
            if let Ok(key) = EphemeralKey::from_bytes(seed) {
                return key;
            }
        }
    }

    /// Step 7: the object handed to the MF (render, or deliver to the rendering UE).
    async fn request_rendering(
        &self,
        run: &Run,
        rendition: &Rendition,
        msg: Option<u64>,
    ) -> Result<(), Response> {
        self.ctx
            .note(msg, Note::done(Act::RequestRendering, rendering_label(run)));
        let (path, body) = match rendition {
            Rendition::Render(r) => (RENDER_PATH, serde_json::to_vec(r)),
            Rendition::Deliver(d) => (DELIVER_PATH, serde_json::to_vec(d)),
        };
        let url = format!("https://{}{path}", self.config.mf_host);
        let request = Request::post_json(url, body.unwrap_or_default());
        match self.client.send(request).await {
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

/// What step 7 does, for the reader.
fn rendering_label(run: &Run) -> String {
    let n = &run.negotiation;
    match n.rendering {
        Rendering::NetworkCentric => format!(
            "hand the avatar object of {} to the MF to render (network centric, session {})",
            n.avatar_id, run.call_id
        ),
        Rendering::UeACentric => format!(
            "send the protected avatar object of {} to UE-A (the caller) through the MF (UE-A centric, session {})",
            n.avatar_id, run.call_id
        ),
        Rendering::UeBCentric => format!(
            "send the protected avatar object of {} to UE-B (the callee) through the MF (UE-B centric, session {})",
            n.avatar_id, run.call_id
        ),
    }
}
