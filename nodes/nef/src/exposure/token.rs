//! The exposure access token (issue 13; TS 33.501 §13.4.1 OAuth 2.0 client credentials): an
//! ES256 JWT in the RFC 9068 profile, header `{"alg":"ES256","typ":"at+jwt","x5t#S256":…}`
//! naming the NEF's certificate, claims `iss` (the NEF), `sub` (the AF, by its TLS client
//! certificate), `aud` ([`AUDIENCE`]), `scope` ([`Scope`]), `iat`, `exp`, `jti` and
//! `cnf: {"x5t#S256": …}`: the SHA-256 thumbprint of the AF's client certificate, binding the
//! token to it (RFC 8705 §3.1). Whoever presents the token must present that certificate too.
//!
//! Validation answers as RFC 6750 §3.1 says: `invalid_token` (401) for a token that does not
//! hold for this NEF, now and this client; `insufficient_scope` (403) for a good token without
//! the scope the request needs.

use p256::ecdsa::SigningKey;
use proto::trace::{Note, Reason};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stir::jose::{self, CompactJws};

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const TYP: &str = "at+jwt";

/// The audience of every exposure access token: the NEF's DC exposure API.
pub const AUDIENCE: &str = "nef-dc-exposure";

/// How long a token is valid by default, in seconds.
pub const LIFETIME: i64 = 300;

/// How far in the future `iat` may be (clock skew), in seconds.
pub const SKEW: i64 = 60;

/// What a token lets its AF do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Subscribe to DC events (§6.9.2.1).
    Events,
    /// Control data channels (§6.9.2.2).
    Control,
}

impl Scope {
    /// The scope token (RFC 6749 §3.3): `dc-events` or `dc-control`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Events => "dc-events",
            Scope::Control => "dc-control",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The confirmation claim (RFC 7800 §3.1) binding a token to a certificate (RFC 8705 §3.1).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Cnf {
    /// base64url SHA-256 of the AF's client certificate (DER).
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// The claims of an exposure access token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExposureClaims {
    /// The issuer: the NEF's host.
    pub iss: String,
    /// The AF's host, from its TLS client certificate.
    pub sub: String,
    /// [`AUDIENCE`].
    pub aud: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// A unique id of this token.
    pub jti: String,
    /// The certificate the token is bound to.
    pub cnf: Cnf,
}

impl ExposureClaims {
    /// Whether the scope includes `scope` (space-separated, case-sensitive).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scope.split(' ').any(|s| s == scope.as_str())
    }
}

/// Who issues and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    /// The NEF's host (`iss`).
    pub nef: &'a str,
    /// Token lifetime in seconds.
    pub lifetime: i64,
}

/// The claims of a token for the AF `af` presenting `af_cert_der`, with `scope`, at `now`.
pub fn claims(
    issuer: &Issuer<'_>,
    af: &str,
    af_cert_der: &[u8],
    scope: Scope,
    now: i64,
    jti: &str,
) -> ExposureClaims {
    ExposureClaims {
        iss: issuer.nef.to_owned(),
        sub: af.to_owned(),
        aud: AUDIENCE.to_owned(),
        scope: scope.as_str().to_owned(),
        iat: now,
        exp: now + issuer.lifetime,
        jti: jti.to_owned(),
        cnf: Cnf {
            x5t_s256: avatar::cert::thumbprint(af_cert_der),
        },
    }
}

/// Why a token does not hold (or could not be made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWS of this profile (shape, `alg`, `typ`, claims).
    #[error("malformed access token: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// Its `x5t#S256` header names another certificate than the NEF's.
    #[error("access token not issued by this NEF (x5t#S256 {carried:?})")]
    NotFromNef {
        /// The thumbprint carried.
        carried: Option<String>,
    },
    /// The signature does not verify with the NEF's key.
    #[error("access token signature does not verify")]
    BadSignature,
    /// For another audience.
    #[error("access token for audience {aud:?}, not {AUDIENCE}")]
    WrongAudience {
        /// The audience carried.
        aud: String,
    },
    /// Past its `exp`.
    #[error("access token expired at {exp} (now {now})")]
    Expired {
        /// Its expiry.
        exp: i64,
        /// Now.
        now: i64,
    },
    /// Issued in the future.
    #[error("access token issued at {iat}, in the future (now {now})")]
    NotYetValid {
        /// Its `iat`.
        iat: i64,
        /// Now.
        now: i64,
    },
    /// Presented without a client certificate (RFC 8705 §3).
    #[error("certificate-bound access token presented without a client certificate")]
    NoClientCertificate,
    /// Bound to another certificate than the one presented (RFC 8705 §3).
    #[error("access token bound to certificate {bound}, presented {presented}")]
    OtherCertificate {
        /// The thumbprint in `cnf`.
        bound: String,
        /// The thumbprint of the certificate presented.
        presented: String,
    },
    /// A good token without the scope needed.
    #[error("access token scope {granted:?} lacks {needed}")]
    InsufficientScope {
        /// The scopes granted.
        granted: String,
        /// The scope needed.
        needed: Scope,
    },
    /// The NEF could not sign a token, or its certificate is unusable.
    #[error("cannot sign or check access tokens: {detail}")]
    Nef {
        /// What went wrong.
        detail: String,
    },
}

