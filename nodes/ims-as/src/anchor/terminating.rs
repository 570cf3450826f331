//! The terminating side: the MF offers the callee of a data channel call a bootstrap channel;
//! the callee's answer is taken out of the 2xx and handed to the MF.

use kit::sip::{Endpoint, Incoming};
use proto::sdp::Media;
use proto::sip::Request;
use proto::sip::proxy::prepare_response_forward;
use proto::trace::Act;
use proto::wire::mf::{BOOTSTRAP_MID, CompleteRequest, OfferRequest};

use super::Mf;
use super::sdp::{self, set_body};

impl Mf<'_> {
    /// Appends the MF's bootstrap offer for the callee to a data channel call's INVITE (asking
    /// the MF on the first INVITE, repeating the same section on re-INVITEs). `None` when no
    /// section was appended; else whether it is new (the MF awaits the callee's answer).
    pub(crate) async fn offer(&self, invite: &mut Request, callee_tn: &str) -> Option<bool> {
        let mut session = sdp::wants_bootstrap(&invite.body)?;
        let call_id = sdp::call_id(invite);
        let key = sdp::offered_key(&call_id);
        let (section, new) = match self.anchored.get(&key) {
            Some(known) => {
                self.done(
                    Act::KeepSession,
                    format!(
                        "re-offer the callee's bootstrap data channel (mid {BOOTSTRAP_MID}) unchanged"
                    ),
                );
                (known, false)
            }
            None => {
                let request = OfferRequest {
                    tn: callee_tn.to_owned(),
                    call_id,
                };
                let section = self.bootstrap_offer(&request).await?;
                self.anchored.put(key, section.clone());
                (section, true)
            }
        };
        session.media.push(section);
        set_body(&mut invite.headers, &mut invite.body, session.render());
        Some(new)
    }

    /// The MF's bootstrap section for the callee, noted either way.
    async fn bootstrap_offer(&self, request: &OfferRequest) -> Option<Media> {
        match self.ask_offer(request).await {
            Ok(section) => {
                self.done(
                    Act::DcAnchor,
                    format!(
                        "a data channel call: have the MF ({}) offer the callee a bootstrap data channel (mid {BOOTSTRAP_MID})",
                        self.host
                    ),
                );
                Some(section)
            }
            Err(e) => {
                self.failed(
                    Act::DcAnchor,
                    &e,
                    format!("MF bootstrap offer: {e}: the callee gets no bootstrap data channel"),
                );
                None
            }
        }
    }

    /// Forwards the INVITE as [`super::forward`] does, taking the callee's answer to the
    /// bootstrap offer out of every 2xx; for a new offer, the first answer goes to the MF.
    pub(crate) async fn forward_offered(
        &self,
        endpoint: &Endpoint,
        incoming: &mut Incoming,
        request: Request,
        new: bool,
    ) -> Option<u16> {
        let call_id = sdp::call_id(&request);
        let mut tx = match super::send_on(endpoint, incoming, request).await {
            Ok(tx) => tx,
            Err(code) => return Some(code),
        };
        let mut final_code = None;
        let mut completed = !new;
        while let Some(response) = tx.next_response().await {
            let code = response.status_code.code();
            if code == 100 {
                continue;
            }
            if let Some(mut up) = prepare_response_forward(&response) {
                let answer = (200..300)
                    .contains(&code)
                    .then(|| sdp::take_answer(&mut up))
                    .flatten();
                // The MF gets the callee's answer before the 2xx goes on: its side of the
                // channel is ready when the caller learns the call is up, and the trace's
                // order does not depend on which of the two finishes first.
                if let Some(section) = answer
                    && !completed
                {
                    completed = true;
                    self.complete(&call_id, section).await;
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

    /// Hands the callee's answer for the bootstrap section to the MF.
    async fn complete(&self, call_id: &str, section: Media) {
        let request = CompleteRequest {
            call_id: call_id.to_owned(),
            answer: sdp::single(section).render(),
        };
        match self.send_complete(&request).await {
            Ok(()) => self.done(
                Act::DcAnchor,
                format!(
                    "take the callee's answer for mid {BOOTSTRAP_MID} out of the 2xx and hand it to the MF"
                ),
            ),
            Err(e) => self.failed(
                Act::DcAnchor,
                &e,
                format!("MF bootstrap completion: {e}"),
            ),
        }
    }
}
