//! Solution 1 (TR 33.790 §6.1): the HSS is provisioned with the 3P ID information of an IMPU,
//! or with a URI to the repository holding it. The originating IMS AS gets it (fetching from
//! the repository on a URI), has the signing server sign it together with the caller's number,
//! and the terminating IMS AS has the verification server check it before UE-B is shown the
//! 3P ID (Figures 6.1.2-1 and 6.1.2-2); and the threats of §5.1.2 as variants.

use proto::trace::{Act, Reason};
use proto::wire::sh::Storage;
use stir::ms::{SIGNING_PATH, VERIFICATION_PATH};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{Attack, Prep, Script};
use crate::scenario::{Figure, Require, Step, act, hop, http, http_response, invite, token};
use crate::solution::{KI1, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::Setup;

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
const CALLERS: &[&str] = &[UE_A, UE_M];

/// Solution 1 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 1,
    key_issue: KI1,
    clause: "6.1",
    title: "3P ID info in HSS or a repository",
    short: "3P ID via HSS",
    figures: &["6.1.2-1", "6.1.2-2"],
    needs: &[],
    choices: &[STORAGE, HSS_FETCH, PASSPORT],
    as_flow: ims_as::flows::hss_id_info,
    variants,
};

/// `6.1-storage`.
pub const STORAGE: Choice = Choice {
    id: "6.1-storage",
    clause: "6.1.1 Editor's Note",
    question: "Whether the HSS stores the third party ID information itself or a pointer to it.",
    answer: "Both are provisioned per IMPU (fixtures/subscribers.toml); a world-wide storage option says which the HSS hands out. Variant 1:info runs with data, 1:uri with pointers (the enterprise's 3P ID server is the repository).",
};

/// `6.1-hss-fetch`.
pub const HSS_FETCH: Choice = Choice {
    id: "6.1-hss-fetch",
    clause: "6.1.2 step 4",
    question: "When and from where the HSS fetches the 3P ID information (\"if needed\").",
    answer: "The TR leaves \"if needed\" open. We read it as: the HSS holds only a URI and the operator has it resolve the URI itself. Variant 1:hss-fetch runs that way: the HSS fetches from the repository over mutual TLS (step 4) and returns the information (step 5), so the IMS AS never meets the repository. Everywhere else the HSS returns what it holds and step 4 is n/a; given a URI, the IMS AS fetches (step 6).",
};

/// `6.1-passport`.
pub const PASSPORT: Choice = Choice {
    id: ims_as::choices::SOL1_PASSPORT,
    clause: "6.1.2 steps 7-8",
    question: "What the signing server signs for the third party ID information, and in which PASSporT.",
    answer: "One `shaken` PASSporT that also carries the information as RFC 9795 `rcd` claims (`nam`), so the caller's number and the 3P ID verify together: altering either fails the whole verification (TN-Validation-Failed). The 3P ID is shown as the P-Asserted-Identity display name.",
};

/// How the IMS AS comes by the 3P ID information (step 5's answer).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The HSS returned the information itself.
    Info,
    /// The HSS returned a URI: the AS fetches from the repository.
    Uri,
    /// The HSS held a URI, fetched from the repository itself (step 4) and returned the
    /// information.
    Fetched,
    /// The IMPU is not subscribed (404).
    NotSubscribed,
}

/// The originating half, Figure 6.1.2-1 (steps 1–10a).
fn originating(answer: Answer) -> Vec<Step> {
    let mut steps = lookup(answer);
    steps.extend(signing());
    steps
}

