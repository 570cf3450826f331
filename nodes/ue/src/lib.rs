//! SIP user agents. A [`Ue`] is an IMS UE (TS 24.229 §5.1): it registers through its P-CSCF,
//! calls with the route its S-CSCF gave it (Service-Route), and answers calls (180, then 200).
//! The same agent in [`Access::Trunk`] mode is the enterprise's IP-PBX: no registration, calls
//! go to the operator's IBCF over the trunk's mutual TLS ([`TrunkTls`]; TR 33.790 §6.2.2.2
//! NOTE 2), and it names its user's number in P-Preferred-Identity (RFC 3325 §9.2) for the IBCF
//! to assert.
//!
//! The scenario drives a UE like a person would: [`Ue::register`], [`Ue::call`],
//! [`Ue::hang_up`]; what a callee was offered is kept in [`Ue::received`].
//!
//! For TR 33.790 solution #4 (§6.4) a UE can also call from a designated IMPU the enterprise had
//! allocated ([`Ue::use_impu`], option A), obtain a third-party ID token from the enterprise's
//! authorization server ([`Ue::obtain_3p_token`], step 0b) and name it in its INVITEs
//! ([`Ue::set_authorization`], [`bearer_authorization`], option B), and answer that server's
//! challenge relayed as a `401` (§6.4.2.2) by signing its nonce with the UE key.
//!
//! A DC-capable agent ([`UeConfig::dc`], a TS 26.114 DCMTSI client) offers and answers WebRTC
//! data channels in its SDP ([`dc`] does the WebRTC).
//!
//! Registration is authenticated (TS 24.229 §5.1.1.2 with SIP Digest, RFC 7616/8760 SHA-256):
//! with [`UeConfig::impi`] and [`UeConfig::password`] the UE names its private identity and
//! answers one Digest challenge (`register`, [`Act::AnswerDigest`]). For the threat variants an
//! agent can act as an attacker's UE: forge what it writes ([`Ue::forge`], [`Forgery`]:
//! P-Asserted-Identity, Contact, Route, next hop) and register someone else's identity with no
//! or a wrong password ([`Ue::register_as`]).
//!
//! The agent is not a SIP stack of its own: transactions and sockets are `kit::sip`'s, message
//! shapes `proto::sip`'s. Modules by concern: the calling side (`uac`), the answering side
//! (`uas`), registration (`register`, `digest`), the data channels of a call (`channels`), the
//! UE's credentials for solution #4 (`credentials`), its part in avatar communication for
//! solutions #5, #6 and #7 ([`avatar`]: [`Ue::send_avatar_token`], [`Ue::negotiate_rendering`],
//! [`Ue::choose_network_avatar`], [`Ue::negotiate_avatar_channel`], [`Ue::send_ue_token`], …),
//! the local session description of each call that a re-INVITE of the network gets and the
//! avatar a callee accepts or rejects in one (`session`, [`Ue::reject_avatar`]; TR 33.790
//! §6.7.2.1 steps 5 and 6; and the application data channel sections the network adds or
//! declines or renews in one, solution #9 §6.9.2.2 step 5: [`Ue::channel`], and the DC
//! application one asks it to download over its bootstrap channel: [`Ue::downloaded`]), and an attacker's
//! forgeries (`forgery`). What it did is noted on
//! the trace as typed actions (`proto::trace::Act`).

#![warn(missing_docs)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use dc::{DcError, DcTimers, Peer};
use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, TlsConfig};
use kit::sipnode::{self, SipNode};
use proto::sdp::DcMap;
use proto::sip::{Request, Response, Timers};
use proto::trace::{Act, Note};

pub mod avatar;
mod channels;
mod credentials;
mod digest;
mod forgery;
mod register;
mod session;
mod uac;
mod uas;

pub use self::avatar::{
    AttestationPlan, AvatarAdc, AvatarError, FINGERPRINT_CARRIER, HttpAnswer, HttpFault,
    PeerAvatar, TokenForgery, TokenPlan, peer_avatar,
};
pub use credentials::{
    BearerChallenge, bearer_authorization, bearer_challenge, challenge_authorization,
    challenge_retry, parse_auth_params, token_refusal_reason, token_request, ue_certificate,
    ue_signature, ue_signing_key,
};
pub use digest::{
    DIGEST_ALGORITHM, DigestChallenge, DigestUnsupported, derived_impi, digest_authorization,
    digest_challenge, digest_ha1, digest_initial, digest_response,
};
pub use forgery::Forgery;
pub use proto::wire::avatar::AVATAR_MEDIA_MID;
pub use proto::wire::mf::BOOTSTRAP_MID;
pub use uas::describe;

