//! Why the NEF refused a DC exposure request (TR 33.790 §6.9.2), typed, and the one pure
//! mapping of each to its status on the wire and its [`Reason`] in the trace.

use kit::http::Response;
use proto::trace::Reason;

use super::token::TokenError;
use super::wire::{EventKind, Operation, Target};

/// What a subscriber did not consent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consented {
    /// Exposing its DC events.
    Events,
    /// Letting AFs control its data channels.
    Control,
}

impl std::fmt::Display for Consented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Consented::Events => "the exposure of its DC events",
            Consented::Control => "AF control of its data channels",
        })
    }
}

/// Why a DC exposure request was refused, grouped by what is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // ---- the client is not an AF the policy knows (§6.9.2.1 step 2) ----------------------------
    /// No TLS client certificate was presented.
    #[error("no client certificate: DC ASs of the exposure policy only")]
    NoCertificate,
    /// The client certificate cannot be read.
    #[error("client certificate unusable: {detail}")]
    BadCertificate {
        /// Why.
        detail: String,
    },
    /// The certificate names no AF of the policy.
    #[error("client certificate names {names:?}: DC ASs of the exposure policy only")]
    UnknownAf {
        /// The DNS names it carries.
        names: Vec<String>,
    },
    /// Its access token does not hold (RFC 6750: 401 or 403).
    #[error("access token: {0}")]
    Token(#[from] TokenError),

    // ---- the request is malformed --------------------------------------------------------------
    /// A subscription to no event.
    #[error("subscription names no event")]
    NoEvents,
    /// An ADC request or a download that names no DC application.
    #[error("{operation} on the {target} names no DC application")]
    NoApplication {
        /// The operation.
        operation: Operation,
        /// The data channel.
        target: Target,
    },
    /// The body is not the request the path takes (the JSON error).
    #[error("body is not a {what}: {detail}")]
    BadBody {
        /// What was expected.
        what: &'static str,
        /// Why it is not one.
        detail: String,
    },
    /// A download asked for over an ADC: applications are downloaded over the BDC.
    #[error("DC applications are downloaded over the bdc, not the {target}")]
    DownloadNotOverBdc {
        /// The data channel named.
        target: Target,
    },

    // ---- the policy says no (§6.9.2.1 step 3, §6.9.2.2 steps 3–4) ------------------------------
    /// The AF may not subscribe to this event.
    #[error("{af} may not subscribe to {event}")]
    EventNotAllowed {
        /// The AF.
        af: String,
        /// The event.
        event: EventKind,
    },
    /// The AF may not ask for this operation (e.g. terminate a DC: a denial of service).
    #[error("{af} may not {operation} data channels")]
    OperationNotAllowed {
        /// The AF.
        af: String,
        /// The operation.
        operation: Operation,
    },
    /// The AF may not control this kind of data channel.
    #[error("{af} may not control the {target}")]
    TargetNotAllowed {
        /// The AF.
        af: String,
        /// The data channel.
        target: Target,
    },
    /// The AF does not own the DC application of the ADC (or of the download) (§6.9.2.2
    /// step 3, checked at the NEF: NOTE 1).
    #[error("{af} does not own DC application {app}")]
    NotOwner {
        /// The AF.
        af: String,
        /// The application.
        app: String,
    },
    /// The `notifyUri` is not an `https` URI of the AF's own host: the NEF sends a
    /// subscriber's events to the AF that was authorised, nowhere else.
    #[error("notifyUri {uri:?} is not an https URI of {af}")]
    ForeignNotifyUri {
        /// The AF.
        af: String,
        /// The URI it gave.
        uri: String,
    },
    /// The data channel the request names is not one the DCSF knows (§6.9.2.2 step 3).
    #[error("no data channel {dc_id} at the DCSF")]
    NoSuchDc {
        /// The data channel named.
        dc_id: String,
    },
    /// A notification for a subscription the NEF does not hold (§6.9.2.1 step 7).
    #[error("no subscription {id} at the NEF")]
    NoSuchSubscription {
        /// The subscription named.
        id: String,
    },
    /// The data channel the request names is not one of the subscriber's calls, or not an
    /// ADC (§6.9.2.2 step 3).
    #[error("data channel {dc_id} is not an application data channel of {impu}")]
    OtherDc {
        /// The data channel named.
        dc_id: String,
        /// The subscriber the request names.
        impu: String,
    },
    /// The subscriber did not consent.
    #[error("{impu} did not consent to {to}")]
    NoConsent {
        /// The subscriber.
        impu: String,
        /// To what.
        to: Consented,
    },

    // ---- a peer of the NEF failed ----------------------------------------------------------------
    /// The HSS/UDM or the DCSF could not be reached or answered unusably.
    #[error("{peer} unavailable: {detail}")]
    Unavailable {
        /// The peer's host.
        peer: String,
        /// What went wrong.
        detail: String,
    },
}

