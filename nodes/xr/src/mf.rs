//! The MF/MRF (TS 23.228 Annex AC in outline): a WebRTC endpoint ([`dc`]) of its operator.
//! The IMS AS hands it, over HTTPS (`proto::wire::mf`), each data channel `m=application` section
//! a served UE offers toward the network; the MF answers it and terminates the channels:
//!
//! * the bootstrap channel (subprotocol `http`, stream 0 or 10): the UE sends `GET /` and the MF
//!   answers with the UE's DC application list, which it asks the DCSF for;
//! * an application channel (person to application, P2A): each message is acknowledged with a
//!   JSON message from the MF's application.
//!
//! Every channel is served by a task with bounded waits; [`Mf::shutdown`] closes the peers and
//! ends the tasks.
//!
//! Notes: answering a section [`Act::DcAnswer`], offering the callee's bootstrap channel
//! [`Act::DcOffer`] (each refused with the engine's reason when it fails); serving a bootstrap
//! channel [`Act::DcServe`] (the callee accepted the offer; a UE asks for its application list
//! and the MF asks the DCSF — refused with the reason when that fails); an offered channel the
//! callee's answer did not complete [`Act::DcUnavailable`]; closing a call's associations
//! [`Act::DcRelease`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc::{DcError, DcOwner, DcTimers, Peer};
use kit::Error;
use kit::http::{Client, Peer as HttpPeer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::sdp::{self, DcMap, Media};
use proto::trace::{Act, Note, Reason};
use proto::wire::mf::{
    ANCHOR_PATH, AnchorRequest, AnchorResponse, BOOTSTRAP_MID, COMPLETE_PATH, CompleteRequest,
    OFFER_PATH, OfferRequest, OfferResponse, RELEASE_PATH, ReleaseRequest,
};
use tokio::task::JoinHandle;

/// MF settings.
#[derive(Debug, Clone)]
pub struct MfConfig {
    /// The DCSF that holds the application lists.
    pub dcsf_host: String,
    /// The data channel engine's bounds.
    pub timers: DcTimers,
}

/// One terminated association.
#[derive(Debug)]
struct Session {
    tn: String,
    call_id: String,
    peer: Arc<Peer>,
}

/// A running MF.
#[derive(Debug)]
pub struct Mf {
    ctx: Ctx,
    config: MfConfig,
    dcsf: Client,
    sessions: Mutex<Vec<Session>>,
    /// Offers made to callees, waiting for their answer ([`OFFER_PATH`], [`COMPLETE_PATH`]).
    offered: Mutex<Vec<Session>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    count: Mutex<u64>,
}

/// How long a channel task waits for the next message before checking the peer is still open.
const POLL: Duration = Duration::from_secs(1);

/// A poisoned lock still holds usable state (every update is one push or take).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An SDP body with one `m=application` section (the MF's answer or offer).
fn one_section(section: sdp::Application) -> String {
    sdp::Session {
        session_id: 0,
        version: 0,
        name: "-".into(),
        media: vec![Media::Application(section)],
    }
    .render()
}

/// What a UE asks on the bootstrap channel (HTTP/1.1 over the channel).
#[derive(Debug, Clone, PartialEq, Eq)]
enum BootstrapRequest {
    /// `GET /`: its DC application list.
    AppList,
    /// Anything else, by its request line.
    Other(String),
}

impl BootstrapRequest {
    /// Reads the request line. Pure.
    fn parse(data: &[u8]) -> Self {
        let text = String::from_utf8_lossy(data);
        let line = text.lines().next().unwrap_or("");
        if line == "GET / HTTP/1.1" {
            BootstrapRequest::AppList
        } else {
            BootstrapRequest::Other(line.to_owned())
        }
    }
}

/// An HTTP/1.1 response on the bootstrap channel. Pure.
fn http_response(status: &str, body: Vec<u8>) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
}

