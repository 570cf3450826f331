//! The originating driver (steps 2–6 of §6.1.2, §6.2.2.2, §6.3.2, §6.4.2.1) on one initial
//! INVITE: who calls whom, what the flow presents, the STI-AS's signatures over Ms, the headers
//! added. Decisions are in [`crate::orig`] and the flow.

use proto::sip::Request;
use proto::trace::{Act, Note};
use stir::Attest;
use stir::ms::{SIGNING_PATH, SigningRequestBody, SigningResponseBody};

use crate::attest::{self, Trunk};
use crate::flows::{Flow, Origination};
use crate::io::Io;
use crate::orig::{self, Parties, Presented};

/// Key issue #1 at the originating side: returns a challenge (a `WWW-Authenticate` value) when
/// the INVITE is to be answered 401 instead (solution 4's alternative authorisation).
pub(super) async fn run(
    io: &Io<'_>,
    flow: &dyn Flow,
    invite: &mut Request,
    sti_as_host: &str,
    trunks: &[Trunk],
) -> Option<String> {
    let mut parties = match orig::parties(invite) {
        Ok(p) => p,
        Err(refusal) => {
            io.note(Note::refused(
                Act::AddIdentity,
                refusal.reason,
                refusal.label,
            ));
            return None;
        }
    };
    let presented = match flow.present(io, invite, &parties.caller_tn).await {
        Origination::Challenge(value) => return Some(value),
        Origination::Nothing => None,
        Origination::Present { presented, as_id } => {
            if let Some(id) = as_id {
                parties.assert_as(id);
            }
            Some(*presented)
        }
    };
    let attestation = attest::decide(invite, &parties.caller_tn, trunks);
    attest::consume(invite);
    io.note(Note::done(
        Act::Attest,
        attestation.label(&parties.caller_tn),
    ));
    let identities = sign(
        io,
        sti_as_host,
        &parties,
        attestation.level,
        presented.as_ref(),
    )
    .await;
    if presented.is_some()
        && let Some((id, text)) = flow.signing_choice()
    {
        io.choice(id, text);
    }
    orig::apply(invite, &parties.caller, &identities, presented.as_ref());
    io.note(Note::done(
        Act::AddIdentity,
        format!(
            "add P-Asserted-Identity and {} Identity header(s); route on",
            identities.len()
        ),
    ));
    None
}

/// Step 4: one Ms signing request per PASSporT; the Identity headers the STI-AS returned. A
/// PASSporT the STI-AS does not sign is left out (noted).
async fn sign(
    io: &Io<'_>,
    sti_as_host: &str,
    parties: &Parties,
    level: Attest,
    presented: Option<&Presented>,
) -> Vec<String> {
    let requests = orig::signing_requests(
        &parties.caller_tn,
        &parties.callee_tn,
        io.now(),
        level,
        presented,
    );
    let mut identities = Vec::new();
    for request in requests {
        let ppt = request.ppt.clone().unwrap_or_else(|| "shaken".into());
        let body = SigningRequestBody {
            signing_request: request,
        };
        match io
            .ms_post::<_, SigningResponseBody>(sti_as_host, SIGNING_PATH, &body)
            .await
        {
            Ok(answer) => identities.push(answer.signing_response.identity_header),
            Err(e) => io.note(Note::refused(
                Act::RequestSigning,
                e.reason(),
                format!("STI-AS refused to sign {ppt} ({e}): sent without it"),
            )),
        }
    }
    identities
}
