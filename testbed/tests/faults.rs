//! Faults: a network function stopped for real (its listeners closed) before the flow or once a
//! TR step has been seen (`testbed run --down`), and what the world makes of it. Each test puts
//! the outcome the specifications give for the fault in place of the variant's own checks and
//! asserts it outcome by outcome, with the typed reason; steps the fault kept from happening
//! must not be seen; every run ends within its bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use proto::trace::{Act, Reason};
use testbed::node::*;
use testbed::run::fault::{Down, When};
use testbed::run::judge::{Check, Party};
use testbed::run::{Run, execute_with};
use testbed::{render, scenarios};

/// No fault may hold a run longer than this (the NFs' own bounds are shorter: an HTTPS client's
/// 5 s, a DNS look-up's, Timer C's 10 s).
const BOUND: Duration = Duration::from_secs(30);

/// Runs variant `name` with `downs`, its checks replaced by `checks`; the run, and how long it
/// took (asserted within [`BOUND`]).
fn play(name: &str, downs: &[Down], checks: Vec<Check>) -> (Run, Duration) {
    let mut variants = scenarios::select(name);
    assert_eq!(variants.len(), 1, "{name}");
    let mut variant = variants.remove(0);
    variant.checks = checks;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let began = Instant::now();
    let run = runtime
        .block_on(async { tokio::time::timeout(BOUND, execute_with(&variant, 1, downs)).await })
        .unwrap_or_else(|_| panic!("{name} with {downs:?} did not end within {BOUND:?}"));
    let took = began.elapsed();
    assert!(took < BOUND, "{name}: {took:?}");
    (run, took)
}

/// Every outcome observed; the review form in the message otherwise.
fn outcomes_hold(run: &Run) {
    let review = render::review(run);
    assert!(run.error.is_none(), "{:?}\n{review}", run.error);
    assert!(!run.outcomes.is_empty(), "no outcome judged\n{review}");
    for o in &run.outcomes {
        assert!(o.passed, "{}: {}\n{review}", o.what, o.detail);
    }
}

