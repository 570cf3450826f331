//! SIP user agents. A [`Ue`] is an IMS UE (TS 24.229 §5.1): it registers through its P-CSCF,
//! calls with the route its S-CSCF gave it (Service-Route), and answers calls (180, then 200).
//! The same agent in [`Access::Trunk`] mode is the enterprise's IP-PBX: no registration, calls
//! go to the operator's IBCF, and it asserts its user's identity itself (a trusted trunk).
//!
//! The scenario drives a UE like a person would: [`Ue::register`], [`Ue::call`],
//! [`Ue::hang_up`]; what a callee was offered is kept in [`Ue::received`].
//!
//! For TR 33.790 solution #4 (§6.4) a UE can also call from a designated IMPU the enterprise had
//! allocated ([`Ue::use_impu`], option A), obtain a third-party ID token from the enterprise's
//! authorization server ([`Ue::obtain_3p_token`], step 0b) and name it in its INVITEs
//! ([`Ue::set_authorization`], [`bearer_authorization`], option B), and answer that server's
//! challenge relayed as a `401` (§6.4.2.2) by signing its nonce with the UE key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc::{DcOwner, DcTimers, Peer};
use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use proto::sdp::{self, Application, DcMap, Media, Session};
use proto::sip::proxy::response_to;
use proto::sip::{Method, Request, Response, Timers, ua};
use proto::sipmsg::{self, NameAddr};
use proto::trace::Note;
use proto::wire::authz::{
    OAuthError, TOKEN_PATH, TokenRequest, TokenResponse, proof_signing_input, token_signing_input,
};

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

pub use proto::wire::mf::BOOTSTRAP_MID;

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
    /// The public user identity in use when not [`UeConfig::impu`] ([`Ue::use_impu`]).
    impu: Option<String>,
    /// The Authorization header value every initial INVITE carries ([`Ue::set_authorization`]).
    authorization: Option<String>,
    /// Which UE key signs, when not the one named by the node id ([`Ue::use_ue_key`]).
    ue_key: Option<String>,
    /// The identity INVITEs present in From, when not the IMPU ([`Ue::present_as`]).
    present_as: Option<String>,
    /// Bootstrap data channels the network offered this agent as callee, by Call-ID.
    bootstrap_peers: Vec<(String, Arc<Peer>)>,
}

/// The data channel owner for this agent's peers (its trace name and timers).
fn dc_owner(ctx: &Ctx, dc: &DcConfig) -> DcOwner {
    DcOwner {
        node: ctx.id.clone(),
        tap: ctx.tap.clone(),
        timers: dc.timers,
    }
}

/// A seeded random stream for the next data channel session of this agent.
fn dc_rng(ctx: &Ctx, state: &Mutex<State>) -> proto::clock::Rng {
    let n = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.dc_sessions += 1;
        st.dc_sessions
    };
    proto::clock::Rng::for_node(ctx.seed, &format!("{}/dc{n}", ctx.id))
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
                let (mut mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut st.peers)
                    .into_iter()
                    .partition(|(id, _)| *id == call_id);
                st.peers = rest;
                let (bootstrap, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut st.bootstrap_peers)
                    .into_iter()
                    .partition(|(id, _)| *id == call_id);
                st.bootstrap_peers = rest;
                mine.extend(bootstrap);
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
    let offered: Vec<Application> = match offer {
        Ok(Some(s)) => s.applications().cloned().collect(),
        Ok(None) => Vec::new(),
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
            Vec::new()
        }
    };
    if offered.is_empty() {
        return sdp(ep.host());
    }
    let call_id = sipmsg::first(&request.headers, "Call-ID").unwrap_or_default();
    let mut session = Session::with_audio(ep.host(), 0);
    for offered in &offered {
        let section = if offered.mid == BOOTSTRAP_MID {
            answer_bootstrap(ctx, state, config, offered, call_id).await
        } else {
            answer_p2p(ctx, state, config, offered, call_id).await
        };
        session.media.push(Media::Application(section));
    }
    session.render()
}

