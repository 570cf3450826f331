//! The access token of solution #7 (TR 33.790 §6.7.2.1 step 7): once the signed Avatar-id and
//! the UE token hold, the NEF grants the XR AS an OAuth 2.0 access token "based on UE IMS Id,
//! Avatar-Id, application id and policy"; it "includes application id, DAC instance id,
//! Avatar-id and operations on the avatar metadata". The DAC validates it (step 9).
//!
//! Encoding (the testbed's choice): a JWT access token in the RFC 9068 profile, header
//! `{"alg":"ES256","typ":"at+jwt","x5t#S256":…}` signed with the NEF's TLS key (the DAC is
//! configured with the NEF's certificate), claims `iss` (the NEF), `sub` (the XR AS, by its TLS
//! client certificate), `aud` (the DAC: the "DAC instance id"), `scope` (RFC 6749 §3.3, here
//! [`SCOPE_READ`]), `avatar_id`, `app_id`, `impu` (the UE), `iat`, `exp` and `jti`.

use p256::ecdsa::SigningKey;
use proto::trace::Note;
use serde::{Deserialize, Serialize};

use crate::token::Decoded;
use crate::ue_token::window;
use crate::{Error, jws, x5t};

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const TYP: &str = "at+jwt";

/// The operation on the avatar metadata the XR AS is granted: read it (step 8).
pub const SCOPE_READ: &str = "avatar-metadata:read";

/// How long an access token is valid by default, in seconds.
pub const LIFETIME: i64 = 300;

/// The claims of an access token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccessClaims {
    /// The issuer: the NEF's host.
    pub iss: String,
    /// The client: the XR AS's host, from its TLS client certificate.
    pub sub: String,
    /// The audience: the DAC's host (the "DAC instance id").
    pub aud: String,
    /// Space-separated scopes (RFC 6749 §3.3).
    pub scope: String,
    /// The Avatar ID the token is for.
    pub avatar_id: String,
    /// The application id.
    pub app_id: String,
    /// The UE's IMPU.
    pub impu: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// A unique id of this token.
    pub jti: String,
}

impl AccessClaims {
    /// Whether the scope includes `operation` (scopes are space-separated, case-sensitive).
    pub fn allows(&self, operation: &str) -> bool {
        self.scope.split(' ').any(|s| s == operation)
    }
}

/// Signs `claims` with the NEF's key; the header names the NEF certificate `cert_der`.
pub fn issue(claims: &AccessClaims, key: &SigningKey, cert_der: &[u8]) -> Result<String, Error> {
    x5t::sign(TYP, claims, key, cert_der)
}

/// Decodes an access token without verifying it (for trace notes).
pub fn decode(token: &str) -> Result<Decoded, Error> {
    jws::decode(token)
}

/// Validates an access token as the DAC `expected_aud` does for a request of the metadata of
/// `avatar_id_requested` at `now`, in this order: shape, `alg`, `typ` [`TYP`] and the claims
/// (Malformed), `x5t#S256` names the NEF certificate ([`Error::Thumbprint`]), the signature
/// with its key ([`Error::BadSignature`]); `aud` ([`Error::WrongAudience`]); `exp`
/// ([`Error::Expired`]) and `iat` ([`Error::NotYetValid`]); the scope includes [`SCOPE_READ`]
/// ([`Error::ScopeMissing`]); `avatar_id` is the one requested ([`Error::OtherAvatar`]).
pub fn validate(
    token: &str,
    nef_cert_der: &[u8],
    expected_aud: &str,
    avatar_id_requested: &str,
    now: i64,
) -> Result<AccessClaims, Error> {
    let claims: AccessClaims = x5t::verify(token, TYP, nef_cert_der)?;
    if claims.aud != expected_aud {
        return Err(Error::WrongAudience {
            aud: claims.aud,
            expected: expected_aud.to_owned(),
        });
    }
    window(claims.iat, claims.exp, now)?;
    if !claims.allows(SCOPE_READ) {
        return Err(Error::ScopeMissing {
            granted: claims.scope,
            required: SCOPE_READ,
        });
    }
    if claims.avatar_id != avatar_id_requested {
        return Err(Error::OtherAvatar {
            granted: claims.avatar_id,
            requested: avatar_id_requested.to_owned(),
        });
    }
    Ok(claims)
}

