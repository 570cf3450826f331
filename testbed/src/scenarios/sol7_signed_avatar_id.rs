//! Solution 7 (TR 33.790 §6.7): IMS data channel avatar communication with network-centric
//! rendering (Figure 6.7.2.1-1). UE-A downloads its avatar application and Avatar-id list over
//! its bootstrap channel and picks one; in the application channel negotiation its IMS AS checks
//! with the HSS that it may use that Avatar-id, has it signed over Ms and sends it toward UE-B,
//! whose network verifies it; UE-A sends a UE token (its IMPU and the XR AS, signed with its UE
//! certificate, whose fingerprint SIP carried) over the application channel; the IMS AS anchors
//! both parties' media at the MF with re-INVITEs of its own (UE-B may reject the avatar). The XR
//! AS authenticates to the NEF with mutual TLS and gets an OAuth 2.0 access token for the
//! Avatar-id, fetches the signed avatar metadata from the DAC with it, verifies it and hands it
//! to the MF, which verifies it again when the XR AS is outside the trust domain; the MF renders
//! UE-A's facial points and sends the frames to UE-B and back to UE-A.

use avatar::wire::{METADATA_PATH_PREFIX, TOKEN_PATH, VERIFY_AVATAR_ID_PATH};
use proto::trace::{Act, Reason};
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AVATAR_MEDIA_STREAM, MEDIA_ANCHOR_PATH, METADATA_RENDER_PATH, UE_TOKEN_PATH,
};
use proto::wire::mf::ANCHOR_PATH;
use stir::ms::{SIGNING_PATH, VERIFICATION_PATH};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{AvatarPlan, Script};
use crate::scenario::{
    Expect, Figure, Require, Step, act, dc, dc_http, hop, http, http_response, invite,
    invite_response, jws_claim, token,
};
use crate::solution::{KI2, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{DcSetup, Setup, family};

/// UE-A's avatar, in its list and its subscription.
const AGENT: &str = "qbranch-agent";
/// UE-B's avatar (not UE-A's).
const OWL: &str = "owl";
/// UE-A's other avatar.
const CAT: &str = "qbranch-cat";
/// UE-A's IMPU, as its UE token names it.
const UE_A_IMPU: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
/// The XR AS's host, as UE-A's UE token names it.
const XR_AS_HOST: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";

/// Solution 7 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 7,
    key_issue: KI2,
    clause: "6.7",
    title: "signed Avatar-id, NEF access token, signed avatar metadata",
    short: "signed Avatar-id + NEF",
    figures: &["6.7.2.1-1"],
    needs: &[family::NEF_AVATAR, family::AVATAR, family::DC_NETWORK],
    choices: &[
        AVATAR_ID_LIST,
        STEP_3_SCOPE,
        SIGNED_AVATAR_ID,
        FINGERPRINT_CARRIER,
        UE_TOKEN,
        ANCHOR_REINVITE,
        NEF_TOKEN,
        NEF_ASKS_AS,
        DAC_METADATA,
        MF_VERIFIES,
    ],
    as_flow: ims_as::flows::signed_avatar_id,
    variants,
};

/// `7-avatar-id-list`.
pub const AVATAR_ID_LIST: Choice = Choice {
    id: "7-avatar-id-list",
    clause: "6.7.2.1 step 1, Editor's Note (\"How the UE-A is configured or is aware of the Avatar-id\")",
    question: "Where UE-A's Avatar-id list comes from.",
    answer: "From the DCSF's application list, which UE-A downloads over its bootstrap data channel (`GET /`, the MF asks the DCSF): the avatar application's entry lists the Avatar-ids of the subscriber (fixtures/dc-apps.toml).",
};

/// `7-step-3-scope`.
pub const STEP_3_SCOPE: Choice = Choice {
    id: "7-step-3-scope",
    clause: "6.7.2.1 step 3 (\"step 1 to step 26 of workflow in the AC.7.2.2 of TS 23.228\")",
    question: "What of TS 23.228 AC.7.2.2 steps 1–26 the testbed carries out for the application data channel negotiation.",
    answer: "The SIP part: UE-A's re-INVITE adding the application data channel (mid p2a) toward its network, which the IMS AS anchors at the MF, carrying the Avatar-id and the application id; the IMS AS's checks with the HSS and the signing over Ms; the terminating network's verification. The DCSF's instruction of the MF is folded into the IMS AS's anchoring request, which hands the MF the signed Avatar-id.",
};

