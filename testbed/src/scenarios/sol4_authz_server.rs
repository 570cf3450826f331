//! Solution 4 (TR 33.790 §6.4): the enterprise's authorization server, reached through the
//! operator's NEF, authorises the third party specific user identity and creates the
//! enterprise name card that the signing server signs. Option A: the NEF allocates a
//! designated IMPU for the UE (step 0a) and the call comes from it. Option B: the UE presents
//! the 3P ID, the server's realm and a token in its INVITE's Authorization header; or, in the
//! alternative procedure (§6.4.2.2), the server authenticates the UE instead. The terminating
//! network verifies only for callees subscribed to verification (Figure 6.4.2-1).

use proto::trace::{Act, Reason};
use proto::wire::authz::{
    ALLOCATE_PATH, AUTHZ_AUTHORIZE_PATH, NEF_AUTHORIZE_PATH, PROVISION_PATH, TOKEN_PATH,
};
use stir::ms::{SIGNING_PATH, VERIFICATION_PATH};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{Attack, Prep, Script};
use crate::scenario::{
    Figure, Hop, Require, Step, act, hop, http, http_response, invite, invite_response,
};
use crate::solution::{KI1, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{Setup, family};

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
/// The enterprise's number its employees may present (fixtures/enterprise/authz.toml).
const ID3P_TN: &str = "tel:+12025550100";
const CALLERS: &[&str] = &[UE_A, UE_X];

/// Solution 4 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 4,
    key_issue: KI1,
    clause: "6.4",
    title: "3P authorization server via NEF",
    short: "3P authz, NEF",
    figures: &["6.4.2-1"],
    needs: &[family::NEF_AUTHZ],
    choices: &[
        S_CSCF,
        TOKEN,
        AUTHORIZATION_HEADER,
        NAME_CARD,
        REJECTED,
        AUTHENTICATE,
    ],
    as_flow: ims_as::flows::authz_server,
    variants,
};

/// `6.4-s-cscf`.
pub const S_CSCF: Choice = Choice {
    id: "6.4-s-cscf",
    clause: "6.4.2.1 step 2 (\"e.g. S-CSCF\")",
    question: "Which originating IMS entity checks the subscription and sends the authorisation request to the NEF.",
    answer: "The originating IMS AS, on the S-CSCF's ISC path (as for the other solutions): it reads the subscription from the HSS (third_party_ids, or a designated IMPU with its server's realm) and calls the NEF over mutual TLS. The NEF selects the authorization server by realm (option B) or by the IMPU it allocated (option A).",
};

/// `6.4-token`.
pub const TOKEN: Choice = Choice {
    id: "6.4-token",
    clause: "6.4.2.1 option B (\"content of the token … out of scope\")",
    question: "What the option B token is and how the UE gets it (step 0b).",
    answer: "An ES256 JWT (iss, sub = the UE's IMPU, aud = the operator's domain, 3pid, iat, exp = iat + 1 h, jti) signed with the authorization server's TLS key. The UE gets it over HTTPS by signing \"impu|3pid|iat\" with its UE key, which the server checks against the UE certificate (UE CA). The server alone validates it (signature, audience, expiry, revocation, subject, 3P ID).",
};

/// `6.4-authorization-header`.
pub const AUTHORIZATION_HEADER: Choice = Choice {
    id: "6.4-authorization-header",
    clause: "6.4.2.1 step 1",
    question: "How the INVITE's Authorization header carries the 3P ID, the realm and the token.",
    answer: "The Bearer scheme in RFC 7235 auth-param form: `Authorization: Bearer realm=\"authz.enterprise.example\", 3pid=\"tel:+12025550100\", token=\"<JWT>\"`. The UE also presents the 3P ID in From. The originating IMS AS removes the header before the INVITE leaves the network.",
};

/// `6.4-name-card`.
pub const NAME_CARD: Choice = Choice {
    id: ims_as::choices::SOL4_NAME_CARD,
    clause: "6.4.2.1 step 3, NOTE 2, Editor's Note (dynamic name cards FFS)",
    question: "What the enterprise name card is and how it is signed and carried.",
    answer: "A static jCard per employee, served by the authorization server at /cards/<file>; the IMS AS asserts the 3P ID in P-Asserted-Identity (display name = the card's name) and has it signed as orig with the card as an `rcd` PASSporT (nam, jcl, rcdi over the jCard), plus Call-Info purpose=rcd-jcard.",
};

