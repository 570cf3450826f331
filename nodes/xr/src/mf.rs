//! The MF/MRF (TS 23.228 Annex AC in outline): a WebRTC endpoint ([`dc`]) of its operator.
//! The IMS AS hands it, over HTTPS (`proto::wire::mf`), each data channel `m=application` section
//! a served UE offers toward the network; the MF answers it and terminates the channels:
//!
//! * the bootstrap channel (subprotocol `http`, stream 0 or 10): HTTP/1.1 ([`bootstrap`]); the
//!   UE sends `GET /` and the MF answers with the UE's DC application list, which it asks the
//!   DCSF for, or `GET /apps/{id}` to download one application of it (the DCSF's entry); the
//!   UE's avatar requests (`/xr/`) are relayed to the XR AS;
//! * an application channel (person to application, P2A): avatar messages
//!   (TR 33.790 §6.5, §6.6: [`avatar`]; §6.7: the UE token relayed to the XR AS, [`metadata`]);
//!   any other message is acknowledged with a JSON message from the MF's application; the same
//!   for an application data channel (mid `adc`) a DC AF had established toward both parties
//!   of a call (TR 33.790 §6.9.2.2 step 5: offered to each, completed by party);
//! * the avatar media channel (subprotocol `avatar-frame`, mid `avm`, TR 33.790 §6.5 and §6.6),
//!   which the caller's MF offers the callee in the INVITE: the MF only sends on it (rendered
//!   avatar frames, protected avatar objects); what arrives is read and dropped.
//!
//! Every channel is served by a task with bounded waits; [`Mf::shutdown`] closes the peers and
//! ends the tasks.
//!
//! Notes: answering a section [`Act::DcAnswer`], offering the callee its bootstrap channel or
//! the avatar media channel [`Act::DcOffer`] (each refused with the engine's reason when it
//! fails); serving an offered channel [`Act::DcServe`] (the callee accepted the offer) and a
//! bootstrap channel's requests (a UE asks for its application list, or downloads one
//! application, and the MF asks the DCSF — refused with the reason when that fails); an offered channel the callee's answer did not
//! complete [`Act::DcUnavailable`]; closing a call's associations [`Act::DcRelease`]; the
//! avatar notes of [`avatar`] and [`metadata`].

use std::sync::{Arc, Mutex};

mod avatar;
mod bootstrap;
mod metadata;

use bootstrap::{Reply, Route};
use std::time::Duration;

use dc::{DcError, DcOwner, DcTimers, Peer};
use kit::Error;
use kit::http::{Client, Peer as HttpPeer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};

use crate::upstream;
use proto::sdp::{self, DcMap, Media};
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    AVATAR_MEDIA_LABEL, AVATAR_MEDIA_MID, AVATAR_MEDIA_STREAM, AVATAR_MEDIA_SUBPROTOCOL,
    AVATAR_STOP_PATH, AvatarForward, AvatarStop, DELIVER_PATH, DeliverRequest,
    METADATA_RENDER_PATH, MF_AVATAR_PATH, MetadataRender, RENDER_PATH, RenderRequest,
};
use proto::wire::exposure::REQ_APP;
use proto::wire::mf::{
    ADC_MID, ADC_STREAM, ANCHOR_PATH, AnchorRequest, AnchorResponse, BOOTSTRAP_MID, COMPLETE_PATH,
    CompleteRequest, OFFER_PATH, OfferRequest, OfferResponse, OfferSection, P2A_MID_PREFIX,
    RELEASE_PATH, ReleaseRequest,
};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

/// MF settings.
#[derive(Debug, Clone)]
pub struct MfConfig {
    /// The DCSF that holds the application lists.
    pub dcsf_host: String,
    /// The data channel engine's bounds.
    pub timers: DcTimers,
    /// The XR AS the UE's avatar requests on the bootstrap channel are relayed to, and the
    /// caller's application channel is reported to (TR 33.790 §6.5, §6.6). `None`: the `/xr/`
    /// paths are unknown and nothing is reported.
    pub xr_as_host: Option<String>,
    /// The BAR base avatar models are downloaded from (TR 33.790 §6.5.2 step 5). `None`: the
    /// DCSF's Avatar ID path is unknown.
    pub bar_host: Option<String>,
    /// Whether the MF verifies the signed avatar metadata the XR AS hands it (TR 33.790
    /// §6.7.2.1 step 11.1, NOTE 10: the world option "XR AS outside the trust domain"), with
    /// the DAC's certificate pre-configured (NOTE 9, [`crate::trust`]). `false`: it decodes it
    /// and takes its model.
    pub verify_metadata: bool,
}

