//! The MF's control interface over HTTPS (mutual TLS): anchor a section, offer the callee a
//! section (bootstrap or avatar media), complete an offer with the callee's answer, release a
//! call.

use proto::sdp::{Media, Session};
use proto::wire::mf::{
    ANCHOR_PATH, AnchorRequest, AnchorResponse, COMPLETE_PATH, CompleteRequest, OFFER_PATH,
    OfferRequest, OfferResponse, RELEASE_PATH, ReleaseRequest,
};

use super::Mf;
use crate::Error;
use crate::io::{post, post_json};

impl Mf<'_> {
    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.host)
    }

    /// The MF's answer for one offered section.
    pub(super) async fn ask_anchor(&self, request: &AnchorRequest) -> Result<Media, Error> {
        let answer: AnchorResponse =
            post_json(self.client, &self.url(ANCHOR_PATH), request).await?;
        first_application(&answer.answer).ok_or(Error::NoApplication { what: "answer" })
    }

    /// The MF's section to offer the callee.
    pub(super) async fn ask_offer(&self, request: &OfferRequest) -> Result<Media, Error> {
        let offer: OfferResponse = post_json(self.client, &self.url(OFFER_PATH), request).await?;
        first_application(&offer.offer).ok_or(Error::NoApplication { what: "offer" })
    }

    /// Hands the callee's answer to the MF's offer.
    pub(super) async fn send_complete(&self, request: &CompleteRequest) -> Result<(), Error> {
        post(self.client, &self.url(COMPLETE_PATH), request).await
    }

    /// Has the MF release a call's data channels.
    pub(super) async fn send_release(&self, request: &ReleaseRequest) -> Result<(), Error> {
        post(self.client, &self.url(RELEASE_PATH), request).await
    }
}

/// The first `m=application` section of an SDP session.
fn first_application(sdp: &str) -> Option<Media> {
    Session::parse(sdp)
        .ok()?
        .media
        .into_iter()
        .find(|m| matches!(m, Media::Application(_)))
}
