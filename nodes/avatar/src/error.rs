//! The crate's one error type and its one mapping to the trace: every failure is an [`Error`]
//! variant, grouped by who is at fault, and [`Error::reason`] gives the typed
//! [`Reason`] a network function writes in its refusal note and its `Problem` answer.

use std::fmt;

use proto::trace::Reason;
use proto::wire::avatar::Rendering;

/// Everything that can go wrong, grouped by who is at fault. [`Error::reason`] is the mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ---- the token, attestation or protected object does not decode (Malformed) -------------------
    /// Not `header.payload.signature`.
    #[error("not a compact JWS: {parts} dot-separated parts, expected 3")]
    NotCompactJws {
        /// How many parts there were.
        parts: usize,
    },
    /// A part of the JWS is not base64url, or (header, payload) not a JSON object.
    #[error("the JWS {part} is not base64url-encoded JSON")]
    MalformedJws {
        /// Which part.
        part: stir::Part,
    },
    /// The JOSE header names another algorithm or type than expected.
    #[error("JOSE header alg {alg:?}, typ {typ:?}: expected ES256 and {expected:?}")]
    Header {
        /// The `alg` carried, if any.
        alg: Option<String>,
        /// The `typ` carried, if any.
        typ: Option<String>,
        /// The `typ` expected.
        expected: &'static str,
    },
    /// A claim is missing or of the wrong type.
    #[error("claims missing or of the wrong type: {detail}")]
    Claims {
        /// What the JSON decoder said.
        detail: String,
    },
    /// The attestation's rendering option needs an ephemeral key the attestation does not carry
    /// (table 6.6.2.4-1: `epk_ue_a` for UE-A centric, `epk_ue_b` for UE-B centric).
    #[error("rendering {} needs the ephemeral public key {}, which is missing", .rendering.as_str(), .claim)]
    MissingEphemeralKey {
        /// The rendering option.
        rendering: Rendering,
        /// The claim it needs.
        claim: &'static str,
    },
    /// A JWK is not a P-256 public key.
    #[error("not a P-256 public key: {fault}")]
    BadJwk {
        /// What is wrong.
        fault: JwkFault,
    },
    /// A field of a protected avatar object is unusable.
    #[error("protected avatar object: {field} is not usable")]
    BadProtected {
        /// Which field (`alg`, `salt`, `nonce`, `ciphertext`).
        field: &'static str,
    },
    /// The avatar object does not encode, or what decrypted is not a model.
    #[error("avatar object: {detail}")]
    BadObject {
        /// What the JSON encoder or decoder said.
        detail: String,
    },
    /// 32 bytes that are not a P-256 private scalar (zero, or not below the group order).
    #[error("ephemeral secret is not a valid P-256 scalar")]
    BadEphemeralSecret,
    /// A private key that is not PKCS#8 P-256 PEM.
    #[error("not a PKCS#8 PEM P-256 private key")]
    BadPrivateKey,
    /// A primitive failed where it cannot (HKDF output or AES-GCM input too long).
    #[error("{operation} failed")]
    Crypto {
        /// Which operation.
        operation: &'static str,
    },

    // ---- the signature does not hold (SignatureInvalid) ------------------------------------------
    /// The ES256 signature does not verify with the owner's key.
    #[error("ES256 signature does not verify with the avatar owner's key")]
    BadSignature,

    // ---- the claims do not match the request ------------------------------------------------------
    /// The token's subject is not the avatar's owner (NotEntitled).
    #[error("token subject {sub} is not the avatar's owner {owner}")]
    NotOwner {
        /// The `sub` claim.
        sub: String,
        /// The owner's IMPU.
        owner: String,
    },
    /// The token is for another avatar than the one requested (ClaimMismatch).
    #[error("token is for avatar {claimed:?}, the request is for {requested:?}")]
    AvatarMismatch {
        /// The `avatar_id` claim.
        claimed: String,
        /// The Avatar ID requested.
        requested: String,
    },
    /// The token is bound to another session (Replayed).
    #[error("token is bound to session {claimed:?}, the request is for {session:?}")]
    SessionMismatch {
        /// The `call_id` claim.
        claimed: String,
        /// The session of the request.
        session: String,
    },
    /// Past its expiry (Expired).
    #[error("expired at {exp}, now {now}")]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The attestation names another XR AS than the one requesting (NotAuthorised).
    #[error("attestation names XR AS {named:?}, the requester is {requester:?}")]
    WrongXrAs {
        /// The `xr_as` claim.
        named: String,
        /// The requester (the TLS client's name).
        requester: String,
    },

    // ---- solution #7: UE token, access token, signed avatar metadata ------------------------------
    /// The UE certificate is not the one whose fingerprint SIP carried (ClaimMismatch).
    #[error("UE certificate fingerprint {presented} is not the one SIP carried ({carried})")]
    FingerprintMismatch {
        /// The fingerprint carried in SIP (RFC 8122 form).
        carried: String,
        /// The fingerprint of the certificate presented.
        presented: String,
    },
    /// The JOSE header's `x5t#S256` does not name the certificate the JWS is checked with
    /// (ClaimMismatch).
    #[error("JOSE header x5t#S256 {carried:?} does not name the certificate {expected}")]
    Thumbprint {
        /// The `x5t#S256` carried, if any.
        carried: Option<String>,
        /// The thumbprint of the certificate.
        expected: String,
    },
    /// The `sub` claim is not an identity the certificate names (ClaimMismatch).
    #[error("subject {sub} is not named by the certificate ({})", .names.join(", "))]
    SubjectMismatch {
        /// The `sub` claim.
        sub: String,
        /// The identities expected (the certificate's URIs, or the IMPU the signed Avatar-id
        /// names).
        names: Vec<String>,
    },
    /// Issued in the future beyond the allowed clock skew (Stale).
    #[error("issued at {iat}, in the future (now {now})")]
    NotYetValid {
        /// The `iat` claim.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// An access token for another audience (another DAC) (NotAuthorised).
    #[error("access token is for audience {aud:?}, not {expected:?}")]
    WrongAudience {
        /// The `aud` claim.
        aud: String,
        /// This DAC.
        expected: String,
    },
    /// The access token's scope does not include the operation (NotAuthorised).
    #[error("access token scope {granted:?} does not include {required}")]
    ScopeMissing {
        /// The `scope` claim.
        granted: String,
        /// The operation required.
        required: &'static str,
    },
    /// The access token is for another avatar than the one requested (NotAuthorised).
    #[error("access token is for avatar {granted:?}, the request is for {requested:?}")]
    OtherAvatar {
        /// The token's `avatar_id`.
        granted: String,
        /// The Avatar ID requested.
        requested: String,
    },

    // ---- the protected object does not open (DecryptionFailed) ------------------------------------
    /// The AES-GCM tag does not verify: altered in transit, or not for this key.
    #[error("AES-256-GCM tag does not verify: altered, or protected for another key")]
    DecryptionFailed,

    // ---- records and credentials ------------------------------------------------------------------
    /// No such avatar (NoRecord).
    #[error("no avatar {id:?}")]
    UnknownAvatar {
        /// The Avatar ID asked for.
        id: String,
    },
    /// The UE certificate cannot be used (CertificateInvalid).
    #[error("UE certificate cannot be used: {source}")]
    Certificate {
        /// Why, as the certificate checks say.
        #[source]
        source: stir::Error,
    },
    /// A fixture file is missing or wrong (Malformed).
    #[error("fixture {path}: {fault}")]
    Fixture {
        /// The file.
        path: String,
        /// What is wrong.
        fault: FixtureFault,
    },
}

