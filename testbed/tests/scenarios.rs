//! Every scenario variant, generated from the registry and run for real (all network
//! functions, real sockets): each TR step as the variant says (seen, or absent when n/a or
//! prevented), each check observed, the JSON export valid, the reviewable form pinned by a
//! snapshot under `snapshots/`, and a few representative variants' full JSON (every message
//! byte) pinned too. Then the properties of worlds: runs byte-identical, two at once, nothing
//! left running, the step ids of the TR's inventory, the CLI verifying what crossed the NNI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use libtest_mimic::{Arguments, Failed, Trial};
use proto::trace::{Body, Note};
use testbed::run::{Run, execute};
use testbed::solution::Variant;
use testbed::{node, render, scenarios};

/// Variants whose full JSON (every record, every byte) is pinned as well.
const FULL: &[&str] = &[
    "2:single",
    "2:dc-bootstrap",
    "4:authenticate",
    "6:ue-b-intercepted",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run(name: &str) -> Run {
    let variants = scenarios::select(name);
    assert_eq!(variants.len(), 1, "{name}");
    runtime().block_on(execute(&variants[0], 1))
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what().into()) }
}

/// One variant: steps, checks, JSON, choices, snapshot.
fn check(variant: &Variant) -> Result<(), Failed> {
    let name = variant.name();
    let result = runtime().block_on(execute(variant, 1));
    let review = render::review(&result);
    ensure(result.error.is_none(), || {
        format!("{name}: {:?}\n{review}", result.error)
    })?;
    for (step, m) in variant.figure.steps.iter().zip(&result.steps) {
        ensure(m.ok(), || {
            format!("{name}: TR step {} is {:?}\n{review}", step.id, m.status)
        })?;
    }
    for o in &result.outcomes {
        ensure(o.passed, || {
            format!(
                "{name}: outcome failed: {} — {}\n{review}",
                o.what, o.detail
            )
        })?;
    }
    json_export_is_valid(&result)?;
    choices_are_in_the_table(&result)?;
    let file = name.replace(':', "__");
    snapshot(&file, &review);
    if FULL.contains(&name.as_str()) {
        snapshot(&format!("{file}.json"), &render::json(&result));
    }
    Ok(())
}

/// The JSON export parses, says what the run says, and names every port.
fn json_export_is_valid(result: &Run) -> Result<(), Failed> {
    let name = result.variant.name();
    let json = render::json(result);
    let doc: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("{name}: JSON export: {e}"))?;
    ensure(
        doc["format"] == "tr33790-testbed-trace" && doc["version"] == 2,
        || format!("{name}: format/version"),
    )?;
    ensure(doc["passed"] == result.passed(), || {
        format!("{name}: passed")
    })?;
    ensure(
        doc["steps"].as_array().map(Vec::len) == Some(result.variant.figure.steps.len()),
        || format!("{name}: steps"),
    )?;
    ensure(
        doc["records"].as_array().map(Vec::len) == Some(result.trace.len()),
        || format!("{name}: records"),
    )?;
    for (at, _) in json.match_indices("127.0.0.1:") {
        let port: String = json[at + "127.0.0.1:".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        // Ports below 1024 are fixed, not the OS's choice (the unreachable fault's 9).
        let fixed = port.parse::<u16>().is_ok_and(|p| p < 1024);
        ensure(
            fixed || json.as_bytes().get(at + "127.0.0.1:".len()) == Some(&b'<'),
            || {
                format!(
                    "{name}: a port left unnamed near {:?}",
                    &json[at..(at + 30).min(json.len())]
                )
            },
        )?;
    }
    Ok(())
}

/// Every choice a node notes is in the choices table.
fn choices_are_in_the_table(result: &Run) -> Result<(), Failed> {
    for r in &result.trace {
        if let Body::Note {
            note: Note::Choice { id, .. },
            ..
        } = &r.body
        {
            ensure(testbed::choices::get(id).is_some(), || {
                format!(
                    "{}: {} notes choice {id}, which the table lacks",
                    result.variant.name(),
                    r.node
                )
            })?;
        }
    }
    Ok(())
}

/// Asserts two traces are equal, naming the first line that differs.
fn identical(first: &str, second: &str) -> Result<(), Failed> {
    if let Some((n, (a, b))) = first
        .lines()
        .zip(second.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        return Err(format!("line {}: {a:?} != {b:?}", n + 1).into());
    }
    ensure(first.lines().count() == second.lines().count(), || {
        "line counts differ".into()
    })
}

fn byte_identical(name: &'static str) -> impl FnOnce() -> Result<(), Failed> {
    move || identical(&render::text(&run(name)), &render::text(&run(name)))
}

