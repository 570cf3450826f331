//! DC capability exposure (TR 33.790 key issue #3, solution #9 §6.9): the JSON shapes and
//! paths between the DC AF/AS and the NEF (the northbound API: an event subscription, §6.9.2.1
//! step 1; a DC session control request, §6.9.2.2 step 1; the notifications of step 8), between
//! the NEF and the HSS/UDM (the exposure policy and consent, step 2), between the NEF and the
//! DCSF (steps 4–7 of both figures), between the IMS AS and the DCSF (the DC events of calls),
//! and between the DCSF and the IMS AS (the re-INVITE that changes a call's data channels,
//! §6.9.2.2 step 5). Fields are camelCase, as in the 3GPP northbound APIs (TS 29.522); the
//! kinds are kebab-case words, as in `fixtures/dc-exposure.toml`.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

// ---- paths -------------------------------------------------------------------------------------

/// NEF, for AFs: the OAuth 2.0 client credentials token endpoint (TS 33.501 §13.4.1), form
/// encoded `grant_type=client_credentials&scope=dc-events` (or `dc-control`).
pub const NEF_TOKEN_PATH: &str = "/nef/v1/dc-exposure/oauth2/token";
/// NEF, for AFs: `POST` a [`SubscribeRequest`] (§6.9.2.1 step 1), answered 201
/// [`Subscribed`].
pub const NEF_SUBSCRIPTIONS_PATH: &str = "/3gpp-dc-exposure/v1/subscriptions";
/// NEF, for AFs: `POST` a [`ControlRequest`] (§6.9.2.2 step 1), answered [`ControlOutcome`].
pub const NEF_CONTROL_PATH: &str = "/3gpp-dc-exposure/v1/control";
/// NEF, for the DCSF: `POST {prefix}{subscription id}` a [`Notification`] (§6.9.2.1 step 7).
pub const NEF_NOTIFY_PREFIX: &str = "/nef/v1/dc-notifications/";
/// AF: where it takes notifications (`notifyUri` is `https://{af host}` and this).
pub const AF_NOTIFY_PATH: &str = "/af/v1/dc-notifications";
/// HSS/UDM, for the NEF: `GET {path}?af={host}&impu={impu}` (percent-encoded), answered
/// [`PolicyAnswer`] (§6.9.2.1 and §6.9.2.2 step 2).
pub const HSS_POLICY_PATH: &str = "/udm/v1/dc-exposure-policy";
/// DCSF, for the IMS AS: `POST` a [`DcReport`] (the DC events of a call).
pub const DCSF_EVENTS_PATH: &str = "/dcsf/v1/dc-events";
/// DCSF, for the NEF: `POST` a [`DcsfSubscribe`] (§6.9.2.1 step 4), answered 201
/// [`Subscribed`] (step 5).
pub const DCSF_SUBSCRIPTIONS_PATH: &str = "/dcsf/v1/subscriptions";
/// DCSF, for the NEF: `GET {prefix}{dc id}`, answered [`DcRecord`] (§6.9.2.2 step 3: the
/// application of an ongoing ADC).
pub const DCSF_DC_PREFIX: &str = "/dcsf/v1/dcs/";
/// DCSF, for the NEF: `POST` a [`ControlRequest`] the NEF granted (§6.9.2.2 step 5), answered
/// [`ControlOutcome`] (step 6).
pub const DCSF_CONTROL_PATH: &str = "/dcsf/v1/control";
/// IMS AS, for the DCSF: `POST` a [`DcChange`] (§6.9.2.2 step 5: re-INVITE both parties),
/// answered [`DcChanged`].
pub const AS_DC_CONTROL_PATH: &str = "/as/v1/dc-control";

/// The RFC 8864 `a=dcsa` sub-attribute naming the DC application of an application data
/// channel (the TS 26.114 name): `a=dcsa:<stream> 3gpp-req-app:<app id>`.
pub const REQ_APP: &str = "3gpp-req-app";

/// A DC event an AF may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A data channel was established.
    DcEstablished,
    /// A data channel was terminated.
    DcTerminated,
    /// A DC application was downloaded to a UE.
    AppDownloaded,
}

