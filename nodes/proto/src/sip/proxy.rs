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
        Ok(h) => {
            if let Some(fault) = super::syntax::name_addr_fault(h.value()) {
                return bad(&format!("malformed From header: {fault}"));
            }
        }
    }
    match req.to_header() {
        Err(_) => return bad("missing To header"),
        Ok(h) if h.typed().is_err() => return bad("malformed To header"),
        Ok(h) => {
            if let Some(fault) = super::syntax::name_addr_fault(h.value()) {
                return bad(&format!("malformed To header: {fault}"));
            }
        }
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
    if let Some(name) = duplicate_single_header(req) {
        return bad(&format!("more than one {name} header"));
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
    if matches!(&req.uri.scheme, Some(Scheme::Sip | Scheme::Sips))
        && req.uri.host_with_port.host.to_string().trim().is_empty()
    {
        return bad("Request-URI without a host");
    }
    match &req.uri.scheme {
        Some(Scheme::Sip | Scheme::Sips) => {}
        Some(Scheme::Other(s)) if s.eq_ignore_ascii_case("tel") => {}
        _ => return Err((416, "Unsupported URI Scheme".into())),
    }
    Ok(())
}

/// The first header of those a request carries once (RFC 3261 §7.3.1: From, To, Call-ID,
/// CSeq, Max-Forwards, Content-Length, Content-Type) that it carries more than once, if any.
fn duplicate_single_header(req: &Request) -> Option<&'static str> {
    const SINGLE: [&str; 7] = [
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
    ];
    let mut seen = [0u8; SINGLE.len()];
    for header in req.headers.iter() {
        let i = match header {
            Header::From(_) => 0,
            Header::To(_) => 1,
            Header::CallId(_) => 2,
            Header::CSeq(_) => 3,
            Header::MaxForwards(_) => 4,
            Header::ContentLength(_) => 5,
            Header::ContentType(_) => 6,
            _ => continue,
        };
        seen[i] += 1;
        if seen[i] > 1 {
            return Some(SINGLE[i]);
        }
    }
    None
}

/// What a proxy checks of a request before anything else it does with it (§16.3 steps 3 and
/// 5): Max-Forwards (0 → `483 Too Many Hops`, malformed → 400) and Proxy-Require (any option
/// tag → `420 Bad Extension` with `Unsupported` naming them: this proxy supports none). `Err`
/// holds the answer.
pub fn check_forwardable(req: &Request) -> Result<(), Response> {
    next_max_forwards(req)?;
    let required = option_tags(req, true);
    if required.is_empty() {
        return Ok(());
    }
    Err(bad_extension(req, &required, "Proxy-Require"))
}

