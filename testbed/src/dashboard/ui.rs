//! Drawing the dashboard: header, solutions and variants on the left, the ladder of the flow in
//! the middle, the selected message's tabs beside or below it, the key bar at the bottom.
//! Adapts from 80×24 up; below that it says the terminal is too small.
//!
//! The frame is drawn here; the panes are in `sidebar`, `ladder` and `details`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

mod avatar;
mod details;
mod exposure;
mod ladder;
mod live;
mod sidebar;

use super::app::{App, Theme};
use super::keys::KEYS;
pub use live::draw as draw_live;

/// Smallest usable terminal.
pub const MIN: (u16, u16) = (80, 24);

/// The styles of a [`Theme`].
struct Palette {
    title: Style,
    dim: Style,
    pass: Style,
    fail: Style,
    security: Style,
    selected: Style,
    step: Style,
}

/// The palette of `theme`.
fn palette(theme: Theme) -> Palette {
    match theme {
        Theme::Default => Palette {
            title: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            dim: Style::new().fg(Color::DarkGray),
            pass: Style::new().fg(Color::Green),
            fail: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            security: Style::new().fg(Color::Yellow),
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            step: Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        },
        Theme::Contrast => Palette {
            title: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new(),
            pass: Style::new(),
            fail: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            security: Style::new().add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            step: Style::new().add_modifier(Modifier::BOLD),
        },
    }
}

/// The frames of the running spinner (one per 100 ms).
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The ladder's area and first visible row from the last draw, for mouse clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LadderGeometry {
    /// The ladder's inner area.
    pub area: Rect,
    /// Screen row of the first entry row.
    pub first_row: u16,
    /// Visible-entry index shown on `first_row`.
    pub offset: usize,
}

/// Where each pane of a dashboard frame goes (the offline and the attached one share them).
struct Panes {
    /// The top line.
    top: Rect,
    /// The key bar at the bottom.
    keys: Rect,
    /// The list on the left (solutions and variants, or calls).
    list: Rect,
    /// The ladder.
    ladder: Rect,
    /// The detail tabs (and any picture pane under them).
    details: Rect,
}

/// The frame cut into its panes: side by side from 140 columns, the ladder over the details
/// below that. Too small a terminal gets a message instead, and no panes.
fn panes(frame: &mut Frame<'_>) -> Option<Panes> {
    let area = frame.area();
    if area.width < MIN.0 || area.height < MIN.1 {
        let text = format!(
            "terminal too small: {}×{}, needs {}×{} — enlarge it or press q",
            area.width, area.height, MIN.0, MIN.1
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return None;
    }
    let wide = area.width >= 140;
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
    ])
    .split(area);
    let left_width = if wide { 40 } else { 24 };
    let cols =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(40)]).split(rows[1]);
    let main = if wide {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).split(cols[1])
    } else {
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).split(cols[1])
    };
    Some(Panes {
        top: rows[0],
        keys: rows[2],
        list: cols[0],
        ladder: main[0],
        details: main[1],
    })
}

/// Draws one frame; returns where the ladder rows are.
pub fn draw(frame: &mut Frame<'_>, app: &App) -> LadderGeometry {
    let area = frame.area();
    let p = palette(app.theme);
    let Some(panes) = panes(frame) else {
        return LadderGeometry::default();
    };
    header(frame, panes.top, app, &p);
    keybar(frame, panes.keys, app, &p);
    sidebar::sidebar(frame, panes.list, app, &p);
    let detail_area = panes.details;
    let geometry = ladder::ladder(frame, panes.ladder, app, &p);
    // The avatar, when the run drew one and the details keep at least 8 rows.
    match avatar::height(app) {
        Some(h) if detail_area.height >= h + 8 => {
            let c =
                Layout::vertical([Constraint::Min(8), Constraint::Length(h)]).split(detail_area);
            details::details(frame, c[0], app, &p);
            avatar::pane(frame, c[1], app, &p);
        }
        _ => match exposure::height(app, detail_area.width) {
            Some(h) if detail_area.height >= h + 8 => {
                let c = Layout::vertical([Constraint::Min(8), Constraint::Length(h)])
                    .split(detail_area);
                details::details(frame, c[0], app, &p);
                exposure::pane(frame, c[1], app, &p);
            }
            _ => details::details(frame, detail_area, app, &p),
        },
    }
    if app.help {
        help(frame, area, &p);
    }
    geometry
}

/// The top line: the selected solution and variant, then the run in progress or how the
/// last run fared.
fn header(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let mut spans = vec![Span::styled(" TR 33.790 testbed ", p.title)];
    if let Some(v) = app.current() {
        spans.push(Span::raw(format!(
            "· Solution {} §{} Fig. {} · {} ",
            v.solution, v.figure.clause, v.figure.figure, v.id
        )));
    }
    if let Some(r) = &app.running {
        let t = r.since.elapsed();
        let spin = SPINNER[(t.as_millis() / 100) as usize % SPINNER.len()];
        spans.push(Span::styled(
            format!("{spin} running {} {:.1} s", r.name, t.as_secs_f64()),
            p.step,
        ));
    } else if let Some(view) = app.view() {
        let ok = view.outcomes.iter().filter(|o| o.0).count();
        let (mark, style) = if view.passed {
            ("✔ PASS", p.pass)
        } else {
            ("✘ FAIL", p.fail)
        };
        spans.push(Span::styled(mark, style));
        spans.push(Span::raw(format!(
            " {}/{} steps, {ok}/{} outcomes",
            view.steps_seen,
            view.steps_total,
            view.outcomes.len()
        )));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The bottom line: the search being typed, or the key bar and the status.
fn keybar(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let mut spans = Vec::new();
    if let Some(text) = &app.search_input {
        spans.push(Span::styled(format!(" /{text}▏"), p.title));
        spans.push(Span::raw("  Enter search · Esc cancel"));
    } else if app.export_prompt {
        spans.push(Span::styled(format!(" {}", app.status), p.title));
    } else {
        for k in KEYS.iter().filter(|k| k.bar) {
            spans.push(Span::styled(format!(" {}", k.keys), p.title));
            spans.push(Span::raw(format!(" {}", k.short)));
        }
        if !app.status.is_empty() {
            spans.push(Span::styled(format!("  │ {}", app.status), p.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The help over everything: every key of the table.
fn help(frame: &mut Frame<'_>, area: Rect, p: &Palette) {
    let width = 70.min(area.width);
    let height = (KEYS.len() as u16 + 4).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let mut lines = vec![Line::styled("Keys (any key closes)", p.title)];
    for k in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<10}", k.keys), p.title),
            Span::raw(k.help),
        ]));
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Help ")),
        rect,
    );
}
