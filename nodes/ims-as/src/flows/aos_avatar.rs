//! Solution #8 (TR 33.790 §6.8.2): avatar data signed like RCD, in both directions.
//!
//! - Originating, on the INVITE (steps 1–5): the caller may name an Avatar ID
//!   ([`AVATAR_ID_HEADER`], choice `8-avatar-id-header`). The AS asks its operator's AOS whether
//!   the caller may use avatars and that one, naming the callee for step 21's tuple
//!   ([`lookup`]), and presents what the AOS answers as RFC 9795 RCD: the avatar's name as
//!   `nam`, its object URL as the icon `icn`, signed by the STI-AS in an `rcd` PASSporT whose
//!   `rcdi` covers the object's bytes (choice `8-avatar-passport`). A refusal leaves only the
//!   caller's number signed; the call goes on without an avatar.
//! - Terminating, on the callee's 200 (steps 11–16): the same for the callee, with its AOS and
//!   the T-STI-AS, into the answer: P-Asserted-Identity for the callee and Identity headers
//!   whose `orig` is the callee (STIR on responses, choice `8-response-identity`).
//! - Originating, on that 200 (steps 17–20): the O-STI-VS verifies the answer's Identity
//!   headers before the caller sees it; `verstat` goes on the answer's P-Asserted-Identity and
//!   the callee's `rcd` stays only if it verified.
//!
//! The terminating INVITE path is solution 2's: the T-STI-VS verifies the `rcd` PASSporT (and
//! fetches the object to check `rcdi`), and unverified RCD is removed before the callee sees it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::BoxFuture;
use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{AOS_LOOKUP_PATH, AvatarData, AvatarLookup, Problem};
use stir::ms::{
    SIGNING_PATH, SigningRequestBody, SigningResponseBody, VERIFICATION_PATH,
    VerificationRequestBody, VerificationResponseBody,
};
use stir::{Attest, Rcd};

use super::{Flow, Origination, Refusal, Side};
use crate::io::Io;
use crate::orig::{self, Presented};
use crate::{Error, term};

/// The header a UE names its Avatar ID in, in its INVITE (step 1) or its 200 (step 11). Not a
/// standard header: the TR leaves the carrier open (NOTE 2), so the testbed uses a private
/// header of its own, consumed by the AS that checks it.
pub const AVATAR_ID_HEADER: &str = "P-Avatar-ID";

/// The choice recorded when an avatar is signed.
const PASSPORT_CHOICE: (&str, &str) = (
    "8-avatar-passport",
    "avatar data is signed as RFC 9795 RCD in an rcd PASSporT: nam = the avatar's name, icn = \
     its AOS object URL, rcdi covering the object's bytes",
);

/// Solution #8's operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AosAvatar;

/// Avatar data from the AOS, signed like RCD in both directions (solution 8).
pub fn aos_avatar() -> Arc<dyn Flow> {
    Arc::new(AosAvatar)
}

impl Flow for AosAvatar {
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        invite: &'a mut Request,
        _caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(async move {
            let named = take_avatar_id(&mut invite.headers);
            let caller = orig::caller(invite).and_then(|c| impu_of(&c.uri));
            let callee = impu_of(&invite.uri.to_string());
            let call_id = sipmsg::first(&invite.headers, "Call-ID").unwrap_or_default();
            let found = match (caller, callee) {
                (Some(impu), Some(peer)) => {
                    let asked = AvatarLookup {
                        impu,
                        avatar_id: named,
                        peer_impu: peer,
                        call_id: call_id.to_owned(),
                    };
                    lookup(io, &asked).await
                }
                _ => Err(Refusal::new(
                    Reason::MissingIdentity,
                    "caller or callee has no IMPU: no avatar looked up",
                )),
            };
            let data = io.conclude(Act::LookupAvatar, found);
            Origination::found(data.as_ref().map(presented))
        })
    }

    fn signing_choice(&self) -> Option<(&'static str, &'static str)> {
        Some(PASSPORT_CHOICE)
    }

    fn answers(&self) -> bool {
        true
    }

    fn answer<'a>(
        &'a self,
        io: &'a Io<'a>,
        side: Side,
        invite: &'a Request,
        response: &'a mut Response,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Choice `8-answer-in-200`: the avatar rides in the 200 (a 180 is not reliable
            // without 100rel, and the dialog's answer is what the caller keeps).
            let in_dialog =
                sipmsg::first(&invite.headers, "To").is_some_and(|t| t.contains(";tag="));
            if in_dialog || !(200..300).contains(&response.status_code.code()) {
                return;
            }
            match side {
                Side::Terminating => sign_answer(io, invite, response).await,
                Side::Originating => verify_answer(io, invite, response).await,
            }
        })
    }
}

/// The Avatar ID a UE named, removed from the message (the AS checks it; only what is signed
/// travels on).
fn take_avatar_id(headers: &mut sipmsg::Headers) -> Option<String> {
    let named = sipmsg::first(headers, AVATAR_ID_HEADER)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    sipmsg::remove(headers, AVATAR_ID_HEADER);
    named
}

