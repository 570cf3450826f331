//! What can go wrong when the AS asks another network function over HTTPS (HSS, 3P ID server,
//! repository, NEF, STI-AS/VS, MF), and the one mapping from it to a trace [`Reason`].

use proto::trace::Reason;

/// A request to a peer that did not come back with a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- local configuration ----------------------------------------------------------------
    /// No host is configured for this peer.
    #[error("no {peer} configured")]
    Unconfigured {
        /// Which peer (`NEF`, `HSS`).
        peer: &'static str,
    },
    /// The request body could not be encoded.
    #[error("request body: {0}")]
    Encode(#[source] serde_json::Error),

    // ---- reaching the peer ------------------------------------------------------------------
    /// Resolving, connecting, TLS or the exchange failed.
    #[error(transparent)]
    Transport(#[from] kit::Error),

    // ---- the peer's answer ------------------------------------------------------------------
    /// An answer with a status the AS does not take.
    #[error("{url} answered {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// What was asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The answer's body, as text (empty where the AS does not read it).
        body: String,
    },
    /// A 200 whose JSON is not what the interface defines.
    #[error("{url}: {source}")]
    Decode {
        /// What was asked.
        url: String,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The MF's answer or offer carries no `m=application` section.
    #[error("the MF's {what} has no m=application section")]
    NoApplication {
        /// `answer` or `offer`.
        what: &'static str,
    },
}

impl Error {
    /// The trace reason for an action this failure stopped: the peer could not be reached or
    /// did not answer usefully, whichever way.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Unconfigured { .. }
            | Error::Encode(_)
            | Error::Transport(_)
            | Error::Status { .. }
            | Error::Decode { .. }
            | Error::NoApplication { .. } => Reason::Unreachable,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_failure_is_unreachable() {
        let decode = serde_json::from_str::<u8>("x").unwrap_err();
        for e in [
            Error::Unconfigured { peer: "NEF" },
            Error::Transport(kit::Error::Timeout { ms: 5 }),
            Error::Status {
                url: "https://hss/x".into(),
                status: 500,
                body: String::new(),
            },
            Error::Decode {
                url: "https://hss/x".into(),
                source: decode,
            },
            Error::NoApplication { what: "answer" },
        ] {
            assert_eq!(e.reason(), Reason::Unreachable, "{e}");
        }
    }

    #[test]
    fn status_text_shows_a_body_only_when_read() {
        let bare = Error::Status {
            url: "https://hss/x".into(),
            status: 500,
            body: String::new(),
        };
        assert_eq!(bare.to_string(), "https://hss/x answered 500");
        let with = Error::Status {
            url: "https://mf/a".into(),
            status: 400,
            body: "bad".into(),
        };
        assert_eq!(with.to_string(), "https://mf/a answered 400: bad");
    }
}
