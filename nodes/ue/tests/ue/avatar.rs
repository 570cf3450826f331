//! The UEs' avatar steps over real data channels (TR 33.790 solutions #5 and #6), with a
//! stand-in MF and DAC on the other ends: the token and the Avatar ID (0a, 0b), the rendering
//! negotiation, UE-B's ephemeral key on request, the protected avatar object opened by the UE
//! whose key it was protected for and refused by another key, and the frames each shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use avatar::e2e::{self, EphemeralKey};
use dc::{DcOwner, DcTimers, Peer};
use kit::node::HostTable;
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sdp::DcMap;
use proto::sip::Timers;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AVATAR_MEDIA_STREAM, Accepted, DcMessage, Model, PEER_AVATAR_STREAM,
    Problem, Protected, Rendering,
};
use ue::{Access, AttestationPlan, DcConfig, TokenForgery, TokenPlan, TrunkTls, Ue, UeConfig};

const NOW: i64 = 1_772_442_000;
const CALL: &str = "avatar-call-1@ue-a.test";
const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const UE_A_IMPU: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const WAIT: Duration = Duration::from_secs(5);

fn config(impu: &str) -> UeConfig {
    UeConfig {
        impu: impu.into(),
        access: Access::Trunk {
            ibcf_host: "nobody.test".into(),
            tls: TrunkTls::None,
        },
        timers: Timers {
            t1: Duration::from_secs(2),
            ..Timers::default()
        },
        wait: WAIT,
        auto_answer: true,
        dc: Some(DcConfig {
            timers: DcTimers::default(),
            accept: true,
            unreachable: false,
            bootstrap: true,
        }),
        impi: None,
        password: None,
    }
}

/// UE-A and UE-B on one trace (no SIP: the harness hands them their peers).
async fn ues(tap: &Tap) -> (Ue, Ue) {
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, tap, Clock::Fixed(NOW), 7);
    let a = Ue::start(&ctx("ue-a", "ue-a.test"), config(UE_A_IMPU))
        .await
        .unwrap();
    let b = Ue::start(
        &ctx("ue-b", "ue-b.test"),
        config("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org"),
    )
    .await
    .unwrap();
    (a, b)
}

/// An open association between `from` and `to` under `mid` mapping `map`.
async fn pair(tap: &Tap, from: &str, to: &str, mid: &str, map: DcMap) -> (Peer, Peer) {
    let owner = |node: &str| DcOwner {
        node: node.into(),
        tap: tap.clone(),
        timers: DcTimers::default(),
    };
    let mut rng = Rng::for_node(7, &format!("{from}/{mid}"));
    let (near, offer) = Peer::offer(&owner(from), &mut rng, mid, &[map], &[])
        .await
        .unwrap();
    let mut rng = Rng::for_node(7, &format!("{to}/{mid}"));
    let (far, answer) = Peer::answer(&owner(to), &mut rng, &offer).await.unwrap();
    near.complete(&answer).await.unwrap();
    let (x, y) = tokio::join!(near.wait_open(), far.wait_open());
    x.unwrap();
    y.unwrap();
    (near, far)
}

fn p2p_map() -> DcMap {
    DcMap::reliable(PEER_AVATAR_STREAM, "avatar", "avatar-json")
}

/// What `node` noted, in order: actions with their outcomes, and the other avatar notes by
/// kind (the engine's own DC open / DC close left out).
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Act(Act, Outcome),
    Token(String),
    KeyAgreement(String),
    Picture(u32),
}

