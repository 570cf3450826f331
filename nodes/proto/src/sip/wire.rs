//! The wire form of SIP messages: encoding with the reason phrase actually chosen (RFC 3261
//! §7.2, §21 — rsipstack's serializer always writes the standard phrase), one-line trace
//! summaries, stream framing by Content-Length (§18.3), the `received`/`rport` stamp on an
//! arriving request's top Via (§18.2.1, RFC 3581 §4), where a response goes (§18.2.2), and a
//! last-resort `400` for a request the parser rejects (§21.4.1).

use std::net::{IpAddr, SocketAddr};

use rsipstack::sip::headers::untyped::ToTypedHeader as _;
use rsipstack::sip::param::Received;
use rsipstack::sip::typed;
use rsipstack::sip::{HeadersExt, Host, Request, Response, Transport};

use crate::sip::SipTransport;

/// Largest message accepted on a stream or in a datagram.
pub const MAX_MESSAGE: usize = 65_535;

/// Largest header section accepted (start line and headers, up to the empty line): a longer
/// one is answered `513 Message Too Large` (RFC 3261 §21.5.14). Generous for IMS requests (an
/// INVITE with two Identity headers and Call-Info is about 4 KB).
pub const MAX_HEADER_SECTION: usize = 16 * 1024;

/// A datagram without the bytes past the body its Content-Length gives (RFC 3261 §18.3: over
/// UDP they are discarded); unchanged when it has no (valid) Content-Length or no more bytes.
pub fn trim_datagram(bytes: &[u8]) -> &[u8] {
    let Some(end) = find(bytes, b"\r\n\r\n") else {
        return bytes;
    };
    match content_length(&bytes[..end]) {
        Ok(Some(n)) if end + 4 + n < bytes.len() => &bytes[..end + 4 + n],
        _ => bytes,
    }
}

/// Why `bytes` (one datagram or one framed message) is too large to handle, if it is: its
/// header section over [`MAX_HEADER_SECTION`], or the whole over [`MAX_MESSAGE`].
pub fn too_large(bytes: &[u8]) -> Option<String> {
    let head = find(bytes, b"\r\n\r\n").unwrap_or(bytes.len());
    if head > MAX_HEADER_SECTION {
        return Some(format!("header section over {MAX_HEADER_SECTION} bytes"));
    }
    (bytes.len() > MAX_MESSAGE).then(|| format!("message over {MAX_MESSAGE} bytes"))
}

/// A request exactly as it goes on the wire.
pub fn encode_request(request: &Request) -> Vec<u8> {
    request.to_bytes()
}

/// A response exactly as it goes on the wire, with its own reason phrase when it has one
/// ([`Response::wire_reason`]), else the standard phrase of its code.
pub fn encode_response(response: &Response) -> Vec<u8> {
    let head = format!(
        "{} {} {}\r\n{}\r\n",
        response.version,
        response.status_code.code(),
        reason_phrase(response),
        response.headers
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&response.body);
    bytes
}

/// The reason phrase a response carries on the wire.
pub fn reason_phrase(response: &Response) -> &str {
    response
        .wire_reason
        .as_deref()
        .unwrap_or_else(|| response.status_code.text())
}

/// Trace summary of a request: `INVITE sip:+12155551001@example.com`.
pub fn request_summary(request: &Request) -> String {
    format!("{} {}", request.method, request.uri)
}

/// Trace summary of a response: `180 Ringing (INVITE)`.
pub fn response_summary(response: &Response) -> String {
    let method = response
        .cseq_header()
        .ok()
        .and_then(|c| c.method().ok())
        .map_or_else(|| "?".to_owned(), |m| m.to_string());
    format!(
        "{} {} ({method})",
        response.status_code.code(),
        reason_phrase(response)
    )
}

/// Trace summary of bytes that do not parse: their first line, shortened.
pub fn garbage_summary(bytes: &[u8]) -> String {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(first);
    let text = text.trim();
    let short: String = text.chars().take(60).collect();
    if short.is_empty() {
        format!("unparsable ({} bytes)", bytes.len())
    } else {
        format!("unparsable: {short}")
    }
}

/// One step of stream framing.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message, removed from the buffer.
    Message(Vec<u8>),
    /// More bytes are needed.
    Incomplete,
    /// The stream cannot be framed any further; the reason says why.
    Broken(String),
    /// The next message is larger than this side handles ([`too_large`]): answered `513`,
    /// and the stream cannot be framed any further.
    TooLarge(String),
}

