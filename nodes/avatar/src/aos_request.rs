//! The UE's proof for fetching the other party's avatar object from its AOS (solution #8, TR
//! 33.790 §6.8.2 step 21: "the OAS allows access to caller or callee avatar objects based on UEs
//! providing their IMS identities and Avatar IDs").
//!
//! The TR leaves open how a UE provides its IMS identity to the AOS (UEs hold no TLS client
//! certificates). The testbed's choice: a compact JWS the UE signs with its UE key, carried as
//! `Authorization: Bearer <JWS>` on `GET /aos/v1/objects/{avatar_id}?call={call_id}`; header
//! `{"alg":"ES256","typ":"aos-request+jwt"}`, claims `sub` (the UE's IMPU), `avatar_id` (the
//! object it fetches), `call_id` (the call whose tuple authorises the fetch) and `iat`. The AOS
//! finds the UE certificate naming `sub`, verifies the signature with it, requires the claims to
//! match the request and `iat` to lie within [`MAX_AGE`] seconds of its clock.

use p256::ecdsa::{SigningKey, VerifyingKey};
use proto::trace::{Note, Reason};
use serde::{Deserialize, Serialize};

use crate::jws;

/// The JOSE `typ` of an AOS fetch request.
pub const TYP: &str = "aos-request+jwt";

/// How far `iat` may lie from the AOS's clock, either way, in seconds.
pub const MAX_AGE: i64 = 300;

/// The claims of an AOS fetch request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// The fetching UE's public identity (IMPU): the peer of the call's tuple.
    pub sub: String,
    /// The Avatar ID of the object fetched.
    pub avatar_id: String,
    /// The call's Call-ID.
    pub call_id: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
}

impl Claims {
    /// The claims of a request by `sub` for `avatar_id` in call `call_id`, issued at `iat`.
    pub fn new(sub: &str, avatar_id: &str, call_id: &str, iat: i64) -> Self {
        Self {
            sub: sub.to_owned(),
            avatar_id: avatar_id.to_owned(),
            call_id: call_id.to_owned(),
            iat,
        }
    }
}

/// Why a fetch request does not hold, each with its [`Reason`] ([`Error::reason`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// It does not decode, is not ES256 with `typ` [`TYP`], lacks a claim (Malformed), or its
    /// signature does not verify with the UE's key (SignatureInvalid).
    #[error("{0}")]
    Jws(#[from] crate::Error),
    /// It is for another avatar than the one requested (ClaimMismatch).
    #[error("request proof is for avatar {claimed:?}, the request is for {requested:?}")]
    AvatarMismatch {
        /// The `avatar_id` claim.
        claimed: String,
        /// The Avatar ID of the path.
        requested: String,
    },
    /// It is for another call than the one requested (ClaimMismatch).
    #[error("request proof is for call {claimed:?}, the request is for {requested:?}")]
    CallMismatch {
        /// The `call_id` claim.
        claimed: String,
        /// The call of the query.
        requested: String,
    },
    /// `iat` lies more than [`MAX_AGE`] seconds from the verifier's clock (Expired).
    #[error("request proof issued at {iat}, more than {MAX_AGE} s from now ({now})")]
    Stale {
        /// The `iat` claim.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
}

impl Error {
    /// The typed reason a refusal for this error carries.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Jws(e) => e.reason(),
            Error::AvatarMismatch { .. } | Error::CallMismatch { .. } => Reason::ClaimMismatch,
            Error::Stale { .. } => Reason::Expired,
        }
    }
}

/// What the AOS expects of a request proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The Avatar ID of the path.
    pub avatar_id: &'a str,
    /// The call of the query (`call=`).
    pub call_id: &'a str,
    /// The verifier's time (seconds since the epoch).
    pub now: i64,
}

/// Signs `claims` with the UE's key: a compact JWS with header `{"alg":"ES256","typ":TYP}` over
/// the canonical JSON of the claims. Deterministic (RFC 6979).
pub fn sign(claims: &Claims, key: &SigningKey) -> String {
    jws::sign(TYP, claims, key)
}

/// The claims read WITHOUT verifying the signature: for the AOS to find the UE certificate
/// naming `sub` before it verifies the proof with [`verify`]. Malformed errors as [`verify`]
/// gives them.
pub fn unverified_claims(proof: &str) -> Result<Claims, Error> {
    Ok(jws::unverified_claims(proof, TYP)?)
}

/// Verifies a request proof with the key of the UE certificate naming its `sub`, in this order:
/// it decodes with `alg` ES256, `typ` [`TYP`] and every claim (Malformed); the signature holds
/// (SignatureInvalid); `avatar_id` ([`Error::AvatarMismatch`]) and `call_id`
/// ([`Error::CallMismatch`]) are the request's; `iat` is within [`MAX_AGE`] of `now`
/// ([`Error::Stale`]).
pub fn verify(
    proof: &str,
    ue_key: &VerifyingKey,
    expected: &Expected<'_>,
) -> Result<Claims, Error> {
    let claims: Claims = jws::verified_claims(proof, TYP, ue_key)?;
    if claims.avatar_id != expected.avatar_id {
        return Err(Error::AvatarMismatch {
            claimed: claims.avatar_id,
            requested: expected.avatar_id.to_owned(),
        });
    }
    if claims.call_id != expected.call_id {
        return Err(Error::CallMismatch {
            claimed: claims.call_id,
            requested: expected.call_id.to_owned(),
        });
    }
    if (claims.iat - expected.now).abs() > MAX_AGE {
        return Err(Error::Stale {
            iat: claims.iat,
            now: expected.now,
        });
    }
    Ok(claims)
}

