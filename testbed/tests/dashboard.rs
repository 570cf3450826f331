//! The dashboard: frames rendered from real runs (TestBackend snapshots at 80×24 and 160×48,
//! first TR step and the verification step of every solution), and the real binary driven in
//! a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use testbed::dashboard::app::{App, Input, Tab, Theme};
use testbed::dashboard::model::View;
use testbed::dashboard::ui;
use testbed::run::execute;
use testbed::scenarios;

fn frame(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| {
            ui::draw(f, app);
        })
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn app_for(solution: u8) -> App {
    let mut app = App::new(scenarios::all(), Theme::Default);
    app.solution = solution;
    let variant = app.current().unwrap().clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = rt.block_on(execute(&variant, 1));
    assert!(run.passed());
    app.finished(View::from_run(&run));
    app.status.clear(); // holds the run's wall time
    app
}

#[test]
fn frames_of_every_solution() {
    let mut solutions: Vec<u8> = scenarios::all().iter().map(|v| v.solution).collect();
    solutions.dedup();
    for solution in solutions {
        let mut app = app_for(solution);
        for (w, h) in [(80, 24), (160, 48)] {
            insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(format!("dashboard__sol{solution}_first_step_{w}x{h}"), frame(&app, w, h));
            });
        }
        // The verification step, with its checks.
        let visible = app.visible();
        let view = app.view().unwrap();
        let pos = visible
            .iter()
            .position(|i| {
                view.entries[*i]
                    .summary
                    .starts_with("POST /stir/v1/verification")
            })
            .unwrap();
        app.key(Input::ClickRow(pos));
        app.tab = Tab::Checks;
        for (w, h) in [(80, 24), (160, 48)] {
            let text = frame(&app, w, h);
            assert!(text.contains("✔"), "checks shown:\n{text}");
            insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(format!("dashboard__sol{solution}_verification_{w}x{h}"), text);
            });
        }
        // The checks are longer than the pane: J scrolls to the later ones.
        let top = frame(&app, 80, 24);
        for _ in 0..5 {
            app.key(Input::Char('J'));
        }
        let scrolled = frame(&app, 80, 24);
        assert_ne!(top, scrolled, "J scrolls the checks");
        let first = first_check(&app);
        assert!(top.contains(&first), "the first check at the top:\n{top}");
        assert!(
            !scrolled.contains(&first),
            "scrolled past the first check:\n{scrolled}"
        );
    }
}

/// The selected message's first check line, as the pane shows it.
fn first_check(app: &App) -> String {
    let view = app.view().unwrap();
    let entry = &view.entries[app.selected_entry().unwrap()];
    let check = &entry.checks[0];
    format!("✔ {}", check.name).chars().take(30).collect()
}

/// The avatar solutions draw the avatar: on a row where UE-B shows a frame, the avatar pane
/// holds the picture (Braille rows), and stepping to the next frame changes it.
#[test]
fn avatar_frames_are_drawn() {
    for solution in [5, 6, 7] {
        let mut app = app_for(solution);
        let visible = app.visible();
        let view = app.view().unwrap();
        let shown: Vec<usize> = visible
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                let e = &view.entries[**i];
                e.from == "ue-b" && !e.pictures.is_empty()
            })
            .map(|(pos, _)| pos)
            .collect();
        assert_eq!(
            shown.len(),
            3,
            "UE-B shows three frames (solution {solution})"
        );
        let mut frames = Vec::new();
        for pos in &shown {
            app.key(Input::ClickRow(*pos));
            let text = frame(&app, 160, 48);
            assert!(text.contains(" avatar qbranch-agent · frame "), "{text}");
            assert!(
                text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
                "a Braille picture:\n{text}"
            );
            frames.push(text);
        }
        assert_ne!(frames[0], frames[1], "the next frame is another picture");
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("dashboard__sol{solution}_avatar_160x48"), frames[1].clone());
        });
    }
}

#[test]
fn each_party_is_shown_the_others_fetched_avatar() {
    // Solution 8 step 21: UE-B renders and shows UE-A's avatar, UE-A UE-B's (a picture each
    // time: the rendered frame, then the one shown).
    let mut app = app_for(8);
    let visible = app.visible();
    for (ue, avatar) in [("ue-b", "qbranch-agent"), ("ue-a", "owl")] {
        let view = app.view().unwrap();
        let shown: Vec<usize> = visible
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                let e = &view.entries[**i];
                e.from == ue && !e.pictures.is_empty()
            })
            .map(|(pos, _)| pos)
            .collect();
        assert_eq!(shown.len(), 2, "{ue} renders and shows one frame");
        app.key(Input::ClickRow(shown[1]));
        let text = frame(&app, 160, 48);
        assert!(
            text.contains(&format!(" avatar {avatar} · frame ")),
            "{text}"
        );
        assert!(
            text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "a Braille picture:\n{text}"
        );
    }
}

#[test]
fn too_small_and_contrast() {
    let mut app = App::new(scenarios::all(), Theme::Contrast);
    assert!(frame(&app, 60, 20).contains("terminal too small"));
    app.help = true;
    let help = frame(&app, 80, 24);
    assert!(
        help.contains("Keys (any key closes)") && help.contains("diff it with another"),
        "{help}"
    );
}

/// The real binary in a pseudo-terminal (`script` from util-linux): it opens, runs the first
/// variant, moves and quits on keys, and gives the terminal back.
#[test]
fn binary_in_a_pseudo_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed for this test");
    }
    let bin = env!("CARGO_BIN_EXE_testbed");
    let mut child = Command::new("script")
        .args([
            "-qfec",
            &format!("stty cols 120 rows 40; exec {bin} tui"),
            "/dev/null",
        ])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_secs(4));
    stdin.write_all(b"jj\t?").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    stdin.write_all(b"xq").unwrap();
    stdin.flush().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "dashboard did not quit on q"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    for expected in [
        "TR 33.790 testbed",
        "PASS",
        "Keys (any key closes)",
        "Tokens",
    ] {
        assert!(
            screen.contains(expected),
            "{expected:?} not on screen:\n{screen}"
        );
    }
    // Alternate screen left at the end: the terminal is restored.
    assert!(
        screen.contains("\u{1b}[?1049l"),
        "alternate screen not left"
    );
}

#[test]
fn exposure_pane_shows_the_decision_and_the_notification_before_and_after() {
    // Solution 9, an untrusted AF: the NEF's decision, and each notification as the DCSF sent
    // it (IMPUs) beside what the AF got (pseudonyms, the application id only).
    let mut app = App::new(scenarios::all(), Theme::Default);
    app.solution = 9;
    app.variant = 1;
    let variant = app.current().unwrap().clone();
    assert_eq!(variant.id, "subscribe-untrusted");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = rt.block_on(execute(&variant, 1));
    assert!(run.passed());
    app.finished(View::from_run(&run));
    app.status.clear();
    let visible = app.visible();
    let view = app.view().unwrap();
    let pos = visible
        .iter()
        .position(|i| {
            let e = &view.entries[*i];
            e.from == "nef-o" && e.summary.starts_with("POST /af/v1/dc-notifications")
        })
        .unwrap();
    app.key(Input::ClickRow(pos));
    let text = frame(&app, 160, 48);
    for want in [
        "DC exposure: policy decision",
        "DCSF → NEF (before)",
        "NEF → AF (after)",
        "sip:+12025551000@",
        "anon-",
        "grant",
        "dc-as.avatars.example",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("dashboard__sol9_exposure_160x48", text);
    });
}
