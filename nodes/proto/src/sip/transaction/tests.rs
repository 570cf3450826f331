//! The transaction machines driven by tables of explicit instants: each row says at which
//! millisecond (from the transaction's start) what happens, what the machine answers, and when
//! it next wants the time. No test here waits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rsipstack::sip::{HeadersExt as _, Request, Response, SipMessage};

use super::*;
use crate::sip::{SipTransport, Timers};

const INVITE: &str = "INVITE sip:bob@b.test SIP/2.0\r\n\
    Via: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
    From: <sip:alice@a.test>;tag=a1\r\nTo: <sip:bob@b.test>\r\nCall-ID: c1@a.test\r\n\
    CSeq: 1 INVITE\r\nContact: <sip:alice@a.test>\r\nContent-Length: 0\r\n\r\n";

const OPTIONS: &str = "OPTIONS sip:bob@b.test SIP/2.0\r\n\
    Via: SIP/2.0/UDP a.test:5060;branch=z9hG4bK2\r\nMax-Forwards: 70\r\n\
    From: <sip:alice@a.test>;tag=a1\r\nTo: <sip:bob@b.test>\r\nCall-ID: c2@a.test\r\n\
    CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

fn request(text: &str) -> Request {
    match SipMessage::try_from(text) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

fn response(req: &Request, code: u16) -> Response {
    crate::sip::proxy::response_to(req, code, "X", Some("b1"))
}

/// A readable name of an output.
fn client_out(o: &ClientOutput) -> String {
    match o {
        ClientOutput::Retransmit => "retransmit".into(),
        ClientOutput::SendAck(ack) => format!("ack {}", ack.method),
        ClientOutput::ToTu(r, id) => format!(
            "tu {}{}",
            r.status_code.code(),
            if id.is_none() { " (local)" } else { "" }
        ),
        ClientOutput::TuDone => "tu done".into(),
        ClientOutput::Cancel(c) => format!("cancel {}", c.method),
        ClientOutput::Terminated => "terminated".into(),
    }
}

fn server_out(o: &ServerOutput) -> String {
    match o {
        ServerOutput::Send(r) => format!("send {}", r.status_code.code()),
        ServerOutput::Refused(e) => format!("refused: {e}"),
        ServerOutput::AbsorbAck => "absorb-ack".into(),
        ServerOutput::AwaitAck2xx => "await-ack".into(),
        ServerOutput::Terminated => "terminated".into(),
    }
}

/// What happens in a row.
#[derive(Clone, Copy)]
enum In {
    Tick,
    /// A response with this code.
    Resp(u16),
    /// Server: the TU answers with this code (a UAS: its 2xx is retransmitted).
    Answer(u16),
    /// Server: a proxy relays this code.
    Relay(u16),
    Retrans,
    Ack,
    Ack2xx,
    Abandon,
}

type Row = (u64, In, &'static [&'static str], Option<u64>);

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

fn wake_ms(t0: Instant, wake: Option<Instant>) -> Option<u64> {
    wake.map(|w| u64::try_from((w - t0).as_millis()).unwrap())
}

fn run_client(text: &str, transport: SipTransport, timers: Timers, start_wake: u64, rows: &[Row]) {
    let t0 = Instant::now();
    let req = request(text);
    let mut c = Client::new(req.clone(), transport, timers, t0);
    assert_eq!(wake_ms(t0, c.next_wake()), Some(start_wake), "first wake");
    for (i, (ms, input, want, wake)) in rows.iter().enumerate() {
        let input = match *input {
            In::Tick => ClientInput::Tick,
            In::Resp(code) => ClientInput::Response(response(&req, code), 7),
            _ => unreachable!("not a client input"),
        };
        let got: Vec<String> = c
            .handle(at(t0, *ms), input)
            .iter()
            .map(client_out)
            .collect();
        assert_eq!(got, *want, "row {i} at {ms} ms");
        assert_eq!(wake_ms(t0, c.next_wake()), *wake, "row {i}: next wake");
    }
}

