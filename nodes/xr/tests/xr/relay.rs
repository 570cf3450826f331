//! The relay chains of TR 33.790 solutions 5 and 6 over HTTPS with mutual TLS, with no data
//! channel: the XR AS's list check and the Avatar ID through the DCSF to the MF (which refuses
//! the download: no token arrived), and steps 5–7 of solution 6 with a stand-in DAC (the MF
//! keeps the object to render; a DAC refusal is the answer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use avatar::Catalogue;
use avatar::attestation::{self, Claims};
use dc::DcTimers;
use kit::http::{Client, Request, Response, handler};
use kit::node::{ClientAuth, HostTable, json_response};
use kit::tap::Tap;
use proto::clock::Clock;
use proto::trace::{Act, Body, Outcome, Reason};
use proto::wire::avatar::{
    ADC_PATH, Accepted, AdcEstablished, ObjectRequest, ObjectResponse, Problem, RENDERING_PATH,
    Rendering, SELECT_PATH, XrRendering, XrSelection,
};
use xr::dcsf::{self, DcsfConfig};
use xr::mf::{self, MfConfig};
use xr::xr_as::{self, XrAsConfig};

const MF_HOST: &str = "mf.ims.mnc001.mcc001.3gppnetwork.org";
const DCSF_HOST: &str = "dcsf.ims.mnc001.mcc001.3gppnetwork.org";
const XR_HOST: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const DAC_HOST: &str = "dac.avatars.example";
const UE_A: &str = "+12025551000";
const NOW: i64 = 1_772_442_000;

/// The action notes of `node` (but `DC open`), in order.
fn actions(tap: &Tap, node: &str) -> Vec<(Act, Outcome)> {
    tap.ordered()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => note.action(),
            _ => None,
        })
        .filter(|(act, _)| *act != Act::DcOpen)
        .collect()
}

fn problem(r: &Response) -> Problem {
    serde_json::from_slice(&r.body).unwrap()
}

/// The stand-in DAC: the object for an attestation naming this XR AS, 403 otherwise.
fn dac_answer(req: &Request) -> Response {
    let att: ObjectRequest = serde_json::from_slice(&req.body).unwrap();
    let claims = attestation::unverified_claims(&att.attestation).unwrap();
    if claims.xr_as != XR_HOST {
        let refused = Problem {
            reason: Reason::NotAuthorised,
            detail: "another XR AS".into(),
        };
        return json_response(403, &refused);
    }
    let model = Catalogue::load()
        .unwrap()
        .get(&claims.avatar_id)
        .unwrap()
        .model
        .clone();
    let object = ObjectResponse {
        avatar_id: claims.avatar_id,
        rendering: claims.rendering,
        object: Some(model),
        protected: None,
    };
    json_response(200, &object)
}

/// The UE-A attestation for network-centric rendering naming `xr_as`.
fn attestation(xr_as: &str) -> String {
    let pem = kit::fixtures::read("pki/ue/ue-a.key.pem").unwrap();
    let key = avatar::keys::signing_key_pem(&String::from_utf8(pem).unwrap()).unwrap();
    let claims = Claims {
        avatar_id: "qbranch-agent".into(),
        xr_as: xr_as.into(),
        rendering: Rendering::NetworkCentric,
        epk_ue_a: None,
        epk_ue_b: None,
        exp: NOW + attestation::LIFETIME,
    };
    attestation::sign(&claims, &key)
}

struct World {
    tap: Tap,
    mf: Arc<mf::Mf>,
    servers: Vec<kit::http::Server>,
    /// The MF's client (the XR AS's client is the MF).
    client: Client,
}

async fn world() -> World {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(NOW), 7);
    let config = MfConfig {
        dcsf_host: DCSF_HOST.into(),
        timers: DcTimers {
            connect: Duration::from_secs(10),
            ..DcTimers::default()
        },
        xr_as_host: Some(XR_HOST.into()),
        bar_host: Some("bar.avatars.example".into()),
        verify_metadata: false,
    };
    let mf_ctx = ctx("mf-o", MF_HOST);
    let (mf, mf_server) = mf::start(&mf_ctx, config).await.unwrap();
    hosts.add(MF_HOST, mf_server.local_addr());
    let dcsf_config = DcsfConfig {
        store: dcsf::Store::default(),
        avatar_mf_host: Some(MF_HOST.into()),
        exposure: None,
    };
    let dcsf_server = dcsf::start(&ctx("dcsf-o", DCSF_HOST), dcsf_config)
        .await
        .unwrap();
    hosts.add(DCSF_HOST, dcsf_server.local_addr());
    let xr_config = XrAsConfig {
        dcsf_host: DCSF_HOST.into(),
        dac_host: DAC_HOST.into(),
        mf_host: MF_HOST.into(),
        catalogue: Catalogue::load().unwrap(),
        tamper: None,
        nef_host: None,
        dac_certificate: Vec::new(),
        client_certificate: true,
        ims_as_host: None,
    };
    let xr_server = xr_as::start(&ctx("xr-as-o", XR_HOST), xr_config)
        .await
        .unwrap();
    hosts.add(XR_HOST, xr_server.local_addr());
    let dac = handler(|req: Request, _| async move { dac_answer(&req) });
    let dac_server = ctx("dac", DAC_HOST)
        .https_server(dac, ClientAuth::Required)
        .await
        .unwrap();
    hosts.add(DAC_HOST, dac_server.local_addr());
    World {
        tap,
        mf,
        servers: vec![mf_server, dcsf_server, xr_server, dac_server],
        client: mf_ctx.https_client(true).unwrap(),
    }
}

