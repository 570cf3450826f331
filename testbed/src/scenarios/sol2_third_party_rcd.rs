//! Solution 2 (TR 33.790 §6.2): the originating network signs the caller's number and the Rich
//! Call Data its 3P ID server holds for the caller, over Ms; the terminating network verifies
//! and tells the callee (verstat), dropping RCD that does not verify. Two entry paths: an
//! enterprise IP-PBX on a SIP trunk (§6.2.2.2, Figure 6.2.2.2-1) and a single registered UE
//! (§6.2.2.3, Figure 6.2.2.3-1); the threats of §5.1.2 as variants; and, as the reference flow
//! for the data channel work, calls between DC-capable UEs.

mod trust;

use proto::trace::{Act, Reason};
use stir::ms::{SIGNING_PATH, VERIFICATION_PATH};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{Attack, DcExpect, Prep, Script};
use crate::scenario::{
    Figure, Hop, Require, Step, act, hop, http, http_response, invite, invite_response, token,
};
use crate::solution::{KI1, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{DcSetup, Setup, family};

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
const ALL_CALLERS: &[&str] = &[UE_A, UE_M, UE_X];

/// Solution 2 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 2,
    key_issue: KI1,
    clause: "6.2",
    title: "3P ID and RCD signed over Ms",
    short: "3P ID+RCD, Ms",
    figures: &["6.2.2.2-1", "6.2.2.3-1"],
    needs: &[],
    choices: &[ID_DATA, NO_ID_DATA, MISMATCH_POLICY, RCD_HEADER],
    as_flow: ims_as::flows::id_server,
    variants,
};

/// `6.2-3pid-data`.
pub const ID_DATA: Choice = Choice {
    id: ims_as::choices::SOL2_3PID_DATA,
    clause: "6.2.2.1 item 2, 6.2.2.2 step 1",
    question: "Where the INVITE carries the optional 3P ID data (\"e.g. the display name in From header or other header info\").",
    answer: "The display name of the From header. No display name means no 3P ID data.",
};

/// `6.2-no-3pid-data`.
pub const NO_ID_DATA: Choice = Choice {
    id: ims_as::choices::SOL2_NO_3PID_DATA,
    clause: "6.2.2.1 NOTE 1 and NOTE 3",
    question: "What RCD to use when the INVITE names no 3P ID data.",
    answer: "The 3P ID server's record marked default for that identity; no lookup is suppressed.",
};

/// `6.2-mismatch-policy`.
pub const MISMATCH_POLICY: Choice = Choice {
    id: ims_as::choices::SOL2_MISMATCH_POLICY,
    clause: "6.2.2.2 NOTE 1",
    question: "Local policy when the INVITE's 3P ID data matches no record of the caller's identity.",
    answer: "No RCD is signed or presented; the call continues with the caller's number signed (shaken) only.",
};

/// `6.2-rcd-header`.
pub const RCD_HEADER: Choice = Choice {
    id: ims_as::choices::SOL2_RCD_HEADER,
    clause: "6.2.2.1 Editor's Note",
    question: "Which SIP header carries the RCD (FFS).",
    answer: "A separate RFC 9795 `rcd` PASSporT in its own Identity header (with `rcdi` over the jCard), the RCD name as the P-Asserted-Identity display name, and the jCard URL in Call-Info with purpose=rcd-jcard and call-reason (RFC 9796).",
};

/// What the originating IMS system's 3P ID check comes to (step 2 or 3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// An RCD record is selected.
    Record,
    /// Refused before the 3P ID server is asked (not authorised).
    RefusedByHss(Reason),
    /// Refused after asking the 3P ID server (no record, mismatch).
    RefusedByServer(Reason),
}

/// What the STI-VS finds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verified {
    /// Both PASSporTs verify.
    Both,
    /// The caller's number verifies; the RCD does not.
    NumberOnly,
    /// The caller's number does not verify, for this reason.
    Failed(Reason),
}

