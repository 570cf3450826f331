//! Solution 9 at the IMS AS over real sockets on 127.0.0.1: a stand-in DCSF (HTTPS, mutual
//! TLS) takes the AS's DC event reports, two stand-in UEs (SIP over UDP) answer its re-INVITEs;
//! the DCSF's control requests are handed to the flow as the AS's HTTPS server would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use kit::http::{Client, Peer, Request as HttpRequest, Response as HttpResponse};
use kit::node::{ClientAuth, Ctx, HostTable};
use kit::sip::Endpoint;
use kit::sipnode::{self, SipNode};
use kit::tap::Tap;
use proto::clock::Clock;
use proto::sdp::Session;
use proto::sip::proxy::response_to;
use proto::sip::{Request, Response, Timers};
use proto::sipmsg;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::exposure::{
    AS_DC_CONTROL_PATH, Change, DcChange, DcChanged, DcReport, DcSection, EventKind, Party,
    REQ_APP, Target,
};

use super::DcExposureFlow;
use crate::dialog::{Book, Dialog};
use crate::flows::{Flow, Side};
use crate::io::Io;

const NOW: i64 = 1_772_442_000;
const AS: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const DCSF: &str = "dcsf.ims.mnc001.mcc001.3gppnetwork.org";
const NOT_DCSF: &str = "dc-as.ims.mnc001.mcc001.3gppnetwork.org";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
/// The mid a stand-in UE-B refuses (488).
const REFUSED_MID: &str = "nope";

fn timers() -> Timers {
    Timers {
        t1: std::time::Duration::from_secs(2),
        ..Timers::default()
    }
}

/// An SDP session with the audio section and one data channel section per (mid, port, app).
fn sdp(version: u64, sections: &[(&str, u16, Option<&str>)]) -> String {
    let mut text = format!(
        "v=0\r\no=- 7 {version} IN IP4 127.0.0.1\r\ns=ue\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:audio\r\na=inactive\r\n"
    );
    for (mid, port, app) in sections {
        text.push_str(&format!(
            "m=application {port} UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:{mid}\r\na=ice-ufrag:u{mid}\r\na=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sctp-port:5000\r\na=max-message-size:65536\r\na=dcmap:1200 label=\"{mid}-chan\";subprotocol=\"json\"\r\n"
        ));
        if let Some(app) = app {
            text.push_str(&format!("a=dcsa:1200 {REQ_APP}:{app}\r\n"));
        }
    }
    text
}

/// A UE stand-in: answers every INVITE 200 with the offer as its answer (488 for an offer of
/// [`REFUSED_MID`] when `picky`), and keeps the offers it got.
fn ue(ep: Endpoint, picky: bool, offers: Arc<Mutex<Vec<String>>>) -> SipNode {
    sipnode::serve(ep, move |ep, mut incoming| {
        let offers = offers.clone();
        async move {
            if incoming.is_ack() {
                return;
            }
            let request = incoming.request().clone();
            let body = String::from_utf8_lossy(&request.body).into_owned();
            offers.lock().unwrap().push(body.clone());
            let refuse = picky && body.contains(&format!("a=mid:{REFUSED_MID}"));
            let answer = if refuse {
                response_to(&request, 488, "Not Acceptable Here", None)
            } else {
                let mut ok = response_to(&request, 200, "OK", None);
                let addr = ep.local_addr();
                sipmsg::push(&mut ok.headers, "Contact", format!("<sip:{addr}>"));
                sipmsg::push(&mut ok.headers, "Content-Type", "application/sdp");
                ok.body = body.into_bytes();
                sipmsg::set(&mut ok.headers, "Content-Length", ok.body.len().to_string());
                ok
            };
            let _ = incoming.respond(answer).await;
        }
    })
}

/// The AS's side of the test: its context, client, endpoint and dialogs.
struct Fixture {
    tap: Tap,
    ctx: Ctx,
    mtls: Client,
    ep: Endpoint,
    book: Book,
    reports: Arc<Mutex<Vec<DcReport>>>,
    offers_a: Arc<Mutex<Vec<String>>>,
    offers_b: Arc<Mutex<Vec<String>>>,
    _nodes: Vec<SipNode>,
    _dcsf: kit::http::Server,
}

