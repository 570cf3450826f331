//! Solution 3 (TR 33.790 §6.3): the HSS associates an IMPU with RCD URL(s) or holds concrete
//! RCD for it. The originating IMS AS checks the association (authorisation), gets the RCD or
//! its URL, fetches the jCard behind a URL from the third party's server, and has the STI-AS
//! sign an `rcd` PASSporT whose `rcdi` digests pin the jCard; the terminating side verifies,
//! fetching the jCard and checking its digest, and shows the RCD only if all of it holds
//! (Figure 6.3.2-1); and the threats of §5.1.2 as variants.

use proto::wire::sh::Storage;

use crate::run::{Expected, Prep, Script, Variant};
use crate::scenario::{Expect, Figure, Step, hop, invite, invite_response};
use crate::world::Setup;

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
const CALLERS: &[&str] = &["ue-a", "ue-x"];

/// What the HSS gives for the caller, which decides steps 4a, 4b and 9.
#[derive(Clone, Copy)]
enum Rcd {
    /// An RCD URL: the AS fetches the jCard (4b); the STI-VS fetches it again (9).
    Url,
    /// Concrete RCD, signed inline: nothing to fetch.
    Concrete,
    /// No association: not authorised, 4a and 4b skipped.
    None,
}

fn figure(rcd: Rcd) -> Figure {
    let step4a = match rcd {
        Rcd::None => hop(&["as-o"], &[], Expect::Action("step 4a skipped")),
        _ => hop(
            &["as-o"],
            &["hss-o"],
            Expect::HttpRequest("GET /sh/v1/rcd/"),
        ),
    };
    let step4b = match rcd {
        Rcd::Url => hop(&["as-o"], &["id3p"], Expect::HttpRequest("GET /jcards/")),
        Rcd::Concrete => hop(&["as-o"], &[], Expect::Action("step 4b not needed")),
        Rcd::None => hop(&["as-o"], &[], Expect::Action("step 4b skipped")),
    };
    let step9 = match rcd {
        Rcd::Url => hop(
            &["sti-vs-t"],
            &["id3p"],
            Expect::HttpRequest("GET /jcards/"),
        ),
        Rcd::Concrete | Rcd::None => hop(&["as-t"], &[], Expect::Action("no verified RCD URL")),
    };
    let steps = vec![
        Step {
            id: "1",
            tr_from: "originating UE",
            tr_to: "CSCF",
            what: "the caller sends the INVITE with its IMPU",
            hops: vec![hop(CALLERS, &["pcscf-o"], invite())],
        },
        Step {
            id: "2",
            tr_from: "CSCF",
            tr_to: "IMS AS",
            what: "the S-CSCF sends the INVITE to the IMS AS (originating filter criteria)",
            hops: vec![hop(&["scscf-o"], &["as-o"], invite())],
        },
        Step {
            id: "3",
            tr_from: "IMS AS",
            tr_to: "HSS",
            what: "the IMS AS reads the subscription: the IMPU may use a third party identity only if the HSS associates RCD with it",
            hops: vec![hop(
                &["as-o"],
                &["hss-o"],
                Expect::HttpRequest("GET /sh/v1/subscribers/"),
            )],
        },
        Step {
            id: "4a",
            tr_from: "IMS AS/CSCF",
            tr_to: "HSS",
            what: "the IMS AS gets the RCD URL or the concrete RCD from the HSS (per its storage option)",
            hops: vec![step4a],
        },
        Step {
            id: "4b",
            tr_from: "IMS AS/CSCF",
            tr_to: "third party database",
            what: "for a URL, the IMS AS fetches the jCard from the enterprise's server and digests it for rcdi",
            hops: vec![step4b],
        },
        Step {
            id: "5",
            tr_from: "IMS AS/CSCF",
            tr_to: "STI-AS",
            what: "the IMS AS asks the STI-AS over Ms to sign the caller's number and the RCD",
            hops: vec![
                hop(
                    &["as-o"],
                    &["sti-as-o"],
                    Expect::HttpRequest("POST /stir/v1/signing"),
                ),
                hop(&["sti-as-o"], &[], Expect::Action("sign PASSporT")),
            ],
        },
        Step {
            id: "6",
            tr_from: "STI-AS",
            tr_to: "IMS AS/CSCF",
            what: "the STI-AS returns the Identity header values",
            hops: vec![hop(
                &["sti-as-o"],
                &["as-o"],
                Expect::HttpResponse("POST /stir/v1/signing"),
            )],
        },
        Step {
            id: "7",
            tr_from: "IMS AS/CSCF",
            tr_to: "terminating IMS subsystem",
            what: "the INVITE with the signed RCD (and Call-Info for a URL) crosses the NNI to the terminating network",
            hops: vec![
                hop(&["as-o"], &["scscf-o"], invite()),
                hop(&["ibcf-o"], &["ibcf-t"], invite()),
                hop(&["scscf-t"], &["as-t"], invite()),
            ],
        },
        Step {
            id: "8",
            tr_from: "terminating IMS subsystem",
            tr_to: "STI-VS",
            what: "the terminating IMS AS has the STI-VS verify the PASSporTs",
            hops: vec![
                hop(
                    &["as-t"],
                    &["sti-vs-t"],
                    Expect::HttpRequest("POST /stir/v1/verification"),
                ),
                hop(
                    &["sti-vs-t"],
                    &[],
                    Expect::Action("verify certificates and signatures"),
                ),
            ],
        },
        Step {
            id: "9",
            tr_from: "terminating IMS subsystem",
            tr_to: "third party database",
            what: "for an RCD URL, the jCard is fetched from the enterprise's server and its digest checked against rcdi",
            hops: vec![step9],
        },
        Step {
            id: "10",
            tr_from: "terminating IMS subsystem",
            tr_to: "terminating UE",
            what: "the INVITE reaches the callee, with the RCD only if it verified",
            hops: vec![hop(&["pcscf-t"], &["ue-b"], invite())],
        },
        Step {
            id: "11",
            tr_from: "terminating UE",
            tr_to: "originating IMS subsystem, originating UE",
            what: "the callee rings and answers; 180 and 200 travel back to the caller",
            hops: vec![
                hop(&["ue-b"], &["pcscf-t"], invite_response(180, 189)),
                hop(&["ue-b"], &["pcscf-t"], invite_response(200, 299)),
                hop(&["pcscf-o"], CALLERS, invite_response(200, 299)),
            ],
        },
    ];
    Figure {
        clause: "6.3.2",
        figure: "6.3.2-1",
        title: "third party identity signing and verification with RCD from the HSS",
        steps,
    }
}

