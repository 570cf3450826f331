//! What a network function says about what it did, typed: a token it decoded, a check it ran
//! (with a typed [`Reason`] when it failed), a testbed choice it acted on, or an action it took
//! ([`Act`]) with its [`Outcome`]. Views show the `label`/`detail` texts; steps and outcome
//! checks match only the typed fields, so rewording a note can neither break nor satisfy them.
//!
//! An action note is written by the node that took the action, when it took it. A decision not
//! to do something is an action too, refused with its reason (the IMS AS refusing to present a
//! 3P ID because the caller is not subscribed); "I did not need to" is not a note at all.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a network function adds about a message or about what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "kebab-case")]
pub enum Note {
    /// A JWS it signed or decoded: JOSE header and claims as carried.
    Token {
        /// For the reader (`PASSporT signed (ppt=rcd)`).
        label: String,
        /// The JOSE header, as carried.
        header: Value,
        /// The claims, as carried.
        claims: Value,
    },
    /// A check it ran.
    Check {
        /// What was checked, for the reader (`shaken: signature`).
        name: String,
        /// Whether it held.
        passed: bool,
        /// Why, for the reader.
        detail: String,
        /// The SIP or HTTP code a failure leads to.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        /// Why it failed, typed (for a failed check).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// A choice the TR leaves open and the testbed made (the testbed's choices table).
    Choice {
        /// The choice's id in the table.
        id: String,
        /// What this node did about it here.
        text: String,
    },
    /// An ephemeral Diffie-Hellman key agreement it ran (solution 6): both public keys, the key
    /// derivation's parameters and a fingerprint of the derived key; never a private key.
    KeyAgreement {
        /// For the reader (`derive the session key for avatar qbranch-agent`).
        label: String,
        /// This node's ephemeral public key (a JWK).
        local_public: Value,
        /// The peer's ephemeral public key (a JWK).
        peer_public: Value,
        /// The key derivation and cipher (`ECDH P-256 → HKDF-SHA256 → AES-256-GCM`).
        kdf: String,
        /// The HKDF salt (base64url).
        salt: String,
        /// The HKDF info.
        info: String,
        /// A fingerprint of the derived key (`sha256:` and 16 hex digits), never the key.
        key_fingerprint: String,
    },
    /// A picture it rendered or showed (an avatar frame): rows of Braille characters, each cell
    /// 2×4 pixels.
    Picture {
        /// For the reader (`render frame 2 of qbranch-agent`).
        label: String,
        /// The avatar the picture is of.
        avatar_id: String,
        /// The frame's sequence number.
        seq: u32,
        /// The picture, top row first.
        rows: Vec<String>,
    },
    /// Something it did (or decided against, with the reason), typed.
    Action {
        /// What kind of action.
        act: Act,
        /// Whether it was carried out.
        outcome: Outcome,
        /// What happened, for the reader.
        label: String,
    },
}

impl Note {
    /// An action carried out.
    pub fn done(act: Act, label: impl Into<String>) -> Self {
        Note::Action {
            act,
            outcome: Outcome::Done,
            label: label.into(),
        }
    }

    /// An action refused (or that failed), for `reason`.
    pub fn refused(act: Act, reason: Reason, label: impl Into<String>) -> Self {
        Note::Action {
            act,
            outcome: Outcome::Refused(reason),
            label: label.into(),
        }
    }

    /// A check that held.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Note::Check {
            name: name.into(),
            passed: true,
            detail: detail.into(),
            code: None,
            reason: None,
        }
    }

    /// A check that failed for `reason`, leading to `code` if any.
    pub fn fail(
        name: impl Into<String>,
        reason: Reason,
        code: Option<u16>,
        detail: impl Into<String>,
    ) -> Self {
        Note::Check {
            name: name.into(),
            passed: false,
            detail: detail.into(),
            code,
            reason: Some(reason),
        }
    }

    /// A testbed choice acted on here.
    pub fn choice(id: impl Into<String>, text: impl Into<String>) -> Self {
        Note::Choice {
            id: id.into(),
            text: text.into(),
        }
    }

    /// The action's tag and outcome, for an action note.
    pub fn action(&self) -> Option<(Act, Outcome)> {
        match self {
            Note::Action { act, outcome, .. } => Some((*act, *outcome)),
            _ => None,
        }
    }
}

