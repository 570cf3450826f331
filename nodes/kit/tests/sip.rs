//! kit::sip over real sockets on 127.0.0.1: UAC/UAS over UDP, a stateful proxy in between
//! (large INVITE over TCP on each hop), retransmission and timeouts with fast timers, malformed
//! input, the trace, shutdown, and two worlds side by side; SIP over TLS in [`tls`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "sip/tls.rs"]
mod tls;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kit::http::BoxFuture;
use kit::locate::Locate;
use kit::sip::{Config, Endpoint, Incoming, Limits};
use kit::tap::Tap;
use proto::clock::Rng;
use proto::sip::msg::headers::untyped::ToTypedHeader as _;
use proto::sip::proxy::{prepare_forward, prepare_response_forward, response_to};
use proto::sip::{
    Header, HeadersExt, Method, Request, Response, SipTarget, SipTransport, Timers, ua,
};
use proto::trace::{Body, Message, Record, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Hostnames of one world → endpoint addresses; a name is offered over UDP, then TCP.
#[derive(Debug, Default)]
struct Table {
    addrs: Mutex<HashMap<String, SocketAddr>>,
    /// Targets tried before the real one (to exercise fail-over).
    first: Mutex<HashMap<String, SipTarget>>,
    /// Hostnames → TLS listener addresses (where `transport=tls` and `sips:` go).
    tls: Mutex<HashMap<String, SocketAddr>>,
}

impl Locate for Table {
    fn sip_targets<'a>(
        &'a self,
        host: &'a str,
        _port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> BoxFuture<'a, io::Result<Vec<SipTarget>>> {
        Box::pin(async move {
            if transport == Some(SipTransport::Tls) {
                let addr = self.tls.lock().unwrap().get(host).copied();
                let addr = addr.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, host))?;
                return Ok(vec![SipTarget {
                    addr,
                    transport: SipTransport::Tls,
                }]);
            }
            let addr = self.addrs.lock().unwrap().get(host).copied();
            let addr = addr.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, host))?;
            let mut targets: Vec<SipTarget> = self
                .first
                .lock()
                .unwrap()
                .get(host)
                .copied()
                .into_iter()
                .collect();
            match transport {
                Some(transport) => targets.push(SipTarget { addr, transport }),
                None => targets.extend([
                    SipTarget {
                        addr,
                        transport: SipTransport::Udp,
                    },
                    SipTarget {
                        addr,
                        transport: SipTransport::Tcp,
                    },
                ]),
            }
            Ok(targets)
        })
    }
}

#[derive(Debug, Clone, Default)]
struct World {
    tap: Tap,
    table: Arc<Table>,
}

impl World {
    async fn endpoint(&self, node: &str, host: &str, timers: Timers) -> Endpoint {
        self.endpoint_with(Config::new(node, host).with_timers(timers))
            .await
    }

    /// An endpoint bound with `config`, published under its host (and its TLS listener's
    /// address, if any).
    async fn endpoint_with(&self, config: Config) -> Endpoint {
        let (node, host) = (config.node.clone(), config.host.clone());
        let node = node.as_str();
        let ep = Endpoint::bind(
            config,
            self.table.clone(),
            self.tap.clone(),
            Rng::for_node(7, node),
        )
        .await
        .unwrap();
        self.table
            .addrs
            .lock()
            .unwrap()
            .insert(host.clone(), ep.local_addr());
        if let Some(addr) = ep.tls_addr() {
            self.table.tls.lock().unwrap().insert(host, addr);
        }
        ep
    }
}

fn request(text: &str) -> Request {
    Request::try_from(text).unwrap()
}

fn invite(ep: &Endpoint, to: &str, route: Option<&str>, body: &str) -> Request {
    let route = route.map_or(String::new(), |r| format!("Route: <sip:{r};lr>\r\n"));
    request(&format!(
        "INVITE sip:{to} SIP/2.0\r\n{route}Max-Forwards: 70\r\n\
         From: <sip:alice@{host}>;tag={tag}\r\nTo: <sip:{to}>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:alice@{host}>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {len}\r\n\r\n{body}",
        host = ep.host(),
        tag = ep.next_tag(),
        call_id = ep.next_call_id(),
        len = body.len(),
    ))
}

fn options(ep: &Endpoint, to: &str) -> Request {
    request(&format!(
        "OPTIONS sip:{to} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:alice@{host}>;tag={tag}\r\n\
         To: <sip:{to}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        host = ep.host(),
        tag = ep.next_tag(),
        call_id = ep.next_call_id(),
    ))
}

