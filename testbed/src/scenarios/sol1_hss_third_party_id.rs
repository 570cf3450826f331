//! Solution 1 (TR 33.790 §6.1): the HSS is provisioned with the 3P ID information of an IMPU,
//! or with a URI to the repository holding it. The originating IMS AS gets it (fetching from
//! the repository on a URI), has the signing server sign it together with the caller's number,
//! and the terminating IMS AS has the verification server check it before UE-B is shown the
//! 3P ID (Figures 6.1.2-1 and 6.1.2-2); and the threats of §5.1.2 as variants.

use proto::wire::sh::Storage;

use crate::run::{Expected, Prep, Script, Variant};
use crate::scenario::{Expect, Figure, Step, hop, invite};
use crate::world::Setup;

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
const Q_BRANCH: &str = "Q Branch Spy Gadgets";
const CALLERS: &[&str] = &["ue-a", "ue-m"];

/// How the IMS AS comes by the 3P ID information (step 6).
#[derive(Clone, Copy)]
enum Source {
    /// The HSS returned it: no repository fetch.
    Hss,
    /// The HSS returned a URI: the AS fetches from the repository.
    Repository,
    /// The IMPU is not subscribed: nothing to fetch.
    None,
}

/// Figures 6.1.2-1 (originating, steps 1–10a) and 6.1.2-2 (terminating, steps 10b–15).
fn figures(source: Source) -> Figure {
    let step6 = match source {
        Source::Repository => hop(
            &["as-o"],
            &["id3p"],
            Expect::HttpRequest("GET /3pid/v1/subscribers/"),
        ),
        Source::Hss | Source::None => hop(&["as-o"], &[], Expect::Action("no repository fetch")),
    };
    let steps = vec![
        Step {
            id: "1",
            tr_from: "UE-A",
            tr_to: "CSCF",
            what: "the caller sends the INVITE from its IMPU (the one subscribed to 3P ID delivery, or not)",
            hops: vec![hop(CALLERS, &["pcscf-o"], invite())],
        },
        Step {
            id: "2",
            tr_from: "CSCF",
            tr_to: "IMS AS",
            what: "the S-CSCF's originating filter criteria send the INVITE to the IMS AS for the 3P ID service",
            hops: vec![hop(&["scscf-o"], &["as-o"], invite())],
        },
        Step {
            id: "3",
            tr_from: "IMS AS",
            tr_to: "HSS",
            what: "the IMS AS asks the HSS for the IMPU's 3P ID information (mutual TLS)",
            hops: vec![hop(
                &["as-o"],
                &["hss-o"],
                Expect::HttpRequest("GET /sh/v1/3pid-info/"),
            )],
        },
        Step {
            id: "4",
            tr_from: "HSS",
            tr_to: "repository",
            what: "the HSS hands out what it holds, so it never needs to fetch (choice 6.1-hss-fetch)",
            hops: vec![hop(&["hss-o"], &[], Expect::Action("no repository fetch"))],
        },
        Step {
            id: "5",
            tr_from: "HSS",
            tr_to: "IMS AS",
            what: "the HSS returns the 3P ID information, or the URI of the repository holding it (or 404: not subscribed)",
            hops: vec![hop(
                &["hss-o"],
                &["as-o"],
                Expect::HttpResponse("GET /sh/v1/3pid-info/"),
            )],
        },
        Step {
            id: "6",
            tr_from: "IMS AS",
            tr_to: "repository",
            what: "given a URI, the IMS AS fetches the 3P ID information from the enterprise's repository",
            hops: vec![step6],
        },
        Step {
            id: "7-8",
            tr_from: "IMS AS",
            tr_to: "Signing Server",
            what: "the IMS AS sends the 3P ID information with the caller's number to the STI-AS over Ms and gets one shaken PASSporT covering both",
            hops: vec![
                hop(
                    &["as-o"],
                    &["sti-as-o"],
                    Expect::HttpRequest("POST /stir/v1/signing"),
                ),
                hop(&["sti-as-o"], &[], Expect::Action("sign PASSporT")),
                hop(
                    &["sti-as-o"],
                    &["as-o"],
                    Expect::HttpResponse("POST /stir/v1/signing"),
                ),
            ],
        },
        Step {
            id: "9",
            tr_from: "IMS AS",
            tr_to: "CSCF",
            what: "the IMS AS returns the INVITE with the 3P ID (P-Asserted-Identity display name) and the Identity header",
            hops: vec![hop(&["as-o"], &["scscf-o"], invite())],
        },
        Step {
            id: "10a",
            tr_from: "CSCF",
            tr_to: "terminating network",
            what: "the S-CSCF routes the INVITE out through the egress IBCF over the NNI",
            hops: vec![
                hop(&["scscf-o"], &["ibcf-o"], invite()),
                hop(&["ibcf-o"], &["ibcf-t"], invite()),
            ],
        },
        Step {
            id: "10b",
            tr_from: "originating network",
            tr_to: "CSCF",
            what: "the ingress IBCF hands the INVITE to the terminating S-CSCF",
            hops: vec![hop(&["ibcf-t"], &["scscf-t"], invite())],
        },
        Step {
            id: "11",
            tr_from: "S-CSCF",
            tr_to: "IMS AS",
            what: "the terminating S-CSCF sends the INVITE to the IMS AS per the callee's subscription",
            hops: vec![hop(&["scscf-t"], &["as-t"], invite())],
        },
        Step {
            id: "12-13",
            tr_from: "IMS AS",
            tr_to: "Verification Server",
            what: "the IMS AS has the STI-VS verify the PASSporT (and so the 3P ID in it) and gets the result",
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
                hop(
                    &["sti-vs-t"],
                    &["as-t"],
                    Expect::HttpResponse("POST /stir/v1/verification"),
                ),
            ],
        },
        Step {
            id: "14",
            tr_from: "IMS AS",
            tr_to: "CSCF",
            what: "the IMS AS returns the INVITE with verstat and the 3P ID only if it verified",
            hops: vec![hop(&["as-t"], &["scscf-t"], invite())],
        },
        Step {
            id: "15",
            tr_from: "CSCF",
            tr_to: "UE-B",
            what: "the INVITE reaches UE-B, which renders the verified 3P ID",
            hops: vec![
                hop(&["scscf-t"], &["pcscf-t"], invite()),
                hop(&["pcscf-t"], &["ue-b"], invite()),
            ],
        },
    ];
    Figure {
        clause: "6.1.2",
        figure: "6.1.2-1, 6.1.2-2",
        title: "authorising and verifying third party ID information from the HSS (originating, then terminating network)",
        steps,
    }
}

