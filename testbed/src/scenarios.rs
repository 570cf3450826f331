//! The registry: every solution the testbed runs, one line each. The command line, the
//! dashboard, the tests and the choices table read it; nothing else lists solutions.

pub mod sol1_hss_third_party_id;
pub mod sol2_third_party_rcd;
pub mod sol3_hss_rcd;
pub mod sol4_authz_server;
pub mod sol5_avatar_token;
pub mod sol6_avatar_attestation;
pub mod sol7_signed_avatar_id;
pub mod sol8_avatar_rcd;
pub mod sol9_dc_exposure;

use crate::solution::{Solution, Variant};

/// Every solution, in clause order.
pub const SOLUTIONS: &[Solution] = &[
    sol1_hss_third_party_id::SOLUTION,
    sol2_third_party_rcd::SOLUTION,
    sol3_hss_rcd::SOLUTION,
    sol4_authz_server::SOLUTION,
    sol5_avatar_token::SOLUTION,
    sol6_avatar_attestation::SOLUTION,
    sol7_signed_avatar_id::SOLUTION,
    sol8_avatar_rcd::SOLUTION,
    sol9_dc_exposure::SOLUTION,
];

/// The solution with this number.
pub fn solution(number: u8) -> Option<&'static Solution> {
    SOLUTIONS.iter().find(|s| s.number == number)
}

/// Every variant of every solution, in solution order.
pub fn all() -> Vec<Variant> {
    SOLUTIONS.iter().flat_map(|s| (s.variants)()).collect()
}

/// Variants matching `2` (every variant of solution 2) or `2:single` (one).
pub fn select(spec: &str) -> Vec<Variant> {
    let (solution, id) = match spec.split_once(':') {
        Some((s, v)) => (s, Some(v)),
        None => (spec, None),
    };
    all()
        .into_iter()
        .filter(|v| v.solution.to_string() == solution && id.is_none_or(|id| v.id == id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_belongs_to_its_registered_solution() {
        for s in SOLUTIONS {
            let variants = (s.variants)();
            assert!(!variants.is_empty(), "solution {} has no variant", s.number);
            for v in variants {
                assert_eq!(v.solution, s.number, "{}", v.name());
            }
        }
        let mut names: Vec<String> = all().iter().map(Variant::name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "variant names are unique");
    }
}
