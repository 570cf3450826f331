//! Coverage on hand-made inventories and step results: parsing, the arithmetic, the forms.
#![allow(clippy::unwrap_used)]

use super::*;

const INVENTORY: &str = "\
# inventory

## Totals

| figure | step rows |
|---|---|
| Sol 1: Figure 6.1.2-1 | 3 |

## Sol 1 — 6.1.2, Figure 6.1.2-1 (originating network)

| step | from | to | interface/protocol | label |
|---|---|---|---|---|
| 1 | UE-A | CSCF* | SIP INVITE | INVITE out |
| 7-8 | IMS AS | Signing Server | HTTP (Ms signing) | 7 sign; 8 PASSporT |

## Sol 1 — 6.1.2, Figure 6.1.2-2 (terminating network)

| step | from | to | interface/protocol | label |
|---|---|---|---|---|
| 10b | originating network* | CSCF | SIP INVITE | INVITE in |

## Sol 4 — 6.4.2.2, no figure (alternative authorisation)

| step | from | to | interface/protocol | label |
|---|---|---|---|---|
| 3 (alt.) | AS | UE | not stated | authenticate |

## Sol 5 — 6.5.2, Figure 6.5.2-1 (avatars)

| step | from | to | interface/protocol | label |
|---|---|---|---|---|
| Steps 3, 4 | XR AS | DCSF → MF/MRF | not stated | Avatar ID on |

## Ambiguities noticed

| not | a | step |
";

fn inventory() -> Inventory {
    Inventory::parse(INVENTORY).unwrap()
}

#[test]
fn the_inventory_parses_figures_rows_and_sections_without_figure() {
    let inv = inventory();
    let figures: Vec<Option<&str>> = inv.sections.iter().map(|s| s.figure.as_deref()).collect();
    assert_eq!(
        figures,
        [Some("6.1.2-1"), Some("6.1.2-2"), None, Some("6.5.2-1")]
    );
    let first = &inv.sections[0];
    assert_eq!((first.solution, first.clause.as_str()), (1, "6.1.2"));
    assert_eq!(first.title, "originating network");
    assert_eq!(
        first.rows[1],
        Row {
            id: "7-8".into(),
            label: "7 sign; 8 PASSporT".into()
        }
    );
    assert_eq!(inv.sections[2].rows[0].id, "3 (alt.)");
    assert_eq!(inv.sections[3].rows[0].id, "Steps 3, 4");
    assert_eq!(
        inv.step_ids("6.1.2-1, 6.1.2-2"),
        Some(vec!["1", "7-8", "10b"])
    );
    assert_eq!(inv.step_ids("6.1.2-1, 6.9.9-1"), None);
}

#[test]
fn bad_inventories_say_where() {
    let heading = Inventory::parse("## Sol x — 6.1, Figure 6.1-1 (t)\n").unwrap_err();
    assert!(heading.to_string().contains("line 1"), "{heading}");
    let row = Inventory::parse("## Sol 1 — 6.1, Figure 6.1-1 (t)\n\n|  | a | b |\n").unwrap_err();
    assert!(matches!(row, InventoryError::Row { line: 3 }), "{row}");
    assert!(matches!(
        Inventory::parse("# nothing\n"),
        Err(InventoryError::Empty)
    ));
}

#[test]
fn the_project_inventory_parses() {
    let inv = Inventory::load().unwrap();
    let rows: usize = inv.sections.iter().map(|s| s.rows.len()).sum();
    assert_eq!(rows, 153, "the inventory's own total");
    assert_eq!(
        inv.sections.iter().filter(|s| s.figure.is_none()).count(),
        1
    );
}

fn seen(step: &'static str) -> StepResult {
    StepResult {
        step,
        status: Status::Seen { records: vec![0] },
    }
}

fn not_taken(step: &'static str, why: &'static str) -> StepResult {
    StepResult {
        step,
        status: Status::NotTaken { why },
    }
}

fn observed(
    variant: &str,
    figures: &'static str,
    threat: Option<&'static [ThreatId]>,
    passed: bool,
    steps: Vec<StepResult>,
) -> Observed {
    Observed {
        variant: variant.into(),
        figures,
        threat,
        passed,
        error: None,
        steps,
    }
}

/// Solution 1's two figures and solution 5's one: 1:a sees everything of solution 1 but step
/// 7-8; 1:b sees 7-8 but fails; 5:x has 'Steps 3, 4' only n/a.
fn sample() -> Vec<Observed> {
    vec![
        observed(
            "1:a",
            "6.1.2-1, 6.1.2-2",
            None,
            true,
            vec![seen("1"), not_taken("7-8", "option A"), seen("10b")],
        ),
        observed(
            "1:b",
            "6.1.2-1, 6.1.2-2",
            Some(&[ThreatId::ForgedId]),
            false,
            vec![seen("1"), seen("7-8"), seen("10b")],
        ),
        observed(
            "1:c",
            "6.1.2-1, 6.1.2-2",
            Some(&[ThreatId::IdInTransit]),
            true,
            vec![
                seen("1"),
                StepResult {
                    step: "7-8",
                    status: Status::Prevented { by: "1" },
                },
                seen("10b"),
            ],
        ),
        observed(
            "5:x",
            "6.5.2-1",
            Some(&[]),
            true,
            vec![not_taken("Steps 3, 4", "no avatar")],
        ),
    ]
}

