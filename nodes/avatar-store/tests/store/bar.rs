//! The BAR (solution #5 steps 5–7) as the MF meets it.

use avatar::token::{self, Claims};
use avatar_store::BarConfig;
use avatar_store::bar::HOST as BAR;
use kit::http::{Client, Request, Response};
use proto::trace::{Act, Note, Outcome, Reason};
use proto::wire::avatar::{Model, model_path};

use super::{CALL, MF, NOW, UE_A, World, problem, refused, ue_key};

fn token(avatar_id: &str, call: &str) -> String {
    token::sign(
        &Claims::new(avatar_id, UE_A, call, NOW, "jti-1"),
        &ue_key("ue-a"),
    )
}

async fn get(client: &Client, avatar_id: &str, token: Option<&str>) -> Response {
    let mut req = Request::get(format!("https://{BAR}{}", model_path(avatar_id, CALL)));
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    client.send(req).await.unwrap()
}

#[tokio::test]
async fn bar_answers_the_model_for_a_good_token_and_a_typed_problem_otherwise() {
    let w = World::new();
    let server = avatar_store::bar::start(&w.ctx("bar", BAR), BarConfig::from_fixtures().unwrap())
        .await
        .unwrap();
    w.hosts.add(BAR, server.local_addr());
    let mf = w.client("mf-o", MF);

    // Steps 5–7: the owner's token for this avatar and session.
    let r = get(&mf, "qbranch-agent", Some(&token("qbranch-agent", CALL))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let model: Model = serde_json::from_slice(&r.body).unwrap();
    let catalogue = avatar::Catalogue::load().unwrap();
    assert_eq!(model, catalogue.get("qbranch-agent").unwrap().model);

    // A token made for another call: replayed.
    let r = get(
        &mf,
        "qbranch-agent",
        Some(&token("qbranch-agent", "call-0@x")),
    )
    .await;
    assert_eq!(problem(&r, 403).reason, Reason::Replayed);
    // No token: challenged.
    let r = get(&mf, "qbranch-agent", None).await;
    assert_eq!(problem(&r, 401).reason, Reason::MissingIdentity);
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Bearer realm=\"bar.avatars.example\"")
    );
    // No such avatar.
    let r = get(&mf, "dragon", Some(&token("dragon", CALL))).await;
    assert_eq!(problem(&r, 404).reason, Reason::NoRecord);
    // Other methods and paths.
    let post = Request::post_json(format!("https://{BAR}{}", model_path("owl", CALL)), "{}");
    assert_eq!(mf.send(post).await.unwrap().status, 405);
    let other = Request::get(format!("https://{BAR}/bar/v1/other"));
    assert_eq!(mf.send(other).await.unwrap().status, 404);
    // Mutual TLS: a client without a certificate does not get through.
    let anonymous = w.anonymous();
    let req = Request::get(format!("https://{BAR}{}", model_path("owl", CALL)));
    assert!(anonymous.send(req).await.is_err());

    notes(&w);
}

/// The token noted on the request, then the verdict, for each request that reached step 6.
fn notes(w: &World) {
    assert_eq!(
        w.actions("bar"),
        [
            (Act::VerifyAvatarToken, Outcome::Done),
            (Act::VerifyAvatarToken, refused(Reason::Replayed)),
            (Act::VerifyAvatarToken, refused(Reason::MissingIdentity)),
            (Act::VerifyAvatarToken, refused(Reason::NoRecord)),
        ]
    );
    let notes = w.notes("bar");
    let (msg, first) = &notes[0];
    assert!(msg.is_some());
    match first {
        Note::Token { header, claims, .. } => {
            assert_eq!(header["typ"], token::TYP);
            assert_eq!(claims["avatar_id"], "qbranch-agent");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(notes[1].0, *msg, "the verdict is about the same request");
    let tokens = notes
        .iter()
        .filter(|(_, n)| matches!(n, Note::Token { .. }))
        .count();
    assert_eq!(tokens, 3, "no token note without a token");
}