impl Fixture {
    async fn start() -> Fixture {
        let tap = Tap::new();
        let hosts = Arc::new(HostTable::default());
        let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(NOW), 7);
        let reports = Arc::new(Mutex::new(Vec::new()));
        let got = reports.clone();
        let handler = kit::http::handler(move |req: HttpRequest, _peer: Peer| {
            let got = got.clone();
            async move {
                got.lock()
                    .unwrap()
                    .push(serde_json::from_slice::<DcReport>(&req.body).unwrap());
                HttpResponse::text(204, "")
            }
        });
        let dcsf = ctx("dcsf-o", DCSF)
            .https_server(handler, ClientAuth::Required)
            .await
            .unwrap();
        hosts.add(DCSF, dcsf.local_addr());
        let (offers_a, offers_b) = (Arc::default(), Arc::default());
        let ep_a = sipnode::bind(&ctx("ue-a", "ue-a.test"), timers())
            .await
            .unwrap();
        let ep_b = sipnode::bind(&ctx("ue-b", "ue-b.test"), timers())
            .await
            .unwrap();
        let (a, b) = (ep_a.local_addr(), ep_b.local_addr());
        let nodes = vec![
            ue(ep_a, false, Arc::clone(&offers_a)),
            ue(ep_b, true, Arc::clone(&offers_b)),
        ];
        let as_ctx = ctx("as-o", AS);
        let ep = sipnode::bind(&as_ctx, timers()).await.unwrap();
        let book = Book::default();
        book.keep(Dialog {
            call_id: "c1".into(),
            from: format!("<{UE_A}>;tag=ta"),
            to: format!("<{UE_B}>;tag=tb"),
            asserted: None,
            caller_tag: "ta".into(),
            callee_tag: "tb".into(),
            caller_contact: format!("sip:+12025551000@{a}"),
            callee_contact: format!("sip:{b}"),
            to_callee: Vec::new(),
            to_caller: Vec::new(),
        });
        Fixture {
            mtls: as_ctx.https_client(true).unwrap(),
            tap,
            ctx: as_ctx,
            ep,
            book,
            reports,
            offers_a,
            offers_b,
            _nodes: nodes,
            _dcsf: dcsf,
        }
    }

    fn io(&self) -> Io<'_> {
        Io::new(&self.ctx, &self.mtls, None, None, 1)
            .with_dcsf(Some(DCSF))
            .with_sip(&self.ep, &self.book, None)
    }

    fn reports(&self) -> Vec<DcReport> {
        std::mem::take(&mut *self.reports.lock().unwrap())
    }

    /// The AS's ChangeDataChannels notes: outcome, label.
    fn changes(&self) -> Vec<(Outcome, String)> {
        self.tap
            .records()
            .into_iter()
            .filter(|r| r.node == "as-o")
            .filter_map(|r| match r.body {
                Body::Note {
                    note:
                        Note::Action {
                            act: Act::ChangeDataChannels,
                            outcome,
                            label,
                        },
                    ..
                } => Some((outcome, label)),
                _ => None,
            })
            .collect()
    }
}

/// The DCSF's request to the AS, from `host`'s certificate.
async fn control(flow: &DcExposureFlow, io: &Io<'_>, host: &str, body: &[u8]) -> HttpResponse {
    let identity = kit::fixtures::tls_identity(host).unwrap();
    let peer = Peer {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
        certificate: identity.chain.first().cloned(),
        msg: None,
    };
    let req = HttpRequest::post_json(AS_DC_CONTROL_PATH, body.to_vec());
    flow.http(io, &req, &peer).await
}

fn change(change: Change) -> Vec<u8> {
    serde_json::to_vec(&DcChange {
        call_id: "c1".into(),
        change,
    })
    .unwrap()
}

