//! SIP messages as the endpoint receives them (kit/src/sip/transport/receive.rs): stream framing
//! by Content-Length (`take_frame`), the parser (`SipMessage::try_from`, rsipstack's fixed rsip),
//! the trace summaries, the last-resort `400` for unparsable bytes, the request checks and
//! transaction keys, the Via stamp, proxy forwarding, and the name-addr helpers every node uses
//! on From/To/P-Asserted-Identity.
//!
//! Properties: nothing panics; a message that parsed and passed `check_request` still parses
//! after it is encoded, stamped and forwarded (what a proxy sends, the next hop must read); a
//! name-addr parsed from a header renders back to itself; a name-addr with any display name
//! renders to text that parses back to the same display name and URI.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use proto::sip::wire::{self, Frame};
use proto::sip::{SipMessage, SipTransport, proxy, transaction, ua};
use proto::sipmsg::{self, NameAddr};

const ME: &str = "scscf.ims.mnc001.mcc001.3gppnetwork.org";

fuzz_target!(|data: &[u8]| {
    let _ = wire::garbage_summary(data);
    // A datagram: the whole input is one message.
    on_bytes(data);
    // A stream: frame it as the TCP reader does.
    let mut buf = data.to_vec();
    for _ in 0..16 {
        match wire::take_frame(&mut buf) {
            Frame::Message(message) => on_bytes(&message),
            Frame::TooLarge(_) => {
                let _ = wire::salvage_too_large(&buf, "fuzz");
                break;
            }
            Frame::Incomplete | Frame::Broken(_) => break,
        }
    }
});

fn on_bytes(bytes: &[u8]) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let source: SocketAddr = ([192, 0, 2, 7], 5062).into();
    let my_addr: SocketAddr = ([127, 0, 0, 1], 5060).into();
    let _ = wire::too_large(bytes);
    let _ = wire::trim_datagram(bytes);
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let _ = proto::sip::syntax::request_line_fault(&String::from_utf8_lossy(first));
    match SipMessage::try_from(bytes) {
        Err(e) => {
            let _ = wire::salvage_reply(bytes, &e.to_string());
        }
        Ok(SipMessage::Request(mut request)) => {
            let _ = proxy::check_forwardable(&request);
            let _ = proxy::loop_invariants(&request);
            let _ = proxy::passed_through(&request, ME);
            let _ = wire::request_summary(&request);
            headers(&request.headers);
            let _ = transaction::server_key(&request);
            let _ = transaction::ack_key(&request);
            let _ = proxy::via_values(&request);
            let stamped = wire::stamp_received(&mut request, source);
            let checked = proxy::check_request(&request);
            let _ = proxy::response_to(&request, 400, "Bad Request (fuzz)", Some("fuzztag"));
            if stamped.is_err() || checked.is_err() {
                return;
            }
            let _ = wire::top_via(&request).map(|v| wire::via_target(&v));
            let _ = ua::cancel_for(&request);
            let encoded = wire::encode_request(&request);
            let reparsed = SipMessage::try_from(encoded.as_slice());
            assert!(
                matches!(reparsed, Ok(SipMessage::Request(_))),
                "an accepted request, stamped and encoded, no longer parses: {reparsed:?}\n{}",
                String::from_utf8_lossy(&encoded)
            );
            if let Ok(forward) = proxy::prepare_forward(
                &request,
                ME,
                my_addr,
                SipTransport::Udp,
                "z9hG4bKfuzz",
                true,
            ) {
                let encoded = wire::encode_request(&forward);
                let reparsed = SipMessage::try_from(encoded.as_slice());
                assert!(
                    matches!(reparsed, Ok(SipMessage::Request(_))),
                    "a forwarded request no longer parses: {reparsed:?}\n{}",
                    String::from_utf8_lossy(&encoded)
                );
            }
        }
        Ok(SipMessage::Response(response)) => {
            let _ = wire::response_summary(&response);
            headers(&response.headers);
            let _ = transaction::response_key(&response, ME);
            let _ = proxy::cseq_method(&response);
            let _ = wire::top_via(&response).map(|v| wire::via_target(&v));
            let _ = wire::encode_response(&response);
            if let Some(forward) = proxy::prepare_response_forward(&response) {
                let _ = wire::encode_response(&forward);
            }
        }
    }
}

/// The header helpers: lists, name-addrs, auth params, URIs.
fn headers(headers: &sipmsg::Headers) {
    let _ = sipmsg::route_uris(headers);
    for header in headers.iter() {
        let value = header.value();
        let _ = sipmsg::auth_params(value);
        for item in sipmsg::split_list(value) {
            let _ = sipmsg::uri_host(item);
            let _ = sipmsg::uri_has_param(item, "lr");
            // (A URI with `<` or `>` in it is not a URI; the helper does not promise to keep it.)
            if let Some(parsed) = NameAddr::parse(item).filter(|p| !p.uri.contains(['<', '>'])) {
                let _ = parsed.tn();
                let _ = parsed.uri_param("verstat");
                let again = NameAddr::parse(&parsed.render());
                assert_eq!(
                    again.as_ref(),
                    Some(&parsed),
                    "name-addr {item:?} renders as {:?}",
                    parsed.render()
                );
            }
        }
        display_name(value);
    }
}

/// A display name taken from elsewhere (the IMS AS puts an avatar's or a name card's name there)
/// must not change the URI the header names.
fn display_name(display: &str) {
    let name_addr = NameAddr {
        display: Some(display.to_owned()),
        uri: "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org;user=phone".to_owned(),
        params: String::new(),
    };
    let rendered = name_addr.render();
    let parsed = NameAddr::parse(&rendered);
    let uri = parsed.as_ref().map(|p| p.uri.as_str());
    assert_eq!(
        uri,
        Some(name_addr.uri.as_str()),
        "display name {display:?} renders as {rendered:?}, which names another URI"
    );
}
