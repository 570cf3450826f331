//! The 3P ID token of option B (§6.4.2.1): an ES256 JWT (RFC 7519) the server signs with its
//! TLS key ([`Authority::mint`]) and, when the NEF forwards it, checks ([`Authority::validate_token`]).
//! The TR leaves the token's content out of scope; the claims are RFC 7519's plus `3pid`.

use proto::trace::Note;
use proto::wire::authz::TokenResponse;
use serde::{Deserialize, Serialize};
use stir::jose::{self, CompactJws, Part};

use super::{Authority, Denial, Ledger};
use crate::authz::{AUDIENCE, DAY, HOST, ISSUER, REALM, REQUEST_SKEW, TOKEN_LIFETIME};

/// The claims of a 3P ID token (RFC 7519 registered claims plus `3pid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// The IMPU the token was issued to.
    pub sub: String,
    /// Audience: [`AUDIENCE`], the serving operator.
    pub aud: String,
    /// The 3P ID it authorises.
    #[serde(rename = "3pid")]
    pub id3p: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Token id, for revocation one by one.
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JwtHeader {
    alg: String,
    typ: String,
    kid: String,
}

impl Authority {
    /// Signs a token for `impu` and `id3p` without any check (what [`Authority::issue`] ends
    /// with; scenarios also use it for a token a UE obtained before it left the enterprise).
    pub fn mint(
        &self,
        impu: &str,
        id3p: &str,
        now: i64,
        jti: &str,
    ) -> Result<(TokenResponse, TokenClaims), Denial> {
        let (iat, exp) = if self.stale_tokens {
            (now - 2 * DAY, now - DAY)
        } else {
            (now, now + TOKEN_LIFETIME)
        };
        let claims = TokenClaims {
            iss: ISSUER.to_owned(),
            sub: impu.to_owned(),
            aud: AUDIENCE.to_owned(),
            id3p: id3p.to_owned(),
            iat,
            exp,
            jti: jti.to_owned(),
        };
        let header = JwtHeader {
            alg: "ES256".into(),
            typ: "JWT".into(),
            kid: HOST.into(),
        };
        let encode = |e: stir::Error| Denial::MalformedToken {
            detail: e.to_string(),
        };
        let header = jose::canonical_json(&header).map_err(encode)?;
        let payload = jose::canonical_json(&claims).map_err(encode)?;
        let token = jose::sign_es256(&self.key, &header, &payload);
        Ok((
            TokenResponse {
                access_token: token,
                token_type: "Bearer".into(),
                expires_in: exp - iat,
                id3p: id3p.to_owned(),
                realm: REALM.to_owned(),
            },
            claims,
        ))
    }

    /// Step 3, option B with a token: signature with this server's key, `iss`, `aud`, `exp`
    /// and `iat` against `now`, not revoked (by `jti`, or because its subject left), issued to
    /// the caller `impu`, for the requested `id3p`, which the employee may still present.
    pub fn validate_token(
        &self,
        ledger: &Ledger,
        token: &str,
        impu: &str,
        id3p: &str,
        now: i64,
    ) -> Result<TokenClaims, Denial> {
        let claims = self.verified_claims(token)?;
        check_times(&claims, now)?;
        if ledger.revoked_jtis.contains(&claims.jti) {
            return Err(Denial::TokenRevoked { jti: claims.jti });
        }
        match self.directory.employees.get(&claims.sub) {
            Some(e) if self.revoked(ledger, e) => {
                return Err(Denial::SubjectRevoked { sub: claims.sub });
            }
            Some(_) => {}
            None => return Err(Denial::NotAnEmployee { impu: claims.sub }),
        }
        if claims.sub != impu {
            return Err(Denial::WrongSubject {
                sub: claims.sub,
                impu: impu.to_owned(),
            });
        }
        if claims.id3p != id3p {
            return Err(Denial::Wrong3pid {
                token: claims.id3p,
                requested: id3p.to_owned(),
            });
        }
        self.entitled(ledger, impu, id3p)?;
        Ok(claims)
    }

    /// The claims of a token this server signed (ES256, its key), issued by it for its audience.
    fn verified_claims(&self, token: &str) -> Result<TokenClaims, Denial> {
        let malformed = |detail: String| Denial::MalformedToken { detail };
        let jws = CompactJws::split(token).map_err(|e| malformed(e.to_string()))?;
        let header_bytes =
            jose::b64u_decode(jws.header, Part::Header).map_err(|e| malformed(e.to_string()))?;
        let header: JwtHeader = serde_json::from_slice(&header_bytes)
            .map_err(|e| malformed(format!("JOSE header: {e}")))?;
        if header.alg != "ES256" {
            return Err(malformed(format!("alg {:?}, expected ES256", header.alg)));
        }
        jose::verify_es256(&self.verifying, &jws).map_err(|_| Denial::BadTokenSignature)?;
        let payload =
            jose::b64u_decode(jws.payload, Part::Payload).map_err(|e| malformed(e.to_string()))?;
        let claims: TokenClaims =
            serde_json::from_slice(&payload).map_err(|e| malformed(format!("claims: {e}")))?;
        if claims.iss != ISSUER {
            return Err(Denial::WrongIssuer { iss: claims.iss });
        }
        if claims.aud != AUDIENCE {
            return Err(Denial::WrongAudience { aud: claims.aud });
        }
        Ok(claims)
    }
}

/// `exp` passed, or `iat` further in the future than the allowed skew.
fn check_times(claims: &TokenClaims, now: i64) -> Result<(), Denial> {
    if now >= claims.exp {
        return Err(Denial::TokenExpired {
            exp: claims.exp,
            now,
        });
    }
    if claims.iat > now + REQUEST_SKEW {
        return Err(Denial::TokenNotYetValid {
            iat: claims.iat,
            now,
        });
    }
    Ok(())
}

/// The token as carried (JOSE header and claims), for the trace; nothing is trusted from it.
pub(super) fn token_note(token: &str) -> Option<Note> {
    let jws = CompactJws::split(token).ok()?;
    let part = |text: &str, p: Part| -> Option<serde_json::Value> {
        serde_json::from_slice(&jose::b64u_decode(text, p).ok()?).ok()
    };
    Some(Note::Token {
        label: "3P ID token".into(),
        header: part(jws.header, Part::Header)?,
        claims: part(jws.payload, Part::Payload)?,
    })
}
