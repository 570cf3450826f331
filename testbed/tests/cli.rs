//! The `testbed` binary as a user runs it: `sign` then `verify`, with the certificate from a
//! file or fetched over real HTTPS from an STI-CR on loopback, and every tampered variant
//! answered with its SIP code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "cli/hostile.rs"]
mod hostile;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use kit::http::{Peer, Request, Response, Server, ServerLimits, handler};
use kit::{fixtures, tls};

const BIN: &str = env!("CARGO_BIN_EXE_testbed");
const CR: &str = "sti-cr.ims.mnc001.mcc001.3gppnetwork.org";
const T0: &str = "2026-03-02T09:00:00Z";
const T0_PLUS_10: &str = "2026-03-02T09:00:10Z";

fn testbed(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run testbed")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn pki(name: &str) -> String {
    fixtures::dir().join("pki").join(name).display().to_string()
}

fn sign(extra: &[&str]) -> String {
    sign_as("+12025551000", extra)
}

fn sign_as(orig: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "sign",
        "--orig",
        orig,
        "--dest",
        "+12155551001",
        "--iat",
        T0,
    ];
    args.extend_from_slice(extra);
    let out = testbed(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).trim().to_owned()
}

/// Runs verify and returns (exit code, stdout).
fn verify(identity: &str, extra: &[&str]) -> (i32, String) {
    // The STI-ICA's CRL from the fixtures: outside a world, its distribution point
    // (certs.sti.example) does not resolve.
    let crl = pki("sti-ica.crl.pem");
    let mut args = vec!["verify", identity, "--now", T0_PLUS_10, "--crl", &crl];
    args.extend_from_slice(extra);
    let out = testbed(&args);
    (out.status.code().unwrap(), stdout(&out))
}

/// `testbed choices` prints the whole table; a filter narrows it to matching ids.
#[test]
fn choices_prints_the_table() {
    let all = stdout(&testbed(&["choices"]));
    for c in testbed::choices::all() {
        assert!(all.contains(&format!("{} — ", c.id)), "{}: {all}", c.id);
    }
    let trust = stdout(&testbed(&["choices", "trust"]));
    assert!(trust.contains("trust-flow-binding — "), "{trust}");
    assert!(!trust.contains("dc-p2p-path"), "{trust}");
}

#[test]
fn help_lists_the_commands() {
    let out = testbed(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("verify") && text.contains("sign"), "{text}");
}