/// A response to the incoming request, with a Contact.
fn answer(incoming: &Incoming, code: u16, reason: &str, contact: Option<&str>) -> Response {
    let mut response = response_to(incoming.request(), code, reason, Some("callee1"));
    if let Some(contact) = contact {
        let at = response.headers.0.len() - 1;
        response
            .headers
            .0
            .insert(at, Header::Contact(format!("<{contact}>").into()));
    }
    response
}

async fn next(ep: &Endpoint) -> Incoming {
    timeout(Duration::from_secs(5), ep.next_request())
        .await
        .expect("a request within 5 s")
        .expect("endpoint running")
}

async fn response(tx: &mut kit::sip::ClientTransaction) -> Response {
    timeout(Duration::from_secs(5), tx.next_response())
        .await
        .expect("a response within 5 s")
        .expect("a response")
}

fn via_lines<M: HeadersExt>(message: &M) -> Vec<String> {
    message
        .headers()
        .iter()
        .filter(|h| matches!(h, Header::Via(_)))
        .map(|h| h.to_string())
        .collect()
}

/// A simple UAS: 100/180/200 to INVITE, 200 to everything else, ACKs reported on `acks`.
fn uas(ep: Endpoint, seen: mpsc::UnboundedSender<Incoming>) {
    tokio::spawn(async move {
        while let Some(mut incoming) = ep.next_request().await {
            if incoming.is_ack() {
                let _ = seen.send(incoming);
                continue;
            }
            let contact = format!("sip:bob@{}", ep.host());
            if incoming.method() == Method::Invite {
                incoming
                    .respond(response_to(incoming.request(), 100, "Trying", None))
                    .await
                    .unwrap();
                incoming
                    .respond(answer(&incoming, 180, "Ringing", Some(&contact)))
                    .await
                    .unwrap();
            }
            incoming
                .respond(answer(&incoming, 200, "OK", Some(&contact)))
                .await
                .unwrap();
            let _ = seen.send(incoming);
        }
    });
}

#[tokio::test]
async fn uac_to_uas_over_udp_invite_ack_bye() {
    let world = World::default();
    let a = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;
    let b = world.endpoint("ue-b", "ue-b.test", Timers::fast()).await;
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    uas(b.clone(), seen_tx);

    let mut tx = a
        .send_request(invite(&a, "bob@ue-b.test", None, "v=0\r\n"))
        .await
        .unwrap();
    assert_eq!(tx.target().transport, SipTransport::Udp);
    let responses = [
        response(&mut tx).await,
        response(&mut tx).await,
        response(&mut tx).await,
    ];
    let codes = responses.clone().map(|r| r.status_code.code());
    assert_eq!(codes, [100, 180, 200]);
    assert!(tx.last_trace_id().is_some(), "a response from the wire");
    let [_, _, ok_response] = responses;
    let invite_in = seen.recv().await.unwrap();
    assert_eq!(invite_in.method(), Method::Invite);
    assert_eq!(invite_in.transport(), SipTransport::Udp);
    assert_eq!(invite_in.source(), a.local_addr());
    // received= on the top Via: sent-by names a host, not the source address (§18.2.1).
    assert!(via_lines(invite_in.request())[0].ends_with(";received=127.0.0.1"));

    let ack = ua::ack_for_2xx(tx.request(), &ok_response).unwrap();
    a.send_stateless(ack).await.unwrap();
    let ack_in = timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(ack_in.is_ack());
    assert_eq!(ack_in.method(), Method::Ack);
    assert_eq!(ack_in.request().uri.to_string(), "sip:bob@ue-b.test");

    let bye = ua::uac_request(tx.request(), &ok_response, Method::Bye, 2).unwrap();
    let mut bye_tx = a.send_request(bye).await.unwrap();
    let bye_ok = response(&mut bye_tx).await;
    assert_eq!(bye_ok.status_code.code(), 200);
    assert_eq!(bye_ok.cseq_header().unwrap().value(), "2 BYE");
    let bye_in = seen.recv().await.unwrap();
    assert_eq!(bye_in.method(), Method::Bye);
    // The non-INVITE transaction ends after its final response.
    assert!(
        timeout(Duration::from_secs(2), bye_tx.next_response())
            .await
            .unwrap()
            .is_none()
    );
}

