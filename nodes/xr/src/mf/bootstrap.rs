//! HTTP/1.1 (RFC 9112) on the bootstrap data channel (TS 26.114 §6.2.10): the request parser
//! (on `httparse`) and the router, both pure, and the responses the MF writes on the channel.
//!
//! One channel message is one request: a request split over several messages is not
//! reassembled (its first part is answered 400 as malformed), and bytes after the
//! `Content-Length` body are ignored. Chunked bodies are not accepted.
//!
//! Routes: `GET /` (the UE's DC application list, from the DCSF); `GET /apps/{id}` (one DC
//! application downloaded, from the DCSF: `proto::wire::dcsf::bootstrap_app_path`, TR 33.790
//! §6.9's `app-downloaded` event); `POST` [`SELECT_PATH`] and
//! `POST` [`RENDERING_PATH`] (relayed to the XR AS, TR 33.790 §6.5.2 step 0b and §6.6.2 step 2;
//! only when the MF has an XR AS, else they are unknown). Every answer is JSON with a reason
//! phrase; errors carry a [`Problem`].

use std::fmt;

use proto::trace::Reason;
use proto::wire::avatar::{
    AvatarSelection, Problem, RENDERING_PATH, RenderingNegotiation, SELECT_PATH,
};
use serde::de::DeserializeOwned;

/// How many header fields a request may have.
const MAX_HEADERS: usize = 32;

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HttpRequest {
    /// The method (`GET`).
    pub method: String,
    /// The request target as sent (`/xr/v1/avatar`, maybe with a query).
    pub target: String,
    /// Header fields in order, as (name, value).
    pub headers: Vec<(String, String)>,
    /// The `Content-Length` body (empty without one).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The request line, for labels.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }
}

/// Why a channel message is not an HTTP/1.1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ParseError {
    /// The head is not HTTP/1.x syntax.
    Syntax(httparse::Error),
    /// The head does not end in this message.
    Incomplete,
    /// Not HTTP/1.1.
    Version(u8),
    /// A header value is not UTF-8.
    HeaderValue(String),
    /// `Content-Length` is not a number, or given twice differently.
    ContentLength,
    /// `Transfer-Encoding` (chunked bodies are not accepted).
    TransferEncoding,
    /// The body is shorter than its `Content-Length`.
    Truncated {
        /// `Content-Length`.
        expected: usize,
        /// What the message carries.
        got: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Syntax(e) => write!(f, "not an HTTP/1.1 request: {e}"),
            ParseError::Incomplete => f.write_str("the request head does not end in the message"),
            ParseError::Version(v) => write!(f, "HTTP/1.{v}: only HTTP/1.1"),
            ParseError::HeaderValue(name) => write!(f, "header {name} is not UTF-8"),
            ParseError::ContentLength => f.write_str("unusable Content-Length"),
            ParseError::TransferEncoding => f.write_str("Transfer-Encoding is not accepted"),
            ParseError::Truncated { expected, got } => {
                write!(f, "body of {got} bytes, Content-Length {expected}")
            }
        }
    }
}

/// Parses one channel message as one HTTP/1.1 request. Pure.
pub(super) fn parse(data: &[u8]) -> Result<HttpRequest, ParseError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let head = match req.parse(data) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(ParseError::Incomplete),
        Err(e) => return Err(ParseError::Syntax(e)),
    };
    match req.version {
        Some(1) => {}
        Some(v) => return Err(ParseError::Version(v)),
        None => return Err(ParseError::Incomplete),
    }
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value =
            std::str::from_utf8(h.value).map_err(|_| ParseError::HeaderValue(h.name.to_owned()))?;
        headers.push((h.name.to_owned(), value.to_owned()));
    }
    let length = content_length(&headers)?;
    let rest = &data[head..];
    if rest.len() < length {
        return Err(ParseError::Truncated {
            expected: length,
            got: rest.len(),
        });
    }
    Ok(HttpRequest {
        method: req.method.unwrap_or_default().to_owned(),
        target: req.path.unwrap_or_default().to_owned(),
        headers,
        body: rest[..length].to_vec(),
    })
}

/// The body length the headers announce (0 without `Content-Length`).
fn content_length(headers: &[(String, String)]) -> Result<usize, ParseError> {
    if headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(ParseError::TransferEncoding);
    }
    let mut length = None;
    for (_, value) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        let n: usize = value
            .trim()
            .parse()
            .map_err(|_| ParseError::ContentLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(ParseError::ContentLength);
        }
        length = Some(n);
    }
    Ok(length.unwrap_or(0))
}

