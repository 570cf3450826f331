//! The NEF over real HTTPS on loopback, between a stand-in HSS and a stand-in authorization
//! server: allocation from the authorised AF only, provisioning at the HSS (and release when the
//! HSS refuses), authorisations from the IMS AS only, routed by realm or designated IMPU;
//! (module `oauth`) solution #7's access tokens; and (module `exposure`) solution #9's DC
//! exposure with a real HSS/UDM and DC AF.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "nef/exposure.rs"]
mod exposure;
#[path = "nef/oauth.rs"]
mod oauth;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, HostTable, json_response};
use kit::tap::Tap;
use nef::NefConfig;
use proto::clock::Clock;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::authz::{
    ALLOCATE_PATH, AUTHZ_AUTHORIZE_PATH, Allocation, AllocationRequest, AuthorizeRequest,
    AuthorizeResponse, AuthzOption, NEF_AUTHORIZE_PATH, NameCard, PROVISION_PATH, Provisioning,
};

const NOW: i64 = 1_772_442_000;
const NEF: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
const HSS: &str = "hss.ims.mnc001.mcc001.3gppnetwork.org";
const AS_O: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const AUTHZ: &str = "authz.enterprise.example";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_PBX: &str = "sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org";
const ID3P: &str = "tel:+12025550100";
/// A third-party ID the stand-in authorization server refuses (revoked token).
const REVOKED: &str = "tel:+12025550199";
const POOL_0: &str = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
const POOL_1: &str = "sip:+12025550101@ims.mnc001.mcc001.3gppnetwork.org";

fn ctx(id: &str, host: &str, hosts: &Arc<HostTable>, tap: &Tap) -> Ctx {
    hosts.ctx(id, host, tap, Clock::Fixed(NOW), 7)
}

async fn post<T: serde::Serialize>(client: &Client, path: &str, body: &T) -> Response {
    client
        .send(Request::post_json(
            format!("https://{NEF}{path}"),
            serde_json::to_vec(body).unwrap(),
        ))
        .await
        .unwrap()
}

fn option_a(impu: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        impu: impu.into(),
        option: AuthzOption::A,
        realm: None,
        id3p: None,
        token: None,
        proof: None,
    }
}

fn answer(r: &Response) -> AuthorizeResponse {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

/// The NEF between its stand-ins, and its clients.
struct World {
    tap: Tap,
    hosts: Arc<HostTable>,
    /// What the stand-in HSS provisioned.
    provisioned: Arc<Mutex<Vec<Provisioning>>>,
    /// Whether the stand-in HSS refuses provisioning.
    refuse: Arc<AtomicBool>,
    /// What the stand-in authorization server was asked.
    forwarded: Arc<Mutex<Vec<AuthorizeRequest>>>,
    authz: Option<Server>,
    _servers: Vec<Server>,
    /// The authorised AF (the authorization server as a client).
    af: Client,
    ims_as: Client,
    /// A client without a certificate.
    anonymous: Client,
}

/// A stand-in HSS: records what is provisioned, refuses when told to.
async fn stand_in_hss(
    hosts: &Arc<HostTable>,
    tap: &Tap,
) -> (Server, Arc<Mutex<Vec<Provisioning>>>, Arc<AtomicBool>) {
    let provisioned = Arc::new(Mutex::new(Vec::<Provisioning>::new()));
    let refuse = Arc::new(AtomicBool::new(false));
    let hss = {
        let (provisioned, refuse) = (provisioned.clone(), refuse.clone());
        ctx("hss-o", HSS, hosts, tap)
            .https_server(
                handler(move |req: Request, _peer: Peer| {
                    let (provisioned, refuse) = (provisioned.clone(), refuse.clone());
                    async move {
                        assert_eq!(req.target, PROVISION_PATH);
                        if refuse.load(Ordering::SeqCst) {
                            return Response::text(409, "no room in the service profile");
                        }
                        provisioned
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&req.body).unwrap());
                        Response::text(201, "provisioned")
                    }
                }),
                ClientAuth::Required,
            )
            .await
            .unwrap()
    };
    (hss, provisioned, refuse)
}

