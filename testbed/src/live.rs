//! The live trace endpoint of a served world (`testbed serve`): plain HTTP routes under
//! `/live/v1/` that hand out the world's trace as it grows, so `testbed tui --attach ADDR`
//! can show calls as they happen. Both sides are here: [`answer`] for the server, [`Client`]
//! for the dashboard.
//!
//! # Protocol
//!
//! - `GET /live/v1/world` → `{"solution": 2, "title": "…", "ports": [[5060, "pcscf-a"], …]}`
//!   ([`World`]): the solution served and the world's port book ([`kit::tap::Tap::ports`]), so
//!   a client names ports as the offline views do.
//! - `GET /live/v1/trace?from=N&wait_ms=W` → `{"next": M, "records": [Record, …]}`
//!   ([`Page`]): the records from index `N` of the tap's arrival order (each a
//!   `proto::trace::Record` as JSON, which leaves out its `at` and a message's pairing `key`
//!   and `wire` bytes), at most [`PAGE`] of them;
//!   `next` is where to continue. When there are none yet, the answer waits up to
//!   `min(W, 2000)` ms ([`MAX_WAIT_MS`]) for one, then comes with an empty list. `from` and
//!   `wait_ms` default to 0. A bad query (not a number, an unknown parameter, `from` past the
//!   end of the trace) is a `400` with the reason as plain text. Records arrive in tap order,
//!   not causal order: a client sorts what it holds with [`kit::tap::order`].
//!
//! Any other path under `/live/v1/` is a `404`; a method other than `GET` a `405`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kit::http::{Request, Response, StaticResolver};
use kit::tap::Tap;
use proto::trace::Record;
use serde::{Deserialize, Serialize};

/// Most records in one answer.
pub const PAGE: usize = 500;

/// Longest wait for a new record, whatever the client asks.
pub const MAX_WAIT_MS: u64 = 2000;

/// How often a waiting answer looks for new records.
const POLL: Duration = Duration::from_millis(20);

/// The prefix of every live route.
const PREFIX: &str = "/live/v1/";

/// What `GET /live/v1/world` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct World {
    /// The solution the world runs.
    pub solution: u8,
    /// The solution's title.
    pub title: String,
    /// Every port number a node of the world used, and the node.
    pub ports: Vec<(u16, String)>,
}

/// What `GET /live/v1/trace` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The index to ask from next.
    pub next: usize,
    /// Records in tap (arrival) order.
    pub records: Vec<Record>,
}

/// Answers the live-trace routes under `/live/v1/`; `None` for any other path.
pub async fn answer(tap: &Tap, solution: u8, request: &Request) -> Option<Response> {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let route = path.strip_prefix(PREFIX)?;
    if request.method != "GET" {
        let mut r = Response::text(405, format!("{path} answers GET only\n"));
        r.headers.push(("allow".into(), "GET".into()));
        return Some(r);
    }
    Some(match route {
        "world" => json(&world(tap, solution)),
        "trace" => match TraceQuery::parse(query) {
            Ok(q) => match trace(tap, q).await {
                Ok(page) => json(&page),
                Err(reason) => Response::text(400, format!("{reason}\n")),
            },
            Err(reason) => Response::text(400, format!("{reason}\n")),
        },
        _ => Response::text(
            404,
            format!("no live route {path}: try {PREFIX}world or {PREFIX}trace\n"),
        ),
    })
}

/// The world's description.
fn world(tap: &Tap, solution: u8) -> World {
    World {
        solution,
        title: crate::scenarios::solution(solution)
            .map_or_else(|| format!("solution {solution}"), |s| s.title.to_owned()),
        ports: tap.ports(),
    }
}

/// A JSON answer (a serialization failure, which the types here cannot cause, is a 500).
fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::json(200, body),
        Err(e) => Response::text(500, format!("cannot serialize the answer: {e}\n")),
    }
}

/// The query of `GET /live/v1/trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct TraceQuery {
    from: usize,
    wait_ms: u64,
}

impl TraceQuery {
    /// Reads `from=N&wait_ms=W` (either may be left out; nothing else is allowed).
    fn parse(query: &str) -> Result<TraceQuery, String> {
        let mut q = TraceQuery::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = || {
                value.parse::<u64>().map_err(|_| {
                    format!("{name}={value:?} is not a whole number of at most 20 digits")
                })
            };
            match name {
                "from" => {
                    q.from = usize::try_from(number()?)
                        .map_err(|_| format!("from={value} is out of range"))?;
                }
                "wait_ms" => q.wait_ms = number()?,
                _ => return Err(format!("unknown parameter {name:?}: use from and wait_ms")),
            }
        }
        Ok(q)
    }
}