/// Why the DCSF gave no application list: it has none for the number (404), or it did not
/// answer usefully. Pure.
fn dcsf_refusal(answer: Result<u16, &Error>) -> Reason {
    match answer {
        Ok(404) => Reason::NoRecord,
        Ok(_) => Reason::Unreachable,
        Err(Error::Timeout { .. }) => Reason::Timeout,
        Err(_) => Reason::Unreachable,
    }
}

impl Mf {
    /// The association terminated for `tn` under SIP-facing `mid`, most recent first.
    pub fn peer(&self, tn: &str, mid: &str) -> Option<Arc<Peer>> {
        lock(&self.sessions)
            .iter()
            .rev()
            .find(|s| s.tn == tn && s.peer.mid() == mid)
            .map(|s| s.peer.clone())
    }

    /// Closes every association and ends every task.
    pub async fn shutdown(&self) {
        let mut sessions = std::mem::take(&mut *lock(&self.sessions));
        sessions.extend(std::mem::take(&mut *lock(&self.offered)));
        for s in sessions {
            s.peer.close().await;
        }
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }

    async fn anchor(self: &Arc<Self>, req: AnchorRequest, msg: Option<u64>) -> Response {
        let offer = match sdp::Session::parse(&req.offer) {
            Ok(s) => s.applications().next().cloned(),
            Err(e) => return Response::text(400, format!("offer: {e}")),
        };
        let Some(offer) = offer else {
            return Response::text(400, "the offer has no m=application section");
        };
        let mut rng = self.next_rng();
        let owner = self.owner();
        let streams: Vec<String> = offer
            .dcmaps
            .iter()
            .map(|m| format!("{} {:?} ({})", m.stream, m.label, m.subprotocol))
            .collect();
        let label = format!(
            "terminate m=application mid {} for {} (streams {})",
            offer.mid,
            req.tn,
            streams.join(", ")
        );
        let (peer, section) = match Peer::answer(&owner, &mut rng, &offer).await {
            Ok(p) => p,
            Err(e) => {
                self.ctx.note(
                    msg,
                    Note::refused(Act::DcAnswer, e.reason(), format!("{label}: {e}")),
                );
                return Response::text(500, format!("cannot answer: {e}"));
            }
        };
        self.ctx.note(msg, Note::done(Act::DcAnswer, label));
        let session = Session {
            tn: req.tn,
            call_id: req.call_id,
            peer: Arc::new(peer),
        };
        self.serve_session(session);
        json_response(
            200,
            &AnchorResponse {
                answer: one_section(section),
            },
        )
    }

    /// Serves every channel of `session` (a task each) and keeps it until the call ends.
    fn serve_session(self: &Arc<Self>, session: Session) {
        let mut tasks = Vec::new();
        for map in session.peer.streams() {
            let (mf, peer, tn) = (self.clone(), session.peer.clone(), session.tn.clone());
            tasks.push(tokio::spawn(async move {
                mf.serve(&peer, &map, &tn).await;
            }));
        }
        lock(&self.tasks).extend(tasks);
        lock(&self.sessions).push(session);
    }

    fn next_rng(&self) -> proto::clock::Rng {
        let n = {
            let mut c = lock(&self.count);
            *c += 1;
            *c
        };
        proto::clock::Rng::for_node(self.ctx.seed, &format!("{}/dc{n}", self.ctx.id))
    }

    fn owner(&self) -> DcOwner {
        DcOwner {
            node: self.ctx.id.clone(),
            tap: self.ctx.tap.clone(),
            timers: self.config.timers,
        }
    }

    /// Offers the callee a bootstrap data channel (the MF is the offerer; TS 26.114 §6.2.10
    /// stream 0, subprotocol `http`). The channel is served once the callee's answer completes
    /// it ([`Mf::complete`]).
    async fn offer(&self, req: OfferRequest, msg: Option<u64>) -> Response {
        let mut rng = self.next_rng();
        let bootstrap = DcMap::reliable(0, "bootstrap", "http");
        let label = format!(
            "offer {} a bootstrap data channel (m=application mid {BOOTSTRAP_MID}, stream 0 \"bootstrap\" (http))",
            req.tn
        );
        let (peer, section) =
            match Peer::offer(&self.owner(), &mut rng, BOOTSTRAP_MID, &[bootstrap], &[]).await {
                Ok(p) => p,
                Err(e) => {
                    self.ctx.note(
                        msg,
                        Note::refused(Act::DcOffer, e.reason(), format!("{label}: {e}")),
                    );
                    return Response::text(500, format!("cannot offer: {e}"));
                }
            };
        self.ctx.note(msg, Note::done(Act::DcOffer, label));
        lock(&self.offered).push(Session {
            tn: req.tn,
            call_id: req.call_id,
            peer: Arc::new(peer),
        });
        json_response(
            200,
            &OfferResponse {
                offer: one_section(section),
            },
        )
    }

