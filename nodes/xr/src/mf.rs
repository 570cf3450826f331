//! The MF/MRF (TS 23.228 Annex AC in outline): a WebRTC endpoint ([`kit::dc`]) of its operator.
//! The IMS AS hands it, over HTTPS (`kit::wire::mf`), each data channel `m=application` section
//! a served UE offers toward the network; the MF answers it and terminates the channels:
//!
//! * the bootstrap channel (subprotocol `http`, stream 0 or 10): the UE sends `GET /` and the MF
//!   answers with the UE's DC application list, which it asks the DCSF for;
//! * an application channel (person to application, P2A): each message is acknowledged with a
//!   JSON message from the MF's application.
//!
//! Every channel is served by a task with bounded waits; [`Mf::shutdown`] closes the peers and
//! ends the tasks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::Error;
use kit::dc::{DcError, DcOwner, DcTimers, Peer};
use kit::http::{Client, Peer as HttpPeer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::sdp::{self, DcMap, Media};
use kit::trace::Note;
use kit::wire::mf::{ANCHOR_PATH, AnchorRequest, AnchorResponse, RELEASE_PATH, ReleaseRequest};
use tokio::task::JoinHandle;

/// MF settings.
#[derive(Debug, Clone)]
pub struct MfConfig {
    /// The DCSF that holds the application lists.
    pub dcsf_host: String,
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
    tasks: Mutex<Vec<JoinHandle<()>>>,
    count: Mutex<u64>,
}

/// How long a channel task waits for the next message before checking the peer is still open.
const POLL: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        let sessions = std::mem::take(&mut *lock(&self.sessions));
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
        let n = {
            let mut c = lock(&self.count);
            *c += 1;
            *c
        };
        let mut rng = kit::clock::Rng::for_node(self.ctx.seed, &format!("{}/dc{n}", self.ctx.id));
        let owner = DcOwner {
            node: self.ctx.id.clone(),
            tap: self.ctx.tap.clone(),
            timers: self.config.timers,
        };
        let streams: Vec<String> = offer
            .dcmaps
            .iter()
            .map(|m| format!("{} {:?} ({})", m.stream, m.label, m.subprotocol))
            .collect();
        self.ctx.note(
            msg,
            Note::Action {
                label: format!(
                    "terminate m=application mid {} for {} (streams {})",
                    offer.mid,
                    req.tn,
                    streams.join(", ")
                ),
            },
        );
        let (peer, section) = match Peer::answer(&owner, &mut rng, &offer).await {
            Ok(p) => p,
            Err(e) => return Response::text(500, format!("cannot answer: {e}")),
        };
        let peer = Arc::new(peer);
        let mut tasks = Vec::new();
        for map in peer.streams() {
            let (mf, peer, tn) = (self.clone(), peer.clone(), req.tn.clone());
            tasks.push(tokio::spawn(async move {
                mf.serve(&peer, &map, &tn).await;
            }));
        }
        lock(&self.tasks).extend(tasks);
        lock(&self.sessions).push(Session {
            tn: req.tn.clone(),
            call_id: req.call_id.clone(),
            peer,
        });
        let answer = sdp::Session {
            session_id: 0,
            version: 0,
            name: "-".into(),
            media: vec![Media::Application(section)],
        };
        json_response(
            200,
            &AnchorResponse {
                answer: answer.render(),
            },
        )
    }

    /// Closes the associations of a call.
    async fn release(&self, call_id: &str, msg: Option<u64>) -> Response {
        let mine: Vec<Session> = {
            let mut sessions = lock(&self.sessions);
            let (mine, rest) = std::mem::take(&mut *sessions)
                .into_iter()
                .partition(|s| s.call_id == call_id);
            *sessions = rest;
            mine
        };
        self.ctx.note(
            msg,
            Note::Action {
                label: format!(
                    "the call ended: close its {} data channel association(s)",
                    mine.len()
                ),
            },
        );
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
        let text = String::from_utf8_lossy(data);
        let line = text.lines().next().unwrap_or("");
        let (status, body) = if line == "GET / HTTP/1.1" {
            self.ctx.note(
                None,
                Note::Action {
                    label: format!(
                        "bootstrap: {tn} asks for its DC application list; ask the DCSF"
                    ),
                },
            );
            let url = format!(
                "https://{}{}",
                self.config.dcsf_host,
                kit::wire::dcsf::path(&crate::digits(tn))
            );
            match self.dcsf.send(Request::get(url)).await {
                Ok(r) if r.status == 200 => ("200 OK", r.body.to_vec()),
                Ok(r) => (
                    "502 Bad Gateway",
                    format!("DCSF answered {}", r.status).into_bytes(),
                ),
                Err(e) => ("502 Bad Gateway", format!("DCSF: {e}").into_bytes()),
            }
        } else {
            (
                "404 Not Found",
                format!("no such resource: {line}").into_bytes(),
            )
        };
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend(body);
        out
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
