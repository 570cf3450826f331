//! Why the NEF did not do what it was asked, typed, and the one pure mapping of each to its
//! answer on the wire and its [`Reason`] in the trace.

use std::fmt;

use kit::http::Response;
use proto::trace::Reason;

/// Why no authorization server could be selected (step 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoServer {
    /// An option B request that names no realm.
    NoRealm,
    /// No authorization server is known for the realm.
    UnknownRealm(String),
    /// An option A request from an IMPU the NEF did not allocate.
    NotDesignated(String),
}

impl NoServer {
    /// [`Reason::NoRecord`] when nothing matches; [`Reason::Malformed`] for a request that
    /// names no realm.
    pub fn reason(&self) -> Reason {
        match self {
            NoServer::NoRealm => Reason::Malformed,
            NoServer::UnknownRealm(_) | NoServer::NotDesignated(_) => Reason::NoRecord,
        }
    }
}

impl fmt::Display for NoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoServer::NoRealm => f.write_str("option B request names no realm"),
            NoServer::UnknownRealm(realm) => {
                write!(f, "no third party authorization server for realm {realm}")
            }
            NoServer::NotDesignated(impu) => write!(f, "{impu} is not a designated IMPU"),
        }
    }
}

/// Why the HSS did not provision a designated IMPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionError {
    /// The provisioning body could not be encoded.
    Encode(String),
    /// The HSS answered with a non-2xx status.
    Refused {
        /// The IMPU to provision.
        impu: String,
        /// The HSS's status.
        status: u16,
        /// The HSS's reason (its body).
        body: String,
    },
    /// The HSS could not be reached.
    Unreachable {
        /// The IMPU to provision.
        impu: String,
        /// The transport error.
        detail: String,
    },
}

impl ProvisionError {
    /// Why, typed: the HSS's refusal by its status (403: the NEF may not; 400: malformed;
    /// another 4xx: the HSS's policy; anything else: no useful answer), or unreachable.
    pub fn reason(&self) -> Reason {
        match self {
            ProvisionError::Encode(_) => Reason::Malformed,
            ProvisionError::Refused { status, .. } => match status {
                401 | 403 => Reason::NotAuthorised,
                400 => Reason::Malformed,
                402..=499 => Reason::Policy,
                _ => Reason::Unreachable,
            },
            ProvisionError::Unreachable { .. } => Reason::Unreachable,
        }
    }
}

impl fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionError::Encode(e) => f.write_str(e),
            ProvisionError::Refused { impu, status, body } => write!(
                f,
                "HSS refused provisioning of {impu} ({status}): {}",
                body.trim()
            ),
            ProvisionError::Unreachable { impu, detail } => {
                write!(f, "HSS unreachable for provisioning of {impu}: {detail}")
            }
        }
    }
}

/// Why an allocation request (step 0a) got no designated IMPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationRefusal {
    /// The client is not an authorised AF (why, from its certificate).
    NotAuthorised(String),
    /// The body is not an allocation request (the JSON error).
    BadBody(String),
    /// The pool has no free IMPU.
    Exhausted,
    /// The HSS did not provision this IMPU; it went back to the pool.
    Provisioning {
        /// The IMPU released.
        impu: String,
        /// Why the HSS did not provision it.
        error: ProvisionError,
    },
}

impl AllocationRefusal {
    /// Why, typed for the trace.
    pub fn reason(&self) -> Reason {
        match self {
            AllocationRefusal::NotAuthorised(_) => Reason::NotAuthorised,
            AllocationRefusal::BadBody(_) => Reason::Malformed,
            AllocationRefusal::Exhausted => Reason::NoRecord,
            AllocationRefusal::Provisioning { error, .. } => error.reason(),
        }
    }

    /// The answer on the wire.
    pub fn response(&self) -> Response {
        match self {
            AllocationRefusal::NotAuthorised(why) => Response::text(403, why.clone()),
            AllocationRefusal::BadBody(e) => {
                Response::text(400, format!("body is not an allocation request: {e}"))
            }
            AllocationRefusal::Exhausted => Response::text(503, "designated IMPU pool exhausted"),
            AllocationRefusal::Provisioning { error, .. } => Response::text(502, error.to_string()),
        }
    }