impl EventKind {
    /// The word the fixture and the wire use (`dc-established`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DcEstablished => "dc-established",
            EventKind::DcTerminated => "dc-terminated",
            EventKind::AppDownloaded => "app-downloaded",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A DC session control operation (§6.9.2.2 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Establish a data channel.
    Establish,
    /// Update an ongoing data channel.
    Update,
    /// Terminate an ongoing data channel.
    Terminate,
    /// Trigger the download of a DC application to the UE.
    Download,
}

impl Operation {
    /// The word the fixture and the wire use (`establish`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Establish => "establish",
            Operation::Update => "update",
            Operation::Terminate => "terminate",
            Operation::Download => "download",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of data channel a control request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The bootstrap data channel (BDC), over which DC applications are downloaded.
    Bdc,
    /// An application data channel (ADC) of one DC application.
    Adc,
}

impl Target {
    /// The word the fixture and the wire use (`bdc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Bdc => "bdc",
            Target::Adc => "adc",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// §6.9.2.1 step 1: an AF subscribes to DC events of one subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The subscriber whose data channels are watched (IMPU).
    pub impu: String,
    /// The events asked for (at least one).
    pub events: Vec<EventKind>,
    /// Where the NEF sends the notifications.
    pub notify_uri: String,
}

/// §6.9.2.2 step 1: an AF asks to establish, update or terminate a data channel of a
/// subscriber's call, or to trigger an application download over the BDC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlRequest {
    /// The subscriber whose call it is (IMPU).
    pub impu: String,
    /// What to do.
    pub operation: Operation,
    /// On which kind of data channel.
    pub target: Target,
    /// The ongoing data channel an update or a termination is for (as the DCSF names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_id: Option<String>,
    /// The DC application: the one an ADC to establish is for, or the one to download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

/// The DC application an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppInfo {
    /// The DC application id (`avatar-call`).
    pub id: String,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it is downloaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// §6.9.2.1 steps 7–8: a DC event, as the DCSF reports it and the NEF passes it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Notification {
    /// What happened.
    pub event: EventKind,
    /// The caller's IMPU, or its pseudonym for an anonymising AF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// The callee's IMPU, or its pseudonym for an anonymising AF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee: Option<String>,
    /// The data channel (as the DCSF names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_id: Option<String>,
    /// Which kind of data channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The DC application, when the event concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppInfo>,
    /// When it happened (seconds since the epoch).
    pub at: i64,
}

// ---- policy (HSS/UDM) ----------------------------------------------------------------------------

/// What one DC AS/AF may do (`[[af]]` of `fixtures/dc-exposure.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfPolicy {
    /// The DNS name of its TLS client certificate.
    pub host: String,
    /// Whether the operator trusts it.
    pub trusted: bool,
    /// The DC events it may subscribe to.
    pub events: BTreeSet<EventKind>,
    /// Whether its notifications are anonymised (§6.9.2.1 step 8).
    pub anonymise: bool,
    /// The DC session control operations it may ask for.
    pub control: BTreeSet<Operation>,
    /// The kinds of data channel it may control.
    pub targets: BTreeSet<Target>,
    /// The DC application ids it owns.
    pub apps: BTreeSet<String>,
}

impl AfPolicy {
    /// Whether it owns the DC application `app_id`.
    pub fn owns(&self, app_id: &str) -> bool {
        self.apps.contains(app_id)
    }
}

/// What one subscriber consented to (`[[consent]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// The subscriber's IMPU.
    pub impu: String,
    /// Whether its DC events may be exposed to AFs.
    pub events: bool,
    /// Whether AFs may control its data channels.
    pub control: bool,
}

impl Consent {
    /// What a subscriber without an entry consented to: nothing.
    pub fn none(impu: &str) -> Self {
        Self {
            impu: impu.to_owned(),
            events: false,
            control: false,
        }
    }
}

/// The HSS/UDM's answer to the NEF: the AF's policy (none: the policy does not know it) and
/// the subscriber's consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyAnswer {
    /// The AF's policy, if the policy knows the AF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub af: Option<AfPolicy>,
    /// The subscriber's consent.
    pub consent: Consent,
}

// ---- subscriptions and control -------------------------------------------------------------------

/// A subscription created (NEF to AF, §6.9.2.1 step 6; DCSF to NEF, step 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscribed {
    /// The subscription's id.
    pub subscription_id: String,
    /// The events subscribed to.
    pub events: Vec<EventKind>,
    /// Whether the notifications will be anonymised (NEF to AF only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymised: Option<bool>,
}

/// §6.9.2.1 step 4: the NEF subscribes at the DCSF, for one AF's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DcsfSubscribe {
    /// The subscriber whose data channels are watched (IMPU).
    pub impu: String,
    /// The events.
    pub events: Vec<EventKind>,
    /// Where the DCSF notifies (at the NEF: [`NEF_NOTIFY_PREFIX`] and the NEF's id).
    pub notify_uri: String,
}

/// What became of a control request (DCSF to NEF, §6.9.2.2 step 6; NEF to AF, step 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlOutcome {
    /// The operation carried out.
    pub operation: Operation,
    /// The data channel it concerned.
    pub target: Target,
    /// The data channel, as the DCSF names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_id: Option<String>,
    /// The DC application concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The SIP final status of the re-INVITE to the caller and to the callee, in that order.
    pub reinvites: Vec<u16>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

