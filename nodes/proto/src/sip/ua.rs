//! Request builders for a user agent client: requests inside the dialog an INVITE's 2xx set up
//! (RFC 3261 §12.2.1.1 — remote target from Contact, route set from the reversed
//! Record-Route), the ACK of a 2xx (§13.2.2.4) and CANCEL (§9.1). They carry no Via: the
//! endpoint adds one with a fresh branch when it sends them (a CANCEL keeps the INVITE's).

use rsipstack::sip::headers::untyped::ToTypedHeader as _;
use rsipstack::sip::typed;
use rsipstack::sip::{Header, HeadersExt as _, Method, Request, Response, Version};

/// A request in the dialog the 2xx `ok` to `invite` established, from the caller's side:
/// Request-URI = the 2xx Contact, Route = the 2xx Record-Route reversed, From/Call-ID of the
/// INVITE, To of the 2xx (with the callee's tag), `CSeq: <cseq> <method>`, Max-Forwards 70.
pub fn uac_request(
    invite: &Request,
    ok: &Response,
    method: Method,
    cseq: u32,
) -> Result<Request, String> {
    let contact = ok
        .typed_contact_headers()
        .map_err(|e| format!("2xx Contact unusable: {e}"))?
        .into_iter()
        .next()
        .ok_or("2xx has no Contact")?;
    let routes = ok
        .typed_record_route_headers()
        .map_err(|e| format!("2xx Record-Route unusable: {e}"))?;
    let mut headers: Vec<Header> = routes
        .into_iter()
        .rev()
        .map(|rr| Header::Route(format!("<{}>", rr.uri).into()))
        .collect();
    headers.push(Header::MaxForwards(70.into()));
    headers.push(Header::From(
        invite.from_header().map_err(|e| e.to_string())?.clone(),
    ));
    headers.push(Header::To(
        ok.to_header().map_err(|e| e.to_string())?.clone(),
    ));
    headers.push(Header::CallId(
        invite.call_id_header().map_err(|e| e.to_string())?.clone(),
    ));
    headers.push(typed::CSeq { seq: cseq, method }.into());
    headers.push(Header::ContentLength(0.into()));
    Ok(Request {
        method,
        uri: contact.uri,
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    })
}

/// The ACK of the 2xx `ok` to `invite` (§13.2.2.4): a [`uac_request`] with the INVITE's CSeq
/// number. Send it with [`Endpoint::send_stateless`](super::Endpoint::send_stateless).
pub fn ack_for_2xx(invite: &Request, ok: &Response) -> Result<Request, String> {
    let seq = invite
        .cseq_header()
        .and_then(|c| c.seq())
        .map_err(|e| e.to_string())?;
    uac_request(invite, ok, Method::Ack, seq)
}

/// The CANCEL of a sent `invite` (§9.1): its Request-URI, top Via (same branch), Route,
/// From, To, Call-ID and CSeq number, method CANCEL.
pub fn cancel_for(invite: &Request) -> Result<Request, String> {
    let top_via = invite.top_via_header().map_err(|e| e.to_string())?;
    let mut headers = vec![Header::Via(top_via)];
    for header in invite.headers.iter() {
        if matches!(header, Header::Route(_)) {
            headers.push(header.clone());
        }
    }
    headers.push(Header::MaxForwards(70.into()));
    headers.push(Header::From(
        invite.from_header().map_err(|e| e.to_string())?.clone(),
    ));
    headers.push(Header::To(
        invite.to_header().map_err(|e| e.to_string())?.clone(),
    ));
    headers.push(Header::CallId(
        invite.call_id_header().map_err(|e| e.to_string())?.clone(),
    ));
    let seq = invite
        .cseq_header()
        .and_then(|c| c.seq())
        .map_err(|e| e.to_string())?;
    headers.push(
        typed::CSeq {
            seq,
            method: Method::Cancel,
        }
        .into(),
    );
    headers.push(Header::ContentLength(0.into()));
    Ok(Request {
        method: Method::Cancel,
        uri: invite.uri.clone(),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    })
}

/// Whether `cancel` is the CANCEL of `invite` (§9.2: same top Via branch, Call-ID, CSeq
/// number).
pub fn cancels(cancel: &Request, invite: &Request) -> bool {
    let branch = |r: &Request| {
        r.top_via_header()
            .ok()
            .and_then(|v| v.typed().ok())
            .and_then(|v| v.branch().map(|b| b.value().to_owned()))
    };
    let call_id = |r: &Request| r.call_id_header().ok().map(|c| c.value().to_owned());
    let seq = |r: &Request| r.cseq_header().ok().and_then(|c| c.seq().ok());
    cancel.method == Method::Cancel
        && branch(cancel).is_some()
        && branch(cancel) == branch(invite)
        && call_id(cancel) == call_id(invite)
        && seq(cancel) == seq(invite)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ack_follows_the_route_set_and_contact_of_the_2xx() {
        let invite = Request::try_from(
            "INVITE sip:bob@b.test SIP/2.0\r\nVia: SIP/2.0/UDP a.test;branch=z9hG4bK1\r\n\
             Route: <sip:p1.test;lr>\r\nFrom: <sip:alice@a.test>;tag=a1\r\nTo: <sip:bob@b.test>\r\n\
             Call-ID: c1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let ok = Response::try_from(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.test;branch=z9hG4bK1\r\n\
             Record-Route: <sip:p2.test;lr>\r\nRecord-Route: <sip:p1.test;lr>\r\n\
             From: <sip:alice@a.test>;tag=a1\r\nTo: <sip:bob@b.test>;tag=b1\r\n\
             Call-ID: c1\r\nCSeq: 7 INVITE\r\nContact: <sip:bob@10.0.0.2:5062>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let ack = ack_for_2xx(&invite, &ok).unwrap();
        assert_eq!(
            String::from_utf8(ack.to_bytes()).unwrap(),
            "ACK sip:bob@10.0.0.2:5062 SIP/2.0\r\nRoute: <sip:p1.test;lr>\r\nRoute: <sip:p2.test;lr>\r\n\
             Max-Forwards: 70\r\nFrom: <sip:alice@a.test>;tag=a1\r\nTo: <sip:bob@b.test>;tag=b1\r\n\
             Call-ID: c1\r\nCSeq: 7 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        let cancel = cancel_for(&invite).unwrap();
        assert!(cancels(&cancel, &invite));
        assert_eq!(cancel.cseq_header().unwrap().value(), "7 CANCEL");
    }
}
