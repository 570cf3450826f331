//! Solution 8 (TR 33.790 §6.8): avatar data signed like RCD, in both directions (Figure
//! 6.8.2-1). The caller's network checks at its AOS that the caller may use avatars and that
//! Avatar ID, and has the O-STI-AS sign the avatar (name, object URL, digest) into the INVITE;
//! the T-STI-VS verifies it. The callee answers naming its own Avatar ID; its network checks it
//! at its AOS and has the T-STI-AS sign it into the 200, which the O-STI-VS verifies before the
//! caller sees it (STIR on responses). Each UE then fetches the other's avatar object from the
//! AOS, which serves only the call's registered parties, once or repeatedly by policy. The
//! threats of §5.2.2 as variants: a caller not authorised, a foreign Avatar ID, avatar data
//! tampered between networks in either direction, a stranger fetching, a second fetch.

use proto::trace::{Act, Reason};
use proto::wire::avatar::{AOS_LOOKUP_PATH, AOS_OBJECT_PREFIX};
use stir::ms::{SIGNING_PATH, VERIFICATION_PATH};

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::{Check, Party};
use crate::run::play::{AosAfter, AosPlan, Script};
use crate::scenario::{
    Figure, Hop, Require, Step, act, hop, http, http_response, invite, invite_response, token,
};
use crate::solution::{KI2, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{Setup, family};

/// UE-B's IMPU, dialled.
const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
/// UE-A's default avatar.
const AGENT: &str = "qbranch-agent";
/// UE-B's avatar.
const OWL: &str = "owl";
/// UE-M's avatar (UE-M may not use avatars).
const SHARK: &str = "shark";
/// Where the NNI attacker points the caller's avatar: UE-M's object at the caller's AOS.
const SHARK_URL: &str = "https://aos.ims.mnc001.mcc001.3gppnetwork.org/aos/v1/objects/shark";
/// Where it points the callee's avatar on the way back: UE-A's cat at the caller's AOS.
const CAT_URL: &str = "https://aos.ims.mnc001.mcc001.3gppnetwork.org/aos/v1/objects/qbranch-cat";

/// Solution 8 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 8,
    key_issue: KI2,
    clause: "6.8",
    title: "avatar data signed like RCD, both directions, AOS",
    short: "avatar RCD + AOS",
    figures: &["6.8.2-1"],
    needs: &[family::AOS],
    choices: &[
        AVATAR_ID_HEADER,
        AOS_AUTHORISATION,
        AOS_MISMATCH,
        AVATAR_PASSPORT,
        AOS_SIGNER_READ,
        ANSWER_IN_200,
        RESPONSE_IDENTITY,
        STEP_18,
        CALLEE_RETRIEVAL,
        AOS_DECISION,
        UE_RENDERING,
    ],
    as_flow: ims_as::flows::aos_avatar,
    variants,
};

/// `8-avatar-id-header`.
pub const AVATAR_ID_HEADER: Choice = Choice {
    id: "8-avatar-id-header",
    clause: "6.8.2 steps 1 and 11, NOTE 2 (\"a new SIP header could be introduced\")",
    question: "Where a UE names its Avatar ID in its INVITE or its 18x/200.",
    answer: "In a private header of the testbed's own, `P-Avatar-ID: <id>`. The AS that checks it at its AOS removes it: only what was checked and signed travels on.",
};

/// `8-aos-authorisation`.
pub const AOS_AUTHORISATION: Choice = Choice {
    id: "8-aos-authorisation",
    clause: "6.8.2 step 2, Editor's Note (\"How is UE authorized to use avatars\")",
    question: "How the IMS decides that a subscriber may use avatars.",
    answer: "The operator's AOS holds it per subscriber (fixtures/avatars/aos.toml). The IMS AS asks it with the subscriber's IMPU, the Avatar ID named and the other party's IMPU (`POST /aos/v1/lookups`, mutual TLS, only the operator's IMS AS). A subscriber not authorised gets 403 not-entitled, and the call goes on without an avatar.",
};

/// `8-aos-mismatch`.
pub const AOS_MISMATCH: Choice = Choice {
    id: "8-aos-mismatch",
    clause: "6.8.2 NOTE 1, NOTE 2 and NOTE 4 (local policy on a missing or mismatching Avatar ID; NOTE 4 names the originating IMS system for a terminating-side step)",
    question: "What the AOS answers when no Avatar ID is named, or one the subscriber does not own.",
    answer: "None named: the subscriber's first avatar, its default (no lookup is suppressed). One it does not own: refused (403 claim-mismatch), so no avatar is signed; the call goes on. Each side applies this policy at its own AOS: NOTE 4's \"originating IMS system\" is read as the terminating one, whose step it is.",
};

