//! HTTP/1.1 (RFC 9112) over TCP or TLS on hyper: a client ([`Client`]) that resolves hosts
//! through a [`Resolve`] the node is given (so the world's DNS, not the OS, decides where a
//! hostname is), and a server ([`Server`]) that hands each request to an async handler. Every
//! wait is bounded: connect + exchange by the client's timeout, a TLS handshake and a request by
//! the server's, bodies by a size limit.
//!
//! Both sides record every request and response they carry on the trace tap ([`Trace`]) with
//! the same text: start line, headers, body.

mod client;
mod resolve;
mod server;

use bytes::Bytes;

use crate::tap::Tap;

pub use client::Client;
pub use resolve::{BoxFuture, Resolve, StaticResolver, SystemResolver};
pub use server::{Handler, Peer, Server, ServerLimits, handler};

/// A request, as the client sends it or the server receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method (`GET`, `POST`, …).
    pub method: String,
    /// Absolute URL for the client; path and query for the server.
    pub target: String,
    /// Header fields in order, as (name, value).
    pub headers: Vec<(String, String)>,
    /// The body (empty when there is none).
    pub body: Bytes,
}

impl Request {
    /// A `GET` of `url` without headers or body.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            target: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A `POST` of a JSON `body` to `url` (`content-type: application/json`).
    pub fn post_json(url: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            method: "POST".into(),
            target: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// Adds a header field (its name lower-cased).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// First value of a header (names compared case-insensitively).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (RFC 9110 §15).
    pub status: u16,
    /// Header fields in order, as (name, value).
    pub headers: Vec<(String, String)>,
    /// The body (empty when there is none).
    pub body: Bytes,
}

impl Response {
    /// A response with `status`, one `content-type` header and `body`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A plain-text (UTF-8) response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// A JSON response (`content-type: application/json`).
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self::new(status, "application/json", body)
    }

    /// First value of a header (names compared case-insensitively).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Which node's trace an HTTP client or server records into.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The world's tap.
    pub tap: Tap,
    /// The node the messages are recorded under.
    pub node: String,
}

/// `200 OK`, `404 Not Found`, …
fn status_line(status: u16) -> String {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_owned()
}

/// An HTTP/1.1 message as text: start line, headers, blank line, body (UTF-8, lossy). Empty
/// where `tap` keeps no records (the text would be dropped).
fn wire_text(tap: &Tap, start: &str, headers: &[(String, String)], body: &[u8]) -> String {
    if !tap.keeps_records() {
        return String::new();
    }
    let mut out = wire_head(start, headers, body);
    out.push_str(&String::from_utf8_lossy(body));
    out
}

/// The message's exact bytes when its body is not UTF-8 (so [`wire_text`] is lossy): the
/// trace's `wire` (a DER CRL, for example). `None` when `wire_text` is the bytes.
fn wire_bytes(
    tap: &Tap,
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<Vec<u8>> {
    (tap.keeps_records() && std::str::from_utf8(body).is_err()).then(|| {
        let mut out = wire_head(start, headers, body).into_bytes();
        out.extend_from_slice(body);
        out
    })
}

/// The start line and header fields, with the blank line that ends them.
fn wire_head(start: &str, headers: &[(String, String)], body: &[u8]) -> String {
    let mut out = String::from(start);
    out.push_str("\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    out
}

fn collect_headers(map: &hyper::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_carry_the_canonical_reason() {
        assert_eq!(status_line(200), "200 OK");
        assert_eq!(status_line(404), "404 Not Found");
        assert_eq!(status_line(599), "599");
    }

    #[test]
    fn wire_text_adds_a_content_length_only_when_missing() {
        let tap = Tap::new();
        let headers = vec![("host".to_owned(), "a.example".to_owned())];
        assert_eq!(
            wire_text(&tap, "GET / HTTP/1.1", &headers, b"hi"),
            "GET / HTTP/1.1\r\nhost: a.example\r\ncontent-length: 2\r\n\r\nhi"
        );
        let headers = vec![("Content-Length".to_owned(), "2".to_owned())];
        assert_eq!(
            wire_text(&tap, "HTTP/1.1 200 OK", &headers, b"hi"),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert_eq!(
            wire_text(&tap, "GET / HTTP/1.1", &[], b""),
            "GET / HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn wire_bytes_only_for_a_body_that_is_not_utf8() {
        let tap = Tap::new();
        assert_eq!(wire_bytes(&tap, "HTTP/1.1 200 OK", &[], b"hi"), None);
        assert_eq!(
            wire_bytes(&tap, "HTTP/1.1 200 OK", &[], &[0x30, 0x82, 0xff]).as_deref(),
            Some(&b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n\x30\x82\xff"[..])
        );
    }

    #[test]
    fn no_text_is_built_for_a_tap_that_keeps_no_records() {
        let tap = Tap::new();
        tap.set_mode(crate::tap::TraceMode::Counters);
        assert_eq!(wire_text(&tap, "GET / HTTP/1.1", &[], b"hi"), "");
        assert_eq!(wire_bytes(&tap, "HTTP/1.1 200 OK", &[], &[0xff]), None);
        tap.set_mode(crate::tap::TraceMode::Ring(10));
        assert_eq!(
            wire_text(&tap, "GET / HTTP/1.1", &[], b""),
            "GET / HTTP/1.1\r\n\r\n"
        );
    }
}
