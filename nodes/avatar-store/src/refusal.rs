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
    /// The TLS client's certificate names a host that is not the operator's IMS AS (the AOS
    /// answers lookups to its IMS AS only).
    #[error("client {} is not the operator's IMS AS", .names.join(", "))]
    NotAnAs {
        /// The DNS names of its certificate.
        names: Vec<String>,
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

    // ---- the access token of a DAC metadata request (solution #7 step 9) --------------------------
    /// The access token does not hold: malformed, not signed by the NEF, for another DAC,
    /// expired (401 `invalid_token`, RFC 6750 §3.1; its reason).
    #[error("invalid access token: {0}")]
    InvalidToken(avatar::Error),
    /// The access token holds but not for this: another avatar, or no read scope (403
    /// `insufficient_scope`; NotAuthorised).
    #[error("insufficient scope: {0}")]
    InsufficientScope(avatar::Error),
    /// The access token was granted to another client than the TLS client presenting it (401
    /// `invalid_token`; NotAuthorised).
    #[error("access token granted to {sub}, presented by {}", .names.join(", "))]
    TokenNotForClient {
        /// The token's `sub`.
        sub: String,
        /// The DNS names of the presenting client's certificate.
        names: Vec<String>,
    },

    // ---- the subscriber of an AOS lookup (solution #8 steps 2, 12) --------------------------------
    /// Not a subscriber of this AOS's operator domain, or not in its records (404, NoRecord).
    #[error("{impu} is not a subscriber of this AOS")]
    NotSubscriber {
        /// The IMPU looked up.
        impu: String,
    },
    /// The subscription is not authorised to use avatars (NotEntitled).
    #[error("{impu} is not authorised to use avatars")]
    AvatarsNotAllowed {
        /// The IMPU looked up.
        impu: String,
    },
    /// The subscriber has no avatar object (404, NoRecord): the TR's "if no Avatar object data
    /// exist for this subscriber".
    #[error("no avatar object for {impu}")]
    NoAvatarObject {
        /// The IMPU looked up.
        impu: String,
    },
    /// The Avatar ID named is not one of the subscriber's (ClaimMismatch).
    #[error("avatar {avatar_id:?} is not one of {impu}'s")]
    NotSubscribersAvatar {
        /// The IMPU looked up.
        impu: String,
        /// The Avatar ID named.
        avatar_id: String,
    },

    // ---- a UE's fetch of an avatar object from an AOS (solution #8 step 21) -----------------------
    /// The fetch proof does not hold (403, its reason: Malformed, SignatureInvalid,
    /// ClaimMismatch, Expired).
    #[error("{0}")]
    Proof(avatar::aos_request::Error),
    /// No usable UE certificate names the proof's `sub` (CertificateInvalid).
    #[error("no UE certificate names {sub}")]
    UnknownUe {
        /// The `sub` claim.
        sub: String,
    },
    /// No tuple of the call lets `sub` fetch this avatar (NotAuthorised).
    #[error("{sub} is not the other party of call {call_id:?} for avatar {avatar_id:?}")]
    NoTuple {
        /// The fetching UE.
        sub: String,
        /// The call.
        call_id: String,
        /// The avatar.
        avatar_id: String,
    },
    /// The policy allows one fetch and it was used (Replayed).
    #[error("avatar {avatar_id:?} may be fetched once per call and was fetched already")]
    FetchUsed {
        /// The avatar.
        avatar_id: String,
    },

    // ---- the store's own failure (500) ------------------------------------------------------------
    /// The DAC could not sign the avatar metadata.
    #[error("cannot sign the avatar metadata: {source}")]
    Signing {
        /// Why.
        #[source]
        source: avatar::Error,
    },
    /// The DAC could not protect the object (a primitive failed, or no usable ephemeral key
    /// could be drawn).
    #[error("cannot protect the avatar object: {source}")]
    Protection {
        /// Why.
        #[source]
        source: avatar::Error,
    },
}

/// What is wrong with a request's target (the BAR's `/bar/v1/models/{avatar_id}?session={call_id}`,
/// an AOS's `/aos/v1/objects/{avatar_id}?call={call_id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFault {
    /// No `session` query parameter (or an empty one).
    NoSession,
    /// No `call` query parameter (or an empty one).
    NoCall,
    /// A percent-escape that does not decode to UTF-8.
    BadEscape,
}