/// The 3P ID check: the subscription at the HSS, then the 3P ID server.
fn lookup(lookup: Lookup) -> Vec<Hop> {
    let mut hops = vec![hop(&[AS_O], &[HSS_O], http("GET", "/sh/v1/subscribers/"))];
    if !matches!(lookup, Lookup::RefusedByHss(_)) {
        hops.push(hop(&[AS_O], &[ID3P], http("GET", "/rcd/v1/subscribers/")));
        hops.push(
            hop(
                &[ID3P],
                &[AS_O],
                http_response("GET", "/rcd/v1/subscribers/"),
            )
            .with(Require::AnswersPrevious),
        );
    }
    hops.push(match lookup {
        Lookup::Record => act(&[AS_O], Act::RcdLookup),
        Lookup::RefusedByHss(r) | Lookup::RefusedByServer(r) => {
            act(&[AS_O], Act::RcdLookup).refused(r)
        }
    });
    hops
}

/// What the STI-VS does: decode the shaken PASSporT, fetch its certificate from x5u and the
/// CRL its distribution point names, verify. A claim that does not match the call stops it
/// before anything is fetched; a certificate the rules refuse (TNAuthList, revocation) is
/// found after both fetches.
fn verification(verified: Verified) -> Vec<Hop> {
    let mut hops = vec![token(&[STI_VS_T], "shaken")];
    let fetched = match verified {
        Verified::Failed(reason) => matches!(
            reason,
            Reason::NotEntitled | Reason::Revoked | Reason::CertificateInvalid
        ),
        Verified::Both | Verified::NumberOnly => true,
    };
    if fetched {
        hops.extend([
            hop(&[STI_VS_T], &[STI_CR_O], http("GET", "/certs/")),
            hop(&[STI_VS_T], &[STI_REPO], http("GET", "/crl/")),
        ]);
    }
    hops.push(match verified {
        Verified::Failed(reason) => act(&[STI_VS_T], Act::VerifyIdentity).refused(reason),
        Verified::Both | Verified::NumberOnly => act(&[STI_VS_T], Act::VerifyIdentity),
    });
    hops
}

/// Steps shared by both figures from "request signing" on; `ids` are the TR's numbers.
fn signing_and_on(
    ids: [&'static str; 10],
    verified: Verified,
    caller_side: &'static [&'static str],
    caller_first_hop: &'static [&'static str],
) -> Vec<Step> {
    let [a, b, c, d, e, f, g, h, i, j] = ids;
    let mut steps = signing([a, b, c]);
    steps.push(crossing(d));
    steps.extend(verifying([e, f, g], verified));
    steps.extend(delivering(
        [h, i, j],
        verified,
        caller_side,
        caller_first_hop,
    ));
    steps
}

