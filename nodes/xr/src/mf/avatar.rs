//! The MF's part in avatar communication (TR 33.790 §6.5.2 steps 0a, 5, 7 and 8; §6.6.2 steps
//! 4 and 7–11). Per call (Call-ID) the MF holds the caller's avatar token (solution 5) and the
//! avatar model it renders: the base avatar model it downloaded from the BAR with the token
//! (solution 5), the avatar object the XR AS handed it (solution 6, network centric) or the
//! model of the signed avatar metadata the XR AS handed it (solution 7, [`super::metadata`]).
//!
//! - On the caller's application channel: [`DcMessage::AvatarToken`] is kept for the call;
//!   [`DcMessage::FacialPoints`] are rendered with the call's model and the frame goes to the
//!   callee on the avatar media channel and back to the caller (to each party that has not
//!   stopped them, solution 7); [`DcMessage::UeToken`] is relayed to the XR AS
//!   ([`super::metadata`]); anything else is acknowledged as before.
//! - Over HTTPS: the DCSF's [`MF_AVATAR_PATH`] (download the model with the token), the XR AS's
//!   [`RENDER_PATH`] (keep the object) and [`DELIVER_PATH`] (pass a message to a party).
//! - The MF relays the UE's `/xr/` requests on the bootstrap channel to the XR AS, and reports
//!   the caller's application channel open ([`ADC_PATH`]).
//!
//! Notes: [`Act::HoldAvatarToken`] (and the token's `Note::Token`), [`Act::DownloadAvatarModel`]
//! (refused `MissingIdentity` with no token held, or with the BAR's reason),
//! [`Act::RenderAvatar`] (and the frame's `Note::Picture`; refused `NoRecord` without a model);
//! a relay or report that cannot reach the XR AS is a refused [`Act::DcServe`].

use std::collections::BTreeMap;
use std::sync::Arc;

use dc::Peer;
use kit::http::{Request, Response};
use kit::node::json_response;
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    ADC_PATH, AVATAR_APP_STREAM, AVATAR_MEDIA_MID, AVATAR_MEDIA_STREAM, Accepted, AdcEstablished,
    AvatarForward, DcMessage, DeliverRequest, FacialPoints, Model, Party, Problem, RENDERING_PATH,
    RenderRequest, SELECT_PATH, SignedAvatarId, XrRendering, XrSelection, model_path,
};
use proto::wire::mf::P2A_MID_PREFIX;

use super::bootstrap::{Relay, Reply};
use super::{Mf, Who, lock};
use crate::upstream;

/// What the MF holds for one call.
#[derive(Debug, Default)]
pub(super) struct CallAvatar {
    /// The caller's avatar token (solution 5 step 0a).
    token: Option<String>,
    /// The model to render (from the BAR, the XR AS's avatar object, or the signed metadata).
    pub(super) model: Option<Model>,
    /// The Avatar-id the IMS AS signed for the caller's application channel (solution 7 step
    /// 3), relayed with the UE token and checked against the metadata (step 11.1).
    pub(super) signed_id: Option<SignedAvatarId>,
    /// The parties frames no longer go to (solution 7: UE-B rejected the avatar, step 6).
    pub(super) stopped: Vec<Party>,
    /// Whether the caller's application channel was reported to the XR AS.
    adc_reported: bool,
    /// Whether a protected object was passed to a party of the call (solution 6 step 7).
    delivered: bool,
}

/// The avatar state of every call, by Call-ID.
pub(super) type Avatars = BTreeMap<String, CallAvatar>;

/// What a message on an application channel is to the MF. Pure.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum AppMessage {
    /// The caller's avatar token.
    Token(String),
    /// The caller's UE token (solution 7 step 4).
    UeToken(String),
    /// Facial points for one frame.
    Points {
        /// The frame's sequence number.
        seq: u32,
        /// The points.
        points: FacialPoints,
    },
    /// Anything else: acknowledged.
    Other,
}