#[test]
fn signed_token_verifies_from_a_file() {
    let id = sign(&[]);
    // The same arguments sign the same header (deterministic ES256 and origid).
    assert_eq!(id, sign(&[]));
    let chain = pki("sti-sp-1001.chain.pem");
    let (code, out) = verify(
        &id,
        &[
            "--cert",
            &chain,
            "--from",
            "tel:+12025551000",
            "--to",
            "+1-215-555-1001",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(r#""attest": "A""#),
        "decoded claims shown: {out}"
    );
    assert!(out.contains(r#""ppt": "shaken""#), "{out}");
    assert!(out.contains("Result: pass"), "{out}");
    assert!(out.contains("TN-Validation-Passed"), "{out}");
    assert!(out.contains("SPC 1001"), "{out}");
}

#[test]
fn tampered_variants_print_their_codes() {
    let id = sign(&[]);
    let cert = |name: &str| format!("--cert={}", pki(&format!("{name}.chain.pem")));
    let good = cert("sti-sp-1001");

    // Payload of another caller with the original signature.
    let payload = id.split('.').nth(1).unwrap();
    let other = sign_as("+12025551666", &[]);
    let swapped = id.replacen(payload, other.split('.').nth(1).unwrap(), 1);
    let key = |name: &str| pki(&format!("{name}.key.pem"));
    let cases: Vec<(&str, String, Vec<String>, &str)> = vec![
        (
            "forged payload",
            swapped,
            vec![good.clone()],
            "438 Invalid Identity Header",
        ),
        (
            "caller differs from SIP",
            id.clone(),
            vec![good.clone(), "--from=+12025551666".into()],
            "438 Invalid Identity Header",
        ),
        (
            "stale",
            id.clone(),
            vec![good.clone(), "--now=2026-03-02T09:05:00Z".into()],
            "403 Stale Date",
        ),
        (
            "untrusted chain",
            sign(&["--key", &key("sti-sp-rogue")]),
            vec![cert("sti-sp-rogue")],
            "437 Unsupported Credential",
        ),
        (
            "expired certificate",
            sign(&["--key", &key("sti-sp-expired")]),
            vec![cert("sti-sp-expired")],
            "437 Unsupported Credential",
        ),
        (
            "no TNAuthList",
            sign(&["--key", &key("sti-sp-notnauth")]),
            vec![cert("sti-sp-notnauth")],
            "437 Unsupported Credential",
        ),
        (
            "x5u not https",
            sign(&["--x5u", &format!("http://{CR}/c.pem")]),
            vec![],
            "436 Bad Identity Info",
        ),
        (
            "x5u unreachable",
            id.clone(),
            vec![format!("--resolve={CR}=127.0.0.1:9")],
            "436 Bad Identity Info",
        ),
        (
            "not an Identity header",
            "garbage".into(),
            vec![good.clone()],
            "438 Invalid Identity Header",
        ),
        (
            "no Identity header",
            String::new(),
            vec![good.clone()],
            "428 Use Identity Header",
        ),
    ];
    for (name, identity, extra, expected) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let (code, out) = verify(&identity, &extra);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(&format!("Result: FAIL {expected}")),
            "{name}: expected {expected}\n{out}"
        );
    }
}

/// The certificate rules the STI-VS enforces, from the command line: keyUsage, TNAuthList
/// coverage of `orig`, revocation in the issuer's CRL; each answer names its reason.
#[test]
fn certificate_rules_refuse_with_their_reason() {
    let cases = [
        (
            "sti-sp-nosign",
            "437 Unsupported Credential",
            "no keyUsage digitalSignature",
        ),
        (
            "sti-sp-wrongtn",
            "438 Invalid Identity Header",
            "does not authorise orig",
        ),
        (
            "sti-sp-revoked",
            "438 Invalid Identity Header",
            "is revoked",
        ),
    ];
    for (stem, expected, why) in cases {
        let identity = sign(&["--key", &pki(&format!("{stem}.key.pem"))]);
        let cert = format!("--cert={}", pki(&format!("{stem}.chain.pem")));
        let (code, out) = verify(&identity, &[&cert]);
        assert_eq!(code, 1, "{stem}: {out}");
        assert!(
            out.contains(&format!("Result: FAIL {expected}")),
            "{stem}: {out}"
        );
        assert!(out.contains(why), "{stem}: expected {why:?}\n{out}");
    }
    // The same operator's good certificate passes the same rules (SPC-only TNAuthList).
    let good = format!("--cert={}", pki("sti-sp-1001.chain.pem"));
    let (code, out) = verify(&sign(&[]), &[&good]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn rcd_passport_with_jcard_digest() {
    let dir = std::env::temp_dir().join(format!("testbed-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jcard = dir.join("jcard.json");
    std::fs::write(
        &jcard,
        r#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch Spy Gadgets"]]]"#,
    )
    .unwrap();
    let url = "https://id.enterprise.example/jcard/q-branch.json";
    let content = format!("{url}={}", jcard.display());
    let id = sign(&[
        "--ppt",
        "rcd",
        "--nam",
        "Q Branch Spy Gadgets",
        "--jcl",
        url,
        "--content",
        &content,
        "--crn",
        "Gadget delivery",
    ]);
    let chain = pki("sti-sp-1001.chain.pem");
    let (code, out) = verify(&id, &["--cert", &chain, "--content", &content]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("RCD may be shown"), "{out}");
    // The jCard changes after signing: the token still verifies, the RCD must not be shown.
    std::fs::write(
        &jcard,
        r#"["vcard",[["fn",{},"text","Totally Legit Bank"]]]"#,
    )
    .unwrap();
    let (code, out) = verify(&id, &["--cert", &chain, "--content", &content]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✘ rcdi digest"), "{out}");
    assert!(out.contains("RCD must not be shown"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

fn start_sti_cr(rt: &tokio::runtime::Runtime) -> Server {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = tls::server_config(fixtures::tls_identity(CR).unwrap(), None).unwrap();
        let h = handler(|req: Request, _peer: Peer| async move {
            if req.target == "/certs/sti-sp-1001.pem" {
                Response::new(
                    200,
                    kit::x5u::PEM_CHAIN,
                    fixtures::read("pki/sti-sp-1001.chain.pem").unwrap(),
                )
            } else {
                Response::text(404, "not here")
            }
        });
        Server::start(
            listener,
            Some(config),
            h,
            ServerLimits {
                timeout: Duration::from_secs(2),
                max_body: 1024,
            },
        )
        .unwrap()
    })
}

#[test]
fn x5u_fetched_over_https_from_the_sti_cr() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = start_sti_cr(&rt);
    let addr: SocketAddr = server.local_addr();
    let resolve = format!("{CR}={addr}");
    let id = sign(&[]);
    let (code, out) = verify(&id, &["--resolve", &resolve, "--json"]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let response = &json["verificationResponse"];
    assert_eq!(response["verstatValue"], "TN-Validation-Passed");
    assert_eq!(
        response["verifyResults"][0]["verifyResult"]["status"],
        "pass"
    );
    assert_eq!(
        response["verifyResults"][0]["verifyResult"]["validClaims"]["orig"]["tn"],
        "12025551000"
    );
    // A certificate URL the STI-CR does not serve.
    let missing = sign(&[
        "--x5u",
        "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/none.pem",
    ]);
    let (code, out) = verify(&missing, &["--resolve", &resolve]);
    assert_eq!(code, 1);
    assert!(
        out.contains("Result: FAIL 436 Bad Identity Info") && out.contains("HTTP 404"),
        "{out}"
    );
    drop(server);
}

/// `testbed run` with several worlds at once prints exactly what one at a time prints, and exits
/// 0 when every variant passes.
#[test]
fn parallel_runs_print_what_sequential_runs_print() {
    let parallel = testbed(&["run", "1", "3", "--jobs", "4"]);
    let sequential = testbed(&["run", "1", "3", "--jobs", "1"]);
    assert!(
        parallel.status.success(),
        "{}",
        String::from_utf8_lossy(&parallel.stderr)
    );
    assert!(sequential.status.success());
    let (p, s) = (stdout(&parallel), stdout(&sequential));
    assert!(p.contains("═══ Solution 3"), "{p}");
    assert_eq!(p, s);
    let verdicts = String::from_utf8_lossy(&parallel.stderr);
    assert_eq!(verdicts.matches("PASS ").count(), 11, "{verdicts}");
}
