//! What can go wrong in the UE's avatar steps, grouped by who is at fault, and the trace's
//! reason for each ([`AvatarError::reason`]).

use dc::DcError;
use proto::trace::Reason;

/// An avatar step that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    // ---- the user's choice ---------------------------------------------------------------------
    /// The application list downloaded (solution 7 step 1) has no such application.
    #[error("the application list has no application {app_id}")]
    NoSuchApp {
        /// The application asked for.
        app_id: String,
    },
    /// The Avatar-id is not among those the application list gives for the application
    /// (solution 7 step 2).
    #[error("Avatar-id {avatar_id} is not in the list of application {app_id}")]
    NotInList {
        /// The Avatar-id chosen.
        avatar_id: String,
        /// The application.
        app_id: String,
    },

    // ---- the channel or the peer ---------------------------------------------------------------
    /// The data channel failed: closed, no such stream, or nothing within the bound.
    #[error("data channel: {0}")]
    Channel(#[from] DcError),
    /// A message arrived that is not the avatar message expected.
    #[error("expected {expected} on stream {stream}, got {got}")]
    Unexpected {
        /// The SCTP stream.
        stream: u16,
        /// What was expected (`avatar-frame`).
        expected: &'static str,
        /// What arrived, for the reader (its `type`, or `not an avatar message`).
        got: String,
    },
    /// The other party's AOS could not be reached (solution 8 step 21).
    #[error("AOS: {0}")]
    Fetch(#[source] kit::Error),
    /// The other party's AOS refused the fetch (solution 8 step 21).
    #[error("the AOS answered {status}: {detail}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The typed reason of its problem.
        reason: Reason,
        /// Its detail.
        detail: String,
    },
    /// The object's bytes are not those its Identity header signed (solution 8 step 21).
    #[error("the object's digest {got} is not the signed {signed}")]
    DigestMismatch {
        /// The signed digest.
        signed: String,
        /// The digest of the bytes fetched.
        got: String,
    },
    /// The answer on the bootstrap channel is not a usable HTTP/1.1 response.
    #[error("the answer on the bootstrap channel: {0}")]
    Http(#[from] HttpFault),

    // ---- the cryptography ------------------------------------------------------------------------
    /// A token, attestation, key or protected object failed (`avatar`'s error: its reason is
    /// the refusal's, e.g. `DecryptionFailed`).
    #[error(transparent)]
    Avatar(#[from] ::avatar::Error),

    // ---- this UE's own material ------------------------------------------------------------------
    /// The UE key could not be read.
    #[error("UE key: {0}")]
    Key(#[source] kit::Error),
    /// The UE certificate could not be read.
    #[error("UE certificate: {0}")]
    Certificate(#[source] kit::Error),
    /// The rendering option needs an ephemeral public key the plan does not give (UE-B's, for
    /// UE-B centric) or UE-A does not hold.
    #[error("the rendering option's ephemeral public key is not at hand")]
    NoEphemeralKey,
    /// No ephemeral key is kept for the call (none was generated in it).
    #[error("no ephemeral key kept for call {call_id}")]
    NoKeyForCall {
        /// The call's Call-ID.
        call_id: String,
    },
    /// The seeded stream gave 32 bytes that are no P-256 secret (odds 2⁻³²).
    #[error("the seeded stream gave no usable ephemeral secret")]
    NoEphemeralSecret,
    /// A message could not be encoded as JSON.
    #[error("cannot encode the message: {0}")]
    Encode(#[source] serde_json::Error),
}

impl AvatarError {
    /// The trace's reason for it.
    pub fn reason(&self) -> Reason {
        match self {
            AvatarError::Channel(e) => e.reason(),
            AvatarError::Avatar(e) => e.reason(),
            AvatarError::NoKeyForCall { .. } => Reason::NoRecord,
            AvatarError::Fetch(_) => Reason::Unreachable,
            AvatarError::Refused { reason, .. } => *reason,
            AvatarError::DigestMismatch { .. } => Reason::ClaimMismatch,
            AvatarError::NoSuchApp { .. } | AvatarError::NotInList { .. } => Reason::NotEntitled,
            AvatarError::Unexpected { .. }
            | AvatarError::Http(_)
            | AvatarError::Key(_)
            | AvatarError::Certificate(_)
            | AvatarError::NoEphemeralKey
            | AvatarError::NoEphemeralSecret
            | AvatarError::Encode(_) => Reason::Malformed,
        }
    }
}

/// What is wrong with an HTTP/1.1 answer on the bootstrap channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpFault {
    /// Not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// The status line is not `HTTP/1.1 <3 digits> <reason>`.
    #[error("status line {0:?} is not HTTP/1.1")]
    StatusLine(String),
    /// No empty line ends the header section.
    #[error("no empty line ends the header section")]
    NoBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_reason() {
        let timeout = DcError::Timeout { stream: 1, ms: 2 };
        assert_eq!(AvatarError::from(timeout).reason(), Reason::Timeout);
        assert_eq!(
            AvatarError::from(::avatar::Error::DecryptionFailed).reason(),
            Reason::DecryptionFailed
        );
        assert_eq!(
            AvatarError::from(::avatar::Error::BadSignature).reason(),
            Reason::SignatureInvalid
        );
        let none = AvatarError::NoKeyForCall {
            call_id: "c".into(),
        };
        assert_eq!(none.reason(), Reason::NoRecord);
        assert_eq!(AvatarError::NoEphemeralKey.reason(), Reason::Malformed);
        let not_listed = AvatarError::NotInList {
            avatar_id: "owl".into(),
            app_id: "avatar-call".into(),
        };
        assert_eq!(not_listed.reason(), Reason::NotEntitled);
        let no_app = AvatarError::NoSuchApp {
            app_id: "avatar-call".into(),
        };
        assert_eq!(no_app.reason(), Reason::NotEntitled);
        assert_eq!(
            AvatarError::from(HttpFault::NoBody).reason(),
            Reason::Malformed
        );
        let odd = AvatarError::Unexpected {
            stream: 1000,
            expected: "avatar-frame",
            got: "key-request".into(),
        };
        assert_eq!(odd.reason(), Reason::Malformed);
        assert_eq!(
            odd.to_string(),
            "expected avatar-frame on stream 1000, got key-request"
        );
    }
}