/// Whether an action was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "kebab-case")]
pub enum Outcome {
    /// Done (for a verification: it passed; for an authorisation: granted).
    Done,
    /// Not done, for this reason (refused, failed, or found not to apply).
    Refused(Reason),
}

impl Outcome {
    /// Whether it was carried out.
    pub fn is_done(self) -> bool {
        self == Outcome::Done
    }

    /// The reason, when refused.
    pub fn reason(self) -> Option<Reason> {
        match self {
            Outcome::Done => None,
            Outcome::Refused(r) => Some(r),
        }
    }
}

/// Why something was refused or failed. Grouped by who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    // ---- the identity asked for is not the requester's to use ---------------------------------
    /// The user has no subscription to this service (HSS, verification subscription).
    NotSubscribed,
    /// The subscription exists but does not allow it.
    NotAuthorised,
    /// The server holds no record for this identity.
    NoRecord,
    /// What the request names does not match what the server holds.
    Mismatch,
    /// The requester may not present that identity (not among its entitlements).
    NotEntitled,
    /// A token, certificate or challenge is past its lifetime.
    Expired,
    /// Revoked (a token, an employee, a certificate).
    Revoked,
    /// The requester must authenticate first (a challenge follows).
    AuthenticationRequired,
    /// Local policy decided so.
    Policy,

    // ---- the message or token does not hold ----------------------------------------------------
    /// A signature does not verify with the key it should.
    SignatureInvalid,
    /// A signed claim does not match the message it came with (orig, dest, ids).
    ClaimMismatch,
    /// A digest (rcdi) does not match the content it covers.
    DigestMismatch,
    /// The certificate cannot be used (chain, validity, TNAuthList, alg).
    CertificateInvalid,
    /// Too old or too far in the future (iat, Date).
    Stale,
    /// Malformed or missing what it needs.
    Malformed,
    /// The message carries no identity to work with.
    MissingIdentity,
    /// A token or proof used outside the session (or the one use) it was issued for.
    Replayed,
    /// An AEAD tag does not verify: the protected content was altered, or is not for this key.
    DecryptionFailed,

    // ---- the network -----------------------------------------------------------------------------
    /// The peer could not be reached or did not answer usefully.
    Unreachable,
    /// The peer declined (an m=application section answered with port 0).
    Declined,
    /// ICE/DTLS/SCTP did not come up within its bound.
    NotConnected,
    /// Nothing arrived within the bound.
    Timeout,
    /// The call or channel ended first.
    Closed,
    /// The node has no room for it now (its request queue or connection limit is full); a
    /// request is answered 503 with Retry-After.
    Overloaded,
}