impl Refusal {
    /// The typed reason for the trace. A missing consent is [`Reason::NotEntitled`], the
    /// closest existing reason: the AF is not entitled to this subscriber's data.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::NoCertificate
            | Refusal::BadCertificate { .. }
            | Refusal::UnknownAf { .. }
            | Refusal::NotOwner { .. } => Reason::NotAuthorised,
            Refusal::Token(e) => e.reason(),
            Refusal::NoEvents
            | Refusal::BadBody { .. }
            | Refusal::NoApplication { .. }
            | Refusal::DownloadNotOverBdc { .. } => Reason::Malformed,
            Refusal::EventNotAllowed { .. }
            | Refusal::OperationNotAllowed { .. }
            | Refusal::TargetNotAllowed { .. } => Reason::Policy,
            Refusal::ForeignNotifyUri { .. } | Refusal::OtherDc { .. } => Reason::Mismatch,
            Refusal::NoSuchDc { .. } | Refusal::NoSuchSubscription { .. } => Reason::NoRecord,
            Refusal::NoConsent { .. } => Reason::NotEntitled,
            Refusal::Unavailable { .. } => Reason::Unreachable,
        }
    }

    /// The HTTP status: 400 for a malformed request, the token's (401 or 403), 404 for an
    /// unknown data channel, 502 when a peer failed, else 403.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Token(e) => e.status(),
            Refusal::NoEvents
            | Refusal::BadBody { .. }
            | Refusal::NoApplication { .. }
            | Refusal::DownloadNotOverBdc { .. } => 400,
            Refusal::NoSuchDc { .. } | Refusal::NoSuchSubscription { .. } => 404,
            Refusal::Unavailable { .. } => 502,
            _ => 403,
        }
    }

    /// The answer: the status and the reason as text, with RFC 6750 §3's `WWW-Authenticate`
    /// challenge for a token that does not hold.
    pub fn response(&self) -> Response {
        let mut r = Response::text(self.status(), self.to_string());
        if let Refusal::Token(e) = self
            && let Some(challenge) = e.challenge()
        {
            r.headers.push(("www-authenticate".into(), challenge));
        }
        r
    }

    /// What the trace says.
    pub fn label(&self) -> String {
        format!("refuse DC exposure: {self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refusal's status and reason.
    #[test]
    fn each_refusal_maps_to_status_and_reason() {
        let af = || "dc-as.avatars.example".to_owned();
        let cases = [
            (Refusal::NoCertificate, 403, Reason::NotAuthorised),
            (
                Refusal::BadCertificate {
                    detail: "junk".into(),
                },
                403,
                Reason::NotAuthorised,
            ),
            (
                Refusal::UnknownAf {
                    names: vec!["authz.enterprise.example".into()],
                },
                403,
                Reason::NotAuthorised,
            ),
            (Refusal::NoEvents, 400, Reason::Malformed),
            (
                Refusal::NoApplication {
                    operation: Operation::Establish,
                    target: Target::Adc,
                },
                400,
                Reason::Malformed,
            ),
            (
                Refusal::DownloadNotOverBdc {
                    target: Target::Adc,
                },
                400,
                Reason::Malformed,
            ),
            (
                Refusal::EventNotAllowed {
                    af: af(),
                    event: EventKind::AppDownloaded,
                },
                403,
                Reason::Policy,
            ),
            (
                Refusal::OperationNotAllowed {
                    af: af(),
                    operation: Operation::Terminate,
                },
                403,
                Reason::Policy,
            ),
            (
                Refusal::TargetNotAllowed {
                    af: af(),
                    target: Target::Bdc,
                },
                403,
                Reason::Policy,
            ),
            (
                Refusal::NotOwner {
                    af: af(),
                    app: "avatar-call".into(),
                },
                403,
                Reason::NotAuthorised,
            ),
            (
                Refusal::NoConsent {
                    impu: "sip:m@x".into(),
                    to: Consented::Control,
                },
                403,
                Reason::NotEntitled,
            ),
            (
                Refusal::BadBody {
                    what: "subscription",
                    detail: "EOF".into(),
                },
                400,
                Reason::Malformed,
            ),
            (
                Refusal::ForeignNotifyUri {
                    af: af(),
                    uri: "https://evil.example/".into(),
                },
                403,
                Reason::Mismatch,
            ),
            (
                Refusal::NoSuchDc {
                    dc_id: "dc-9".into(),
                },
                404,
                Reason::NoRecord,
            ),
            (
                Refusal::NoSuchSubscription {
                    id: "nef-sub-9".into(),
                },
                404,
                Reason::NoRecord,
            ),
            (
                Refusal::OtherDc {
                    dc_id: "dc-1".into(),
                    impu: "sip:m@x".into(),
                },
                403,
                Reason::Mismatch,
            ),
            (
                Refusal::Unavailable {
                    peer: "hss".into(),
                    detail: "timeout".into(),
                },
                502,
                Reason::Unreachable,
            ),
            (
                Refusal::Token(TokenError::Expired { exp: 1, now: 2 }),
                401,
                Reason::Expired,
            ),
            (
                Refusal::Token(TokenError::InsufficientScope {
                    granted: "dc-events".into(),
                    needed: crate::exposure::token::Scope::Control,
                }),
                403,
                Reason::Policy,
            ),
        ];
        for (refusal, status, reason) in cases {
            assert_eq!(
                (refusal.status(), refusal.reason()),
                (status, reason),
                "{refusal}"
            );
            let r = refusal.response();
            assert_eq!(r.status, status);
            let challenged = matches!(refusal, Refusal::Token(_));
            assert_eq!(r.header_value("www-authenticate").is_some(), challenged);
            assert!(refusal.label().starts_with("refuse DC exposure: "));
        }
    }

    #[test]
    fn texts_name_who_and_what() {
        let r = Refusal::OperationNotAllowed {
            af: "dc-as.avatars.example".into(),
            operation: Operation::Terminate,
        };
        assert_eq!(
            r.to_string(),
            "dc-as.avatars.example may not terminate data channels"
        );
        let r = Refusal::NoConsent {
            impu: "sip:m@x".into(),
            to: Consented::Events,
        };
        assert_eq!(
            r.to_string(),
            "sip:m@x did not consent to the exposure of its DC events"
        );
    }
}
