//! The step matcher on hand-made traces: order, content, outcomes, absence, and the harness's
//! own records.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use kit::tap::{Layer, Tap};
use proto::trace::{Act, Message, Note, Reason, Transport};

use super::*;

fn addr(p: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p))
}

const INVITE: &str = "INVITE sip:b@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@a>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nP-Asserted-Identity: \"Q Branch\" <tel:+12025551000>\r\nContent-Length: 0\r\n\r\n";
const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@a>;tag=1\r\nTo: <sip:b@b>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
const OTHER_OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK9\r\nFrom: <sip:a@a>;tag=1\r\nTo: <sip:b@b>;tag=2\r\nCall-ID: c9\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

fn tap() -> Tap {
    let tap = Tap::new();
    tap.register(Layer::Udp, addr(1), "a");
    tap.register(Layer::Udp, addr(2), "b");
    tap.register(Layer::Tcp, addr(3), "c");
    tap
}

fn sip(tap: &Tap, from: &str, raw: &str) {
    let (src, dst) = if from == "a" {
        (addr(1), addr(2))
    } else {
        (addr(2), addr(1))
    };
    let m = Message::sip(Transport::Udp, src, dst, "x".into(), raw.into());
    tap.sent(from, m.clone());
    tap.received(if from == "a" { "b" } else { "a" }, m);
}

fn https(tap: &Tap, request: bool, body: &str) {
    let (src, dst, raw, summary) = if request {
        (
            addr(4),
            addr(3),
            format!("POST /stir/v1/signing HTTP/1.1\r\nhost: c\r\n\r\n{body}"),
            "POST /stir/v1/signing".to_owned(),
        )
    } else {
        (
            addr(3),
            addr(4),
            format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{body}"),
            "200 OK (POST /stir/v1/signing)".to_owned(),
        )
    };
    tap.register(Layer::Tcp, addr(4), "a");
    let m = Message::http(Transport::Tls, src, dst, summary, raw, &[body.as_bytes()]);
    let (sender, receiver) = if request { ("a", "c") } else { ("c", "a") };
    tap.sent(sender, m.clone());
    tap.received(receiver, m);
}

fn figure(steps: Vec<Step>) -> Figure {
    Figure {
        clause: "x",
        figure: "x-1",
        title: "t",
        steps,
    }
}

fn statuses(figure: &Figure, tap: &Tap) -> Vec<&'static str> {
    match_steps(figure, &tap.ordered())
        .iter()
        .map(|r| match r.status {
            Status::Seen { .. } => "seen",
            Status::Missing { .. } => "missing",
            Status::NotTaken { .. } => "n/a",
            Status::Prevented { .. } => "prevented",
            Status::Happened { .. } => "happened",
        })
        .collect()
}

#[test]
fn steps_match_in_order_on_content_and_typed_actions() {
    let t = tap();
    sip(&t, "a", INVITE);
    t.note("b", None, Note::done(Act::SignPassport, "sign"));
    sip(&t, "b", OK);
    let f = figure(vec![
        Step::new(
            "1",
            ("A", "B"),
            "invite with a name",
            vec![hop(&["a"], &["b"], invite()).with(Require::DisplayName("P-Asserted-Identity"))],
        ),
        Step::new(
            "2",
            ("B", "B"),
            "sign",
            vec![act(&["b"], Act::SignPassport)],
        ),
        Step::new(
            "3",
            ("B", "A"),
            "ok",
            vec![hop(&["b"], &["a"], invite_response(200, 299))],
        ),
    ]);
    assert_eq!(statuses(&f, &t), ["seen", "seen", "seen"]);

    // The same hops asking for content the messages lack, or another outcome, do not match.
    let f = figure(vec![
        Step::new(
            "1",
            ("A", "B"),
            "invite with Identity",
            vec![hop(&["a"], &["b"], invite()).with(Require::Header("Identity"))],
        ),
        Step::new(
            "2",
            ("B", "B"),
            "sign refused",
            vec![act(&["b"], Act::SignPassport).refused(Reason::Malformed)],
        ),
        Step::new(
            "3",
            ("B", "B"),
            "verify",
            vec![act(&["b"], Act::VerifyIdentity)],
        ),
    ]);
    assert_eq!(statuses(&f, &t), ["missing", "missing", "missing"]);
}

