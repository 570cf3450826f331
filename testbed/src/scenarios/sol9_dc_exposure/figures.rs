//! Solution 9's two figures as data: Figure 6.9.2.1-1 (event subscription) and Figure
//! 6.9.2.2-1 (DC session control), with what each variant takes and prevents.

use proto::trace::{Act, Reason};
use proto::wire::exposure::{
    AF_NOTIFY_PATH, AS_DC_CONTROL_PATH, DCSF_CONTROL_PATH, DCSF_DC_PREFIX, DCSF_SUBSCRIPTIONS_PATH,
    HSS_POLICY_PATH, NEF_CONTROL_PATH, NEF_NOTIFY_PREFIX, NEF_SUBSCRIPTIONS_PATH,
};
use proto::wire::mf::{COMPLETE_PATH, OFFER_PATH, RELEASE_PATH};

use super::UE_A_IMPU;
use crate::node::*;
use crate::scenario::{
    Figure, Hop, Require, Step, act, hop, http, http_response, invite, invite_response,
};

// ---- Figure 6.9.2.1-1: event subscription ---------------------------------------------------

/// Where a subscription stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubStop {
    /// Subscribed and notified (anonymised or not).
    Notified {
        /// Whether the AF gets anonymised notifications.
        anonymised: bool,
    },
    /// The TLS handshake refuses the AF (step 2).
    Tls,
    /// The access token does not hold (step 2), for this reason.
    Token(Reason),
    /// The policy or the consent refuses (step 3), for this reason.
    Decision(Reason),
}

fn sub_request(af: &'static [&'static str]) -> Step {
    Step::new(
        "1",
        ("DC AF/AS", "NEF"),
        "the DC AS/AF asks the NEF to subscribe it to the DC events of a subscriber, with its access token",
        vec![
            hop(af, &[NEF_O], http("POST", NEF_SUBSCRIPTIONS_PATH))
                .with(Require::HeaderHas("Authorization", "Bearer "))
                .with(Require::Json("/events/0")),
        ],
    )
}

fn policy_hops() -> Vec<Hop> {
    vec![
        hop(&[NEF_O], &[HSS_O], http("GET", HSS_POLICY_PATH)),
        act(&[HSS_O], Act::ServeExposurePolicy),
        hop(&[HSS_O], &[NEF_O], http_response("GET", HSS_POLICY_PATH)).with(Require::Status(200)),
    ]
}

