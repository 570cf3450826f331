//! TR 33.790 solution #4 from the UE's side, over real sockets on 127.0.0.1 against stand-ins:
//! the §6.4.2.2 challenge (a `401` with a Bearer nonce answered once by re-sending the INVITE
//! with a proof), the designated IMPU of option A, the Authorization header of option B, and
//! the token request of step 0b over HTTPS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::Error;
use kit::http::{Peer, handler};
use kit::node::{ClientAuth, Ctx, HostTable, json_response};
use kit::tap::Tap;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use proto::clock::Clock;
use proto::sip::{Request, Timers};
use proto::sipmsg;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::authz::{
    OAuthError, TOKEN_PATH, TokenRequest, TokenResponse, proof_signing_input, token_signing_input,
};
use tokio::net::UdpSocket;
use ue::{Access, TrunkTls, Ue, UeConfig, bearer_authorization, parse_auth_params};
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer as _, X509Certificate};

const NOW: i64 = 1_772_442_000;
const AUTHZ: &str = "authz.enterprise.example";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_PBX: &str = "sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org";
const DESIGNATED: &str = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
const ID3P: &str = "tel:+12025550100";
const CALLEE: &str = "tel:+12155551001";
const NONCE: &str = "00112233445566778899aabbccddeeff";
const CHALLENGE: &str =
    r#"Bearer realm="authz.enterprise.example", nonce="00112233445566778899aabbccddeeff""#;

fn ctx(id: &str, host: &str, hosts: &Arc<HostTable>, tap: &Tap) -> Ctx {
    hosts.ctx(id, host, tap, Clock::Fixed(NOW), 7)
}

fn config(impu: &str, access: Access) -> UeConfig {
    UeConfig {
        impu: impu.into(),
        access,
        // A long T1: no INVITE retransmissions on a busy machine.
        timers: Timers {
            t1: Duration::from_secs(2),
            ..Timers::default()
        },
        wait: Duration::from_secs(5),
        auto_answer: true,
        dc: None,
        impi: None,
        password: None,
    }
}

/// The public key of `fixtures/pki/ue/<ue>.pem`.
fn certificate_key(ue: &str) -> VerifyingKey {
    let pem = kit::fixtures::read(&format!("pki/ue/{ue}.pem")).unwrap();
    let der = Pem::iter_from_buffer(&pem)
        .map_while(Result::ok)
        .find(|b| b.label == "CERTIFICATE")
        .unwrap()
        .contents;
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    VerifyingKey::from_sec1_bytes(&cert.tbs_certificate.subject_pki.subject_public_key.data)
        .unwrap()
}

/// `third_party::authz::verify_ue_signature`.
fn verifies(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
    let Ok(raw) = stir::jose::b64u_decode(signature, stir::jose::Part::Signature) else {
        return false;
    };
    raw.len() == 64 && Signature::from_slice(&raw).is_ok_and(|s| key.verify(message, &s).is_ok())
}

/// The action notes of `node`, in order: tag, outcome, label.
fn actions(tap: &Tap, node: &str) -> Vec<(Act, Outcome, String)> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note {
                note:
                    Note::Action {
                        act,
                        outcome,
                        label,
                    },
                ..
            } => Some((act, outcome, label)),
            _ => None,
        })
        .collect()
}

/// The tags and outcomes of `node`'s action notes, in order.
fn acts(tap: &Tap, node: &str) -> Vec<(Act, Outcome)> {
    actions(tap, node)
        .into_iter()
        .map(|(act, outcome, _)| (act, outcome))
        .collect()
}

/// How the stand-in answers an INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// 401 with [`CHALLENGE`] unless the INVITE carries a proof; 200 with one.
    Challenge,
    /// 401 with [`CHALLENGE`], always.
    ChallengeAlways,
    /// 401 with a Digest challenge.
    Digest,
    /// 200 at once.
    Answer,
}

