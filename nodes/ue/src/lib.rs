//! SIP user agents. A [`Ue`] is an IMS UE (TS 24.229 §5.1): it registers through its P-CSCF,
//! calls with the route its S-CSCF gave it (Service-Route), and answers calls (180, then 200).
//! The same agent in [`Access::Trunk`] mode is the enterprise's IP-PBX: no registration, calls
//! go to the operator's IBCF, and it asserts its user's identity itself (a trusted trunk).
//!
//! The scenario drives a UE like a person would: [`Ue::register`], [`Ue::call`],
//! [`Call::hang_up`]; what a callee was offered is kept in [`Ue::received`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::Error;
use kit::dc::{DcOwner, DcTimers, Peer};
use kit::node::Ctx;
use kit::sdp::{self, Application, DcMap, Media, Session};
use kit::sip::proxy::response_to;
use kit::sip::{Endpoint, Incoming, Method, Request, Response, Timers, ua};
use kit::sipmsg::{self, NameAddr};
use kit::sipnode::{self, SipNode};
use kit::trace::Note;

/// How the agent reaches the network.
#[derive(Debug, Clone)]
pub enum Access {
    /// A UE registered through this P-CSCF to the home domain.
    Pcscf { pcscf_host: String, domain: String },
    /// A PBX on a SIP trunk to this IBCF.
    Trunk { ibcf_host: String },
}

/// Agent settings.
#[derive(Debug, Clone)]
pub struct UeConfig {
    /// Public identity (`sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org`).
    pub impu: String,
    pub access: Access,
    pub timers: Timers,
    /// Bound on any one operation (register, call set-up, hang-up).
    pub wait: Duration,
    /// Answer at once (200 right after 180), or ring until [`Ue::answer`] — as a person does,
    /// and so a scenario can let the ringing reach the caller before the answer starts.
    pub auto_answer: bool,
    /// Data channel capability (TS 26.114 DCMTSI client); `None` for a plain UE.
    pub dc: Option<DcConfig>,
}

/// How a DC-capable agent treats data channels.
#[derive(Debug, Clone)]
pub struct DcConfig {
    pub timers: DcTimers,
    /// As callee: accept an offered m=application section, or decline it (port 0).
    pub accept: bool,
    /// As callee: answer, then vanish (the answer names an address nobody reads) — the caller
    /// must fail the data channels within its bound and keep the call.
    pub unreachable: bool,
    /// As caller: also offer a bootstrap data channel toward the own network (mid
    /// [`BOOTSTRAP_MID`], stream 0, subprotocol `http`), terminated at the operator's MF.
    pub bootstrap: bool,
}

pub use kit::wire::mf::BOOTSTRAP_MID;

/// The bootstrap data channel (TS 26.114 §6.2.10: stream 0, subprotocol `http`).
pub fn bootstrap_channel() -> DcMap {
    DcMap::reliable(0, "bootstrap", "http")
}

/// The SIP-facing mid of the peer-to-peer data channel section.
pub const P2P_MID: &str = "dc";

/// Minimal SDP: an audio stream marked inactive (no media flows in the identity solutions;
/// data channels arrive with their own SDP).
fn sdp(host: &str) -> String {
    format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\na=label:{host}\r\n"
    )
}

#[derive(Debug, Default)]
struct State {
    service_route: Vec<String>,
    received: Vec<Request>,
    /// Calls ringing, waiting for [`Ue::answer`].
    ringing: Vec<tokio::sync::oneshot::Sender<()>>,
    /// Data channel peers of calls, by Call-ID.
    peers: Vec<(String, Arc<Peer>)>,
    /// Data channel sessions made so far (each gets its own seeded ICE credentials).
    dc_sessions: u64,
    /// The SDP answered in each call's 200, by Call-ID: a re-INVITE gets it again.
    answers: Vec<(String, String)>,
}

/// A seeded random stream for the next data channel session of this agent.
fn dc_rng(ctx: &Ctx, state: &Mutex<State>) -> kit::clock::Rng {
    let n = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.dc_sessions += 1;
        st.dc_sessions
    };
    kit::clock::Rng::for_node(ctx.seed, &format!("{}/dc{n}", ctx.id))
}

/// A running agent.
#[derive(Debug)]
pub struct Ue {
    ctx: Ctx,
    config: UeConfig,
    node: SipNode,
    state: Arc<Mutex<State>>,
}