/// A stand-in authorization server: authorises everything the NEF forwards but a revoked
/// third-party ID, and counts.
async fn stand_in_authz(
    hosts: &Arc<HostTable>,
    tap: &Tap,
) -> (Server, Arc<Mutex<Vec<AuthorizeRequest>>>) {
    let forwarded = Arc::new(Mutex::new(Vec::<AuthorizeRequest>::new()));
    let authz = {
        let forwarded = forwarded.clone();
        ctx("authz3p", AUTHZ, hosts, tap)
            .https_server(
                handler(move |req: Request, _peer: Peer| {
                    let forwarded = forwarded.clone();
                    async move {
                        assert_eq!(req.target, AUTHZ_AUTHORIZE_PATH);
                        let r: AuthorizeRequest = serde_json::from_slice(&req.body).unwrap();
                        forwarded.lock().unwrap().push(r.clone());
                        if r.id3p.as_deref() == Some(REVOKED) {
                            return json_response(
                                200,
                                &AuthorizeResponse::denied(Reason::Revoked, "token revoked"),
                            );
                        }
                        json_response(
                            200,
                            &AuthorizeResponse {
                                authorized: true,
                                reason: "ok".into(),
                                denial: None,
                                id3p: Some(ID3P.into()),
                                name_card: Some(NameCard {
                                    nam: "Q Branch Spy Gadgets".into(),
                                    jcl: "https://authz.enterprise.example/cards/q-branch.json"
                                        .into(),
                                }),
                                challenge: None,
                            },
                        )
                    }
                }),
                ClientAuth::Required,
            )
            .await
            .unwrap()
    };
    (authz, forwarded)
}

async fn world() -> World {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let (hss, provisioned, refuse) = stand_in_hss(&hosts, &tap).await;
    hosts.add(HSS, hss.local_addr());
    let (authz, forwarded) = stand_in_authz(&hosts, &tap).await;
    hosts.add(AUTHZ, authz.local_addr());
    let server = nef::start(&ctx("nef-o", NEF, &hosts, &tap), NefConfig::load().unwrap())
        .await
        .unwrap();
    hosts.add(NEF, server.local_addr());
    World {
        af: ctx("authz3p", AUTHZ, &hosts, &tap)
            .https_client(true)
            .unwrap(),
        ims_as: ctx("as-o", AS_O, &hosts, &tap).https_client(true).unwrap(),
        anonymous: ctx("x", "x.invalid", &hosts, &tap)
            .https_client(false)
            .unwrap(),
        tap,
        hosts,
        provisioned,
        refuse,
        forwarded,
        authz: Some(authz),
        _servers: vec![hss, server],
    }
}