/// The RCD signed over Ms: request, signature, answer.
fn signing(ids: [&'static str; 3]) -> Vec<Step> {
    vec![
        Step::new(
            ids[0],
            ("originating IMS system", "STI-AS"),
            "the IMS AS asserts the caller (P-Asserted-Identity with the RCD name) and asks the STI-AS over Ms to sign the RCD",
            vec![
                hop(&[AS_O], &[STI_AS_O], http("POST", SIGNING_PATH))
                    .with(Require::JsonIs("/signingRequest/ppt", "rcd")),
            ],
        ),
        Step::new(
            ids[1],
            ("STI-AS", "(internal)"),
            "the STI-AS signs the PASSporTs (RFC 8588 shaken, RFC 9795 rcd) with the operator's STI-SP key",
            vec![
                token(&[STI_AS_O], "rcd"),
                act(&[STI_AS_O], Act::SignPassport),
            ],
        ),
        Step::new(
            ids[2],
            ("STI-AS", "originating IMS system"),
            "the STI-AS returns the Identity header value",
            vec![
                hop(&[STI_AS_O], &[AS_O], http_response("POST", SIGNING_PATH))
                    .with(Require::Status(200))
                    .with(Require::JsonHas(
                        "/signingResponse/identityHeader",
                        "ppt=\"rcd\"",
                    )),
            ],
        ),
    ]
}

/// The INVITE crossing the NNI.
fn crossing(id: &'static str) -> Step {
    Step::new(
        id,
        (
            "originating IMS system",
            "terminating IMS system (via IBCFs)",
        ),
        "the INVITE leaves through the egress IBCF, crosses the NNI and enters through the ingress IBCF",
        vec![
            hop(&[SCSCF_O], &[IBCF_O], invite()).with(Require::Header("Identity")),
            hop(&[IBCF_O], &[IBCF_T], invite()).with(Require::Header("Identity")),
            hop(&[IBCF_T], &[SCSCF_T], invite()).with(Require::Header("Identity")),
        ],
    )
}

/// The terminating side's verification over Ms.
fn verifying(ids: [&'static str; 3], verified: Verified) -> Vec<Step> {
    vec![
        Step::new(
            ids[0],
            ("terminating IMS system", "STI-VS"),
            "the terminating IMS AS asks the STI-VS over Ms to verify the Identity headers",
            vec![
                hop(&[AS_T], &[STI_VS_T], http("POST", VERIFICATION_PATH))
                    .with(Require::Json("/verificationRequest/identityHeader")),
            ],
        ),
        Step::new(
            ids[1],
            ("STI-VS", "(internal)"),
            "the STI-VS fetches the certificate from x5u, checks its chain and TNAuthList, and verifies each signature and RCD digest",
            verification(verified),
        ),
        Step::new(
            ids[2],
            ("STI-VS", "terminating IMS system"),
            "the STI-VS returns verstat and one result per PASSporT",
            vec![
                hop(
                    &[STI_VS_T],
                    &[AS_T],
                    http_response("POST", VERIFICATION_PATH),
                )
                .with(Require::Json("/verificationResponse/verifyResults")),
            ],
        ),
    ]
}

/// Delivery to the callee, the answer, and the caller getting it.
fn delivering(
    ids: [&'static str; 3],
    verified: Verified,
    caller_side: &'static [&'static str],
    caller_first_hop: &'static [&'static str],
) -> Vec<Step> {
    let verstat = match verified {
        Verified::Failed(_) => "verstat=TN-Validation-Failed",
        _ => "verstat=TN-Validation-Passed",
    };
    vec![
        Step::new(
            ids[0],
            ("terminating IMS system", "terminating SIP UA"),
            "the INVITE reaches the callee with verstat (and the RCD only if it verified)",
            vec![
                hop(&[PCSCF_T], &[UE_B], invite())
                    .with(Require::HeaderHas("P-Asserted-Identity", verstat)),
            ],
        ),
        Step::new(
            ids[1],
            ("terminating SIP UA", "originating IMS system"),
            "the callee rings (180) and answers (200); the answer crosses back over the NNI",
            vec![
                hop(&[UE_B], &[PCSCF_T], invite_response(180, 189)),
                hop(&[UE_B], &[PCSCF_T], invite_response(200, 299)).with(Require::SameDialog),
                hop(&[IBCF_T], &[IBCF_O], invite_response(200, 299)).with(Require::SameDialog),
            ],
        ),
        Step::new(
            ids[2],
            ("originating IMS system", "originating SIP UA"),
            "the caller gets the 18x and the 200",
            vec![
                hop(caller_side, caller_first_hop, invite_response(180, 189)),
                hop(caller_side, caller_first_hop, invite_response(200, 299))
                    .with(Require::SameDialog),
            ],
        ),
    ]
}

/// Marks the RCD signing steps prevented by the 3P ID check (step `by`) when no RCD was found.
fn rcd_prevented(figure: Figure, lookup: Lookup, ids: &[&str], by: &'static str) -> Figure {
    if lookup == Lookup::Record {
        figure
    } else {
        figure.prevent(ids, by)
    }
}

/// Figure 6.2.2.3-1: a registered UE calls.
fn single_registration(l: Lookup, verified: Verified) -> Figure {
    let mut steps = vec![
        Step::new(
            "1",
            ("UE (3rd party subscriber)", "originating IMS system"),
            "the caller sends the INVITE with its IMPU and, optionally, 3P ID data (From display name)",
            vec![hop(ALL_CALLERS, &[PCSCF_O], invite())],
        ),
        Step::new(
            "2",
            ("originating IMS system", "3P ID Server"),
            "the IMS AS checks with the HSS that the subscription may use 3P IDs, then fetches the caller's RCD from the 3P ID server (mutual TLS) and picks the record",
            lookup(l),
        ),
    ];
    steps.extend(signing_and_on(
        ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
        verified,
        &[PCSCF_O],
        ALL_CALLERS,
    ));
    let figure = Figure {
        clause: "6.2.2.3",
        figure: "6.2.2.3-1",
        title: "the originating IMS network signs on behalf of the 3rd party (single SIP registration)",
        steps,
    };
    rcd_prevented(figure, l, &["3", "4", "5"], "2")
}

/// Figure 6.2.2.2-1: the enterprise IP-PBX calls over its SIP trunk, identified by its TLS
/// certificate at the IBCF, which asserts the number the PBX names.
fn sip_trunk(l: Lookup) -> Figure {
    let mut steps = vec![
        Step::new(
            "1",
            ("3rd party PBX", "IBCF"),
            "the PBX sends the INVITE with the caller's IMPU and, optionally, 3P ID data over the SIP trunk; the IBCF identifies the trunk by the PBX's TLS client certificate",
            vec![
                hop(&[PBX], &[IBCF_O], invite()).with(Require::Header("P-Preferred-Identity")),
                act(&[IBCF_O], Act::IdentifyTrunk),
            ],
        ),
        Step::new(
            "2",
            ("IBCF", "originating IMS system"),
            "the IBCF asserts the number the PBX named for the identified trunk and passes the INVITE into the IMS (the S-CSCF's originating services)",
            vec![
                act(&[IBCF_O], Act::AssertIdentity),
                hop(&[IBCF_O], &[SCSCF_O], invite())
                    .with(Require::Header("P-Asserted-Identity"))
                    .with(Require::Header("P-Served-User")),
            ],
        ),
        Step::new(
            "3",
            ("originating IMS system", "3P ID Server"),
            "the IMS AS checks with the HSS that the trunk's subscription may use 3P IDs, then fetches the caller's RCD from the 3P ID server",
            lookup(l),
        ),
    ];
    steps.extend(signing_and_on(
        ["4", "5", "6", "7", "8", "9", "10", "11", "12", "13"],
        if l == Lookup::Record {
            Verified::Both
        } else {
            Verified::NumberOnly
        },
        &[IBCF_O],
        &[PBX],
    ));
    let figure = Figure {
        clause: "6.2.2.2",
        figure: "6.2.2.2-1",
        title: "the originating IMS network signs on behalf of the 3rd party (SIP trunk)",
        steps,
    };
    rcd_prevented(figure, l, &["4", "5", "6"], "3")
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

/// A call whose RCD is signed, verified and shown with this name.
fn shown(name: &'static str) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Attested("A"),
        Check::Verstat("TN-Validation-Passed"),
        Check::Name(Some(name)),
        Check::Jcard(true),
        Check::Asked {
            from: AS_O,
            to: ID3P,
            yes: true,
        },
        Check::Signed {
            ppt: "rcd",
            yes: true,
        },
    ]
}

/// A call that goes on without RCD: the originating side refused it for `reason`.
fn no_rcd(asked: bool, reason: Reason) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::Name(None),
        Check::Jcard(false),
        Check::Asked {
            from: AS_O,
            to: ID3P,
            yes: asked,
        },
        Check::Signed {
            ppt: "rcd",
            yes: false,
        },
        Check::Refusal {
            by: AS_O,
            act: Act::RcdLookup,
            reason,
        },
    ]
}

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &choices::MS_TRANSPORT,
        &choices::MS_TWO_REQUESTS,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

