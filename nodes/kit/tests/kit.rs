//! kit over real sockets on loopback: HTTPS with the fixture PKI (hostname checks, mutual TLS)
//! and the x5u fetcher's rules (https only, no redirects, size and time bounds, cache).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kit::http::{Client, Peer, Request, Response, Server, ServerLimits, StaticResolver, handler};
use kit::x5u::X5uFetcher;
use kit::{Error, fixtures, tls};
use stir::{CertFetcher as _, FetchError};
use tokio::net::TcpListener;

const CR: &str = "sti-cr.ims.mnc001.mcc001.3gppnetwork.org";

async fn https_server(host: &str, client_roots: Option<&str>, h: kit::http::Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let roots = client_roots.map(|p| tls::roots_from_pem(&fixtures::read(p).unwrap()).unwrap());
    let config = tls::server_config(fixtures::tls_identity(host).unwrap(), roots).unwrap();
    Server::start(
        listener,
        Some(config),
        h,
        ServerLimits {
            timeout: Duration::from_millis(500),
            max_body: 4096,
        },
    )
    .unwrap()
}

fn client(map: &[(&str, SocketAddr)], identity: Option<&str>) -> Client {
    let roots = tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA).unwrap()).unwrap();
    let identity = identity.map(|h| fixtures::tls_identity(h).unwrap());
    let resolver = StaticResolver {
        entries: map.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
        fallback_to_system: false,
    };
    Client::new(
        tls::client_config(roots, identity).unwrap(),
        Arc::new(resolver),
    )
    .with_timeout(Duration::from_millis(800))
}

fn cr_handler() -> kit::http::Handler {
    handler(|req: Request, _peer: Peer| async move {
        match req.target.as_str() {
            "/certs/sti-sp-1001.pem" => Response::new(
                200,
                kit::x5u::PEM_CHAIN,
                fixtures::read("pki/sti-sp-1001.chain.pem").unwrap(),
            ),
            "/moved" => Response {
                status: 302,
                headers: vec![("location".into(), "/certs/sti-sp-1001.pem".into())],
                body: Default::default(),
            },
            "/huge" => Response::new(200, kit::x5u::PEM_CHAIN, vec![b'A'; 100 * 1024]),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Response::text(200, "late")
            }
            _ => Response::text(404, "no such certificate"),
        }
    })
}

#[tokio::test]
async fn x5u_fetch_over_https_and_its_rules() {
    let server = https_server(CR, None, cr_handler()).await;
    let c = client(&[(CR, server.local_addr())], None);
    let fetcher = X5uFetcher::new(c, true);
    let url = |p: &str| format!("https://{CR}{p}");

    let chain = fetcher.fetch(&url("/certs/sti-sp-1001.pem")).await.unwrap();
    assert_eq!(chain, fixtures::read("pki/sti-sp-1001.chain.pem").unwrap());
    assert!(fetcher.is_cached(&url("/certs/sti-sp-1001.pem")));

    assert!(matches!(
        fetcher
            .fetch(&format!("http://{CR}/certs/sti-sp-1001.pem"))
            .await,
        Err(FetchError::NotHttps { .. })
    ));
    assert_eq!(
        fetcher.fetch(&url("/moved")).await,
        Err(FetchError::Status { code: 302 })
    );
    assert_eq!(
        fetcher.fetch(&url("/nothing")).await,
        Err(FetchError::Status { code: 404 })
    );
    assert_eq!(
        fetcher.fetch(&url("/huge")).await,
        Err(FetchError::TooLarge {
            limit: kit::x5u::MAX_CHAIN_BYTES
        })
    );
    assert!(matches!(
        fetcher.fetch(&url("/slow")).await,
        Err(FetchError::Timeout { .. })
    ));

    // The cache answers once the server is gone.
    server.shutdown();
    assert_eq!(
        fetcher.fetch(&url("/certs/sti-sp-1001.pem")).await.unwrap(),
        chain
    );
    assert!(matches!(
        fetcher.fetch(&url("/other")).await,
        Err(FetchError::Unreachable { .. })
    ));
}

