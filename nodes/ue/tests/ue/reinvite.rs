//! Re-INVITEs of the network in a call's dialog (TR 33.790 §6.7.2.1 steps 5 and 6: the IMS AS
//! anchoring a party's media at the MF), over real sockets on 127.0.0.1 against raw UDP
//! stand-ins: the caller answers with its last offer (the INVITE's, then its own re-INVITE's);
//! the callee answers a re-INVITE naming an avatar in `P-Avatar-ID` with 488 when its user
//! rejects the avatar, with the same session when not; and (TR 33.790 solution #9, §6.9.2.2
//! step 5) a re-INVITE adding an application data channel section opens it at both ends (the
//! test holds the MF's end), one declining a section closes the UE's association, one
//! re-offering it with new ICE credentials replaces the association; one naming a DC
//! application on the bootstrap section has the UE download it over its bootstrap channel
//! after the 200. Checked on the answers, the associations and the typed notes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc::DcTimers;
use kit::node::HostTable;
use kit::sip::TlsConfig;
use kit::tap::Tap;
use proto::clock::Clock;
use proto::sdp::DcMap;
use proto::sdp::{Application, Media, Session};
use proto::sip::proxy::response_to;
use proto::sip::{Method, Request, Response, Timers};
use proto::sipmsg;
use proto::trace::{Act, Body, Outcome, Reason};
use proto::wire::exposure::REQ_APP;
use tokio::net::UdpSocket;
use ue::{Access, DcConfig, TrunkTls, Ue, UeConfig};

const NOW: i64 = 1_772_442_000;
const WAIT: Duration = Duration::from_secs(5);
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
const DONE: Outcome = Outcome::Done;
/// What the IMS AS offers in its re-INVITEs (the UE answers with its own session regardless).
const AS_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=inactive\r\n";

fn config(impu: &str, ibcf_host: &str) -> UeConfig {
    UeConfig {
        impu: impu.into(),
        access: Access::Trunk {
            ibcf_host: ibcf_host.into(),
            tls: TrunkTls::None,
        },
        // A long T1: no retransmissions on a busy machine.
        timers: Timers {
            t1: Duration::from_secs(2),
            ..Timers::default()
        },
        wait: WAIT,
        auto_answer: true,
        dc: Some(DcConfig {
            timers: DcTimers::default(),
            accept: true,
            unreachable: false,
            bootstrap: false,
        }),
        impi: None,
        password: None,
    }
}

/// The tags and outcomes of `node`'s action notes, in order (the engine's DC open / DC close
/// left out).
fn acts(tap: &Tap, node: &str) -> Vec<(Act, Outcome)> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => note.action(),
            _ => None,
        })
        .filter(|(act, _)| !matches!(act, Act::DcOpen | Act::DcClose))
        .collect()
}

fn header<'a>(headers: &'a sipmsg::Headers, name: &str) -> &'a str {
    sipmsg::first(headers, name).unwrap_or_default()
}

/// A raw UDP SIP end (the IMS AS's side of a dialog, or a caller's network).
struct Wire {
    socket: UdpSocket,
    addr: SocketAddr,
}

impl Wire {
    async fn bind() -> Wire {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        Wire { socket, addr }
    }

    async fn send(&self, text: &str, to: SocketAddr) {
        self.socket.send_to(text.as_bytes(), to).await.unwrap();
    }

    /// The responses to the request sent last, up to the final one.
    async fn responses(&self) -> Vec<Response> {
        let mut all = Vec::new();
        let mut buf = vec![0u8; 65536];
        tokio::time::timeout(WAIT, async {
            loop {
                let (n, _) = self.socket.recv_from(&mut buf).await.unwrap();
                let Ok(r) = Response::try_from(std::str::from_utf8(&buf[..n]).unwrap()) else {
                    continue;
                };
                let last = r.status_code.code() >= 200;
                all.push(r);
                if last {
                    break;
                }
            }
        })
        .await
        .expect("a final response");
        all
    }

    /// A request in a dialog (or opening one) from this end.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        uri: &str,
        branch: &str,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
        extra: &str,
        body: &str,
    ) -> String {
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:as@{}>\r\n{extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.addr,
            body.len()
        )
    }
}

