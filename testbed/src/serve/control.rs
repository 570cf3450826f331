//! The served world's control endpoint: plain HTTP/1.1 on loopback (kit's server, untraced: it
//! is not part of the world). `POST /serve/v1/calls` has one of the world's UEs call a number
//! and answers with the call's outcome; everything under `/live/v1/` is the dashboard's attach
//! interface ([`crate::live::answer`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use kit::http::{Peer, Server, ServerLimits, handler};
use kit::http::{Request, Response};
use kit::node::json_response;
use proto::sipmsg;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::world::{Description, World};

/// The calls route.
pub const CALLS_PATH: &str = "/serve/v1/calls";

/// The dashboard's attach routes, handed to [`crate::live::answer`].
pub const LIVE_PREFIX: &str = "/live/v1/";

/// How long a call request waits for the call's final answer.
const CALL_BOUND: Duration = Duration::from_secs(30);

/// How long an answered call stays up before the caller hangs up, unless the request says.
const DEFAULT_HOLD: u64 = 10;

/// The longest hold a request may ask for.
const MAX_HOLD: u64 = 3600;

/// `POST /serve/v1/calls`: who calls whom.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// The world's UE that calls (`ue-a`).
    pub from: String,
    /// A number (`+12155551001`), a UE id (`ue-b`), or a `sip:`/`tel:` URI.
    pub to: String,
    /// Seconds the answered call stays up before the caller hangs up (default 10, at most
    /// 3600).
    #[serde(default)]
    pub hold_seconds: Option<u64>,
}

/// The answer to a call request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallOutcome {
    /// Who called.
    pub from: String,
    /// The Request-URI dialled.
    pub to: String,
    /// The final status.
    pub status: u16,
    /// Every status received, in order.
    pub responses: Vec<u16>,
    /// The call's Call-ID.
    pub call_id: String,
    /// When the caller hangs up (answered calls), in seconds from now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hangup_in_seconds: Option<u64>,
}

/// Why a control request failed, as a JSON problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// What went wrong.
    pub detail: String,
}

fn problem(status: u16, detail: impl Into<String>) -> Response {
    json_response(
        status,
        &Problem {
            status,
            detail: detail.into(),
        },
    )
}

/// The Request-URI for `to`: a URI as given; a UE id or a number (any punctuation) of a world
/// UE as its IMPU with `user=phone`. Pure.
pub fn target(description: &Description, to: &str) -> Result<String, String> {
    if to.starts_with("sip:") || to.starts_with("tel:") {
        return Ok(to.to_owned());
    }
    let digits = proto::tn::digits(to);
    description
        .ue
        .iter()
        .find(|u| u.id == to || (!digits.is_empty() && proto::tn::digits(&u.tn) == digits))
        .map(|u| format!("{};user=phone", u.impu))
        .ok_or_else(|| format!("{to} is no UE id, number or sip:/tel: URI of this world"))
}

/// The running control endpoint.
#[derive(Debug)]
pub struct Control {
    server: Server,
    hangups: Arc<Mutex<JoinSet<()>>>,
}

impl Control {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops serving and drops the pending hang-ups (the world is about to stop anyway).
    pub async fn shutdown(self) {
        self.server.shutdown();
        let mut set =
            std::mem::take(&mut *self.hangups.lock().unwrap_or_else(PoisonError::into_inner));
        set.abort_all();
        while set.join_next().await.is_some() {}
    }
}

/// Binds `addr` and serves the control routes for `world` (solution `solution`).
pub async fn start(addr: SocketAddr, world: Arc<World>, solution: u8) -> anyhow::Result<Control> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the control endpoint"))?;
    let hangups = Arc::new(Mutex::new(JoinSet::new()));
    let state = (world, hangups.clone());
    let serve = handler(move |req: Request, _peer: Peer| {
        let (world, hangups) = state.clone();
        async move { route(&world, &hangups, solution, req).await }
    });
    let server = Server::start(listener, None, serve, ServerLimits::default())
        .context("cannot start the control endpoint")?;
    Ok(Control { server, hangups })
}

