//! kit::dns over real sockets on loopback: the zones a world publishes, the authoritative server
//! on UDP and TCP, RFC 3263 location and HTTP(S) SRV resolution through the node resolver, its
//! trace records and cache, and server shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use kit::dns::{DnsResolver, DnsServer, Entry, zones};
use kit::http::{Client, Peer, Request, Resolve, Response, Server, ServerLimits, handler};
use kit::locate::Locate;
use kit::tap::{Layer, Tap};
use kit::{fixtures, tls};
use proto::sip::{SipTarget, SipTransport};
use proto::trace::{Body, Proto};
use tokio::net::TcpListener;

const PCSCF: &str = "pcscf.ims.mnc001.mcc001.3gppnetwork.org";
const SCSCF: &str = "scscf.ims.mnc001.mcc001.3gppnetwork.org";
const HSS: &str = "hss.ims.mnc001.mcc001.3gppnetwork.org";
const CR: &str = "sti-cr.ims.mnc001.mcc001.3gppnetwork.org";
const PBX: &str = "pbx.enterprise.example";
const REPO: &str = "certs.sti.example";

fn world(pcscf_port: u16) -> Vec<Entry> {
    vec![
        Entry::new(PCSCF).with_sip(pcscf_port),
        Entry::new(SCSCF).with_sip(5080),
        Entry::new(HSS),
        Entry::new(CR).with_https(8443),
        Entry::new(PBX).with_sip(5090).with_https(9443),
        Entry::new(REPO).with_http(8080),
    ]
}

fn node_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40000))
}