const SHOWN: Expected = Expected {
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

fn call(caller: &'static str) -> Script {
    Script::Call {
        caller,
        display: None,
        callee: "ue-b",
        target: CALLEE,
        prep: Prep::None,
    }
}

fn setup(storage: Storage) -> Setup {
    Setup {
        flow: ims_as::Flow::HssRcd,
        hss_storage: storage,
        ..Setup::default()
    }
}

/// Every variant of solution 3.
pub fn variants() -> Vec<Variant> {
    let base = [
        "world-ims-entry",
        "world-registration",
        "ms-transport",
        "6.2-ms-two-requests",
        "6.3-storage",
    ];
    let with = |extra: &[&'static str]| base.iter().chain(extra).copied().collect::<Vec<_>>();
    vec![
        Variant {
            solution: 3,
            id: "url",
            title: "the HSS holds UE-A's RCD URL: the AS fetches the jCard, the STI-AS signs it with rcdi, the callee's side re-fetches and checks it and shows the RCD",
            threat: None,
            figure: figure(Rcd::Url),
            choices: with(&["6.3-as-fetch", "6.3-rcd-header"]),
            setup: setup(Storage::Pointer),
            script: call("ue-a"),
            expected: SHOWN,
        },
        Variant {
            solution: 3,
            id: "concrete",
            title: "the HSS holds concrete RCD (name, organisation, title): it is signed inline as jcd, verified and shown; nothing is fetched",
            threat: None,
            figure: figure(Rcd::Concrete),
            choices: with(&["6.3-rcd-header"]),
            setup: setup(Storage::Data),
            script: call("ue-a"),
            expected: Expected {
                jcard: false,
                id3p_consulted: false,
                ..SHOWN
            },
        },
        Variant {
            solution: 3,
            id: "jcard-changed",
            title: "the enterprise's jCard changes after signing: its digest no longer matches rcdi, the RCD is not shown, the call goes on",
            threat: Some(
                "§5.1.2 threat 3: the callee would receive a wrong ID (the card behind the signed URL changed after signing)",
            ),
            figure: figure(Rcd::Url),
            choices: with(&["6.3-as-fetch", "6.3-rcd-header", "6.2-term-display"]),
            setup: Setup {
                jcard_revision: Some(third_party::id_server::Revision::rebranded("q-branch.json")),
                ..setup(Storage::Pointer)
            },
            script: call("ue-a"),
            expected: Expected {
                name: None,
                jcard: false,
                vs_failure: Some(("rcd", 438)),
                ..SHOWN
            },
        },
        Variant {
            solution: 3,
            id: "ex-employee",
            title: "an ex-employee calls: the operator removed the IMPU's RCD association, so the HSS check fails and no RCD is signed",
            threat: Some(
                "§5.1.2 threat 2: a UE uses an ID that no longer belongs to it (ex-employee)",
            ),
            figure: figure(Rcd::None),
            choices: with(&["6.2-term-display"]),
            setup: setup(Storage::Pointer),
            script: call("ue-x"),
            expected: Expected {
                name: None,
                jcard: false,
                id3p_consulted: false,
                rcd_signed: false,
                ..SHOWN
            },
        },
    ]
}
