//! The IP-PBX on its SIP trunk (TR 33.790 §6.2.2.2 NOTE 2), over real sockets against a
//! stand-in IBCF with a TLS listener: the genuine trunk connects with mutual TLS presenting the
//! PBX's own certificate and names its user's number in P-Preferred-Identity (RFC 3325 §9.2);
//! the spoofed trunks (another host's certificate, none, plain SIP) arrive as what they are.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::http::{BoxFuture, Resolve};
use kit::locate::Locate;
use kit::node::{ClientAuth, Ctx};
use kit::sip::{Config, Endpoint, TlsConfig};
use kit::tap::Tap;
use proto::clock::{Clock, Rng};
use proto::sip::proxy::response_to;
use proto::sip::{SipTarget, SipTransport, Timers};
use proto::sipmsg;
use ue::{Access, TrunkTls, Ue, UeConfig};

const IBCF: &str = "ibcf.ims.mnc001.mcc001.3gppnetwork.org";
const PBX: &str = "pbx.enterprise.example";
const UE_PBX: &str = "sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org";
const CALLEE: &str = "tel:+12155551001";

/// The stand-in IBCF's addresses: SIP (UDP/TCP) and TLS.
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
                _ => (&self.sip, SipTransport::Udp),
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

/// What reached the stand-in IBCF: the INVITE, how it came, and who the client proved to be.
#[derive(Debug)]
struct Seen {
    invite: proto::sip::Request,
    transport: SipTransport,
    peer_identity: Option<String>,
}

/// A stand-in IBCF (TLS listener with optional client certificates) answering every INVITE
/// 200, and a PBX with `tls`; the INVITE a call brings, as the IBCF saw it.
async fn call_over(tls: TrunkTls) -> Seen {
    let tap = Tap::new();
    let table = Arc::new(Table::default());
    let config = Config::new("ibcf-o", IBCF)
        .with_timers(Timers::fast())
        .with_tls(TlsConfig::listener(ClientAuth::Optional));
    let ibcf = Endpoint::bind(
        config,
        table.clone(),
        tap.clone(),
        Rng::for_node(7, "ibcf-o"),
    )
    .await
    .unwrap();
    table
        .sip
        .lock()
        .unwrap()
        .insert(IBCF.into(), ibcf.local_addr());
    table
        .tls
        .lock()
        .unwrap()
        .insert(IBCF.into(), ibcf.tls_addr().unwrap());
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let server = ibcf.clone();
    tokio::spawn(async move {
        while let Some(mut incoming) = server.next_request().await {
            if incoming.is_ack() {
                continue;
            }
            let _ = seen_tx.send(Seen {
                invite: incoming.request().clone(),
                transport: incoming.transport(),
                peer_identity: incoming.peer_identity(),
            });
            let mut ok = response_to(incoming.request(), 200, "OK", Some("ibcf1"));
            sipmsg::push(&mut ok.headers, "Contact", format!("<sip:callee@{IBCF}>"));
            let _ = incoming.respond(ok).await;
        }
    });

    let ctx = Ctx {
        id: "pbx".into(),
        host: PBX.into(),
        tap,
        clock: Clock::Fixed(1_772_442_000),
        seed: 7,
        resolve: table.clone(),
        locate: table,
    };
    let config = UeConfig {
        impu: UE_PBX.into(),
        access: Access::Trunk {
            ibcf_host: IBCF.into(),
            tls,
        },
        timers: Timers::fast(),
        wait: Duration::from_secs(5),
        auto_answer: true,
        dc: None,
        impi: None,
        password: None,
    };
    let pbx = Ue::start(&ctx, config).await.unwrap();
    let call = pbx.call(CALLEE, Some("Front Desk")).await.unwrap();
    assert_eq!(call.code, 200);
    tokio::time::timeout(Duration::from_secs(2), seen.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_genuine_trunk_runs_mutual_tls_with_the_pbx_certificate() {
    let seen = call_over(TrunkTls::Own).await;
    assert_eq!(seen.transport, SipTransport::Tls);
    assert_eq!(seen.peer_identity.as_deref(), Some(PBX));
    // The number is preferred, not asserted: only the trust domain asserts.
    assert_eq!(
        sipmsg::values(&seen.invite.headers, "P-Preferred-Identity"),
        [format!("\"Front Desk\" <{UE_PBX};user=phone>")]
    );
    assert!(sipmsg::first(&seen.invite.headers, "P-Asserted-Identity").is_none());
}

#[tokio::test]
async fn spoofed_trunks_arrive_as_what_they_are() {
    let other = call_over(TrunkTls::As("id.enterprise.example".into())).await;
    assert_eq!(other.transport, SipTransport::Tls);
    assert_eq!(
        other.peer_identity.as_deref(),
        Some("id.enterprise.example")
    );

    let anonymous = call_over(TrunkTls::Anonymous).await;
    assert_eq!(anonymous.transport, SipTransport::Tls);
    assert_eq!(anonymous.peer_identity, None);

    let plain = call_over(TrunkTls::None).await;
    assert_eq!(plain.transport, SipTransport::Udp);
    assert_eq!(plain.peer_identity, None);
}
