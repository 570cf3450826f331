//! The DAC (solution #6 steps 5–6) as the XR AS meets it.

use avatar::attestation::{self, Claims, LIFETIME};
use avatar::e2e::{self, EphemeralKey};
use avatar_store::DacConfig;
use avatar_store::dac::HOST as DAC;
use avatar_store::dac::decide::draw;
use kit::http::{Client, Request, Response};
use proto::clock::Rng;
use proto::trace::{Act, Note, Outcome, Reason};
use proto::wire::avatar::{OBJECT_PATH, ObjectRequest, ObjectResponse, Rendering};

use super::{NOW, SEED, World, XR_AS, XR_AS_T, problem, refused, ue_key};

fn ue_a_epk() -> EphemeralKey {
    EphemeralKey::from_bytes([0xa1; 32]).unwrap()
}

fn attestation(rendering: Rendering, xr_as: &str) -> String {
    let claims = Claims {
        avatar_id: "qbranch-agent".into(),
        xr_as: xr_as.into(),
        rendering,
        epk_ue_a: (rendering == Rendering::UeACentric).then(|| ue_a_epk().public_jwk()),
        epk_ue_b: None,
        exp: NOW + LIFETIME,
    };
    attestation::sign(&claims, &ue_key("ue-a"))
}

async fn post(client: &Client, attestation: String) -> Response {
    let body = serde_json::to_vec(&ObjectRequest { attestation }).unwrap();
    client
        .send(Request::post_json(
            format!("https://{DAC}{OBJECT_PATH}"),
            body,
        ))
        .await
        .unwrap()
}

fn answer(r: &Response) -> ObjectResponse {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn dac_answers_the_object_for_a_good_attestation_and_a_typed_problem_otherwise() {
    let w = World::new();
    let server = avatar_store::dac::start(&w.ctx("dac", DAC), DacConfig::from_fixtures().unwrap())
        .await
        .unwrap();
    w.hosts.add(DAC, server.local_addr());
    let xr_as = w.client("xr-as-o", XR_AS);
    let model = avatar::Catalogue::load()
        .unwrap()
        .get("qbranch-agent")
        .unwrap()
        .model
        .clone();

    // Network centric: the object itself.
    let a = answer(&post(&xr_as, attestation(Rendering::NetworkCentric, XR_AS)).await);
    assert_eq!(a.rendering, Rendering::NetworkCentric);
    assert_eq!((a.object, a.protected), (Some(model.clone()), None));

    // UE-A centric: protected for UE-A's ephemeral key, from the DAC's first object stream.
    let a = answer(&post(&xr_as, attestation(Rendering::UeACentric, XR_AS)).await);
    assert_eq!(a.object, None);
    let protected = a.protected.unwrap();
    let seeded = draw(&mut Rng::for_node(SEED, "dac/obj1")).unwrap();
    assert_eq!(protected.epk, seeded.key.public_jwk());
    let (opened, _) = e2e::open(&protected, &ue_a_epk()).unwrap();
    assert_eq!(opened, model);

    // The attestation names the other operator's XR AS, not the requester.
    let xr_as_t = w.client("xr-as-t", XR_AS_T);
    let r = post(&xr_as_t, attestation(Rendering::NetworkCentric, XR_AS)).await;
    assert_eq!(problem(&r, 403).reason, Reason::NotAuthorised);
    // No client certificate: no identity.
    let r = post(
        &w.anonymous(),
        attestation(Rendering::NetworkCentric, XR_AS),
    )
    .await;
    assert_eq!(problem(&r, 403).reason, Reason::NotAuthorised);
    // Not an object request.
    let r = xr_as
        .send(Request::post_json(
            format!("https://{DAC}{OBJECT_PATH}"),
            "{",
        ))
        .await
        .unwrap();
    assert_eq!(problem(&r, 400).reason, Reason::Malformed);

    notes(&w);
}

fn notes(w: &World) {
    assert_eq!(
        w.actions("dac"),
        [
            (Act::VerifyAttestation, Outcome::Done),
            (Act::VerifyAttestation, Outcome::Done),
            (Act::ProtectAvatarObject, Outcome::Done),
            (Act::VerifyAttestation, refused(Reason::NotAuthorised)),
            (Act::VerifyAttestation, refused(Reason::NotAuthorised)),
            (Act::VerifyAttestation, refused(Reason::Malformed)),
        ]
    );
    let notes = w.notes("dac");
    let attestations = notes
        .iter()
        .filter(
            |(_, n)| matches!(n, Note::Token { header, .. } if header["typ"] == attestation::TYP),
        )
        .count();
    assert_eq!(attestations, 3, "noted for each request that carried one");
    let agreement = notes
        .iter()
        .find_map(|(msg, n)| match n {
            Note::KeyAgreement {
                local_public,
                peer_public,
                key_fingerprint,
                ..
            } => Some((msg, local_public, peer_public, key_fingerprint)),
            _ => None,
        })
        .unwrap();
    assert!(agreement.0.is_some());
    assert_eq!(agreement.2["x"], ue_a_epk().public_jwk().x);
    let protect = notes
        .iter()
        .find_map(|(_, n)| match n {
            Note::Action {
                act: Act::ProtectAvatarObject,
                label,
                ..
            } => Some(label),
            _ => None,
        })
        .unwrap();
    assert!(
        protect.contains("UE-A") && protect.contains(agreement.3.as_str()),
        "{protect}"
    );
}
