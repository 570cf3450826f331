//! The compact-JWS plumbing the avatar token and the UE-A attestation share: ES256 over canonical
//! JSON (stir's JOSE layer), decoding without verification for trace notes, and verification in
//! a fixed order: shape, header, claims (all Malformed), then the signature.

use p256::ecdsa::{SigningKey, VerifyingKey};
use proto::trace::Note;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stir::Part;
use stir::jose::{self, CompactJws};

use crate::Error;
use crate::token::Decoded;

/// The one algorithm: ES256 (RFC 7518 §3.4).
const ALG: &str = "ES256";

/// RFC 8785 canonical JSON of `value`.
pub(crate) fn canonical<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    jose::canonical_json(value).map_err(|e| Error::BadObject {
        detail: e.to_string(),
    })
}

/// Signs `claims` as a compact JWS with header `{"alg":"ES256","typ":typ}`; both parts in
/// canonical JSON, the signature deterministic (RFC 6979), so a token is byte-stable.
pub(crate) fn sign<T: Serialize>(typ: &str, claims: &T, key: &SigningKey) -> String {
    let header = json!({ "alg": ALG, "typ": typ });
    // Canonicalising cannot fail here: RFC 8785 refuses only non-finite numbers and non-string
    // map keys, and these claims (strings, integers, a rendering option, JWKs of strings) have
    // neither. Should it ever fail, the empty payload signed instead never verifies as claims.
    let header = canonical(&header).unwrap_or_default();
    let payload = canonical(claims).unwrap_or_default();
    jose::sign_es256(key, &header, &payload)
}

/// Splits and decodes a compact JWS without verifying anything but its shape: the header and
/// the claims must be base64url JSON objects and the signature base64url.
pub(crate) fn decode(token: &str) -> Result<Decoded, Error> {
    let jws = split(token)?;
    let header = object(jws.header, Part::Header)?;
    let claims = object(jws.payload, Part::Payload)?;
    jose::b64u_decode(jws.signature, Part::Signature).map_err(|_| Error::MalformedJws {
        part: Part::Signature,
    })?;
    Ok(Decoded { header, claims })
}

/// Decodes `token`, requires header `alg` ES256 and `typ` and reads the claims as `T`; no
/// signature check.
pub(crate) fn unverified_claims<T: DeserializeOwned>(
    token: &str,
    typ: &'static str,
) -> Result<T, Error> {
    let decoded = decode(token)?;
    check_header(&decoded.header, typ)?;
    serde_json::from_value(decoded.claims).map_err(|e| Error::Claims {
        detail: e.to_string(),
    })
}

/// [`unverified_claims`], then the ES256 signature with `key`.
pub(crate) fn verified_claims<T: DeserializeOwned>(
    token: &str,
    typ: &'static str,
    key: &VerifyingKey,
) -> Result<T, Error> {
    let claims = unverified_claims(token, typ)?;
    let jws = split(token)?;
    jose::verify_es256(key, &jws).map_err(|_| Error::BadSignature)?;
    Ok(claims)
}

/// A `Note::Token` with the header and claims as carried, if `token` decodes.
pub(crate) fn note(label: &str, token: &str) -> Option<Note> {
    decode(token).ok().map(|d| Note::Token {
        label: label.to_owned(),
        header: d.header,
        claims: d.claims,
    })
}

fn split(token: &str) -> Result<CompactJws<'_>, Error> {
    CompactJws::split(token).map_err(|_| Error::NotCompactJws {
        parts: token.trim().split('.').count(),
    })
}

fn object(part: &str, which: Part) -> Result<Value, Error> {
    let malformed = || Error::MalformedJws { part: which };
    let bytes = jose::b64u_decode(part, which).map_err(|_| malformed())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(malformed()),
    }
}

fn check_header(header: &Value, typ: &'static str) -> Result<(), Error> {
    let alg = header.get("alg").and_then(Value::as_str);
    let carried = header.get("typ").and_then(Value::as_str);
    if alg == Some(ALG) && carried == Some(typ) {
        return Ok(());
    }
    Err(Error::Header {
        alg: alg.map(str::to_owned),
        typ: carried.map(str::to_owned),
        expected: typ,
    })
}
