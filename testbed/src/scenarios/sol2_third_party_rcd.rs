//! Solution 2 (TR 33.790 §6.2): the originating network signs the caller's number and the Rich
//! Call Data its 3P ID server holds for the caller, over Ms; the terminating network verifies
//! and tells the callee (verstat), dropping RCD that does not verify. Two entry paths: an
//! enterprise IP-PBX on a SIP trunk (§6.2.2.2, Figure 6.2.2.2-1) and a single registered UE
//! (§6.2.2.3, Figure 6.2.2.3-1); and the threats of §5.1.2 as variants.

use crate::run::{DcExpect, Expected, Prep, Script, Variant};
use crate::scenario::{Expect, Figure, Hop, Step, hop, invite, invite_response};
use crate::world::{DcSetup, Setup};

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";

const ALL_CALLERS: &[&str] = &["ue-a", "ue-m", "ue-x"];

/// Steps shared by both figures from "request signing" on; `n` is the TR number of the first.
fn signing_and_on(
    first: u8,
    caller_side: &'static [&'static str],
    caller_first_hop: &'static [&'static str],
) -> Vec<Step> {
    let ids: [&'static str; 10] = match first {
        3 => ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
        _ => ["4", "5", "6", "7", "8", "9", "10", "11", "12", "13"],
    };
    vec![
        Step {
            id: ids[0],
            tr_from: "originating IMS system",
            tr_to: "STI-AS",
            what: "the IMS AS asserts the caller (P-Asserted-Identity with the RCD name) and asks the STI-AS over Ms to sign",
            hops: vec![hop(
                &["as-o"],
                &["sti-as-o"],
                Expect::HttpRequest("POST /stir/v1/signing"),
            )],
        },
        Step {
            id: ids[1],
            tr_from: "STI-AS",
            tr_to: "(internal)",
            what: "the STI-AS signs the PASSporT (RFC 8588 shaken, RFC 9795 rcd) with the operator's STI-SP key",
            hops: vec![hop(&["sti-as-o"], &[], Expect::Action("sign PASSporT"))],
        },
        Step {
            id: ids[2],
            tr_from: "STI-AS",
            tr_to: "originating IMS system",
            what: "the STI-AS returns the Identity header value",
            hops: vec![hop(
                &["sti-as-o"],
                &["as-o"],
                Expect::HttpResponse("POST /stir/v1/signing"),
            )],
        },
        Step {
            id: ids[3],
            tr_from: "originating IMS system",
            tr_to: "terminating IMS system (via IBCFs)",
            what: "the INVITE leaves through the egress IBCF, crosses the NNI and enters through the ingress IBCF",
            hops: vec![
                hop(&["scscf-o"], &["ibcf-o"], invite()),
                hop(&["ibcf-o"], &["ibcf-t"], invite()),
                hop(&["ibcf-t"], &["scscf-t"], invite()),
            ],
        },
        Step {
            id: ids[4],
            tr_from: "terminating IMS system",
            tr_to: "STI-VS",
            what: "the terminating IMS AS asks the STI-VS over Ms to verify the Identity headers",
            hops: vec![hop(
                &["as-t"],
                &["sti-vs-t"],
                Expect::HttpRequest("POST /stir/v1/verification"),
            )],
        },
        Step {
            id: ids[5],
            tr_from: "STI-VS",
            tr_to: "(internal)",
            what: "the STI-VS fetches the certificate from x5u, checks its chain and TNAuthList, and verifies each signature and RCD digest",
            hops: vec![hop(
                &["sti-vs-t"],
                &[],
                Expect::Action("verify certificates and signatures"),
            )],
        },
        Step {
            id: ids[6],
            tr_from: "STI-VS",
            tr_to: "terminating IMS system",
            what: "the STI-VS returns verstat and one result per PASSporT",
            hops: vec![hop(
                &["sti-vs-t"],
                &["as-t"],
                Expect::HttpResponse("POST /stir/v1/verification"),
            )],
        },
        Step {
            id: ids[7],
            tr_from: "terminating IMS system",
            tr_to: "terminating SIP UA",
            what: "the INVITE reaches the callee with verstat (and the RCD only if it verified)",
            hops: vec![hop(&["pcscf-t"], &["ue-b"], invite())],
        },
        Step {
            id: ids[8],
            tr_from: "terminating SIP UA",
            tr_to: "originating IMS system",
            what: "the callee rings (180) and answers (200); the answer crosses back over the NNI",
            hops: vec![
                hop(&["ue-b"], &["pcscf-t"], invite_response(180, 189)),
                hop(&["ue-b"], &["pcscf-t"], invite_response(200, 299)),
                hop(&["ibcf-t"], &["ibcf-o"], invite_response(200, 299)),
            ],
        },
        Step {
            id: ids[9],
            tr_from: "originating IMS system",
            tr_to: "originating SIP UA",
            what: "the caller gets the 18x and the 200",
            hops: vec![
                hop(caller_side, caller_first_hop, invite_response(180, 189)),
                hop(caller_side, caller_first_hop, invite_response(200, 299)),
            ],
        },
    ]
}