/// `7-signed-avatar-id`.
pub const SIGNED_AVATAR_ID: Choice = Choice {
    id: "7-signed-avatar-id",
    clause: "6.7.2 Editor's Note (SHAKEN to sign the Avatar-id), 6.7.2.1 step 3 NOTE 2",
    question: "How the Avatar-id is signed, and in what.",
    answer: "By the operator's STI-AS over Ms, as a PASSporT of the testbed's own type `avatar` (RFC 8225 extension): orig and dest (the call's numbers), iat and `avatar` {app, id, impu}, signed with the operator's STI-SP certificate (x5u). It travels toward UE-B in an Identity header (ppt=avatar) and is verified by the terminating STI-VS like any PASSporT.",
};

/// `7-fingerprint-carrier`.
pub const FINGERPRINT_CARRIER: Choice = Choice {
    id: "7-fingerprint-carrier",
    clause: "6.7.2.1 step 4 (\"The fingerprint of the UE certificate can be exchanged via SIP message in step 3\")",
    question: "Where SIP carries UE-A's certificate fingerprint (and the Avatar-id and application id).",
    answer: "In the SDP of the step 3 re-INVITE: RFC 8864 `a=dcsa` attributes of the avatar application stream (1100): `avatar-id:<id>`, `avatar-app:<app>`, `ue-cert-fingerprint:sha-256 <hex pairs>` (RFC 8122 form, SHA-256 of the UE certificate).",
};

/// `7-ue-token`.
pub const UE_TOKEN: Choice = Choice {
    id: "7-ue-token",
    clause: "6.7.2.1 step 4, Editor's Note (\"the usage of UE token and how it is used by the NEF\")",
    question: "What the UE token is and how the NEF uses it.",
    answer: "A compact JWS (ES256, the UE key; header typ ue-token+jwt and x5t#S256 of the UE certificate) over sub (the IMPU), xr_as (the XR AS host), call, iat and exp. UE-A sends it on the application channel; the MF relays it to the XR AS with the signed Avatar-id the IMS AS gave it; the NEF verifies it with the UE certificate of the signed Avatar-id's IMPU, requires that certificate's fingerprint to be the one SIP carried, xr_as to be the requesting AF and sub the signed IMPU.",
};

/// `7-anchor-reinvite`.
pub const ANCHOR_REINVITE: Choice = Choice {
    id: "7-anchor-reinvite",
    clause: "6.7.2.1 steps 5 (two directions in one id) and 6, NOTE 4",
    question: "How the IMS AS anchors the parties' media at the MF.",
    answer: "Step 5's other half (UE-A names the Avatar-id to the XR AS over the application channel) is carried by step 4: the MF relays UE-A's UE token with the signed Avatar-id it holds for the call. The anchoring itself: with re-INVITEs it sends itself in the dialog when the XR AS, holding UE-A's UE token, asks it (`POST /as/v1/media-anchoring`, mutual TLS; the DCSF's part in TS 23.228 is folded into this request), as a third-party call controller: the route set from the Record-Route it saw, the party's CSeq sequence taken and the party's later requests renumbered. The testbed carries no audio or video: the rendered video is the MF's avatar media data channel set up with the call (choice avatar-video), so each re-INVITE re-offers the party its current session. UE-B's carries the signed Avatar-id (Identity) and `P-Avatar-ID`; UE-B accepts it, or rejects the avatar with 488 — the MF then sends it no frames.",
};

/// `7-nef-token`.
pub const NEF_TOKEN: Choice = Choice {
    id: "7-nef-token",
    clause: "6.7.2.1 step 7, NOTE 5 (TS 33.122 / TS 33.501)",
    question: "How the XR AS authenticates to the NEF and what the access token is.",
    answer: "Mutual TLS with the XR AS's certificate (the AF identity); `POST /nef/v1/oauth2/token`, form-encoded client credentials grant (RFC 6749 §4.4) with signed_avatar_id, ue_token and app_id. The token is an RFC 9068 JWT (typ at+jwt, ES256 with the NEF's key, x5t#S256): iss the NEF, sub the XR AS, aud the DAC, scope avatar-metadata:read, avatar_id, app_id, impu, iat, exp (300 s), jti.",
};

/// `7-nef-asks-as`.
pub const NEF_ASKS_AS: Choice = Choice {
    id: "7-nef-asks-as",
    clause: "6.7.2.1 step 7 (\"verifies the signed Avatar-id with IMS AS\")",
    question: "How the NEF verifies the signed Avatar-id with the IMS AS.",
    answer: "`POST /as/v1/avatar-ids/verify` at the originating IMS AS (mutual TLS, only the NEF): the AS answers whether it had that exact PASSporT signed in a call and, if so, the IMPU, Avatar-id, application and the certificate fingerprint UE-A presented in SIP.",
};

