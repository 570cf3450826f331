//! P-256 public keys as JWKs (RFC 7518 §6.2.1): `kty` `EC`, `crv` `P-256`, `x` and `y` as 32
//! bytes of base64url each.

use p256::PublicKey;
use p256::elliptic_curve::point::AffineCoordinates as _;
use proto::wire::avatar::Jwk;
use serde_json::{Value, json};
use stir::Part;
use stir::jose::{b64u, b64u_decode};

use crate::{Error, JwkFault};

/// The JWK of a P-256 public key.
pub(crate) fn from_public(key: &PublicKey) -> Jwk {
    let point = key.as_affine();
    Jwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        x: b64u(&point.x()),
        y: b64u(&point.y()),
    }
}

/// The P-256 public key a JWK holds; [`Error::BadJwk`] (Malformed) when `kty` or `crv` is wrong,
/// a coordinate is not 32 bytes of base64url, or the point is not on the curve.
pub fn jwk_to_public(j: &Jwk) -> Result<PublicKey, Error> {
    let bad = |fault| Error::BadJwk { fault };
    if j.kty != "EC" {
        return Err(bad(JwkFault::Kty(j.kty.clone())));
    }
    if j.crv != "P-256" {
        return Err(bad(JwkFault::Crv(j.crv.clone())));
    }
    let mut sec1 = vec![0x04];
    sec1.extend(coordinate(&j.x, "x")?);
    sec1.extend(coordinate(&j.y, "y")?);
    PublicKey::from_sec1_bytes(&sec1).map_err(|_| bad(JwkFault::NotOnCurve))
}

fn coordinate(text: &str, name: &'static str) -> Result<Vec<u8>, Error> {
    match b64u_decode(text, Part::Payload) {
        Ok(bytes) if bytes.len() == 32 => Ok(bytes),
        _ => Err(Error::BadJwk {
            fault: JwkFault::Coordinate(name),
        }),
    }
}

/// A JWK as JSON, for trace notes (its members are strings: this cannot fail).
pub(crate) fn to_value(j: &Jwk) -> Value {
    json!({ "kty": j.kty, "crv": j.crv, "x": j.x, "y": j.y })
}
