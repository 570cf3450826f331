//! Mangled messages through every pure SIP function: none may panic on network input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use rsipstack::sip::{Request, SipMessage};

use super::transaction::{ack_for_failure, ack_key, response_key, server_key};
use super::{SipTransport, proxy, ua, wire};
use crate::clock::Rng;

const SAMPLES: [&str; 3] = [
    "INVITE sip:+12155551001@b.test;user=phone SIP/2.0\r\n\
     Via: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP p.test;branch=z9hG4bK2\r\n\
     Route: <sip:p.test;lr>, <sip:q.test;lr>\r\nMax-Forwards: 70\r\n\
     From: \"A\" <sip:alice@a.test>;tag=a1\r\nTo: <tel:+12155551001>\r\nCall-ID: c1@a.test\r\n\
     CSeq: 1 INVITE\r\nContact: <sip:alice@a.test>\r\nContent-Length: 4\r\n\r\nv=0\n",
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1;received=127.0.0.1\r\n\
     Record-Route: <sip:p.test;lr>\r\nFrom: <sip:alice@a.test>;tag=a1\r\n\
     To: <sip:bob@b.test>;tag=b1\r\nCall-ID: c1@a.test\r\nCSeq: 1 INVITE\r\n\
     Contact: <sip:bob@b.test>\r\nContent-Length: 0\r\n\r\n",
    "ACK sip:bob@b.test SIP/2.0\r\nv: SIP/2.0/TCP a.test;branch=z9hG4bK3\r\nf: <sip:a@a.test>;tag=1\r\n\
     t: <sip:b@b.test>;tag=2\r\ni: x\r\nCSeq: 1 ACK\r\nl: 0\r\n\r\n",
];

fn exercise(bytes: &[u8], invite: &Request) {
    let addr = SocketAddr::from(([127, 0, 0, 1], 5060));
    let _ = wire::salvage_reply(bytes, "x");
    let _ = wire::garbage_summary(bytes);
    let mut buf = bytes.to_vec();
    let _ = wire::take_frame(&mut buf);
    match SipMessage::try_from(bytes) {
        Ok(SipMessage::Request(mut r)) => {
            let _ = proxy::check_request(&r);
            let _ = wire::stamp_received(&mut r, addr);
            let _ = server_key(&r);
            let _ = ack_key(&r);
            let _ = wire::request_summary(&r);
            let _ = wire::encode_request(&r);
            let _ = proxy::via_values(&r);
            let _ = proxy::response_to(&r, 400, "Bad Request (x)", Some("t"));
            let _ = proxy::prepare_forward(&r, "p.test", addr, SipTransport::Udp, "z9hG4bK2", true);
            let _ = ua::cancel_for(&r);
            let _ = ua::cancels(&r, invite);
        }
        Ok(SipMessage::Response(r)) => {
            let _ = response_key(&r, "a.test");
            let _ = wire::response_summary(&r);
            let _ = wire::encode_response(&r);
            let _ = proxy::prepare_response_forward(&r);
            let _ = wire::top_via(&r).map(|v| wire::via_target(&v));
            let _ = ua::ack_for_2xx(invite, &r);
            let _ = ack_for_failure(invite, &r);
        }
        Err(_) => {}
    }
}

#[test]
fn mangled_input_never_panics() {
    let invite = match SipMessage::try_from(SAMPLES[0]) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("{other:?}"),
    };
    let mut rng = Rng::for_node(1, "fuzz");
    let mut n = |m: usize| (rng.u32() as usize) % m.max(1);
    const NOISE: &[u8] = b":;,<>\"=@ \r\n\t/[]?&%";
    for sample in SAMPLES {
        exercise(sample.as_bytes(), &invite);
        for _ in 0..4000 {
            let mut bytes = sample.as_bytes().to_vec();
            for _ in 0..1 + n(6) {
                let i = n(bytes.len());
                match n(5) {
                    0 if i < bytes.len() => bytes[i] = n(256) as u8,
                    1 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    2 => bytes.insert(i, NOISE[n(NOISE.len())]),
                    3 => bytes.truncate(i),
                    _ => {
                        let j = n(bytes.len());
                        let chunk: Vec<u8> = bytes[j..].iter().take(n(20)).copied().collect();
                        let at = i.min(bytes.len());
                        bytes.splice(at..at, chunk);
                    }
                }
            }
            exercise(&bytes, &invite);
        }
    }
}
