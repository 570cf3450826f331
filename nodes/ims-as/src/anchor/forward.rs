//! Forwarding an INVITE whose SDP the AS changed, and its answers: in every 2xx the callee's
//! answer to the section the MF offered it is taken out (and, for a new offer, handed to the MF
//! before the 2xx goes on), and the MF's answers to the sections it anchored are put back.

use kit::sip::{Endpoint, Incoming};
use kit::sipnode::EditResponse;
use proto::sip::Request;
use proto::sip::proxy::prepare_response_forward;

use super::offer::Offered;
use super::sdp;
use super::{Answers, Mf};

impl Mf<'_> {
    /// Forwards `request` as a stateful proxy does (`100 Trying` upstream, every response
    /// relayed), turning each 2xx into the answer to what the caller offered: the callee's
    /// answer for `offered` out, `answers` back in at their positions; then `editor`'s turn
    /// (on the response as relayed: our Via already off). The final status.
    pub(crate) async fn forward(
        &self,
        endpoint: &Endpoint,
        incoming: &mut Incoming,
        request: Request,
        answers: &Answers,
        offered: Option<Offered>,
        mut editor: Option<&mut dyn EditResponse>,
    ) -> Option<u16> {
        let call_id = sdp::call_id(&request);
        let mut tx = match super::send_on(endpoint, incoming, request).await {
            Ok(tx) => tx,
            Err(code) => return Some(code),
        };
        let mut final_code = None;
        // Only a new offer awaits the callee's answer; a repeated one was completed before.
        let mut pending = offered.filter(|o| o.new);
        while let Some(response) = tx.next_response().await {
            let code = response.status_code.code();
            if code == 100 {
                continue;
            }
            if let Some(mut up) = prepare_response_forward(&response) {
                let taken = if (200..300).contains(&code) {
                    let mid = offered.map(|o| o.section.mid());
                    sdp::answer_upstream(&mut up, mid, answers)
                } else {
                    None
                };
                // The MF gets the callee's answer before the 2xx goes on: its side of the
                // channel is ready when the caller learns the call is up, and the trace's
                // order does not depend on which of the two finishes first.
                if let Some(answer) = taken
                    && let Some(o) = pending.take()
                {
                    self.complete(&call_id, o.section, answer).await;
                }
                if let Some(editor) = editor.as_deref_mut() {
                    up = editor.edit(up).await;
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
}