/// The callee's answer to the peer-to-peer section.
async fn answer_p2p(
    ctx: &Ctx,
    state: &Arc<Mutex<State>>,
    config: &UeConfig,
    offered: &Application,
    call_id: &str,
) -> Application {
    match &config.dc {
        Some(dc) if dc.accept && !offered.is_declined() => {
            let owner = dc_owner(ctx, dc);
            let mut rng = dc_rng(ctx, state);
            match Peer::answer(&owner, &mut rng, offered).await {
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
                    Application::declined(offered)
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
            Application::declined(offered)
        }
    }
}

/// The callee's answer to the bootstrap channel its own network's MF offers (TS 26.114
/// §6.2.10): accepted by a bootstrap-capable UE, else declined.
async fn answer_bootstrap(
    ctx: &Ctx,
    state: &Arc<Mutex<State>>,
    config: &UeConfig,
    offered: &Application,
    call_id: &str,
) -> Application {
    let Some(dc) = config
        .dc
        .as_ref()
        .filter(|d| d.bootstrap && !offered.is_declined())
    else {
        ctx.note(
            None,
            Note::Action {
                label: format!(
                    "decline the network's bootstrap data channel (m=application mid {} port 0)",
                    offered.mid
                ),
            },
        );
        return Application::declined(offered);
    };
    let owner = dc_owner(ctx, dc);
    let mut rng = dc_rng(ctx, state);
    match Peer::answer(&owner, &mut rng, offered).await {
        Ok((peer, section)) => {
            ctx.note(
                None,
                Note::Action {
                    label: "accept the network's bootstrap data channel".into(),
                },
            );
            state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .bootstrap_peers
                .push((call_id.to_owned(), Arc::new(peer)));
            section
        }
        Err(e) => {
            ctx.note(
                None,
                Note::Check {
                    name: "bootstrap data channel answer".into(),
                    passed: false,
                    detail: format!("{e}: declined (port 0)"),
                    code: None,
                },
            );
            Application::declined(offered)
        }
    }
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
        let peers = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let mut all = std::mem::take(&mut st.peers);
            all.extend(std::mem::take(&mut st.bootstrap_peers));
            all
        };
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

    /// The public user identity this agent uses everywhere (REGISTER From/To, Contact user part,
    /// INVITE From, the trunk's P-Asserted-Identity): [`UeConfig::impu`] unless
    /// [`Ue::use_impu`] switched it.
    pub fn impu(&self) -> String {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .impu
            .clone()
            .unwrap_or_else(|| self.config.impu.clone())
    }

    /// Uses `impu` from now on instead of [`UeConfig::impu`] — TR 33.790 §6.4.2.1 option A:
    /// "the allocated IMPU is configured in the UE in IMS registration". Register again
    /// ([`Ue::register`]) before calling from it.
    pub fn use_impu(&self, impu: &str) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).impu = Some(impu.to_owned());
    }

    /// The identity the UE's INVITEs present in From from now on (TR 33.790 §6.4 option B:
    /// the 3P ID it is authorised to use), leaving its registered IMPU (REGISTER, Contact) as
    /// it is; `None` presents the IMPU again.
    pub fn present_as(&self, id: Option<&str>) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .present_as = id.map(str::to_owned);
    }

    /// The `Authorization` header value every initial INVITE carries from now on (TR 33.790
    /// §6.4.2.1 step 1, option B; build it with [`bearer_authorization`]); `None` clears it.
    pub fn set_authorization(&self, value: Option<String>) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .authorization = value;
    }

    /// The `Authorization` header value initial INVITEs carry, if any ([`Ue::set_authorization`]).
    pub fn authorization(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .authorization
            .clone()
    }

    /// Signs token requests and challenge proofs with the UE key
    /// `fixtures/pki/ue/<ue>.key.pem` instead of the one named by this node's id (the IP-PBX
    /// node `pbx` acts for the enterprise user whose UE key is `ue-pbx`).
    pub fn use_ue_key(&self, ue: &str) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).ue_key = Some(ue.to_owned());
    }

    /// The UE key this agent signs with: `fixtures/pki/ue/<id>.key.pem`.
    fn ue_key(&self) -> Result<SigningKey, Error> {
        let id = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ue_key
            .clone()
            .unwrap_or_else(|| self.ctx.id.clone());
        ue_signing_key(&id)
    }

    /// TR 33.790 §6.4.2.1 step 0b (option B): asks the enterprise's authorization server at
    /// `authz_host` for a token authorising this agent's IMPU ([`Ue::impu`]) to present `id3p`.
    /// The request proves possession of the UE key: an ES256 signature over
    /// [`token_signing_input`] with the current time as `iat` ([`token_request`]). A refusal is
    /// an error naming the HTTP status and the server's `error_description`.
    pub async fn obtain_3p_token(
        &self,
        authz_host: &str,
        id3p: &str,
    ) -> Result<TokenResponse, Error> {
        self.ctx.note(
            None,
            Note::Action {
                label: format!(
                    "obtain a 3P ID token for {id3p} from {authz_host} (TR 33.790 §6.4.2.1 step 0b)"
                ),
            },
        );
        let request = token_request(&self.ue_key()?, &self.impu(), id3p, self.ctx.clock.now());
        let body = serde_json::to_vec(&request).map_err(|e| Error::Http {
            detail: format!("cannot encode the token request: {e}"),
        })?;
        let url = format!("https://{authz_host}{TOKEN_PATH}");
        let response = self
            .ctx
            .https_client(false)?
            .send(kit::http::Request::post_json(url, body))
            .await?;
        if response.status != 200 {
            let why = match serde_json::from_slice::<OAuthError>(&response.body) {
                Ok(e) => format!("{}: {}", e.error, e.error_description),
                Err(_) => String::from_utf8_lossy(&response.body).trim().to_owned(),
            };
            return Err(Error::Http {
                detail: format!(
                    "authorization server {authz_host} refused a token for {id3p} ({}): {why}",
                    response.status
                ),
            });
        }
        serde_json::from_slice(&response.body).map_err(|e| Error::Http {
            detail: format!("token answer from {authz_host} unusable: {e}"),
        })
    }

    /// Sends an initial INVITE (built without Via) and waits for its final answer. A `401` with
    /// a Bearer challenge (TR 33.790 §6.4.2.2: the authorization server authenticates the UE,
    /// the IMS AS relays its nonce) is answered once: the INVITE goes again in the same dialog
    /// attempt (Call-ID, From tag, body, routes) with the next CSeq, a new Via branch and an
    /// Authorization header carrying the UE's signature over the nonce
    /// ([`challenge_authorization`]); a second challenge is the final answer. `authorization`
    /// is what the first INVITE carried. Returns the INVITE that got the final answer, every
    /// response of both INVITEs in order, the final status and the CSeq number used last.
    async fn invite_answering_challenge(
        &self,
        request: Request,
        authorization: Option<String>,
    ) -> Result<(Request, Vec<Response>, u16, u32), Error> {
        let (invite, mut responses, code) = self.invite_exchange(request.clone()).await?;
        let challenge = match responses.last() {
            Some(last) if code == 401 => bearer_challenge(last),
            _ => None,
        };
        let Some(challenge) = challenge else {
            return Ok((invite, responses, code, INITIAL_CSEQ));
        };
        // The client transaction has ACKed the 401 itself (RFC 3261 §17.1.1.3).
        let key = match self.ue_key() {
            Ok(key) => key,
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::Action {
                        label: format!("cannot answer the authorization server's challenge: {e}"),
                    },
                );
                return Ok((invite, responses, code, INITIAL_CSEQ));
            }
        };
        self.ctx.note(
            None,
            Note::Action {
                label: "answer the authorization server's challenge: sign the nonce with the UE key (TR 33.790 §6.4.2.2)".into(),
            },
        );
        let proof = ue_signature(&key, proof_signing_input(&challenge.nonce));
        // Without a configured value: the challenge's realm, no 3P ID (none was asked for).
        let base = authorization.unwrap_or_else(|| match &challenge.realm {
            Some(realm) => bearer_authorization(realm, "", None),
            None => "Bearer".into(),
        });
        let cseq = INITIAL_CSEQ + 1;
        let retry = challenge_retry(
            &request,
            cseq,
            &challenge_authorization(&base, &challenge.nonce, &proof),
        );
        let (invite, more, code) = self.invite_exchange(retry).await?;
        responses.extend(more);
        Ok((invite, responses, code, cseq))
    }

    /// Sends an INVITE in a new client transaction and waits (bounded by [`UeConfig::wait`])
    /// for its final answer; ACKs a 2xx (the transaction ACKs a 3xx–6xx itself). Returns the
    /// INVITE as sent, every response in order and the final status.
    async fn invite_exchange(
        &self,
        request: Request,
    ) -> Result<(Request, Vec<Response>, u16), Error> {
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
        Ok((invite, responses, code))
    }

    fn contact(&self) -> String {
        let addr = self.endpoint().local_addr();
        let user = NameAddr::parse(&self.impu())
            .and_then(|n| n.tn())
            .unwrap_or_else(|| "ue".into());
        let tag = if self.config.dc.is_some() {
            format!(";{}", sdp::DC_FEATURE_TAG)
        } else {
            String::new()
        };
        format!("<sip:{user}@{}:{}>{tag}", addr.ip(), addr.port())
    }

    /// The bootstrap data channel the network offered this agent (as callee) last and it
    /// accepted.
    pub fn answered_bdc(&self) -> Option<Arc<Peer>> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .bootstrap_peers
            .last()
            .map(|(_, p)| p.clone())
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
        let impu = self.impu();
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
    ///
    /// The INVITE carries the configured Authorization value ([`Ue::set_authorization`]). A
    /// `401` whose `WWW-Authenticate` is a Bearer challenge with a nonce (TR 33.790 §6.4.2.2) is
    /// answered once: the same INVITE (Call-ID, From tag, routes, body — the data channel offers
    /// are not made again) with CSeq 2, a new branch and the UE's signature over the nonce
    /// ([`challenge_authorization`]); its answer is the call's. [`Call::responses`] then holds
    /// the responses of both INVITEs and [`Call::invite`] is the second. Each INVITE waits at
    /// most [`UeConfig::wait`].
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
                let owner = dc_owner(&self.ctx, dc);
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
        let impu = self.impu();
        let presented = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .present_as
            .clone();
        let from = NameAddr {
            display: display.map(str::to_owned),
            uri: presented.unwrap_or_else(|| impu.clone()),
            params: String::new(),
        }
        .render();
        let mut text = self.base(
            "INVITE",
            target,
            &from,
            &format!("<{target}>"),
            INITIAL_CSEQ,
        );
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
        // TR 33.790 §6.4.2.1 step 1 (option B): the 3P ID, the realm and the token.
        let authorization = self.authorization();
        if let Some(value) = &authorization {
            text.push_str(&format!("Authorization: {value}\r\n"));
        }
        text.push_str(&format!(
            "Date: {}\r\nAllow: INVITE, ACK, BYE, CANCEL\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            self.ctx.clock.http_date(),
            body.len()
        ));
        let exchanged = match Request::try_from(text.as_str()) {
            Ok(request) => {
                self.invite_answering_challenge(request, authorization)
                    .await
            }
            Err(e) => Err(Error::Sip {
                detail: e.to_string(),
            }),
        };
        let (invite, responses, code, cseq) = match exchanged {
            Ok(done) => done,
            Err(e) => {
                // The offered data channels will never be answered.
                for peer in dc_peer.iter().chain(&bdc_peer) {
                    peer.close().await;
                }
                return Err(e);
            }
        };
        let mut call = Call {
            invite,
            responses,
            code,
            dc: None,
            dc_refused: None,
            bdc: None,
            added: Vec::new(),
            cseq,
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
        let impu = self.impu();
        let mut text = self.base(
            "INVITE",
            target,
            &format!("<{impu}>"),
            &format!("<{target}>"),
            1,
        );
        if let Some(authorization) = self.authorization() {
            text.push_str(&format!("Authorization: {authorization}\r\n"));
        }
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
        let owner = dc_owner(&self.ctx, dc);
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

/// The CSeq number of an initial INVITE; a re-sent INVITE answering a challenge uses the next.
const INITIAL_CSEQ: u32 = 1;

/// A quoted-string (RFC 7230 §3.2.6): `"` and `\` escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `Authorization` header value of an INVITE that names a third-party ID (TR 33.790
/// §6.4.2.1 step 1, option B): `Bearer realm="<realm>", 3pid="<id3p>"`, then
/// `, token="<token>"` when there is one. Testbed choice: the RFC 7235 auth-param form of the
/// Bearer scheme carrying what step 1 lists (3P ID, realm of the authorization server, token).
/// An empty `id3p` is left out (a UE answering a challenge it did not ask for names no 3P ID).
pub fn bearer_authorization(realm: &str, id3p: &str, token: Option<&str>) -> String {
    let mut value = format!("Bearer realm={}", quoted(realm));
    if !id3p.is_empty() {
        value.push_str(&format!(", 3pid={}", quoted(id3p)));
    }
    if let Some(token) = token {
        value.push_str(&format!(", token={}", quoted(token)));
    }
    value
}

/// The `Authorization` header value answering a challenge (TR 33.790 §6.4.2.2): `base` (what
/// the first INVITE carried, or [`bearer_authorization`] with the challenge's realm) followed by
/// `, nonce="<nonce>", proof="<proof>"`; `proof` is the UE's ES256 signature over the nonce
/// ([`ue_signature`] over [`proof_signing_input`]).
pub fn challenge_authorization(base: &str, nonce: &str, proof: &str) -> String {
    let base = base.trim();
    // A bare scheme takes its first auth-param after a space, not a comma.
    let separator = if base.contains([' ', '\t']) {
        ", "
    } else {
        " "
    };
    format!(
        "{base}{separator}nonce={}, proof={}",
        quoted(nonce),
        quoted(proof)
    )
}

/// RFC 7230 `tchar`.
pub use proto::sipmsg::auth_params as parse_auth_params;

/// A Bearer challenge with a nonce (TR 33.790 §6.4.2.2), as a `401` carries it in
/// `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    /// The authorization server's realm, when named.
    pub realm: Option<String>,
    pub nonce: String,
}