/// A `Note::Token` with the proof's header and claims, if it decodes.
pub fn note(label: &str, proof: &str) -> Option<Note> {
    jws::note(label, proof)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::fixture_key;

    const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
    const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
    const NOW: i64 = 1_772_442_000;

    fn claims() -> Claims {
        Claims::new(UE_B, "qbranch-agent", CALL, NOW)
    }

    fn expected() -> Expected<'static> {
        Expected {
            avatar_id: "qbranch-agent",
            call_id: CALL,
            now: NOW + 10,
        }
    }

    #[test]
    fn a_signed_proof_verifies_and_is_deterministic() {
        let key = fixture_key("ue-b");
        let proof = sign(&claims(), &key);
        assert_eq!(proof, sign(&claims(), &key));
        assert_eq!(
            verify(&proof, key.verifying_key(), &expected()).unwrap(),
            claims()
        );
        assert_eq!(unverified_claims(&proof).unwrap(), claims());
        let header = proof.split('.').next().unwrap();
        assert_eq!(
            stir::jose::b64u_decode(header, stir::Part::Header).unwrap(),
            br#"{"alg":"ES256","typ":"aos-request+jwt"}"#
        );
        // Within MAX_AGE either way.
        for now in [NOW - MAX_AGE, NOW + MAX_AGE] {
            let e = Expected { now, ..expected() };
            assert!(verify(&proof, key.verifying_key(), &e).is_ok(), "{now}");
        }
    }

    /// Every refusal, with its reason, in the order the checks run.
    #[test]
    fn each_refusal_has_its_reason() {
        let key = fixture_key("ue-b");
        let vk = *key.verifying_key();
        let proof = sign(&claims(), &key);
        let other = |c: Claims| sign(&c, &key);
        let cases: [(&str, String, Expected<'_>, Reason); 9] = [
            ("malformed", "a.b".into(), expected(), Reason::Malformed),
            ("not JSON", "e30.e30.".into(), expected(), Reason::Malformed),
            (
                "another typ",
                jws::sign(crate::token::TYP, &claims(), &key),
                expected(),
                Reason::Malformed,
            ),
            (
                "a claim missing",
                jws::sign(TYP, &serde_json::json!({"sub": UE_B}), &key),
                expected(),
                Reason::Malformed,
            ),
            (
                "another UE's key",
                sign(&claims(), &fixture_key("ue-m")),
                expected(),
                Reason::SignatureInvalid,
            ),
            (
                "another avatar",
                other(Claims::new(UE_B, "qbranch-cat", CALL, NOW)),
                expected(),
                Reason::ClaimMismatch,
            ),
            (
                "another call",
                other(Claims::new(UE_B, "qbranch-agent", "call-0@x", NOW)),
                expected(),
                Reason::ClaimMismatch,
            ),
            (
                "stale iat",
                proof.clone(),
                Expected {
                    now: NOW + MAX_AGE + 1,
                    ..expected()
                },
                Reason::Expired,
            ),
            (
                "iat in the future",
                proof.clone(),
                Expected {
                    now: NOW - MAX_AGE - 1,
                    ..expected()
                },
                Reason::Expired,
            ),
        ];
        for (what, proof, expected, reason) in cases {
            let e = verify(&proof, &vk, &expected).unwrap_err();
            assert_eq!(e.reason(), reason, "{what}: {e}");
        }
    }

    #[test]
    fn mismatches_are_typed() {
        let key = fixture_key("ue-b");
        let proof = sign(&Claims::new(UE_B, "owl", "call-0@x", NOW), &key);
        let e = verify(&proof, key.verifying_key(), &expected()).unwrap_err();
        assert!(matches!(e, Error::AvatarMismatch { .. }), "{e}");
        let proof = sign(&Claims::new(UE_B, "qbranch-agent", "call-0@x", NOW), &key);
        let e = verify(&proof, key.verifying_key(), &expected()).unwrap_err();
        assert!(matches!(e, Error::CallMismatch { .. }), "{e}");
        let e = verify(
            &sign(&claims(), &key),
            key.verifying_key(),
            &Expected {
                now: NOW + 1000,
                ..expected()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            Error::Stale {
                iat: NOW,
                now: NOW + 1000
            }
        );
        let e = unverified_claims("a.b").unwrap_err();
        assert!(
            matches!(e, Error::Jws(crate::Error::NotCompactJws { .. })),
            "{e}"
        );
    }

    #[test]
    fn note_carries_header_and_claims() {
        let proof = sign(&claims(), &fixture_key("ue-b"));
        match note("AOS request proof", &proof).unwrap() {
            Note::Token {
                label,
                header,
                claims,
            } => {
                assert_eq!(label, "AOS request proof");
                assert_eq!(header["typ"], TYP);
                assert_eq!(claims["sub"], UE_B);
                assert_eq!(claims["call_id"], CALL);
            }
            other => panic!("{other:?}"),
        }
        assert!(note("x", "not a proof").is_none());
    }
}