/// `6.4-rejected`.
pub const REJECTED: Choice = Choice {
    id: ims_as::choices::SOL4_REJECTED,
    clause: "6.4.2.1 step 3 (\"optionally with a failed code\")",
    question: "What the callee sees when the authorisation is rejected.",
    answer: "The call continues with the caller's own number asserted and signed and no name card; the 3P ID the caller put in From is not the validated number, so the terminating AS marks it verstat=TN-Validation-Failed (P-Asserted-Identity keeps TN-Validation-Passed).",
};

/// `6.4-authenticate`.
pub const AUTHENTICATE: Choice = Choice {
    id: ims_as::choices::SOL4_AUTHENTICATE,
    clause: "6.4.2.2 (\"authentication … out of scope\")",
    question: "How the authorization server authenticates the UE instead of taking a token.",
    answer: "By challenge and response relayed through the IMS: the server answers with a nonce, the originating IMS AS answers the INVITE 401 with `WWW-Authenticate: Bearer realm, nonce`, the UE re-sends the INVITE with its ES256 signature over the nonce (UE key), and the server checks it against the UE certificate. Nonces are single-use and expire.",
};

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
    /// Option B with a token issued to another employee, copied before this run.
    CopiedToken,
    /// Option B: the token is refused at step 0b; the UE presents the 3P ID without one.
    TokenDenied(Reason),
}

impl How {
    /// Whether the server challenges the UE (§6.4.2.2).
    fn challenged(self) -> bool {
        self == How::Authenticate
    }

    /// Whether the INVITE carries the 3P ID in Authorization (option B).
    fn option_b(self) -> bool {
        self != How::DesignatedImpu
    }
}

/// What the terminating network does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Callee {
    /// Subscribed to verification: verified.
    Verifies,
    /// Not subscribed: nothing is verified.
    Unverified,
}

/// Steps 0a and 0b: the preparation each option takes.
fn preparation(how: How) -> [Step; 2] {
    let step0b = match how {
        How::TokenDenied(reason) => vec![
            hop(CALLERS, &[AUTHZ3P], http("POST", TOKEN_PATH)),
            act(&[AUTHZ3P], Act::IssueToken).refused(reason),
            hop(&[AUTHZ3P], CALLERS, http_response("POST", TOKEN_PATH))
                .with(Require::AnswersPrevious)
                .with(Require::NoJson("/access_token")),
        ],
        _ => vec![
            hop(CALLERS, &[AUTHZ3P], http("POST", TOKEN_PATH)),
            act(&[AUTHZ3P], Act::IssueToken),
            hop(&[AUTHZ3P], CALLERS, http_response("POST", TOKEN_PATH))
                .with(Require::AnswersPrevious)
                .with(Require::Json("/access_token")),
        ],
    };
    [
        Step::new(
            "0a",
            ("third party Authorization Server", "NEF, HSS"),
            "option A: the enterprise asks the NEF for a designated IMPU for its employee; the NEF provisions it and its 3P ID service profile in the HSS",
            vec![
                hop(&[AUTHZ3P], &[NEF_O], http("POST", ALLOCATE_PATH)),
                act(&[NEF_O], Act::AllocateImpu),
                hop(&[NEF_O], &[HSS_O], http("POST", PROVISION_PATH)),
                act(&[HSS_O], Act::ProvisionImpu),
                hop(&[NEF_O], &[AUTHZ3P], http_response("POST", ALLOCATE_PATH))
                    .with(Require::Status(200)),
                act(&[UE_A], Act::UseDesignatedImpu),
            ],
        ),
        Step::new(
            "0b",
            ("UE", "third party Authorization Server"),
            "option B: the UE proves its key to the enterprise and gets a token for the 3P ID",
            step0b,
        ),
    ]
}