/// A raw UDP stand-in for the network (P-CSCF or IBCF): records every request it receives and
/// answers REGISTER, BYE with 200 and INVITE as its policy says. Raw, so every ACK is seen.
struct Network {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Network {
    async fn start(policy: Policy) -> Network {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(text) = std::str::from_utf8(&buf[..n]) else {
                    continue;
                };
                let Ok(request) = Request::try_from(text) else {
                    continue;
                };
                log.lock().unwrap().push(request.clone());
                let method = request.method.to_string();
                let answer = match method.as_str() {
                    "ACK" => continue,
                    "INVITE" => {
                        let proof = sipmsg::first(&request.headers, "Authorization")
                            .and_then(parse_auth_params)
                            .is_some_and(|(_, p)| p.contains_key("proof"));
                        match policy {
                            Policy::Answer => reply(&request, "200 OK", "", addr),
                            Policy::Challenge if proof => reply(&request, "200 OK", "", addr),
                            Policy::Challenge | Policy::ChallengeAlways => reply(
                                &request,
                                "401 Unauthorized",
                                &format!("WWW-Authenticate: {CHALLENGE}\r\n"),
                                addr,
                            ),
                            Policy::Digest => reply(
                                &request,
                                "401 Unauthorized",
                                "WWW-Authenticate: Digest realm=\"ims\", nonce=\"d1\"\r\n",
                                addr,
                            ),
                        }
                    }
                    _ => reply(&request, "200 OK", "", addr),
                };
                let _ = socket.send_to(answer.as_bytes(), from).await;
            }
        });
        Network { addr, seen }
    }

    fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `n` requests came (or a bound passed).
    async fn wait_for(&self, n: usize) -> Vec<Request> {
        for _ in 0..200 {
            if self.seen.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.seen()
    }
}

fn reply(request: &Request, status: &str, extra: &str, me: SocketAddr) -> String {
    let h = |name: &str| sipmsg::values(&request.headers, name);
    let mut text = format!("SIP/2.0 {status}\r\n");
    for via in h("Via") {
        text.push_str(&format!("Via: {via}\r\n"));
    }
    let to = h("To")[0];
    let to = if to.contains(";tag=") {
        to.to_owned()
    } else {
        format!("{to};tag=net1")
    };
    text.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n",
        h("From")[0],
        h("Call-ID")[0],
        h("CSeq")[0]
    ));
    if status.starts_with("200") && request.method.to_string() == "INVITE" {
        text.push_str(&format!(
            "Record-Route: <sip:{me};lr>\r\nContact: <sip:callee@{me}>\r\n"
        ));
    }
    text.push_str(extra);
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

fn header<'a>(r: &'a Request, name: &str) -> &'a str {
    sipmsg::first(&r.headers, name).unwrap_or_default()
}