#[test]
fn coverage_counts_only_steps_seen_by_passing_variants() {
    let report = Report::build(&inventory(), &[1, 4, 5], &sample());
    let f1 = &report.figures[0];
    assert_eq!(f1.steps[0].seen, ["1:a", "1:c"]);
    assert!(!f1.steps[1].covered(), "seen only by the failed 1:b");
    assert_eq!(
        f1.steps[1].reasons(),
        [
            (Absence::NotTaken("option A"), vec!["1:a"]),
            (Absence::Prevented("1"), vec!["1:c"])
        ]
    );
    assert!(!report.figures[2].steps[0].covered(), "n/a only");
    assert_eq!(report.without_figure.len(), 1);
    let t = report.totals();
    assert_eq!(t.per_solution, [(1, 2, 3), (5, 0, 1)]);
    assert_eq!(t.steps, (2, 4));
    assert_eq!(t.variants, (3, 4));
    assert_eq!(t.threats, (1, threats::CATALOGUE.len()));
    let forged = &report.threats[0];
    assert_eq!(forged.entry.id, ThreatId::ForgedId);
    assert!(forged.passed.is_empty());
    assert_eq!(forged.failed, ["1:b"]);
    assert_eq!(report.threats[2].passed, ["1:c"]);
    assert_eq!(report.unmapped, ["5:x"]);
    assert_eq!(report.failed.len(), 1);
    assert!(!report.complete());
}

#[test]
fn only_the_solutions_named_are_counted() {
    let report = Report::build(&inventory(), &[5], &sample()[3..]);
    assert_eq!(report.figures.len(), 1);
    assert!(report.without_figure.is_empty());
    assert_eq!(report.totals().steps, (0, 1));
}

#[test]
fn complete_when_every_step_and_threat_is_covered_and_every_variant_passed() {
    let inv = Inventory::parse(
        "## Sol 1 — 6.1.2, Figure 6.1.2-1 (o)\n| step | label |\n|---|---|\n| 1 | x |\n",
    )
    .unwrap();
    let all: Vec<ThreatId> = threats::CATALOGUE.iter().map(|e| e.id).collect();
    let all: &'static [ThreatId] = Box::leak(all.into_boxed_slice());
    let run = vec![observed("1:a", "6.1.2-1", Some(all), true, vec![seen("1")])];
    let report = Report::build(&inv, &[1], &run);
    assert!(report.complete(), "{}", report.text());
    assert!(report.text().contains("complete"));
    // The same with steps that do not line up: not complete, and said.
    let run = vec![observed("1:a", "6.1.2-1", Some(all), true, vec![seen("2")])];
    let report = Report::build(&inv, &[1], &run);
    assert!(!report.complete());
    assert_eq!(
        report.problems,
        ["1:a: step 2 where Figure 6.1.2-1 has step 1"]
    );
}

#[test]
fn the_markdown_has_a_row_per_figure_the_threats_and_the_totals() {
    let report = Report::build(&inventory(), &[1, 4, 5], &sample());
    let md = report.markdown();
    assert!(
        md.contains("| 1 | 6.1.2-1 (originating network) | 1/2 | 1 ×2 · **7-8 not seen** (n/a: option A; prevented by step 1's check) |"),
        "{md}"
    );
    assert!(
        md.contains("| 1 | 6.1.2-2 (terminating network) | 1/1 | 10b ×2 |"),
        "{md}"
    );
    assert!(
        md.contains("| 5 | 6.5.2-1 (avatars) | 0/1 | **Steps 3, 4 not seen** (n/a: no avatar) |"),
        "{md}"
    );
    assert!(
        md.contains("| 4 | §6.4.2.2 (alternative authorisation) | not counted |"),
        "{md}"
    );
    assert!(md.contains("| 5.1.2-1 | "), "{md}");
    assert!(md.contains("| `1:b` (failed) |"), "{md}");
    assert!(
        md.contains("| 5.1.2-3 | ") && md.contains("| `1:c` |"),
        "{md}"
    );
    assert!(
        md.contains("| 5.3.2-2b | ") && md.contains("| **none** |"),
        "{md}"
    );
    assert!(md.contains("**1:b failed.**"), "{md}");
    assert!(
        md.trim_end().ends_with(
            "Totals: TR steps seen 2/4 (1: 2/3, 5: 0/1) · threats demonstrated 1/11 · variants passed 3/4 · INCOMPLETE"
        ),
        "{md}"
    );
    assert_eq!(md, report.markdown(), "deterministic");
}

#[test]
fn the_text_gives_reasons_and_missing_steps() {
    let text = Report::build(&inventory(), &[1, 4, 5], &sample()).text();
    assert!(text.contains("n/a: option A — 1:a"), "{text}");
    assert!(text.contains("prevented by step 1's check — 1:c"), "{text}");
    assert!(
        text.contains("7-8        7 sign; 8 PASSporT — MISSING: never seen, only absent"),
        "{text}"
    );
    assert!(text.contains("FAILED 1:b"), "{text}");
    assert!(text.contains("NOT DEMONSTRATED"), "{text}");
}

#[test]
fn the_readme_block_is_replaced_between_the_markers() {
    let readme = format!("# T\n\n## TR coverage\n\n{BEGIN}\nold\n{END}\n\n## The command line\n");
    let new = replace_block(&readme, "| a |\n").unwrap();
    assert_eq!(
        new,
        format!("# T\n\n## TR coverage\n\n{BEGIN}\n\n| a |\n{END}\n\n## The command line\n")
    );
    assert_eq!(block(&new), Some("| a |"));
    assert_eq!(replace_block("no markers", "x"), None);
    assert_eq!(block(&format!("{END} {BEGIN}")), None);
}