/// A call the agent placed.
#[derive(Debug)]
pub struct Call {
    /// The INVITE as sent.
    pub invite: Request,
    /// Every response, in order.
    pub responses: Vec<Response>,
    /// The final status.
    pub code: u16,
    /// The data channel association offered in the INVITE, once answered (not declined).
    pub dc: Option<Arc<Peer>>,
    /// Why the call has no data channels although it offered them.
    pub dc_refused: Option<String>,
    /// The bootstrap data channel to the own network's MF, once answered.
    pub bdc: Option<Arc<Peer>>,
    /// Data channel associations added later by re-INVITE ([`Ue::add_channels`]).
    pub added: Vec<Arc<Peer>>,
    /// The last CSeq number used in the dialog.
    pub cseq: u32,
}

impl Call {
    pub fn answered(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

fn timeout(wait: Duration) -> Error {
    Error::Timeout {
        ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
    }
}

async fn answer(
    ep: Endpoint,
    mut incoming: Incoming,
    ctx: Ctx,
    state: Arc<Mutex<State>>,
    config: Arc<UeConfig>,
) {
    let request = incoming.request().clone();
    if incoming.is_ack() {
        return;
    }
    let call_id = sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned();
    let in_dialog = sipmsg::first(&request.headers, "To").is_some_and(|t| t.contains(";tag="));
    match request.method {
        Method::Invite if in_dialog => {
            // A re-INVITE: what this side answered does not change.
            let body = state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .answers
                .iter()
                .rev()
                .find(|(id, _)| *id == call_id)
                .map(|(_, b)| b.clone());
            let Some(body) = body else {
                let _ = incoming
                    .respond(response_to(
                        &request,
                        481,
                        "Call/Transaction Does Not Exist",
                        None,
                    ))
                    .await;
                return;
            };
            ctx.note(
                Some(incoming.trace_id()),
                Note::Action {
                    label: "re-INVITE: answer with the same session description".into(),
                },
            );
            let mut ok = response_to(&request, 200, "OK", None);
            sipmsg::push(
                &mut ok.headers,
                "Contact",
                format!("<sip:{}:{}>", ep.local_addr().ip(), ep.local_addr().port()),
            );
            sipmsg::push(&mut ok.headers, "Content-Type", "application/sdp");
            ok.body = body.into_bytes();
            sipmsg::set(&mut ok.headers, "Content-Length", ok.body.len().to_string());
            let _ = incoming.respond(ok).await;
        }
        Method::Invite => {
            let shown = describe(&request);
            state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .received
                .push(request.clone());
            ctx.note(
                Some(incoming.trace_id()),
                Note::Action {
                    label: format!("alert the user: {shown}"),
                },
            );
            let tag = ep.next_tag();
            let _ = incoming
                .respond(response_to(&request, 180, "Ringing", Some(&tag)))
                .await;
            if !config.auto_answer {
                let (pick_up, picked_up) = tokio::sync::oneshot::channel();
                state
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .ringing
                    .push(pick_up);
                // Rings until the user answers, the caller cancels (487, RFC 3261 §9.2) or
                // nobody answers in time (480).
                let cancelled = sipnode::on_cancel(&request);
                let answered = tokio::time::timeout(config.wait, async {
                    match cancelled {
                        Some(cancelled) => tokio::select! {
                            picked = picked_up => picked.is_ok(),
                            _ = cancelled => false,
                        },
                        None => picked_up.await.is_ok(),
                    }
                })
                .await;
                let refusal = match answered {
                    Ok(true) => None,
                    Ok(false) => Some((487, "Request Terminated")),
                    Err(_) => Some((480, "Temporarily Unavailable (no answer)")),
                };
                if let Some((code, reason)) = refusal {
                    if code == 487 {
                        ctx.note(
                            Some(incoming.trace_id()),
                            Note::Action {
                                label: "the caller cancelled: stop ringing".into(),
                            },
                        );
                    }
                    let _ = incoming
                        .respond(response_to(&request, code, reason, Some(&tag)))
                        .await;
                    return;
                }
            }
            let mut ok = response_to(&request, 200, "OK", Some(&tag));
            sipmsg::push(
                &mut ok.headers,
                "Contact",
                format!(
                    "<sip:{}:{}>{}",
                    ep.local_addr().ip(),
                    ep.local_addr().port(),
                    if config.dc.is_some() {
                        format!(";{}", sdp::DC_FEATURE_TAG)
                    } else {
                        String::new()
                    }
                ),
            );
            sipmsg::push(&mut ok.headers, "Content-Type", "application/sdp");
            let body = answer_sdp(&ep, &ctx, &state, &config, &request).await;
            state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .answers
                .push((call_id.clone(), body.clone()));
            ok.body = body.into_bytes();
            sipmsg::set(&mut ok.headers, "Content-Length", ok.body.len().to_string());
            let _ = incoming.respond(ok).await;
        }
        Method::Bye => {
            // BYE ends the data channels of the call first.
            let peers: Vec<Arc<Peer>> = {
                let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                let (mine, rest) = std::mem::take(&mut st.peers)
                    .into_iter()
                    .partition(|(id, _)| *id == call_id);
                st.peers = rest;
                mine.into_iter().map(|(_, p)| p).collect()
            };
            for p in peers {
                p.close().await;
            }
            let _ = incoming
                .respond(response_to(&request, 200, "OK", None))
                .await;
        }
        _ => {
            let _ = incoming
                .respond(response_to(&request, 200, "OK", None))
                .await;
        }
    }
}

/// The callee's SDP answer: the plain audio answer for a plain offer; with a data channel
/// section offered, an answer for it (accepted, declined with port 0, or — for the
/// unreachable switch — pointing at an address nobody reads).
async fn answer_sdp(
    ep: &Endpoint,
    ctx: &Ctx,
    state: &Arc<Mutex<State>>,
    config: &UeConfig,
    request: &Request,
) -> String {
    let offer = std::str::from_utf8(&request.body)
        .ok()
        .map(Session::parse)
        .transpose();
    let offered = match offer {
        Ok(Some(s)) => s.application(P2P_MID).cloned(),
        Ok(None) => None,
        Err(e) => {
            ctx.note(
                None,
                Note::Check {
                    name: "SDP offer".into(),
                    passed: false,
                    detail: format!("{e}: answered without data channels"),
                    code: None,
                },
            );
            None
        }
    };
    let Some(offered) = offered else {
        return sdp(ep.host());
    };
    let mut session = Session::with_audio(ep.host(), 0);
    let section = match &config.dc {
        Some(dc) if dc.accept && !offered.is_declined() => {
            let owner = DcOwner {
                node: ctx.id.clone(),
                tap: ctx.tap.clone(),
                timers: dc.timers,
            };
            let mut rng = dc_rng(ctx, state);
            let call_id = sipmsg::first(&request.headers, "Call-ID").unwrap_or_default();
            match Peer::answer(&owner, &mut rng, &offered).await {
                Ok((peer, mut section)) => {
                    if dc.unreachable {
                        peer.close().await;
                        let silent = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
                        section.candidates = vec![sdp::Candidate::host(silent)];
                        section.port = silent.port();
                        ctx.note(
                            None,
                            Note::Action {
                                label: "fault: the answer's data channel address is one nobody reads (127.0.0.1:9)".into(),
                            },
                        );
                    } else {
                        state
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .peers
                            .push((call_id.to_owned(), Arc::new(peer)));
                    }
                    section
                }
                Err(e) => {
                    ctx.note(
                        None,
                        Note::Check {
                            name: "data channel answer".into(),
                            passed: false,
                            detail: format!("{e}: declined (port 0)"),
                            code: None,
                        },
                    );
                    Application::declined(&offered)
                }
            }
        }
        _ => {
            ctx.note(
                None,
                Note::Action {
                    label: format!(
                        "decline the data channels (m=application mid {} port 0)",
                        offered.mid
                    ),
                },
            );
            Application::declined(&offered)
        }
    };
    session.media.push(Media::Application(section));
    session.render()
}

/// What a callee's phone would show for an INVITE: the asserted caller, its name (if any), the
/// verification status and the name card link.
pub fn describe(invite: &Request) -> String {
    let pai = sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .or_else(|| sipmsg::first(&invite.headers, "From"))
        .and_then(NameAddr::parse);
    let number = pai
        .as_ref()
        .and_then(NameAddr::tn)
        .unwrap_or_else(|| "unknown number".into());
    let name = pai
        .as_ref()
        .and_then(|p| p.display.clone())
        .map_or("no name".into(), |n| format!("name {n:?}"));
    let verstat = pai
        .as_ref()
        .and_then(|p| p.uri_param("verstat").map(str::to_owned))
        .unwrap_or_else(|| "no verstat".into());
    let card = sipmsg::first(&invite.headers, "Call-Info")
        .map_or("no name card".to_owned(), |c| format!("name card {c}"));
    format!("call from {number}, {name}, {verstat}, {card}")
}

impl Ue {
    /// Binds the agent and starts answering.
    pub async fn start(ctx: &Ctx, config: UeConfig) -> Result<Ue, Error> {
        let ep = sipnode::bind(ctx, config.timers).await?;
        let state = Arc::new(Mutex::new(State::default()));
        let (c, s, cfg) = (ctx.clone(), state.clone(), Arc::new(config.clone()));
        let node = sipnode::serve(ep, move |ep, incoming| {
            answer(ep, incoming, c.clone(), s.clone(), cfg.clone())
        });
        Ok(Ue {
            ctx: ctx.clone(),
            config,
            node,
            state,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.node.endpoint
    }

    pub fn shutdown(&self) {
        self.node.shutdown();
    }

    /// Closes every data channel association this agent still holds (world shutdown).
    pub async fn close_data_channels(&self) {
        let peers = std::mem::take(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()).peers);
        for (_, p) in peers {
            p.close().await;
        }
    }

    /// Calls ringing here, waiting to be answered.
    pub fn ringing(&self) -> usize {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A call that was cancelled or timed out dropped its end of the channel.
        state.ringing.retain(|pick_up| !pick_up.is_closed());
        state.ringing.len()
    }

    /// Answers the call that rang first (sends its 200). False when nothing rings.
    pub fn answer(&self) -> bool {
        let next = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.ringing.retain(|pick_up| !pick_up.is_closed());
            (!state.ringing.is_empty()).then(|| state.ringing.remove(0))
        };
        next.is_some_and(|pick_up| pick_up.send(()).is_ok())
    }

    /// INVITEs this agent was offered as callee, as it received them.
    pub fn received(&self) -> Vec<Request> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .received
            .clone()
    }

    fn contact(&self) -> String {
        let addr = self.endpoint().local_addr();
        let user = NameAddr::parse(&self.config.impu)
            .and_then(|n| n.tn())
            .unwrap_or_else(|| "ue".into());
        let tag = if self.config.dc.is_some() {
            format!(";{}", sdp::DC_FEATURE_TAG)
        } else {
            String::new()
        };
        format!("<sip:{user}@{}:{}>{tag}", addr.ip(), addr.port())
    }

    /// The data channel peer this agent answered last (callee side).
    pub fn answered_dc(&self) -> Option<Arc<Peer>> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .peers
            .last()
            .map(|(_, p)| p.clone())
    }

