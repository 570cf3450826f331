//! The 3P authorization server over real HTTPS on loopback: a UE gets a token and the NEF's
//! authorisation with it succeeds; only the NEF may ask; name cards are public; step 0a goes to
//! a stand-in NEF over mutual TLS and option A then works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kit::fixtures;
use kit::http::{Peer, Request, Response, handler};
use kit::node::{ClientAuth, Ctx, HostTable, json_response};
use kit::tap::Tap;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use proto::clock::Clock;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::authz::{
    ALLOCATE_PATH, AUTHZ_AUTHORIZE_PATH, Allocation, AllocationRequest, AuthorizeRequest,
    AuthorizeResponse, AuthzOption, OAuthError, TOKEN_PATH, TokenRequest, TokenResponse,
    token_signing_input,
};
use third_party::authz::{self, AuthzConfig};

const NOW: i64 = 1_772_442_000;
const AUTHZ: &str = "authz.enterprise.example";
const NEF: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
const AS_O: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const ID3P: &str = "tel:+12025550100";
const DESIGNATED: &str = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";

fn ctx(id: &str, host: &str, hosts: &Arc<HostTable>, tap: &Tap) -> Ctx {
    hosts.ctx(id, host, tap, Clock::Fixed(NOW), 7)
}

fn ue_sign(ue: &str, message: &[u8]) -> String {
    let pem = fixtures::read(&format!("pki/ue/{ue}.key.pem")).unwrap();
    let key = SigningKey::from_pkcs8_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    let s: Signature = key.sign(message);
    stir::jose::b64u(&s.to_bytes())
}

/// The typed actions `node` noted, in order.
fn actions(tap: &Tap, node: &str) -> Vec<(Act, Outcome)> {
    notes(tap, node).iter().filter_map(Note::action).collect()
}

