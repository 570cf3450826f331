//! Solution 3 (TR 33.790 §6.3): the HSS holds, per IMPU, an RCD URL or concrete RCD. The
//! originating IMS AS checks the association (authorisation), gets the URL or the RCD, fetches
//! the jCard behind a URL and has the STI-AS sign an `rcd` PASSporT with `rcdi` digests; the
//! terminating side verifies, re-fetching the jCard to check its digest (Figure 6.3.2-1); and
//! the threats of §5.1.2 as variants.

use proto::trace::{Act, Reason};
use proto::wire::sh::Storage;
use stir::ms::{SIGNING_PATH, VERIFICATION_PATH};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{Attack, Prep, Script};
use crate::scenario::{
    Figure, Hop, Require, Step, act, hop, http, http_response, invite, invite_response, token,
};
use crate::solution::{KI1, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::Setup;

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
const CALLERS: &[&str] = &[UE_A, UE_X];
/// How an Identity header names an `rcd` PASSporT.
const PPT_RCD: &str = "ppt=\"rcd\"";

/// Solution 3 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 3,
    key_issue: KI1,
    clause: "6.3",
    title: "RCD URL or RCD from the HSS",
    short: "RCD from HSS",
    figures: &["6.3.2-1"],
    needs: &[],
    choices: &[STORAGE, AS_FETCH, RCD_HEADER],
    as_flow: ims_as::flows::hss_rcd,
    variants,
};

/// `6.3-storage`.
pub const STORAGE: Choice = Choice {
    id: "6.3-storage",
    clause: "6.3.2 Editor's Notes",
    question: "Whether the HSS stores an RCD pointer or the RCD itself.",
    answer: "Both are provisioned for UE-A; a world-wide storage option picks what the HSS returns in step 4a: the RCD URL (3:url, 3:jcard-changed) or concrete RCD fetched in advance (3:concrete). Authorisation (step 3) is the existence of either association.",
};

/// `6.3-as-fetch`.
pub const AS_FETCH: Choice = Choice {
    id: "6.3-as-fetch",
    clause: "6.3.2 step 4b",
    question: "Whether the IMS AS fetches the RCD behind an RCD URL, and what it does with it.",
    answer: "It does: it reads the jCard's name for `nam` and computes `rcdi` over the bytes it fetched, and sends both in the Ms request. The STI-AS never signs a requester's `rcdi`: it fetches the jCard itself, computes `rcdi` over its own fetch and signs that (noting whether the requester's agreed); `iat` is its own clock's.",
};

/// `6.3-rcd-header`.
pub const RCD_HEADER: Choice = Choice {
    id: ims_as::choices::SOL3_RCD_HEADER,
    clause: "6.3.2 (\"defined by stage 3\")",
    question: "Which SIP headers carry the signed RCD.",
    answer: "An RFC 9795 `rcd` PASSporT beside the `shaken` one. An RCD URL goes in `jcl` with its `rcdi` digest and in Call-Info purpose=rcd-jcard; concrete RCD is embedded as a jCard in `jcd`, with no Call-Info. On the terminating side the STI-VS fetches the URL (step 9) to check the digest.",
};

/// What the HSS holds for the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rcd {
    /// An RCD URL: the jCard is fetched on both sides.
    Url,
    /// Concrete RCD, signed inline as `jcd`: nothing is fetched.
    Concrete,
    /// No association: not authorised.
    None,
}