/// A stateful proxy written with the helpers: Record-Route on INVITE, Via stacking, response
/// relay, ACK relay.
fn proxy(ep: Endpoint) {
    tokio::spawn(async move {
        while let Some(mut incoming) = ep.next_request().await {
            let ep = ep.clone();
            tokio::spawn(async move {
                let rr = incoming.method() == Method::Invite;
                let forward = prepare_forward(
                    incoming.request(),
                    ep.host(),
                    ep.local_addr(),
                    SipTransport::Udp,
                    &ep.next_branch(),
                    rr && !incoming.is_ack(),
                );
                let forward = match forward {
                    Ok(f) => f,
                    Err(refusal) => {
                        let _ = incoming.respond(refusal).await;
                        return;
                    }
                };
                if incoming.is_ack() {
                    ep.send_stateless(forward).await.unwrap();
                    return;
                }
                let mut tx = ep.send_request(forward).await.unwrap();
                while let Some(resp) = tx.next_response().await {
                    if let Some(up) = prepare_response_forward(&resp) {
                        let _ = incoming.relay(up).await;
                    }
                }
            });
        }
    });
}

fn messages(tap: &Tap) -> Vec<Record> {
    tap.records()
        .into_iter()
        .filter(|r| r.message().is_some())
        .collect()
}

