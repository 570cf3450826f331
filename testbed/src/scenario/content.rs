//! Reading what a traced message carries: SIP start line, headers and body (parsed with the
//! same SIP parser the nodes use), HTTP request line, status, headers and JSON body. The step
//! matcher and the outcome checks read messages only through here.

use proto::sip::msg::SipMessage;
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Message, Proto};
use serde_json::Value;

/// A traced message, read.
#[derive(Debug, Clone)]
pub enum Content {
    /// A SIP message.
    Sip(Sip),
    /// An HTTP request or response.
    Http(Http),
    /// A data channel message: JSON, or HTTP/1.1 over a bootstrap channel.
    Dc(Dc),
    /// Anything else (DNS): only its summary.
    Other,
}

/// A data channel message's fields.
#[derive(Debug, Clone)]
pub struct Dc {
    /// The channel's stream id.
    pub stream: u16,
    /// HTTP/1.1 carried on the channel (a bootstrap channel), read. A response names no request
    /// (method and path empty): what it answers is the request before it on the association.
    pub http: Option<Http>,
    /// The payload as text (for HTTP, its body).
    pub body: String,
}

/// A SIP message's fields.
#[derive(Debug, Clone)]
pub struct Sip {
    /// The request method, for a request.
    pub method: Option<String>,
    /// The status, for a response.
    pub status: Option<u16>,
    /// The parsed message.
    pub message: SipMessage,
}

/// An HTTP message's fields.
#[derive(Debug, Clone)]
pub struct Http {
    /// The request's method (for a response: the method of the request it answers).
    pub method: String,
    /// The request's target (for a response: the target of the request it answers).
    pub path: String,
    /// The status, for a response.
    pub status: Option<u16>,
    /// Header lines (name lower-cased, value).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Content {
    /// Reads a traced message.
    pub fn of(message: &Message) -> Self {
        match message.proto {
            Proto::Sip => SipMessage::try_from(message.raw.as_str())
                .ok()
                .map_or(Content::Other, |m| Content::Sip(Sip::new(m))),
            Proto::Http => http(message).map_or(Content::Other, Content::Http),
            Proto::Dc => dc(message),
            Proto::Dns => Content::Other,
        }
    }

    /// A SIP message already parsed (what a UE received).
    pub fn sip(message: SipMessage) -> Self {
        Content::Sip(Sip::new(message))
    }

    /// Every value of a header (SIP: compact forms too; HTTP: case-insensitive).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        match self {
            Content::Sip(s) => sipmsg::values(s.headers(), name)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Content::Http(h) | Content::Dc(Dc { http: Some(h), .. }) => h
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect(),
            Content::Dc(_) | Content::Other => Vec::new(),
        }
    }

    /// The first value of a name-addr header, parsed.
    pub fn name_addr(&self, name: &str) -> Option<NameAddr> {
        self.header_values(name)
            .first()
            .and_then(|v| NameAddr::parse(v))
    }

    /// The body as text.
    pub fn body(&self) -> String {
        match self {
            Content::Sip(s) => String::from_utf8_lossy(s.body()).into_owned(),
            Content::Http(h) => h.body.clone(),
            Content::Dc(d) => d.body.clone(),
            Content::Other => String::new(),
        }
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body()).ok()
    }

    /// The status, for a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Content::Sip(s) => s.status,
            Content::Http(h) | Content::Dc(Dc { http: Some(h), .. }) => h.status,
            Content::Dc(_) | Content::Other => None,
        }
    }

    /// SIP Call-ID.
    pub fn call_id(&self) -> Option<String> {
        self.header_values("Call-ID").into_iter().next()
    }

    /// SIP CSeq (number and method).
    pub fn cseq(&self) -> Option<String> {
        self.header_values("CSeq")
            .into_iter()
            .next()
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The CSeq method of a SIP message.
    pub fn cseq_method(&self) -> Option<String> {
        self.cseq()
            .and_then(|c| c.split(' ').nth(1).map(str::to_owned))
    }

    /// The branch of the top Via.
    pub fn top_branch(&self) -> Option<String> {
        let vias = self.header_values("Via");
        let top = vias.first()?;
        let first = sipmsg::split_list(top).into_iter().next()?;
        first
            .split(';')
            .find_map(|p| p.trim().strip_prefix("branch="))
            .map(str::to_owned)
    }
}

impl Sip {
    fn new(message: SipMessage) -> Self {
        let (method, status) = match &message {
            SipMessage::Request(r) => (Some(r.method.to_string()), None),
            SipMessage::Response(r) => (None, Some(r.status_code.code())),
        };
        Self {
            method,
            status,
            message,
        }
    }

    fn headers(&self) -> &proto::sip::msg::Headers {
        match &self.message {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        }
    }

    fn body(&self) -> &[u8] {
        match &self.message {
            SipMessage::Request(r) => &r.body,
            SipMessage::Response(r) => &r.body,
        }
    }
}

/// Reads a data channel message: its stream, and HTTP/1.1 when the payload is that.
fn dc(message: &Message) -> Content {
    let Some(stream) = message.stream else {
        return Content::Other;
    };
    let text = message.raw.replace("\r\n", "\n");
    let first = text.lines().next().unwrap_or("");
    let is_http = first.starts_with("HTTP/1.1 ")
        || first.ends_with(" HTTP/1.1") && first.split(' ').count() == 3;
    let http = if is_http {
        http_text(&text, None)
    } else {
        None
    };
    let body = http
        .as_ref()
        .map_or_else(|| message.raw.clone(), |h| h.body.clone());
    Content::Dc(Dc { stream, http, body })
}

/// Reads a traced HTTP message: `METHOD target HTTP/1.1` or `HTTP/1.1 code reason`, headers,
/// a blank line, the body. A response's summary names the request it answers:
/// `200 OK (POST /stir/v1/signing)`.
fn http(message: &Message) -> Option<Http> {
    let text = message.raw.replace("\r\n", "\n");
    http_text(&text, Some(&message.summary))
}

/// HTTP/1.1 text (LF line ends). A response's method and path come from `summary` (`200 OK
/// (POST /path)`) when given, else they are empty.
fn http_text(text: &str, summary: Option<&str>) -> Option<Http> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let start = lines.next()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let (method, path, status) = match start.strip_prefix("HTTP/1.1 ") {
        Some(rest) => {
            let status = rest.split_whitespace().next()?.parse().ok()?;
            let (method, path) = match summary {
                Some(summary) => {
                    let (_, request) = summary.split_once(" (")?;
                    let request = request.strip_suffix(')')?;
                    let (method, path) = request.split_once(' ')?;
                    (method.to_owned(), path.to_owned())
                }
                None => (String::new(), String::new()),
            };
            (method, path, Some(status))
        }
        None => {
            let mut parts = start.split_whitespace();
            let method = parts.next()?.to_owned();
            let path = parts.next()?.to_owned();
            (method, path, None)
        }
    };
    Some(Http {
        method,
        path,
        status,
        headers,
        body: body.to_owned(),
    })
}

/// The JSON value at an RFC 6901 pointer, rendered for comparison: strings bare, others as JSON.
pub fn json_text(doc: &Value, pointer: &str) -> Option<String> {
    doc.pointer(pointer).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}
