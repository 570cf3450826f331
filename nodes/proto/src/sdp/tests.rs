//! Round trips and refusals of the SDP reader and writer.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use super::*;

fn app(mid: &str, port: u16) -> Application {
    Application {
        port,
        mid: mid.into(),
        ice_ufrag: "ufragA".into(),
        ice_pwd: "pwdpwdpwdpwdpwdpwdpwdpwd".into(),
        candidates: vec![Candidate::host(SocketAddr::from(([127, 0, 0, 1], port)))],
        fingerprint: ("sha-256".into(), "AB:CD".into()),
        setup: Setup::Actpass,
        sctp_port: 5000,
        max_message_size: 65536,
        dcmaps: vec![
            DcMap::reliable(0, "bootstrap", "http"),
            DcMap {
                max_retr: Some(3),
                ordered: false,
                priority: Some(256),
                ..DcMap::reliable(1000, "avatar", "")
            },
        ],
        dcsa: vec![(1000, "accept-types:application/json".into())],
    }
}

#[test]
fn round_trip() {
    let mut s = Session::with_audio("ue-a.example", 42);
    s.media.push(Media::Application(app("1", 40000)));
    let text = s.render();
    assert!(text.contains("m=application 40000 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert!(text.contains("a=dcmap:0 label=\"bootstrap\";subprotocol=\"http\"\r\n"));
    assert!(
        text.contains("a=dcmap:1000 label=\"avatar\";ordered=false;max-retr=3;priority=256\r\n")
    );
    assert!(text.contains("a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n"));
    let back = Session::parse(&text).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        back.application("1").unwrap().dcmap(0).unwrap().label,
        "bootstrap"
    );
}

#[test]
fn declined_section_round_trips() {
    let offer = app("1", 40000);
    let mut s = Session::with_audio("b", 1);
    s.media
        .push(Media::Application(Application::declined(&offer)));
    let back = Session::parse(&s.render()).unwrap();
    assert!(back.application("1").unwrap().is_declined());
}

#[test]
fn session_level_attributes_apply() {
    let text = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA:BB\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=candidate:123 1 udp 2130706431 127.0.0.1 5555 typ host\r\na=candidate:9 1 tcp 1 127.0.0.1 9 typ host tcptype active\r\n";
    let s = Session::parse(text).unwrap();
    let a = s.application("0").unwrap();
    assert_eq!(a.fingerprint.1, "AA:BB");
    assert_eq!(a.candidates.len(), 1);
    assert_eq!(a.candidates[0].addr.port(), 5555);
}

#[test]
fn malformed_dcmap_lines_are_refused_with_the_reason() {
    let base = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\na=sctp-port:5000\r\n";
    for (line, reason) in [
        ("a=dcmap:x label=\"a\"", "is not a number"),
        ("a=dcmap:65535", "reserved"),
        ("a=dcmap:70000", "is not a number"),
        ("a=dcmap:1 label=a", "not quoted"),
        ("a=dcmap:1 label=\"a", "unterminated"),
        ("a=dcmap:1 ordered=maybe", "not true or false"),
        ("a=dcmap:1 max-retr=2;max-time=10", "mutually exclusive"),
        ("a=dcmap:1 colour=\"red\"", "unknown option"),
        ("a=dcmap:1 max-retr", "has no value"),
        ("a=dcmap:1 label=\"a\";;", "empty option"),
    ] {
        let err = Session::parse(&format!("{base}{line}\r\n")).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, SdpError::Dcmap { line: 12, .. }) && text.contains(reason),
            "{line}: {text}"
        );
    }
    let twice = format!("{base}a=dcmap:1\r\na=dcmap:1 label=\"b\"\r\n");
    assert!(
        Session::parse(&twice)
            .unwrap_err()
            .to_string()
            .contains("mapped twice")
    );
}

#[test]
fn missing_attributes_are_named() {
    let text = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";
    assert_eq!(
        Session::parse(text).unwrap_err(),
        SdpError::Missing {
            mid: "1".into(),
            what: "a=ice-ufrag"
        }
    );
    let no_mid = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    assert!(
        Session::parse(no_mid)
            .unwrap_err()
            .to_string()
            .contains("a=mid")
    );
}
