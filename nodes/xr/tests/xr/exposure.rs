//! Solution 9 (TR 33.790 §6.9) at the DCSF and the MF over HTTPS with mutual TLS on loopback,
//! with a stand-in NEF (it subscribes, controls, and takes the notifications) and a stand-in
//! originating IMS AS (it reports a call's data channels and answers the DCSF's re-INVITE
//! requests with the answers of UE data channel peers): events recorded and notified; an
//! application data channel established toward both parties through the MF, updated (new
//! associations, same record) and terminated; the caller's bootstrap channel at the MF, over
//! which the UE downloads one application (`app-downloaded`), downloads at the NEF's request,
//! and which is terminated at the caller only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc::{DcOwner, DcTimers, Peer};
use kit::http::{Client, Request, Response, Server, handler};
use kit::node::{ClientAuth, HostTable, json_response};
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sdp::{DcMap, Media, Session};
use proto::trace::{Act, Body, Outcome, Reason};
use proto::wire::dcsf::App;
use proto::wire::exposure::{
    AS_DC_CONTROL_PATH, Change, ControlOutcome, ControlRequest, DCSF_CONTROL_PATH, DCSF_DC_PREFIX,
    DCSF_EVENTS_PATH, DCSF_SUBSCRIPTIONS_PATH, DcChange, DcChanged, DcRecord, DcReport, DcSection,
    DcsfSubscribe, EventKind, Notification, Operation, Party, PartyAnswer, Subscribed, Target,
};
use proto::wire::mf::{ADC_MID, ADC_STREAM, ANCHOR_PATH, AnchorRequest, AnchorResponse};
use xr::dcsf::{self, DcsfConfig, Exposure};
use xr::mf::{self, Mf, MfConfig};

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

fn answered(status: u16) -> PartyAnswer {
    PartyAnswer {
        reinvited: true,
        status,
        answer: None,
    }
}

fn not_reinvited() -> PartyAnswer {
    PartyAnswer {
        reinvited: false,
        status: 0,
        answer: None,
    }
}

/// The stand-in IMS AS: an added or updated section is answered by a new UE peer per party
/// (kept); a removal or a download re-INVITEs only the party it names (200), or both.
async fn as_answer(tap: Tap, ues: Arc<Mutex<Vec<Peer>>>, change: DcChange) -> Response {
    let only = |party: Option<Party>| {
        let one = |p| party.is_none_or(|only| only == p);
        DcChanged {
            caller: if one(Party::Caller) {
                answered(200)
            } else {
                not_reinvited()
            },
            callee: if one(Party::Callee) {
                answered(200)
            } else {
                not_reinvited()
            },
        }
    };
    let changed = match change.change {
        Change::Add { caller, callee } | Change::Update { caller, callee } => {
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
                    reinvited: true,
                    status: 200,
                    answer: Some(render(answered)),
                });
            }
            let callee = answers.pop().unwrap();
            let caller = answers.pop().unwrap();
            DcChanged { caller, callee }
        }
        Change::Remove { only: party, .. } => only(party),
        Change::Download { party, .. } => only(Some(party)),
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