const DELIVERED: Expected = Expected {
    answered: true,
    verstat: "TN-Validation-Passed",
    name: Some(Q_BRANCH),
    jcard: false,
    id3p_consulted: false,
    rcd_signed: false,
    vs_failure: None,
    dc: None,
    from_verstat: None,
};

fn call(caller: &'static str, display: Option<&'static str>) -> Script {
    Script::Call {
        caller,
        display,
        callee: "ue-b",
        target: CALLEE,
        prep: Prep::None,
    }
}

fn setup(storage: Storage) -> Setup {
    Setup {
        flow: ims_as::Flow::HssIdInfo,
        hss_storage: storage,
        ..Setup::default()
    }
}

/// Every variant of solution 1.
pub fn variants() -> Vec<Variant> {
    let base = [
        "world-ims-entry",
        "world-registration",
        "ms-transport",
        "6.1-hss-fetch",
    ];
    let with = |extra: &[&'static str]| base.iter().chain(extra).copied().collect::<Vec<_>>();
    vec![
        Variant {
            solution: 1,
            id: "info",
            title: "the HSS holds UE-A's 3P ID information: it is signed with the caller's number, verified, and UE-B is shown it",
            threat: None,
            figure: figures(Source::Hss),
            choices: with(&["6.1-storage", "6.1-passport"]),
            setup: setup(Storage::Data),
            script: call("ue-a", None),
            expected: DELIVERED,
        },
        Variant {
            solution: 1,
            id: "uri",
            title: "the HSS holds a URI: the IMS AS fetches the 3P ID information from the enterprise's repository, then as above",
            threat: None,
            figure: figures(Source::Repository),
            choices: with(&["6.1-storage", "6.1-passport"]),
            setup: setup(Storage::Pointer),
            script: call("ue-a", None),
            expected: Expected {
                id3p_consulted: true,
                ..DELIVERED
            },
        },
        Variant {
            solution: 1,
            id: "not-subscribed",
            title: "an IMPU not subscribed to 3P IDs names the enterprise in From: no 3P ID is signed or delivered",
            threat: Some(
                "§5.1.2 threat 1: a malicious UE uses IDs belonging to others or forged IDs",
            ),
            figure: figures(Source::None),
            choices: with(&["6.1-storage", "6.2-term-display"]),
            setup: setup(Storage::Data),
            script: call("ue-m", Some(Q_BRANCH)),
            expected: Expected {
                name: None,
                ..DELIVERED
            },
        },
        Variant {
            solution: 1,
            id: "altered",
            title: "the 3P ID is rewritten on the NNI: the one PASSporT no longer verifies, UE-B gets TN-Validation-Failed and no 3P ID",
            threat: Some("§5.1.2 threat 3: the ID is manipulated between IMS networks"),
            figure: figures(Source::Hss),
            choices: with(&[
                "6.1-storage",
                "6.1-passport",
                "6.2-term-display",
                "threat-nni",
            ]),
            setup: Setup {
                nni_tamper: Some(ibcf::Tamper::RcdName("Totally Legit Bank".into())),
                ..setup(Storage::Data)
            },
            script: call("ue-a", None),
            expected: Expected {
                verstat: "TN-Validation-Failed",
                name: None,
                vs_failure: Some(("shaken", 438)),
                ..DELIVERED
            },
        },
    ]
}
