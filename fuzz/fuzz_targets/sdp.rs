//! SDP bodies with WebRTC data channels (proto::sdp): `Session::parse`, including every
//! `a=dcmap` (RFC 8864) and `a=candidate` line, and the `a=dcmap` value parser on its own.
//!
//! Properties: nothing panics; a parsed session renders to SDP that parses back to the same
//! session (a declined section renders only its m-, c- and mid lines, so it is compared in that
//! form); a parsed `dcmap` value renders to a value that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::sdp::{Application, DcMap, Media, Session};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Some(value) = line.trim_end_matches('\r').strip_prefix("a=dcmap:")
            && let Ok(map) = DcMap::parse(value)
        {
            let rendered = map.render();
            assert_eq!(
                DcMap::parse(&rendered).as_ref(),
                Ok(&map),
                "dcmap {value:?} renders as {rendered:?}"
            );
        }
    }
    let Ok(session) = Session::parse(text) else {
        return;
    };
    for app in session.applications() {
        let _ = app.is_declined();
        let _ = app.dcmap(0);
    }
    let rendered = session.render();
    let again = match Session::parse(&rendered) {
        Ok(again) => again,
        Err(e) => panic!("a parsed session renders to SDP that does not parse ({e}):\n{rendered}"),
    };
    assert_eq!(
        again,
        as_rendered(session),
        "a parsed session changes when rendered and parsed again:\n{rendered}"
    );
});

/// The session as rendering keeps it: a declined section keeps its port, mid and nothing else
/// (its SCTP port and message size fall back to the defaults on reading).
fn as_rendered(mut session: Session) -> Session {
    for media in &mut session.media {
        if let Media::Application(app) = media
            && app.is_declined()
        {
            *app = Application {
                sctp_port: 5000,
                max_message_size: 65536,
                ..Application::declined(app)
            };
        }
    }
    session
}