/// The DCSF's control notes, in order.
fn control_notes(tap: &Tap) -> Vec<Outcome> {
    dcsf_actions(tap)
        .into_iter()
        .filter(|(a, _)| *a == Act::ControlDc)
        .map(|(_, o)| o)
        .collect()
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

/// The MF, the DCSF, the stand-in NEF and IMS AS, and what they took.
struct World {
    tap: Tap,
    mf: Arc<Mf>,
    servers: Vec<Server>,
    /// The NEF's client.
    nef: Client,
    /// The IMS AS's client.
    ims_as: Client,
    notified: Arc<Mutex<Vec<Notification>>>,
    /// The UE peers the stand-in AS answered added or updated sections with.
    ues: Arc<Mutex<Vec<Peer>>>,
    /// The changes the stand-in AS was asked for.
    changes: Arc<Mutex<Vec<DcChange>>>,
}

impl World {
    async fn start() -> Self {
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
        let changes: Arc<Mutex<Vec<DcChange>>> = Arc::default();
        let (as_tap, as_ues, as_changes) = (tap.clone(), ues.clone(), changes.clone());
        let as_ctx = ctx("as-o", AS_HOST);
        let as_server = as_ctx
            .https_server(
                handler(move |req: Request, _| {
                    assert_eq!(req.target, AS_DC_CONTROL_PATH);
                    let change: DcChange = serde_json::from_slice(&req.body).unwrap();
                    as_changes.lock().unwrap().push(change.clone());
                    as_answer(as_tap.clone(), as_ues.clone(), change)
                }),
                ClientAuth::Required,
            )
            .await
            .unwrap();
        hosts.add(AS_HOST, as_server.local_addr());
        World {
            nef: nef_ctx.https_client(true).unwrap(),
            ims_as: as_ctx.https_client(true).unwrap(),
            tap,
            mf,
            servers: vec![mf_server, dcsf_server, nef_server, as_server],
            notified,
            ues,
            changes,
        }
    }

    /// The notifications since the last call.
    fn taken(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.notified.lock().unwrap())
    }

    /// The changes the AS was asked for since the last call.
    fn changes(&self) -> Vec<Change> {
        std::mem::take(&mut *self.changes.lock().unwrap())
            .into_iter()
            .map(|c| c.change)
            .collect()
    }

    /// The UE peers answered since the last call.
    fn ues(&self) -> Vec<Peer> {
        std::mem::take(&mut *self.ues.lock().unwrap())
    }

    /// The NEF's subscription to every event of the caller (`sub-1`).
    async fn subscribe(&self) {
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
            post(&self.ims_as, DCSF_SUBSCRIPTIONS_PATH, &subscribe)
                .await
                .status,
            403
        );
        let created = post(&self.nef, DCSF_SUBSCRIPTIONS_PATH, &subscribe).await;
        assert_eq!(created.status, 201);
        let created: Subscribed = serde_json::from_slice(&created.body).unwrap();
        assert_eq!(created.subscription_id, "sub-1");
    }

    /// The AS reports the caller's bootstrap channel (twice: one record): `dc-1` notified.
    async fn report_bdc(&self) {
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
        assert_eq!(post(&self.nef, DCSF_EVENTS_PATH, &report).await.status, 403);
        assert_eq!(
            post(&self.ims_as, DCSF_EVENTS_PATH, &report).await.status,
            204
        );
        assert_eq!(
            post(&self.ims_as, DCSF_EVENTS_PATH, &report).await.status,
            204
        );
        let n = self.taken();
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(
            (n[0].event, n[0].dc_id.as_deref(), n[0].at),
            (EventKind::DcEstablished, Some("dc-1"), NOW)
        );
    }

    /// A control request of the NEF: the status and the outcome, if the body is one.
    async fn control(&self, req: &ControlRequest) -> (u16, Option<ControlOutcome>) {
        let answer = post(&self.nef, DCSF_CONTROL_PATH, req).await;
        (answer.status, serde_json::from_slice(&answer.body).ok())
    }

    async fn stop(self) {
        self.mf.shutdown().await;
        for s in self.servers {
            s.shutdown();
        }
    }
}

async fn post<T: serde::Serialize>(client: &Client, path: &str, body: &T) -> Response {
    let url = format!("https://{DCSF_HOST}{path}");
    client
        .send(Request::post_json(url, serde_json::to_vec(body).unwrap()))
        .await
        .unwrap()
}