/// `7-dac-metadata`.
pub const DAC_METADATA: Choice = Choice {
    id: "7-dac-metadata",
    clause: "6.7.2.1 steps 8 (the token is not named; step 9 validates it), 9, 9.1, NOTE 7",
    question: "How the DAC checks the token and what the signed metadata is.",
    answer: "`GET /dac/v1/metadata/{id}` with `Authorization: Bearer` (RFC 6750): the DAC verifies the token with the NEF's pre-configured certificate (audience itself, scope, Avatar-id, expiry) and answers `application/jwt`: a JWS (typ avatar-metadata+jwt, the DAC's key) over iss, avatar_id, name, the model, iat and exp. The XR AS verifies it with the DAC's pre-configured certificate (signature, Avatar-id, expiry).",
};

/// `7-mf-verifies`.
pub const MF_VERIFIES: Choice = Choice {
    id: "7-mf-verifies",
    clause: "6.7.2.1 step 11.1 (\"MF\" for the MF/MRF), NOTE 9, NOTE 10",
    question: "When the MF verifies the metadata again.",
    answer: "Only when the world says the XR AS is outside the operator's trust domain (the variants `happy-untrusted-xr` and `metadata-altered`): the MF then verifies it with the DAC's pre-configured certificate against the signed Avatar-id it holds for the call.",
};

/// §5.2.2's threats.
const FORGED_ID: Threat = Threat {
    clause: "5.2.2",
    text: "a forged or foreign Avatar-ID: a UE names an Avatar-id it may not use",
    ids: &[ThreatId::ForgedAvatarId],
};
const IMPERSONATION: Threat = Threat {
    clause: "5.2.2",
    text: "impersonation: a UE token signed with a certificate other than the one SIP carried",
    ids: &[ThreatId::AvatarImpersonation],
};
const ASSET_ACCESS: Threat = Threat {
    clause: "5.2.2",
    text: "unauthorised access to avatar assets (a token for another avatar, an expired token, an AF without credentials)",
    ids: &[ThreatId::AvatarImpersonation],
};
const TAMPERED: Threat = Threat {
    clause: "5.2.2",
    text: "avatar metadata tampered with, or stale",
    ids: &[ThreatId::MetadataInTransit],
};

/// Where a variant's flow stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Rendered to both.
    Rendered,
    /// The HSS refuses the Avatar-id (step 3): nothing is signed.
    NotEntitled,
    /// UE-B rejects the avatar (step 6): rendered, but only back to UE-A.
    CalleeRejects,
    /// The NEF refuses the token (step 7), for this reason.
    NoToken(Reason),
    /// The XR AS cannot reach the NEF: TLS refuses its missing certificate (step 7).
    NoTls,
    /// The DAC refuses the token (step 9).
    DacRefuses(Reason),
    /// The XR AS refuses the metadata (9.1).
    XrRefuses(Reason),
    /// The MF refuses the metadata (11.1).
    MfRefuses(Reason),
}

/// Steps 1 and 2.
fn setting_up(from_list: bool) -> Vec<Step> {
    let mut choose = Step::new(
        "2",
        ("UE-A", "(internal)"),
        "UE-A chooses network rendering and selects the Avatar-id from the list it downloaded",
        vec![
            act(&[UE_A], Act::ChooseRendering),
            act(&[UE_A], Act::ChooseAvatar),
        ],
    );
    if !from_list {
        choose = choose.not_taken("UE-A names an Avatar-id that is not in its list (the threat)");
    }
    vec![
        Step::new(
            "1",
            ("UE-A", "UE-B"),
            "UE-A calls UE-B with bootstrap data channels (UE-B also gets the MF's avatar media channel); UE-A downloads the avatar application list with its Avatar-ids",
            vec![
                hop(&[UE_A], &[PCSCF_O], invite()).with(Require::BodyLine("a=mid:bdc")),
                hop(&[PCSCF_T], &[UE_B], invite()).with(Require::BodyLine("a=mid:avm")),
                hop(&[UE_B], &[PCSCF_T], invite_response(200, 299)),
                hop(&[UE_A], &[MF_O], dc_http("GET", "/")),
                hop(&[MF_O], &[UE_A], Expect::DcHttpResponse)
                    .with(Require::Status(200))
                    .with(Require::JsonHas("/apps/0/avatar_ids/0", "qbranch")),
            ],
        ),
        choose,
    ]
}

