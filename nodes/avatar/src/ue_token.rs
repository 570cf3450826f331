//! The UE token of solution #7 (TR 33.790 §6.7.2.1 step 4): the UE signs its IMS identity
//! (IMPU) and the identity of the XR AS with its UE certificate's key; the fingerprint of that
//! certificate travels in SIP (step 3), so the network can check the token against the
//! certificate SIP announced (step 7: the NEF validates it before it grants the XR AS an access
//! token; NOTE 3).
//!
//! The TR leaves the encoding open ("the usage of UE token … FFS"). The testbed's choice: a
//! compact JWS, header `{"alg":"ES256","typ":"ue-token+jwt","x5t#S256":…}` naming the UE
//! certificate, claims `sub` (the IMPU), `xr_as` (the XR AS host), `iat`, `exp` and `call` (the
//! Call-ID of the session).

use p256::ecdsa::SigningKey;
use proto::trace::Note;
use serde::{Deserialize, Serialize};

use crate::token::Decoded;
use crate::{Error, cert, jws, x5t};

/// The JOSE `typ` of a UE token.
pub const TYP: &str = "ue-token+jwt";

/// How long a UE token is valid after it is signed, in seconds (`exp` = `iat` + this).
pub const LIFETIME: i64 = 300;

/// How far in the future an `iat` may be (clock skew), in seconds.
pub const SKEW: i64 = 60;

/// The claims of a UE token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UeTokenClaims {
    /// The UE's IMS identity (IMPU), as its certificate names it.
    pub sub: String,
    /// The host of the XR AS the token is for.
    pub xr_as: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// The Call-ID of the session.
    pub call: String,
}

impl UeTokenClaims {
    /// The claims of a token signed at `iat`, valid for [`LIFETIME`] seconds.
    pub fn new(sub: &str, xr_as: &str, call: &str, iat: i64) -> Self {
        Self {
            sub: sub.to_owned(),
            xr_as: xr_as.to_owned(),
            iat,
            exp: iat + LIFETIME,
            call: call.to_owned(),
        }
    }
}

/// The fingerprint of a UE certificate (DER) as SIP carries it: RFC 8122 style,
/// `sha-256 AB:CD:…` ([`cert::fingerprint`]).
pub fn fingerprint(cert_der: &[u8]) -> String {
    cert::fingerprint(cert_der)
}

/// Signs `claims` with the UE's key; the header names the UE certificate `cert_der`.
pub fn sign(claims: &UeTokenClaims, key: &SigningKey, cert_der: &[u8]) -> Result<String, Error> {
    x5t::sign(TYP, claims, key, cert_der)
}

/// Decodes a UE token without verifying it (for trace notes).
pub fn decode(token: &str) -> Result<Decoded, Error> {
    jws::decode(token)
}

/// Verifies a UE token with the UE certificate `cert_der` at `now`, in this order: the
/// certificate is the one whose fingerprint SIP carried ([`Error::FingerprintMismatch`]); the
/// token decodes with `alg` ES256, `typ` [`TYP`] (Malformed), its `x5t#S256` names the
/// certificate ([`Error::Thumbprint`]), every claim is there (Malformed) and the signature
/// holds ([`Error::BadSignature`]); `xr_as` is the XR AS expected ([`Error::WrongXrAs`]);
/// `sub` is an identity the certificate names ([`Error::SubjectMismatch`]); `exp` has not
/// passed ([`Error::Expired`]) and `iat` is not beyond [`SKEW`] in the future
/// ([`Error::NotYetValid`]).
pub fn verify(
    token: &str,
    cert_der: &[u8],
    expected_fingerprint: &str,
    expected_xr_as: &str,
    now: i64,
) -> Result<UeTokenClaims, Error> {
    let presented = fingerprint(cert_der);
    if !cert::same_fingerprint(&presented, expected_fingerprint) {
        return Err(Error::FingerprintMismatch {
            carried: expected_fingerprint.to_owned(),
            presented,
        });
    }
    let claims: UeTokenClaims = x5t::verify(token, TYP, cert_der)?;
    if claims.xr_as != expected_xr_as {
        return Err(Error::WrongXrAs {
            named: claims.xr_as,
            requester: expected_xr_as.to_owned(),
        });
    }
    let names = cert::uris(cert_der)?;
    if !names.contains(&claims.sub) {
        return Err(Error::SubjectMismatch {
            sub: claims.sub,
            names,
        });
    }
    window(claims.iat, claims.exp, now)?;
    Ok(claims)
}

/// `exp` not passed ([`Error::Expired`]), `iat` not beyond [`SKEW`] ahead
/// ([`Error::NotYetValid`]).
pub(crate) fn window(iat: i64, exp: i64, now: i64) -> Result<(), Error> {
    if exp < now {
        return Err(Error::Expired { exp, now });
    }
    if iat > now + SKEW {
        return Err(Error::NotYetValid { iat, now });
    }
    Ok(())
}

