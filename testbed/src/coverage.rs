//! How much of TR 33.790 the variants cover: every step of the clause 6 figures of the solutions
//! that exist (the project's step inventory, `fixtures/tr/tr-steps.md`, read by [`Inventory`]),
//! with the variants that saw it and those where it was n/a or prevented and why; and every threat
//! of clauses 5.1.2, 5.2.2 and 5.3.2 ([`crate::threats`]) with the variants that demonstrate it.
//!
//! [`observe`] runs the variants for real (as `testbed run` does); [`Report::build`] is the pure
//! arithmetic over what they observed; [`Report::text`] and [`Report::markdown`] print it. The
//! markdown form holds no timings, so README.md can carry it between [`BEGIN`] and [`END`] and a
//! test can keep it current.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crate::run::{Run, execute};
use crate::scenario::{Status, StepResult};
use crate::solution::Variant;
use crate::threats::{self, ThreatId};

/// The README marker the generated block follows.
pub const BEGIN: &str = "<!-- coverage:begin -->";
/// The README marker the generated block precedes.
pub const END: &str = "<!-- coverage:end -->";

/// What went wrong reading the step inventory.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read.
    #[error("cannot read the step inventory {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `## Sol` heading is not `## Sol N — clause, Figure F (title)` or `…, no figure (title)`.
    #[error(
        "step inventory line {line}: heading {heading:?} is not `## Sol N — clause, Figure F (title)`"
    )]
    Heading {
        /// 1-based line number.
        line: usize,
        /// The heading.
        heading: String,
    },
    /// A table row of a section has no step id.
    #[error("step inventory line {line}: a step row without a step id")]
    Row {
        /// 1-based line number.
        line: usize,
    },
    /// No section with steps.
    #[error("the step inventory lists no figure")]
    Empty,
}

/// One step row of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The TR's step id (`7-8`).
    pub id: String,
    /// The inventory's short label.
    pub label: String,
}

/// One section of the inventory: a figure's steps, or a procedure the TR draws no figure for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The solution (clause 6.N).
    pub solution: u8,
    /// The clause of the procedure (`6.2.2.3`).
    pub clause: String,
    /// The figure id (`6.2.2.3-1`); `None` for a procedure without a figure.
    pub figure: Option<String>,
    /// The inventory's title for it.
    pub title: String,
    /// Its step rows, in order.
    pub rows: Vec<Row>,
}

/// The step inventory of the TR's clause 6 figures (`fixtures/tr/tr-steps.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// Its sections, in the file's order.
    pub sections: Vec<Section>,
}

impl Inventory {
    /// Parses the inventory: `## Sol N — clause, Figure F (title)` headings (or `…, no figure
    /// (title)`), each followed by a table whose first column is the step id and last the label.
    /// Other headings (totals, notes) end a section.
    pub fn parse(text: &str) -> Result<Self, InventoryError> {
        let mut sections: Vec<Section> = Vec::new();
        let mut open = false;
        for (n, line) in text.lines().enumerate() {
            if let Some(heading) = line.strip_prefix("## ") {
                open = heading.starts_with("Sol ");
                if open {
                    sections.push(section(heading).ok_or_else(|| InventoryError::Heading {
                        line: n + 1,
                        heading: heading.to_owned(),
                    })?);
                }
                continue;
            }
            let (true, Some(row), Some(section)) =
                (open, line.strip_prefix('|'), sections.last_mut())
            else {
                continue;
            };
            let cells: Vec<&str> = row
                .trim_end_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let id = cells.first().copied().unwrap_or_default();
            if id == "step" || id.starts_with("---") {
                continue;
            }
            if id.is_empty() {
                return Err(InventoryError::Row { line: n + 1 });
            }
            section.rows.push(Row {
                id: id.to_owned(),
                label: cells.last().copied().unwrap_or_default().to_owned(),
            });
        }
        sections.retain(|s| !s.rows.is_empty());
        if sections.is_empty() {
            return Err(InventoryError::Empty);
        }
        Ok(Self { sections })
    }

