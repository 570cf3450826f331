//! Sections the MF offers the callee (the MF is the offerer, the callee answers): the callee's
//! own network's bootstrap channel (terminating side) and the caller's network's avatar media
//! channel (originating side). The first INVITE of a call asks the MF; every re-INVITE repeats
//! the same section unchanged; the callee's first answer to it goes to the MF.

use proto::sdp::{Media, Session};
use proto::sip::Request;
use proto::trace::Act;
use proto::wire::mf::{CompleteRequest, OfferRequest, OfferSection};

use super::Mf;
use super::sdp::{self, set_body};
use crate::Error;

/// A section the MF offers the callee in the INVITE being forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offered {
    /// Which section.
    pub(crate) section: OfferSection,
    /// Whether the MF made it for this INVITE (it awaits the callee's answer), or the INVITE
    /// repeats the one made earlier in the call.
    pub(crate) new: bool,
}

impl Mf<'_> {
    /// Appends the MF's `section` offer to `invite`, whose SDP is `session` (checked by the
    /// caller to lack it): the section already offered in the call unchanged, else — when
    /// `may_ask` — a new one from the MF. `None` when nothing was appended.
    pub(super) async fn offer_section(
        &self,
        invite: &mut Request,
        session: Session,
        section: OfferSection,
        callee_tn: &str,
        may_ask: bool,
    ) -> Option<Offered> {
        let call_id = sdp::call_id(invite);
        let key = sdp::offered_key(&call_id, section.mid());
        let (media, new) = match self.anchored.get(&key) {
            Some(known) => {
                self.done(Act::KeepSession, reoffer_label(section));
                (known, false)
            }
            None if may_ask => {
                let request = OfferRequest {
                    tn: callee_tn.to_owned(),
                    call_id,
                    section,
                    app: None,
                };
                let media = self.ask_section(&request).await?;
                self.anchored.put(key, media.clone());
                (media, true)
            }
            None => return None,
        };
        set_body(
            &mut invite.headers,
            &mut invite.body,
            sdp::with_section(session, media),
        );
        Some(Offered { section, new })
    }

    /// The MF's section for the callee, noted either way ([`Act::DcAnchor`]; refused: the
    /// call goes on without it).
    async fn ask_section(&self, request: &OfferRequest) -> Option<Media> {
        match self.ask_offer(request).await {
            Ok(media) => {
                self.done(Act::DcAnchor, offer_label(request.section, self.host));
                Some(media)
            }
            Err(e) => {
                self.failed(Act::DcAnchor, &e, offer_failed_label(request.section, &e));
                None
            }
        }
    }

    /// Hands the callee's answer for the offered section to the MF ([`Act::DcAnchor`]).
    pub(super) async fn complete(&self, call_id: &str, section: OfferSection, answer: Media) {
        let request = CompleteRequest {
            call_id: call_id.to_owned(),
            answer: sdp::single(answer).render(),
            tn: None,
        };
        match self.send_complete(&request).await {
            Ok(()) => self.done(
                Act::DcAnchor,
                format!(
                    "take the callee's answer for mid {} out of the 2xx and hand it to the MF",
                    section.mid()
                ),
            ),
            Err(e) => self.failed(
                Act::DcAnchor,
                &e,
                format!("MF {} completion: {e}", kind(section)),
            ),
        }
    }
}

/// The section's kind, for labels.
fn kind(section: OfferSection) -> &'static str {
    match section {
        OfferSection::Bootstrap => "bootstrap",
        OfferSection::AvatarMedia => "avatar media",
        OfferSection::Application => "application",
    }
}

/// The label of a new offer the MF made.
fn offer_label(section: OfferSection, host: &str) -> String {
    match section {
        OfferSection::Bootstrap => format!(
            "a data channel call: have the MF ({host}) offer the callee a bootstrap data channel (mid {})",
            section.mid()
        ),
        OfferSection::AvatarMedia => format!(
            "an avatar call: have the MF ({host}) offer the callee the avatar media data channel (mid {})",
            section.mid()
        ),
        // The DCSF, not the AS, asks the MF for these (solution 9).
        OfferSection::Application => format!(
            "have the MF ({host}) offer the callee an application data channel (mid {})",
            section.mid()
        ),
    }
}

/// The label of an offer the MF did not make.
fn offer_failed_label(section: OfferSection, e: &Error) -> String {
    match section {
        OfferSection::Bootstrap => {
            format!("MF bootstrap offer: {e}: the callee gets no bootstrap data channel")
        }
        OfferSection::AvatarMedia => {
            format!("MF avatar media offer: {e}: the call goes on without avatar media")
        }
        OfferSection::Application => {
            format!("MF application data channel offer: {e}: the call goes on without it")
        }
    }
}

/// The label of a re-INVITE repeating the offer.
fn reoffer_label(section: OfferSection) -> String {
    format!(
        "re-offer the callee's {} data channel (mid {}) unchanged",
        kind(section),
        section.mid()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_section() {
        assert_eq!(
            reoffer_label(OfferSection::Bootstrap),
            "re-offer the callee's bootstrap data channel (mid bdc) unchanged"
        );
        assert_eq!(
            reoffer_label(OfferSection::AvatarMedia),
            "re-offer the callee's avatar media data channel (mid avm) unchanged"
        );
        assert_eq!(
            offer_label(OfferSection::Bootstrap, "mf.test"),
            "a data channel call: have the MF (mf.test) offer the callee a bootstrap data channel (mid bdc)"
        );
        assert!(offer_label(OfferSection::AvatarMedia, "mf.test").contains("(mid avm)"));
        let e = Error::NoApplication { what: "offer" };
        assert!(offer_failed_label(OfferSection::AvatarMedia, &e).contains("without avatar media"));
    }
}
