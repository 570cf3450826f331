//! Solution 7 (TR 33.790 §6.7.2.1 steps 4 and 7–15) over HTTPS with mutual TLS, with a real NEF
//! (and a stand-in originating IMS AS that vouches for the signed Avatar-id) and a real DAC: the
//! caller's UE token on its application channel is relayed by the MF to the XR AS, which gets
//! an access token, the signed metadata, verifies it and hands it to the MF, which renders the
//! caller's facial points with its model. An untrusted XR AS that alters the metadata is caught
//! by an MF that verifies; an XR AS without a client certificate, without a signed Avatar-id, or
//! asking for another avatar is refused before any metadata.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use avatar::Catalogue;
use avatar::ue_token::{self, UeTokenClaims};
use avatar::wire::{AvatarIdCheck, AvatarIdVerdict, VERIFY_AVATAR_ID_PATH};
use avatar_store::dac::{self, DacConfig};
use dc::{DcError, DcOwner, DcTimers, Peer};
use kit::http::{Client, Request, Response, Server, handler};
use kit::node::{ClientAuth, HostTable, json_response};
use kit::tap::Tap;
use nef::NefConfig;
use proto::clock::{Clock, Rng};
use proto::sdp::{DcMap, Media, Session};
use proto::trace::{Act, Body, Outcome, Reason};
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AVATAR_STOP_PATH, AvatarStop, DcMessage, Party, Problem, SignedAvatarId,
    UE_TOKEN_PATH, UeTokenRelay,
};
use proto::wire::mf::{ANCHOR_PATH, AnchorRequest, AnchorResponse};
use xr::mf::{self, MfConfig};
use xr::xr_as::{self, XrAsConfig, XrTamper};

const MF_HOST: &str = "mf.ims.mnc001.mcc001.3gppnetwork.org";
const XR_HOST: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const NEF_HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
const AS_HOST: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const DAC_HOST: &str = "dac.avatars.example";
const UE_A: &str = "+12025551000";
const UE_A_IMPU: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const APP: &str = "avatar-call";
/// The signed Avatar-id the stand-in IMS AS vouches for (any other it rejects).
const SIGNED: &str = "sid.good.x";
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

fn text(relative: &str) -> String {
    String::from_utf8(kit::fixtures::read(relative).unwrap()).unwrap()
}

fn ue_a_cert() -> Vec<u8> {
    avatar::cert::der_from_pem(&text("pki/ue/ue-a.pem")).unwrap()
}

/// UE-A's UE token for the XR AS (step 4).
fn ue_token(call_id: &str) -> String {
    let key = avatar::keys::signing_key_pem(&text("pki/ue/ue-a.key.pem")).unwrap();
    let claims = UeTokenClaims::new(UE_A_IMPU, XR_HOST, call_id, NOW);
    ue_token::sign(&claims, &key, &ue_a_cert()).unwrap()
}

fn signed_id() -> SignedAvatarId {
    SignedAvatarId {
        signed: SIGNED.into(),
        avatar_id: "qbranch-agent".into(),
        app_id: APP.into(),
        impu: UE_A_IMPU.into(),
    }
}

/// The stand-in originating IMS AS: [`SIGNED`] holds, bound to UE-A's certificate.
async fn stand_in_as(ctx: &kit::node::Ctx) -> Server {
    let h = handler(|req: Request, _| async move {
        assert_eq!(req.target, VERIFY_AVATAR_ID_PATH);
        let check: AvatarIdCheck = serde_json::from_slice(&req.body).unwrap();
        let verdict = if check.signed_avatar_id == SIGNED {
            let fingerprint = ue_token::fingerprint(&ue_a_cert());
            AvatarIdVerdict::valid(UE_A_IMPU, "qbranch-agent", APP, &fingerprint)
        } else {
            AvatarIdVerdict::invalid(Reason::SignatureInvalid, "not one it signed")
        };
        json_response(200, &verdict)
    });
    ctx.https_server(h, ClientAuth::Required).await.unwrap()
}

