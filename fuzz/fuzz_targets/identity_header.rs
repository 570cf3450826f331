//! The SIP Identity header (RFC 8224 §4, stir::identity): `IdentityHeader::parse`,
//! `parse_list` and `from_headers` on a header value, and the Call-Info header (RFC 9796) that
//! shares its parameter grammar.
//!
//! Properties: nothing panics; every Identity value that parses renders (`to_header`) to a value
//! that parses back to the same header, alone and inside a list; every Call-Info entry that
//! parses renders back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stir::{CallInfo, IdentityHeader};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(header) = IdentityHeader::parse(text) {
        round_trip(&header);
    }
    if let Ok(list) = IdentityHeader::parse_list(text) {
        for header in &list {
            round_trip(header);
        }
        let joined: Vec<String> = list.iter().map(IdentityHeader::to_header).collect();
        let again = IdentityHeader::parse_list(&joined.join(", "));
        assert_eq!(
            again.as_ref().ok(),
            Some(&list),
            "the list {text:?} renders as {joined:?}"
        );
    }
    let _ = IdentityHeader::from_headers(text.split('\n'));
    if let Ok(entries) = CallInfo::parse_list(text) {
        for entry in entries {
            let rendered = entry.to_header();
            assert_eq!(
                CallInfo::parse(&rendered).ok().as_ref(),
                Some(&entry),
                "Call-Info {text:?} renders as {rendered:?}"
            );
        }
    }
});

fn round_trip(header: &IdentityHeader) {
    let rendered = header.to_header();
    let again = IdentityHeader::parse(&rendered);
    assert_eq!(
        again.as_ref().ok(),
        Some(header),
        "Identity {header:?} renders as {rendered:?}"
    );
}