/// How the agent reaches the network.
#[derive(Debug, Clone)]
pub enum Access {
    /// A UE registered through this P-CSCF to the home domain.
    Pcscf {
        /// The P-CSCF's SIP host (first Route of every request).
        pcscf_host: String,
        /// The home domain (the REGISTER's Request-URI).
        domain: String,
    },
    /// A PBX on a SIP trunk to this IBCF.
    Trunk {
        /// The IBCF's SIP host (the Route of every INVITE).
        ibcf_host: String,
        /// How the PBX connects to it (a spoofed trunk is configured here).
        tls: TrunkTls,
    },
}

/// How a PBX reaches its IBCF: the genuine trunk runs mutual TLS with the PBX's own
/// certificate; the others are spoofed trunks for the threat variants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrunkTls {
    /// Mutual TLS presenting the PBX's own fixture certificate (its host's).
    #[default]
    Own,
    /// Mutual TLS presenting the fixture certificate of another host.
    As(String),
    /// TLS without a client certificate.
    Anonymous,
    /// Plain SIP, where DNS says (UDP first): no TLS at all.
    None,
}

impl Access {
    /// The SIP over TLS an agent with this access needs, for an agent at `host`: for a trunk
    /// over TLS, the IBCF always reached over TLS, presenting the certificate [`TrunkTls`]
    /// names; nothing otherwise.
    pub fn tls_config(&self, host: &str) -> TlsConfig {
        match self {
            Access::Trunk { ibcf_host, tls } => match tls {
                TrunkTls::Own => TlsConfig::trunk_to(ibcf_host, Some(host)),
                TrunkTls::As(other) => TlsConfig::trunk_to(ibcf_host, Some(other)),
                TrunkTls::Anonymous => TlsConfig::trunk_to(ibcf_host, None),
                TrunkTls::None => TlsConfig::default(),
            },
            Access::Pcscf { .. } => TlsConfig::default(),
        }
    }
}

/// Agent settings.
#[derive(Debug, Clone)]
pub struct UeConfig {
    /// Public identity (`sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org`).
    pub impu: String,
    /// How it reaches the network.
    pub access: Access,
    /// SIP transaction timers.
    pub timers: Timers,
    /// Bound on any one operation (register, call set-up, hang-up).
    pub wait: Duration,
    /// Answer at once (200 right after 180), or ring until [`Ue::answer`] — as a person does,
    /// and so a scenario can let the ringing reach the caller before the answer starts.
    pub auto_answer: bool,
    /// Data channel capability (TS 26.114 DCMTSI client); `None` for a plain UE.
    pub dc: Option<DcConfig>,
    /// The private user identity it registers with (SIP Digest `username`), from the
    /// subscriber fixture; `None`: it answers no registration challenge.
    pub impi: Option<String>,
    /// Its Digest password (a fixture secret); `None`: it answers no registration challenge.
    pub password: Option<String>,
}

/// How a DC-capable agent treats data channels.
#[derive(Debug, Clone)]
pub struct DcConfig {
    /// The data channel engine's bounds.
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

/// The bootstrap data channel (TS 26.114 §6.2.10: stream 0, subprotocol `http`).
pub fn bootstrap_channel() -> DcMap {
    DcMap::reliable(0, "bootstrap", "http")
}

/// The SIP-facing mid of the peer-to-peer data channel section.
pub const P2P_MID: &str = "dc";

/// The header a user names its Avatar ID in (TR 33.790 §6.8.2 steps 1 and 11; the testbed's
/// own, choice `8-avatar-id-header`: the TR leaves the carrier open).
pub const AVATAR_ID_HEADER: &str = "P-Avatar-ID";

/// Minimal SDP: an audio stream marked inactive (no media flows in the identity solutions;
/// data channels arrive with their own SDP).
fn plain_sdp(host: &str) -> String {
    format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\na=label:{host}\r\n"
    )
}

