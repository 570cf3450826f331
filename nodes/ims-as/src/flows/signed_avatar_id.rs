//! Solution #7 (TR 33.790 §6.7.2.1), the IMS ASs' part: the caller's number is signed as any
//! operator does (no third-party identity); in the call, the application data channel
//! negotiation (step 3: UE-A's re-INVITE adding the p2a section, with the Avatar-id, the
//! application id and UE-A's certificate fingerprint as RFC 8864 `a=dcsa` attributes of the
//! avatar stream) is where the IMS works:
//!
//! - originating: the HSS says whether the caller may use that Avatar-id for that application
//!   (`GET /sh/v1/avatars/{impu}`); if so the STI-AS signs a PASSporT of `ppt` avatar over the
//!   Avatar-id, the application and the caller's IMPU (choice `7-signed-avatar-id`), which goes
//!   on toward UE-B in an Identity header and to the MF with the application channel;
//! - terminating: the STI-VS verifies it before UE-B sees it; one that does not verify is
//!   removed;
//! - when the XR AS asks (it holds the caller's UE token, `POST /as/v1/media-anchoring`), the
//!   originating AS anchors the parties' media at the MF with re-INVITEs of its own (steps 5 and
//!   6, [`crate::dialog`]); UE-B's, with the signed Avatar-id, may be refused (UE-B rejects the
//!   avatar: the MF then sends it no frames);
//! - the NEF asks the originating AS whether a signed Avatar-id is one it had signed, and which
//!   certificate fingerprint the UE presented in SIP (step 7, `POST /as/v1/avatar-ids/verify`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use avatar::wire::{AvatarIdCheck, AvatarIdVerdict, VERIFY_AVATAR_ID_PATH};
use kit::http::{BoxFuture, Peer, Request as HttpRequest, Response as HttpResponse};
use proto::sdp::{Media, Session};
use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AVATAR_STOP_PATH, AvatarStop, MEDIA_ANCHOR_PATH, MediaAnchored,
    MediaAnchoring, Party, SignedAvatarId,
};
use proto::wire::mf::P2A_MID_PREFIX;
use proto::wire::sh::{AvatarEntitlements, avatars_path};
use stir::IdentityHeader;
use stir::ms::{
    SIGNING_PATH, SigningRequest, SigningRequestBody, SigningResponseBody, VERIFICATION_PATH,
    VerificationRequestBody, VerificationResponseBody,
};
use stir::{AvatarClaim, Dest, Orig};

use super::aos_avatar::impu_of;
use super::{Flow, Origination, Side};
use crate::dialog::Toward;
use crate::io::Io;
use crate::term;

/// The header the anchoring re-INVITE names the call's avatar in for UE-B (step 6).
pub const AVATAR_ID_HEADER: &str = super::AVATAR_ID_HEADER;

/// The bound on each of the AS's own re-INVITEs.
const WAIT: Duration = Duration::from_secs(2);

/// What UE-A's application channel offer says of the avatar (step 3), read from the `a=dcsa`
/// attributes of its avatar stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarOffer {
    /// The Avatar-id (`avatar-id:`).
    pub avatar_id: String,
    /// The application id (`avatar-app:`).
    pub app_id: String,
    /// The UE certificate's fingerprint (`ue-cert-fingerprint:`), RFC 8122 form.
    pub fingerprint: String,
}