fn branch(r: &Request) -> String {
    let via = header(r, "Via");
    via.split(";branch=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn methods(seen: &[Request]) -> Vec<String> {
    seen.iter()
        .map(|r| format!("{} {}", r.method, header(r, "CSeq")))
        .collect()
}

/// The IP-PBX (trunk mode, node `pbx`, UE key `ue-pbx`) and a stand-in IBCF with `policy`.
async fn pbx(policy: Policy, tap: &Tap) -> (Ue, Network) {
    let hosts = Arc::new(HostTable::default());
    let network = Network::start(policy).await;
    hosts.add("ibcf.test", network.addr);
    let pbx = Ue::start(
        &ctx("pbx", "pbx.test", &hosts, tap),
        config(
            UE_PBX,
            Access::Trunk {
                ibcf_host: "ibcf.test".into(),
                // The stand-in IBCF listens on UDP only.
                tls: TrunkTls::None,
            },
        ),
    )
    .await
    .unwrap();
    pbx.use_ue_key("ue-pbx");
    (pbx, network)
}

#[tokio::test]
async fn challenge_answered_once_with_a_proof() {
    let tap = Tap::new();
    let (pbx, network) = pbx(Policy::Challenge, &tap).await;
    let call = pbx.call(CALLEE, Some("Front Desk")).await.unwrap();
    assert_eq!(call.code, 200);
    let codes: Vec<u16> = call
        .responses
        .iter()
        .map(|r| r.status_code.code())
        .collect();
    assert_eq!(codes, [401, 200]);
    assert_eq!(call.cseq, 2);
    assert_eq!(header(&call.invite, "CSeq"), "2 INVITE");

    // INVITE, the transaction's ACK of the 401 (once), INVITE with the proof, ACK of the 200.
    let seen = network.wait_for(4).await;
    assert_eq!(
        methods(&seen),
        [
            "INVITE 1 INVITE",
            "ACK 1 ACK",
            "INVITE 2 INVITE",
            "ACK 2 ACK"
        ]
    );
    let (first, ack401, second, ack200) = (&seen[0], &seen[1], &seen[2], &seen[3]);
    assert_eq!(branch(ack401), branch(first));
    assert_ne!(branch(second), branch(first));
    assert_ne!(branch(ack200), branch(second));
    for h in [
        "From",
        "To",
        "Call-ID",
        "Route",
        "P-Preferred-Identity",
        "Contact",
    ] {
        assert_eq!(header(second, h), header(first, h), "{h}");
    }
    assert_eq!(second.body, first.body);
    assert!(!second.body.is_empty());
    assert_eq!(header(first, "Authorization"), "");
    // No Authorization configured: the challenge's realm, no 3P ID, the nonce and the proof.
    let (scheme, params) = parse_auth_params(header(second, "Authorization")).unwrap();
    assert_eq!(scheme, "Bearer");
    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        ["nonce", "proof", "realm"]
    );
    assert_eq!(params["realm"], AUTHZ);
    assert_eq!(params["nonce"], NONCE);
    assert!(verifies(
        &certificate_key("ue-pbx"),
        proof_signing_input(NONCE),
        &params["proof"]
    ));
    assert_eq!(
        header(&call.invite, "Authorization"),
        header(second, "Authorization")
    );
    assert_eq!(
        actions(&tap, "pbx"),
        [(
            Act::AnswerChallenge,
            Outcome::Done,
            "answer the authorization server's challenge: sign the nonce with the UE key (TR 33.790 §6.4.2.2)"
                .to_owned()
        )]
    );

    // The dialog continues with the re-sent INVITE's CSeq.
    assert_eq!(pbx.hang_up(&call).await.unwrap(), 200);
    let seen = network.wait_for(5).await;
    assert_eq!(methods(&seen)[4], "BYE 3 BYE");
    pbx.shutdown();
}

#[tokio::test]
async fn configured_authorization_goes_first_and_carries_the_proof() {
    let tap = Tap::new();
    let (pbx, network) = pbx(Policy::Challenge, &tap).await;
    let configured = bearer_authorization(AUTHZ, ID3P, None);
    pbx.set_authorization(Some(configured.clone()));
    let call = pbx.call(CALLEE, None).await.unwrap();
    assert_eq!(call.code, 200);
    let seen = network.wait_for(4).await;
    assert_eq!(header(&seen[0], "Authorization"), configured);
    let second = header(&seen[2], "Authorization");
    assert!(second.starts_with(&format!("{configured}, nonce=\"{NONCE}\", proof=\"")));
    let (_, params) = parse_auth_params(second).unwrap();
    assert_eq!(params["3pid"], ID3P);
    assert!(verifies(
        &certificate_key("ue-pbx"),
        NONCE.as_bytes(),
        &params["proof"]
    ));
    assert_eq!(sipmsg::values(&seen[2].headers, "Authorization").len(), 1);
    pbx.shutdown();
}