/// Step 3: the authorization server decides (after a challenge, §6.4.2.2).
fn authorisation(how: How, refused: Option<Reason>) -> Vec<Hop> {
    let mut hops = Vec::new();
    if how.challenged() {
        hops.extend([
            act(&[AUTHZ3P], Act::ChallengeUe),
            hop(&[PCSCF_O], CALLERS, invite_response(401, 401))
                .with(Require::HeaderHas("WWW-Authenticate", "Bearer")),
            hop(CALLERS, &[PCSCF_O], invite()).with(Require::HeaderHas("Authorization", "proof=")),
            hop(&[NEF_O], &[AUTHZ3P], http("POST", AUTHZ_AUTHORIZE_PATH))
                .with(Require::Json("/proof")),
        ]);
    }
    hops.push(match refused {
        None => act(&[AUTHZ3P], Act::AuthorizeId3p),
        Some(reason) => act(&[AUTHZ3P], Act::AuthorizeId3p).refused(reason),
    });
    hops
}

/// Steps 7-8: the callee's subscription, then verification.
fn verification(callee: Callee) -> Vec<Hop> {
    let mut hops = vec![hop(&[AS_T], &[HSS_T], http("GET", "/sh/v1/subscribers/"))];
    match callee {
        Callee::Verifies => hops.extend([
            act(&[AS_T], Act::VerificationSubscription),
            hop(&[AS_T], &[STI_VS_T], http("POST", VERIFICATION_PATH)),
            act(&[STI_VS_T], Act::VerifyIdentity),
            hop(
                &[STI_VS_T],
                &[AS_T],
                http_response("POST", VERIFICATION_PATH),
            )
            .with(Require::AnswersPrevious),
        ]),
        Callee::Unverified => {
            hops.push(act(&[AS_T], Act::VerificationSubscription).refused(Reason::NotSubscribed))
        }
    }
    hops
}

fn figure(how: How, refused: Option<Reason>, callee: Callee) -> Figure {
    let mut step1 = hop(CALLERS, &[PCSCF_O], invite());
    if how.option_b() {
        step1 = step1.with(Require::HeaderHas("Authorization", "Bearer"));
    }
    let mut steps = preparation(how).to_vec();
    steps.extend([
        Step::new(
            "1",
            ("UE / PBX", "S-CSCF"),
            "the UE sends the INVITE: from the designated IMPU (A), or with the 3P ID, realm and token in Authorization and the 3P ID in From (B)",
            vec![step1],
        ),
        Step::new(
            "2",
            ("S-CSCF", "NEF, third party Authorization Server"),
            "the originating IMS AS (for the S-CSCF) checks the subscription allows 3P IDs and asks the NEF, which selects the enterprise's authorization server by realm or designated IMPU",
            vec![
                hop(&[AS_O], &[HSS_O], http("GET", "/sh/v1/subscribers/")),
                hop(&[AS_O], &[NEF_O], http("POST", NEF_AUTHORIZE_PATH)),
                act(&[NEF_O], Act::SelectAuthzServer),
                hop(&[NEF_O], &[AUTHZ3P], http("POST", AUTHZ_AUTHORIZE_PATH)),
            ],
        ),
        Step::new(
            "3",
            ("third party Authorization Server", "(internal)"),
            "the authorization server checks the token, the designated IMPU or (6.4.2.2) the UE's answer to its challenge, and creates the enterprise name card (or refuses)",
            authorisation(how, refused),
        ),
        Step::new(
            "4-5",
            ("originating IMS network", "Signing Server"),
            "the IMS AS asserts the 3P ID in P-Asserted-Identity and has the STI-AS sign it with the name card (shaken and rcd PASSporTs)",
            vec![
                hop(&[AS_O], &[STI_AS_O], http("POST", SIGNING_PATH))
                    .with(Require::Json("/signingRequest/rcd/nam")),
                act(&[STI_AS_O], Act::SignPassport),
                hop(&[STI_AS_O], &[AS_O], http_response("POST", SIGNING_PATH))
                    .with(Require::AnswersPrevious),
            ],
        ),
        Step::new(
            "6",
            ("originating IMS network", "terminating IMS network"),
            "the INVITE with the Identity headers crosses the NNI",
            vec![
                hop(&[IBCF_O], &[IBCF_T], invite()).with(Require::Header("Identity")),
                hop(&[IBCF_T], &[SCSCF_T], invite()).with(Require::Header("Identity")),
            ],
        ),
        Step::new(
            "7-8",
            ("terminating IMS network", "Verification Server"),
            "the terminating IMS AS checks the callee subscribed to verification (HSS) and, if so, has the STI-VS verify",
            verification(callee),
        ),
        Step::new(
            "9",
            ("terminating IMS network", "terminating UE"),
            "the callee receives and renders the 3P ID and name card (only if verified)",
            vec![hop(&[PCSCF_T], &[UE_B], invite()).with(Require::HeaderHas(
                "P-Asserted-Identity",
                "verstat=",
            ))],
        ),
    ]);
    let figure = Figure {
        clause: "6.4.2.1",
        figure: "6.4.2-1",
        title: "call flow for using a third party identity authorised by the enterprise",
        steps,
    };
    plan(figure, how, refused)
}

