//! The XR AS of the caller's operator (TR 33.790 §6.5.2 and §6.6.2; host
//! `xr-as.ims.mnc001.mcc001.3gppnetwork.org`), over HTTPS with mutual TLS (its client is the
//! MF, which relays the UE's requests from its bootstrap data channel; choice
//! `avatar-xr-transport`).
//!
//! - Solution 5 ([`SELECT_PATH`], steps 1–3): the Avatar ID must be in the avatar list of the UE
//!   (the XR AS holds the lists: choice `avatar-xr-list`), else 403; then it is passed on to the
//!   MF via the DCSF, and the DCSF's answer (the MF's download outcome) is the answer.
//! - Solution 6 ([`RENDERING_PATH`], step 2; [`ADC_PATH`], step 4): the negotiation is accepted
//!   at once and kept; with both it and the caller's application data channel, steps 5–7 run
//!   once for the call, before the second of the two is answered ([`steps`]).
//! - Solution 7 ([`UE_TOKEN_PATH`], TR 33.790 §6.7.2.1 steps 7–11, with a NEF configured): the
//!   MF relays the caller's UE token and signed Avatar-id; the XR AS gets an access token from
//!   the NEF, the signed avatar metadata from the DAC with it, verifies the metadata with the
//!   DAC's pre-configured certificate and hands it to the MF to render, before it answers
//!   ([`metadata`]).
//!
//! It is not the BAR, the DAC or the MF: it verifies no token or attestation (it reads the
//! attestation's rendering option only; in solution 7 it verifies only the DAC's signature on
//! the metadata) and renders nothing.
//!
//! Notes: [`Act::CheckAvatarList`] (refused `NotEntitled`), [`Act::ForwardAvatarId`], the
//! attestation's `Note::Token`, [`Act::RequestAvatarObject`] (refused with the DAC's reason),
//! [`Act::RequestRendering`], and under a threat switch [`Act::Tamper`] or a
//! `Note::KeyAgreement` and a refused [`Act::OpenAvatarObject`]; for solution 7 the notes of
//! [`metadata`].

mod decide;
mod metadata;
mod steps;

use std::sync::{Arc, Mutex};

use avatar::Catalogue;
use kit::Error;
use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{
    ADC_PATH, Accepted, AdcEstablished, AvatarForward, DCSF_AVATAR_PATH, RENDERING_PATH,
    SELECT_PATH, UE_TOKEN_PATH, XrRendering, XrSelection,
};
use serde::de::DeserializeOwned;

use crate::upstream;
use decide::{Calls, Negotiation, Run};

/// The XR AS's threat switches (TR 33.790 §5.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrTamper {
    /// It flips one byte of a protected avatar object's ciphertext before delivering it: the
    /// rendering UE's AEAD check fails.
    AlterObject,
    /// Before delivering a UE-B-centric object it tries to open it with an ephemeral key of its
    /// own (it is not the recipient: it cannot), then delivers it as usual.
    TryOpen,
    /// Solution 7 (NOTE 10, an XR AS outside the trust domain): it changes the signed avatar
    /// metadata before it hands it to the MF (step 11; `avatar::metadata::tamper`): an MF that
    /// verifies refuses it (`SignatureInvalid`).
    AlterMetadata,
    /// Solution 7: it asks the DAC for the metadata of this other Avatar-id with the access
    /// token it got for the call's (step 8): the DAC refuses (403 `insufficient_scope`).
    OtherAvatar(String),
}

/// XR AS settings.
#[derive(Debug, Clone)]
pub struct XrAsConfig {
    /// The DCSF the Avatar ID is passed on through (solution 5 step 3).
    pub dcsf_host: String,
    /// The DAC avatar objects are requested from (solution 6 step 5).
    pub dac_host: String,
    /// The MF that renders or delivers (solution 6 step 7).
    pub mf_host: String,
    /// The avatars and their owners: the UEs' avatar lists.
    pub catalogue: Catalogue,
    /// A threat switched on, if any.
    pub tamper: Option<XrTamper>,
    /// The NEF access tokens for avatar metadata are asked of (solution 7 step 7). `None`: the
    /// UE token path is unknown (404).
    pub nef_host: Option<String>,
    /// The certificate (DER) the DAC signs avatar metadata with, pre-configured (solution 7
    /// step 9.1, NOTE 7; [`crate::trust::dac_certificate`]).
    pub dac_certificate: Vec<u8>,
    /// Whether the XR AS presents its client certificate to the NEF and the DAC (solution 7).
    /// `false`: the "XR AS without a valid client certificate" variant (its HTTPS client for
    /// them presents none). Its other requests always use mutual TLS.
    pub client_certificate: bool,
    /// The caller's IMS AS, asked to anchor the call's media at the MF once the XR AS holds
    /// the caller's UE token (solution 7 steps 5 and 6). `None`: not asked.
    pub ims_as_host: Option<String>,
}

/// A running XR AS.
#[derive(Debug)]
struct XrAs {
    ctx: Ctx,
    config: XrAsConfig,
    /// The HTTPS client (mutual TLS: its certificate is its identity to the DAC).
    client: Client,
    /// The HTTPS client for the NEF and the DAC in solution 7: mutual TLS unless
    /// [`XrAsConfig::client_certificate`] is `false`.
    token_client: Client,
    calls: Mutex<Calls>,
}

/// A poisoned lock still holds usable state (every update is one small change).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A JSON request body, or the 400 `Problem` answer.
fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, Response> {
    serde_json::from_slice(&req.body)
        .map_err(|e| upstream::problem(400, Reason::Malformed, e.to_string()))
}

