//! Solution 5 (TR 33.790 §6.5): the UE signs a token binding the Avatar ID it chose and sends
//! it to its MF over the application data channel; the XR AS checks the Avatar ID is in the UE's
//! list; the ID reaches the MF through the DCSF; the MF downloads the base avatar model from the
//! BAR with the token, and the BAR verifies the token against the owner's UE certificate and the
//! Avatar ID before it answers (Figure 6.5.2-1). The threats of §5.2.2 as variants: an Avatar ID
//! of another UE, and tokens that do not vouch for the request.

use proto::trace::{Act, Reason};
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AVATAR_MEDIA_STREAM, DCSF_AVATAR_PATH, MF_AVATAR_PATH, MODEL_PATH_PREFIX,
    SELECT_PATH,
};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{AvatarPlan, Script, TokenAttack};
use crate::scenario::{
    Expect, Figure, Require, Step, act, dc, dc_http, hop, http, http_response, jws, jws_claim,
};
use crate::solution::{KI2, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{DcSetup, Setup, family};

/// UE-A's avatar (fixtures/avatars).
const AGENT: &str = "qbranch-agent";
/// UE-A's other avatar.
const CAT: &str = "qbranch-cat";
/// UE-B's avatar.
const OWL: &str = "owl";
/// The `typ` of an avatar token.
const TOKEN_TYP: &str = "avatar+jwt";

/// Solution 5 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 5,
    key_issue: KI2,
    clause: "6.5",
    title: "UE-signed avatar token, BAR download",
    short: "avatar token",
    figures: &["6.5.2-1"],
    needs: &[family::AVATAR, family::DC_NETWORK],
    choices: &[
        XR_TRANSPORT,
        TOKEN_TIMING,
        TOKEN_FORMAT,
        TOKEN_SESSION,
        XR_LIST,
        DCSF_RELAY,
        BAR_INTERFACE,
        BAR_CERTIFICATE,
        XR_TOKEN,
    ],
    as_flow: ims_as::flows::caller_number,
    variants,
};

/// `avatar-xr-transport`.
pub const XR_TRANSPORT: Choice = Choice {
    id: "avatar-xr-transport",
    clause: "6.5.2 step 0b; 6.6.2.1–6.6.2.3 step 2 (no protocol stated)",
    question: "How the UE sends its Avatar ID (solution 5) or its rendering negotiation and attestation (solution 6) to the XR AS.",
    answer: "HTTP/1.1 over the UE's bootstrap data channel (`POST /xr/v1/avatar`, `POST /xr/v1/rendering`, JSON). The MF terminating the channel relays the request to the XR AS over HTTPS with mutual TLS, adding the UE's number and the call's Call-ID, and returns the XR AS's answer on the channel.",
};

/// `avatar-token-timing`.
pub const TOKEN_TIMING: Choice = Choice {
    id: "avatar-token-timing",
    clause: "6.5.2 step 0a, Editor's Note (\"before Step 1\")",
    question: "When the UE sends its token to the MF/MRF.",
    answer: "Yes, before step 1: the UE sends it on its application data channel as soon as it chose the avatar, before it names the Avatar ID to the XR AS (step 0b). The MF accepts a token until the Avatar ID reaches it (steps 3–4, the latest point the TR allows); with none by then it refuses the download without asking the BAR (5:token-missing).",
};

/// `avatar-token-format`.
pub const TOKEN_FORMAT: Choice = Choice {
    id: "avatar-token-format",
    clause: "6.5.2 step 0a, Editor's Note (\"details of token handling\")",
    question: "What the token is.",
    answer: "A compact JWS (RFC 7515), ES256 with the UE's key from the fixture UE PKI, header {\"alg\":\"ES256\",\"typ\":\"avatar+jwt\"}, claims avatar_id, sub (the UE's IMPU), call_id, iat, exp (iat + 300 s) and jti, canonical JSON. It travels as a JSON message {\"type\":\"avatar-token\",\"token\":…} on the application data channel.",
};

/// `avatar-token-session`.
pub const TOKEN_SESSION: Choice = Choice {
    id: "avatar-token-session",
    clause: "6.5.2 Editor's Note (\"whether the token should contain the session related information\")",
    question: "Whether the token is bound to the session.",
    answer: "Yes: its call_id claim is the SIP Call-ID of the call it was made for. The MF downloads for the session it serves (the `session` query parameter) and the BAR refuses a token made for another session (replayed).",
};