/// What the option takes and the threat prevents.
fn plan(figure: Figure, how: How, refused: Option<Reason>) -> Figure {
    let figure = match how {
        How::DesignatedImpu => figure.skip(
            &["0b"],
            "option A: the designated IMPU stands for the 3P ID; no token",
        ),
        How::Token => figure.skip(&["0a"], "option B: no designated IMPU"),
        How::HeldToken => figure.skip(&["0a"], "option B: no designated IMPU").skip(
            &["0b"],
            "the token was obtained before this run, while the caller was an employee",
        ),
        How::Authenticate => figure.skip(&["0a"], "option B: no designated IMPU").skip(
            &["0b"],
            "§6.4.2.2: the server authenticates the UE instead of a token",
        ),
        How::CopiedToken => figure.skip(&["0a"], "option B: no designated IMPU").skip(
            &["0b"],
            "the token was issued to another employee before this run, and copied",
        ),
        How::TokenDenied(_) => figure.skip(&["0a"], "option B: no designated IMPU"),
    };
    if refused.is_some() {
        figure.prevent(&["4-5"], "3")
    } else {
        figure
    }
}

/// A name card signed, verified and shown.
fn card() -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::FromVerstat("TN-Validation-Passed"),
        Check::Name(Some(Q_BRANCH)),
        Check::Jcard(true),
        Check::Signed {
            ppt: "rcd",
            yes: true,
        },
    ]
}

/// A rejected authorisation: the caller's own number is signed and passes; the 3P ID in From
/// is not vouched for; the enterprise refused for `reason`.
fn rejected(reason: Reason) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::FromVerstat("TN-Validation-Failed"),
        Check::Name(None),
        Check::Jcard(false),
        Check::Signed {
            ppt: "rcd",
            yes: false,
        },
        Check::Refusal {
            by: AUTHZ3P,
            act: Act::AuthorizeId3p,
            reason,
        },
    ]
}

fn call(caller: &'static str, prep: Prep) -> Script {
    attacked(caller, prep, Attack::None)
}

fn attacked(caller: &'static str, prep: Prep, attack: Attack) -> Script {
    Script::Call {
        caller,
        display: None,
        callee: UE_B,
        target: CALLEE,
        prep,
        attack,
    }
}

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &choices::MS_TRANSPORT,
        &choices::MS_TWO_REQUESTS,
        &S_CSCF,
        &TOKEN,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

const NO_LONGER_OWNED: Threat = Threat {
    clause: "5.1.2",
    text: "threat 2: a UE uses an ID that no longer belongs to it",
    ids: &[ThreatId::FormerId],
};

/// Every variant of solution 4.
pub fn variants() -> Vec<Variant> {
    [happy(), threats(), impostors(), in_transit()].concat()
}

/// A 3P ID the enterprise has, but gives none of its employees (fixtures/enterprise/authz.toml).
const UNENTITLED_TN: &str = "tel:+12025550199";
/// The user behind the IP-PBX, another employee (fixtures/world.toml).
const PBX_USER: &str = "ue-pbx";

const FORGED: Threat = Threat {
    clause: "5.1.2",
    text: "threat 1: a UE uses IDs belonging to others or forged IDs",
    ids: &[ThreatId::ForgedId],
};

