//! Why a store did not serve a request, typed, and the one pure mapping of each refusal to its
//! [`Reason`] in the trace and its answer on the wire (status and [`Problem`]).

use std::fmt;

use kit::http::Response;
use kit::node::json_response;
use proto::trace::Reason;
use proto::wire::avatar::Problem;

/// Why a store refused a request, grouped by who is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // ---- the request does not say what it wants (400, Malformed) --------------------------------
    /// The model request's target is unusable.
    #[error("model request unusable: {fault}")]
    BadTarget {
        /// What is wrong with it.
        fault: TargetFault,
    },
    /// The body is not the JSON the resource takes.
    #[error("body is not an object request: {detail}")]
    BadBody {
        /// What the JSON decoder said.
        detail: String,
    },

    // ---- the requester is not identified ----------------------------------------------------------
    /// No bearer token (RFC 6750 §2.1): 401 with a `WWW-Authenticate` challenge.
    #[error("{}", match .scheme {
        None => "no Authorization header with a bearer token".to_owned(),
        Some(s) => format!("Authorization {s:?} carries no bearer token"),
    })]
    NoBearer {
        /// The Authorization header's scheme (its first word), if there was a header.
        scheme: Option<String>,
    },
    /// The TLS client presented no certificate naming a host (the DAC serves only identified
    /// XR ASs).
    #[error("no client identity: {detail}")]
    NoClientIdentity {
        /// Why (no certificate, or it names no host).
        detail: String,
    },

    // ---- the avatar, its owner, the token or the attestation --------------------------------------
    /// What the avatar crate found: an unknown avatar (404, NoRecord), or a token or
    /// attestation that does not verify (403, with its reason).
    #[error("{0}")]
    Avatar(avatar::Error),
    /// The avatar owner's UE certificate did not pass the checks at start.
    #[error("owner {owner_ue}'s UE certificate cannot be used: {source}")]
    OwnerCertificate {
        /// The owner's UE id.
        owner_ue: String,
        /// Why.
        #[source]
        source: avatar::Error,
    },
    /// The avatar owner's UE certificate does not name the owner's IMPU.
    #[error("owner {owner_ue}'s UE certificate does not name {impu}")]
    CertificateNotOwner {
        /// The owner's UE id.
        owner_ue: String,
        /// The owner's IMPU, as the catalogue has it.
        impu: String,
    },

    // ---- the store's own failure (500) ------------------------------------------------------------
    /// The DAC could not protect the object (a primitive failed, or no usable ephemeral key
    /// could be drawn).
    #[error("cannot protect the avatar object: {source}")]
    Protection {
        /// Why.
        #[source]
        source: avatar::Error,
    },
}

/// What is wrong with a model request's target (`/bar/v1/models/{avatar_id}?session={call_id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFault {
    /// No `session` query parameter (or an empty one).
    NoSession,
    /// A percent-escape that does not decode to UTF-8.
    BadEscape,
}

impl fmt::Display for TargetFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetFault::NoSession => "no session query parameter",
            TargetFault::BadEscape => "a percent-escape does not decode",
        })
    }
}

