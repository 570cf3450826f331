//! Pure helpers for proxies and for answering requests, no sockets: request validation
//! (RFC 3261 §16.3, §8.2), forwarding a request (§16.6: Max-Forwards, loop check, Route
//! pop, Record-Route, Via), forwarding a response (§16.7 step 3), and building a response
//! to a request (§8.2.6).

use std::net::SocketAddr;

use rsipstack::sip::headers::untyped::ToTypedHeader as _;
use rsipstack::sip::typed;
use rsipstack::sip::{
    Header, HeadersExt as _, Host, Method, Request, Response, Scheme, StatusCode, Version,
};

use super::wire;
use crate::sip::SipTransport;

/// A response to `req` (§8.2.6.2): its Via headers, From, To (with `to_tag` added when given
/// and To has none), Call-ID and CSeq, `Content-Length: 0`; for 101–299, the request's
/// Record-Route too (§12.1.1). `reason` goes on the wire as the reason phrase.
pub fn response_to(req: &Request, code: u16, reason: &str, to_tag: Option<&str>) -> Response {
    let mut headers = Vec::new();
    for header in req.headers.iter() {
        let keep = match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => true,
            Header::RecordRoute(_) => (101..300).contains(&code),
            Header::To(to) => {
                let mut to = to.clone();
                if let Some(tag) = to_tag
                    && matches!(to.tag(), Ok(None))
                {
                    to = to.with_tag(tag.into());
                }
                headers.push(Header::To(to));
                false
            }
            _ => false,
        };
        if keep {
            headers.push(header.clone());
        }
    }
    headers.push(Header::ContentLength(0.into()));
    let status_code = StatusCode::try_from((code, reason)).unwrap_or_else(|_| code.into());
    let reason = wire::one_line(reason);
    let wire_reason = (!reason.is_empty() && reason != status_code.text()).then_some(reason);
    Response {
        status_code,
        wire_reason,
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

/// Checks what a transaction needs of a request (§8.2, §16.3): Via, From, To, Call-ID and
/// CSeq present and parseable, CSeq method equal to the request method, Max-Forwards and
/// Content-Length numeric, Content-Length equal to the body, SIP/2.0, a sip/sips/tel
/// Request-URI. `Err` holds the status code and a reason phrase saying what is wrong.
pub fn check_request(req: &Request) -> Result<(), (u16, String)> {
    let bad = |what: &str| Err((400, format!("Bad Request ({what})")));
    if req.version != Version::V2 {
        return Err((505, "Version Not Supported".into()));
    }
    match req.top_via_header() {
        Err(_) => return bad("missing Via header"),
        Ok(via) => {
            let via = match via.typed() {
                Ok(v) => v,
                Err(_) => return bad("malformed Via header"),
            };
            if wire::sip_transport(via.transport).is_err() {
                return bad("unsupported Via transport");
            }
        }
    }
    match req.from_header() {
        Err(_) => return bad("missing From header"),
        Ok(h) if h.typed().is_err() => return bad("malformed From header"),
        Ok(_) => {}
    }
    match req.to_header() {
        Err(_) => return bad("missing To header"),
        Ok(h) if h.typed().is_err() => return bad("malformed To header"),
        Ok(_) => {}
    }
    match req.call_id_header() {
        Err(_) => return bad("missing Call-ID header"),
        Ok(h) if h.value().trim().is_empty() => return bad("empty Call-ID header"),
        Ok(_) => {}
    }
    match req.cseq_header() {
        Err(_) => return bad("missing CSeq header"),
        Ok(h) => match h.typed() {
            Err(_) => return bad("malformed CSeq header"),
            Ok(cseq) if cseq.method != req.method => {
                return bad("CSeq method does not match the request method");
            }
            Ok(_) => {}
        },
    }
    if let Ok(mf) = req.max_forwards_header()
        && mf.value().trim().parse::<u8>().is_err()
    {
        return bad("malformed Max-Forwards header");
    }
    for header in req.headers.iter() {
        if let Header::ContentLength(cl) = header {
            match cl.value().trim().parse::<usize>() {
                Err(_) => return bad("malformed Content-Length header"),
                Ok(n) if n != req.body.len() => {
                    return bad("Content-Length does not match the body");
                }
                Ok(_) => {}
            }
        }
    }
    match &req.uri.scheme {
        Some(Scheme::Sip | Scheme::Sips) => {}
        Some(Scheme::Other(s)) if s.eq_ignore_ascii_case("tel") => {}
        _ => return Err((416, "Unsupported URI Scheme".into())),
    }
    Ok(())
}

/// Prepares the copy of `req` a proxy forwards (§16.6): Max-Forwards (missing → 70, 0 →
/// `Err(483)`, else decremented); loop check (a Via with host `me` and this `branch` →
/// `Err(482)`, §16.3 step 4); a top Route naming `me` is removed (§16.4); with
/// `record_route`, `Record-Route: <sip:me;lr>` on top (§16.6 step 4); then our Via on top,
/// `SIP/2.0/<transport> me:<port of my_addr>;branch=<branch>` (step 8). The endpoint rewrites
/// the Via transport if it ends up sending over another one (§18.1.1).
pub fn prepare_forward(
    req: &Request,
    me: &str,
    my_addr: SocketAddr,
    transport: SipTransport,
    branch: &str,
    record_route: bool,
) -> Result<Request, Response> {
    let mut out = req.clone();
    let max_forwards = match req.max_forwards_header() {
        Err(_) => 70,
        Ok(h) => match h.value().trim().parse::<u32>() {
            Err(_) => {
                return Err(response_to(
                    req,
                    400,
                    "Bad Request (malformed Max-Forwards header)",
                    None,
                ));
            }
            Ok(0) => return Err(response_to(req, 483, "Too Many Hops", None)),
            Ok(n) => n - 1,
        },
    };
    let mf = Header::MaxForwards(max_forwards.into());
    match out
        .headers
        .0
        .iter()
        .position(|h| matches!(h, Header::MaxForwards(_)))
    {
        Some(i) => out.headers.0[i] = mf,
        None => {
            let at = after_last(&out, |h| matches!(h, Header::Via(_)));
            out.headers.0.insert(at, mf);
        }
    }

    let looped = via_values(req).iter().any(|via| {
        host_is(&via.uri.host_with_port.host, me)
            && via.branch().is_some_and(|b| b.value() == branch)
    });
    if looped {
        return Err(response_to(req, 482, "Loop Detected", None));
    }

    if let Ok(routes) = req.typed_route_headers()
        && routes
            .first()
            .is_some_and(|r| uri_is_me(&r.uri, me, my_addr))
    {
        pop_first_route(&mut out);
    }

    if record_route {
        let rr = Header::RecordRoute(format!("<sip:{me};lr>").into());
        let at = out
            .headers
            .iter()
            .position(|h| matches!(h, Header::RecordRoute(_)))
            .unwrap_or_else(|| after_last(&out, |h| matches!(h, Header::Via(_))));
        out.headers.0.insert(at, rr);
    }

    let via = Header::Via(
        format!(
            "SIP/2.0/{} {me}:{};branch={branch}",
            transport.via_name(),
            my_addr.port()
        )
        .into(),
    );
    let at = out
        .headers
        .iter()
        .position(|h| matches!(h, Header::Via(_)))
        .unwrap_or(0);
    out.headers.0.insert(at, via);
    Ok(out)
}

/// The response a proxy passes upstream (§16.7 step 3): without the top Via (ours). `None`
/// when no Via remains — the response was for this element.
pub fn prepare_response_forward(resp: &Response) -> Option<Response> {
    let mut out = resp.clone();
    let index = out
        .headers
        .iter()
        .position(|h| matches!(h, Header::Via(_)))?;
    let rest = match &out.headers.0[index] {
        Header::Via(via) => split_top_level(via.value(), false)
            .into_iter()
            .skip(1)
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    if rest.is_empty() {
        out.headers.0.remove(index);
    } else {
        out.headers.0[index] = Header::Via(rest.join(", ").into());
    }
    let more = out.headers.iter().any(|h| matches!(h, Header::Via(_)));
    more.then_some(out)
}

/// Every Via value of a message, top first (values joined by commas included), parsed; values
/// that do not parse are skipped.
pub fn via_values(req: &Request) -> Vec<typed::Via> {
    req.headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(v) => Some(v.value()),
            _ => None,
        })
        .flat_map(|value| split_top_level(value, false))
        .filter_map(|v| typed::Via::parse(&v).ok())
        .collect()
}

