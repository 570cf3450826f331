//! What goes between the nodes of solution #7 (TR 33.790 §6.7.2.1 steps 7–9), as serde types:
//!
//! - XR AS → NEF, `POST /nef/v1/oauth2/token` ([`TOKEN_PATH`]): an RFC 6749 §4.4 client
//!   credentials request, `application/x-www-form-urlencoded`, with the extra parameters the TR
//!   names ([`TokenRequest`]); answered [`TokenResponse`] (§5.1) or [`TokenError`] (§5.2).
//! - NEF → originating IMS AS, `POST /as/v1/avatar-ids/verify` ([`VERIFY_AVATAR_ID_PATH`]):
//!   "verifies the signed Avatar-id with IMS AS" ([`AvatarIdCheck`], answered
//!   [`AvatarIdVerdict`], JSON).
//! - XR AS → DAC, `GET /dac/v1/metadata/{avatar_id}` ([`metadata_path`]) with `Authorization:
//!   Bearer <access token>`; answered 200 `application/jwt` ([`METADATA_TYPE`]), the body the
//!   signed metadata itself (a compact JWS, [`crate::metadata`]).

use std::fmt;

use proto::trace::Reason;
use serde::{Deserialize, Serialize};

use crate::access_token::SCOPE_READ;

/// The NEF's token endpoint (step 7).
pub const TOKEN_PATH: &str = "/nef/v1/oauth2/token";

/// The IMS AS's resource that verifies a signed Avatar-id for the NEF (step 7).
pub const VERIFY_AVATAR_ID_PATH: &str = "/as/v1/avatar-ids/verify";

/// The DAC's avatar metadata resources (`{prefix}{avatar_id}`, steps 8–9).
pub const METADATA_PATH_PREFIX: &str = "/dac/v1/metadata/";

/// The media type of the DAC's answer: a JWT (RFC 7519 §10.3.1).
pub const METADATA_TYPE: &str = "application/jwt";

/// The media type of the token request (RFC 6749 §4.4.2).
pub const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// The only grant type the token endpoint takes (RFC 6749 §4.4.2).
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The path of the metadata of `avatar_id` (percent-encoded as a path segment).
pub fn metadata_path(avatar_id: &str) -> String {
    format!(
        "{METADATA_PATH_PREFIX}{}",
        proto::wire::avatar::pct(avatar_id)
    )
}

/// The token request of step 7 (RFC 6749 §4.4.2 with the TR's parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// [`CLIENT_CREDENTIALS`].
    pub grant_type: String,
    /// [`SCOPE_READ`].
    pub scope: String,
    /// The signed Avatar-id (the IMS AS's PASSporT over the Avatar-id, step 3).
    pub signed_avatar_id: String,
    /// The UE token (step 4).
    pub ue_token: String,
    /// The application id.
    pub app_id: String,
}

/// Why a form is not a token request (all `invalid_request`, RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormFault {
    /// A required parameter is missing or empty.
    Missing(&'static str),
    /// A parameter is given twice (RFC 6749 §3.2).
    Repeated(String),
    /// A percent-escape does not decode to UTF-8.
    BadEscape,
}

impl fmt::Display for FormFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormFault::Missing(p) => write!(f, "missing parameter {p}"),
            FormFault::Repeated(p) => write!(f, "parameter {p} given more than once"),
            FormFault::BadEscape => f.write_str("a percent-escape does not decode"),
        }
    }
}

impl TokenRequest {
    /// The request the XR AS sends for read access to the metadata of a signed Avatar-id.
    pub fn read(signed_avatar_id: &str, ue_token: &str, app_id: &str) -> Self {
        Self {
            grant_type: CLIENT_CREDENTIALS.into(),
            scope: SCOPE_READ.into(),
            signed_avatar_id: signed_avatar_id.into(),
            ue_token: ue_token.into(),
            app_id: app_id.into(),
        }
    }

    /// The form body.
    pub fn to_form(&self) -> String {
        encode_form(&[
            ("grant_type", &self.grant_type),
            ("scope", &self.scope),
            ("signed_avatar_id", &self.signed_avatar_id),
            ("ue_token", &self.ue_token),
            ("app_id", &self.app_id),
        ])
    }

    /// Reads a form body; unknown parameters are ignored (RFC 6749 §3.2).
    pub fn from_form(body: &str) -> Result<Self, FormFault> {
        let pairs = decode_form(body)?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(FormFault::Repeated(name.clone()));
            }
        }
        let get = |name: &'static str| {
            pairs
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.clone())
                .ok_or(FormFault::Missing(name))
        };
        Ok(Self {
            grant_type: get("grant_type")?,
            scope: get("scope")?,
            signed_avatar_id: get("signed_avatar_id")?,
            ue_token: get("ue_token")?,
            app_id: get("app_id")?,
        })
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token ([`crate::access_token`]).
    pub access_token: String,
    /// `Bearer` (RFC 6750).
    pub token_type: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The scope granted.
    pub scope: String,
}

/// The error codes of a token error response (RFC 6749 §5.2).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OAuthError {
    /// The request is missing a parameter or is otherwise malformed.
    InvalidRequest,
    /// The grant (the signed Avatar-id, the UE token) is invalid.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// Not the client credentials grant.
    UnsupportedGrantType,
    /// The scope is not one the endpoint grants.
    InvalidScope,
    /// The server cannot answer now (RFC 6749 §4.1.2.1): the IMS AS cannot verify.
    TemporarilyUnavailable,
    /// The server failed (RFC 6749 §4.1.2.1).
    ServerError,
}