    /// Reads and parses the fixture (`fixtures/tr/tr-steps.md`).
    pub fn load() -> Result<Self, InventoryError> {
        let path = kit::fixtures::dir().join("tr/tr-steps.md");
        let text = std::fs::read_to_string(&path).map_err(|source| InventoryError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The section of figure `id` (`6.2.2.3-1`).
    pub fn figure(&self, id: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.figure.as_deref() == Some(id))
    }

    /// The step ids of a variant's figure field (`6.1.2-1, 6.1.2-2`: both figures' steps, in
    /// order); `None` when a figure is not in the inventory.
    pub fn step_ids(&self, figures: &str) -> Option<Vec<&str>> {
        let mut ids = Vec::new();
        for f in figures.split(", ") {
            ids.extend(self.figure(f)?.rows.iter().map(|r| r.id.as_str()));
        }
        Some(ids)
    }
}

/// `Sol 2 — 6.2.2.3, Figure 6.2.2.3-1 (single SIP registration)`.
fn section(heading: &str) -> Option<Section> {
    let rest = heading.strip_prefix("Sol ")?;
    let (number, rest) = rest.split_once(" — ")?;
    let (clause, rest) = rest.split_once(", ")?;
    let (what, title) = rest.split_once(" (")?;
    let figure = match what.strip_prefix("Figure ") {
        Some(f) => Some(f.trim().to_owned()),
        None if what == "no figure" => None,
        None => return None,
    };
    Some(Section {
        solution: number.trim().parse().ok()?,
        clause: clause.trim().to_owned(),
        figure,
        title: title.strip_suffix(')')?.to_owned(),
        rows: Vec::new(),
    })
}

/// What one variant's run showed, as far as coverage is concerned.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The variant (`2:single`).
    pub variant: String,
    /// Its figure field (`6.1.2-1, 6.1.2-2`).
    pub figures: &'static str,
    /// Whether its threat is switched on, and the catalogue threats it demonstrates.
    pub threat: Option<&'static [ThreatId]>,
    /// Whether it passed (every step as it says, every check, no error).
    pub passed: bool,
    /// What went wrong, when it did not pass and a run error says why.
    pub error: Option<String>,
    /// One result per step of its figure(s).
    pub steps: Vec<StepResult>,
}

impl Observed {
    /// From a run.
    pub fn of(run: &Run) -> Self {
        Self {
            error: run.error.clone(),
            passed: run.passed(),
            steps: run.steps.clone(),
            ..Self::failed(&run.variant, None)
        }
    }

    /// A variant that did not run to the end (`error` says why).
    pub fn failed(variant: &Variant, error: Option<String>) -> Self {
        Self {
            variant: variant.name(),
            figures: variant.figure.figure,
            threat: variant.threat.map(|t| t.ids),
            passed: false,
            error,
            steps: Vec::new(),
        }
    }
}

/// Runs `variants` for real, `jobs` worlds at once, with `seed`; one observation each, in order.
/// A run that panics counts as failed.
pub async fn observe(variants: &[Variant], seed: u64, jobs: usize) -> Vec<Observed> {
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let handles: Vec<_> = variants
        .iter()
        .map(|v| {
            let (v, permits) = (v.clone(), permits.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                Observed::of(&execute(&v, seed).await)
            })
        })
        .collect();
    let mut observed = Vec::with_capacity(variants.len());
    for (v, handle) in variants.iter().zip(handles) {
        observed.push(match handle.await {
            Ok(o) => o,
            Err(e) => Observed::failed(v, Some(format!("the run panicked: {e}"))),
        });
    }
    observed
}

/// Why a step was absent from a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    /// The variant's option does not take it.
    NotTaken(&'static str),
    /// The variant's threat was stopped before it, by this step's check.
    Prevented(&'static str),
}

impl std::fmt::Display for Absence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Absence::NotTaken(why) => write!(f, "n/a: {why}"),
            Absence::Prevented(by) => write!(f, "prevented by step {by}'s check"),
        }
    }
}

