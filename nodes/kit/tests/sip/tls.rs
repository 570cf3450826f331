//! SIP over TLS (RFC 3261 §26.2) between endpoints with the fixture PKI: a request and its
//! response on one mutually authenticated connection, the client's identity as the server sees
//! it, and the handshakes refused — by the server (no client certificate where one is
//! required, one from another CA) and by the client (a server certificate for another name) —
//! each a failed check on the trace of the side that refused, and an error for the sender.

use kit::Error;
use kit::node::ClientAuth;
use kit::sip::TlsConfig;
use proto::trace::{Note, Reason};

use super::*;

const IBCF: &str = "ibcf.ims.mnc001.mcc001.3gppnetwork.org";
const PBX: &str = "pbx.enterprise.example";
const ID3P: &str = "id.enterprise.example";

/// A server at the IBCF's name with a TLS listener; a UAS answering 200 on it.
async fn tls_server(
    world: &World,
    auth: ClientAuth,
) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
    let config = Config::new("ibcf-o", IBCF)
        .with_timers(Timers::fast())
        .with_tls(TlsConfig::listener(auth));
    let server = world.endpoint_with(config).await;
    let (seen_tx, seen) = mpsc::unbounded_channel();
    uas(server.clone(), seen_tx);
    (server, seen)
}

/// A client presenting `certificate`, reaching the IBCF over TLS whatever it is asked.
async fn tls_client(world: &World, certificate: Option<&str>) -> Endpoint {
    let config = Config::new("pbx", PBX)
        .with_timers(Timers::fast())
        .with_tls(TlsConfig::trunk_to(IBCF, certificate));
    world.endpoint_with(config).await
}

/// The failed checks `node` noted, with their reasons.
fn failed_checks(tap: &Tap, node: &str) -> Vec<(String, Reason)> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note {
                note:
                    Note::Check {
                        name,
                        passed: false,
                        reason: Some(reason),
                        ..
                    },
                ..
            } => Some((name, reason)),
            _ => None,
        })
        .collect()
}

