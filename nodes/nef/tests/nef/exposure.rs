//! Solution #9 over real HTTPS: a DC AF gets an access token from the NEF, subscribes to UE-A's
//! DC events; the NEF asks a real HSS/UDM for the policy and the consent, subscribes at a
//! stand-in DCSF and passes the DCSF's notification on to the AF, anonymised as the policy
//! says. A token with the wrong scope is refused (403 insufficient_scope), and the rogue AF's
//! certificate never gets past the TLS handshake.

use std::sync::{Arc, Mutex};

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, HostTable, json_response};
use kit::tap::Tap;
use nef::af::{AfCertificate, AfConfig, DcAf};
use nef::exposure::{Scope, pseudonym};
use nef::{ExposureConfig, NefConfig};
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::exposure::{
    AppInfo, DCSF_SUBSCRIPTIONS_PATH, DcsfSubscribe, EventKind, Notification, Subscribed, Target,
};

use super::{NEF, NOW, UE_A, ctx};

const HSS: &str = "hss.ims.mnc001.mcc001.3gppnetwork.org";
const DCSF: &str = "dcsf.ims.mnc001.mcc001.3gppnetwork.org";
const THIRD: &str = "dc-as.avatars.example";
const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
const ALL: [EventKind; 3] = [
    EventKind::DcEstablished,
    EventKind::AppDownloaded,
    EventKind::DcTerminated,
];

/// A stand-in DCSF: takes the NEF's subscriptions and remembers them.
async fn stand_in_dcsf(
    hosts: &Arc<HostTable>,
    tap: &Tap,
) -> (Server, Arc<Mutex<Vec<DcsfSubscribe>>>) {
    let taken = Arc::new(Mutex::new(Vec::<DcsfSubscribe>::new()));
    let seen = taken.clone();
    let server = ctx("dcsf-o", DCSF, hosts, tap)
        .https_server(
            handler(move |req: Request, _peer: Peer| {
                let seen = seen.clone();
                async move {
                    if req.target != DCSF_SUBSCRIPTIONS_PATH {
                        return Response::text(404, "no");
                    }
                    let s: DcsfSubscribe = serde_json::from_slice(&req.body).unwrap();
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(s.clone());
                        seen.len()
                    };
                    json_response(
                        201,
                        &Subscribed {
                            subscription_id: format!("dcsf-sub-{n}"),
                            events: s.events,
                            anonymised: None,
                        },
                    )
                }
            }),
            ClientAuth::Required,
        )
        .await
        .unwrap();
    (server, taken)
}

async fn af(
    hosts: &Arc<HostTable>,
    tap: &Tap,
    id: &str,
    host: &str,
    certificate: AfCertificate,
) -> (Arc<DcAf>, Server) {
    let config = AfConfig {
        nef_host: NEF.into(),
        certificate,
    };
    let (af, server) = nef::af::start(&ctx(id, host, hosts, tap), config)
        .await
        .unwrap();
    hosts.add(host, server.local_addr());
    (af, server)
}

fn established() -> Notification {
    Notification {
        event: EventKind::DcEstablished,
        caller: Some(UE_A.into()),
        callee: Some(UE_B.into()),
        dc_id: Some("dc-1".into()),
        target: Some(Target::Bdc),
        app: Some(AppInfo {
            id: "screen-share".into(),
            name: Some("Screen share".into()),
            url: Some("https://mf.example/apps/screen-share/".into()),
        }),
        at: NOW,
    }
}

