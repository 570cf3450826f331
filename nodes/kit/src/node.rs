//! What every network function is given when the world starts it: its name and hostname, the
//! world's trace tap, clock and seed, and how to find its peers. Helpers here open the HTTPS
//! servers and clients an NF needs with the fixture PKI, traced under the NF's name.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{self, Client, Handler, Resolve, Server, ServerLimits, Trace};
use crate::locate::Locate;
use crate::tap::Tap;
use crate::{Error, fixtures, tls};
use proto::clock::{Clock, Rng};
use proto::trace::Note;

/// A network function's view of the world.
#[derive(Clone)]
pub struct Ctx {
    /// Short id, also the node name in the trace (`sti-as-o`).
    pub id: String,
    /// Hostname (`sti-as.ims.mnc001.mcc001.3gppnetwork.org`): TLS name, Via, Record-Route.
    pub host: String,
    /// The world's trace tap.
    pub tap: Tap,
    /// The world's clock (time in tokens and headers comes from it, not the OS).
    pub clock: Clock,
    /// The world's seed; the node's own stream is [`Ctx::rng`].
    pub seed: u64,
    /// Where HTTP(S) hosts are (the world's DNS).
    pub resolve: Arc<dyn Resolve>,
    /// Where SIP hosts are (the world's DNS, RFC 3263).
    pub locate: Arc<dyn Locate>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("id", &self.id)
            .field("host", &self.host)
            .finish_non_exhaustive()
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

    /// Which node of the world a message over `transport` from `addr` came from: the world's
    /// address book (every socket a node binds, its ephemeral TCP client ports included, is
    /// registered there). It stands in for what a real deployment configures as the addresses
    /// of its trusted peers; on loopback an IP address alone names no one.
    pub fn who(
        &self,
        transport: impl Into<crate::tap::Layer>,
        addr: std::net::SocketAddr,
    ) -> Option<String> {
        self.tap.node_exact(transport, addr)
    }

    fn trace(&self) -> Trace {
        Trace {
            tap: self.tap.clone(),
            node: self.id.clone(),
        }
    }

    /// An HTTPS client trusting the world's TLS CA; with `mutual`, it presents this node's
    /// certificate when asked.
    pub fn https_client(&self, mutual: bool) -> Result<Client, Error> {
        let roots = tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?;
        let identity = if mutual {
            Some(fixtures::tls_identity(&self.host)?)
        } else {
            None
        };
        Ok(
            Client::new(tls::client_config(roots, identity)?, self.resolve.clone())
                .with_timeout(Duration::from_secs(3))
                .with_trace(self.trace()),
        )
    }

    /// Starts an HTTPS server on 127.0.0.1 (OS-chosen port) with this node's certificate.
    pub async fn https_server(
        &self,
        handler: Handler,
        client_auth: ClientAuth,
    ) -> Result<Server, Error> {
        let listener = crate::ports::listen_tcp(
            std::net::Ipv4Addr::LOCALHOST.into(),
            Some((&self.tap, &self.id)),
        )
        .await
        .map_err(|e| Error::Bind {
            detail: e.to_string(),
        })?;
        let roots = match client_auth {
            ClientAuth::None => None,
            ClientAuth::Required | ClientAuth::Optional => {
                Some(tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?)
            }
        };
        let identity = fixtures::tls_identity(&self.host)?;
        let config = tls::server_config_with(identity, roots, client_auth == ClientAuth::Optional)?;
        Server::start_traced(
            listener,
            Some(config),
            handler,
            ServerLimits::default(),
            Some(self.trace()),
        )
    }
}

/// JSON response helper for handlers.
pub fn json_response<T: serde::Serialize>(status: u16, body: &T) -> http::Response {
    match serde_json::to_vec_pretty(body) {
        Ok(bytes) => http::Response::json(status, bytes),
        Err(e) => http::Response::text(500, format!("cannot encode response: {e}")),
    }
}

/// Name resolution through the world's DNS, for a node started before that DNS server exists:
/// the world binds every network function first (ports are chosen by the OS), then serves their
/// records, then publishes the server's address in `server`. The node's resolver is made on
/// first use, so nothing may resolve before the world is up (an attempt fails, it never waits).
pub struct WorldDns {
    server: Arc<std::sync::OnceLock<std::net::SocketAddr>>,
    node: String,
    node_addr: std::sync::OnceLock<std::net::SocketAddr>,
    tap: Tap,
    resolver: std::sync::OnceLock<crate::dns::DnsResolver>,
}

