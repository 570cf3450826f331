//! The JOSE layer PASSporTs are built on: base64url (RFC 7515 §2, no padding), the canonical JSON
//! form RFC 8225 §9 asks signers to use (members sorted, no whitespace — produced with RFC 8785 JCS,
//! which is that plus exact number and string rules), compact JWS serialisation and ES256
//! (ECDSA P-256 + SHA-256, RFC 7518 §3.4) with 64-byte `r‖s` signatures.
//!
//! Signing is deterministic (RFC 6979), so the same key and bytes always give the same token:
//! the property the RFC 8225/8588 test vectors and the byte-stable traces rely on.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::Serialize;

use crate::Error;
use crate::es256::Encoding;

/// base64url without padding (RFC 7515 §2).
pub fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `part` names what is decoded, for the error.
pub fn b64u_decode(text: &str, part: Part) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::MalformedJws {
            fault: JwsFault::Base64(part),
        })
}

/// RFC 8785 canonical JSON: members sorted by UTF-16 code units, no insignificant whitespace.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| Error::Encode {
        what: "canonical JSON",
        detail: e.to_string(),
    })
}

/// The three parts of a compact JWS (RFC 7515 §7.1), still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactJws<'a> {
    /// The base64url JOSE header.
    pub header: &'a str,
    /// The base64url payload.
    pub payload: &'a str,
    /// The base64url signature.
    pub signature: &'a str,
}

/// Which part of a JWS an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The payload (the PASSporT's claims).
    Payload,
    /// The signature.
    Signature,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Header => "JOSE header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// What is wrong with the outer shape of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsFault {
    /// Not exactly three dot-separated parts.
    PartCount(usize),
    /// A part is not base64url.
    Base64(Part),
    /// The signature is not 64 bytes of `r‖s`.
    SignatureLength(usize),
}

impl std::fmt::Display for JwsFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwsFault::PartCount(n) => write!(f, "{n} dot-separated parts, expected 3"),
            JwsFault::Base64(part) => write!(f, "{part} is not base64url"),
            JwsFault::SignatureLength(n) => write!(f, "ES256 signature is {n} bytes, expected 64"),
        }
    }
}

impl<'a> CompactJws<'a> {
    /// Splits `header.payload.signature`. Full-form only: RFC 8224 §4.1 allows a compact form
    /// with an empty payload, which SHAKEN does not use, so an empty payload is rejected later
    /// when the payload fails to parse.
    pub fn split(token: &'a str) -> Result<Self, Error> {
        let mut parts = token.trim().split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(header), Some(payload), Some(signature), None) => Ok(Self {
                header,
                payload,
                signature,
            }),
            _ => Err(Error::MalformedJws {
                fault: JwsFault::PartCount(token.trim().split('.').count()),
            }),
        }
    }

    /// The bytes the signature covers: `BASE64URL(header) '.' BASE64URL(payload)`.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", self.header, self.payload)
    }
}

/// Signs canonical header and payload bytes with ES256 and returns the compact JWS.
pub fn sign_es256(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64u(header), b64u(payload));
    let signature: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64u(&signature.to_bytes()))
}

/// Checks an ES256 signature over a compact JWS's signing input.
pub fn verify_es256(key: &VerifyingKey, jws: &CompactJws<'_>) -> Result<(), Error> {
    let raw = b64u_decode(jws.signature, Part::Signature)?;
    if raw.len() != 64 {
        return Err(Error::MalformedJws {
            fault: JwsFault::SignatureLength(raw.len()),
        });
    }
    if crate::es256::verify_key(key, jws.signing_input().as_bytes(), &raw, Encoding::Fixed) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn split_rejects_wrong_part_counts() {
        assert!(matches!(
            CompactJws::split("a.b"),
            Err(Error::MalformedJws {
                fault: JwsFault::PartCount(2)
            })
        ));
        assert!(matches!(
            CompactJws::split("a.b.c.d"),
            Err(Error::MalformedJws {
                fault: JwsFault::PartCount(4)
            })
        ));
        assert_eq!(CompactJws::split("a.b.c").unwrap().signing_input(), "a.b");
    }

    #[test]
    fn canonical_json_sorts_and_strips_whitespace() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{ "x5u": "https://a/b", "alg" : "ES256" }"#).unwrap();
        assert_eq!(
            canonical_json(&v).unwrap(),
            br#"{"alg":"ES256","x5u":"https://a/b"}"#
        );
    }
}
