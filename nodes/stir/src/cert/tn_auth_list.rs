//! The TNAuthList certificate extension (RFC 8226 §9): which service provider code or telephone
//! numbers a SHAKEN certificate's key may sign for, read from its DER with a minimal TLV reader,
//! and whether it authorises a PASSporT's `orig` ([`authorises`]).

use std::fmt;

use serde::Serialize;

/// TNAuthList (RFC 8226 §9): `id-pe-TNAuthList` 1.3.6.1.5.5.7.1.26.
pub const OID_TN_AUTH_LIST: &str = "1.3.6.1.5.5.7.1.26";

/// One entry of a TNAuthList (RFC 8226 §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum TnEntry {
    /// Service Provider Code.
    Spc(String),
    /// A range: first number and count.
    Range {
        /// The first number.
        start: String,
        /// How many numbers from `start`.
        count: u64,
    },
    /// One telephone number.
    One(String),
}

impl fmt::Display for TnEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TnEntry::Spc(spc) => write!(f, "SPC {spc}"),
            TnEntry::Range { start, count } => write!(f, "TN range {start} (+{count})"),
            TnEntry::One(tn) => write!(f, "TN {tn}"),
        }
    }
}

/// DER TLV reader, just enough for TNAuthList: returns (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The content of an IA5String (ASCII only).
fn ia5(bytes: &[u8]) -> Option<String> {
    bytes
        .is_ascii()
        .then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// `TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry`, with RFC 8226's explicit tags:
/// `spc [0] IA5String`, `range [1] SEQUENCE { start IA5String, count INTEGER }`, `one [2] IA5String`.
pub fn parse_tn_auth_list(der: &[u8]) -> Option<Vec<TnEntry>> {
    let (tag, mut body, rest) = tlv(der)?;
    if tag != 0x30 || !rest.is_empty() || body.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    while !body.is_empty() {
        let (tag, inner, next) = tlv(body)?;
        body = next;
        let (itag, value, irest) = tlv(inner)?;
        if !irest.is_empty() {
            return None;
        }
        entries.push(match (tag, itag) {
            (0xa0, 0x16) => TnEntry::Spc(ia5(value)?),
            (0xa2, 0x16) => TnEntry::One(ia5(value)?),
            (0xa1, 0x30) => {
                let (t1, start, r) = tlv(value)?;
                let (t2, count, _) = tlv(r)?;
                if t1 != 0x16 || t2 != 0x02 || count.is_empty() || count.len() > 8 {
                    return None;
                }
                let count = count.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                TnEntry::Range {
                    start: ia5(start)?,
                    count,
                }
            }
            _ => return None,
        });
    }
    Some(entries)
}

/// Whether a TNAuthList authorises a PASSporT whose `orig` is the telephone number `tn`
/// (canonical digits; `None` for an `orig` that is a URI) — RFC 8226 §9, RFC 8224 §6.2.3:
///
/// - an SPC entry authorises the numbers its service provider serves, which a verifier cannot
///   list; ATIS-1000080 issues SHAKEN certificates with an SPC only, and such a certificate
///   stays acceptable for any number;
/// - otherwise a TN entry must equal `tn`, or a range (`start` and `count` numbers up, same
///   length) must hold it. A certificate of numbers only authorises no URI.
pub fn authorises(entries: &[TnEntry], tn: Option<&str>) -> bool {
    entries.iter().any(|entry| match (entry, tn) {
        (TnEntry::Spc(_), _) => true,
        (_, None) => false,
        (TnEntry::One(one), Some(tn)) => digits(one) == tn,
        (TnEntry::Range { start, count }, Some(tn)) => in_range(&digits(start), *count, tn),
    })
}

/// The digits of a TelephoneNumber (RFC 8226 writes digits, `#` and `*`; only digits compare).
fn digits(tn: &str) -> String {
    tn.chars().filter(char::is_ascii_digit).collect()
}

/// Whether `tn` is one of the `count` numbers from `start`, both digits of the same length.
fn in_range(start: &str, count: u64, tn: &str) -> bool {
    if start.len() != tn.len() || start.is_empty() || start.len() > 19 {
        return false;
    }
    match (start.parse::<u64>(), tn.parse::<u64>()) {
        (Ok(first), Ok(n)) => n >= first && n - first < count,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tn_auth_list_spc_entry() {
        // SEQUENCE { [0] EXPLICIT IA5String "1001" } — RFC 8226 §9 encoding of one SPC entry.
        let der = [0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'1', b'0', b'0', b'1'];
        assert_eq!(
            parse_tn_auth_list(&der).unwrap(),
            vec![TnEntry::Spc("1001".into())]
        );
    }

    #[test]
    fn tn_auth_list_range_and_one() {
        let der = [
            0x30, 0x17, 0xa1, 0x0c, 0x30, 0x0a, 0x16, 0x05, b'1', b'2', b'0', b'0', b'0', 0x02,
            0x01, 0x64, 0xa2, 0x07, 0x16, 0x05, b'1', b'2', b'3', b'4', b'5',
        ];
        assert_eq!(
            parse_tn_auth_list(&der).unwrap(),
            vec![
                TnEntry::Range {
                    start: "12000".into(),
                    count: 100
                },
                TnEntry::One("12345".into())
            ]
        );
    }

    #[test]
    fn spc_authorises_any_orig_tn_and_range_only_its_numbers() {
        let spc = [TnEntry::Spc("1001".into())];
        assert!(authorises(&spc, Some("12025551000")));
        assert!(
            authorises(&spc, None),
            "SPC-only stays acceptable (ATIS-1000080)"
        );
        let range = [TnEntry::Range {
            start: "12025559000".into(),
            count: 100,
        }];
        assert!(authorises(&range, Some("12025559000")));
        assert!(authorises(&range, Some("12025559099")));
        assert!(!authorises(&range, Some("12025559100")));
        assert!(!authorises(&range, Some("12025551000")));
        assert!(!authorises(&range, Some("2025559000")), "length differs");
        assert!(!authorises(&range, None), "numbers authorise no URI");
        let one = [TnEntry::One("+1-202-555-1000".into())];
        assert!(authorises(&one, Some("12025551000")));
        assert!(!authorises(&one, Some("12025551001")));
        assert!(!authorises(&[], Some("12025551000")));
    }

    #[test]
    fn tn_auth_list_rejects_garbage() {
        for der in [
            &[][..],
            &[0x30, 0x00],
            &[0x30, 0x05, 0xa0, 0x03, 0x16, 0x05, b'1'],
            &[0x31, 0x02, 0x05, 0x00],
        ] {
            assert!(parse_tn_auth_list(der).is_none(), "{der:?}");
        }
    }
}
