//! Key handling on a hand-made view: selection, tabs, scrolling, search, play, diff, export.

#![allow(clippy::unwrap_used)]
use super::*;
use crate::dashboard::model::Entry;
use crate::render::export::Form;

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
        keys: Vec::new(),
        pictures: Vec::new(),
        exposure: None,
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
    assert_eq!(app.key(Input::Char('e')), Effect::None);
    assert!(app.export_prompt);
    assert!(
        matches!(app.key(Input::Char('t')), Effect::Export { ref path, .. } if path.starts_with("trace-1-"))
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
    assert!(matches!(app.key(Input::Char('7')), Effect::Run(ref n) if n == "7:happy"));
    app.running = None;
    assert!(
        matches!(app.key(Input::Char('9')), Effect::Run(ref n) if n == "9:subscribe-trusted"),
        "all nine solutions are in the testbed"
    );
    app.running = None;
    assert_eq!(app.key(Input::Char('0')), Effect::None);
    app.key(Input::ClickRow(99));
    assert_eq!(app.selected, 0);
}

#[test]
fn export_asks_for_the_form_then_names_the_file() {
    let mut app = app_with_view();
    let name = app.current_name().unwrap();
    let file = name.replace(':', "-");
    for (key, form, ext) in [
        ('t', Form::Text, "txt"),
        ('j', Form::Json, "json"),
        ('m', Form::Mermaid, "mmd"),
        ('p', Form::Pcap, "pcapng"),
    ] {
        assert_eq!(app.key(Input::Char('e')), Effect::None, "e only asks");
        assert!(
            app.export_prompt && app.status.contains("p pcap"),
            "{}",
            app.status
        );
        assert_eq!(
            app.key(Input::Char(key)),
            Effect::Export {
                variant: name.clone(),
                form,
                path: format!("trace-{file}.{ext}"),
            }
        );
        assert!(!app.export_prompt);
    }
    // Esc cancels, and the key does nothing else (j would move the selection).
    let selected = app.selected;
    app.key(Input::Char('e'));
    assert_eq!(app.key(Input::Esc), Effect::None);
    assert!(!app.export_prompt && app.status == "export cancelled");
    assert_eq!(app.key(Input::Char('x')), Effect::None);
    assert_eq!(app.selected, selected);
    // A key the prompt does not know cancels too; it is not taken as a command.
    app.key(Input::Char('e'));
    assert_eq!(app.key(Input::Char('q')), Effect::None);
    assert!(!app.quit && !app.export_prompt);
}

#[test]
fn export_without_a_run_says_so() {
    let mut app = App::new(crate::scenarios::all(), Theme::Default);
    assert_eq!(app.key(Input::Char('e')), Effect::None);
    assert!(!app.export_prompt);
    assert!(app.status.contains("no run"), "{}", app.status);
}