/// The option tags `req` lists in Proxy-Require (`proxy`) or Require, in order.
pub fn option_tags(req: &Request, proxy: bool) -> Vec<String> {
    req.headers
        .iter()
        .filter_map(|h| match h {
            Header::ProxyRequire(v) if proxy => Some(v.value()),
            Header::Require(v) if !proxy => Some(v.value()),
            _ => None,
        })
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `420 Bad Extension` for `req`, with `Unsupported` listing `tags` (§8.2.2.3, §16.3 step 5);
/// the reason phrase names the header that asked for them.
pub fn bad_extension(req: &Request, tags: &[String], header: &str) -> Response {
    let list = tags.join(", ");
    let mut answer = response_to(
        req,
        420,
        &format!("Bad Extension ({header}: {list} not supported)"),
        None,
    );
    let at = answer.headers.len().saturating_sub(1);
    answer
        .headers
        .0
        .insert(at, Header::Unsupported(list.into()));
    answer
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
    let max_forwards = next_max_forwards(req)?;
    check_forwardable(req)?;
    if looped(req, me, branch) {
        return Err(response_to(req, 482, "Loop Detected", None));
    }
    let mut out = req.clone();
    set_max_forwards(&mut out, max_forwards);
    if let Ok(routes) = req.typed_route_headers()
        && routes
            .first()
            .is_some_and(|r| uri_is_me(&r.uri, me, my_addr))
    {
        pop_first_route(&mut out);
    }
    if record_route {
        push_record_route(&mut out, me);
    }
    push_via(&mut out, me, my_addr, transport, branch);
    Ok(out)
}

/// The Max-Forwards of the forwarded copy (§16.6 step 3): a missing one becomes 70, else it
/// goes down by one; 0 is refused with 483 (§16.3 step 3), a malformed one with 400.
fn next_max_forwards(req: &Request) -> Result<u32, Response> {
    let Ok(header) = req.max_forwards_header() else {
        return Ok(70);
    };
    match header.value().trim().parse::<u32>() {
        Err(_) => Err(response_to(
            req,
            400,
            "Bad Request (malformed Max-Forwards header)",
            None,
        )),
        Ok(0) => Err(response_to(req, 483, "Too Many Hops", None)),
        Ok(n) => Ok(n - 1),
    }
}

/// Whether the request already passed here in this transaction (§16.3 step 4): a Via with
/// host `me` and the branch this element would use. The same host with another branch is a
/// spiral, not a loop.
fn looped(req: &Request, me: &str, branch: &str) -> bool {
    via_values(req).iter().any(|via| {
        host_is(&via.uri.host_with_port.host, me)
            && via.branch().is_some_and(|b| b.value() == branch)
    })
}

/// Whether `req` passed through element `me` before: a Via below the top one names it (the
/// request has looped or is spiralling, §16.3 step 4).
pub fn passed_through(req: &Request, me: &str) -> bool {
    via_values(req)
        .iter()
        .skip(1)
        .any(|via| host_is(&via.uri.host_with_port.host, me))
}

/// A digest of what stays the same when a request loops back unchanged and differs when it
/// spirals (§16.6 step 8's invariants, §8.2.2.2's merged-request fields): Request-URI, From
/// and To tags, Call-ID, CSeq, Route and Proxy-Require. Equal digests from two transactions
/// with different branches at one element, the second having passed through it, are a loop.
pub fn loop_invariants(req: &Request) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    req.uri.to_string().hash(&mut h);
    for header in req.headers.iter() {
        match header {
            Header::CallId(v) => ("i", v.value().trim()).hash(&mut h),
            Header::CSeq(v) => ("c", v.value().trim()).hash(&mut h),
            Header::Route(v) => ("r", v.value().trim()).hash(&mut h),
            Header::ProxyRequire(v) => ("p", v.value().trim()).hash(&mut h),
            Header::From(v) => ("f", v.tag().ok().flatten().map(|t| t.to_string())).hash(&mut h),
            Header::To(v) => ("t", v.tag().ok().flatten().map(|t| t.to_string())).hash(&mut h),
            _ => {}
        }
    }
    h.finish()
}

/// Replaces Max-Forwards in place, or adds it after the last Via.
fn set_max_forwards(out: &mut Request, max_forwards: u32) {
    let mf = Header::MaxForwards(max_forwards.into());
    match out
        .headers
        .0
        .iter()
        .position(|h| matches!(h, Header::MaxForwards(_)))
    {
        Some(i) => out.headers.0[i] = mf,
        None => {
            let at = after_last(out, |h| matches!(h, Header::Via(_)));
            out.headers.0.insert(at, mf);
        }
    }
}

/// `Record-Route: <sip:me;lr>` above any Record-Route already there, else after the last Via
/// (§16.6 step 4).
fn push_record_route(out: &mut Request, me: &str) {
    let rr = Header::RecordRoute(format!("<sip:{me};lr>").into());
    let at = out
        .headers
        .iter()
        .position(|h| matches!(h, Header::RecordRoute(_)))
        .unwrap_or_else(|| after_last(out, |h| matches!(h, Header::Via(_))));
    out.headers.0.insert(at, rr);
}

/// Our Via on top (§16.6 step 8): `SIP/2.0/<transport> me:<port of my_addr>;branch=<branch>`.
fn push_via(
    out: &mut Request,
    me: &str,
    my_addr: SocketAddr,
    transport: SipTransport,
    branch: &str,
) {
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
mod tests;