const FORGED: Threat = Threat {
    clause: "5.1.2",
    text: "threat 1: a malicious UE uses IDs belonging to others or forged IDs",
    ids: &[ThreatId::ForgedId],
};
const NO_LONGER_OWNED: Threat = Threat {
    clause: "5.1.2",
    text: "threat 2: a UE uses an ID that no longer belongs to it (ex-employee)",
    ids: &[ThreatId::FormerId],
};
const IN_TRANSIT: Threat = Threat {
    clause: "5.1.2",
    text: "threat 3: the ID is manipulated between IMS networks",
    ids: &[ThreatId::IdInTransit],
};

/// Every variant of solution 2.
pub fn variants() -> Vec<Variant> {
    [happy(), threats(), trust::variants(), dc_variants()].concat()
}

/// The two entry paths, each with its RCD signed, verified and shown.
fn happy() -> Vec<Variant> {
    vec![
        Variant {
            solution: 2,
            id: "trunk",
            title: "an enterprise user behind the IP-PBX calls over the SIP trunk; the RCD is signed, verified and shown",
            threat: None,
            figure: sip_trunk(Lookup::Record),
            choices: with(&[&ID_DATA, &RCD_HEADER]),
            setup: Setup::default(),
            script: call(PBX, Some("Q Branch Front Desk")),
            checks: shown("Q Branch Front Desk"),
        },
        Variant {
            solution: 2,
            id: "single",
            title: "a registered enterprise employee calls without naming 3P ID data; the default RCD is signed, verified and shown",
            threat: None,
            figure: single_registration(Lookup::Record, Verified::Both),
            choices: with(&[&NO_ID_DATA, &RCD_HEADER]),
            setup: Setup::default(),
            script: call(UE_A, None),
            checks: shown(Q_BRANCH),
        },
    ]
}

