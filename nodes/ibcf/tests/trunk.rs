//! The IBCF's trunk over real sockets with the fixture PKI: the PBX identified by mutual TLS,
//! its identity asserted and the trunk named toward a stand-in S-CSCF; and every spoofed trunk
//! (plain SIP naming the enterprise in its Via, another host's certificate, no certificate)
//! refused at the IBCF, with the typed notes the harness judges on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ibcf::{IbcfConfig, Trunk};
use kit::Error;
use kit::http::{BoxFuture, Resolve};
use kit::locate::Locate;
use kit::node::{ClientAuth, Ctx};
use kit::sip::{Config, Endpoint, Incoming, TlsConfig};
use kit::sipnode::SipNode;
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sip::proxy::response_to;
use proto::sip::{Method, Request, Response, SipTarget, SipTransport, Timers};
use proto::sipmsg;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use tokio::sync::mpsc;
use tokio::time::timeout;

const IBCF: &str = "ibcf.ims.mnc001.mcc001.3gppnetwork.org";
const SCSCF: &str = "scscf.ims.mnc001.mcc001.3gppnetwork.org";
const PBX: &str = "pbx.enterprise.example";
const ID3P: &str = "id.enterprise.example";
const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";

/// Hostnames → SIP addresses (UDP/TCP) and TLS listener addresses.
#[derive(Debug, Default)]
struct Table {
    sip: Mutex<HashMap<String, SocketAddr>>,
    tls: Mutex<HashMap<String, SocketAddr>>,
}

impl Locate for Table {
    fn sip_targets<'a>(
        &'a self,
        host: &'a str,
        _port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> BoxFuture<'a, io::Result<Vec<SipTarget>>> {
        Box::pin(async move {
            let (map, transport) = match transport {
                Some(SipTransport::Tls) => (&self.tls, SipTransport::Tls),
                Some(other) => (&self.sip, other),
                None => (&self.sip, SipTransport::Udp),
            };
            let addr = map.lock().unwrap().get(host).copied();
            let addr = addr.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, host))?;
            Ok(vec![SipTarget { addr, transport }])
        })
    }
}

impl Resolve for Table {
    fn resolve<'a>(&'a self, host: &'a str, _port: u16) -> BoxFuture<'a, io::Result<SocketAddr>> {
        Box::pin(async move { Err(io::Error::new(io::ErrorKind::NotFound, host)) })
    }
}

/// One small world: the IBCF with its trunk, a stand-in S-CSCF that answers 200 and reports
/// what reached it, and a table to find them.
struct World {
    tap: Tap,
    table: Arc<Table>,
    _ibcf: SipNode,
    scscf_saw: mpsc::UnboundedReceiver<Request>,
}

impl World {
    async fn new(client_auth: ClientAuth) -> World {
        let tap = Tap::new();
        let table = Arc::new(Table::default());
        let ctx = Ctx {
            id: "ibcf-o".into(),
            host: IBCF.into(),
            tap: tap.clone(),
            clock: Clock::Fixed(1_770_000_000),
            seed: 7,
            resolve: table.clone(),
            locate: table.clone(),
        };
        let config = IbcfConfig {
            domain: "ims.mnc001.mcc001.3gppnetwork.org".into(),
            scscf_host: SCSCF.into(),
            peers: [(
                "ims.mnc002.mcc001.3gppnetwork.org".to_owned(),
                "ibcf.ims.mnc002.mcc001.3gppnetwork.org".to_owned(),
            )]
            .into(),
            trunk: Some(Trunk {
                host: PBX.into(),
                domain: "enterprise.example".into(),
                client_auth,
            }),
            tamper: None,
            answer_tamper: None,
            timers: Timers::fast(),
        };
        let ibcf = ibcf::start(&ctx, config).await.unwrap();
        let tls_addr = ibcf
            .endpoint
            .tls_addr()
            .expect("a TLS listener for the trunk");
        table
            .sip
            .lock()
            .unwrap()
            .insert(IBCF.into(), ibcf.endpoint.local_addr());
        table.tls.lock().unwrap().insert(IBCF.into(), tls_addr);
        let scscf = endpoint(&tap, &table, "scscf-o", SCSCF, TlsConfig::default()).await;
        let (saw, scscf_saw) = mpsc::unbounded_channel();
        tokio::spawn(answer_everything(scscf, saw));
        World {
            tap,
            table,
            _ibcf: ibcf,
            scscf_saw,
        }
    }