    fn base(&self, method: &str, uri: &str, from: &str, to: &str, cseq: u32) -> String {
        let ep = self.endpoint();
        format!(
            "{method} {uri} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: {from};tag={}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: {}\r\n",
            ep.next_tag(),
            ep.next_call_id(),
            self.contact()
        )
    }

    /// REGISTER through the P-CSCF (a trunk has nothing to register).
    pub async fn register(&self) -> Result<u16, Error> {
        let Access::Pcscf { pcscf_host, domain } = &self.config.access else {
            return Ok(200);
        };
        let impu = &self.config.impu;
        let mut text = self.base(
            "REGISTER",
            &format!("sip:{domain}"),
            &format!("<{impu}>"),
            &format!("<{impu}>"),
            1,
        );
        text.push_str(&format!("Route: <sip:{pcscf_host};lr>\r\nExpires: 600\r\nSupported: path\r\nContent-Length: 0\r\n\r\n"));
        let request = Request::try_from(text.as_str()).map_err(|e| Error::Sip {
            detail: e.to_string(),
        })?;
        let wait = self.config.wait;
        let mut tx = self.endpoint().send_request(request).await?;
        let final_response = tokio::time::timeout(wait, async {
            while let Some(r) = tx.next_response().await {
                if r.status_code.code() >= 200 {
                    return Some(r);
                }
            }
            None
        })
        .await
        .map_err(|_| timeout(wait))?
        .ok_or(Error::Sip {
            detail: "REGISTER got no final response".into(),
        })?;
        let code = final_response.status_code.code();
        if code == 200 {
            let routes: Vec<String> = sipmsg::values(&final_response.headers, "Service-Route")
                .into_iter()
                .flat_map(sipmsg::split_list)
                .filter_map(NameAddr::parse)
                .map(|n| n.uri)
                .collect();
            self.state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .service_route = routes;
        }
        Ok(code)
    }