/// The threats of §5.1.2: what the originating side refuses, and what is tampered with on the
/// NNI.
fn threats() -> Vec<Variant> {
    [refused(), tampered()].concat()
}

/// Not authorised, no record, a mismatch: the originating side presents no RCD.
fn refused() -> Vec<Variant> {
    vec![
        Variant {
            solution: 2,
            id: "not-authorised",
            title: "a subscriber not allowed 3P IDs names the enterprise in From: the 3P ID data is ignored, the call goes on without RCD",
            threat: Some(FORGED),
            figure: single_registration(
                Lookup::RefusedByHss(Reason::NotAuthorised),
                Verified::NumberOnly,
            ),
            choices: with(&[&ID_DATA, &choices::TERM_DISPLAY]),
            setup: Setup::default(),
            script: call(UE_M, Some(Q_BRANCH)),
            checks: no_rcd(false, Reason::NotAuthorised),
        },
        Variant {
            solution: 2,
            id: "no-rcd",
            title: "an ex-employee (still allowed 3P IDs in the HSS) calls: the enterprise's 3P ID server has no record, no RCD",
            threat: Some(NO_LONGER_OWNED),
            figure: single_registration(
                Lookup::RefusedByServer(Reason::NoRecord),
                Verified::NumberOnly,
            ),
            choices: with(&[&ID_DATA, &choices::TERM_DISPLAY]),
            setup: Setup::default(),
            script: call(UE_X, Some(Q_BRANCH)),
            checks: no_rcd(true, Reason::NoRecord),
        },
        Variant {
            solution: 2,
            id: "mismatch",
            title: "the employee names 3P ID data no record of theirs answers to: local policy presents no RCD",
            threat: Some(Threat {
                clause: "5.1.2",
                text: "threat 1: a UE uses a forged ID",
                ids: &[ThreatId::ForgedId],
            }),
            figure: single_registration(
                Lookup::RefusedByServer(Reason::Mismatch),
                Verified::NumberOnly,
            ),
            choices: with(&[&ID_DATA, &MISMATCH_POLICY, &choices::TERM_DISPLAY]),
            setup: Setup::default(),
            script: call(UE_A, Some("Totally Legit Bank")),
            checks: no_rcd(true, Reason::Mismatch),
        },
    ]
}