/// Steps 3, 4a and 4b: authorisation, the RCD from the HSS, the jCard behind a URL.
fn lookup(rcd: Rcd) -> [Step; 3] {
    let mut step3 = vec![hop(&[AS_O], &[HSS_O], http("GET", "/sh/v1/subscribers/"))];
    if rcd == Rcd::None {
        step3.push(act(&[AS_O], Act::HssRcdLookup).refused(Reason::NotAuthorised));
    }
    let answer =
        hop(&[HSS_O], &[AS_O], http_response("GET", "/sh/v1/rcd/")).with(Require::AnswersPrevious);
    let mut step4a = vec![hop(&[AS_O], &[HSS_O], http("GET", "/sh/v1/rcd/"))];
    match rcd {
        Rcd::Concrete => {
            step4a.push(answer.with(Require::Json("/rcd/nam")));
            step4a.push(act(&[AS_O], Act::HssRcdLookup));
        }
        _ => step4a.push(answer.with(Require::Json("/urls"))),
    }
    let step4b: Vec<Hop> = vec![
        hop(&[AS_O], &[ID3P], http("GET", "/jcards/")),
        hop(&[ID3P], &[AS_O], http_response("GET", "/jcards/")).with(Require::AnswersPrevious),
        act(&[AS_O], Act::HssRcdLookup),
    ];
    [
        Step::new(
            "3",
            ("IMS AS", "HSS"),
            "the IMS AS reads the subscription: the IMPU may use a third party identity only if the HSS associates RCD with it",
            step3,
        ),
        Step::new(
            "4a",
            ("IMS AS/CSCF", "HSS"),
            "the IMS AS gets the RCD URL or the concrete RCD from the HSS (per its storage option)",
            step4a,
        ),
        Step::new(
            "4b",
            ("IMS AS/CSCF", "third party database"),
            "for a URL, the IMS AS fetches the jCard from the enterprise's server and digests it for rcdi",
            step4b,
        ),
    ]
}

/// Steps 5–7: signing and the INVITE crossing to the terminating network.
fn signing(rcd: Rcd) -> [Step; 3] {
    let request = hop(&[AS_O], &[STI_AS_O], http("POST", SIGNING_PATH))
        .with(Require::JsonIs("/signingRequest/ppt", "rcd"));
    let mut step5 = vec![request];
    let mut out = hop(&[AS_O], &[SCSCF_O], invite()).with(Require::HeaderHas("Identity", PPT_RCD));
    if rcd == Rcd::Url {
        // The STI-AS fetches the jCard itself and signs rcdi over its own fetch.
        step5.push(hop(&[STI_AS_O], &[ID3P], http("GET", "/jcards/")));
        out = out.with(Require::HeaderHas("Call-Info", "purpose=rcd-jcard"));
    }
    step5.extend([
        token(&[STI_AS_O], "rcd"),
        act(&[STI_AS_O], Act::SignPassport),
    ]);
    [
        Step::new(
            "5",
            ("IMS AS/CSCF", "STI-AS"),
            "the IMS AS asks the STI-AS over Ms to sign the caller's number and the RCD",
            step5,
        ),
        Step::new(
            "6",
            ("STI-AS", "IMS AS/CSCF"),
            "the STI-AS returns the Identity header values",
            vec![
                hop(&[STI_AS_O], &[AS_O], http_response("POST", SIGNING_PATH))
                    .with(Require::JsonHas("/signingResponse/identityHeader", PPT_RCD)),
            ],
        ),
        Step::new(
            "7",
            ("IMS AS/CSCF", "terminating IMS subsystem"),
            "the INVITE with the signed RCD (and Call-Info for a URL) crosses the NNI to the terminating network",
            vec![
                out,
                hop(&[IBCF_O], &[IBCF_T], invite()).with(Require::HeaderHas("Identity", PPT_RCD)),
                hop(&[SCSCF_T], &[AS_T], invite()).with(Require::HeaderHas("Identity", PPT_RCD)),
            ],
        ),
    ]
}