/// `8-avatar-passport`.
pub const AVATAR_PASSPORT: Choice = Choice {
    id: "8-avatar-passport",
    clause: "6.8.2 steps 3 and 13 (which do not name Ms; the 6.8.1 introduction does), NOTE 3",
    question: "How the avatar data is signed and carried.",
    answer: "By the STI-AS over Ms (`POST /stir/v1/signing`), as RFC 9795 RCD in an `rcd` PASSporT carried in an Identity header, beside the `shaken` one: `nam` is the avatar's name, `icn` (the RCD icon) is the object's URL at the AOS, and `rcdi` covers the object's bytes (the STI-AS computes it over what it reads from the AOS). P-Asserted-Identity carries the avatar's name as display name.",
};

/// `8-aos-signer-read`.
pub const AOS_SIGNER_READ: Choice = Choice {
    id: "8-aos-signer-read",
    clause: "6.8.2 steps 4, 8, 14, 18 (RFC 9795 §6.2.2 rcdi)",
    question: "How the STI-AS and STI-VS read the avatar object an `rcd` PASSporT signs.",
    answer: "The AOS serves the object to the STIR services it knows (their TLS client certificates: its operator's STI-AS and the STI-VS of the networks its subscribers call), without a call tuple and without counting against the policy. The STI services fetch RCD content with their client certificates.",
};

/// `8-answer-in-200`.
pub const ANSWER_IN_200: Choice = Choice {
    id: "8-answer-in-200",
    clause: "6.8.2 steps 11 and 16 (\"18X/200\")",
    question: "Which answers carry the callee's avatar.",
    answer: "The 200 only: a 180 is not sent reliably without 100rel, and the 200 is the answer the caller keeps.",
};

/// `8-response-identity`.
pub const RESPONSE_IDENTITY: Choice = Choice {
    id: "8-response-identity",
    clause: "6.8.2 steps 13–20 (signing and verifying an 18x/200)",
    question: "Which specification the signed answer follows, since RFC 8224 §4 defines Identity for requests.",
    answer: "draft-ietf-stir-rfc4916-update (Connected Identity for STIR): the answer carries Identity headers whose `orig` is the callee and `dest` the caller, next to a P-Asserted-Identity for the callee that its network adds. The originating network verifies them and puts `verstat` on that P-Asserted-Identity.",
};

/// `8-step-18`.
pub const STEP_18: Choice = Choice {
    id: "8-step-18",
    clause: "6.8.2 step 18 (\"signed ... on the originating T-STI-AS\") and step 19 (\"to the terminating SIP UA\")",
    question: "Who verifies the callee's signed answer, and whom step 19 means.",
    answer: "The originating operator's STI-VS (the O-STI-VS of steps 17 and 19); the signature it checks is the T-STI-AS's, and the step's \"originating T-STI-AS\" is read as that. Step 19's \"terminating SIP UA\" is read as the originating one: a callee avatar that did not verify is removed before the caller sees the 200.",
};

/// `8-callee-retrieval`.
pub const CALLEE_RETRIEVAL: Choice = Choice {
    id: "8-callee-retrieval",
    clause: "6.8.2 step 20, Editor's Note (\"when does the originating IMS system retrieve the callee avatar data\")",
    question: "When the originating IMS retrieves the callee's avatar data.",
    answer: "Never: it verifies what the callee's network signed into the 200 and passes it on. The caller fetches the object itself at step 21.",
};

/// `8-aos-decision`.
pub const AOS_DECISION: Choice = Choice {
    id: "8-aos-decision",
    clause: "6.8.2 step 12, Editor's Note (\"how the avatar repository determines whether an avatar model/data can be returned\"); step 21",
    question: "How an AOS decides to serve an avatar object to a UE.",
    answer: "By the tuple the lookup registered: (Call-ID, owner, other party, Avatar ID) and the owner's policy, once or repeatedly. The UE proves who it is with a JWS signed with its UE key (`aos-request+jwt`: sub, avatar_id, call_id, iat, exp). A UE not in the tuple gets 403 not-authorised; a second fetch under `once` gets 403 replayed.",
};