/// Whose channel, in which call: the served UE's number and the call's Call-ID.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Who {
    tn: String,
    call_id: String,
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
    /// The HTTPS client (mutual TLS) for the DCSF, the XR AS and the BAR.
    client: Client,
    sessions: Mutex<Vec<Session>>,
    /// Avatar state per call ([`avatar`]).
    avatars: Mutex<avatar::Avatars>,
    /// The DAC's certificate (DER), pre-configured when [`MfConfig::verify_metadata`] is set
    /// (TR 33.790 §6.7.2.1 NOTE 9); empty otherwise.
    dac_cert: Vec<u8>,
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

/// What the MF offers for one [`OfferRequest`]: the section's SIP-facing mid, its one
/// channel, the channel's RFC 8864 `a=dcsa` attributes, and what it is called in labels.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offered {
    mid: &'static str,
    map: DcMap,
    dcsa: Vec<(u16, String)>,
    what: String,
}

/// The section the MF offers for `section` (and, for an application data channel, the DC
/// application `app` it is for; `None` then is an error text). Pure.
fn offered_channel(section: OfferSection, app: Option<&str>) -> Result<Offered, String> {
    let fixed = |mid, map, what: &str| Offered {
        mid,
        map,
        dcsa: Vec::new(),
        what: what.to_owned(),
    };
    match section {
        // TS 26.114 §6.2.10: stream 0, subprotocol `http`.
        OfferSection::Bootstrap => Ok(fixed(
            BOOTSTRAP_MID,
            DcMap::reliable(0, "bootstrap", "http"),
            "a bootstrap data channel",
        )),
        OfferSection::AvatarMedia => Ok(fixed(
            AVATAR_MEDIA_MID,
            DcMap::reliable(
                AVATAR_MEDIA_STREAM,
                AVATAR_MEDIA_LABEL,
                AVATAR_MEDIA_SUBPROTOCOL,
            ),
            "the avatar media data channel",
        )),
        // TR 33.790 §6.9.2.2 step 5: one reliable channel labelled with the application, which
        // the RFC 8864 `3gpp-req-app` attribute names (TS 26.114).
        OfferSection::Application => {
            let app = app
                .filter(|a| !a.is_empty())
                .ok_or("an application data channel offer names no DC application")?;
            Ok(Offered {
                mid: ADC_MID,
                map: DcMap::reliable(ADC_STREAM, app, "json"),
                dcsa: vec![(ADC_STREAM, format!("{REQ_APP}:{app}"))],
                what: format!("an application data channel for {app}"),
            })
        }
    }
}

/// What an offered section with SIP-facing `mid` is called in labels. Pure.
fn offered_name(mid: &str) -> &'static str {
    match mid {
        BOOTSTRAP_MID => "bootstrap data channel",
        AVATAR_MEDIA_MID => "avatar media data channel",
        ADC_MID => "application data channel",
        _ => "data channel",
    }
}

/// How the MF serves one channel, by its subprotocol. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// HTTP/1.1 over the bootstrap channel.
    Http,
    /// Send-only (the avatar media channel): what arrives is read and dropped.
    SendOnly,
    /// An application channel: each message acknowledged.
    Application,
}

impl Service {
    fn of(map: &DcMap) -> Self {
        match map.subprotocol.as_str() {
            "http" => Service::Http,
            AVATAR_MEDIA_SUBPROTOCOL => Service::SendOnly,
            _ => Service::Application,
        }
    }
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

/// Which association a session is: its call, its SIP-facing mid, its party's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key<'a> {
    call_id: &'a str,
    mid: &'a str,
    tn: &'a str,
}

impl<'a> Key<'a> {
    fn of(s: &'a Session) -> Self {
        Key {
            call_id: &s.call_id,
            mid: s.peer.mid(),
            tn: &s.tn,
        }
    }

    /// Whether this is the pending offer an answer for `mid` in call `call_id` completes: the
    /// party `tn`'s when given (both parties of a call may hold an offer for the same mid).
    /// Pure.
    fn completed_by(self, call_id: &str, mid: &str, tn: Option<&str>) -> bool {
        self.call_id == call_id
            && self.mid == mid
            && tn.is_none_or(|tn| proto::tn::digits(tn) == proto::tn::digits(self.tn))
    }

