//! Forwarding, loop detection, response forwarding and request checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

const ME: &str = "pcscf.ims.test";

fn addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5070))
}

fn invite(extra: &str) -> Request {
    let text = format!(
        "INVITE sip:bob@b.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP ue.test:5060;branch=z9hG4bKue1;received=127.0.0.1\r\n\
         {extra}\
         From: <sip:alice@a.test>;tag=a1\r\n\
         To: <sip:bob@b.test>\r\n\
         Call-ID: c1@ue.test\r\n\
         CSeq: 1 INVITE\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::try_from(text.as_str()).expect("test request parses")
}

fn header_lines<M: rsipstack::sip::HasHeaders>(message: &M) -> Vec<String> {
    message.headers().iter().map(|h| h.to_string()).collect()
}

#[test]
fn forward_sets_via_record_route_max_forwards_and_pops_own_route() {
    let req =
        invite("Max-Forwards: 70\r\nRoute: <sip:pcscf.ims.test;lr>, <sip:scscf.ims.test;lr>\r\n");
    let out = prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp1", true)
        .expect("forwardable");
    assert_eq!(
        header_lines(&out)[..5],
        [
            "Via: SIP/2.0/UDP pcscf.ims.test:5070;branch=z9hG4bKp1",
            "Via: SIP/2.0/UDP ue.test:5060;branch=z9hG4bKue1;received=127.0.0.1",
            "Record-Route: <sip:pcscf.ims.test;lr>",
            "Max-Forwards: 69",
            "Route: <sip:scscf.ims.test;lr>",
        ]
    );
    // A Route that is not us stays; a missing Max-Forwards becomes 70.
    let req = invite("Route: <sip:scscf.ims.test;lr>\r\n");
    let out = prepare_forward(&req, ME, addr(), SipTransport::Tcp, "z9hG4bKp2", false).unwrap();
    let lines = header_lines(&out);
    assert_eq!(
        lines[0],
        "Via: SIP/2.0/TCP pcscf.ims.test:5070;branch=z9hG4bKp2"
    );
    assert!(lines.contains(&"Max-Forwards: 70".to_owned()));
    assert!(lines.contains(&"Route: <sip:scscf.ims.test;lr>".to_owned()));
    assert!(!lines.iter().any(|l| l.starts_with("Record-Route")));
}

#[test]
fn forward_refuses_exhausted_hops_and_loops() {
    let req = invite("Max-Forwards: 0\r\n");
    let err = prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp1", true).unwrap_err();
    assert_eq!(err.status_code.code(), 483);
    assert_eq!(wire::reason_phrase(&err), "Too Many Hops");
    let req =
        invite("Via: SIP/2.0/UDP pcscf.ims.test:5070;branch=z9hG4bKp1\r\nMax-Forwards: 9\r\n");
    let err = prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp1", true).unwrap_err();
    assert_eq!(err.status_code.code(), 482);
    // The same host with another branch is a spiral, not a loop.
    assert!(prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp2", true).is_ok());
}

fn via_values_of(resp: &Response) -> Vec<String> {
    resp.headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn response_forward_pops_the_top_via_only() {
    let req =
        invite("Via: SIP/2.0/UDP p.test;branch=z9hG4bKx, SIP/2.0/UDP q.test;branch=z9hG4bKy\r\n");
    let resp = response_to(&req, 180, "Ringing", Some("b1"));
    let up = prepare_response_forward(&resp).unwrap();
    let vias: Vec<String> = up
        .headers
        .iter()
        .filter(|h| matches!(h, Header::Via(_)))
        .map(|h| h.to_string())
        .collect();
    assert_eq!(
        vias,
        ["Via: SIP/2.0/UDP p.test;branch=z9hG4bKx, SIP/2.0/UDP q.test;branch=z9hG4bKy"]
    );
    let last = prepare_response_forward(&up).unwrap();
    assert_eq!(via_values_of(&last), ["SIP/2.0/UDP q.test;branch=z9hG4bKy"]);
    assert!(prepare_response_forward(&last).is_none());
}

#[test]
fn response_to_copies_the_transaction_headers() {
    let req = invite("Record-Route: <sip:p.test;lr>\r\nContact: <sip:alice@ue.test>\r\n");
    let resp = response_to(&req, 180, "Ringing", Some("b1"));
    assert_eq!(
        header_lines(&resp),
        [
            "Via: SIP/2.0/UDP ue.test:5060;branch=z9hG4bKue1;received=127.0.0.1",
            "Record-Route: <sip:p.test;lr>",
            "From: <sip:alice@a.test>;tag=a1",
            "To: <sip:bob@b.test>;tag=b1",
            "Call-ID: c1@ue.test",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        ]
    );
    assert_eq!(resp.wire_reason, None);
    let resp = response_to(&req, 486, "Busy Here", None);
    assert!(
        !header_lines(&resp)
            .iter()
            .any(|l| l.starts_with("Record-Route"))
    );
    let odd = response_to(&req, 400, "Bad Request (missing Call-ID header)", None);
    assert_eq!(
        wire::encode_response(&odd)
            .split(|b| *b == b'\r')
            .next()
            .unwrap(),
        b"SIP/2.0 400 Bad Request (missing Call-ID header)"
    );
}

#[test]
fn check_request_names_what_is_wrong() {
    assert_eq!(check_request(&invite("")), Ok(()));
    let no_call_id = Request::try_from(
        "OPTIONS sip:b@b.test SIP/2.0\r\nVia: SIP/2.0/UDP a.test;branch=z9hG4bK1\r\n\
         From: <sip:a@a.test>;tag=1\r\nTo: <sip:b@b.test>\r\nCSeq: 1 OPTIONS\r\n\r\n",
    )
    .unwrap();
    assert_eq!(
        check_request(&no_call_id),
        Err((400, "Bad Request (missing Call-ID header)".into()))
    );
    let wrong_cseq = Request::try_from(
        "BYE sip:b@b.test SIP/2.0\r\nVia: SIP/2.0/UDP a.test;branch=z9hG4bK1\r\n\
         From: <sip:a@a.test>;tag=1\r\nTo: <sip:b@b.test>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
    )
    .unwrap();
    assert_eq!(check_request(&wrong_cseq).unwrap_err().0, 400);
    let no_via = Request::try_from(
        "BYE sip:b@b.test SIP/2.0\r\nFrom: <sip:a@a.test>;tag=1\r\nTo: <sip:b@b.test>\r\n\
         Call-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
    )
    .unwrap();
    assert_eq!(
        check_request(&no_via),
        Err((400, "Bad Request (missing Via header)".into()))
    );
    let mailto = Request::try_from(
        "BYE mailto:b@b.test SIP/2.0\r\nVia: SIP/2.0/UDP a.test;branch=z9hG4bK1\r\n\
         From: <sip:a@a.test>;tag=1\r\nTo: <sip:b@b.test>\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
    )
    .unwrap();
    assert_eq!(check_request(&mailto).unwrap_err().0, 416);
}

#[test]
fn forward_refuses_a_malformed_max_forwards_before_the_loop_check() {
    let req =
        invite("Via: SIP/2.0/UDP pcscf.ims.test:5070;branch=z9hG4bKp1\r\nMax-Forwards: many\r\n");
    let err = prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp1", true).unwrap_err();
    assert_eq!(err.status_code.code(), 400);
    assert_eq!(
        wire::reason_phrase(&err),
        "Bad Request (malformed Max-Forwards header)"
    );
}
