//! The enterprise's 3P authorization server of TR 33.790 solution #4 (§6.4, "SHAKEN based
//! third-party specific user identities"), at `https://authz.enterprise.example`, which is also
//! its realm. It decides, for the enterprise, which of its employees may present which
//! third-party specific user identity (3P ID), and it creates the enterprise name card that the
//! originating operator signs into the INVITE.
//!
//! Who works here comes from `fixtures/enterprise/authz.toml` ([`Directory`]); the UE
//! certificates that prove a UE holds its key are `fixtures/pki/ue/<ue>.pem`, issued by
//! `fixtures/pki/ue-ca.pem` and checked with `stir::cert` (path to the UE CA, validity, and the
//! employee's IMPU among the subject alternative names).
//!
//! Endpoints (one HTTPS server; client certificates verified when offered and required per path):
//!
//! - `POST /oauth2/v1/3pid-token` (any client) — step 0b, option B: the UE signs
//!   `"{impu}|{id3p}|{iat}"` with its UE key; if that signature verifies with its certificate
//!   and the employee may present that 3P ID, the server issues an ES256 JWT ([`Authority::issue`]).
//! - `POST /3pid/v1/authorize` (mutual TLS, the NEF only) — step 3: the server authorises the
//!   caller with the token (option B), with the designated IMPU it had allocated (option A), or
//!   by authenticating the UE with a challenge (§6.4.2.2), and on success creates the
//!   enterprise name card ([`Authority::authorize`]).
//! - `GET /cards/<file>` (public) — the jCard a name card's `jcl` points at.
//!
//! Step 0a (option A) is the enterprise's initiative: [`AuthzHandle::request_allocation`] asks
//! the NEF for a designated IMPU and remembers it.
//!
//! The code is split by concern: [`directory`] (who works here, from the fixtures), [`policy`]
//! (every decision, pure: [`Authority::issue`], [`Authority::validate_token`],
//! [`Authority::authorize`], over parsed input, `now` and a [`Ledger`]; each refusal a typed
//! [`Denial`] with its trace [`Reason`](proto::trace::Reason)) and [`server`] (the HTTPS driver
//! over `kit`: parse, decide, answer, note).

pub mod directory;
pub mod policy;
pub mod server;

use proto::wire::authz::CARDS_PATH_PREFIX;

pub use directory::{AuthPolicy, Directory, Employee};
pub use kit::tls::{client_is, dns_names};
pub use policy::{
    Authority, CertFault, Challenge, Decision, Denial, Designated, Ledger, TokenClaims,
    verify_ue_signature,
};
pub use server::{AllocationError, Authz, AuthzConfig, AuthzHandle, start, start_with};

/// Host of the 3P authorization server in the simulated world.
pub const HOST: &str = "authz.enterprise.example";
/// Its realm: what a UE names in its INVITE so the operator finds this server (step 1).
pub const REALM: &str = HOST;
/// `iss` of the tokens it issues.
pub const ISSUER: &str = "https://authz.enterprise.example";
/// `aud` of the tokens it issues: the serving operator's IMS domain.
pub const AUDIENCE: &str = "ims.mnc001.mcc001.3gppnetwork.org";
/// The operator's NEF, the only client allowed to ask for authorisations.
pub const NEF_HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
/// Lifetime of a token (seconds).
pub const TOKEN_LIFETIME: i64 = 3600;
/// How far a token request's `iat` may be from the server's clock (seconds).
pub const REQUEST_SKEW: i64 = 300;
/// How long a challenge nonce (§6.4.2.2) may be answered (seconds).
pub const CHALLENGE_LIFETIME: i64 = 120;
/// Outstanding challenges kept at most (a bound on memory under a flood of requests).
pub const MAX_CHALLENGES: usize = 1024;
/// Age of a stale token's `iat` and `exp` (threat switch [`AuthzConfig::stale_tokens`]).
const DAY: i64 = 86_400;

/// URL a name card's jCard is served at.
pub fn card_url(file: &str) -> String {
    format!("{ISSUER}{CARDS_PATH_PREFIX}{file}")
}
