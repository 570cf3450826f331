//! Why the NEF did not grant an access token (solution #7 step 7), typed, and the one pure
//! mapping of each to its RFC 6749 §5.2 answer (status, error code) and its [`Reason`].

use avatar::wire::{FormFault, OAuthError, TokenError};
use kit::http::Response;
use kit::node::json_response;
use proto::trace::Reason;

/// Why a token request was refused, in the order the NEF checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// a. The client is not an XR AS allowed to ask (its certificate's names, or none).
    #[error("client not authorised for avatar access tokens: {0}")]
    UnauthorizedClient(String),
    /// The form is not a token request.
    #[error("not a token request: {0}")]
    BadRequest(FormFault),
    /// Another grant type than `client_credentials`.
    #[error("grant type {0:?} is not supported: client_credentials only")]
    UnsupportedGrant(String),
    /// A scope the NEF does not grant.
    #[error("scope {0:?} is not granted: {scope} only", scope = avatar::access_token::SCOPE_READ)]
    InvalidScope(String),
    /// b. The IMS AS could not tell whether the signed Avatar-id holds (unreachable, another
    /// status, an unusable answer).
    #[error("IMS AS {host} cannot verify the signed Avatar-id: {detail}")]
    VerifierUnavailable {
        /// The IMS AS.
        host: String,
        /// What went wrong.
        detail: String,
    },
    /// b. The IMS AS says the signed Avatar-id does not hold.
    #[error("signed Avatar-id does not hold: {detail}")]
    SignedIdInvalid {
        /// Why, typed, as the IMS AS said (SignatureInvalid when it did not say).
        reason: Reason,
        /// Why, for the reader.
        detail: String,
    },
    /// b. The signed Avatar-id is for another application than the one asked for.
    #[error("signed Avatar-id is for application {signed:?}, the request names {requested:?}")]
    AppMismatch {
        /// The application id signed.
        signed: String,
        /// The application id of the request.
        requested: String,
    },
    /// c. No usable UE certificate names the IMPU of the signed Avatar-id.
    #[error("no UE certificate names {impu}")]
    NoUeCertificate {
        /// The IMPU.
        impu: String,
    },
    /// c. The UE token does not hold (its reason).
    #[error("UE token: {0}")]
    UeToken(avatar::Error),
    /// d. The NEF could not sign the token.
    #[error("cannot issue the access token: {0}")]
    Issue(avatar::Error),
}

impl TokenRefusal {
    /// The typed reason the refusal note and the answer carry.
    pub fn reason(&self) -> Reason {
        match self {
            TokenRefusal::UnauthorizedClient(_) => Reason::NotAuthorised,
            TokenRefusal::BadRequest(_) | TokenRefusal::UnsupportedGrant(_) => Reason::Malformed,
            TokenRefusal::InvalidScope(_) => Reason::Policy,
            TokenRefusal::VerifierUnavailable { .. } => Reason::Unreachable,
            TokenRefusal::SignedIdInvalid { reason, .. } => *reason,
            TokenRefusal::AppMismatch { .. } => Reason::ClaimMismatch,
            TokenRefusal::NoUeCertificate { .. } => Reason::CertificateInvalid,
            TokenRefusal::UeToken(e) | TokenRefusal::Issue(e) => e.reason(),
        }
    }

    /// The RFC 6749 §5.2 error code (`temporarily_unavailable` and `server_error`, borrowed
    /// from §4.1.2.1, for the NEF's and the IMS AS's own failures).
    pub fn error(&self) -> OAuthError {
        match self {
            TokenRefusal::UnauthorizedClient(_) => OAuthError::UnauthorizedClient,
            TokenRefusal::BadRequest(_) => OAuthError::InvalidRequest,
            TokenRefusal::UnsupportedGrant(_) => OAuthError::UnsupportedGrantType,
            TokenRefusal::InvalidScope(_) => OAuthError::InvalidScope,
            TokenRefusal::VerifierUnavailable { .. } => OAuthError::TemporarilyUnavailable,
            TokenRefusal::SignedIdInvalid { .. }
            | TokenRefusal::AppMismatch { .. }
            | TokenRefusal::NoUeCertificate { .. }
            | TokenRefusal::UeToken(_) => OAuthError::InvalidGrant,
            TokenRefusal::Issue(_) => OAuthError::ServerError,
        }
    }

