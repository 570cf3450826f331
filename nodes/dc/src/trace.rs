//! What a peer writes on the trace: each message as a `Proto::Dc` message named by its stream
//! and label, its payload shown as HTTP, JSON or hex; a channel named for open and close notes.

use std::net::SocketAddr;

use proto::sdp::DcMap;
use proto::trace::Message;

/// Summary and text of a payload: HTTP as HTTP, JSON as JSON, anything else as hex.
pub fn describe_payload(data: &[u8]) -> (String, String) {
    if let Ok(text) = std::str::from_utf8(data) {
        let first = text.lines().next().unwrap_or("");
        if first.starts_with("HTTP/1.1 ")
            || first.ends_with(" HTTP/1.1") && first.split(' ').count() == 3
        {
            return (first.to_owned(), text.to_owned());
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            let compact = v.to_string();
            let pretty = serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_owned());
            return (compact, pretty);
        }
        if !text.chars().any(char::is_control) {
            return (format!("{text:?}"), text.to_owned());
        }
    }
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    (
        format!("{} bytes 0x{}", data.len(), hex.get(..32).unwrap_or(&hex)),
        hex,
    )
}

/// A channel as open and close notes name it: `stream 0 "bootstrap" (http)`.
pub(crate) fn describe(map: &DcMap) -> String {
    if map.subprotocol.is_empty() {
        format!("stream {} {:?}", map.stream, map.label)
    } else {
        format!(
            "stream {} {:?} ({})",
            map.stream, map.label, map.subprotocol
        )
    }
}

/// The trace message for `data` on channel `map`, from `src` to `dst` (ICE addresses).
pub(crate) fn message(map: &DcMap, src: SocketAddr, dst: SocketAddr, data: &[u8]) -> Message {
    let (summary, raw) = describe_payload(data);
    let label = format!("DC message stream {} {:?}", map.stream, map.label);
    let summary = if map.subprotocol == "http" {
        format!("{label} (HTTP): {summary}")
    } else {
        format!("{label}: {summary}")
    };
    Message::dc(src, dst, summary, raw, map.stream, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_show_as_http_json_text_or_hex() {
        let http = describe_payload(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n");
        assert_eq!(http.0, "GET /x HTTP/1.1");
        let json = describe_payload(br#"{ "a": 1 }"#);
        assert_eq!(
            json,
            (r#"{"a":1}"#.to_owned(), "{\n  \"a\": 1\n}".to_owned())
        );
        assert_eq!(describe_payload(b"hello").0, "\"hello\"");
        assert_eq!(
            describe_payload(&[0, 1, 0xff]),
            ("3 bytes 0x0001ff".to_owned(), "0001ff".to_owned())
        );
    }

    #[test]
    fn channels_are_named_by_stream_label_and_subprotocol() {
        assert_eq!(
            describe(&DcMap::reliable(0, "bootstrap", "http")),
            "stream 0 \"bootstrap\" (http)"
        );
        assert_eq!(
            describe(&DcMap::reliable(1000, "avatar", "")),
            "stream 1000 \"avatar\""
        );
    }
}
