//! The key issue #1 solutions, each behind one interface ([`Flow`]). The ISC proxy core calls
//! a flow's hooks and never asks which solution it is: originating, what to present for the
//! caller ([`Flow::present`]) and the testbed choice its signing records
//! ([`Flow::signing_choice`]); terminating, whether to verify ([`Flow::verify`]) and what to
//! note once verified ([`Flow::verified`]). Later solutions hook into a call's answers
//! ([`Flow::answer`]), re-INVITEs ([`Flow::reinvite`]) and end ([`Flow::ended`]), and may serve
//! HTTPS at the AS ([`Flow::http`]).
//!
//! One file per solution, each with its constructor (`fn() -> Arc<dyn Flow>`); a new solution
//! is a new file here, its `mod` line and its `pub use` line.

mod aos_avatar;
mod authz_server;
mod caller_number;
mod dc_exposure;
mod hss_id_info;
mod hss_rcd;
mod id_server;
mod signed_avatar_id;

use std::fmt;

use kit::http::BoxFuture;
use proto::sip::{Request, Response};
use proto::sipmsg::NameAddr;
use proto::trace::Reason;
use proto::wire::avatar::SignedAvatarId;
use stir::ms::VerificationResponse;

use crate::Error;
use crate::io::Io;
use crate::orig::Presented;

pub use aos_avatar::{AVATAR_ID_HEADER, aos_avatar};
pub use authz_server::authz_server;
pub use caller_number::caller_number;
pub use dc_exposure::dc_exposure;
pub use hss_id_info::hss_id_info;
pub use hss_rcd::hss_rcd;
pub use id_server::id_server;
pub use signed_avatar_id::{AvatarOffer, signed_avatar_id};

/// One key issue #1 solution, as the IMS AS runs it (the operator deploys one per world).
pub trait Flow: fmt::Debug + Send + Sync {
    /// Originating: what to present for the caller whose number is `caller_tn` (a challenge
    /// instead, or nothing). May change the INVITE (solution 4 strips the credentials meant for
    /// the third party). Writes its own action notes.
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        invite: &'a mut Request,
        caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination>;

    /// The testbed choice recorded when something is presented and signed: (id, text). None
    /// for a flow that never presents anything.
    fn signing_choice(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// Terminating, before anything is verified: whether to ask the STI-VS. Always, unless the
    /// solution says otherwise.
    fn verify<'a>(&'a self, _io: &'a Io<'a>, _invite: &'a Request) -> BoxFuture<'a, Verify> {
        Box::pin(std::future::ready(Verify::Ask))
    }

    /// Terminating, after verification (`None`: none took place): anything the solution notes
    /// about the verified content.
    fn verified(&self, _io: &Io<'_>, _response: Option<&VerificationResponse>) {}

    /// Whether the flow changes the answers to an initial INVITE ([`Flow::answer`]): no, unless
    /// the solution signs answers (solution 8).
    fn answers(&self) -> bool {
        false
    }

    /// A 2xx answer to the INVITE `invite` (initial or re-INVITE, as the AS forwarded it),
    /// before the AS relays it toward the caller: solution 8's terminating AS signs the
    /// callee's avatar into the answer to the initial INVITE, its originating AS verifies
    /// that; solution 7 notes what each party was last offered; solution 9's originating AS
    /// reports the data channels it opened to the DCSF. Writes its own notes.
    fn answer<'a>(
        &'a self,
        _io: &'a Io<'a>,
        _side: Side,
        _invite: &'a Request,
        _response: &'a mut Response,
    ) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }

    /// A re-INVITE in a call, before the AS anchors its sections at the MF and forwards it
    /// (solution 7 step 3: the Avatar-id of the application channel checked and signed, or
    /// verified on the terminating side). The signed Avatar-id to hand the MF with the
    /// application channel, if any. Writes its own notes.
    fn reinvite<'a>(
        &'a self,
        _io: &'a Io<'a>,
        _side: Side,
        _reinvite: &'a mut Request,
    ) -> BoxFuture<'a, Option<SignedAvatarId>> {
        Box::pin(std::future::ready(None))
    }

    /// A BYE of call `call_id` passes through the AS (before it goes on): solution 9 reports
    /// the data channels still open as terminated. Writes its own notes.
    fn ended<'a>(&'a self, _io: &'a Io<'a>, _call_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Whether the flow serves HTTPS at the AS ([`Flow::http`]).
    fn serves_https(&self) -> bool {
        false
    }

    /// An HTTPS request to the AS (solution 7: the NEF asks whether a signed Avatar-id is one
    /// the AS had signed; the XR AS asks it to anchor a call's media; solution 9: the DCSF asks
    /// it to change a call's data channels). Answered 404 unless the
    /// flow serves it.
    fn http<'a>(
        &'a self,
        _io: &'a Io<'a>,
        req: &'a kit::http::Request,
        _peer: &'a kit::http::Peer,
    ) -> BoxFuture<'a, kit::http::Response> {
        let answer = kit::http::Response::text(404, format!("no such resource: {}", req.target));
        Box::pin(std::future::ready(answer))
    }
}

/// Which side of the call an AS serves, as [`Flow::answer`] is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The caller's network.
    Originating,
    /// The callee's network.
    Terminating,
}

/// What the originating AS does for the caller, as a flow decided it.
#[derive(Debug, Clone, PartialEq)]
pub enum Origination {
    /// Present and sign this.
    Present {
        /// What is presented and signed.
        presented: Box<Presented>,
        /// Assert and sign the caller as this identity instead (solution 4 option B: the 3P ID).
        as_id: Option<NameAddr>,
    },
    /// Answer the INVITE 401 with this `WWW-Authenticate` value (solution 4, §6.4.2.2).
    Challenge(String),
    /// Present no 3P ID: only the caller's own number is asserted and signed.
    Nothing,
}

impl Origination {
    /// Present `presented` for the caller's own identity (or nothing).
    pub fn found(presented: Option<Presented>) -> Self {
        presented.map_or(Origination::Nothing, |p| Origination::Present {
            presented: Box::new(p),
            as_id: None,
        })
    }
}

/// Whether the terminating AS asks the STI-VS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Verify the Identity headers.
    Ask,
    /// Deliver without verification (and without any name).
    Skip,
}

/// Why nothing is presented (or done): the typed reason and a line for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why, typed: what steps and outcome checks match.
    pub reason: Reason,
    /// What happened, for the reader.
    pub label: String,
}

impl Refusal {
    /// A refusal for `reason`.
    pub fn new(reason: Reason, label: impl Into<String>) -> Self {
        Self {
            reason,
            label: label.into(),
        }
    }

    /// A peer that did not answer usefully: `{what} unavailable ({e}){then}`.
    pub fn unavailable(what: &str, e: &Error, then: &str) -> Self {
        Self::new(e.reason(), format!("{what} unavailable ({e}){then}"))
    }
}

/// What a lookup came to: something with the label of its done note, or a refusal.
pub type Found<T> = Result<(T, String), Refusal>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_refusals_carry_the_peer_reason() {
        let e = Error::Unconfigured { peer: "NEF" };
        let r = Refusal::unavailable("NEF", &e, ": no 3P ID");
        assert_eq!(r.reason, Reason::Unreachable);
        assert_eq!(r.label, "NEF unavailable (no NEF configured): no 3P ID");
    }
}