pub(super) fn subscription_figure(af: &'static [&'static str], stop: SubStop) -> Figure {
    let authenticate = match stop {
        SubStop::Tls => vec![act(af, Act::ObtainToken).refused(Reason::Unreachable)],
        SubStop::Token(r) => vec![
            act(&[NEF_O], Act::AuthorizeExposure).refused(r),
            hop(&[NEF_O], af, http_response("POST", NEF_SUBSCRIPTIONS_PATH))
                .with(Require::Header("WWW-Authenticate")),
        ],
        _ => policy_hops(),
    };
    let decide = match stop {
        SubStop::Decision(r) => vec![
            act(&[NEF_O], Act::AuthorizeExposure).refused(r),
            hop(&[NEF_O], af, http_response("POST", NEF_SUBSCRIPTIONS_PATH))
                .with(Require::Status(403)),
        ],
        _ => vec![act(&[NEF_O], Act::AuthorizeExposure)],
    };
    let (caller_in_8, anonymised) = match stop {
        SubStop::Notified { anonymised: true } => (Require::JsonHas("/caller", "anon-"), "true"),
        _ => (Require::JsonIs("/caller", UE_A_IMPU), "false"),
    };
    let steps = vec![
        sub_request(af),
        Step::new(
            "2",
            ("NEF", "HSS/UDM"),
            "mutual TLS authenticates the AF (its certificate) and the NEF checks its access token; the NEF retrieves the DC exposure policy and the subscriber's consent from the HSS/UDM",
            authenticate,
        ),
        Step::new(
            "3",
            ("NEF", "(internal)"),
            "the NEF decides with the policy (the events the AF may have, anonymised or not) and the subscriber's consent",
            decide,
        ),
        Step::new(
            "4",
            ("NEF", "DCSF"),
            "the NEF subscribes at the DCSF, with its own notification URI",
            vec![
                hop(&[NEF_O], &[DCSF_O], http("POST", DCSF_SUBSCRIPTIONS_PATH))
                    .with(Require::JsonHas("/notifyUri", NEF_NOTIFY_PREFIX)),
                act(&[DCSF_O], Act::SubscribeDcEvents),
            ],
        ),
        Step::new(
            "5",
            ("DCSF", "NEF"),
            "the DCSF answers with the subscription",
            vec![
                hop(
                    &[DCSF_O],
                    &[NEF_O],
                    http_response("POST", DCSF_SUBSCRIPTIONS_PATH),
                )
                .with(Require::Status(201)),
            ],
        ),
        Step::new(
            "6",
            ("NEF", "DC AF/AS"),
            "the NEF answers the AF: subscribed, and whether its notifications are anonymised",
            vec![
                hop(&[NEF_O], af, http_response("POST", NEF_SUBSCRIPTIONS_PATH))
                    .with(Require::Status(201))
                    .with(Require::JsonIs("/anonymised", anonymised)),
            ],
        ),
        Step::new(
            "7",
            ("DCSF", "NEF"),
            "UE-A calls UE-B with data channels; the IMS AS reports them to the DCSF (the event source), which notifies the NEF in full",
            vec![
                hop(&[DCSF_O], &[NEF_O], http("POST", NEF_NOTIFY_PREFIX))
                    .with(Require::JsonIs("/event", "dc-established"))
                    .with(Require::JsonIs("/caller", UE_A_IMPU)),
            ],
        ),
        Step::new(
            "8",
            ("NEF", "DC AF/AS"),
            "the NEF passes the notification on to the AF, anonymised if its policy says so",
            vec![
                act(&[NEF_O], Act::ForwardDcEvent),
                hop(&[NEF_O], af, http("POST", AF_NOTIFY_PATH))
                    .with(Require::JsonIs("/event", "dc-established"))
                    .with(caller_in_8),
                act(af, Act::ReceiveDcEvent),
            ],
        ),
    ];
    let figure = Figure {
        clause: "6.9.2.1",
        figure: "6.9.2.1-1",
        title: "DC AS authorisation for DC event subscription",
        steps,
    };
    match stop {
        SubStop::Notified { .. } => figure,
        SubStop::Tls => figure.prevent(&["1", "3", "4", "5", "6", "7", "8"], "2"),
        SubStop::Token(_) => figure.prevent(&["3", "4", "5", "6", "7", "8"], "2"),
        SubStop::Decision(_) => figure.prevent(&["4", "5", "6", "7", "8"], "3"),
    }
}

// ---- Figure 6.9.2.2-1: DC session control -----------------------------------------------------

/// What the control request of the figure is, and where it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    /// The operator's AF establishes an ADC of its application: carried out.
    Establish,
    /// The operator's AF terminates the ADC it established: carried out.
    Terminate,
    /// An AF terminates the ADC of an application it does not own: step 3 refuses.
    NotOwner,
    /// An AF the policy does not let terminate: step 4 refuses.
    TerminateDenied,
    /// An AF pushes an application over the BDC: step 4 refuses.
    PushApp,
    /// The operator's AF updates the ADC it established (a new association): carried out.
    Update,
    /// The operator's AF has UE-A download its application over the BDC: carried out.
    Download,
    /// The operator's AF terminates UE-A's BDC (named by the event it was notified of).
    TerminateBdc,
}

