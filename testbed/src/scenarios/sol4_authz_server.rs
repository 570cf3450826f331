//! Solution 4 (TR 33.790 §6.4): the enterprise's authorization server, reached through the
//! operator's NEF, authorises the third party specific user identity and creates the
//! enterprise name card that the signing server signs. Option A: the NEF allocates a
//! designated IMPU for the UE (step 0a) and the call comes from it. Option B: the UE presents
//! the 3P ID, the server's realm and a token in its INVITE's Authorization header; or, in the
//! alternative procedure (§6.4.2.2), the server authenticates the UE instead. The terminating
//! network verifies only for callees subscribed to verification (Figure 6.4.2-1).

use crate::run::{Expected, Prep, Script, Variant};
use crate::scenario::{Expect, Figure, Step, hop, invite};
use crate::world::Setup;

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
/// The enterprise's number its employees may present (fixtures/enterprise/authz.toml).
const ID3P: &str = "tel:+12025550100";
const CALLERS: &[&str] = &["ue-a", "ue-x"];

/// How the 3P ID gets authorised.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    /// Option A: a designated IMPU.
    DesignatedImpu,
    /// Option B with a token from step 0b.
    Token,
    /// Option B with a token the UE kept from before (no step 0b in this run).
    HeldToken,
    /// Option B, the server authenticates the UE (§6.4.2.2).
    Authenticate,
}

