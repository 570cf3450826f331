//! The trust model's threats, shown on solution 2 because it is the reference flow: attacks on
//! the common IMS core (a forged P-Asserted-Identity, a reused Contact, a registration without
//! the password, a forged `orig` Route, a spoofed trunk, an out-of-range trunk number), on Ms
//! (a signing request from outside the operator) and on the STIR certificates (a TNAuthList that
//! does not cover the caller, a revoked certificate), and the jCard URL swapped on the NNI. Each
//! variant's figure puts the deciding check where the TR step happens, and its checks assert the
//! typed reason.

use proto::trace::{Act, Reason};

use super::{
    ALL_CALLERS, CALLEE, FORGED, IN_TRANSIT, Lookup, RCD_HEADER, Verified, call, no_rcd, shown,
    single_registration, sip_trunk, with,
};
use crate::choices;
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{Attack, Prep, Script};
use crate::scenario::{Figure, Require, act, hop, invite};
use crate::solution::{Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{Setup, StiSpCert};

/// A number of UE-A's, as UE-M forges it.
const UE_A_URI: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org;user=phone";
/// A number outside the enterprise's trunk range.
const OUT_OF_RANGE: &str = "sip:+12025559999@pbx.enterprise.example";
/// Where the NNI attacker points the jCard.
const EVIL_JCARD: &str = "https://id.enterprise.example/rcd/v1/jcards/totally-legit-bank.json";

const SPOOFED_TRUNK: Threat = Threat {
    clause: "5.1.2",
    text: "threat 1: an attacker poses as the enterprise's trunk to use its IDs",
    ids: &[ThreatId::ForgedId],
};
const ROGUE_SIGNER: Threat = Threat {
    clause: "5.1.2",
    text: "threat 1: forged IDs signed by asking the signing server directly",
    ids: &[ThreatId::ForgedId],
};
const BAD_CERT: Threat = Threat {
    clause: "5.1.2",
    text: "threat 3: an ID signed with a certificate that does not vouch for it",
    ids: &[],
};

/// Every trust model variant.
pub fn variants() -> Vec<Variant> {
    [ue_attacks(), trunk_attacks(), signing_attacks()].concat()
}

fn variant(
    id: &'static str,
    title: &'static str,
    threat: Threat,
    figure: Figure,
    setup: Setup,
    script: Script,
    checks: Vec<Check>,
) -> Variant {
    Variant {
        solution: 2,
        id,
        title,
        threat: Some(threat),
        figure,
        choices: with(&[
            &choices::TRUST_FLOW_BINDING,
            &choices::TRUST_DOMAIN,
            &choices::ATTESTATION,
        ]),
        setup,
        script,
        checks,
    }
}

fn attack(caller: &'static str, attack: Attack) -> Script {
    Script::Call {
        caller,
        display: None,
        callee: UE_B,
        target: super::CALLEE,
        prep: Prep::None,
        attack,
    }
}

/// Figure 6.2.2.3-1 stopped at step 1: the check of `by` refuses the INVITE (403), nothing else
/// of the figure happens.
fn stopped_at_entry(by: &'static [&'static str], to: &'static [&'static str]) -> Figure {
    let mut figure = single_registration(Lookup::Record, Verified::Both);
    if let Some(step) = figure.step_mut("1") {
        step.hops = vec![
            hop(ALL_CALLERS, to, invite()),
            act(by, Act::RefuseRequest).refused(Reason::NotAuthorised),
        ];
    }
    figure.prevent(
        &["2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
        "1",
    )
}

/// A refused INVITE: 403 to the caller, nothing signed, nothing delivered.
fn refused_at(by: &'static str, act: Act) -> Vec<Check> {
    vec![
        Check::Refused(403),
        Check::Refusal {
            by,
            act,
            reason: Reason::NotAuthorised,
        },
        Check::Signed {
            ppt: "shaken",
            yes: false,
        },
    ]
}

/// Attacks by a UE on the P-CSCF, the S-CSCF and the registrar.
fn ue_attacks() -> Vec<Variant> {
    let mut pai = single_registration(
        Lookup::RefusedByHss(Reason::NotAuthorised),
        Verified::NumberOnly,
    );
    if let Some(step) = pai.step_mut("1") {
        step.hops = vec![
            hop(&[UE_M], &[PCSCF_O], invite()).with(Require::Header("P-Asserted-Identity")),
            act(&[PCSCF_O], Act::StripUntrusted),
            act(&[PCSCF_O], Act::AssertIdentity),
        ];
    }
    let mut pai_checks = no_rcd(false, Reason::NotAuthorised);
    pai_checks.extend([
        Check::AssertedNumber("+12025551666"),
        Check::FromVerstat("TN-Validation-Failed"),
        Check::Did {
            by: PCSCF_O,
            act: Act::StripUntrusted,
        },
        Check::Attested("A"),
    ]);
    let mut register = stopped_at_entry(&[PCSCF_O], &[PCSCF_O]);
    register.title = "the originating IMS network signs on behalf of the 3rd party (single SIP registration), after a failed registration";
    let mut register_checks = refused_at(PCSCF_O, Act::RefuseRequest);
    register_checks.extend([
        Check::Registrations(&[401, 403]),
        Check::Did {
            by: SCSCF_O,
            act: Act::ChallengeUser,
        },
        Check::Refusal {
            by: SCSCF_O,
            act: Act::RegisterUser,
            reason: Reason::SignatureInvalid,
        },
    ]);
    let mut orig_checks = refused_at(SCSCF_O, Act::RefuseRequest);
    orig_checks.push(Check::Asked {
        from: SCSCF_O,
        to: AS_O,
        yes: false,
    });
    vec![
        variant(
            "pai-forged",
            "UE-M writes UE-A's number in P-Asserted-Identity and From: the P-CSCF removes it and asserts UE-M's own identity, so the 3P ID is refused and UE-M's own number is signed",
            FORGED,
            pai,
            Setup::default(),
            attack(UE_M, Attack::AssertIdentity(UE_A_URI)),
            pai_checks,
        ),
        variant(
            "contact-reused",
            "UE-M, not registered, writes UE-A's Contact in its INVITE: the P-CSCF finds no registration on UE-M's flow and answers 403",
            FORGED,
            stopped_at_entry(&[PCSCF_O], &[PCSCF_O]),
            Setup::default(),
            attack(UE_M, Attack::ReuseContact { of: UE_A }),
            refused_at(PCSCF_O, Act::RefuseRequest),
        ),
        variant(
            "register-as-ue-a",
            "UE-M registers as UE-A: the S-CSCF challenges (401) and refuses the wrong answer (403); UE-M's INVITE from its unregistered flow is then refused (403)",
            FORGED,
            register,
            Setup::default(),
            attack(UE_M, Attack::RegisterAs { of: UE_A }),
            register_checks,
        ),
        variant(
            "orig-forged",
            "UE-M sends its INVITE straight to the S-CSCF with an `orig` Route: the S-CSCF does not take it as originating (not from its P-CSCF) and answers 403",
            FORGED,
            stopped_at_entry(&[SCSCF_O], &[SCSCF_O]),
            Setup::default(),
            attack(UE_M, Attack::OrigRoute),
            orig_checks,
        ),
    ]
}

fn trunk_call() -> Script {
    call(PBX, Some("Q Branch Front Desk"))
}

/// Figure 6.2.2.2-1 stopped at step 1: the IBCF does not identify the trunk.
fn trunk_refused() -> Figure {
    let mut figure = sip_trunk(Lookup::Record);
    if let Some(step) = figure.step_mut("1") {
        step.hops = vec![
            hop(&[PBX], &[IBCF_O], invite()),
            act(&[IBCF_O], Act::IdentifyTrunk).refused(Reason::NotAuthorised),
        ];
    }
    figure.prevent(
        &[
            "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
        ],
        "1",
    )
}

/// Attacks on the enterprise trunk.
fn trunk_attacks() -> Vec<Variant> {
    let spoofed = |id, title, tls| {
        let mut v = variant(
            id,
            title,
            SPOOFED_TRUNK,
            trunk_refused(),
            Setup {
                trunk_tls: tls,
                ..Setup::default()
            },
            trunk_call(),
            refused_at(IBCF_O, Act::IdentifyTrunk),
        );
        v.choices.push(&choices::TRUST_TRUNK_TLS);
        v
    };
    let mut out_of_range = variant(
        "trunk-out-of-range",
        "the identified PBX names a number outside the enterprise's range: the IBCF asserts it for the trunk, and the IMS AS attests it B (it knows the trunk, not the number)",
        FORGED,
        sip_trunk(Lookup::RefusedByHss(Reason::NotAuthorised)),
        Setup::default(),
        Script::Call {
            caller: PBX,
            display: None,
            callee: UE_B,
            target: CALLEE,
            prep: Prep::None,
            attack: Attack::AssertIdentity(OUT_OF_RANGE),
        },
        vec![
            Check::Answered,
            Check::Attested("B"),
            Check::AssertedNumber("+12025559999"),
            Check::Verstat("TN-Validation-Passed"),
            Check::Refusal {
                by: AS_O,
                act: Act::RcdLookup,
                reason: Reason::NotAuthorised,
            },
        ],
    );
    out_of_range.choices.push(&choices::TRUST_TRUNK_TLS);
    vec![
        spoofed(
            "trunk-no-cert",
            "an attacker reaches the IBCF over TLS without a client certificate and claims to be the enterprise's PBX: the trunk is not identified, 403",
            ue::TrunkTls::Anonymous,
        ),
        spoofed(
            "trunk-other-cert",
            "an attacker presents another valid certificate of the same PKI (the enterprise's 3P ID server's) on the trunk: not the PBX's, 403",
            ue::TrunkTls::As("id.enterprise.example".into()),
        ),
        out_of_range,
    ]
}

/// Attacks on signing: Ms from outside the operator, certificates that do not vouch for the
/// number, the jCard URL swapped on the NNI.
fn signing_attacks() -> Vec<Variant> {
    let mut all = vec![direct_signing()];
    all.extend(certificate_attacks());
    all.push(jcard_url_swapped());
    all
}

/// The enterprise's PBX asks the operator's STI-AS to sign.
fn direct_signing() -> Variant {
    let mut direct_checks = shown("Q Branch Front Desk");
    direct_checks.extend([
        Check::DirectSigning(403),
        Check::Refusal {
            by: STI_AS_O,
            act: Act::SignPassport,
            reason: Reason::NotAuthorised,
        },
    ]);
    let mut direct = variant(
        "direct-signing",
        "the enterprise's PBX, with a valid certificate of its own, asks the operator's STI-AS to sign over Ms: not the operator's IMS AS, refused (403), nothing signed; its trunk call is then signed as usual",
        ROGUE_SIGNER,
        sip_trunk(Lookup::Record),
        Setup::default(),
        Script::Call {
            caller: PBX,
            display: Some("Q Branch Front Desk"),
            callee: UE_B,
            target: CALLEE,
            prep: Prep::None,
            attack: Attack::DirectSigning { by: PBX },
        },
        direct_checks,
    );
    direct.choices.push(&choices::MS_CLIENT_AUTH);
    direct
}

/// Certificates that do not vouch for the caller: the STI-VS refuses them (438).
fn certificate_attacks() -> Vec<Variant> {
    let cert = |id, title, sp_cert: sti::SpCert, reason| {
        let mut v = variant(
            id,
            title,
            BAD_CERT,
            single_registration(Lookup::Record, Verified::Failed(reason)),
            Setup {
                sti_sp_cert: StiSpCert(sp_cert),
                ..Setup::default()
            },
            call(UE_A, None),
            vec![
                Check::Answered,
                Check::Verstat("TN-Validation-Failed"),
                Check::Name(None),
                Check::Jcard(false),
                Check::VsRejects {
                    ppt: "shaken",
                    code: 438,
                    reason,
                },
            ],
        );
        v.choices.push(&choices::CERT_RULES);
        v
    };
    vec![
        cert(
            "tn-not-covered",
            "the STI-AS signs with a certificate whose TNAuthList lists numbers that do not include the caller's: the STI-VS refuses it (438), TN-Validation-Failed",
            sti::SpCert::wrong_tn(),
            Reason::NotEntitled,
        ),
        cert(
            "revoked-cert",
            "the STI-AS signs with a certificate the STI-CA has revoked: the STI-VS finds it on the CA's CRL and refuses it (438), TN-Validation-Failed",
            sti::SpCert::revoked(),
            Reason::Revoked,
        ),
    ]
}

/// The NNI attacker points Call-Info elsewhere.
fn jcard_url_swapped() -> Variant {
    let mut swapped = variant(
        "jcard-url-swapped",
        "an attacker on the NNI points Call-Info's jCard URL elsewhere: it no longer equals the signed `jcl`, so the RCD is not shown; the caller's number still verifies",
        IN_TRANSIT,
        single_registration(Lookup::Record, Verified::NumberOnly),
        Setup {
            nni_tamper: Some(ibcf::Tamper::CallInfoUrl(EVIL_JCARD.into())),
            ..Setup::default()
        },
        call(UE_A, None),
        vec![
            Check::Answered,
            Check::Verstat("TN-Validation-Passed"),
            Check::Name(None),
            Check::Jcard(false),
            Check::CheckFails {
                by: AS_T,
                reason: Reason::ClaimMismatch,
            },
        ],
    );
    swapped
        .choices
        .extend([&RCD_HEADER, &choices::THREAT_NNI, &choices::TERM_DISPLAY]);
    swapped
}