impl Error {
    /// The typed reason a refusal for this error carries.
    pub fn reason(&self) -> Reason {
        match self {
            Error::NotCompactJws { .. }
            | Error::MalformedJws { .. }
            | Error::Header { .. }
            | Error::Claims { .. }
            | Error::MissingEphemeralKey { .. }
            | Error::BadJwk { .. }
            | Error::BadProtected { .. }
            | Error::BadObject { .. }
            | Error::BadEphemeralSecret
            | Error::BadPrivateKey
            | Error::Crypto { .. }
            | Error::Fixture { .. } => Reason::Malformed,
            Error::BadSignature => Reason::SignatureInvalid,
            Error::NotOwner { .. } => Reason::NotEntitled,
            Error::AvatarMismatch { .. } => Reason::ClaimMismatch,
            Error::SessionMismatch { .. } => Reason::Replayed,
            Error::Expired { .. } => Reason::Expired,
            Error::WrongXrAs { .. } => Reason::NotAuthorised,
            Error::DecryptionFailed => Reason::DecryptionFailed,
            Error::UnknownAvatar { .. } => Reason::NoRecord,
            Error::Certificate { .. } => Reason::CertificateInvalid,
            Error::FingerprintMismatch { .. }
            | Error::Thumbprint { .. }
            | Error::SubjectMismatch { .. } => Reason::ClaimMismatch,
            Error::NotYetValid { .. } => Reason::Stale,
            Error::WrongAudience { .. }
            | Error::ScopeMissing { .. }
            | Error::OtherAvatar { .. } => Reason::NotAuthorised,
        }
    }
}

/// What is wrong with a JWK that should be a P-256 public key (RFC 7518 §6.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwkFault {
    /// `kty` is not `EC`.
    Kty(String),
    /// `crv` is not `P-256`.
    Crv(String),
    /// A coordinate (`x` or `y`) is not 32 bytes of base64url.
    Coordinate(&'static str),
    /// The point is not on the curve (or is the identity).
    NotOnCurve,
}

impl fmt::Display for JwkFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwkFault::Kty(kty) => write!(f, "kty {kty:?}, expected \"EC\""),
            JwkFault::Crv(crv) => write!(f, "crv {crv:?}, expected \"P-256\""),
            JwkFault::Coordinate(c) => write!(f, "{c} is not 32 bytes of base64url"),
            JwkFault::NotOnCurve => f.write_str("the point is not on P-256"),
        }
    }
}