impl Reason {
    /// A short name for views (`not-subscribed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotSubscribed => "not-subscribed",
            Reason::NotAuthorised => "not-authorised",
            Reason::NoRecord => "no-record",
            Reason::Mismatch => "mismatch",
            Reason::NotEntitled => "not-entitled",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::AuthenticationRequired => "authentication-required",
            Reason::Policy => "policy",
            Reason::SignatureInvalid => "signature-invalid",
            Reason::ClaimMismatch => "claim-mismatch",
            Reason::DigestMismatch => "digest-mismatch",
            Reason::CertificateInvalid => "certificate-invalid",
            Reason::Stale => "stale",
            Reason::Malformed => "malformed",
            Reason::MissingIdentity => "missing-identity",
            Reason::Replayed => "replayed",
            Reason::DecryptionFailed => "decryption-failed",
            Reason::Unreachable => "unreachable",
            Reason::Declined => "declined",
            Reason::NotConnected => "not-connected",
            Reason::Timeout => "timeout",
            Reason::Closed => "closed",
            Reason::Overloaded => "overloaded",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of action a node took: the tag steps and outcome checks match on. Grouped by the
/// network function that takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Act {
    // ---- SIP core (P-CSCF, S-CSCF, IBCF) ---------------------------------------------------------
    /// P-CSCF / trunk IBCF: asserts the caller's identity (P-Asserted-Identity).
    AssertIdentity,
    /// S-CSCF: a REGISTER challenged (401 with a Digest challenge).
    ChallengeUser,
    /// S-CSCF: a registration accepted (refused: the answer to the challenge did not hold, or
    /// the user is unknown).
    RegisterUser,
    /// P-CSCF: a registered public identity bound to the flow it registered on.
    BindFlow,
    /// P-CSCF / IBCF: what a UE or trunk wrote that only the trust domain may write removed
    /// (P-Asserted-Identity, Route and `orig` markers, P-Served-User).
    StripUntrusted,
    /// P-CSCF / S-CSCF / IBCF: a request refused (403) because of where it came from.
    RefuseRequest,
    /// IBCF: the enterprise trunk identified by its TLS client certificate (refused: another
    /// certificate, or none).
    IdentifyTrunk,
    /// S-CSCF / IBCF: a routing decision worth showing (originating services, NNI egress).
    Route,
    /// The NNI attacker changes a message in transit (a threat switched on).
    Tamper,

    // ---- IMS AS, originating ---------------------------------------------------------------------
    /// Solution 1: the 3P ID information from the HSS, or from the repository its URI names.
    IdInfoLookup,
    /// Solution 2: the caller's RCD record from the 3P ID server, chosen against the INVITE.
    RcdLookup,
    /// Solution 3: the RCD association, URL or concrete RCD from the HSS (and the jCard).
    HssRcdLookup,
    /// Solution 4: authorisation of the 3P ID by the enterprise, through the NEF.
    Id3pAuthorization,
    /// Credentials for a third party removed before the request leaves the network.
    StripCredentials,
    /// An authorization server's challenge relayed to the UE in a 401.
    RelayChallenge,
    /// The signing server asked over Ms (refused: the request goes on without that PASSporT).
    RequestSigning,
    /// P-Asserted-Identity, Identity and Call-Info added; the request routed on.
    AddIdentity,
    /// The attestation level chosen from how the caller was identified (A, B or C, with the
    /// reason in the label).
    Attest,

    // ---- IMS AS, terminating ---------------------------------------------------------------------
    /// Solution 4: whether the callee subscribed to verification of 3P IDs.
    VerificationSubscription,
    /// The verification server asked over Ms.
    RequestVerification,
    /// Solution 3: the RCD behind a verified URL, fetched and digest-checked (by the STI-VS).
    RcdContentChecked,
    /// The request delivered with verstat, and RCD only if it verified.
    Deliver,

    // ---- STI-AS / STI-VS -------------------------------------------------------------------------
    /// A PASSporT signed with the operator's STI-SP key.
    SignPassport,
    /// Identity headers verified (refused: the caller's number did not verify).
    VerifyIdentity,

    // ---- HSS, NEF, enterprise --------------------------------------------------------------------
    /// HSS: a designated IMPU and its 3P ID service profile provisioned.
    ProvisionImpu,
    /// HSS: a subscriber's Digest credential handed out (refused: the client is not the
    /// operator's S-CSCF).
    ServeCredential,
    /// NEF: a designated IMPU allocated from its pool.
    AllocateImpu,
    /// NEF: the third party's authorization server selected (by realm or allocation).
    SelectAuthzServer,
    /// Authorization server: a 3P ID token issued to an employee (refused: why not).
    IssueToken,
    /// Authorization server: the UE challenged to prove its key (§6.4.2.2).
    ChallengeUe,
    /// Authorization server: the 3P ID authorised and the name card created (refused: why not).
    AuthorizeId3p,
    /// Authorization server: a designated IMPU requested from the NEF (step 0a).
    RequestAllocation,
    /// 3P ID server: the enterprise changes a jCard after it was signed (a threat switched on).
    ChangeJcard,