/// `avatar-xr-list`.
pub const XR_LIST: Choice = Choice {
    id: "avatar-xr-list",
    clause: "6.5.2 step 1, Editor's Note (\"how the XR AS determines\")",
    question: "How the XR AS knows a UE's Avatar ID list.",
    answer: "It holds the avatar provider's catalogue (fixtures/avatars/avatars.toml): each avatar's owner by IMPU; a UE's list is the avatars its IMPU owns, found by the number the MF names.",
};

/// `avatar-dcsf-relay`.
pub const DCSF_RELAY: Choice = Choice {
    id: "avatar-dcsf-relay",
    clause: "6.5.2 steps 3, 4 (no protocol stated)",
    question: "How the XR AS sends the Avatar ID to the MF/MRF via the DCSF.",
    answer: "Two HTTPS requests with mutual TLS: XR AS → DCSF `POST /dcsf/v1/avatar`, DCSF → MF `POST /mf/v1/avatar`, each with the UE's number, the Call-ID and the Avatar ID; each answer travels back the same way once the MF has downloaded (or been refused) the model.",
};

/// `avatar-bar-interface`.
pub const BAR_INTERFACE: Choice = Choice {
    id: "avatar-bar-interface",
    clause: "6.5.2 step 5, Editor's Notes (direct MF–BAR interface; BAR outside the IMS)",
    question: "How the MF/MRF asks the BAR, and whether directly.",
    answer: "Directly, over HTTPS with mutual TLS: `GET /bar/v1/models/{avatar_id}?session={call_id}` with `Authorization: Bearer <token>` (RFC 6750). The BAR answers the model as JSON, or a typed problem (401, 403, 404). The BAR is outside the operators' networks (avatars.example).",
};

/// `avatar-bar-certificate`.
pub const BAR_CERTIFICATE: Choice = Choice {
    id: "avatar-bar-certificate",
    clause: "6.5.2 step 6 (\"pre-configured or transmitted to the BAR\")",
    question: "Which certificate the BAR verifies the token with.",
    answer: "Pre-configured: the BAR holds each avatar's owner and the owner's UE certificate (fixtures/pki/ue/<ue>.pem), checked to chain to the UE CA. The token must be signed by the avatar's owner (sub), for the Avatar ID requested (avatar_id), for this session (call_id), and not expired.",
};

/// `avatar-xr-token`.
pub const XR_TOKEN: Choice = Choice {
    id: "avatar-xr-token",
    clause: "6.5.2 Editor's Note (\"whether the token needs to be verified by XR AS\")",
    question: "Whether the XR AS verifies the token.",
    answer: "No: the XR AS never sees it. The token goes from the UE to the MF and from the MF to the BAR, which verifies it; the XR AS checks only that the Avatar ID is the UE's.",
};

/// Key issue #2's threats (§5.2.2) this solution shows.
const OTHERS_ID: Threat = Threat {
    clause: "5.2.2",
    text: "a malicious UE uses an Avatar ID belonging to another UE",
    ids: &[ThreatId::ForgedAvatarId],
};
const FORGED: Threat = Threat {
    clause: "5.2.2",
    text: "avatar objects used to impersonate: a token that does not vouch for the download",
    ids: &[ThreatId::AvatarImpersonation],
};

/// How far the flow gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The model is downloaded and rendered.
    Rendered,
    /// The XR AS refuses the Avatar ID (steps 1–2).
    NotListed,
    /// The BAR refuses the token for this reason (steps 6–7).
    TokenRefused(Reason),
    /// No token reached the MF before the Avatar ID: the MF refuses (step 5 not taken).
    NoToken,
}