/// The world's switches.
#[derive(Default)]
struct Options {
    verify_metadata: bool,
    tamper: Option<XrTamper>,
    no_client_certificate: bool,
}

struct World {
    tap: Tap,
    mf: Arc<mf::Mf>,
    servers: Vec<Server>,
    /// The MF's client (the XR AS's client is the MF).
    client: Client,
}

fn timers() -> DcTimers {
    DcTimers {
        connect: Duration::from_secs(10),
        ..DcTimers::default()
    }
}

async fn world(o: Options) -> World {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(NOW), 7);
    let as_server = stand_in_as(&ctx("as-o", AS_HOST)).await;
    hosts.add(AS_HOST, as_server.local_addr());
    let nef_server = nef::start(&ctx("nef-o", NEF_HOST), NefConfig::load().unwrap())
        .await
        .unwrap();
    hosts.add(NEF_HOST, nef_server.local_addr());
    let dac_server = dac::start(&ctx("dac", DAC_HOST), DacConfig::from_fixtures().unwrap())
        .await
        .unwrap();
    hosts.add(DAC_HOST, dac_server.local_addr());
    let config = MfConfig {
        dcsf_host: "dcsf.ims.mnc001.mcc001.3gppnetwork.org".into(),
        timers: timers(),
        xr_as_host: Some(XR_HOST.into()),
        bar_host: None,
        verify_metadata: o.verify_metadata,
    };
    let mf_ctx = ctx("mf-o", MF_HOST);
    let (mf, mf_server) = mf::start(&mf_ctx, config).await.unwrap();
    hosts.add(MF_HOST, mf_server.local_addr());
    let xr_config = XrAsConfig {
        dcsf_host: "dcsf.ims.mnc001.mcc001.3gppnetwork.org".into(),
        dac_host: DAC_HOST.into(),
        mf_host: MF_HOST.into(),
        catalogue: Catalogue::load().unwrap(),
        tamper: o.tamper,
        nef_host: Some(NEF_HOST.into()),
        dac_certificate: xr::trust::dac_certificate().unwrap(),
        client_certificate: !o.no_client_certificate,
        ims_as_host: None,
    };
    let xr_server = xr_as::start(&ctx("xr-as-o", XR_HOST), xr_config)
        .await
        .unwrap();
    hosts.add(XR_HOST, xr_server.local_addr());
    World {
        tap,
        mf,
        servers: vec![as_server, nef_server, dac_server, mf_server, xr_server],
        client: mf_ctx.https_client(true).unwrap(),
    }
}

impl World {
    async fn post<T: serde::Serialize>(&self, host: &str, path: &str, body: &T) -> Response {
        let url = format!("https://{host}{path}");
        let body = serde_json::to_vec(body).unwrap();
        self.client
            .send(Request::post_json(url, body))
            .await
            .unwrap()
    }

    /// The caller's application channel (mid `p2a`, stream 1100) anchored at the MF with the
    /// signed Avatar-id (step 3), open.
    async fn caller_channel(&self, call_id: &str) -> Peer {
        let owner = DcOwner {
            node: "ue-a".into(),
            tap: self.tap.clone(),
            timers: timers(),
        };
        let map = DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "");
        let mut rng = Rng::for_node(7, "ue-a");
        let (ue, section) = Peer::offer(&owner, &mut rng, "p2a", &[map], &[])
            .await
            .unwrap();
        let one = |m| Session {
            session_id: 0,
            version: 0,
            name: "-".into(),
            media: vec![Media::Application(m)],
        };
        let anchor = AnchorRequest {
            tn: UE_A.into(),
            call_id: call_id.into(),
            offer: one(section).render(),
            avatar: Some(signed_id()),
        };
        let answer = self.post(MF_HOST, ANCHOR_PATH, &anchor).await;
        let answer: AnchorResponse = serde_json::from_slice(&answer.body).unwrap();
        let answered = Session::parse(&answer.answer)
            .unwrap()
            .applications()
            .next()
            .cloned()
            .unwrap();
        ue.complete(&answered).await.unwrap();
        ue.wait_open().await.unwrap();
        mf_side_open(&self.tap).await;
        ue
    }

    async fn stop(self) {
        self.mf.shutdown().await;
        for s in self.servers {
            s.shutdown();
        }
    }
}