fn rcd_lookup(id3p: bool) -> Vec<Hop> {
    let mut hops = vec![hop(
        &["as-o"],
        &["hss-o"],
        Expect::HttpRequest("GET /sh/v1/subscribers/"),
    )];
    if id3p {
        hops.push(hop(
            &["as-o"],
            &["id3p"],
            Expect::HttpRequest("GET /rcd/v1/subscribers/"),
        ));
    }
    hops
}

/// Figure 6.2.2.3-1: a registered UE calls.
fn single_registration(id3p: bool) -> Figure {
    let mut steps = vec![
        Step {
            id: "1",
            tr_from: "UE (3rd party subscriber)",
            tr_to: "originating IMS system",
            what: "the caller sends the INVITE with its IMPU and, optionally, 3P ID data (From display name)",
            hops: vec![hop(ALL_CALLERS, &["pcscf-o"], invite())],
        },
        Step {
            id: "2",
            tr_from: "originating IMS system",
            tr_to: "3P ID Server",
            what: "the IMS AS checks with the HSS that the subscription may use 3P IDs, then fetches the caller's RCD from the 3P ID server (mutual TLS)",
            hops: rcd_lookup(id3p),
        },
    ];
    steps.extend(signing_and_on(3, &["pcscf-o"], ALL_CALLERS));
    Figure {
        clause: "6.2.2.3",
        figure: "6.2.2.3-1",
        title: "the originating IMS network signs on behalf of the 3rd party (single SIP registration)",
        steps,
    }
}

/// Figure 6.2.2.2-1: the enterprise IP-PBX calls over its SIP trunk.
fn sip_trunk() -> Figure {
    let mut steps = vec![
        Step {
            id: "1",
            tr_from: "3rd party PBX",
            tr_to: "IBCF",
            what: "the PBX sends the INVITE with the caller's IMPU and, optionally, 3P ID data over the SIP trunk",
            hops: vec![hop(&["pbx"], &["ibcf-o"], invite())],
        },
        Step {
            id: "2",
            tr_from: "IBCF",
            tr_to: "originating IMS system",
            what: "the IBCF passes the INVITE into the IMS (the S-CSCF's originating services)",
            hops: vec![hop(&["ibcf-o"], &["scscf-o"], invite())],
        },
        Step {
            id: "3",
            tr_from: "originating IMS system",
            tr_to: "3P ID Server",
            what: "the IMS AS checks with the HSS that the trunk's subscription may use 3P IDs, then fetches the caller's RCD from the 3P ID server",
            hops: rcd_lookup(true),
        },
    ];
    steps.extend(signing_and_on(4, &["ibcf-o"], &["pbx"]));
    Figure {
        clause: "6.2.2.2",
        figure: "6.2.2.2-1",
        title: "the originating IMS network signs on behalf of the 3rd party (SIP trunk)",
        steps,
    }
}

fn call(caller: &'static str, display: Option<&'static str>) -> Script {
    Script::Call {
        caller,
        display,
        callee: "ue-b",
        target: CALLEE,
        prep: Prep::None,
    }
}

const HAPPY: Expected = Expected {
    answered: true,
    verstat: "TN-Validation-Passed",
    name: Some(Q_BRANCH),
    jcard: true,
    id3p_consulted: true,
    rcd_signed: true,
    vs_failure: None,
    dc: None,
    from_verstat: None,
};

const NO_RCD: Expected = Expected {
    name: None,
    jcard: false,
    rcd_signed: false,
    ..HAPPY
};