fn figure(how: How, authorised: bool, verified: bool) -> Figure {
    let step0a = match how {
        How::DesignatedImpu => vec![
            hop(
                &["authz3p"],
                &["nef-o"],
                Expect::HttpRequest("POST /3gpp-3pid/v1/allocations"),
            ),
            hop(
                &["nef-o"],
                &["hss-o"],
                Expect::HttpRequest("POST /sh/v1/provisioning"),
            ),
            hop(
                &["nef-o"],
                &["authz3p"],
                Expect::HttpResponse("POST /3gpp-3pid/v1/allocations"),
            ),
        ],
        _ => vec![hop(
            &["authz3p"],
            &[],
            Expect::Action("no designated IMPU is allocated"),
        )],
    };
    let step0b = match how {
        How::Token => vec![
            hop(
                CALLERS,
                &["authz3p"],
                Expect::HttpRequest("POST /oauth2/v1/3pid-token"),
            ),
            hop(
                &["authz3p"],
                CALLERS,
                Expect::HttpResponse("POST /oauth2/v1/3pid-token"),
            ),
        ],
        How::HeldToken => vec![hop(
            CALLERS,
            &[],
            Expect::Action("presents the token it obtained"),
        )],
        How::DesignatedImpu | How::Authenticate => {
            vec![hop(CALLERS, &[], Expect::Action("no token is obtained"))]
        }
    };
    let mut step3 = Vec::new();
    if how == How::Authenticate {
        step3.extend([
            hop(&["authz3p"], &[], Expect::Action("authenticate the UE")),
            hop(
                &["pcscf-o"],
                CALLERS,
                Expect::SipResponse {
                    method: "INVITE",
                    lo: 401,
                    hi: 401,
                },
            ),
            hop(CALLERS, &["pcscf-o"], invite()),
            hop(
                &["nef-o"],
                &["authz3p"],
                Expect::HttpRequest("POST /3pid/v1/authorize"),
            ),
        ]);
    }
    step3.push(hop(
        &["authz3p"],
        &[],
        Expect::Action(if authorised {
            "create enterprise name card"
        } else {
            "refuse authorization"
        }),
    ));
    let mut step78 = vec![hop(
        &["as-t"],
        &["hss-t"],
        Expect::HttpRequest("GET /sh/v1/subscribers/"),
    )];
    if verified {
        step78.extend([
            hop(
                &["as-t"],
                &["sti-vs-t"],
                Expect::HttpRequest("POST /stir/v1/verification"),
            ),
            hop(
                &["sti-vs-t"],
                &["as-t"],
                Expect::HttpResponse("POST /stir/v1/verification"),
            ),
        ]);
    } else {
        step78.push(hop(
            &["as-t"],
            &[],
            Expect::Action("not subscribed to verification"),
        ));
    }
    let steps = vec![
        Step {
            id: "0a",
            tr_from: "third party Authorization Server",
            tr_to: "NEF, HSS",
            what: "option A: the enterprise asks the NEF for a designated IMPU for its employee; the NEF provisions it and its 3P ID service profile in the HSS",
            hops: step0a,
        },
        Step {
            id: "0b",
            tr_from: "UE",
            tr_to: "third party Authorization Server",
            what: "option B: the UE proves its key to the enterprise and gets a token for the 3P ID",
            hops: step0b,
        },
        Step {
            id: "1",
            tr_from: "UE / PBX",
            tr_to: "S-CSCF",
            what: "the UE sends the INVITE: from the designated IMPU (A), or with the 3P ID, realm and token in Authorization and the 3P ID in From (B)",
            hops: vec![hop(CALLERS, &["pcscf-o"], invite())],
        },
        Step {
            id: "2",
            tr_from: "S-CSCF",
            tr_to: "NEF, third party Authorization Server",
            what: "the originating IMS AS (for the S-CSCF) checks the subscription allows 3P IDs and asks the NEF, which selects the enterprise's authorization server by realm or designated IMPU",
            hops: vec![
                hop(
                    &["as-o"],
                    &["hss-o"],
                    Expect::HttpRequest("GET /sh/v1/subscribers/"),
                ),
                hop(
                    &["as-o"],
                    &["nef-o"],
                    Expect::HttpRequest("POST /3gpp-3pid/v1/authorize"),
                ),
                hop(
                    &["nef-o"],
                    &[],
                    Expect::Action("select third party authorization server"),
                ),
                hop(
                    &["nef-o"],
                    &["authz3p"],
                    Expect::HttpRequest("POST /3pid/v1/authorize"),
                ),
            ],
        },
        Step {
            id: "3",
            tr_from: "third party Authorization Server",
            tr_to: "(internal)",
            what: "the authorization server checks the token, the designated IMPU or (6.4.2.2) the UE's answer to its challenge, and creates the enterprise name card (or refuses)",
            hops: step3,
        },
        Step {
            id: "4-5",
            tr_from: "originating IMS network",
            tr_to: "Signing Server",
            what: "the IMS AS asserts the 3P ID in P-Asserted-Identity and has the STI-AS sign it with the name card (shaken and rcd PASSporTs)",
            hops: vec![
                hop(
                    &["as-o"],
                    &["sti-as-o"],
                    Expect::HttpRequest("POST /stir/v1/signing"),
                ),
                hop(
                    &["sti-as-o"],
                    &["as-o"],
                    Expect::HttpResponse("POST /stir/v1/signing"),
                ),
            ],
        },
        Step {
            id: "6",
            tr_from: "originating IMS network",
            tr_to: "terminating IMS network",
            what: "the INVITE with the Identity headers crosses the NNI",
            hops: vec![
                hop(&["ibcf-o"], &["ibcf-t"], invite()),
                hop(&["ibcf-t"], &["scscf-t"], invite()),
            ],
        },
        Step {
            id: "7-8",
            tr_from: "terminating IMS network",
            tr_to: "Verification Server",
            what: "the terminating IMS AS checks the callee subscribed to verification (HSS) and, if so, has the STI-VS verify",
            hops: step78,
        },
        Step {
            id: "9",
            tr_from: "terminating IMS network",
            tr_to: "terminating UE",
            what: "the callee receives and renders the 3P ID and name card (only if verified)",
            hops: vec![hop(&["pcscf-t"], &["ue-b"], invite())],
        },
    ];
    Figure {
        clause: "6.4.2.1",
        figure: "6.4.2-1",
        title: "call flow for using a third party identity authorised by the enterprise",
        steps,
    }
}

const CARD: Expected = Expected {
    answered: true,
    verstat: "TN-Validation-Passed",
    name: Some(Q_BRANCH),
    jcard: true,
    id3p_consulted: false,
    rcd_signed: true,
    vs_failure: None,
    dc: None,
    from_verstat: Some("TN-Validation-Passed"),
};

/// A rejected authorisation: the caller's own number is signed and passes; the 3P ID in From
/// is not vouched for.
const REJECTED: Expected = Expected {
    name: None,
    jcard: false,
    rcd_signed: false,
    from_verstat: Some("TN-Validation-Failed"),
    ..CARD
};