// ---- the DC events of calls (IMS AS to DCSF) and the DCSF's records ----------------------------

/// One data channel section of a call: an `m=application` section with its mid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DcSection {
    /// Its SDP mid (`bdc`, `dc`, `p2a`, …).
    pub mid: String,
    /// Bootstrap or application.
    pub target: Target,
    /// The DC application, when the section names one (`a=dcsa:… 3gpp-req-app:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The channels' labels (`a=dcmap`).
    pub labels: Vec<String>,
}

/// The IMS AS reports data channels of a call established (answered with a port) or
/// terminated (declined, or the call ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DcReport {
    /// `dc-established` or `dc-terminated`.
    pub event: EventKind,
    /// The call's Call-ID.
    pub call_id: String,
    /// The caller's IMPU.
    pub caller: String,
    /// The callee's IMPU.
    pub callee: String,
    /// The sections.
    pub sections: Vec<DcSection>,
}

/// One data channel as the DCSF records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DcRecord {
    /// Its id at the DCSF (`dc-1`, …).
    pub dc_id: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// The caller's IMPU.
    pub caller: String,
    /// The callee's IMPU.
    pub callee: String,
    /// The section.
    pub section: DcSection,
    /// Whether it is still up.
    pub open: bool,
}

/// The DCSF asks the IMS AS of a call to change its data channels with re-INVITEs to both
/// parties (§6.9.2.2 step 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DcChange {
    /// The call's Call-ID.
    pub call_id: String,
    /// What to change.
    pub change: Change,
}

/// A change of a call's data channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Change {
    /// Add a section: the MF's offer toward each party (an SDP session holding one
    /// `m=application` section, as [`crate::wire::mf::OfferResponse`] has it).
    Add {
        /// The offer to the caller.
        caller: String,
        /// The offer to the callee.
        callee: String,
    },
    /// Re-offer the section `mid` to both parties with these sections (an update).
    Update {
        /// The offer to the caller.
        caller: String,
        /// The offer to the callee.
        callee: String,
    },
    /// Remove the section `mid` (port 0) at both parties, or only at `only` (a party's own
    /// bootstrap channel: the other party has its own `bdc`, from its own network).
    Remove {
        /// The section's mid.
        mid: String,
        /// The one party to re-INVITE; both when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        only: Option<Party>,
    },
    /// Have `party` download DC application `app` over its bootstrap channel (§6.9.2.2: "DC
    /// application download"): its `bdc` section re-offered with `a=dcsa:0 3gpp-req-app:<app>`.
    Download {
        /// Whose bootstrap channel.
        party: Party,
        /// The DC application.
        app: String,
    },
}

/// A party of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The caller.
    Caller,
    /// The callee.
    Callee,
}

/// What the parties answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DcChanged {
    /// The caller's answer.
    pub caller: PartyAnswer,
    /// The callee's answer.
    pub callee: PartyAnswer,
}

/// One party's answer to the AS's re-INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyAnswer {
    /// Whether the party was re-INVITEd at all (a change for the other party only, or a
    /// section it does not have: not); `status` is then 0.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub reinvited: bool,
    /// The final status (0 when not re-INVITEd).
    pub status: u16,
    /// The answered section (an SDP session holding it), for an added or updated section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shapes_are_camel_case_with_kebab_words() {
        let req = ControlRequest {
            impu: "sip:a@x".into(),
            operation: Operation::Download,
            target: Target::Bdc,
            dc_id: None,
            app_id: Some("avatar-call".into()),
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"impu":"sip:a@x","operation":"download","target":"bdc","appId":"avatar-call"}"#
        );
        let sub: SubscribeRequest = serde_json::from_str(
            r#"{"impu":"sip:a@x","events":["dc-established","app-downloaded"],"notifyUri":"https://af/n"}"#,
        )
        .unwrap();
        assert_eq!(
            sub.events,
            [EventKind::DcEstablished, EventKind::AppDownloaded]
        );
        assert!(
            serde_json::from_str::<SubscribeRequest>(
                r#"{"impu":"x","events":[],"notifyUri":"u","extra":1}"#
            )
            .is_err()
        );
        for (kind, word) in [
            (EventKind::DcEstablished, "\"dc-established\""),
            (EventKind::DcTerminated, "\"dc-terminated\""),
            (EventKind::AppDownloaded, "\"app-downloaded\""),
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), word);
            assert_eq!(format!("\"{kind}\""), word);
        }
        for op in [
            Operation::Establish,
            Operation::Update,
            Operation::Terminate,
            Operation::Download,
        ] {
            assert_eq!(serde_json::to_string(&op).unwrap(), format!("\"{op}\""));
        }
        for t in [Target::Bdc, Target::Adc] {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
    }
}