impl AppMessage {
    /// Reads one channel message.
    pub fn of(data: &[u8]) -> Self {
        match serde_json::from_slice::<DcMessage>(data) {
            Ok(DcMessage::AvatarToken { token }) => AppMessage::Token(token),
            Ok(DcMessage::UeToken { token }) => AppMessage::UeToken(token),
            Ok(DcMessage::FacialPoints { seq, points }) => AppMessage::Points { seq, points },
            _ => AppMessage::Other,
        }
    }
}

/// The BAR's answer to the model download (solution 5 step 7), decided: the model, or the
/// status and [`Problem`] to answer the DCSF with (403 with the BAR's problem; 502 when the BAR
/// could not be asked or its answer is unreadable). Pure.
pub(super) fn bar_outcome(answer: Result<&Response, &kit::Error>) -> Result<Model, (u16, Problem)> {
    let unreachable = |detail: String| {
        (
            502,
            Problem {
                reason: Reason::Unreachable,
                detail,
            },
        )
    };
    match answer {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body)
            .map_err(|e| unreachable(format!("the BAR's model is unreadable: {e}"))),
        Ok(r) if (400..500).contains(&r.status) => match upstream::read_problem(&r.body) {
            Some(p) => Err((403, p)),
            None => Err(unreachable(format!(
                "the BAR answered {} without a problem",
                r.status
            ))),
        },
        Ok(r) => Err(unreachable(format!("the BAR answered {}", r.status))),
        Err(e) => Err((
            502,
            Problem {
                reason: upstream::transport_reason(e),
                detail: format!("BAR: {e}"),
            },
        )),
    }
}

/// The Avatar ID a token claims, for labels (the MF does not verify it; the BAR does).
fn claimed_avatar(token: &str) -> String {
    avatar::token::decode(token)
        .ok()
        .and_then(|d| d.claims.get("avatar_id")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "(undecodable)".into())
}

/// Whether this is the first report of the call's application channel (and it is now made).
fn first_report(avatars: &mut Avatars, call_id: &str) -> bool {
    let call = avatars.entry(call_id.to_owned()).or_default();
    !std::mem::replace(&mut call.adc_reported, true)
}

impl Mf {
    /// One message on an application channel: the answer to send back on it, if any.
    pub(super) async fn application_message(
        &self,
        data: &[u8],
        label: &str,
        who: &Who,
    ) -> Option<Vec<u8>> {
        match AppMessage::of(data) {
            AppMessage::Token(token) => {
                self.hold_token(token, who);
                None
            }
            AppMessage::UeToken(token) => Some(self.relay_ue_token(token, who).await),
            AppMessage::Points { seq, points } => self.render_points(seq, &points, who).await,
            AppMessage::Other => Some(self.acknowledge(data, label)),
        }
    }

    /// Solution 5 step 0a: the caller's token, kept for the call.
    fn hold_token(&self, token: String, who: &Who) {
        let claimed = claimed_avatar(&token);
        if let Some(note) = avatar::token::note(
            &format!("avatar token from {} (session {})", who.tn, who.call_id),
            &token,
        ) {
            self.ctx.note(None, note);
        }
        lock(&self.avatars)
            .entry(who.call_id.clone())
            .or_default()
            .token = Some(token);
        self.ctx.note(
            None,
            Note::done(
                Act::HoldAvatarToken,
                format!(
                    "hold the avatar token of {} for Avatar ID {claimed} (session {})",
                    who.tn, who.call_id
                ),
            ),
        );
    }