    /// Calls `target` (a SIP or tel URI), naming `display` as the From display name (the 3P ID
    /// data of TR 33.790 §6.2, choice `6.2-3pid-data`). Sends the ACK on a 2xx.
    pub async fn call(&self, target: &str, display: Option<&str>) -> Result<Call, Error> {
        self.call_with(target, display, &[]).await
    }

    /// Calls `target`; with `channels`, the INVITE also offers them as negotiated data
    /// channels (one m=application section, mid [`P2P_MID`]) to the callee, created before the
    /// offer. The answer in the 200 completes them; a declined section (port 0) or a failing
    /// engine leaves the call without data channels ([`Call::dc_refused`]).
    pub async fn call_with(
        &self,
        target: &str,
        display: Option<&str>,
        channels: &[DcMap],
    ) -> Result<Call, Error> {
        let mut dc_peer = None;
        let mut bdc_peer = None;
        let body = match (&self.config.dc, channels.is_empty()) {
            (Some(dc), false) => {
                let owner = DcOwner {
                    node: self.ctx.id.clone(),
                    tap: self.ctx.tap.clone(),
                    timers: dc.timers,
                };
                let mut rng = dc_rng(&self.ctx, &self.state);
                let (peer, section) = Peer::offer(&owner, &mut rng, P2P_MID, channels, &[])
                    .await
                    .map_err(|e| Error::Sip {
                        detail: format!("data channel offer: {e}"),
                    })?;
                dc_peer = Some(peer);
                let mut session = Session::with_audio(self.endpoint().host(), 0);
                session.media.push(Media::Application(section));
                if dc.bootstrap {
                    let mut rng = dc_rng(&self.ctx, &self.state);
                    let (peer, section) =
                        Peer::offer(&owner, &mut rng, BOOTSTRAP_MID, &[bootstrap_channel()], &[])
                            .await
                            .map_err(|e| Error::Sip {
                                detail: format!("bootstrap data channel offer: {e}"),
                            })?;
                    bdc_peer = Some(peer);
                    session.media.push(Media::Application(section));
                }
                session.render()
            }
            _ => sdp(self.endpoint().host()),
        };
        let impu = &self.config.impu;
        let from = NameAddr {
            display: display.map(str::to_owned),
            uri: impu.clone(),
            params: String::new(),
        }
        .render();
        let mut text = self.base("INVITE", target, &from, &format!("<{target}>"), 1);
        let routes = match &self.config.access {
            Access::Pcscf { pcscf_host, .. } => {
                let mut r = vec![format!("sip:{pcscf_host};lr")];
                r.extend(
                    self.state
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .service_route
                        .clone(),
                );
                r
            }
            Access::Trunk { ibcf_host } => {
                // A trusted trunk asserts its user's identity itself (RFC 3325 trust domain).
                let pai = NameAddr {
                    display: display.map(str::to_owned),
                    uri: format!("{impu};user=phone"),
                    params: String::new(),
                };
                text.push_str(&format!("P-Asserted-Identity: {}\r\n", pai.render()));
                vec![format!("sip:{ibcf_host};lr")]
            }
        };
        for r in &routes {
            text.push_str(&format!("Route: <{r}>\r\n"));
        }
        text.push_str(&format!(
            "Date: {}\r\nAllow: INVITE, ACK, BYE, CANCEL\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            self.ctx.clock.http_date(),
            body.len()
        ));
        let request = Request::try_from(text.as_str()).map_err(|e| Error::Sip {
            detail: e.to_string(),
        })?;
        let wait = self.config.wait;
        let ep = self.endpoint().clone();
        let mut tx = ep.send_request(request).await?;
        let invite = tx.request().clone();
        let mut responses = Vec::new();
        let code = tokio::time::timeout(wait, async {
            while let Some(r) = tx.next_response().await {
                let code = r.status_code.code();
                responses.push(r.clone());
                if code >= 200 {
                    if code < 300 {
                        let ack =
                            ua::ack_for_2xx(&invite, &r).map_err(|detail| Error::Sip { detail })?;
                        ep.send_stateless(ack).await?;
                    }
                    return Ok(code);
                }
            }
            Err(Error::Sip {
                detail: "INVITE got no final response".into(),
            })
        })
        .await
        .map_err(|_| timeout(wait))??;
        let mut call = Call {
            invite,
            responses,
            code,
            dc: None,
            dc_refused: None,
            bdc: None,
            added: Vec::new(),
            cseq: 1,
        };
        if let Some(peer) = bdc_peer {
            let completed = match answered_section(&call, BOOTSTRAP_MID) {
                Ok(section) => peer.complete(&section).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match completed {
                Ok(()) => call.bdc = Some(Arc::new(peer)),
                Err(e) => {
                    peer.close().await;
                    self.ctx.note(
                        None,
                        Note::Action {
                            label: format!("no bootstrap data channel: {e}"),
                        },
                    );
                }
            }
        }
        if let Some(peer) = dc_peer {
            let completed = match answered_section(&call, P2P_MID) {
                Ok(section) => peer.complete(&section).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match completed {
                Ok(()) => call.dc = Some(Arc::new(peer)),
                Err(e) => {
                    peer.close().await;
                    self.ctx.note(
                        None,
                        Note::Action {
                            label: format!("the call goes on without data channels: {e}"),
                        },
                    );
                    call.dc_refused = Some(e);
                }
            }
        }
        Ok(call)
    }

    /// Calls `target` and cancels the INVITE as soon as it rings (RFC 3261 §9.1); returns every
    /// response the INVITE got (a 487 last, when the CANCEL won the race with an answer).
    pub async fn call_and_cancel(&self, target: &str) -> Result<Vec<Response>, Error> {
        let impu = &self.config.impu;
        let mut text = self.base(
            "INVITE",
            target,
            &format!("<{impu}>"),
            &format!("<{target}>"),
            1,
        );
        if let Access::Pcscf { pcscf_host, .. } = &self.config.access {
            let mut routes = vec![format!("sip:{pcscf_host};lr")];
            routes.extend(
                self.state
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .service_route
                    .clone(),
            );
            for r in &routes {
                text.push_str(&format!("Route: <{r}>\r\n"));
            }
        }
        text.push_str(&format!(
            "Date: {}\r\nContent-Length: 0\r\n\r\n",
            self.ctx.clock.http_date()
        ));
        let request = Request::try_from(text.as_str()).map_err(|e| Error::Sip {
            detail: e.to_string(),
        })?;
        let wait = self.config.wait;
        let mut tx = self.endpoint().send_request(request).await?;
        tokio::time::timeout(wait, async {
            let mut responses = Vec::new();
            let mut sent_cancel = false;
            while let Some(r) = tx.next_response().await {
                let code = r.status_code.code();
                responses.push(r);
                if (180..200).contains(&code) && !sent_cancel {
                    sent_cancel = true;
                    let mut cancel = tx.cancel().await?;
                    tokio::spawn(async move { while cancel.next_response().await.is_some() {} });
                }
                if code >= 200 {
                    break;
                }
            }
            Ok(responses)
        })
        .await
        .map_err(|_| timeout(wait))?
    }

    /// Ends an answered call with BYE; returns the BYE's final status.
    pub async fn hang_up(&self, call: &Call) -> Result<u16, Error> {
        let ok = call
            .responses
            .iter()
            .rev()
            .find(|r| (200..300).contains(&r.status_code.code()))
            .ok_or(Error::Sip {
                detail: "the call was not answered".into(),
            })?;
        for peer in call.dc.iter().chain(&call.bdc).chain(&call.added) {
            peer.close().await;
        }
        let bye = ua::uac_request(&call.invite, ok, Method::Bye, call.cseq + 1)
            .map_err(|detail| Error::Sip { detail })?;
        let wait = self.config.wait;
        let mut tx = self.endpoint().send_request(bye).await?;
        tokio::time::timeout(wait, async {
            while let Some(r) = tx.next_response().await {
                if r.status_code.code() >= 200 {
                    return Ok(r.status_code.code());
                }
            }
            Err(Error::Sip {
                detail: "BYE got no final response".into(),
            })
        })
        .await
        .map_err(|_| timeout(wait))?
    }
    /// Adds data channels to an answered call with a re-INVITE in its dialog (Route set from
    /// the 200's Record-Route): the offer repeats the call's sections and adds one
    /// m=application section `mid` mapping `channels`; the answer in the re-INVITE's 200
    /// completes it. Returns the new association (also kept in [`Call::added`]).
    pub async fn add_channels(
        &self,
        call: &mut Call,
        mid: &str,
        channels: &[DcMap],
    ) -> Result<Arc<Peer>, Error> {
        let sip = |detail: String| Error::Sip { detail };
        let dc = self
            .config
            .dc
            .as_ref()
            .ok_or_else(|| sip("this agent has no data channel capability".into()))?;
        let ok = call
            .responses
            .iter()
            .rev()
            .find(|r| (200..300).contains(&r.status_code.code()))
            .cloned()
            .ok_or_else(|| sip("the call was not answered".into()))?;
        let mut session = std::str::from_utf8(&call.invite.body)
            .map_err(|e| sip(e.to_string()))
            .and_then(|t| Session::parse(t).map_err(|e| sip(e.to_string())))?;
        let owner = DcOwner {
            node: self.ctx.id.clone(),
            tap: self.ctx.tap.clone(),
            timers: dc.timers,
        };
        let mut rng = dc_rng(&self.ctx, &self.state);
        let (peer, section) = Peer::offer(&owner, &mut rng, mid, channels, &[])
            .await
            .map_err(|e| sip(format!("data channel offer: {e}")))?;
        session.version += 1;
        session.media.push(Media::Application(section));
        let body = session.render();
        call.cseq += 1;
        let made = ua::uac_request(&call.invite, &ok, Method::Invite, call.cseq);
        let mut reinvite = match made {
            Ok(r) => r,
            Err(detail) => {
                peer.close().await;
                return Err(sip(detail));
            }
        };
        sipmsg::push(&mut reinvite.headers, "Contact", self.contact());
        sipmsg::push(&mut reinvite.headers, "Content-Type", "application/sdp");
        reinvite.body = body.into_bytes();
        sipmsg::set(
            &mut reinvite.headers,
            "Content-Length",
            reinvite.body.len().to_string(),
        );
        let wait = self.config.wait;
        let ep = self.endpoint().clone();
        let exchange = async {
            let mut tx = ep.send_request(reinvite).await?;
            let sent = tx.request().clone();
            tokio::time::timeout(wait, async {
                while let Some(r) = tx.next_response().await {
                    let code = r.status_code.code();
                    if code >= 200 {
                        if code < 300 {
                            let ack = ua::ack_for_2xx(&sent, &r)
                                .map_err(|detail| Error::Sip { detail })?;
                            ep.send_stateless(ack).await?;
                            return Ok(r);
                        }
                        return Err(Error::Sip {
                            detail: format!("re-INVITE answered {code}"),
                        });
                    }
                }
                Err(Error::Sip {
                    detail: "re-INVITE got no final response".into(),
                })
            })
            .await
            .map_err(|_| timeout(wait))?
        };
        let completed = match exchange.await {
            Ok(r) => match std::str::from_utf8(&r.body).ok().map(Session::parse) {
                Some(Ok(s)) => match s.application(mid) {
                    Some(a) => peer.complete(a).await.map_err(|e| e.to_string()),
                    None => Err(format!("the answer has no m=application mid {mid}")),
                },
                Some(Err(e)) => Err(e.to_string()),
                None => Err("the re-INVITE's 200 has no SDP".into()),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = completed {
            peer.close().await;
            return Err(sip(format!("re-INVITE data channels: {e}")));
        }
        let peer = Arc::new(peer);
        call.added.push(peer.clone());
        Ok(peer)
    }
}

/// The answered section `mid` in a call's 2xx.
fn answered_section(call: &Call, mid: &str) -> Result<Application, String> {
    let answer = call
        .responses
        .iter()
        .rev()
        .find(|r| (200..300).contains(&r.status_code.code()))
        .and_then(|ok| std::str::from_utf8(&ok.body).ok().map(Session::parse));
    match answer {
        Some(Ok(s)) => s
            .application(mid)
            .cloned()
            .ok_or_else(|| format!("the answer has no m=application mid {mid}")),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("the call was not answered".into()),
    }
}
