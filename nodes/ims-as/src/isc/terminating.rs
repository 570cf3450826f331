//! The terminating driver (§6.2.2.2 steps 8–11) on one initial INVITE: whether to verify (the
//! flow), the STI-VS over Ms, what the flow notes of the result, delivery. Decisions are in
//! [`crate::term`] and the flow.

use proto::sip::Request;
use proto::trace::{Act, Note, Reason};
use stir::ms::{
    VERIFICATION_PATH, VerificationRequestBody, VerificationResponse, VerificationResponseBody,
};

use crate::flows::{Flow, Verify};
use crate::io::Io;
use crate::term;

/// Key issue #1 at the terminating side.
pub(super) async fn run(io: &Io<'_>, flow: &dyn Flow, invite: &mut Request, sti_vs_host: &str) {
    if flow.verify(io, invite).await == Verify::Skip {
        let delivery = term::apply(invite, None);
        io.note(Note::done(Act::Deliver, delivery.label_unverified()));
        return;
    }
    let response = verify(io, sti_vs_host, invite).await;
    flow.verified(io, response.as_ref());
    let delivery = term::apply(invite, response.as_ref());
    if let Some(call_info) = &delivery.call_info {
        io.note(call_info.note());
    }
    io.note(Note::done(Act::Deliver, delivery.label()));
    if !delivery.removed.is_empty() {
        io.choice(
            crate::choices::TERM_DISPLAY,
            "unverified RCD is removed before the callee sees it",
        );
    }
}

/// Steps 8–9: the STI-VS's answer for the Identity headers (`None`: nothing verified, noted).
async fn verify(io: &Io<'_>, sti_vs_host: &str, invite: &Request) -> Option<VerificationResponse> {
    let Some(request) = term::verification_request(invite, io.now()) else {
        io.note(Note::refused(
            Act::RequestVerification,
            Reason::MissingIdentity,
            "no Identity header: nothing to verify",
        ));
        return None;
    };
    let body = VerificationRequestBody {
        verification_request: request,
    };
    match io
        .ms_post::<_, VerificationResponseBody>(sti_vs_host, VERIFICATION_PATH, &body)
        .await
    {
        Ok(answer) => Some(answer.verification_response),
        Err(e) => {
            io.note(Note::refused(
                Act::RequestVerification,
                e.reason(),
                format!("STI-VS unavailable ({e}): delivered without verification"),
            ));
            None
        }
    }
}
