//! Drawing the dashboard: header, solutions and variants on the left, the ladder of the flow in
//! the middle, the selected message's tabs beside or below it, the key bar at the bottom.
//! Adapts from 80×24 up; below that it says the terminal is too small.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap};

use super::app::{App, Tab, Theme};
use super::diff;
use super::keys::KEYS;
use super::model::{Entry, View};

/// Smallest usable terminal.
pub const MIN: (u16, u16) = (80, 24);

struct Palette {
    title: Style,
    dim: Style,
    pass: Style,
    fail: Style,
    security: Style,
    selected: Style,
    step: Style,
}

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

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The ladder's area and first visible row from the last draw, for mouse clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LadderGeometry {
    pub area: Rect,
    /// Screen row of the first entry row.
    pub first_row: u16,
    /// Visible-entry index shown on `first_row`.
    pub offset: usize,
}

/// Draws one frame; returns where the ladder rows are.
pub fn draw(frame: &mut Frame<'_>, app: &App) -> LadderGeometry {
    let area = frame.area();
    let p = palette(app.theme);
    if area.width < MIN.0 || area.height < MIN.1 {
        let text = format!(
            "terminal too small: {}×{}, needs {}×{} — enlarge it or press q",
            area.width, area.height, MIN.0, MIN.1
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return LadderGeometry::default();
    }
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
    ])
    .split(area);
    header(frame, rows[0], app, &p);
    keybar(frame, rows[2], app, &p);
    let left_width = if area.width >= 140 { 40 } else { 24 };
    let cols =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(40)]).split(rows[1]);
    sidebar(frame, cols[0], app, &p);
    let (ladder_area, detail_area) = if area.width >= 140 {
        let c = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .split(cols[1]);
        (c[0], c[1])
    } else {
        let c = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(cols[1]);
        (c[0], c[1])
    };
    let geometry = ladder(frame, ladder_area, app, &p);
    details(frame, detail_area, app, &p);
    if app.help {
        help(frame, area, &p);
    }
    geometry
}

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

fn keybar(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let mut spans = Vec::new();
    if let Some(text) = &app.search_input {
        spans.push(Span::styled(format!(" /{text}▏"), p.title));
        spans.push(Span::raw("  Enter search · Esc cancel"));
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

fn sidebar(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
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
    let block = Block::new().borders(Borders::RIGHT).title(" Solutions ");
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

/// Width of one lane in the lane view.
const LANE: usize = 3;
/// Header rows over the lanes: names are staggered over this many rows.
const STAGGER: usize = 3;

fn ladder(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) -> LadderGeometry {
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
    let lane_view = lane.is_some();
    let lane = lane.unwrap_or(LANE);
    let header_rows: u16 = if lane_view { STAGGER as u16 } else { 0 };
    let body_rows = usize::from(inner.height.saturating_sub(header_rows)).max(1);
    let offset = app
        .selected
        .saturating_sub(body_rows / 2)
        .min(visible.len().saturating_sub(body_rows));
    let route_width = view
        .entries
        .iter()
        .map(|e| e.from.chars().count() + e.to.as_ref().map_or(0, |t| t.chars().count() + 1))
        .max()
        .unwrap_or(0)
        .min(19);
    let mut lines: Vec<Line<'_>> = Vec::new();
    if lane_view {
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
    }
    for (pos, idx) in visible.iter().enumerate().skip(offset).take(body_rows) {
        let e = &view.entries[*idx];
        let mut style = if e.supporting { p.dim } else { Style::new() };
        if e.failed() {
            style = p.fail;
        }
        if pos == app.selected {
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
        let mark = if app.diff_base == Some(*idx) {
            "◆"
        } else {
            ""
        };
        let text = if lane_view {
            format!("{}{mark}{step}{label}", lanes_for(view, e, lane))
        } else {
            let route = match &e.to {
                Some(to) => format!("{}→{}", e.from, to),
                None => e.from.clone(),
            };
            format!("{mark}{step}{route:<route_width$} {label}")
        };
        // Cut to the pane: a line clipped by the frame can leave half a wide glyph behind.
        let text: String = text.chars().take(usize::from(inner.width)).collect();
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    LadderGeometry {
        area: inner,
        first_row: inner.y + header_rows,
        offset,
    }
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

const SECURITY_HEADERS: &[&str] = &[
    "identity:",
    "p-asserted-identity:",
    "call-info:",
    "authorization:",
    "a=dcmap",
    "verstat",
];

fn message_text<'a>(e: &'a Entry, p: &Palette) -> Text<'a> {
    let mut lines = vec![Line::styled(
        match &e.to {
            Some(to) => format!(
                "#{} {} → {} · {}",
                e.number.unwrap_or(0),
                e.from,
                to,
                e.proto
            ),
            None => format!("{} (internal)", e.from),
        },
        p.title,
    )];
    if e.raw.is_empty() {
        lines.push(Line::raw(e.summary.clone()));
    }
    for l in e.raw.lines() {
        let lower = l.to_ascii_lowercase();
        let style = if SECURITY_HEADERS
            .iter()
            .any(|h| lower.starts_with(h) || (*h == "verstat" && lower.contains("verstat=")))
        {
            p.security
        } else {
            Style::new()
        };
        lines.push(Line::styled(l.to_owned(), style));
    }
    for (node, label) in &e.actions {
        lines.push(Line::styled(format!("● {node}: {label}"), p.step));
    }
    Text::from(lines)
}

fn details(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let titles: Vec<String> = Tab::ALL
        .iter()
        .map(|t| {
            let count = app
                .selected_entry()
                .and_then(|i| app.view().map(|v| &v.entries[i]))
                .map_or(String::new(), |e| match t {
                    Tab::Tokens if !e.tokens.is_empty() => format!(" {}", e.tokens.len()),
                    Tab::Checks if !e.checks.is_empty() => {
                        format!(" {}{}", e.checks.len(), if e.failed() { "✘" } else { "" })
                    }
                    _ => String::new(),
                });
            format!("{}{count}", t.title())
        })
        .collect();
    let selected_tab = Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Min(1)])
        .split(area);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected_tab)
            .highlight_style(p.selected),
        rows[0],
    );
    let (Some(view), Some(idx)) = (app.view(), app.selected_entry()) else {
        return;
    };
    let e = &view.entries[idx];
    let text: Text<'_> = match app.tab {
        Tab::Message if app.diffing => {
            let base = app
                .diff_base
                .and_then(|b| view.entries.get(b))
                .map_or("", |b| b.raw.as_str());
            let mut lines = vec![Line::styled("diff: marked (−) → selected (+)", p.title)];
            for (sign, line) in diff::lines(base, &e.raw) {
                let style = match sign {
                    '-' => p.fail,
                    '+' => p.pass,
                    _ => p.dim,
                };
                lines.push(Line::styled(format!("{sign} {line}"), style));
            }
            Text::from(lines)
        }
        Tab::Message => message_text(e, p),
        Tab::Tokens => {
            let mut lines = Vec::new();
            if e.tokens.is_empty() {
                lines.push(Line::styled("no token decoded on this message", p.dim));
            }
            for t in &e.tokens {
                lines.push(Line::styled(format!("◆ {} ({})", t.label, t.node), p.title));
                let pretty =
                    |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
                lines.push(Line::styled("JOSE header", p.step));
                lines.extend(pretty(&t.header).lines().map(|l| Line::raw(l.to_owned())));
                lines.push(Line::styled("claims", p.step));
                lines.extend(pretty(&t.claims).lines().map(|l| Line::raw(l.to_owned())));
                let ppt = t
                    .header
                    .get("ppt")
                    .and_then(|v| v.as_str())
                    .unwrap_or("shaken");
                if let Some(sig) = e
                    .checks
                    .iter()
                    .find(|c| c.name.starts_with(ppt) && c.name.ends_with("ES256 signature"))
                {
                    let (mark, style) = if sig.passed {
                        ("✔ signature verified", p.pass)
                    } else {
                        ("✘ signature does not verify", p.fail)
                    };
                    lines.push(Line::styled(mark, style));
                }
            }
            Text::from(lines)
        }
        Tab::Checks => {
            let mut lines = Vec::new();
            if e.checks.is_empty() {
                lines.push(Line::styled("no check ran on this message", p.dim));
            }
            for c in &e.checks {
                let (mark, style) = if c.passed {
                    ("✔", p.pass)
                } else {
                    ("✘", p.fail)
                };
                let code = c.code.map(|c| format!(" → {c}")).unwrap_or_default();
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark} {}", c.name), style),
                    Span::raw(format!(" ({}){code}", c.node)),
                ]));
                lines.push(Line::styled(format!("   {}", c.detail), p.dim));
            }
            Text::from(lines)
        }
        Tab::Step => step_text(app, e, p),
    };
    // Scrolled with J/K; never past the last line.
    let last = u16::try_from(text.lines.len().saturating_sub(1)).unwrap_or(u16::MAX);
    let scroll = app.detail_scroll.min(last);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        rows[1],
    );
}

