//! Solution 9 (TR 33.790 §6.9): secure exposure of IMS data channel capabilities through the
//! NEF. A DC AS/AF reaches the NEF over HTTPS with mutual TLS and an OAuth 2.0 access token
//! bound to its certificate; the NEF retrieves the DC exposure policy and the subscriber's
//! consent from the HSS/UDM and decides. An event subscription (Figure 6.9.2.1-1) is placed at
//! the DCSF, which notifies the DC events of real calls (the IMS AS reports them) to the NEF;
//! the NEF passes each on, anonymised for an AF the policy says to. A DC session control request
//! (Figure 6.9.2.2-1) is checked against the ADC's application (the NEF asks the DCSF which one
//! it is) and carried out by the DCSF: the MF reserves the channel toward both UEs and the IMS
//! AS re-INVITEs both, so the channel really opens or closes at the UEs.

mod figures;

use proto::trace::{Act, Reason};
use proto::wire::exposure::Operation;

use crate::choices::{self, Choice};
use crate::node::*;
use crate::run::judge::Check;
use crate::run::play::{AfAct, ExposurePlan, Script, TokenUse};
use crate::scenario::Figure;
use crate::solution::{KI3, Solution, Threat, Variant};
use crate::threats::ThreatId;
use crate::world::{DcSetup, Setup, family};
use figures::{Control, SubStop, control_figure, subscription_figure};

/// UE-A's IMPU.
const UE_A_IMPU: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
/// The operator's DC application, owned by its DC AS.
const AVATAR_CALL: &str = "avatar-call";
/// The third party's DC application.
const SCREEN_SHARE: &str = "screen-share";

/// Solution 9 in the registry.
pub const SOLUTION: Solution = Solution {
    number: 9,
    key_issue: KI3,
    clause: "6.9",
    title: "secure IMS DC capability exposure through the NEF",
    short: "DC exposure via NEF",
    figures: &["6.9.2.1-1", "6.9.2.2-1"],
    needs: &[family::DC_EXPOSURE, family::DC_NETWORK],
    choices: &[
        AF_AUTH,
        POLICY_SOURCE,
        ANONYMISATION,
        EVENT_SOURCE,
        OWNERSHIP_CHECK,
        CONTROL_EXECUTION,
        APP_ON_SDP,
        DOWNLOAD_TRIGGER,
        NOT_CARRIED_OUT,
    ],
    as_flow: ims_as::flows::dc_exposure,
    variants,
};

/// `9-af-auth`.
pub const AF_AUTH: Choice = Choice {
    id: "9-af-auth",
    clause: "6.9.2 (\"based on the description in clause 13 or clause 12 of TS 33.501\"), 6.9.2.1 step 2",
    question: "How the NEF authenticates and authorises a DC AS/AF.",
    answer: "TS 33.501 §13: mutual TLS with a certificate of the world's CA (the AF is the certificate's DNS name), then an OAuth 2.0 client credentials token from `POST /nef/v1/dc-exposure/oauth2/token`: an RFC 9068 JWT (ES256, the NEF's key, x5t#S256) with iss the NEF, sub the AF, aud `nef-dc-exposure` (RFC 8707 `resource` may ask for another), scope `dc-events` or `dc-control`, iat, exp (300 s), jti and `cnf.x5t#S256`, binding it to the AF's certificate (RFC 8705). The token endpoint serves any client of the world's CA; what an AF may do is decided per request by the policy. A token that does not hold is answered as RFC 6750 §3.1 says: 401 invalid_token, or 403 insufficient_scope.",
};

/// `9-policy-source`.
pub const POLICY_SOURCE: Choice = Choice {
    id: "9-policy-source",
    clause: "6.9.2 (\"preconfigured in HSS/UDM or NEF\"), 6.9.2.1 step 2 (\"locally or from HSS/UDM\")",
    question: "Where the DC exposure policy and the user consent live, and in what form.",
    answer: "In the HSS/UDM (fixtures/dc-exposure.toml), asked per request: `GET /udm/v1/dc-exposure-policy?af=…&impu=…` (only the NEF may ask) answers the AF's entry — trusted, the events it may subscribe to, whether its notifications are anonymised, the control operations and the kinds of data channel it may ask for, the DC applications it owns — and the subscriber's consent to the exposure of its DC events and to AF control of its data channels. A subscriber without an entry consented to nothing.",
};

