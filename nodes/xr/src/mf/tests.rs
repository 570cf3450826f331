//! Tests of `mf`.
#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn bootstrap_requests_by_request_line() {
    assert_eq!(
        BootstrapRequest::parse(b"GET / HTTP/1.1\r\nHost: mf.test\r\n\r\n"),
        BootstrapRequest::AppList
    );
    assert_eq!(
        BootstrapRequest::parse(b"GET /x HTTP/1.1\r\n\r\n"),
        BootstrapRequest::Other("GET /x HTTP/1.1".into())
    );
    assert_eq!(
        BootstrapRequest::parse(b""),
        BootstrapRequest::Other(String::new())
    );
}

#[test]
fn http_responses_on_the_channel() {
    assert_eq!(
        http_response("200 OK", b"{}".to_vec()),
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    );
}

#[test]
fn dcsf_refusals() {
    assert_eq!(dcsf_refusal(Ok(404)), Reason::NoRecord);
    assert_eq!(dcsf_refusal(Ok(500)), Reason::Unreachable);
    assert_eq!(
        dcsf_refusal(Err(&Error::Timeout { ms: 3000 })),
        Reason::Timeout
    );
    assert_eq!(
        dcsf_refusal(Err(&Error::Http {
            detail: "reset".into()
        })),
        Reason::Unreachable
    );
}