/// A stand-in for the caller's network at `net.test` (a SIP endpoint: UDP and TCP, so offers
/// past 1300 bytes reach it too, RFC 3261 §18.1.1): answers an INVITE (initial or re-) and a
/// BYE with 200 and no body (Record-Route and Contact naming itself), and keeps every request
/// it receives.
async fn answering_network(hosts: &Arc<HostTable>, tap: &Tap) -> Arc<Mutex<Vec<Request>>> {
    let ctx = hosts.ctx("net", "net.test", tap, Clock::Fixed(NOW), 7);
    let ep = kit::sipnode::bind_tls(&ctx, Timers::default(), TlsConfig::default())
        .await
        .unwrap();
    let me = ep.local_addr();
    hosts.add("net.test", me);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Some(mut incoming) = ep.next_request().await {
            if incoming.is_ack() {
                continue;
            }
            let request = incoming.request().clone();
            log.lock().unwrap().push(request.clone());
            let mut ok = response_to(&request, 200, "OK", Some("net1"));
            if request.method == Method::Invite {
                sipmsg::push(&mut ok.headers, "Record-Route", format!("<sip:{me};lr>"));
                sipmsg::push(&mut ok.headers, "Contact", format!("<sip:callee@{me}>"));
            }
            let _ = incoming.respond(ok).await;
        }
    });
    seen
}

/// The body of the last INVITE the network received.
fn last_offer(seen: &Mutex<Vec<Request>>) -> Vec<u8> {
    seen.lock()
        .unwrap()
        .iter()
        .rfind(|r| r.method == Method::Invite)
        .map(|r| r.body.clone())
        .unwrap()
}

/// Sends the IMS AS's re-INVITE (CSeq `cseq`, `extra` headers) to `ue` at `to` in the dialog
/// whose far end is `from` (with its tag) and near end `to_header`; ACKs the final answer and
/// returns it.
#[allow(clippy::too_many_arguments)]
async fn reinvite(
    wire: &Wire,
    ue: SocketAddr,
    from: &str,
    to_header: &str,
    call_id: &str,
    cseq: u32,
    extra: &str,
) -> Response {
    reinvite_with(wire, ue, from, to_header, call_id, cseq, extra, AS_SDP).await
}

/// [`reinvite`] offering `offer`.
#[allow(clippy::too_many_arguments)]
async fn reinvite_with(
    wire: &Wire,
    ue: SocketAddr,
    from: &str,
    to_header: &str,
    call_id: &str,
    cseq: u32,
    extra: &str,
    offer: &str,
) -> Response {
    let branch = format!("z9hG4bK-as-{cseq}");
    let uri = format!("sip:ue@{ue}");
    let text = wire.request(
        "INVITE", &uri, &branch, from, to_header, call_id, cseq, extra, offer,
    );
    wire.send(&text, ue).await;
    let last = wire.responses().await.pop().unwrap();
    // The ACK: its own transaction for a 2xx, the INVITE's for a failure (RFC 3261 §17.1.1.3).
    let ack_branch = if last.status_code.code() < 300 {
        format!("z9hG4bK-as-{cseq}-ack")
    } else {
        branch
    };
    let ack = wire.request(
        "ACK",
        &uri,
        &ack_branch,
        from,
        header(&last.headers, "To"),
        call_id,
        cseq,
        "",
        "",
    );
    wire.send(&ack, ue).await;
    last
}

#[tokio::test]
async fn the_caller_answers_a_reinvite_with_its_last_offer() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let seen = answering_network(&hosts, &tap).await;
    let ctx = hosts.ctx("ue-a", "ue-a.test", &tap, Clock::Fixed(NOW), 7);
    let a = Ue::start(&ctx, config(UE_A, "net.test")).await.unwrap();
    let mut call = a.call("sip:+12155551001@net.test", None).await.unwrap();
    assert_eq!(call.code, 200);

    let ims_as = Wire::bind().await;
    let ue = a.endpoint().local_addr();
    let ok = call.ok().unwrap().clone();
    let (far, near) = (header(&ok.headers, "To"), header(&ok.headers, "From"));
    let call_id = header(&call.invite.headers, "Call-ID").to_owned();

    // Step 5 before any re-INVITE of UE-A's own: the INVITE's offer.
    let answer = reinvite(&ims_as, ue, far, near, &call_id, 10, "").await;
    assert_eq!(answer.status_code.code(), 200);
    assert_eq!(answer.body, call.invite.body);

    // UE-A's re-INVITE adding a channel is answered 200 (no SDP: the channel does not come
    // up), so its offer is the session now.
    let map = DcMap::reliable(1100, "avatar-app", "avatar-json");
    assert!(a.add_channels(&mut call, "p2a", &[map]).await.is_err());
    let offer = last_offer(&seen);
    assert_ne!(offer, call.invite.body);
    let answer = reinvite(&ims_as, ue, far, near, &call_id, 11, "").await;
    assert_eq!(answer.status_code.code(), 200);
    assert_eq!(answer.body, offer);

    // A re-INVITE in a dialog the UE does not know: 481.
    let answer = reinvite(&ims_as, ue, far, near, "unknown@x", 12, "").await;
    assert_eq!(answer.status_code.code(), 481);

    assert_eq!(a.hang_up(&call).await.unwrap(), 200);
    assert_eq!(
        acts(&tap, "ue-a"),
        [
            (Act::KeepSession, DONE),
            (Act::DcUnavailable, Outcome::Refused(Reason::Malformed)),
            (Act::KeepSession, DONE),
        ]
    );
    a.shutdown();
}

