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
use kit::node::Ctx;
use kit::sip::proxy::response_to;
use kit::sip::{Config, Endpoint, Incoming, Method, Request, Response, Timers, ua};
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
}

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
    match request.method {
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
                if tokio::time::timeout(config.wait, picked_up).await.is_err() {
                    let _ = incoming
                        .respond(response_to(
                            &request,
                            480,
                            "Temporarily Unavailable (no answer)",
                            Some(&tag),
                        ))
                        .await;
                    return;
                }
            }
            let mut ok = response_to(&request, 200, "OK", Some(&tag));
            sipmsg::push(
                &mut ok.headers,
                "Contact",
                format!("<sip:{}:{}>", ep.local_addr().ip(), ep.local_addr().port()),
            );
            sipmsg::push(&mut ok.headers, "Content-Type", "application/sdp");
            ok.body = sdp(ep.host()).into_bytes();
            sipmsg::set(&mut ok.headers, "Content-Length", ok.body.len().to_string());
            let _ = incoming.respond(ok).await;
        }
        _ => {
            let _ = incoming
                .respond(response_to(&request, 200, "OK", None))
                .await;
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
        let ep = Endpoint::bind(
            Config::new(&ctx.id, &ctx.host).with_timers(config.timers),
            ctx.locate.clone(),
            ctx.tap.clone(),
            ctx.rng(),
        )
        .await?;
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

    /// Calls ringing here, waiting to be answered.
    pub fn ringing(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ringing
            .len()
    }

    /// Answers the call that rang first (sends its 200). False when nothing rings.
    pub fn answer(&self) -> bool {
        let next = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
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
        format!("<sip:{user}@{}:{}>", addr.ip(), addr.port())
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
        let body = sdp(self.endpoint().host());
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
        Ok(Call {
            invite,
            responses,
            code,
        })
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
        let bye = ua::uac_request(&call.invite, ok, Method::Bye, 2)
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
}