    /// Solution 5 step 8, solution 6 steps 9–11, solution 7 steps 12–15: a frame rendered from
    /// the facial points, sent to the callee on the avatar media channel, and returned
    /// (feedback to the caller) — each unless that party stopped the frames.
    async fn render_points(&self, seq: u32, points: &FacialPoints, who: &Who) -> Option<Vec<u8>> {
        let (model, stopped) = lock(&self.avatars)
            .get(&who.call_id)
            .map(|c| (c.model.clone(), c.stopped.clone()))
            .unwrap_or_default();
        let Some(model) = model else {
            self.ctx.note(
                None,
                Note::refused(
                    Act::RenderAvatar,
                    Reason::NoRecord,
                    format!(
                        "facial points (frame {seq}) from {}: no avatar model for session {}",
                        who.tn, who.call_id
                    ),
                ),
            );
            return None;
        };
        let frame = avatar::render::render(&model, points, seq);
        self.ctx.note(
            None,
            Note::done(
                Act::RenderAvatar,
                format!(
                    "render frame {seq} of {} from the facial points of {}",
                    model.id, who.tn
                ),
            ),
        );
        self.ctx.note(
            None,
            avatar::render::note(&format!("frame {seq} of {}", model.id), &frame),
        );
        let message = serde_json::to_vec(&DcMessage::AvatarFrame { frame }).unwrap_or_default();
        if super::metadata::sends_to(&stopped, Party::Callee)
            && let Some((peer, stream)) = self.channel_to(&who.call_id, Party::Callee)
        {
            // A callee that is gone misses the frame; the caller still gets its feedback.
            let _ = peer.send(stream, &message).await;
        }
        super::metadata::sends_to(&stopped, Party::Caller).then_some(message)
    }

    /// The data channel a party of the call is reached on: the caller's application channel,
    /// the callee's avatar media channel.
    fn channel_to(&self, call_id: &str, to: Party) -> Option<(Arc<Peer>, u16)> {
        let (stream, mid_is): (u16, fn(&str) -> bool) = match to {
            Party::Caller => (AVATAR_APP_STREAM, |m| m.starts_with(P2A_MID_PREFIX)),
            Party::Callee => (AVATAR_MEDIA_STREAM, |m| m == AVATAR_MEDIA_MID),
        };
        lock(&self.sessions)
            .iter()
            .rev()
            .find(|s| {
                s.call_id == call_id
                    && mid_is(s.peer.mid())
                    && s.peer.streams().iter().any(|m| m.stream == stream)
            })
            .map(|s| (s.peer.clone(), stream))
    }

    /// The UE's `/xr/` request on the bootstrap channel, relayed to the XR AS with the UE's
    /// number and the call's Call-ID: its answer, or 502 when it cannot be reached.
    pub(super) async fn relay(&self, relay: Relay, who: &Who) -> Reply {
        let Some(host) = &self.config.xr_as_host else {
            return Reply::problem(404, Reason::NoRecord, "no XR AS");
        };
        let (path, body, what) = match relay {
            Relay::Select(s) => (
                SELECT_PATH,
                serde_json::to_vec(&XrSelection {
                    tn: who.tn.clone(),
                    call_id: who.call_id.clone(),
                    avatar_id: s.avatar_id,
                }),
                "its Avatar ID",
            ),
            Relay::Rendering(r) => (
                RENDERING_PATH,
                serde_json::to_vec(&XrRendering {
                    tn: who.tn.clone(),
                    call_id: who.call_id.clone(),
                    attestation: r.attestation,
                }),
                "its rendering negotiation",
            ),
        };
        let url = format!("https://{host}{path}");
        match self
            .client
            .send(Request::post_json(url, body.unwrap_or_default()))
            .await
        {
            Ok(answer) => Reply::json(answer.status, answer.body.to_vec()),
            Err(e) => {
                let label = format!(
                    "bootstrap: {} sends {what}; relay to the XR AS: {e}",
                    who.tn
                );
                self.ctx.note(
                    None,
                    Note::refused(Act::DcServe, Reason::Unreachable, label),
                );
                Reply::problem(502, Reason::Unreachable, &format!("XR AS: {e}"))
            }
        }
    }

    /// Solution 6 step 4: the caller's application channel is open; the MF tells the XR AS
    /// (once per call). A 4xx answer is the XR AS's outcome of the steps it ran on it (noted
    /// there); only a report that did not get through is noted here.
    pub(super) async fn report_adc(&self, peer: &Peer, who: &Who) {
        let Some(host) = &self.config.xr_as_host else {
            return;
        };
        if !first_report(&mut lock(&self.avatars), &who.call_id) || peer.wait_open().await.is_err()
        {
            return;
        }
        let report = AdcEstablished {
            tn: who.tn.clone(),
            call_id: who.call_id.clone(),
        };
        let url = format!("https://{host}{ADC_PATH}");
        let body = serde_json::to_vec(&report).unwrap_or_default();
        let label = format!(
            "report the application data channel of {} (session {}) to the XR AS",
            who.tn, who.call_id
        );
        let refused = match self.client.send(Request::post_json(url, body)).await {
            Ok(r) if r.status < 500 => return,
            Ok(r) => Note::refused(
                Act::DcServe,
                upstream::refusal_reason(&r),
                format!("{label}: it answered {}", r.status),
            ),
            Err(e) => Note::refused(
                Act::DcServe,
                upstream::transport_reason(&e),
                format!("{label}: {e}"),
            ),
        };
        self.ctx.note(None, refused);
    }