/// What the agent remembers between requests (shared with its answering task).
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
    /// The local session description of each call (answered as callee, offered last as
    /// caller): a re-INVITE in the call's dialog gets it again.
    sessions: Vec<session::LocalSession>,
    /// The remote CSeq number of each call's dialog (RFC 3261 §12.2.2), by Call-ID.
    remote_cseq: std::collections::BTreeMap<String, u32>,
    /// As callee, reject the avatar a re-INVITE proposes ([`Ue::reject_avatar`]).
    reject_avatar: bool,
    /// The public user identity in use when not [`UeConfig::impu`] ([`Ue::use_impu`]).
    impu: Option<String>,
    /// The Authorization header value every initial INVITE carries ([`Ue::set_authorization`]).
    authorization: Option<String>,
    /// Which UE key signs, when not the one named by the node id ([`Ue::use_ue_key`]).
    ue_key: Option<String>,
    /// The identity INVITEs present in From, when not the IMPU ([`Ue::present_as`]).
    present_as: Option<String>,
    /// The Avatar ID named in INVITEs and 200s ([`Ue::use_avatar_id`], TR 33.790 §6.8.2).
    avatar_id: Option<String>,
    /// Bootstrap data channels the network offered this agent as callee, by Call-ID.
    bootstrap_peers: Vec<(String, Arc<Peer>)>,
    /// Avatar media data channels the caller's network offered this agent as callee, by
    /// Call-ID.
    avatar_media_peers: Vec<(String, Arc<Peer>)>,
    /// Application data channels the network added to a call by re-INVITE (TR 33.790
    /// §6.9.2.2 step 5), either side, by Call-ID; closed ones stay until the call ends.
    network_peers: Vec<(String, Arc<Peer>)>,
    /// The ICE ufrag of the offer this agent answered for each section the network added by
    /// re-INVITE, by (Call-ID, mid): a re-offer with another one is an update (a new
    /// association), until the call ends.
    network_ufrags: std::collections::BTreeMap<(String, String), String>,
    /// The DC applications a re-INVITE asked this agent to download, by (Call-ID, app): each
    /// is downloaded once per call however many re-INVITEs repeat the ask.
    downloads_asked: Vec<(String, String)>,
    /// The DC applications downloaded over a bootstrap channel, in order ([`Ue::downloaded`]).
    downloaded: Vec<String>,
    /// The caller's own associations of its calls (held by the [`Call`]), by Call-ID: so a
    /// re-INVITE declining one of their sections can close it.
    own_peers: Vec<(String, Weak<Peer>)>,
    /// What an attacker's UE forges in its requests ([`Ue::forge`]).
    forged: forgery::Forged,
    /// The ephemeral keys of avatar communication, by Call-ID (UE-A's for UE-A-centric
    /// rendering, UE-B's for UE-B centric; TR 33.790 §6.6.2), until the call ends.
    ephemeral_keys: Vec<(String, ::avatar::e2e::EphemeralKey)>,
}

/// How many of the INVITEs offered as callee [`Ue::received`] keeps: the most recent ones
/// (scenarios look at the last; a long run must not grow the state).
pub const RECEIVED_KEPT: usize = 16;

/// Keeps `request` as the most recent INVITE received, forgetting the oldest beyond
/// [`RECEIVED_KEPT`].
fn keep_received(received: &mut Vec<Request>, request: &Request) {
    if received.len() >= RECEIVED_KEPT {
        received.drain(..=received.len() - RECEIVED_KEPT);
    }
    received.push(request.clone());
}

/// Forgets everything kept for call `call_id` — its local session, remote CSeq, ICE ufrags,
/// downloads asked and ephemeral keys — and takes its data channel associations out of the
/// state for the caller to release (the call ended with a BYE, or never got answered).
fn end_call(state: &Mutex<State>, call_id: &str) -> Vec<Arc<Peer>> {
    let mut st = lock(state);
    let st = &mut *st;
    st.sessions.retain(|s| s.call_id != call_id);
    st.remote_cseq.remove(call_id);
    st.downloads_asked.retain(|(id, _)| id != call_id);
    avatar::forget_call(st, call_id);
    channels::take_call_peers(st, call_id)
}

/// The agent's state; a poisoned lock still holds usable state (every update is one
/// assignment or push).
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running agent.
#[derive(Debug)]
pub struct Ue {
    ctx: Ctx,
    config: UeConfig,
    node: SipNode,
    state: Arc<Mutex<State>>,
    /// The client nonces of Digest answers (a stream of its own, so they do not shift the
    /// endpoint's tags and branches).
    digest_rng: Mutex<proto::clock::Rng>,
    /// Avatar communication's random values (token ids, ephemeral secrets): a stream of its
    /// own, so they shift neither the endpoint's nor the data channels' draws.
    avatar_rng: Mutex<proto::clock::Rng>,
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
    pub dc_refused: Option<DcError>,
    /// The bootstrap data channel to the own network's MF, once answered.
    pub bdc: Option<Arc<Peer>>,
    /// Data channel associations added later by re-INVITE ([`Ue::add_channels`]).
    pub added: Vec<Arc<Peer>>,
    /// The last CSeq number used in the dialog.
    pub cseq: u32,
}

