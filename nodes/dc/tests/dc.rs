//! Two in-process WebRTC peers over loopback with negotiated data channels: up, declined,
//! unreachable, closed cleanly — and the trace of each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use dc::{DcError, DcOwner, DcTimers, Peer};
use kit::tap::Tap;
use proto::clock::Rng;
use proto::sdp::{Application, DcMap, Media, Session};
use proto::trace::{Body, Note, Proto};

fn owner(node: &str, tap: &Tap) -> DcOwner {
    DcOwner {
        node: node.into(),
        tap: tap.clone(),
        timers: DcTimers {
            connect: Duration::from_millis(1500),
            ..DcTimers::default()
        },
    }
}

fn maps() -> Vec<DcMap> {
    vec![
        DcMap::reliable(0, "bootstrap", "http"),
        DcMap::reliable(1000, "avatar", ""),
    ]
}

fn actions(tap: &Tap, node: &str) -> Vec<String> {
    tap.ordered()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note {
                note: Note::Action { label, .. },
                ..
            } => Some(label),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_come_up_carry_messages_both_ways_and_close() {
    let tap = Tap::new();
    let (oa, ob) = (owner("ue-a", &tap), owner("ue-b", &tap));
    let (mut ra, mut rb) = (Rng::for_node(7, "ue-a"), Rng::for_node(7, "ue-b"));
    let (a, offer) = Peer::offer(&oa, &mut ra, "1", &maps(), &[]).await.unwrap();
    // The offer goes through SIP as text and back.
    let mut s = Session::with_audio("a", 1);
    s.media.push(Media::Application(offer.clone()));
    let offer = Session::parse(&s.render())
        .unwrap()
        .application("1")
        .unwrap()
        .clone();
    assert_eq!(offer.dcmaps, maps());
    assert_eq!(offer.candidates.len(), 1);
    assert!(offer.candidates[0].addr.ip().is_loopback());
    // Seeded ICE credentials.
    let mut again = Rng::for_node(7, "ue-a");
    assert_eq!(offer.ice_ufrag, again.hex(8));

    let (b, answer) = Peer::answer(&ob, &mut rb, &offer).await.unwrap();
    assert_eq!(answer.mid, "1");
    assert_eq!(answer.dcmaps, maps());
    let began = Instant::now();
    a.complete(&answer).await.unwrap();
    let (ua, ub) = tokio::join!(a.wait_open(), b.wait_open());
    ua.unwrap();
    ub.unwrap();
    a.send(1000, br#"{"pose":[0,1,2]}"#).await.unwrap();
    let got = b.recv(1000, Duration::from_secs(2)).await.unwrap();
    eprintln!("answer applied → first message: {:?}", began.elapsed());
    assert_eq!(got, br#"{"pose":[0,1,2]}"#);
    b.send(1000, br#"{"ack":true}"#).await.unwrap();
    assert_eq!(
        a.recv(1000, Duration::from_secs(2)).await.unwrap(),
        br#"{"ack":true}"#
    );
    a.send(0, b"GET / HTTP/1.1\r\nHost: mf\r\n\r\n")
        .await
        .unwrap();
    b.recv(0, Duration::from_secs(2)).await.unwrap();
    a.close().await;
    b.close().await;
    assert!(matches!(a.send(1000, b"x").await, Err(DcError::Closed)));

    let trace = tap.ordered();
    let dc: Vec<_> = trace
        .iter()
        .filter_map(|r| r.message().filter(|m| m.proto == Proto::Dc).map(|m| (r, m)))
        .collect();
    assert_eq!(dc.len(), 6, "3 messages, each sent and received");
    // Every receive pairs with its send.
    for (r, m) in &dc {
        if let Body::Received { from, .. } = &r.body {
            assert!(from.is_some(), "{}", m.summary);
        }
    }
    assert!(
        dc[0]
            .1
            .summary
            .starts_with("DC message stream 1000 \"avatar\": {\"pose\"")
    );
    assert!(dc[4].1.summary.contains("(HTTP): GET / HTTP/1.1"));
    let la = actions(&tap, "ue-a");
    assert!(
        la.contains(&"DC open stream 0 \"bootstrap\" (http) with ue-b".to_owned()),
        "{la:?}"
    );
    assert!(
        la.contains(&"DC close stream 1000 \"avatar\"".to_owned()),
        "{la:?}"
    );

    // Nothing left: the ICE sockets are free again.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(std::net::UdpSocket::bind(a.local_addr()).is_ok());
    assert!(std::net::UdpSocket::bind(b.local_addr()).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_section_leaves_no_channels() {
    let tap = Tap::new();
    let (a, offer) = Peer::offer(
        &owner("ue-a", &tap),
        &mut Rng::for_node(1, "a"),
        "1",
        &maps(),
        &[],
    )
    .await
    .unwrap();
    let declined = Application::declined(&offer);
    let mut s = Session::with_audio("b", 1);
    s.media.push(Media::Application(declined));
    let back = Session::parse(&s.render()).unwrap();
    let answer = back.application("1").unwrap();
    assert_eq!(a.complete(answer).await, Err(DcError::Declined));
    a.close().await;
    assert!(actions(&tap, "ue-a").is_empty());
    assert!(
        Peer::answer(&owner("ue-b", &tap), &mut Rng::for_node(1, "b"), answer)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_answers_ice_fails_within_the_bound() {
    let tap = Tap::new();
    let (a, offer) = Peer::offer(
        &owner("ue-a", &tap),
        &mut Rng::for_node(1, "a"),
        "1",
        &maps(),
        &[],
    )
    .await
    .unwrap();
    let (b, mut answer) = Peer::answer(&owner("ue-b", &tap), &mut Rng::for_node(1, "b"), &offer)
        .await
        .unwrap();
    // B goes away; its answer now points at a socket nobody reads.
    b.close().await;
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = silent.local_addr().unwrap();
    answer.candidates[0].addr = dead;
    answer.port = dead.port();
    a.complete(&answer).await.unwrap();
    let began = Instant::now();
    let err = a.wait_open().await.unwrap_err();
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    assert!(matches!(err, DcError::NotConnected { .. }), "{err}");
    assert!(err.to_string().contains(&dead.to_string()), "{err}");
    a.close().await;
    let failed = tap.ordered().into_iter().any(|r| {
        matches!(
            r.body,
            Body::Note {
                note: Note::Check { passed: false, .. },
                ..
            }
        )
    });
    assert!(failed);
}

/// A message nobody is reading yet is off the wire once it waits in the inbox (the tap holds
/// it, so a quiet world is not kept waiting for a read that comes later); a message that
/// arrives while its node waits to read it stays on the wire until that read records it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_messages_are_held_off_the_wire() {
    let tap = Tap::new();
    let (oa, ob) = (owner("ue-a", &tap), owner("ue-b", &tap));
    let (mut ra, mut rb) = (Rng::for_node(9, "ue-a"), Rng::for_node(9, "ue-b"));
    let (a, offer) = Peer::offer(&oa, &mut ra, "1", &maps(), &[]).await.unwrap();
    let (b, answer) = Peer::answer(&ob, &mut rb, &offer).await.unwrap();
    a.complete(&answer).await.unwrap();
    let (ua, ub) = tokio::join!(a.wait_open(), b.wait_open());
    ua.unwrap();
    ub.unwrap();
    let quiet = |tap: &Tap| {
        let tap = tap.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(2);
            while tap.awaiting() != 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tap.awaiting()
        }
    };
    // Nobody reads: sent, arrived, held.
    a.send(1000, b"one").await.unwrap();
    a.send(1000, b"two").await.unwrap();
    assert_eq!(
        quiet(&tap).await,
        0,
        "unread messages in the inbox are off the wire"
    );
    let received = |tap: &Tap| {
        tap.ordered()
            .iter()
            .filter(|r| matches!(r.body, Body::Received { .. }))
            .count()
    };
    assert_eq!(received(&tap), 0, "not recorded until read");
    assert_eq!(b.recv(1000, Duration::from_secs(2)).await.unwrap(), b"one");
    assert_eq!(b.recv(1000, Duration::from_secs(2)).await.unwrap(), b"two");
    assert_eq!(received(&tap), 2);
    assert_eq!(tap.awaiting(), 0);
    // A read waiting when the message comes: counted on the wire until the read records it.
    let reader = tokio::spawn({
        let tap = tap.clone();
        async move {
            let data = b.recv(1000, Duration::from_secs(2)).await.unwrap();
            (data, tap.awaiting(), b)
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.send(1000, b"three").await.unwrap();
    let (data, after, b) = reader.await.unwrap();
    assert_eq!(data, b"three");
    assert_eq!(after, 0, "read and recorded: nothing on the wire");
    a.close().await;
    b.close().await;
}
