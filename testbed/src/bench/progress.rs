//! A progress line on standard error while a benchmark runs: redrawn in place on a terminal
//! (at most ten times a second), one line every five seconds anywhere else (a CI log), and
//! nothing with `--json` on a pipe so the JSON stays alone on standard output.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Where the progress goes.
#[derive(Debug)]
pub struct Progress {
    label: String,
    terminal: bool,
    quiet: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// A progress line headed `label`; `quiet` shows nothing off a terminal.
    pub fn new(label: impl Into<String>, quiet: bool) -> Self {
        Self {
            label: label.into(),
            terminal: std::io::stderr().is_terminal(),
            quiet,
            last: None,
            drawn: false,
        }
    }

    /// Shows `text` if it is time to (the text is only made then).
    pub fn update(&mut self, text: impl FnOnce() -> String) {
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        if (self.quiet && !self.terminal) || self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{}: {}", self.label, text());
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{}: {}", self.label, text());
        }
        let _ = err.flush();
    }

    /// Clears the line (on a terminal).
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