/// Takes the next message off a stream buffer (RFC 3261 §18.3: the header section ends at the
/// first empty line, Content-Length gives the body). CRLFs between messages (RFC 5626 §3.5.1
/// keep-alives) are skipped.
pub fn take_frame(buf: &mut Vec<u8>) -> Frame {
    let lead = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    buf.drain(..lead);
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_HEADER_SECTION {
            Frame::TooLarge(format!("header section over {MAX_HEADER_SECTION} bytes"))
        } else {
            Frame::Incomplete
        };
    };
    if end > MAX_HEADER_SECTION {
        return Frame::TooLarge(format!("header section over {MAX_HEADER_SECTION} bytes"));
    }
    let length = match content_length(&buf[..end]) {
        Ok(n) => n.unwrap_or(0),
        Err(reason) => return Frame::Broken(reason),
    };
    let total = match (end + 4).checked_add(length) {
        Some(total) if total <= MAX_MESSAGE => total,
        _ => return Frame::TooLarge(format!("message over {MAX_MESSAGE} bytes")),
    };
    if buf.len() < total {
        return Frame::Incomplete;
    }
    Frame::Message(buf.drain(..total).collect())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The Content-Length of a header section, if it has one.
fn content_length(head: &[u8]) -> Result<Option<usize>, String> {
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            return value
                .trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| format!("malformed Content-Length {:?}", value.trim()));
        }
    }
    Ok(None)
}

/// Adds `received` to the top Via when the packet came from another address than sent-by
/// names (RFC 3261 §18.2.1), and fills in an empty `rport` (RFC 3581 §4).
pub fn stamp_received(request: &mut Request, source: SocketAddr) -> Result<(), String> {
    let via = request.via_header_mut().map_err(|e| e.to_string())?;
    via.update_first_value(|value| {
        let mut top: typed::Via = value.typed()?;
        let same_ip =
            matches!(&top.uri.host_with_port.host, Host::IpAddr(ip) if *ip == source.ip());
        let rport_requested = top.rport().is_some();
        if !same_ip || rport_requested {
            top = top.with_received(Received::new(source.ip().to_string()));
        }
        if rport_requested {
            top = top.with_rport(Some(source.port()));
        }
        Ok(top.into())
    })
    .map_err(|e| e.to_string())
}

/// Where a Via says a response goes (RFC 3261 §18.2.2, RFC 3581 §4): the `received` address
/// (else sent-by's host), the `rport` port (else sent-by's port, else 5060), its transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaTarget {
    /// The `received` address, else sent-by's host.
    pub host: ViaHost,
    /// The `rport` port, else sent-by's port; `None` means the default 5060.
    pub port: Option<u16>,
    /// The Via's transport.
    pub transport: SipTransport,
}

/// The host part of a [`ViaTarget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViaHost {
    /// An address: send there.
    Ip(IpAddr),
    /// A name to resolve first (RFC 3263 §6).
    Name(String),
}

impl ViaTarget {
    /// The socket address, when no name has to be resolved.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.host {
            ViaHost::Ip(ip) => Some(SocketAddr::new(ip, self.port.unwrap_or(5060))),
            ViaHost::Name(_) => None,
        }
    }
}

/// The [`ViaTarget`] of a parsed Via (§18.2.2); `Err` for a transport other than UDP or TCP.
pub fn via_target(via: &typed::Via) -> Result<ViaTarget, String> {
    let transport = sip_transport(via.transport)?;
    let received = via.received().and_then(Result::ok);
    let rport = via.rport().flatten();
    let sent_by = &via.uri.host_with_port;
    let host = match (received, &sent_by.host) {
        (Some(ip), _) => ViaHost::Ip(ip),
        (None, Host::IpAddr(ip)) => ViaHost::Ip(*ip),
        (None, Host::Domain(d)) => ViaHost::Name(d.0.clone()),
    };
    let port = rport.or(sent_by.port.as_ref().map(|p| p.0));
    Ok(ViaTarget {
        host,
        port,
        transport,
    })
}

/// The top Via of a message, parsed.
pub fn top_via<M: HeadersExt>(message: &M) -> Result<typed::Via, String> {
    message
        .top_via_header()
        .and_then(|v| v.typed())
        .map_err(|e| e.to_string())
}

/// rsip's transport as ours; `Err` names a transport this testbed does not run (SCTP, WebSocket).
pub fn sip_transport(transport: Transport) -> Result<SipTransport, String> {
    match transport {
        Transport::Udp => Ok(SipTransport::Udp),
        Transport::Tcp => Ok(SipTransport::Tcp),
        Transport::Tls => Ok(SipTransport::Tls),
        other => Err(format!("transport {other} is not supported")),
    }
}

/// Our transport as rsip's.
pub fn rsip_transport(transport: SipTransport) -> Transport {
    match transport {
        SipTransport::Udp => Transport::Udp,
        SipTransport::Tcp => Transport::Tcp,
        SipTransport::Tls => Transport::Tls,
    }
}