impl fmt::Debug for WorldDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorldDns")
            .field("node", &self.node)
            .field("server", &self.server.get())
            .finish_non_exhaustive()
    }
}

impl WorldDns {
    /// Resolution for `node` through the server whose address the world will put in `server`.
    pub fn new(
        server: Arc<std::sync::OnceLock<std::net::SocketAddr>>,
        node: &str,
        tap: Tap,
    ) -> Arc<Self> {
        Arc::new(Self {
            server,
            node: node.to_owned(),
            node_addr: std::sync::OnceLock::new(),
            tap,
            resolver: std::sync::OnceLock::new(),
        })
    }

    /// The node's own address, shown as the source of its DNS queries in the trace.
    pub fn set_node_addr(&self, addr: std::net::SocketAddr) {
        let _ = self.node_addr.set(addr);
    }

    fn resolver(&self) -> std::io::Result<&crate::dns::DnsResolver> {
        if let Some(r) = self.resolver.get() {
            return Ok(r);
        }
        let not_up = || {
            std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "the world's DNS is not up yet",
            )
        };
        let server = *self.server.get().ok_or_else(not_up)?;
        let node_addr = self
            .node_addr
            .get()
            .copied()
            .unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let made = crate::dns::DnsResolver::new(server, &self.node, node_addr, self.tap.clone())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(self.resolver.get_or_init(|| made))
    }
}

impl Resolve for WorldDns {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> http::BoxFuture<'a, std::io::Result<std::net::SocketAddr>> {
        Box::pin(async move { self.resolver()?.resolve(host, port).await })
    }
}

impl Locate for WorldDns {
    fn sip_targets<'a>(
        &'a self,
        host: &'a str,
        port: Option<u16>,
        transport: Option<proto::sip::SipTransport>,
    ) -> http::BoxFuture<'a, std::io::Result<Vec<proto::sip::SipTarget>>> {
        Box::pin(async move { self.resolver()?.sip_targets(host, port, transport).await })
    }
}

/// Hostnames → addresses filled in as nodes start, for tests and tools that run a few nodes
/// without the world's DNS: HTTPS by hostname, SIP over UDP to a hostname or an IP literal.
#[derive(Debug, Default)]
pub struct HostTable(std::sync::Mutex<std::collections::HashMap<String, std::net::SocketAddr>>);

impl HostTable {
    /// Records that `host` (any case) is at `addr`.
    pub fn add(&self, host: &str, addr: std::net::SocketAddr) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_ascii_lowercase(), addr);
    }

    /// Forgets `host` (a node that went away).
    pub fn remove(&self, host: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&host.to_ascii_lowercase());
    }

    /// Where `host` is; `NotFound` when it is not in the table.
    pub fn get(&self, host: &str) -> std::io::Result<std::net::SocketAddr> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.to_ascii_lowercase())
            .copied()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, host.to_owned()))
    }

    /// A context for node `id` at `host` that finds its peers in this table.
    pub fn ctx(self: &Arc<Self>, id: &str, host: &str, tap: &Tap, clock: Clock, seed: u64) -> Ctx {
        Ctx {
            id: id.into(),
            host: host.into(),
            tap: tap.clone(),
            clock,
            seed,
            resolve: self.clone(),
            locate: self.clone(),
        }
    }
}

impl Resolve for HostTable {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> http::BoxFuture<'a, std::io::Result<std::net::SocketAddr>> {
        Box::pin(async move { self.get(host) })
    }
}

impl Locate for HostTable {
    fn sip_targets<'a>(
        &'a self,
        host: &'a str,
        port: Option<u16>,
        _transport: Option<proto::sip::SipTransport>,
    ) -> http::BoxFuture<'a, std::io::Result<Vec<proto::sip::SipTarget>>> {
        Box::pin(async move {
            let addr = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => std::net::SocketAddr::new(ip, port.unwrap_or(5060)),
                Err(_) => self.get(host)?,
            };
            Ok(vec![proto::sip::SipTarget {
                addr,
                transport: proto::sip::SipTransport::Udp,
            }])
        })
    }
}
