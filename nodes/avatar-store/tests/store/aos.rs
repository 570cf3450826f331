//! The AOS (solution #8 steps 2, 12 and 21) as the IMS AS and the UEs meet it.

use avatar::aos_request::{self, Claims};
use avatar_store::AosConfig;
use avatar_store::aos::HOST as AOS;
use kit::http::{Client, Request, Response};
use proto::trace::{Act, Note, Outcome, Reason};
use proto::wire::avatar::{AOS_LOOKUP_PATH, AvatarData, AvatarLookup, Model, pct};
use sha2::{Digest as _, Sha256};

use super::{CALL, MF, NOW, UE_A, World, problem, refused, ue_key};

const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";

/// An AOS of `domain`, answering its operator's IMS AS `as.<domain>`.
async fn start(w: &World, domain: &str) -> kit::http::Server {
    let config = AosConfig::from_fixtures(
        domain,
        vec![format!("as.{domain}")],
        vec![format!("sti-as.{domain}")],
    )
    .unwrap();
    let server = avatar_store::aos::start(&w.ctx("aos", AOS), config)
        .await
        .unwrap();
    w.hosts.add(AOS, server.local_addr());
    server
}

async fn lookup(client: &Client, impu: &str, peer: &str) -> Response {
    let body = AvatarLookup {
        impu: impu.into(),
        avatar_id: None,
        peer_impu: peer.into(),
        call_id: CALL.into(),
    };
    let url = format!("https://{AOS}{AOS_LOOKUP_PATH}");
    let req = Request::post_json(url, serde_json::to_vec(&body).unwrap());
    client.send(req).await.unwrap()
}

/// The UE `ue` (IMPU `sub`) fetches `data`'s object, with its proof.
async fn fetch(w: &World, data: &AvatarData, ue: &str, sub: &str) -> Response {
    let proof = aos_request::sign(&Claims::new(sub, &data.avatar_id, CALL, NOW), &ue_key(ue));
    let url = format!("{}?call={}", data.object_url, pct(CALL));
    let req = Request::get(url).header("authorization", &format!("Bearer {proof}"));
    w.anonymous().send(req).await.unwrap()
}

fn data(r: &Response) -> AvatarData {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

/// The object's bytes, after checking they are those the digest covers.
fn object(r: &Response, data: &AvatarData) -> Model {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&r.body));
    assert_eq!(data.digest, format!("sha256-{b64}"));
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn aos_of_the_originating_operator_authorises_ue_a_and_serves_ue_b_only() {
    let w = World::new();
    let _server = start(&w, "ims.mnc001.mcc001.3gppnetwork.org").await;
    let ims_as = w.client("as-o", "as.ims.mnc001.mcc001.3gppnetwork.org");

    // Step 2: UE-A calls UE-B without naming an avatar: its default, policy repeat.
    let a = data(&lookup(&ims_as, UE_A, UE_B).await);
    assert_eq!(a.avatar_id, "qbranch-agent");
    assert_eq!(
        a.object_url,
        format!("https://{AOS}/aos/v1/objects/qbranch-agent")
    );
    assert_eq!(a.policy, "repeat");
    // Step 21: UE-B fetches it, twice.
    for _ in 0..2 {
        let model = object(&fetch(&w, &a, "ue-b", UE_B).await, &a);
        assert_eq!(model.id, "qbranch-agent");
    }
    // UE-M, a stranger to the call, with its own valid proof.
    let r = fetch(&w, &a, "ue-m", UE_M).await;
    assert_eq!(problem(&r, 403).reason, Reason::NotAuthorised);
    // No proof: challenged.
    let req = Request::get(format!("{}?call={}", a.object_url, pct(CALL)));
    let r = w.anonymous().send(req).await.unwrap();
    assert_eq!(problem(&r, 401).reason, Reason::MissingIdentity);
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Bearer realm=\"aos.avatars.example\"")
    );
    // A lookup by another client than the IMS AS.
    let r = lookup(&w.client("mf-o", MF), UE_A, UE_B).await;
    assert_eq!(problem(&r, 403).reason, Reason::NotAuthorised);
    // UE-M may not use avatars.
    let r = lookup(&ims_as, UE_M, UE_A).await;
    assert_eq!(problem(&r, 403).reason, Reason::NotEntitled);

    assert_eq!(
        w.actions("aos"),
        [
            (Act::AuthorizeAvatar, Outcome::Done),
            (Act::ServeAvatarObject, Outcome::Done),
            (Act::ServeAvatarObject, Outcome::Done),
            (Act::ServeAvatarObject, refused(Reason::NotAuthorised)),
            (Act::ServeAvatarObject, refused(Reason::MissingIdentity)),
            (Act::AuthorizeAvatar, refused(Reason::NotAuthorised)),
            (Act::AuthorizeAvatar, refused(Reason::NotEntitled)),
        ]
    );
    let proofs: Vec<_> = w
        .notes("aos")
        .into_iter()
        .filter_map(|(msg, n)| match n {
            Note::Token { header, claims, .. } => Some((msg, header, claims)),
            _ => None,
        })
        .collect();
    assert_eq!(proofs.len(), 3, "one per request that carried a proof");
    assert!(proofs[0].0.is_some());
    assert_eq!(proofs[0].1["typ"], aos_request::TYP);
    assert_eq!(proofs[0].2["sub"], UE_B);
}