/// Step 0a: allocation from the authorised AF only, provisioning at the HSS (and release when
/// the HSS refuses), until the pool is used up.
async fn allocations(w: &World) {
    let (af, ims_as, anonymous) = (&w.af, &w.ims_as, &w.anonymous);
    let (provisioned, refuse) = (&w.provisioned, &w.refuse);
    // Step 0a from the authorised AF.
    let ask = AllocationRequest {
        employee_impu: UE_A.into(),
        id3p: ID3P.into(),
    };
    let r = post(af, ALLOCATE_PATH, &ask).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let allocation: Allocation = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        allocation,
        Allocation {
            impu: POOL_0.into(),
            tn: "+12025550100".into(),
            id3p: ID3P.into(),
            realm: AUTHZ.into(),
        }
    );
    assert_eq!(
        provisioned.lock().unwrap().clone(),
        vec![Provisioning {
            impu: POOL_0.into(),
            tn: "+12025550100".into(),
            third_party_ids: true,
            authz_realm: AUTHZ.into(),
            id3p: ID3P.into(),
            employee_impu: Some(UE_A.into()),
        }]
    );
    // Asked again: the same IMPU, not provisioned twice.
    let again: Allocation =
        serde_json::from_slice(&post(af, ALLOCATE_PATH, &ask).await.body).unwrap();
    assert_eq!(again, allocation);
    assert_eq!(provisioned.lock().unwrap().len(), 1);

    // The IMS AS is not an AF; a client without a certificate does not get through TLS.
    let r = post(ims_as, ALLOCATE_PATH, &ask).await;
    assert_eq!(r.status, 403);
    assert!(String::from_utf8_lossy(&r.body).contains("authorised AFs"));
    assert!(
        anonymous
            .send(Request::post_json(
                format!("https://{NEF}{ALLOCATE_PATH}"),
                serde_json::to_vec(&ask).unwrap(),
            ))
            .await
            .is_err()
    );

    // The HSS refuses: 502 with its reason, and the IMPU goes back to the pool.
    refuse.store(true, Ordering::SeqCst);
    let other = AllocationRequest {
        employee_impu: UE_PBX.into(),
        id3p: ID3P.into(),
    };
    let r = post(af, ALLOCATE_PATH, &other).await;
    assert_eq!(r.status, 502);
    let reason = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        reason.contains("HSS refused provisioning") && reason.contains("no room"),
        "{reason}"
    );
    refuse.store(false, Ordering::SeqCst);
    let r = post(af, ALLOCATE_PATH, &other).await;
    let second: Allocation = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(second.impu, POOL_1);
    // The pool is used up.
    let third = AllocationRequest {
        employee_impu: "sip:+12025551999@ims.mnc001.mcc001.3gppnetwork.org".into(),
        id3p: ID3P.into(),
    };
    assert_eq!(post(af, ALLOCATE_PATH, &third).await.status, 503);
}

