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
    let Offered { mid, map, dcsa, .. } = offered_channel(OfferSection::AvatarMedia, None).unwrap();
    assert!(dcsa.is_empty());
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
    let Offered { mid, map, what, .. } =
        offered_channel(OfferSection::Bootstrap, Some("ignored")).unwrap();
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
        app: None,
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

#[test]
fn an_application_offer_is_one_json_channel_naming_its_application() {
    let Offered {
        mid,
        map,
        dcsa,
        what,
    } = offered_channel(OfferSection::Application, Some("avatar-call")).unwrap();
    assert_eq!(mid, ADC_MID);
    assert_eq!(OfferSection::Application.mid(), mid);
    assert_eq!(map, DcMap::reliable(ADC_STREAM, "avatar-call", "json"));
    assert_eq!(Service::of(&map), Service::Application);
    assert_eq!(dcsa, [(1200, "3gpp-req-app:avatar-call".to_owned())]);
    assert_eq!(what, "an application data channel for avatar-call");
    assert_eq!(offered_name(mid), "application data channel");
    assert!(offered_channel(OfferSection::Application, None).is_err());
    assert!(offered_channel(OfferSection::Application, Some("")).is_err());
    // On the wire: the section and the application.
    let request = OfferRequest {
        tn: "+1".into(),
        call_id: "c".into(),
        section: OfferSection::Application,
        app: Some("avatar-call".into()),
    };
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"tn":"+1","call_id":"c","section":"application","app":"avatar-call"}"#
    );
}

#[test]
fn completes_and_releases_pick_by_call_mid_and_party() {
    let caller = Key {
        call_id: "c",
        mid: ADC_MID,
        tn: "+12025551000",
    };
    let callee = Key {
        tn: "+12155551001",
        ..caller
    };
    assert!(caller.completed_by("c", ADC_MID, None));
    assert!(caller.completed_by("c", ADC_MID, Some("+12025551000")));
    assert!(caller.completed_by("c", ADC_MID, Some("12025551000")));
    assert!(!caller.completed_by("c", ADC_MID, Some("+12155551001")));
    assert!(callee.completed_by("c", ADC_MID, Some("+12155551001")));
    assert!(!caller.completed_by("d", ADC_MID, None));
    assert!(!caller.completed_by("c", BOOTSTRAP_MID, None));
    assert!(caller.released_by("c", None));
    assert!(caller.released_by("c", Some(ADC_MID)));
    assert!(!caller.released_by("c", Some(BOOTSTRAP_MID)));
    assert!(!caller.released_by("d", None));
    // Old requests read as before.
    let release: ReleaseRequest = serde_json::from_str(r#"{"call_id":"c"}"#).unwrap();
    assert_eq!(release.mid, None);
    assert_eq!(
        serde_json::to_string(&release).unwrap(),
        r#"{"call_id":"c"}"#
    );
    let complete = CompleteRequest {
        call_id: "c".into(),
        answer: "v=0".into(),
        tn: None,
    };
    assert_eq!(
        serde_json::to_string(&complete).unwrap(),
        r#"{"call_id":"c","answer":"v=0"}"#
    );
}