/// UE-B answers an INVITE from `caller`; returns (From, To with UE-B's tag, the 200's body).
async fn answered_call(caller: &Wire, ue: SocketAddr, call_id: &str) -> (String, String, Vec<u8>) {
    answered_offer(caller, ue, call_id, AS_SDP).await
}

/// [`answered_call`] with the INVITE offering `offer`.
async fn answered_offer(
    caller: &Wire,
    ue: SocketAddr,
    call_id: &str,
    offer: &str,
) -> (String, String, Vec<u8>) {
    let from = format!("<{UE_A}>;tag=a1");
    let to = format!("<{UE_B}>");
    let uri = format!("sip:ue@{ue}");
    let invite = caller.request(
        "INVITE",
        &uri,
        "z9hG4bK-inv",
        &from,
        &to,
        call_id,
        1,
        "",
        offer,
    );
    caller.send(&invite, ue).await;
    let ok = caller.responses().await.pop().unwrap();
    assert_eq!(ok.status_code.code(), 200);
    let to = header(&ok.headers, "To").to_owned();
    let ack = caller.request("ACK", &uri, "z9hG4bK-ack", &from, &to, call_id, 1, "", "");
    caller.send(&ack, ue).await;
    (from, to, ok.body)
}

#[tokio::test]
async fn the_callee_rejects_or_accepts_the_avatar_a_reinvite_proposes() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = hosts.ctx("ue-b", "ue-b.test", &tap, Clock::Fixed(NOW), 7);
    let b = Ue::start(&ctx, config(UE_B, "nobody.test")).await.unwrap();
    let ue = b.endpoint().local_addr();
    let ims_as = Wire::bind().await;
    let call_id = "avatar-call@ue-a.test";
    let (from, to, answered) = answered_call(&ims_as, ue, call_id).await;

    // Step 6 with the user rejecting the avatar: 488, nothing else changes.
    b.reject_avatar(true);
    let avatar = "P-Avatar-ID: qbranch-agent\r\n";
    let answer = reinvite(&ims_as, ue, &from, &to, call_id, 2, avatar).await;
    assert_eq!(answer.status_code.code(), 488);

    // Accepting it: the same session as the 200 gave.
    b.reject_avatar(false);
    let answer = reinvite(&ims_as, ue, &from, &to, call_id, 3, avatar).await;
    assert_eq!(answer.status_code.code(), 200);
    assert_eq!(answer.body, answered);

    // A re-INVITE naming no avatar is not about one.
    b.reject_avatar(true);
    let answer = reinvite(&ims_as, ue, &from, &to, call_id, 4, "").await;
    assert_eq!(answer.status_code.code(), 200);
    assert_eq!(answer.body, answered);

    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::ConsiderAvatar, Outcome::Refused(Reason::Declined)),
            (Act::ConsiderAvatar, DONE),
            (Act::KeepSession, DONE),
            (Act::KeepSession, DONE),
        ]
    );
    b.shutdown();
}