impl OAuthError {
    /// The code as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::ServerError => "server_error",
        }
    }
}

/// A token error response (RFC 6749 §5.2), with the testbed's typed reason.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The error code.
    pub error: OAuthError,
    /// Why, for the reader.
    pub error_description: String,
    /// Why, typed (not an RFC 6749 parameter; clients may ignore it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<Reason>,
}

/// The NEF's question to the IMS AS: does this signed Avatar-id hold, for this application?
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AvatarIdCheck {
    /// The signed Avatar-id, as the XR AS presented it.
    pub signed_avatar_id: String,
    /// The application id the XR AS named.
    pub app_id: String,
}

/// The IMS AS's answer: whether the signed Avatar-id holds and, when it does, what it binds:
/// the caller's IMPU, the Avatar ID, the application id and the fingerprint of the UE
/// certificate the IMS AS saw in SIP for that call.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AvatarIdVerdict {
    /// Whether it holds.
    pub valid: bool,
    /// The calling UE's IMPU.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub impu: Option<String>,
    /// The Avatar ID signed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub avatar_id: Option<String>,
    /// The application id signed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub app_id: Option<String>,
    /// The UE certificate's fingerprint carried in SIP (RFC 8122 form).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ue_cert_fingerprint: Option<String>,
    /// Why not, typed (when not valid).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<Reason>,
    /// Why not, for the reader.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

impl AvatarIdVerdict {
    /// A verdict that the signed Avatar-id holds.
    pub fn valid(impu: &str, avatar_id: &str, app_id: &str, ue_cert_fingerprint: &str) -> Self {
        Self {
            valid: true,
            impu: Some(impu.into()),
            avatar_id: Some(avatar_id.into()),
            app_id: Some(app_id.into()),
            ue_cert_fingerprint: Some(ue_cert_fingerprint.into()),
            reason: None,
            detail: None,
        }
    }

    /// A verdict that it does not, for `reason`.
    pub fn invalid(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            valid: false,
            impu: None,
            avatar_id: None,
            app_id: None,
            ue_cert_fingerprint: None,
            reason: Some(reason),
            detail: Some(detail.into()),
        }
    }
}

/// `application/x-www-form-urlencoded` of `pairs` (WHATWG URL §5.2: unreserved bytes as is,
/// space as `+`, every other byte `%XX`).
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode_component(n), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The name–value pairs of a form body, in order (`+` is a space, `%XX` a byte).
pub fn decode_form(body: &str) -> Result<Vec<(String, String)>, FormFault> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode_component(n)?, decode_component(v)?))
        })
        .collect()
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode_component(s: &str) -> Result<String, FormFault> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or(FormFault::BadEscape)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| FormFault::BadEscape)?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormFault::BadEscape)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_token_request_round_trips_as_a_form() {
        let r = TokenRequest::read("a.b.c", "d.e.f", "avatar call/1");
        let form = r.to_form();
        assert_eq!(
            form,
            "grant_type=client_credentials&scope=avatar-metadata%3Aread&signed_avatar_id=a.b.c\
             &ue_token=d.e.f&app_id=avatar+call%2F1"
        );
        assert_eq!(TokenRequest::from_form(&form).unwrap(), r);
    }

    #[test]
    fn form_faults_are_typed() {
        let form = TokenRequest::read("a", "b", "c").to_form();
        for (body, fault) in [
            ("grant_type=client_credentials", FormFault::Missing("scope")),
            (
                &*format!("{form}&scope=x"),
                FormFault::Repeated("scope".into()),
            ),
            (&*format!("{form}&x=%zz"), FormFault::BadEscape),
            (&*format!("{form}&x=%FF"), FormFault::BadEscape),
            ("grant_type=", FormFault::Missing("grant_type")),
        ] {
            assert_eq!(TokenRequest::from_form(body).unwrap_err(), fault, "{body}");
        }
        // Unknown parameters are ignored.
        assert!(TokenRequest::from_form(&format!("{form}&extra=1")).is_ok());
    }

    #[test]
    fn wire_shapes() {
        let e = TokenError {
            error: OAuthError::UnauthorizedClient,
            error_description: "no".into(),
            reason: Some(Reason::NotAuthorised),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":"unauthorized_client","error_description":"no","reason":"not-authorised"}"#
        );
        for code in [
            OAuthError::InvalidRequest,
            OAuthError::InvalidGrant,
            OAuthError::UnauthorizedClient,
            OAuthError::UnsupportedGrantType,
            OAuthError::InvalidScope,
            OAuthError::TemporarilyUnavailable,
            OAuthError::ServerError,
        ] {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
        let v = AvatarIdVerdict::invalid(Reason::SignatureInvalid, "bad");
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"valid":false,"reason":"signature-invalid","detail":"bad"}"#
        );
        let v = AvatarIdVerdict::valid("sip:a", "owl", "app", "sha-256 AA");
        let back: AvatarIdVerdict =
            serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
        assert_eq!(metadata_path("q cat"), "/dac/v1/metadata/q%20cat");
    }
}