impl Call {
    /// Whether the final answer was a 2xx.
    pub fn answered(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The 2xx that answered the call, if any.
    pub fn ok(&self) -> Option<&Response> {
        self.responses
            .iter()
            .rev()
            .find(|r| (200..300).contains(&r.status_code.code()))
    }
}

/// The error for an operation that got no final answer within `wait`.
fn timeout(wait: Duration) -> Error {
    Error::Timeout {
        ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
    }
}

/// A SIP-level failure of this agent's own exchanges.
fn sip_error(detail: impl Into<String>) -> Error {
    Error::Sip {
        detail: detail.into(),
    }
}

impl Ue {
    /// Binds the agent and starts answering (a trunk PBX with the TLS its [`TrunkTls`] says).
    pub async fn start(ctx: &Ctx, config: UeConfig) -> Result<Ue, Error> {
        let tls = config.access.tls_config(&ctx.host);
        let ep = sipnode::bind_tls(ctx, config.timers, tls).await?;
        let state = Arc::new(Mutex::new(State::default()));
        let (c, s, cfg) = (ctx.clone(), state.clone(), Arc::new(config.clone()));
        let node = sipnode::serve(ep, move |ep, incoming| {
            uas::handle(ep, incoming, c.clone(), s.clone(), cfg.clone())
        });
        Ok(Ue {
            ctx: ctx.clone(),
            config,
            node,
            state,
            digest_rng: Mutex::new(proto::clock::Rng::for_node(
                ctx.seed,
                &format!("{}/cnonce", ctx.id),
            )),
            avatar_rng: Mutex::new(proto::clock::Rng::for_node(
                ctx.seed,
                &format!("{}/avatar", ctx.id),
            )),
        })
    }

    /// The agent's SIP endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.node.endpoint
    }

    /// Stops answering.
    pub fn shutdown(&self) {
        self.node.shutdown();
    }

    /// Closes every data channel association this agent still holds (world shutdown).
    pub async fn close_data_channels(&self) {
        let peers = {
            let mut st = lock(&self.state);
            let mut all = std::mem::take(&mut st.peers);
            all.extend(std::mem::take(&mut st.bootstrap_peers));
            all.extend(std::mem::take(&mut st.avatar_media_peers));
            all.extend(std::mem::take(&mut st.network_peers));
            all
        };
        for (_, p) in peers {
            p.close().await;
        }
    }

    /// Calls ringing here, waiting to be answered.
    pub fn ringing(&self) -> usize {
        let mut state = lock(&self.state);
        // A call that was cancelled or timed out dropped its end of the channel.
        state.ringing.retain(|pick_up| !pick_up.is_closed());
        state.ringing.len()
    }

    /// Answers the call that rang first (sends its 200). False when nothing rings.
    pub fn answer(&self) -> bool {
        let next = {
            let mut state = lock(&self.state);
            state.ringing.retain(|pick_up| !pick_up.is_closed());
            (!state.ringing.is_empty()).then(|| state.ringing.remove(0))
        };
        next.is_some_and(|pick_up| pick_up.send(()).is_ok())
    }

    /// INVITEs this agent was offered as callee, as it received them: the most recent
    /// [`RECEIVED_KEPT`].
    pub fn received(&self) -> Vec<Request> {
        lock(&self.state).received.clone()
    }

    /// The public user identity this agent uses everywhere (REGISTER From/To, Contact user part,
    /// INVITE From, the trunk's P-Preferred-Identity): [`UeConfig::impu`] unless
    /// [`Ue::use_impu`] switched it.
    pub fn impu(&self) -> String {
        lock(&self.state)
            .impu
            .clone()
            .unwrap_or_else(|| self.config.impu.clone())
    }

    /// Uses `impu` from now on instead of [`UeConfig::impu`] — TR 33.790 §6.4.2.1 option A:
    /// "the allocated IMPU is configured in the UE in IMS registration". Register again
    /// ([`Ue::register`]) before calling from it. Noted as [`Act::UseDesignatedImpu`].
    pub fn use_impu(&self, impu: &str) {
        lock(&self.state).impu = Some(impu.to_owned());
        self.ctx.note(
            None,
            Note::done(
                Act::UseDesignatedImpu,
                format!("configure the allocated IMPU {impu} (option A)"),
            ),
        );
    }

    /// The identity the UE's INVITEs present in From from now on (TR 33.790 §6.4 option B:
    /// the 3P ID it is authorised to use), leaving its registered IMPU (REGISTER, Contact) as
    /// it is; `None` presents the IMPU again.
    pub fn present_as(&self, id: Option<&str>) {
        lock(&self.state).present_as = id.map(str::to_owned);
    }