/// One inventory step and what the passing variants made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCoverage {
    /// The step id.
    pub id: String,
    /// The inventory's label.
    pub label: String,
    /// The variants that saw it.
    pub seen: Vec<String>,
    /// The variants where it was absent, and why.
    pub absent: Vec<(String, Absence)>,
}

impl StepCoverage {
    /// Seen by at least one passing variant (n/a or prevented everywhere is not covered).
    pub fn covered(&self) -> bool {
        !self.seen.is_empty()
    }

    /// The reasons it was absent, each with its variants, in first-seen order.
    pub fn reasons(&self) -> Vec<(Absence, Vec<&str>)> {
        let mut out: Vec<(Absence, Vec<&str>)> = Vec::new();
        for (v, why) in &self.absent {
            match out.iter_mut().find(|(w, _)| w == why) {
                Some((_, vs)) => vs.push(v),
                None => out.push((*why, vec![v])),
            }
        }
        out
    }
}

/// One figure's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureCoverage {
    /// The solution.
    pub solution: u8,
    /// The figure id.
    pub figure: String,
    /// The inventory's title.
    pub title: String,
    /// Its steps.
    pub steps: Vec<StepCoverage>,
}

impl FigureCoverage {
    /// (steps covered, steps).
    pub fn count(&self) -> (usize, usize) {
        let covered = self.steps.iter().filter(|s| s.covered()).count();
        (covered, self.steps.len())
    }
}

/// One catalogue threat and the variants that demonstrate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreatCoverage {
    /// The threat.
    pub entry: &'static threats::Entry,
    /// The variants naming it that passed.
    pub passed: Vec<String>,
    /// The variants naming it that failed (they cover nothing).
    pub failed: Vec<String>,
}

/// The coverage of the TR by a set of runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every figure of the solutions that exist, in inventory order.
    pub figures: Vec<FigureCoverage>,
    /// Procedures of those solutions the TR draws no figure for (no variant can follow them as a
    /// figure; not counted): (solution, clause, title, rows).
    pub without_figure: Vec<(u8, String, String, usize)>,
    /// Every catalogue threat.
    pub threats: Vec<ThreatCoverage>,
    /// Passing variants whose threat is switched on but names no catalogue threat.
    pub unmapped: Vec<String>,
    /// How many variants ran.
    pub variants: usize,
    /// The variants that failed, with what went wrong.
    pub failed: Vec<(String, String)>,
    /// Passing variants whose steps do not line up with the inventory (they cover nothing).
    pub problems: Vec<String>,
}

/// The totals of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// (solution, steps covered, steps), per solution.
    pub per_solution: Vec<(u8, usize, usize)>,
    /// (steps covered, steps) over all.
    pub steps: (usize, usize),
    /// (threats demonstrated by a passing variant, threats).
    pub threats: (usize, usize),
    /// (variants passed, variants).
    pub variants: (usize, usize),
}