/// `9-anonymisation`.
pub const ANONYMISATION: Choice = Choice {
    id: "9-anonymisation",
    clause: "6.9.2.1 step 8 (\"may be anonymized based on privacy policies or regulations\")",
    question: "What an anonymised notification is.",
    answer: "For an AF whose policy entry says `anonymise`: the caller and the callee are replaced by per-AF pseudonyms, `anon-` and the first 16 hex digits of SHA-256(AF host, NUL, IMPU) — stable for one AF, different across AFs; the application is reduced to its id (name and download URL removed). Event, data channel id and kind, and time are kept. Not keyed: an AF that guesses an IMPU can test the guess (an HMAC with an NEF secret would prevent it).",
};

/// `9-event-source`.
pub const EVENT_SOURCE: Choice = Choice {
    id: "9-event-source",
    clause: "6.9.2.1 steps 4 and 7 (the DCSF as the event source)",
    question: "How the DCSF learns of a call's DC events.",
    answer: "The originating IMS AS, on the path of calls with data channels, reports them to the DCSF (`POST /dcsf/v1/dc-events`, mutual TLS): the m=application sections answered with a port in a 2xx to an INVITE or re-INVITE (dc-established), and those still open when the call's BYE passes (dc-terminated). The DCSF numbers them (dc-1, …). A DC application download is the DCSF's own event: the MF asks it for the subscriber's application list when the UE asks over its bootstrap channel (one app-downloaded event per application served).",
};

/// `9-ownership-check`.
pub const OWNERSHIP_CHECK: Choice = Choice {
    id: "9-ownership-check",
    clause: "6.9.2.2 step 3, NOTE 1 (NEF locally, NEF with the DCSF, or the DCSF)",
    question: "Where the AF is matched to the DC application of the target ADC.",
    answer: "At the NEF, asking the DCSF: for an ongoing ADC the NEF fetches its record (`GET /dcsf/v1/dcs/{id}`) and compares the ADC's application with the applications the policy says the AF owns; for an ADC to establish, the application the request names. A download over the bootstrap channel is checked the same way on the application to download.",
};

/// `9-control-execution`.
pub const CONTROL_EXECUTION: Choice = Choice {
    id: "9-control-execution",
    clause: "6.9.2.2 step 5 (DCSF triggers the IMS AS re-INVITE and the MF reservation, no ids of their own)",
    question: "How the DCSF carries out a granted control request.",
    answer: "To establish an ADC: the caller's MF reserves it toward both parties (`POST /mf/v1/offer`, one m=application section mid `adc` per party, one channel stream 1200 labelled with the application); the DCSF asks the originating IMS AS (`POST /as/v1/dc-control`) to re-INVITE both parties in the call's dialog, caller first, each offered its current session with that section appended; the answers go back to the MF (`POST /mf/v1/complete`), and the channel opens between each UE and the MF. To update: the MF releases the old association and offers a new one for the same mid, re-offered to both the same way. To terminate: the IMS AS re-INVITEs both with the section's port set to 0 and the MF releases it; a bootstrap channel is the subscriber's own, so only its party is re-INVITEd. The DCSF then notifies the event like any other.",
};

/// `9-app-on-sdp`.
pub const APP_ON_SDP: Choice = Choice {
    id: "9-app-on-sdp",
    clause: "6.9.2.2 step 3 (\"the DC application associated to the target ADC\")",
    question: "How an ADC names its DC application.",
    answer: "With the RFC 8864 sub-protocol attribute `a=dcsa:<stream> 3gpp-req-app:<application id>` (the TS 26.114 name) on its channel; an ADC without one has no application, and its control is refused as naming none.",
};

/// `9-download-trigger`.
pub const DOWNLOAD_TRIGGER: Choice = Choice {
    id: "9-download-trigger",
    clause: "6.9.2.2 (\"DC session control includes … DC application download\"), step 5",
    question: "How a granted application download reaches the UE.",
    answer: "The DCSF has the IMS AS re-INVITE the subscriber alone, re-offering its bootstrap section with `a=dcsa:0 3gpp-req-app:<application id>`; the UE answers with its session unchanged and then downloads the application over its bootstrap channel (`GET /apps/<id>`, which the MF answers from the DCSF). That download is the DCSF's app-downloaded event (a UE's `GET /` of its list is not).",
};