    /// Solution 5 steps 4–7 ([`MF_AVATAR_PATH`]): the model downloaded from the BAR with the
    /// call's token, before the DCSF is answered.
    pub(super) async fn download(&self, req: AvatarForward, msg: Option<u64>) -> Response {
        let Some(bar) = self.config.bar_host.clone() else {
            return upstream::problem(404, Reason::NoRecord, "no such resource");
        };
        let token = lock(&self.avatars)
            .get(&req.call_id)
            .and_then(|c| c.token.clone());
        let label = format!(
            "download the base avatar model of {} for {} from the BAR (session {})",
            req.avatar_id, req.tn, req.call_id
        );
        let Some(token) = token else {
            let detail = format!(
                "no avatar token arrived for session {} before the Avatar ID {} (choice avatar-token-timing)",
                req.call_id, req.avatar_id
            );
            self.ctx.note(
                msg,
                Note::refused(
                    Act::DownloadAvatarModel,
                    Reason::MissingIdentity,
                    format!("{label}: {detail}: the BAR is not asked"),
                ),
            );
            return upstream::problem(403, Reason::MissingIdentity, detail);
        };
        let url = format!("https://{bar}{}", model_path(&req.avatar_id, &req.call_id));
        let request = Request::get(url).header("Authorization", &format!("Bearer {token}"));
        let answer = self.client.send(request).await;
        match bar_outcome(answer.as_ref()) {
            Ok(model) => {
                lock(&self.avatars)
                    .entry(req.call_id.clone())
                    .or_default()
                    .model = Some(model);
                self.ctx
                    .note(msg, Note::done(Act::DownloadAvatarModel, label));
                let accepted = Accepted {
                    avatar_id: req.avatar_id,
                    status: "model downloaded".into(),
                };
                json_response(200, &accepted)
            }
            Err((status, problem)) => {
                self.ctx.note(
                    msg,
                    Note::refused(
                        Act::DownloadAvatarModel,
                        problem.reason,
                        format!("{label}: refused ({})", problem.detail),
                    ),
                );
                json_response(status, &problem)
            }
        }
    }

    /// Solution 6 step 7, network centric ([`RENDER_PATH`]): the avatar object becomes the
    /// call's model; frames are rendered as facial points arrive.
    pub(super) fn keep_object(&self, req: RenderRequest) -> Response {
        let avatar_id = req.object.id.clone();
        lock(&self.avatars).entry(req.call_id).or_default().model = Some(req.object);
        json_response(
            200,
            &Accepted {
                avatar_id,
                status: "avatar object kept for rendering".into(),
            },
        )
    }

    /// Solution 6 step 7, UE-A or UE-B centric ([`DELIVER_PATH`]): the message passed to the
    /// party over its data channel (traced there; no note).
    pub(super) async fn deliver(&self, req: DeliverRequest) -> Response {
        let Some((peer, stream)) = self.channel_to(&req.call_id, req.to) else {
            return upstream::problem(
                404,
                Reason::NoRecord,
                format!("no {:?} channel in call {}", req.to, req.call_id),
            );
        };
        let message = serde_json::to_vec(&req.message).unwrap_or_default();
        match peer.send(stream, &message).await {
            Ok(()) => {
                lock(&self.avatars)
                    .entry(req.call_id.clone())
                    .or_default()
                    .delivered = true;
                json_response(
                    200,
                    &Accepted {
                        avatar_id: delivered_avatar(&req.message),
                        status: "delivered".into(),
                    },
                )
            }
            Err(e) => upstream::problem(502, e.reason(), format!("data channel: {e}")),
        }
    }

