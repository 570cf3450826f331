//! The dashboard's state and what each key does to it. Pure: no terminal, no I/O; side effects
//! (running a scenario, writing an export) are returned as [`Effect`]s for the driver.
//! What each key does is in `commands`.

use std::collections::HashMap;
use std::time::Instant;

use super::model::View;
use crate::solution::Variant;

mod commands;

/// Detail tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The selected message, security headers highlighted (or a diff).
    Message,
    /// The tokens noted about it, decoded.
    Tokens,
    /// The checks noted about it.
    Checks,
    /// The TR step it belongs to, in our words.
    Step,
}

impl Tab {
    /// Every tab, in the order `Tab` cycles them.
    pub const ALL: [Tab; 4] = [Tab::Message, Tab::Tokens, Tab::Checks, Tab::Step];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Message => "Message",
            Tab::Tokens => "Tokens",
            Tab::Checks => "Checks",
            Tab::Step => "Step",
        }
    }

    /// The tab after this one, wrapping around.
    fn next(self) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0);
        Tab::ALL[(i + 1) % Tab::ALL.len()]
    }
}

/// Colour scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Colours.
    Default,
    /// For projectors: no colour needed, bold and reverse video only.
    Contrast,
}

/// Keys the dashboard understands (the driver maps terminal events to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A printable key.
    Char(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Tab.
    Tab,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// A click on a ladder row (index of the visible entry).
    ClickRow(usize),
    /// Ctrl-C.
    Quit,
}

/// What the driver must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Run this variant (by name) for real in the background.
    Run(String),
    /// Write the latest run of `variant` in `form` to this file.
    Export {
        /// The variant (`2:single`).
        variant: String,
        /// Text, JSON, Mermaid or pcap.
        form: crate::render::export::Form,
        /// Where.
        path: String,
    },
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct Running {
    /// The variant's name (`2:single`).
    pub name: String,
    /// When it started (the header shows the time running).
    pub since: Instant,
}

/// Everything the screen shows.
#[derive(Debug)]
pub struct App {
    /// Every variant of every solution, from the registry.
    pub catalogue: Vec<Variant>,
    /// The selected solution's number.
    pub solution: u8,
    /// Index among the selected solution's variants.
    pub variant: usize,
    /// The latest run of each variant, by name.
    pub results: HashMap<String, View>,
    /// The run in progress, if any (one at a time).
    pub running: Option<Running>,
    /// Index into the visible entries.
    pub selected: usize,
    /// The detail tab shown.
    pub tab: Tab,
    /// Whether supporting rows (DNS, 100 Trying) are shown.
    pub show_supporting: bool,
    /// Whether the flow is playing step by step.
    pub playing: bool,
    /// Being typed after `/`.
    pub search_input: Option<String>,
    /// The last search, for `n`.
    pub last_search: String,
    /// Entry index (into all entries) marked with `d`.
    pub diff_base: Option<usize>,
    /// Showing a diff of the base with the selected entry.
    pub diffing: bool,
    /// Whether the help is open.
    pub help: bool,
    /// Whether `e` is asking for the export's form (`t`, `j`, `m`, `p`; Esc cancels).
    pub export_prompt: bool,
    /// The colour scheme.
    pub theme: Theme,
    /// The status line.
    pub status: String,
    /// Set when the user quits.
    pub quit: bool,
    /// Lines the detail pane (Message / Tokens / Checks / Step) is scrolled down by; back to
    /// the top whenever the message or the tab changes.
    pub detail_scroll: u16,
    /// The view of an attached served world (`tui --attach`): shown instead of the
    /// catalogue's runs when set.
    pub live: Option<View>,
}

impl App {
    /// The first solution of `catalogue` selected, nothing run yet.
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
            export_prompt: false,
            theme,
            status: String::new(),
            quit: false,
            detail_scroll: 0,
            live: None,
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

    /// The selected variant.
    pub fn current(&self) -> Option<&Variant> {
        self.variants().get(self.variant).copied()
    }

    /// The selected variant's name (`2:single`).
    pub fn current_name(&self) -> Option<String> {
        self.current().map(Variant::name)
    }

    /// The selected variant's latest run, if it ran.
    pub fn view(&self) -> Option<&View> {
        if let Some(live) = &self.live {
            return Some(live);
        }
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

    /// Asks for a run of the selected variant, unless one is in progress.
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

    /// Moves the selection by `delta` rows, clamped to the rows shown.
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

    /// Selects the next row (wrapping) whose text contains the last search.
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
}

#[cfg(test)]
mod tests;
