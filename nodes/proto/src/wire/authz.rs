//! Third-party authorisation of TR 33.790 solution #4 (§6.4, "SHAKEN based third-party specific
//! user identities"): the JSON shapes between the UE, the enterprise's 3P authorization server,
//! the operator's NEF, its HSS and its IMS AS. All of it runs over HTTPS; every hop between
//! network functions uses mutual TLS with the world's TLS CA.
//!
//! Who calls whom:
//!
//! - [`TOKEN_PATH`] (UE → authorization server, step 0b, option B): the UE proves it holds its
//!   UE key and gets a token for one third-party ID.
//! - [`ALLOCATE_PATH`] (authorization server → NEF, step 0a, option A): the enterprise asks the
//!   operator for a designated IMPU for one employee and one third-party ID.
//! - [`PROVISION_PATH`] (NEF → HSS, step 0a): the NEF provisions that IMPU's service profile.
//! - [`NEF_AUTHORIZE_PATH`] (IMS AS → NEF, step 2) and [`AUTHZ_AUTHORIZE_PATH`] (NEF →
//!   authorization server, steps 2–3): one [`AuthorizeRequest`] travels both hops; the
//!   authorization server's [`AuthorizeResponse`] travels back unchanged.
//! - [`CARDS_PATH_PREFIX`] (anyone → authorization server): the public jCards the enterprise
//!   name cards point at.

use serde::{Deserialize, Serialize};

/// `POST`: the UE asks the 3P authorization server for a token (step 0b, option B). Body
/// [`TokenRequest`], answer [`TokenResponse`] or [`OAuthError`].
pub const TOKEN_PATH: &str = "/oauth2/v1/3pid-token";

/// `POST` on the NEF: an allowed AF (the authorization server) asks for a designated IMPU
/// (step 0a, option A). Body [`AllocationRequest`], answer [`Allocation`].
pub const ALLOCATE_PATH: &str = "/3gpp-3pid/v1/allocations";

/// `POST` on the HSS: the NEF provisions a designated IMPU (step 0a). Body [`Provisioning`];
/// any 2xx means done.
pub const PROVISION_PATH: &str = "/sh/v1/provisioning";

/// `POST` on the NEF: the IMS AS asks whether a caller may present a third-party ID (step 2).
/// Body [`AuthorizeRequest`], answer [`AuthorizeResponse`].
pub const NEF_AUTHORIZE_PATH: &str = "/3gpp-3pid/v1/authorize";

/// `POST` on the 3P authorization server: the NEF forwards the IMS AS's question (steps 2–3).
/// Body [`AuthorizeRequest`], answer [`AuthorizeResponse`].
pub const AUTHZ_AUTHORIZE_PATH: &str = "/3pid/v1/authorize";

/// `GET {CARDS_PATH_PREFIX}{file}` on the authorization server: a public jCard (RFC 7095).
pub const CARDS_PATH_PREFIX: &str = "/cards/";

/// The bytes a UE signs in a [`TokenRequest`]: `"{impu}|{id3p}|{iat}"` as UTF-8.
pub fn token_signing_input(impu: &str, id3p: &str, iat: i64) -> String {
    format!("{impu}|{id3p}|{iat}")
}

/// A UE's request for a third-party ID token. `signature` is the UE's ES256 signature (RFC 7515
/// raw `r‖s`, 64 bytes, base64url without padding) over [`token_signing_input`]; the server
/// checks it with the UE's certificate, so only the holder of the UE key gets a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The UE's own public user identity (`sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org`).
    pub impu: String,
    /// The third-party ID the UE wants to present (`tel:+12025550100`).
    pub id3p: String,
    /// When the UE signed (seconds since the epoch); the server accepts only recent requests.
    pub iat: i64,
    /// The UE's signature over [`token_signing_input`] (raw `r‖s`, base64url).
    pub signature: String,
}

/// A token (an ES256 JWT, RFC 7519) authorising one IMPU to present one third-party ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token (a compact JWS).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the token stays valid from its `iat`.
    pub expires_in: i64,
    /// The third-party ID the token is for.
    pub id3p: String,
    /// The realm the UE names in its INVITE so the network finds this server (step 1).
    pub realm: String,
}

