//! The callee's answer to the avatar media section (mid `avm`) the caller's network offers in
//! the INVITE (TR 33.790 §6.5, §6.6): a stand-in network sends UE-B an INVITE offering the
//! caller's peer-to-peer section, the caller's MF's avatar media section and the callee's own
//! MF's bootstrap section, in that order (as the IMS ASs build it). A bootstrap-capable UE
//! accepts avm and keeps its peer for the call (closed at BYE); another declines it (port 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use dc::{DcOwner, DcTimers, Peer};
use kit::node::HostTable;
use kit::sip::{Config, Endpoint};
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sdp::{Application, DcMap, Media, Session};
use proto::sip::{Method, Request, Response, Timers, ua};
use proto::trace::{Act, Body, Outcome, Reason};
use ue::{AVATAR_MEDIA_MID, Access, BOOTSTRAP_MID, DcConfig, P2P_MID, TrunkTls, Ue, UeConfig};

const CALLEE_HOST: &str = "ue-b.test";
const NET_HOST: &str = "net.test";
const CALL_ID: &str = "avm-call-1@net.test";

fn callee_config(bootstrap: bool) -> UeConfig {
    UeConfig {
        impu: "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org".into(),
        access: Access::Trunk {
            ibcf_host: NET_HOST.into(),
            tls: TrunkTls::None,
        },
        timers: Timers {
            t1: Duration::from_secs(2),
            ..Timers::default()
        },
        wait: Duration::from_secs(5),
        auto_answer: true,
        dc: Some(DcConfig {
            timers: DcTimers::default(),
            accept: true,
            unreachable: false,
            bootstrap,
        }),
        impi: None,
        password: None,
    }
}

/// The offers: (peer, section) for dc, avm, bdc.
async fn offers(tap: &Tap) -> Vec<(Peer, Application)> {
    let owner = DcOwner {
        node: "net".into(),
        tap: tap.clone(),
        timers: DcTimers::default(),
    };
    let sections = [
        (P2P_MID, DcMap::reliable(1000, "avatar", "")),
        (
            AVATAR_MEDIA_MID,
            DcMap::reliable(1300, "avatar-video", "avatar-frame"),
        ),
        (BOOTSTRAP_MID, DcMap::reliable(0, "bootstrap", "http")),
    ];
    let mut out = Vec::new();
    for (i, (mid, map)) in sections.into_iter().enumerate() {
        let mut rng = Rng::for_node(7, &format!("net/{i}"));
        out.push(
            Peer::offer(&owner, &mut rng, mid, &[map], &[])
                .await
                .unwrap(),
        );
    }
    out
}

fn invite(body: &str) -> Request {
    Request::try_from(
        format!(
            "INVITE sip:+12155551001@{CALLEE_HOST} SIP/2.0\r\nFrom: <sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org>;tag=n1\r\nTo: <tel:+12155551001>\r\nCall-ID: {CALL_ID}\r\nCSeq: 1 INVITE\r\nContact: <sip:net@{NET_HOST}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_str(),
    )
    .unwrap()
}

fn acts(tap: &Tap, node: &str) -> Vec<(Act, Outcome)> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => note.action(),
            _ => None,
        })
        .filter(|(act, _)| !matches!(act, Act::DcOpen | Act::DcClose))
        .collect()
}

/// Sends the INVITE to a callee with `bootstrap`; the 2xx's application sections, the callee,
/// the network's endpoint and peers, the INVITE as sent, the 2xx and the trace.
struct Exchange {
    answered: Vec<Application>,
    callee: Ue,
    net: Endpoint,
    peers: Vec<Peer>,
    sent: Request,
    ok: Response,
    tap: Tap,
}