impl Report {
    /// The coverage of `inventory`'s figures of `solutions` and of the threat catalogue by
    /// `observed`. Only passing variants cover anything.
    pub fn build(inventory: &Inventory, solutions: &[u8], observed: &[Observed]) -> Self {
        let mut figures: Vec<FigureCoverage> = Vec::new();
        let mut without_figure = Vec::new();
        for s in inventory
            .sections
            .iter()
            .filter(|s| solutions.contains(&s.solution))
        {
            let Some(figure) = &s.figure else {
                without_figure.push((s.solution, s.clause.clone(), s.title.clone(), s.rows.len()));
                continue;
            };
            figures.push(FigureCoverage {
                solution: s.solution,
                figure: figure.clone(),
                title: s.title.clone(),
                steps: s
                    .rows
                    .iter()
                    .map(|r| StepCoverage {
                        id: r.id.clone(),
                        label: r.label.clone(),
                        seen: Vec::new(),
                        absent: Vec::new(),
                    })
                    .collect(),
            });
        }
        let mut failed = Vec::new();
        let mut problems = Vec::new();
        let mut unmapped = Vec::new();
        for o in observed {
            if !o.passed {
                let why = o
                    .error
                    .clone()
                    .unwrap_or_else(|| "a TR step or a check came out wrong".to_owned());
                failed.push((o.variant.clone(), why));
                continue;
            }
            if o.threat.is_some_and(<[ThreatId]>::is_empty) {
                unmapped.push(o.variant.clone());
            }
            match place(&figures, o) {
                Ok(places) => {
                    for ((f, s), result) in places.into_iter().zip(&o.steps) {
                        let step = &mut figures[f].steps[s];
                        match result.status {
                            Status::Seen { .. } => step.seen.push(o.variant.clone()),
                            Status::NotTaken { why } => step
                                .absent
                                .push((o.variant.clone(), Absence::NotTaken(why))),
                            Status::Prevented { by } => step
                                .absent
                                .push((o.variant.clone(), Absence::Prevented(by))),
                            Status::Missing { .. } | Status::Happened { .. } => {}
                        }
                    }
                }
                Err(problem) => problems.push(format!("{}: {problem}", o.variant)),
            }
        }
        let threats = threats::CATALOGUE
            .iter()
            .map(|entry| {
                let naming = |passed: bool| -> Vec<String> {
                    observed
                        .iter()
                        .filter(|o| o.passed == passed)
                        .filter(|o| o.threat.is_some_and(|ids| ids.contains(&entry.id)))
                        .map(|o| o.variant.clone())
                        .collect()
                };
                ThreatCoverage {
                    entry,
                    passed: naming(true),
                    failed: naming(false),
                }
            })
            .collect();
        Self {
            figures,
            without_figure,
            threats,
            unmapped,
            variants: observed.len(),
            failed,
            problems,
        }
    }

    /// The totals.
    pub fn totals(&self) -> Totals {
        let mut per_solution: Vec<(u8, usize, usize)> = Vec::new();
        for f in &self.figures {
            let (covered, all) = f.count();
            match per_solution.iter_mut().find(|(s, _, _)| *s == f.solution) {
                Some((_, c, a)) => {
                    *c += covered;
                    *a += all;
                }
                None => per_solution.push((f.solution, covered, all)),
            }
        }
        let steps = per_solution
            .iter()
            .fold((0, 0), |(c, a), (_, fc, fa)| (c + fc, a + fa));
        let demonstrated = self.threats.iter().filter(|t| !t.passed.is_empty()).count();
        Totals {
            per_solution,
            steps,
            threats: (demonstrated, self.threats.len()),
            variants: (self.variants - self.failed.len(), self.variants),
        }
    }

    /// Every step covered, every threat demonstrated, every variant passed and lined up.
    pub fn complete(&self) -> bool {
        let t = self.totals();
        t.steps.0 == t.steps.1
            && t.threats.0 == t.threats.1
            && t.variants.0 == t.variants.1
            && self.problems.is_empty()
    }