impl Refusal {
    /// The typed reason the refusal note and the [`Problem`] carry.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::BadTarget { .. } | Refusal::BadBody { .. } => Reason::Malformed,
            Refusal::NoBearer { .. } => Reason::MissingIdentity,
            Refusal::NoClientIdentity { .. } => Reason::NotAuthorised,
            Refusal::Avatar(e) | Refusal::Protection { source: e } => e.reason(),
            Refusal::OwnerCertificate { .. } | Refusal::CertificateNotOwner { .. } => {
                Reason::CertificateInvalid
            }
        }
    }

    /// The HTTP status: 400 for an unusable request, 401 without a bearer token, 404 for an
    /// unknown avatar, 500 for the store's own failure, 403 for every other refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadTarget { .. } | Refusal::BadBody { .. } => 400,
            Refusal::NoBearer { .. } => 401,
            Refusal::Avatar(avatar::Error::UnknownAvatar { .. }) => 404,
            Refusal::Protection { .. } => 500,
            Refusal::NoClientIdentity { .. }
            | Refusal::Avatar(_)
            | Refusal::OwnerCertificate { .. }
            | Refusal::CertificateNotOwner { .. } => 403,
        }
    }

    /// The body of the answer.
    pub fn problem(&self) -> Problem {
        Problem {
            reason: self.reason(),
            detail: self.to_string(),
        }
    }

    /// The answer of the store at `realm` (its host name): the [`Problem`] as JSON with
    /// [`Refusal::status`], and for a 401 the challenge `WWW-Authenticate: Bearer
    /// realm="<realm>"` (RFC 6750 §3).
    pub fn response(&self, realm: &str) -> Response {
        let mut response = json_response(self.status(), &self.problem());
        if self.status() == 401 {
            response.headers.push((
                "www-authenticate".into(),
                format!("Bearer realm=\"{realm}\""),
            ));
        }
        response
    }
}

impl From<avatar::Error> for Refusal {
    fn from(e: avatar::Error) -> Self {
        Refusal::Avatar(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_refusal_maps_to_its_reason_and_status() {
        let cert = avatar::Error::Certificate {
            source: stir::Error::BadSignature,
        };
        let cases = [
            (
                Refusal::BadTarget {
                    fault: TargetFault::NoSession,
                },
                Reason::Malformed,
                400,
            ),
            (
                Refusal::BadBody { detail: "x".into() },
                Reason::Malformed,
                400,
            ),
            (
                Refusal::NoBearer { scheme: None },
                Reason::MissingIdentity,
                401,
            ),
            (
                Refusal::NoClientIdentity { detail: "x".into() },
                Reason::NotAuthorised,
                403,
            ),
            (
                Refusal::Avatar(avatar::Error::UnknownAvatar { id: "x".into() }),
                Reason::NoRecord,
                404,
            ),
            (
                Refusal::Avatar(avatar::Error::BadSignature),
                Reason::SignatureInvalid,
                403,
            ),
            (
                Refusal::Avatar(avatar::Error::SessionMismatch {
                    claimed: "a".into(),
                    session: "b".into(),
                }),
                Reason::Replayed,
                403,
            ),
            (
                Refusal::OwnerCertificate {
                    owner_ue: "ue-a".into(),
                    source: cert,
                },
                Reason::CertificateInvalid,
                403,
            ),
            (
                Refusal::CertificateNotOwner {
                    owner_ue: "ue-a".into(),
                    impu: "sip:x".into(),
                },
                Reason::CertificateInvalid,
                403,
            ),
            (
                Refusal::Protection {
                    source: avatar::Error::BadEphemeralSecret,
                },
                Reason::Malformed,
                500,
            ),
        ];
        for (refusal, reason, status) in cases {
            assert_eq!(refusal.reason(), reason, "{refusal}");
            assert_eq!(refusal.status(), status, "{refusal}");
            assert_eq!(refusal.problem().reason, reason);
            assert_eq!(refusal.problem().detail, refusal.to_string());
        }
    }

    #[test]
    fn only_a_missing_bearer_token_is_challenged() {
        let r = Refusal::NoBearer {
            scheme: Some("Basic".into()),
        }
        .response("bar.avatars.example");
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header_value("WWW-Authenticate"),
            Some("Bearer realm=\"bar.avatars.example\"")
        );
        let problem: Problem = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(problem.reason, Reason::MissingIdentity);
        assert_eq!(
            problem.detail,
            "Authorization \"Basic\" carries no bearer token"
        );
        let r = Refusal::Avatar(avatar::Error::BadSignature).response("bar.avatars.example");
        assert_eq!(r.status, 403);
        assert_eq!(r.header_value("WWW-Authenticate"), None);
    }
}