/// What to send back for bytes the parser rejects: a `400` (or `501` for an unknown method)
/// built from the raw header lines, when the start line is a request line other than ACK and a
/// Via line is there to answer to. Returns the response bytes and their trace summary.
pub fn salvage_reply(bytes: &[u8], detail: &str) -> Option<(Vec<u8>, String)> {
    salvage(bytes, detail, false)
}

/// [`salvage_reply`] for a message [`too_large`] to handle: `513 Message Too Large` saying why.
pub fn salvage_too_large(bytes: &[u8], detail: &str) -> Option<(Vec<u8>, String)> {
    salvage(bytes, detail, true)
}

fn salvage(bytes: &[u8], detail: &str, too_large: bool) -> Option<(Vec<u8>, String)> {
    // Only the header section is read (a large body is never copied).
    let head_len = find(bytes, b"\r\n\r\n").unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..head_len.min(MAX_MESSAGE)]);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split(['\r', '\n']).filter(|l| !l.is_empty());
    let start = lines.next()?;
    // The method is the first word and the version the last, however many spaces between.
    let mut parts = start.split_whitespace();
    let (method, version) = (parts.next()?, parts.next_back()?);
    parts.next_back()?;
    if !version.starts_with("SIP/") || method.eq_ignore_ascii_case("ACK") {
        return None;
    }
    let is_token = !method.is_empty()
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c));
    if !is_token {
        return None;
    }
    let known = method.parse::<rsipstack::sip::Method>().is_ok();
    let (code, reason) = if too_large {
        (513, format!("Message Too Large ({})", one_line(detail)))
    } else if known {
        (400, format!("Bad Request ({})", one_line(detail)))
    } else {
        (501, "Not Implemented".to_owned())
    };
    let mut kept = Vec::new();
    let mut has_via = false;
    let mut cseq_method = String::from("?");
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let lower = name.to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "via" | "v" => {
                has_via = true;
                "Via"
            }
            "from" | "f" => "From",
            "to" | "t" => "To",
            "call-id" | "i" => "Call-ID",
            "cseq" => {
                if let Some(m) = value.split_whitespace().nth(1) {
                    cseq_method = m.to_owned();
                }
                "CSeq"
            }
            _ => continue,
        };
        kept.push(format!("{canonical}: {}", value.trim()));
    }
    if !has_via {
        return None;
    }
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for line in &kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    let summary = format!("{code} {reason} ({cseq_method})");
    Some((out.into_bytes(), summary))
}

/// `text` made safe for a reason phrase: one line, bounded length.
pub fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frames_by_content_length_and_skips_keepalives() {
        let mut buf = b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabcSIP/2.0 200 OK\r\nl: 0\r\n\r\nINV"
            .to_vec();
        assert_eq!(
            take_frame(&mut buf),
            Frame::Message(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabc".to_vec())
        );
        assert_eq!(
            take_frame(&mut buf),
            Frame::Message(b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n".to_vec())
        );
        assert_eq!(take_frame(&mut buf), Frame::Incomplete);
        assert_eq!(buf, b"INV");
        let mut bad = b"BYE sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n".to_vec();
        assert!(matches!(take_frame(&mut bad), Frame::Broken(r) if r.contains("Content-Length")));
        let mut huge = b"BYE sip:a SIP/2.0\r\nl: 18446744073709551615\r\n\r\n".to_vec();
        assert!(matches!(take_frame(&mut huge), Frame::TooLarge(r) if r.contains("over")));
    }

    #[test]
    fn custom_reason_phrase_goes_on_the_wire() {
        let mut r = Response {
            status_code: 400.into(),
            ..Default::default()
        };
        r.wire_reason = Some("Bad Request (missing Call-ID header)".into());
        assert!(
            encode_response(&r)
                .starts_with(b"SIP/2.0 400 Bad Request (missing Call-ID header)\r\n")
        );
    }

    #[test]
    fn salvage_answers_a_request_line_with_a_via() {
        let raw = b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK1\r\nCSeq: nonsense INVITE\r\nFoo: bar\r\n\r\n";
        let (bytes, summary) = salvage_reply(raw, "bad CSeq").unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(
            "SIP/2.0 400 Bad Request (bad CSeq)\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK1\r\n"
        ));
        assert!(!text.contains("Foo"));
        assert_eq!(summary, "400 Bad Request (bad CSeq) (INVITE)");
        assert!(salvage_reply(b"\x00\x01garbage\r\n\r\n", "x").is_none());
        assert!(salvage_reply(b"ACK sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n", "x").is_none());
        let (bytes, _) =
            salvage_reply(b"FOO sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n", "x").unwrap();
        assert!(bytes.starts_with(b"SIP/2.0 501 Not Implemented\r\n"));
    }
}