/// A `Note::Token` with the token's header and claims, if it decodes.
pub fn note(label: &str, token: &str) -> Option<Note> {
    jws::note(label, token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{fixture_key, read};
    use proto::trace::Reason;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
    const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
    const NOW: i64 = 1_772_442_000;

    fn der(ue: &str) -> Vec<u8> {
        cert::der_from_pem(&read(&format!("pki/ue/{ue}.pem"))).unwrap()
    }

    fn claims() -> UeTokenClaims {
        UeTokenClaims::new(UE_A, XR_AS, CALL, NOW)
    }

    fn signed(claims: &UeTokenClaims) -> String {
        sign(claims, &fixture_key("ue-a"), &der("ue-a")).unwrap()
    }

    fn reason(token: &str, ue: &str, fp: &str, xr_as: &str, now: i64) -> Reason {
        verify(token, &der(ue), fp, xr_as, now)
            .unwrap_err()
            .reason()
    }

    #[test]
    fn a_signed_token_verifies_against_the_fingerprint_sip_carried() {
        let token = signed(&claims());
        assert_eq!(token, signed(&claims()), "deterministic");
        let fp = fingerprint(&der("ue-a"));
        assert_eq!(
            verify(&token, &der("ue-a"), &fp, XR_AS, NOW + 10).unwrap(),
            claims()
        );
        let d = decode(&token).unwrap();
        assert_eq!(d.header["typ"], TYP);
        assert_eq!(d.header["x5t#S256"], cert::thumbprint(&der("ue-a")));
        assert_eq!(d.claims["call"], CALL);
        // The tel URI the certificate names is the UE's identity too.
        let tel = UeTokenClaims::new("tel:+12025551000", XR_AS, CALL, NOW);
        assert!(verify(&signed(&tel), &der("ue-a"), &fp, XR_AS, NOW).is_ok());
    }

    /// Each check fails with its reason, in the documented order.
    #[test]
    fn each_failure_has_its_reason() {
        let token = signed(&claims());
        let fp_a = fingerprint(&der("ue-a"));
        let fp_b = fingerprint(&der("ue-b"));
        // SIP carried another certificate's fingerprint.
        let e = verify(&token, &der("ue-a"), &fp_b, XR_AS, NOW).unwrap_err();
        assert!(matches!(e, Error::FingerprintMismatch { .. }), "{e}");
        assert_eq!(e.reason(), Reason::ClaimMismatch);
        // Checked with UE-B's certificate (and its fingerprint): the header names UE-A's.
        let e = verify(&token, &der("ue-b"), &fp_b, XR_AS, NOW).unwrap_err();
        assert!(matches!(e, Error::Thumbprint { .. }), "{e}");
        // Signed by UE-M with a header naming UE-A's certificate.
        let forged = sign(&claims(), &fixture_key("ue-m"), &der("ue-a")).unwrap();
        assert_eq!(
            reason(&forged, "ue-a", &fp_a, XR_AS, NOW),
            Reason::SignatureInvalid
        );
        let other_as = "xr-as.ims.mnc002.mcc001.3gppnetwork.org";
        assert_eq!(
            reason(&token, "ue-a", &fp_a, other_as, NOW),
            Reason::NotAuthorised
        );
        let not_mine = UeTokenClaims::new("sip:+12155551001@x", XR_AS, CALL, NOW);
        let e = verify(&signed(&not_mine), &der("ue-a"), &fp_a, XR_AS, NOW).unwrap_err();
        assert!(matches!(e, Error::SubjectMismatch { .. }), "{e}");
        assert_eq!(
            reason(&token, "ue-a", &fp_a, XR_AS, NOW + LIFETIME + 1),
            Reason::Expired
        );
        assert_eq!(
            reason(&token, "ue-a", &fp_a, XR_AS, NOW - SKEW - 1),
            Reason::Stale
        );
        assert_eq!(reason("a.b", "ue-a", &fp_a, XR_AS, NOW), Reason::Malformed);
        let wrong_typ = x5t::sign("at+jwt", &claims(), &fixture_key("ue-a"), &der("ue-a")).unwrap();
        let e = verify(&wrong_typ, &der("ue-a"), &fp_a, XR_AS, NOW).unwrap_err();
        assert!(matches!(e, Error::Header { .. }), "{e}");
    }

    #[test]
    fn the_window_table() {
        for (iat, exp, now, ok) in [
            (NOW, NOW + 300, NOW, true),
            (NOW, NOW + 300, NOW + 300, true),
            (NOW, NOW + 300, NOW + 301, false),
            (NOW + SKEW, NOW + 300, NOW, true),
            (NOW + SKEW + 1, NOW + 300, NOW, false),
        ] {
            assert_eq!(window(iat, exp, now).is_ok(), ok, "{iat} {exp} {now}");
        }
    }
}