impl AvatarOffer {
    /// The avatar of the first p2a section of an SDP body that names one (pure).
    pub fn of(body: &[u8]) -> Option<AvatarOffer> {
        let session = Session::parse(std::str::from_utf8(body).ok()?).ok()?;
        session.media.iter().find_map(|m| match m {
            Media::Application(app) if app.mid.starts_with(P2A_MID_PREFIX) => {
                let attr = |name: &str| {
                    app.dcsa
                        .iter()
                        .filter(|(stream, _)| *stream == AVATAR_APP_STREAM)
                        .find_map(|(_, a)| a.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                Some(AvatarOffer {
                    avatar_id: attr("avatar-id:")?,
                    app_id: attr("avatar-app:")?,
                    fingerprint: attr("ue-cert-fingerprint:")?,
                })
            }
            _ => None,
        })
    }
}

/// What the originating AS keeps of a call with a signed Avatar-id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signed {
    avatar: SignedAvatarId,
    /// The Identity header value carrying it.
    identity: String,
    /// The fingerprint UE-A presented in SIP.
    fingerprint: String,
    /// The session UE-A was last answered (step 5's offer).
    to_caller: Option<String>,
    /// The session UE-B was last offered (step 6's offer).
    to_callee: Option<String>,
    /// Whether the media were anchored (steps 5 and 6 sent).
    anchored: bool,
}

/// Solution #7's operators.
#[derive(Debug, Default)]
pub(crate) struct SignedAvatarIdFlow {
    calls: Mutex<BTreeMap<String, Signed>>,
}

/// The IMS AS of solution 7: the caller's number signed; the Avatar-id of the application
/// channel negotiation checked, signed, verified; the media anchored by the AS's re-INVITEs.
pub fn signed_avatar_id() -> Arc<dyn Flow> {
    Arc::new(SignedAvatarIdFlow::default())
}

impl SignedAvatarIdFlow {
    fn calls(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Signed>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The Call-ID of a request.
fn call_id(request: &Request) -> String {
    sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned()
}

impl Flow for SignedAvatarIdFlow {
    fn present<'a>(
        &'a self,
        _io: &'a Io<'a>,
        _invite: &'a mut Request,
        _caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(std::future::ready(Origination::Nothing))
    }

    fn answers(&self) -> bool {
        true
    }

    fn answer<'a>(
        &'a self,
        _io: &'a Io<'a>,
        side: Side,
        invite: &'a Request,
        response: &'a mut Response,
    ) -> BoxFuture<'a, ()> {
        // What each party was last given, for the re-INVITEs of steps 5 and 6.
        if side == Side::Originating
            && let Some(signed) = self.calls().get_mut(&call_id(invite))
            && !signed.anchored
        {
            signed.to_caller = Some(String::from_utf8_lossy(&response.body).into_owned());
            signed.to_callee = Some(String::from_utf8_lossy(&invite.body).into_owned());
        }
        Box::pin(std::future::ready(()))
    }

    fn reinvite<'a>(
        &'a self,
        io: &'a Io<'a>,
        side: Side,
        reinvite: &'a mut Request,
    ) -> BoxFuture<'a, Option<SignedAvatarId>> {
        Box::pin(async move {
            match side {
                Side::Originating => self.sign(io, reinvite).await,
                Side::Terminating => {
                    verify(io, reinvite).await;
                    None
                }
            }
        })
    }

    fn serves_https(&self) -> bool {
        true
    }

    fn http<'a>(
        &'a self,
        io: &'a Io<'a>,
        req: &'a HttpRequest,
        peer: &'a Peer,
    ) -> BoxFuture<'a, HttpResponse> {
        Box::pin(async move {
            match req.target.as_str() {
                VERIFY_AVATAR_ID_PATH => self.serve_check(io, req, peer),
                MEDIA_ANCHOR_PATH => self.serve_anchoring(io, req, peer).await,
                _ => HttpResponse::text(404, format!("no such resource: {}", req.target)),
            }
        })
    }
}

impl SignedAvatarIdFlow {
    /// Step 3, originating: the Avatar-id of the application channel offer checked with the
    /// HSS and signed over Ms; the Identity header added toward UE-B.
    async fn sign(&self, io: &Io<'_>, reinvite: &mut Request) -> Option<SignedAvatarId> {
        let offer = AvatarOffer::of(&reinvite.body)?;
        let call = call_id(reinvite);
        let dialog = io.dialog(&call)?;
        let caller = dialog.asserted.as_deref().and_then(NameAddr::parse)?;
        let (impu, caller_tn) = (impu_of(&caller.uri)?, caller.tn()?);
        let callee_tn = NameAddr::parse(&dialog.to).and_then(|n| n.tn())?;
        if !entitled(io, &impu, &offer).await {
            return None;
        }
        let request = SigningRequest {
            ppt: Some("avatar".into()),
            dest: Dest::tn(&callee_tn),
            iat: io.now(),
            orig: Orig::tn(&caller_tn),
            avatar: Some(AvatarClaim::new(&offer.avatar_id, &offer.app_id, &impu)),
            ..SigningRequest::default()
        };
        let body = SigningRequestBody {
            signing_request: request,
        };
        let sti_as = io.ms_host()?;
        let identity = match io
            .ms_post::<_, SigningResponseBody>(sti_as, SIGNING_PATH, &body)
            .await
        {
            Ok(answer) => answer.signing_response.identity_header,
            Err(e) => {
                io.note(Note::refused(
                    Act::AddSignedAvatarId,
                    e.reason(),
                    format!("the STI-AS did not sign the Avatar-id ({e}): no avatar"),
                ));
                return None;
            }
        };
        let jws = IdentityHeader::parse(&identity).ok()?.jws;
        sipmsg::push(&mut reinvite.headers, "Identity", identity.clone());
        io.choice(
            "7-signed-avatar-id",
            "the Avatar-id is signed by the STI-AS over Ms as a PASSporT of ppt avatar (orig, dest, iat, avatar {app, id, impu}) carried in an Identity header",
        );
        io.note(Note::done(
            Act::AddSignedAvatarId,
            format!(
                "sign Avatar-id {} for {impu} and application {} over Ms; the Identity header goes on toward UE-B",
                offer.avatar_id, offer.app_id
            ),
        ));
        let avatar = SignedAvatarId {
            signed: jws,
            avatar_id: offer.avatar_id,
            app_id: offer.app_id,
            impu,
        };
        self.calls().insert(
            call,
            Signed {
                avatar: avatar.clone(),
                identity,
                fingerprint: offer.fingerprint,
                to_caller: None,
                to_callee: None,
                anchored: false,
            },
        );
        Some(avatar)
    }

