//! The live routes over a tap with hand-made records: paging, the wait bound, bad queries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kit::http::{Request, Response};
use kit::tap::Tap;
use proto::trace::{Act, Message, Note, Transport};

use super::{PAGE, Page, World, answer};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A tap with `n` records: an INVITE sent and received, then notes.
fn tap_with(n: usize) -> Tap {
    let tap = Tap::new();
    tap.register(Transport::Udp, addr(5060), "pcscf-a");
    tap.register(Transport::Udp, addr(5070), "ue-a");
    let invite = Message::sip(
        Transport::Udp,
        addr(5070),
        addr(5060),
        "INVITE sip:b@b".into(),
        "INVITE sip:b@b SIP/2.0\r\nCall-ID: c1\r\n\r\n".into(),
    );
    tap.sent("ue-a", invite.clone());
    tap.received("pcscf-a", invite);
    for i in 2..n {
        tap.note("pcscf-a", None, Note::done(Act::Route, format!("note {i}")));
    }
    tap
}

async fn get(tap: &Tap, target: &str) -> Response {
    answer(tap, 2, &Request::get(target))
        .await
        .expect("a live route")
}

fn page(r: &Response) -> Page {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn other_paths_are_not_ours() {
    rt().block_on(async {
        let tap = tap_with(2);
        assert!(
            answer(&tap, 2, &Request::get("/x/v1/trace"))
                .await
                .is_none()
        );
        assert!(
            answer(&tap, 2, &Request::get("/live/v2/trace"))
                .await
                .is_none()
        );
        assert_eq!(get(&tap, "/live/v1/nothing").await.status, 404);
        let post = Request::post_json("/live/v1/trace", "{}");
        assert_eq!(answer(&tap, 2, &post).await.unwrap().status, 405);
    });
}

#[test]
fn world_names_the_solution_and_its_ports() {
    rt().block_on(async {
        let tap = tap_with(2);
        let r = get(&tap, "/live/v1/world").await;
        assert_eq!(r.status, 200);
        let w: World = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(w.solution, 2);
        assert_eq!(w.title, crate::scenarios::solution(2).unwrap().title);
        assert_eq!(
            w.ports,
            vec![(5060, "pcscf-a".to_owned()), (5070, "ue-a".to_owned())]
        );
    });
}

#[test]
fn pages_from_an_index_and_continue_at_next() {
    rt().block_on(async {
        let tap = tap_with(5);
        let all = tap.records();
        let p = page(&get(&tap, "/live/v1/trace").await);
        assert_eq!(p.next, 5);
        assert_eq!(p.records.len(), 5);
        let p = page(&get(&tap, "/live/v1/trace?from=3").await);
        assert_eq!(p.next, 5);
        // `at` is not serialized: compare the rest.
        let mut expected = all[3..].to_vec();
        for r in &mut expected {
            r.at = Duration::ZERO;
        }
        assert_eq!(p.records, expected);
        // New records after `next` are the next page.
        tap.note("ue-a", None, Note::done(Act::Route, "late"));
        let p = page(&get(&tap, "/live/v1/trace?from=5&wait_ms=0").await);
        assert_eq!((p.next, p.records.len()), (6, 1));
        assert_eq!(p.records[0].node, "ue-a");
    });
}

#[test]
fn a_page_holds_at_most_page_records() {
    rt().block_on(async {
        let tap = tap_with(PAGE + 7);
        let p = page(&get(&tap, "/live/v1/trace?from=0").await);
        assert_eq!((p.next, p.records.len()), (PAGE, PAGE));
        let p = page(&get(&tap, &format!("/live/v1/trace?from={}", p.next)).await);
        assert_eq!((p.next, p.records.len()), (PAGE + 7, 7));
    });
}

#[test]
fn waits_at_most_what_was_asked_then_answers_empty() {
    rt().block_on(async {
        let tap = tap_with(2);
        let began = Instant::now();
        let p = page(&get(&tap, "/live/v1/trace?from=2&wait_ms=150").await);
        let took = began.elapsed();
        assert_eq!((p.next, p.records.len()), (2, 0));
        assert!(
            took >= Duration::from_millis(140),
            "answered after {took:?}"
        );
        assert!(took < Duration::from_millis(600), "answered after {took:?}");
        // Without wait_ms: at once.
        let began = Instant::now();
        page(&get(&tap, "/live/v1/trace?from=2").await);
        assert!(began.elapsed() < Duration::from_millis(100));
    });
}

#[test]
fn the_wait_is_capped_and_ends_when_a_record_comes() {
    rt().block_on(async {
        let tap = tap_with(2);
        let writer = tap.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            writer.note("ue-a", None, Note::done(Act::Route, "arrives"));
        });
        let began = Instant::now();
        let p = page(&get(&tap, "/live/v1/trace?from=2&wait_ms=100000").await);
        let took = began.elapsed();
        assert_eq!((p.next, p.records.len()), (3, 1));
        assert!(
            took < Duration::from_millis(1000),
            "answered after {took:?}"
        );
        // Nothing coming: the answer comes by the cap, not the 100 s asked.
        let began = Instant::now();
        let p = page(&get(&tap, "/live/v1/trace?from=3&wait_ms=100000").await);
        let took = began.elapsed();
        assert!(p.records.is_empty());
        assert!(
            took >= Duration::from_millis(super::MAX_WAIT_MS - 50)
                && took < Duration::from_millis(super::MAX_WAIT_MS + 500),
            "answered after {took:?}"
        );
    });
}

#[test]
fn a_bad_query_is_a_400_with_the_reason() {
    rt().block_on(async {
        let tap = tap_with(2);
        for (query, says) in [
            ("from=abc", "from=\"abc\" is not a whole number"),
            ("from=-1", "from=\"-1\" is not a whole number"),
            ("wait_ms=1.5", "wait_ms=\"1.5\" is not a whole number"),
            ("form=1", "unknown parameter \"form\""),
            ("from=3", "from=3 is past the end of the trace (2 records)"),
        ] {
            let r = get(&tap, &format!("/live/v1/trace?{query}")).await;
            assert_eq!(r.status, 400, "{query}");
            let text = String::from_utf8_lossy(&r.body);
            assert!(text.contains(says), "{query}: {text}");
        }
    });
}

#[test]
fn a_client_address_is_host_and_port_or_an_http_url() {
    let slack = Duration::from_secs(1);
    assert_eq!(
        super::Client::new("127.0.0.1:8080", slack).unwrap().base(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(
        super::Client::new("http://localhost:9/", slack)
            .unwrap()
            .base(),
        "http://localhost:9"
    );
    for bad in ["", "https://127.0.0.1:8080", "127.0.0.1:8080/live", "a b"] {
        assert!(super::Client::new(bad, slack).is_err(), "{bad:?}");
    }
}
