//! Drawing the attached dashboard: the world and the connection on top, the calls seen so far
//! on the left, the offline dashboard's ladder and detail tabs beside them, the live keys at
//! the bottom (with the connection's trouble, when there is any).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{LadderGeometry, Palette, details, ladder, palette, panes};
use crate::dashboard::live::{Link, Live};

/// The keys of the attached dashboard: keys, what they do.
pub const KEYS: &[(&str, &str)] = &[
    (
        "←/→ h/l",
        "previous / next call (\"all\" lists every record)",
    ),
    ("a", "every record"),
    ("↑/↓ j/k", "select a message (stops following)"),
    ("f", "follow the newest row"),
    ("Tab", "Message / Tokens / Checks"),
    ("J/K", "scroll the tab"),
    ("s", "show or hide DNS and 100 Trying"),
    ("/ n", "search, next match"),
    ("d", "mark a message, diff with another"),
    ("t", "theme"),
    ("?", "this help"),
    ("q Ctrl-C", "quit"),
];

/// Draws one frame of the attached dashboard; returns where the ladder rows are.
pub fn draw(frame: &mut Frame<'_>, live: &Live) -> LadderGeometry {
    let area = frame.area();
    let p = palette(live.app.theme);
    let Some(panes) = panes(frame) else {
        return LadderGeometry::default();
    };
    header(frame, panes.top, live, &p);
    keybar(frame, panes.keys, live, &p);
    call_list(frame, panes.list, live, &p);
    let geometry = ladder::ladder(frame, panes.ladder, &live.app, &p);
    details::details(frame, panes.details, &live.app, &p);
    if live.help {
        help(frame, area, &p);
    }
    geometry
}

/// The top line: the world, how many records, whether following, the connection.
fn header(frame: &mut Frame<'_>, area: Rect, live: &Live, p: &Palette) {
    let mut spans = vec![Span::styled(" TR 33.790 testbed · live ", p.title)];
    match &live.world {
        Some(w) => spans.push(Span::raw(format!(
            "· Solution {} {} · {} ",
            w.solution, w.title, live.addr
        ))),
        None => spans.push(Span::raw(format!("· {} ", live.addr))),
    }
    spans.push(Span::raw(format!("· {} records ", live.records().len())));
    if live.follow {
        spans.push(Span::styled("· following ", p.step));
    }
    let (text, style) = match &live.link {
        Link::Connecting => ("connecting…".to_owned(), p.dim),
        Link::Up => ("● connected".to_owned(), p.pass),
        Link::Lost { retries, .. } => (format!("✘ connection lost (retry {retries})"), p.fail),
    };
    spans.push(Span::styled(text, style));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The left pane: "all", then each dialog seen so far; the selected one highlighted.
fn call_list(frame: &mut Frame<'_>, area: Rect, live: &Live, p: &Palette) {
    let block = Block::new()
        .borders(Borders::BOTTOM | Borders::RIGHT)
        .title(" Calls (←/→) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let mut lines = Vec::new();
    let all = format!("all ({} records)", live.records().len());
    let item = |i: usize, text: String| {
        let text: String = text.chars().take(width).collect();
        if i == live.call {
            Line::styled(text, p.selected)
        } else {
            Line::raw(text)
        }
    };
    lines.push(item(0, all));
    if live.calls.is_empty() {
        lines.push(Line::styled("no SIP dialog yet", p.dim));
    }
    let rows = usize::from(inner.height).saturating_sub(1).max(1);
    // Keep the selected call in sight: scroll the list when it is below the pane.
    let skip = live.call.saturating_sub(rows);
    for (i, c) in live.calls.iter().enumerate().skip(skip).take(rows) {
        lines.push(item(i + 1, c.line()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The bottom line: the search being typed, else the connection's trouble or the key bar
/// and the status.
fn keybar(frame: &mut Frame<'_>, area: Rect, live: &Live, p: &Palette) {
    let mut spans = Vec::new();
    if let Some(text) = &live.app.search_input {
        spans.push(Span::styled(format!(" /{text}▏"), p.title));
        spans.push(Span::raw("  Enter search · Esc cancel"));
    } else if let Link::Lost { reason, retries } = &live.link {
        spans.push(Span::styled(
            format!(" connection lost: {reason} — retrying every second (attempt {retries})"),
            p.fail,
        ));
        spans.push(Span::raw("  q quit"));
    } else {
        for (keys, what) in [
            ("←/→", "call"),
            ("↑/↓", "message"),
            ("f", "follow"),
            ("Tab", "tabs"),
            ("?", "help"),
            ("q", "quit"),
        ] {
            spans.push(Span::styled(format!(" {keys}"), p.title));
            spans.push(Span::raw(format!(" {what}")));
        }
        if !live.app.status.is_empty() {
            spans.push(Span::styled(format!("  │ {}", live.app.status), p.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The help over everything: every live key.
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
    for (keys, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("{keys:<10}"), p.title),
            Span::raw(*what),
        ]));
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Help ")),
        rect,
    );
}