    /// Steps 5 and 6, when the XR AS asks (it holds the caller's UE token): a re-INVITE of the
    /// AS's own to UE-A, then one to UE-B carrying the signed Avatar-id; a refusal by UE-B stops
    /// its frames. Each ACK the AS sends lands before it goes on (a byte-stable trace). `None`:
    /// no negotiated avatar in that call, or its media are anchored already.
    async fn anchor(&self, io: &Io<'_>, call: &str) -> Option<MediaAnchored> {
        let (signed, to_caller, to_callee) = {
            let mut calls = self.calls();
            let s = calls.get_mut(call)?;
            let (Some(a), Some(b)) = (s.to_caller.clone(), s.to_callee.clone()) else {
                return None;
            };
            if s.anchored {
                return None;
            }
            s.anchored = true;
            (s.clone(), a, b)
        };
        io.choice(
            "7-anchor-reinvite",
            "steps 5 and 6 are re-INVITEs the IMS AS sends in the dialog itself when the XR AS asks (route set from Record-Route, the party's CSeq sequence renumbered), re-offering each party its session",
        );
        let caller = io
            .send_in_dialog(call, Toward::Caller, "INVITE", &[], &to_caller, WAIT)
            .await;
        io.landed().await;
        let caller_ok = caller.as_ref().is_ok_and(|r| r.status_code.code() < 300);
        note_anchor(io, "UE-A", caller);
        let headers = [
            ("Identity", signed.identity.clone()),
            (AVATAR_ID_HEADER, signed.avatar.avatar_id.clone()),
        ];
        let callee = io
            .send_in_dialog(call, Toward::Callee, "INVITE", &headers, &to_callee, WAIT)
            .await;
        io.landed().await;
        let refused = callee.as_ref().is_ok_and(|r| r.status_code.code() >= 300);
        let callee_ok = callee.as_ref().is_ok_and(|r| r.status_code.code() < 300);
        note_anchor(io, "UE-B", callee);
        if refused {
            let stop = AvatarStop {
                call_id: call.to_owned(),
                party: Party::Callee,
            };
            if let Err(e) = io.mf_post(AVATAR_STOP_PATH, &stop).await {
                io.note(Note::refused(
                    Act::AnchorMedia,
                    e.reason(),
                    format!("could not tell the MF to stop UE-B's frames: {e}"),
                ));
            }
        }
        Some(MediaAnchored {
            caller: caller_ok,
            callee: callee_ok,
        })
    }

    /// Steps 5 and 6 for the XR AS (`POST /as/v1/media-anchoring`, its client certificate must
    /// name the operator's XR AS): the re-INVITEs, then what each party answered.
    async fn serve_anchoring(&self, io: &Io<'_>, req: &HttpRequest, peer: &Peer) -> HttpResponse {
        if !io.is_xr_as(peer.certificate.as_deref()) {
            return HttpResponse::text(403, "only the operator's XR AS may ask");
        }
        let Ok(asked) = serde_json::from_slice::<MediaAnchoring>(&req.body) else {
            return HttpResponse::text(400, "the body is not a media anchoring request");
        };
        match self.anchor(io, &asked.call_id).await {
            Some(done) => kit::node::json_response(200, &done),
            None => HttpResponse::text(
                404,
                format!("no negotiated avatar to anchor in call {}", asked.call_id),
            ),
        }
    }