/// `8-ue-rendering`.
pub const UE_RENDERING: Choice = Choice {
    id: "8-ue-rendering",
    clause: "6.8.2 step 21, Editor's Note (rendering caller-UE, callee-UE or network centric)",
    question: "Where the avatars are rendered.",
    answer: "At each UE: it renders the other party's fetched object as a still (the neutral face) once the digest matched. No facial points travel in this solution.",
};

/// §5.2.2's threats this solution shows.
const NOT_ENTITLED: Threat = Threat {
    clause: "5.2.2",
    text: "unauthorised use of avatars: a subscriber not authorised to use avatars names one",
    ids: &[],
};
const FOREIGN_ID: Threat = Threat {
    clause: "5.2.2",
    text: "a malicious UE uses an Avatar ID belonging to another UE",
    ids: &[ThreatId::ForgedAvatarId],
};
const TAMPERED: Threat = Threat {
    clause: "5.2.2",
    text: "avatar data manipulated in transit between networks (impersonation through another's avatar)",
    ids: &[ThreatId::AvatarIdInTransit],
};
const ASSET_ACCESS: Threat = Threat {
    clause: "5.2.2",
    text: "unauthorised access to avatar assets: fetching an avatar object outside the call's authorisation",
    ids: &[ThreatId::AvatarImpersonation],
};

/// How a variant's call goes, for its figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flow {
    /// The caller.
    caller: &'static str,
    /// The caller's avatar is signed (steps 3–5); else the AOS refused it for this reason.
    caller_refused: Option<Reason>,
    /// The caller's avatar reaches UE-B verified (steps 8–10).
    caller_verified: bool,
    /// The callee's avatar reaches the caller verified (steps 18–20).
    callee_verified: bool,
}

/// The caller's side as the steps name it.
fn caller_nodes(caller: &str) -> &'static [&'static str] {
    if caller == UE_M { &[UE_M] } else { &[UE_A] }
}

