//! Data channels between two agents (TS 26.114 §6.2.10): the caller offers, the callee accepts,
//! declines or answers with an address nobody reads; a re-INVITE gets the same description
//! back; the call's end releases the associations. Checked on what each agent notes (typed),
//! and on the typed refusal the caller keeps ([`ue::Call::dc_refused`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use dc::{DcError, DcTimers};
use kit::node::HostTable;
use kit::tap::Tap;
use proto::clock::Clock;
use proto::sdp::DcMap;
use proto::sip::Timers;
use proto::trace::{Act, Body, Outcome, Reason};
use ue::{Access, DcConfig, TrunkTls, Ue, UeConfig};

const CALLEE_HOST: &str = "ue-b.test";
const TARGET: &str = "sip:+12155551001@ue-b.test";

fn config(impu: &str, dc: DcConfig, auto_answer: bool) -> UeConfig {
    UeConfig {
        impu: impu.into(),
        // Straight to the callee: the "trunk" is the other agent.
        access: Access::Trunk {
            ibcf_host: CALLEE_HOST.into(),
            tls: TrunkTls::None,
        },
        // A long T1: no retransmissions on a busy machine.
        timers: Timers {
            t1: Duration::from_secs(2),
            ..Timers::default()
        },
        wait: Duration::from_secs(5),
        auto_answer,
        dc: Some(dc),
        impi: None,
        password: None,
    }
}

fn dc(accept: bool, unreachable: bool) -> DcConfig {
    DcConfig {
        timers: DcTimers::default(),
        accept,
        unreachable,
        bootstrap: false,
    }
}

/// Caller `ue-a` and callee `ue-b` (with `callee` data channel settings) on one trace.
async fn pair(callee: DcConfig, auto_answer: bool) -> (Ue, Ue, Tap) {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(1_772_442_000), 7);
    let b = Ue::start(
        &ctx("ue-b", CALLEE_HOST),
        config(
            "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org",
            callee,
            auto_answer,
        ),
    )
    .await
    .unwrap();
    hosts.add(CALLEE_HOST, b.endpoint().local_addr());
    let a = Ue::start(
        &ctx("ue-a", "ue-a.test"),
        config(
            "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org",
            dc(true, false),
            true,
        ),
    )
    .await
    .unwrap();
    (a, b, tap)
}

/// The actions `node` noted itself (the data channel engine's own DC open / DC close left
/// out), in order.
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

fn avatar() -> DcMap {
    DcMap::reliable(1000, "avatar", "avatar-json")
}

const DONE: Outcome = Outcome::Done;

#[tokio::test]
async fn accepted_channels_open_and_are_released() {
    let (a, b, tap) = pair(dc(true, false), true).await;
    let mut call = a.call_with(TARGET, None, &[avatar()]).await.unwrap();
    assert_eq!(call.code, 200);
    assert_eq!(call.dc_refused, None);
    let near = call.dc.clone().unwrap();
    let far = b.answered_dc().unwrap();
    near.wait_open().await.unwrap();
    far.wait_open().await.unwrap();
    near.send(1000, b"{\"frame\":1}").await.unwrap();
    assert_eq!(
        far.recv(1000, Duration::from_secs(2)).await.unwrap(),
        b"{\"frame\":1}"
    );

    // The callee answers the re-INVITE with the description it gave: no section for the new
    // mid, so the call goes on without it.
    let added = a
        .add_channels(&mut call, "p2a", &[DcMap::reliable(1100, "app", "json")])
        .await;
    assert!(added.is_err(), "{added:?}");
    assert!(call.added.is_empty());

    assert_eq!(a.hang_up(&call).await.unwrap(), 200);
    assert!(near.is_closed() && far.is_closed());
    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, DONE),
            (Act::KeepSession, DONE),
            (Act::DcRelease, DONE)
        ]
    );
    assert_eq!(
        acts(&tap, "ue-a"),
        [
            (Act::DcUnavailable, Outcome::Refused(Reason::Malformed)),
            (Act::DcRelease, DONE)
        ]
    );
    a.shutdown();
    b.shutdown();
}

#[tokio::test]
async fn declined_channels_leave_a_typed_refusal() {
    let (a, b, tap) = pair(dc(false, false), true).await;
    let call = a.call_with(TARGET, None, &[avatar()]).await.unwrap();
    assert_eq!(call.code, 200);
    assert!(call.dc.is_none());
    assert_eq!(call.dc_refused, Some(DcError::Declined));
    assert!(b.answered_dc().is_none());
    assert_eq!(a.hang_up(&call).await.unwrap(), 200);
    // Nothing to release on either side: nothing noted.
    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, Outcome::Refused(Reason::Declined))
        ]
    );
    assert_eq!(
        acts(&tap, "ue-a"),
        [(Act::DcUnavailable, Outcome::Refused(Reason::Declined))]
    );
    a.shutdown();
    b.shutdown();
}

#[tokio::test]
async fn an_unreachable_answer_is_a_fault() {
    let (a, b, tap) = pair(dc(true, true), true).await;
    let call = a.call_with(TARGET, None, &[avatar()]).await.unwrap();
    assert_eq!(call.code, 200);
    // The answer itself is well formed: the caller only finds out when opening.
    assert!(call.dc.is_some());
    assert!(b.answered_dc().is_none());
    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, DONE),
            (Act::Tamper, DONE)
        ]
    );
    assert_eq!(a.hang_up(&call).await.unwrap(), 200);
    assert_eq!(acts(&tap, "ue-a"), [(Act::DcRelease, DONE)]);
    a.shutdown();
    b.shutdown();
}

#[tokio::test]
async fn a_cancel_stops_the_ringing() {
    let (a, b, tap) = pair(dc(true, false), false).await;
    let responses = a.call_and_cancel(TARGET).await.unwrap();
    assert_eq!(responses.last().unwrap().status_code.code(), 487);
    assert_eq!(b.ringing(), 0);
    assert_eq!(
        acts(&tap, "ue-b"),
        [(Act::Alert, DONE), (Act::StopRinging, DONE)]
    );
    assert!(acts(&tap, "ue-a").is_empty());
    a.shutdown();
    b.shutdown();
}