    /// The full report: every step with its variants and reasons, every threat, the totals.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "TR 33.790 coverage by {} variants run for real: the steps of the clause 6 figures (fixtures/tr/tr-steps.md) and the threats of clause 5.\n",
            self.variants
        );
        for f in &self.figures {
            let (covered, all) = f.count();
            let _ = writeln!(
                out,
                "Solution {} · Figure {} ({}): {covered}/{all} steps seen",
                f.solution, f.figure, f.title
            );
            for s in &f.steps {
                let seen = if s.covered() {
                    format!("seen in {}", s.seen.join(", "))
                } else if s.absent.is_empty() {
                    "MISSING: no variant takes it".to_owned()
                } else {
                    "MISSING: never seen, only absent".to_owned()
                };
                let _ = writeln!(out, "  {:<10} {} — {seen}", s.id, s.label);
                for (why, variants) in s.reasons() {
                    let _ = writeln!(out, "  {:<10}   {why} — {}", "", variants.join(", "));
                }
            }
            out.push('\n');
        }
        for (solution, clause, title, rows) in &self.without_figure {
            let _ = writeln!(
                out,
                "Solution {solution} · §{clause} ({title}): no figure, {rows} rows not counted\n"
            );
        }
        let _ = writeln!(out, "Threats of clause 5");
        for t in &self.threats {
            let shown = if t.passed.is_empty() {
                "NOT DEMONSTRATED".to_owned()
            } else {
                format!("demonstrated (passed) by {}", t.passed.join(", "))
            };
            let _ = writeln!(out, "  {:<9} {} — {shown}", t.entry.label, t.entry.text);
            if !t.failed.is_empty() {
                let _ = writeln!(out, "  {:<9}   failed: {}", "", t.failed.join(", "));
            }
        }
        if !self.unmapped.is_empty() {
            let _ = writeln!(
                out,
                "  Threat variants that demonstrate none of these as the TR states them: {}",
                self.unmapped.join(", ")
            );
        }
        out.push('\n');
        for (v, why) in &self.failed {
            let _ = writeln!(out, "FAILED {v}: {why}");
        }
        for p in &self.problems {
            let _ = writeln!(out, "NOT LINED UP {p}");
        }
        out.push_str(&self.totals_line());
        out.push('\n');
        out
    }

    fn totals_line(&self) -> String {
        let t = self.totals();
        let per: Vec<String> = t
            .per_solution
            .iter()
            .map(|(s, c, a)| format!("{s}: {c}/{a}"))
            .collect();
        format!(
            "Totals: TR steps seen {}/{} ({}) · threats demonstrated {}/{} · variants passed {}/{} · {}",
            t.steps.0,
            t.steps.1,
            per.join(", "),
            t.threats.0,
            t.threats.1,
            t.variants.0,
            t.variants.1,
            if self.complete() {
                "complete"
            } else {
                "INCOMPLETE"
            }
        )
    }

    /// The README form: one row per figure (each step with the number of variants that saw it),
    /// the threats table, the totals. Deterministic: no timings.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Generated by `testbed coverage --markdown`, which runs every variant for real; `cargo test -p testbed --test coverage` keeps it current.\n"
        );
        let _ = writeln!(
            out,
            "Each step of a figure is shown as `id ×n`: seen in n variants. A step no variant sees is not covered: **missing** when no variant takes it, **not seen** with the reasons when it is only ever n/a or prevented (`testbed coverage` lists the variants).\n"
        );
        let _ = writeln!(
            out,
            "| sol. | figure | steps seen | steps (× variants that saw them) |"
        );
        let _ = writeln!(out, "|---|---|---|---|");
        let mut unplaced: Vec<_> = self.without_figure.iter().collect();
        for (n, f) in self.figures.iter().enumerate() {
            let (covered, all) = f.count();
            let steps: Vec<String> = f
                .steps
                .iter()
                .map(|s| {
                    let reasons: Vec<String> =
                        s.reasons().iter().map(|(why, _)| why.to_string()).collect();
                    if s.covered() {
                        format!("{} ×{}", s.id, s.seen.len())
                    } else if reasons.is_empty() {
                        format!("**{} missing**", s.id)
                    } else {
                        format!("**{} not seen** ({})", s.id, reasons.join("; "))
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} ({}) | {covered}/{all} | {} |",
                f.solution,
                f.figure,
                cell(&f.title),
                cell(&steps.join(" · "))
            );
            // A procedure without a figure follows its solution's last figure.
            if self
                .figures
                .get(n + 1)
                .is_none_or(|next| next.solution != f.solution)
            {
                let (here, rest): (Vec<_>, Vec<_>) =
                    unplaced.into_iter().partition(|w| w.0 == f.solution);
                unplaced = rest;
                no_figure_rows(&mut out, &here);
            }
        }
        no_figure_rows(&mut out, &unplaced);

        let _ = writeln!(out, "\n| threat | in our words | demonstrated by |");
        let _ = writeln!(out, "|---|---|---|");
        for t in &self.threats {
            let mut by: Vec<String> = t.passed.iter().map(|v| format!("`{v}`")).collect();
            by.extend(t.failed.iter().map(|v| format!("`{v}` (failed)")));
            let by = if by.is_empty() {
                "**none**".to_owned()
            } else {
                by.join(", ")
            };
            let _ = writeln!(out, "| {} | {} | {by} |", t.entry.label, cell(t.entry.text));
        }
        if !self.unmapped.is_empty() {
            let list: Vec<String> = self.unmapped.iter().map(|v| format!("`{v}`")).collect();
            let _ = writeln!(
                out,
                "\nVariants with a threat switched on that demonstrate none of these as the TR states them (a changed source, a misused certificate, a check without an attacker): {}.",
                list.join(", ")
            );
        }
        for (v, _) in &self.failed {
            let _ = writeln!(out, "\n**{v} failed.**");
        }
        let _ = writeln!(out, "\n{}", self.totals_line());
        out
    }
}