impl fmt::Display for TargetFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetFault::NoSession => "no session query parameter",
            TargetFault::NoCall => "no call query parameter",
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
            Refusal::NoClientIdentity { .. } | Refusal::NotAnAs { .. } => Reason::NotAuthorised,
            Refusal::Avatar(e)
            | Refusal::Protection { source: e }
            | Refusal::Signing { source: e }
            | Refusal::InvalidToken(e)
            | Refusal::InsufficientScope(e) => e.reason(),
            Refusal::TokenNotForClient { .. } => Reason::NotAuthorised,
            Refusal::OwnerCertificate { .. }
            | Refusal::CertificateNotOwner { .. }
            | Refusal::UnknownUe { .. } => Reason::CertificateInvalid,
            Refusal::NotSubscriber { .. } | Refusal::NoAvatarObject { .. } => Reason::NoRecord,
            Refusal::AvatarsNotAllowed { .. } => Reason::NotEntitled,
            Refusal::NotSubscribersAvatar { .. } => Reason::ClaimMismatch,
            Refusal::Proof(e) => e.reason(),
            Refusal::NoTuple { .. } => Reason::NotAuthorised,
            Refusal::FetchUsed { .. } => Reason::Replayed,
        }
    }

    /// The HTTP status: 400 for an unusable request, 401 without a bearer token, 404 for an
    /// unknown avatar or subscriber and for a subscriber without avatar objects, 500 for the
    /// store's own failure, 403 for every other refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadTarget { .. } | Refusal::BadBody { .. } => 400,
            Refusal::NoBearer { .. }
            | Refusal::InvalidToken(_)
            | Refusal::TokenNotForClient { .. } => 401,
            Refusal::Avatar(avatar::Error::UnknownAvatar { .. })
            | Refusal::NotSubscriber { .. }
            | Refusal::NoAvatarObject { .. } => 404,
            Refusal::Protection { .. } | Refusal::Signing { .. } => 500,
            Refusal::NoClientIdentity { .. }
            | Refusal::InsufficientScope(_)
            | Refusal::NotAnAs { .. }
            | Refusal::Avatar(_)
            | Refusal::OwnerCertificate { .. }
            | Refusal::CertificateNotOwner { .. }
            | Refusal::AvatarsNotAllowed { .. }
            | Refusal::NotSubscribersAvatar { .. }
            | Refusal::Proof(_)
            | Refusal::UnknownUe { .. }
            | Refusal::NoTuple { .. }
            | Refusal::FetchUsed { .. } => 403,
        }
    }

    /// The body of the answer.
    pub fn problem(&self) -> Problem {
        Problem {
            reason: self.reason(),
            detail: self.to_string(),
        }
    }

    /// The RFC 6750 §3 challenge of the store at `realm`: `Bearer realm="<realm>"` without a
    /// token, with `error="invalid_token"` for a token that does not hold and
    /// `error="insufficient_scope"` (and the scope needed) for one that does not cover the
    /// request; none for other refusals.
    pub fn challenge(&self, realm: &str) -> Option<String> {
        let error = match self {
            Refusal::NoBearer { .. } => return Some(format!("Bearer realm=\"{realm}\"")),
            Refusal::InvalidToken(_) | Refusal::TokenNotForClient { .. } => {
                "error=\"invalid_token\"".to_owned()
            }
            Refusal::InsufficientScope(_) => format!(
                "error=\"insufficient_scope\", scope=\"{}\"",
                avatar::access_token::SCOPE_READ
            ),
            _ => return None,
        };
        Some(format!("Bearer realm=\"{realm}\", {error}"))
    }

    /// The answer of the store at `realm` (its host name): the [`Problem`] as JSON with
    /// [`Refusal::status`], and the [`Refusal::challenge`] in `WWW-Authenticate` when there is
    /// one.
    pub fn response(&self, realm: &str) -> Response {
        let mut response = json_response(self.status(), &self.problem());
        if let Some(challenge) = self.challenge(realm) {
            response
                .headers
                .push(("www-authenticate".into(), challenge));
        }
        response
    }
}