/// The RCD or the caller's number rewritten on the NNI: the terminating side finds out.
fn tampered() -> Vec<Variant> {
    vec![
        Variant {
            solution: 2,
            id: "rcd-tampered",
            title: "the RCD name is rewritten on the NNI: the caller's number still verifies, the RCD is dropped, the call goes on",
            threat: Some(IN_TRANSIT),
            figure: single_registration(Lookup::Record, Verified::NumberOnly),
            choices: with(&[
                &NO_ID_DATA,
                &RCD_HEADER,
                &choices::TERM_DISPLAY,
                &choices::THREAT_NNI,
            ]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::RcdName("Totally Legit Bank".into())),
                ..Setup::default()
            },
            script: call(UE_A, None),
            checks: vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Passed"),
                Check::Name(None),
                Check::Jcard(false),
                Check::Signed {
                    ppt: "rcd",
                    yes: true,
                },
                Check::VsRejects {
                    ppt: "rcd",
                    code: 438,
                    reason: Reason::SignatureInvalid,
                },
            ],
        },
        Variant {
            solution: 2,
            id: "tn-tampered",
            title: "the caller's number is replaced on the NNI: verification fails, the callee sees TN-Validation-Failed",
            threat: Some(IN_TRANSIT),
            figure: single_registration(Lookup::Record, Verified::Failed(Reason::ClaimMismatch)),
            choices: with(&[&NO_ID_DATA, &choices::TERM_DISPLAY, &choices::THREAT_NNI]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::CallerTn("+12025551666".into())),
                ..Setup::default()
            },
            script: call(UE_A, None),
            checks: vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Failed"),
                Check::Name(None),
                Check::Jcard(false),
                Check::VsRejects {
                    ppt: "shaken",
                    code: 438,
                    reason: Reason::ClaimMismatch,
                },
                Check::Refusal {
                    by: STI_VS_T,
                    act: Act::VerifyIdentity,
                    reason: Reason::ClaimMismatch,
                },
            ],
        },
    ]
}

/// Calls between DC-capable UEs.
fn dc_variants() -> Vec<Variant> {
    let declined = dc_variant(
        "dc-declined",
        "the callee declines the offered data channels (m=application port 0): the call goes on without them",
        DcSetup::Decline,
        DcExpect::Declined,
    );
    let mut bootstrap = dc_variant(
        "dc-bootstrap",
        "DC-capable UEs with the operators' MFs and a DCSF: the caller's bootstrap data channel is anchored at its MF by its IMS AS, the callee's own MF offers the callee one; each UE fetches its DC application list over HTTP on it (the MF asks the DCSF), the users exchange avatar messages peer to peer, and a re-INVITE adds a channel to the caller's MF",
        DcSetup::Bootstrap,
        DcExpect::Bootstrap,
    );
    bootstrap
        .choices
        .extend([&choices::DC_BOOTSTRAP_ANCHOR, &choices::DC_P2A_REINVITE]);
    bootstrap.setup.needs.push(family::DC_NETWORK);
    let mut declined = declined;
    declined.checks.push(Check::Refusal {
        by: UE_B,
        act: Act::DcAnswer,
        reason: Reason::Declined,
    });
    vec![
        dc_variant(
            "dc",
            "DC-capable UEs: the call also brings up negotiated peer-to-peer data channels (SDP in the INVITE and the 200) and the users exchange avatar messages both ways; BYE closes them",
            DcSetup::Accept,
            DcExpect::Up,
        ),
        declined,
        bootstrap,
        dc_variant(
            "dc-unreachable",
            "the callee answers the data channels but never answers ICE: the caller gives up within its bound and the call goes on",
            DcSetup::Unreachable,
            DcExpect::Unreachable,
        ),
    ]
}

fn dc_variant(id: &'static str, title: &'static str, dc: DcSetup, want: DcExpect) -> Variant {
    let mut figure = single_registration(Lookup::Record, Verified::Both);
    if let Some(step) = figure.step_mut("1") {
        step.hops[0] = hop(ALL_CALLERS, &[PCSCF_O], invite()).with(Require::Dcmap);
    }
    let mut checks = shown(Q_BRANCH);
    checks.push(Check::Dc(want));
    Variant {
        solution: 2,
        id,
        title,
        threat: None,
        figure,
        choices: with(&[
            &NO_ID_DATA,
            &RCD_HEADER,
            &choices::DC_SDP_ANSWER,
            &choices::DC_P2P_PATH,
            &choices::DC_ICE_TIMERS,
        ]),
        setup: Setup {
            dc: Some(dc),
            ..Setup::default()
        },
        script: call(UE_A, None),
        checks,
    }
}