/// Steps 0a and 0b: the token over the application channel, the Avatar ID to the XR AS.
fn choosing(token_for: Option<&'static str>, selected: &'static str) -> [Step; 2] {
    let token_sent = token_for.is_some();
    let token_for = token_for.unwrap_or(selected);
    let mut step0a = Step::new(
        "0a",
        ("UE1", "MF/MRF"),
        "UE-A chooses its Avatar ID, signs the avatar token (JWS, ES256, UE key) and sends it to its MF on the application data channel",
        vec![
            act(&[UE_A], Act::ChooseAvatar),
            act(&[UE_A], Act::SignAvatarToken),
            jws(&[UE_A], TOKEN_TYP).with(Require::JsonIs("/avatar_id", token_for)),
            hop(&[UE_A], &[MF_O], dc(AVATAR_APP_STREAM, "avatar-token")).with(jws_claim(
                "/token",
                "/avatar_id",
                token_for,
            )),
            act(&[MF_O], Act::HoldAvatarToken),
        ],
    );
    if !token_sent {
        step0a = step0a
            .not_taken("the UE sends no token before its Avatar ID (choice avatar-token-timing)");
    }
    [
        step0a,
        Step::new(
            "0b",
            ("UE1", "XR AS"),
            "UE-A names the Avatar ID to the XR AS: HTTP over its bootstrap data channel, relayed by the MF",
            vec![
                hop(&[UE_A], &[MF_O], dc_http("POST", SELECT_PATH))
                    .with(Require::JsonIs("/avatar_id", selected)),
                hop(&[MF_O], &[XR_AS_O], http("POST", SELECT_PATH))
                    .with(Require::JsonIs("/avatar_id", selected)),
            ],
        ),
    ]
}

/// Steps 1 and 2: the XR AS checks the UE's list, and answers an error when it is not there.
fn listing(listed: bool) -> [Step; 2] {
    let check = if listed {
        act(&[XR_AS_O], Act::CheckAvatarList)
    } else {
        act(&[XR_AS_O], Act::CheckAvatarList).refused(Reason::NotEntitled)
    };
    let step2 = Step::new(
        "2",
        ("XR AS", "UE1"),
        "an Avatar ID not in the UE's list is answered with an error, back over the bootstrap data channel",
        vec![
            hop(&[XR_AS_O], &[MF_O], http_response("POST", SELECT_PATH))
                .with(Require::Status(403))
                .with(Require::JsonIs("/reason", "not-entitled")),
            hop(&[MF_O], &[UE_A], Expect::DcHttpResponse)
                .with(Require::Status(403))
                .with(Require::JsonIs("/reason", "not-entitled")),
        ],
    );
    [
        Step::new(
            "1",
            ("XR AS", "(internal)"),
            "the XR AS checks that the Avatar ID is in the UE's avatar list",
            vec![check],
        ),
        if listed {
            step2.not_taken("the Avatar ID is in the UE's list: no error")
        } else {
            step2
        },
    ]
}

/// Steps 3–4 and 5: the Avatar ID to the MF via the DCSF, the MF's request to the BAR.
fn downloading(selected: &'static str) -> [Step; 2] {
    [
        Step::new(
            "Steps 3, 4",
            ("XR AS", "DCSF → MF/MRF"),
            "the XR AS sends the Avatar ID to the MF via the DCSF",
            vec![
                act(&[XR_AS_O], Act::ForwardAvatarId),
                hop(&[XR_AS_O], &[DCSF_O], http("POST", DCSF_AVATAR_PATH))
                    .with(Require::JsonIs("/avatar_id", selected)),
                act(&[DCSF_O], Act::ForwardAvatarId),
                hop(&[DCSF_O], &[MF_O], http("POST", MF_AVATAR_PATH))
                    .with(Require::JsonIs("/avatar_id", selected)),
            ],
        ),
        Step::new(
            "5",
            ("MF/MRF", "BAR"),
            "the MF asks the BAR for the base avatar model with the token and the Avatar ID",
            vec![
                hop(&[MF_O], &[BAR], http("GET", MODEL_PATH_PREFIX))
                    .with(Require::HeaderHas("Authorization", "Bearer ")),
            ],
        ),
    ]
}

