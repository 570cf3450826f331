//! The dashboard's state and what each key does to it. Pure: no terminal, no I/O; side effects
//! (running a scenario, writing an export) are returned as [`Effect`]s for the driver.

use std::collections::HashMap;
use std::time::Instant;

use super::model::View;
use crate::solution::Variant;

/// Detail tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Message,
    Tokens,
    Checks,
    Step,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Message, Tab::Tokens, Tab::Checks, Tab::Step];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Message => "Message",
            Tab::Tokens => "Tokens",
            Tab::Checks => "Checks",
            Tab::Step => "Step",
        }
    }

    fn next(self) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0);
        Tab::ALL[(i + 1) % Tab::ALL.len()]
    }
}

/// Colour scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Default,
    /// For projectors: no colour needed, bold and reverse video only.
    Contrast,
}

/// Keys the dashboard understands (the driver maps terminal events to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Char(char),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Tab,
    Enter,
    Esc,
    Backspace,
    /// A click on a ladder row (index of the visible entry).
    ClickRow(usize),
    Quit,
}

/// What the driver must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Run this variant (by name) for real in the background.
    Run(String),
    /// Write this text to this file.
    Export {
        path: String,
        text: String,
    },
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct Running {
    pub name: String,
    pub since: Instant,
}

/// Everything the screen shows.
#[derive(Debug)]
pub struct App {
    pub catalogue: Vec<Variant>,
    pub solution: u8,
    /// Index among the selected solution's variants.
    pub variant: usize,
    pub results: HashMap<String, View>,
    pub running: Option<Running>,
    /// Index into the visible entries.
    pub selected: usize,
    pub tab: Tab,
    pub show_supporting: bool,
    pub playing: bool,
    /// Being typed after `/`.
    pub search_input: Option<String>,
    pub last_search: String,
    /// Entry index (into all entries) marked with `d`.
    pub diff_base: Option<usize>,
    /// Showing a diff of the base with the selected entry.
    pub diffing: bool,
    pub help: bool,
    pub theme: Theme,
    pub status: String,
    pub quit: bool,
    /// Lines the detail pane (Message / Tokens / Checks / Step) is scrolled down by; back to
    /// the top whenever the message or the tab changes.
    pub detail_scroll: u16,
}

impl App {
    pub fn new(catalogue: Vec<Variant>, theme: Theme) -> App {
        let solution = catalogue.first().map_or(2, |v| v.solution);
        App {
            catalogue,
            solution,
            variant: 0,
            results: HashMap::new(),
            running: None,
            selected: 0,
            tab: Tab::Message,
            show_supporting: true,
            playing: false,
            search_input: None,
            last_search: String::new(),
            diff_base: None,
            diffing: false,
            help: false,
            theme,
            status: String::new(),
            quit: false,
            detail_scroll: 0,
        }
    }

    /// Solutions in the catalogue, in order.
    pub fn solutions(&self) -> Vec<u8> {
        let mut s: Vec<u8> = self.catalogue.iter().map(|v| v.solution).collect();
        s.dedup();
        s
    }

    /// The selected solution's variants.
    pub fn variants(&self) -> Vec<&Variant> {
        self.catalogue
            .iter()
            .filter(|v| v.solution == self.solution)
            .collect()
    }

    pub fn current(&self) -> Option<&Variant> {
        self.variants().get(self.variant).copied()
    }

    pub fn current_name(&self) -> Option<String> {
        self.current().map(Variant::name)
    }

    pub fn view(&self) -> Option<&View> {
        self.current_name().and_then(|n| self.results.get(&n))
    }