/// Each UE's message on the ADC is acknowledged by the MF's application.
async fn exchange(peers: &[Peer]) {
    for ue in peers {
        ue.wait_open().await.unwrap();
        ue.send(ADC_STREAM, br#"{"hello":"app"}"#).await.unwrap();
        let ack = ue.recv(ADC_STREAM, Duration::from_secs(3)).await.unwrap();
        let ack: serde_json::Value = serde_json::from_slice(&ack).unwrap();
        assert_eq!(ack["app"], "avatar-call");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_notified_and_an_adc_is_established_updated_and_terminated() {
    let w = World::start().await;
    w.subscribe().await;
    w.report_bdc().await;

    // The caller's UE fetches its list (the MF asks): not an application, nothing notified;
    // one application: app-downloaded of it.
    let get = |path: String| {
        w.ims_as
            .send(Request::get(format!("https://{DCSF_HOST}{path}")))
    };
    let list = get(proto::wire::dcsf::path("12025551000")).await.unwrap();
    assert_eq!(list.status, 200);
    assert!(w.taken().is_empty());
    let one = get(proto::wire::dcsf::app_path("12025551000", "screen-share"))
        .await
        .unwrap();
    assert_eq!(one.status, 200);
    let app: App = serde_json::from_slice(&one.body).unwrap();
    assert_eq!(app.id, "screen-share");
    let n = w.taken();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0].event, n[0].dc_id.as_deref(), n[0].target),
        (EventKind::AppDownloaded, Some("dc-1"), Some(Target::Bdc))
    );
    assert_eq!(
        n[0].app.as_ref().unwrap().name.as_deref(),
        Some("Screen share")
    );
    let none = get(proto::wire::dcsf::app_path("12025551000", "nope"))
        .await
        .unwrap();
    assert_eq!(none.status, 404);
    assert!(w.taken().is_empty());

    // Establish an ADC of avatar-call: offers, re-INVITEs, completes; dc-2.
    let (status, outcome) = w
        .control(&control(Operation::Establish, Target::Adc, None))
        .await;
    assert_eq!(status, 200);
    let outcome = outcome.unwrap();
    assert_eq!(outcome.dc_id.as_deref(), Some("dc-2"));
    assert_eq!(outcome.reinvites, [200, 200]);
    let n = w.taken();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].event, EventKind::DcEstablished);
    assert_eq!(
        n[0].app.as_ref().unwrap().name.as_deref(),
        Some("Avatar call")
    );
    // Both legs are served by the MF: each UE's message is acknowledged.
    let first = w.ues();
    assert_eq!(first.len(), 2);
    let old = w.mf.peer("+12025551000", ADC_MID).unwrap();
    assert!(w.mf.peer("+12155551001", ADC_MID).is_some());
    exchange(&first).await;
    assert!(matches!(w.changes()[..], [Change::Add { .. }]));

    // Update it: the old associations released, new ones offered and served; same record,
    // nothing notified.
    let (status, outcome) = w
        .control(&control(Operation::Update, Target::Adc, Some("dc-2")))
        .await;
    assert_eq!(status, 200);
    let outcome = outcome.unwrap();
    assert_eq!(
        (
            outcome.operation,
            outcome.dc_id.as_deref(),
            outcome.reinvites
        ),
        (Operation::Update, Some("dc-2"), vec![200, 200])
    );
    assert!(w.taken().is_empty());
    assert!(matches!(w.changes()[..], [Change::Update { .. }]));
    let new = w.mf.peer("+12025551000", ADC_MID).unwrap();
    assert!(!Arc::ptr_eq(&old, &new), "a new association");
    assert!(old.is_closed(), "the old association released");
    let second = w.ues();
    assert_eq!(second.len(), 2);
    exchange(&second).await;
    let record = w
        .nef
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
    assert_eq!(w.control(&stop).await.0, 200);
    assert_eq!(
        w.changes(),
        [Change::Remove {
            mid: ADC_MID.into(),
            only: None
        }]
    );
    let n = w.taken();
    assert_eq!(
        n.iter()
            .map(|n| (n.event, n.dc_id.clone()))
            .collect::<Vec<_>>(),
        [(EventKind::DcTerminated, Some("dc-2".into()))]
    );
    assert!(w.mf.peer("+12025551000", ADC_MID).is_none());
    assert_eq!(w.control(&stop).await.0, 409);
    let update = control(Operation::Update, Target::Adc, Some("dc-2"));
    assert_eq!(w.control(&update).await.0, 409);
    let update_bdc = control(Operation::Update, Target::Bdc, Some("dc-1"));
    assert_eq!(w.control(&update_bdc).await.0, 501);
    let unknown = w
        .nef
        .send(Request::get(format!(
            "https://{DCSF_HOST}{DCSF_DC_PREFIX}dc-9"
        )))
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);

    assert_eq!(
        control_notes(&w.tap),
        [
            Outcome::Done,
            Outcome::Done,
            Outcome::Done,
            Outcome::Refused(Reason::Closed),
            Outcome::Refused(Reason::Closed),
            Outcome::Refused(Reason::Policy)
        ]
    );
    let acts = dcsf_actions(&w.tap);
    assert!(acts.contains(&(
        Act::SubscribeDcEvents,
        Outcome::Refused(Reason::NotAuthorised)
    )));
    assert!(acts.contains(&(Act::NotifyDcEvent, Outcome::Refused(Reason::NotAuthorised))));
    assert_eq!(
        acts.iter()
            .filter(|(a, o)| *a == Act::NotifyDcEvent && o.is_done())
            .count(),
        4
    );
    for ue in first.into_iter().chain(second) {
        ue.close().await;
    }
    w.stop().await;
}

/// The caller's bootstrap channel (mid `bdc`, stream 0, subprotocol `http`) answered by the MF.
async fn bootstrap_channel(w: &World) -> Peer {
    let owner = DcOwner {
        node: "ue-a".into(),
        tap: w.tap.clone(),
        timers: timers(),
    };
    let map = DcMap::reliable(0, "bootstrap", "http");
    let mut rng = Rng::for_node(7, "ue-a-bdc");
    let (ue, section) = Peer::offer(&owner, &mut rng, "bdc", &[map], &[])
        .await
        .unwrap();
    let anchor = AnchorRequest {
        tn: "+12025551000".into(),
        call_id: CALL.into(),
        offer: render(section),
        avatar: None,
    };
    let url = format!("https://{MF_HOST}{ANCHOR_PATH}");
    let body = serde_json::to_vec(&anchor).unwrap();
    let answer = w.ims_as.send(Request::post_json(url, body)).await.unwrap();
    assert_eq!(answer.status, 200);
    let answer: AnchorResponse = serde_json::from_slice(&answer.body).unwrap();
    ue.complete(&one_section(&answer.answer)).await.unwrap();
    ue.wait_open().await.unwrap();
    // A message the UE sends before the MF's side is open may be lost by the engine (the MF
    // does not wait for its bootstrap side to open: wait here).
    let mf_side = w.mf.peer("+12025551000", "bdc").unwrap();
    mf_side.wait_open().await.unwrap();
    ue
}