    /// Step 7 for the NEF: `POST /as/v1/avatar-ids/verify` (its client certificate must name
    /// the operator's NEF): whether the signed Avatar-id is one this AS had signed, and for it
    /// the caller, the Avatar-id, the application and the fingerprint SIP carried.
    fn serve_check(&self, io: &Io<'_>, req: &HttpRequest, peer: &Peer) -> HttpResponse {
        if !io.is_nef(peer.certificate.as_deref()) {
            return HttpResponse::text(403, "only the operator's NEF may ask");
        }
        let Ok(check) = serde_json::from_slice::<AvatarIdCheck>(&req.body) else {
            return HttpResponse::text(400, "the body is not an avatar-id check");
        };
        let verdict = {
            let calls = self.calls();
            let found = calls
                .values()
                .find(|s| s.avatar.signed == check.signed_avatar_id);
            verdict(found, &check)
        };
        let note = match &verdict {
            v if v.valid => Note::done(
                Act::CheckSignedAvatarId,
                format!(
                    "the signed Avatar-id {} is one this AS had signed; UE-A presented certificate {} in SIP",
                    v.avatar_id.clone().unwrap_or_default(),
                    v.ue_cert_fingerprint.clone().unwrap_or_default()
                ),
            ),
            v => Note::refused(
                Act::CheckSignedAvatarId,
                v.reason.unwrap_or(Reason::SignatureInvalid),
                v.detail.clone().unwrap_or_default(),
            ),
        };
        io.note_on(peer.msg, note);
        kit::node::json_response(200, &verdict)
    }
}

/// The verdict on a signed Avatar-id: the call it was signed in, if any (pure).
fn verdict(found: Option<&Signed>, check: &AvatarIdCheck) -> AvatarIdVerdict {
    match found {
        Some(s) if s.avatar.app_id == check.app_id => AvatarIdVerdict::valid(
            &s.avatar.impu,
            &s.avatar.avatar_id,
            &s.avatar.app_id,
            &s.fingerprint,
        ),
        Some(s) => AvatarIdVerdict::invalid(
            Reason::ClaimMismatch,
            format!(
                "the signed Avatar-id is for application {}, not {}",
                s.avatar.app_id, check.app_id
            ),
        ),
        None => AvatarIdVerdict::invalid(
            Reason::SignatureInvalid,
            "not a signed Avatar-id this IMS AS had signed in a call",
        ),
    }
}

/// The AnchorMedia note for one party's re-INVITE.
fn note_anchor(io: &Io<'_>, who: &str, answer: Result<Response, crate::Error>) {
    let note = match answer {
        Ok(r) if r.status_code.code() < 300 => Note::done(
            Act::AnchorMedia,
            format!(
                "re-INVITE to {who} anchoring its media at the MF: {}",
                r.status_code.code()
            ),
        ),
        Ok(r) => Note::refused(
            Act::AnchorMedia,
            Reason::Declined,
            format!(
                "re-INVITE to {who} anchoring its media at the MF refused: {} {}",
                r.status_code.code(),
                r.status_code
            ),
        ),
        Err(e) => Note::refused(
            Act::AnchorMedia,
            e.reason(),
            format!("re-INVITE to {who}: {e}"),
        ),
    };
    io.note(note);
}

/// Step 3: whether the HSS's subscription data let `impu` use the offered Avatar-id with the
/// offered application; noted either way.
async fn entitled(io: &Io<'_>, impu: &str, offer: &AvatarOffer) -> bool {
    let what = format!(
        "Avatar-id {} with application {}",
        offer.avatar_id, offer.app_id
    );
    let (note, ok) = match io.hss_get::<AvatarEntitlements>(&avatars_path(impu)).await {
        Ok(Some(e)) if e.allows(&offer.avatar_id, &offer.app_id) => (
            Note::done(
                Act::AuthorizeAvatarId,
                format!("the HSS lets {impu} use {what}"),
            ),
            true,
        ),
        Ok(Some(_)) => (
            Note::refused(
                Act::AuthorizeAvatarId,
                Reason::NotEntitled,
                format!(
                    "{impu} may not use {what} (HSS subscription data): nothing is signed, the session goes on without an avatar"
                ),
            ),
            false,
        ),
        Ok(None) => (
            Note::refused(
                Act::AuthorizeAvatarId,
                Reason::NoRecord,
                format!("the HSS has no avatar data for {impu}"),
            ),
            false,
        ),
        Err(e) => (
            Note::refused(Act::AuthorizeAvatarId, e.reason(), format!("HSS: {e}")),
            false,
        ),
    };
    io.note(note);
    ok
}