fn sent_by<'a>(records: &'a [Record], node: &str, prefix: &str) -> Vec<&'a Message> {
    records
        .iter()
        .filter(|r| r.node == node && matches!(r.body, Body::Sent { .. }))
        .filter_map(Record::message)
        .filter(|m| m.summary.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn large_invite_through_a_stateful_proxy_goes_over_tcp() {
    let world = World::default();
    let a = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;
    let p = world.endpoint("pcscf", "pcscf.test", Timers::fast()).await;
    let b = world.endpoint("ue-b", "ue-b.test", Timers::fast()).await;
    proxy(p.clone());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    uas(b.clone(), seen_tx);

    let body = format!("v=0\r\n{}", "a=x-padding:0123456789abcdef\r\n".repeat(50));
    let req = invite(&a, "bob@ue-b.test", Some("pcscf.test"), &body);
    assert!(proto::sip::encode_request(&req).len() > 1300);
    let started = Instant::now();
    let mut tx = a.send_request(req).await.unwrap();
    assert_eq!(tx.target().transport, SipTransport::Tcp);
    let mut codes = Vec::new();
    let ok = loop {
        let r = response(&mut tx).await;
        codes.push(r.status_code.code());
        if r.status_code.code() >= 200 {
            break r;
        }
    };
    let latency = started.elapsed();
    eprintln!("large INVITE → 200 through one proxy over TCP: {latency:?}");
    // The proxy relays 180 and 200; whether it relays the UAS's 100 depends on our proxy (it does).
    assert_eq!(codes.last(), Some(&200));
    assert!(codes.contains(&180));
    assert_eq!(
        ok.record_route_header().map(|rr| rr.value().to_owned()),
        Some("<sip:pcscf.test;lr>".to_owned())
    );
    assert_eq!(via_lines(&ok).len(), 1, "only the UAC's Via comes back");

    // What the UAS saw: two Vias (proxy on top, both TCP), the Record-Route, no Route.
    let at_uas = seen.recv().await.unwrap();
    assert_eq!(at_uas.transport(), SipTransport::Tcp);
    let vias = via_lines(at_uas.request());
    assert_eq!(vias.len(), 2);
    assert!(vias[0].starts_with(&format!(
        "Via: SIP/2.0/TCP pcscf.test:{};branch=z9hG4bK",
        p.local_addr().port()
    )));
    assert!(vias[0].ends_with(";received=127.0.0.1"));
    assert!(vias[1].starts_with(&format!(
        "Via: SIP/2.0/TCP ue-a.test:{};branch=z9hG4bK",
        a.local_addr().port()
    )));
    let req = at_uas.request();
    assert_eq!(
        req.record_route_header().map(|h| h.value().to_owned()),
        Some("<sip:pcscf.test;lr>".into())
    );
    assert!(req.route_header().is_none());
    assert_eq!(req.max_forwards_header().unwrap().value(), "69");
    assert_eq!(req.body, body.as_bytes());

    // The dialog completes: ACK and BYE follow the route set through the proxy.
    let ack = ua::ack_for_2xx(tx.request(), &ok).unwrap();
    assert_eq!(
        ack.route_header().map(|r| r.value().to_owned()),
        Some("<sip:pcscf.test;lr>".into())
    );
    a.send_stateless(ack).await.unwrap();
    let ack_in = timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(ack_in.is_ack());
    assert_eq!(via_lines(ack_in.request()).len(), 2);
    let bye = ua::uac_request(tx.request(), &ok, Method::Bye, 2).unwrap();
    let mut bye_tx = a.send_request(bye).await.unwrap();
    assert_eq!(response(&mut bye_tx).await.status_code.code(), 200);
    assert_eq!(seen.recv().await.unwrap().method(), Method::Bye);

    // Both INVITE hops went over TCP, from connection addresses registered on the tap.
    let records = messages(&world.tap);
    let invites: Vec<&Message> = ["ue-a", "pcscf"]
        .iter()
        .flat_map(|n| sent_by(&records, n, "INVITE "))
        .collect();
    assert_eq!(invites.len(), 2);
    for m in invites {
        assert_eq!(m.transport, Transport::Tcp);
        assert!(world.tap.node_at(m.transport, m.src).is_some());
    }
    // Small requests (ACK, BYE) go over UDP.
    assert!(
        sent_by(&records, "ue-a", "BYE ")
            .iter()
            .all(|m| m.transport == Transport::Udp)
    );

    // Latency of a small INVITE (UDP) through the proxy, for the record.
    let started = Instant::now();
    let mut tx = a
        .send_request(invite(&a, "bob@ue-b.test", Some("pcscf.test"), "v=0\r\n"))
        .await
        .unwrap();
    while response(&mut tx).await.status_code.code() < 200 {}
    eprintln!(
        "small INVITE → 200 through one proxy over UDP: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unanswered_non_invite_times_out_with_a_local_408() {
    let world = World::default();
    let timers = Timers::fast();
    let a = world.endpoint("ue-a", "ue-a.test", timers).await;
    let b = world.endpoint("ue-b", "ue-b.test", timers).await;
    let started = Instant::now();
    let mut tx = a.send_request(options(&a, "bob@ue-b.test")).await.unwrap();
    let held = next(&b).await; // held, never answered
    let r = response(&mut tx).await;
    let elapsed = started.elapsed();
    assert_eq!(r.status_code.code(), 408);
    assert_eq!(proto::sip::reason_phrase(&r), "Request Timeout");
    assert_eq!(tx.last_trace_id(), None, "generated locally");
    assert!(elapsed >= timers.t1x64(), "{elapsed:?}");
    assert!(
        elapsed < timers.t1x64() + Duration::from_millis(800),
        "{elapsed:?}"
    );
    assert!(tx.next_response().await.is_none());
    // Timer E retransmitted it; the server transaction absorbed every copy.
    let sent = sent_by(&messages(&world.tap), "ue-a", "OPTIONS ").len();
    assert!(sent >= 4, "{sent} copies");
    assert!(
        timeout(Duration::from_millis(200), b.next_request())
            .await
            .is_err()
    );
    drop(held);
}

async fn recv_text(socket: &UdpSocket, wait: Duration) -> Option<String> {
    let mut buf = vec![0u8; 65_535];
    match timeout(wait, socket.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

fn raw_options(port: u16, branch: &str, call_id: Option<&str>) -> String {
    let call_id = call_id.map_or(String::new(), |c| format!("Call-ID: {c}\r\n"));
    format!(
        "OPTIONS sip:bob@ue-b.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=r1\r\nTo: <sip:bob@ue-b.test>\r\n\
         {call_id}CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn a_retransmitted_request_is_absorbed_and_answered_again() {
    let world = World::default();
    let b = world.endpoint("ue-b", "ue-b.test", Timers::fast()).await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = raw.local_addr().unwrap().port();
    let bytes = raw_options(port, "z9hG4bKdup1", Some("dup@raw"));
    raw.send_to(bytes.as_bytes(), b.local_addr()).await.unwrap();
    let mut incoming = next(&b).await;
    // No received= when the source is the sent-by address.
    assert_eq!(
        via_lines(incoming.request())[0],
        format!("Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKdup1")
    );
    incoming
        .respond(response_to(incoming.request(), 200, "OK", None))
        .await
        .unwrap();
    let first = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert!(first.starts_with("SIP/2.0 200 OK\r\n"));
    assert!(first.contains(";tag="), "the final response got a To tag");
    raw.send_to(bytes.as_bytes(), b.local_addr()).await.unwrap();
    let again = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert_eq!(again, first);
    assert!(
        timeout(Duration::from_millis(300), b.next_request())
            .await
            .is_err(),
        "the handler sees the request once"
    );
}

#[tokio::test]
async fn malformed_requests_get_400_or_are_dropped_and_serving_goes_on() {
    let world = World::default();
    let b = world.endpoint("ue-b", "ue-b.test", Timers::fast()).await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = raw.local_addr().unwrap().port();

    // Garbage: nothing to answer to.
    raw.send_to(b"\x00\x01\x02 not sip at all\r\n\r\n", b.local_addr())
        .await
        .unwrap();
    assert_eq!(recv_text(&raw, Duration::from_millis(300)).await, None);
    // A response nobody asked for, and one with no Via: dropped.
    raw.send_to(b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n", b.local_addr())
        .await
        .unwrap();
    // Missing Call-ID: 400 with a reason.
    raw.send_to(
        raw_options(port, "z9hG4bKbad1", None).as_bytes(),
        b.local_addr(),
    )
    .await
    .unwrap();
    let reply = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert!(
        reply.starts_with("SIP/2.0 400 Bad Request (missing Call-ID header)\r\n"),
        "{reply}"
    );
    // A request line the parser rejects, with a Via: 400 from the raw lines.
    raw.send_to(
        format!(
            "INVITE sip:bob@ue-b.test;transport=carrier-pigeon SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad2\r\nCSeq: 1 INVITE\r\n\r\n"
        )
        .as_bytes(),
        b.local_addr(),
    )
    .await
    .unwrap();
    let reply = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert!(reply.starts_with("SIP/2.0 400 Bad Request ("), "{reply}");
    assert!(reply.contains("branch=z9hG4bKbad2"));

    // Over TCP: a Content-Length that cannot frame the stream → 400, connection closed.
    let mut tcp = TcpStream::connect(b.local_addr()).await.unwrap();
    tcp.write_all(
        format!(
            "OPTIONS sip:bob@ue-b.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bKbad3\r\n\
             Content-Length: lots\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    timeout(Duration::from_secs(2), tcp.read_to_string(&mut text))
        .await
        .unwrap()
        .unwrap();
    assert!(
        text.starts_with("SIP/2.0 400 Bad Request (malformed Content-Length"),
        "{text}"
    );

    // A CANCEL for no INVITE: 481 from the endpoint, the handler never sees it.
    raw.send_to(
        format!(
            "CANCEL sip:bob@ue-b.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKnone\r\n\
             Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=r1\r\nTo: <sip:bob@ue-b.test>\r\n\
             Call-ID: none@raw\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
        b.local_addr(),
    )
    .await
    .unwrap();
    let reply = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert!(
        reply.starts_with("SIP/2.0 481 Call/Transaction Does Not Exist\r\n"),
        "{reply}"
    );

    // Still serving.
    raw.send_to(
        raw_options(port, "z9hG4bKgood", Some("good@raw")).as_bytes(),
        b.local_addr(),
    )
    .await
    .unwrap();
    let mut incoming = next(&b).await;
    assert_eq!(
        incoming.request().call_id_header().unwrap().value(),
        "good@raw"
    );
    incoming
        .respond(response_to(incoming.request(), 200, "OK", None))
        .await
        .unwrap();
    let ok = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert!(ok.starts_with("SIP/2.0 200 OK\r\n"));

    // The drops are on the trace, with why.
    let checks: Vec<String> = world
        .tap
        .records()
        .into_iter()
        .filter_map(|r| match r.body {
            Body::Note {
                note: proto::trace::Note::Check { detail, passed, .. },
                ..
            } if !passed => Some(detail),
            _ => None,
        })
        .collect();
    assert!(checks.iter().any(|d| d.contains("Call-ID")), "{checks:?}");
    assert!(checks.iter().any(|d| d.contains("Via")), "{checks:?}");
}

async fn options_exchange(a: &Endpoint, b: &Endpoint) {
    let server = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut incoming = next(&b).await;
            incoming
                .respond(response_to(incoming.request(), 200, "OK", Some("t1")))
                .await
                .unwrap();
        })
    };
    let mut tx = a.send_request(options(a, "bob@ue-b.test")).await.unwrap();
    assert_eq!(response(&mut tx).await.status_code.code(), 200);
    server.await.unwrap();
}

#[tokio::test]
async fn the_tap_pairs_every_send_with_its_receive() {
    let world = World::default();
    let a = world.endpoint("ue-a", "ue-a.test", Timers::default()).await;
    let b = world.endpoint("ue-b", "ue-b.test", Timers::default()).await;
    options_exchange(&a, &b).await;

    let records = world.tap.ordered();
    let view: Vec<(String, &str, u64, Option<String>, String)> = records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Sent { msg, to, message } => Some((
                r.node.clone(),
                "sent",
                *msg,
                to.clone(),
                message.summary.clone(),
            )),
            Body::Received { msg, from, message } => Some((
                r.node.clone(),
                "received",
                *msg,
                from.clone(),
                message.summary.clone(),
            )),
            Body::Note { .. } => None,
        })
        .collect();
    let ids: Vec<u64> = view.iter().map(|v| v.2).collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[2], ids[3]);
    assert_ne!(ids[0], ids[2]);
    let strip = |v: &(String, &str, u64, Option<String>, String)| {
        (v.0.clone(), v.1.to_owned(), v.3.clone(), v.4.clone())
    };
    assert_eq!(
        view.iter().map(strip).collect::<Vec<_>>(),
        [
            (
                "ue-a".into(),
                "sent".into(),
                Some("ue-b".into()),
                "OPTIONS sip:bob@ue-b.test".into()
            ),
            (
                "ue-b".into(),
                "received".into(),
                Some("ue-a".into()),
                "OPTIONS sip:bob@ue-b.test".into()
            ),
            (
                "ue-b".into(),
                "sent".into(),
                Some("ue-a".into()),
                "200 OK (OPTIONS)".into()
            ),
            (
                "ue-a".into(),
                "received".into(),
                Some("ue-b".into()),
                "200 OK (OPTIONS)".into()
            ),
        ]
    );
    // The raw text is the wire text, the same on both sides.
    let raw: Vec<&str> = records
        .iter()
        .filter_map(|r| r.message().map(|m| m.raw.as_str()))
        .collect();
    assert_eq!(raw[0], raw[1]);
    assert!(raw[0].starts_with("OPTIONS sip:bob@ue-b.test SIP/2.0\r\nVia: SIP/2.0/UDP ue-a.test:"));
    assert!(raw[2].starts_with("SIP/2.0 200 OK\r\n"));
}

#[tokio::test]
async fn shutdown_closes_the_port_and_ends_every_task() {
    let world = World::default();
    let a = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;
    let b = world.endpoint("ue-b", "ue-b.test", Timers::fast()).await;
    options_exchange(&a, &b).await;
    // A TCP connection too.
    let mut big = options(&a, "bob@ue-b.test");
    big.body = vec![b'x'; 2000];
    let server = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut incoming = next(&b).await;
            assert_eq!(incoming.transport(), SipTransport::Tcp);
            incoming
                .respond(response_to(incoming.request(), 200, "OK", None))
                .await
                .unwrap();
        })
    };
    let mut tx = a.send_request(big).await.unwrap();
    assert_eq!(response(&mut tx).await.status_code.code(), 200);
    server.await.unwrap();
    assert!(b.running_tasks() > 2);

    let addr = b.local_addr();
    b.close().await;
    assert_eq!(b.running_tasks(), 0);
    assert!(b.next_request().await.is_none());
    assert!(b.send_request(options(&b, "ue-a.test")).await.is_err());
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = raw.local_addr().unwrap().port();
    raw.send_to(
        raw_options(port, "z9hG4bKafter", Some("x")).as_bytes(),
        addr,
    )
    .await
    .unwrap();
    assert_eq!(recv_text(&raw, Duration::from_millis(300)).await, None);
    assert!(TcpStream::connect(addr).await.is_err());
    UdpSocket::bind(addr).await.expect("UDP port free again");
    TcpListener::bind(addr).await.expect("TCP port free again");

    // Dropping the last handle shuts down too.
    let c = world.endpoint("ue-c", "ue-c.test", Timers::fast()).await;
    let c_addr = c.local_addr();
    drop(c);
    tokio::time::sleep(Duration::from_millis(100)).await;
    UdpSocket::bind(c_addr)
        .await
        .expect("UDP port free after drop");
}

