//! The exposure token endpoint's request (issue 13; TS 33.501 §13.4.1, RFC 6749 §4.4): a form
//! `grant_type=client_credentials&scope=dc-events` (or `dc-control`), with an optional RFC 8707
//! `resource`: the audience asked for ([`super::token::AUDIENCE`] when absent). Parsed here,
//! pure; every refusal maps to its RFC 6749 §5.2 answer and its trace [`Reason`]. Which client
//! it is comes from its TLS certificate ([`super::identify`]): any client of the world's CA may
//! hold a token; what it may do with it is decided per request by the policy.

use avatar::wire::{FormFault, OAuthError, TokenError as ErrorBody, decode_form};
use kit::http::Response;
use kit::node::json_response;
use proto::trace::Reason;

use super::Refusal;
use super::token::{AUDIENCE, Scope};

/// The only grant type the endpoint takes.
pub const GRANT_TYPE: &str = "client_credentials";

/// What a client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The scope.
    pub scope: Scope,
    /// The audience (RFC 8707 `resource`, else [`AUDIENCE`]).
    pub audience: String,
}

/// Why the endpoint grants no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    /// The client cannot be identified by its certificate.
    #[error("client not identified: {0}")]
    Client(Refusal),
    /// The body is not a token request form.
    #[error("not a token request: {0}")]
    BadForm(FormFault),
    /// Another grant type than `client_credentials`.
    #[error("grant type {0:?} is not supported: {GRANT_TYPE} only")]
    UnsupportedGrant(String),
    /// A scope other than `dc-events` or `dc-control` (exactly one).
    #[error("scope {0:?} is not granted: dc-events or dc-control")]
    InvalidScope(String),
    /// The NEF could not sign.
    #[error("cannot issue the access token: {0}")]
    Issue(String),
}

impl GrantRefusal {
    /// The typed reason for the trace.
    pub fn reason(&self) -> Reason {
        match self {
            GrantRefusal::Client(r) => r.reason(),
            GrantRefusal::BadForm(_)
            | GrantRefusal::UnsupportedGrant(_)
            | GrantRefusal::Issue(_) => Reason::Malformed,
            GrantRefusal::InvalidScope(_) => Reason::Policy,
        }
    }

    /// The RFC 6749 §5.2 error code.
    pub fn error(&self) -> OAuthError {
        match self {
            GrantRefusal::Client(_) => OAuthError::UnauthorizedClient,
            GrantRefusal::BadForm(_) => OAuthError::InvalidRequest,
            GrantRefusal::UnsupportedGrant(_) => OAuthError::UnsupportedGrantType,
            GrantRefusal::InvalidScope(_) => OAuthError::InvalidScope,
            GrantRefusal::Issue(_) => OAuthError::ServerError,
        }
    }

    /// The status: 403 for an unidentified client, 500 when the NEF cannot sign, else 400.
    pub fn status(&self) -> u16 {
        match self {
            GrantRefusal::Client(_) => 403,
            GrantRefusal::Issue(_) => 500,
            _ => 400,
        }
    }

    /// The answer: an RFC 6749 §5.2 error body, `cache-control: no-store`.
    pub fn response(&self) -> Response {
        let body = ErrorBody {
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
        format!("refuse DC exposure access token: {self}")
    }
}

/// The scope of a scope parameter: exactly one of the two.
pub fn scope(text: &str) -> Option<Scope> {
    [Scope::Events, Scope::Control]
        .into_iter()
        .find(|s| s.as_str() == text)
}

/// The token request in a form body: each parameter at most once, `grant_type` and `scope`
/// required, `resource` optional; unknown parameters ignored (RFC 6749 §3.2).
pub fn parse(body: &[u8]) -> Result<Ask, GrantRefusal> {
    let text =
        std::str::from_utf8(body).map_err(|_| GrantRefusal::BadForm(FormFault::BadEscape))?;
    let pairs = decode_form(text).map_err(GrantRefusal::BadForm)?;
    let one = |name: &'static str| -> Result<Option<&str>, GrantRefusal> {
        let mut values = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return Err(GrantRefusal::BadForm(FormFault::Repeated(name.into())));
        }
        Ok(first.map(String::as_str).filter(|v| !v.is_empty()))
    };
    let missing = |name| GrantRefusal::BadForm(FormFault::Missing(name));
    let grant = one("grant_type")?.ok_or_else(|| missing("grant_type"))?;
    if grant != GRANT_TYPE {
        return Err(GrantRefusal::UnsupportedGrant(grant.to_owned()));
    }
    let asked = one("scope")?.ok_or_else(|| missing("scope"))?;
    let scope = scope(asked).ok_or_else(|| GrantRefusal::InvalidScope(asked.to_owned()))?;
    let audience = one("resource")?.unwrap_or(AUDIENCE).to_owned();
    Ok(Ask { scope, audience })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn token_requests_parse() {
        let ask = parse(b"grant_type=client_credentials&scope=dc-events").unwrap();
        assert_eq!(
            ask,
            Ask {
                scope: Scope::Events,
                audience: AUDIENCE.into()
            }
        );
        let ask =
            parse(b"scope=dc-control&grant_type=client_credentials&resource=https%3A%2F%2Fdac&x=1")
                .unwrap();
        assert_eq!(
            (ask.scope, ask.audience.as_str()),
            (Scope::Control, "https://dac")
        );
    }

    #[test]
    fn refusals_are_rfc_6749_errors() {
        let cases: [(&[u8], OAuthError, u16, Reason); 8] = [
            (
                b"scope=dc-events",
                OAuthError::InvalidRequest,
                400,
                Reason::Malformed,
            ),
            (
                b"grant_type=client_credentials",
                OAuthError::InvalidRequest,
                400,
                Reason::Malformed,
            ),
            (
                b"grant_type=password&scope=dc-events",
                OAuthError::UnsupportedGrantType,
                400,
                Reason::Malformed,
            ),
            (
                b"grant_type=client_credentials&scope=dc-events+dc-control",
                OAuthError::InvalidScope,
                400,
                Reason::Policy,
            ),
            (
                b"grant_type=client_credentials&scope=avatar-metadata%3Aread",
                OAuthError::InvalidScope,
                400,
                Reason::Policy,
            ),
            (
                b"grant_type=client_credentials&scope=dc-events&scope=dc-control",
                OAuthError::InvalidRequest,
                400,
                Reason::Malformed,
            ),
            (
                b"grant_type=client_credentials&scope=%zz",
                OAuthError::InvalidRequest,
                400,
                Reason::Malformed,
            ),
            (b"\xff", OAuthError::InvalidRequest, 400, Reason::Malformed),
        ];
        for (body, error, status, reason) in cases {
            let e = parse(body).unwrap_err();
            let label = String::from_utf8_lossy(body);
            assert_eq!(
                (e.error(), e.status(), e.reason()),
                (error, status, reason),
                "{label}"
            );
            let r = e.response();
            assert_eq!(r.status, status);
            let back: ErrorBody = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(back.error, error);
            assert_eq!(r.header_value("cache-control"), Some("no-store"));
        }
        let e = GrantRefusal::Client(Refusal::NoCertificate);
        assert_eq!((e.status(), e.reason()), (403, Reason::NotAuthorised));
    }
}
