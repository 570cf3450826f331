//! The originating side: sections a served UE offers toward its own network are answered by
//! the MF, and those answers put back into the 2xx; in an avatar call the MF also offers the
//! callee the avatar media section; a BYE releases them.

use proto::sdp::{Application, Media};
use proto::sip::Request;
use proto::trace::Act;
use proto::wire::avatar::SignedAvatarId;
use proto::wire::mf::{AnchorRequest, OfferSection, ReleaseRequest};

use super::offer::Offered;
use super::sdp::{self, set_body};
use super::{Answers, Mf};
use crate::orig;

impl Mf<'_> {
    /// Takes the network-bound sections out of `invite`, has the MF answer each, and returns
    /// the answers. A section the MF does not answer is answered declined (port 0) by the AS.
    /// With `avatar` (solution 7), the application channels anchored now carry the signed
    /// Avatar-id to the MF.
    pub(crate) async fn take(
        &self,
        invite: &mut Request,
        avatar: Option<&SignedAvatarId>,
    ) -> Answers {
        let Some((session, network)) = sdp::split_network(&invite.body) else {
            return Vec::new();
        };
        let tn = sdp::caller_tn(invite);
        let call_id = sdp::call_id(invite);
        let mut answers = Vec::new();
        for (i, media) in network {
            let Media::Application(app) = &media else {
                continue;
            };
            let key = sdp::key(&call_id, &app.mid, &app.ice_ufrag);
            let section = match self.anchored.get(&key) {
                Some(known) => {
                    self.done(
                        Act::KeepSession,
                        format!(
                            "m=application mid {} is anchored at the MF already: keep its answer",
                            app.mid
                        ),
                    );
                    known
                }
                None => self.anchor(&tn, &call_id, key, app.clone(), avatar).await,
            };
            answers.push((i, section));
        }
        set_body(&mut invite.headers, &mut invite.body, session.render());
        answers
    }

    /// Appends the MF's avatar media section (mid `avm`, TR 33.790 §6.5 and §6.6: media from
    /// the caller's network to the callee) to `invite`, after the sections that stay: for an
    /// initial INVITE that offers the peer-to-peer data channel section the MF is asked for a
    /// new one; every re-INVITE of the call repeats it unchanged. `None` when nothing was
    /// appended (not an avatar call, no callee number, or the MF failed: the call goes on
    /// without it).
    pub(crate) async fn offer_avatar_media(
        &self,
        invite: &mut Request,
        initial: bool,
    ) -> Option<Offered> {
        let session = sdp::wants_avatar_media(&invite.body)?;
        let callee = orig::callee_tn(invite)?;
        let may_ask = initial && sdp::offers_p2p(&session);
        self.offer_section(invite, session, OfferSection::AvatarMedia, &callee, may_ask)
            .await
    }

    /// One section anchored at the MF: its answer, or the section declined.
    async fn anchor(
        &self,
        tn: &str,
        call_id: &str,
        key: super::Key,
        app: Application,
        avatar: Option<&SignedAvatarId>,
    ) -> Media {
        let for_app = app.mid.starts_with(proto::wire::mf::P2A_MID_PREFIX);
        let request = AnchorRequest {
            tn: tn.to_owned(),
            call_id: call_id.to_owned(),
            offer: sdp::single(Media::Application(app.clone())).render(),
            avatar: avatar.filter(|_| for_app).cloned(),
        };
        match self.ask_anchor(&request).await {
            Ok(answer) => {
                self.anchored.put(key, answer.clone());
                self.done(
                    Act::DcAnchor,
                    format!(
                        "anchor m=application mid {} at the MF ({}); it does not go on toward the callee",
                        app.mid, self.host
                    ),
                );
                answer
            }
            Err(e) => {
                self.failed(
                    Act::DcAnchor,
                    &e,
                    format!("MF answer for mid {}: {e}: declined (port 0)", app.mid),
                );
                Media::Application(Application::declined(&app))
            }
        }
    }

    /// A BYE passes: if the call had sections anchored at the MF, the MF releases them.
    pub(crate) async fn release(&self, bye: &Request) {
        let call_id = sdp::call_id(bye);
        if !self.anchored.forget(&call_id) {
            return;
        }
        let request = ReleaseRequest { call_id, mid: None };
        match self.send_release(&request).await {
            Ok(()) => self.done(
                Act::DcRelease,
                "the call ends: the MF releases its data channels".into(),
            ),
            Err(e) => self.failed(
                Act::DcRelease,
                &e,
                format!("the call ends; MF release: {e}"),
            ),
        }
    }
}