/// `9-not-carried-out`.
pub const NOT_CARRIED_OUT: Choice = Choice {
    id: "9-not-carried-out",
    clause: "6.9.2.2 step 1 (BDC establishment)",
    question: "Which granted operation the DCSF does not carry out.",
    answer: "Establishing a bootstrap channel: every DC call in the testbed brings its own up in the initial INVITE, so the DCSF answers 409 while the subscriber's is open (and 501 otherwise: the testbed does not re-establish one). An update of an ADC is a new association for the same mid (new ICE credentials and fingerprint), re-offered to both UEs.",
};

const DISCLOSURE: Threat = Threat {
    clause: "5.3.2",
    text: "user private information (caller and callee IDs, DC events) disclosed to an untrusted third-party AS",
    ids: &[ThreatId::Disclosure],
};
const MANIPULATION: Threat = Threat {
    clause: "5.3.2",
    text: "a malicious AF manipulating or terminating an ongoing DC to interrupt the communication",
    ids: &[ThreatId::Interruption],
};
const UNWANTED: Threat = Threat {
    clause: "5.3.2",
    text: "a malicious AF pushing unwanted services (an application over the bootstrap DC)",
    ids: &[ThreatId::UnwantedServices],
};
const UNAUTHENTICATED: Threat = Threat {
    clause: "5.3.2",
    text: "an AF without valid credentials (certificate or access token) using the exposure APIs",
    ids: &[ThreatId::Disclosure],
};

// ---- variants ---------------------------------------------------------------------------------

fn setup() -> Setup {
    Setup {
        dc: Some(DcSetup::Bootstrap),
        ..Setup::default()
    }
}

