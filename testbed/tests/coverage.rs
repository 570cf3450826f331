//! The TR coverage: every variant is run for real once, the coverage computed in-process. The
//! table in README.md (between the coverage markers) is its markdown, and it is complete: every
//! step of the solutions' figures seen, every threat of clause 5 demonstrated, every variant
//! passed. `COVERAGE_UPDATE=1 cargo test -p testbed --test coverage` rewrites the README block.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use testbed::coverage::{self, Inventory, Report};
use testbed::{scenarios, threats};

/// The report of one run of every variant, shared by the tests (the first to ask runs them).
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let inventory = Inventory::load().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let observed = runtime.block_on(coverage::observe(&scenarios::all(), 1, 4));
        let solutions: Vec<u8> = scenarios::SOLUTIONS.iter().map(|s| s.number).collect();
        Report::build(&inventory, &solutions, &observed)
    })
}

#[test]
fn the_readme_table_is_current() {
    let markdown = report().markdown();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    if std::env::var_os("COVERAGE_UPDATE").is_some() {
        let updated = coverage::replace_block(&readme, &markdown)
            .expect("README.md has the coverage markers");
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let block = coverage::block(&readme).expect("README.md has the coverage markers");
    assert!(
        block == markdown.trim(),
        "README.md's TR coverage table is out of date. The fresh block:\n\n{markdown}\n\
         Regenerate it with `COVERAGE_UPDATE=1 cargo test -p testbed --test coverage` \
         (or paste the output of `cargo run -p testbed -- coverage --markdown`)."
    );
}

#[test]
fn every_step_and_threat_is_covered_and_every_variant_passes() {
    let report = report();
    let totals = report.totals();
    assert_eq!(
        totals.variants.0, totals.variants.1,
        "failed: {:?}",
        report.failed
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Solutions 1 to 9, every figure: the inventory's 153 rows but the two of §6.4.2.2, which
    // the TR draws no figure for.
    assert_eq!(totals.per_solution.len(), 9);
    assert_eq!(totals.steps.1, 151);
    let uncovered: Vec<String> = report
        .figures
        .iter()
        .flat_map(|f| {
            f.steps
                .iter()
                .filter(|s| !s.covered())
                .map(move |s| format!("Figure {} step {}", f.figure, s.id))
        })
        .collect();
    assert!(
        uncovered.is_empty(),
        "steps no passing variant sees: {uncovered:?}\n{}",
        report.text()
    );
    let n = threats::CATALOGUE.len();
    assert_eq!(totals.threats, (n, n), "{}", report.text());
    assert!(report.complete());
}