#[tokio::test]
async fn two_worlds_with_the_same_names_do_not_interfere() {
    let one = World::default();
    let two = World::default();
    let (a1, b1) = (
        one.endpoint("ue-a", "ue-a.test", Timers::fast()).await,
        one.endpoint("ue-b", "ue-b.test", Timers::fast()).await,
    );
    let (a2, b2) = (
        two.endpoint("ue-a", "ue-a.test", Timers::fast()).await,
        two.endpoint("ue-b", "ue-b.test", Timers::fast()).await,
    );
    tokio::join!(options_exchange(&a1, &b1), options_exchange(&a2, &b2));
    for (world, a, b) in [(&one, &a1, &b1), (&two, &a2, &b2)] {
        let records = messages(&world.tap);
        assert_eq!(records.len(), 4);
        for r in &records {
            let m = r.message().unwrap();
            for addr in [m.src, m.dst] {
                assert!(addr == a.local_addr() || addr == b.local_addr());
            }
            let peer = match &r.body {
                Body::Sent { to, .. } => to.clone(),
                Body::Received { from, .. } => from.clone(),
                Body::Note { .. } => None,
            };
            assert!(peer.is_some());
        }
    }
    // Same seed, same names: the same branches, tags and Call-IDs in both worlds.
    let summary_and_callid = |tap: &Tap| {
        let records = messages(tap);
        let raw = &records[0].message().unwrap().raw;
        raw.lines()
            .filter(|l| l.starts_with("Call-ID") || l.starts_with("From"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(summary_and_callid(&one.tap), summary_and_callid(&two.tap));
}

#[tokio::test]
async fn timer_c_gives_408_and_cancels_the_invite() {
    let world = World::default();
    let timers = Timers {
        timer_c: Duration::from_millis(400),
        ..Timers::fast()
    };
    let a = world.endpoint("ue-a", "ue-a.test", timers).await;
    let b = world.endpoint("ue-b", "ue-b.test", timers).await;
    let mut tx = a
        .send_request(invite(&a, "bob@ue-b.test", None, ""))
        .await
        .unwrap();
    let mut ringing = next(&b).await;
    ringing
        .respond(answer(&ringing, 180, "Ringing", Some("sip:bob@ue-b.test")))
        .await
        .unwrap();
    assert_eq!(response(&mut tx).await.status_code.code(), 180);
    let started = Instant::now();
    let timed_out = response(&mut tx).await;
    assert_eq!(timed_out.status_code.code(), 408);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(tx.next_response().await.is_none());

    let mut cancel = next(&b).await;
    assert_eq!(cancel.method(), Method::Cancel);
    assert!(ua::cancels(cancel.request(), ringing.request()));
    cancel
        .respond(response_to(cancel.request(), 200, "OK", Some("callee1")))
        .await
        .unwrap();
    ringing
        .respond(answer(&ringing, 487, "Request Terminated", None))
        .await
        .unwrap();
    // The 487 is ACKed by a's transaction and absorbed by b's: no ACK reaches b's handler.
    assert!(
        timeout(Duration::from_millis(300), b.next_request())
            .await
            .is_err()
    );
    let records = messages(&world.tap);
    assert_eq!(sent_by(&records, "ue-a", "CANCEL ").len(), 1);
    assert!(!sent_by(&records, "ue-a", "ACK ").is_empty());
    let got_ack = records.iter().any(|r| {
        r.node == "ue-b"
            && matches!(r.body, Body::Received { .. })
            && r.message().is_some_and(|m| m.summary.starts_with("ACK "))
    });
    assert!(got_ack);
}

#[tokio::test]
async fn an_unreachable_target_falls_over_to_the_next() {
    let world = World::default();
    let a = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;
    let b = world.endpoint("ue-b", "ue-b.test", Timers::fast()).await;
    // A closed TCP port first.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    world.table.first.lock().unwrap().insert(
        "ue-b.test".into(),
        SipTarget {
            addr: dead,
            transport: SipTransport::Tcp,
        },
    );
    options_exchange(&a, &b).await;
    // An unknown host is an error, not a hang.
    let err = a.send_request(options(&a, "nobody@nowhere.test")).await;
    assert!(matches!(err, Err(kit::Error::Resolve { .. })), "{err:?}");
    // A tel: URI without a Route cannot be routed.
    let tel = request(
        "OPTIONS tel:+12155551001 SIP/2.0\r\nFrom: <sip:a@ue-a.test>;tag=1\r\nTo: <tel:+12155551001>\r\n\
         Call-ID: t@1\r\nCSeq: 1 OPTIONS\r\n\r\n",
    );
    assert!(matches!(
        a.send_request(tel).await,
        Err(kit::Error::Sip { .. })
    ));
    let _ = b;
}

#[tokio::test]
async fn proxy_refuses_exhausted_max_forwards_with_483() {
    let world = World::default();
    let a = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;
    let p = world.endpoint("pcscf", "pcscf.test", Timers::fast()).await;
    proxy(p.clone());
    let mut req = options(&a, "bob@ue-b.test");
    for h in req.headers.iter_mut() {
        if matches!(h, Header::MaxForwards(_)) {
            *h = Header::MaxForwards(0.into());
        }
    }
    req.headers
        .0
        .insert(0, Header::Route("<sip:pcscf.test;lr>".into()));
    let mut tx = a.send_request(req).await.unwrap();
    let r = response(&mut tx).await;
    assert_eq!(r.status_code.code(), 483);
    assert_eq!(proto::sip::reason_phrase(&r), "Too Many Hops");
    assert!(r.to_header().unwrap().typed().unwrap().tag().is_some());
}

/// The failed "has room" checks on `tap`, as (code, detail).
fn room_refusals(tap: &Tap) -> Vec<(Option<u16>, String)> {
    tap.records()
        .into_iter()
        .filter_map(|r| match r.body {
            Body::Note {
                note:
                    proto::trace::Note::Check {
                        name,
                        passed: false,
                        detail,
                        code,
                        reason,
                    },
                ..
            } if name == kit::sip::ROOM_CHECK => {
                assert_eq!(reason, Some(proto::trace::Reason::Overloaded));
                Some((code, detail))
            }
            _ => None,
        })
        .collect()
}

/// UE-B's endpoint in `world` with fast timers and `limits`.
async fn limited_endpoint(world: &World, limits: Limits) -> Endpoint {
    let config = Config::new("ue-b", "ue-b.test")
        .with_timers(Timers::fast())
        .with_limits(limits);
    world.endpoint_with(config).await
}

#[tokio::test]
async fn a_full_request_queue_answers_503_with_retry_after_and_loses_nothing() {
    let world = World::default();
    let b = limited_endpoint(
        &world,
        Limits {
            queue: 2,
            ..Limits::default()
        },
    )
    .await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = raw.local_addr().unwrap().port();
    let send = |i: usize| raw_options(port, &format!("z9hG4bKq{i}"), Some(&format!("q{i}@raw")));
    for i in 0..3 {
        raw.send_to(send(i).as_bytes(), b.local_addr())
            .await
            .unwrap();
    }
    // Nobody has taken a request yet: the third finds the queue full.
    let refused = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
    assert!(
        refused.starts_with("SIP/2.0 503 Service Unavailable\r\n"),
        "{refused}"
    );
    assert!(refused.contains("Retry-After: 1\r\n"), "{refused}");
    assert!(refused.contains("branch=z9hG4bKq2"), "{refused}");
    assert_eq!(b.refusals().overloaded, 1);
    let refusals = room_refusals(&world.tap);
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].0, Some(503));
    assert!(
        refusals[0].1.contains("2 requests wait already"),
        "{refusals:?}"
    );
    // The two queued are served; once taken, there is room again.
    for i in 0..3 {
        if i == 2 {
            raw.send_to(send(3).as_bytes(), b.local_addr())
                .await
                .unwrap();
        }
        let mut incoming = next(&b).await;
        incoming
            .respond(response_to(incoming.request(), 200, "OK", None))
            .await
            .unwrap();
        let ok = recv_text(&raw, Duration::from_secs(2)).await.unwrap();
        assert!(ok.starts_with("SIP/2.0 200 OK\r\n"), "{ok}");
        let branch = if i == 2 { 3 } else { i };
        assert!(ok.contains(&format!("branch=z9hG4bKq{branch}")), "{ok}");
    }
    assert_eq!(b.refusals().overloaded, 1);
}