/// Step 2: authorisations from the IMS AS only, routed by realm or designated IMPU.
async fn authorizations(w: &mut World) {
    let (af, ims_as, forwarded) = (&w.af, &w.ims_as, &w.forwarded);
    // Step 2, option A: routed by the designated IMPU's record.
    let a = answer(&post(ims_as, NEF_AUTHORIZE_PATH, &option_a(POOL_0)).await);
    assert!(a.authorized);
    assert_eq!(forwarded.lock().unwrap().len(), 1);
    let a = answer(&post(ims_as, NEF_AUTHORIZE_PATH, &option_a(UE_A)).await);
    assert!(!a.authorized);
    assert_eq!(a.reason, format!("{UE_A} is not a designated IMPU"));
    assert_eq!(a.denial, Some(Reason::NoRecord));
    assert_eq!(forwarded.lock().unwrap().len(), 1, "not forwarded");

    // Option B: routed by realm; an unknown realm goes nowhere.
    let mut b = AuthorizeRequest {
        impu: UE_A.into(),
        option: AuthzOption::B,
        realm: Some(AUTHZ.into()),
        id3p: Some(ID3P.into()),
        token: Some("a.b.c".into()),
        proof: None,
    };
    let a = answer(&post(ims_as, NEF_AUTHORIZE_PATH, &b).await);
    assert!(a.authorized);
    assert_eq!(
        forwarded.lock().unwrap().last(),
        Some(&b),
        "forwarded unchanged"
    );
    // The authorization server's typed denial comes back unchanged.
    let revoked = AuthorizeRequest {
        id3p: Some(REVOKED.into()),
        ..b.clone()
    };
    let a = answer(&post(ims_as, NEF_AUTHORIZE_PATH, &revoked).await);
    assert!(!a.authorized);
    assert_eq!(a.denial, Some(Reason::Revoked));
    assert_eq!(a.reason, "token revoked");
    assert_eq!(forwarded.lock().unwrap().len(), 3);
    b.realm = Some("authz.elsewhere.example".into());
    let a = answer(&post(ims_as, NEF_AUTHORIZE_PATH, &b).await);
    assert!(!a.authorized);
    assert!(a.reason.contains("no third party authorization server"));
    assert_eq!(a.denial, Some(Reason::NoRecord));
    assert_eq!(forwarded.lock().unwrap().len(), 3);

    // Only the IMS AS may ask.
    let r = post(af, NEF_AUTHORIZE_PATH, &option_a(POOL_0)).await;
    assert_eq!(r.status, 403);
    // Malformed bodies and wrong methods.
    let r = ims_as
        .send(Request::post_json(
            format!("https://{NEF}{NEF_AUTHORIZE_PATH}"),
            "{",
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = ims_as
        .send(Request::get(format!("https://{NEF}{ALLOCATE_PATH}")))
        .await
        .unwrap();
    assert_eq!(r.status, 405);

    // The authorization server is gone: the transport error becomes the reason.
    w.hosts.remove(AUTHZ);
    drop(w.authz.take());
    b.realm = Some(AUTHZ.into());
    let a = answer(&post(ims_as, NEF_AUTHORIZE_PATH, &b).await);
    assert!(!a.authorized);
    assert!(a.reason.contains("unreachable"), "{}", a.reason);
    assert_eq!(a.denial, Some(Reason::Unreachable));
}

/// The actions the NEF must have noted in this test, with a prefix of their label.
fn expected_actions() -> [(Act, Outcome, &'static str); 9] {
    use Outcome::{Done, Refused};
    use Reason::{Malformed, NoRecord, NotAuthorised, Policy};
    [
        (
            Act::AllocateImpu,
            Done,
            "allocate designated IMPU sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org for sip:+12025551000",
        ),
        (
            Act::AllocateImpu,
            Done,
            "designated IMPU sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org already allocated",
        ),
        (
            Act::AllocateImpu,
            Refused(NotAuthorised),
            "refuse allocation: client certificate names",
        ),
        (
            Act::AllocateImpu,
            Refused(Policy),
            "release designated IMPU sip:+12025550101",
        ),
        (
            Act::AllocateImpu,
            Refused(NoRecord),
            "refuse allocation: designated IMPU pool exhausted",
        ),
        (
            Act::SelectAuthzServer,
            Done,
            "select third party authorization server authz.enterprise.example for sip:+12025550100",
        ),
        (
            Act::SelectAuthzServer,
            Refused(NoRecord),
            "cannot select third party authorization server",
        ),
        (
            Act::SelectAuthzServer,
            Refused(NotAuthorised),
            "refuse authorization request",
        ),
        (
            Act::SelectAuthzServer,
            Refused(Malformed),
            "refuse authorization request: body is not an authorization request",
        ),
    ]
}

/// What the NEF noted, typed.
fn typed_notes(tap: &Tap) {
    let notes: Vec<Note> = tap
        .records()
        .into_iter()
        .filter(|r| r.node == "nef-o")
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => Some(note),
            _ => None,
        })
        .collect();
    let actions: Vec<(Act, Outcome, &str)> = notes
        .iter()
        .filter_map(|n| match n {
            Note::Action {
                act,
                outcome,
                label,
            } => Some((*act, *outcome, label.as_str())),
            _ => None,
        })
        .collect();
    for (act, outcome, expected) in expected_actions() {
        assert!(
            actions
                .iter()
                .any(|(a, o, l)| *a == act && *o == outcome && l.starts_with(expected)),
            "no note {act:?} {outcome:?} {expected:?} in {actions:#?}"
        );
    }
    assert!(
        notes.iter().any(|n| matches!(
            n,
            Note::Check {
                passed: false,
                reason: Some(Reason::Unreachable),
                detail,
                ..
            } if detail.starts_with("authorization failed")
        )),
        "no failed check of the authorization server's answer in {notes:#?}"
    );
}

#[tokio::test]
async fn allocation_and_authorization_over_https() {
    let mut w = world().await;
    allocations(&w).await;
    authorizations(&mut w).await;
    typed_notes(&w.tap);
}