/// After a call with data channels, BYE closed them: the trace shows each channel opened and
/// closed on both sides, and every ICE socket can be bound again.
fn data_channels_are_closed_and_released() -> Result<(), Failed> {
    let result = run("2:dc");
    for n in [node::UE_A, node::UE_B] {
        for act in [proto::trace::Act::DcOpen, proto::trace::Act::DcClose] {
            let count = result
                .trace
                .iter()
                .filter(|r| r.node == n)
                .filter(|r| matches!(&r.body, Body::Note { note, .. } if note.action().is_some_and(|(a, o)| a == act && o.is_done())))
                .count();
            ensure(count == 2, || {
                format!("{n}: {act:?} noted {count} times, not 2")
            })?;
        }
    }
    let ice: Vec<_> = result
        .addresses
        .iter()
        .filter(|(layer, a, n)| {
            *layer == kit::tap::Layer::Udp
                && (n == node::UE_A || n == node::UE_B)
                && !result.listening.iter().any(|(l, _)| l == a)
        })
        .collect();
    ensure(!ice.is_empty(), || "no ICE addresses".into())?;
    runtime().block_on(async {
        for (_, addr, n) in ice {
            ensure(tokio::net::UdpSocket::bind(addr).await.is_ok(), || {
                format!("{n} still holds its ICE socket {addr}")
            })?;
        }
        Ok(())
    })
}

fn two_worlds_run_at_once_in_one_process() -> Result<(), Failed> {
    let rt = runtime();
    let a = scenarios::select("2:single").remove(0);
    let b = scenarios::select("2:tn-tampered").remove(0);
    let (ra, rb) = rt.block_on(async { tokio::join!(execute(&a, 1), execute(&b, 1)) });
    ensure(ra.passed(), || render::review(&ra))?;
    ensure(rb.passed(), || render::review(&rb))?;
    // Same result as when each runs alone: the worlds do not see each other.
    identical(&render::text(&ra), &render::text(&run("2:single")))
}

/// The scenario's step ids are the TR figure's (fixtures/tr/tr-steps.md, copied from the
/// project's reference inventory).
fn step_ids_match_the_tr_inventory() -> Result<(), Failed> {
    let inventory = testbed::coverage::Inventory::load()?;
    for v in scenarios::all() {
        let ids: Vec<&str> = v.figure.steps.iter().map(|s| s.id).collect();
        // A flow drawn over two figures (solution 1) lists both: "6.1.2-1, 6.1.2-2".
        let expected = inventory.step_ids(v.figure.figure);
        ensure(expected.as_ref() == Some(&ids), || {
            format!(
                "{}: steps of Figure {}: {ids:?} vs {expected:?}",
                v.name(),
                v.figure.figure
            )
        })?;
    }
    Ok(())
}

/// The Identity headers that reach the terminating network verify with `testbed verify`.
fn identity_reaching_the_terminating_side_verifies_with_the_cli() -> Result<(), Failed> {
    let result = run("2:single");
    let invite = result
        .trace
        .iter()
        .find_map(|r| match &r.body {
            Body::Sent {
                to: Some(to),
                message,
                ..
            } if r.node == node::SCSCF_T
                && to == node::AS_T
                && message.summary.starts_with("INVITE") =>
            {
                Some(message.raw.clone())
            }
            _ => None,
        })
        .ok_or("no INVITE to the terminating AS")?;
    let identities: Vec<&str> = invite
        .lines()
        .filter_map(|l| l.strip_prefix("Identity: "))
        .collect();
    ensure(identities.len() == 2, || "shaken and rcd".into())?;
    let chain = kit::fixtures::dir().join("pki/sti-sp-1001.chain.pem");
    for identity in identities {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_testbed"))
            .args([
                "verify",
                identity.trim(),
                "--now",
                "2026-03-02T09:00:00Z",
                "--cert",
            ])
            .arg(&chain)
            .arg("--crl")
            .arg(kit::fixtures::dir().join("pki/sti-ica.crl.pem"))
            .args(["--from", "+12025551000", "--to", "+12155551001"])
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure(
            out.status.success() && stdout.contains("Result: pass"),
            || stdout.into_owned(),
        )?;
    }
    Ok(())
}

/// After a run the world is gone: every port it listened on (SIP over UDP and TCP, HTTPS,
/// DNS) can be bound again.
fn nothing_is_left_running_after_a_run() -> Result<(), Failed> {
    let result = run("2:single");
    ensure(result.listening.len() >= 20, || {
        format!("{:?}", result.listening)
    })?;
    runtime().block_on(async {
        for (addr, n) in &result.listening {
            ensure(tokio::net::TcpListener::bind(addr).await.is_ok(), || {
                format!("{n} still holds TCP {addr}")
            })?;
            ensure(tokio::net::UdpSocket::bind(addr).await.is_ok(), || {
                format!("{n} still holds UDP {addr}")
            })?;
        }
        Ok(())
    })
}