fn tcp_options(local: SocketAddr, branch: &str) -> String {
    format!(
        "OPTIONS sip:bob@ue-b.test SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=r1\r\nTo: <sip:bob@ue-b.test>\r\n\
         Call-ID: {branch}@raw\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn connections_past_the_limit_are_closed_and_the_others_keep_serving() {
    let world = World::default();
    let b = limited_endpoint(
        &world,
        Limits {
            connections: 2,
            ..Limits::default()
        },
    )
    .await;
    let mut first = TcpStream::connect(b.local_addr()).await.unwrap();
    let _second = TcpStream::connect(b.local_addr()).await.unwrap();
    // Both accepted and adopted before the third arrives.
    let began = Instant::now();
    while b.stats().connections < 2 {
        assert!(began.elapsed() < Duration::from_secs(2), "not accepted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut third = TcpStream::connect(b.local_addr()).await.unwrap();
    let mut buf = [0u8; 64];
    let read = timeout(Duration::from_secs(2), third.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the third connection is closed at once: {read:?}"
    );
    assert_eq!(b.refusals().connections, 1);
    assert_eq!(room_refusals(&world.tap).len(), 1);
    // The first still carries a request and its answer.
    let local = first.local_addr().unwrap();
    first
        .write_all(tcp_options(local, "z9hG4bKcap1").as_bytes())
        .await
        .unwrap();
    let mut incoming = next(&b).await;
    incoming
        .respond(response_to(incoming.request(), 200, "OK", None))
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = timeout(Duration::from_secs(2), first.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer[..n].starts_with(b"SIP/2.0 200 OK\r\n"));
}