    /// The status: 403 for a client not authorised, 503 when the IMS AS cannot verify, 500 when
    /// the NEF cannot sign, 400 otherwise (RFC 6749 §5.2).
    pub fn status(&self) -> u16 {
        match self {
            TokenRefusal::UnauthorizedClient(_) => 403,
            TokenRefusal::VerifierUnavailable { .. } => 503,
            TokenRefusal::Issue(_) => 500,
            _ => 400,
        }
    }

    /// The answer: a [`TokenError`] as JSON, `cache-control: no-store` (RFC 6749 §5.2).
    pub fn response(&self) -> Response {
        let body = TokenError {
            error: self.error(),
            error_description: self.to_string(),
            reason: Some(self.reason()),
        };
        let mut r = json_response(self.status(), &body);
        r.headers.push(("cache-control".into(), "no-store".into()));
        r
    }

    /// What the trace says.
    pub fn label(&self) -> String {
        format!("refuse access token: {self}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_refusal_maps_to_its_answer_and_reason() {
        use OAuthError::*;
        let cases = [
            (
                TokenRefusal::UnauthorizedClient("x".into()),
                403,
                UnauthorizedClient,
                Reason::NotAuthorised,
            ),
            (
                TokenRefusal::BadRequest(FormFault::Missing("scope")),
                400,
                InvalidRequest,
                Reason::Malformed,
            ),
            (
                TokenRefusal::UnsupportedGrant("password".into()),
                400,
                UnsupportedGrantType,
                Reason::Malformed,
            ),
            (
                TokenRefusal::InvalidScope("all".into()),
                400,
                InvalidScope,
                Reason::Policy,
            ),
            (
                TokenRefusal::VerifierUnavailable {
                    host: "as".into(),
                    detail: "down".into(),
                },
                503,
                TemporarilyUnavailable,
                Reason::Unreachable,
            ),
            (
                TokenRefusal::SignedIdInvalid {
                    reason: Reason::SignatureInvalid,
                    detail: "bad".into(),
                },
                400,
                InvalidGrant,
                Reason::SignatureInvalid,
            ),
            (
                TokenRefusal::AppMismatch {
                    signed: "a".into(),
                    requested: "b".into(),
                },
                400,
                InvalidGrant,
                Reason::ClaimMismatch,
            ),
            (
                TokenRefusal::NoUeCertificate {
                    impu: "sip:x".into(),
                },
                400,
                InvalidGrant,
                Reason::CertificateInvalid,
            ),
            (
                TokenRefusal::UeToken(avatar::Error::FingerprintMismatch {
                    carried: "a".into(),
                    presented: "b".into(),
                }),
                400,
                InvalidGrant,
                Reason::ClaimMismatch,
            ),
            (
                TokenRefusal::UeToken(avatar::Error::Expired { exp: 1, now: 2 }),
                400,
                InvalidGrant,
                Reason::Expired,
            ),
            (
                TokenRefusal::Issue(avatar::Error::BadObject { detail: "x".into() }),
                500,
                ServerError,
                Reason::Malformed,
            ),
        ];
        for (refusal, status, error, reason) in cases {
            assert_eq!(
                (refusal.status(), refusal.error(), refusal.reason()),
                (status, error, reason),
                "{refusal}"
            );
            let r = refusal.response();
            assert_eq!(r.status, status);
            assert_eq!(r.header_value("cache-control"), Some("no-store"));
            let body: TokenError = serde_json::from_slice(&r.body).unwrap();
            assert_eq!((body.error, body.reason), (error, Some(reason)));
            assert_eq!(body.error_description, refusal.to_string());
        }
    }
}