fn notes(tap: &Tap, node: &str) -> Vec<Note> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => Some(note),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn token_authorize_cards_and_allocation_over_https() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());

    // A stand-in NEF: allocates the designated IMPU to whoever presents the authz certificate.
    let nef_ctx = ctx("nef-o", NEF, &hosts, &tap);
    let nef = nef_ctx
        .https_server(
            handler(|req: Request, peer: Peer| async move {
                if req.target != ALLOCATE_PATH || peer.certificate.is_none() {
                    return Response::text(403, "no");
                }
                let r: AllocationRequest = serde_json::from_slice(&req.body).unwrap();
                json_response(
                    200,
                    &Allocation {
                        impu: DESIGNATED.into(),
                        tn: "+12025550100".into(),
                        id3p: r.id3p,
                        realm: AUTHZ.into(),
                    },
                )
            }),
            ClientAuth::Required,
        )
        .await
        .unwrap();
    hosts.add(NEF, nef.local_addr());

    let authz_ctx = ctx("authz3p", AUTHZ, &hosts, &tap);
    let server = authz::start(&authz_ctx, AuthzConfig::default())
        .await
        .unwrap();
    hosts.add(AUTHZ, server.server.local_addr());

    let ue = ctx("ue-a", "ue-a.invalid", &hosts, &tap)
        .https_client(false)
        .unwrap();
    let as_client = ctx("as-o", AS_O, &hosts, &tap).https_client(true).unwrap();
    let nef_client = nef_ctx.https_client(true).unwrap();
    let url = |p: &str| format!("https://{AUTHZ}{p}");

    // Step 0b: the UE proves its key and gets a token.
    let request = TokenRequest {
        impu: UE_A.into(),
        id3p: ID3P.into(),
        iat: NOW,
        signature: ue_sign("ue-a", token_signing_input(UE_A, ID3P, NOW).as_bytes()),
    };
    let r = ue
        .send(Request::post_json(
            url(TOKEN_PATH),
            serde_json::to_vec(&request).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token: TokenResponse = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (token.token_type.as_str(), token.realm.as_str()),
        ("Bearer", AUTHZ)
    );

    // The same request signed by another UE: 401 with an OAuth error.
    let mut forged = request.clone();
    forged.signature = ue_sign("ue-m", token_signing_input(UE_A, ID3P, NOW).as_bytes());
    let r = ue
        .send(Request::post_json(
            url(TOKEN_PATH),
            serde_json::to_vec(&forged).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    let e: OAuthError = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(e.error, "invalid_client");
    let r = ue
        .send(Request::post_json(url(TOKEN_PATH), "{"))
        .await
        .unwrap();
    assert_eq!(r.status, 400);

    // Step 3: the NEF asks with the token.
    let ask = AuthorizeRequest {
        impu: UE_A.into(),
        option: AuthzOption::B,
        realm: Some(AUTHZ.into()),
        id3p: Some(ID3P.into()),
        token: Some(token.access_token.clone()),
        proof: None,
    };
    let body = serde_json::to_vec(&ask).unwrap();
    let r = nef_client
        .send(Request::post_json(url(AUTHZ_AUTHORIZE_PATH), body.clone()))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let answer: AuthorizeResponse = serde_json::from_slice(&r.body).unwrap();
    assert!(answer.authorized, "{answer:?}");
    let card = answer.name_card.unwrap();
    assert_eq!(
        card.jcl,
        "https://authz.enterprise.example/cards/q-branch.json"
    );

    // Only the NEF may ask: the IMS AS's certificate and no certificate are refused.
    let r = as_client
        .send(Request::post_json(url(AUTHZ_AUTHORIZE_PATH), body.clone()))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = ue
        .send(Request::post_json(url(AUTHZ_AUTHORIZE_PATH), body))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert!(String::from_utf8_lossy(&r.body).contains("mutual TLS"));

    // The name card's jCard is public.
    let r = ue.send(Request::get(card.jcl.clone())).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        fixtures::read("enterprise/jcards/q-branch.json").unwrap()
    );
    let r = ue
        .send(Request::get(url("/cards/../authz.toml")))
        .await
        .unwrap();
    assert_eq!(r.status, 404);

    // Step 0a, then option A with the designated IMPU.
    let allocation = server.handle.request_allocation(UE_A, ID3P).await.unwrap();
    assert_eq!(allocation.impu, DESIGNATED);
    assert!(server.handle.ledger().allocations.contains_key(DESIGNATED));
    let option_a = AuthorizeRequest {
        impu: DESIGNATED.into(),
        option: AuthzOption::A,
        realm: None,
        id3p: None,
        token: None,
        proof: None,
    };
    let r = nef_client
        .send(Request::post_json(
            url(AUTHZ_AUTHORIZE_PATH),
            serde_json::to_vec(&option_a).unwrap(),
        ))
        .await
        .unwrap();
    let answer: AuthorizeResponse = serde_json::from_slice(&r.body).unwrap();
    assert!(answer.authorized, "{answer:?}");
    assert_eq!(answer.id3p.as_deref(), Some(ID3P));

    // An employee refused by the enterprise's own policy is never requested.
    let e = server
        .handle
        .request_allocation("sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org", ID3P)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not an employee"), "{e}");

    // UE-A leaves the enterprise after getting a token: the token is refused from then on.
    // Minting that earlier token is not an action of this run: the server notes nothing.
    let before = notes(&tap, "authz3p").len();
    let kept = server.handle.mint_token(UE_A, ID3P).unwrap();
    assert_eq!(notes(&tap, "authz3p").len(), before);
    server.handle.revoke_employee(UE_A);
    let mut late = ask.clone();
    late.token = Some(kept.access_token);
    let r = nef_client
        .send(Request::post_json(
            url(AUTHZ_AUTHORIZE_PATH),
            serde_json::to_vec(&late).unwrap(),
        ))
        .await
        .unwrap();
    let answer: AuthorizeResponse = serde_json::from_slice(&r.body).unwrap();
    assert!(!answer.authorized);
    assert_eq!(answer.denial, Some(Reason::Revoked));
    assert!(
        answer.reason.starts_with("token revoked"),
        "{}",
        answer.reason
    );

    let refused = |reason| Outcome::Refused(reason);
    assert_eq!(
        actions(&tap, "authz3p"),
        [
            (Act::IssueToken, Outcome::Done),
            (Act::IssueToken, refused(Reason::SignatureInvalid)),
            (Act::IssueToken, refused(Reason::Malformed)),
            (Act::AuthorizeId3p, Outcome::Done),
            (Act::AuthorizeId3p, refused(Reason::NotAuthorised)),
            (Act::AuthorizeId3p, refused(Reason::NotAuthorised)),
            (Act::RequestAllocation, Outcome::Done),
            (Act::AuthorizeId3p, Outcome::Done),
            (Act::RequestAllocation, refused(Reason::NoRecord)),
            (Act::AuthorizeId3p, refused(Reason::Revoked)),
        ]
    );
    // The token as carried, with each authorisation that had one; the NEF's answer checked.
    let all = notes(&tap, "authz3p");
    let tokens = all
        .iter()
        .filter(|n| matches!(n, Note::Token { .. }))
        .count();
    assert_eq!(tokens, 2, "{all:#?}");
    assert!(
        all.iter()
            .any(|n| matches!(n, Note::Check { passed: true, .. })),
        "{all:#?}"
    );
}

#[tokio::test]
async fn stale_tokens_are_refused_as_expired() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let authz_ctx = ctx("authz3p", AUTHZ, &hosts, &tap);
    let server = authz::start(
        &authz_ctx,
        AuthzConfig {
            stale_tokens: true,
            ..AuthzConfig::default()
        },
    )
    .await
    .unwrap();
    hosts.add(AUTHZ, server.server.local_addr());
    let ue = ctx("ue-a", "ue-a.invalid", &hosts, &tap)
        .https_client(false)
        .unwrap();
    let nef_client = ctx("nef-o", NEF, &hosts, &tap).https_client(true).unwrap();
    let request = TokenRequest {
        impu: UE_A.into(),
        id3p: ID3P.into(),
        iat: NOW,
        signature: ue_sign("ue-a", token_signing_input(UE_A, ID3P, NOW).as_bytes()),
    };
    let r = ue
        .send(Request::post_json(
            format!("https://{AUTHZ}{TOKEN_PATH}"),
            serde_json::to_vec(&request).unwrap(),
        ))
        .await
        .unwrap();
    let token: TokenResponse = serde_json::from_slice(&r.body).unwrap();
    let ask = AuthorizeRequest {
        impu: UE_A.into(),
        option: AuthzOption::B,
        realm: Some(AUTHZ.into()),
        id3p: Some(ID3P.into()),
        token: Some(token.access_token),
        proof: None,
    };
    let r = nef_client
        .send(Request::post_json(
            format!("https://{AUTHZ}{AUTHZ_AUTHORIZE_PATH}"),
            serde_json::to_vec(&ask).unwrap(),
        ))
        .await
        .unwrap();
    let answer: AuthorizeResponse = serde_json::from_slice(&r.body).unwrap();
    assert!(!answer.authorized);
    assert_eq!(answer.denial, Some(Reason::Expired));
    assert!(
        answer.reason.starts_with("token expired"),
        "{}",
        answer.reason
    );
}
