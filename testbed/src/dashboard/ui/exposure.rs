//! The DC exposure pane (solution 9): the NEF's latest policy decision up to the selected row,
//! and the latest DC event notification side by side as the DCSF sent it to the NEF and as the
//! AF received it, so stepping through the ladder shows what anonymisation took out. Drawn
//! under the details when the run has any, and there is room.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use serde_json::Value;

use super::Palette;
use crate::dashboard::app::App;
use crate::dashboard::model::ExposureCard;

/// The notification fields shown, in order: (label, JSON pointer).
const FIELDS: [(&str, &str); 5] = [
    ("event", "/event"),
    ("caller", "/caller"),
    ("callee", "/callee"),
    ("dc", "/dcId"),
    ("app", "/app"),
];

/// The card's lines: the decision, then a table of the notification before and after.
fn lines<'a>(card: &ExposureCard<'_>, width: usize, p: &Palette) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    if let Some((granted, line)) = card.decision {
        let (mark, style) = if granted {
            ("✔", p.pass)
        } else {
            ("✘", p.fail)
        };
        for (i, part) in wrap(line, width.saturating_sub(4), DECISION_LINES)
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 {
                format!(" {mark} ")
            } else {
                "   ".into()
            };
            out.push(Line::from(vec![Span::styled(lead, style), Span::raw(part)]));
        }
    }
    let Some(before) = card.before else {
        return out;
    };
    let col = width.saturating_sub(10) / 2;
    out.push(Line::styled(
        format!(
            " {:<7} {:<col$} {}",
            "", "DCSF → NEF (before)", "NEF → AF (after)"
        ),
        p.title,
    ));
    for (label, at) in FIELDS {
        let b = field(before.pointer(at));
        let a = card.after.map_or("…".to_owned(), |v| field(v.pointer(at)));
        let style = if a == b { p.dim } else { p.step };
        out.push(Line::from(vec![
            Span::raw(format!(" {label:<7} {:<col$} ", clip(&b, col))),
            Span::styled(clip(&a, col), style),
        ]));
    }
    out
}

/// How many lines the decision may take.
const DECISION_LINES: usize = 3;

/// `text` wrapped at spaces into at most `max` lines of `width` characters (the last one cut).
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let len = current.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max {
        let rest = lines.split_off(max - 1).join(" ");
        lines.push(rest);
    }
    lines.into_iter().map(|l| clip(&l, width)).collect()
}

/// A field's value as one short string (`-` when absent).
fn field(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => {
            let id = o.get("id").and_then(Value::as_str).unwrap_or("?");
            match o.get("name").and_then(Value::as_str) {
                Some(name) => format!("{id} ({name})"),
                None => id.to_owned(),
            }
        }
        Some(other) => other.to_string(),
    }
}

/// `s` cut to `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(n.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The rows the pane needs at the selected row (its lines and the border), if any, when it is
/// `width` columns wide.
pub(super) fn height(app: &App, width: u16) -> Option<u16> {
    let (view, idx) = (app.view()?, app.selected_entry()?);
    let card = view.exposure_at(idx)?;
    let text = usize::from(width.saturating_sub(2)).saturating_sub(4);
    let decision = card
        .decision
        .map_or(0, |(_, line)| wrap(line, text, DECISION_LINES).len());
    let n = decision + if card.before.is_some() { 6 } else { 0 };
    u16::try_from(n + 2).ok()
}

/// Draws the card in `area`.
pub(super) fn pane(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let (Some(view), Some(idx)) = (app.view(), app.selected_entry()) else {
        return;
    };
    let Some(card) = view.exposure_at(idx) else {
        return;
    };
    let width = usize::from(area.width.saturating_sub(2));
    frame.render_widget(
        Paragraph::new(lines(&card, width, p)).block(
            Block::bordered()
                .title(" DC exposure: policy decision · notification before/after ")
                .title_style(p.title),
        ),
        area,
    );
}