fn call(caller: &'static str, prep: Prep) -> Script {
    Script::Call {
        caller,
        display: None,
        callee: "ue-b",
        target: CALLEE,
        prep,
    }
}

fn setup() -> Setup {
    Setup {
        flow: ims_as::Flow::AuthzServer,
        ..Setup::default()
    }
}

/// Every variant of solution 4.
pub fn variants() -> Vec<Variant> {
    let base = [
        "world-ims-entry",
        "world-registration",
        "ms-transport",
        "6.2-ms-two-requests",
        "6.4-s-cscf",
        "6.4-token",
    ];
    let with = |extra: &[&'static str]| base.iter().chain(extra).copied().collect::<Vec<_>>();
    vec![
        Variant {
            solution: 4,
            id: "option-a",
            title: "option A: the NEF allocates a designated IMPU for UE-A (provisioned in the HSS); the call from it is authorised, the name card signed, verified and shown",
            threat: None,
            figure: figure(How::DesignatedImpu, true, true),
            choices: with(&["6.4-name-card"]),
            setup: setup(),
            script: call("ue-a", Prep::DesignatedImpu { id3p: ID3P }),
            expected: CARD,
        },
        Variant {
            solution: 4,
            id: "option-b",
            title: "option B: UE-A gets a token from the enterprise and presents the 3P ID with it; the authorization server checks the token and makes the name card",
            threat: None,
            figure: figure(How::Token, true, true),
            choices: with(&["6.4-authorization-header", "6.4-name-card"]),
            setup: setup(),
            script: call("ue-a", Prep::Token { id3p: ID3P }),
            expected: CARD,
        },
        Variant {
            solution: 4,
            id: "token-expired",
            title: "option B with an expired token: authorisation is refused, the call goes on with UE-A's own number and no name card; the 3P ID in From is marked TN-Validation-Failed",
            threat: Some(
                "§5.1.2 threat 2: a UE uses an ID that no longer belongs to it (an old token)",
            ),
            figure: figure(How::Token, false, true),
            choices: with(&["6.4-authorization-header", "6.4-rejected"]),
            setup: Setup {
                stale_tokens: true,
                ..setup()
            },
            script: call("ue-a", Prep::Token { id3p: ID3P }),
            expected: REJECTED,
        },
        Variant {
            solution: 4,
            id: "token-revoked",
            title: "an ex-employee presents the token it got while employed: the enterprise revoked it, authorisation is refused, no name card",
            threat: Some(
                "§5.1.2 threat 2: a UE uses an ID that no longer belongs to it (ex-employee)",
            ),
            figure: figure(How::HeldToken, false, true),
            choices: with(&["6.4-authorization-header", "6.4-rejected"]),
            setup: setup(),
            script: call("ue-x", Prep::HeldToken { id3p: ID3P }),
            expected: REJECTED,
        },
        Variant {
            solution: 4,
            id: "authenticate",
            title: "option B without a token (§6.4.2.2): the authorization server authenticates UE-A by a challenge relayed in a 401; the signed answer authorises the name card",
            threat: Some(
                "§5.1.2 threat 1: a UE uses IDs belonging to others (the server proves who asks)",
            ),
            figure: figure(How::Authenticate, true, true),
            choices: with(&[
                "6.4-authorization-header",
                "6.4-authenticate",
                "6.4-name-card",
            ]),
            setup: setup(),
            script: call("ue-a", Prep::Authenticate { id3p: ID3P }),
            expected: CARD,
        },
        Variant {
            solution: 4,
            id: "callee-unverified",
            title: "the callee is not subscribed to verification of third party identities: nothing is verified, no name card is shown",
            threat: None,
            figure: figure(How::Token, true, false),
            choices: with(&["6.4-authorization-header", "6.4-name-card"]),
            setup: Setup {
                callee_unverified: true,
                ..setup()
            },
            script: call("ue-a", Prep::Token { id3p: ID3P }),
            expected: Expected {
                verstat: "No-TN-Validation",
                name: None,
                jcard: false,
                from_verstat: Some("No-TN-Validation"),
                ..CARD
            },
        },
    ]
}
