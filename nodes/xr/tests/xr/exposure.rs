//! Solution 9 (TR 33.790 §6.9) at the DCSF and the MF over HTTPS with mutual TLS on loopback,
//! with a stand-in NEF (it subscribes, controls, and takes the notifications) and a stand-in
//! originating IMS AS (it reports a call's data channels and answers the DCSF's re-INVITE
//! requests with the answers of two UE data channel peers): events recorded and notified, an
//! application data channel established toward both parties through the MF and terminated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc::{DcOwner, DcTimers, Peer};
use kit::http::{Client, Request, Response, handler};
use kit::node::{ClientAuth, HostTable, json_response};
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sdp::{Media, Session};
use proto::trace::{Act, Body, Outcome, Reason};
use proto::wire::exposure::{
    AS_DC_CONTROL_PATH, Change, ControlOutcome, ControlRequest, DCSF_CONTROL_PATH, DCSF_DC_PREFIX,
    DCSF_EVENTS_PATH, DCSF_SUBSCRIPTIONS_PATH, DcChange, DcChanged, DcRecord, DcReport, DcSection,
    DcsfSubscribe, EventKind, Notification, Operation, PartyAnswer, Subscribed, Target,
};
use proto::wire::mf::{ADC_MID, ADC_STREAM};
use xr::dcsf::{self, DcsfConfig, Exposure};
use xr::mf::{self, MfConfig};

const MF_HOST: &str = "mf.ims.mnc001.mcc001.3gppnetwork.org";
const DCSF_HOST: &str = "dcsf.ims.mnc001.mcc001.3gppnetwork.org";
const AS_HOST: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const NEF_HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
const A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
const CALL: &str = "call-9";
const NOW: i64 = 1_772_442_000;

fn timers() -> DcTimers {
    DcTimers {
        connect: Duration::from_secs(10),
        ..DcTimers::default()
    }
}

fn one_section(sdp: &str) -> proto::sdp::Application {
    Session::parse(sdp)
        .unwrap()
        .applications()
        .next()
        .cloned()
        .unwrap()
}

fn render(section: proto::sdp::Application) -> String {
    Session {
        session_id: 0,
        version: 0,
        name: "-".into(),
        media: vec![Media::Application(section)],
    }
    .render()
}

/// The stand-in IMS AS: an added section is answered by a new UE peer per party (kept), a
/// removed one with 200 twice.
async fn as_answer(tap: Tap, ues: Arc<Mutex<Vec<Peer>>>, req: Request) -> Response {
    let change: DcChange = serde_json::from_slice(&req.body).unwrap();
    let changed = match change.change {
        Change::Add { caller, callee } => {
            let mut answers = Vec::new();
            for (name, offer) in [("ue-a", caller), ("ue-b", callee)] {
                let owner = DcOwner {
                    node: name.into(),
                    tap: tap.clone(),
                    timers: timers(),
                };
                let offered = one_section(&offer);
                assert_eq!(offered.mid, ADC_MID);
                let (peer, answered) = Peer::answer(&owner, &mut Rng::for_node(7, name), &offered)
                    .await
                    .unwrap();
                ues.lock().unwrap().push(peer);
                answers.push(PartyAnswer {
                    status: 200,
                    answer: Some(render(answered)),
                });
            }
            let callee = answers.pop().unwrap();
            let caller = answers.pop().unwrap();
            DcChanged { caller, callee }
        }
        _ => DcChanged {
            caller: PartyAnswer {
                status: 200,
                answer: None,
            },
            callee: PartyAnswer {
                status: 200,
                answer: None,
            },
        },
    };
    json_response(200, &changed)
}

/// The DCSF's action notes, in order.
fn dcsf_actions(tap: &Tap) -> Vec<(Act, Outcome)> {
    tap.ordered()
        .into_iter()
        .filter(|r| r.node == "dcsf-o")
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => note.action(),
            _ => None,
        })
        .collect()
}

async fn post<T: serde::Serialize>(client: &Client, path: &str, body: &T) -> Response {
    let url = format!("https://{DCSF_HOST}{path}");
    client
        .send(Request::post_json(url, serde_json::to_vec(body).unwrap()))
        .await
        .unwrap()
}

