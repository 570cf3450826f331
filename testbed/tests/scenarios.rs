//! Every scenario variant run for real (all network functions, real sockets): each TR step
//! matched, each expected outcome observed, the trace pinned by a snapshot under `snapshots/`
//! and byte-identical when run again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proto::trace::Body;
use testbed::run::{Run, execute};
use testbed::{render, scenarios};

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

fn check(name: &str) {
    let result = run(name);
    let text = render::text(&result);
    assert!(result.error.is_none(), "{name}: {:?}\n{text}", result.error);
    for (step, m) in result.variant.figure.steps.iter().zip(&result.steps) {
        assert!(
            m.seen(),
            "{name}: TR step {} not matched ({:?})\n{text}",
            step.id,
            m.records
        );
    }
    for o in &result.outcomes {
        assert!(
            o.passed,
            "{name}: outcome failed: {} — {}",
            o.what, o.detail
        );
    }
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name.replace(':', "__"), text);
    });
}

#[test]
fn sol1_info() {
    check("1:info");
}

#[test]
fn sol1_uri() {
    check("1:uri");
}

#[test]
fn sol1_not_subscribed() {
    check("1:not-subscribed");
}

#[test]
fn sol1_altered() {
    check("1:altered");
}

#[test]
fn sol3_url() {
    check("3:url");
}

#[test]
fn sol3_concrete() {
    check("3:concrete");
}

#[test]
fn sol3_jcard_changed() {
    check("3:jcard-changed");
}

#[test]
fn sol3_ex_employee() {
    check("3:ex-employee");
}

#[test]
fn sol4_option_a() {
    check("4:option-a");
}

#[test]
fn sol4_option_b() {
    check("4:option-b");
}

#[test]
fn sol4_token_expired() {
    check("4:token-expired");
}

#[test]
fn sol4_token_revoked() {
    check("4:token-revoked");
}

#[test]
fn sol4_authenticate() {
    check("4:authenticate");
}

#[test]
fn sol4_callee_unverified() {
    check("4:callee-unverified");
}

#[test]
fn sol2_trunk() {
    check("2:trunk");
}

#[test]
fn sol2_single() {
    check("2:single");
}

#[test]
fn sol2_not_authorised() {
    check("2:not-authorised");
}

#[test]
fn sol2_no_rcd() {
    check("2:no-rcd");
}

#[test]
fn sol2_mismatch() {
    check("2:mismatch");
}

#[test]
fn sol2_rcd_tampered() {
    check("2:rcd-tampered");
}

#[test]
fn sol2_tn_tampered() {
    check("2:tn-tampered");
}

#[test]
fn sol2_dc_up() {
    check("2:dc");
}

#[test]
fn sol2_dc_declined() {
    check("2:dc-declined");
}

#[test]
fn sol2_dc_unreachable() {
    check("2:dc-unreachable");
}

#[test]
fn sol2_dc_bootstrap() {
    check("2:dc-bootstrap");
}

#[test]
fn runs_with_bootstrap_and_p2a_channels_are_byte_identical() {
    let first = render::text(&run("2:dc-bootstrap"));
    let second = render::text(&run("2:dc-bootstrap"));
    assert_identical(&first, &second);
}

#[test]
fn runs_with_data_channels_are_byte_identical() {
    let first = render::text(&run("2:dc"));
    let second = render::text(&run("2:dc"));
    assert_identical(&first, &second);
}

/// After a call with data channels, BYE closed them: the trace shows each channel opened,
/// carried messages and closed on both sides, and every ICE socket can be bound again.
#[test]
fn data_channels_are_closed_and_released() {
    let result = run("2:dc");
    let text = render::text(&result);
    for node in ["ue-a", "ue-b"] {
        for label in [
            "DC open stream 1000 \"avatar\" (avatar-json)",
            "DC close stream 1000 \"avatar\" (avatar-json)",
            "DC close stream 1002 \"pose\"",
        ] {
            assert!(
                result.trace.iter().any(|r| r.node == node
                    && matches!(&r.body, Body::Note { note: proto::trace::Note::Action { label: l }, .. } if l.starts_with(label))),
                "{node}: {label}\n{text}"
            );
        }
    }
    let ice: Vec<_> = result
        .names
        .iter()
        .filter(|(a, _)| !result.listening.iter().any(|(l, _)| l == a))
        .filter(|(_, n)| n == "ue-a" || n == "ue-b")
        .collect();
    assert!(!ice.is_empty());
    runtime().block_on(async {
        for (addr, node) in ice {
            assert!(
                tokio::net::UdpSocket::bind(addr).await.is_ok(),
                "{node} still holds its ICE socket {addr}"
            );
        }
    });
}

#[test]
fn every_variant_has_a_test_above() {
    let names: Vec<String> = scenarios::all().iter().map(|v| v.name()).collect();
    let source = include_str!("scenarios.rs");
    for name in names {
        assert!(
            source.contains(&format!("check(\"{name}\")")),
            "{name} has no snapshot test"
        );
    }
}

#[test]
fn runs_are_byte_identical() {
    let first = render::text(&run("2:rcd-tampered"));
    let second = render::text(&run("2:rcd-tampered"));
    assert_identical(&first, &second);
}