impl Control {
    fn operation(self) -> &'static str {
        match self {
            Control::Establish => "establish",
            Control::PushApp | Control::Download => "download",
            Control::Update => "update",
            _ => "terminate",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Control::PushApp | Control::Download | Control::TerminateBdc => "bdc",
            _ => "adc",
        }
    }

    fn af(self) -> &'static [&'static str] {
        match self {
            Control::Establish
            | Control::Terminate
            | Control::Update
            | Control::Download
            | Control::TerminateBdc => &[DC_AS_O],
            Control::NotOwner => &[DC_AS_WB],
            Control::TerminateDenied | Control::PushApp => &[DC_AS_3P],
        }
    }

    /// What step 5 does for this request, in our words.
    fn carried(self) -> &'static str {
        match self {
            Control::Establish => {
                "the DCSF carries it out: the MF reserves the channel toward both UEs and the IMS AS re-INVITEs both in the call's dialog with it"
            }
            Control::Update => {
                "the DCSF carries it out: the MF replaces the association with a new one toward both UEs and the IMS AS re-INVITEs both with it"
            }
            Control::TerminateBdc => {
                "the DCSF carries it out: the IMS AS re-INVITEs UE-A alone with its bootstrap section's port at 0, and the MF releases it"
            }
            Control::Download => {
                "the DCSF carries it out: the IMS AS re-INVITEs UE-A with its bootstrap section naming the application, which UE-A then downloads over it"
            }
            _ => {
                "the DCSF carries it out: the IMS AS re-INVITEs both UEs with the section's port at 0, and the MF releases it"
            }
        }
    }

    fn refusal(self) -> Option<(&'static str, Reason)> {
        match self {
            Control::NotOwner => Some(("3", Reason::NotAuthorised)),
            Control::TerminateDenied | Control::PushApp => Some(("4", Reason::Policy)),
            _ => None,
        }
    }
}

/// Step 5's hops: the MF and the IMS AS's re-INVITEs (to both parties, or to UE-A alone for
/// its bootstrap channel).
fn carried_out(control: Control) -> Vec<Hop> {
    let line = match control {
        Control::Establish | Control::Update => Require::BodyLine("a=mid:adc"),
        Control::Download => Require::BodyLine("a=dcsa:0 3gpp-req-app:avatar-call"),
        _ => Require::BodyLine("m=application 0 UDP/DTLS/SCTP webrtc-datachannel"),
    };
    let mut hops = vec![
        hop(&[NEF_O], &[DCSF_O], http("POST", DCSF_CONTROL_PATH))
            .with(Require::JsonIs("/operation", control.operation()))
            .with(Require::JsonIs("/target", control.target())),
    ];
    match control {
        Control::Establish => hops.push(hop(&[DCSF_O], &[MF_O], http("POST", OFFER_PATH))),
        Control::Update => hops.extend([
            hop(&[DCSF_O], &[MF_O], http("POST", RELEASE_PATH)),
            hop(&[DCSF_O], &[MF_O], http("POST", OFFER_PATH)),
        ]),
        _ => {}
    }
    hops.extend([
        hop(&[DCSF_O], &[AS_O], http("POST", AS_DC_CONTROL_PATH)),
        hop(&[AS_O], &[SCSCF_O], invite())
            .with(Require::HeaderHas("To", "tag="))
            .with(line.clone()),
        hop(&[PCSCF_O], &[UE_A], invite()).with(line.clone()),
        hop(&[UE_A], &[PCSCF_O], invite_response(200, 299)).with(Require::SameDialog),
        act(&[AS_O], Act::ChangeDataChannels),
    ]);
    if !matches!(control, Control::Download | Control::TerminateBdc) {
        hops.extend([
            hop(&[AS_O], &[SCSCF_O, IBCF_O], invite()).with(line.clone()),
            hop(&[PCSCF_T], &[UE_B], invite()).with(line),
            hop(&[UE_B], &[PCSCF_T], invite_response(200, 299)).with(Require::SameDialog),
            act(&[AS_O], Act::ChangeDataChannels),
        ]);
    }
    match control {
        Control::Establish | Control::Update => {
            hops.push(hop(&[DCSF_O], &[MF_O], http("POST", COMPLETE_PATH)));
        }
        Control::Download => {}
        _ => hops.push(hop(&[DCSF_O], &[MF_O], http("POST", RELEASE_PATH))),
    }
    hops.push(act(&[DCSF_O], Act::ControlDc));
    hops
}

