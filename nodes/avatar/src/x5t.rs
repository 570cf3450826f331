//! The compact JWSs of solution #7 that name their signer's certificate: header
//! `{"alg":"ES256","typ":…,"x5t#S256":…}` (RFC 7515 §4.1.8), so the verifier knows which
//! pre-configured or looked-up certificate to check the signature with. Verification order:
//! shape, header (`alg`, `typ`), then `x5t#S256` against the certificate, the claims (all but
//! the thumbprint Malformed), then the signature.

use p256::ecdsa::SigningKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stir::jose::{self, CompactJws};

use crate::{Error, cert, jws};

/// The JOSE header parameter of the certificate's SHA-256 thumbprint.
pub(crate) const X5T: &str = "x5t#S256";

/// Signs `claims` with `key` as a compact JWS whose header names `cert_der` by thumbprint;
/// canonical JSON, deterministic ES256 (RFC 6979).
pub(crate) fn sign<T: Serialize>(
    typ: &str,
    claims: &T,
    key: &SigningKey,
    cert_der: &[u8],
) -> Result<String, Error> {
    let header = json!({ "alg": "ES256", "typ": typ, X5T: cert::thumbprint(cert_der) });
    let header = jws::canonical(&header)?;
    let payload = jws::canonical(claims)?;
    Ok(jose::sign_es256(key, &header, &payload))
}

/// Verifies `token` as a JWS of `typ` signed with the key of `cert_der`, and reads its claims.
pub(crate) fn verify<T: DeserializeOwned>(
    token: &str,
    typ: &'static str,
    cert_der: &[u8],
) -> Result<T, Error> {
    let decoded = jws::decode(token)?;
    check_header(&decoded.header, typ)?;
    let expected = cert::thumbprint(cert_der);
    let carried = decoded.header.get(X5T).and_then(Value::as_str);
    if carried != Some(expected.as_str()) {
        return Err(Error::Thumbprint {
            carried: carried.map(str::to_owned),
            expected,
        });
    }
    let claims: T = serde_json::from_value(decoded.claims).map_err(|e| Error::Claims {
        detail: e.to_string(),
    })?;
    let key = cert::verifying_key(cert_der)?;
    let split = CompactJws::split(token).map_err(|_| Error::NotCompactJws {
        parts: token.split('.').count(),
    })?;
    jose::verify_es256(&key, &split).map_err(|_| Error::BadSignature)?;
    Ok(claims)
}

/// `token` with its payload replaced by `payload` (canonical JSON), the header and the old
/// signature kept: what an attacker in the path makes of a signed object.
pub(crate) fn replace_payload(token: &str, payload: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    if let (Some(slot), Ok(bytes)) = (parts.get_mut(1), jws::canonical(payload)) {
        *slot = jose::b64u(&bytes);
    }
    parts.join(".")
}

fn check_header(header: &Value, typ: &'static str) -> Result<(), Error> {
    let alg = header.get("alg").and_then(Value::as_str);
    let carried = header.get("typ").and_then(Value::as_str);
    if alg == Some("ES256") && carried == Some(typ) {
        return Ok(());
    }
    Err(Error::Header {
        alg: alg.map(str::to_owned),
        typ: carried.map(str::to_owned),
        expected: typ,
    })
}