    /// Names `id` as this user's Avatar ID in its INVITEs (TR 33.790 §6.8.2 step 1) and its
    /// 200s (step 11), in [`AVATAR_ID_HEADER`]; `None` names none.
    pub fn use_avatar_id(&self, id: Option<&str>) {
        lock(&self.state).avatar_id = id.map(str::to_owned);
    }

    /// As callee, rejects (`true`) or accepts (`false`, the default) the avatar a re-INVITE of
    /// the network proposes in [`AVATAR_ID_HEADER`] (TR 33.790 §6.7.2.1 step 6: UE-B "has the
    /// option to reject the avatar alone"): a rejection is answered 488 Not Acceptable Here and
    /// noted as [`Act::ConsiderAvatar`] refused (`Declined`).
    pub fn reject_avatar(&self, reject: bool) {
        lock(&self.state).reject_avatar = reject;
    }

    /// The `Authorization` header value every initial INVITE carries from now on (TR 33.790
    /// §6.4.2.1 step 1, option B; build it with [`bearer_authorization`]); `None` clears it.
    pub fn set_authorization(&self, value: Option<String>) {
        lock(&self.state).authorization = value;
    }

    /// The `Authorization` header value initial INVITEs carry, if any ([`Ue::set_authorization`]).
    pub fn authorization(&self) -> Option<String> {
        lock(&self.state).authorization.clone()
    }

    /// Signs token requests and challenge proofs with the UE key
    /// `fixtures/pki/ue/<ue>.key.pem` instead of the one named by this node's id (the IP-PBX
    /// node `pbx` acts for the enterprise user whose UE key is `ue-pbx`).
    pub fn use_ue_key(&self, ue: &str) {
        lock(&self.state).ue_key = Some(ue.to_owned());
    }

    /// The bootstrap data channel the network offered this agent (as callee) last and it
    /// accepted.
    pub fn answered_bdc(&self) -> Option<Arc<Peer>> {
        lock(&self.state)
            .bootstrap_peers
            .last()
            .map(|(_, p)| p.clone())
    }

    /// The avatar media data channel (mid [`AVATAR_MEDIA_MID`]) the caller's network offered
    /// this agent (as callee) last and it accepted: where the caller's MF sends rendered avatar
    /// frames and protected avatar objects (TR 33.790 §6.5, §6.6).
    pub fn avatar_media(&self) -> Option<Arc<Peer>> {
        lock(&self.state)
            .avatar_media_peers
            .last()
            .map(|(_, p)| p.clone())
    }

    /// The avatar media data channel this agent accepted (as callee) in call `call_id`, if
    /// any (closed at the call's BYE).
    pub fn avatar_media_in(&self, call_id: &str) -> Option<Arc<Peer>> {
        lock(&self.state)
            .avatar_media_peers
            .iter()
            .rev()
            .find(|(id, _)| id == call_id)
            .map(|(_, p)| p.clone())
    }

    /// The peer-to-peer data channel association this agent answered (as callee) in call
    /// `call_id`, if any (closed at the call's BYE).
    pub fn peer_in(&self, call_id: &str) -> Option<Arc<Peer>> {
        lock(&self.state)
            .peers
            .iter()
            .rev()
            .find(|(id, _)| id == call_id)
            .map(|(_, p)| p.clone())
    }

    /// The association of call `call_id` for the `m=application` section `mid` that this agent
    /// holds, the most recent first: one the network added by re-INVITE (TR 33.790 §6.9.2.2
    /// step 5; either side), one it answered as callee (peer to peer, bootstrap, avatar
    /// media), or, as caller, one of its own still held by the [`Call`]. Closed ones are
    /// included (a re-INVITE declining the section closes it: [`Peer::is_closed`]) until the
    /// call ends.
    pub fn channel(&self, call_id: &str, mid: &str) -> Option<Arc<Peer>> {
        channels::find(&lock(&self.state), call_id, mid)
    }

    /// The DC applications this agent downloaded over its bootstrap channel as re-INVITEs of
    /// the network asked (TR 33.790 §6.9.2.2, "DC application download"), in order, over all
    /// its calls (kept after they end).
    pub fn downloaded(&self) -> Vec<String> {
        lock(&self.state).downloaded.clone()
    }

    /// The Call-IDs of the calls this agent placed (answered) or answered, oldest first: the
    /// calls a re-INVITE of the network can find here.
    pub fn call_ids(&self) -> Vec<String> {
        lock(&self.state)
            .sessions
            .iter()
            .map(|s| s.call_id.clone())
            .collect()
    }

    /// The data channel peer this agent answered last (callee side).
    pub fn answered_dc(&self) -> Option<Arc<Peer>> {
        lock(&self.state).peers.last().map(|(_, p)| p.clone())
    }
}