/// Step 3: the negotiation, the HSS, Ms, the terminating verification.
fn negotiating(avatar_id: &'static str, entitled: bool) -> Step {
    let mut hops = vec![
        hop(&[UE_A], &[PCSCF_O], invite())
            .with(Require::BodyLine("a=mid:p2a"))
            .with(Require::BodyLine(match avatar_id {
                OWL => "a=dcsa:1100 avatar-id:owl",
                _ => "a=dcsa:1100 avatar-id:qbranch-agent",
            })),
        hop(&[AS_O], &[HSS_O], http("GET", "/sh/v1/avatars/")),
    ];
    if !entitled {
        hops.push(act(&[AS_O], Act::AuthorizeAvatarId).refused(Reason::NotEntitled));
        return Step::new(
            "3",
            ("UE-A", "XR AS (via IMS AS, HSS, terminating IMS, UE-B)"),
            "UE-A negotiates the application data channel naming the Avatar-id; the IMS AS asks the HSS, which does not let UE-A use it: nothing is signed",
            hops,
        );
    }
    hops.extend([
        act(&[AS_O], Act::AuthorizeAvatarId),
        hop(&[AS_O], &[STI_AS_O], http("POST", SIGNING_PATH))
            .with(Require::JsonIs("/signingRequest/ppt", "avatar")),
        token(&[STI_AS_O], "avatar").with(Require::Json("/avatar/id")),
        act(&[AS_O], Act::AddSignedAvatarId),
        hop(&[AS_T], &[STI_VS_T], http("POST", VERIFICATION_PATH)),
        act(&[AS_T], Act::DeliverAvatarId),
        hop(&[PCSCF_T], &[UE_B], invite()).with(Require::HeaderHas("Identity", "ppt=\"avatar\"")),
    ]);
    Step::new(
        "3",
        ("UE-A", "XR AS (via IMS AS, HSS, terminating IMS, UE-B)"),
        "UE-A's re-INVITE negotiates the application data channel naming the Avatar-id (and its certificate fingerprint); the IMS AS checks with the HSS, has the Avatar-id signed over Ms and sends it toward UE-B; the terminating IMS AS has it verified before UE-B sees it",
        hops,
    )
}

/// Step 4: the channel anchored (with the signed Avatar-id, when there is one), the UE token
/// relayed.
fn ue_token(signed: bool) -> Step {
    let mut anchor = hop(&[AS_O], &[MF_O], http("POST", ANCHOR_PATH));
    anchor = if signed {
        anchor.with(Require::Json("/avatar/signed"))
    } else {
        anchor.with(Require::NoJson("/avatar"))
    };
    Step::new(
        "4",
        ("UE-A", "MF/MRF (DCSF instructs via IMS AS); XR AS"),
        "the IMS AS anchors the application channel at the MF with the signed Avatar-id; UE-A sends its UE token on it, and the MF relays it to the XR AS",
        vec![
            anchor,
            // The token as it travels: UE-A's IMPU and the XR AS it is for. (UE-A's note of
            // sending it and the MF's relay are concurrent: only the messages are in order.)
            hop(&[UE_A], &[MF_O], dc(AVATAR_APP_STREAM, "ue-token"))
                .with(jws_claim("/token", "/sub", UE_A_IMPU))
                .with(jws_claim("/token", "/xr_as", XR_AS_HOST)),
            hop(&[MF_O], &[XR_AS_O], http("POST", UE_TOKEN_PATH)).with(Require::Json("/ue_token")),
            act(&[MF_O], Act::RelayUeToken),
        ],
    )
}

