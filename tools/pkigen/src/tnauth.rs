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
//! so a list with the single SPC `1001` is `30 08 A0 06 16 04 31 30 30 31`.

use anyhow::{Result, bail};

/// `id-pe-TNAuthList`, 1.3.6.1.5.5.7.1.26 (RFC 8226 §9).
pub const TN_AUTH_LIST_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];

/// [`TN_AUTH_LIST_OID`] in dotted form, as x509-parser prints it.
pub const TN_AUTH_LIST_OID_STR: &str = "1.3.6.1.5.5.7.1.26";

const TAG_SEQUENCE: u8 = 0x30;
const TAG_IA5STRING: u8 = 0x16;
/// Context-specific, constructed, tag number 0: the EXPLICIT `[0]` of `TNEntry.spc`.
const TAG_SPC: u8 = 0xA0;

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
    fn rejects_empty_and_non_ascii() {
        assert!(tn_auth_list_spc("").is_err());
        assert!(tn_auth_list_spc("10é1").is_err());
    }
}