/// Steps 1–6: the INVITE reaches the IMS AS, which gets the 3P ID information.
fn lookup(answer: Answer) -> Vec<Step> {
    let response = hop(&[HSS_O], &[AS_O], http_response("GET", "/sh/v1/3pid-info/"));
    // The answer follows step 3's request directly, except when the HSS fetched in between
    // (step 4's exchange is then the previous match): matched by its request line instead.
    let answered = match answer {
        Answer::Fetched => response.with(Require::Status(200)),
        Answer::Info | Answer::Uri | Answer::NotSubscribed => {
            response.with(Require::AnswersPrevious)
        }
    };
    let step5 = match answer {
        Answer::Info | Answer::Fetched => vec![
            answered.with(Require::Json("/info")),
            act(&[AS_O], Act::IdInfoLookup),
        ],
        Answer::Uri => vec![answered.with(Require::Json("/url"))],
        Answer::NotSubscribed => vec![
            answered.with(Require::Status(404)),
            act(&[AS_O], Act::IdInfoLookup).refused(Reason::NotSubscribed),
        ],
    };
    vec![
        Step::new(
            "1",
            ("UE-A", "CSCF"),
            "the caller sends the INVITE from its IMPU (the one subscribed to 3P ID delivery, or not)",
            vec![hop(CALLERS, &[PCSCF_O], invite())],
        ),
        Step::new(
            "2",
            ("CSCF", "IMS AS"),
            "the S-CSCF's originating filter criteria send the INVITE to the IMS AS for the 3P ID service",
            vec![hop(&[SCSCF_O], &[AS_O], invite())],
        ),
        Step::new(
            "3",
            ("IMS AS", "HSS"),
            "the IMS AS asks the HSS for the IMPU's 3P ID information (mutual TLS)",
            vec![hop(&[AS_O], &[HSS_O], http("GET", "/sh/v1/3pid-info/"))],
        ),
        step4(answer),
        Step::new(
            "5",
            ("HSS", "IMS AS"),
            "the HSS returns the 3P ID information, or the URI of the repository holding it (or 404: not subscribed)",
            step5,
        ),
        Step::new(
            "6",
            ("IMS AS", "repository"),
            "given a URI, the IMS AS fetches the 3P ID information from the enterprise's repository",
            vec![
                hop(&[AS_O], &[ID3P], http("GET", "/3pid/v1/subscribers/")),
                hop(
                    &[ID3P],
                    &[AS_O],
                    http_response("GET", "/3pid/v1/subscribers/"),
                )
                .with(Require::AnswersPrevious)
                .with(Require::Json("/name")),
                act(&[AS_O], Act::IdInfoLookup),
            ],
        ),
    ]
}

/// Step 4: the HSS fetches from the repository, when it holds only a URI and is set to follow
/// it (choice `6.1-hss-fetch`).
fn step4(answer: Answer) -> Step {
    let step = Step::new(
        "4",
        ("HSS", "repository"),
        "the HSS, holding only a URI, fetches the 3P ID information from the repository itself (mutual TLS)",
        vec![
            hop(&[HSS_O], &[ID3P], http("GET", "/3pid/v1/subscribers/")),
            hop(
                &[ID3P],
                &[HSS_O],
                http_response("GET", "/3pid/v1/subscribers/"),
            )
            .with(Require::AnswersPrevious)
            .with(Require::Json("/name")),
        ],
    );
    match answer {
        Answer::Fetched => step,
        Answer::Info | Answer::Uri | Answer::NotSubscribed => step.not_taken(
            "this HSS returns what it holds; only 1:hss-fetch has it follow a URI (choice 6.1-hss-fetch)",
        ),
    }
}

/// Steps 7–10a: the information signed with the caller's number, and the INVITE sent on.
fn signing() -> Vec<Step> {
    vec![
        Step::new(
            "7-8",
            ("IMS AS", "Signing Server"),
            "the IMS AS sends the 3P ID information with the caller's number to the STI-AS over Ms and gets one shaken PASSporT covering both",
            vec![
                hop(&[AS_O], &[STI_AS_O], http("POST", SIGNING_PATH))
                    .with(Require::Json("/signingRequest/rcd/nam")),
                token(&[STI_AS_O], "shaken"),
                act(&[STI_AS_O], Act::SignPassport),
                hop(&[STI_AS_O], &[AS_O], http_response("POST", SIGNING_PATH))
                    .with(Require::AnswersPrevious)
                    .with(Require::Status(200)),
            ],
        ),
        Step::new(
            "9",
            ("IMS AS", "CSCF"),
            "the IMS AS returns the INVITE with the 3P ID (P-Asserted-Identity display name) and the Identity header",
            vec![
                hop(&[AS_O], &[SCSCF_O], invite())
                    .with(Require::IdentityClaim("/rcd/nam"))
                    .with(Require::DisplayName("P-Asserted-Identity")),
            ],
        ),
        Step::new(
            "10a",
            ("CSCF", "terminating network"),
            "the S-CSCF routes the INVITE out through the egress IBCF over the NNI",
            vec![
                hop(&[SCSCF_O], &[IBCF_O], invite()).with(Require::Header("Identity")),
                hop(&[IBCF_O], &[IBCF_T], invite()).with(Require::Header("Identity")),
            ],
        ),
    ]
}

