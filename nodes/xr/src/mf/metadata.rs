//! The MF's part in solution 7 (TR 33.790 §6.7.2.1 steps 3–4, 6, 11, 11.1 and 12–15).
//!
//! - Step 3: the Avatar-id the IMS AS signed comes with the caller's application channel
//!   (`AnchorRequest.avatar`); the MF keeps it for the call.
//! - Step 4: on the caller's application channel, [`DcMessage::UeToken`] is relayed to the XR AS
//!   ([`UE_TOKEN_PATH`], mutual TLS) with the signed Avatar-id; the UE is answered on the
//!   channel with a [`DcMessage::Ack`] (its text says what the XR AS made of it).
//! - Steps 11–11.1 ([`METADATA_RENDER_PATH`]): the XR AS hands the MF the signed avatar
//!   metadata. With [`MfConfig::verify_metadata`](super::MfConfig::verify_metadata) (NOTE 10:
//!   the XR AS is outside the trust domain) the MF verifies it with the DAC's pre-configured
//!   certificate against the call's signed Avatar-id (NOTE 9); otherwise it decodes it. Its
//!   model becomes the call's model: the caller's facial points are rendered as in solutions 5
//!   and 6 (steps 12–15).
//! - [`AVATAR_STOP_PATH`]: no more frames to a party (UE-B rejected the avatar, step 6).
//!
//! Notes: [`Act::RelayUeToken`] (done when the XR AS answered, whatever its verdict; refused
//! with the reason when it could not be reached or there is none), the metadata's `Note::Token`,
//! [`Act::VerifyAvatarMetadata`] (only when verifying; refused with the reason),
//! [`Act::DownloadAvatarModel`] (done: the model taken from the signed metadata; refused
//! `Malformed` when it does not decode), and on a stop [`Act::RenderAvatar`] refused `Declined`
//! (once per party and call: frames are no longer sent to it).

use kit::http::{Request, Response};
use kit::node::json_response;
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    Accepted, AvatarStop, DcMessage, MetadataRender, Model, Party, Problem, SignedAvatarId,
    UE_TOKEN_PATH, UeTokenRelay,
};

use super::avatar::Avatars;
use super::{Mf, Who, lock};
use crate::upstream;

#[cfg(doc)]
use proto::wire::avatar::{AVATAR_STOP_PATH, METADATA_RENDER_PATH};

/// Step 4: what the MF relays to the XR AS for the caller's UE token. Pure.
pub(super) fn relay_body(
    who: &Who,
    ue_token: String,
    signed: Option<SignedAvatarId>,
) -> UeTokenRelay {
    UeTokenRelay {
        tn: who.tn.clone(),
        call_id: who.call_id.clone(),
        ue_token,
        signed_avatar_id: signed,
    }
}

/// What the XR AS made of the relayed UE token (it answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Steps 7–11 ran: the metadata is at the MF.
    Accepted(Accepted),
    /// The XR AS refused (its [`Problem`]).
    Refused(Problem),
}

/// The XR AS's answer to the relay, decided: its verdict, or why the relay did not get through
/// (no answer, or an answer that is neither an [`Accepted`] nor a [`Problem`]). Pure.
pub(super) fn relay_outcome(answer: Result<&Response, &kit::Error>) -> Result<Verdict, Problem> {
    let unreachable = |detail: String| Problem {
        reason: Reason::Unreachable,
        detail,
    };
    match answer {
        Ok(r) if (200..300).contains(&r.status) => serde_json::from_slice(&r.body)
            .map(Verdict::Accepted)
            .map_err(|e| unreachable(format!("the XR AS's answer is unreadable: {e}"))),
        Ok(r) => upstream::read_problem(&r.body)
            .map(Verdict::Refused)
            .ok_or_else(|| {
                unreachable(format!("the XR AS answered {} without a problem", r.status))
            }),
        Err(e) => Err(Problem {
            reason: upstream::transport_reason(e),
            detail: format!("XR AS: {e}"),
        }),
    }
}

/// The answer to the UE on its channel: an acknowledgement whose text says what became of its
/// UE token. Pure.
pub(super) fn ack(outcome: &Result<Verdict, Problem>) -> DcMessage {
    let received = match outcome {
        Ok(Verdict::Accepted(a)) => format!("ue-token: {} ({})", a.status, a.avatar_id),
        Ok(Verdict::Refused(p)) => {
            format!("ue-token refused by the XR AS: {}: {}", p.reason, p.detail)
        }
        Err(p) => format!("ue-token not relayed: {}: {}", p.reason, p.detail),
    };
    DcMessage::Ack { received }
}

