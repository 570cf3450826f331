//! The MF over its HTTPS control interface (mutual TLS) with a callee's data channel peer on
//! loopback: the avatar media channel (mid `avm`) offered, answered, completed; the MF sends on
//! it and ignores what arrives (no answer, no note).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use dc::{DcError, DcOwner, DcTimers, Peer};
use kit::http::Request;
use kit::node::HostTable;
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sdp::{DcMap, Session};
use proto::trace::{Act, Body, Note, Outcome};
use proto::wire::avatar::{AVATAR_MEDIA_MID, AVATAR_MEDIA_STREAM};
use proto::wire::mf::{
    COMPLETE_PATH, CompleteRequest, OFFER_PATH, OfferRequest, OfferResponse, OfferSection,
};
use xr::mf::{self, MfConfig};

const MF_HOST: &str = "mf.ims.mnc001.mcc001.3gppnetwork.org";
const AS_HOST: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const CALLEE: &str = "+12155551001";
const CALL_ID: &str = "avatar-call-1";

/// The MF's action notes, in order.
fn mf_actions(tap: &Tap) -> Vec<(Act, Outcome)> {
    tap.ordered()
        .into_iter()
        .filter(|r| r.node == "mf-o")
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => note.action(),
            _ => None,
        })
        .collect()
}

fn section(sdp: &str) -> proto::sdp::Application {
    Session::parse(sdp)
        .unwrap()
        .applications()
        .next()
        .cloned()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_avatar_media_channel_is_offered_served_and_send_only() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(1_772_442_000), 7);
    let timers = DcTimers {
        connect: Duration::from_secs(3),
        ..DcTimers::default()
    };
    let config = MfConfig {
        dcsf_host: "dcsf.ims.mnc001.mcc001.3gppnetwork.org".into(),
        timers,
        xr_as_host: None,
        bar_host: None,
        verify_metadata: false,
    };
    let (mf, server) = mf::start(&ctx("mf-o", MF_HOST), config).await.unwrap();
    hosts.add(MF_HOST, server.local_addr());
    let client = ctx("as-o", AS_HOST).https_client(true).unwrap();
    let url = |path: &str| format!("https://{MF_HOST}{path}");

    // The originating AS asks for the avatar media offer.
    let request = OfferRequest {
        tn: CALLEE.into(),
        call_id: CALL_ID.into(),
        section: OfferSection::AvatarMedia,
        app: None,
    };
    let answer = client
        .send(Request::post_json(
            url(OFFER_PATH),
            serde_json::to_vec(&request).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let offer: OfferResponse = serde_json::from_slice(&answer.body).unwrap();
    let offered = section(&offer.offer);
    assert_eq!(offered.mid, AVATAR_MEDIA_MID);
    assert_eq!(
        offered.dcmaps,
        [DcMap::reliable(
            AVATAR_MEDIA_STREAM,
            "avatar-video",
            "avatar-frame"
        )]
    );

    // The callee answers; the AS hands the answer to the MF.
    let owner = DcOwner {
        node: "ue-b".into(),
        tap: tap.clone(),
        timers,
    };
    let (ue_b, answered) = Peer::answer(&owner, &mut Rng::for_node(7, "ue-b"), &offered)
        .await
        .unwrap();
    let complete = CompleteRequest {
        call_id: CALL_ID.into(),
        answer: proto::sdp::Session {
            session_id: 0,
            version: 0,
            name: "-".into(),
            media: vec![proto::sdp::Media::Application(answered)],
        }
        .render(),
        tn: None,
    };
    let done = client
        .send(Request::post_json(
            url(COMPLETE_PATH),
            serde_json::to_vec(&complete).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(done.status, 204);
    let at_mf = mf.peer_in_call(CALL_ID, AVATAR_MEDIA_MID).unwrap();
    assert!(mf.peer_in_call("another call", AVATAR_MEDIA_MID).is_none());
    assert!(
        mf.peer(CALLEE, AVATAR_MEDIA_MID).is_some(),
        "the session is the callee's"
    );
    ue_b.wait_open().await.unwrap();

    // What the callee sends is read and dropped: no answer comes back.
    ue_b.send(AVATAR_MEDIA_STREAM, br#"{"hello":"mf"}"#)
        .await
        .unwrap();
    let silence = ue_b
        .recv(AVATAR_MEDIA_STREAM, Duration::from_millis(1500))
        .await;
    assert!(
        matches!(silence, Err(DcError::Timeout { .. })),
        "{silence:?}"
    );
    // The MF sends on it.
    at_mf
        .send(AVATAR_MEDIA_STREAM, br#"{"frame":1}"#)
        .await
        .unwrap();
    let frame = ue_b
        .recv(AVATAR_MEDIA_STREAM, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(frame, br#"{"frame":1}"#);

    let acts: Vec<Act> = mf_actions(&tap)
        .into_iter()
        .inspect(|(_, outcome)| assert!(outcome.is_done()))
        .map(|(act, _)| act)
        .filter(|act| *act != Act::DcOpen)
        .collect();
    assert_eq!(
        acts,
        [Act::DcOffer, Act::DcServe],
        "offered, served, nothing for what arrived"
    );
    let labels: Vec<String> = tap
        .ordered()
        .into_iter()
        .filter(|r| r.node == "mf-o")
        .filter_map(|r| match r.body {
            Body::Note {
                note: Note::Action { label, .. },
                ..
            } => Some(label),
            _ => None,
        })
        .collect();
    assert!(
        labels.contains(
            &"offer +12155551001 the avatar media data channel (m=application mid avm, stream 1300 \"avatar-video\" (avatar-frame))".to_owned()
        ),
        "{labels:?}"
    );

    ue_b.close().await;
    mf.shutdown().await;
    server.shutdown();
}