    // ---- UE / PBX --------------------------------------------------------------------------------
    /// The UE configures a designated IMPU it was given (option A).
    UseDesignatedImpu,
    /// The UE asks its enterprise for a 3P ID token (step 0b).
    ObtainToken,
    /// The UE answers a challenge by signing the nonce with its UE key.
    AnswerChallenge,
    /// The UE answers its registrar's Digest challenge (RFC 3261 §22, RFC 8760).
    AnswerDigest,
    /// The callee's phone alerts its user with what it was given.
    Alert,
    /// The callee stops ringing: the caller cancelled.
    StopRinging,

    // ---- data channels (UE, MF, IMS AS anchoring) ------------------------------------------------
    /// Data channels offered in an SDP offer (peer to peer, bootstrap, or by re-INVITE).
    DcOffer,
    /// Offered data channels answered (refused: declined with port 0).
    DcAnswer,
    /// A call goes on without data channels it offered (refused: why).
    DcUnavailable,
    /// A data channel opened.
    DcOpen,
    /// A data channel closed.
    DcClose,
    /// An IMS AS anchors an m=application section at its MF.
    DcAnchor,
    /// The MF serves a bootstrap channel (HTTP over it).
    DcServe,
    /// The data channels of a call released at the call's end.
    DcRelease,
    /// A re-INVITE answered with the same session description.
    KeepSession,

    // ---- avatars (solutions 5 and 6: UE, XR AS, DCSF, MF, BAR, DAC) -----------------------------
    /// UE: the avatar it will appear as chosen (solution 5 step 0a, solution 6 step 1).
    ChooseAvatar,
    /// UE: its avatar token (a JWS over the Avatar ID and the session) signed with its UE key
    /// (solution 5 step 0a).
    SignAvatarToken,
    /// MF: a UE's avatar token received on the session and kept for the download (refused: no
    /// token arrived by the time the Avatar ID did).
    HoldAvatarToken,
    /// XR AS: whether the Avatar ID is in the UE's avatar list (solution 5 steps 1–2; refused:
    /// not the UE's).
    CheckAvatarList,
    /// XR AS, DCSF: the Avatar ID passed on toward the MF (solution 5 steps 3–4).
    ForwardAvatarId,
    /// MF: the base avatar model downloaded from the BAR with the token (solution 5 steps 5 and
    /// 7; refused with the BAR's reason).
    DownloadAvatarModel,
    /// BAR: the avatar token verified against the owner's UE certificate and the Avatar ID
    /// (solution 5 step 6; refused: why).
    VerifyAvatarToken,
    /// UE: its attestation (Avatar ID, XR AS, rendering option, ephemeral key, expiry) signed
    /// with its UE key (solution 6 step 2).
    SignAttestation,
    /// UE: the rendering option decided (solution 6 step 3).
    ChooseRendering,
    /// XR AS: the avatar object requested from the DAC with the attestation (solution 6 step 5;
    /// refused with the DAC's reason).
    RequestAvatarObject,
    /// DAC: the attestation verified — the owner's signature, expiry, and the XR AS it names is
    /// the requester (solution 6 step 6; refused: why).
    VerifyAttestation,
    /// DAC: the avatar object protected for the rendering UE (ephemeral ECDH, HKDF, AEAD).
    ProtectAvatarObject,
    /// XR AS: the avatar object (or the protected one) handed on for rendering (solution 6
    /// step 7).
    RequestRendering,
    /// UE or XR AS: a protected avatar object opened with the derived session key (refused: the
    /// AEAD tag failed).
    OpenAvatarObject,
    /// MF or UE: an avatar frame rendered from the object and the facial points.
    RenderAvatar,
    /// UE: an avatar frame shown to the user.
    ShowAvatar,
    /// AOS (solution 8 steps 2, 12): a subscriber's use of avatars, and the Avatar ID it names,
    /// authorised for a call (its avatar data answered and the call's tuple registered), or
    /// refused.
    AuthorizeAvatar,
    /// AOS (solution 8 step 21): an avatar object served to the other party of the call, or
    /// refused (no tuple for it, a bad proof, the policy's one fetch used).
    ServeAvatarObject,
    /// UE (solution 8 step 21): the other party's avatar object fetched from its AOS and checked
    /// against the digest its Identity header signed (refused: it did not match).
    FetchAvatarObject,
    /// IMS AS (solution 8 steps 2 and 12): a party's avatar data looked up at its operator's
    /// AOS for the call (refused: not authorised, no avatar, another Avatar ID than its own).
    LookupAvatar,
    /// IMS AS (solution 8 steps 13 and 16): the callee's avatar signed into the answer, with
    /// P-Asserted-Identity and an Identity header (refused: the STI-AS did not sign).
    SignAnswer,
    /// IMS AS (solution 8 step 20): the verified answer delivered to the caller with `verstat`,
    /// the callee's avatar kept only if its PASSporT verified.
    DeliverAnswer,
    /// IMS AS (solution 7 step 3): the HSS's subscription data let the caller use the Avatar-id
    /// for the application (refused: `NotEntitled`).
    AuthorizeAvatarId,
    /// IMS AS (solution 7 step 3): the Avatar-id signed over Ms and added to the negotiation
    /// toward UE-B (an Identity header, `ppt` avatar).
    AddSignedAvatarId,
    /// Terminating IMS AS (solution 7 step 3): the verified Avatar-id forwarded to UE-B
    /// (refused: it did not verify and was removed).
    DeliverAvatarId,
    /// IMS AS (solution 7 step 7, for the NEF): a signed Avatar-id checked against the one it had
    /// signed for the call (refused: not one it signed).
    CheckSignedAvatarId,
    /// IMS AS (solution 7 steps 5 and 6): a re-INVITE of its own in the dialog, anchoring a
    /// party's media at the MF (refused: the party refused it).
    AnchorMedia,
    /// UE (solution 7 steps 4): the UE token signed over its IMPU and the XR AS, sent on the
    /// application channel.
    SendUeToken,
    /// MF (solution 7 step 4): the caller's UE token relayed to the XR AS.
    RelayUeToken,
    /// XR AS (9.1) or MF (11.1): signed avatar metadata verified (signature, Avatar-id, expiry;
    /// refused with the reason).
    VerifyAvatarMetadata,
    /// UE-B (solution 7 step 6): the avatar of the call accepted, or rejected (refused,
    /// `Declined`).
    ConsiderAvatar,

