//! The key table: the key bar and the `?` help are both generated from it.

/// One key binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key(s), as shown.
    pub keys: &'static str,
    /// Shown in the key bar (short).
    pub short: &'static str,
    /// Shown in the help.
    pub help: &'static str,
    /// Whether the key bar shows it (the help shows all).
    pub bar: bool,
}

/// Every binding, in the order the key bar and the help list them.
pub const KEYS: &[Key] = &[
    Key {
        keys: "1-9",
        short: "solution",
        help: "pick a solution",
        bar: true,
    },
    Key {
        keys: "←/→ h/l",
        short: "prev/next",
        help: "previous / next solution",
        bar: false,
    },
    Key {
        keys: "v",
        short: "variant",
        help: "cycle the variants (happy path, threats)",
        bar: true,
    },
    Key {
        keys: "↑/↓ j/k",
        short: "message",
        help: "move through the messages (PgUp/PgDn, g/G too)",
        bar: true,
    },
    Key {
        keys: "J/K",
        short: "scroll",
        help: "scroll the detail pane (message, tokens, checks, step) down / up",
        bar: false,
    },
    Key {
        keys: "Tab",
        short: "tab",
        help: "cycle Message / Tokens / Checks / Step",
        bar: true,
    },
    Key {
        keys: "space",
        short: "play",
        help: "play the flow step by step (again to pause)",
        bar: true,
    },
    Key {
        keys: "r",
        short: "run",
        help: "run the selected variant again (for real)",
        bar: true,
    },
    Key {
        keys: "s",
        short: "supporting",
        help: "show or hide supporting messages (DNS, 100 Trying)",
        bar: false,
    },
    Key {
        keys: "/",
        short: "search",
        help: "search headers, tokens and checks; n for the next match",
        bar: true,
    },
    Key {
        keys: "d",
        short: "diff",
        help: "mark this message, then diff it with another",
        bar: false,
    },
    Key {
        keys: "e",
        short: "export",
        help: "export: then t text, j JSON, m Mermaid or p pcap",
        bar: false,
    },
    Key {
        keys: "t",
        short: "theme",
        help: "toggle the high-contrast theme",
        bar: false,
    },
    Key {
        keys: "?",
        short: "help",
        help: "this help",
        bar: true,
    },
    Key {
        keys: "q",
        short: "quit",
        help: "quit (Ctrl-C too)",
        bar: true,
    },
];