    /// A PBX (or something pretending to be one) with `tls`.
    async fn pbx(&self, tls: TlsConfig) -> Endpoint {
        endpoint(&self.tap, &self.table, "pbx", PBX, tls).await
    }

    /// The actions `node` noted.
    fn actions(&self, node: &str) -> Vec<(Act, Outcome)> {
        self.notes(node).iter().filter_map(Note::action).collect()
    }

    fn notes(&self, node: &str) -> Vec<Note> {
        self.tap
            .records()
            .into_iter()
            .filter(|r| r.node == node)
            .filter_map(|r| match r.body {
                Body::Note { note, .. } => Some(note),
                _ => None,
            })
            .collect()
    }
}

async fn endpoint(
    tap: &Tap,
    table: &Arc<Table>,
    node: &str,
    host: &str,
    tls: TlsConfig,
) -> Endpoint {
    let config = Config::new(node, host)
        .with_timers(Timers::fast())
        .with_tls(tls);
    let ep = Endpoint::bind(config, table.clone(), tap.clone(), Rng::for_node(7, node))
        .await
        .unwrap();
    table
        .sip
        .lock()
        .unwrap()
        .insert(host.into(), ep.local_addr());
    ep
}

/// The stand-in S-CSCF: 200 to everything, every request reported.
async fn answer_everything(ep: Endpoint, saw: mpsc::UnboundedSender<Request>) {
    while let Some(mut incoming) = ep.next_request().await {
        let _ = saw.send(incoming.request().clone());
        answer(&mut incoming).await;
    }
}

async fn answer(incoming: &mut Incoming) {
    if incoming.is_ack() {
        return;
    }
    let mut ok = response_to(incoming.request(), 200, "OK", Some("scscf1"));
    sipmsg::push(&mut ok.headers, "Contact", format!("<sip:callee@{SCSCF}>"));
    incoming.respond(ok).await.unwrap();
}

/// The PBX's INVITE: its user's number in P-Preferred-Identity, and a P-Asserted-Identity and
/// P-Served-User of its own that the IBCF must not believe.
fn invite(ep: &Endpoint) -> Request {
    Request::try_from(format!(
        "INVITE {CALLEE} SIP/2.0\r\nRoute: <sip:{IBCF};lr>\r\nMax-Forwards: 70\r\n\
         From: \"Front Desk\" <sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org>;tag={tag}\r\n\
         To: <{CALLEE}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:+12025552001@127.0.0.1:{port}>\r\n\
         P-Preferred-Identity: \"Front Desk\" <sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org;user=phone>\r\n\
         P-Asserted-Identity: <sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org;user=phone>\r\n\
         P-Served-User: <sip:{PBX}>;sescase=orig\r\nContent-Length: 0\r\n\r\n",
        tag = ep.next_tag(),
        call_id = ep.next_call_id(),
        port = ep.local_addr().port(),
    ).as_str())
    .unwrap()
}

/// The final response to `request` sent from `ep`.
async fn final_response(ep: &Endpoint, request: Request) -> Result<Response, Error> {
    let mut tx = ep.send_request(request).await?;
    let wait = Duration::from_secs(5);
    loop {
        let r = timeout(wait, tx.next_response()).await.unwrap().unwrap();
        if r.status_code.code() >= 200 {
            return Ok(r);
        }
    }
}