    /// Whether a release of call `call_id` (only of mid `mid`, when given) closes it. Pure.
    fn released_by(self, call_id: &str, mid: Option<&str>) -> bool {
        self.call_id == call_id && mid.is_none_or(|m| self.mid == m)
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

    /// The association of call `call_id` under SIP-facing `mid` (answered or offered and
    /// completed), most recent first: for the avatar media channel, the callee's (its session's
    /// `tn` is the callee's number).
    pub fn peer_in_call(&self, call_id: &str, mid: &str) -> Option<Arc<Peer>> {
        lock(&self.sessions)
            .iter()
            .rev()
            .find(|s| s.call_id == call_id && s.peer.mid() == mid)
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
        if offer.mid.starts_with(P2A_MID_PREFIX)
            && let Some(signed) = req.avatar
        {
            self.keep_signed_id(&req.call_id, signed);
        }
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

    /// Serves every channel of `session` (a task each) and keeps it until the call ends. The
    /// task of a P2A section's first channel first waits for it to open and reports it to the
    /// XR AS (when the MF has one), before it serves what arrives.
    fn serve_session(self: &Arc<Self>, session: Session) {
        let mut tasks = Vec::new();
        let report = session.peer.mid().starts_with(P2A_MID_PREFIX);
        for (i, map) in session.peer.streams().into_iter().enumerate() {
            let (mf, peer) = (self.clone(), session.peer.clone());
            let who = Who {
                tn: session.tn.clone(),
                call_id: session.call_id.clone(),
            };
            tasks.push(tokio::spawn(async move {
                if report && i == 0 {
                    mf.report_adc(&peer, &who).await;
                }
                mf.serve(&peer, &map, &who).await;
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

    /// Offers the callee a data channel section (the MF is the offerer): its own network's
    /// bootstrap channel (TS 26.114 §6.2.10 stream 0, subprotocol `http`), or — on the caller's
    /// side of an avatar call — the avatar media channel (stream 1300 `avatar-video`,
    /// subprotocol `avatar-frame`), or — at the DCSF's request, to each party of an ongoing
    /// call (TR 33.790 §6.9.2.2 step 5) — an application data channel of one DC application
    /// (mid `adc`, stream 1200, `a=dcsa` `3gpp-req-app`). The channel is served once the
    /// party's answer completes it ([`Mf::complete`]).
    async fn offer(&self, req: OfferRequest, msg: Option<u64>) -> Response {
        let mut rng = self.next_rng();
        let offered = match offered_channel(req.section, req.app.as_deref()) {
            Ok(o) => o,
            Err(e) => return Response::text(400, e),
        };
        let Offered {
            mid,
            map,
            dcsa,
            what,
        } = offered;
        // The bootstrap and avatar media labels read as before; an ADC names its call.
        let call = match req.section {
            OfferSection::Application => format!(" in call {}", req.call_id),
            _ => String::new(),
        };
        let label = format!(
            "offer {} {what} (m=application mid {mid}, stream {} {:?} ({})){call}",
            req.tn, map.stream, map.label, map.subprotocol
        );
        let (peer, section) = match Peer::offer(&self.owner(), &mut rng, mid, &[map], &dcsa).await {
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
            let at = offered.iter().position(|s| {
                Key::of(s).completed_by(&req.call_id, &answer.mid, req.tn.as_deref())
            });
            at.map(|i| offered.remove(i))
        };
        let Some(session) = session else {
            return Response::text(
                404,
                format!(
                    "no offer for mid {} in call {}{}",
                    answer.mid,
                    req.call_id,
                    req.tn.map(|t| format!(" to {t}")).unwrap_or_default()
                ),
            );
        };
        if let Err(e) = session.peer.complete(&answer).await {
            self.ctx.note(
                msg,
                Note::refused(
                    Act::DcUnavailable,
                    e.reason(),
                    format!(
                        "{} answered the {} {e}: closed",
                        session.tn,
                        offered_name(&answer.mid)
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
                    "{} accepted the {}: serve it",
                    session.tn,
                    offered_name(&answer.mid)
                ),
            ),
        );
        self.serve_session(session);
        Response::new(204, "text/plain", "")
    }

    /// Closes the associations of a call: all of them (the call ended), or those of one mid
    /// (a data channel removed from the ongoing call).
    async fn release(&self, req: ReleaseRequest, msg: Option<u64>) -> Response {
        let ReleaseRequest { call_id, mid } = req;
        let of = |s: &Session| Key::of(s).released_by(&call_id, mid.as_deref());
        let mine: Vec<Session> = {
            let mut sessions = lock(&self.sessions);
            let (mut mine, rest): (Vec<Session>, Vec<Session>) =
                std::mem::take(&mut *sessions).into_iter().partition(of);
            *sessions = rest;
            let mut offered = lock(&self.offered);
            let (pending, rest): (Vec<Session>, Vec<Session>) =
                std::mem::take(&mut *offered).into_iter().partition(of);
            *offered = rest;
            mine.extend(pending);
            mine
        };
        if !mine.is_empty() {
            let label = match &mid {
                None => format!(
                    "the call ended: close its {} data channel association(s)",
                    mine.len()
                ),
                Some(mid) => format!(
                    "the {} (mid {mid}) removed from call {call_id}: close its {} association(s)",
                    offered_name(mid),
                    mine.len()
                ),
            };
            self.ctx.note(msg, Note::done(Act::DcRelease, label));
        }
        if mid.is_none() {
            self.forget(&call_id);
        }
        for s in mine {
            s.peer.close().await;
        }
        Response::new(204, "text/plain", "")
    }

    /// Serves one channel until the peer closes.
    async fn serve(&self, peer: &Peer, map: &DcMap, who: &Who) {
        loop {
            let data = match peer.recv(map.stream, POLL).await {
                Ok(d) => d,
                Err(DcError::Timeout { .. }) if !peer.is_closed() => continue,
                Err(_) => return,
            };
            let reply = match Service::of(map) {
                Service::Http => self.http(&data, who).await,
                Service::Application => {
                    match self.application_message(&data, &map.label, who).await {
                        Some(reply) => reply,
                        None => continue,
                    }
                }
                // The MF only sends on it: nothing to answer, nothing to note.
                Service::SendOnly => continue,
            };
            if peer.send(map.stream, &reply).await.is_err() {
                return;
            }
        }
    }

    /// HTTP/1.1 over the bootstrap channel ([`bootstrap`]): `GET /` is the UE's application
    /// list from the DCSF, `GET /apps/{id}` one application of it; `/xr/` requests are relayed to the XR AS; anything else is refused.
    async fn http(&self, data: &[u8], who: &Who) -> Vec<u8> {
        let xr = self.config.xr_as_host.is_some();
        let reply = match bootstrap::route(bootstrap::parse(data), xr) {
            Route::AppList => self.app_list(&who.tn).await,
            Route::App(id) => self.app(&who.tn, &id).await,
            Route::Relay(relay) => self.relay(relay, who).await,
            Route::Refuse(refusal) => {
                self.ctx.note(
                    None,
                    Note::refused(
                        Act::DcServe,
                        refusal.reason,
                        format!("bootstrap: {} {}", who.tn, refusal.detail),
                    ),
                );
                refusal.reply()
            }
        };
        reply.render()
    }

    /// The UE's application list, asked of the DCSF: the answer on the channel (the DCSF's
    /// list as it came, or 502 with a problem).
    async fn app_list(&self, tn: &str) -> Reply {
        let label = format!("bootstrap: {tn} asks for its DC application list; ask the DCSF");
        let path = proto::wire::dcsf::path(&proto::tn::digits(tn));
        self.ask_dcsf(label, &path, 502).await
    }

    /// One DC application the UE downloads (`GET /apps/{id}`), asked of the DCSF (whose
    /// answer is the `app-downloaded` event, TR 33.790 §6.9): the answer on the channel (the
    /// DCSF's entry as it came, 404 when it has none, or 502 with a problem).
    async fn app(&self, tn: &str, id: &str) -> Reply {
        let label = format!("bootstrap: {tn} downloads DC application {id}; ask the DCSF");
        let path = proto::wire::dcsf::app_path(&proto::tn::digits(tn), id);
        self.ask_dcsf(label, &path, 404).await
    }

    /// `GET` of `path` at the DCSF, noted [`Act::DcServe`] with `label`: its JSON body on the
    /// channel when 200; `missing` (with a problem) when it has none (404); else 502.
    async fn ask_dcsf(&self, label: String, path: &str, missing: u16) -> Reply {
        let url = format!("https://{}{path}", self.config.dcsf_host);
        let (note, answer) = match self.client.send(Request::get(url)).await {
            Ok(r) if r.status == 200 => (
                Note::done(Act::DcServe, label),
                Reply::json(200, r.body.to_vec()),
            ),
            Ok(r) => {
                let reason = dcsf_refusal(Ok(r.status));
                let status = if r.status == 404 { missing } else { 502 };
                let detail = format!("DCSF answered {}", r.status);
                (
                    Note::refused(
                        Act::DcServe,
                        reason,
                        format!("{label}: it answered {}", r.status),
                    ),
                    Reply::problem(status, reason, &detail),
                )
            }
            Err(e) => {
                let reason = dcsf_refusal(Err(&e));
                (
                    Note::refused(Act::DcServe, reason, format!("{label}: {e}")),
                    Reply::problem(502, reason, &format!("DCSF: {e}")),
                )
            }
        };
        self.ctx.note(None, note);
        answer
    }

    /// An application channel's acknowledgement of a message that is not an avatar message
    /// (the MF's application answers each).
    fn acknowledge(&self, data: &[u8], label: &str) -> Vec<u8> {
        serde_json::json!({
            "app": label,
            "from": self.ctx.id,
            "received_bytes": data.len(),
        })
        .to_string()
        .into_bytes()
    }
}

/// A JSON request body, or the 400 answer.
fn json_body<T: DeserializeOwned>(req: &Request, what: &str) -> Result<T, Response> {
    serde_json::from_slice(&req.body).map_err(|e| Response::text(400, format!("{what}: {e}")))
}

/// One request on the control interface (IMS AS, DCSF, XR AS), by path.
async fn control(mf: Arc<Mf>, req: Request, msg: Option<u64>) -> Response {
    if req.method != "POST" {
        return Response::text(405, "only POST");
    }
    match req.target.as_str() {
        ANCHOR_PATH => match json_body::<AnchorRequest>(&req, "anchor request") {
            Ok(a) => mf.anchor(a, msg).await,
            Err(r) => r,
        },
        OFFER_PATH => match json_body::<OfferRequest>(&req, "offer request") {
            Ok(o) => mf.offer(o, msg).await,
            Err(r) => r,
        },
        COMPLETE_PATH => match json_body::<CompleteRequest>(&req, "complete request") {
            Ok(c) => mf.complete(c, msg).await,
            Err(r) => r,
        },
        RELEASE_PATH => match json_body::<ReleaseRequest>(&req, "release request") {
            Ok(r) => mf.release(r, msg).await,
            Err(r) => r,
        },
        _ => avatar_control(mf, req, msg).await,
    }
}

/// The avatar paths of the control interface (the DCSF's and the XR AS's requests).
async fn avatar_control(mf: Arc<Mf>, req: Request, msg: Option<u64>) -> Response {
    let bad = |e: serde_json::Error| upstream::problem(400, Reason::Malformed, e.to_string());
    match req.target.as_str() {
        MF_AVATAR_PATH if mf.config.bar_host.is_some() => {
            match serde_json::from_slice::<AvatarForward>(&req.body) {
                Ok(f) => mf.download(f, msg).await,
                Err(e) => bad(e),
            }
        }
        RENDER_PATH => match serde_json::from_slice::<RenderRequest>(&req.body) {
            Ok(r) => mf.keep_object(r),
            Err(e) => bad(e),
        },
        DELIVER_PATH => match serde_json::from_slice::<DeliverRequest>(&req.body) {
            Ok(d) => mf.deliver(d).await,
            Err(e) => bad(e),
        },
        METADATA_RENDER_PATH => match serde_json::from_slice::<MetadataRender>(&req.body) {
            Ok(m) => mf.render_metadata(m, msg),
            Err(e) => bad(e),
        },
        AVATAR_STOP_PATH => match serde_json::from_slice::<AvatarStop>(&req.body) {
            Ok(s) => mf.stop(s, msg),
            Err(e) => bad(e),
        },
        other => Response::text(404, format!("no such resource: {other}")),
    }
}

/// Starts the MF: its HTTPS control interface (mutual TLS: the IMS AS, the DCSF, the XR AS) and
/// the client it asks the DCSF, the XR AS and the BAR with; with [`MfConfig::verify_metadata`]
/// it reads the DAC's certificate ([`crate::trust::dac_certificate`]). The server is returned
/// for the world to stop.
pub async fn start(ctx: &Ctx, config: MfConfig) -> Result<(Arc<Mf>, Server), Error> {
    let dac_cert = if config.verify_metadata {
        crate::trust::dac_certificate()?
    } else {
        Vec::new()
    };
    let mf = Arc::new(Mf {
        ctx: ctx.clone(),
        client: ctx.https_client(true)?,
        config,
        sessions: Mutex::new(Vec::new()),
        avatars: Mutex::new(avatar::Avatars::new()),
        dac_cert,
        offered: Mutex::new(Vec::new()),
        tasks: Mutex::new(Vec::new()),
        count: Mutex::new(0),
    });
    let m = mf.clone();
    let h = handler(move |req: Request, peer: HttpPeer| control(m.clone(), req, peer.msg));
    let server = ctx.https_server(h, ClientAuth::Required).await?;
    Ok((mf, server))
}

#[cfg(test)]
mod tests;