fn step_text<'a>(app: &'a App, e: &'a Entry, p: &Palette) -> Text<'a> {
    let mut lines = Vec::new();
    let Some(v) = app.current() else {
        return Text::default();
    };
    match e
        .step
        .as_ref()
        .and_then(|id| v.figure.steps.iter().find(|s| s.id == id))
    {
        Some(step) => {
            lines.push(Line::styled(
                format!(
                    "TR 33.790 §{} · Figure {} · step {}",
                    v.figure.clause, v.figure.figure, step.id
                ),
                p.title,
            ));
            lines.push(Line::styled(
                format!("{} → {}", step.tr_from, step.tr_to),
                p.step,
            ));
            lines.push(Line::raw(step.what.to_string()));
        }
        None => lines.push(Line::styled(
            "supporting detail: not a numbered step of the TR figure",
            p.dim,
        )),
    }
    for (id, text) in &e.choices {
        lines.push(Line::styled(
            format!("☞ testbed choice {id}: {text}"),
            p.security,
        ));
        if let Some(c) = crate::choices::get(id) {
            lines.push(Line::styled(
                format!("   TR {}: {} → {}", c.clause, c.question, c.answer),
                p.dim,
            ));
        }
    }
    if let Some(view) = app.view() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("TR steps of this run", p.title));
        for (id, mark, detail) in &view.steps {
            let style = match *mark {
                "✔" => p.pass,
                "✘" => p.fail,
                _ => p.dim,
            };
            let detail = if *mark == "✔" {
                "seen"
            } else {
                detail.as_str()
            };
            lines.push(Line::styled(format!("{mark} step {id}: {detail}"), style));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled("Outcomes of this run", p.title));
        for (ok, what, detail) in &view.outcomes {
            let (mark, style) = if *ok {
                ("✔", p.pass)
            } else {
                ("✘", p.fail)
            };
            lines.push(Line::styled(format!("{mark} {what} — {detail}"), style));
        }
        if let Some(error) = &view.error {
            lines.push(Line::styled(format!("error: {error}"), p.fail));
        }
    }
    Text::from(lines)
}

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