/// Step 3: the re-INVITE asking for the application data channel offers mid `p2a` with the
/// Avatar-id, the application and the fingerprint of UE-A's own certificate as `a=dcsa` of
/// stream 1100 (testbed choice `7-fingerprint-carrier`, noted) — also when UE-A signs with
/// another UE's key (the threat variant); once answered it is what a re-INVITE gets.
#[tokio::test]
async fn the_avatar_channel_offer_carries_avatar_app_and_fingerprint() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let seen = answering_network(&hosts, &tap).await;
    let ctx = hosts.ctx("ue-a", "ue-a.test", &tap, Clock::Fixed(NOW), 7);
    let a = Ue::start(&ctx, config(UE_A, "net.test")).await.unwrap();
    a.use_ue_key("ue-m");
    let mut call = a.call("sip:+12155551001@net.test", None).await.unwrap();
    let adc = ue::AvatarAdc {
        avatar_id: "qbranch-agent".into(),
        app_id: "avatar-call".into(),
    };
    // The stand-in answers without SDP: the channel does not come up.
    let added = a.negotiate_avatar_channel(&mut call, &adc).await;
    assert!(
        matches!(&added, Err(kit::Error::Sip { detail }) if detail.starts_with("re-INVITE")),
        "{added:?}"
    );
    let offer = String::from_utf8(last_offer(&seen)).unwrap();
    let session = proto::sdp::Session::parse(&offer).unwrap();
    let p2a = session.application("p2a").unwrap();
    assert_eq!(
        p2a.dcmaps,
        [DcMap::reliable(1100, "avatar-app", "avatar-json")]
    );
    let fingerprint = avatar::ue_token::fingerprint(&ue::ue_certificate("ue-a").unwrap());
    assert_eq!(
        p2a.dcsa,
        [
            (1100, "avatar-id:qbranch-agent".to_owned()),
            (1100, "avatar-app:avatar-call".to_owned()),
            (1100, format!("ue-cert-fingerprint:{fingerprint}")),
        ]
    );
    let choices: Vec<String> = tap
        .records()
        .into_iter()
        .filter(|r| r.node == "ue-a")
        .filter_map(|r| match r.body {
            Body::Note {
                note: proto::trace::Note::Choice { id, .. },
                ..
            } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(choices, [ue::FINGERPRINT_CARRIER]);

    let ims_as = Wire::bind().await;
    let ok = call.ok().unwrap().clone();
    let (far, near) = (header(&ok.headers, "To"), header(&ok.headers, "From"));
    let call_id = header(&call.invite.headers, "Call-ID").to_owned();
    let ue = a.endpoint().local_addr();
    let answer = reinvite(&ims_as, ue, far, near, &call_id, 10, "").await;
    assert_eq!(answer.body, offer.as_bytes());
    a.shutdown();
}

/// The labels of `node`'s action notes tagged `act`, in order.
fn labels(tap: &Tap, node: &str, act: Act) -> Vec<(Outcome, String)> {
    tap.records()
        .into_iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match r.body {
            Body::Note {
                note:
                    proto::trace::Note::Action {
                        act: a,
                        outcome,
                        label,
                    },
                ..
            } if a == act => Some((outcome, label)),
            _ => None,
        })
        .collect()
}

/// TR 33.790 §6.9.2.2 step 5 at the UE: the IMS AS's re-INVITE adds the MF's application data
/// channel section (mid `adc`, stream 1200, `3gpp-req-app`); the UE answers it in the offer's
/// order, the association opens at both ends and carries a message; a second re-INVITE
/// declines the section and the UE closes its association. A re-INVITE repeating the session
/// still gets it back unchanged.
#[tokio::test]
async fn a_reinvite_adds_then_removes_an_application_data_channel() {
    use proto::sdp::{Application, Media, Session};
    use proto::wire::exposure::REQ_APP;

    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = hosts.ctx("ue-b", "ue-b.test", &tap, Clock::Fixed(NOW), 7);
    let b = Ue::start(&ctx, config(UE_B, "nobody.test")).await.unwrap();
    let ue = b.endpoint().local_addr();
    let ims_as = Wire::bind().await;
    let call_id = "adc-call@ue-a.test";
    let (from, to, answered) = answered_call(&ims_as, ue, call_id).await;
    assert_eq!(b.call_ids(), [call_id]);

    // The MF's offer (the test's own peer), added to UE-B's session.
    let owner = dc::DcOwner {
        node: "mf".into(),
        tap: tap.clone(),
        timers: DcTimers::default(),
    };
    let mut rng = proto::clock::Rng::for_node(7, "mf/dc1");
    let map = DcMap::reliable(1200, "avatar-call", "json");
    let dcsa = [(1200, format!("{REQ_APP}:avatar-call"))];
    let (mf, section) = dc::Peer::offer(&owner, &mut rng, "adc", &[map], &dcsa)
        .await
        .unwrap();
    let local = Session::parse(std::str::from_utf8(&answered).unwrap()).unwrap();
    let mut offer = local.clone();
    offer.version += 1;
    offer.media.push(Media::Application(section.clone()));
    let answer = reinvite_with(&ims_as, ue, &from, &to, call_id, 2, "", &offer.render()).await;
    assert_eq!(answer.status_code.code(), 200);
    let answer = Session::parse(std::str::from_utf8(&answer.body).unwrap()).unwrap();
    assert_eq!(answer.media.len(), offer.media.len());
    assert_eq!(answer.media[..local.media.len()], local.media[..]);
    let adc = answer.application("adc").unwrap().clone();
    assert!(!adc.is_declined());
    mf.complete(&adc).await.unwrap();
    let at_b = b.channel(call_id, "adc").expect("UE-B's association");
    let (x, y) = tokio::join!(mf.wait_open(), at_b.wait_open());
    x.unwrap();
    y.unwrap();
    mf.send(1200, b"{\"move\":\"e4\"}").await.unwrap();
    assert_eq!(at_b.recv(1200, WAIT).await.unwrap(), b"{\"move\":\"e4\"}");

    // The same session offered again changes nothing: the answer is the one kept.
    let kept = reinvite_with(&ims_as, ue, &from, &to, call_id, 3, "", &offer.render()).await;
    assert_eq!(kept.body, answer.render().into_bytes());

    // The section declined: UE-B closes its association and answers it declined.
    let mut removal = offer.clone();
    removal.version += 1;
    if let Some(Media::Application(a)) = removal.media.last_mut() {
        *a = Application::declined(&section);
    }
    let closed = reinvite_with(&ims_as, ue, &from, &to, call_id, 4, "", &removal.render()).await;
    assert_eq!(closed.status_code.code(), 200);
    let closed = Session::parse(std::str::from_utf8(&closed.body).unwrap()).unwrap();
    assert!(closed.application("adc").unwrap().is_declined());
    assert!(at_b.is_closed());
    assert!(b.channel(call_id, "adc").unwrap().is_closed());
    mf.close().await;

    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, DONE),
            (Act::KeepSession, DONE),
        ]
    );
    let answered = labels(&tap, "ue-b", Act::DcAnswer);
    assert_eq!(
        answered[0].1,
        format!(
            "accept the network's application data channel for avatar-call (m=application mid adc) in call {call_id}"
        )
    );
    let closes: Vec<_> = labels(&tap, "ue-b", Act::DcClose)
        .into_iter()
        .filter(|(_, l)| l.contains("re-INVITE"))
        .collect();
    assert_eq!(
        closes,
        [(
            DONE,
            format!(
                "the re-INVITE declines m=application mid adc of call {call_id} (port 0): close its association"
            )
        )]
    );
    b.shutdown();
}

