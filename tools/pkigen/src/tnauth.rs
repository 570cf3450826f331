//! The TNAuthList certificate extension of RFC 8226 §9, which binds a STIR/SHAKEN certificate
//! to the telephone numbers or Service Provider Code (SPC) it may sign for. The ASN.1 module
//! uses EXPLICIT tags:
//!
//! ```text
//! TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//! TNEntry ::= CHOICE {
//!     spc   [0] ServiceProviderCode,
//!     range [1] TelephoneNumberRange,
//!     one   [2] TelephoneNumber }
//! ServiceProviderCode ::= IA5String
//! ```
//!
//! so a list with the single SPC `1001` is `30 08 A0 06 16 04 31 30 30 31`, and
//! `TelephoneNumberRange ::= SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX) }`.

use anyhow::{Result, bail};

/// `id-pe-TNAuthList`, 1.3.6.1.5.5.7.1.26 (RFC 8226 §9).
pub const TN_AUTH_LIST_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];

/// [`TN_AUTH_LIST_OID`] in dotted form, as x509-parser prints it.
pub const TN_AUTH_LIST_OID_STR: &str = "1.3.6.1.5.5.7.1.26";

const TAG_SEQUENCE: u8 = 0x30;
const TAG_IA5STRING: u8 = 0x16;
const TAG_INTEGER: u8 = 0x02;
/// Context-specific, constructed, tag number 0: the EXPLICIT `[0]` of `TNEntry.spc`.
const TAG_SPC: u8 = 0xA0;
/// Context-specific, constructed, tag number 1: the EXPLICIT `[1]` of `TNEntry.range`.
const TAG_RANGE: u8 = 0xA1;

/// DER of a TNAuthList holding exactly one SPC entry (the extension's `extnValue` content).
///
/// Fails if `spc` is empty or not ASCII (an IA5String holds only ASCII).
pub fn tn_auth_list_spc(spc: &str) -> Result<Vec<u8>> {
    if spc.is_empty() || !spc.is_ascii() {
        bail!("service provider code {spc:?} must be non-empty ASCII");
    }
    let ia5 = der_tlv(TAG_IA5STRING, spc.as_bytes());
    let entry = der_tlv(TAG_SPC, &ia5);
    Ok(der_tlv(TAG_SEQUENCE, &entry))
}

/// DER of a TNAuthList holding exactly one telephone number range: `count` numbers from
/// `start` (digits, as RFC 8226 writes a `TelephoneNumber`).
///
/// Fails unless `start` is 1 to 15 digits and `count` is at least 2 (RFC 8226 §9).
pub fn tn_auth_list_range(start: &str, count: u64) -> Result<Vec<u8>> {
    if start.is_empty() || start.len() > 15 || !start.bytes().all(|b| b.is_ascii_digit()) {
        bail!("range start {start:?} must be 1 to 15 digits");
    }
    if count < 2 {
        bail!("a range counts at least 2 numbers, not {count}");
    }
    let mut range = der_tlv(TAG_IA5STRING, start.as_bytes());
    range.extend(der_tlv(TAG_INTEGER, &der_unsigned(count)));
    let entry = der_tlv(TAG_RANGE, &der_tlv(TAG_SEQUENCE, &range));
    Ok(der_tlv(TAG_SEQUENCE, &entry))
}

/// The content octets of a DER INTEGER holding `n`: minimal big-endian, with a leading zero
/// when the top bit would otherwise make it negative.
fn der_unsigned(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = Vec::with_capacity(9);
    if bytes[first] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[first..]);
    out
}

/// One DER tag-length-value with a single-byte tag.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_length(content.len()));
    out.extend_from_slice(content);
    out
}

/// DER definite length: short form below 128, else long form (0x80 | byte count, big-endian).
fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        // Lossless: len < 128.
        return vec![len as u8];
    }
    let bytes = len.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let significant = &bytes[first..];
    let mut out = vec![0x80 | significant.len() as u8];
    out.extend_from_slice(significant);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn spc_1001_matches_rfc_8226_encoding() {
        assert_eq!(
            tn_auth_list_spc("1001").unwrap(),
            [0x30, 0x08, 0xA0, 0x06, 0x16, 0x04, 0x31, 0x30, 0x30, 0x31]
        );
    }

    #[test]
    fn long_spc_uses_long_form_lengths() {
        let spc = "9".repeat(200);
        let der = tn_auth_list_spc(&spc).unwrap();
        // IA5String: 16 81 C8 <200>; [0]: A0 81 CB <203>; SEQUENCE: 30 81 CE <206>.
        assert_eq!(
            &der[..9],
            [0x30, 0x81, 0xCE, 0xA0, 0x81, 0xCB, 0x16, 0x81, 0xC8]
        );
        assert_eq!(der.len(), 3 + 206);
        assert_eq!(der_length(0x1234), [0x82, 0x12, 0x34]);
        assert_eq!(der_length(0x7F), [0x7F]);
        assert_eq!(der_length(0x80), [0x81, 0x80]);
    }

    #[test]
    fn range_encodes_start_and_count() {
        // SEQUENCE { [1] { SEQUENCE { IA5String "12025559000", INTEGER 100 } } }
        let der = tn_auth_list_range("12025559000", 100).unwrap();
        let mut expected = vec![0x30, 0x14, 0xA1, 0x12, 0x30, 0x10, 0x16, 0x0B];
        expected.extend_from_slice(b"12025559000");
        expected.extend_from_slice(&[0x02, 0x01, 0x64]);
        assert_eq!(der, expected);
        assert_eq!(der_unsigned(200), [0x00, 0xC8]);
        assert_eq!(der_unsigned(0x0100), [0x01, 0x00]);
        assert!(tn_auth_list_range("+1202", 100).is_err());
        assert!(tn_auth_list_range("1202", 1).is_err());
    }

    #[test]
    fn rejects_empty_and_non_ascii() {
        assert!(tn_auth_list_spc("").is_err());
        assert!(tn_auth_list_spc("10é1").is_err());
    }
}