impl TokenError {
    /// The typed reason (as `avatar::Error` maps the same faults; a missing scope is the
    /// NEF's [`Reason::Policy`], as for its other token endpoint).
    pub fn reason(&self) -> Reason {
        match self {
            TokenError::Malformed { .. } | TokenError::Nef { .. } => Reason::Malformed,
            TokenError::NotFromNef { .. } | TokenError::OtherCertificate { .. } => {
                Reason::ClaimMismatch
            }
            TokenError::BadSignature => Reason::SignatureInvalid,
            TokenError::WrongAudience { .. } => Reason::NotAuthorised,
            TokenError::Expired { .. } => Reason::Expired,
            TokenError::NotYetValid { .. } => Reason::Stale,
            TokenError::NoClientCertificate => Reason::MissingIdentity,
            TokenError::InsufficientScope { .. } => Reason::Policy,
        }
    }

    /// The RFC 6750 §3.1 error code: `insufficient_scope`, else `invalid_token`; none for the
    /// NEF's own failure.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            TokenError::InsufficientScope { .. } => Some("insufficient_scope"),
            TokenError::Nef { .. } => None,
            _ => Some("invalid_token"),
        }
    }

    /// The status: 403 for `insufficient_scope`, 500 for the NEF's own failure, else 401.
    pub fn status(&self) -> u16 {
        match self {
            TokenError::InsufficientScope { .. } => 403,
            TokenError::Nef { .. } => 500,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), for a token that does not hold.
    pub fn challenge(&self) -> Option<String> {
        let code = self.code()?;
        let scope = match self {
            TokenError::InsufficientScope { needed, .. } => format!(", scope=\"{needed}\""),
            _ => String::new(),
        };
        Some(format!("Bearer error=\"{code}\"{scope}"))
    }
}

/// Signs `claims` with the NEF's key; the header names the NEF certificate `nef_cert_der`.
/// Canonical JSON and deterministic ES256 (RFC 6979): the same claims give the same token.
pub fn issue(
    claims: &ExposureClaims,
    key: &SigningKey,
    nef_cert_der: &[u8],
) -> Result<String, TokenError> {
    let nef = |e: stir::Error| TokenError::Nef {
        detail: e.to_string(),
    };
    let header = json!({
        "alg": "ES256",
        "typ": TYP,
        "x5t#S256": avatar::cert::thumbprint(nef_cert_der),
    });
    let header = jose::canonical_json(&header).map_err(nef)?;
    let payload = jose::canonical_json(claims).map_err(nef)?;
    Ok(jose::sign_es256(key, &header, &payload))
}

/// Validates `token` as the NEF does for a request that needs `needed`, made at `now` by the
/// client that presented `client_cert_der`, in this order: the JWS and its header
/// ([`TokenError::Malformed`]), issued by this NEF ([`TokenError::NotFromNef`],
/// [`TokenError::BadSignature`]), the audience, the validity window, the certificate binding
/// ([`TokenError::NoClientCertificate`], [`TokenError::OtherCertificate`]) and last the scope
/// ([`TokenError::InsufficientScope`]).
pub fn validate(
    token: &str,
    nef_cert_der: &[u8],
    client_cert_der: Option<&[u8]>,
    needed: Scope,
    now: i64,
) -> Result<ExposureClaims, TokenError> {
    let claims = verified(token, nef_cert_der)?;
    if claims.aud != AUDIENCE {
        return Err(TokenError::WrongAudience { aud: claims.aud });
    }
    if claims.exp < now {
        return Err(TokenError::Expired {
            exp: claims.exp,
            now,
        });
    }
    if claims.iat > now + SKEW {
        return Err(TokenError::NotYetValid {
            iat: claims.iat,
            now,
        });
    }
    let presented = client_cert_der
        .map(avatar::cert::thumbprint)
        .ok_or(TokenError::NoClientCertificate)?;
    if presented != claims.cnf.x5t_s256 {
        return Err(TokenError::OtherCertificate {
            bound: claims.cnf.x5t_s256,
            presented,
        });
    }
    if !claims.allows(needed) {
        return Err(TokenError::InsufficientScope {
            granted: claims.scope,
            needed,
        });
    }
    Ok(claims)
}

/// The claims of a JWS of this profile that names and is signed by the NEF certificate.
fn verified(token: &str, nef_cert_der: &[u8]) -> Result<ExposureClaims, TokenError> {
    let malformed = |detail: String| TokenError::Malformed { detail };
    let decoded = avatar::access_token::decode(token).map_err(|e| malformed(e.to_string()))?;
    let header = |name: &str| decoded.header.get(name).and_then(Value::as_str);
    if header("alg") != Some("ES256") || header("typ") != Some(TYP) {
        return Err(malformed(format!(
            "header alg {:?} typ {:?}, expected ES256 {TYP}",
            header("alg"),
            header("typ")
        )));
    }
    let carried = header("x5t#S256");
    if carried != Some(avatar::cert::thumbprint(nef_cert_der).as_str()) {
        return Err(TokenError::NotFromNef {
            carried: carried.map(str::to_owned),
        });
    }
    let claims: ExposureClaims =
        serde_json::from_value(decoded.claims).map_err(|e| malformed(e.to_string()))?;
    let key = avatar::cert::verifying_key(nef_cert_der).map_err(|e| TokenError::Nef {
        detail: e.to_string(),
    })?;
    let split = CompactJws::split(token).map_err(|e| malformed(e.to_string()))?;
    jose::verify_es256(&key, &split).map_err(|_| TokenError::BadSignature)?;
    Ok(claims)
}

/// A `Note::Token` with the token's header and claims, if it decodes.
pub fn note(label: &str, token: &str) -> Option<Note> {
    avatar::access_token::note(label, token)
}

#[cfg(test)]
mod tests;