/// Steps 5 and 6: the IMS AS's own re-INVITEs.
fn anchoring(avatar_id: &'static str, rejects: bool) -> [Step; 2] {
    let (consider, answer, anchored) = if rejects {
        (
            act(&[UE_B], Act::ConsiderAvatar).refused(Reason::Declined),
            hop(&[UE_B], &[PCSCF_T], invite_response(400, 499)).with(Require::SameDialog),
            act(&[AS_O], Act::AnchorMedia).refused(Reason::Declined),
        )
    } else {
        (
            act(&[UE_B], Act::ConsiderAvatar),
            hop(&[UE_B], &[PCSCF_T], invite_response(200, 299)).with(Require::SameDialog),
            act(&[AS_O], Act::AnchorMedia),
        )
    };
    [
        Step::new(
            "5(Optional)",
            ("IMS AS", "UE-A"),
            "asked by the XR AS (which holds UE-A's UE token), the IMS AS re-INVITEs UE-A to anchor its media at the MF",
            vec![
                hop(&[XR_AS_O], &[AS_O], http("POST", MEDIA_ANCHOR_PATH)),
                // In the dialog (To tagged), in UE-B's name (From): the AS's own request.
                hop(&[AS_O], &[SCSCF_O], invite())
                    .with(Require::HeaderHas("To", "tag="))
                    .with(Require::HeaderHas("From", "+12155551001")),
                hop(&[PCSCF_O], &[UE_A], invite()).with(Require::HeaderHas("From", "+12155551001")),
                hop(&[UE_A], &[PCSCF_O], invite_response(200, 299)).with(Require::SameDialog),
                act(&[AS_O], Act::AnchorMedia),
            ],
        ),
        Step::new(
            "6",
            ("IMS AS", "UE-B"),
            "the IMS AS re-INVITEs UE-B to anchor its media at the MF, naming the Avatar-id (signed); UE-B accepts the avatar or rejects it",
            vec![
                // The AS's next hop toward UE-B is the first Record-Route above its own.
                hop(&[AS_O], &[SCSCF_O, IBCF_O], invite()).with(Require::HeaderHas(
                    ims_as::flows::AVATAR_ID_HEADER,
                    match avatar_id {
                        OWL => OWL,
                        _ => AGENT,
                    },
                )),
                act(&[AS_T], Act::DeliverAvatarId),
                hop(&[PCSCF_T], &[UE_B], invite())
                    .with(Require::Header(ims_as::flows::AVATAR_ID_HEADER)),
                consider,
                answer,
                anchored,
            ],
        ),
    ]
}

/// Step 7: the XR AS, the NEF (and the IMS AS behind it).
fn token_request(stop: Stop) -> Step {
    let hops = match stop {
        Stop::NoTls => vec![act(&[XR_AS_O], Act::ObtainToken).refused(Reason::Unreachable)],
        Stop::NoToken(r) => vec![
            hop(&[XR_AS_O], &[NEF_O], http("POST", TOKEN_PATH)),
            hop(&[NEF_O], &[AS_O], http("POST", VERIFY_AVATAR_ID_PATH)),
            act(&[AS_O], Act::CheckSignedAvatarId),
            act(&[NEF_O], Act::IssueToken).refused(r),
            act(&[XR_AS_O], Act::ObtainToken).refused(r),
        ],
        _ => vec![
            hop(&[XR_AS_O], &[NEF_O], http("POST", TOKEN_PATH))
                .with(Require::HeaderHas("Content-Type", "x-www-form-urlencoded")),
            hop(&[NEF_O], &[AS_O], http("POST", VERIFY_AVATAR_ID_PATH)),
            act(&[AS_O], Act::CheckSignedAvatarId),
            act(&[NEF_O], Act::IssueToken),
            hop(&[NEF_O], &[XR_AS_O], http_response("POST", TOKEN_PATH))
                .with(Require::Status(200))
                .with(Require::Json("/access_token")),
            act(&[XR_AS_O], Act::ObtainToken),
        ],
    };
    Step::new(
        "7",
        ("XR AS", "NEF/CAPIF CF/NRF (↔ IMS AS)"),
        "the XR AS authenticates to the NEF with mutual TLS and asks for an access token with the signed Avatar-id, the UE token and the application id; the NEF checks the signed Avatar-id with the IMS AS and the UE token against the fingerprint SIP carried, then grants the token",
        hops,
    )
}

/// Steps 8, 9 and 9.1.
fn metadata(stop: Stop) -> [Step; 3] {
    let (dac, answer) = match stop {
        Stop::DacRefuses(r) => (
            act(&[DAC], Act::VerifyAvatarToken).refused(r),
            hop(
                &[DAC],
                &[XR_AS_O],
                http_response("GET", METADATA_PATH_PREFIX),
            )
            .with(Require::HeaderHas("WWW-Authenticate", "Bearer")),
        ),
        _ => (
            act(&[DAC], Act::VerifyAvatarToken),
            hop(
                &[DAC],
                &[XR_AS_O],
                http_response("GET", METADATA_PATH_PREFIX),
            )
            .with(Require::Status(200)),
        ),
    };
    let verify = match stop {
        Stop::XrRefuses(r) => act(&[XR_AS_O], Act::VerifyAvatarMetadata).refused(r),
        _ => act(&[XR_AS_O], Act::VerifyAvatarMetadata),
    };
    [
        Step::new(
            "8",
            ("XR AS", "DAC"),
            "the XR AS asks the DAC for the avatar metadata of the Avatar-id with the access token",
            vec![
                hop(&[XR_AS_O], &[DAC], http("GET", METADATA_PATH_PREFIX))
                    .with(Require::HeaderHas("Authorization", "Bearer ")),
            ],
        ),
        Step::new(
            "9",
            ("DAC", "XR AS"),
            "the DAC validates the access token (signature, audience, scope, Avatar-id, expiry) and answers the signed avatar metadata",
            vec![dac, answer],
        ),
        Step::new(
            "9.1",
            ("XR AS", "(internal)"),
            "the XR AS verifies the metadata's signature (the DAC's pre-configured certificate), Avatar-id and expiry",
            vec![verify],
        ),
    ]
}