/// A UE without data channel capability declines the section the network adds (port 0).
#[tokio::test]
async fn an_incapable_ue_declines_an_added_section() {
    use proto::sdp::{Media, Session};
    use proto::wire::exposure::REQ_APP;

    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = hosts.ctx("ue-b", "ue-b.test", &tap, Clock::Fixed(NOW), 7);
    let plain = UeConfig {
        dc: None,
        ..config(UE_B, "nobody.test")
    };
    let b = Ue::start(&ctx, plain).await.unwrap();
    let ue = b.endpoint().local_addr();
    let ims_as = Wire::bind().await;
    let call_id = "plain-call@ue-a.test";
    let (from, to, answered) = answered_call(&ims_as, ue, call_id).await;
    let owner = dc::DcOwner {
        node: "mf".into(),
        tap: tap.clone(),
        timers: DcTimers::default(),
    };
    let mut rng = proto::clock::Rng::for_node(7, "mf/dc1");
    let map = DcMap::reliable(1200, "avatar-call", "json");
    let dcsa = [(1200, format!("{REQ_APP}:avatar-call"))];
    let (mf, section) = dc::Peer::offer(&owner, &mut rng, "adc", &[map], &dcsa)
        .await
        .unwrap();
    let mut offer = Session::parse(std::str::from_utf8(&answered).unwrap()).unwrap();
    offer.version += 1;
    offer.media.push(Media::Application(section));
    let answer = reinvite_with(&ims_as, ue, &from, &to, call_id, 2, "", &offer.render()).await;
    assert_eq!(answer.status_code.code(), 200);
    let answer = Session::parse(std::str::from_utf8(&answer.body).unwrap()).unwrap();
    assert!(answer.application("adc").unwrap().is_declined());
    assert!(b.channel(call_id, "adc").is_none());
    mf.close().await;
    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, Outcome::Refused(Reason::Declined)),
        ]
    );
    b.shutdown();
}