/// The page from `q.from`, waiting (bounded) for a first record when there is none yet.
async fn trace(tap: &Tap, q: TraceQuery) -> Result<Page, String> {
    let deadline = Instant::now() + Duration::from_millis(q.wait_ms.min(MAX_WAIT_MS));
    loop {
        let len = tap.len();
        if q.from > len {
            return Err(format!(
                "from={} is past the end of the trace ({len} records): was the world restarted?",
                q.from
            ));
        }
        if len > q.from || Instant::now() >= deadline {
            let mut records = tap.records_since(q.from);
            records.truncate(PAGE);
            return Ok(Page {
                next: q.from + records.len(),
                records,
            });
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// What went wrong talking to a served world.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The address is not `HOST:PORT` or a URL.
    #[error("{0:?} is not an address: give HOST:PORT or http://HOST:PORT")]
    Address(String),
    /// The fixture TLS CA could not be read (the HTTP client needs a trust store).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The request did not complete (refused, reset, timed out).
    #[error("{url}: {detail}")]
    Http {
        /// What was asked.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The world answered something else than 200.
    #[error("{url}: {status} {reason}")]
    Status {
        /// What was asked.
        url: String,
        /// The status.
        status: u16,
        /// The answer's text.
        reason: String,
    },
    /// The answer was not the JSON of the protocol.
    #[error("{url}: not a live answer: {detail}")]
    Json {
        /// What was asked.
        url: String,
        /// Why it does not parse.
        detail: String,
    },
}

/// A client of the live routes of a served world (plain HTTP, kit's client).
#[derive(Debug, Clone)]
pub struct Client {
    http: kit::http::Client,
    base: String,
}

impl Client {
    /// A client of the world at `addr` (`127.0.0.1:8080` or `http://127.0.0.1:8080`). Each
    /// exchange is bounded by the longest wait the server allows plus `slack`.
    pub fn new(addr: &str, slack: Duration) -> Result<Client, LiveError> {
        let base = addr.trim().trim_end_matches('/');
        let base = if base.starts_with("http://") {
            base.to_owned()
        } else if base.contains("://") || base.is_empty() {
            return Err(LiveError::Address(addr.to_owned()));
        } else {
            format!("http://{base}")
        };
        let authority = base.trim_start_matches("http://");
        if authority.is_empty() || authority.contains(['/', ' ', '?', '#']) {
            return Err(LiveError::Address(addr.to_owned()));
        }
        // Only plain HTTP is spoken, but kit's client wants a trust store: the fixture CA.
        let setup = |e: kit::Error| LiveError::Setup(e.to_string());
        let ca = kit::fixtures::read(kit::fixtures::TLS_CA).map_err(setup)?;
        let tls = kit::tls::client_config(kit::tls::roots_from_pem(&ca).map_err(setup)?, None)
            .map_err(setup)?;
        let resolver = StaticResolver {
            entries: Default::default(),
            fallback_to_system: true,
        };
        let http = kit::http::Client::new(tls, Arc::new(resolver))
            .with_timeout(Duration::from_millis(MAX_WAIT_MS) + slack)
            .with_max_body(64 << 20);
        Ok(Client { http, base })
    }

    /// The base URL (`http://HOST:PORT`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /live/v1/world`.
    pub async fn world(&self) -> Result<World, LiveError> {
        self.get(&format!("{}{PREFIX}world", self.base)).await
    }

    /// `GET /live/v1/trace?from=…&wait_ms=…`.
    pub async fn page(&self, from: usize, wait_ms: u64) -> Result<Page, LiveError> {
        let url = format!("{}{PREFIX}trace?from={from}&wait_ms={wait_ms}", self.base);
        self.get(&url).await
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T, LiveError> {
        let response = self
            .http
            .send(Request::get(url))
            .await
            .map_err(|e| LiveError::Http {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
        if response.status != 200 {
            return Err(LiveError::Status {
                url: url.to_owned(),
                status: response.status,
                reason: String::from_utf8_lossy(&response.body).trim().to_owned(),
            });
        }
        serde_json::from_slice(&response.body).map_err(|e| LiveError::Json {
            url: url.to_owned(),
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