/// The IMPU of a SIP URI (`sip:user@host`, parameters and brackets dropped).
pub(crate) fn impu_of(uri: &str) -> Option<String> {
    let uri = NameAddr::parse(uri).map_or_else(|| uri.to_owned(), |n| n.uri);
    let bare = uri.split(';').next().unwrap_or_default().trim();
    (bare.starts_with("sip:") && bare.contains('@')).then(|| bare.to_owned())
}

/// Steps 2 and 12: the AOS's answer, or why there is no avatar (its typed problem, or the AOS
/// unreachable).
async fn lookup(io: &Io<'_>, asked: &AvatarLookup) -> Result<(AvatarData, String), Refusal> {
    let named = asked
        .avatar_id
        .as_deref()
        .map_or("no Avatar ID named".to_owned(), |id| format!("named {id}"));
    match io.aos_post::<_, AvatarData>(AOS_LOOKUP_PATH, asked).await {
        Ok(data) => {
            let label = format!(
                "avatar of {} ({named}): {} \"{}\" at {}, policy {}",
                asked.impu, data.avatar_id, data.name, data.object_url, data.policy
            );
            Ok((data, label))
        }
        Err(e) => Err(refusal(&e, &asked.impu, &named)),
    }
}

/// Why the AOS gave no avatar: its problem's reason when it answered one, else unreachable.
fn refusal(e: &Error, impu: &str, named: &str) -> Refusal {
    if let Error::Status { body, .. } = e
        && let Ok(problem) = serde_json::from_str::<Problem>(body)
    {
        return Refusal::new(
            problem.reason,
            format!(
                "no avatar for {impu} ({named}): {}; the call goes on without one",
                problem.detail
            ),
        );
    }
    Refusal::unavailable("AOS", e, ": the call goes on without an avatar")
}

/// What is signed for an avatar: RFC 9795 RCD with the avatar's name and object URL.
fn presented(data: &AvatarData) -> Presented {
    Presented {
        rcd: Rcd {
            nam: Some(data.name.clone()),
            icn: Some(data.object_url.clone()),
            ..Rcd::default()
        },
        rcdi: Some(BTreeMap::from([("/icn".to_owned(), data.digest.clone())])),
        crn: None,
        in_shaken: false,
    }
}

/// Steps 12–16: the callee's avatar looked up, signed by the T-STI-AS and added to the 200 with
/// a P-Asserted-Identity for the callee.
async fn sign_answer(io: &Io<'_>, invite: &Request, response: &mut Response) {
    let named = take_avatar_id(&mut response.headers);
    let Some(hosts) = io.avatars() else { return };
    let callee = impu_of(&invite.uri.to_string());
    let caller = orig::caller(invite).and_then(|c| impu_of(&c.uri));
    let (Some(callee), Some(caller)) = (callee, caller) else {
        io.note(Note::refused(
            Act::LookupAvatar,
            Reason::MissingIdentity,
            "caller or callee has no IMPU: no avatar looked up for the answer",
        ));
        return;
    };
    let call_id = sipmsg::first(&response.headers, "Call-ID").unwrap_or_default();
    let asked = AvatarLookup {
        impu: callee.clone(),
        avatar_id: named,
        peer_impu: caller,
        call_id: call_id.to_owned(),
    };
    let found = lookup(io, &asked).await;
    let Some(data) = io.conclude(Act::LookupAvatar, found) else {
        return;
    };
    let (Some(callee_tn), Some(caller_tn)) = (
        NameAddr::parse(&callee).and_then(|n| n.tn()),
        orig::caller(invite).and_then(|c| c.tn()),
    ) else {
        return;
    };
    let presented = presented(&data);
    let requests = orig::signing_requests(
        &callee_tn,
        &caller_tn,
        io.now(),
        Attest::A,
        Some(&presented),
    );
    let Some(identities) = sign_all(io, &hosts.answer_sti_host, requests).await else {
        return;
    };
    let pai = NameAddr {
        display: Some(data.name.clone()),
        uri: format!("{callee};user=phone"),
        params: String::new(),
    };
    sipmsg::set(&mut response.headers, "P-Asserted-Identity", pai.render());
    for identity in &identities {
        sipmsg::push(&mut response.headers, "Identity", identity.clone());
    }
    io.choice(PASSPORT_CHOICE.0, PASSPORT_CHOICE.1);
    io.choice(
        "8-response-identity",
        "the callee's avatar is signed into the 200 (Identity in a response, orig = the callee)",
    );
    io.note(Note::done(
        Act::SignAnswer,
        format!(
            "assert the callee {callee_tn} with avatar \"{}\" and add {} Identity header(s) to the {}",
            data.name,
            identities.len(),
            response.status_code.code()
        ),
    ));
}