/// The caller's side of §6.9.2.2 step 5: UE-A, in a call with UE-B over real data channels
/// (its own `dc`), gets the IMS AS's re-INVITE adding `adc` (answered, opens); then one
/// declining both `dc` and `adc`: UE-A closes the association its call holds and the one the
/// network added, and ends nothing else; the BYE releases nothing twice.
#[tokio::test]
async fn the_caller_takes_an_added_section_and_closes_declined_ones() {
    use proto::sdp::{Application, Media, Session};
    use proto::wire::exposure::REQ_APP;

    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let b_ctx = hosts.ctx("ue-b", "ue-b.test", &tap, Clock::Fixed(NOW), 7);
    let b = Ue::start(&b_ctx, config(UE_B, "nobody.test"))
        .await
        .unwrap();
    hosts.add("ue-b.test", b.endpoint().local_addr());
    let a_ctx = hosts.ctx("ue-a", "ue-a.test", &tap, Clock::Fixed(NOW), 7);
    let a = Ue::start(&a_ctx, config(UE_A, "ue-b.test")).await.unwrap();
    let avatar = DcMap::reliable(1000, "avatar", "avatar-json");
    let call = a
        .call_with("sip:+12155551001@ue-b.test", None, &[avatar])
        .await
        .unwrap();
    assert_eq!(call.code, 200);
    let own = call.dc.clone().unwrap();
    own.wait_open().await.unwrap();
    let call_id = header(&call.invite.headers, "Call-ID").to_owned();
    assert_eq!(a.call_ids(), [call_id.as_str()]);
    assert!(Arc::ptr_eq(&a.channel(&call_id, "dc").unwrap(), &own));

    let ims_as = Wire::bind().await;
    let ue = a.endpoint().local_addr();
    let ok = call.ok().unwrap().clone();
    let (far, near) = (header(&ok.headers, "To"), header(&ok.headers, "From"));
    let owner = dc::DcOwner {
        node: "mf".into(),
        tap: tap.clone(),
        timers: DcTimers::default(),
    };
    let mut rng = proto::clock::Rng::for_node(7, "mf/dc1");
    let map = DcMap::reliable(1200, "chess", "json");
    let dcsa = [(1200, format!("{REQ_APP}:chess"))];
    let (mf, section) = dc::Peer::offer(&owner, &mut rng, "adc", &[map], &dcsa)
        .await
        .unwrap();
    let mut offer = Session::parse(std::str::from_utf8(&call.invite.body).unwrap()).unwrap();
    offer.version += 1;
    offer.media.push(Media::Application(section.clone()));
    let answer = reinvite_with(&ims_as, ue, far, near, &call_id, 20, "", &offer.render()).await;
    assert_eq!(answer.status_code.code(), 200);
    let answer = Session::parse(std::str::from_utf8(&answer.body).unwrap()).unwrap();
    mf.complete(answer.application("adc").unwrap())
        .await
        .unwrap();
    let added = a.channel(&call_id, "adc").unwrap();
    let (x, y) = tokio::join!(mf.wait_open(), added.wait_open());
    x.unwrap();
    y.unwrap();
    added.send(1200, b"hello").await.unwrap();
    assert_eq!(mf.recv(1200, WAIT).await.unwrap(), b"hello");

    // Both sections declined.
    let mut removal = offer.clone();
    removal.version += 1;
    for m in &mut removal.media {
        if let Media::Application(s) = m {
            *s = Application::declined(s);
        }
    }
    let closed = reinvite_with(&ims_as, ue, far, near, &call_id, 21, "", &removal.render()).await;
    assert_eq!(closed.status_code.code(), 200);
    let closed = Session::parse(std::str::from_utf8(&closed.body).unwrap()).unwrap();
    assert!(closed.applications().all(Application::is_declined));
    assert!(own.is_closed() && added.is_closed());
    mf.close().await;

    assert_eq!(a.hang_up(&call).await.unwrap(), 200);
    assert_eq!(
        acts(&tap, "ue-a"),
        [(Act::DcAnswer, DONE)],
        "nothing left open to release at the BYE"
    );
    let closes: Vec<Outcome> = labels(&tap, "ue-a", Act::DcClose)
        .into_iter()
        .filter(|(_, l)| l.contains("re-INVITE"))
        .map(|(o, _)| o)
        .collect();
    assert_eq!(closes, [DONE, DONE]);
    a.shutdown();
    b.shutdown();
}

/// The MF's end of a data channel section `mid` (stream 1200 naming `app`, or the bootstrap
/// channel when `app` is `None`), from its own seeded stream `mf/<seed>`.
async fn mf_offer(tap: &Tap, seed: &str, mid: &str, app: Option<&str>) -> (dc::Peer, Application) {
    let owner = dc::DcOwner {
        node: "mf".into(),
        tap: tap.clone(),
        timers: DcTimers::default(),
    };
    let mut rng = proto::clock::Rng::for_node(7, &format!("mf/{seed}"));
    let (maps, dcsa) = match app {
        Some(app) => (
            vec![DcMap::reliable(1200, app, "json")],
            vec![(1200, format!("{REQ_APP}:{app}"))],
        ),
        None => (vec![ue::bootstrap_channel()], Vec::new()),
    };
    dc::Peer::offer(&owner, &mut rng, mid, &maps, &dcsa)
        .await
        .unwrap()
}

/// `session` as its next version with the section of the same mid replaced by `section`.
fn reoffer(session: &Session, section: &Application) -> Session {
    let mut next = session.clone();
    next.version += 1;
    for m in &mut next.media {
        if let Media::Application(a) = m
            && a.mid == section.mid
        {
            *a = section.clone();
        }
    }
    next
}

/// Polls `done` every 20 ms until it holds, for at most `WAIT`.
async fn until(mut done: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("in time");
}

