//! Data channel anchoring (TS 23.228 Annex AC in outline; choice `dc-bootstrap-anchor`). When
//! the operator has an MF, the originating IMS AS takes every `m=application` section a served
//! UE offers toward its own network (the bootstrap channel, mid `bdc`; application channels to
//! the network, mids `p2a…`) out of the INVITE or re-INVITE, has the MF answer each over HTTPS,
//! and puts the MF's answers back in the 2xx at the offer's positions (RFC 3264: one answer
//! section per offered section). Sections toward the far end pass through unchanged
//! ([`originating`]).
//!
//! The MF can also be the offerer of a section toward the callee ([`offer`]): the AS appends
//! the MF's section to the INVITE (and to every re-INVITE of the call unchanged), takes the
//! callee's answer for it out of the 2xx and hands it to the MF ([`forward`]). On the
//! terminating side ([`terminating`]) that is the callee's own bootstrap channel, for a call
//! that offers data channels; on the originating side, when configured for avatars
//! (`AsConfig::avatar_media`), it is the avatar media channel (mid `avm`, TR 33.790 §6.5, §6.6:
//! rendered avatar frames and protected avatar objects from the caller's MF to the callee), for
//! an initial INVITE that offers the peer-to-peer data channel section. Toward the callee the
//! order is the caller's sections, then `avm`, then the terminating side's `bdc`.
//!
//! The MF's HTTP interface is in [`mf`]; the SDP surgery is pure ([`sdp`]).

mod forward;
mod mf;
mod offer;
mod originating;
mod sdp;
mod terminating;

use kit::http::Client;
use kit::node::Ctx;
use proto::sdp::Media;
use proto::trace::{Act, Note};

use crate::Error;

/// MF answers to put back into the 2xx: (position in the offer, answered section).
pub(crate) type Answers = Vec<(usize, Media)>;

/// Starts forwarding `request` as a proxy that waits for the answers itself: `100 Trying`
/// upstream, the request downstream; a request that cannot be sent is answered 503 (and its
/// code returned).
pub(crate) async fn send_on(
    endpoint: &kit::sip::Endpoint,
    incoming: &mut kit::sip::Incoming,
    request: proto::sip::Request,
) -> Result<kit::sip::ClientTransaction, u16> {
    use proto::sip::proxy::response_to;
    let _ = incoming
        .respond(response_to(incoming.request(), 100, "Trying", None))
        .await;
    match endpoint.send_request(request).await {
        Ok(tx) => Ok(tx),
        Err(e) => {
            let reason = format!("Service Unavailable ({e})");
            let _ = incoming
                .respond(response_to(incoming.request(), 503, &reason, None))
                .await;
            Err(503)
        }
    }
}

/// Sections anchored so far: (Call-ID, mid, the offer's ICE ufrag) and the MF's answer. A
/// re-offer repeats an anchored section unchanged; it keeps its answer.
#[derive(Debug, Default)]
pub(crate) struct Anchored(std::sync::Mutex<Vec<(Key, Media)>>);

/// (Call-ID, mid, the offer's ICE ufrag).
type Key = (String, String, String);

impl Anchored {
    fn get(&self, key: &Key) -> Option<Media> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m.clone())
    }

    /// Forgets a call's sections; whether it had any.
    fn forget(&self, call_id: &str) -> bool {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let before = all.len();
        all.retain(|((id, _, _), _)| id != call_id);
        all.len() != before
    }

    fn put(&self, key: Key, media: Media) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key, media));
    }
}

/// The operator's MF as the AS uses it for one request: the host, the mutual-TLS client, what
/// is anchored so far, and the trace of the request being handled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mf<'a> {
    ctx: &'a Ctx,
    client: &'a Client,
    anchored: &'a Anchored,
    host: &'a str,
    msg: u64,
}

impl<'a> Mf<'a> {
    /// The MF at `host`, for the request with trace id `msg`.
    pub(crate) fn new(
        ctx: &'a Ctx,
        client: &'a Client,
        anchored: &'a Anchored,
        host: &'a str,
        msg: u64,
    ) -> Self {
        Self {
            ctx,
            client,
            anchored,
            host,
            msg,
        }
    }

    fn done(&self, act: Act, label: String) {
        self.ctx.note(Some(self.msg), Note::done(act, label));
    }

    /// Notes `act` refused because the MF failed.
    fn failed(&self, act: Act, e: &Error, label: String) {
        self.ctx
            .note(Some(self.msg), Note::refused(act, e.reason(), label));
    }
}