fn run_server(text: &str, transport: SipTransport, timers: Timers, start_wake: u64, rows: &[Row]) {
    let t0 = Instant::now();
    let req = request(text);
    let mut s = Server::new(req.clone(), transport, timers, t0);
    assert_eq!(wake_ms(t0, s.next_wake()), Some(start_wake), "first wake");
    for (i, (ms, input, want, wake)) in rows.iter().enumerate() {
        let respond = |code: u16, relay: bool| ServerInput::Respond {
            response: crate::sip::proxy::response_to(&req, code, "X", None),
            relay,
            fresh_tag: Some("t1".into()),
        };
        let input = match *input {
            In::Tick => ServerInput::Tick,
            In::Answer(code) => respond(code, false),
            In::Relay(code) => respond(code, true),
            In::Retrans => ServerInput::Retransmission,
            In::Ack => ServerInput::Ack,
            In::Ack2xx => ServerInput::Ack2xx,
            In::Abandon => ServerInput::Abandoned,
            In::Resp(_) => unreachable!("not a server input"),
        };
        let got: Vec<String> = s
            .handle(at(t0, *ms), input)
            .iter()
            .map(server_out)
            .collect();
        assert_eq!(got, *want, "row {i} at {ms} ms");
        assert_eq!(wake_ms(t0, s.next_wake()), *wake, "row {i}: next wake");
    }
}

const UDP: SipTransport = SipTransport::Udp;
const TCP: SipTransport = SipTransport::Tcp;

/// Timer C short enough to fit the tables: 10 s.
fn rfc() -> Timers {
    Timers {
        timer_c: Duration::from_secs(10),
        ..Timers::default()
    }
}

#[test]
fn timers_a_and_b_invite_over_udp_unanswered() {
    // Timer A: 500, 1500, 3500, 7500 (doubling from T1; Timer C at 10 s comes first): the
    // INVITE never got a provisional, so Timer C just gives the 408 (no CANCEL).
    run_client(
        INVITE,
        UDP,
        rfc(),
        500,
        &[
            (500, In::Tick, &["retransmit"], Some(1500)),
            (1500, In::Tick, &["retransmit"], Some(3500)),
            (3500, In::Tick, &["retransmit"], Some(7500)),
            (7500, In::Tick, &["retransmit"], Some(10_000)),
            (
                10_000,
                In::Tick,
                &["tu 408 (local)", "tu done", "terminated"],
                None,
            ),
        ],
    );
    // With the RFC's Timer C (180 s), Timer B ends it at 64×T1 = 32 s, after Timer A at
    // 15.5 s and 31.5 s.
    run_client(
        INVITE,
        UDP,
        Timers::default(),
        500,
        &[
            (500, In::Tick, &["retransmit"], Some(1500)),
            (1500, In::Tick, &["retransmit"], Some(3500)),
            (3500, In::Tick, &["retransmit"], Some(7500)),
            (7500, In::Tick, &["retransmit"], Some(15_500)),
            (15_500, In::Tick, &["retransmit"], Some(31_500)),
            (31_500, In::Tick, &["retransmit"], Some(32_000)),
            (
                32_000,
                In::Tick,
                &["tu 408 (local)", "tu done", "terminated"],
                None,
            ),
        ],
    );
}