#[tokio::test]
async fn aos_of_the_terminating_operator_serves_ue_b_s_avatar_once() {
    let w = World::new();
    let _server = start(&w, "ims.mnc002.mcc001.3gppnetwork.org").await;
    let ims_as = w.client("as-t", "as.ims.mnc002.mcc001.3gppnetwork.org");

    // Step 12: UE-B answers; its avatar, policy once.
    let b = data(&lookup(&ims_as, UE_B, UE_A).await);
    assert_eq!((b.avatar_id.as_str(), b.policy.as_str()), ("owl", "once"));
    // UE-A is not this operator's subscriber.
    let r = lookup(&ims_as, UE_A, UE_B).await;
    assert_eq!(problem(&r, 404).reason, Reason::NoRecord);
    // Step 21: UE-A fetches the owl once; the second fetch is a replay.
    let model = object(&fetch(&w, &b, "ue-a", UE_A).await, &b);
    assert_eq!(model.id, "owl");
    let r = fetch(&w, &b, "ue-a", UE_A).await;
    assert_eq!(problem(&r, 403).reason, Reason::Replayed);

    assert_eq!(
        w.actions("aos"),
        [
            (Act::AuthorizeAvatar, Outcome::Done),
            (Act::AuthorizeAvatar, refused(Reason::NoRecord)),
            (Act::ServeAvatarObject, Outcome::Done),
            (Act::ServeAvatarObject, refused(Reason::Replayed)),
        ]
    );
}

#[tokio::test]
async fn stir_signers_read_objects_for_rcdi_without_a_tuple_and_others_do_not() {
    let w = World::new();
    let _server = start(&w, "ims.mnc001.mcc001.3gppnetwork.org").await;
    let url = format!("https://{AOS}/aos/v1/objects/qbranch-agent");
    // The operator's STI-AS (a signer of the config) reads it: no tuple, no proof.
    let signer = w.client("sti-as-o", "sti-as.ims.mnc001.mcc001.3gppnetwork.org");
    let r = signer.send(Request::get(url.as_str())).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let served: Model = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(served.id, "qbranch-agent");
    assert!(w.notes("aos").iter().any(|(_, n)| matches!(
        n,
        Note::Action {
            act: Act::ServeAvatarObject,
            outcome: Outcome::Done,
            ..
        }
    )));
    // Anyone else without a call and a proof is refused (no call in the query).
    let r = w
        .anonymous()
        .send(Request::get(url.as_str()))
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    // Another operator's IMS AS is no signer either.
    let other = w.client("as-t", "as.ims.mnc002.mcc001.3gppnetwork.org");
    let r = other.send(Request::get(url.as_str())).await.unwrap();
    assert_eq!(r.status, 400);
}