/// Steps 8–11: verification, the jCard check, delivery and the answer.
fn terminating(rcd: Rcd) -> [Step; 4] {
    let mut step9 = vec![
        hop(&[STI_VS_T], &[ID3P], http("GET", "/jcards/")),
        hop(&[ID3P], &[STI_VS_T], http_response("GET", "/jcards/")).with(Require::AnswersPrevious),
    ];
    if rcd == Rcd::Url {
        step9.push(act(&[AS_T], Act::RcdContentChecked));
    }
    [
        Step::new(
            "8",
            ("terminating IMS subsystem", "STI-VS"),
            "the terminating IMS AS has the STI-VS verify the PASSporTs",
            vec![
                hop(&[AS_T], &[STI_VS_T], http("POST", VERIFICATION_PATH))
                    .with(Require::Json("/verificationRequest/identityHeader")),
                act(&[STI_VS_T], Act::VerifyIdentity),
            ],
        ),
        Step::new(
            "9",
            ("terminating IMS subsystem", "third party database"),
            "for an RCD URL, the jCard is fetched from the enterprise's server and its digest checked against rcdi",
            step9,
        ),
        Step::new(
            "10",
            ("terminating IMS subsystem", "terminating UE"),
            "the INVITE reaches the callee, with the RCD only if it verified",
            vec![hop(&[PCSCF_T], &[UE_B], invite()).with(Require::HeaderHas(
                "P-Asserted-Identity",
                "verstat=TN-Validation-Passed",
            ))],
        ),
        Step::new(
            "11",
            (
                "terminating UE",
                "originating IMS subsystem, originating UE",
            ),
            "the callee rings and answers; 180 and 200 travel back to the caller",
            vec![
                hop(&[UE_B], &[PCSCF_T], invite_response(180, 189)),
                hop(&[UE_B], &[PCSCF_T], invite_response(200, 299)).with(Require::SameDialog),
                hop(&[PCSCF_O], CALLERS, invite_response(200, 299)),
            ],
        ),
    ]
}

fn figure(rcd: Rcd) -> Figure {
    let mut steps = vec![
        Step::new(
            "1",
            ("originating UE", "CSCF"),
            "the caller sends the INVITE with its IMPU",
            vec![hop(CALLERS, &[PCSCF_O], invite())],
        ),
        Step::new(
            "2",
            ("CSCF", "IMS AS"),
            "the S-CSCF sends the INVITE to the IMS AS (originating filter criteria)",
            vec![hop(&[SCSCF_O], &[AS_O], invite())],
        ),
    ];
    steps.extend(lookup(rcd));
    steps.extend(signing(rcd));
    steps.extend(terminating(rcd));
    let figure = Figure {
        clause: "6.3.2",
        figure: "6.3.2-1",
        title: "third party identity signing and verification with RCD from the HSS",
        steps,
    };
    match rcd {
        Rcd::Url => figure,
        Rcd::Concrete => figure.skip(
            &["4b", "9"],
            "concrete RCD is signed inline: nothing to fetch",
        ),
        Rcd::None => figure.prevent(&["4a", "4b", "5", "6", "7", "9"], "3"),
    }
}

fn shown(jcard: bool) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::Name(Some(Q_BRANCH)),
        Check::Jcard(jcard),
        Check::Asked {
            from: AS_O,
            to: ID3P,
            yes: jcard,
        },
        Check::Signed {
            ppt: "rcd",
            yes: true,
        },
    ]
}

fn call(caller: &'static str) -> Script {
    Script::Call {
        caller,
        display: None,
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

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &choices::MS_TRANSPORT,
        &choices::MS_TWO_REQUESTS,
        &STORAGE,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

/// Every variant of solution 3.
pub fn variants() -> Vec<Variant> {
    [happy(), threats()].concat()
}

/// The happy paths: an RCD URL, or concrete RCD.
fn happy() -> Vec<Variant> {
    vec![
        Variant {
            solution: 3,
            id: "url",
            title: "the HSS holds UE-A's RCD URL: the AS fetches the jCard, the STI-AS signs it with rcdi, the callee's side re-fetches and checks it and shows the RCD",
            threat: None,
            figure: figure(Rcd::Url),
            choices: with(&[&AS_FETCH, &RCD_HEADER]),
            setup: setup(Storage::Pointer),
            script: call(UE_A),
            checks: shown(true),
        },
        Variant {
            solution: 3,
            id: "concrete",
            title: "the HSS holds concrete RCD (name, organisation, title): it is signed inline as jcd, verified and shown; nothing is fetched",
            threat: None,
            figure: figure(Rcd::Concrete),
            choices: with(&[&RCD_HEADER]),
            setup: setup(Storage::Data),
            script: call(UE_A),
            checks: shown(false),
        },
    ]
}

const IN_TRANSIT: Threat = Threat {
    clause: "5.1.2",
    text: "threat 3: the ID is manipulated between IMS networks",
    ids: &[ThreatId::IdInTransit],
};

/// The NNI attacker's changes: the signed RCD rewritten, the jCard URL swapped. The caller's
/// number still verifies; the RCD is not shown.
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
    vec![
        Variant {
            solution: 3,
            id: "rcd-tampered",
            title: "an attacker on the NNI rewrites the name in the signed rcd claims: the rcd PASSporT's signature fails, the RCD is not shown, the caller's number still verifies",
            threat: Some(IN_TRANSIT),
            figure: unchecked_figure(),
            choices: with(&[&RCD_HEADER, &choices::TERM_DISPLAY, &choices::THREAT_NNI]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::RcdName("Totally Legit Bank".into())),
                ..setup(Storage::Pointer)
            },
            script: call(UE_A),
            checks: unshown(Check::VsRejects {
                ppt: "rcd",
                code: 438,
                reason: Reason::SignatureInvalid,
            }),
        },
        Variant {
            solution: 3,
            id: "jcard-url-swapped",
            title: "an attacker on the NNI points Call-Info's jCard URL at another card: the signed RCD verifies, but Call-Info no longer equals its jcl, so the RCD is not shown",
            threat: Some(IN_TRANSIT),
            figure: figure(Rcd::Url),
            choices: with(&[&RCD_HEADER, &choices::TERM_DISPLAY, &choices::THREAT_NNI]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::CallInfoUrl(
                    "https://id.enterprise.example/jcards/totally-legit-bank.json".into(),
                )),
                ..setup(Storage::Pointer)
            },
            script: call(UE_A),
            checks: unshown(Check::CheckFails {
                by: AS_T,
                reason: Reason::ClaimMismatch,
            }),
        },
    ]
}

