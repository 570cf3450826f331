//! The detail pane: the selected row's Message (security headers highlighted, or a diff),
//! Tokens (decoded, with the signature check), Checks, and Step (the TR step in our words, the
//! testbed choices behind the row, and how every step and outcome of the run fared).

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Tabs, Wrap};

use super::Palette;
use crate::dashboard::app::{App, Tab};
use crate::dashboard::diff;
use crate::dashboard::model::{Entry, View};

/// Header lines (and the `verstat` parameter) the Message tab highlights.
const SECURITY_HEADERS: &[&str] = &[
    "identity:",
    "p-asserted-identity:",
    "call-info:",
    "authorization:",
    "a=dcmap",
    "verstat",
];

/// The Message tab: the route, then the message with its security headers highlighted, then
/// the actions noted about it.
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

/// Draws the tabs and the selected tab's text, scrolled by `J`/`K`.
pub(super) fn details(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let selected_tab = Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Min(1)])
        .split(area);
    frame.render_widget(
        Tabs::new(tab_titles(app))
            .select(selected_tab)
            .highlight_style(p.selected),
        rows[0],
    );
    let (Some(view), Some(idx)) = (app.view(), app.selected_entry()) else {
        return;
    };
    let e = &view.entries[idx];
    let text: Text<'_> = match app.tab {
        Tab::Message if app.diffing => diff_text(app, view, e, p),
        Tab::Message => message_text(e, p),
        Tab::Tokens => tokens_text(view, idx, e, p),
        Tab::Checks => checks_text(e, p),
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

/// The tab titles, with the selected row's token and check counts (`✘` when a check failed).
fn tab_titles(app: &App) -> Vec<String> {
    Tab::ALL
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
        .collect()
}

/// The Message tab while diffing: the marked message (−) against the selected one (+).
fn diff_text<'a>(app: &App, view: &View, e: &Entry, p: &Palette) -> Text<'a> {
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

/// The Tokens tab: each token's JOSE header and claims, and whether its signature verified;
/// the key agreements noted on the row (public keys and parameters, the key's fingerprint);
/// and the avatar as last rendered up to this row.
fn tokens_text<'a>(view: &View, idx: usize, e: &Entry, p: &Palette) -> Text<'a> {
    let mut lines = token_lines(e, p);
    lines.extend(key_lines(e, p));
    lines.extend(picture_lines(view, idx, p));
    Text::from(lines)
}

/// The key agreements of a row: both public keys (x and y abbreviated), the KDF, salt, info and
/// the derived key's fingerprint. No private key is ever noted.
fn key_lines<'a>(e: &Entry, p: &Palette) -> Vec<Line<'a>> {
    let short = |jwk: &serde_json::Value| {
        let part = |k: &str| {
            let v = jwk.get(k).and_then(|v| v.as_str()).unwrap_or("?");
            format!("{k}={}…", v.get(..12).unwrap_or(v))
        };
        format!("P-256 {} {}", part("x"), part("y"))
    };
    let mut lines = Vec::new();
    for k in &e.keys {
        lines.push(Line::styled(format!("⚿ {} ({})", k.label, k.node), p.title));
        lines.push(Line::raw(format!(
            "  own public key   {}",
            short(&k.local_public)
        )));
        lines.push(Line::raw(format!(
            "  peer public key  {}",
            short(&k.peer_public)
        )));
        lines.push(Line::raw(format!("  {}", k.kdf)));
        lines.push(Line::raw(format!("  salt {}", k.salt)));
        lines.push(Line::raw(format!("  info {:?}", k.info)));
        lines.push(Line::styled(
            format!("  derived key {}", k.key_fingerprint),
            p.pass,
        ));
    }
    lines
}

/// The avatar as last rendered at or before row `idx`: who drew which frame, then the picture.
fn picture_lines<'a>(view: &View, idx: usize, p: &Palette) -> Vec<Line<'a>> {
    let Some((at, pic)) = view.picture_at(idx) else {
        return Vec::new();
    };
    let when = if at == idx {
        "on this row".to_owned()
    } else {
        format!("latest so far, row {}", at + 1)
    };
    let mut lines = vec![Line::styled(
        format!(
            "▣ avatar {} frame {} ({}, {when})",
            pic.avatar_id, pic.seq, pic.node
        ),
        p.title,
    )];
    lines.extend(pic.rows.iter().map(|r| Line::styled(r.clone(), p.pass)));
    lines
}

/// The tokens of a row.
fn token_lines<'a>(e: &Entry, p: &Palette) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if e.tokens.is_empty() && e.keys.is_empty() {
        lines.push(Line::styled("no token decoded on this message", p.dim));
    }
    for t in &e.tokens {
        lines.push(Line::styled(format!("◆ {} ({})", t.label, t.node), p.title));
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
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
    lines
}

/// The Checks tab: each check, who ran it, the code a failure leads to, and its detail.
fn checks_text<'a>(e: &Entry, p: &Palette) -> Text<'a> {
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

/// The Step tab: the TR step of the row, the testbed choices noted on it, then the run's steps
/// and outcomes.
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
        run_lines(view, p, &mut lines);
    }
    Text::from(lines)
}

/// How every TR step and outcome of the run fared, and what stopped it.
fn run_lines(view: &View, p: &Palette, lines: &mut Vec<Line<'_>>) {
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
