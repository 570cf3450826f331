//! DC application download (TR 33.790 §6.9.2.2): a re-INVITE of the network names a DC
//! application on the call's bootstrap section (`a=dcsa:<stream> 3gpp-req-app:<app>`); once the
//! re-INVITE is answered the UE downloads it over its bootstrap data channel — HTTP/1.1
//! `GET /apps/<app>` on stream 0 (TS 26.114 §6.2.10), answered by its network's MF with the
//! application's entry ([`App`]).
//!
//! The request and the reading of the answer are pure ([`request`], [`read`]); [`spawn`] runs
//! one download in a task of its own, bounded by [`BOUND`], and notes [`Act::DownloadApp`]:
//! done with the application's name and URL, or refused (`NoRecord` for a 404, `Timeout`,
//! `Malformed`, `Unreachable` when the call has no bootstrap channel, …).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dc::{DcError, Peer};
use kit::node::Ctx;
use proto::trace::{Act, Note, Reason};
use proto::wire::dcsf::{App, bootstrap_app_path};

use crate::avatar::{HttpFault, parse_answer, refusal};
use crate::{BOOTSTRAP_MID, State, bootstrap_channel, channels, lock};

/// The bound on one download, from the request to the answer read.
pub(crate) const BOUND: Duration = Duration::from_secs(2);

/// The `Host` the request names: the UE does not know its MF's host name; the MF terminating
/// the bootstrap channel serves whatever it names.
const HOST: &str = "bootstrap";

/// Why a download failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Failure {
    /// The call has no bootstrap data channel at this agent.
    #[error("no bootstrap data channel in the call")]
    NoChannel,
    /// The bootstrap channel failed (closed, not open, nothing received within the bound).
    #[error(transparent)]
    Dc(#[from] DcError),
    /// The whole download did not end within [`BOUND`].
    #[error("no answer within {} ms", BOUND.as_millis())]
    Timeout,
    /// The answer is not an HTTP/1.1 response.
    #[error("the answer: {0}")]
    Http(#[from] HttpFault),
    /// The MF refused (status ≥ 300).
    #[error("the MF answered {status}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its reason ([`refusal`]: 404 `NoRecord`, a problem's own reason, …).
        reason: Reason,
    },
    /// The 2xx body is not an application entry.
    #[error("the application entry does not read: {0}")]
    Body(String),
    /// The entry is another application's.
    #[error("the MF answered with application {0}")]
    Other(String),
}

impl Failure {
    /// The trace's reason for it.
    pub(crate) fn reason(&self) -> Reason {
        match self {
            Failure::NoChannel => Reason::Unreachable,
            Failure::Dc(e) => e.reason(),
            Failure::Timeout => Reason::Timeout,
            Failure::Http(_) | Failure::Body(_) => Reason::Malformed,
            Failure::Refused { reason, .. } => *reason,
            Failure::Other(_) => Reason::Mismatch,
        }
    }
}

/// The HTTP/1.1 request downloading application `app`, one channel message.
pub(crate) fn request(app: &str) -> String {
    let path = bootstrap_app_path(app);
    format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n\r\n")
}

/// The application entry an answer on the bootstrap channel carries for `app`. Pure.
pub(crate) fn read(data: &[u8], app: &str) -> Result<App, Failure> {
    let answer = parse_answer(data)?;
    if let Some(reason) = refusal(&answer) {
        return Err(Failure::Refused {
            status: answer.status,
            reason,
        });
    }
    let entry: App =
        serde_json::from_str(&answer.body).map_err(|e| Failure::Body(e.to_string()))?;
    if entry.id != app {
        return Err(Failure::Other(entry.id));
    }
    Ok(entry)
}

/// Downloads `app` over `peer`, the call's bootstrap channel (stream 0).
async fn fetch(peer: &Peer, app: &str) -> Result<App, Failure> {
    let stream = bootstrap_channel().stream;
    peer.wait_open().await?;
    peer.send(stream, request(app).as_bytes()).await?;
    let got = peer.recv(stream, BOUND).await?;
    read(&got, app)
}

/// Downloads `app` over the bootstrap channel of call `call_id` in a task of its own (started
/// once the re-INVITE that asked is answered), bounded by [`BOUND`]; notes
/// [`Act::DownloadApp`] (about the re-INVITE `msg`) and keeps a downloaded application's id
/// for [`crate::Ue::downloaded`].
pub(crate) fn spawn(
    ctx: Ctx,
    state: Arc<Mutex<State>>,
    msg: Option<u64>,
    call_id: String,
    app: String,
) {
    tokio::spawn(async move {
        let peer = channels::find(&lock(&state), &call_id, BOOTSTRAP_MID);
        let outcome = match peer {
            None => Err(Failure::NoChannel),
            Some(peer) => tokio::time::timeout(BOUND, fetch(&peer, &app))
                .await
                .unwrap_or(Err(Failure::Timeout)),
        };
        let what = format!("download {app} over the bootstrap channel");
        match outcome {
            Ok(entry) => {
                lock(&state).downloaded.push(app.clone());
                ctx.note(
                    msg,
                    Note::done(
                        Act::DownloadApp,
                        format!("{what}: {} ({})", entry.name, entry.url),
                    ),
                );
            }
            Err(e) => ctx.note(
                msg,
                Note::refused(
                    Act::DownloadApp,
                    e.reason(),
                    format!("{what} of call {call_id}: {e}"),
                ),
            ),
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ENTRY: &str = r#"{"id":"avatar-call","name":"Avatar call","url":"/apps/avatar-call"}"#;

    fn answer(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn the_request_gets_the_application_path() {
        assert_eq!(
            request("avatar-call"),
            "GET /apps/avatar-call HTTP/1.1\r\nHost: bootstrap\r\nAccept: application/json\r\n\r\n"
        );
    }

    #[test]
    fn a_2xx_carries_the_applications_entry() {
        let entry = read(&answer("200 OK", ENTRY), "avatar-call").unwrap();
        assert_eq!(
            (entry.name.as_str(), entry.url.as_str()),
            ("Avatar call", "/apps/avatar-call")
        );
    }

    #[test]
    fn failures_are_typed_with_their_reasons() {
        let cases = [
            (
                read(&answer("404 Not Found", "{}"), "chess"),
                Reason::NoRecord,
            ),
            (
                read(
                    &answer(
                        "403 Forbidden",
                        r#"{"reason":"not-entitled","detail":"no"}"#,
                    ),
                    "chess",
                ),
                Reason::NotEntitled,
            ),
            (read(b"hello", "chess"), Reason::Malformed),
            (read(&answer("200 OK", "[]"), "chess"), Reason::Malformed),
            (read(&answer("200 OK", ENTRY), "chess"), Reason::Mismatch),
        ];
        for (got, reason) in cases {
            assert_eq!(got.unwrap_err().reason(), reason);
        }
        assert_eq!(Failure::NoChannel.reason(), Reason::Unreachable);
        assert_eq!(Failure::Timeout.reason(), Reason::Timeout);
        assert_eq!(Failure::Timeout.to_string(), "no answer within 2000 ms");
        let dc = Failure::from(DcError::Timeout { stream: 0, ms: 2 });
        assert_eq!(dc.reason(), Reason::Timeout);
        assert_eq!(
            Failure::Refused {
                status: 404,
                reason: Reason::NoRecord
            }
            .to_string(),
            "the MF answered 404"
        );
    }
}