/// One HTTP/1.1 request on the bootstrap channel: the status line and the body.
async fn http(ue: &Peer, path: &str) -> (String, Vec<u8>) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: mf\r\n\r\n");
    ue.send(0, request.as_bytes()).await.unwrap();
    let reply = ue.recv(0, Duration::from_secs(10)).await.unwrap();
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&reply[..at]).to_string();
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, reply[at + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_channel_downloads_and_is_terminated_at_the_caller_only() {
    let w = World::start().await;
    w.subscribe().await;
    let ue = bootstrap_channel(&w).await;
    w.report_bdc().await;

    // The UE downloads one application over its bootstrap channel: the MF asks the DCSF, which
    // notifies app-downloaded of that application; the list is not a download.
    let (status, body) = http(&ue, &proto::wire::dcsf::bootstrap_app_path("avatar-call")).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let app: App = serde_json::from_slice(&body).unwrap();
    assert_eq!(app.avatar_ids, ["qbranch-agent", "qbranch-cat"]);
    let n = w.taken();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (
            n[0].event,
            n[0].dc_id.as_deref(),
            n[0].app.as_ref().map(|a| a.id.as_str())
        ),
        (EventKind::AppDownloaded, Some("dc-1"), Some("avatar-call"))
    );
    let (status, _) = http(&ue, "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let (status, _) = http(&ue, "/apps/nope").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(w.taken().is_empty());

    // The caller has its bootstrap channel: another is refused.
    let (status, _) = w
        .control(&control(Operation::Establish, Target::Bdc, None))
        .await;
    assert_eq!(status, 409);

    // The NEF has the caller, then the callee, download an application over its BDC.
    let mut download = control(Operation::Download, Target::Bdc, None);
    download.app_id = Some("screen-share".into());
    let (status, outcome) = w.control(&download).await;
    assert_eq!(status, 200);
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.operation, outcome.target, outcome.reinvites),
        (Operation::Download, Target::Bdc, vec![200])
    );
    assert_eq!(outcome.app_id.as_deref(), Some("screen-share"));
    download.impu = "tel:+12155551001".into();
    assert_eq!(w.control(&download).await.0, 200);
    assert_eq!(
        w.changes(),
        [
            Change::Download {
                party: Party::Caller,
                app: "screen-share".into()
            },
            Change::Download {
                party: Party::Callee,
                app: "screen-share".into()
            }
        ]
    );
    download.app_id = None;
    assert_eq!(w.control(&download).await.0, 400);
    assert!(w.taken().is_empty(), "the UE's own download notifies");

    // Terminate the caller's BDC: removed at the caller only, released at the MF.
    let (status, outcome) = w
        .control(&control(Operation::Terminate, Target::Bdc, Some("dc-1")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(outcome.unwrap().reinvites, [200, 0]);
    assert_eq!(
        w.changes(),
        [Change::Remove {
            mid: "bdc".into(),
            only: Some(Party::Caller)
        }]
    );
    assert!(w.mf.peer("+12025551000", "bdc").is_none());
    let n = w.taken();
    assert_eq!(
        n.iter()
            .map(|n| (n.event, n.dc_id.clone()))
            .collect::<Vec<_>>(),
        [(EventKind::DcTerminated, Some("dc-1".into()))]
    );
    // Without one, establishing a BDC is not carried out by the testbed.
    let (status, _) = w
        .control(&control(Operation::Establish, Target::Bdc, None))
        .await;
    assert_eq!(status, 501);

    assert_eq!(
        control_notes(&w.tap),
        [
            Outcome::Refused(Reason::Policy),
            Outcome::Done,
            Outcome::Done,
            Outcome::Refused(Reason::Malformed),
            Outcome::Done,
            Outcome::Refused(Reason::Policy)
        ]
    );
    let mf_serves: Vec<Outcome> = w
        .tap
        .ordered()
        .into_iter()
        .filter(|r| r.node == "mf-o")
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => note.action(),
            _ => None,
        })
        .filter(|(a, _)| *a == Act::DcServe)
        .map(|(_, o)| o)
        .collect();
    assert_eq!(
        mf_serves,
        [
            Outcome::Done,
            Outcome::Done,
            Outcome::Refused(Reason::NoRecord)
        ]
    );
    ue.close().await;
    w.stop().await;
}