/// `--format mermaid`: a diagram with every step, absent ones as such.
fn mermaid_names_every_step() -> Result<(), Failed> {
    let result = run("4:option-b");
    let mermaid = render::mermaid(&result);
    ensure(mermaid.lines().nth(1) == Some("sequenceDiagram"), || {
        mermaid.clone()
    })?;
    for step in &result.variant.figure.steps {
        ensure(mermaid.contains(&format!(": step {}", step.id)), || {
            format!("step {} in the diagram", step.id)
        })?;
    }
    ensure(mermaid.contains("step 0a n/a (option not taken"), || {
        mermaid.clone()
    })?;
    for line in mermaid.lines().skip(1) {
        ensure(!line.contains(';') && !line.contains('#'), || {
            format!("Mermaid would misread {line:?}")
        })?;
    }
    Ok(())
}

/// CANCEL across the whole path (RFC 3261 §9 and §16.10): the caller cancels while the callee
/// rings; every proxy answers the CANCEL and passes it on; the callee stops ringing with 487,
/// which reaches the caller.
fn caller_cancels_while_the_callee_rings() -> Result<(), Failed> {
    runtime().block_on(async {
        let description = testbed::world::Description::load()?;
        let options = testbed::world::Options {
            seed: 1,
            clock: proto::clock::Clock::Fixed(description.start_time()?),
            timers: testbed::run::scenario_timers(),
            setup: testbed::world::Setup::default(),
            needs: Vec::new(),
            as_flow: scenarios::sol2_third_party_rcd::SOLUTION.as_flow,
            auto_answer: false,
        };
        let world = testbed::world::World::start(description, options).await?;
        let result = cancel_in(&world).await;
        world.shutdown().await;
        result
    })
}

async fn cancel_in(world: &testbed::world::World) -> Result<(), Failed> {
    let (a, b) = (world.ue(node::UE_A)?, world.ue(node::UE_B)?);
    ensure(
        b.register().await? == 200 && a.register().await? == 200,
        || "registration".into(),
    )?;
    let responses = a
        .call_and_cancel("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone")
        .await?;
    let codes: Vec<u16> = responses.iter().map(|r| r.status_code.code()).collect();
    ensure(codes.last() == Some(&487) && codes.contains(&180), || {
        format!("{codes:?}")
    })?;
    world
        .settle(
            std::time::Duration::from_millis(30),
            std::time::Duration::from_secs(3),
        )
        .await;
    ensure(b.ringing() == 0, || "the callee stopped ringing".into())?;
    let trace = world.tap.ordered();
    let cancels: Vec<(String, String)> = trace
        .iter()
        .filter_map(|r| match &r.body {
            Body::Sent {
                to: Some(to),
                message,
                ..
            } if message.summary.starts_with("CANCEL") => Some((r.node.clone(), to.clone())),
            _ => None,
        })
        .collect();
    // Hop by hop from the caller to the callee.
    ensure(
        cancels.first().map(|c| c.0.as_str()) == Some(node::UE_A)
            && cancels.last().map(|c| c.1.as_str()) == Some(node::UE_B)
            && cancels.len() >= 6,
        || format!("{cancels:?}"),
    )?;
    let ok_to_cancel = trace.iter().any(|r| {
        r.node == node::UE_B
            && matches!(&r.body, Body::Sent { message, .. } if message.summary == "200 OK (CANCEL)")
    });
    ensure(ok_to_cancel, || "the callee answers the CANCEL".into())
}

/// The data-channel benchmark's world works for one call (the measurement itself is
/// `testbed bench --dc`).
fn one_dc_call_in_the_bench_world() -> Result<(), Failed> {
    let times = runtime().block_on(testbed::run::bench::dc_calls(1, 1))?;
    ensure(times.len() == 1, || format!("{times:?}"))
}

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = scenarios::all()
        .into_iter()
        .map(|v| Trial::test(v.name(), move || check(&v)))
        .collect();
    trials.extend([
        Trial::test(
            "worlds::bootstrap_runs_are_byte_identical",
            byte_identical("2:dc-bootstrap"),
        ),
        Trial::test(
            "worlds::avatar_runs_are_byte_identical",
            byte_identical("6:ue-a-altered"),
        ),
        Trial::test(
            "worlds::runs_are_byte_identical",
            byte_identical("2:rcd-tampered"),
        ),
        Trial::test(
            "worlds::data_channels_are_closed_and_released",
            data_channels_are_closed_and_released,
        ),
        Trial::test(
            "worlds::two_at_once_in_one_process",
            two_worlds_run_at_once_in_one_process,
        ),
        Trial::test(
            "worlds::step_ids_match_the_tr_inventory",
            step_ids_match_the_tr_inventory,
        ),
        Trial::test(
            "worlds::identity_verifies_with_the_cli",
            identity_reaching_the_terminating_side_verifies_with_the_cli,
        ),
        Trial::test(
            "worlds::nothing_is_left_running",
            nothing_is_left_running_after_a_run,
        ),
        Trial::test("worlds::mermaid_names_every_step", mermaid_names_every_step),
        Trial::test(
            "worlds::caller_cancels_while_the_callee_rings",
            caller_cancels_while_the_callee_rings,
        ),
        Trial::test(
            "worlds::one_dc_call_in_the_bench_world",
            one_dc_call_in_the_bench_world,
        ),
    ]);
    libtest_mimic::run(&args, trials).exit();
}