#[tokio::test]
async fn hostname_is_verified() {
    // The STI-CR's certificate presented for another name fails the handshake.
    let server = https_server(CR, None, cr_handler()).await;
    let other = "sti-cr.ims.mnc002.mcc001.3gppnetwork.org";
    let c = client(&[(other, server.local_addr())], None);
    let err = c
        .send(Request::get(format!(
            "https://{other}/certs/sti-sp-1001.pem"
        )))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Handshake { .. }), "{err}");
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let id3p = "id.enterprise.example";
    let h = handler(|_req: Request, peer: Peer| async move {
        Response::text(
            200,
            format!(
                "client cert {} bytes",
                peer.certificate.map_or(0, |c| c.len())
            ),
        )
    });
    let server = https_server(id3p, Some(fixtures::TLS_CA), h).await;
    let map = [(id3p, server.local_addr())];
    let url = format!("https://{id3p}/rcd");

    let ok = client(&map, Some("as.ims.mnc001.mcc001.3gppnetwork.org"))
        .send(Request::get(&url))
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert!(String::from_utf8_lossy(&ok.body).starts_with("client cert "));
    assert_ne!(&ok.body[..], b"client cert 0 bytes");

    // No client certificate: the server ends the handshake (TLS 1.3 reports it on first read).
    let err = client(&map, None)
        .send(Request::get(&url))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Handshake { .. } | Error::Http { .. }),
        "{err}"
    );
    // A certificate from another CA (the rogue AF of solution 9) is refused the same way.
    let err = client(&map, Some("rogue-af.avatars.example"))
        .send(Request::get(&url))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Handshake { .. } | Error::Http { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn plain_http_and_body_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let h = handler(|req: Request, _peer: Peer| async move { Response::json(200, req.body) });
    let server = Server::start(
        listener,
        None,
        h,
        ServerLimits {
            timeout: Duration::from_millis(500),
            max_body: 16,
        },
    )
    .unwrap();
    let c = client(
        &[(
            "sti-as.ims.mnc001.mcc001.3gppnetwork.org",
            server.local_addr(),
        )],
        None,
    );
    let url = "http://sti-as.ims.mnc001.mcc001.3gppnetwork.org/stir/v1/signing";
    let echoed = c.send(Request::post_json(url, r#"{"a":1}"#)).await.unwrap();
    assert_eq!((echoed.status, &echoed.body[..]), (200, &br#"{"a":1}"#[..]));
    assert_eq!(
        echoed.header_value("Content-Type"),
        Some("application/json")
    );
    let too_big = c
        .send(Request::post_json(url, vec![b'x'; 64]))
        .await
        .unwrap();
    assert_eq!(too_big.status, 413);
    // A host nobody resolves.
    let err = c
        .send(Request::get("http://nowhere.example/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Resolve { .. }), "{err}");
}

#[tokio::test]
async fn http_exchanges_are_traced_on_both_sides() {
    use kit::http::Trace;
    use kit::tap::Tap;
    use proto::trace::Body;
    let tap = Tap::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let h = handler(|req: Request, peer: Peer| async move {
        // The handler learns the trace id of the request it serves.
        assert!(peer.msg.is_some());
        Response::json(200, req.body)
    });
    let trace = |node: &str| Trace {
        tap: tap.clone(),
        node: node.into(),
    };
    let server = Server::start_traced(
        listener,
        None,
        h,
        ServerLimits::default(),
        Some(trace("sti-as-o")),
    )
    .unwrap();
    let host = "sti-as.ims.mnc001.mcc001.3gppnetwork.org";
    let c = client(&[(host, server.local_addr())], None).with_trace(trace("as-o"));
    let url = format!("http://{host}/stir/v1/signing");
    assert_eq!(
        c.send(Request::post_json(&url, "{}")).await.unwrap().status,
        200
    );
    let records = tap.ordered();
    let view: Vec<(String, String, String)> = records
        .iter()
        .map(|r| match &r.body {
            Body::Sent { message, to, .. } => (
                r.node.clone(),
                format!("→ {}", to.clone().unwrap_or_default()),
                message.summary.clone(),
            ),
            Body::Received { message, from, .. } => (
                r.node.clone(),
                format!("← {}", from.clone().unwrap_or_default()),
                message.summary.clone(),
            ),
            Body::Note { .. } => (r.node.clone(), "note".into(), String::new()),
        })
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        view,
        [
            s("as-o", "→ sti-as-o", "POST /stir/v1/signing"),
            s("sti-as-o", "← as-o", "POST /stir/v1/signing"),
            s("sti-as-o", "→ as-o", "200 OK (POST /stir/v1/signing)"),
            s("as-o", "← sti-as-o", "200 OK (POST /stir/v1/signing)"),
        ]
    );
    let raw = &records[0].message().unwrap().raw;
    assert!(
        raw.starts_with(
            "POST /stir/v1/signing HTTP/1.1\r\nhost: sti-as.ims.mnc001.mcc001.3gppnetwork.org"
        ),
        "{raw}"
    );
}

#[tokio::test]
async fn connections_are_reused_for_the_same_origin() {
    let h =
        handler(
            |_req: Request, peer: Peer| async move { Response::text(200, peer.addr.to_string()) },
        );
    let server = https_server(CR, None, h).await;
    let c = client(&[(CR, server.local_addr())], None);
    let url = format!("https://{CR}/whoami");
    let first = c.send(Request::get(&url)).await.unwrap();
    let second = c.clone().send(Request::get(&url)).await.unwrap();
    assert_eq!(
        first.body, second.body,
        "one TCP/TLS connection for both requests"
    );
    // After the server goes away, a new server on another port gets a fresh connection.
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let h =
        handler(
            |_req: Request, peer: Peer| async move { Response::text(200, peer.addr.to_string()) },
        );
    let server = https_server(CR, None, h).await;
    let c2 = client(&[(CR, server.local_addr())], None);
    assert_eq!(c2.send(Request::get(&url)).await.unwrap().status, 200);
}