fn seen(tap: &Tap, node: &str) -> Vec<Seen> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => match note {
                Note::Action { act, outcome, .. } => {
                    (!matches!(act, Act::DcOpen | Act::DcClose)).then_some(Seen::Act(act, outcome))
                }
                Note::Token { header, .. } => {
                    Some(Seen::Token(header["typ"].as_str().unwrap().to_owned()))
                }
                Note::KeyAgreement {
                    key_fingerprint, ..
                } => Some(Seen::KeyAgreement(key_fingerprint)),
                Note::Picture { seq, .. } => Some(Seen::Picture(seq)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn model() -> Model {
    avatar::Catalogue::load()
        .unwrap()
        .get("qbranch-agent")
        .unwrap()
        .model
        .clone()
}

/// The DAC's protection of the model for `recipient`; the key's fingerprint.
fn protect(recipient: &proto::wire::avatar::Jwk, rendering: Rendering) -> (Protected, String) {
    let dac = EphemeralKey::from_bytes([0x42; 32]).unwrap();
    let (p, key) = e2e::protect(&model(), &dac, recipient, [1; 16], [2; 12], rendering).unwrap();
    (p, key.fingerprint())
}

async fn send(peer: &Peer, stream: u16, message: &DcMessage) {
    peer.send(stream, &serde_json::to_vec(message).unwrap())
        .await
        .unwrap();
}

async fn recv(peer: &Peer, stream: u16) -> DcMessage {
    serde_json::from_slice(&peer.recv(stream, WAIT).await.unwrap()).unwrap()
}

/// The stand-in MF's answer to one HTTP request on the bootstrap channel: the request's body,
/// then `status` with `body` sent back.
async fn http_answer(mf: &Peer, status: &str, body: &str) -> (String, String) {
    let got = String::from_utf8(mf.recv(0, WAIT).await.unwrap()).unwrap();
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    mf.send(0, answer.as_bytes()).await.unwrap();
    let (head, body) = got.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ue_b_centric_key_on_request_object_opened_by_ue_b_only() {
    let tap = Tap::new();
    let (a, b) = ues(&tap).await;
    let (a_p2p, b_p2p) = pair(&tap, "ue-a", "ue-b", "dc", p2p_map()).await;
    let avm_map = DcMap::reliable(AVATAR_MEDIA_STREAM, "avatar-video", "avatar-frame");
    let (mf, b_avm) = pair(&tap, "mf", "ue-b", "avm", avm_map).await;

    // Step 2: UE-A asks, UE-B answers with a key it keeps for the call.
    let (key, answered) = tokio::join!(
        a.request_peer_key(&a_p2p),
        b.answer_key_request(&b_p2p, CALL)
    );
    answered.unwrap();
    let ue_b_key = key.unwrap();

    // Steps 6–7: the DAC protects for that key; the MF delivers on avm.
    let (protected, fingerprint) = protect(&ue_b_key, Rendering::UeBCentric);
    let message = DcMessage::ProtectedAvatar {
        avatar_id: "qbranch-agent".into(),
        protected,
    };
    send(&mf, AVATAR_MEDIA_STREAM, &message).await;

    // Steps 8–9: UE-A's facial points to UE-B, who opens, renders and shows.
    assert_eq!(
        a.send_facial_points(&a_p2p, PEER_AVATAR_STREAM, false)
            .await
            .unwrap(),
        3
    );
    let frames = b.render_received(&b_avm, &b_p2p, CALL, 3).await.unwrap();
    let want: Vec<_> = (1..)
        .zip(avatar::render::script())
        .map(|(seq, p)| avatar::render::render(&model(), &p, seq))
        .collect();
    assert_eq!(frames, want);
    let done = Outcome::Done;
    let mut expected = vec![
        Seen::KeyAgreement(fingerprint),
        Seen::Act(Act::OpenAvatarObject, done),
    ];
    for seq in 1..=3 {
        expected.extend([
            Seen::Act(Act::RenderAvatar, done),
            Seen::Picture(seq),
            Seen::Act(Act::ShowAvatar, done),
        ]);
    }
    assert_eq!(seen(&tap, "ue-b"), expected);
    assert!(seen(&tap, "ue-a").is_empty(), "UE-A only sent messages");

    // Another call: no key was kept for it, nothing is opened.
    send(&mf, AVATAR_MEDIA_STREAM, &message).await;
    let e = b
        .render_received(&b_avm, &b_p2p, "another call", 3)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), Reason::NoRecord);
    for p in [&a_p2p, &b_p2p, &mf, &b_avm] {
        p.close().await;
    }
    a.shutdown();
    b.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ue_a_token_selection_negotiation_rendering_and_a_foreign_key() {
    let tap = Tap::new();
    let (a, b) = ues(&tap).await;
    let bdc_map = DcMap::reliable(0, "bootstrap", "http");
    let (a_bdc, mf_bdc) = pair(&tap, "ue-a", "mf", "bdc", bdc_map).await;
    let app_map = DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "avatar-json");
    let (a_p2a, mf_p2a) = pair(&tap, "ue-a", "mf", "p2a", app_map).await;
    let (a_p2p, b_p2p) = pair(&tap, "ue-a", "ue-b", "dc", p2p_map()).await;

    // Solution 5 step 0a: a token the MF can read and the owner's key verifies.
    let plan = TokenPlan {
        avatar_id: "qbranch-agent".into(),
        forgery: TokenForgery::None,
    };
    let token = a.send_avatar_token(&a_p2a, CALL, &plan).await.unwrap();
    assert_eq!(
        recv(&mf_p2a, AVATAR_APP_STREAM).await,
        DcMessage::AvatarToken {
            token: token.clone()
        }
    );
    let owner = ue::ue_signing_key("ue-a").unwrap();
    let expected = avatar::token::Expected {
        avatar_id: "qbranch-agent",
        session: CALL,
        owner_impu: UE_A_IMPU,
        now: NOW,
    };
    avatar::token::verify(&token, owner.verifying_key(), &expected).unwrap();

    // Step 0b, refused: the UE learns it.
    let problem = Problem {
        reason: Reason::NotEntitled,
        detail: "not in the list".into(),
    };
    let refused = serde_json::to_string(&problem).unwrap();
    let (answer, (head, body)) = tokio::join!(
        a.select_avatar(&a_bdc, "qbranch-cat"),
        http_answer(&mf_bdc, "403 Forbidden", &refused)
    );
    let answer = answer.unwrap();
    assert_eq!((answer.status, answer.problem), (403, Some(problem)));
    assert!(
        head.starts_with("POST /xr/v1/avatar HTTP/1.1\r\n"),
        "{head}"
    );
    assert_eq!(body, r#"{"avatar_id":"qbranch-cat"}"#);

    // Solution 6 steps 2–3, UE-A centric: the attestation carries UE-A's ephemeral key.
    let att = AttestationPlan {
        avatar_id: "qbranch-agent".into(),
        rendering: Rendering::UeACentric,
        xr_as: XR_AS.into(),
        expired: false,
        forged_signature: false,
        peer_key: None,
    };
    let accepted = serde_json::to_string(&Accepted {
        avatar_id: "qbranch-agent".into(),
        status: "rendering negotiated (ue-a-centric)".into(),
    })
    .unwrap();
    let (answer, (head, body)) = tokio::join!(
        a.negotiate_rendering(&a_bdc, CALL, &att),
        http_answer(&mf_bdc, "200 OK", &accepted)
    );
    assert_eq!(answer.unwrap().status, 200);
    assert!(
        head.starts_with("POST /xr/v1/rendering HTTP/1.1\r\n"),
        "{head}"
    );
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    let claims = avatar::attestation::verify(
        sent["attestation"].as_str().unwrap(),
        owner.verifying_key(),
        XR_AS,
        NOW,
    )
    .unwrap();
    let epk_ue_a = claims.epk_ue_a.unwrap();

    // Steps 7–9: protected for UE-A's key, opened, rendered and sent to UE-B, who shows them.
    let (protected, fingerprint) = protect(&epk_ue_a, Rendering::UeACentric);
    let delivered = DcMessage::ProtectedAvatar {
        avatar_id: "qbranch-agent".into(),
        protected,
    };
    send(&mf_p2a, AVATAR_APP_STREAM, &delivered).await;
    assert_eq!(a.render_and_send(&a_p2a, &a_p2p, CALL).await.unwrap(), 3);
    let shown = b.show_frames(&b_p2p, PEER_AVATAR_STREAM, 3).await.unwrap();
    assert_eq!(shown.iter().map(|f| f.seq).collect::<Vec<_>>(), [1, 2, 3]);

    // Protected for another key: the tag does not verify, nothing is rendered.
    let other = EphemeralKey::from_bytes([0x17; 32]).unwrap().public_jwk();
    let (foreign, _) = protect(&other, Rendering::UeACentric);
    let misdelivered = DcMessage::ProtectedAvatar {
        avatar_id: "qbranch-agent".into(),
        protected: foreign,
    };
    send(&mf_p2a, AVATAR_APP_STREAM, &misdelivered).await;
    let e = a.render_and_send(&a_p2a, &a_p2p, CALL).await.unwrap_err();
    assert_eq!(e.reason(), Reason::DecryptionFailed);

    let done = Outcome::Done;
    let ue_a = seen(&tap, "ue-a");
    let mut want = vec![
        Seen::Act(Act::ChooseAvatar, done),
        Seen::Act(Act::SignAvatarToken, done),
        Seen::Token("avatar+jwt".into()),
        Seen::Act(Act::ChooseAvatar, Outcome::Refused(Reason::NotEntitled)),
        Seen::Act(Act::SignAttestation, done),
        Seen::Token("avatar-attestation+jwt".into()),
        Seen::Act(Act::ChooseRendering, done),
        Seen::KeyAgreement(fingerprint),
        Seen::Act(Act::OpenAvatarObject, done),
    ];
    for seq in 1..=3 {
        want.extend([Seen::Act(Act::RenderAvatar, done), Seen::Picture(seq)]);
    }
    assert_eq!(ue_a[..want.len()], want[..]);
    // The foreign object: a key agreed (another fingerprint), the object refused.
    assert!(matches!(ue_a[want.len()], Seen::KeyAgreement(_)));
    assert_eq!(
        ue_a[want.len() + 1..],
        [Seen::Act(
            Act::OpenAvatarObject,
            Outcome::Refused(Reason::DecryptionFailed)
        )]
    );
    let ue_b = seen(&tap, "ue-b");
    assert_eq!(ue_b.len(), 6);
    assert_eq!(ue_b[0], Seen::Act(Act::ShowAvatar, done));
    assert_eq!(ue_b[5], Seen::Picture(3));

    // No private key on the trace: only public JWKs (x, y), never a `d`.
    let trace = serde_json::to_string(&tap.records()).unwrap();
    assert!(!trace.contains("\"d\":"));
    for p in [&a_bdc, &mf_bdc, &a_p2a, &mf_p2a, &a_p2p, &b_p2p] {
        p.close().await;
    }
    a.shutdown();
    b.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_centric_feedback_is_shown_in_order_and_forgeries_are_made_as_asked() {
    let tap = Tap::new();
    let (a, _b) = ues(&tap).await;
    let app_map = DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "avatar-json");
    let (a_p2a, mf_p2a) = pair(&tap, "ue-a", "mf", "p2a", app_map).await;

    // A replayed token names the earlier session; an altered one fails the signature.
    let earlier = "earlier-call@ue-a.test";
    let replay = TokenPlan {
        avatar_id: "qbranch-agent".into(),
        forgery: TokenForgery::OtherSession(earlier.into()),
    };
    let token = a.send_avatar_token(&a_p2a, CALL, &replay).await.unwrap();
    let claims = avatar::token::decode(&token).unwrap().claims;
    assert_eq!(claims["call_id"], earlier);
    let _ = recv(&mf_p2a, AVATAR_APP_STREAM).await;
    // The foreign key attack: signed with UE-M's key.
    a.use_ue_key("ue-m");
    let honest = TokenPlan {
        avatar_id: "qbranch-agent".into(),
        forgery: TokenForgery::None,
    };
    let foreign = a.send_avatar_token(&a_p2a, CALL, &honest).await.unwrap();
    let _ = recv(&mf_p2a, AVATAR_APP_STREAM).await;
    let owner = ue::ue_signing_key("ue-a").unwrap();
    let expected = avatar::token::Expected {
        avatar_id: "qbranch-agent",
        session: CALL,
        owner_impu: UE_A_IMPU,
        now: NOW,
    };
    let e = avatar::token::verify(&foreign, owner.verifying_key(), &expected).unwrap_err();
    assert_eq!(e.reason(), Reason::SignatureInvalid);

    // The stand-in MF renders each frame and sends it back before the next arrives.
    let mf = async {
        for _ in 0..3 {
            let DcMessage::FacialPoints { seq, points } = recv(&mf_p2a, AVATAR_APP_STREAM).await
            else {
                panic!("facial points expected");
            };
            let frame = avatar::render::render(&model(), &points, seq);
            send(
                &mf_p2a,
                AVATAR_APP_STREAM,
                &DcMessage::AvatarFrame { frame },
            )
            .await;
        }
    };
    let (sent, ()) = tokio::join!(a.send_facial_points(&a_p2a, AVATAR_APP_STREAM, true), mf);
    assert_eq!(sent.unwrap(), 3);
    let shown: Vec<Seen> = seen(&tap, "ue-a")
        .into_iter()
        .filter(|s| matches!(s, Seen::Picture(_) | Seen::Act(Act::ShowAvatar, _)))
        .collect();
    let done = Outcome::Done;
    assert_eq!(
        shown,
        [
            Seen::Act(Act::ShowAvatar, done),
            Seen::Picture(1),
            Seen::Act(Act::ShowAvatar, done),
            Seen::Picture(2),
            Seen::Act(Act::ShowAvatar, done),
            Seen::Picture(3),
        ]
    );

    // No feedback comes: the wait is bounded and typed.
    let e = a
        .send_facial_points(&a_p2a, AVATAR_APP_STREAM, true)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), Reason::Timeout);
    for p in [&a_p2a, &mf_p2a] {
        p.close().await;
    }
    a.shutdown();
}