/// What is wrong with a fixture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixtureFault {
    /// It cannot be read.
    Read(String),
    /// It does not parse (TOML or JSON).
    Parse(String),
    /// A model's `format` is not `testbed-avatar/1`.
    Format(String),
    /// A model's field differs from its entry in `avatars.toml`.
    Differs {
        /// Which field (`id`, `name`, `owner`).
        field: &'static str,
        /// The entry's value.
        listed: String,
        /// The model's value.
        model: String,
    },
    /// Two entries have the same Avatar ID.
    Duplicate(String),
    /// A coordinate lies outside the 64×64 canvas.
    OffCanvas,
}

impl fmt::Display for FixtureFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixtureFault::Read(e) => write!(f, "cannot be read: {e}"),
            FixtureFault::Parse(e) => write!(f, "does not parse: {e}"),
            FixtureFault::Format(x) => write!(f, "format {x:?}, expected \"testbed-avatar/1\""),
            FixtureFault::Differs {
                field,
                listed,
                model,
            } => write!(
                f,
                "{field} {model:?} differs from avatars.toml's {listed:?}"
            ),
            FixtureFault::Duplicate(id) => write!(f, "avatar {id:?} listed twice"),
            FixtureFault::OffCanvas => f.write_str("a coordinate lies outside the 64×64 canvas"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_reason() {
        let s = || String::from("x");
        let cases = [
            (Error::NotCompactJws { parts: 2 }, Reason::Malformed),
            (
                Error::MalformedJws {
                    part: stir::Part::Payload,
                },
                Reason::Malformed,
            ),
            (
                Error::Header {
                    alg: None,
                    typ: None,
                    expected: "avatar+jwt",
                },
                Reason::Malformed,
            ),
            (Error::Claims { detail: s() }, Reason::Malformed),
            (
                Error::MissingEphemeralKey {
                    rendering: Rendering::UeACentric,
                    claim: "epk_ue_a",
                },
                Reason::Malformed,
            ),
            (
                Error::BadJwk {
                    fault: JwkFault::NotOnCurve,
                },
                Reason::Malformed,
            ),
            (Error::BadProtected { field: "salt" }, Reason::Malformed),
            (Error::BadObject { detail: s() }, Reason::Malformed),
            (Error::BadEphemeralSecret, Reason::Malformed),
            (Error::BadPrivateKey, Reason::Malformed),
            (Error::Crypto { operation: "HKDF" }, Reason::Malformed),
            (
                Error::Fixture {
                    path: s(),
                    fault: FixtureFault::OffCanvas,
                },
                Reason::Malformed,
            ),
            (Error::BadSignature, Reason::SignatureInvalid),
            (
                Error::NotOwner {
                    sub: s(),
                    owner: s(),
                },
                Reason::NotEntitled,
            ),
            (
                Error::AvatarMismatch {
                    claimed: s(),
                    requested: s(),
                },
                Reason::ClaimMismatch,
            ),
            (
                Error::SessionMismatch {
                    claimed: s(),
                    session: s(),
                },
                Reason::Replayed,
            ),
            (Error::Expired { exp: 1, now: 2 }, Reason::Expired),
            (
                Error::WrongXrAs {
                    named: s(),
                    requester: s(),
                },
                Reason::NotAuthorised,
            ),
            (Error::DecryptionFailed, Reason::DecryptionFailed),
            (Error::UnknownAvatar { id: s() }, Reason::NoRecord),
            (
                Error::Certificate {
                    source: stir::Error::BadSignature,
                },
                Reason::CertificateInvalid,
            ),
            (
                Error::FingerprintMismatch {
                    carried: s(),
                    presented: s(),
                },
                Reason::ClaimMismatch,
            ),
            (
                Error::Thumbprint {
                    carried: None,
                    expected: s(),
                },
                Reason::ClaimMismatch,
            ),
            (
                Error::SubjectMismatch {
                    sub: s(),
                    names: vec![s()],
                },
                Reason::ClaimMismatch,
            ),
            (Error::NotYetValid { iat: 2, now: 1 }, Reason::Stale),
            (
                Error::WrongAudience {
                    aud: s(),
                    expected: s(),
                },
                Reason::NotAuthorised,
            ),
            (
                Error::ScopeMissing {
                    granted: s(),
                    required: "avatar-metadata:read",
                },
                Reason::NotAuthorised,
            ),
            (
                Error::OtherAvatar {
                    granted: s(),
                    requested: s(),
                },
                Reason::NotAuthorised,
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(error.reason(), reason, "{error}");
        }
    }

    #[test]
    fn messages_name_what_is_wrong() {
        let e = Error::MissingEphemeralKey {
            rendering: Rendering::UeBCentric,
            claim: "epk_ue_b",
        };
        assert_eq!(
            e.to_string(),
            "rendering ue-b-centric needs the ephemeral public key epk_ue_b, which is missing"
        );
        let e = Error::BadJwk {
            fault: JwkFault::Crv("P-384".into()),
        };
        assert_eq!(
            e.to_string(),
            "not a P-256 public key: crv \"P-384\", expected \"P-256\""
        );
    }
}