/// A request the MF relays to its XR AS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Relay {
    /// `POST` [`SELECT_PATH`] (solution 5 step 0b).
    Select(AvatarSelection),
    /// `POST` [`RENDERING_PATH`] (solution 6 step 2).
    Rendering(RenderingNegotiation),
}

/// A request the MF refuses on the channel: the answer and the typed reason of its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The status to answer.
    pub status: u16,
    /// The reason, in the answer's [`Problem`] and the refusal note.
    pub reason: Reason,
    /// `Allow` for a 405.
    pub allow: Option<&'static str>,
    /// Why, for the reader.
    pub detail: String,
}

impl Refusal {
    /// The answer on the channel: the status and a [`Problem`].
    pub fn reply(&self) -> Reply {
        let mut reply = Reply::problem(self.status, self.reason, &self.detail);
        reply.allow = self.allow;
        reply
    }
}

/// What the MF does with one request on the bootstrap channel. Pure decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// `GET /`: the UE's application list from the DCSF.
    AppList,
    /// `GET /apps/{id}`: one application downloaded, from the DCSF.
    App(String),
    /// Relay to the XR AS.
    Relay(Relay),
    /// Refuse.
    Refuse(Refusal),
}

/// Routes one parsed (or unparsable) request; `xr` is whether the MF has an XR AS (without
/// one, the `/xr/` paths are unknown). Pure.
pub(super) fn route(parsed: Result<HttpRequest, ParseError>, xr: bool) -> Route {
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return refuse(400, Reason::Malformed, None, format!("sends {e}")),
    };
    let allowed = match req.path() {
        "/" => "GET",
        path if app_id(path).is_some() => "GET",
        SELECT_PATH | RENDERING_PATH if xr => "POST",
        _ => {
            return refuse(
                404,
                Reason::NoRecord,
                None,
                format!("asks for {:?}: no such resource", req.line()),
            );
        }
    };
    if req.method != allowed {
        return refuse(
            405,
            Reason::Malformed,
            Some(allowed),
            format!("asks for {:?}: only {allowed} there", req.line()),
        );
    }
    match req.path() {
        SELECT_PATH => body(&req).map_or_else(Route::Refuse, |b| Route::Relay(Relay::Select(b))),
        RENDERING_PATH => {
            body(&req).map_or_else(Route::Refuse, |b| Route::Relay(Relay::Rendering(b)))
        }
        path => app_id(path).map_or(Route::AppList, |id| Route::App(id.to_owned())),
    }
}

/// The application id of a `/apps/{id}` path (one path segment of letters, digits, `-`, `_`
/// and `.`, not a dot segment: what the MF may put in the DCSF's path). Pure.
pub(super) fn app_id(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/apps/")?;
    let word = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (word && !id.is_empty() && id != "." && id != "..").then_some(id)
}

fn refuse(status: u16, reason: Reason, allow: Option<&'static str>, detail: String) -> Route {
    Route::Refuse(Refusal {
        status,
        reason,
        allow,
        detail,
    })
}

/// The JSON body of a request, or the 400 refusal.
fn body<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, Refusal> {
    serde_json::from_slice(&req.body).map_err(|e| Refusal {
        status: 400,
        reason: Reason::Malformed,
        allow: None,
        detail: format!("sends {:?} with an unusable body: {e}", req.line()),
    })
}