    /// Whether call `call_id` has an avatar on its way: a model the MF keeps to render (from the
    /// BAR or the XR AS), or a protected object it passed to a party. What a party would see
    /// arrive; the harness asks before it has the users go on with the rendering.
    pub fn avatar_ready(&self, call_id: &str) -> bool {
        lock(&self.avatars)
            .get(call_id)
            .is_some_and(|a| a.model.is_some() || a.delivered)
    }

    /// The call's avatar state, dropped when the call ends.
    pub(super) fn forget(&self, call_id: &str) {
        lock(&self.avatars).remove(call_id);
    }
}

/// The Avatar ID a delivered message is about, for the answer.
fn delivered_avatar(message: &DcMessage) -> String {
    match message {
        DcMessage::ProtectedAvatar { avatar_id, .. } => avatar_id.clone(),
        DcMessage::AvatarFrame { frame } => frame.avatar_id.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn model() -> Model {
        avatar::Catalogue::load()
            .unwrap()
            .get("owl")
            .unwrap()
            .model
            .clone()
    }

    #[test]
    fn application_messages_by_type() {
        let token = serde_json::to_vec(&DcMessage::AvatarToken {
            token: "a.b.c".into(),
        })
        .unwrap();
        assert_eq!(AppMessage::of(&token), AppMessage::Token("a.b.c".into()));
        let ue_token = serde_json::to_vec(&DcMessage::UeToken {
            token: "d.e.f".into(),
        })
        .unwrap();
        assert_eq!(
            AppMessage::of(&ue_token),
            AppMessage::UeToken("d.e.f".into())
        );
        let points = avatar::render::script()[0];
        let msg = serde_json::to_vec(&DcMessage::FacialPoints { seq: 2, points }).unwrap();
        assert_eq!(AppMessage::of(&msg), AppMessage::Points { seq: 2, points });
        assert_eq!(AppMessage::of(b"hello"), AppMessage::Other);
        assert_eq!(
            AppMessage::of(br#"{"type":"key-request"}"#),
            AppMessage::Other
        );
    }

    #[test]
    fn bar_answers_decided() {
        let ok = json_response(200, &model());
        assert_eq!(bar_outcome(Ok(&ok)).unwrap(), model());
        let refused = upstream::problem(403, Reason::Replayed, "another session");
        let (status, p) = bar_outcome(Ok(&refused)).unwrap_err();
        assert_eq!((status, p.reason), (403, Reason::Replayed));
        // The BAR's 401 or 404 problem is passed on as 403.
        let unknown = upstream::problem(404, Reason::NoRecord, "no such avatar");
        assert_eq!(bar_outcome(Ok(&unknown)).unwrap_err().0, 403);
        for unreadable in [
            Response::text(403, "no"),
            Response::text(500, "boom"),
            Response::json(200, "{}"),
        ] {
            let (status, p) = bar_outcome(Ok(&unreadable)).unwrap_err();
            assert_eq!(
                (status, p.reason),
                (502, Reason::Unreachable),
                "{unreadable:?}"
            );
        }
        let (status, p) = bar_outcome(Err(&kit::Error::Timeout { ms: 3000 })).unwrap_err();
        assert_eq!((status, p.reason), (502, Reason::Timeout));
    }

    #[test]
    fn the_adc_is_reported_once_per_call() {
        let mut avatars = Avatars::new();
        assert!(first_report(&mut avatars, "c1"));
        assert!(!first_report(&mut avatars, "c1"));
        assert!(first_report(&mut avatars, "c2"));
    }

    #[test]
    fn token_claims_for_labels() {
        assert_eq!(claimed_avatar("a.b.c"), "(undecodable)");
        let claims = serde_json::json!({"avatar_id": "owl"});
        let b64 = |v: &serde_json::Value| stir::jose::b64u(v.to_string().as_bytes());
        let token = format!(
            "{}.{}.c2ln",
            b64(&serde_json::json!({"alg": "ES256", "typ": "avatar+jwt"})),
            b64(&claims)
        );
        assert_eq!(claimed_avatar(&token), "owl");
    }
}