/// The terminating half, Figure 6.1.2-2 (steps 10b–15). `verified`: what the STI-VS finds.
fn terminating(verified: Result<(), Reason>) -> Vec<Step> {
    let verify = match verified {
        Ok(()) => act(&[STI_VS_T], Act::VerifyIdentity),
        Err(reason) => act(&[STI_VS_T], Act::VerifyIdentity).refused(reason),
    };
    let verstat = if verified.is_ok() {
        "verstat=TN-Validation-Passed"
    } else {
        "verstat=TN-Validation-Failed"
    };
    vec![
        Step::new(
            "10b",
            ("originating network", "CSCF"),
            "the ingress IBCF hands the INVITE to the terminating S-CSCF",
            vec![hop(&[IBCF_T], &[SCSCF_T], invite()).with(Require::Header("Identity"))],
        ),
        Step::new(
            "11",
            ("S-CSCF", "IMS AS"),
            "the terminating S-CSCF sends the INVITE to the IMS AS per the callee's subscription",
            vec![hop(&[SCSCF_T], &[AS_T], invite()).with(Require::Header("Identity"))],
        ),
        Step::new(
            "12-13",
            ("IMS AS", "Verification Server"),
            "the IMS AS has the STI-VS verify the PASSporT (and so the 3P ID in it) and gets the result",
            vec![
                hop(&[AS_T], &[STI_VS_T], http("POST", VERIFICATION_PATH))
                    .with(Require::Json("/verificationRequest/identityHeader")),
                token(&[STI_VS_T], "shaken"),
                verify,
                hop(
                    &[STI_VS_T],
                    &[AS_T],
                    http_response("POST", VERIFICATION_PATH),
                )
                .with(Require::AnswersPrevious)
                .with(Require::Json("/verificationResponse/verstatValue")),
            ],
        ),
        Step::new(
            "14",
            ("IMS AS", "CSCF"),
            "the IMS AS returns the INVITE with verstat, and the 3P ID only if it verified",
            vec![
                hop(&[AS_T], &[SCSCF_T], invite())
                    .with(Require::HeaderHas("P-Asserted-Identity", verstat)),
            ],
        ),
        Step::new(
            "15",
            ("CSCF", "UE-B"),
            "the INVITE reaches UE-B, which renders the verified 3P ID",
            vec![
                hop(&[PCSCF_T], &[UE_B], invite())
                    .with(Require::DisplayName("P-Asserted-Identity"))
                    .with(Require::HeaderHas("P-Asserted-Identity", verstat)),
            ],
        ),
    ]
}

/// Figures 6.1.2-1 (originating, steps 1–10a) and 6.1.2-2 (terminating, steps 10b–15).
fn figures(answer: Answer, verified: Result<(), Reason>) -> Figure {
    let mut steps = originating(answer);
    steps.extend(terminating(verified));
    let figure = Figure {
        clause: "6.1.2",
        figure: "6.1.2-1, 6.1.2-2",
        title: "authorising and verifying third party ID information from the HSS (originating, then terminating network)",
        steps,
    };
    match answer {
        Answer::Info | Answer::Fetched => {
            figure.skip(&["6"], "the HSS returned the information itself")
        }
        Answer::Uri => figure,
        Answer::NotSubscribed => figure.prevent(&["6", "7-8", "9", "15"], "5"),
    }
}

fn delivered() -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::Name(Some(Q_BRANCH)),
        Check::Jcard(false),
        Check::Signed {
            ppt: "shaken",
            yes: true,
        },
        Check::Signed {
            ppt: "rcd",
            yes: false,
        },
    ]
}

fn call(caller: &'static str, display: Option<&'static str>) -> Script {
    Script::Call {
        caller,
        display,
        callee: UE_B,
        target: CALLEE,
        prep: Prep::None,
        attack: Attack::None,
    }
}

fn setup(storage: Storage) -> Setup {
    Setup {
        hss_storage: storage,
        ..Setup::default()
    }
}