/// Whether a URI names this element: host `me`, or its own address.
fn uri_is_me(uri: &rsipstack::sip::Uri, me: &str, my_addr: SocketAddr) -> bool {
    match &uri.host_with_port.host {
        Host::Domain(_) => host_is(&uri.host_with_port.host, me),
        Host::IpAddr(ip) => {
            *ip == my_addr.ip()
                && uri
                    .host_with_port
                    .port
                    .as_ref()
                    .is_none_or(|p| p.0 == my_addr.port())
        }
    }
}

fn host_is(host: &Host, name: &str) -> bool {
    match host {
        Host::Domain(d) => d.0.eq_ignore_ascii_case(name),
        Host::IpAddr(ip) => ip.to_string() == name,
    }
}

/// Removes the first Route value (the first Route header, or its first comma-separated value).
fn pop_first_route(req: &mut Request) {
    let Some(index) = req
        .headers
        .iter()
        .position(|h| matches!(h, Header::Route(_)))
    else {
        return;
    };
    let rest = match &req.headers.0[index] {
        Header::Route(r) => split_top_level(r.value(), true)
            .into_iter()
            .skip(1)
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    if rest.is_empty() {
        req.headers.0.remove(index);
    } else {
        req.headers.0[index] = Header::Route(rest.join(", ").into());
    }
}

/// Index just after the last header matching `pred` (0 if none does).
fn after_last(req: &Request, pred: impl Fn(&Header) -> bool) -> usize {
    req.headers.0.iter().rposition(pred).map_or(0, |i| i + 1)
}

/// Splits a header value at commas outside quotes (and, with `angles`, outside `<…>`).
pub fn split_top_level(value: &str, angles: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped, mut depth) = (false, false, 0usize);
    for c in value.chars() {
        if escaped {
            escaped = false;
            current.push(c);
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if angles && !quoted => depth += 1,
            '>' if angles && !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                let v = current.trim().to_owned();
                if !v.is_empty() {
                    out.push(v);
                }
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    let v = current.trim().to_owned();
    if !v.is_empty() {
        out.push(v);
    }
    out
}

/// The CSeq method of a response, if it has a parseable CSeq.
pub fn cseq_method(resp: &Response) -> Option<Method> {
    resp.cseq_header().ok()?.method().ok()
}

#[cfg(test)]
mod tests {
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
        let req = invite(
            "Max-Forwards: 70\r\nRoute: <sip:pcscf.ims.test;lr>, <sip:scscf.ims.test;lr>\r\n",
        );
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
        let err =
            prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp1", true).unwrap_err();
        assert_eq!(err.status_code.code(), 483);
        assert_eq!(wire::reason_phrase(&err), "Too Many Hops");
        let req =
            invite("Via: SIP/2.0/UDP pcscf.ims.test:5070;branch=z9hG4bKp1\r\nMax-Forwards: 9\r\n");
        let err =
            prepare_forward(&req, ME, addr(), SipTransport::Udp, "z9hG4bKp1", true).unwrap_err();
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
        let req = invite(
            "Via: SIP/2.0/UDP p.test;branch=z9hG4bKx, SIP/2.0/UDP q.test;branch=z9hG4bKy\r\n",
        );
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
}