/// Waits until the MF's side of the caller's channel is open too (its `DC open`): the engine
/// may drop a message that arrives before it is.
pub(crate) async fn mf_side_open(tap: &Tap) {
    let open = || {
        tap.records().into_iter().any(|r| {
            r.node == "mf-o"
                && matches!(&r.body, Body::Note { note, .. }
                    if note.action().is_some_and(|(act, _)| act == Act::DcOpen))
        })
    };
    for _ in 0..250 {
        if open() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the MF's side of the channel did not open");
}

/// Sends a message on the caller's channel and waits for the answer, if any comes.
async fn exchange(ue: &Peer, message: &DcMessage, bound: Duration) -> Result<DcMessage, DcError> {
    ue.send(AVATAR_APP_STREAM, &serde_json::to_vec(message).unwrap())
        .await
        .unwrap();
    let answer = ue.recv(AVATAR_APP_STREAM, bound).await?;
    Ok(serde_json::from_slice(&answer).unwrap())
}

fn ack_text(m: DcMessage) -> String {
    let DcMessage::Ack { received } = m else {
        panic!("{m:?}")
    };
    received
}

fn points(seq: u32) -> DcMessage {
    DcMessage::FacialPoints {
        seq,
        points: avatar::render::script()[0],
    }
}

const DONE: Outcome = Outcome::Done;

/// How long the UE waits for an answer that should come.
const WAIT: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_ue_token_gets_the_signed_metadata_rendered_at_the_mf() {
    let w = world(Options {
        verify_metadata: true,
        ..Options::default()
    })
    .await;
    let call = "call-71";
    let ue = w.caller_channel(call).await;
    // Step 4 → 7–11: the XR AS's verdict comes back as the acknowledgement.
    let token = DcMessage::UeToken {
        token: ue_token(call),
    };
    let ack = ack_text(exchange(&ue, &token, WAIT).await.unwrap());
    assert_eq!(
        ack,
        "ue-token: avatar metadata handed to the MF for rendering (qbranch-agent)"
    );
    // Steps 12–15: the caller's points rendered with the metadata's model, back as feedback.
    let Ok(DcMessage::AvatarFrame { frame }) = exchange(&ue, &points(1), WAIT).await else {
        panic!("a frame")
    };
    assert_eq!((frame.avatar_id.as_str(), frame.seq), ("qbranch-agent", 1));
    // Step 6: UE-B rejected the avatar: no more frames to it (noted once).
    let stop = AvatarStop {
        call_id: call.into(),
        party: Party::Callee,
    };
    for _ in 0..2 {
        assert_eq!(w.post(MF_HOST, AVATAR_STOP_PATH, &stop).await.status, 204);
    }

    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [
            (Act::ObtainToken, DONE),
            (Act::RequestAvatarObject, DONE),
            (Act::VerifyAvatarMetadata, DONE),
            (Act::RequestRendering, DONE),
        ]
    );
    assert_eq!(
        actions(&w.tap, "mf-o"),
        [
            (Act::DcAnswer, DONE),
            (Act::VerifyAvatarMetadata, DONE),
            (Act::DownloadAvatarModel, DONE),
            (Act::RelayUeToken, DONE),
            (Act::RenderAvatar, DONE),
            (Act::RenderAvatar, Outcome::Refused(Reason::Declined)),
        ]
    );
    assert_eq!(actions(&w.tap, "nef-o"), [(Act::IssueToken, DONE)]);
    assert_eq!(
        actions(&w.tap, "dac"),
        [
            (Act::VerifyAvatarToken, DONE),
            (Act::ServeAvatarObject, DONE)
        ]
    );
    ue.close().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mf_that_verifies_refuses_metadata_an_untrusted_xr_as_altered() {
    let w = world(Options {
        verify_metadata: true,
        tamper: Some(XrTamper::AlterMetadata),
        ..Options::default()
    })
    .await;
    let call = "call-72";
    let ue = w.caller_channel(call).await;
    let token = DcMessage::UeToken {
        token: ue_token(call),
    };
    let ack = ack_text(exchange(&ue, &token, WAIT).await.unwrap());
    assert!(
        ack.starts_with("ue-token refused by the XR AS: signature-invalid"),
        "{ack}"
    );
    // Nothing to render with: no frame comes back.
    let silence = exchange(&ue, &points(1), Duration::from_millis(1500)).await;
    assert!(
        matches!(silence, Err(DcError::Timeout { .. })),
        "{silence:?}"
    );

    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [
            (Act::ObtainToken, DONE),
            (Act::RequestAvatarObject, DONE),
            (Act::VerifyAvatarMetadata, DONE),
            (Act::RequestRendering, DONE),
            (Act::Tamper, DONE),
        ]
    );
    assert_eq!(
        actions(&w.tap, "mf-o"),
        [
            (Act::DcAnswer, DONE),
            (
                Act::VerifyAvatarMetadata,
                Outcome::Refused(Reason::SignatureInvalid)
            ),
            (Act::RelayUeToken, DONE),
            (Act::RenderAvatar, Outcome::Refused(Reason::NoRecord)),
        ]
    );
    ue.close().await;
    w.stop().await;
}