/// Steps 1–5: the INVITE, the AOS, the O-STI-AS.
fn originating(f: Flow, named: Option<&'static str>) -> Vec<Step> {
    let mut invite_hop = hop(caller_nodes(f.caller), &[PCSCF_O], invite());
    if let Some(id) = named {
        invite_hop = invite_hop.with(Require::HeaderHas(ims_as::flows::AVATAR_ID_HEADER, id));
    }
    vec![
        Step::new(
            "1",
            ("Caller UE", "originating IMS system"),
            "the caller's INVITE, with its IMPU and (optionally) the Avatar ID it wants to appear as",
            vec![invite_hop],
        ),
        Step::new(
            "2",
            ("originating IMS system", "AOS"),
            "the IMS AS asks its operator's AOS whether the caller may use avatars and that Avatar ID, naming the callee; the AOS registers the call's tuple and answers the avatar data (name, object URL, digest)",
            lookup(AS_O, AOS_O, f.caller_refused),
        ),
        Step::new(
            "3",
            ("originating IMS system", "O-STI-AS"),
            "the IMS AS asserts the caller with the avatar's name and asks the O-STI-AS over Ms to sign the avatar as RCD",
            vec![
                hop(&[AS_O], &[STI_AS_O], http("POST", SIGNING_PATH))
                    .with(Require::JsonIs("/signingRequest/ppt", "rcd"))
                    .with(Require::Json("/signingRequest/rcd/icn")),
            ],
        ),
        Step::new(
            "4",
            ("O-STI-AS", "(internal)"),
            "the O-STI-AS reads the object from the AOS for rcdi and signs the rcd PASSporT (nam, icn, rcdi)",
            signing(STI_AS_O, AOS_O),
        ),
        Step::new(
            "5",
            ("O-STI-AS", "originating IMS system"),
            "the O-STI-AS returns the Identity header",
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

/// Step 2 or 12: the lookup, the AOS's decision, its answer, the AS's conclusion.
fn lookup(by: &'static str, aos: &'static str, refused: Option<Reason>) -> Vec<Hop> {
    let ask = hop(ref_of(by), ref_of(aos), http("POST", AOS_LOOKUP_PATH))
        .with(Require::Json("/peer_impu"));
    let answer = hop(
        ref_of(aos),
        ref_of(by),
        http_response("POST", AOS_LOOKUP_PATH),
    );
    match refused {
        None => vec![
            ask,
            act(ref_of(aos), Act::AuthorizeAvatar),
            answer
                .with(Require::Status(200))
                .with(Require::Json("/object_url")),
            act(ref_of(by), Act::LookupAvatar),
        ],
        Some(r) => vec![
            ask,
            act(ref_of(aos), Act::AuthorizeAvatar).refused(r),
            answer.with(Require::Json("/reason")),
            act(ref_of(by), Act::LookupAvatar).refused(r),
        ],
    }
}

/// The static slice naming one node.
fn ref_of(node: &'static str) -> &'static [&'static str] {
    match node {
        AS_O => &[AS_O],
        AS_T => &[AS_T],
        AOS_O => &[AOS_O],
        AOS_T => &[AOS_T],
        STI_AS_O => &[STI_AS_O],
        STI_AS_T => &[STI_AS_T],
        STI_VS_O => &[STI_VS_O],
        STI_VS_T => &[STI_VS_T],
        UE_A => &[UE_A],
        UE_B => &[UE_B],
        UE_M => &[UE_M],
        _ => &[],
    }
}

/// Step 4 or 14: the signer reads the object for `rcdi` and signs.
fn signing(sti_as: &'static str, aos: &'static str) -> Vec<Hop> {
    vec![
        hop(ref_of(sti_as), ref_of(aos), http("GET", AOS_OBJECT_PREFIX)),
        act(ref_of(aos), Act::ServeAvatarObject),
        token(ref_of(sti_as), "rcd")
            .with(Require::Json("/rcd/icn"))
            .with(Require::Json("/rcdi/~1icn")),
        act(ref_of(sti_as), Act::SignPassport),
    ]
}

/// Step 8 or 18: the verifier checks the certificate and the signatures. With avatar data
/// (`rcd`), the rcd PASSporT is decoded and the object read for its digest; without (the caller's AOS refused), only the caller's
/// number (`shaken`). The caller's number verifies either way: an avatar altered on the way
/// fails its own check (judged by the variant's outcomes), not the call.
fn verification(sti_vs: &'static str, rcd: bool) -> Vec<Hop> {
    let decoded = if rcd {
        token(ref_of(sti_vs), "rcd").with(Require::Json("/rcd/icn"))
    } else {
        token(ref_of(sti_vs), "shaken").with(Require::Json("/orig/tn"))
    };
    let mut hops = vec![decoded];
    if rcd {
        // The object the icon names, read to check the signed digest (RFC 9795 §6.2.2).
        hops.push(hop(
            ref_of(sti_vs),
            &[AOS_O, AOS_T],
            http("GET", AOS_OBJECT_PREFIX),
        ));
    }
    hops.push(act(ref_of(sti_vs), Act::VerifyIdentity));
    hops
}

/// Steps 6–10: the NNI, the T-STI-VS, delivery to UE-B.
fn terminating(f: Flow) -> Vec<Step> {
    let mut crossing = vec![
        hop(&[SCSCF_O], &[IBCF_O], invite()).with(Require::Header("Identity")),
        hop(&[IBCF_O], &[IBCF_T], invite()).with(Require::Header("Identity")),
        hop(&[IBCF_T], &[SCSCF_T], invite()).with(Require::Header("Identity")),
    ];
    if f.caller_refused.is_none() && !f.caller_verified {
        crossing.insert(1, act(&[IBCF_O], Act::Tamper));
    }
    let mut delivered = hop(&[PCSCF_T], &[UE_B], invite()).with(Require::HeaderHas(
        "P-Asserted-Identity",
        "verstat=TN-Validation-Passed",
    ));
    if f.caller_verified {
        delivered = delivered.with(Require::IdentityClaim("/rcd/icn"));
    }
    vec![
        Step::new(
            "6",
            (
                "originating IMS system",
                "terminating IMS system (via egress IBCF, ingress IBCF)",
            ),
            "the INVITE leaves through the egress IBCF, crosses the NNI and enters through the ingress IBCF",
            crossing,
        ),
        Step::new(
            "7",
            ("terminating IMS system", "T-STI-VS"),
            "the terminating IMS AS asks the T-STI-VS over Ms to verify the Identity headers",
            vec![
                hop(&[AS_T], &[STI_VS_T], http("POST", VERIFICATION_PATH))
                    .with(Require::Json("/verificationRequest/identityHeader")),
            ],
        ),
        Step::new(
            "8",
            ("T-STI-VS", "(internal)"),
            "the T-STI-VS checks the certificate and the signatures over the caller's number and avatar data (and the object's digest)",
            verification(STI_VS_T, f.caller_refused.is_none()),
        ),
        Step::new(
            "9",
            ("T-STI-VS", "terminating IMS system"),
            "the T-STI-VS returns verstat and a result per PASSporT",
            vec![
                hop(
                    &[STI_VS_T],
                    &[AS_T],
                    http_response("POST", VERIFICATION_PATH),
                )
                .with(Require::Json("/verificationResponse/verifyResults")),
            ],
        ),
        Step::new(
            "10",
            ("terminating IMS system", "terminating SIP UA"),
            "UE-B gets the INVITE with verstat, and the caller's avatar data only if it verified",
            vec![act(&[AS_T], Act::Deliver), delivered],
        ),
    ]
}

/// Steps 11–16: the callee's answer signed by its network (and, with the threat, altered on
/// its way over the NNI).
fn answering(named: Option<&'static str>, tampered: bool) -> Vec<Step> {
    let mut back = vec![
        act(&[AS_T], Act::SignAnswer),
        hop(&[AS_T], &[SCSCF_T], invite_response(200, 299))
            .with(Require::IdentityClaim("/rcd/icn")),
    ];
    if tampered {
        back.push(act(&[IBCF_T], Act::Tamper));
    }
    back.push(
        hop(&[IBCF_T], &[IBCF_O], invite_response(200, 299)).with(Require::Header("Identity")),
    );
    let mut ok = hop(&[UE_B], &[PCSCF_T], invite_response(200, 299));
    if let Some(id) = named {
        ok = ok.with(Require::HeaderHas(ims_as::flows::AVATAR_ID_HEADER, id));
    }
    vec![
        Step::new(
            "11",
            ("terminating SIP UA", "terminating IMS system"),
            "UE-B rings (180) and answers (200), naming its own Avatar ID",
            vec![hop(&[UE_B], &[PCSCF_T], invite_response(180, 189)), ok],
        ),
        Step::new(
            "12",
            ("terminating IMS system", "AOS"),
            "the terminating IMS AS asks its AOS whether UE-B may use avatars and that Avatar ID, naming the caller; the AOS registers the tuple and answers the avatar data",
            lookup(AS_T, AOS_T, None),
        ),
        Step::new(
            "13",
            ("terminating IMS system", "T-STI-AS"),
            "the terminating IMS AS asks the T-STI-AS over Ms to sign UE-B's avatar, with orig the callee and dest the caller",
            vec![
                hop(&[AS_T], &[STI_AS_T], http("POST", SIGNING_PATH))
                    .with(Require::JsonIs("/signingRequest/ppt", "rcd"))
                    .with(Require::Json("/signingRequest/rcd/icn")),
            ],
        ),
        Step::new(
            "14",
            ("T-STI-AS", "(internal)"),
            "the T-STI-AS reads the object from its AOS for rcdi and signs the rcd PASSporT",
            signing(STI_AS_T, AOS_T),
        ),
        Step::new(
            "15",
            ("T-STI-AS", "terminating IMS system"),
            "the T-STI-AS returns the Identity header",
            vec![
                hop(&[STI_AS_T], &[AS_T], http_response("POST", SIGNING_PATH))
                    .with(Require::Status(200))
                    .with(Require::JsonHas(
                        "/signingResponse/identityHeader",
                        "ppt=\"rcd\"",
                    )),
            ],
        ),
        Step::new(
            "16",
            ("terminating IMS system", "originating IMS system"),
            "the 200 goes back with P-Asserted-Identity for the callee and its Identity headers, over the NNI",
            back,
        ),
    ]
}

/// Steps 17–20: the O-STI-VS on the answer, delivery to the caller.
fn answered(f: Flow) -> Vec<Step> {
    let mut to_caller = hop(
        &[PCSCF_O],
        caller_nodes(f.caller),
        invite_response(200, 299),
    )
    .with(Require::HeaderHas(
        "P-Asserted-Identity",
        "verstat=TN-Validation-Passed",
    ));
    if f.callee_verified {
        to_caller = to_caller.with(Require::IdentityClaim("/rcd/icn"));
    }
    let request = vec![
        hop(&[AS_O], &[STI_VS_O], http("POST", VERIFICATION_PATH))
            .with(Require::Json("/verificationRequest/identityHeader")),
    ];
    vec![
        Step::new(
            "17",
            ("originating IMS system", "O-STI-VS"),
            "the originating IMS AS asks the O-STI-VS over Ms to verify the answer's Identity headers (orig the callee, dest the caller)",
            request,
        ),
        Step::new(
            "18",
            ("O-STI-VS", "(internal)"),
            "the O-STI-VS checks the T-STI-AS's certificate and signatures over the callee's number and avatar data",
            verification(STI_VS_O, true),
        ),
        Step::new(
            "19",
            ("O-STI-VS", "originating IMS system"),
            "the O-STI-VS returns verstat and a result per PASSporT",
            vec![
                hop(
                    &[STI_VS_O],
                    &[AS_O],
                    http_response("POST", VERIFICATION_PATH),
                )
                .with(Require::Json("/verificationResponse/verifyResults")),
            ],
        ),
        Step::new(
            "20",
            ("originating IMS system", "originating SIP UA"),
            "the caller gets the 200 with verstat, and the callee's avatar data only if it verified",
            vec![act(&[AS_O], Act::DeliverAnswer), to_caller],
        ),
    ]
}

/// What happens at step 21: each fetch (the fetching UE, the AOS, and whether it is served).
#[derive(Debug, Clone, Copy)]
struct Fetch {
    by: &'static str,
    aos: &'static str,
    refused: Option<Reason>,
}

/// Step 21: the fetches, in order.
fn fetching(fetches: &[Fetch]) -> Step {
    let mut hops = Vec::new();
    for f in fetches {
        hops.push(
            hop(ref_of(f.by), ref_of(f.aos), http("GET", AOS_OBJECT_PREFIX))
                .with(Require::HeaderHas("Authorization", "Bearer ")),
        );
        match f.refused {
            None => {
                hops.push(act(ref_of(f.aos), Act::ServeAvatarObject));
                hops.push(act(ref_of(f.by), Act::FetchAvatarObject));
                hops.push(act(ref_of(f.by), Act::ShowAvatar));
            }
            Some(r) => {
                hops.push(act(ref_of(f.aos), Act::ServeAvatarObject).refused(r));
                hops.push(act(ref_of(f.by), Act::FetchAvatarObject).refused(r));
            }
        }
    }
    Step::new(
        "21",
        ("originating UE, terminating UE", "AOS"),
        "each UE fetches the other's avatar object from the AOS named in the verified message, proving who it is; the AOS serves only the call's parties, as often as the owner's policy allows; the UE checks the digest and shows it",
        hops,
    )
}

/// The figure for a flow and its fetches.
fn figure(
    f: Flow,
    named: (Option<&'static str>, Option<&'static str>),
    fetches: &[Fetch],
) -> Figure {
    let mut steps = originating(f, named.0);
    steps.extend(terminating(f));
    steps.extend(answering(named.1, !f.callee_verified));
    steps.extend(answered(f));
    steps.push(fetching(fetches));
    let figure = Figure {
        clause: "6.8.2",
        figure: "6.8.2-1",
        title: "avatar IMS communication: avatar data signed and verified in both directions",
        steps,
    };
    if f.caller_refused.is_some() {
        figure.prevent(&["3", "4", "5"], "2")
    } else {
        figure
    }
}

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &AVATAR_ID_HEADER,
        &AOS_AUTHORISATION,
        &AVATAR_PASSPORT,
        &AOS_SIGNER_READ,
        &ANSWER_IN_200,
        &RESPONSE_IDENTITY,
        &STEP_18,
        &CALLEE_RETRIEVAL,
        &AOS_DECISION,
        &UE_RENDERING,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

/// The happy flow from UE-A.
const HAPPY: Flow = Flow {
    caller: UE_A,
    caller_refused: None,
    caller_verified: true,
    callee_verified: true,
};

/// The two parties' own fetches, served.
const BOTH: [Fetch; 2] = [
    Fetch {
        by: UE_B,
        aos: AOS_O,
        refused: None,
    },
    Fetch {
        by: UE_A,
        aos: AOS_T,
        refused: None,
    },
];

fn plan(
    caller: &'static str,
    ids: (Option<&'static str>, Option<&'static str>),
    then: AosAfter,
) -> Script {
    Script::Aos(AosPlan {
        caller,
        target: CALLEE,
        caller_avatar: ids.0,
        callee_avatar: ids.1,
        then,
    })
}

/// Both avatars shown (`caller_avatar` to UE-B, owl to the caller), both answers verified.
fn both_shown(caller_avatar: &'static str) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::AnswerVerstat(Some("TN-Validation-Passed")),
        Check::PeerAvatar {
            party: Party::Callee,
            avatar_id: Some(caller_avatar),
        },
        Check::PeerAvatar {
            party: Party::Caller,
            avatar_id: Some(OWL),
        },
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
        solution: 8,
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

/// Every variant of solution 8.
pub fn variants() -> Vec<Variant> {
    let named = (Some(AGENT), Some(OWL));
    vec![
        happy(named),
        default_avatars(),
        caller_refused(
            "caller-not-authorised",
            "UE-M, whose subscription may not use avatars, names its avatar shark: its AOS refuses (not entitled), only its number is signed and the call goes on; UE-B's avatar still reaches UE-M",
            NOT_ENTITLED,
            UE_M,
            SHARK,
            Reason::NotEntitled,
        ),
        caller_refused(
            "caller-foreign-id",
            "UE-A names UE-B's avatar owl as its own: the AOS finds it is not UE-A's (claim mismatch), no avatar is signed for UE-A and the call goes on",
            FOREIGN_ID,
            UE_A,
            OWL,
            Reason::ClaimMismatch,
        ),
        caller_tampered(named),
        callee_tampered(named),
        stranger(named),
        second_fetch(named),
    ]
}

fn happy(named: (Option<&'static str>, Option<&'static str>)) -> Variant {
    let mut checks = both_shown(AGENT);
    checks.push(Check::Name(Some("Q-Branch agent")));
    variant(
        "both-happy",
        "UE-A calls UE-B naming its avatar qbranch-agent; its AOS authorises it and the O-STI-AS signs it as RCD; the T-STI-VS verifies it. UE-B answers naming owl; its AOS authorises it, the T-STI-AS signs it into the 200 and the O-STI-VS verifies it. Each UE fetches the other's avatar object and shows it",
        None,
        figure(HAPPY, named, &BOTH),
        &[],
        Setup::default(),
        plan(UE_A, named, AosAfter::Nothing),
        checks,
    )
}

fn default_avatars() -> Variant {
    variant(
        "default-avatars",
        "neither UE names an Avatar ID: each AOS answers the subscriber's default avatar (UE-A's first, qbranch-agent; UE-B's owl), signed and shown as on the happy path",
        None,
        figure(HAPPY, (None, None), &BOTH),
        &[&AOS_MISMATCH],
        Setup::default(),
        plan(UE_A, (None, None), AosAfter::Nothing),
        both_shown(AGENT),
    )
}

fn caller_refused(
    id: &'static str,
    title: &'static str,
    threat: Threat,
    caller: &'static str,
    names: &'static str,
    reason: Reason,
) -> Variant {
    let flow = Flow {
        caller,
        caller_refused: Some(reason),
        caller_verified: false,
        callee_verified: true,
    };
    let fetch = [Fetch {
        by: caller,
        aos: AOS_T,
        refused: None,
    }];
    let checks = vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::Refusal {
            by: AOS_O,
            act: Act::AuthorizeAvatar,
            reason,
        },
        Check::Refusal {
            by: AS_O,
            act: Act::LookupAvatar,
            reason,
        },
        Check::PeerAvatar {
            party: Party::Callee,
            avatar_id: None,
        },
        Check::PeerAvatar {
            party: Party::Caller,
            avatar_id: Some(OWL),
        },
    ];
    variant(
        id,
        title,
        Some(threat),
        figure(flow, (Some(names), Some(OWL)), &fetch),
        &[&AOS_MISMATCH],
        Setup::default(),
        plan(caller, (Some(names), Some(OWL)), AosAfter::Nothing),
        checks,
    )
}

fn caller_tampered(named: (Option<&'static str>, Option<&'static str>)) -> Variant {
    let flow = Flow {
        caller_verified: false,
        ..HAPPY
    };
    let fetch = [BOTH[1]];
    let checks = vec![
        Check::Answered,
        Check::Verstat("TN-Validation-Passed"),
        Check::Did {
            by: IBCF_O,
            act: Act::Tamper,
        },
        Check::VsRejects {
            ppt: "rcd",
            code: 438,
            reason: Reason::SignatureInvalid,
        },
        Check::PeerAvatar {
            party: Party::Callee,
            avatar_id: None,
        },
        Check::PeerAvatar {
            party: Party::Caller,
            avatar_id: Some(OWL),
        },
    ];
    variant(
        "caller-avatar-tampered",
        "between the networks, the egress IBCF points the caller's signed avatar to UE-M's shark (the signature kept): the T-STI-VS finds the rcd PASSporT's signature broken, the avatar is removed and UE-B sees none; the call goes on and UE-A still gets UE-B's avatar",
        Some(TAMPERED),
        figure(flow, named, &fetch),
        &[],
        Setup {
            nni_tamper: Some(ibcf::Tamper::RcdIcon(SHARK_URL.into())),
            ..Setup::default()
        },
        plan(UE_A, named, AosAfter::Nothing),
        checks,
    )
}

fn callee_tampered(named: (Option<&'static str>, Option<&'static str>)) -> Variant {
    let flow = Flow {
        callee_verified: false,
        ..HAPPY
    };
    let fetch = [BOTH[0]];
    let checks = vec![
        Check::Answered,
        Check::Did {
            by: IBCF_T,
            act: Act::Tamper,
        },
        Check::AnswerVsRejects {
            ppt: "rcd",
            code: 438,
            reason: Reason::SignatureInvalid,
        },
        Check::AnswerVerstat(Some("TN-Validation-Passed")),
        Check::PeerAvatar {
            party: Party::Callee,
            avatar_id: Some(AGENT),
        },
        Check::PeerAvatar {
            party: Party::Caller,
            avatar_id: None,
        },
    ];
    variant(
        "callee-avatar-tampered",
        "on the way back, the terminating network's IBCF points UE-B's signed avatar to UE-A's own cat (the signature kept): the O-STI-VS finds the rcd PASSporT's signature broken and the caller gets the 200 without an avatar; UE-B still shows UE-A's",
        Some(TAMPERED),
        figure(flow, named, &fetch),
        &[],
        Setup {
            nni_answer_tamper: Some(ibcf::Tamper::RcdIcon(CAT_URL.into())),
            ..Setup::default()
        },
        plan(UE_A, named, AosAfter::Nothing),
        checks,
    )
}

fn stranger(named: (Option<&'static str>, Option<&'static str>)) -> Variant {
    let mut fetches = BOTH.to_vec();
    fetches.push(Fetch {
        by: UE_M,
        aos: AOS_O,
        refused: Some(Reason::NotAuthorised),
    });
    let mut checks = both_shown(AGENT);
    checks.push(Check::ExtraFetchRefused(Reason::NotAuthorised));
    checks.push(Check::Refusal {
        by: AOS_O,
        act: Act::ServeAvatarObject,
        reason: Reason::NotAuthorised,
    });
    variant(
        "stranger-fetch",
        "after the call is set up, UE-M, not a party to it, asks UE-A's AOS for UE-A's avatar object with a valid proof of its own identity: no tuple names UE-M, the AOS refuses (not authorised)",
        Some(ASSET_ACCESS),
        figure(HAPPY, named, &fetches),
        &[],
        Setup::default(),
        plan(UE_A, named, AosAfter::Stranger(UE_M)),
        checks,
    )
}

fn second_fetch(named: (Option<&'static str>, Option<&'static str>)) -> Variant {
    let mut fetches = BOTH.to_vec();
    fetches.push(Fetch {
        by: UE_A,
        aos: AOS_T,
        refused: Some(Reason::Replayed),
    });
    let mut checks = both_shown(AGENT);
    checks.push(Check::ExtraFetchRefused(Reason::Replayed));
    checks.push(Check::Refusal {
        by: AOS_T,
        act: Act::ServeAvatarObject,
        reason: Reason::Replayed,
    });
    variant(
        "second-fetch-once",
        "UE-B's avatar may be fetched once (its AOS policy): UE-A's second fetch in the same call is refused (replayed)",
        // The call's own party fetching again: a policy check, not someone after another's
        // avatar, so none of the TR's 5.2.2 threats as stated.
        Some(Threat {
            ids: &[],
            ..ASSET_ACCESS
        }),
        figure(HAPPY, named, &fetches),
        &[],
        Setup::default(),
        plan(UE_A, named, AosAfter::FetchAgain),
        checks,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_refused_caller_prevents_the_avatar_signing_only() {
        let v = variants();
        let refused = v.iter().find(|v| v.id == "caller-not-authorised").unwrap();
        let taken: Vec<_> = refused
            .figure
            .steps
            .iter()
            .filter(|s| !s.taken())
            .map(|s| s.id)
            .collect();
        assert_eq!(taken, ["3", "4", "5"]);
        let ids: Vec<_> = refused.figure.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), 21);
    }
}