/// Steps 13–15: the answer's PASSporTs signed by the T-STI-AS over Ms; `None` (noted) when one
/// is not signed.
async fn sign_all(
    io: &Io<'_>,
    sti_as: &str,
    requests: Vec<stir::ms::SigningRequest>,
) -> Option<Vec<String>> {
    let mut identities = Vec::new();
    for request in requests {
        let body = SigningRequestBody {
            signing_request: request,
        };
        match io
            .ms_post::<_, SigningResponseBody>(sti_as, SIGNING_PATH, &body)
            .await
        {
            Ok(answer) => identities.push(answer.signing_response.identity_header),
            Err(e) => {
                io.note(Note::refused(
                    Act::SignAnswer,
                    e.reason(),
                    format!("STI-AS did not sign the answer ({e}): sent without an avatar"),
                ));
                return None;
            }
        }
    }
    Some(identities)
}

/// Steps 17–20: the O-STI-VS verifies the answer's Identity headers; `verstat` and the callee's
/// avatar (only if verified) are delivered to the caller.
async fn verify_answer(io: &Io<'_>, invite: &Request, response: &mut Response) {
    let Some(hosts) = io.avatars() else { return };
    let caller_tn = orig::caller(invite).and_then(|c| c.tn());
    let callee_tn = orig::callee_tn(invite);
    // The answer's `orig` is the callee, its `dest` the caller.
    let Some(request) = term::identity_request(&response.headers, callee_tn, caller_tn, io.now())
    else {
        return;
    };
    let body = VerificationRequestBody {
        verification_request: request,
    };
    let verified = match io
        .ms_post::<_, VerificationResponseBody>(&hosts.answer_sti_host, VERIFICATION_PATH, &body)
        .await
    {
        Ok(answer) => Some(answer.verification_response),
        Err(e) => {
            io.note(Note::refused(
                Act::RequestVerification,
                e.reason(),
                format!("STI-VS unavailable ({e}): the answer goes on unverified"),
            ));
            None
        }
    };
    let delivery = term::apply_answer(&mut response.headers, verified.as_ref());
    let avatar = if delivery.removed.iter().any(|r| r.contains("ppt=rcd")) {
        "the callee's avatar removed"
    } else if delivery.name.is_some() {
        "the callee's verified avatar kept"
    } else {
        "no avatar"
    };
    io.note(Note::done(
        Act::DeliverAnswer,
        format!(
            "deliver the {} with verstat={}: {avatar}",
            response.status_code.code(),
            delivery.verstat
        ),
    ));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn impus_drop_brackets_and_parameters() {
        assert_eq!(
            impu_of("sip:+12155551001@ims.b;user=phone").as_deref(),
            Some("sip:+12155551001@ims.b")
        );
        assert_eq!(
            impu_of("\"Q\" <sip:+1@ims.a;user=phone;verstat=TN-Validation-Passed>").as_deref(),
            Some("sip:+1@ims.a")
        );
        assert_eq!(impu_of("tel:+12155551001"), None);
    }

    #[test]
    fn the_avatar_is_presented_as_rcd_with_its_digest() {
        let data = AvatarData {
            avatar_id: "owl".into(),
            name: "Owl".into(),
            object_url: "https://aos.b/aos/v1/objects/owl".into(),
            digest: "sha256-AAAA".into(),
            policy: "once".into(),
        };
        let p = presented(&data);
        assert_eq!(p.rcd.nam.as_deref(), Some("Owl"));
        assert_eq!(
            p.rcd.icn.as_deref(),
            Some("https://aos.b/aos/v1/objects/owl")
        );
        assert_eq!(p.rcdi.unwrap()["/icn"], "sha256-AAAA");
        assert!(!p.in_shaken);
    }

    #[test]
    fn an_aos_problem_gives_its_reason() {
        let body = serde_json::to_string(&Problem {
            reason: Reason::NotEntitled,
            detail: "not authorised to use avatars".into(),
        })
        .unwrap();
        let e = Error::Status {
            url: "https://aos/aos/v1/lookups".into(),
            status: 403,
            body,
        };
        let r = refusal(&e, "sip:+1@a", "no Avatar ID named");
        assert_eq!(r.reason, Reason::NotEntitled);
        assert!(r.label.contains("not authorised"), "{}", r.label);
        let e = Error::Unconfigured { peer: "AOS" };
        assert_eq!(refusal(&e, "x", "y").reason, Reason::Unreachable);
    }

    #[test]
    fn the_avatar_id_header_is_consumed() {
        let text = "INVITE sip:b@ims.b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@ims.a>;tag=1\r\nTo: <sip:b@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nP-Avatar-ID: owl \r\nContent-Length: 0\r\n\r\n";
        let mut r = Request::try_from(text).unwrap();
        assert_eq!(take_avatar_id(&mut r.headers).as_deref(), Some("owl"));
        assert!(sipmsg::first(&r.headers, AVATAR_ID_HEADER).is_none());
        assert_eq!(take_avatar_id(&mut r.headers), None);
    }
}