/// Step 3, terminating: a signed Avatar-id is verified by the STI-VS before UE-B sees it; one
/// that does not verify is removed with the Avatar-id header.
async fn verify(io: &Io<'_>, reinvite: &mut Request) {
    let is_avatar =
        |v: &str| IdentityHeader::parse(v).is_ok_and(|h| h.ppt.as_deref() == Some("avatar"));
    if !sipmsg::values(&reinvite.headers, "Identity")
        .into_iter()
        .any(is_avatar)
    {
        sipmsg::remove(&mut reinvite.headers, AVATAR_ID_HEADER);
        return;
    }
    let tn = |h: &str| {
        sipmsg::first(&reinvite.headers, h)
            .and_then(NameAddr::parse)
            .and_then(|n| n.tn())
    };
    let (orig, dest) = (tn("From"), tn("To"));
    let Some(request) = term::identity_request(&reinvite.headers, orig, dest, io.now()) else {
        return;
    };
    let body = VerificationRequestBody {
        verification_request: request,
    };
    let verified = match io.ms_host() {
        Some(sti_vs) => io
            .ms_post::<_, VerificationResponseBody>(sti_vs, VERIFICATION_PATH, &body)
            .await
            .map(|a| a.verification_response),
        None => Err(crate::Error::Unconfigured { peer: "STI-VS" }),
    };
    match verified.as_ref().map(|r| r.avatar()) {
        Ok(Some(claim)) => io.note(Note::done(
            Act::DeliverAvatarId,
            format!(
                "the signed Avatar-id {} of {} verified: forward it to UE-B",
                claim.id, claim.impu
            ),
        )),
        outcome => {
            let reason = match outcome {
                Err(e) => e.reason(),
                Ok(_) => Reason::SignatureInvalid,
            };
            let keep: Vec<String> = sipmsg::values(&reinvite.headers, "Identity")
                .into_iter()
                .filter(|v| !is_avatar(v))
                .map(str::to_owned)
                .collect();
            sipmsg::remove(&mut reinvite.headers, "Identity");
            for v in keep {
                sipmsg::push(&mut reinvite.headers, "Identity", v);
            }
            sipmsg::remove(&mut reinvite.headers, AVATAR_ID_HEADER);
            io.note(Note::refused(
                Act::DeliverAvatarId,
                reason,
                "the signed Avatar-id did not verify: removed before UE-B sees it",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:p2a\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sctp-port:5000\r\na=max-message-size:65536\r\na=dcmap:1100 label=\"avatar-app\";subprotocol=\"avatar-json\"\r\na=dcsa:1100 avatar-id:qbranch-agent\r\na=dcsa:1100 avatar-app:avatar-call\r\na=dcsa:1100 ue-cert-fingerprint:sha-256 01:02\r\n";

    #[test]
    fn the_offer_names_the_avatar_in_dcsa_attributes() {
        let o = AvatarOffer::of(OFFER.as_bytes()).unwrap();
        assert_eq!(o.avatar_id, "qbranch-agent");
        assert_eq!(o.app_id, "avatar-call");
        assert_eq!(o.fingerprint, "sha-256 01:02");
        let without = OFFER.replace("a=dcsa:1100 avatar-id:qbranch-agent\r\n", "");
        assert_eq!(AvatarOffer::of(without.as_bytes()), None);
    }

    #[test]
    fn verdicts_follow_what_the_as_signed() {
        let s = Signed {
            avatar: SignedAvatarId {
                signed: "a.b.c".into(),
                avatar_id: "qbranch-agent".into(),
                app_id: "avatar-call".into(),
                impu: "sip:+1@a".into(),
            },
            identity: String::new(),
            fingerprint: "sha-256 01".into(),
            to_caller: None,
            to_callee: None,
            anchored: false,
        };
        let check = |app: &str| AvatarIdCheck {
            signed_avatar_id: "a.b.c".into(),
            app_id: app.into(),
        };
        let v = verdict(Some(&s), &check("avatar-call"));
        assert!(v.valid);
        assert_eq!(v.ue_cert_fingerprint.as_deref(), Some("sha-256 01"));
        let v = verdict(Some(&s), &check("other"));
        assert_eq!(v.reason, Some(Reason::ClaimMismatch));
        let v = verdict(None, &check("avatar-call"));
        assert_eq!(v.reason, Some(Reason::SignatureInvalid));
    }
}