    /// Indices (into the view's entries) of the rows shown.
    pub fn visible(&self) -> Vec<usize> {
        self.view().map_or_else(Vec::new, |v| {
            v.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| self.show_supporting || !e.supporting)
                .map(|(i, _)| i)
                .collect()
        })
    }

    /// The selected entry's index into all entries.
    pub fn selected_entry(&self) -> Option<usize> {
        self.visible().get(self.selected).copied()
    }

    /// A run finished.
    pub fn finished(&mut self, view: View) {
        if self.running.as_ref().is_some_and(|r| r.name == view.name) {
            self.running = None;
        }
        self.status = format!(
            "{} {} in {:.0} ms",
            view.name,
            if view.passed { "passed" } else { "FAILED" },
            view.elapsed_ms
        );
        let first_step = view
            .entries
            .iter()
            .position(|e| e.step.is_some())
            .unwrap_or(0);
        self.results.insert(view.name.clone(), view);
        self.selected = self
            .visible()
            .iter()
            .position(|i| *i >= first_step)
            .unwrap_or(0);
        self.diff_base = None;
        self.diffing = false;
    }

    fn start_run(&mut self) -> Effect {
        match self.current_name() {
            Some(name) if self.running.is_none() => {
                self.running = Some(Running {
                    name: name.clone(),
                    since: Instant::now(),
                });
                self.playing = false;
                Effect::Run(name)
            }
            _ => Effect::None,
        }
    }

    /// Selects the current variant; runs it if it never ran.
    fn select_variant(&mut self) -> Effect {
        self.selected = 0;
        self.detail_scroll = 0;
        self.diff_base = None;
        self.diffing = false;
        match self.current_name() {
            Some(name) if !self.results.contains_key(&name) => self.start_run(),
            _ => Effect::None,
        }
    }

    fn move_by(&mut self, delta: isize) {
        self.detail_scroll = 0;
        let n = self.visible().len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        let next = (self.selected as isize + delta).clamp(0, n as isize - 1);
        self.selected = next as usize;
        self.diffing = false;
    }

    /// One step of play: to the next row that is a TR step (or the end).
    pub fn tick_play(&mut self) {
        if !self.playing {
            return;
        }
        let visible = self.visible();
        let next = visible
            .iter()
            .enumerate()
            .skip(self.selected + 1)
            .find(|(_, i)| self.view().is_some_and(|v| v.entries[**i].step.is_some()))
            .map(|(pos, _)| pos);
        match next {
            Some(pos) => self.selected = pos,
            None => {
                self.playing = false;
                self.status = "end of the flow".into();
            }
        }
    }

    fn search_next(&mut self) {
        let needle = self.last_search.to_lowercase();
        if needle.is_empty() {
            return;
        }
        let visible = self.visible();
        let found = self.view().and_then(|v| {
            let n = visible.len();
            (1..=n)
                .map(|k| (self.selected + k) % n)
                .find(|pos| v.entries[visible[*pos]].haystack().contains(&needle))
        });
        match found {
            Some(pos) => {
                self.selected = pos;
                self.status = format!("found {:?}", self.last_search);
            }
            None => self.status = format!("{:?} not found", self.last_search),
        }
    }

    /// Applies one key.
    pub fn key(&mut self, input: Input) -> Effect {
        if let Some(text) = &mut self.search_input {
            match input {
                Input::Char(c) => text.push(c),
                Input::Backspace => {
                    text.pop();
                }
                Input::Enter => {
                    self.last_search = self.search_input.take().unwrap_or_default();
                    self.search_next();
                }
                Input::Esc => self.search_input = None,
                Input::Quit => self.quit = true,
                _ => {}
            }
            return Effect::None;
        }
        if self.help {
            if matches!(input, Input::Quit | Input::Char('q')) {
                self.quit = true;
            }
            self.help = false;
            return Effect::None;
        }
        match input {
            Input::Quit | Input::Char('q') => self.quit = true,
            Input::Char(c @ '1'..='9') => {
                let s = c as u8 - b'0';
                if self.solutions().contains(&s) {
                    self.solution = s;
                    self.variant = 0;
                    return self.select_variant();
                }
                self.status = format!("solution {s} is not in the testbed yet");
            }
            Input::Left | Input::Right | Input::Char('h') | Input::Char('l') => {
                let solutions = self.solutions();
                let i = solutions
                    .iter()
                    .position(|s| *s == self.solution)
                    .unwrap_or(0);
                let forward = matches!(input, Input::Right | Input::Char('l'));
                let j = if forward {
                    (i + 1) % solutions.len().max(1)
                } else {
                    (i + solutions.len().max(1) - 1) % solutions.len().max(1)
                };
                if let Some(s) = solutions.get(j) {
                    self.solution = *s;
                    self.variant = 0;
                    return self.select_variant();
                }
            }
            Input::Char('v') => {
                let n = self.variants().len().max(1);
                self.variant = (self.variant + 1) % n;
                return self.select_variant();
            }
            Input::Up | Input::Char('k') => self.move_by(-1),
            Input::Down | Input::Char('j') => self.move_by(1),
            Input::PageUp => self.move_by(-10),
            Input::PageDown => self.move_by(10),
            Input::Char('g') => self.move_by(isize::MIN / 2),
            Input::Char('G') => self.move_by(isize::MAX / 2),
            Input::Tab => {
                self.tab = self.tab.next();
                self.detail_scroll = 0;
            }
            Input::Char('J') => self.detail_scroll = self.detail_scroll.saturating_add(3),
            Input::Char('K') => self.detail_scroll = self.detail_scroll.saturating_sub(3),
            Input::Char(' ') => {
                self.playing = !self.playing;
                if self.playing {
                    self.tick_play();
                }
            }
            Input::Char('r') => return self.start_run(),
            Input::Char('s') => {
                let keep = self.selected_entry();
                self.show_supporting = !self.show_supporting;
                self.selected = keep
                    .and_then(|k| self.visible().iter().position(|i| *i >= k))
                    .unwrap_or(0);
            }
            Input::Char('/') => self.search_input = Some(String::new()),
            Input::Char('n') => self.search_next(),
            Input::Char('d') => match (self.diff_base, self.selected_entry()) {
                (Some(base), Some(sel)) if base != sel => {
                    self.diffing = true;
                    self.tab = Tab::Message;
                    self.status =
                        "diff: marked message (−) against selected (+); d again to clear".into();
                }
                (Some(_), _) => {
                    self.diff_base = None;
                    self.diffing = false;
                    self.status = "diff cleared".into();
                }
                (None, sel) => {
                    self.diff_base = sel;
                    self.status = "marked for diff: select another message and press d".into();
                }
            },
            Input::Char('e') => {
                if let Some(v) = self.view() {
                    let path = format!("trace-{}.txt", v.name.replace(':', "-"));
                    return Effect::Export {
                        path,
                        text: v.text.clone(),
                    };
                }
            }
            Input::Char('t') => {
                self.theme = if self.theme == Theme::Default {
                    Theme::Contrast
                } else {
                    Theme::Default
                };
            }
            Input::Char('?') => self.help = true,
            Input::ClickRow(pos) if pos < self.visible().len() => {
                self.selected = pos;
                self.diffing = false;
                self.detail_scroll = 0;
            }
            _ => {}
        }
        Effect::None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dashboard::model::Entry;

    fn entry(step: Option<&str>, supporting: bool, raw: &str) -> Entry {
        Entry {
            number: Some(1),
            from: "a".into(),
            to: Some("b".into()),
            proto: "SIP/UDP",
            summary: raw.lines().next().unwrap_or_default().into(),
            step: step.map(str::to_owned),
            supporting,
            raw: raw.into(),
            tokens: Vec::new(),
            checks: Vec::new(),
            choices: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn app_with_view() -> App {
        let mut app = App::new(crate::scenarios::all(), Theme::Default);
        let name = app.current_name().unwrap();
        app.running = Some(Running {
            name: name.clone(),
            since: Instant::now(),
        });
        let view = View {
            name,
            passed: true,
            error: None,
            steps_seen: 2,
            steps_total: 2,
            steps: Vec::new(),
            outcomes: Vec::new(),
            entries: vec![
                entry(None, true, "NAPTR? x"),
                entry(Some("1"), false, "INVITE sip:b\nFrom: a"),
                entry(None, true, "100 Trying"),
                entry(Some("2"), false, "INVITE sip:b\nIdentity: tok\nFrom: a"),
            ],
            nodes: vec!["a".into(), "b".into()],
            text: "trace".into(),
            elapsed_ms: 1.0,
        };
        app.finished(view);
        app
    }

    #[test]
    fn detail_pane_scrolls_and_resets() {
        let mut app = app_with_view();
        app.key(Input::Char('J'));
        app.key(Input::Char('J'));
        assert_eq!(app.detail_scroll, 6);
        app.key(Input::Char('K'));
        assert_eq!(app.detail_scroll, 3);
        app.key(Input::Down);
        assert_eq!(app.detail_scroll, 0, "another message starts at the top");
        app.key(Input::Char('J'));
        app.key(Input::Tab);
        assert_eq!(app.detail_scroll, 0, "another tab starts at the top");
        app.key(Input::Char('K'));
        assert_eq!(app.detail_scroll, 0, "never above the top");
    }

    #[test]
    fn finishing_a_run_selects_the_first_tr_step() {
        let app = app_with_view();
        assert!(app.running.is_none());
        assert_eq!(app.selected_entry(), Some(1));
    }

    #[test]
    fn moving_tabs_and_supporting_toggle() {
        let mut app = app_with_view();
        app.key(Input::Down);
        assert_eq!(app.selected_entry(), Some(2));
        app.key(Input::Char('k'));
        app.key(Input::Char('k'));
        assert_eq!(app.selected_entry(), Some(0), "clamped at the top");
        app.key(Input::Char('s'));
        assert_eq!(app.visible(), [1, 3]);
        assert_eq!(app.selected_entry(), Some(1));
        app.key(Input::Tab);
        assert_eq!(app.tab, Tab::Tokens);
        for _ in 0..3 {
            app.key(Input::Tab);
        }
        assert_eq!(app.tab, Tab::Message);
    }

    #[test]
    fn search_play_diff_export_help_quit() {
        let mut app = app_with_view();
        for c in "/identity".chars() {
            app.key(Input::Char(c));
        }
        app.key(Input::Enter);
        assert_eq!(app.selected_entry(), Some(3), "{}", app.status);
        app.key(Input::Char('g'));
        app.key(Input::Char(' '));
        assert!(app.playing);
        assert_eq!(
            app.selected_entry(),
            Some(1),
            "play jumps to the next TR step"
        );
        app.tick_play();
        assert_eq!(app.selected_entry(), Some(3));
        app.tick_play();
        assert!(!app.playing, "stops at the end");
        app.key(Input::Char('k'));
        app.key(Input::Char('k'));
        app.key(Input::Char('d'));
        assert_eq!(app.diff_base, Some(1));
        app.key(Input::Char('G'));
        app.key(Input::Char('d'));
        assert!(app.diffing);
        assert!(
            matches!(app.key(Input::Char('e')), Effect::Export { ref path, .. } if path.starts_with("trace-1-"))
        );
        app.key(Input::Char('?'));
        assert!(app.help);
        app.key(Input::Char('x'));
        assert!(!app.help && !app.quit, "any key closes the help");
        app.key(Input::Char('t'));
        assert_eq!(app.theme, Theme::Contrast);
        app.key(Input::Char('q'));
        assert!(app.quit);
    }

    #[test]
    fn choosing_solutions_and_variants_asks_for_runs() {
        let mut app = App::new(crate::scenarios::all(), Theme::Default);
        assert!(matches!(app.key(Input::Char('2')), Effect::Run(ref n) if n == "2:trunk"));
        assert_eq!(app.key(Input::Char('r')), Effect::None, "one run at a time");
        app.running = None;
        assert!(matches!(app.key(Input::Char('v')), Effect::Run(ref n) if n == "2:single"));
        app.running = None;
        assert_eq!(app.key(Input::Char('7')), Effect::None);
        assert!(app.status.contains("not in the testbed yet"));
        app.key(Input::ClickRow(99));
        assert_eq!(app.selected, 0);
    }
}