/// An HTTP/1.1 response on the channel: always JSON, with a reason phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reply {
    /// The status.
    pub status: u16,
    /// `Allow` (for a 405).
    pub allow: Option<&'static str>,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            allow: None,
            body,
        }
    }

    /// A [`Problem`] answer (compact JSON).
    pub fn problem(status: u16, reason: Reason, detail: &str) -> Self {
        let problem = Problem {
            reason,
            detail: detail.to_owned(),
        };
        Self::json(status, serde_json::to_vec(&problem).unwrap_or_default())
    }

    /// The bytes on the channel: status line, `Content-Type`, `Content-Length`, `Allow` if
    /// any, blank line, body.
    pub fn render(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.status,
            reason_phrase(self.status),
            self.body.len()
        );
        if let Some(allow) = self.allow {
            out.push_str(&format!("Allow: {allow}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// The reason phrase of a status (RFC 9110 §15), for the statuses this MF answers or relays.
pub(super) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn post(path: &str, body: &str) -> Vec<u8> {
        format!(
            "POST {path} HTTP/1.1\r\nHost: mf\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn refusal(route: Route) -> (u16, Reason, Option<&'static str>) {
        match route {
            Route::Refuse(r) => (r.status, r.reason, r.allow),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn requests_parse_with_headers_and_body() {
        let r = parse(b"GET / HTTP/1.1\r\nHost: mf.test\r\n\r\n").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path(), "/");
        assert_eq!(r.headers, [("Host".to_owned(), "mf.test".to_owned())]);
        assert!(r.body.is_empty());
        let r = parse(&post(SELECT_PATH, r#"{"avatar_id":"owl"}"#)).unwrap();
        assert_eq!(r.body, br#"{"avatar_id":"owl"}"#);
        // Bytes after the body are ignored; a query is not part of the path.
        let r = parse(b"GET /?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}junk").unwrap();
        assert_eq!((r.path(), r.body.as_slice()), ("/", &b"{}"[..]));
    }

    #[test]
    fn malformed_requests_are_told_apart() {
        assert_eq!(parse(b""), Err(ParseError::Incomplete));
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\n"),
            Err(ParseError::Incomplete)
        );
        assert!(matches!(
            parse(b"GET / HTTX/1.1\r\n\r\n"),
            Err(ParseError::Syntax(_))
        ));
        assert_eq!(
            parse(b"GET / HTTP/1.0\r\n\r\n"),
            Err(ParseError::Version(0))
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n"),
            Err(ParseError::ContentLength)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
            Err(ParseError::ContentLength)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Err(ParseError::TransferEncoding)
        );
        // A request split over two messages: the first is refused.
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\""),
            Err(ParseError::Truncated {
                expected: 10,
                got: 4
            })
        );
    }

    #[test]
    fn the_router_by_path_and_method() {
        let r = |data: &[u8], xr| route(parse(data), xr);
        assert_eq!(r(b"GET / HTTP/1.1\r\n\r\n", false), Route::AppList);
        let get_app = format!(
            "GET {} HTTP/1.1\r\n\r\n",
            proto::wire::dcsf::bootstrap_app_path("avatar-call")
        );
        assert_eq!(
            r(get_app.as_bytes(), false),
            Route::App("avatar-call".into())
        );
        assert_eq!(
            refusal(r(&post("/apps/avatar-call", "{}"), false)),
            (405, Reason::Malformed, Some("GET"))
        );
        for bad in ["/apps/", "/apps/..", "/apps/a/b", "/apps/a%2Fb", "/apps"] {
            let line = format!("GET {bad} HTTP/1.1\r\n\r\n");
            assert_eq!(
                refusal(r(line.as_bytes(), true)),
                (404, Reason::NoRecord, None),
                "{bad}"
            );
        }
        assert_eq!(
            r(&post(SELECT_PATH, r#"{"avatar_id":"owl"}"#), true),
            Route::Relay(Relay::Select(AvatarSelection {
                avatar_id: "owl".into()
            }))
        );
        assert_eq!(
            r(&post(RENDERING_PATH, r#"{"attestation":"a.b.c"}"#), true),
            Route::Relay(Relay::Rendering(RenderingNegotiation {
                attestation: "a.b.c".into()
            }))
        );
        type Want = (u16, Reason, Option<&'static str>);
        let table: [(&[u8], bool, Want); 7] = [
            (b"nonsense", true, (400, Reason::Malformed, None)),
            (
                &post(SELECT_PATH, "{}"),
                true,
                (400, Reason::Malformed, None),
            ),
            (
                b"GET /x HTTP/1.1\r\n\r\n",
                true,
                (404, Reason::NoRecord, None),
            ),
            // Without an XR AS the /xr/ paths are unknown.
            (
                &post(SELECT_PATH, r#"{"avatar_id":"owl"}"#),
                false,
                (404, Reason::NoRecord, None),
            ),
            (
                &post(RENDERING_PATH, "{}"),
                false,
                (404, Reason::NoRecord, None),
            ),
            (
                &post("/", "{}"),
                true,
                (405, Reason::Malformed, Some("GET")),
            ),
            (
                b"GET /xr/v1/avatar HTTP/1.1\r\n\r\n",
                true,
                (405, Reason::Malformed, Some("POST")),
            ),
        ];
        for (data, xr, want) in table {
            assert_eq!(
                refusal(r(data, xr)),
                want,
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn replies_carry_a_reason_phrase_and_json() {
        assert_eq!(
            Reply::json(200, b"{}".to_vec()).render(),
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        let Route::Refuse(r) = route(parse(&post("/", "")), true) else {
            panic!()
        };
        let text = String::from_utf8(r.reply().render()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: "),
            "{text}"
        );
        assert!(
            text.contains("\r\nAllow: GET\r\n\r\n{\"reason\":\"malformed\""),
            "{text}"
        );
        let not_found = Reply::problem(404, Reason::NoRecord, "no such resource").render();
        assert_eq!(
            String::from_utf8(not_found).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"reason\":\"no-record\",\"detail\":\"no such resource\"}"
        );
        assert_eq!(reason_phrase(502), "Bad Gateway");
    }
}
