//! The originating side: sections a served UE offers toward its own network are answered by
//! the MF, and those answers put back into the 2xx; a BYE releases them.

use kit::sip::{Endpoint, Incoming};
use proto::sdp::{Application, Media};
use proto::sip::Request;
use proto::sip::proxy::prepare_response_forward;
use proto::trace::Act;
use proto::wire::mf::{AnchorRequest, ReleaseRequest};

use super::sdp::{self, set_body};
use super::{Answers, Mf};

impl Mf<'_> {
    /// Takes the network-bound sections out of `invite`, has the MF answer each, and returns
    /// the answers. A section the MF does not answer is answered declined (port 0) by the AS.
    pub(crate) async fn take(&self, invite: &mut Request) -> Answers {
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
                None => self.anchor(&tn, &call_id, key, app.clone()).await,
            };
            answers.push((i, section));
        }
        set_body(&mut invite.headers, &mut invite.body, session.render());
        answers
    }

    /// One section anchored at the MF: its answer, or the section declined.
    async fn anchor(&self, tn: &str, call_id: &str, key: super::Key, app: Application) -> Media {
        let request = AnchorRequest {
            tn: tn.to_owned(),
            call_id: call_id.to_owned(),
            offer: sdp::single(Media::Application(app.clone())).render(),
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
        let request = ReleaseRequest { call_id };
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

/// Forwards `request` as [`kit::sipnode::forward`] does, putting `answers` into every 2xx.
pub(crate) async fn forward(
    endpoint: &Endpoint,
    incoming: &mut Incoming,
    request: Request,
    answers: &Answers,
) -> Option<u16> {
    let mut tx = match super::send_on(endpoint, incoming, request).await {
        Ok(tx) => tx,
        Err(code) => return Some(code),
    };
    let mut final_code = None;
    while let Some(response) = tx.next_response().await {
        let code = response.status_code.code();
        if code == 100 {
            continue;
        }
        if let Some(mut up) = prepare_response_forward(&response) {
            if (200..300).contains(&code) {
                sdp::restore(&mut up, answers);
            }
            let _ = incoming.relay(up).await;
        }
        if code >= 200 {
            final_code.get_or_insert(code);
            if code >= 300 {
                break;
            }
        }
    }
    final_code
}
