//! The left pane: the solutions grouped by key issue with how their variants fared, the
//! selected solution's variants, and the selected variant's threat.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Palette;
use crate::dashboard::app::App;
use crate::dashboard::model::View;

/// A solution's mark (`—` not in the testbed, `·` not run, `✔2/3` or `✘1/3` for the variants
/// run) and whether every variant run passed.
fn solution_mark(app: &App, solution: u8) -> (String, bool) {
    let variants: Vec<String> = app
        .catalogue
        .iter()
        .filter(|v| v.solution == solution)
        .map(|v| v.name())
        .collect();
    if variants.is_empty() {
        return ("—".into(), true);
    }
    let ran: Vec<&View> = variants.iter().filter_map(|n| app.results.get(n)).collect();
    if ran.is_empty() {
        return ("·".into(), true);
    }
    let ok = ran.iter().all(|v| v.passed);
    (
        format!(
            "{}{}/{}",
            if ok { "✔" } else { "✘" },
            ran.len(),
            variants.len()
        ),
        ok,
    )
}

/// Draws the left pane.
pub(super) fn sidebar(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut group = String::new();
    let wide = area.width >= 30;
    for solution in crate::scenarios::SOLUTIONS {
        let n = solution.number;
        let title = if wide { solution.title } else { solution.short };
        let ki = format!(
            "KI#{} {}",
            solution.key_issue.number, solution.key_issue.title
        );
        if ki != group {
            group = ki.clone();
            lines.push(Line::styled(ki, p.title));
        }
        let clause = solution.clause;
        let (mark, ok) = solution_mark(app, n);
        let available = app.catalogue.iter().any(|v| v.solution == n);
        let style = if n == app.solution {
            p.selected
        } else if !available {
            p.dim
        } else if !ok {
            p.fail
        } else {
            Style::new()
        };
        lines.push(Line::styled(format!("{n} §{clause} {title} {mark}"), style));
    }
    variant_lines(app, p, &mut lines);
    let block = Block::new().borders(Borders::RIGHT).title(" Solutions ");
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

/// The selected solution's variants, then the selected variant's title and threat.
fn variant_lines(app: &App, p: &Palette, lines: &mut Vec<Line<'_>>) {
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("Solution {} variants (v)", app.solution),
        p.title,
    ));
    for (i, v) in app.variants().iter().enumerate() {
        let result = match app.results.get(&v.name()) {
            Some(r) if r.passed => "✔",
            Some(_) => "✘",
            None => "·",
        };
        let threat = if v.threat.is_some() { "⚠ " } else { "" };
        let style = if i == app.variant {
            p.selected
        } else {
            Style::new()
        };
        lines.push(Line::styled(format!("{result} {threat}{}", v.id), style));
    }
    if let Some(v) = app.current() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(v.title.to_string(), p.dim));
        if let Some(t) = v.threat {
            lines.push(Line::styled(
                format!("threat: §{} {}", t.clause, t.text),
                p.security,
            ));
        }
    }
}
