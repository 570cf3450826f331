//! SDP for IMS data channels (TS 26.114 §6.2.10, RFC 8841 SCTP over DTLS, RFC 8864 `dcmap`),
//! built and parsed here: an audio m-line plus one `m=application <port> UDP/DTLS/SCTP
//! webrtc-datachannel` line per SCTP association, each with `a=mid`, ICE credentials and host
//! candidates, `a=fingerprint`, `a=setup`, `a=sctp-port`, `a=max-message-size` and one
//! `a=dcmap` per data channel (`a=dcsa` where a channel has sub-protocol attributes).
//!
//! Pure: no sockets. The `dc` crate turns an [`Application`] into a WebRTC peer and back.
//! Unknown attributes are kept aside (not an error); a malformed `a=dcmap` line is an error
//! that names the line and says what is wrong.
//!
//! [`Session`] and [`Media`] are here, one data channel section ([`Application`]) in
//! `application`, [`DcMap`] in `dcmap`, and the reader in `parse`.

mod application;
mod dcmap;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

pub use application::{Application, Candidate, Setup};
pub use dcmap::DcMap;

/// Why an SDP body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// An `a=dcmap` line that RFC 8864 §5.1 does not allow, or a stream mapped twice.
    #[error("SDP line {line}: malformed a=dcmap ({reason}): {text:?}")]
    Dcmap {
        /// 1-based line number.
        line: usize,
        /// The line as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line that does not parse (no `=`, a bad m-line port, a bad attribute value).
    #[error("SDP line {line}: malformed {what}: {text:?}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// Which part is malformed (`a=setup`, `m-line port`, …).
        what: &'static str,
        /// The line as written.
        text: String,
    },
    /// A data channel section without an attribute it needs.
    #[error("SDP m=application section {mid:?} lacks {what}")]
    Missing {
        /// The section's mid (empty when the mid itself is missing).
        mid: String,
        /// The missing attribute (`a=ice-ufrag`, …).
        what: &'static str,
    },
}

/// A media section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// The call's audio (inactive in this testbed: no media flows); kept as its lines.
    Audio {
        /// The m-line's port.
        port: u16,
        /// Its attribute lines, verbatim, without line ends.
        lines: Vec<String>,
    },
    /// A data channel section.
    Application(Application),
}

/// A session description: the audio section and data channel sections, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `o=` sess-id (RFC 8866 §5.2).
    pub session_id: u64,
    /// `o=` sess-version: goes up with each new offer of the session.
    pub version: u64,
    /// Session name (`s=`): the testbed puts the sending host here.
    pub name: String,
    /// The media sections, in order.
    pub media: Vec<Media>,
}

impl Session {
    /// An audio-only session with the testbed's inactive audio m-line and `a=mid:audio`.
    pub fn with_audio(name: &str, session_id: u64) -> Self {
        Self {
            session_id,
            version: 0,
            name: name.into(),
            media: vec![Media::Audio {
                port: 9,
                lines: vec![
                    "a=mid:audio".into(),
                    "a=rtpmap:0 PCMU/8000".into(),
                    "a=inactive".into(),
                ],
            }],
        }
    }

    /// The data channel sections.
    pub fn applications(&self) -> impl Iterator<Item = &Application> {
        self.media.iter().filter_map(|m| match m {
            Media::Application(a) => Some(a),
            Media::Audio { .. } => None,
        })
    }

    /// The data channel section with this mid.
    pub fn application(&self, mid: &str) -> Option<&Application> {
        self.applications().find(|a| a.mid == mid)
    }

    /// The SDP body, CRLF line ends.
    pub fn render(&self) -> String {
        let mut out = format!(
            "v=0\r\no=- {} {} IN IP4 127.0.0.1\r\ns={}\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
            self.session_id, self.version, self.name
        );
        for m in &self.media {
            match m {
                Media::Audio { port, lines } => {
                    let _ = write!(out, "m=audio {port} RTP/AVP 0\r\n");
                    for l in lines {
                        let _ = write!(out, "{l}\r\n");
                    }
                }
                Media::Application(a) => a.render_into(&mut out),
            }
        }
        out
    }

    /// Parses an SDP body (RFC 8866). Session-level `a=ice-ufrag`, `a=ice-pwd`,
    /// `a=fingerprint` and `a=setup` apply to sections that do not set their own (as WebRTC
    /// stacks write them).
    pub fn parse(text: &str) -> Result<Session, SdpError> {
        parse::session(text)
    }
}

/// The Contact/REGISTER feature tag of a DC-capable UE (TS 24.229 §5.1.1.2, RFC 3840).
pub const DC_FEATURE_TAG: &str = "+sip.app-subtype=\"webrtc-datachannel\"";