/// Step `id`'s result.
fn step<'r>(run: &'r Run, id: &str) -> &'r testbed::scenario::StepResult {
    run.steps
        .iter()
        .find(|s| s.step == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn seen(run: &Run, ids: &[&str]) {
    for id in ids {
        assert!(
            step(run, id).seen(),
            "step {id}: {:?}\n{}",
            step(run, id).status,
            render::review(run)
        );
    }
}

/// Steps the fault kept from happening: not seen (missing), never claimed.
fn not_seen(run: &Run, ids: &[&str]) {
    for id in ids {
        let s = step(run, id);
        assert!(
            !s.seen() && !s.ok(),
            "step {id} must be missing: {:?}",
            s.status
        );
    }
    assert!(!run.passed(), "a run with missing steps cannot pass");
}

/// The one fault of the run: what it stopped, and when.
fn stopped(run: &Run, nodes: &[&str], when: &When) {
    assert_eq!(run.faults.len(), 1, "{:?}", run.faults);
    let f = &run.faults[0];
    assert_eq!(f.nodes, nodes, "{f}");
    match (when, &f.when) {
        (When::AfterStep { step: a, .. }, When::AfterStep { step: b, .. }) => assert_eq!(a, b),
        (a, b) => assert_eq!(a, b),
    }
}

/// No node refused anything for `reason` (a down peer is "unreachable", never "no record").
fn never(run: &Run, reason: Reason) {
    for r in &run.trace {
        if let proto::trace::Body::Note { note, .. } = &r.body
            && let Some((act, outcome)) = note.action()
        {
            assert_ne!(outcome.reason(), Some(reason), "{} {act:?}", r.node);
        }
    }
}

fn after(step: &str) -> When {
    When::AfterStep {
        step: step.to_owned(),
        at: Duration::ZERO,
    }
}

/// STI-VS down once the INVITE has crossed the NNI (step 6): the terminating IMS AS cannot
/// have the Identity headers verified and delivers the call with verstat=No-TN-Validation
/// (TS 24.229 §5.7.1.22 / Annex V: no validation was done) and no verified name.
#[test]
fn sti_vs_down_no_tn_validation() {
    let checks = vec![
        Check::Answered,
        Check::Verstat("No-TN-Validation"),
        Check::Name(None),
        Check::Jcard(false),
        Check::Refusal {
            by: AS_T,
            act: Act::RequestVerification,
            reason: Reason::Unreachable,
        },
    ];
    // The project's step syntax: the figure's clause and the step id.
    let (run, took) = play(
        "2:single",
        &[Down::parse("sti-vs@6.2.2.3-6").unwrap()],
        checks,
    );
    outcomes_hold(&run);
    stopped(&run, &[STI_VS_T], &after("6"));
    seen(&run, &["1", "2", "3", "4", "5", "6", "11", "12"]);
    not_seen(&run, &["7", "8", "9"]);
    eprintln!("sti-vs down: {took:?}");
}

/// STI-AS down before the flow: the originating IMS AS sends the INVITE on unsigned; the
/// terminating side has nothing to verify and says so.
#[test]
fn sti_as_down_unsigned() {
    let checks = vec![
        Check::Answered,
        Check::Signed {
            ppt: "shaken",
            yes: false,
        },
        Check::Signed {
            ppt: "rcd",
            yes: false,
        },
        Check::Refusal {
            by: AS_O,
            act: Act::RequestSigning,
            reason: Reason::Unreachable,
        },
        Check::Refusal {
            by: AS_T,
            act: Act::RequestVerification,
            reason: Reason::MissingIdentity,
        },
        Check::Verstat("No-TN-Validation"),
        Check::Name(None),
    ];
    let (run, took) = play("2:single", &[Down::before("sti-as")], checks);
    outcomes_hold(&run);
    stopped(&run, &[STI_AS_O], &When::BeforeFlow);
    seen(&run, &["1", "2", "11", "12"]);
    not_seen(&run, &["3", "4", "5", "7", "8", "9"]);
    eprintln!("sti-as down: {took:?}");
}

/// The HSS down once the caller's INVITE is in (step 1; it was needed for registration): the
/// IMS AS gets no 3P ID information — unreachable, not "no record" — and the call goes on with
/// the caller's number only, still signed and verified.
#[test]
fn hss_down_no_3p_id_unreachable() {
    let checks = vec![
        Check::Answered,
        Check::Refusal {
            by: AS_O,
            act: Act::IdInfoLookup,
            reason: Reason::Unreachable,
        },
        Check::Name(None),
        Check::Signed {
            ppt: "shaken",
            yes: true,
        },
        Check::Verstat("TN-Validation-Passed"),
    ];
    let (run, took) = play("1:info", &[Down::at("hss-o", "1")], checks);
    outcomes_hold(&run);
    never(&run, Reason::NoRecord);
    stopped(&run, &[HSS_O], &after("1"));
    seen(&run, &["1", "2", "10a", "10b", "11", "12-13", "14"]);
    not_seen(&run, &["3", "5", "9"]);
    // Solution 3: the RCD held by the HSS, the same way.
    let checks = vec![
        Check::Answered,
        Check::Refusal {
            by: AS_O,
            act: Act::HssRcdLookup,
            reason: Reason::Unreachable,
        },
        Check::Name(None),
        Check::Jcard(false),
        Check::Verstat("TN-Validation-Passed"),
    ];
    let (rcd, t3) = play("3:concrete", &[Down::at("hss-o", "1")], checks);
    outcomes_hold(&rcd);
    never(&rcd, Reason::NoRecord);
    stopped(&rcd, &[HSS_O], &after("1"));
    eprintln!("hss down: {took:?} (solution 1), {t3:?} (solution 3)");
}

/// The enterprise's 3P ID server down before the flow: no RCD, for the typed reason
/// "unreachable" (not "no record"); the call goes on signed with the caller's number only.
#[test]
fn id3p_down_no_3p_id_unreachable() {
    let checks = vec![
        Check::Answered,
        Check::Refusal {
            by: AS_O,
            act: Act::RcdLookup,
            reason: Reason::Unreachable,
        },
        Check::Signed {
            ppt: "rcd",
            yes: false,
        },
        Check::Attested("A"),
        Check::Verstat("TN-Validation-Passed"),
        Check::Name(None),
        Check::Jcard(false),
    ];
    let (run, took) = play("2:single", &[Down::before(ID3P)], checks);
    outcomes_hold(&run);
    never(&run, Reason::NoRecord);
    stopped(&run, &[ID3P], &When::BeforeFlow);
    seen(&run, &["1", "6", "7", "8", "9", "10", "11", "12"]);
    not_seen(&run, &["2"]);
    eprintln!("3P ID server down: {took:?}");
}

/// The avatar stores down: the BAR (solution 5), the DAC (solution 6), both AOSs (solution 8).
/// Each time the session goes on without an avatar, and the NF that asked says "unreachable".
#[test]
fn avatar_stores_down_no_avatar() {
    // BAR: the MF cannot download the model; UE-A's choice is answered 502, UE-B sees none.
    let checks = vec![
        Check::AvatarAnswer(502),
        Check::Refusal {
            by: MF_O,
            act: Act::DownloadAvatarModel,
            reason: Reason::Unreachable,
        },
        Check::NoAvatarShown,
    ];
    let (bar, t1) = play("5:happy", &[Down::before(BAR)], checks);
    outcomes_hold(&bar);
    stopped(&bar, &[BAR], &When::BeforeFlow);
    not_seen(&bar, &["5", "6", "7", "8"]);
    // DAC: the XR AS gets no object; nothing is rendered for UE-B.
    let checks = vec![
        Check::Refusal {
            by: XR_AS_O,
            act: Act::RequestAvatarObject,
            reason: Reason::Unreachable,
        },
        Check::NoAvatarShown,
    ];
    let (dac, t2) = play("6:net-happy", &[Down::before(DAC)], checks);
    outcomes_hold(&dac);
    stopped(&dac, &[DAC], &When::BeforeFlow);
    seen(&dac, &["1", "2", "3", "4"]);
    not_seen(&dac, &["5", "6", "7", "9", "10"]);
    // AOS (both operators'): the call completes, verified by number, with no avatar either way.
    let checks = vec![
        Check::Answered,
        Check::Refusal {
            by: AS_O,
            act: Act::LookupAvatar,
            reason: Reason::Unreachable,
        },
        Check::Refusal {
            by: AS_T,
            act: Act::LookupAvatar,
            reason: Reason::Unreachable,
        },
        Check::Verstat("TN-Validation-Passed"),
        Check::PeerAvatar {
            party: Party::Callee,
            avatar_id: None,
        },
        Check::PeerAvatar {
            party: Party::Caller,
            avatar_id: None,
        },
    ];
    let (aos, t3) = play("8:both-happy", &[Down::before("aos")], checks);
    outcomes_hold(&aos);
    stopped(&aos, &[AOS_O, AOS_T], &When::BeforeFlow);
    seen(&aos, &["1", "6", "7", "9", "11"]);
    not_seen(&aos, &["2", "12", "21"]);
    eprintln!("BAR down: {t1:?}, DAC down: {t2:?}, AOS down: {t3:?}");
}

/// The NEF down: the AF's token request meets a refused connection, which it notes as
/// "unreachable"; it subscribes to nothing and is told nothing, and the call goes on.
#[test]
fn nef_down_af_gets_a_clear_error() {
    let checks = vec![
        Check::Refusal {
            by: DC_AS_O,
            act: Act::ObtainToken,
            reason: Reason::Unreachable,
        },
        Check::NotNotified { af: DC_AS_O },
        Check::Answered,
    ];
    let (run, took) = play("9:subscribe-trusted", &[Down::before(NEF_O)], checks);
    outcomes_hold(&run);
    stopped(&run, &[NEF_O], &When::BeforeFlow);
    not_seen(&run, &["1", "2", "6", "8"]);
    eprintln!("NEF down: {took:?}");
}

/// The world's DNS down: the first user agent cannot find its P-CSCF; the run fails at once,
/// saying so, within the resolver's bound.
#[test]
fn dns_down_fails_clearly() {
    let (run, took) = play("2:single", &[Down::before(DNS)], Vec::new());
    stopped(&run, &[DNS], &When::BeforeFlow);
    let error = run.error.as_deref().expect("the run must fail");
    assert!(
        error.contains("cannot resolve") && error.contains("DNS"),
        "{error}"
    );
    assert!(run.steps.iter().all(|s| !s.seen()), "nothing happened");
    assert!(!run.passed());
    assert!(took < Duration::from_secs(15), "{took:?}");
    eprintln!("DNS down: {took:?}: {error}");
}

/// A fault that names no NF of the world, or a step the figure does not have, is refused
/// before anything is played.
#[test]
fn unknown_faults_are_refused() {
    let (run, _) = play("2:single", &[Down::before("nef")], Vec::new());
    let error = run.error.unwrap();
    assert!(error.contains("runs no nef"), "{error}");
    let (run, _) = play("2:single", &[Down::at("sti-vs", "42")], Vec::new());
    let error = run.error.unwrap();
    assert!(error.contains("has no step 42"), "{error}");
    assert!(Down::parse("sti-vs@").is_err());
    assert!(Down::parse("@6").is_err());
    assert_eq!(
        Down::parse("sti-vs-t@7-8").unwrap(),
        Down::at("sti-vs-t", "7-8")
    );
}

/// The command line: `--down` says what it stopped and when (the header and standard error),
/// and the run is judged as the variant says, so the changed outcome fails it (exit 1).
#[test]
fn cli_prints_what_was_stopped_and_when() {
    let began = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_testbed"))
        .args([
            "run", "1:info", "--down", "hss-o@1", "--down", "sti-vs", "--format", "review",
        ])
        .output()
        .unwrap();
    assert!(began.elapsed() < BOUND);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for text in [&stdout, &stderr] {
        assert!(
            text.contains("--down hss-o@1: stopped hss-o once step 1 had been seen"),
            "{text}"
        );
        assert!(
            text.contains("--down sti-vs: stopped sti-vs-t before the flow"),
            "{text}"
        );
    }
    assert!(stdout.contains("✘ 3 "), "{stdout}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_testbed"))
        .args(["run", "2:single", "--down", "@3"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("name a network function"));
}