/// An error answer in the OAuth 2.0 form (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unauthorized_client`, …
    pub error: String,
    /// Why, for a human.
    pub error_description: String,
}

/// The enterprise asks the operator for a designated IMPU for one employee (step 0a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationRequest {
    /// The employee's existing IMPU (who the designated IMPU is for).
    pub employee_impu: String,
    /// The third-party ID the designated IMPU stands for.
    pub id3p: String,
}

/// A designated IMPU the NEF allocated and provisioned at the HSS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The designated IMPU.
    pub impu: String,
    /// Its telephone number (`+12025550100`).
    pub tn: String,
    /// The third-party ID it stands for.
    pub id3p: String,
    /// Realm of the authorization server that asked for it (who authorises its calls).
    pub realm: String,
}

/// What the NEF provisions at the HSS for a designated IMPU (step 0a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    /// The designated IMPU.
    pub impu: String,
    /// Its telephone number (`+12025550100`).
    pub tn: String,
    /// Whether the subscription may use third-party IDs.
    pub third_party_ids: bool,
    /// Realm of the authorization server that authorises its calls.
    pub authz_realm: String,
    /// The third-party ID it stands for.
    pub id3p: String,
    /// The employee's own IMPU: its private identity may register the designated IMPU (the
    /// S-CSCF checks that an IMPI may register the IMPU it names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_impu: Option<String>,
}

/// Which precondition of §6.4.2.1 the caller relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthzOption {
    /// Option A: the caller uses a designated IMPU the third party had allocated via the NEF.
    #[serde(rename = "A")]
    A,
    /// Option B: the caller names a third-party ID and the realm of the authorization server,
    /// with a token (or, §6.4.2.2, a proof of possession after a challenge).
    #[serde(rename = "B")]
    B,
}

impl std::fmt::Display for AuthzOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthzOption::A => "A",
            AuthzOption::B => "B",
        })
    }
}

/// May `impu` present a third-party ID? The IMS AS asks the NEF; the NEF forwards the same body
/// to the authorization server it selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// The caller's asserted IMPU.
    pub impu: String,
    /// Which option of §6.4.2.1 the caller relies on.
    pub option: AuthzOption,
    /// Option B: the authorization server's realm from the INVITE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// The third-party ID the caller names (option B; optional for option A).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id3p: Option<String>,
    /// Option B: the token from the INVITE's Authorization header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// §6.4.2.2: the UE's answer to an earlier challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
}

/// The bytes a UE signs to answer a challenge: the nonce as UTF-8.
pub fn proof_signing_input(nonce: &str) -> &[u8] {
    nonce.as_bytes()
}

/// A UE's answer to a challenge (§6.4.2.2): its ES256 signature (raw `r‖s`, base64url) over the
/// nonce bytes ([`proof_signing_input`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The nonce of the challenge being answered.
    pub nonce: String,
    /// The UE's signature over it (raw `r‖s`, base64url).
    pub signature: String,
}

/// The authorization server's decision (step 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeResponse {
    /// Whether the caller may present the third-party ID.
    pub authorized: bool,
    /// Why (also on success, for the trace).
    pub reason: String,
    /// Why not, typed (on a refusal): expired, revoked, not entitled, a bad signature, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial: Option<crate::trace::Reason>,
    /// The third-party ID the caller may present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id3p: Option<String>,
    /// The enterprise name card to sign into the INVITE (on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_card: Option<NameCard>,
    /// §6.4.2.2: not authorised yet; the UE must sign this nonce and the request come again
    /// with a [`Proof`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
}

impl AuthorizeResponse {
    /// A refusal with its reason.
    pub fn denied(denial: crate::trace::Reason, reason: impl Into<String>) -> Self {
        Self {
            authorized: false,
            reason: reason.into(),
            denial: Some(denial),
            id3p: None,
            name_card: None,
            challenge: None,
        }
    }
}

/// An enterprise name card: what the IMS AS asks the STI-AS to sign as RCD (`nam`, `jcl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCard {
    /// The name to present (RFC 9795 `nam`).
    pub nam: String,
    /// URL of the jCard on the authorization server.
    pub jcl: String,
}