/// Every variant of solution 2.
pub fn variants() -> Vec<Variant> {
    let base = [
        "world-ims-entry",
        "world-registration",
        "ms-transport",
        "6.2-ms-two-requests",
    ];
    let with = |extra: &[&'static str]| base.iter().chain(extra).copied().collect::<Vec<_>>();
    vec![
        Variant {
            solution: 2,
            id: "trunk",
            title: "an enterprise user behind the IP-PBX calls over the SIP trunk; the RCD is signed, verified and shown",
            threat: None,
            figure: sip_trunk(),
            choices: with(&["6.2-3pid-data", "6.2-rcd-header"]),
            setup: Setup::default(),
            script: Script::Call {
                caller: "pbx",
                display: Some("Q Branch Front Desk"),
                callee: "ue-b",
                target: CALLEE,
                prep: Prep::None,
            },
            expected: Expected {
                name: Some("Q Branch Front Desk"),
                ..HAPPY
            },
        },
        Variant {
            solution: 2,
            id: "single",
            title: "a registered enterprise employee calls without naming 3P ID data; the default RCD is signed, verified and shown",
            threat: None,
            figure: single_registration(true),
            choices: with(&["6.2-no-3pid-data", "6.2-rcd-header"]),
            setup: Setup::default(),
            script: call("ue-a", None),
            expected: HAPPY,
        },
        Variant {
            solution: 2,
            id: "not-authorised",
            title: "a subscriber not allowed 3P IDs names the enterprise in From: the 3P ID data is ignored, the call goes on without RCD",
            threat: Some(
                "§5.1.2 threat 1: a malicious UE uses IDs belonging to others or forged IDs",
            ),
            figure: single_registration(false),
            choices: with(&["6.2-3pid-data", "6.2-term-display"]),
            setup: Setup::default(),
            script: call("ue-m", Some(Q_BRANCH)),
            expected: Expected {
                id3p_consulted: false,
                ..NO_RCD
            },
        },
        Variant {
            solution: 2,
            id: "no-rcd",
            title: "an ex-employee (still allowed 3P IDs in the HSS) calls: the enterprise's 3P ID server has no record, no RCD",
            threat: Some(
                "§5.1.2 threat 2: a UE uses an ID that no longer belongs to it (ex-employee)",
            ),
            figure: single_registration(true),
            choices: with(&["6.2-3pid-data", "6.2-term-display"]),
            setup: Setup::default(),
            script: call("ue-x", Some(Q_BRANCH)),
            expected: NO_RCD,
        },
        Variant {
            solution: 2,
            id: "mismatch",
            title: "the employee names 3P ID data no record of theirs answers to: local policy presents no RCD",
            threat: Some("§5.1.2 threat 1: a UE uses a forged ID"),
            figure: single_registration(true),
            choices: with(&["6.2-3pid-data", "6.2-mismatch-policy", "6.2-term-display"]),
            setup: Setup::default(),
            script: call("ue-a", Some("Totally Legit Bank")),
            expected: NO_RCD,
        },
        Variant {
            solution: 2,
            id: "rcd-tampered",
            title: "the RCD name is rewritten on the NNI: the caller's number still verifies, the RCD is dropped, the call goes on",
            threat: Some("§5.1.2 threat 3: the ID is manipulated between IMS networks"),
            figure: single_registration(true),
            choices: with(&[
                "6.2-no-3pid-data",
                "6.2-rcd-header",
                "6.2-term-display",
                "threat-nni",
            ]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::RcdName("Totally Legit Bank".into())),
                dc: None,
                ..Setup::default()
            },
            script: call("ue-a", None),
            expected: Expected {
                name: None,
                jcard: false,
                vs_failure: Some(("rcd", 438)),
                ..HAPPY
            },
        },
        Variant {
            solution: 2,
            id: "tn-tampered",
            title: "the caller's number is replaced on the NNI: verification fails, the callee sees TN-Validation-Failed",
            threat: Some("§5.1.2 threat 3: the ID is manipulated between IMS networks"),
            figure: single_registration(true),
            choices: with(&["6.2-no-3pid-data", "6.2-term-display", "threat-nni"]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::CallerTn("+12025551666".into())),
                dc: None,
                ..Setup::default()
            },
            script: call("ue-a", None),
            expected: Expected {
                verstat: "TN-Validation-Failed",
                name: None,
                jcard: false,
                vs_failure: Some(("shaken", 438)),
                ..HAPPY
            },
        },
        dc_variant(
            "dc",
            "DC-capable UEs: the call also brings up negotiated peer-to-peer data channels (SDP in the INVITE and the 200) and the users exchange avatar messages both ways; BYE closes them",
            DcSetup::Accept,
            DcExpect::Up,
        ),
        dc_variant(
            "dc-declined",
            "the callee declines the offered data channels (m=application port 0): the call goes on without them",
            DcSetup::Decline,
            DcExpect::Declined,
        ),
        {
            let mut v = dc_variant(
                "dc-bootstrap",
                "DC-capable UEs with the operators' MFs and a DCSF: the caller's bootstrap data channel is anchored at its MF by its IMS AS, the callee's own MF offers the callee one; each UE fetches its DC application list over HTTP on it (the MF asks the DCSF), the users exchange avatar messages peer to peer, and a re-INVITE adds a channel to the caller's MF",
                DcSetup::Bootstrap,
                DcExpect::Bootstrap,
            );
            v.choices.extend(["dc-bootstrap-anchor", "dc-p2a-reinvite"]);
            v
        },
        dc_variant(
            "dc-unreachable",
            "the callee answers the data channels but never answers ICE: the caller gives up within its bound and the call goes on",
            DcSetup::Unreachable,
            DcExpect::Unreachable,
        ),
    ]
}

fn dc_variant(id: &'static str, title: &'static str, setup: DcSetup, dc: DcExpect) -> Variant {
    Variant {
        solution: 2,
        id,
        title,
        threat: None,
        figure: single_registration(true),
        choices: vec![
            "world-ims-entry",
            "world-registration",
            "ms-transport",
            "6.2-ms-two-requests",
            "6.2-no-3pid-data",
            "6.2-rcd-header",
            "dc-sdp-answer",
            "dc-p2p-path",
            "dc-ice-timers",
        ],
        setup: Setup {
            nni_tamper: None,
            dc: Some(setup),
            ..Setup::default()
        },
        script: call("ue-a", None),
        expected: Expected {
            dc: Some(dc),
            ..HAPPY
        },
    }
}