impl World {
    async fn post<T: serde::Serialize>(&self, path: &str, body: &T) -> Response {
        let url = format!("https://{XR_HOST}{path}");
        let body = serde_json::to_vec(body).unwrap();
        self.client
            .send(Request::post_json(url, body))
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.mf.shutdown().await;
        for s in self.servers {
            s.shutdown();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_avatar_id_is_checked_then_relayed_to_the_mf_via_the_dcsf() {
    let w = world().await;
    let select = |avatar_id: &str| XrSelection {
        tn: UE_A.into(),
        call_id: "call-5".into(),
        avatar_id: avatar_id.into(),
    };

    // Steps 1–2: UE-B's avatar is not in UE-A's list.
    let refused = w.post(SELECT_PATH, &select("owl")).await;
    assert_eq!(refused.status, 403);
    assert_eq!(problem(&refused).reason, Reason::NotEntitled);
    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [(Act::CheckAvatarList, Outcome::Refused(Reason::NotEntitled))]
    );
    assert!(
        actions(&w.tap, "dcsf-o").is_empty(),
        "the DCSF is not asked"
    );

    // Steps 3–4: UE-A's avatar goes through; the MF holds no token, refuses without the BAR,
    // and its answer comes back through the DCSF and the XR AS.
    let answer = w.post(SELECT_PATH, &select("qbranch-agent")).await;
    assert_eq!(answer.status, 403);
    assert_eq!(problem(&answer).reason, Reason::MissingIdentity);
    assert_eq!(
        actions(&w.tap, "xr-as-o")[1..],
        [
            (Act::CheckAvatarList, Outcome::Done),
            (Act::ForwardAvatarId, Outcome::Done)
        ]
    );
    assert_eq!(
        actions(&w.tap, "dcsf-o"),
        [(Act::ForwardAvatarId, Outcome::Done)]
    );
    assert_eq!(
        actions(&w.tap, "mf-o"),
        [(
            Act::DownloadAvatarModel,
            Outcome::Refused(Reason::MissingIdentity)
        )]
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_5_to_7_run_once_with_the_negotiation_and_the_adc() {
    let w = world().await;
    let rendering = rendering_for;
    let adc = |call_id: &str| AdcEstablished {
        tn: UE_A.into(),
        call_id: call_id.into(),
    };

    // An attestation that does not decode.
    let bad = w
        .post(RENDERING_PATH, &rendering("call-6", "a.b".into()))
        .await;
    assert_eq!((bad.status, problem(&bad).reason), (400, Reason::Malformed));

    // Step 2: accepted at once, nothing requested yet.
    let ok = w
        .post(RENDERING_PATH, &rendering("call-6", attestation(XR_HOST)))
        .await;
    assert_eq!(ok.status, 200);
    let accepted: Accepted = serde_json::from_slice(&ok.body).unwrap();
    assert_eq!(accepted.status, "rendering negotiated (network-centric)");
    assert!(actions(&w.tap, "xr-as-o").is_empty());

    // Step 4 → 5–7: the object requested and handed to the MF; once per call.
    assert_eq!(w.post(ADC_PATH, &adc("call-6")).await.status, 204);
    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [
            (Act::RequestAvatarObject, Outcome::Done),
            (Act::RequestRendering, Outcome::Done)
        ]
    );
    assert_eq!(w.post(ADC_PATH, &adc("call-6")).await.status, 204);
    assert_eq!(actions(&w.tap, "xr-as-o").len(), 2, "one run per call");

    // The ADC first, then an attestation for another XR AS: the DAC's refusal is the answer.
    assert_eq!(w.post(ADC_PATH, &adc("call-7")).await.status, 204);
    let other = "xr-as.ims.mnc002.mcc001.3gppnetwork.org";
    let refused = w
        .post(RENDERING_PATH, &rendering("call-7", attestation(other)))
        .await;
    assert_eq!(
        (refused.status, problem(&refused).reason),
        (403, Reason::NotAuthorised)
    );
    assert_eq!(
        actions(&w.tap, "xr-as-o")[2..],
        [(
            Act::RequestAvatarObject,
            Outcome::Refused(Reason::NotAuthorised)
        )]
    );
    // The MF rendered nothing and noted nothing.
    assert!(actions(&w.tap, "mf-o").is_empty());
    w.stop().await;
}

/// The caller's application channel (mid `p2a`, stream 1100) answered by the MF.
async fn caller_channel(w: &World, call_id: &str) -> dc::Peer {
    use dc::{DcOwner, Peer};
    use proto::sdp::{DcMap, Media, Session};
    use proto::wire::avatar::AVATAR_APP_STREAM;
    use proto::wire::mf::{ANCHOR_PATH, AnchorRequest, AnchorResponse};
    let owner = DcOwner {
        node: "ue-a".into(),
        tap: w.tap.clone(),
        timers: DcTimers {
            connect: Duration::from_secs(10),
            ..DcTimers::default()
        },
    };
    let map = DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "");
    let mut rng = proto::clock::Rng::for_node(7, "ue-a");
    let (ue, section) = Peer::offer(&owner, &mut rng, "p2a", &[map], &[])
        .await
        .unwrap();
    let offer = Session {
        session_id: 0,
        version: 0,
        name: "-".into(),
        media: vec![Media::Application(section)],
    }
    .render();
    let anchor = AnchorRequest {
        tn: UE_A.into(),
        call_id: call_id.into(),
        offer,
        avatar: None,
    };
    let url = format!("https://{MF_HOST}{ANCHOR_PATH}");
    let body = serde_json::to_vec(&anchor).unwrap();
    let answer = w.client.send(Request::post_json(url, body)).await.unwrap();
    let answer: AnchorResponse = serde_json::from_slice(&answer.body).unwrap();
    let answered = Session::parse(&answer.answer)
        .unwrap()
        .applications()
        .next()
        .cloned()
        .unwrap();
    ue.complete(&answered).await.unwrap();
    ue.wait_open().await.unwrap();
    // A message the UE sends before the MF's side is open may be lost by the engine.
    super::metadata::mf_side_open(&w.tap).await;
    ue
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mf_holds_the_token_reports_the_adc_and_renders_with_the_xr_as_object() {
    use proto::wire::avatar::{AVATAR_APP_STREAM, DcMessage};
    let w = world().await;
    let call = "call-8";
    // Step 2 first (the TR's order): the negotiation is kept.
    let ok = w
        .post(RENDERING_PATH, &rendering_for(call, attestation(XR_HOST)))
        .await;
    assert_eq!(ok.status, 200);
    // Step 4: the channel opens; the MF reports it and the XR AS runs steps 5–7 (the MF keeps
    // the object).
    let ue = caller_channel(&w, call).await;
    let send = |m: DcMessage| serde_json::to_vec(&m).unwrap();
    ue.send(
        AVATAR_APP_STREAM,
        &send(DcMessage::AvatarToken {
            token: "a.b.c".into(),
        }),
    )
    .await
    .unwrap();
    let points = avatar::render::script()[0];
    ue.send(
        AVATAR_APP_STREAM,
        &send(DcMessage::FacialPoints { seq: 1, points }),
    )
    .await
    .unwrap();
    let feedback = ue
        .recv(AVATAR_APP_STREAM, Duration::from_secs(10))
        .await
        .unwrap();
    let Ok(DcMessage::AvatarFrame { frame }) = serde_json::from_slice(&feedback) else {
        panic!("{}", String::from_utf8_lossy(&feedback))
    };
    assert_eq!((frame.avatar_id.as_str(), frame.seq), ("qbranch-agent", 1));
    // Not an avatar message: acknowledged as before.
    ue.send(AVATAR_APP_STREAM, b"hello").await.unwrap();
    let ack = ue
        .recv(AVATAR_APP_STREAM, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(ack).unwrap(),
        r#"{"app":"avatar-app","from":"mf-o","received_bytes":5}"#
    );
    assert_eq!(
        actions(&w.tap, "mf-o"),
        [
            (Act::DcAnswer, Outcome::Done),
            (Act::HoldAvatarToken, Outcome::Done),
            (Act::RenderAvatar, Outcome::Done)
        ]
    );
    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [
            (Act::RequestAvatarObject, Outcome::Done),
            (Act::RequestRendering, Outcome::Done)
        ]
    );
    ue.close().await;
    w.stop().await;
}

fn rendering_for(call_id: &str, attestation: String) -> XrRendering {
    XrRendering {
        tn: UE_A.into(),
        call_id: call_id.into(),
        attestation,
    }
}
