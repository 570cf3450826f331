//! Every case of `fixtures/hostile/passports.toml` sent to a running STI-VS over Ms: each gets
//! the SIP code, reason and `verstat` the table expects, within its time bound, with nothing
//! fetched for an x5u the verifier must refuse unfetched; and the same STI-VS then still
//! verifies a good PASSporT.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kit::fixtures;
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;
use stir::hostile::{Answer, Case, Table, repository};

use super::*;

/// No case may take longer than this, whatever it is.
const CASE_BOUND: Duration = Duration::from_secs(10);

fn table() -> Table {
    let text = fixtures::read("hostile/passports.toml").unwrap();
    toml::from_str(std::str::from_utf8(&text).unwrap()).unwrap()
}

fn key(case: &Case) -> SigningKey {
    let pem = fixtures::read(&case.key_path()).unwrap();
    SigningKey::from_pkcs8_pem(std::str::from_utf8(&pem).unwrap()).unwrap()
}

/// The hostile repository at the STI-CR's host: it carries out [`repository`]'s answers and
/// counts the requests it gets.
fn hostile_cr(hits: Arc<AtomicUsize>) -> kit::http::Handler {
    handler(move |req: Request, _peer: Peer| {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let chain = |stem: &str| match fixtures::read(&format!("pki/{stem}.chain.pem")) {
                Ok(pem) => Response::new(200, kit::x5u::PEM_CHAIN, pem),
                Err(_) => Response::text(404, "no such chain"),
            };
            match repository(STI_CR, &req.target) {
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
        }
    })
}

/// A world for one case: the CA's repository, the hostile STI-CR and an STI-VS, all on the
/// case's clock; the STI-VS fetches only from the case's x5u hosts when it names some.
async fn world(table: &Table, case: &Case, hits: Arc<AtomicUsize>) -> World {
    let mut w = World {
        tap: Tap::new(),
        hosts: Arc::new(HostTable::default()),
        servers: Vec::new(),
    };
    let now = case.now(table);
    let ctx = |w: &World, id: &str, host: &str| w.hosts.ctx(id, host, &w.tap, Clock::Fixed(now), 7);
    let server = sti_repo::start(&ctx(&w, "sti-repo", REPO)).await.unwrap();
    w.serve(REPO, server);
    let server = ctx(&w, "sti-cr-o", STI_CR)
        .https_server(hostile_cr(hits), ClientAuth::None)
        .await
        .unwrap();
    w.serve(STI_CR, server);
    let mut config = sti_vs::Config::new(MsClients::new([AS_T]));
    if !case.x5u_hosts.is_empty() {
        config.x5u_hosts = Some(case.x5u_hosts.clone());
    }
    let vs = sti_vs::start(&ctx(&w, "sti-vs-t", STI_VS), config)
        .await
        .unwrap();
    w.serve(STI_VS, vs.server);
    w
}

/// The verifier's answer as the table states it: the first failing PASSporT's (code, reason,
/// description), or (200, "pass", ""); and the caller's verstat.
fn answer(v: &VerificationResponseBody) -> ((u16, String, String), String) {
    let r = &v.verification_response;
    let first_fail = r
        .verify_results
        .iter()
        .map(|e| &e.verify_result)
        .find(|e| e.status != "pass");
    let got = match first_fail {
        Some(e) => (
            e.reason_code.unwrap_or_default(),
            e.reason_text.clone().unwrap_or_default(),
            e.reason_description.clone().unwrap_or_default(),
        ),
        None => (200, "pass".into(), String::new()),
    };
    (got, r.verstat_value.clone())
}

async fn ask(as_t: &Client, table: &Table, case: &Case, values: Vec<String>) -> Response {
    let mut values = values.into_iter();
    let body = VerificationRequestBody {
        verification_request: VerificationRequest {
            identity_header: values.next().unwrap_or_default(),
            identity_headers: values.collect(),
            from: stir::ms::MsParty {
                tn: Some(table.orig.clone()),
                uri: None,
            },
            to: stir::ms::MsParty {
                tn: Some(table.dest.clone()),
                uri: None,
            },
            time: case.now(table),
            request_id: None,
        },
    };
    post(
        as_t,
        STI_VS,
        VERIFICATION_PATH,
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

/// One case: its answer (or what went wrong), then a good PASSporT on the same STI-VS.
async fn run(table: &Table, case: &Case) -> Result<(), String> {
    let hits = Arc::new(AtomicUsize::new(0));
    let w = world(table, case, hits.clone()).await;
    // Longer than the STI-VS's own bound on an x5u fetch (3 s), so a slow repository is its
    // answer to give, not this client's timeout.
    let as_t = w.client(AS_T, true).with_timeout(Duration::from_secs(8));
    let values = case.identities(table, &key(case));
    let started = Instant::now();
    let response = ask(&as_t, table, case, values).await;
    let took = started.elapsed();
    let (got, verstat) = answer(&verdict(&response));
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
    if let Some(ms) = e.within_ms
        && took > Duration::from_millis(ms)
    {
        wrong.push(format!("took {took:?}, bound {ms} ms"));
    }
    if let Some(expected) = e.fetches {
        let n = hits.load(Ordering::SeqCst);
        if n != expected {
            wrong.push(format!(
                "the repository was asked {n} times, not {expected}"
            ));
        }
    }
    // The STI-VS still verifies a good PASSporT (at the case's time; before 2025 no chain is
    // valid, so there it must only answer).
    let mut good = table
        .case("good")
        .expect("the table has a good case")
        .clone();
    good.now = case.now;
    let response = ask(&as_t, table, &good, good.identities(table, &key(&good))).await;
    let (after, verstat) = answer(&verdict(&response));
    if case.now.is_none() && (after.0, verstat.as_str()) != (200, "TN-Validation-Passed") {
        wrong.push(format!(
            "a good PASSporT afterwards got {after:?} {verstat}"
        ));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", case.id, wrong.join("; ")))
    }
}

#[tokio::test]
async fn hostile_identity_headers_get_their_answers_over_ms() {
    let table = table();
    assert!(table.case.len() >= 30, "{} cases", table.case.len());
    let mut failures = Vec::new();
    for case in &table.case {
        match tokio::time::timeout(CASE_BOUND, run(&table, case)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(_) => failures.push(format!("{}: no answer within {CASE_BOUND:?}", case.id)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