    // ---- DC capability exposure (solution 9: NEF, HSS/UDM, DCSF, IMS AS, DC AF/AS) ------------
    /// HSS/UDM (solution 9 step 2): the DC exposure policy of an AF and a subscriber's consent
    /// served to the NEF (refused: the client is not the NEF).
    ServeExposurePolicy,
    /// NEF (§6.9.2.1 step 3, §6.9.2.2 step 4): an AF's subscription or control request
    /// authorised by the policy and the subscriber's consent (refused: why not).
    AuthorizeExposure,
    /// NEF (§6.9.2.2 step 3): the AF matched to the DC application of the target ADC (refused:
    /// it does not own it).
    CheckDcApplication,
    /// DCSF (§6.9.2.1 steps 4–5): a DC event subscription created for the NEF.
    SubscribeDcEvents,
    /// DCSF (§6.9.2.1 step 7): a DC event of a subscriber notified to a subscription.
    NotifyDcEvent,
    /// NEF (§6.9.2.1 step 8): a DC event notification passed on to the AF, anonymised or in
    /// full as the policy says.
    ForwardDcEvent,
    /// DCSF (§6.9.2.2 step 5): a DC session control request carried out (refused: no such
    /// call or data channel, or the re-INVITE failed).
    ControlDc,
    /// IMS AS (§6.9.2.2 step 5): a re-INVITE of its own changing a party's data channels, as
    /// the DCSF asked (refused: the party refused it).
    ChangeDataChannels,
    /// DC AF/AS: a DC event notification received from the NEF.
    ReceiveDcEvent,
    /// UE (solution 9): a DC application downloaded over its bootstrap channel, as a
    /// re-INVITE of the network asked (refused: the download failed).
    DownloadApp,
}