fn relay(call_id: &str, signed: Option<SignedAvatarId>) -> UeTokenRelay {
    UeTokenRelay {
        tn: UE_A.into(),
        call_id: call_id.into(),
        ue_token: ue_token(call_id),
        signed_avatar_id: signed,
    }
}

fn problem(r: &Response) -> (u16, Reason) {
    let p: Problem = serde_json::from_slice(&r.body).unwrap();
    (r.status, p.reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_metadata_without_a_signed_avatar_id_a_client_certificate_or_for_another_avatar() {
    // No client certificate toward the NEF: it refuses the TLS handshake. In TLS 1.3 its alert
    // arrives after the client's side of the handshake is done, as a failed HTTP exchange the
    // XR AS cannot tell from others: Unreachable (the NEF never sees a request to note).
    let w = world(Options {
        no_client_certificate: true,
        ..Options::default()
    })
    .await;
    let refused = w
        .post(XR_HOST, UE_TOKEN_PATH, &relay("call-73", Some(signed_id())))
        .await;
    let no_cert = problem(&refused);
    // Without a signed Avatar-id the NEF is not asked.
    let refused = w
        .post(XR_HOST, UE_TOKEN_PATH, &relay("call-74", None))
        .await;
    assert_eq!(problem(&refused), (403, Reason::MissingIdentity));
    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [
            (Act::ObtainToken, Outcome::Refused(no_cert.1)),
            (Act::ObtainToken, Outcome::Refused(Reason::MissingIdentity)),
        ]
    );
    assert!(actions(&w.tap, "nef-o").is_empty(), "the NEF noted nothing");
    assert!(actions(&w.tap, "mf-o").is_empty());
    w.stop().await;
    assert_eq!(no_cert, (502, Reason::Unreachable));

    // Another avatar with the token for the call's: the DAC refuses (insufficient scope).
    let w = world(Options {
        tamper: Some(XrTamper::OtherAvatar("owl".into())),
        ..Options::default()
    })
    .await;
    let refused = w
        .post(XR_HOST, UE_TOKEN_PATH, &relay("call-75", Some(signed_id())))
        .await;
    assert_eq!(problem(&refused), (403, Reason::NotAuthorised));
    assert_eq!(
        actions(&w.tap, "xr-as-o"),
        [
            (Act::ObtainToken, DONE),
            (Act::Tamper, DONE),
            (
                Act::RequestAvatarObject,
                Outcome::Refused(Reason::NotAuthorised)
            ),
        ]
    );
    assert_eq!(
        actions(&w.tap, "dac"),
        [(
            Act::VerifyAvatarToken,
            Outcome::Refused(Reason::NotAuthorised)
        )]
    );
    w.stop().await;
}