pub(super) fn control_figure(control: Control) -> Figure {
    let af = control.af();
    let mut check = Vec::new();
    if matches!(
        control,
        Control::Terminate | Control::NotOwner | Control::Update
    ) {
        check.push(hop(&[NEF_O], &[DCSF_O], http("GET", DCSF_DC_PREFIX)));
        check.push(match control {
            Control::NotOwner => {
                act(&[NEF_O], Act::CheckDcApplication).refused(Reason::NotAuthorised)
            }
            _ => act(&[NEF_O], Act::CheckDcApplication),
        });
    } else {
        check.push(act(&[NEF_O], Act::CheckDcApplication));
    }
    let grant = match control.refusal() {
        Some(("4", r)) => vec![
            act(&[NEF_O], Act::AuthorizeExposure).refused(r),
            hop(&[NEF_O], af, http_response("POST", NEF_CONTROL_PATH)).with(Require::Status(403)),
        ],
        _ => vec![act(&[NEF_O], Act::AuthorizeExposure)],
    };
    let mut request = hop(af, &[NEF_O], http("POST", NEF_CONTROL_PATH))
        .with(Require::HeaderHas("Authorization", "Bearer "))
        .with(Require::JsonIs("/operation", control.operation()));
    request = request.with(Require::JsonIs("/target", control.target()));
    let steps = vec![
        Step::new(
            "1",
            ("DC AF/AS", "NEF"),
            "the DC AS/AF asks the NEF to control a data channel of the subscriber's ongoing call, with its access token",
            vec![request],
        ),
        Step::new(
            "2",
            ("NEF", "HSS/UDM"),
            "mutual TLS authenticates the AF and the NEF checks its access token; the NEF retrieves the policy and the consent from the HSS/UDM",
            policy_hops(),
        ),
        Step::new(
            "3",
            ("NEF", "(internal) or DCSF"),
            "the NEF matches the AF with the DC application concerned — an ongoing ADC's, which it asks the DCSF for, or the one the request names — against the applications it owns",
            check,
        ),
        Step::new(
            "4",
            ("NEF", "(internal)"),
            "the NEF grants the request if the policy lets the AF do this to this kind of data channel and the subscriber consented",
            grant,
        ),
        Step::new(
            "5",
            ("NEF", "DCSF"),
            control.carried(),
            carried_out(control),
        ),
        Step::new(
            "6",
            ("DCSF", "NEF"),
            "the DCSF answers with what became of the data channel",
            vec![
                hop(
                    &[DCSF_O],
                    &[NEF_O],
                    http_response("POST", DCSF_CONTROL_PATH),
                )
                .with(Require::Status(200)),
            ],
        ),
        Step::new(
            "7",
            ("NEF", "DC AF/AS"),
            "the NEF answers the AF",
            vec![
                hop(&[NEF_O], af, http_response("POST", NEF_CONTROL_PATH))
                    .with(Require::Status(200))
                    .with(Require::JsonIs("/operation", control.operation())),
            ],
        ),
    ];
    let figure = Figure {
        clause: "6.9.2.2",
        figure: "6.9.2.2-1",
        title: "DC AS authorisation for DC session control",
        steps,
    };
    // The NEF checks what the policy lets the AF do before it asks which application an
    // ongoing ADC carries: an AF refused by the policy (step 4's check) never gets step 3.
    match control.refusal() {
        Some(("3", _)) => figure.prevent(&["4", "5", "6", "7"], "3"),
        Some(_) => figure.prevent(&["3", "5", "6", "7"], "4"),
        None => figure,
    }
}