fn resolver(server: &DnsServer, node: &str, tap: &Tap) -> DnsResolver {
    DnsResolver::new(server.local_addr(), node, node_addr(), tap.clone()).unwrap()
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn udp(port: u16) -> SipTarget {
    SipTarget {
        addr: local(port),
        transport: SipTransport::Udp,
    }
}

fn tcp(port: u16) -> SipTarget {
    SipTarget {
        addr: local(port),
        transport: SipTransport::Tcp,
    }
}

/// (node, sent?, peer, summary, raw) of every DNS record on the tap, in arrival order.
fn dns_trace(tap: &Tap) -> Vec<(String, bool, Option<String>, String, String)> {
    tap.records()
        .into_iter()
        .filter_map(|r| match r.body {
            Body::Sent { to, message, .. } if message.proto == Proto::Dns => {
                Some((r.node, true, to, message.summary, message.raw))
            }
            Body::Received { from, message, .. } if message.proto == Proto::Dns => {
                Some((r.node, false, from, message.summary, message.raw))
            }
            _ => None,
        })
        .collect()
}

fn summaries(tap: &Tap) -> Vec<String> {
    dns_trace(tap).into_iter().map(|t| t.3).collect()
}

#[test]
fn zone_data_for_a_sip_host_and_an_https_host() {
    let zones = zones(&world(5070)).unwrap();
    let origins: Vec<String> = zones.iter().map(|z| z.origin.to_string()).collect();
    assert_eq!(
        origins,
        [
            "enterprise.example.",
            "ims.mnc001.mcc001.3gppnetwork.org.",
            "sti.example."
        ]
    );
    let ims = zones[1].lines();
    assert!(ims[0].starts_with("ims.mnc001.mcc001.3gppnetwork.org. 3600 IN SOA ns.ims."));
    assert_eq!(
        ims[1],
        "ims.mnc001.mcc001.3gppnetwork.org. 3600 IN NS ns.ims.mnc001.mcc001.3gppnetwork.org."
    );
    let pcscf: Vec<&str> = ims
        .iter()
        .map(String::as_str)
        .filter(|l| l.contains("pcscf"))
        .collect();
    assert_eq!(
        pcscf,
        [
            "pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN A 127.0.0.1",
            "pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN NAPTR 10 50 \"s\" \"SIP+D2U\" \"\" _sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org.",
            "pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN NAPTR 20 50 \"s\" \"SIP+D2T\" \"\" _sip._tcp.pcscf.ims.mnc001.mcc001.3gppnetwork.org.",
            "_sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN SRV 0 0 5070 pcscf.ims.mnc001.mcc001.3gppnetwork.org.",
            "_sip._tcp.pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN SRV 0 0 5070 pcscf.ims.mnc001.mcc001.3gppnetwork.org.",
        ]
    );
    let cr: Vec<&str> = ims
        .iter()
        .map(String::as_str)
        .filter(|l| l.contains("sti-cr"))
        .collect();
    assert_eq!(
        cr,
        [
            "sti-cr.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN A 127.0.0.1",
            "_https._tcp.sti-cr.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN SRV 0 0 8443 sti-cr.ims.mnc001.mcc001.3gppnetwork.org.",
        ]
    );
    // Same entries, same zones.
    assert_eq!(zones, kit::dns::zones(&world(5070)).unwrap());
}

#[tokio::test]
async fn server_answers_the_records_on_udp_and_tcp() {
    let tap = Tap::new();
    let server = DnsServer::start(&world(5070), tap.clone()).unwrap();
    assert_eq!(
        tap.node_at(kit::tap::Layer::Udp, server.local_addr())
            .as_deref(),
        Some("dns")
    );
    let r = resolver(&server, "pcscf-o", &tap);

    let naptr = r.query(PCSCF, RecordType::NAPTR).await.unwrap();
    let lines: Vec<String> = naptr.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN NAPTR 10 50 \"s\" \"SIP+D2U\" \"\" _sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org.",
            "pcscf.ims.mnc001.mcc001.3gppnetwork.org. 3600 IN NAPTR 20 50 \"s\" \"SIP+D2T\" \"\" _sip._tcp.pcscf.ims.mnc001.mcc001.3gppnetwork.org.",
        ]
    );
    let srv = r
        .query(&format!("_https._tcp.{CR}"), RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(
        srv[0].to_string(),
        format!("_https._tcp.{CR}. 3600 IN SRV 0 0 8443 {CR}.")
    );
    let a = r.query(PBX, RecordType::A).await.unwrap();
    assert_eq!(a[0].to_string(), format!("{PBX}. 3600 IN A 127.0.0.1"));
    // An HTTPS-only host has no NAPTR (NODATA), a name nobody published does not exist.
    let nodata = r.query(CR, RecordType::NAPTR).await.unwrap_err();
    assert_eq!(nodata.kind(), io::ErrorKind::NotFound);

    // The same port speaks TCP: a TCP-only hickory resolver gets the same answer.
    let mut conn = ConnectionConfig::tcp();
    conn.port = server.local_addr().port();
    let config = ResolverConfig::from_parts(
        None,
        vec![],
        vec![NameServerConfig::new(
            server.local_addr().ip(),
            true,
            vec![conn],
        )],
    );
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(1);
    let tcp_only = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .unwrap();
    let lookup = tcp_only
        .lookup(format!("_sip._tcp.{PCSCF}."), RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(
        lookup.answers()[0].to_string(),
        format!("_sip._tcp.{PCSCF}. 3600 IN SRV 0 0 5070 {PCSCF}.")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn locate_finds_sip_over_tls_only_when_asked() {
    const IBCF: &str = "ibcf.ims.mnc001.mcc001.3gppnetwork.org";
    let tap = Tap::new();
    let mut entries = world(5070);
    entries.push(Entry::new(IBCF).with_sip(5100).with_sips(5101));
    let server = DnsServer::start(&entries, tap.clone()).unwrap();
    let r = resolver(&server, "pbx", &tap);
    let tls = |port| SipTarget {
        addr: local(port),
        transport: SipTransport::Tls,
    };

    // `transport=tls` or a sips: URI: SRV _sips._tcp (RFC 3263 §4.1).
    assert_eq!(
        r.sip_targets(IBCF, None, Some(SipTransport::Tls))
            .await
            .unwrap(),
        [tls(5101)]
    );
    // A sip: URI without a transport is not moved to TLS by the SIPS+D2T NAPTR.
    assert_eq!(
        r.sip_targets(IBCF, None, None).await.unwrap(),
        [udp(5100), tcp(5100)]
    );
    // No TLS published: the address on 5061 (§4.2).
    assert_eq!(
        r.sip_targets(HSS, None, Some(SipTransport::Tls))
            .await
            .unwrap(),
        [tls(5061)]
    );
    assert!(
        summaries(&tap)
            .iter()
            .any(|s| s.contains(&format!("_sips._tcp.{IBCF}"))),
        "{:?}",
        summaries(&tap)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn locate_follows_rfc_3263() {
    let tap = Tap::new();
    let server = DnsServer::start(&world(5070), tap.clone()).unwrap();
    let r = resolver(&server, "scscf-o", &tap);

    // NAPTR → SRV → A: UDP first, then TCP.
    assert_eq!(
        r.sip_targets(PCSCF, None, None).await.unwrap(),
        [udp(5070), tcp(5070)]
    );
    assert_eq!(
        r.sip_targets(PBX, None, None).await.unwrap(),
        [udp(5090), tcp(5090)]
    );
    // An explicit transport skips NAPTR; an explicit port skips SRV too.
    assert_eq!(
        r.sip_targets(SCSCF, None, Some(SipTransport::Tcp))
            .await
            .unwrap(),
        [tcp(5080)]
    );
    assert_eq!(
        r.sip_targets(SCSCF, Some(5999), None).await.unwrap(),
        [udp(5999)]
    );
    assert_eq!(
        r.sip_targets(SCSCF, Some(5999), Some(SipTransport::Tcp))
            .await
            .unwrap(),
        [tcp(5999)]
    );
    // A host with only an address: no NAPTR, no SRV → port 5060 over UDP (§4.2).
    assert_eq!(r.sip_targets(HSS, None, None).await.unwrap(), [udp(5060)]);
    assert_eq!(
        r.sip_targets(HSS, None, Some(SipTransport::Tcp))
            .await
            .unwrap(),
        [tcp(5060)]
    );
    // A numeric host asks nobody.
    let before = tap.len();
    assert_eq!(
        r.sip_targets("127.0.0.1", Some(5999), Some(SipTransport::Tcp))
            .await
            .unwrap(),
        [tcp(5999)]
    );
    assert_eq!(
        r.sip_targets("127.0.0.1", None, None).await.unwrap(),
        [udp(5060)]
    );
    assert_eq!(tap.len(), before);
    // A host nobody published.
    let err = r
        .sip_targets("nosuch.ims.mnc001.mcc001.3gppnetwork.org", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn http_resolve_takes_the_port_from_srv() {
    let tap = Tap::new();
    let server = DnsServer::start(&world(5070), tap.clone()).unwrap();
    let r = resolver(&server, "sti-vs-t", &tap);
    // 443 / 80 mean "the URL had no port": SRV says where.
    assert_eq!(r.resolve(CR, 443).await.unwrap(), local(8443));
    assert_eq!(r.resolve(REPO, 80).await.unwrap(), local(8080));
    assert_eq!(r.resolve(PBX, 443).await.unwrap(), local(9443));
    // No SRV for that scheme, or an explicit port: the address and the port given.
    assert_eq!(r.resolve(REPO, 443).await.unwrap(), local(443));
    assert_eq!(r.resolve(CR, 8000).await.unwrap(), local(8000));
    let before = tap.len();
    assert_eq!(r.resolve("127.0.0.1", 443).await.unwrap(), local(443));
    assert_eq!(
        r.resolve("[::1]", 80).await.unwrap(),
        SocketAddr::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), 80)
    );
    assert_eq!(tap.len(), before);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_hosts_fail_fast() {
    let tap = Tap::new();
    let server = DnsServer::start(&world(5070), tap.clone()).unwrap();
    let r = resolver(&server, "as-o", &tap);

    let started = Instant::now();
    let in_zone = r
        .resolve("nosuch.ims.mnc001.mcc001.3gppnetwork.org", 443)
        .await
        .unwrap_err();
    assert_eq!(in_zone.kind(), io::ErrorKind::NotFound);
    // Outside every zone the server refuses; that is "not found" too.
    let outside = r.resolve("www.example.net", 8080).await.unwrap_err();
    assert_eq!(outside.kind(), io::ErrorKind::NotFound);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    assert_eq!(
        summaries(&tap),
        [
            "SRV? _https._tcp.nosuch.ims.mnc001.mcc001.3gppnetwork.org",
            "SRV _https._tcp.nosuch.ims.mnc001.mcc001.3gppnetwork.org → NXDOMAIN",
            "A? nosuch.ims.mnc001.mcc001.3gppnetwork.org",
            "A nosuch.ims.mnc001.mcc001.3gppnetwork.org → NXDOMAIN",
            "A? www.example.net",
            "A www.example.net → REFUSED",
        ]
    );
    // The negative answer came with the zone's SOA (RFC 2308).
    let raw = &dns_trace(&tap)[3].4;
    assert!(
        raw.starts_with(";; status: NXDOMAIN\nims.mnc001.mcc001.3gppnetwork.org. 3600 IN SOA"),
        "{raw}"
    );
    // Negative answers are cached like positive ones.
    let n = tap.len();
    assert!(r.resolve("www.example.net", 8080).await.is_err());
    assert_eq!(tap.len(), n);
    server.shutdown().await;
}

#[tokio::test]
async fn http_client_finds_its_server_through_dns() {
    let tap = Tap::new();
    // A plain-HTTP server (the certificate repository) and an HTTPS one (a CR with its fixture
    // certificate), each on an OS-chosen port that only DNS knows.
    let limits = ServerLimits {
        timeout: Duration::from_secs(2),
        max_body: 4096,
    };
    let plain = Server::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        None,
        handler(|req: Request, _peer: Peer| async move {
            Response::text(200, format!("repo saw {}", req.target))
        }),
        limits,
    )
    .unwrap();
    let identity = fixtures::tls_identity(CR).unwrap();
    let secure = Server::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        Some(tls::server_config(identity, None).unwrap()),
        handler(|req: Request, _peer: Peer| async move {
            Response::text(200, format!("cr saw {}", req.target))
        }),
        limits,
    )
    .unwrap();
    let entries = [
        Entry::new(REPO).with_http(plain.local_addr().port()),
        Entry::new(CR).with_https(secure.local_addr().port()),
    ];
    let server = DnsServer::start(&entries, tap.clone()).unwrap();
    let r = Arc::new(resolver(&server, "sti-vs-t", &tap));
    let roots = tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA).unwrap()).unwrap();
    let client = Client::new(tls::client_config(roots, None).unwrap(), r)
        .with_timeout(Duration::from_secs(3));

    let response = client
        .send(Request::get(format!("http://{REPO}/certs/a.pem")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(&response.body[..], b"repo saw /certs/a.pem");

    let response = client
        .send(Request::get(format!("https://{CR}/certs/b.pem")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(&response.body[..], b"cr saw /certs/b.pem");

    let dns = summaries(&tap);
    assert_eq!(
        dns,
        [
            format!("SRV? _http._tcp.{REPO}"),
            format!("SRV _http._tcp.{REPO} → 1 record"),
            format!("A? {REPO}"),
            format!("A {REPO} → 1 record"),
            format!("SRV? _https._tcp.{CR}"),
            format!("SRV _https._tcp.{CR} → 1 record"),
            format!("A? {CR}"),
            format!("A {CR} → 1 record"),
        ]
    );
    plain.shutdown();
    secure.shutdown();
    server.shutdown().await;
}

#[tokio::test]
async fn every_query_is_traced_once_and_cached_answers_are_not() {
    let tap = Tap::new();
    let server = DnsServer::start(&world(5070), tap.clone()).unwrap();
    let dns = server.local_addr();
    let r = resolver(&server, "scscf-o", &tap);

    r.query(PCSCF, RecordType::NAPTR).await.unwrap();
    let trace = dns_trace(&tap);
    assert_eq!(trace.len(), 2);
    let (node, sent, peer, summary, raw) = &trace[0];
    assert_eq!(
        (node.as_str(), *sent, peer.as_deref()),
        ("scscf-o", true, Some("dns"))
    );
    assert_eq!(summary, &format!("NAPTR? {PCSCF}"));
    assert_eq!(raw, &format!("{PCSCF}. IN NAPTR"));
    let (node, sent, peer, summary, raw) = &trace[1];
    assert_eq!(
        (node.as_str(), *sent, peer.as_deref()),
        ("scscf-o", false, Some("dns"))
    );
    assert_eq!(summary, &format!("NAPTR {PCSCF} → 2 records"));
    assert_eq!(raw.lines().count(), 2);
    assert!(
        raw.lines()
            .all(|l| l.starts_with(&format!("{PCSCF}. 3600 IN NAPTR "))),
        "{raw}"
    );
    // Wire facts: from the node's own query socket (a port of its own on the node's address,
    // registered as the node's) to the server and back, as UDP DNS, with the bytes that went.
    let records = tap.records();
    let (Body::Sent { message: q, .. }, Body::Received { message: a, .. }) =
        (&records[0].body, &records[1].body)
    else {
        panic!("{records:?}");
    };
    assert_eq!((q.dst, a.src, a.dst), (dns, dns, q.src));
    assert_eq!(q.src.ip(), node_addr().ip());
    assert_ne!(q.src.port(), node_addr().port());
    assert_eq!(
        tap.node_exact(Layer::Udp, q.src).as_deref(),
        Some("scscf-o")
    );
    assert!(tap.ports().contains(&(q.src.port(), "scscf-o".to_owned())));
    // The answer's bytes are the server's: a response to the query's id.
    let answer = hickory_proto::op::Message::from_vec(a.wire.as_deref().expect("answer bytes"))
        .expect("a DNS message");
    let query = hickory_proto::op::Message::from_vec(q.wire.as_deref().expect("query bytes"))
        .expect("a DNS message");
    assert_eq!(answer.metadata.id, query.metadata.id);
    assert_eq!(query.metadata.id, 1);
    assert!(r.is_cached(PCSCF, RecordType::NAPTR));

    // Asked again: answered from the cache, nothing on the wire, nothing traced.
    r.query(PCSCF, RecordType::NAPTR).await.unwrap();
    assert_eq!(tap.len(), 2);

    // A full location: NAPTR is cached; each SRV once, the shared target's A once.
    r.sip_targets(PCSCF, None, None).await.unwrap();
    let expected = [
        format!("NAPTR? {PCSCF}"),
        format!("NAPTR {PCSCF} → 2 records"),
        format!("SRV? _sip._udp.{PCSCF}"),
        format!("SRV _sip._udp.{PCSCF} → 1 record"),
        format!("A? {PCSCF}"),
        format!("A {PCSCF} → 1 record"),
        format!("SRV? _sip._tcp.{PCSCF}"),
        format!("SRV _sip._tcp.{PCSCF} → 1 record"),
    ];
    assert_eq!(summaries(&tap), expected);
    r.sip_targets(PCSCF, None, None).await.unwrap();
    assert_eq!(tap.len(), expected.len());

    // Concurrent lookups of one name share one query.
    let (x, y) = tokio::join!(r.query(SCSCF, RecordType::A), r.query(SCSCF, RecordType::A));
    assert_eq!(x.unwrap(), y.unwrap());
    assert_eq!(tap.len(), expected.len() + 2);

    // Determinism: another resolver doing the same lookups records the same messages.
    let other_tap = Tap::new();
    let other = DnsResolver::new(dns, "scscf-o", node_addr(), other_tap.clone()).unwrap();
    other.query(PCSCF, RecordType::NAPTR).await.unwrap();
    other.sip_targets(PCSCF, None, None).await.unwrap();
    other.query(SCSCF, RecordType::A).await.unwrap();
    let strip =
        |t: Vec<(String, bool, Option<String>, String, String)>| -> Vec<(bool, String, String)> {
            t.into_iter()
                .map(|(_, s, _, sum, raw)| (s, sum, raw))
                .collect()
        };
    assert_eq!(strip(dns_trace(&other_tap)), strip(dns_trace(&tap)));
    let keys = |tap: &Tap| -> Vec<u64> {
        tap.records()
            .iter()
            .filter_map(|r| r.message().map(|m| m.key))
            .collect()
    };
    assert_eq!(keys(&other_tap), keys(&tap));
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_nothing_answering() {
    let tap = Tap::new();
    let server = DnsServer::start(&world(5070), tap.clone()).unwrap();
    let addr = server.local_addr();
    let before = resolver(&server, "pcscf-o", &tap);
    assert_eq!(before.resolve(CR, 443).await.unwrap(), local(8443));
    server.shutdown().await;

    // A fresh resolver (empty cache) gets no answer, within its bound.
    let after = DnsResolver::new(addr, "pcscf-o", node_addr(), tap.clone()).unwrap();
    let started = Instant::now();
    let err = after.resolve(CR, 443).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::ConnectionRefused
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let last = summaries(&tap).pop().unwrap();
    assert!(
        last.starts_with(&format!("SRV _https._tcp.{CR} → ")),
        "{last}"
    );
    assert!(!after.is_cached(&format!("_https._tcp.{CR}"), RecordType::SRV));
    // Nothing listens on TCP, and both sockets are free again.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    drop(std::net::UdpSocket::bind(addr).unwrap());
    drop(std::net::TcpListener::bind(addr).unwrap());

    // Dropping a server stops it too.
    let dropped = DnsServer::start(&world(5070), Tap::new()).unwrap();
    let addr = dropped.local_addr();
    drop(dropped);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if std::net::UdpSocket::bind(addr).is_ok() && std::net::TcpListener::bind(addr).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sockets of a dropped server still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_servers_run_independently() {
    let tap = Tap::new();
    let one = DnsServer::start(&world(5070), tap.clone()).unwrap();
    let two = DnsServer::start(&world(6070), tap.clone()).unwrap();
    assert_ne!(one.local_addr(), two.local_addr());
    let r1 = resolver(&one, "a", &tap);
    let r2 = resolver(&two, "b", &tap);
    assert_eq!(
        r1.sip_targets(PCSCF, None, None).await.unwrap(),
        [udp(5070), tcp(5070)]
    );
    assert_eq!(
        r2.sip_targets(PCSCF, None, None).await.unwrap(),
        [udp(6070), tcp(6070)]
    );
    one.shutdown().await;
    let r2_fresh = DnsResolver::new(two.local_addr(), "c", node_addr(), tap.clone()).unwrap();
    assert_eq!(
        r2_fresh
            .sip_targets(PCSCF, None, Some(SipTransport::Udp))
            .await
            .unwrap(),
        [udp(6070)]
    );
    two.shutdown().await;
}

/// Out of a runtime there is nothing to serve on: an error, not a panic.
#[test]
fn starting_outside_a_runtime_is_an_error() {
    assert!(matches!(
        DnsServer::start(&world(5070), Tap::new()),
        Err(kit::Error::Bind { .. })
    ));
}