    /// What the trace says.
    pub fn label(&self) -> String {
        match self {
            AllocationRefusal::NotAuthorised(why) => format!("refuse allocation: {why}"),
            AllocationRefusal::BadBody(e) => {
                format!("refuse allocation: body is not an allocation request: {e}")
            }
            AllocationRefusal::Exhausted => {
                "refuse allocation: designated IMPU pool exhausted".into()
            }
            AllocationRefusal::Provisioning { impu, error } => {
                format!("release designated IMPU {impu}: {error}")
            }
        }
    }
}

/// Why the selected authorization server gave no usable answer (steps 2–3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// The request could not be encoded.
    Encode(String),
    /// The server could not be reached.
    Unreachable {
        /// The authorization server.
        host: String,
        /// The transport error.
        detail: String,
    },
    /// The server answered with a status other than 200.
    Status {
        /// The authorization server.
        host: String,
        /// Its status.
        status: u16,
        /// Its body.
        body: String,
    },
    /// The 200 answer is not an authorization answer.
    Unusable {
        /// The authorization server.
        host: String,
        /// The JSON error.
        detail: String,
    },
}

impl ForwardError {
    /// Why, typed: no useful answer from the authorization server is [`Reason::Unreachable`].
    pub fn reason(&self) -> Reason {
        match self {
            ForwardError::Encode(_) => Reason::Malformed,
            ForwardError::Unreachable { .. }
            | ForwardError::Status { .. }
            | ForwardError::Unusable { .. } => Reason::Unreachable,
        }
    }
}

impl fmt::Display for ForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardError::Encode(e) => f.write_str(e),
            ForwardError::Unreachable { host, detail } => {
                write!(f, "authorization server {host} unreachable: {detail}")
            }
            ForwardError::Status { host, status, body } => write!(
                f,
                "authorization server {host} answered {status}: {}",
                body.trim()
            ),
            ForwardError::Unusable { host, detail } => {
                write!(f, "authorization server {host} answer unusable: {detail}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16) -> ProvisionError {
        ProvisionError::Refused {
            impu: "sip:+1@x".into(),
            status,
            body: " no room \n".into(),
        }
    }

    #[test]
    fn provisioning_errors_by_hss_status() {
        assert_eq!(refused(403).reason(), Reason::NotAuthorised);
        assert_eq!(refused(400).reason(), Reason::Malformed);
        assert_eq!(refused(409).reason(), Reason::Policy);
        assert_eq!(refused(500).reason(), Reason::Unreachable);
        let unreachable = ProvisionError::Unreachable {
            impu: "sip:+1@x".into(),
            detail: "refused".into(),
        };
        assert_eq!(unreachable.reason(), Reason::Unreachable);
        assert_eq!(
            refused(409).to_string(),
            "HSS refused provisioning of sip:+1@x (409): no room"
        );
    }

    #[test]
    fn allocation_refusals_answer_and_reason() {
        let cases = [
            (
                AllocationRefusal::NotAuthorised("AFs only".into()),
                403,
                Reason::NotAuthorised,
                "refuse allocation: AFs only",
            ),
            (
                AllocationRefusal::BadBody("eof".into()),
                400,
                Reason::Malformed,
                "refuse allocation: body is not an allocation request: eof",
            ),
            (
                AllocationRefusal::Exhausted,
                503,
                Reason::NoRecord,
                "refuse allocation: designated IMPU pool exhausted",
            ),
            (
                AllocationRefusal::Provisioning {
                    impu: "sip:+1@x".into(),
                    error: refused(409),
                },
                502,
                Reason::Policy,
                "release designated IMPU sip:+1@x: HSS refused provisioning of sip:+1@x (409): no room",
            ),
        ];
        for (refusal, status, reason, label) in cases {
            assert_eq!(refusal.response().status, status, "{refusal:?}");
            assert_eq!(refusal.reason(), reason, "{refusal:?}");
            assert_eq!(refusal.label(), label);
        }
    }

    #[test]
    fn forward_errors_are_unreachable() {
        let status = ForwardError::Status {
            host: "authz".into(),
            status: 500,
            body: "boom\n".into(),
        };
        assert_eq!(status.reason(), Reason::Unreachable);
        assert_eq!(
            status.to_string(),
            "authorization server authz answered 500: boom"
        );
        let unusable = ForwardError::Unusable {
            host: "authz".into(),
            detail: "eof".into(),
        };
        assert_eq!(unusable.reason(), Reason::Unreachable);
        assert_eq!(ForwardError::Encode("x".into()).reason(), Reason::Malformed);
    }
}