fn avatar_app_list() -> proto::wire::dcsf::AppList {
    proto::wire::dcsf::AppList {
        tn: "+12025551000".into(),
        apps: vec![proto::wire::dcsf::App {
            id: "avatar-call".into(),
            name: "Avatar call".into(),
            url: "/apps/avatar-call".into(),
            avatar_ids: vec!["qbranch-agent".into()],
        }],
    }
}

/// Solution 7 steps 2 and 4: the Avatar-id chosen from the application's list (refused when
/// not in it), the UE token sent on the application channel and verified against the
/// fingerprint of UE-A's certificate, the MF's Ack awaited; a token signed with another UE's
/// key and certificate does not match UE-A's fingerprint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sol7_choice_and_ue_token() {
    let tap = Tap::new();
    let (a, b) = ues(&tap).await;
    let app_map = DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "avatar-json");
    let (a_p2a, mf_p2a) = pair(&tap, "ue-a", "mf", "p2a", app_map).await;

    let e = a
        .choose_network_avatar(&avatar_app_list(), "avatar-call", "owl")
        .unwrap_err();
    assert_eq!(e.reason(), Reason::NotEntitled);
    a.choose_network_avatar(&avatar_app_list(), "avatar-call", "qbranch-agent")
        .unwrap();

    // Step 4: the MF acknowledges; the token verifies against UE-A's certificate.
    let ack = async {
        let got = recv(&mf_p2a, AVATAR_APP_STREAM).await;
        let ack = DcMessage::Ack {
            received: "ue-token".into(),
        };
        send(&mf_p2a, AVATAR_APP_STREAM, &ack).await;
        got
    };
    let (sent, got) = tokio::join!(a.send_ue_token(&a_p2a, CALL, XR_AS), ack);
    sent.unwrap();
    let DcMessage::UeToken { token } = got else {
        panic!("expected a UE token, got {got:?}");
    };
    let der = ue::ue_certificate("ue-a").unwrap();
    let fingerprint = avatar::ue_token::fingerprint(&der);
    let claims = avatar::ue_token::verify(&token, &der, &fingerprint, XR_AS, NOW).unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.call.as_str()),
        (UE_A_IMPU, CALL)
    );

    // No Ack within the bound: an error (the token was sent).
    let e = a.send_ue_token(&a_p2a, CALL, XR_AS).await.unwrap_err();
    assert_eq!(e.reason(), Reason::Timeout);
    let DcMessage::UeToken { .. } = recv(&mf_p2a, AVATAR_APP_STREAM).await else {
        panic!("expected a UE token");
    };

    // The threat variant: UE-M's key and certificate; SIP carried UE-A's fingerprint.
    a.use_ue_key("ue-m");
    let ack = async {
        let got = recv(&mf_p2a, AVATAR_APP_STREAM).await;
        let ack = DcMessage::Ack {
            received: "ue-token".into(),
        };
        send(&mf_p2a, AVATAR_APP_STREAM, &ack).await;
        got
    };
    let (sent, got) = tokio::join!(a.send_ue_token(&a_p2a, CALL, XR_AS), ack);
    sent.unwrap();
    let DcMessage::UeToken { token } = got else {
        panic!("expected a UE token, got {got:?}");
    };
    let ue_m = ue::ue_certificate("ue-m").unwrap();
    let e = avatar::ue_token::verify(&token, &ue_m, &fingerprint, XR_AS, NOW).unwrap_err();
    assert_eq!(e.reason(), Reason::ClaimMismatch);

    let done = Outcome::Done;
    let token = Seen::Token(avatar::ue_token::TYP.into());
    assert_eq!(
        seen(&tap, "ue-a"),
        [
            Seen::Act(Act::ChooseAvatar, Outcome::Refused(Reason::NotEntitled)),
            Seen::Act(Act::ChooseRendering, done),
            Seen::Act(Act::ChooseAvatar, done),
            Seen::Act(Act::SendUeToken, done),
            token.clone(),
            Seen::Act(Act::SendUeToken, done),
            token.clone(),
            Seen::Act(Act::SendUeToken, done),
            token,
        ]
    );
    for p in [&a_p2a, &mf_p2a] {
        p.close().await;
    }
    a.shutdown();
    b.shutdown();
}