fn control(operation: Operation, target: Target, dc_id: Option<&str>) -> ControlRequest {
    ControlRequest {
        impu: A.into(),
        operation,
        target,
        dc_id: dc_id.map(str::to_owned),
        app_id: Some("avatar-call".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_notified_and_an_adc_is_established_and_terminated() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(NOW), 7);
    let mf_config = MfConfig {
        dcsf_host: DCSF_HOST.into(),
        timers: timers(),
        xr_as_host: None,
        bar_host: None,
        verify_metadata: false,
    };
    let (mf, mf_server) = mf::start(&ctx("mf-o", MF_HOST), mf_config).await.unwrap();
    hosts.add(MF_HOST, mf_server.local_addr());
    let dcsf_config = DcsfConfig {
        store: dcsf::Store::load().unwrap(),
        avatar_mf_host: None,
        exposure: Some(Exposure {
            nef_host: NEF_HOST.into(),
            as_hosts: vec![AS_HOST.into()],
            as_host: AS_HOST.into(),
            mf_host: MF_HOST.into(),
        }),
    };
    let dcsf_server = dcsf::start(&ctx("dcsf-o", DCSF_HOST), dcsf_config)
        .await
        .unwrap();
    hosts.add(DCSF_HOST, dcsf_server.local_addr());
    // The stand-in NEF takes notifications; the stand-in AS answers re-INVITE requests.
    let notified: Arc<Mutex<Vec<Notification>>> = Arc::default();
    let sink = notified.clone();
    let nef_ctx = ctx("nef", NEF_HOST);
    let nef_server = nef_ctx
        .https_server(
            handler(move |req: Request, _| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&req.body).unwrap());
                    Response::new(204, "text/plain", "")
                }
            }),
            ClientAuth::Required,
        )
        .await
        .unwrap();
    hosts.add(NEF_HOST, nef_server.local_addr());
    let ues: Arc<Mutex<Vec<Peer>>> = Arc::default();
    let (as_tap, as_ues) = (tap.clone(), ues.clone());
    let as_ctx = ctx("as-o", AS_HOST);
    let as_server = as_ctx
        .https_server(
            handler(move |req: Request, _| {
                assert_eq!(req.target, AS_DC_CONTROL_PATH);
                as_answer(as_tap.clone(), as_ues.clone(), req)
            }),
            ClientAuth::Required,
        )
        .await
        .unwrap();
    hosts.add(AS_HOST, as_server.local_addr());
    let nef = nef_ctx.https_client(true).unwrap();
    let ims_as = as_ctx.https_client(true).unwrap();
    let taken = || std::mem::take(&mut *notified.lock().unwrap());

    // The NEF subscribes for the caller; the AS may not.
    let subscribe = DcsfSubscribe {
        impu: "tel:+12025551000".into(),
        events: vec![
            EventKind::DcEstablished,
            EventKind::DcTerminated,
            EventKind::AppDownloaded,
        ],
        notify_uri: format!("https://{NEF_HOST}/nef/v1/dc-notifications/n-1"),
    };
    assert_eq!(
        post(&ims_as, DCSF_SUBSCRIPTIONS_PATH, &subscribe)
            .await
            .status,
        403
    );
    let created = post(&nef, DCSF_SUBSCRIPTIONS_PATH, &subscribe).await;
    assert_eq!(created.status, 201);
    let created: Subscribed = serde_json::from_slice(&created.body).unwrap();
    assert_eq!(created.subscription_id, "sub-1");

    // The AS reports the call's bootstrap channel (twice: one record); the NEF may not report.
    let report = DcReport {
        event: EventKind::DcEstablished,
        call_id: CALL.into(),
        caller: A.into(),
        callee: B.into(),
        sections: vec![DcSection {
            mid: "bdc".into(),
            target: Target::Bdc,
            app: None,
            labels: vec!["bootstrap".into()],
        }],
    };
    assert_eq!(post(&nef, DCSF_EVENTS_PATH, &report).await.status, 403);
    assert_eq!(post(&ims_as, DCSF_EVENTS_PATH, &report).await.status, 204);
    assert_eq!(post(&ims_as, DCSF_EVENTS_PATH, &report).await.status, 204);
    let n = taken();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0].event, n[0].dc_id.as_deref(), n[0].at),
        (EventKind::DcEstablished, Some("dc-1"), NOW)
    );

    // The caller's UE fetches its list over its BDC (the MF asks): app-downloaded per app.
    let list = ims_as
        .send(Request::get(format!(
            "https://{DCSF_HOST}/dcsf/v1/subscribers/12025551000/apps"
        )))
        .await
        .unwrap();
    assert_eq!(list.status, 200);
    let n = taken();
    assert!(n.len() >= 2, "{n:?}");
    assert!(n.iter().all(|n| n.event == EventKind::AppDownloaded
        && n.dc_id.as_deref() == Some("dc-1")
        && n.target == Some(Target::Bdc)));
    assert_eq!(n[0].app.as_ref().unwrap().id, "avatar-call");

    // Establish an ADC of avatar-call: offers, re-INVITEs, completes; dc-2.
    let answer = post(
        &nef,
        DCSF_CONTROL_PATH,
        &control(Operation::Establish, Target::Adc, None),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let outcome: ControlOutcome = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(outcome.dc_id.as_deref(), Some("dc-2"));
    assert_eq!(outcome.reinvites, [200, 200]);
    let n = taken();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].event, EventKind::DcEstablished);
    assert_eq!(
        n[0].app.as_ref().unwrap().name.as_deref(),
        Some("Avatar call")
    );
    // Both legs are served by the MF: each UE's message is acknowledged.
    let peers = std::mem::take(&mut *ues.lock().unwrap());
    for (tn, ue) in ["+12025551000", "+12155551001"].into_iter().zip(&peers) {
        assert!(mf.peer(tn, ADC_MID).is_some(), "{tn}");
        ue.wait_open().await.unwrap();
        ue.send(ADC_STREAM, br#"{"hello":"app"}"#).await.unwrap();
        let ack = ue.recv(ADC_STREAM, Duration::from_secs(3)).await.unwrap();
        let ack: serde_json::Value = serde_json::from_slice(&ack).unwrap();
        assert_eq!(ack["app"], "avatar-call");
    }
    let record = nef
        .send(Request::get(format!(
            "https://{DCSF_HOST}{DCSF_DC_PREFIX}dc-2"
        )))
        .await
        .unwrap();
    assert_eq!(record.status, 200);
    let record: DcRecord = serde_json::from_slice(&record.body).unwrap();
    assert!(record.open && record.section.app.as_deref() == Some("avatar-call"));

    // Terminate it: the MF's ADC associations go, the bootstrap record stays.
    let stop = control(Operation::Terminate, Target::Adc, Some("dc-2"));
    assert_eq!(post(&nef, DCSF_CONTROL_PATH, &stop).await.status, 200);
    let n = taken();
    assert_eq!(
        n.iter()
            .map(|n| (n.event, n.dc_id.clone()))
            .collect::<Vec<_>>(),
        [(EventKind::DcTerminated, Some("dc-2".into()))]
    );
    assert!(mf.peer("+12025551000", ADC_MID).is_none());
    assert_eq!(post(&nef, DCSF_CONTROL_PATH, &stop).await.status, 409);
    let update = control(Operation::Update, Target::Adc, Some("dc-2"));
    assert_eq!(post(&nef, DCSF_CONTROL_PATH, &update).await.status, 501);
    let unknown = nef
        .send(Request::get(format!(
            "https://{DCSF_HOST}{DCSF_DC_PREFIX}dc-9"
        )))
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);

    let acts = dcsf_actions(&tap);
    let control_notes: Vec<Outcome> = acts
        .iter()
        .filter(|(a, _)| *a == Act::ControlDc)
        .map(|(_, o)| *o)
        .collect();
    assert_eq!(
        control_notes,
        [
            Outcome::Done,
            Outcome::Done,
            Outcome::Refused(Reason::Closed),
            Outcome::Refused(Reason::Policy)
        ]
    );
    assert!(acts.contains(&(
        Act::SubscribeDcEvents,
        Outcome::Refused(Reason::NotAuthorised)
    )));
    assert!(acts.contains(&(Act::NotifyDcEvent, Outcome::Refused(Reason::NotAuthorised))));
    assert!(
        acts.iter()
            .filter(|(a, _)| *a == Act::NotifyDcEvent)
            .filter(|(_, o)| o.is_done())
            .count()
            >= 5
    );

    for ue in peers {
        ue.close().await;
    }
    mf.shutdown().await;
    for s in [mf_server, dcsf_server, nef_server, as_server] {
        s.shutdown();
    }
}
