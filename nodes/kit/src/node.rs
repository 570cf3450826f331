//! What every network function is given when the world starts it: its name and hostname, the
//! world's trace tap, clock and seed, and how to find its peers. Helpers here open the HTTPS
//! servers and clients an NF needs with the fixture PKI, traced under the NF's name.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::{Clock, Rng};
use crate::http::{self, Client, Handler, Resolve, Server, ServerLimits, Trace};
use crate::locate::Locate;
use crate::trace::{Note, Tap};
use crate::{Error, fixtures, tls};

/// A network function's view of the world.
#[derive(Clone)]
pub struct Ctx {
    /// Short id, also the node name in the trace (`sti-as-o`).
    pub id: String,
    /// Hostname (`sti-as.ims.mnc001.mcc001.3gppnetwork.org`): TLS name, Via, Record-Route.
    pub host: String,
    pub tap: Tap,
    pub clock: Clock,
    pub seed: u64,
    /// Where HTTP(S) hosts are (the world's DNS).
    pub resolve: Arc<dyn Resolve>,
    /// Where SIP hosts are (the world's DNS, RFC 3263).
    pub locate: Arc<dyn Locate>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx").field("id", &self.id).field("host", &self.host).finish_non_exhaustive()
    }
}

/// How an HTTPS server treats client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Any client (server authentication only).
    None,
    /// Mutual TLS: a certificate from the world's TLS CA is required.
    Required,
    /// A certificate from the world's TLS CA is verified when offered; handlers decide per path
    /// (they see it in `Peer::certificate`).
    Optional,
}

impl Ctx {
    /// This node's seeded random stream.
    pub fn rng(&self) -> Rng {
        Rng::for_node(self.seed, &self.id)
    }

    /// Adds a note to the trace under this node's name.
    pub fn note(&self, msg: Option<u64>, note: Note) {
        self.tap.note(&self.id, msg, note);
    }

    fn trace(&self) -> Trace {
        Trace { tap: self.tap.clone(), node: self.id.clone() }
    }

    /// An HTTPS client trusting the world's TLS CA; with `mutual`, it presents this node's
    /// certificate when asked.
    pub fn https_client(&self, mutual: bool) -> Result<Client, Error> {
        let roots = tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?;
        let identity = if mutual { Some(fixtures::tls_identity(&self.host)?) } else { None };
        Ok(Client::new(tls::client_config(roots, identity)?, self.resolve.clone())
            .with_timeout(Duration::from_secs(3))
            .with_trace(self.trace()))
    }

    /// Starts an HTTPS server on 127.0.0.1 (OS-chosen port) with this node's certificate.
    pub async fn https_server(&self, handler: Handler, client_auth: ClientAuth) -> Result<Server, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| Error::Bind { detail: e.to_string() })?;
        let roots = match client_auth {
            ClientAuth::None => None,
            ClientAuth::Required | ClientAuth::Optional => {
                Some(tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?)
            }
        };
        let identity = fixtures::tls_identity(&self.host)?;
        let config = tls::server_config_with(identity, roots, client_auth == ClientAuth::Optional)?;
        Server::start_traced(listener, Some(config), handler, ServerLimits::default(), Some(self.trace()))
    }
}

/// JSON response helper for handlers.
pub fn json_response<T: serde::Serialize>(status: u16, body: &T) -> http::Response {
    match serde_json::to_vec_pretty(body) {
        Ok(bytes) => http::Response::json(status, bytes),
        Err(e) => http::Response::text(500, format!("cannot encode response: {e}")),
    }
}
