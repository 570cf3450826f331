//! The avatar token of solution #5 (TR 33.790 §6.5.2): in step 0a the UE chooses an Avatar ID and
//! signs a token over it with its UE key (a compact JWS, ES256); the MF keeps it for the session
//! and presents it to the BAR when it downloads the base avatar model (step 5); the BAR verifies
//! it against the avatar owner's UE certificate and the request (step 6).
//!
//! The TR leaves the token's contents open ("details of token handling is FFS", and whether it
//! should carry session information). The testbed's choice: header `{"alg":"ES256",
//! "typ":"avatar+jwt"}`, claims `avatar_id`, `sub` (the owner's IMPU), `call_id` (the session the
//! token is bound to), `iat`, `exp` (`iat` + [`LIFETIME`]) and `jti`.

use p256::ecdsa::{SigningKey, VerifyingKey};
use proto::trace::Note;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, jws};

/// The JOSE `typ` of an avatar token.
pub const TYP: &str = "avatar+jwt";

/// How long a token is valid after it is issued, in seconds (`exp` = `iat` + this).
pub const LIFETIME: i64 = 300;

/// The claims of an avatar token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// The Avatar ID the UE will appear as.
    pub avatar_id: String,
    /// The UE's public identity (IMPU): the avatar's owner.
    pub sub: String,
    /// The Call-ID of the session the token is for.
    pub call_id: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// A unique id of this token.
    pub jti: String,
}

impl Claims {
    /// The claims of a token issued at `iat`, valid for [`LIFETIME`] seconds.
    pub fn new(avatar_id: &str, sub: &str, call_id: &str, iat: i64, jti: &str) -> Self {
        Self {
            avatar_id: avatar_id.to_owned(),
            sub: sub.to_owned(),
            call_id: call_id.to_owned(),
            iat,
            exp: iat + LIFETIME,
            jti: jti.to_owned(),
        }
    }
}

/// A token's JOSE header and claims as carried, decoded without verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JOSE header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
}

/// Signs `claims` with the UE's key: a compact JWS with header `{"alg":"ES256","typ":TYP}` over
/// the canonical JSON of the claims. Deterministic (RFC 6979).
pub fn sign(claims: &Claims, key: &SigningKey) -> String {
    jws::sign(TYP, claims, key)
}

/// Decodes a token without verifying it (for trace notes).
pub fn decode(token: &str) -> Result<Decoded, Error> {
    jws::decode(token)
}

/// What the BAR expects of a token (solution #5 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The Avatar ID requested.
    pub avatar_id: &'a str,
    /// The session the request names (the call's Call-ID).
    pub session: &'a str,
    /// The avatar owner's IMPU.
    pub owner_impu: &'a str,
    /// The verifier's time (seconds since the epoch).
    pub now: i64,
}