/// Who asked the repository: the IMS AS (step 6) and the HSS (step 4).
fn repository_asked_by(ims_as: bool, hss: bool) -> Vec<Check> {
    vec![
        Check::Asked {
            from: AS_O,
            to: ID3P,
            yes: ims_as,
        },
        Check::Asked {
            from: HSS_O,
            to: ID3P,
            yes: hss,
        },
    ]
}

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &choices::MS_TRANSPORT,
        &HSS_FETCH,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

/// Every variant of solution 1.
pub fn variants() -> Vec<Variant> {
    [happy(), threats()].concat()
}

/// The happy paths: the information held by the HSS, or behind its URI (fetched by the IMS AS,
/// or by the HSS itself).
fn happy() -> Vec<Variant> {
    vec![
        Variant {
            solution: 1,
            id: "info",
            title: "the HSS holds UE-A's 3P ID information: it is signed with the caller's number, verified, and UE-B is shown it",
            threat: None,
            figure: figures(Answer::Info, Ok(())),
            choices: with(&[&STORAGE, &PASSPORT]),
            setup: setup(Storage::Data),
            script: call(UE_A, None),
            checks: [delivered(), repository_asked_by(false, false)].concat(),
        },
        Variant {
            solution: 1,
            id: "uri",
            title: "the HSS holds a URI: the IMS AS fetches the 3P ID information from the enterprise's repository, then as above",
            threat: None,
            figure: figures(Answer::Uri, Ok(())),
            choices: with(&[&STORAGE, &PASSPORT]),
            setup: setup(Storage::Pointer),
            script: call(UE_A, None),
            checks: [delivered(), repository_asked_by(true, false)].concat(),
        },
        Variant {
            solution: 1,
            id: "hss-fetch",
            title: "the HSS holds only a URI and follows it itself: it fetches the 3P ID information from the repository and hands the IMS AS the information",
            threat: None,
            figure: figures(Answer::Fetched, Ok(())),
            choices: with(&[&STORAGE, &PASSPORT]),
            setup: Setup {
                hss_fetch: true,
                ..setup(Storage::Pointer)
            },
            script: call(UE_A, None),
            checks: [delivered(), repository_asked_by(false, true)].concat(),
        },
    ]
}

/// The threats of §5.1.2 against it.
fn threats() -> Vec<Variant> {
    vec![
        Variant {
            solution: 1,
            id: "not-subscribed",
            title: "an IMPU not subscribed to 3P IDs names the enterprise in From: no 3P ID is signed or delivered",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 1: a malicious UE uses IDs belonging to others or forged IDs",
                ids: &[ThreatId::ForgedId],
            }),
            figure: figures(Answer::NotSubscribed, Ok(())),
            choices: with(&[&STORAGE, &choices::TERM_DISPLAY]),
            setup: setup(Storage::Data),
            script: call(UE_M, Some(Q_BRANCH)),
            checks: vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Passed"),
                Check::Name(None),
                Check::Refusal {
                    by: AS_O,
                    act: Act::IdInfoLookup,
                    reason: Reason::NotSubscribed,
                },
                Check::Asked {
                    from: AS_O,
                    to: ID3P,
                    yes: false,
                },
            ],
        },
        Variant {
            solution: 1,
            id: "altered",
            title: "the 3P ID is rewritten on the NNI: the one PASSporT no longer verifies, UE-B gets TN-Validation-Failed and no 3P ID",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 3: the ID is manipulated between IMS networks",
                ids: &[ThreatId::IdInTransit],
            }),
            figure: figures(Answer::Info, Err(Reason::SignatureInvalid)).prevent(&["15"], "12-13"),
            choices: with(&[
                &STORAGE,
                &PASSPORT,
                &choices::TERM_DISPLAY,
                &choices::THREAT_NNI,
            ]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::RcdName("Totally Legit Bank".into())),
                ..setup(Storage::Data)
            },
            script: call(UE_A, None),
            checks: vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Failed"),
                Check::Name(None),
                Check::VsRejects {
                    ppt: "shaken",
                    code: 438,
                    reason: Reason::SignatureInvalid,
                },
                Check::Refusal {
                    by: STI_VS_T,
                    act: Act::VerifyIdentity,
                    reason: Reason::SignatureInvalid,
                },
            ],
        },
    ]
}
