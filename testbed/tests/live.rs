//! The live trace over a real socket: a real run's records replayed into a tap, served with
//! kit's HTTP server through `live::answer`, read back with the live client (equal to the
//! originals) and by the attached dashboard's poller, then drawn with ratatui's TestBackend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use kit::http::{Response, Server, ServerLimits, handler};
use kit::tap::Tap;
use proto::trace::{Body, Record};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use testbed::dashboard::app::Theme;
use testbed::dashboard::live::{Link, Live, spawn_poller};
use testbed::dashboard::ui;
use testbed::live::{self, Client};

/// A real run of `2:single`, its records replayed into a fresh tap (message ids remapped so
/// notes stay on their messages), with the run's address book.
fn served_tap(rt: &tokio::runtime::Runtime) -> Tap {
    let variant = testbed::scenarios::select("2:single")
        .into_iter()
        .next()
        .unwrap();
    let run = rt.block_on(testbed::run::execute(&variant, 1));
    assert!(run.passed(), "{:?}", run.error);
    let tap = Tap::new();
    for (layer, addr, node) in &run.addresses {
        tap.register(*layer, *addr, node);
    }
    for (port, node) in &run.ports {
        tap.claim_port(*port, node);
    }
    let mut ids: HashMap<u64, u64> = HashMap::new();
    for r in &run.trace {
        match &r.body {
            Body::Sent { msg, message, .. } => {
                ids.insert(*msg, tap.sent(&r.node, message.clone()));
            }
            Body::Received { msg, message, .. } => {
                ids.insert(*msg, tap.received(&r.node, message.clone()));
            }
            Body::Note { msg, note } => {
                tap.note(
                    &r.node,
                    msg.and_then(|m| ids.get(&m).copied()),
                    note.clone(),
                );
            }
        }
    }
    assert_eq!(tap.len(), run.trace.len());
    tap
}

fn serve(rt: &tokio::runtime::Runtime, tap: &Tap) -> Server {
    let tap = tap.clone();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let h = handler(move |req, _peer| {
            let tap = tap.clone();
            async move {
                live::answer(&tap, 2, &req)
                    .await
                    .unwrap_or_else(|| Response::text(404, "not a live route"))
            }
        });
        Server::start(listener, None, h, ServerLimits::default()).unwrap()
    })
}

/// What the JSON of a record carries: not its time, nor a message's pairing key or wire bytes.
fn without_time(mut records: Vec<Record>) -> Vec<Record> {
    for r in &mut records {
        r.at = Duration::ZERO;
        if let Body::Sent { message, .. } | Body::Received { message, .. } = &mut r.body {
            message.key = 0;
            message.wire = None;
        }
    }
    records
}

fn assert_same(got: &[Record], want: &[Record]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "record {i}");
    }
}

fn screen(live: &Live, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| {
            ui::draw_live(f, live);
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

#[test]
fn a_real_trace_round_trips_and_the_attached_dashboard_shows_the_call() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tap = served_tap(&rt);
    let server = serve(&rt, &tap);
    let addr = server.local_addr().to_string();

    // The client, page by page: every record, equal to the tap's.
    let client = Client::new(&addr, Duration::from_secs(2)).unwrap();
    let world = rt.block_on(client.world()).unwrap();
    assert_eq!(world.solution, 2);
    assert_eq!(world.ports, tap.ports());
    let mut got = Vec::new();
    let mut next = 0;
    loop {
        let page = rt.block_on(client.page(next, 0)).unwrap();
        if page.records.is_empty() {
            break;
        }
        assert_eq!(page.next, next + page.records.len());
        next = page.next;
        got.extend(page.records);
    }
    assert!(got.len() > 50, "only {} records", got.len());
    assert_same(&got, &without_time(tap.records()));

    // The dashboard's poller, until it has every record (bounded).
    let stop = Arc::new(AtomicBool::new(false));
    let told = spawn_poller(client, stop.clone()).unwrap();
    let mut live = Live::new(&addr, Theme::Default);
    let began = Instant::now();
    while live.records().len() < tap.len() && began.elapsed() < Duration::from_secs(20) {
        if let Ok(u) = told.recv_timeout(Duration::from_millis(500)) {
            live.update([u]);
        }
    }
    assert_eq!(live.link, Link::Up);
    assert!(live.world.is_some());
    // Causal order, as the tap orders it.
    assert_same(
        &without_time(live.records().to_vec()),
        &without_time(tap.ordered()),
    );

    let invite = live
        .calls
        .iter()
        .find(|c| c.method == "INVITE")
        .expect("the call in the call list");
    assert_eq!(invite.status, Some(200), "{invite:?}");
    assert!(invite.ended, "{invite:?}");
    let frame = screen(&live, 160, 48);
    assert!(frame.contains("Solution 2"), "{frame}");
    assert_eq!(invite.line(), "+12025551000→+12155551001 200 ended");
    assert!(
        frame.contains("+12025551000→+12155551001 200 ended"),
        "{frame}"
    );
    assert!(frame.contains("REGISTER +12025551000 200"), "{frame}");
    let rows = &live.app.view().unwrap().entries;
    assert!(rows.iter().any(|e| e.summary.starts_with("INVITE")));
    // Select the call, then its INVITE: the ladder and the Message tab show it.
    while live.selected_call().map(|c| c.method.as_str()) != Some("INVITE") {
        live.key(testbed::dashboard::app::Input::Right);
    }
    let rows = live.app.view().unwrap().entries.clone();
    assert!(rows.len() < live.records().len());
    let pos = rows
        .iter()
        .position(|e| e.summary.starts_with("INVITE"))
        .unwrap();
    live.app.selected = live.app.visible().iter().position(|i| *i == pos).unwrap();
    let frame = screen(&live, 160, 48);
    assert!(frame.contains("#1 SIP/"), "{frame}");
    assert!(frame.contains("INVITE sip:"), "{frame}");

    // The world goes away: the status says so, and the poller keeps trying.
    server.shutdown();
    let began = Instant::now();
    while !matches!(live.link, Link::Lost { .. }) && began.elapsed() < Duration::from_secs(10) {
        if let Ok(u) = told.recv_timeout(Duration::from_millis(500)) {
            live.update([u]);
        }
    }
    let frame = screen(&live, 160, 48);
    assert!(frame.contains("connection lost"), "{frame}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}