    /// The callee's answer to an offer: the association is set up and its channels served; a
    /// declined answer (port 0) closes it.
    async fn complete(self: &Arc<Self>, req: CompleteRequest, msg: Option<u64>) -> Response {
        let answer = match sdp::Session::parse(&req.answer) {
            Ok(s) => s.applications().next().cloned(),
            Err(e) => return Response::text(400, format!("answer: {e}")),
        };
        let Some(answer) = answer else {
            return Response::text(400, "the answer has no m=application section");
        };
        let session = {
            let mut offered = lock(&self.offered);
            let at = offered
                .iter()
                .position(|s| s.call_id == req.call_id && s.peer.mid() == answer.mid);
            at.map(|i| offered.remove(i))
        };
        let Some(session) = session else {
            return Response::text(
                404,
                format!("no offer for mid {} in call {}", answer.mid, req.call_id),
            );
        };
        if let Err(e) = session.peer.complete(&answer).await {
            self.ctx.note(
                msg,
                Note::refused(
                    Act::DcUnavailable,
                    e.reason(),
                    format!(
                        "{} answered the bootstrap data channel {e}: closed",
                        session.tn
                    ),
                ),
            );
            session.peer.close().await;
            return Response::new(204, "text/plain", "");
        }
        self.ctx.note(
            msg,
            Note::done(
                Act::DcServe,
                format!(
                    "{} accepted the bootstrap data channel: serve it",
                    session.tn
                ),
            ),
        );
        self.serve_session(session);
        Response::new(204, "text/plain", "")
    }

    /// Closes the associations of a call.
    async fn release(&self, call_id: &str, msg: Option<u64>) -> Response {
        let mine: Vec<Session> = {
            let mut sessions = lock(&self.sessions);
            let (mut mine, rest): (Vec<Session>, Vec<Session>) = std::mem::take(&mut *sessions)
                .into_iter()
                .partition(|s| s.call_id == call_id);
            *sessions = rest;
            let mut offered = lock(&self.offered);
            let (pending, rest): (Vec<Session>, Vec<Session>) = std::mem::take(&mut *offered)
                .into_iter()
                .partition(|s| s.call_id == call_id);
            *offered = rest;
            mine.extend(pending);
            mine
        };
        if !mine.is_empty() {
            self.ctx.note(
                msg,
                Note::done(
                    Act::DcRelease,
                    format!(
                        "the call ended: close its {} data channel association(s)",
                        mine.len()
                    ),
                ),
            );
        }
        for s in mine {
            s.peer.close().await;
        }
        Response::new(204, "text/plain", "")
    }

    /// Serves one channel until the peer closes.
    async fn serve(&self, peer: &Peer, map: &DcMap, tn: &str) {
        loop {
            let data = match peer.recv(map.stream, POLL).await {
                Ok(d) => d,
                Err(DcError::Timeout { .. }) if !peer.is_closed() => continue,
                Err(_) => return,
            };
            let reply = if map.subprotocol == "http" {
                self.http(&data, tn).await
            } else {
                self.application(&data, map)
            };
            if peer.send(map.stream, &reply).await.is_err() {
                return;
            }
        }
    }