/// §6.9.2.2 "DC application download" at the callee: the IMS AS's re-INVITE re-offers the
/// bootstrap section naming `3gpp-req-app:avatar-call`; the UE answers 200 with its session as
/// it is, then sends `GET /apps/avatar-call` on its bootstrap channel (the test holds the MF's
/// end) and keeps the application. The same ask again downloads nothing; an application the MF
/// does not have (404) is refused `NoRecord`.
#[tokio::test]
async fn a_reinvite_naming_an_application_on_the_bootstrap_section_downloads_it() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = hosts.ctx("ue-b", "ue-b.test", &tap, Clock::Fixed(NOW), 7);
    let mut cfg = config(UE_B, "nobody.test");
    if let Some(dc) = cfg.dc.as_mut() {
        dc.bootstrap = true;
    }
    let b = Ue::start(&ctx, cfg).await.unwrap();
    let ue = b.endpoint().local_addr();
    let ims_as = Wire::bind().await;
    let call_id = "download-call@ue-a.test";

    // The INVITE carries the MF's bootstrap section; UE-B accepts it and it opens.
    let (mf, bdc) = mf_offer(&tap, "dc1", ue::BOOTSTRAP_MID, None).await;
    let mut offer = Session::parse(AS_SDP).unwrap();
    offer.media.push(Media::Application(bdc.clone()));
    let (from, to, answered) = answered_offer(&ims_as, ue, call_id, &offer.render()).await;
    let answer = Session::parse(std::str::from_utf8(&answered).unwrap()).unwrap();
    mf.complete(answer.application(ue::BOOTSTRAP_MID).unwrap())
        .await
        .unwrap();
    let at_b = b.answered_bdc().unwrap();
    let (x, y) = tokio::join!(mf.wait_open(), at_b.wait_open());
    x.unwrap();
    y.unwrap();

    // The MF's end serves two downloads: the application, then a 404.
    let mf = Arc::new(mf);
    let serving = mf.clone();
    let server = tokio::spawn(async move {
        let entry = r#"{"id":"avatar-call","name":"Avatar call","url":"/apps/avatar-call"}"#;
        let answers = [
            (
                "avatar-call",
                format!(
                    "200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{entry}",
                    entry.len()
                ),
            ),
            (
                "chess",
                "404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
            ),
        ];
        for (app, answer) in answers {
            let got = serving.recv(0, WAIT).await.unwrap();
            let text = String::from_utf8(got).unwrap();
            assert!(
                text.starts_with(&format!("GET /apps/{app} HTTP/1.1\r\n")),
                "{text}"
            );
            serving
                .send(0, format!("HTTP/1.1 {answer}").as_bytes())
                .await
                .unwrap();
        }
    });

    let mut asking = bdc.clone();
    asking.dcsa.push((0, format!("{REQ_APP}:avatar-call")));
    let ask = reoffer(&offer, &asking);
    let ok = reinvite_with(&ims_as, ue, &from, &to, call_id, 2, "", &ask.render()).await;
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(ok.body, answered, "the session as it is");
    until(|| !b.downloaded().is_empty()).await;
    assert_eq!(b.downloaded(), ["avatar-call"]);

    // Asked again in the same call: answered, nothing downloaded again (the server would
    // fail on a second GET /apps/avatar-call).
    let again = reoffer(&ask, &asking);
    let ok = reinvite_with(&ims_as, ue, &from, &to, call_id, 3, "", &again.render()).await;
    assert_eq!(ok.body, answered);

    let mut chess = bdc.clone();
    chess.dcsa.push((0, format!("{REQ_APP}:chess")));
    let ask = reoffer(&again, &chess);
    let ok = reinvite_with(&ims_as, ue, &from, &to, call_id, 4, "", &ask.render()).await;
    assert_eq!(ok.status_code.code(), 200);
    until(|| labels(&tap, "ue-b", Act::DownloadApp).len() == 2).await;
    server.await.unwrap();
    assert_eq!(b.downloaded(), ["avatar-call"]);
    assert_eq!(
        labels(&tap, "ue-b", Act::DownloadApp),
        [
            (
                DONE,
                "download avatar-call over the bootstrap channel: Avatar call (/apps/avatar-call)"
                    .to_owned()
            ),
            (
                Outcome::Refused(Reason::NoRecord),
                format!(
                    "download chess over the bootstrap channel of call {call_id}: the MF answered 404"
                )
            ),
        ]
    );
    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, DONE),
            (Act::KeepSession, DONE),
            (Act::DownloadApp, DONE),
            (Act::KeepSession, DONE),
            (Act::KeepSession, DONE),
            (Act::DownloadApp, Outcome::Refused(Reason::NoRecord)),
        ]
    );
    // The 200 to the re-INVITE went out before the download's GET.
    let records = tap.records();
    let sent = |r: &proto::trace::Record| match &r.body {
        Body::Sent { message, .. } if r.node == "ue-b" => Some((r.node_seq, message.clone())),
        _ => None,
    };
    let oks: Vec<u64> = records
        .iter()
        .filter_map(sent)
        .filter(|(_, m)| m.summary.starts_with("200 ") && m.raw.contains("CSeq: 2 INVITE"))
        .map(|(n, _)| n)
        .collect();
    let get = records
        .iter()
        .filter_map(sent)
        .find(|(_, m)| m.stream == Some(0) && m.raw.starts_with("GET /apps/avatar-call"))
        .map(|(n, _)| n)
        .unwrap();
    assert!(
        !oks.is_empty() && oks.iter().all(|n| *n < get),
        "{oks:?} {get}"
    );
    mf.close().await;
    b.shutdown();
}