/// A `Note::Token` with the token's header and claims, if it decodes.
pub fn note(label: &str, token: &str) -> Option<Note> {
    jws::note(label, token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cert;
    use crate::testing::read;
    use proto::trace::Reason;

    const NEF: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
    const DAC: &str = "dac.avatars.example";
    const NOW: i64 = 1_772_442_000;

    fn tls(host: &str) -> (SigningKey, Vec<u8>) {
        let key = crate::keys::signing_key_pem(&read(&format!("pki/tls/{host}.key.pem"))).unwrap();
        let der = cert::der_from_pem(&read(&format!("pki/tls/{host}.pem"))).unwrap();
        (key, der)
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: NEF.into(),
            sub: "xr-as.ims.mnc001.mcc001.3gppnetwork.org".into(),
            aud: DAC.into(),
            scope: SCOPE_READ.into(),
            avatar_id: "qbranch-agent".into(),
            app_id: "avatar-call".into(),
            impu: "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org".into(),
            iat: NOW,
            exp: NOW + LIFETIME,
            jti: "at-1".into(),
        }
    }

    fn issued(c: &AccessClaims) -> String {
        let (key, der) = tls(NEF);
        issue(c, &key, &der).unwrap()
    }

    fn reason(token: &str, aud: &str, avatar: &str, now: i64) -> Reason {
        validate(token, &tls(NEF).1, aud, avatar, now)
            .unwrap_err()
            .reason()
    }

    #[test]
    fn an_issued_token_validates_at_the_dac() {
        let token = issued(&claims());
        let got = validate(&token, &tls(NEF).1, DAC, "qbranch-agent", NOW + 1).unwrap();
        assert_eq!(got, claims());
        let d = decode(&token).unwrap();
        assert_eq!(d.header["typ"], "at+jwt");
        assert_eq!(d.header["x5t#S256"], cert::thumbprint(&tls(NEF).1));
    }

    /// The pure checks as a table: each failure and its reason.
    #[test]
    fn each_failure_has_its_reason() {
        let token = issued(&claims());
        let cases = [
            (DAC, "qbranch-agent", NOW + LIFETIME + 1, Reason::Expired),
            (DAC, "qbranch-agent", NOW - 61, Reason::Stale),
            (
                "bar.avatars.example",
                "qbranch-agent",
                NOW,
                Reason::NotAuthorised,
            ),
            (DAC, "owl", NOW, Reason::NotAuthorised),
        ];
        for (aud, avatar, now, want) in cases {
            assert_eq!(
                reason(&token, aud, avatar, now),
                want,
                "{aud} {avatar} {now}"
            );
        }
        let e = validate(&token, &tls(NEF).1, DAC, "owl", NOW).unwrap_err();
        assert!(matches!(e, Error::OtherAvatar { .. }), "{e}");
        let write_only = AccessClaims {
            scope: "avatar-metadata:write other".into(),
            ..claims()
        };
        let e = validate(&issued(&write_only), &tls(NEF).1, DAC, "qbranch-agent", NOW).unwrap_err();
        assert!(matches!(e, Error::ScopeMissing { .. }), "{e}");
        // Signed by the DAC's key, naming the NEF's certificate.
        let (dac_key, _) = tls(DAC);
        let forged = issue(&claims(), &dac_key, &tls(NEF).1).unwrap();
        assert_eq!(
            reason(&forged, DAC, "qbranch-agent", NOW),
            Reason::SignatureInvalid
        );
        // Naming the DAC's own certificate: not the NEF's.
        let (_, dac_der) = tls(DAC);
        let other = issue(&claims(), &dac_key, &dac_der).unwrap();
        let e = validate(&other, &tls(NEF).1, DAC, "qbranch-agent", NOW).unwrap_err();
        assert!(matches!(e, Error::Thumbprint { .. }), "{e}");
        assert_eq!(
            reason("x.y.z", DAC, "qbranch-agent", NOW),
            Reason::Malformed
        );
    }

    #[test]
    fn scope_is_space_separated_and_exact() {
        for (scope, ok) in [
            (SCOPE_READ, true),
            ("openid avatar-metadata:read", true),
            ("avatar-metadata:readwrite", false),
            ("", false),
        ] {
            let c = AccessClaims {
                scope: scope.into(),
                ..claims()
            };
            assert_eq!(c.allows(SCOPE_READ), ok, "{scope:?}");
        }
    }
}