fn initial_invite() -> (Request, Response) {
    let offer = sdp(
        1,
        &[
            ("bdc", 9, None),
            ("dc", 9, Some("avatar-call")),
            ("x", 9, None),
        ],
    );
    let invite = Request::try_from(
        format!(
            "INVITE {UE_B};user=phone SIP/2.0\r\nVia: SIP/2.0/UDP as.a;branch=z9hG4bK1\r\nFrom: <{UE_A}>;tag=ta\r\nTo: <{UE_B};user=phone>\r\nP-Asserted-Identity: \"Q Branch Spy Gadgets\" <{UE_A}>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{offer}",
            offer.len()
        )
        .as_str(),
    )
    .unwrap();
    let answer = sdp(1, &[("bdc", 9, None), ("dc", 9, None), ("x", 0, None)]);
    let ok = Response::try_from(
        format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP as.a;branch=z9hG4bK1\r\nFrom: <{UE_A}>;tag=ta\r\nTo: <{UE_B}>;tag=tb\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        )
        .as_str(),
    )
    .unwrap();
    (invite, ok)
}

#[tokio::test]
async fn reports_dc_events_and_changes_channels_by_reinvite() {
    let f = Fixture::start().await;
    let io = f.io();
    let flow = DcExposureFlow::default();

    // The initial INVITE's 2xx: the sections answered with a port are reported, once.
    let (invite, mut ok) = initial_invite();
    flow.answer(&io, Side::Terminating, &invite, &mut ok).await;
    assert!(
        f.reports().is_empty(),
        "the terminating side reports nothing"
    );
    flow.answer(&io, Side::Originating, &invite, &mut ok).await;
    let established = DcReport {
        event: EventKind::DcEstablished,
        call_id: "c1".into(),
        caller: UE_A.into(),
        callee: UE_B.into(),
        sections: vec![
            DcSection {
                mid: "bdc".into(),
                target: Target::Bdc,
                app: None,
                labels: vec!["bdc-chan".into()],
            },
            DcSection {
                mid: "dc".into(),
                target: Target::Adc,
                app: Some("avatar-call".into()),
                labels: vec!["dc-chan".into()],
            },
        ],
    };
    assert_eq!(f.reports(), [established]);

    // Only the DCSF may ask; a body that is no DC change, an unknown call, an update.
    let add = change(Change::Add {
        caller: sdp(0, &[("adc", 9, Some("avatar-call"))]),
        callee: sdp(0, &[("adc", 9, Some("avatar-call"))]),
    });
    assert_eq!(control(&flow, &io, NOT_DCSF, &add).await.status, 403);
    assert_eq!(control(&flow, &io, DCSF, b"{}").await.status, 400);
    let elsewhere = serde_json::to_vec(&DcChange {
        call_id: "c2".into(),
        change: Change::Remove {
            mid: "adc".into(),
            only: None,
        },
    })
    .unwrap();
    assert_eq!(control(&flow, &io, DCSF, &elsewhere).await.status, 404);

    // Add: caller first, each offered its session (a new version) with the section appended.
    let answer = control(&flow, &io, DCSF, &add).await;
    assert_eq!(answer.status, 200);
    let changed: DcChanged = serde_json::from_slice(&answer.body).unwrap();
    for party in [&changed.caller, &changed.callee] {
        assert_eq!(party.status, 200);
        let only = Session::parse(party.answer.as_deref().unwrap()).unwrap();
        let mids: Vec<&str> = only.applications().map(|a| a.mid.as_str()).collect();
        assert_eq!(mids, ["adc"]);
    }
    let to_a = Session::parse(&f.offers_a.lock().unwrap()[0]).unwrap();
    assert_eq!(to_a.version, 2);
    let mids: Vec<&str> = to_a.applications().map(|a| a.mid.as_str()).collect();
    assert_eq!(mids, ["bdc", "dc", "x", "adc"]);
    assert_eq!(f.offers_b.lock().unwrap().len(), 1);
    assert!(
        f.reports().is_empty(),
        "the DCSF notifies an added section itself"
    );

    // UE-B refuses a section: its answer is the status alone.
    let refused = change(Change::Add {
        caller: sdp(0, &[(REFUSED_MID, 9, None)]),
        callee: sdp(0, &[(REFUSED_MID, 9, None)]),
    });
    let answer = control(&flow, &io, DCSF, &refused).await;
    let changed: DcChanged = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(changed.caller.status, 200);
    assert_eq!((changed.callee.status, changed.callee.answer), (488, None));

    // Remove: the section declined at both parties.
    let remove = change(Change::Remove {
        mid: "adc".into(),
        only: None,
    });
    let answer = control(&flow, &io, DCSF, &remove).await;
    assert_eq!(answer.status, 200);
    let last_b = f.offers_b.lock().unwrap().last().cloned().unwrap();
    let to_b = Session::parse(&last_b).unwrap();
    assert!(to_b.application("adc").unwrap().is_declined());
    assert!(!to_b.application("dc").unwrap().is_declined());

    let changes = f.changes();
    let outcomes: Vec<Outcome> = changes.iter().map(|(o, _)| *o).collect();
    assert_eq!(changes.len(), 7, "{changes:?}");
    assert_eq!(outcomes[0], Outcome::Refused(Reason::NotAuthorised));
    assert!(matches!(outcomes[1], Outcome::Done));
    assert_eq!(outcomes[4], Outcome::Refused(Reason::Declined));
    assert!(
        changes[1]
            .1
            .starts_with("re-INVITE to UE-A adding data channel section adc")
    );

    // Update: the section of that mid replaced in place (a new association) at both parties.
    let fresh =
        || sdp(0, &[("dc", 9, Some("avatar-call"))]).replace("ice-ufrag:udc", "ice-ufrag:fresh");
    let update = change(Change::Update {
        caller: fresh(),
        callee: fresh(),
    });
    let answer = control(&flow, &io, DCSF, &update).await;
    assert_eq!(answer.status, 200);
    let changed: DcChanged = serde_json::from_slice(&answer.body).unwrap();
    for party in [&changed.caller, &changed.callee] {
        assert!(party.reinvited);
        assert_eq!(party.status, 200);
        let only = Session::parse(party.answer.as_deref().unwrap()).unwrap();
        assert_eq!(only.application("dc").unwrap().ice_ufrag, "fresh");
    }
    let last_a = f.offers_a.lock().unwrap().last().cloned().unwrap();
    let to_a = Session::parse(&last_a).unwrap();
    let mids: Vec<&str> = to_a.applications().map(|a| a.mid.as_str()).collect();
    assert_eq!(mids, ["bdc", "dc", "x", "adc", REFUSED_MID]);
    assert_eq!(to_a.application("dc").unwrap().ice_ufrag, "fresh");
    assert_eq!(to_a.application("bdc").unwrap().ice_ufrag, "ubdc");
    // A section only the caller has (UE-B refused it): UE-B is not re-INVITEd.
    let b_before = f.offers_b.lock().unwrap().len();
    let nope = || sdp(0, &[(REFUSED_MID, 9, None)]);
    let update = change(Change::Update {
        caller: nope(),
        callee: nope(),
    });
    let answer = control(&flow, &io, DCSF, &update).await;
    let changed: DcChanged = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(changed.caller.status, 200);
    assert_eq!(
        (changed.callee.reinvited, changed.callee.status),
        (false, 0)
    );
    assert_eq!(f.offers_b.lock().unwrap().len(), b_before);
    // A section neither has; offers of two different sections.
    let none = change(Change::Update {
        caller: sdp(0, &[("zzz", 9, None)]),
        callee: sdp(0, &[("zzz", 9, None)]),
    });
    assert_eq!(control(&flow, &io, DCSF, &none).await.status, 404);
    let two = change(Change::Update {
        caller: fresh(),
        callee: nope(),
    });
    assert_eq!(control(&flow, &io, DCSF, &two).await.status, 400);

    // Remove at one party only: its own bootstrap channel; the other is not re-INVITEd.
    let a_before = f.offers_a.lock().unwrap().len();
    let remove_b = change(Change::Remove {
        mid: "bdc".into(),
        only: Some(Party::Callee),
    });
    let answer = control(&flow, &io, DCSF, &remove_b).await;
    assert_eq!(answer.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "caller": { "reinvited": false, "status": 0 },
            "callee": { "status": 200 },
        })
    );
    assert_eq!(f.offers_a.lock().unwrap().len(), a_before);
    let last_b = f.offers_b.lock().unwrap().last().cloned().unwrap();
    let to_b = Session::parse(&last_b).unwrap();
    assert!(to_b.application("bdc").unwrap().is_declined());
    assert!(!to_b.application("dc").unwrap().is_declined());

    // Download: the caller's bootstrap section asks for the application on stream 0.
    let download = change(Change::Download {
        party: Party::Caller,
        app: "avatar-call".into(),
    });
    let answer = control(&flow, &io, DCSF, &download).await;
    assert_eq!(answer.status, 200);
    let changed: DcChanged = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!((changed.caller.status, changed.caller.answer), (200, None));
    assert!(changed.caller.reinvited);
    assert!(!changed.callee.reinvited);
    let last_a = f.offers_a.lock().unwrap().last().cloned().unwrap();
    assert!(
        last_a.contains("a=dcsa:0 3gpp-req-app:avatar-call\r\n"),
        "{last_a}"
    );
    let to_a = Session::parse(&last_a).unwrap();
    assert_eq!(
        to_a.application("bdc").unwrap().dcsa,
        [(0, format!("{REQ_APP}:avatar-call"))]
    );
    assert_eq!(to_a.application("dc").unwrap().dcsa.len(), 1);
    // UE-B's bootstrap channel is gone: nothing to download over.
    let download_b = change(Change::Download {
        party: Party::Callee,
        app: "avatar-call".into(),
    });
    assert_eq!(control(&flow, &io, DCSF, &download_b).await.status, 409);

    let changes = f.changes();
    assert_eq!(changes.len(), 13, "{changes:?}");
    let labels: Vec<&str> = changes[7..].iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "re-INVITE to UE-A updating data channel section dc: 200",
            "re-INVITE to UE-B updating data channel section dc: 200",
            "re-INVITE to UE-A updating data channel section nope: 200",
            "UE-B has no data channel section nope: not re-INVITEd",
            "re-INVITE to UE-B removing data channel section bdc: 200",
            "re-INVITE to UE-A asking the caller to download avatar-call over its bootstrap channel: 200",
        ]
    );
    assert!(changes[7..].iter().all(|(o, _)| matches!(o, Outcome::Done)));

    // The call ends: what is still open is reported terminated, and the call forgotten.
    flow.ended(&io, "c1").await;
    let ended = f.reports();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].event, EventKind::DcTerminated);
    let mids: Vec<&str> = ended[0].sections.iter().map(|s| s.mid.as_str()).collect();
    assert_eq!(mids, ["dc", REFUSED_MID]);
    flow.ended(&io, "c1").await;
    assert!(f.reports().is_empty());
    assert_eq!(control(&flow, &io, DCSF, &remove).await.status, 404);
}

#[tokio::test]
async fn an_unreachable_dcsf_is_noted_and_the_call_goes_on() {
    let f = Fixture::start().await;
    let io = Io::new(&f.ctx, &f.mtls, None, None, 1).with_dcsf(Some("nowhere.example"));
    let flow = DcExposureFlow::default();
    let (invite, mut ok) = initial_invite();
    let before = ok.clone();
    flow.answer(&io, Side::Originating, &invite, &mut ok).await;
    assert_eq!(ok, before);
    let refused = f.tap.records().into_iter().any(|r| {
        matches!(
            r.body,
            Body::Note {
                note: Note::Action {
                    act: Act::NotifyDcEvent,
                    outcome: Outcome::Refused(Reason::Unreachable),
                    ..
                },
                ..
            }
        )
    });
    assert!(refused);
    // Without a DCSF, nothing is kept or sent.
    let none = Io::new(&f.ctx, &f.mtls, None, None, 1);
    let quiet = DcExposureFlow::default();
    quiet
        .answer(&none, Side::Originating, &invite, &mut ok)
        .await;
    assert!(quiet.calls().is_empty());
}
