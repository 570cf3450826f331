//! The terminal dashboard (ratatui + crossterm): pick a solution and variant, run it for real in
//! the background, then step through the recorded trace — the ladder with TR step numbers, each
//! message with its security headers highlighted, decoded tokens, checks and the TR step in our
//! words. It reads only the trace and the scenario catalogue, never NF internals.
//!
//! [`app`] is the state and key handling (pure, unit-tested), [`ui`] draws a frame from it,
//! [`model`] turns a run into rows. This file is the driver: terminal, events, background runs.
//! The terminal is restored on quit, on Ctrl-C and on panic.

pub mod app;
pub mod diff;
pub mod keys;
pub mod live;
pub mod model;
pub mod ui;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEventKind, KeyModifiers,
    MouseButton, MouseEventKind,
};
use ratatui::crossterm::execute;

use app::{App, Effect, Input, Theme};
use model::View;

use crate::run;
use crate::scenarios;

/// How long a step lasts when playing.
const PLAY_STEP: Duration = Duration::from_millis(700);

fn input_of(event: &Event, geometry: &ui::LadderGeometry) -> Option<Input> {
    match event {
        Event::Key(k) if k.kind == KeyEventKind::Press => {
            if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
                return Some(Input::Quit);
            }
            Some(match k.code {
                KeyCode::Char(c) => Input::Char(c),
                KeyCode::Up => Input::Up,
                KeyCode::Down => Input::Down,
                KeyCode::Left => Input::Left,
                KeyCode::Right => Input::Right,
                KeyCode::PageUp => Input::PageUp,
                KeyCode::PageDown => Input::PageDown,
                KeyCode::Tab => Input::Tab,
                KeyCode::Enter => Input::Enter,
                KeyCode::Esc => Input::Esc,
                KeyCode::Backspace => Input::Backspace,
                _ => return None,
            })
        }
        Event::Mouse(m) if m.kind == MouseEventKind::Down(MouseButton::Left) => {
            let a = geometry.area;
            let inside = m.column >= a.x
                && m.column < a.x + a.width
                && m.row >= geometry.first_row
                && m.row < a.y + a.height;
            inside
                .then(|| Input::ClickRow(geometry.offset + usize::from(m.row - geometry.first_row)))
        }
        _ => None,
    }
}

/// A finished run: its view, and the run itself (kept for exports).
type Finished = (View, run::Run);

/// Runs scenarios on a background thread with its own runtime, so the UI never blocks on the
/// network.
fn spawn_runner(seed: u64) -> anyhow::Result<(mpsc::Sender<String>, mpsc::Receiver<Finished>)> {
    let (ask, asked) = mpsc::channel::<String>();
    let (tell, told) = mpsc::channel::<Finished>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("scenario-runner".into())
        .spawn(move || {
            while let Ok(name) = asked.recv() {
                if let Some(variant) = scenarios::select(&name).into_iter().next() {
                    let result = runtime.block_on(run::execute(&variant, seed));
                    if tell.send((View::from_run(&result), result)).is_err() {
                        break;
                    }
                }
            }
        })?;
    Ok((ask, told))
}

/// Opens the dashboard until the user quits.
pub fn run(theme: Theme, seed: u64) -> anyhow::Result<()> {
    let mut app = App::new(scenarios::all(), theme);
    let (ask, told) = spawn_runner(seed)?;
    // The latest run of each variant, for exports (the view keeps only what the screen shows).
    let mut runs: std::collections::HashMap<String, run::Run> = std::collections::HashMap::new();
    // `ratatui::init` enters the alternate screen and raw mode and installs a panic hook that
    // restores the terminal; `restore` below undoes it on every other way out.
    let mut terminal = ratatui::try_init()?;
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let result = (|| -> anyhow::Result<()> {
        if let Some(name) = app.current_name() {
            app.running = Some(app::Running {
                name: name.clone(),
                since: Instant::now(),
            });
            ask.send(name)?;
        }
        let mut geometry = ui::LadderGeometry::default();
        let mut last_play = Instant::now();
        while !app.quit {
            terminal.draw(|frame| geometry = ui::draw(frame, &app))?;
            if event::poll(Duration::from_millis(100))? {
                let ev = event::read()?;
                if let Some(input) = input_of(&ev, &geometry) {
                    match app.key(input) {
                        Effect::Run(name) => ask.send(name)?,
                        Effect::Export {
                            variant,
                            form,
                            path,
                        } => {
                            app.status = match runs.get(&variant) {
                                Some(run) => crate::render::export::write(run, form, path.as_ref())
                                    .unwrap_or_else(|e| format!("{e:#}")),
                                None => format!("no run of {variant} to export"),
                            };
                        }
                        Effect::None => {}
                    }
                }
            }
            while let Ok((view, result)) = told.try_recv() {
                runs.insert(view.name.clone(), result);
                app.finished(view);
            }
            if app.playing && last_play.elapsed() >= PLAY_STEP {
                app.tick_play();
                last_play = Instant::now();
            }
        }
        Ok(())
    })();
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}