impl XrAs {
    async fn handle(&self, req: Request, msg: Option<u64>) -> Response {
        let path = req.target.as_str();
        let ue_tokens = self.config.nef_host.is_some() && path == UE_TOKEN_PATH;
        if ![SELECT_PATH, RENDERING_PATH, ADC_PATH].contains(&path) && !ue_tokens {
            return upstream::problem(404, Reason::NoRecord, format!("no such resource: {path}"));
        }
        if req.method != "POST" {
            let mut answer = Response::text(405, "only POST");
            answer.headers.push(("allow".into(), "POST".into()));
            return answer;
        }
        match path {
            SELECT_PATH => match json_body(&req) {
                Ok(s) => self.select(s, msg).await,
                Err(refused) => refused,
            },
            RENDERING_PATH => match json_body(&req) {
                Ok(r) => self.negotiate(r, msg).await,
                Err(refused) => refused,
            },
            UE_TOKEN_PATH => match json_body(&req) {
                Ok(r) => self.ue_token(r, msg).await,
                Err(refused) => refused,
            },
            _ => match json_body(&req) {
                Ok(a) => self.adc_open(a, msg).await,
                Err(refused) => refused,
            },
        }
    }

    /// Solution 5 steps 1–3: the list check, then the Avatar ID to the MF via the DCSF.
    async fn select(&self, req: XrSelection, msg: Option<u64>) -> Response {
        let (listed, list) = decide::check_list(&self.config.catalogue, &req.tn, &req.avatar_id);
        let label = format!(
            "Avatar ID {} against the avatar list of {} ({}) (choice avatar-xr-list)",
            req.avatar_id,
            req.tn,
            if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            }
        );
        if !listed {
            self.ctx.note(
                msg,
                Note::refused(
                    Act::CheckAvatarList,
                    Reason::NotEntitled,
                    format!("{label}: not in it"),
                ),
            );
            let detail = format!("{} is not an avatar of {}", req.avatar_id, req.tn);
            return upstream::problem(403, Reason::NotEntitled, detail);
        }
        self.ctx.note(
            msg,
            Note::done(Act::CheckAvatarList, format!("{label}: in it")),
        );
        self.forward(req, msg).await
    }

    /// Solution 5 step 3: the Avatar ID to the DCSF (for the MF); the DCSF's answer.
    async fn forward(&self, req: XrSelection, msg: Option<u64>) -> Response {
        let dcsf = &self.config.dcsf_host;
        self.ctx.note(
            msg,
            Note::done(
                Act::ForwardAvatarId,
                format!(
                    "pass the Avatar ID {} of {} (session {}) to the MF via the DCSF {dcsf}",
                    req.avatar_id, req.tn, req.call_id
                ),
            ),
        );
        let forward = AvatarForward {
            tn: req.tn,
            call_id: req.call_id,
            avatar_id: req.avatar_id,
        };
        let url = format!("https://{dcsf}{DCSF_AVATAR_PATH}");
        let body = serde_json::to_vec(&forward).unwrap_or_default();
        match self.client.send(Request::post_json(url, body)).await {
            Ok(answer) => upstream::pass_back(&answer),
            Err(e) => upstream::problem(502, Reason::Unreachable, format!("DCSF: {e}")),
        }
    }

    /// Solution 6 step 2: the negotiation accepted and kept (steps 5–7 run now if the ADC is
    /// already open).
    async fn negotiate(&self, req: XrRendering, msg: Option<u64>) -> Response {
        let negotiation = match Negotiation::read(&req.tn, &req.attestation) {
            Ok(n) => n,
            Err(e) => {
                return upstream::problem(400, e.reason(), format!("attestation: {e}"));
            }
        };
        let label = format!(
            "UE-A attestation from {} (session {}), read unverified",
            req.tn, req.call_id
        );
        if let Some(note) = avatar::attestation::note(&label, &req.attestation) {
            self.ctx.note(msg, note);
        }
        let accepted = Accepted {
            avatar_id: negotiation.avatar_id.clone(),
            status: format!("rendering negotiated ({})", negotiation.rendering.as_str()),
        };
        let run = lock(&self.calls).negotiated(&req.call_id, negotiation);
        match self.run_if(run, msg).await {
            Ok(()) => json_response(200, &accepted),
            Err(refused) => refused,
        }
    }

    /// Solution 6 step 4: the caller's application data channel is open (steps 5–7 run now if
    /// the rendering is negotiated).
    async fn adc_open(&self, req: AdcEstablished, msg: Option<u64>) -> Response {
        let run = lock(&self.calls).adc_open(&req.call_id);
        match self.run_if(run, msg).await {
            Ok(()) => Response::new(204, "text/plain", ""),
            Err(refused) => refused,
        }
    }

    async fn run_if(&self, run: Option<Run>, msg: Option<u64>) -> Result<(), Response> {
        match run {
            Some(run) => self.run(&run, msg).await,
            None => Ok(()),
        }
    }
}

/// Starts the XR AS over HTTPS (mutual TLS required: its client is the MF), with the client it
/// reaches the DCSF, the DAC and the MF with (mutual TLS), and the one it reaches the NEF and
/// the DAC with in solution 7 (mutual TLS unless [`XrAsConfig::client_certificate`] is off).
pub async fn start(ctx: &Ctx, config: XrAsConfig) -> Result<Server, Error> {
    let xr = Arc::new(XrAs {
        ctx: ctx.clone(),
        client: ctx.https_client(true)?,
        token_client: ctx.https_client(config.client_certificate)?,
        config,
        calls: Mutex::new(Calls::default()),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let xr = xr.clone();
        async move { xr.handle(req, peer.msg).await }
    });
    ctx.https_server(h, ClientAuth::Required).await
}