#[tokio::test]
async fn the_trunk_identified_by_its_certificate_enters_the_originating_services() {
    let mut world = World::new(ClientAuth::Required).await;
    let pbx = world.pbx(TlsConfig::trunk_to(IBCF, Some(PBX))).await;
    let ok = final_response(&pbx, invite(&pbx)).await.unwrap();
    assert_eq!(ok.status_code.code(), 200);

    let at_scscf = timeout(Duration::from_secs(2), world.scscf_saw.recv())
        .await
        .unwrap()
        .unwrap();
    let h = |name| sipmsg::values(&at_scscf.headers, name);
    assert_eq!(
        h("P-Asserted-Identity"),
        ["\"Front Desk\" <sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org;user=phone>"]
    );
    assert_eq!(h("P-Served-User"), [format!("<sip:{PBX}>;sescase=orig")]);
    assert!(h("P-Preferred-Identity").is_empty());
    assert_eq!(
        sipmsg::route_uris(&at_scscf.headers),
        [format!("sip:{SCSCF};lr;orig")]
    );
    // The trunk's Via says TLS: the IBCF got it over the trunk's connection.
    assert!(
        h("Via")[1].starts_with("SIP/2.0/TLS pbx.enterprise.example:"),
        "{:?}",
        h("Via")
    );

    assert_eq!(
        world.actions("ibcf-o"),
        [
            (Act::IdentifyTrunk, Outcome::Done),
            (Act::StripUntrusted, Outcome::Done),
            (Act::AssertIdentity, Outcome::Done),
            (Act::Route, Outcome::Done),
        ]
    );

    // The ACK of the 200 goes over the trunk too, and is not judged again.
    let ack = proto::sip::ua::ack_for_2xx(&invite_as_sent(&world), &ok).unwrap();
    pbx.send_stateless(ack).await.unwrap();
    let ack_at_scscf = timeout(Duration::from_secs(2), world.scscf_saw.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ack_at_scscf.method, Method::Ack);
    assert_eq!(world.actions("ibcf-o").len(), 4);
    let ack_sent = world
        .tap
        .records()
        .into_iter()
        .filter(|r| r.node == "pbx" && matches!(r.body, Body::Sent { .. }))
        .filter_map(|r| r.message().cloned())
        .find(|m| m.summary.starts_with("ACK"))
        .unwrap();
    assert_eq!(ack_sent.transport, proto::trace::Transport::Tls);
}

/// The INVITE as the PBX sent it (from the trace).
fn invite_as_sent(world: &World) -> Request {
    let raw = world
        .tap
        .records()
        .into_iter()
        .filter(|r| r.node == "pbx" && matches!(r.body, Body::Sent { .. }))
        .filter_map(|r| r.message().cloned())
        .find(|m| m.summary.starts_with("INVITE"))
        .unwrap()
        .raw;
    Request::try_from(raw.as_str()).unwrap()
}

/// The IBCF's refusal of a spoofed trunk: 403, a refused `IdentifyTrunk`, nothing onward.
async fn refused_at_the_ibcf(world: &mut World, pbx: &Endpoint) {
    let answer = final_response(pbx, invite(pbx)).await.unwrap();
    assert_eq!(answer.status_code.code(), 403);
    assert_eq!(
        world.actions("ibcf-o"),
        [(Act::IdentifyTrunk, Outcome::Refused(Reason::NotAuthorised))]
    );
    assert!(
        world.scscf_saw.try_recv().is_err(),
        "nothing reached the S-CSCF"
    );
}

#[tokio::test]
async fn plain_sip_naming_the_enterprise_in_its_via_is_refused() {
    let mut world = World::new(ClientAuth::Required).await;
    let spoof = world.pbx(TlsConfig::default()).await;
    refused_at_the_ibcf(&mut world, &spoof).await;
}

#[tokio::test]
async fn a_certificate_of_another_host_is_refused() {
    let mut world = World::new(ClientAuth::Required).await;
    let spoof = world.pbx(TlsConfig::trunk_to(IBCF, Some(ID3P))).await;
    refused_at_the_ibcf(&mut world, &spoof).await;
    let Some(Note::Action { label, .. }) = world.notes("ibcf-o").into_iter().next() else {
        panic!()
    };
    assert!(label.contains(ID3P), "{label}");
}

#[tokio::test]
async fn no_certificate_fails_the_handshake_when_the_listener_requires_one() {
    let world = World::new(ClientAuth::Required).await;
    let spoof = world.pbx(TlsConfig::trunk_to(IBCF, None)).await;
    let sent = final_response(&spoof, invite(&spoof)).await;
    assert!(matches!(sent, Err(Error::Handshake { .. })), "{sent:?}");
    timeout(Duration::from_secs(2), async {
        while world.notes("ibcf-o").is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    let notes = world.notes("ibcf-o");
    assert!(
        matches!(
            notes.as_slice(),
            [Note::Check {
                passed: false,
                reason: Some(Reason::NotAuthorised),
                ..
            }]
        ),
        "{notes:?}"
    );
}

#[tokio::test]
async fn no_certificate_on_an_optional_listener_is_refused_with_403() {
    let mut world = World::new(ClientAuth::Optional).await;
    let spoof = world.pbx(TlsConfig::trunk_to(IBCF, None)).await;
    refused_at_the_ibcf(&mut world, &spoof).await;
}