#[tokio::test]
async fn an_untrusted_af_subscribes_and_gets_anonymised_notifications() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let hss_config = hss::HssConfig {
        provisioner: Some(NEF.into()),
        ..hss::HssConfig::default()
    };
    let hss = hss::start(
        &ctx("hss-o", HSS, &hosts, &tap),
        hss::Db::default(),
        hss_config,
    )
    .await
    .unwrap();
    hosts.add(HSS, hss.local_addr());
    let (dcsf, taken) = stand_in_dcsf(&hosts, &tap).await;
    hosts.add(DCSF, dcsf.local_addr());
    let mut config = NefConfig::load().unwrap();
    config.exposure = Some(ExposureConfig {
        hss_host: HSS.into(),
        dcsf_host: DCSF.into(),
        token_lifetime: 300,
    });
    let nef = nef::start(&ctx("nef-o", NEF, &hosts, &tap), config)
        .await
        .unwrap();
    hosts.add(NEF, nef.local_addr());
    let (third, _third_server) = af(&hosts, &tap, "dc-as-3p", THIRD, AfCertificate::World).await;

    // Token, subscription: the policy from the HSS/UDM, the subscription at the DCSF.
    let token = third.obtain_token(Scope::Events, None).await.unwrap();
    let subscribed = third.subscribe(&token, UE_A, &ALL).await.unwrap();
    assert_eq!(subscribed.anonymised, Some(true));
    assert_eq!(subscribed.events.len(), 3);
    let at_dcsf = taken.lock().unwrap()[0].clone();
    assert_eq!(at_dcsf.impu, UE_A);
    let notify = format!(
        "https://{NEF}/nef/v1/dc-notifications/{}",
        subscribed.subscription_id
    );
    assert_eq!(at_dcsf.notify_uri, notify);

    // Step 7 from the DCSF; step 8 to the AF, anonymised.
    let dcsf_client = ctx("dcsf-o", DCSF, &hosts, &tap)
        .https_client(true)
        .unwrap();
    let body = serde_json::to_vec(&established()).unwrap();
    let r = dcsf_client
        .send(Request::post_json(notify.clone(), body.clone()))
        .await
        .unwrap();
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let got = third.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].caller, Some(pseudonym(THIRD, UE_A)));
    assert_eq!(got[0].callee, Some(pseudonym(THIRD, UE_B)));
    assert_eq!(got[0].app.as_ref().unwrap().name, None);
    // Only the DCSF notifies.
    let other = ctx("x", "as.ims.mnc001.mcc001.3gppnetwork.org", &hosts, &tap)
        .https_client(true)
        .unwrap();
    let r = other.send(Request::post_json(notify, body)).await.unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(third.received().len(), 1);

    // A dc-control token for a subscription: 403 insufficient_scope.
    let control = third.obtain_token(Scope::Control, None).await.unwrap();
    let e = third.subscribe(&control, UE_A, &ALL).await.unwrap_err();
    assert_eq!((e.status, e.reason), (Some(403), Reason::Policy), "{e}");
    // Another audience: 401 invalid_token.
    let elsewhere = third
        .obtain_token(Scope::Events, Some("https://dac.avatars.example"))
        .await
        .unwrap();
    let e = third.subscribe(&elsewhere, UE_A, &ALL).await.unwrap_err();
    assert_eq!(e.status, Some(401), "{e}");

    // The rogue AF's certificate: the handshake is refused, no answer.
    let (rogue, _rogue_server) = af(
        &hosts,
        &tap,
        "dc-as-rogue",
        nef::af::ROGUE_HOST,
        AfCertificate::Rogue,
    )
    .await;
    let e = rogue.obtain_token(Scope::Events, None).await.unwrap_err();
    assert_eq!((e.status, e.reason), (None, Reason::Unreachable), "{e}");
    assert_eq!(
        taken.lock().unwrap().len(),
        1,
        "one subscription reached the DCSF"
    );

    let actions = |node: &str| -> Vec<(Act, Outcome)> {
        tap.records()
            .into_iter()
            .filter(|r| r.node == node)
            .filter_map(|r| match r.body {
                Body::Note { note, .. } => note.action(),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        actions("nef-o"),
        [
            (Act::IssueToken, Outcome::Done),
            (Act::AuthorizeExposure, Outcome::Done),
            (Act::ForwardDcEvent, Outcome::Done),
            (Act::ForwardDcEvent, Outcome::Refused(Reason::NotAuthorised)),
            (Act::IssueToken, Outcome::Done),
            (Act::AuthorizeExposure, Outcome::Refused(Reason::Policy)),
            (Act::IssueToken, Outcome::Done),
            (
                Act::AuthorizeExposure,
                Outcome::Refused(Reason::NotAuthorised)
            ),
        ]
    );
    assert_eq!(
        actions("hss-o"),
        [(Act::ServeExposurePolicy, Outcome::Done)]
    );
    assert_eq!(
        actions("dc-as-3p"),
        [
            (Act::ObtainToken, Outcome::Done),
            (Act::ReceiveDcEvent, Outcome::Done),
            (Act::ObtainToken, Outcome::Done),
            (Act::ObtainToken, Outcome::Done),
        ]
    );
    assert_eq!(
        actions("dc-as-rogue"),
        [(Act::ObtainToken, Outcome::Refused(Reason::Unreachable))]
    );
    let forwarded = tap.records().into_iter().find_map(|r| match r.body {
        Body::Note {
            note:
                Note::Action {
                    act: Act::ForwardDcEvent,
                    label,
                    ..
                },
            ..
        } => Some(label),
        _ => None,
    });
    assert!(
        forwarded
            .unwrap()
            .contains("anonymised: caller sip:+12025551000")
    );
}
