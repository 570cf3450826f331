//! The JSON shapes of the NEF's DC exposure API (TR 33.790 §6.9.2): what a DC AS/AF asks for
//! (an event subscription, §6.9.2.1 step 1; a DC session control request, §6.9.2.2 step 1) and
//! the event notification it receives (§6.9.2.1 step 8). Fields are camelCase, as in the
//! 3GPP northbound APIs (TS 29.522); the kinds are kebab-case words, as in the fixture.

use std::fmt;

use serde::{Deserialize, Serialize};

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