/// Steps 6 and 7: the BAR verifies and answers the model or an error.
fn verifying(token_for: &'static str, refused: Option<Reason>) -> [Step; 2] {
    let (verify, answer, outcome) = match refused {
        None => (
            act(&[BAR], Act::VerifyAvatarToken),
            hop(&[BAR], &[MF_O], http_response("GET", MODEL_PATH_PREFIX))
                .with(Require::Status(200))
                .with(Require::Json("/outline")),
            act(&[MF_O], Act::DownloadAvatarModel),
        ),
        Some(r) => (
            act(&[BAR], Act::VerifyAvatarToken).refused(r),
            hop(&[BAR], &[MF_O], http_response("GET", MODEL_PATH_PREFIX))
                .with(Require::Status(403))
                .with(Require::Json("/reason")),
            act(&[MF_O], Act::DownloadAvatarModel).refused(r),
        ),
    };
    [
        Step::new(
            "6",
            ("BAR", "(internal)"),
            "the BAR verifies the token's signature with the owner's UE certificate and that its Avatar ID (and session) are the request's",
            vec![
                jws(&[BAR], TOKEN_TYP).with(Require::JsonIs("/avatar_id", token_for)),
                verify,
            ],
        ),
        Step::new(
            "7",
            ("BAR", "MF/MRF"),
            "the BAR answers the base avatar model, or an error code when the token did not verify",
            vec![answer, outcome],
        ),
    ]
}

/// Step 8: the MF renders from UE-A's facial points; the frames reach UE-B (video stand-in).
fn rendering() -> Step {
    Step::new(
        "8",
        ("(not stated)", "(not stated)"),
        "the procedure continues: UE-A's facial points reach the MF, which renders the avatar and sends the frames to UE-B (and back to UE-A)",
        vec![
            hop(&[UE_A], &[MF_O], dc(AVATAR_APP_STREAM, "facial-points")),
            act(&[MF_O], Act::RenderAvatar),
            hop(&[MF_O], &[UE_B], dc(AVATAR_MEDIA_STREAM, "avatar-frame")),
            act(&[UE_B], Act::ShowAvatar),
        ],
    )
}

/// The figure for a variant: the token names `token_for`, UE-A names `selected`.
fn figure(outcome: Outcome, token_for: &'static str, selected: &'static str) -> Figure {
    let sent = (outcome != Outcome::NoToken).then_some(token_for);
    let mut steps = choosing(sent, selected).to_vec();
    steps.extend(listing(outcome != Outcome::NotListed));
    steps.extend(downloading(selected));
    let refused = match outcome {
        Outcome::TokenRefused(r) => Some(r),
        _ => None,
    };
    steps.extend(verifying(token_for, refused));
    steps.push(rendering());
    let figure = Figure {
        clause: "6.5.2",
        figure: "6.5.2-1",
        title: "authorisation procedure for avatar communication",
        steps,
    };
    match outcome {
        Outcome::Rendered => figure,
        Outcome::NotListed => figure.prevent(&["Steps 3, 4", "5", "6", "7", "8"], "1"),
        Outcome::TokenRefused(_) => figure.prevent(&["8"], "6"),
        Outcome::NoToken => figure.prevent(&["5", "6", "7", "8"], "Steps 3, 4"),
    }
}

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &choices::DC_SDP_ANSWER,
        &choices::DC_BOOTSTRAP_ANCHOR,
        &choices::DC_P2A_REINVITE,
        &choices::AVATAR_VIDEO,
        &XR_TRANSPORT,
        &TOKEN_TIMING,
        &TOKEN_FORMAT,
        &XR_LIST,
        &DCSF_RELAY,
        &BAR_INTERFACE,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

fn setup() -> Setup {
    Setup {
        dc: Some(DcSetup::Bootstrap),
        ..Setup::default()
    }
}

fn script(token_for: &'static str, select: &'static str, attack: TokenAttack) -> Script {
    Script::Avatar(AvatarPlan::Token {
        token_for,
        select,
        attack,
    })
}

/// The model downloaded, rendered and shown.
fn shown(avatar: &'static str) -> Vec<Check> {
    vec![
        Check::AvatarAnswer(200),
        Check::AvatarShown {
            avatar_id: avatar,
            frames: 3,
        },
        Check::Asked {
            from: MF_O,
            to: BAR,
            yes: true,
        },
    ]
}

/// Refused for `reason` by `by` (`act`): nothing rendered.
fn refused(by: &'static str, act: Act, reason: Reason, asked_bar: bool) -> Vec<Check> {
    vec![
        Check::AvatarAnswer(403),
        Check::NoAvatarShown,
        Check::Refusal { by, act, reason },
        Check::Asked {
            from: MF_O,
            to: BAR,
            yes: asked_bar,
        },
    ]
}