fn with(extra: &[&'static Choice]) -> Vec<&'static Choice> {
    [
        &choices::WORLD_IMS_ENTRY,
        &choices::WORLD_REGISTRATION,
        &choices::DC_SDP_ANSWER,
        &choices::DC_BOOTSTRAP_ANCHOR,
        &AF_AUTH,
        &POLICY_SOURCE,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect()
}

#[allow(clippy::too_many_arguments)]
fn variant(
    id: &'static str,
    title: &'static str,
    threat: Option<Threat>,
    figure: Figure,
    extra: &[&'static Choice],
    setup: Setup,
    plan: ExposurePlan,
    checks: Vec<Check>,
) -> Variant {
    Variant {
        solution: 9,
        id,
        title,
        threat,
        figure,
        choices: with(extra),
        setup,
        script: Script::Exposure(plan),
        checks,
    }
}

/// Every variant of solution 9.
pub fn variants() -> Vec<Variant> {
    let mut all = subscriptions();
    all.extend(tokens());
    all.extend(controls());
    all.extend(refused_controls());
    all
}

fn subscribe(af: &'static str, subscriber: &'static str, token: TokenUse) -> ExposurePlan {
    ExposurePlan {
        before_call: vec![AfAct::Subscribe {
            af,
            subscriber,
            token,
        }],
        during_call: Vec::new(),
    }
}

fn refused_by_nef(reason: Reason) -> Check {
    Check::Refusal {
        by: NEF_O,
        act: Act::AuthorizeExposure,
        reason,
    }
}

/// What a subscription the NEF refuses (`status`, `reason`) must show: the call goes on, and
/// `af` is notified of nothing.
fn refused_subscription(af: &'static str, status: u16, reason: Reason) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::AfStatus { step: 0, status },
        refused_by_nef(reason),
        Check::NotNotified { af },
    ]
}

fn subscriptions() -> Vec<Variant> {
    vec![
        variant(
            "subscribe-trusted",
            "the operator's DC AS subscribes to UE-A's DC events; UE-A calls UE-B with data channels and hangs up: the AF is notified of each data channel established, each application downloaded and each data channel terminated, with the caller and callee in full",
            None,
            subscription_figure(&[DC_AS_O], SubStop::Notified { anonymised: false }),
            &[&ANONYMISATION, &EVENT_SOURCE],
            setup(),
            subscribe(DC_AS_O, UE_A, TokenUse::Own),
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 0,
                    status: 201,
                },
                Check::Notified {
                    af: DC_AS_O,
                    event: "dc-established",
                    anonymised: false,
                },
                Check::Notified {
                    af: DC_AS_O,
                    event: "app-downloaded",
                    anonymised: false,
                },
                Check::Notified {
                    af: DC_AS_O,
                    event: "dc-terminated",
                    anonymised: false,
                },
            ],
        ),
        variant(
            "subscribe-untrusted",
            "the avatar provider's DC AS, outside the operator's trust domain, subscribes to UE-A's DC events: every notification reaches it anonymised — the caller and callee as per-AF pseudonyms, the application as its id only",
            Some(DISCLOSURE),
            subscription_figure(&[DC_AS_3P], SubStop::Notified { anonymised: true }),
            &[&ANONYMISATION, &EVENT_SOURCE],
            setup(),
            subscribe(DC_AS_3P, UE_A, TokenUse::Own),
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 0,
                    status: 201,
                },
                Check::Notified {
                    af: DC_AS_3P,
                    event: "dc-established",
                    anonymised: true,
                },
                Check::Notified {
                    af: DC_AS_3P,
                    event: "app-downloaded",
                    anonymised: true,
                },
                Check::Notified {
                    af: DC_AS_3P,
                    event: "dc-terminated",
                    anonymised: true,
                },
            ],
        ),
        variant(
            "subscribe-no-certificate",
            "a rogue AF whose certificate comes from a CA the world does not trust: the NEF's TLS handshake refuses it before any request; nothing is subscribed and it learns nothing of the call",
            Some(UNAUTHENTICATED),
            subscription_figure(&[DC_AS_ROGUE], SubStop::Tls),
            &[],
            setup(),
            subscribe(DC_AS_ROGUE, UE_A, TokenUse::Own),
            vec![
                Check::Answered,
                Check::Refusal {
                    by: DC_AS_ROGUE,
                    act: Act::ObtainToken,
                    reason: Reason::Unreachable,
                },
                Check::NotNotified { af: DC_AS_ROGUE },
            ],
        ),
        variant(
            "subscribe-not-allowed",
            "the whiteboard provider's DC AS, which the policy lets subscribe to no event, asks for UE-A's: the NEF refuses (403) and nothing is subscribed at the DCSF",
            Some(DISCLOSURE),
            subscription_figure(&[DC_AS_WB], SubStop::Decision(Reason::Policy)),
            &[],
            setup(),
            subscribe(DC_AS_WB, UE_A, TokenUse::Own),
            refused_subscription(DC_AS_WB, 403, Reason::Policy),
        ),
        variant(
            "subscribe-no-consent",
            "the operator's DC AS subscribes to UE-M's DC events, which UE-M never consented to expose: the NEF refuses (403)",
            Some(DISCLOSURE),
            subscription_figure(&[DC_AS_O], SubStop::Decision(Reason::NotEntitled)),
            &[],
            setup(),
            subscribe(DC_AS_O, UE_M, TokenUse::Own),
            refused_subscription(DC_AS_O, 403, Reason::NotEntitled),
        ),
    ]
}

fn tokens() -> Vec<Variant> {
    let token = |id, title, r: Reason, status: u16, use_: TokenUse, setup: Setup| {
        variant(
            id,
            title,
            Some(UNAUTHENTICATED),
            subscription_figure(&[DC_AS_3P], SubStop::Token(r)),
            &[],
            setup,
            subscribe(DC_AS_3P, UE_A, use_),
            refused_subscription(DC_AS_3P, status, r),
        )
    };
    vec![
        token(
            "token-wrong-audience",
            "the avatar provider's AF subscribes with a token the NEF issued it for another audience (the DAC, RFC 8707 resource): 401 invalid_token",
            Reason::NotAuthorised,
            401,
            TokenUse::Resource("dac.avatars.example"),
            setup(),
        ),
        token(
            "token-wrong-scope",
            "the avatar provider's AF subscribes with its dc-control token: 403 insufficient_scope",
            Reason::Policy,
            403,
            TokenUse::ControlScope,
            setup(),
        ),
        token(
            "token-expired",
            "the NEF's tokens have already expired when the AF presents them: 401 invalid_token",
            Reason::Expired,
            401,
            TokenUse::Own,
            Setup {
                nef_expired_tokens: true,
                ..setup()
            },
        ),
        token(
            "token-other-certificate",
            "the avatar provider's AF presents a copy of the operator's AF's token with its own certificate: the token is bound to the other certificate (RFC 8705), 401 invalid_token",
            Reason::ClaimMismatch,
            401,
            TokenUse::CopiedFrom(DC_AS_O),
            setup(),
        ),
    ]
}