async fn exchange(bootstrap: bool) -> Exchange {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = hosts.ctx("ue-b", CALLEE_HOST, &tap, Clock::Fixed(1_772_442_000), 7);
    let callee = Ue::start(&ctx, callee_config(bootstrap)).await.unwrap();
    hosts.add(CALLEE_HOST, callee.endpoint().local_addr());
    let net = Endpoint::bind(
        Config::new("net", NET_HOST).with_timers(Timers {
            t1: Duration::from_secs(2),
            ..Timers::default()
        }),
        hosts.clone(),
        tap.clone(),
        Rng::for_node(7, "net"),
    )
    .await
    .unwrap();
    hosts.add(NET_HOST, net.local_addr());
    let (peers, sections): (Vec<_>, Vec<_>) = offers(&tap).await.into_iter().unzip();
    let mut offer = Session::with_audio(NET_HOST, 1);
    offer
        .media
        .extend(sections.into_iter().map(Media::Application));
    let mut tx = net.send_request(invite(&offer.render())).await.unwrap();
    let sent = tx.request().clone();
    let ok = loop {
        let r = tokio::time::timeout(Duration::from_secs(5), tx.next_response())
            .await
            .unwrap()
            .unwrap();
        if r.status_code.code() >= 200 {
            break r;
        }
    };
    assert_eq!(ok.status_code.code(), 200);
    net.send_stateless(ua::ack_for_2xx(&sent, &ok).unwrap())
        .await
        .unwrap();
    let session = Session::parse(std::str::from_utf8(&ok.body).unwrap()).unwrap();
    let answered = session.applications().cloned().collect();
    Exchange {
        answered,
        callee,
        net,
        peers,
        sent,
        ok,
        tap,
    }
}

fn mids(answered: &[Application]) -> Vec<&str> {
    answered.iter().map(|a| a.mid.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_capable_callee_accepts_avatar_media_and_releases_it_at_bye() {
    let x = exchange(true).await;
    assert_eq!(
        mids(&x.answered),
        [P2P_MID, AVATAR_MEDIA_MID, BOOTSTRAP_MID]
    );
    assert!(x.answered.iter().all(|a| !a.is_declined()));
    let avm = x.callee.avatar_media().unwrap();
    assert_eq!(avm.mid(), AVATAR_MEDIA_MID);
    let in_call = x.callee.avatar_media_in(CALL_ID).unwrap();
    assert!(Arc::ptr_eq(&avm, &in_call));
    assert!(x.callee.avatar_media_in("another call").is_none());
    assert_eq!(x.callee.answered_bdc().unwrap().mid(), BOOTSTRAP_MID);

    // The caller's MF completes its offer and sends a frame; the callee receives it.
    let mf = &x.peers[1];
    mf.complete(&x.answered[1]).await.unwrap();
    let (near, far) = tokio::join!(mf.wait_open(), avm.wait_open());
    near.unwrap();
    far.unwrap();
    mf.send(1300, br#"{"frame":1}"#).await.unwrap();
    assert_eq!(
        avm.recv(1300, Duration::from_secs(2)).await.unwrap(),
        br#"{"frame":1}"#
    );

    // BYE closes the call's peers, avatar media included.
    let bye = ua::uac_request(&x.sent, &x.ok, Method::Bye, 2).unwrap();
    let mut tx = x.net.send_request(bye).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), tx.next_response())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status_code.code(), 200);
    assert!(avm.is_closed());
    assert!(x.callee.avatar_media().is_none(), "released at BYE");
    assert_eq!(
        acts(&x.tap, "ue-b"),
        [
            (Act::Alert, Outcome::Done),
            (Act::DcAnswer, Outcome::Done),
            (Act::DcAnswer, Outcome::Done),
            (Act::DcAnswer, Outcome::Done),
            (Act::DcRelease, Outcome::Done),
        ]
    );
    for p in &x.peers {
        p.close().await;
    }
    x.callee.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_without_network_channels_declines_avatar_media() {
    let x = exchange(false).await;
    assert_eq!(
        mids(&x.answered),
        [P2P_MID, AVATAR_MEDIA_MID, BOOTSTRAP_MID]
    );
    let declined: Vec<bool> = x.answered.iter().map(Application::is_declined).collect();
    assert_eq!(declined, [false, true, true]);
    assert!(x.callee.avatar_media().is_none());
    assert!(x.callee.avatar_media_in(CALL_ID).is_none());
    let refused = Outcome::Refused(Reason::Declined);
    assert_eq!(
        acts(&x.tap, "ue-b"),
        [
            (Act::Alert, Outcome::Done),
            (Act::DcAnswer, Outcome::Done),
            (Act::DcAnswer, refused),
            (Act::DcAnswer, refused),
        ]
    );
    x.callee.close_data_channels().await;
    for p in &x.peers {
        p.close().await;
    }
    x.callee.shutdown();
}
