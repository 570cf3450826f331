//! Tests of `mf`.
#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn bootstrap_requests_by_request_line() {
    assert_eq!(
        bootstrap::route(
            bootstrap::parse(b"GET / HTTP/1.1\r\nHost: mf.test\r\n\r\n"),
            false
        ),
        Route::AppList
    );
    let Route::Refuse(other) = bootstrap::route(bootstrap::parse(b"GET /x HTTP/1.1\r\n\r\n"), true)
    else {
        panic!("GET /x is not routed")
    };
    assert_eq!((other.status, other.reason), (404, Reason::NoRecord));
    assert_eq!(other.detail, "asks for \"GET /x\": no such resource");
    let Route::Refuse(empty) = bootstrap::route(bootstrap::parse(b""), true) else {
        panic!("an empty message is not routed")
    };
    assert_eq!((empty.status, empty.reason), (400, Reason::Malformed));
}

#[test]
fn http_responses_on_the_channel() {
    // The app list answer is byte for byte what it was (the `2:dc-bootstrap` trace).
    assert_eq!(
        Reply::json(200, b"{}".to_vec()).render(),
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

#[test]
fn the_avatar_media_offer_is_one_send_channel_on_mid_avm() {
    let (mid, map, _) = offered_channel(OfferSection::AvatarMedia);
    assert_eq!(mid, "avm");
    assert_eq!(map, DcMap::reliable(1300, "avatar-video", "avatar-frame"));
    assert!(map.ordered && map.max_retr.is_none() && map.max_time.is_none());
    assert_eq!(Service::of(&map), Service::SendOnly);
    assert_eq!(offered_name(mid), "avatar media data channel");
    // The section as offered in the SDP: a=dcmap for stream 1300.
    assert_eq!(
        map.render(),
        r#"1300 label="avatar-video";subprotocol="avatar-frame""#
    );
}

#[test]
fn the_bootstrap_offer_is_as_before() {
    let (mid, map, what) = offered_channel(OfferSection::Bootstrap);
    assert_eq!(mid, BOOTSTRAP_MID);
    assert_eq!(map, DcMap::reliable(0, "bootstrap", "http"));
    assert_eq!(what, "a bootstrap data channel");
    assert_eq!(Service::of(&map), Service::Http);
    assert_eq!(offered_name(mid), "bootstrap data channel");
    assert_eq!(
        Service::of(&DcMap::reliable(1100, "avatar-app", "")),
        Service::Application
    );
}

#[test]
fn offer_requests_name_the_section_only_when_not_bootstrap() {
    let bootstrap = OfferRequest {
        tn: "+1".into(),
        call_id: "c".into(),
        section: OfferSection::Bootstrap,
    };
    let text = serde_json::to_string(&bootstrap).unwrap();
    assert_eq!(
        text, r#"{"tn":"+1","call_id":"c"}"#,
        "bootstrap offers as before"
    );
    assert_eq!(
        serde_json::from_str::<OfferRequest>(&text).unwrap(),
        bootstrap
    );
    let avatar = OfferRequest {
        section: OfferSection::AvatarMedia,
        ..bootstrap
    };
    let text = serde_json::to_string(&avatar).unwrap();
    assert_eq!(
        text,
        r#"{"tn":"+1","call_id":"c","section":"avatar-media"}"#
    );
    assert_eq!(serde_json::from_str::<OfferRequest>(&text).unwrap(), avatar);
}