/// Verifies a token for `expected` with the avatar owner's key, in this order: it decodes with
/// `alg` ES256, `typ` [`TYP`] and every claim (Malformed); the signature holds
/// ([`Error::BadSignature`]); `sub` is the owner ([`Error::NotOwner`]); `avatar_id` is the one
/// requested ([`Error::AvatarMismatch`]); `call_id` is the session ([`Error::SessionMismatch`]);
/// `exp` has not passed ([`Error::Expired`]).
pub fn verify(
    token: &str,
    owner_key: &VerifyingKey,
    expected: &Expected<'_>,
) -> Result<Claims, Error> {
    let claims: Claims = jws::verified_claims(token, TYP, owner_key)?;
    if claims.sub != expected.owner_impu {
        return Err(Error::NotOwner {
            sub: claims.sub,
            owner: expected.owner_impu.to_owned(),
        });
    }
    if claims.avatar_id != expected.avatar_id {
        return Err(Error::AvatarMismatch {
            claimed: claims.avatar_id,
            requested: expected.avatar_id.to_owned(),
        });
    }
    if claims.call_id != expected.session {
        return Err(Error::SessionMismatch {
            claimed: claims.call_id,
            session: expected.session.to_owned(),
        });
    }
    if claims.exp < expected.now {
        return Err(Error::Expired {
            exp: claims.exp,
            now: expected.now,
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
    use crate::testing::fixture_key;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
    const NOW: i64 = 1_772_442_000;

    fn claims() -> Claims {
        Claims::new("qbranch-agent", UE_A, CALL, NOW, "jti-1")
    }

    fn expected() -> Expected<'static> {
        Expected {
            avatar_id: "qbranch-agent",
            session: CALL,
            owner_impu: UE_A,
            now: NOW + 10,
        }
    }

    fn reason_of(token: &str, key: &VerifyingKey, e: &Expected<'_>) -> proto::trace::Reason {
        verify(token, key, e).unwrap_err().reason()
    }

    #[test]
    fn signed_token_verifies_and_is_deterministic() {
        let key = fixture_key("ue-a");
        let token = sign(&claims(), &key);
        assert_eq!(token, sign(&claims(), &key));
        assert_eq!(
            verify(&token, key.verifying_key(), &expected()).unwrap(),
            claims()
        );
        let d = decode(&token).unwrap();
        assert_eq!(d.header, serde_json::json!({"alg": "ES256", "typ": TYP}));
        assert_eq!(d.claims["avatar_id"], "qbranch-agent");
        // The header is canonical JSON.
        let header = token.split('.').next().unwrap();
        assert_eq!(
            stir::jose::b64u_decode(header, stir::Part::Header).unwrap(),
            br#"{"alg":"ES256","typ":"avatar+jwt"}"#
        );
    }

    #[test]
    fn verification_fails_with_each_reason_in_order() {
        use proto::trace::Reason;
        let key = fixture_key("ue-a");
        let vk = *key.verifying_key();
        let token = sign(&claims(), &key);
        assert_eq!(reason_of("a.b", &vk, &expected()), Reason::Malformed);
        assert_eq!(reason_of("e30.e30.", &vk, &expected()), Reason::Malformed);
        // Signed by another UE's key.
        let forged = sign(&claims(), &fixture_key("ue-m"));
        assert_eq!(
            reason_of(&forged, &vk, &expected()),
            Reason::SignatureInvalid
        );
        // Another subject, signed by the owner's key: not the owner's to present.
        let other = Claims {
            sub: "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org".into(),
            ..claims()
        };
        assert_eq!(
            reason_of(&sign(&other, &key), &vk, &expected()),
            Reason::NotEntitled
        );
        let cat = Expected {
            avatar_id: "qbranch-cat",
            ..expected()
        };
        assert_eq!(reason_of(&token, &vk, &cat), Reason::ClaimMismatch);
        let replay = Expected {
            session: "call-2@ue-a.ims.mnc001.mcc001.3gppnetwork.org",
            ..expected()
        };
        assert_eq!(reason_of(&token, &vk, &replay), Reason::Replayed);
        let late = Expected {
            now: NOW + LIFETIME + 1,
            ..expected()
        };
        assert_eq!(reason_of(&token, &vk, &late), Reason::Expired);
        // A mismatch found before a later check is the one reported.
        let both = Expected {
            avatar_id: "qbranch-cat",
            now: NOW + LIFETIME + 1,
            ..expected()
        };
        assert_eq!(reason_of(&token, &vk, &both), Reason::ClaimMismatch);
    }

    #[test]
    fn wrong_typ_alg_or_missing_claims_are_malformed() {
        let key = fixture_key("ue-a");
        let vk = *key.verifying_key();
        let wrong_typ = jws::sign("avatar-attestation+jwt", &claims(), &key);
        let e = verify(&wrong_typ, &vk, &expected()).unwrap_err();
        assert!(matches!(e, Error::Header { .. }), "{e}");
        let missing = jws::sign(
            TYP,
            &serde_json::json!({"avatar_id": "qbranch-agent"}),
            &key,
        );
        let e = verify(&missing, &vk, &expected()).unwrap_err();
        assert!(matches!(e, Error::Claims { .. }), "{e}");
        assert_eq!(e.reason(), proto::trace::Reason::Malformed);
    }

    #[test]
    fn a_tampered_payload_breaks_the_signature() {
        let key = fixture_key("ue-a");
        let token = sign(&claims(), &key);
        let mut parts: Vec<&str> = token.split('.').collect();
        let cat = Claims {
            avatar_id: "qbranch-cat".into(),
            ..claims()
        };
        let payload = stir::jose::b64u(&jws::canonical(&cat).unwrap());
        parts[1] = &payload;
        let e = verify(&parts.join("."), key.verifying_key(), &expected()).unwrap_err();
        assert_eq!(e, Error::BadSignature);
    }

    #[test]
    fn note_carries_header_and_claims() {
        let token = sign(&claims(), &fixture_key("ue-a"));
        match note("avatar token signed", &token).unwrap() {
            Note::Token {
                label,
                header,
                claims,
            } => {
                assert_eq!(label, "avatar token signed");
                assert_eq!(header["typ"], TYP);
                assert_eq!(claims["call_id"], CALL);
            }
            other => panic!("{other:?}"),
        }
        assert!(note("x", "not a token").is_none());
    }
}