fn variant(
    id: &'static str,
    title: &'static str,
    threat: Option<Threat>,
    figure: Figure,
    extra: &[&'static Choice],
    script: Script,
    checks: Vec<Check>,
) -> Variant {
    Variant {
        solution: 5,
        id,
        title,
        threat,
        figure,
        choices: with(extra),
        setup: setup(),
        script,
        checks,
    }
}

/// Every variant of solution 5.
pub fn variants() -> Vec<Variant> {
    let token = |id, title, token_for, attack, reason| {
        let mut checks = refused(BAR, Act::VerifyAvatarToken, reason, true);
        checks.push(Check::Refusal {
            by: MF_O,
            act: Act::DownloadAvatarModel,
            reason,
        });
        variant(
            id,
            title,
            Some(FORGED),
            figure(Outcome::TokenRefused(reason), token_for, AGENT),
            &[&BAR_CERTIFICATE, &TOKEN_SESSION],
            script(token_for, AGENT, attack),
            checks,
        )
    };
    vec![
        variant(
            "happy",
            "UE-A signs a token for its avatar qbranch-agent and sends it to the MF; the XR AS finds the ID in UE-A's list; the MF downloads the model from the BAR, which verifies the token; the MF renders UE-A's facial points and UE-B sees the avatar",
            None,
            figure(Outcome::Rendered, AGENT, AGENT),
            &[&BAR_CERTIFICATE, &TOKEN_SESSION, &XR_TOKEN],
            script(AGENT, AGENT, TokenAttack::None),
            shown(AGENT),
        ),
        variant(
            "not-in-list",
            "UE-A names UE-B's avatar (owl): the XR AS finds it is not in UE-A's list and answers an error; nothing is downloaded",
            Some(OTHERS_ID),
            figure(Outcome::NotListed, OWL, OWL),
            &[],
            script(OWL, OWL, TokenAttack::None),
            refused(XR_AS_O, Act::CheckAvatarList, Reason::NotEntitled, false),
        ),
        token(
            "token-other-id",
            "UE-A's token is for qbranch-cat, but it names qbranch-agent: the BAR finds the token's Avatar ID is not the one requested",
            CAT,
            TokenAttack::None,
            Reason::ClaimMismatch,
        ),
        token(
            "token-other-key",
            "someone holding UE-A's SIP credentials but not its UE key signs the token with another key (UE-M's): the signature does not verify with UE-A's certificate",
            AGENT,
            TokenAttack::ForeignKey(UE_M),
            Reason::SignatureInvalid,
        ),
        token(
            "token-forged",
            "the token's signature is forged (its bytes altered): the BAR's ES256 check fails",
            AGENT,
            TokenAttack::BadSignature,
            Reason::SignatureInvalid,
        ),
        token(
            "token-replayed",
            "a token UE-A signed for an earlier call is replayed in this one: bound to that call's Call-ID, the BAR refuses it (replayed)",
            AGENT,
            TokenAttack::Replayed,
            Reason::Replayed,
        ),
        variant(
            "token-missing",
            "no token reaches the MF before the Avatar ID does: the MF refuses the download without asking the BAR (the token timing chosen for the Editor's Note)",
            Some(FORGED),
            figure(Outcome::NoToken, AGENT, AGENT),
            &[&TOKEN_SESSION],
            script(AGENT, AGENT, TokenAttack::Withheld),
            refused(
                MF_O,
                Act::DownloadAvatarModel,
                Reason::MissingIdentity,
                false,
            ),
        ),
    ]
}

/// The hops a step takes (for the registry's tests).
#[cfg(test)]
fn hops(figure: &Figure, id: &str) -> Vec<crate::scenario::Hop> {
    figure
        .steps
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.hops.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_prevent_what_follows_their_check() {
        let f = figure(Outcome::NotListed, OWL, OWL);
        assert!(!hops(&f, "2").is_empty());
        let plans: Vec<_> = f.steps.iter().map(|s| (s.id, s.taken())).collect();
        assert_eq!(
            plans,
            [
                ("0a", true),
                ("0b", true),
                ("1", true),
                ("2", true),
                ("Steps 3, 4", false),
                ("5", false),
                ("6", false),
                ("7", false),
                ("8", false)
            ]
        );
        let happy = figure(Outcome::Rendered, AGENT, AGENT);
        assert!(!happy.steps[3].taken(), "step 2 is n/a on the happy path");
    }
}