#[tokio::test]
async fn a_second_challenge_is_final() {
    let tap = Tap::new();
    let (pbx, network) = pbx(Policy::ChallengeAlways, &tap).await;
    let call = pbx.call(CALLEE, None).await.unwrap();
    assert_eq!(call.code, 401);
    assert!(!call.answered());
    let codes: Vec<u16> = call
        .responses
        .iter()
        .map(|r| r.status_code.code())
        .collect();
    assert_eq!(codes, [401, 401]);
    assert_eq!(call.cseq, 2);
    let seen = network.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        methods(&network.seen()),
        [
            "INVITE 1 INVITE",
            "ACK 1 ACK",
            "INVITE 2 INVITE",
            "ACK 2 ACK"
        ]
    );
    assert_eq!(branch(&seen[3]), branch(&seen[2]));
    pbx.shutdown();
}

#[tokio::test]
async fn other_challenges_are_not_answered() {
    let tap = Tap::new();
    let (pbx, network) = pbx(Policy::Digest, &tap).await;
    let call = pbx.call(CALLEE, None).await.unwrap();
    assert_eq!(call.code, 401);
    assert_eq!(call.responses.len(), 1);
    assert_eq!(call.cseq, 1);
    network.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(methods(&network.seen()), ["INVITE 1 INVITE", "ACK 1 ACK"]);
    pbx.shutdown();
}

#[tokio::test]
async fn a_missing_ue_key_leaves_the_401() {
    let tap = Tap::new();
    let (pbx, network) = pbx(Policy::Challenge, &tap).await;
    pbx.use_ue_key("no-such-ue");
    let call = pbx.call(CALLEE, None).await.unwrap();
    assert_eq!(call.code, 401);
    assert_eq!(call.responses.len(), 1);
    network.wait_for(2).await;
    assert_eq!(
        acts(&tap, "pbx"),
        [(Act::AnswerChallenge, Outcome::Refused(Reason::Malformed))]
    );
    assert!(
        actions(&tap, "pbx")[0]
            .2
            .starts_with("cannot answer the authorization server's challenge"),
        "{:?}",
        actions(&tap, "pbx")
    );
    pbx.shutdown();
}

#[tokio::test]
async fn designated_impu_and_authorization_header() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let network = Network::start(Policy::Answer).await;
    hosts.add("pcscf.test", network.addr);
    let ue = Ue::start(
        &ctx("ue-a", "ue-a.test", &hosts, &tap),
        config(
            UE_A,
            Access::Pcscf {
                pcscf_host: "pcscf.test".into(),
                domain: "ims.mnc001.mcc001.3gppnetwork.org".into(),
            },
        ),
    )
    .await
    .unwrap();
    assert_eq!(ue.impu(), UE_A);
    assert_eq!(ue.authorization(), None);
    ue.use_impu(DESIGNATED);
    assert_eq!(ue.impu(), DESIGNATED);
    assert_eq!(
        actions(&tap, "ue-a"),
        [(
            Act::UseDesignatedImpu,
            Outcome::Done,
            format!("configure the allocated IMPU {DESIGNATED} (option A)")
        )]
    );
    assert_eq!(ue.register().await.unwrap(), 200);
    let value = bearer_authorization(AUTHZ, ID3P, Some("eyJ.a.b"));
    ue.set_authorization(Some(value.clone()));
    let call = ue.call(CALLEE, None).await.unwrap();
    assert_eq!(call.code, 200);
    assert_eq!(call.cseq, 1);
    ue.set_authorization(None);
    let responses = ue.call_and_cancel(CALLEE).await.unwrap();
    assert_eq!(responses.last().unwrap().status_code.code(), 200);

    // (call_and_cancel does not ACK: it only waits for the final answer.)
    let seen = network.wait_for(4).await;
    assert_eq!(
        methods(&seen),
        [
            "REGISTER 1 REGISTER",
            "INVITE 1 INVITE",
            "ACK 1 ACK",
            "INVITE 1 INVITE"
        ]
    );
    let (register, invite, plain) = (&seen[0], &seen[1], &seen[3]);
    let uri = |v: &str| sipmsg::NameAddr::parse(v).unwrap().uri;
    assert_eq!(uri(header(register, "From")), DESIGNATED);
    assert_eq!(uri(header(register, "To")), DESIGNATED);
    assert!(header(register, "Contact").starts_with("<sip:+12025550100@127.0.0.1:"));
    assert_eq!(uri(header(invite, "From")), DESIGNATED);
    assert!(header(invite, "Contact").starts_with("<sip:+12025550100@"));
    assert_eq!(
        header(invite, "Authorization"),
        r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100", token="eyJ.a.b""#
    );
    assert_eq!(uri(header(plain, "From")), DESIGNATED);
    assert_eq!(header(plain, "Authorization"), "");
    ue.shutdown();
}