impl From<avatar::Error> for Refusal {
    fn from(e: avatar::Error) -> Self {
        Refusal::Avatar(e)
    }
}

impl From<avatar::aos_request::Error> for Refusal {
    fn from(e: avatar::aos_request::Error) -> Self {
        Refusal::Proof(e)
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
            (
                Refusal::BadTarget {
                    fault: TargetFault::NoCall,
                },
                Reason::Malformed,
                400,
            ),
            (
                Refusal::NotAnAs {
                    names: vec!["mf.example".into()],
                },
                Reason::NotAuthorised,
                403,
            ),
            (
                Refusal::NotSubscriber {
                    impu: "sip:x".into(),
                },
                Reason::NoRecord,
                404,
            ),
            (
                Refusal::AvatarsNotAllowed {
                    impu: "sip:x".into(),
                },
                Reason::NotEntitled,
                403,
            ),
            (
                Refusal::NoAvatarObject {
                    impu: "sip:x".into(),
                },
                Reason::NoRecord,
                404,
            ),
            (
                Refusal::NotSubscribersAvatar {
                    impu: "sip:x".into(),
                    avatar_id: "owl".into(),
                },
                Reason::ClaimMismatch,
                403,
            ),
            (
                Refusal::Proof(avatar::aos_request::Error::Jws(
                    avatar::Error::NotCompactJws { parts: 2 },
                )),
                Reason::Malformed,
                403,
            ),
            (
                Refusal::Proof(avatar::aos_request::Error::Jws(avatar::Error::BadSignature)),
                Reason::SignatureInvalid,
                403,
            ),
            (
                Refusal::Proof(avatar::aos_request::Error::CallMismatch {
                    claimed: "a".into(),
                    requested: "b".into(),
                }),
                Reason::ClaimMismatch,
                403,
            ),
            (
                Refusal::Proof(avatar::aos_request::Error::Stale { iat: 1, now: 1000 }),
                Reason::Expired,
                403,
            ),
            (
                Refusal::UnknownUe {
                    sub: "sip:x".into(),
                },
                Reason::CertificateInvalid,
                403,
            ),
            (
                Refusal::NoTuple {
                    sub: "sip:x".into(),
                    call_id: "c".into(),
                    avatar_id: "owl".into(),
                },
                Reason::NotAuthorised,
                403,
            ),
            (
                Refusal::FetchUsed {
                    avatar_id: "owl".into(),
                },
                Reason::Replayed,
                403,
            ),
            (
                Refusal::InvalidToken(avatar::Error::Expired { exp: 1, now: 2 }),
                Reason::Expired,
                401,
            ),
            (
                Refusal::InvalidToken(avatar::Error::BadSignature),
                Reason::SignatureInvalid,
                401,
            ),
            (
                Refusal::InsufficientScope(avatar::Error::OtherAvatar {
                    granted: "owl".into(),
                    requested: "shark".into(),
                }),
                Reason::NotAuthorised,
                403,
            ),
            (
                Refusal::TokenNotForClient {
                    sub: "xr-as.example".into(),
                    names: vec!["mf.example".into()],
                },
                Reason::NotAuthorised,
                401,
            ),
            (
                Refusal::Signing {
                    source: avatar::Error::BadObject { detail: "x".into() },
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

    #[test]
    fn token_refusals_are_challenged_with_their_rfc_6750_error() {
        let realm = "dac.avatars.example";
        let r = Refusal::InvalidToken(avatar::Error::BadSignature).response(realm);
        assert_eq!(
            (r.status, r.header_value("WWW-Authenticate")),
            (
                401,
                Some("Bearer realm=\"dac.avatars.example\", error=\"invalid_token\"")
            )
        );
        let r = Refusal::InsufficientScope(avatar::Error::ScopeMissing {
            granted: String::new(),
            required: "avatar-metadata:read",
        })
        .response(realm);
        assert_eq!(
            (r.status, r.header_value("WWW-Authenticate")),
            (
                403,
                Some(
                    "Bearer realm=\"dac.avatars.example\", error=\"insufficient_scope\", scope=\"avatar-metadata:read\""
                )
            )
        );
    }
}