/// Asserts two traces are equal, naming the first line that differs.
fn assert_identical(first: &str, second: &str) {
    if let Some((n, (a, b))) = first
        .lines()
        .zip(second.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!("line {}: {a:?} != {b:?}", n + 1);
    }
    assert_eq!(first.lines().count(), second.lines().count(), "line counts");
}

#[test]
fn two_worlds_run_at_once_in_one_process() {
    let rt = runtime();
    let a = scenarios::select("2:single").remove(0);
    let b = scenarios::select("2:tn-tampered").remove(0);
    let (ra, rb) = rt.block_on(async { tokio::join!(execute(&a, 1), execute(&b, 1)) });
    assert!(ra.passed(), "{}", render::text(&ra));
    assert!(rb.passed(), "{}", render::text(&rb));
    // Same result as when each runs alone: the worlds do not see each other.
    assert_eq!(render::text(&ra), render::text(&run("2:single")));
}

/// The scenario's step ids are the TR figure's (fixtures/tr/tr-steps.md, copied from the
/// project's reference inventory).
#[test]
fn step_ids_match_the_tr_inventory() {
    let text = std::fs::read_to_string(kit::fixtures::dir().join("tr/tr-steps.md")).unwrap();
    let mut figures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            current = heading
                .split("Figure ")
                .nth(1)
                .map(|f| f.split_whitespace().next().unwrap_or_default().to_owned());
            continue;
        }
        if let (Some(fig), Some(row)) = (&current, line.strip_prefix("| ")) {
            let id = row.split(" |").next().unwrap_or_default().trim().to_owned();
            if !id.is_empty() && id != "step" && !id.starts_with("---") {
                figures.entry(fig.clone()).or_default().push(id);
            }
        }
    }
    for v in scenarios::all() {
        let ids: Vec<String> = v.figure.steps.iter().map(|s| s.id.to_owned()).collect();
        // A flow drawn over two figures (solution 1) lists both: "6.1.2-1, 6.1.2-2".
        let inventory: Option<Vec<String>> = v
            .figure
            .figure
            .split(", ")
            .map(|f| figures.get(f).cloned())
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.concat());
        assert_eq!(
            inventory.as_ref(),
            Some(&ids),
            "{}: steps of Figure {}",
            v.name(),
            v.figure.figure
        );
    }
}

/// The Identity headers that reach the terminating network verify with `testbed verify`.
#[test]
fn identity_reaching_the_terminating_side_verifies_with_the_cli() {
    let result = run("2:single");
    let invite = result
        .trace
        .iter()
        .find_map(|r| match &r.body {
            Body::Sent {
                to: Some(to),
                message,
                ..
            } if r.node == "scscf-t" && to == "as-t" && message.summary.starts_with("INVITE") => {
                Some(message.raw.clone())
            }
            _ => None,
        })
        .expect("INVITE to the terminating AS");
    let identities: Vec<&str> = invite
        .lines()
        .filter_map(|l| l.strip_prefix("Identity: "))
        .collect();
    assert_eq!(identities.len(), 2, "shaken and rcd");
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
            .args(["--from", "+12025551000", "--to", "+12155551001"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("Result: pass"), "{stdout}");
    }
}

/// After a run the world is gone: every port it listened on (SIP over UDP and TCP, HTTPS,
/// DNS) can be bound again.
#[test]
fn nothing_is_left_running_after_a_run() {
    let result = run("2:single");
    assert!(result.listening.len() >= 20, "{:?}", result.listening);
    runtime().block_on(async {
        for (addr, node) in &result.listening {
            assert!(
                tokio::net::TcpListener::bind(addr).await.is_ok(),
                "{node} still holds TCP {addr}"
            );
            if !node.starts_with("sti") && !node.starts_with("hss") && node != "id3p" {
                assert!(
                    tokio::net::UdpSocket::bind(addr).await.is_ok(),
                    "{node} still holds UDP {addr}"
                );
            }
        }
    });
}

/// `--format json` and `--format mermaid`: valid, complete and free of OS-chosen ports.
#[test]
fn json_and_mermaid_exports() {
    let result = run("3:url");
    let json = render::json(&result);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(doc["format"], "tr33790-testbed-trace");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["passed"], true);
    assert_eq!(
        doc["steps"].as_array().unwrap().len(),
        result.variant.figure.steps.len()
    );
    assert_eq!(doc["records"].as_array().unwrap().len(), result.trace.len());
    for (at, _) in json.match_indices("127.0.0.1:") {
        assert_eq!(
            json.as_bytes().get(at + "127.0.0.1:".len()),
            Some(&b'<'),
            "a port left unnamed near {:?}",
            &json[at..(at + 30).min(json.len())]
        );
    }
    let mermaid = render::mermaid(&result);
    assert!(
        mermaid.lines().nth(1) == Some("sequenceDiagram"),
        "{mermaid}"
    );
    for step in &result.variant.figure.steps {
        assert!(
            mermaid.contains(&format!(": step {}\n", step.id)),
            "step {} in the diagram",
            step.id
        );
    }
    for line in mermaid.lines().skip(1) {
        assert!(
            !line.contains(';') && !line.contains('#'),
            "Mermaid would misread {line:?}"
        );
    }
}