    /// HTTP over the bootstrap channel: `GET /` is the UE's application list from the DCSF.
    async fn http(&self, data: &[u8], tn: &str) -> Vec<u8> {
        match BootstrapRequest::parse(data) {
            BootstrapRequest::AppList => {
                let (status, body) = self.app_list(tn).await;
                http_response(status, body)
            }
            BootstrapRequest::Other(line) => {
                self.ctx.note(
                    None,
                    Note::refused(
                        Act::DcServe,
                        Reason::NoRecord,
                        format!("bootstrap: {tn} asks for {line:?}: no such resource"),
                    ),
                );
                http_response(
                    "404 Not Found",
                    format!("no such resource: {line}").into_bytes(),
                )
            }
        }
    }

    /// The UE's application list, asked of the DCSF: the status line and body to answer with.
    async fn app_list(&self, tn: &str) -> (&'static str, Vec<u8>) {
        let label = format!("bootstrap: {tn} asks for its DC application list; ask the DCSF");
        let url = format!(
            "https://{}{}",
            self.config.dcsf_host,
            proto::wire::dcsf::path(&proto::tn::digits(tn))
        );
        let (note, answer) = match self.dcsf.send(Request::get(url)).await {
            Ok(r) if r.status == 200 => {
                (Note::done(Act::DcServe, label), ("200 OK", r.body.to_vec()))
            }
            Ok(r) => (
                Note::refused(
                    Act::DcServe,
                    dcsf_refusal(Ok(r.status)),
                    format!("{label}: it answered {}", r.status),
                ),
                (
                    "502 Bad Gateway",
                    format!("DCSF answered {}", r.status).into_bytes(),
                ),
            ),
            Err(e) => (
                Note::refused(Act::DcServe, dcsf_refusal(Err(&e)), format!("{label}: {e}")),
                ("502 Bad Gateway", format!("DCSF: {e}").into_bytes()),
            ),
        };
        self.ctx.note(None, note);
        answer
    }

    /// An application channel: the MF's application acknowledges each message.
    fn application(&self, data: &[u8], map: &DcMap) -> Vec<u8> {
        serde_json::json!({
            "app": map.label,
            "from": self.ctx.id,
            "received_bytes": data.len(),
        })
        .to_string()
        .into_bytes()
    }
}

/// Starts the MF: its HTTPS control interface (mutual TLS, for the IMS AS) and the client it
/// asks the DCSF with. The server is returned for the world to stop.
pub async fn start(ctx: &Ctx, config: MfConfig) -> Result<(Arc<Mf>, Server), Error> {
    let mf = Arc::new(Mf {
        ctx: ctx.clone(),
        dcsf: ctx.https_client(true)?,
        config,
        sessions: Mutex::new(Vec::new()),
        offered: Mutex::new(Vec::new()),
        tasks: Mutex::new(Vec::new()),
        count: Mutex::new(0),
    });
    let m = mf.clone();
    let h = handler(move |req: Request, peer: HttpPeer| {
        let m = m.clone();
        async move {
            if req.method != "POST" {
                return Response::text(405, "only POST");
            }
            match req.target.as_str() {
                ANCHOR_PATH => match serde_json::from_slice::<AnchorRequest>(&req.body) {
                    Ok(a) => m.anchor(a, peer.msg).await,
                    Err(e) => Response::text(400, format!("anchor request: {e}")),
                },
                OFFER_PATH => match serde_json::from_slice::<OfferRequest>(&req.body) {
                    Ok(o) => m.offer(o, peer.msg).await,
                    Err(e) => Response::text(400, format!("offer request: {e}")),
                },
                COMPLETE_PATH => match serde_json::from_slice::<CompleteRequest>(&req.body) {
                    Ok(c) => m.complete(c, peer.msg).await,
                    Err(e) => Response::text(400, format!("complete request: {e}")),
                },
                RELEASE_PATH => match serde_json::from_slice::<ReleaseRequest>(&req.body) {
                    Ok(r) => m.release(&r.call_id, peer.msg).await,
                    Err(e) => Response::text(400, format!("release request: {e}")),
                },
                other => Response::text(404, format!("no such resource: {other}")),
            }
        }
    });
    let server = ctx.https_server(h, ClientAuth::Required).await?;
    Ok((mf, server))
}

#[cfg(test)]
mod tests;