/// An update of a section the network added (§6.9.2.2): the re-INVITE re-offers `adc` with new
/// ICE credentials (a new MF end); the UE closes its association, answers the new offer with
/// a new one in place, which opens and carries a message. The same offer again changes nothing.
#[tokio::test]
async fn a_reinvite_renewing_an_added_section_replaces_its_association() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = hosts.ctx("ue-b", "ue-b.test", &tap, Clock::Fixed(NOW), 7);
    let b = Ue::start(&ctx, config(UE_B, "nobody.test")).await.unwrap();
    let ue = b.endpoint().local_addr();
    let ims_as = Wire::bind().await;
    let call_id = "update-call@ue-a.test";
    let (from, to, answered) = answered_call(&ims_as, ue, call_id).await;

    let (mf, section) = mf_offer(&tap, "dc1", "adc", Some("avatar-call")).await;
    let mut offer = Session::parse(std::str::from_utf8(&answered).unwrap()).unwrap();
    offer.version += 1;
    offer.media.push(Media::Application(section.clone()));
    let ok = reinvite_with(&ims_as, ue, &from, &to, call_id, 2, "", &offer.render()).await;
    let first = Session::parse(std::str::from_utf8(&ok.body).unwrap()).unwrap();
    mf.complete(first.application("adc").unwrap())
        .await
        .unwrap();
    let old = b.channel(call_id, "adc").unwrap();
    let (x, y) = tokio::join!(mf.wait_open(), old.wait_open());
    x.unwrap();
    y.unwrap();

    // The update: the MF's new end, new credentials.
    let (mf2, renewed) = mf_offer(&tap, "dc2", "adc", Some("avatar-call")).await;
    assert_ne!(renewed.ice_ufrag, section.ice_ufrag);
    let update = reoffer(&offer, &renewed);
    let ok = reinvite_with(&ims_as, ue, &from, &to, call_id, 3, "", &update.render()).await;
    assert_eq!(ok.status_code.code(), 200);
    let second = Session::parse(std::str::from_utf8(&ok.body).unwrap()).unwrap();
    assert_eq!(second.media.len(), first.media.len());
    assert_eq!(second.version, first.version + 1);
    let adc = second.application("adc").unwrap();
    assert!(!adc.is_declined());
    assert_ne!(adc, first.application("adc").unwrap());
    assert!(old.is_closed());
    let new = b.channel(call_id, "adc").unwrap();
    assert!(!Arc::ptr_eq(&new, &old));
    mf2.complete(adc).await.unwrap();
    let (x, y) = tokio::join!(mf2.wait_open(), new.wait_open());
    x.unwrap();
    y.unwrap();
    mf2.send(1200, b"{\"move\":\"d4\"}").await.unwrap();
    assert_eq!(new.recv(1200, WAIT).await.unwrap(), b"{\"move\":\"d4\"}");

    // The same update again: the session kept, the association too.
    let kept = reinvite_with(&ims_as, ue, &from, &to, call_id, 4, "", &update.render()).await;
    assert_eq!(kept.body, ok.body);
    assert!(Arc::ptr_eq(&b.channel(call_id, "adc").unwrap(), &new));

    assert_eq!(
        acts(&tap, "ue-b"),
        [
            (Act::Alert, DONE),
            (Act::DcAnswer, DONE),
            (Act::DcAnswer, DONE),
            (Act::KeepSession, DONE),
        ]
    );
    let closes: Vec<_> = labels(&tap, "ue-b", Act::DcClose)
        .into_iter()
        .filter(|(_, l)| l.contains("re-INVITE"))
        .collect();
    assert_eq!(
        closes,
        [(
            DONE,
            format!(
                "the re-INVITE re-offers m=application mid adc of call {call_id} with new ICE credentials: close its association"
            )
        )]
    );
    mf.close().await;
    mf2.close().await;
    b.shutdown();
}
