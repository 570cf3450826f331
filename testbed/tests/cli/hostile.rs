//! Every case of `fixtures/hostile/passports.toml` given to `testbed verify`: each prints the SIP
//! code, reason and `verstat` the table expects and exits 1 (0 for the cases that verify),
//! within its time bound; the certificates come over real HTTPS from a hostile repository on
//! loopback (the same answers the STI-VS test's repository gives).

use std::io::Read as _;
use std::process::Stdio;
use std::time::Instant;

use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;
use stir::hostile::{Answer, Case, Table, repository};

use super::*;

/// No case may take longer than this, process start included.
const CASE_BOUND: Duration = Duration::from_secs(10);

fn table() -> Table {
    let text = fixtures::read("hostile/passports.toml").unwrap();
    toml::from_str(std::str::from_utf8(&text).unwrap()).unwrap()
}

fn key(case: &Case) -> SigningKey {
    let pem = fixtures::read(&case.key_path()).unwrap();
    SigningKey::from_pkcs8_pem(std::str::from_utf8(&pem).unwrap()).unwrap()
}

/// The hostile repository at the STI-CR's host, carrying out [`repository`]'s answers.
fn start_hostile_cr(rt: &tokio::runtime::Runtime) -> Server {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = tls::server_config(fixtures::tls_identity(CR).unwrap(), None).unwrap();
        let h = handler(|req: Request, _peer: Peer| async move {
            let chain = |stem: &str| match fixtures::read(&format!("pki/{stem}.chain.pem")) {
                Ok(pem) => Response::new(200, kit::x5u::PEM_CHAIN, pem),
                Err(_) => Response::text(404, "no such chain"),
            };
            match repository(CR, &req.target) {
                Answer::Chain(stem) => chain(&stem),
                Answer::Redirect(location) => {
                    let mut r = Response::text(302, "moved");
                    r.headers.push(("location".into(), location));
                    r
                }
                Answer::Slow(stem, ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    chain(&stem)
                }
                Answer::Huge(n) => Response::new(200, kit::x5u::PEM_CHAIN, vec![b'A'; n]),
                Answer::Garbage => Response::text(200, "not a certificate"),
                Answer::NotFound => Response::text(404, "no such certificate"),
            }
        });
        let limits = ServerLimits {
            timeout: Duration::from_secs(15),
            max_body: 1024,
        };
        Server::start(listener, Some(config), h, limits).unwrap()
    })
}

/// Runs `testbed verify --json` on the case, bounded by [`CASE_BOUND`] (the child is killed
/// past it): (exit code, stdout, time taken), or `None` when it did not end in time.
fn run_verify(table: &Table, case: &Case, cr: SocketAddr) -> Option<(i32, String, Duration)> {
    let values = case.identities(table, &key(case));
    let now = case.now(table).to_string();
    let crl = pki("sti-ica.crl.pem");
    let resolve = format!("{CR}={cr}");
    let mut args = vec![
        "verify".to_owned(),
        values.join(", "),
        format!("--now={now}"),
        format!("--date={now}"),
        format!("--from={}", table.orig),
        format!("--to={}", table.dest),
        format!("--crl={crl}"),
        format!("--resolve={resolve}"),
        "--json".to_owned(),
    ];
    args.extend(case.x5u_hosts.iter().map(|h| format!("--x5u-host={h}")));
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run testbed");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            return Some((status.code().unwrap_or(-1), out, started.elapsed()));
        }
        if started.elapsed() > CASE_BOUND {
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The printed answer as the table states it: the first failing PASSporT's (code, reason,
/// description), or (200, "pass", ""); and the caller's verstat.
fn answer(out: &str) -> ((u16, String, String), String) {
    let json: serde_json::Value = serde_json::from_str(out).unwrap_or_default();
    let response = &json["verificationResponse"];
    let verstat = response["verstatValue"].as_str().unwrap_or("?").to_owned();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let code = |v: &serde_json::Value| v.as_u64().and_then(|c| u16::try_from(c).ok());
    if let Some(c) = code(&json["sip"]["code"]) {
        return (
            (c, text(&json["sip"]["reason"]), text(&json["reason"])),
            verstat,
        );
    }
    let results = response["verifyResults"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let first_fail = results
        .iter()
        .map(|e| &e["verifyResult"])
        .find(|r| r["status"] != "pass");
    let got = match first_fail {
        Some(r) => (
            code(&r["reasonCode"]).unwrap_or_default(),
            text(&r["reasonText"]),
            text(&r["reasonDescription"]),
        ),
        None => (200, "pass".into(), String::new()),
    };
    (got, verstat)
}

fn check(table: &Table, case: &Case, cr: SocketAddr) -> Result<(), String> {
    let Some((status, out, took)) = run_verify(table, case, cr) else {
        return Err(format!("{}: no answer within {CASE_BOUND:?}", case.id));
    };
    let (got, verstat) = answer(&out);
    let e = &case.expect;
    let mut wrong = Vec::new();
    if (got.0, got.1.as_str()) != (e.code, e.reason.as_str()) {
        wrong.push(format!("answered {} {} ({})", got.0, got.1, got.2));
    }
    if !got.2.contains(&e.why) {
        wrong.push(format!("description {:?} lacks {:?}", got.2, e.why));
    }
    if verstat != e.verstat {
        wrong.push(format!("verstat {verstat}"));
    }
    let expected_status = if e.code == 200 { 0 } else { 1 };
    if status != expected_status {
        wrong.push(format!("exit status {status}"));
    }
    if let Some(ms) = e.within_ms
        && took > Duration::from_millis(ms)
    {
        wrong.push(format!("took {took:?}, bound {ms} ms"));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}\n{out}", case.id, wrong.join("; ")))
    }
}

#[test]
fn hostile_identity_headers_get_their_answers_from_verify() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = start_hostile_cr(&rt);
    let table = table();
    assert!(table.case.len() >= 30, "{} cases", table.case.len());
    // A few cases at a time: each is its own process.
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = table
            .case
            .chunks(8)
            .map(|chunk| {
                let table = &table;
                let addr = server.local_addr();
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|case| check(table, case, addr).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    drop(server);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The README's table lists every case of the fixture.
#[test]
fn the_readme_lists_every_hostile_case() {
    let readme = std::fs::read_to_string(fixtures::dir().join("../README.md")).unwrap();
    for case in &table().case {
        assert!(
            readme.contains(&format!("| `{}` |", case.id)),
            "README.md lacks a row for {}",
            case.id
        );
    }
}