/// The first `WWW-Authenticate` of `response` whose scheme is `Bearer` (case-insensitive) and
/// that has a `nonce` auth-param.
pub fn bearer_challenge(response: &Response) -> Option<BearerChallenge> {
    sipmsg::values(&response.headers, "WWW-Authenticate")
        .into_iter()
        .filter_map(parse_auth_params)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .find_map(|(_, mut params)| {
            Some(BearerChallenge {
                nonce: params.remove("nonce")?,
                realm: params.remove("realm"),
            })
        })
}

/// The INVITE answering a challenge: `initial` (as built, or as sent) with its Via removed (the
/// endpoint adds one with a new branch), CSeq `cseq`, and `authorization` replacing any
/// Authorization header; Call-ID, From tag, Route, body and everything else unchanged.
pub fn challenge_retry(initial: &Request, cseq: u32, authorization: &str) -> Request {
    let mut retry = initial.clone();
    sipmsg::remove(&mut retry.headers, "Via");
    sipmsg::set(&mut retry.headers, "CSeq", format!("{cseq} INVITE"));
    if sipmsg::first(&retry.headers, "Authorization").is_some() {
        sipmsg::set(&mut retry.headers, "Authorization", authorization);
    } else {
        // Before the body's headers, with the other request headers.
        let at = retry
            .headers
            .iter()
            .position(|h| h.name().eq_ignore_ascii_case("Date"))
            .unwrap_or(retry.headers.len());
        retry.headers.0.insert(
            at,
            sipmsg::make_header("Authorization", authorization.to_owned()),
        );
    }
    retry
}

