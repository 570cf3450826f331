//! The IMS application server of TR 33.790 key issue #1, on ISC between the S-CSCF and itself.
//!
//! Originating (steps 2–6 of §6.1.2, §6.2.2.2, §6.3.2 and §6.4.2.1): the operator's solution
//! ([`Flow`], one per world) finds what to present for the caller — 3P ID information from the
//! HSS (solution 1, [`flows::hss_id_info`]), an RCD record from the enterprise's 3P ID server
//! (solution 2, [`flows::id_server`]), an RCD URL or concrete RCD from the HSS (solution 3,
//! [`flows::hss_rcd`]), or an enterprise name card its authorization server issues through the
//! NEF (solution 4, [`flows::authz_server`]). The AS then has the STI-AS sign `shaken` (and
//! `rcd`) PASSporTs over Ms, asserts the caller and sends the INVITE on with the Identity and
//! Call-Info headers ([`orig`]).
//!
//! Terminating (§6.2.2.2 steps 8–11): it hands the Identity headers to the STI-VS over Ms and
//! delivers the INVITE with `verstat`, keeping the RCD only if it verified ([`term`]); the flow
//! decides whether to verify at all (solution 4: only for callees subscribed to verification).
//!
//! With an MF, the AS also anchors data channel sections there (TS 23.228 Annex AC in outline),
//! and has it offer the callee sections of its own: the callee's bootstrap channel
//! (terminating) and, in avatar calls, the avatar media channel (originating,
//! [`AsConfig::avatar_media`]).
//!
//! Solution 9 ([`flows::dc_exposure`], originating): the AS reports a call's data channels to
//! the DCSF ([`AsConfig::dcsf_host`]) and re-INVITEs both parties when the DCSF asks it to add
//! or remove one (TR 33.790 §6.9.2.2 step 5).
//!
//! The proxy core never asks which solution runs: it calls the [`Flow`]'s hooks. The decisions
//! are pure functions ([`orig`], [`term`], and the decision half of each flow file); the async
//! drivers around them only do the HTTP and SIP, then write the typed trace notes.

#![warn(missing_docs)]

mod anchor;
pub mod attest;
pub mod choices;
pub mod dialog;
mod error;
pub mod flows;
pub mod io;
mod isc;
pub mod orig;
pub mod term;

use std::sync::Arc;

use kit::node::Ctx;
use kit::sipnode::SipNode;
use proto::sip::Timers;

pub use error::Error;
pub use flows::Flow;

/// Which side of the call the AS serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Signs: needs the HSS and the STI-AS.
    Originating {
        /// The caller's HSS (Sh-like JSON interface, mutual TLS).
        hss_host: String,
        /// The operator's STI-AS (Ms).
        sti_as_host: String,
    },
    /// Verifies: needs the STI-VS (and, for solution 4's subscription check, the callee's HSS).
    Terminating {
        /// The operator's STI-VS (Ms).
        sti_vs_host: String,
        /// The callee's HSS, for flows that ask it before verifying (solution 4).
        hss_host: Option<String>,
    },
}

/// AS settings.
#[derive(Debug, Clone)]
pub struct AsConfig {
    /// Originating or terminating, with the hosts each needs.
    pub role: Role,
    /// The key issue #1 solution the operator deploys ([`flows::hss_id_info`], …).
    pub flow: Arc<dyn Flow>,
    /// The operator's NEF (solution 4, originating).
    pub nef_host: Option<String>,
    /// The enterprise trunks this operator serves and their number ranges (attestation).
    pub trunks: Vec<attest::Trunk>,
    /// SIP transaction timers.
    pub timers: Timers,
    /// The operator's MF: with one, the AS record-routes and anchors data channel sections a
    /// served UE offers toward the network there.
    pub mf_host: Option<String>,
    /// Originating, with an MF: in an avatar call (an initial INVITE offering the peer-to-peer
    /// data channel section) have the MF offer the callee the avatar media data channel (mid
    /// `avm`, TR 33.790 §6.5 and §6.6), repeated in every re-INVITE and answered to the MF;
    /// the caller never sees it. Off (`false`) everywhere but the avatar worlds.
    pub avatar_media: bool,
    /// Solution 8: the operator's AOS, and the STIR service the AS uses on answers.
    pub avatars: Option<AvatarHosts>,
    /// Solution 7: the operator's XR AS, which may ask the AS to anchor a call's media.
    pub xr_as_host: Option<String>,
    /// Solution 9: the operator's DCSF, which the originating AS reports the DC events of calls
    /// to and takes DC control requests from (§6.9.2.2 step 5). None everywhere else: then
    /// nothing of solution 9's flow talks to anyone.
    pub dcsf_host: Option<String>,
}

/// Where an AS of solution 8 (TR 33.790 §6.8.2) looks avatars up and has answers signed or
/// verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarHosts {
    /// The operator's AOS (steps 2 and 12).
    pub aos_host: String,
    /// Terminating: the T-STI-AS that signs the callee's answer (steps 13–15). Originating: the
    /// O-STI-VS that verifies it (steps 17–19).
    pub answer_sti_host: String,
}

/// A started AS: its SIP node, and the HTTPS server of a flow that serves one (solution 7).
#[derive(Debug)]
pub struct Started {
    /// The SIP node.
    pub sip: SipNode,
    /// The flow's HTTPS server, if it serves one.
    pub https: Option<kit::http::Server>,
}

/// Starts the AS.
pub async fn start(ctx: &Ctx, config: AsConfig) -> Result<Started, kit::Error> {
    isc::start(ctx, config).await
}
