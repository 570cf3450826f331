//! The scenario catalogue: every solution's variants, in one list the command line, the tests
//! and (later) the dashboard read.

pub mod sol1_hss_third_party_id;
pub mod sol2_third_party_rcd;
pub mod sol3_hss_rcd;
pub mod sol4_authz_server;

use crate::run::Variant;

/// Every variant of every solution, in solution order.
pub fn all() -> Vec<Variant> {
    let mut all = sol1_hss_third_party_id::variants();
    all.extend(sol2_third_party_rcd::variants());
    all.extend(sol3_hss_rcd::variants());
    all.extend(sol4_authz_server::variants());
    all
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