/// Callers presenting what is not theirs: a proof with another UE's key, another employee's
/// token, a 3P ID they are not entitled to. The authorization server refuses each for its
/// reason; the call goes on with the caller's own number.
fn impostors() -> Vec<Variant> {
    vec![
        Variant {
            solution: 4,
            id: "wrong-key-proof",
            title: "someone holding UE-A's SIP credentials but not its UE key answers the server's challenge with another key (UE-M's): the signature does not verify against UE-A's certificate, authorisation is refused",
            threat: Some(FORGED),
            figure: figure(
                How::Authenticate,
                Some(Reason::SignatureInvalid),
                Callee::Verifies,
            ),
            choices: with(&[&AUTHORIZATION_HEADER, &AUTHENTICATE, &REJECTED]),
            setup: Setup::default(),
            script: attacked(
                UE_A,
                Prep::Authenticate { id3p: ID3P_TN },
                Attack::ForeignKey { of: UE_M },
            ),
            checks: rejected(Reason::SignatureInvalid),
        },
        Variant {
            solution: 4,
            id: "stolen-token",
            title: "UE-A presents a token the enterprise issued to another employee (the user behind the PBX): its subject is not UE-A, authorisation is refused",
            threat: Some(FORGED),
            figure: figure(
                How::CopiedToken,
                Some(Reason::ClaimMismatch),
                Callee::Verifies,
            ),
            choices: with(&[&AUTHORIZATION_HEADER, &REJECTED]),
            setup: Setup::default(),
            script: call(
                UE_A,
                Prep::OthersToken {
                    id3p: ID3P_TN,
                    holder: PBX_USER,
                },
            ),
            checks: rejected(Reason::ClaimMismatch),
        },
        Variant {
            solution: 4,
            id: "not-entitled",
            title: "UE-A asks for a 3P ID of the enterprise it is not entitled to: no token (step 0b refused); presenting it anyway, the server refuses it at once, not entitled (no challenge: whatever UE-A proved, the answer would be no)",
            threat: Some(FORGED),
            figure: figure(
                How::TokenDenied(Reason::NotEntitled),
                Some(Reason::NotEntitled),
                Callee::Verifies,
            ),
            choices: with(&[&AUTHORIZATION_HEADER, &REJECTED]),
            setup: Setup::default(),
            script: call(
                UE_A,
                Prep::TokenIfGranted {
                    id3p: UNENTITLED_TN,
                },
            ),
            checks: {
                let mut c = rejected(Reason::NotEntitled);
                c.push(Check::Refusal {
                    by: AUTHZ3P,
                    act: Act::IssueToken,
                    reason: Reason::NotEntitled,
                });
                c
            },
        },
    ]
}

/// The NNI attacker on a name card: the signed card rewritten, the card URL swapped. The 3P ID
/// still verifies; the card is not shown.
fn in_transit() -> Vec<Variant> {
    let unshown = |extra: Check| {
        vec![
            Check::Answered,
            Check::Verstat("TN-Validation-Passed"),
            Check::Name(None),
            Check::Jcard(false),
            Check::Signed {
                ppt: "rcd",
                yes: true,
            },
            extra,
        ]
    };
    let threat = Threat {
        clause: "5.1.2",
        text: "threat 3: the ID is manipulated between IMS networks",
        ids: &[ThreatId::IdInTransit],
    };
    let choices = with(&[
        &AUTHORIZATION_HEADER,
        &NAME_CARD,
        &choices::TERM_DISPLAY,
        &choices::THREAT_NNI,
    ]);
    vec![
        Variant {
            solution: 4,
            id: "card-tampered",
            title: "an attacker on the NNI rewrites the name on the signed name card: the rcd PASSporT's signature fails, no card is shown, the 3P ID itself still verifies",
            threat: Some(threat),
            figure: figure(How::Token, None, Callee::Verifies),
            choices: choices.clone(),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::RcdName("Totally Legit Bank".into())),
                ..Setup::default()
            },
            script: call(UE_A, Prep::Token { id3p: ID3P_TN }),
            checks: unshown(Check::VsRejects {
                ppt: "rcd",
                code: 438,
                reason: Reason::SignatureInvalid,
            }),
        },
        Variant {
            solution: 4,
            id: "jcard-url-swapped",
            title: "an attacker on the NNI points Call-Info at another card: it is not the signed jcl, so no card is shown",
            threat: Some(threat),
            figure: figure(How::Token, None, Callee::Verifies),
            choices,
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::CallInfoUrl(
                    "https://authz.enterprise.example/cards/totally-legit-bank.json".into(),
                )),
                ..Setup::default()
            },
            script: call(UE_A, Prep::Token { id3p: ID3P_TN }),
            checks: unshown(Check::CheckFails {
                by: AS_T,
                reason: Reason::ClaimMismatch,
            }),
        },
    ]
}

