//! The middle pane: the flow as a ladder. Lanes (one column per node, arrows between them)
//! when they fit beside the labels, else a list of `from→to` rows. The selection stays in the
//! middle of the pane as it moves.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{LadderGeometry, Palette};
use crate::dashboard::app::App;
use crate::dashboard::model::{Entry, View};

/// Width of one lane in the lane view.
const LANE: usize = 3;
/// Header rows over the lanes: names are staggered over this many rows.
const STAGGER: usize = 3;

/// How rows are drawn.
#[derive(Clone, Copy)]
enum Form {
    /// Lanes this wide.
    Lanes(usize),
    /// `from→to` padded to this width.
    List(usize),
}

/// Draws the ladder; returns where its rows are.
pub(super) fn ladder(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) -> LadderGeometry {
    let block = Block::new()
        .borders(Borders::BOTTOM | Borders::RIGHT)
        .title(" Flow (ladder) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(view) = app.view() else {
        let msg = if app.running.is_some() {
            "running the scenario over real sockets…"
        } else {
            "not run yet: press r"
        };
        frame.render_widget(Paragraph::new(msg).style(p.dim), inner);
        return LadderGeometry::default();
    };
    let visible = app.visible();
    // Lanes 3 wide if they fit with room for the labels, else 2 wide, else the list form.
    let width = usize::from(inner.width);
    let lane = [LANE, 2]
        .into_iter()
        .find(|l| width >= view.nodes.len() * l + 28);
    let header_rows: u16 = if lane.is_some() { STAGGER as u16 } else { 0 };
    let body_rows = usize::from(inner.height.saturating_sub(header_rows)).max(1);
    let offset = app
        .selected
        .saturating_sub(body_rows / 2)
        .min(visible.len().saturating_sub(body_rows));
    let (mut lines, form) = match lane {
        Some(lane) => (lane_names(view, lane, p), Form::Lanes(lane)),
        None => (Vec::new(), Form::List(route_width(view))),
    };
    for (pos, idx) in visible.iter().enumerate().skip(offset).take(body_rows) {
        lines.push(row(
            app,
            view,
            *idx,
            pos == app.selected,
            form,
            inner.width,
            p,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    LadderGeometry {
        area: inner,
        first_row: inner.y + header_rows,
        offset,
    }
}

/// The node names over the lanes, staggered over [`STAGGER`] rows so long names fit.
fn lane_names<'a>(view: &View, lane: usize, p: &Palette) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for row in 0..STAGGER {
        let mut s = String::new();
        for (i, n) in view.nodes.iter().enumerate() {
            if i % STAGGER == row {
                let col = i * lane;
                while s.chars().count() < col {
                    s.push(' ');
                }
                let room = if i + STAGGER < view.nodes.len() {
                    STAGGER * lane - 1
                } else {
                    12
                };
                s.extend(n.chars().take(room));
            }
        }
        lines.push(Line::styled(s, p.title));
    }
    lines
}

/// The width of the list form's `from→to` column (at most 19).
fn route_width(view: &View) -> usize {
    view.entries
        .iter()
        .map(|e| e.from.chars().count() + e.to.as_ref().map_or(0, |t| t.chars().count() + 1))
        .max()
        .unwrap_or(0)
        .min(19)
}

/// One row: dimmed when supporting, marked when a check failed, highlighted when selected.
fn row<'a>(
    app: &App,
    view: &View,
    idx: usize,
    selected: bool,
    form: Form,
    width: u16,
    p: &Palette,
) -> Line<'a> {
    let e = &view.entries[idx];
    let mut style = if e.supporting { p.dim } else { Style::new() };
    if e.failed() {
        style = p.fail;
    }
    if selected {
        style = p.selected;
    }
    let step = e
        .step
        .as_ref()
        .map_or("     ".to_owned(), |s| format!("{:<5}", format!("[{s}]")));
    let label = match e.number {
        Some(n) => format!("#{n} {} {}", e.proto, e.summary),
        None => format!("● {}", e.summary),
    };
    let mark = if app.diff_base == Some(idx) {
        "◆"
    } else {
        ""
    };
    let text = match form {
        Form::Lanes(lane) => format!("{}{mark}{step}{label}", lanes_for(view, e, lane)),
        Form::List(route_width) => {
            let route = match &e.to {
                Some(to) => format!("{}→{}", e.from, to),
                None => e.from.clone(),
            };
            format!("{mark}{step}{route:<route_width$} {label}")
        }
    };
    // Cut to the pane: a line clipped by the frame can leave half a wide glyph behind.
    let text: String = text.chars().take(usize::from(width)).collect();
    Line::styled(text, style)
}

/// `│  │──▶│  │` — the lanes of one row with its arrow (or `●` for an action).
fn lanes_for(view: &View, e: &Entry, lane: usize) -> String {
    let col = |n: &str| view.nodes.iter().position(|x| x == n);
    let width = view.nodes.len() * lane;
    let mut cells: Vec<char> = (0..width)
        .map(|i| if i % lane == 0 { '│' } else { ' ' })
        .collect();
    let from = col(&e.from);
    let to = e.to.as_deref().and_then(col);
    match (from, to) {
        (Some(a), Some(b)) if a != b => {
            let (lo, hi) = (a.min(b) * lane, a.max(b) * lane);
            for c in cells.iter_mut().take(hi).skip(lo + 1) {
                *c = '─';
            }
            if b > a {
                cells[hi - 1] = '▶';
            } else {
                cells[lo + 1] = '◀';
            }
        }
        (Some(a), _) => cells[a * lane] = '●',
        _ => {}
    }
    cells.into_iter().collect::<String>() + " "
}