async fn route(
    world: &Arc<World>,
    hangups: &Arc<Mutex<JoinSet<()>>>,
    solution: u8,
    req: Request,
) -> Response {
    let path = req.target.split('?').next().unwrap_or_default();
    if path == CALLS_PATH {
        if req.method != "POST" {
            return problem(405, format!("{CALLS_PATH} takes POST"));
        }
        return call(world, hangups, &req).await;
    }
    if path.starts_with(LIVE_PREFIX) {
        return match crate::live::answer(&world.tap, solution, &req).await {
            Some(response) => response,
            None => problem(404, format!("no live route {path}")),
        };
    }
    problem(
        404,
        format!("no route {path} (try POST {CALLS_PATH} or {LIVE_PREFIX}…)"),
    )
}

async fn call(world: &Arc<World>, hangups: &Arc<Mutex<JoinSet<()>>>, req: &Request) -> Response {
    let ask: CallRequest = match serde_json::from_slice(&req.body) {
        Ok(a) => a,
        Err(e) => {
            return problem(
                400,
                format!(r#"expected {{"from": "ue-a", "to": "+12155551001"}}: {e}"#),
            );
        }
    };
    let Ok(ue) = world.ue(&ask.from) else {
        return problem(400, format!("no UE {} in this world", ask.from));
    };
    let to = match target(&world.description, &ask.to) {
        Ok(t) => t,
        Err(e) => return problem(400, e),
    };
    let hold = ask.hold_seconds.unwrap_or(DEFAULT_HOLD);
    if hold > MAX_HOLD {
        return problem(400, format!("hold_seconds at most {MAX_HOLD}"));
    }
    let placed = match tokio::time::timeout(CALL_BOUND, ue.call(&to, None)).await {
        Ok(Ok(call)) => call,
        Ok(Err(e)) => return problem(502, format!("{} could not call {to}: {e}", ask.from)),
        Err(_) => return problem(504, format!("no final answer within {CALL_BOUND:?}")),
    };
    let answered = placed.answered();
    let outcome = CallOutcome {
        from: ask.from.clone(),
        to,
        status: placed.code,
        responses: placed
            .responses
            .iter()
            .map(|r| r.status_code.code())
            .collect(),
        call_id: sipmsg::first(&placed.invite.headers, "Call-ID")
            .unwrap_or_default()
            .to_owned(),
        hangup_in_seconds: answered.then_some(hold),
    };
    if answered {
        let (world, from) = (world.clone(), ask.from);
        let mut set = hangups.lock().unwrap_or_else(PoisonError::into_inner);
        set.spawn(async move {
            tokio::time::sleep(Duration::from_secs(hold)).await;
            if let Ok(ue) = world.ue(&from) {
                let _ = ue.hang_up(&placed).await;
            }
        });
    }
    json_response(200, &outcome)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_by_number_id_or_uri() {
        let d = Description::load().unwrap();
        let b = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";
        assert_eq!(target(&d, "+12155551001").unwrap(), b);
        assert_eq!(target(&d, "+1 215 555 1001").unwrap(), b);
        assert_eq!(target(&d, "ue-b").unwrap(), b);
        assert_eq!(target(&d, "tel:+1").unwrap(), "tel:+1");
        assert!(target(&d, "+19999").unwrap_err().contains("+19999"));
        assert!(target(&d, "").is_err());
    }

    #[test]
    fn call_requests_are_strict() {
        let ok: CallRequest = serde_json::from_str(r#"{"from":"ue-a","to":"+1"}"#).unwrap();
        assert_eq!(ok.hold_seconds, None);
        assert!(serde_json::from_str::<CallRequest>(r#"{"from":"ue-a"}"#).is_err());
        assert!(serde_json::from_str::<CallRequest>(r#"{"from":"a","to":"b","x":1}"#).is_err());
    }
}
