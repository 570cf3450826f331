//! HTTP/1.1 over the bootstrap data channel (TS 26.114 §6.2.10: stream 0, subprotocol `http`),
//! the UE's side: the request it writes, one per channel message, and the answer it reads (the
//! XR AS's, relayed by the MF). Pure.

use proto::trace::Reason;
use proto::wire::avatar::Problem;

use super::HttpFault;

/// An answer on the bootstrap channel: the status, the [`Problem`] a refusal carries (if its
/// body is one) and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The typed refusal, for a status ≥ 400 whose body is a [`Problem`].
    pub problem: Option<Problem>,
    /// The body as text.
    pub body: String,
}

impl HttpAnswer {
    /// Whether it is a 2xx.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A `POST` of the JSON `body` to `path` as one HTTP/1.1 message: request line,
/// `content-type: application/json`, `content-length`, the body.
pub fn bdc_request(path: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads an HTTP/1.1 response: the status line's code, the body after the header section
/// (the whole rest of the message: one channel message is one response), the [`Problem`] of a
/// refusal.
pub fn parse_answer(data: &[u8]) -> Result<HttpAnswer, HttpFault> {
    let text = std::str::from_utf8(data).map_err(|_| HttpFault::NotText)?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or(HttpFault::NoBody)?;
    let line = head.lines().next().unwrap_or_default();
    let status = status_code(line).ok_or_else(|| HttpFault::StatusLine(line.to_owned()))?;
    let problem = if status >= 400 {
        serde_json::from_str::<Problem>(body).ok()
    } else {
        None
    };
    Ok(HttpAnswer {
        status,
        problem,
        body: body.to_owned(),
    })
}

/// The code of `HTTP/1.1 <code> <reason phrase>` (RFC 9112 §4).
fn status_code(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("HTTP/1.1 ")?;
    let code = rest.get(..3)?;
    let after = rest.get(3..)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    code.parse().ok().filter(|c| (100..600).contains(c))
}

/// Why an answer refuses, typed: `None` for a 2xx; the [`Problem`]'s reason when it carries
/// one; else by status (403 NotAuthorised, 404 NoRecord, 5xx and anything else Unreachable,
/// other 4xx Malformed).
pub fn refusal(answer: &HttpAnswer) -> Option<Reason> {
    if answer.accepted() {
        return None;
    }
    if let Some(problem) = &answer.problem {
        return Some(problem.reason);
    }
    Some(match answer.status {
        403 => Reason::NotAuthorised,
        404 => Reason::NoRecord,
        400..=499 => Reason::Malformed,
        _ => Reason::Unreachable,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_request_is_one_http_message() {
        let body = br#"{"avatar_id":"qbranch-cat"}"#;
        assert_eq!(
            String::from_utf8(bdc_request("/xr/v1/avatar", body)).unwrap(),
            "POST /xr/v1/avatar HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 27\r\n\r\n{\"avatar_id\":\"qbranch-cat\"}"
        );
    }

    #[test]
    fn answers_read_with_their_problem() {
        let ok = parse_answer(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        )
        .unwrap();
        assert_eq!(
            (ok.status, ok.problem.clone(), ok.body.as_str()),
            (200, None, "{}")
        );
        assert!(ok.accepted());
        assert_eq!(refusal(&ok), None);
        let no = parse_answer(
            b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\r\n{\"reason\":\"not-entitled\",\"detail\":\"x\"}",
        )
        .unwrap();
        assert_eq!(no.status, 403);
        let problem = no.problem.clone().unwrap();
        assert_eq!(
            (problem.reason, problem.detail.as_str()),
            (Reason::NotEntitled, "x")
        );
        assert_eq!(refusal(&no), Some(Reason::NotEntitled));
    }

    #[test]
    fn refusals_without_a_problem_read_by_status() {
        let bare = |status| HttpAnswer {
            status,
            problem: None,
            body: "oops".into(),
        };
        assert_eq!(refusal(&bare(204)), None);
        assert_eq!(refusal(&bare(403)), Some(Reason::NotAuthorised));
        assert_eq!(refusal(&bare(404)), Some(Reason::NoRecord));
        assert_eq!(refusal(&bare(400)), Some(Reason::Malformed));
        assert_eq!(refusal(&bare(502)), Some(Reason::Unreachable));
        // A 2xx body is never read as a problem.
        let odd = parse_answer(b"HTTP/1.1 200 OK\r\n\r\n{\"reason\":\"expired\",\"detail\":\"\"}")
            .unwrap();
        assert_eq!(odd.problem, None);
    }

    #[test]
    fn malformed_answers_are_typed() {
        assert_eq!(parse_answer(&[0xff, 0xfe]), Err(HttpFault::NotText));
        assert_eq!(parse_answer(b"HTTP/1.1 200 OK\r\n"), Err(HttpFault::NoBody));
        for line in [
            "HTTP/1.0 200 OK",
            "HTTP/1.1 2x0 OK",
            "HTTP/1.1 2000",
            "hello",
        ] {
            let text = format!("{line}\r\n\r\n");
            assert_eq!(
                parse_answer(text.as_bytes()),
                Err(HttpFault::StatusLine(line.into())),
                "{line}"
            );
        }
        assert_eq!(parse_answer(b"HTTP/1.1 204\r\n\r\n").unwrap().status, 204);
    }
}