/// Figure 6.3.2-1 with the RCD failing at the STI-VS (its signature or its digest): the jCard
/// is fetched again, but nothing is checked into the callee's INVITE.
fn unchecked_figure() -> Figure {
    let mut f = figure(Rcd::Url);
    if let Some(step) = f.step_mut("9") {
        step.hops.pop();
    }
    f
}

/// A card changed after signing, and an ex-employee.
fn threats() -> Vec<Variant> {
    let mut all = in_transit();
    all.extend(changed_or_gone());
    all
}

/// A card changed at its source after signing, and an ex-employee.
fn changed_or_gone() -> Vec<Variant> {
    vec![
        Variant {
            solution: 3,
            id: "jcard-changed",
            title: "the enterprise changes its jCard after signing (a changed source, not an attack in transit): its digest no longer matches rcdi, the RCD is not shown, the call goes on",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 3: the callee would receive a wrong ID — here from a changed source (the card behind the signed URL edited after signing), not an attacker in transit",
                ids: &[],
            }),
            figure: unchecked_figure(),
            choices: with(&[&AS_FETCH, &RCD_HEADER, &choices::TERM_DISPLAY]),
            setup: Setup {
                // Served unchanged to the originating AS (step 4b) and to the STI-AS, which
                // computes rcdi from its own fetch; changed by the time the STI-VS fetches it.
                jcard_revision: Some(third_party::id_server::Revision {
                    after: 2,
                    ..third_party::id_server::Revision::rebranded("q-branch.json")
                }),
                ..setup(Storage::Pointer)
            },
            script: call(UE_A),
            checks: vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Passed"),
                Check::Name(None),
                Check::Jcard(false),
                Check::VsRejects {
                    ppt: "rcd",
                    code: 438,
                    reason: Reason::DigestMismatch,
                },
            ],
        },
        Variant {
            solution: 3,
            id: "ex-employee",
            title: "an ex-employee calls: the operator removed the IMPU's RCD association, so the HSS check fails and no RCD is signed",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 2: a UE uses an ID that no longer belongs to it (ex-employee)",
                ids: &[ThreatId::FormerId],
            }),
            figure: figure(Rcd::None),
            choices: with(&[&choices::TERM_DISPLAY]),
            setup: setup(Storage::Pointer),
            script: call(UE_X),
            checks: vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Passed"),
                Check::Name(None),
                Check::Jcard(false),
                Check::Asked {
                    from: AS_O,
                    to: ID3P,
                    yes: false,
                },
                Check::Signed {
                    ppt: "rcd",
                    yes: false,
                },
                Check::Refusal {
                    by: AS_O,
                    act: Act::HssRcdLookup,
                    reason: Reason::NotAuthorised,
                },
            ],
        },
    ]
}