/// Steps 10, 11 and 11.1.
fn handing(stop: Stop, untrusted: bool) -> [Step; 3] {
    let verify = match stop {
        Stop::MfRefuses(r) => act(&[MF_O], Act::VerifyAvatarMetadata).refused(r),
        _ => act(&[MF_O], Act::VerifyAvatarMetadata),
    };
    let mut check = Step::new(
        "11.1",
        ("MF", "(internal)"),
        "the MF verifies the metadata's signature and expiry (the XR AS is outside the trust domain)",
        vec![verify],
    );
    if !untrusted {
        check = check.not_taken("the XR AS is inside the operator's trust domain (NOTE 10)");
    }
    [
        Step::new(
            "10",
            ("XR AS", "(internal)"),
            "the XR AS starts controlling the XR media rendering",
            vec![act(&[XR_AS_O], Act::RequestRendering)],
        ),
        Step::new(
            "11",
            ("XR AS", "MF/MRF"),
            "the XR AS sends the signed avatar metadata to the MF and asks it to render",
            vec![
                hop(&[XR_AS_O], &[MF_O], http("POST", METADATA_RENDER_PATH))
                    .with(Require::Json("/metadata")),
            ],
        ),
        check,
    ]
}

/// Steps 12–15.
fn rendering() -> [Step; 4] {
    [
        Step::new(
            "12",
            ("UE-A", "MF/MRF"),
            "UE-A sends its facial points to the MF on the application channel",
            vec![hop(
                &[UE_A],
                &[MF_O],
                dc(AVATAR_APP_STREAM, "facial-points"),
            )],
        ),
        Step::new(
            "13",
            ("MF/MRF", "(internal)"),
            "the MF renders the avatar of the metadata with UE-A's points",
            vec![act(&[MF_O], Act::RenderAvatar)],
        ),
        Step::new(
            "14",
            ("MF/MRF", "UE-B"),
            "the rendered avatar goes to UE-B as video (the avatar media channel)",
            vec![
                hop(&[MF_O], &[UE_B], dc(AVATAR_MEDIA_STREAM, "avatar-frame")),
                act(&[UE_B], Act::ShowAvatar),
            ],
        ),
        Step::new(
            "15",
            ("MF/MRF", "UE-A"),
            "the rendered avatar goes back to UE-A as feedback",
            vec![
                hop(&[MF_O], &[UE_A], dc(AVATAR_APP_STREAM, "avatar-frame")),
                act(&[UE_A], Act::ShowAvatar),
            ],
        ),
    ]
}