fn establish() -> AfAct {
    AfAct::Control {
        af: DC_AS_O,
        operation: Operation::Establish,
        adc: true,
        app: Some(AVATAR_CALL),
    }
}

fn terminate(af: &'static str) -> AfAct {
    AfAct::Control {
        af,
        operation: Operation::Terminate,
        adc: true,
        app: None,
    }
}

fn during(acts: Vec<AfAct>) -> ExposurePlan {
    ExposurePlan {
        before_call: Vec::new(),
        during_call: acts,
    }
}

/// The control requests the NEF grants and the DCSF carries out.
fn controls() -> Vec<Variant> {
    vec![
        variant(
            "control-establish",
            "during UE-A's call with UE-B, the operator's DC AS asks the NEF to establish an ADC of its avatar-call application: the DCSF has the MF reserve it and the IMS AS re-INVITE both UEs; the channel opens at both and carries a message each way to the MF",
            None,
            control_figure(Control::Establish),
            &[&OWNERSHIP_CHECK, &CONTROL_EXECUTION, &APP_ON_SDP],
            setup(),
            during(vec![establish()]),
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 0,
                    status: 200,
                },
                Check::Adc {
                    after: 0,
                    open: true,
                },
            ],
        ),
        variant(
            "control-terminate",
            "the operator's DC AS terminates the ADC it established: the NEF checks it owns avatar-call, the IMS AS re-INVITEs both UEs with the section's port at 0, and the channel closes at both",
            None,
            control_figure(Control::Terminate),
            &[&OWNERSHIP_CHECK, &CONTROL_EXECUTION, &APP_ON_SDP],
            setup(),
            during(vec![establish(), terminate(DC_AS_O)]),
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 1,
                    status: 200,
                },
                Check::Adc {
                    after: 0,
                    open: true,
                },
                Check::Adc {
                    after: 1,
                    open: false,
                },
            ],
        ),
        variant(
            "control-update",
            "the operator's DC AS updates the ADC it established: the MF releases the old association and offers a new one for the same mid, the IMS AS re-INVITEs both UEs with it, and the new channel opens at both and carries messages",
            None,
            control_figure(Control::Update),
            &[&OWNERSHIP_CHECK, &CONTROL_EXECUTION, &APP_ON_SDP],
            setup(),
            during(vec![
                establish(),
                AfAct::Control {
                    af: DC_AS_O,
                    operation: Operation::Update,
                    adc: true,
                    app: None,
                },
            ]),
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 1,
                    status: 200,
                },
                Check::Adc {
                    after: 1,
                    open: true,
                },
            ],
        ),
        variant(
            "control-download",
            "the operator's DC AS, owner of avatar-call, has UE-A download it: the IMS AS re-INVITEs UE-A with its bootstrap section naming the application, and UE-A downloads it over its bootstrap channel",
            None,
            control_figure(Control::Download),
            &[&OWNERSHIP_CHECK, &CONTROL_EXECUTION, &DOWNLOAD_TRIGGER],
            setup(),
            during(vec![AfAct::Control {
                af: DC_AS_O,
                operation: Operation::Download,
                adc: false,
                app: Some(AVATAR_CALL),
            }]),
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 0,
                    status: 200,
                },
                Check::Downloaded {
                    ue: UE_A,
                    app: AVATAR_CALL,
                    yes: true,
                },
            ],
        ),
        variant(
            "control-bdc-terminate",
            "the operator's DC AS, subscribed to UE-A's events, terminates UE-A's bootstrap channel by the id it was notified of: the IMS AS re-INVITEs UE-A alone with the section's port at 0, and the channel closes",
            None,
            control_figure(Control::TerminateBdc),
            &[&CONTROL_EXECUTION, &EVENT_SOURCE],
            setup(),
            ExposurePlan {
                before_call: vec![AfAct::Subscribe {
                    af: DC_AS_O,
                    subscriber: UE_A,
                    token: TokenUse::Own,
                }],
                during_call: vec![AfAct::Control {
                    af: DC_AS_O,
                    operation: Operation::Terminate,
                    adc: false,
                    app: None,
                }],
            },
            vec![
                Check::Answered,
                Check::AfStatus {
                    step: 1,
                    status: 200,
                },
                Check::Bdc {
                    after: 1,
                    open: false,
                },
                Check::Notified {
                    af: DC_AS_O,
                    event: "dc-terminated",
                    anonymised: false,
                },
            ],
        ),
    ]
}