/// The token endpoint of a stand-in authorization server, checking what `third_party::authz`
/// checks.
fn token_endpoint(req: kit::http::Request) -> kit::http::Response {
    if req.method != "POST" || req.target != TOKEN_PATH {
        return kit::http::Response::text(404, "no");
    }
    let r: TokenRequest = serde_json::from_slice(&req.body).unwrap();
    let input = token_signing_input(&r.impu, &r.id3p, r.iat);
    let refuse = |status, error: &str, why: &str| {
        json_response(
            status,
            &OAuthError {
                error: error.into(),
                error_description: why.into(),
            },
        )
    };
    if !verifies(&certificate_key("ue-a"), input.as_bytes(), &r.signature) {
        return refuse(401, "invalid_client", "bad signature");
    }
    if r.iat != NOW || r.impu != UE_A {
        return refuse(400, "invalid_request", "wrong iat or impu");
    }
    if r.id3p != ID3P {
        return refuse(403, "unauthorized_client", "not allowed that 3P ID");
    }
    json_response(
        200,
        &TokenResponse {
            access_token: "eyJ.t.s".into(),
            token_type: "Bearer".into(),
            expires_in: 3600,
            id3p: r.id3p,
            realm: AUTHZ.into(),
        },
    )
}

#[tokio::test]
async fn token_obtained_over_https() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    // A stand-in authorization server checking what third_party::authz checks.
    let server = ctx("authz3p", AUTHZ, &hosts, &tap)
        .https_server(
            handler(|req: kit::http::Request, _peer: Peer| async move { token_endpoint(req) }),
            ClientAuth::None,
        )
        .await
        .unwrap();
    hosts.add(AUTHZ, server.local_addr());
    let ue = Ue::start(
        &ctx("ue-a", "ue-a.test", &hosts, &tap),
        config(
            UE_A,
            Access::Trunk {
                ibcf_host: "unused.test".into(),
                tls: TrunkTls::None,
            },
        ),
    )
    .await
    .unwrap();

    let token = ue.obtain_3p_token(AUTHZ, ID3P).await.unwrap();
    assert_eq!(token.access_token, "eyJ.t.s");
    assert_eq!(token.realm, AUTHZ);
    assert_eq!(
        actions(&tap, "ue-a"),
        [(
            Act::ObtainToken,
            Outcome::Done,
            "obtain a 3P ID token for tel:+12025550100 from authz.enterprise.example (TR 33.790 §6.4.2.1 step 0b)"
                .to_owned()
        )]
    );

    let refused = ue.obtain_3p_token(AUTHZ, "tel:+19995550000").await;
    match refused {
        Err(Error::Http { detail }) => {
            assert!(detail.contains("403"), "{detail}");
            assert!(detail.contains("not allowed that 3P ID"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        acts(&tap, "ue-a")[1],
        (Act::ObtainToken, Outcome::Refused(Reason::NotEntitled))
    );

    // Signed with another key: the server refuses.
    ue.use_ue_key("ue-m");
    let refused = ue.obtain_3p_token(AUTHZ, ID3P).await;
    assert!(
        matches!(&refused, Err(Error::Http { detail }) if detail.contains("401") && detail.contains("bad signature")),
        "{refused:?}"
    );
    assert_eq!(
        acts(&tap, "ue-a")[2..],
        [(Act::ObtainToken, Outcome::Refused(Reason::SignatureInvalid))]
    );
    ue.shutdown();
}
