//! ECDSA P-256 with SHA-256 verification behind one function ([`verify`]), used for PASSporT
//! signatures (JWS ES256, RFC 7518 §3.4: `r || s`, 64 bytes) and for certificate and CRL
//! signatures (`ecdsa-with-SHA256`, an ASN.1 DER `Ecdsa-Sig-Value`).
//!
//! Keys stay `p256` keys everywhere else (the deterministic RFC 6979 signer that the snapshots
//! depend on, the avatar ECDH); only the verification arithmetic is ring's, which does the same
//! check about four times faster from the same SEC1 public-key bytes. [`verify_p256`] is the
//! pure-Rust reference: a test feeds both the same good, tampered, high-s and malformed
//! signatures and requires the same answer, and the criterion benchmarks time both.

use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};

/// How the signature bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JWS ES256: `r || s`, 32 bytes each, big-endian.
    Fixed,
    /// X.509 and CRL signatures: DER `SEQUENCE { r INTEGER, s INTEGER }`.
    Der,
}

/// Whether `signature` over `message` verifies with the P-256 public key `sec1` (SEC1
/// uncompressed or compressed point). Both low-s and high-s signatures are accepted, as
/// RFC 7518 and RFC 5480 do not require low-s (and neither does `p256`).
pub fn verify(sec1: &[u8], message: &[u8], signature: &[u8], encoding: Encoding) -> bool {
    let algorithm = match encoding {
        Encoding::Fixed => &ring::signature::ECDSA_P256_SHA256_FIXED,
        Encoding::Der => &ring::signature::ECDSA_P256_SHA256_ASN1,
    };
    // ring takes the uncompressed form only; a compressed key goes through p256 once.
    if sec1.first() == Some(&0x04) {
        return ring::signature::UnparsedPublicKey::new(algorithm, sec1)
            .verify(message, signature)
            .is_ok();
    }
    match VerifyingKey::from_sec1_bytes(sec1) {
        Ok(key) => {
            let point = key.to_sec1_point(false);
            ring::signature::UnparsedPublicKey::new(algorithm, point.as_bytes())
                .verify(message, signature)
                .is_ok()
        }
        Err(_) => false,
    }
}

/// [`verify`] with a `p256` key.
pub fn verify_key(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8],
    encoding: Encoding,
) -> bool {
    verify(
        key.to_sec1_point(false).as_bytes(),
        message,
        signature,
        encoding,
    )
}

/// The pure-Rust reference for [`verify`] (RustCrypto `p256`): same inputs, same answer.
pub fn verify_p256(sec1: &[u8], message: &[u8], signature: &[u8], encoding: Encoding) -> bool {
    let Ok(key) = VerifyingKey::from_sec1_bytes(sec1) else {
        return false;
    };
    let signature = match encoding {
        Encoding::Fixed => Signature::from_slice(signature),
        Encoding::Der => Signature::from_der(signature),
    };
    signature.is_ok_and(|s| key.verify(message, &s).is_ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;

    /// secp256r1 group order n.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];

    /// n - s, big-endian.
    fn negate(s: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
            borrow = 0;
            if d < 0 {
                d += 256;
                borrow = 1;
            }
            out[i] = d as u8;
        }
        out
    }

    /// (public key, message, signature, encoding, expected).
    type Case<'a> = (&'a [u8], &'a [u8], Vec<u8>, Encoding, bool);

    fn keys(n: u8) -> (SigningKey, Vec<u8>, Vec<u8>) {
        let key = SigningKey::from_slice(&[n; 32]).unwrap();
        let public = key.verifying_key();
        (
            key.clone(),
            public.to_sec1_point(false).as_bytes().to_vec(),
            public.to_sec1_point(true).as_bytes().to_vec(),
        )
    }

    #[test]
    fn ring_and_p256_agree_on_good_bad_high_s_and_malformed_signatures() {
        let mut cases = 0;
        for n in 1..=8u8 {
            let (key, uncompressed, compressed) = keys(n);
            let (_, other, _) = keys(n + 100);
            let message = format!("eyJhbGciOiJFUzI1NiJ9.payload-{n}");
            let signature: Signature = key.sign(message.as_bytes());
            let fixed = signature.to_bytes().to_vec();
            let der = signature.to_der().as_bytes().to_vec();
            let mut high = fixed.clone();
            let s = negate(&fixed[32..]);
            high[32..].copy_from_slice(&s);
            let mut flipped = fixed.clone();
            flipped[10] ^= 1;
            let table: Vec<Case<'_>> = vec![
                (
                    &uncompressed,
                    message.as_bytes(),
                    fixed.clone(),
                    Encoding::Fixed,
                    true,
                ),
                (
                    &compressed,
                    message.as_bytes(),
                    fixed.clone(),
                    Encoding::Fixed,
                    true,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    der.clone(),
                    Encoding::Der,
                    true,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    high.clone(),
                    Encoding::Fixed,
                    true,
                ),
                (
                    &uncompressed,
                    b"other bytes",
                    fixed.clone(),
                    Encoding::Fixed,
                    false,
                ),
                (
                    &other,
                    message.as_bytes(),
                    fixed.clone(),
                    Encoding::Fixed,
                    false,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    flipped,
                    Encoding::Fixed,
                    false,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    fixed[..63].to_vec(),
                    Encoding::Fixed,
                    false,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    der.clone(),
                    Encoding::Fixed,
                    false,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    fixed.clone(),
                    Encoding::Der,
                    false,
                ),
                (
                    &uncompressed,
                    message.as_bytes(),
                    vec![0; 64],
                    Encoding::Fixed,
                    false,
                ),
                (
                    &uncompressed[..40],
                    message.as_bytes(),
                    fixed.clone(),
                    Encoding::Fixed,
                    false,
                ),
                (
                    &[],
                    message.as_bytes(),
                    fixed.clone(),
                    Encoding::Fixed,
                    false,
                ),
            ];
            for (i, (sec1, message, signature, encoding, expected)) in table.into_iter().enumerate()
            {
                let fast = verify(sec1, message, &signature, encoding);
                let reference = verify_p256(sec1, message, &signature, encoding);
                assert_eq!(
                    fast, reference,
                    "key {n}, case {i}: ring {fast}, p256 {reference}"
                );
                assert_eq!(fast, expected, "key {n}, case {i}");
                cases += 1;
            }
        }
        assert_eq!(cases, 8 * 13);
    }
}