#[test]
fn timer_c_cancels_an_invite_that_only_rings() {
    // A 180 stops Timer A/B and restarts Timer C (10 s); when it fires, a CANCEL and a 408;
    // the 487 that follows is ACKed and not given to the TU; Timer D (64×T1 over UDP) ends it.
    run_client(
        INVITE,
        UDP,
        rfc(),
        500,
        &[
            (100, In::Resp(180), &["tu 180"], Some(10_100)),
            (
                10_100,
                In::Tick,
                &["cancel CANCEL", "tu 408 (local)", "tu done"],
                Some(42_100),
            ),
            (10_200, In::Resp(487), &["ack ACK"], Some(42_200)),
            (42_200, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn timer_d_absorbs_retransmitted_failures() {
    // UDP: the 486 is ACKed, given to the TU once; its retransmission is ACKed again (the
    // same ACK) until Timer D.
    run_client(
        INVITE,
        UDP,
        rfc(),
        500,
        &[
            (
                50,
                In::Resp(486),
                &["ack ACK", "tu 486", "tu done"],
                Some(32_050),
            ),
            (550, In::Resp(486), &["ack ACK"], Some(32_050)),
            (32_050, In::Tick, &["terminated"], None),
        ],
    );
    // TCP: no retransmissions, and Timer D is 0.
    run_client(
        INVITE,
        TCP,
        rfc(),
        10_000,
        &[
            (
                50,
                In::Resp(486),
                &["ack ACK", "tu 486", "tu done"],
                Some(50),
            ),
            (50, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn timer_m_delivers_further_2xx() {
    run_client(
        INVITE,
        UDP,
        rfc(),
        500,
        &[
            (20, In::Resp(100), &["tu 100"], Some(10_000)),
            (40, In::Resp(200), &["tu 200"], Some(32_040)),
            (600, In::Resp(200), &["tu 200"], Some(32_040)),
            (32_040, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn timers_e_f_and_k_non_invite() {
    // Timer E doubles to T2 (4 s): 500, 1500, 3500, 7500, 11500, …; Timer F at 32 s.
    run_client(
        OPTIONS,
        UDP,
        rfc(),
        500,
        &[
            (500, In::Tick, &["retransmit"], Some(1500)),
            (1500, In::Tick, &["retransmit"], Some(3500)),
            (3500, In::Tick, &["retransmit"], Some(7500)),
            (7500, In::Tick, &["retransmit"], Some(11_500)),
            (11_500, In::Tick, &["retransmit"], Some(15_500)),
            (15_500, In::Tick, &["retransmit"], Some(19_500)),
            (19_500, In::Tick, &["retransmit"], Some(23_500)),
            (23_500, In::Tick, &["retransmit"], Some(27_500)),
            (27_500, In::Tick, &["retransmit"], Some(31_500)),
            (31_500, In::Tick, &["retransmit"], Some(32_000)),
            (
                32_000,
                In::Tick,
                &["tu 408 (local)", "tu done", "terminated"],
                None,
            ),
        ],
    );
    // Once proceeding, Timer E retransmits every T2; the 200 is given once and Timer K (T4
    // over UDP) absorbs its retransmissions.
    run_client(
        OPTIONS,
        UDP,
        rfc(),
        500,
        &[
            (100, In::Resp(100), &["tu 100"], Some(500)),
            (500, In::Tick, &["retransmit"], Some(4500)),
            (4500, In::Tick, &["retransmit"], Some(8500)),
            (5000, In::Resp(200), &["tu 200", "tu done"], Some(10_000)),
            (6000, In::Resp(200), &[], Some(10_000)),
            (10_000, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn timers_g_h_and_i_invite_failure_over_udp() {
    // The 486 is retransmitted by Timer G (500, 1500, 3500, 7500 then every 4 s) until the ACK;
    // Timer I (T4) then absorbs retransmitted ACKs.
    run_server(
        INVITE,
        UDP,
        rfc(),
        42_000,
        &[
            (10, In::Relay(100), &["send 100"], Some(42_010)),
            (20, In::Retrans, &["send 100"], Some(42_010)),
            (30, In::Relay(486), &["absorb-ack", "send 486"], Some(530)),
            (530, In::Tick, &["send 486"], Some(1530)),
            (600, In::Retrans, &["send 486"], Some(1530)),
            (1530, In::Tick, &["send 486"], Some(3530)),
            (3530, In::Tick, &["send 486"], Some(7530)),
            (7530, In::Tick, &["send 486"], Some(11_530)),
            (8000, In::Ack, &[], Some(13_000)),
            (9000, In::Retrans, &[], Some(13_000)),
            (13_000, In::Tick, &["terminated"], None),
        ],
    );
    // Without an ACK, Timer H ends it at 64×T1 after the 486.
    let rows: &[Row] = &[
        (0, In::Relay(404), &["absorb-ack", "send 404"], Some(500)),
        (500, In::Tick, &["send 404"], Some(1500)),
        (1500, In::Tick, &["send 404"], Some(3500)),
        (3500, In::Tick, &["send 404"], Some(7500)),
        (7500, In::Tick, &["send 404"], Some(11_500)),
        (11_500, In::Tick, &["send 404"], Some(15_500)),
        (15_500, In::Tick, &["send 404"], Some(19_500)),
        (19_500, In::Tick, &["send 404"], Some(23_500)),
        (23_500, In::Tick, &["send 404"], Some(27_500)),
        (27_500, In::Tick, &["send 404"], Some(31_500)),
        (31_500, In::Tick, &["send 404"], Some(32_000)),
        (32_000, In::Tick, &["terminated"], None),
    ];
    run_server(INVITE, UDP, rfc(), 42_000, rows);
}

#[test]
fn invite_failure_over_tcp_is_not_retransmitted() {
    run_server(
        INVITE,
        TCP,
        rfc(),
        42_000,
        &[
            (
                10,
                In::Relay(486),
                &["absorb-ack", "send 486"],
                Some(32_010),
            ),
            (20, In::Ack, &[], Some(20)),
            (20, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn timer_l_a_uas_2xx_until_its_ack() {
    // A UAS's 2xx is retransmitted (T1 doubling to T2) until the ACK; the transaction stays
    // in Accepted until Timer L (64×T1).
    run_server(
        INVITE,
        UDP,
        rfc(),
        42_000,
        &[
            (0, In::Answer(180), &["send 180"], Some(42_000)),
            (100, In::Answer(200), &["await-ack", "send 200"], Some(600)),
            (600, In::Tick, &["send 200"], Some(1600)),
            (1600, In::Tick, &["send 200"], Some(3600)),
            (2000, In::Ack2xx, &[], Some(32_100)),
            (2100, In::Relay(200), &["send 200"], Some(32_100)),
            (
                2200,
                In::Answer(486),
                &["refused: a final response was already sent"],
                Some(32_100),
            ),
            (32_100, In::Tick, &["terminated"], None),
        ],
    );
    // A proxy's relayed 2xx is sent once: no ACK is awaited.
    run_server(
        INVITE,
        TCP,
        rfc(),
        42_000,
        &[
            (0, In::Relay(200), &["send 200"], Some(32_000)),
            (32_000, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn timer_j_non_invite() {
    run_server(
        OPTIONS,
        UDP,
        rfc(),
        64_000,
        &[
            (10, In::Answer(200), &["send 200"], Some(32_010)),
            (20, In::Retrans, &["send 200"], Some(32_010)),
            (32_010, In::Tick, &["terminated"], None),
        ],
    );
    run_server(
        OPTIONS,
        TCP,
        rfc(),
        64_000,
        &[
            (10, In::Answer(200), &["send 200"], Some(10)),
            (10, In::Tick, &["terminated"], None),
        ],
    );
}

#[test]
fn a_tu_that_never_answers() {
    // INVITE: the wait is Timer C + 64×T1, renewed by each provisional; then the transaction
    // ends without a final response.
    run_server(
        INVITE,
        TCP,
        rfc(),
        42_000,
        &[
            (1000, In::Relay(180), &["send 180"], Some(43_000)),
            (43_000, In::Tick, &["terminated"], None),
        ],
    );
    // Non-INVITE: 2×64×T1. A TU that drops the request gets a 500 sent for it.
    run_server(
        OPTIONS,
        UDP,
        rfc(),
        64_000,
        &[(64_000, In::Tick, &["terminated"], None)],
    );
    run_server(
        OPTIONS,
        UDP,
        rfc(),
        64_000,
        &[(5, In::Abandon, &["send 500"], Some(32_005))],
    );
}

#[test]
fn responses_get_one_to_tag_and_bad_codes_are_refused() {
    let t0 = Instant::now();
    let req = request(INVITE);
    let mut s = Server::new(req.clone(), UDP, rfc(), t0);
    let ringing = crate::sip::proxy::response_to(&req, 180, "Ringing", None);
    assert!(s.needs_tag(&ringing));
    let out = s.handle(
        t0,
        ServerInput::Respond {
            response: ringing,
            relay: false,
            fresh_tag: Some("tag-1".into()),
        },
    );
    let ServerOutput::Send(sent) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        sent.to_header().unwrap().tag().unwrap().unwrap().value(),
        "tag-1"
    );
    // The 200 gets the same tag, whatever fresh one is offered.
    let ok = crate::sip::proxy::response_to(&req, 200, "OK", None);
    assert!(!s.needs_tag(&ok));
    let out = s.handle(
        t0,
        ServerInput::Respond {
            response: ok,
            relay: false,
            fresh_tag: Some("tag-2".into()),
        },
    );
    let sent = out
        .iter()
        .find_map(|o| match o {
            ServerOutput::Send(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sent.to_header().unwrap().tag().unwrap().unwrap().value(),
        "tag-1"
    );
    let mut s = Server::new(req.clone(), UDP, rfc(), t0);
    let mut bad = crate::sip::proxy::response_to(&req, 200, "OK", None);
    bad.status_code = 99.into();
    assert_eq!(
        s.handle(
            t0,
            ServerInput::Respond {
                response: bad,
                relay: false,
                fresh_tag: None
            }
        ),
        vec![ServerOutput::Refused(RespondError::NotAStatusCode(99))]
    );
}

#[test]
fn a_terminated_machine_does_nothing() {
    let t0 = Instant::now();
    let mut c = Client::new(request(OPTIONS), TCP, rfc(), t0);
    let out = c.handle(at(t0, 32_000), ClientInput::Tick);
    assert_eq!(
        out.iter().map(client_out).collect::<Vec<_>>(),
        ["tu 408 (local)", "tu done", "terminated"]
    );
    assert_eq!(c.state(), ClientState::Terminated);
    assert!(c.handle(at(t0, 40_000), ClientInput::Tick).is_empty());
    assert_eq!(c.next_wake(), None);
}