/// The figure for a variant.
fn figure(avatar_id: &'static str, stop: Stop, untrusted: bool) -> Figure {
    let entitled = stop != Stop::NotEntitled;
    let mut steps = setting_up(avatar_id != OWL);
    steps.push(negotiating(avatar_id, entitled));
    steps.push(ue_token(entitled));
    steps.extend(anchoring(avatar_id, stop == Stop::CalleeRejects));
    steps.push(token_request(stop));
    steps.extend(metadata(stop));
    steps.extend(handing(stop, untrusted));
    steps.extend(rendering());
    let figure = Figure {
        clause: "6.7.2.1",
        figure: "6.7.2.1-1",
        title: "IMS DC avatar communication, network-centric rendering",
        steps,
    };
    let after = |from: &str| -> Vec<&'static str> {
        const ALL: [&str; 13] = [
            "5(Optional)",
            "6",
            "7",
            "8",
            "9",
            "9.1",
            "10",
            "11",
            "11.1",
            "12",
            "13",
            "14",
            "15",
        ];
        let i = ALL.iter().position(|s| *s == from).unwrap_or(ALL.len());
        ALL[i..].to_vec()
    };
    match stop {
        Stop::Rendered => figure,
        Stop::NotEntitled => figure.prevent(&after("5(Optional)"), "3"),
        Stop::CalleeRejects => figure.prevent(&["14"], "6"),
        Stop::NoToken(_) | Stop::NoTls => figure.prevent(&after("8"), "7"),
        Stop::DacRefuses(_) => figure.prevent(&after("9.1"), "9"),
        Stop::XrRefuses(_) => figure.prevent(&after("10"), "9.1"),
        Stop::MfRefuses(_) => figure.prevent(&after("12"), "11.1"),
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
        &AVATAR_ID_LIST,
        &STEP_3_SCOPE,
        &SIGNED_AVATAR_ID,
        &FINGERPRINT_CARRIER,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

/// The choices of a flow that gets as far as the token.
const FULL: [&Choice; 6] = [
    &UE_TOKEN,
    &ANCHOR_REINVITE,
    &NEF_TOKEN,
    &NEF_ASKS_AS,
    &DAC_METADATA,
    &MF_VERIFIES,
];

fn plan(avatar_id: &'static str, token_key: Option<&'static str>, rejects: bool) -> Script {
    Script::Avatar(AvatarPlan::Network {
        avatar_id,
        token_key,
        callee_rejects: rejects,
    })
}

fn setup() -> Setup {
    Setup {
        dc: Some(DcSetup::Bootstrap),
        ..Setup::default()
    }
}

/// What a variant checks when the avatar reaches nobody, refused by `by` for `reason`.
fn refused(by: &'static str, act: Act, reason: Reason) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::NoAvatarShown,
        Check::Refusal { by, act, reason },
    ]
}

