//! Rich Call Data (RFC 9795, stir::rcd): the `rcd` claim with its embedded jCard, the `rcdi`
//! digests over it, and SRI values. The input is a JSON object
//! `{"rcd": {...}, "rcdi": {...}, "fetched": {"<uri>": "<content>"}}` (every member optional);
//! anything else is tried as an SRI value.
//!
//! Properties: nothing panics; `rcdi` computed for an `rcd` claim (with its URI content at hand)
//! checks as intact against the same claim, entry by entry, with no URI member uncovered, and
//! every computed digest is a valid SRI value.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use stir::rcd::{self, DigestStatus, Fetched};
use stir::{DigestAlg, Rcd};

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    rcd: Rcd,
    #[serde(default)]
    rcdi: BTreeMap<String, String>,
    #[serde(default)]
    fetched: BTreeMap<String, String>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Input>(data) else {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = rcd::parse_sri(text);
        }
        return;
    };
    let fetched: Fetched = input
        .fetched
        .into_iter()
        .map(|(uri, content)| (uri, content.into_bytes()))
        .collect();
    let rcd = input.rcd;
    let _ = rcd::uri_members(&rcd);
    // As received: whatever the signer put in rcdi.
    for status in rcd::check_rcdi(&rcd, &input.rcdi, &fetched).values() {
        let _ = status.is_match();
    }
    // As signed: what this crate computes must check.
    for alg in [DigestAlg::Sha256, DigestAlg::Sha384] {
        let Ok(rcdi) = rcd::compute_rcdi(&rcd, &fetched, alg) else {
            continue;
        };
        for sri in rcdi.values() {
            assert!(rcd::parse_sri(sri).is_some(), "computed {sri:?} is not SRI");
        }
        let statuses = rcd::check_rcdi(&rcd, &rcdi, &fetched);
        let bad: Vec<(&String, &DigestStatus)> =
            statuses.iter().filter(|(_, s)| !s.is_match()).collect();
        assert!(
            bad.is_empty(),
            "rcdi computed for {rcd:?} does not check: {bad:?} (rcdi {rcdi:?})"
        );
    }
});