#[test]
fn a_response_must_answer_the_previous_request() {
    let t = tap();
    sip(&t, "a", INVITE);
    sip(&t, "b", OTHER_OK);
    let step = |require: Option<Require>| {
        let mut answer = hop(&["b"], &["a"], invite_response(200, 299));
        if let Some(r) = require {
            answer = answer.with(r);
        }
        figure(vec![Step::new(
            "1",
            ("A", "B"),
            "exchange",
            vec![hop(&["a"], &["b"], invite()), answer],
        )])
    };
    assert_eq!(statuses(&step(None), &t), ["seen"]);
    assert_eq!(
        statuses(&step(Some(Require::AnswersPrevious)), &t),
        ["missing"]
    );
    assert_eq!(statuses(&step(Some(Require::SameDialog)), &t), ["missing"]);
    sip(&t, "b", OK);
    assert_eq!(
        statuses(&step(Some(Require::AnswersPrevious)), &t),
        ["seen"]
    );
}

#[test]
fn json_members_and_http_exchanges() {
    let t = tap();
    https(
        &t,
        true,
        r#"{"signingRequest":{"attest":"A","rcd":{"nam":"Q"}}}"#,
    );
    https(&t, false, r#"{"signingResponse":{"identity":"x"}}"#);
    let f = |require: Require| {
        figure(vec![Step::new(
            "1",
            ("AS", "STI-AS"),
            "sign",
            vec![
                hop(&["a"], &["c"], http("POST", "/stir/v1/signing")).with(require),
                hop(&["c"], &["a"], http_response("POST", "/stir/v1/signing"))
                    .with(Require::AnswersPrevious)
                    .with(Require::Status(200)),
            ],
        )])
    };
    assert_eq!(
        statuses(&f(Require::Json("/signingRequest/rcd")), &t),
        ["seen"]
    );
    assert_eq!(
        statuses(&f(Require::JsonIs("/signingRequest/attest", "A")), &t),
        ["seen"]
    );
    assert_eq!(
        statuses(&f(Require::JsonIs("/signingRequest/attest", "B")), &t),
        ["missing"]
    );
    assert_eq!(
        statuses(&f(Require::NoJson("/signingRequest/rcd")), &t),
        ["missing"]
    );
}

#[test]
fn steps_not_taken_or_prevented_must_be_absent_and_do_not_move_the_cursor() {
    let t = tap();
    sip(&t, "a", INVITE);
    sip(&t, "b", OK);
    let f = figure(vec![
        Step::new(
            "0",
            ("X", "Y"),
            "sign",
            vec![act(&["b"], Act::SignPassport)],
        )
        .not_taken("option B"),
        Step::new(
            "1",
            ("A", "B"),
            "invite",
            vec![hop(&["a"], &["b"], invite())],
        ),
        Step::new(
            "2",
            ("B", "B"),
            "sign",
            vec![act(&["b"], Act::SignPassport)],
        )
        .prevented_by("1"),
        Step::new(
            "3",
            ("B", "A"),
            "ok",
            vec![hop(&["b"], &["a"], invite_response(200, 299))],
        ),
    ]);
    assert_eq!(statuses(&f, &t), ["n/a", "seen", "prevented", "seen"]);
    let results = match_steps(&f, &t.ordered());
    assert!(results.iter().all(StepResult::ok));
    assert_eq!(results.iter().filter(|r| r.counted()).count(), 2);

    // A prevented step that happens after all is a failure, and shows where.
    t.note("b", None, Note::done(Act::SignPassport, "sign"));
    let results = match_steps(&f, &t.ordered());
    assert!(matches!(results[2].status, Status::Happened { .. }));
    assert!(!results[2].ok());
    assert!(matches!(results[0].status, Status::Happened { .. }));
}

#[test]
fn the_harness_never_satisfies_a_step() {
    let t = tap();
    t.note(
        crate::node::TESTBED,
        None,
        Note::done(Act::SignPassport, "sign"),
    );
    let f = figure(vec![Step::new(
        "1",
        ("B", "B"),
        "sign",
        vec![act(&["b", crate::node::TESTBED], Act::SignPassport)],
    )]);
    assert_eq!(statuses(&f, &t), ["missing"]);
}

/// A data channel message from `from` (`a` at port 1, `b` at port 2) on `stream`.
fn dc_message(tap: &Tap, from: &str, stream: u16, raw: &str) {
    let (src, dst, to) = if from == "a" {
        (addr(1), addr(2), "b")
    } else {
        (addr(2), addr(1), "a")
    };
    let m = Message::dc(
        src,
        dst,
        "DC message".into(),
        raw.into(),
        stream,
        raw.as_bytes(),
    );
    tap.sent(from, m.clone());
    tap.received(to, m);
}

#[test]
fn data_channel_messages_match_on_stream_type_and_http() {
    let tap = tap();
    dc_message(
        &tap,
        "a",
        0,
        "POST /xr/v1/avatar HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 27\r\n\r\n{\"avatar_id\":\"qbranch-cat\"}",
    );
    dc_message(
        &tap,
        "b",
        0,
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\r\n{\"reason\":\"not-entitled\",\"detail\":\"x\"}",
    );
    dc_message(
        &tap,
        "a",
        1100,
        "{\n  \"type\": \"avatar-token\",\n  \"token\": \"a.b.c\"\n}",
    );
    let step = |hops| Step::new("1", ("UE", "MF"), "x", hops);
    let selection = hop(&["a"], &["b"], dc_http("POST", "/xr/v1/"))
        .with(Require::JsonIs("/avatar_id", "qbranch-cat"));
    let refusal = hop(&["b"], &["a"], Expect::DcHttpResponse)
        .with(Require::AnswersPrevious)
        .with(Require::Status(403))
        .with(Require::JsonIs("/reason", "not-entitled"));
    let token = hop(&["a"], &["b"], dc(1100, "avatar-token")).with(Require::Json("/token"));
    let good = figure(vec![
        step(vec![selection.clone(), refusal.clone()]),
        step(vec![token]),
    ]);
    assert_eq!(statuses(&good, &tap), ["seen", "seen"]);
    // Another stream, another type, another status: not these messages.
    let wrong_stream = figure(vec![step(vec![hop(
        &["a"],
        &["b"],
        dc(1000, "avatar-token"),
    )])]);
    let wrong_type = figure(vec![step(vec![hop(
        &["a"],
        &["b"],
        dc(1100, "facial-points"),
    )])]);
    let wrong_status = figure(vec![step(vec![
        selection,
        hop(&["b"], &["a"], Expect::DcHttpResponse).with(Require::Status(200)),
    ])]);
    for f in [wrong_stream, wrong_type, wrong_status] {
        assert_eq!(statuses(&f, &tap), ["missing"]);
    }
}

/// A JWS is matched on what it carries: the claims of a token note, and the claims of a
/// compact JWS inside a message's JSON body; a token for another avatar does not match.
#[test]
fn tokens_match_on_their_claims() {
    let tap = tap();
    let claims = serde_json::json!({"avatar_id": "qbranch-cat", "call_id": "c1"});
    let payload = stir::jose::b64u(claims.to_string().as_bytes());
    let header = stir::jose::b64u(br#"{"alg":"ES256","typ":"avatar+jwt"}"#);
    tap.note(
        "a",
        None,
        Note::Token {
            label: "sign".into(),
            header: serde_json::json!({"alg": "ES256", "typ": "avatar+jwt"}),
            claims: claims.clone(),
        },
    );
    dc_message(
        &tap,
        "a",
        1100,
        &format!("{{\"type\":\"avatar-token\",\"token\":\"{header}.{payload}.sig\"}}"),
    );
    let step = |hops| Step::new("1", ("UE", "MF"), "x", hops);
    let seen = |avatar: &'static str| {
        figure(vec![step(vec![
            jws(&["a"], "avatar+jwt").with(Require::JsonIs("/avatar_id", avatar)),
            hop(&["a"], &["b"], dc(1100, "avatar-token")).with(jws_claim(
                "/token",
                "/avatar_id",
                avatar,
            )),
        ])])
    };
    assert_eq!(statuses(&seen("qbranch-cat"), &tap), ["seen"]);
    assert_eq!(statuses(&seen("qbranch-agent"), &tap), ["missing"]);
    // The claim carried in the message alone decides the message hop.
    let message_only = figure(vec![step(vec![
        hop(&["a"], &["b"], dc(1100, "avatar-token")).with(jws_claim(
            "/token",
            "/avatar_id",
            "qbranch-agent",
        )),
    ])]);
    assert_eq!(statuses(&message_only, &tap), ["missing"]);
    let other_typ = figure(vec![step(vec![jws(&["a"], "avatar-attestation+jwt")])]);
    assert_eq!(statuses(&other_typ, &tap), ["missing"]);
}