/// Waits (at most 2 s) until `node` has noted a failed check (the refusing side notes it from
/// its own task, after the sender has its error).
async fn until_noted(tap: &Tap, node: &str) {
    timeout(Duration::from_secs(2), async {
        while failed_checks(tap, node).is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_request_and_its_response_over_mutual_tls() {
    let world = World::default();
    let (server, mut seen) = tls_server(&world, ClientAuth::Required).await;
    let client = tls_client(&world, Some(PBX)).await;
    let tls_port = server.tls_addr().unwrap().port();
    assert_ne!(tls_port, server.local_addr().port(), "a port of its own");

    let mut tx = client
        .send_request(invite(
            &client,
            &format!("bob@{IBCF}"),
            Some(IBCF),
            "v=0\r\n",
        ))
        .await
        .unwrap();
    assert_eq!(tx.target().transport, SipTransport::Tls);
    assert_eq!(tx.target().addr, server.tls_addr().unwrap());
    let codes = [
        response(&mut tx).await,
        response(&mut tx).await,
        response(&mut tx).await,
    ]
    .map(|r| r.status_code.code());
    assert_eq!(codes, [100, 180, 200]);

    let at_server = seen.recv().await.unwrap();
    assert_eq!(at_server.transport(), SipTransport::Tls);
    assert_eq!(at_server.peer_identity().as_deref(), Some(PBX));
    let via = &via_lines(at_server.request())[0];
    assert!(
        via.starts_with("Via: SIP/2.0/TLS pbx.enterprise.example:"),
        "{via}"
    );

    // The trace says SIP/TLS both ways, and nothing was refused.
    let records = messages(&world.tap);
    let invite_sent = sent_by(&records, "pbx", "INVITE");
    assert_eq!(invite_sent.len(), 1);
    assert_eq!(invite_sent[0].transport, Transport::Tls);
    assert_eq!(invite_sent[0].dst, server.tls_addr().unwrap());
    let ok_sent = sent_by(&records, "ibcf-o", "200 OK");
    assert_eq!(ok_sent.len(), 1);
    assert_eq!(ok_sent[0].transport, Transport::Tls);
    assert!(failed_checks(&world.tap, "ibcf-o").is_empty());
    assert!(failed_checks(&world.tap, "pbx").is_empty());
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_when_one_is_required() {
    let world = World::default();
    let (_server, mut seen) = tls_server(&world, ClientAuth::Required).await;
    let client = tls_client(&world, None).await;

    let started = Instant::now();
    let sent = client
        .send_request(options(&client, &format!("bob@{IBCF}")))
        .await;
    assert!(
        matches!(sent, Err(Error::Handshake { ref peer, .. }) if peer == IBCF),
        "{sent:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    // The server refused, and says so; the client only sees the error.
    until_noted(&world.tap, "ibcf-o").await;
    assert_eq!(
        failed_checks(&world.tap, "ibcf-o"),
        [(
            "SIP over TLS: client certificate".to_owned(),
            Reason::NotAuthorised
        )]
    );
    assert!(failed_checks(&world.tap, "pbx").is_empty());
    assert!(seen.try_recv().is_err(), "nothing reached the server's TU");
    assert!(sent_by(&messages(&world.tap), "pbx", "OPTIONS").is_empty());
}

#[tokio::test]
async fn an_optional_listener_lets_an_anonymous_client_in_without_an_identity() {
    let world = World::default();
    let (_server, mut seen) = tls_server(&world, ClientAuth::Optional).await;
    let client = tls_client(&world, None).await;
    let mut tx = client
        .send_request(options(&client, &format!("bob@{IBCF}")))
        .await
        .unwrap();
    assert_eq!(response(&mut tx).await.status_code.code(), 200);
    let at_server = seen.recv().await.unwrap();
    assert_eq!(at_server.transport(), SipTransport::Tls);
    assert_eq!(at_server.peer_identity(), None);
}

#[tokio::test]
async fn a_client_with_a_certificate_of_another_host_is_seen_as_that_host() {
    let world = World::default();
    let (_server, mut seen) = tls_server(&world, ClientAuth::Required).await;
    // Someone holding the 3P ID server's certificate connects "as the trunk".
    let client = tls_client(&world, Some(ID3P)).await;
    let mut tx = client
        .send_request(options(&client, &format!("bob@{IBCF}")))
        .await
        .unwrap();
    assert_eq!(response(&mut tx).await.status_code.code(), 200);
    let at_server = seen.recv().await.unwrap();
    assert_eq!(at_server.peer_identity().as_deref(), Some(ID3P));
}

#[tokio::test]
async fn a_sips_uri_goes_over_tls_and_a_plain_one_does_not() {
    let world = World::default();
    let (server, mut seen) = tls_server(&world, ClientAuth::Optional).await;
    let plain = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;

    let sips = request(&format!(
        "OPTIONS sips:bob@{IBCF} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:alice@ue-a.test>;tag=1\r\n\
         To: <sips:bob@{IBCF}>\r\nCall-ID: sips-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ));
    let mut tx = plain.send_request(sips).await.unwrap();
    assert_eq!(tx.target().transport, SipTransport::Tls);
    assert_eq!(response(&mut tx).await.status_code.code(), 200);
    assert_eq!(seen.recv().await.unwrap().transport(), SipTransport::Tls);

    let mut tx = plain
        .send_request(options(&plain, &format!("bob@{IBCF}")))
        .await
        .unwrap();
    assert_eq!(tx.target().transport, SipTransport::Udp);
    assert_eq!(tx.target().addr, server.local_addr());
    assert_eq!(response(&mut tx).await.status_code.code(), 200);
    assert_eq!(seen.recv().await.unwrap().transport(), SipTransport::Udp);
}

#[tokio::test]
async fn a_server_certificate_for_another_name_is_refused_by_the_client() {
    let world = World::default();
    let (server, _seen) = tls_server(&world, ClientAuth::Optional).await;
    // DNS (here: the table) sends the S-CSCF's name to the IBCF's TLS port.
    let scscf = "scscf.ims.mnc001.mcc001.3gppnetwork.org";
    world
        .table
        .tls
        .lock()
        .unwrap()
        .insert(scscf.to_owned(), server.tls_addr().unwrap());
    let client = world.endpoint("ue-a", "ue-a.test", Timers::fast()).await;
    let sent = client
        .send_request(request(&format!(
            "OPTIONS sip:bob@{scscf};transport=tls SIP/2.0\r\nMax-Forwards: 70\r\n\
             From: <sip:alice@ue-a.test>;tag=1\r\nTo: <sip:bob@{scscf}>\r\nCall-ID: name-1\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )))
        .await;
    assert!(
        matches!(sent, Err(Error::Handshake { ref peer, .. }) if peer == scscf),
        "{sent:?}"
    );
    assert_eq!(
        failed_checks(&world.tap, "ue-a"),
        [(
            "SIP over TLS: server certificate".to_owned(),
            Reason::CertificateInvalid
        )]
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_fails_the_handshake() {
    let world = World::default();
    let (_server, mut seen) = tls_server(&world, ClientAuth::Required).await;
    // A certificate issued by the fixture Rogue CA, under no trust anchor of the world.
    let client = tls_client(&world, Some("rogue-af.avatars.example")).await;
    let sent = client
        .send_request(options(&client, &format!("bob@{IBCF}")))
        .await;
    assert!(matches!(sent, Err(Error::Handshake { .. })), "{sent:?}");
    until_noted(&world.tap, "ibcf-o").await;
    assert_eq!(
        failed_checks(&world.tap, "ibcf-o"),
        [(
            "SIP over TLS: client certificate".to_owned(),
            Reason::CertificateInvalid
        )]
    );
    assert!(seen.try_recv().is_err());
}