/// What a refused control request (number `step`, answered `status`) must show: the ADC the
/// operator's AF established first is still open at both UEs afterwards.
fn untouched(step: usize, status: u16, refusal: Check) -> Vec<Check> {
    vec![
        Check::Answered,
        Check::AfStatus {
            step: 0,
            status: 200,
        },
        Check::AfStatus { step, status },
        refusal,
        Check::Adc {
            after: step,
            open: true,
        },
    ]
}

/// The control requests of malicious AFs, each refused with the data channel untouched.
fn refused_controls() -> Vec<Variant> {
    vec![
        variant(
            "control-not-owner",
            "the whiteboard provider's DC AS tries to terminate the avatar-call ADC: it owns only whiteboard, so the NEF refuses (403) at the ownership check and the channel stays open at both UEs",
            Some(MANIPULATION),
            control_figure(Control::NotOwner),
            &[&OWNERSHIP_CHECK, &CONTROL_EXECUTION, &APP_ON_SDP],
            setup(),
            during(vec![establish(), terminate(DC_AS_WB)]),
            untouched(
                1,
                403,
                Check::Refusal {
                    by: NEF_O,
                    act: Act::CheckDcApplication,
                    reason: Reason::NotAuthorised,
                },
            ),
        ),
        variant(
            "control-terminate-denied",
            "the avatar provider's DC AS tries to terminate the ongoing avatar-call ADC (a denial of service): the policy lets it only establish and update, so the NEF refuses (403) and the channel stays open",
            Some(MANIPULATION),
            control_figure(Control::TerminateDenied),
            &[&CONTROL_EXECUTION, &APP_ON_SDP],
            setup(),
            during(vec![establish(), terminate(DC_AS_3P)]),
            untouched(1, 403, refused_by_nef(Reason::Policy)),
        ),
        variant(
            "control-push-app",
            "the avatar provider's DC AS asks to push its screen-share application to UE-A over the bootstrap DC: the policy lets it control no bootstrap channel and no download, so the NEF refuses (403); nothing reaches the UEs",
            Some(UNWANTED),
            control_figure(Control::PushApp),
            &[&CONTROL_EXECUTION],
            setup(),
            during(vec![
                establish(),
                AfAct::Control {
                    af: DC_AS_3P,
                    operation: Operation::Download,
                    adc: false,
                    app: Some(SCREEN_SHARE),
                },
            ]),
            untouched(1, 403, refused_by_nef(Reason::Policy)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventeen_variants_cover_the_issue() {
        let all = variants();
        assert_eq!(all.len(), 17);
        // Each threat of clause 5.3.2 is shown by at least one variant.
        for threat in [DISCLOSURE, MANIPULATION, UNWANTED, UNAUTHENTICATED] {
            assert!(
                all.iter().any(|v| v.threat == Some(threat)),
                "{}",
                threat.text
            );
        }
    }

    #[test]
    fn refusals_prevent_what_follows_their_decision() {
        let f = subscription_figure(&[DC_AS_O], SubStop::Decision(Reason::Policy));
        assert!(f.steps[2].taken() && !f.steps[3].taken() && !f.steps[7].taken());
        let f = control_figure(Control::NotOwner);
        assert!(f.steps[2].taken() && !f.steps[3].taken() && !f.steps[6].taken());
        let f = control_figure(Control::PushApp);
        assert!(!f.steps[2].taken() && f.steps[3].taken() && !f.steps[4].taken());
    }
}