/// A UE's signing key: `fixtures/pki/ue/<ue>.key.pem` (PKCS#8 PEM, P-256).
pub fn ue_signing_key(ue: &str) -> Result<SigningKey, Error> {
    let path = format!("pki/ue/{ue}.key.pem");
    let pem = kit::fixtures::read(&path)?;
    let text = std::str::from_utf8(&pem).map_err(|e| Error::Pem {
        detail: format!("{path}: {e}"),
    })?;
    SigningKey::from_pkcs8_pem(text).map_err(|e| Error::Pem {
        detail: format!("{path}: not a PKCS#8 P-256 key: {e}"),
    })
}

/// A UE's ES256 signature over `message`: raw `r‖s` (64 bytes), base64url without padding —
/// what the authorization server checks (`third_party::authz::verify_ue_signature`).
pub fn ue_signature(key: &SigningKey, message: &[u8]) -> String {
    let signature: Signature = key.sign(message);
    stir::jose::b64u(&signature.to_bytes())
}

/// A token request (TR 33.790 §6.4.2.1 step 0b) for `impu` and `id3p`, signed at `iat`.
pub fn token_request(key: &SigningKey, impu: &str, id3p: &str, iat: i64) -> TokenRequest {
    TokenRequest {
        impu: impu.to_owned(),
        id3p: id3p.to_owned(),
        iat,
        signature: ue_signature(key, token_signing_input(impu, id3p, iat).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;
    use x509_parser::pem::Pem;
    use x509_parser::prelude::{FromDer as _, X509Certificate};

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const ID3P: &str = "tel:+12025550100";
    const REALM: &str = "authz.enterprise.example";

    fn params(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The public key of `fixtures/pki/ue/<ue>.pem` (what the authorization server checks with).
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

    /// What `third_party::authz::verify_ue_signature` does.
    fn verifies(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
        let raw = stir::jose::b64u_decode(signature, stir::jose::Part::Signature).unwrap();
        raw.len() == 64
            && Signature::from_slice(&raw).is_ok_and(|s| key.verify(message, &s).is_ok())
    }

    #[test]
    fn bearer_authorization_values() {
        assert_eq!(
            bearer_authorization(REALM, ID3P, Some("eyJ.x.y")),
            r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100", token="eyJ.x.y""#
        );
        assert_eq!(
            bearer_authorization(REALM, ID3P, None),
            r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100""#
        );
        assert_eq!(
            bearer_authorization(REALM, "", None),
            r#"Bearer realm="authz.enterprise.example""#
        );
        // Quotes and backslashes are escaped, and come back unescaped.
        let odd = bearer_authorization(r#"a"b\c"#, "x, y", None);
        assert_eq!(odd, r#"Bearer realm="a\"b\\c", 3pid="x, y""#);
        assert_eq!(
            parse_auth_params(&odd).unwrap().1,
            params(&[("realm", r#"a"b\c"#), ("3pid", "x, y")])
        );
    }

    #[test]
    fn challenge_authorization_values() {
        let base = bearer_authorization(REALM, ID3P, None);
        let value = challenge_authorization(&base, "00ff", "c2ln");
        assert_eq!(
            value,
            r#"Bearer realm="authz.enterprise.example", 3pid="tel:+12025550100", nonce="00ff", proof="c2ln""#
        );
        let (scheme, p) = parse_auth_params(&value).unwrap();
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            p,
            params(&[
                ("realm", REALM),
                ("3pid", ID3P),
                ("nonce", "00ff"),
                ("proof", "c2ln")
            ])
        );
        assert_eq!(
            challenge_authorization("Bearer", "n", "p"),
            r#"Bearer nonce="n", proof="p""#
        );
    }

    fn response(text: &str) -> Response {
        Response::try_from(text).unwrap()
    }

    fn unauthorized(www_authenticate: &[&str]) -> Response {
        let mut text = String::from(
            "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP pbx.test:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n",
        );
        for w in www_authenticate {
            text.push_str(&format!("WWW-Authenticate: {w}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        response(&text)
    }

    #[test]
    fn bearer_challenges_in_401() {
        let r = unauthorized(&[r#"Bearer realm="authz.enterprise.example", nonce="abc""#]);
        assert_eq!(
            bearer_challenge(&r),
            Some(BearerChallenge {
                realm: Some(REALM.into()),
                nonce: "abc".into()
            })
        );
        // Digest first, a Bearer without nonce, then the one to answer.
        let r = unauthorized(&[
            r#"Digest realm="ims", nonce="d""#,
            r#"Bearer realm="other""#,
            r#"BEARER nonce="n2""#,
        ]);
        assert_eq!(
            bearer_challenge(&r),
            Some(BearerChallenge {
                realm: None,
                nonce: "n2".into()
            })
        );
        assert_eq!(bearer_challenge(&unauthorized(&[])), None);
        assert_eq!(
            bearer_challenge(&unauthorized(&[r#"Digest realm="ims", nonce="d""#])),
            None
        );
        assert_eq!(
            bearer_challenge(&unauthorized(&[r#"Bearer realm="x", nonce="unterminated"#])),
            None
        );
    }

    #[test]
    fn retry_keeps_the_dialog_attempt() {
        let initial = Request::try_from(
            "INVITE tel:+12155551001 SIP/2.0\r\nVia: SIP/2.0/UDP pbx.test:5060;branch=z9hG4bKold\r\nMax-Forwards: 70\r\nFrom: <sip:+12025552001@ims.test>;tag=ft\r\nTo: <tel:+12155551001>\r\nCall-ID: cid-1\r\nCSeq: 1 INVITE\r\nContact: <sip:+12025552001@127.0.0.1:5060>\r\nRoute: <sip:ibcf.test;lr>\r\nAuthorization: Bearer realm=\"r\", 3pid=\"t\"\r\nDate: Mon, 02 Mar 2026 09:00:00 GMT\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
        )
        .unwrap();
        let retry = challenge_retry(
            &initial,
            2,
            r#"Bearer realm="r", 3pid="t", nonce="n", proof="p""#,
        );
        assert!(sipmsg::first(&retry.headers, "Via").is_none());
        assert_eq!(sipmsg::first(&retry.headers, "CSeq"), Some("2 INVITE"));
        assert_eq!(
            sipmsg::values(&retry.headers, "Authorization"),
            vec![r#"Bearer realm="r", 3pid="t", nonce="n", proof="p""#]
        );
        for h in [
            "From",
            "To",
            "Call-ID",
            "Contact",
            "Route",
            "Date",
            "Content-Type",
        ] {
            assert_eq!(
                sipmsg::first(&retry.headers, h),
                sipmsg::first(&initial.headers, h),
                "{h}"
            );
        }
        assert_eq!(retry.body, initial.body);
        assert_eq!(retry.uri, initial.uri);
        // Without an Authorization header: one is added, before Date.
        let mut bare = initial.clone();
        sipmsg::remove(&mut bare.headers, "Authorization");
        let retry = challenge_retry(&bare, 2, "Bearer nonce=\"n\", proof=\"p\"");
        let names: Vec<String> = retry.headers.iter().map(|h| h.name().to_string()).collect();
        let at = names.iter().position(|n| n == "Authorization").unwrap();
        assert_eq!(names[at + 1], "Date");
    }

    #[test]
    fn ue_key_signs_what_the_certificate_verifies() {
        let key = ue_signing_key("ue-a").unwrap();
        let cert = certificate_key("ue-a");
        assert_eq!(key.verifying_key(), &cert);
        // A challenge proof: ES256 over the nonce bytes, raw r‖s, base64url.
        let nonce = "5f0c3a9e1d2b4c6a8e0f1a2b3c4d5e6f";
        let proof = ue_signature(&key, proof_signing_input(nonce));
        assert_eq!(proof.len(), 86);
        assert!(!proof.contains(['=', '+', '/']));
        assert!(verifies(&cert, nonce.as_bytes(), &proof));
        assert!(!verifies(&cert, b"another nonce", &proof));
        assert!(!verifies(
            &certificate_key("ue-pbx"),
            nonce.as_bytes(),
            &proof
        ));
        // Deterministic (RFC 6979).
        assert_eq!(proof, ue_signature(&key, proof_signing_input(nonce)));
        // A token request: over "{impu}|{id3p}|{iat}".
        let iat = 1_772_442_000;
        let r = token_request(&key, UE_A, ID3P, iat);
        assert_eq!((r.impu.as_str(), r.id3p.as_str(), r.iat), (UE_A, ID3P, iat));
        assert!(verifies(
            &cert,
            format!("{UE_A}|{ID3P}|{iat}").as_bytes(),
            &r.signature
        ));
        assert!(!verifies(
            &cert,
            token_signing_input(UE_A, ID3P, iat + 1).as_bytes(),
            &r.signature
        ));
        // Its JSON is what the token endpoint reads.
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["iat", "id3p", "impu", "signature"]
        );
    }

    #[test]
    fn missing_ue_key() {
        assert!(matches!(
            ue_signing_key("no-such-ue"),
            Err(Error::Fixture { .. })
        ));
    }
}