/// The happy paths: option A and option B.
fn happy() -> Vec<Variant> {
    vec![
        Variant {
            solution: 4,
            id: "option-a",
            title: "option A: the NEF allocates a designated IMPU for UE-A (provisioned in the HSS); the call from it is authorised, the name card signed, verified and shown",
            threat: None,
            figure: figure(How::DesignatedImpu, None, Callee::Verifies),
            choices: with(&[&NAME_CARD]),
            setup: Setup::default(),
            script: call(UE_A, Prep::DesignatedImpu { id3p: ID3P_TN }),
            checks: card(),
        },
        Variant {
            solution: 4,
            id: "option-b",
            title: "option B: UE-A gets a token from the enterprise and presents the 3P ID with it; the authorization server checks the token and makes the name card",
            threat: None,
            figure: figure(How::Token, None, Callee::Verifies),
            choices: with(&[&AUTHORIZATION_HEADER, &NAME_CARD]),
            setup: Setup::default(),
            script: call(UE_A, Prep::Token { id3p: ID3P_TN }),
            checks: card(),
        },
    ]
}

/// Old tokens, the challenge, and a callee not subscribed to verification.
fn threats() -> Vec<Variant> {
    vec![
        Variant {
            solution: 4,
            id: "token-expired",
            title: "option B with an expired token: authorisation is refused, the call goes on with UE-A's own number and no name card; the 3P ID in From is marked TN-Validation-Failed",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 2: a UE uses an ID that no longer belongs to it (an old token)",
                ids: &[ThreatId::FormerId],
            }),
            figure: figure(How::Token, Some(Reason::Expired), Callee::Verifies),
            choices: with(&[&AUTHORIZATION_HEADER, &REJECTED]),
            setup: Setup {
                stale_tokens: true,
                ..Setup::default()
            },
            script: call(UE_A, Prep::Token { id3p: ID3P_TN }),
            checks: rejected(Reason::Expired),
        },
        Variant {
            solution: 4,
            id: "token-revoked",
            title: "an ex-employee presents the token it got while employed: the enterprise revoked it, authorisation is refused, no name card",
            threat: Some(Threat {
                text: "threat 2: a UE uses an ID that no longer belongs to it (ex-employee)",
                ..NO_LONGER_OWNED
            }),
            figure: figure(How::HeldToken, Some(Reason::Revoked), Callee::Verifies),
            choices: with(&[&AUTHORIZATION_HEADER, &REJECTED]),
            setup: Setup::default(),
            script: call(UE_X, Prep::HeldToken { id3p: ID3P_TN }),
            checks: rejected(Reason::Revoked),
        },
        Variant {
            solution: 4,
            id: "authenticate",
            title: "option B without a token (§6.4.2.2): the authorization server authenticates UE-A by a challenge relayed in a 401; the signed answer authorises the name card",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 1: a UE uses IDs belonging to others (the server proves who asks)",
                ids: &[],
            }),
            figure: figure(How::Authenticate, None, Callee::Verifies),
            choices: with(&[&AUTHORIZATION_HEADER, &AUTHENTICATE, &NAME_CARD]),
            setup: Setup::default(),
            script: call(UE_A, Prep::Authenticate { id3p: ID3P_TN }),
            checks: card(),
        },
        Variant {
            solution: 4,
            id: "callee-unverified",
            title: "the callee is not subscribed to verification of third party identities: nothing is verified, no name card is shown",
            threat: None,
            figure: figure(How::Token, None, Callee::Unverified),
            choices: with(&[&AUTHORIZATION_HEADER, &NAME_CARD]),
            setup: Setup {
                callee_unverified: true,
                ..Setup::default()
            },
            script: call(UE_A, Prep::Token { id3p: ID3P_TN }),
            checks: vec![
                Check::Answered,
                Check::Verstat("No-TN-Validation"),
                Check::FromVerstat("No-TN-Validation"),
                Check::Name(None),
                Check::Jcard(false),
                Check::Refusal {
                    by: AS_T,
                    act: Act::VerificationSubscription,
                    reason: Reason::NotSubscribed,
                },
            ],
        },
    ]
}
