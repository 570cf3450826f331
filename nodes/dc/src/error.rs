//! What can go wrong with a data channel, and the trace's reason for each.

use proto::trace::Reason;

/// What went wrong with a data channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcError {
    /// The WebRTC engine refused or failed an operation.
    #[error("WebRTC engine: {0}")]
    Engine(String),
    /// The engine's SDP could not be read (RFC 8866), or had no `m=application` section.
    #[error("SDP: {0}")]
    Sdp(String),
    /// The peer declined the `m=application` section (port 0, RFC 3264 §6).
    #[error("the m=application section was declined (port 0)")]
    Declined,
    /// ICE, DTLS or SCTP did not come up within the bound.
    #[error(
        "ICE/DTLS/SCTP to {remote} not up within {ms} ms ({state}): the data channels are not available"
    )]
    NotConnected {
        /// The peer's ICE address.
        remote: String,
        /// The bound, in milliseconds.
        ms: u64,
        /// The connection state when the wait ended.
        state: String,
    },
    /// No channel with that SCTP stream id was negotiated (RFC 8864 `a=dcmap`).
    #[error("no stream {0} on this association")]
    NoStream(u16),
    /// Nothing arrived on a stream within the bound.
    #[error("nothing received on stream {stream} within {ms} ms")]
    Timeout {
        /// The SCTP stream id.
        stream: u16,
        /// The bound, in milliseconds.
        ms: u64,
    },
    /// The peer has been closed (or its channel ended).
    #[error("the data channels are closed")]
    Closed,
}

impl DcError {
    /// The trace's reason for it.
    pub fn reason(&self) -> Reason {
        match self {
            DcError::Engine(_) | DcError::NoStream(_) => Reason::Unreachable,
            DcError::Sdp(_) => Reason::Malformed,
            DcError::Declined => Reason::Declined,
            DcError::NotConnected { .. } => Reason::NotConnected,
            DcError::Timeout { .. } => Reason::Timeout,
            DcError::Closed => Reason::Closed,
        }
    }
}

/// An engine failure as a [`DcError`].
pub(crate) fn engine_error(e: impl std::fmt::Display) -> DcError {
    DcError::Engine(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_reason() {
        assert_eq!(engine_error("x").reason(), Reason::Unreachable);
        assert_eq!(DcError::NoStream(3).reason(), Reason::Unreachable);
        assert_eq!(DcError::Sdp("x".into()).reason(), Reason::Malformed);
        assert_eq!(DcError::Declined.reason(), Reason::Declined);
        let not_connected = DcError::NotConnected {
            remote: "127.0.0.1:1".into(),
            ms: 1,
            state: "failed".into(),
        };
        assert_eq!(not_connected.reason(), Reason::NotConnected);
        let timeout = DcError::Timeout { stream: 0, ms: 1 };
        assert_eq!(timeout.reason(), Reason::Timeout);
        assert_eq!(DcError::Closed.reason(), Reason::Closed);
    }
}