/// Where each of a variant's step results goes: (figure index, step index), in order, or why
/// they do not line up with the inventory.
fn place(figures: &[FigureCoverage], o: &Observed) -> Result<Vec<(usize, usize)>, String> {
    let mut places = Vec::new();
    for id in o.figures.split(", ") {
        let f = figures
            .iter()
            .position(|f| f.figure == id)
            .ok_or_else(|| format!("Figure {id} is not in the inventory"))?;
        places.extend((0..figures[f].steps.len()).map(|s| (f, s)));
    }
    if places.len() != o.steps.len() {
        return Err(format!(
            "{} step results for the {} steps of Figure {}",
            o.steps.len(),
            places.len(),
            o.figures
        ));
    }
    for (&(f, s), result) in places.iter().zip(&o.steps) {
        let want = &figures[f].steps[s].id;
        if result.step != want.as_str() {
            return Err(format!(
                "step {} where Figure {} has step {want}",
                result.step, figures[f].figure
            ));
        }
    }
    Ok(places)
}

/// The markdown rows of procedures without a figure: (solution, clause, title, rows).
fn no_figure_rows(out: &mut String, sections: &[&(u8, String, String, usize)]) {
    for (solution, clause, title, rows) in sections {
        let _ = writeln!(
            out,
            "| {solution} | §{clause} ({}) | not counted | no figure in the TR ({rows} inventory rows) |",
            cell(title)
        );
    }
}

/// A table cell: no pipes, no line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// README.md with the text between [`BEGIN`] and [`END`] replaced by `markdown`; `None` when the
/// markers are missing or out of order.
pub fn replace_block(readme: &str, markdown: &str) -> Option<String> {
    let start = readme.find(BEGIN)? + BEGIN.len();
    let end = start + readme[start..].find(END)?;
    Some(format!(
        "{}\n\n{}\n{}",
        &readme[..start],
        markdown.trim_end(),
        &readme[end..]
    ))
}

/// The text between README.md's markers, trimmed; `None` when they are missing.
pub fn block(readme: &str) -> Option<&str> {
    let start = readme.find(BEGIN)? + BEGIN.len();
    let end = start + readme[start..].find(END)?;
    Some(readme[start..end].trim())
}

/// `testbed coverage`: runs every variant (`jobs` at once), prints the report (the README form
/// when `markdown`) and says whether the coverage is complete.
pub fn command(jobs: usize, markdown: bool) -> anyhow::Result<bool> {
    let inventory = Inventory::load()?;
    let variants = crate::scenarios::all();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let observed = runtime.block_on(observe(&variants, 1, jobs));
    let solutions: Vec<u8> = crate::scenarios::SOLUTIONS
        .iter()
        .map(|s| s.number)
        .collect();
    let report = Report::build(&inventory, &solutions, &observed);
    if markdown {
        print!("{}", report.markdown());
    } else {
        print!("{}", report.text());
    }
    for (v, why) in &report.failed {
        eprintln!("FAIL {v}: {why}");
    }
    Ok(report.complete())
}

#[cfg(test)]
mod tests;
