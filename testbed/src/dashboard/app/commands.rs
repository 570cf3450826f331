//! What each key does: the search line, the help, then the commands of the key table
//! ([`crate::dashboard::keys::KEYS`]).

use super::{App, Effect, Input, Tab, Theme};
use crate::render::export::Form;

/// What the bottom line says while `e` asks for the form.
const EXPORT_PROMPT: &str = "export as: t text · j JSON · m Mermaid · p pcap · Esc cancels";

impl App {
    /// Applies one key: to the search line while one is typed, to the help while it is open,
    /// else as a command.
    pub fn key(&mut self, input: Input) -> Effect {
        if self.search_input.is_some() {
            self.search_key(input);
            return Effect::None;
        }
        if self.export_prompt {
            return self.export_key(input);
        }
        if self.help {
            if matches!(input, Input::Quit | Input::Char('q')) {
                self.quit = true;
            }
            self.help = false;
            return Effect::None;
        }
        self.command(input)
    }

    /// A key while the search line after `/` is typed.
    fn search_key(&mut self, input: Input) {
        let Some(text) = &mut self.search_input else {
            return;
        };
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
    }

    /// A key as a command.
    fn command(&mut self, input: Input) -> Effect {
        match input {
            Input::Quit | Input::Char('q') => self.quit = true,
            Input::Char(c @ '1'..='9') => return self.pick_solution(c as u8 - b'0'),
            Input::Left | Input::Char('h') => return self.step_solution(false),
            Input::Right | Input::Char('l') => return self.step_solution(true),
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
            Input::Char('s') => self.toggle_supporting(),
            Input::Char('/') => self.search_input = Some(String::new()),
            Input::Char('n') => self.search_next(),
            Input::Char('d') => self.diff_key(),
            Input::Char('e') => return self.export(),
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

    /// `1`–`9`: solution `s`, if the testbed has it.
    fn pick_solution(&mut self, s: u8) -> Effect {
        if self.solutions().contains(&s) {
            self.solution = s;
            self.variant = 0;
            return self.select_variant();
        }
        self.status = format!("solution {s} is not in the testbed yet");
        Effect::None
    }

    /// `←`/`→`: the previous or next solution, wrapping around.
    fn step_solution(&mut self, forward: bool) -> Effect {
        let solutions = self.solutions();
        let i = solutions
            .iter()
            .position(|s| *s == self.solution)
            .unwrap_or(0);
        let j = if forward {
            (i + 1) % solutions.len().max(1)
        } else {
            (i + solutions.len().max(1) - 1) % solutions.len().max(1)
        };
        match solutions.get(j) {
            Some(s) => {
                self.solution = *s;
                self.variant = 0;
                self.select_variant()
            }
            None => Effect::None,
        }
    }

    /// `s`: shows or hides supporting rows, keeping the selection on the same row (or the
    /// next one shown).
    fn toggle_supporting(&mut self) {
        let keep = self.selected_entry();
        self.show_supporting = !self.show_supporting;
        self.selected = keep
            .and_then(|k| self.visible().iter().position(|i| *i >= k))
            .unwrap_or(0);
    }

    /// `d`: marks the selected message, diffs the mark with another, or clears the diff.
    fn diff_key(&mut self) {
        match (self.diff_base, self.selected_entry()) {
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
        }
    }

    /// `e`: asks for the form of the export (the answer is [`App::export_key`]).
    fn export(&mut self) -> Effect {
        if self.view().is_some() {
            self.export_prompt = true;
            self.status = EXPORT_PROMPT.into();
        } else {
            self.status = "nothing to export: no run yet".into();
        }
        Effect::None
    }

    /// The key after `e`: the form, written to `trace-<variant>.<ext>`; Esc or any other key
    /// cancels.
    fn export_key(&mut self, input: Input) -> Effect {
        self.export_prompt = false;
        let form = match input {
            Input::Char('t') => Form::Text,
            Input::Char('j') => Form::Json,
            Input::Char('m') => Form::Mermaid,
            Input::Char('p') => Form::Pcap,
            Input::Quit => {
                self.quit = true;
                return Effect::None;
            }
            _ => {
                self.status = "export cancelled".into();
                return Effect::None;
            }
        };
        match self.view() {
            Some(v) => Effect::Export {
                variant: v.name.clone(),
                form,
                path: format!("trace-{}.{}", v.name.replace(':', "-"), form.extension()),
            },
            None => Effect::None,
        }
    }
}