/// The model the MF takes from signed metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Taken {
    /// Verified with the DAC's certificate (step 11.1).
    Verified(Model),
    /// Decoded without verification (the XR AS is trusted, NOTE 10).
    Decoded(Model),
}

impl Taken {
    fn model(self) -> Model {
        match self {
            Taken::Verified(m) | Taken::Decoded(m) => m,
        }
    }
}

/// Why the MF takes no model from the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NotTaken {
    /// Verification was due and did not hold (or there is no signed Avatar-id to check the
    /// metadata against: `MissingIdentity`).
    Unverified(Reason, String),
    /// Not signed metadata (it does not decode).
    Undecodable(String),
}

impl NotTaken {
    fn reason(&self) -> Reason {
        match self {
            NotTaken::Unverified(reason, _) => *reason,
            NotTaken::Undecodable(_) => Reason::Malformed,
        }
    }

    fn detail(&self) -> &str {
        match self {
            NotTaken::Unverified(_, d) | NotTaken::Undecodable(d) => d,
        }
    }
}

/// Step 11.1: with the DAC's certificate (`dac_cert`, when the MF verifies), the metadata
/// verified against the call's signed Avatar-id at `now`; without, decoded. Pure.
pub(super) fn take(
    jws: &str,
    dac_cert: Option<&[u8]>,
    signed_avatar_id: Option<&str>,
    now: i64,
) -> Result<Taken, NotTaken> {
    let Some(cert) = dac_cert else {
        let decoded =
            avatar::metadata::decode(jws).map_err(|e| NotTaken::Undecodable(e.to_string()))?;
        let metadata: avatar::metadata::Metadata = serde_json::from_value(decoded.claims)
            .map_err(|e| NotTaken::Undecodable(format!("not avatar metadata: {e}")))?;
        return Ok(Taken::Decoded(metadata.model));
    };
    let Some(expected) = signed_avatar_id else {
        return Err(NotTaken::Unverified(
            Reason::MissingIdentity,
            "no signed Avatar-id for the call to check the metadata against".into(),
        ));
    };
    avatar::metadata::verify(jws, cert, expected, now)
        .map(|m| Taken::Verified(m.model))
        .map_err(|e| NotTaken::Unverified(e.reason(), e.to_string()))
}

/// Whether frames still go to `party`. Pure.
pub(super) fn sends_to(stopped: &[Party], party: Party) -> bool {
    !stopped.contains(&party)
}

/// Records that frames no longer go to `party` in `call_id`: `true` the first time.
fn stop_party(avatars: &mut Avatars, call_id: &str, party: Party) -> bool {
    let call = avatars.entry(call_id.to_owned()).or_default();
    if call.stopped.contains(&party) {
        return false;
    }
    call.stopped.push(party);
    true
}

/// How a party is called in labels.
fn party_name(party: Party) -> &'static str {
    match party {
        Party::Caller => "UE-A (the caller)",
        Party::Callee => "UE-B (the callee)",
    }
}

impl Mf {
    /// Step 3: the signed Avatar-id of the caller's application channel, kept for the call.
    pub(super) fn keep_signed_id(&self, call_id: &str, signed: SignedAvatarId) {
        lock(&self.avatars)
            .entry(call_id.to_owned())
            .or_default()
            .signed_id = Some(signed);
    }

    /// Step 4: the caller's UE token relayed to the XR AS; the acknowledgement to send back.
    pub(super) async fn relay_ue_token(&self, token: String, who: &Who) -> Vec<u8> {
        let label = format!(
            "relay the UE token of {} (session {}) to the XR AS",
            who.tn, who.call_id
        );
        let outcome = match &self.config.xr_as_host {
            Some(host) => {
                let signed = lock(&self.avatars)
                    .get(&who.call_id)
                    .and_then(|c| c.signed_id.clone());
                let body = serde_json::to_vec(&relay_body(who, token, signed)).unwrap_or_default();
                let url = format!("https://{host}{UE_TOKEN_PATH}");
                let answer = self.client.send(Request::post_json(url, body)).await;
                relay_outcome(answer.as_ref())
            }
            None => Err(Problem {
                reason: Reason::NoRecord,
                detail: "the MF has no XR AS".into(),
            }),
        };
        let note = match &outcome {
            Ok(Verdict::Accepted(a)) => {
                Note::done(Act::RelayUeToken, format!("{label}: {}", a.status))
            }
            Ok(Verdict::Refused(p)) => Note::done(
                Act::RelayUeToken,
                format!("{label}: it refused ({}: {})", p.reason, p.detail),
            ),
            Err(p) => Note::refused(
                Act::RelayUeToken,
                p.reason,
                format!("{label}: {}", p.detail),
            ),
        };
        self.ctx.note(None, note);
        serde_json::to_vec(&ack(&outcome)).unwrap_or_default()
    }

