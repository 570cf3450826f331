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
        out.push(Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::raw(clip(line, width.saturating_sub(4))),
        ]));
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

/// The rows the pane needs at the selected row (its lines and the border), if any.
pub(super) fn height(app: &App) -> Option<u16> {
    let (view, idx) = (app.view()?, app.selected_entry()?);
    let card = view.exposure_at(idx)?;
    let n = usize::from(card.decision.is_some()) + if card.before.is_some() { 6 } else { 0 };
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