#[allow(clippy::too_many_arguments)]
fn variant(
    id: &'static str,
    title: &'static str,
    threat: Option<Threat>,
    figure: Figure,
    extra: &[&'static Choice],
    setup: Setup,
    script: Script,
    checks: Vec<Check>,
) -> Variant {
    Variant {
        solution: 7,
        id,
        title,
        threat,
        figure,
        choices: with(extra),
        setup,
        script,
        checks,
    }
}

/// Every variant of solution 7.
pub fn variants() -> Vec<Variant> {
    let mut all = happy();
    all.extend(refusals());
    all.extend(metadata_threats());
    all
}

fn shown() -> Vec<Check> {
    vec![
        Check::Answered,
        Check::AvatarShown {
            avatar_id: AGENT,
            frames: 3,
        },
    ]
}

fn happy() -> Vec<Variant> {
    vec![
        variant(
            "happy",
            "UE-A picks qbranch-agent; the HSS lets it use it, the STI-AS signs it and the terminating network verifies it; UE-A's UE token reaches the XR AS; the IMS AS anchors both parties' media; the NEF grants the XR AS a token, the DAC answers signed metadata, the XR AS verifies it and the MF renders UE-A's avatar to UE-B and back to UE-A",
            None,
            figure(AGENT, Stop::Rendered, false),
            &FULL,
            setup(),
            plan(AGENT, None, false),
            shown(),
        ),
        variant(
            "happy-untrusted-xr",
            "as happy, but the XR AS is outside the operator's trust domain: the MF verifies the signed metadata again before rendering (step 11.1)",
            None,
            figure(AGENT, Stop::Rendered, true),
            &FULL,
            Setup {
                xr_as_untrusted: true,
                ..setup()
            },
            plan(AGENT, None, false),
            {
                let mut c = shown();
                c.push(Check::Did {
                    by: MF_O,
                    act: Act::VerifyAvatarMetadata,
                });
                c
            },
        ),
        variant(
            "callee-rejects",
            "UE-B rejects the avatar when the IMS AS's re-INVITE names it (488): the session goes on, the MF renders for UE-A's feedback only and UE-B is shown no avatar",
            None,
            figure(AGENT, Stop::CalleeRejects, false),
            &FULL,
            setup(),
            plan(AGENT, None, true),
            refused(UE_B, Act::ConsiderAvatar, Reason::Declined),
        ),
    ]
}

fn refusals() -> Vec<Variant> {
    vec![
        variant(
            "not-entitled",
            "UE-A names owl, UE-B's avatar, which its subscription does not let it use: the HSS check fails, nothing is signed and the session goes on without an avatar",
            Some(FORGED_ID),
            figure(OWL, Stop::NotEntitled, false),
            &[],
            setup(),
            plan(OWL, None, false),
            {
                let mut c = refused(AS_O, Act::AuthorizeAvatarId, Reason::NotEntitled);
                c.push(Check::Refusal {
                    by: XR_AS_O,
                    act: Act::ObtainToken,
                    reason: Reason::MissingIdentity,
                });
                c
            },
        ),
        variant(
            "fingerprint-mismatch",
            "UE-A's UE token is signed with UE-M's key and certificate, not the one whose fingerprint SIP carried: the NEF refuses the access token",
            Some(IMPERSONATION),
            figure(AGENT, Stop::NoToken(Reason::ClaimMismatch), false),
            &FULL,
            setup(),
            plan(AGENT, Some(UE_M), false),
            refused(NEF_O, Act::IssueToken, Reason::ClaimMismatch),
        ),
        variant(
            "xr-no-certificate",
            "the XR AS presents no client certificate: the NEF's mutual TLS refuses the connection and no token is requested",
            Some(ASSET_ACCESS),
            figure(AGENT, Stop::NoTls, false),
            &FULL,
            Setup {
                xr_without_certificate: true,
                ..setup()
            },
            plan(AGENT, None, false),
            refused(XR_AS_O, Act::ObtainToken, Reason::Unreachable),
        ),
        variant(
            "token-other-avatar",
            "the XR AS asks the DAC for qbranch-cat with the token granted for qbranch-agent: the DAC refuses (insufficient scope)",
            Some(ASSET_ACCESS),
            figure(AGENT, Stop::DacRefuses(Reason::NotAuthorised), false),
            &FULL,
            Setup {
                xr_tamper: Some(xr::xr_as::XrTamper::OtherAvatar(CAT.into())),
                ..setup()
            },
            plan(AGENT, None, false),
            refused(DAC, Act::VerifyAvatarToken, Reason::NotAuthorised),
        ),
        variant(
            "token-expired",
            "the NEF's access token has already expired when the XR AS presents it: the DAC refuses it",
            Some(ASSET_ACCESS),
            figure(AGENT, Stop::DacRefuses(Reason::Expired), false),
            &FULL,
            Setup {
                nef_expired_tokens: true,
                ..setup()
            },
            plan(AGENT, None, false),
            refused(DAC, Act::VerifyAvatarToken, Reason::Expired),
        ),
    ]
}

fn metadata_threats() -> Vec<Variant> {
    vec![
        variant(
            "metadata-altered",
            "the XR AS, outside the trust domain, alters the signed metadata before handing it to the MF: the MF's verification fails and nothing is rendered",
            Some(TAMPERED),
            figure(AGENT, Stop::MfRefuses(Reason::SignatureInvalid), true),
            &FULL,
            Setup {
                xr_as_untrusted: true,
                xr_tamper: Some(xr::xr_as::XrTamper::AlterMetadata),
                ..setup()
            },
            plan(AGENT, None, false),
            refused(MF_O, Act::VerifyAvatarMetadata, Reason::SignatureInvalid),
        ),
        variant(
            "metadata-expired",
            "the DAC's signed metadata has already expired: the XR AS refuses it (9.1) and nothing is rendered",
            // Stale metadata from its own source: no intermediary alters it, so none of the
            // TR's 5.2.2 threats as stated.
            Some(Threat {
                ids: &[],
                ..TAMPERED
            }),
            figure(AGENT, Stop::XrRefuses(Reason::Expired), false),
            &FULL,
            Setup {
                dac_expired_metadata: true,
                ..setup()
            },
            plan(AGENT, None, false),
            refused(XR_AS_O, Act::VerifyAvatarMetadata, Reason::Expired),
        ),
    ]
}

/// The hops of a step (for tests).
#[cfg(test)]
fn step<'a>(f: &'a Figure, id: &str) -> &'a Step {
    f.steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn refusals_prevent_what_follows_their_check() {
        let f = figure(AGENT, Stop::NoToken(Reason::ClaimMismatch), false);
        assert!(step(&f, "7").taken());
        assert!(!step(&f, "8").taken() && !step(&f, "15").taken());
        let f = figure(AGENT, Stop::Rendered, false);
        assert!(
            !step(&f, "11.1").taken(),
            "11.1 only for an untrusted XR AS"
        );
        assert_eq!(f.steps.len(), 17);
        let f = figure(OWL, Stop::NotEntitled, false);
        assert!(!step(&f, "2").taken() && step(&f, "4").taken() && !step(&f, "6").taken());
    }

    #[test]
    fn ten_variants_cover_the_issue() {
        assert_eq!(variants().len(), 10);
    }
}