    /// Steps 11–11.1: the signed metadata verified (or decoded) and its model kept for the
    /// call; 403 with a [`Problem`] when it is not taken (nothing is rendered).
    pub(super) fn render_metadata(&self, req: MetadataRender, msg: Option<u64>) -> Response {
        let label = format!(
            "signed avatar metadata from the XR AS for {} (session {})",
            req.tn, req.call_id
        );
        if let Some(note) = avatar::metadata::note(&label, &req.metadata) {
            self.ctx.note(msg, note);
        }
        let signed = lock(&self.avatars)
            .get(&req.call_id)
            .and_then(|c| c.signed_id.clone());
        let expected = signed.as_ref().map(|s| s.avatar_id.as_str());
        let cert = self
            .config
            .verify_metadata
            .then_some(self.dac_cert.as_slice());
        let now = self.ctx.clock.now();
        match take(&req.metadata, cert, expected, now) {
            Ok(taken) => self.keep_taken(&req.call_id, taken, expected, msg),
            Err(refused) => {
                let act = match refused {
                    NotTaken::Unverified(..) => Act::VerifyAvatarMetadata,
                    NotTaken::Undecodable(_) => Act::DownloadAvatarModel,
                };
                let what = match act {
                    Act::VerifyAvatarMetadata => format!(
                        "verify the signed avatar metadata for {} with the DAC's certificate (choice: XR AS outside the trust domain)",
                        expected.unwrap_or("(no signed Avatar-id)")
                    ),
                    _ => format!(
                        "take the avatar model from the metadata of session {}",
                        req.call_id
                    ),
                };
                self.ctx.note(
                    msg,
                    Note::refused(
                        act,
                        refused.reason(),
                        format!("{what}: {}", refused.detail()),
                    ),
                );
                upstream::problem(403, refused.reason(), refused.detail().to_owned())
            }
        }
    }

    /// The model taken from the metadata kept for the call, noted; the answer.
    fn keep_taken(
        &self,
        call_id: &str,
        taken: Taken,
        expected: Option<&str>,
        msg: Option<u64>,
    ) -> Response {
        let how = match &taken {
            Taken::Verified(_) => {
                self.ctx.note(
                    msg,
                    Note::done(
                        Act::VerifyAvatarMetadata,
                        format!(
                            "verify the signed avatar metadata for {} with the DAC's certificate: signature, Avatar-id and expiry hold",
                            expected.unwrap_or_default()
                        ),
                    ),
                );
                "verified"
            }
            Taken::Decoded(_) => "decoded, not verified (the XR AS is trusted)",
        };
        let model = taken.model();
        self.ctx.note(
            msg,
            Note::done(
                Act::DownloadAvatarModel,
                format!(
                    "model {} from the signed metadata ({how}) kept to render for session {call_id}",
                    model.id
                ),
            ),
        );
        let avatar_id = model.id.clone();
        lock(&self.avatars)
            .entry(call_id.to_owned())
            .or_default()
            .model = Some(model);
        json_response(
            200,
            &Accepted {
                avatar_id,
                status: format!("avatar metadata {how}: model kept for rendering"),
            },
        )
    }

    /// No more frames to a party of the call (UE-B rejected the avatar, step 6): noted the
    /// first time as rendering for it refused, `Declined`.
    pub(super) fn stop(&self, req: AvatarStop, msg: Option<u64>) -> Response {
        if stop_party(&mut lock(&self.avatars), &req.call_id, req.party) {
            self.ctx.note(
                msg,
                Note::refused(
                    Act::RenderAvatar,
                    Reason::Declined,
                    format!(
                        "{} declined the avatar of session {}: no more rendered frames go to it",
                        party_name(req.party),
                        req.call_id
                    ),
                ),
            );
        }
        Response::new(204, "text/plain", "")
    }
}

#[cfg(test)]
mod tests;
