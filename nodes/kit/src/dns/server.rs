//! The world's authoritative DNS server (RFC 1034/1035) on hickory-server: the [`zones`] of the
//! world's entries, served on UDP and on TCP (RFC 7766) at the same 127.0.0.1 port.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::proto::rr::LowerName;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use super::{Entry, SERIAL, zones};
use crate::Error;
use crate::tap::Layer;
use crate::tap::Tap;

/// Node name the server's address is registered under on the tap.
pub const NODE: &str = "dns";

/// Idle bound on a TCP connection from a resolver.
const TCP_IDLE: Duration = Duration::from_secs(5);

/// How many UDP ports to try before giving up finding one whose TCP twin is free.
const BIND_ATTEMPTS: usize = 16;

/// Bound on a graceful [`DnsServer::shutdown`].
const SHUTDOWN_BOUND: Duration = Duration::from_secs(1);

/// A running DNS server. Dropping it (or [`DnsServer::shutdown`]) stops it: its tasks end and its
/// sockets close.
pub struct DnsServer {
    addr: SocketAddr,
    zones: Vec<String>,
    server: Option<Server<Catalog>>,
}

impl fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsServer")
            .field("addr", &self.addr)
            .field("zones", &self.zones)
            .field("running", &self.server.is_some())
            .finish()
    }
}

impl DnsServer {
    /// Serves the zones of `entries` on UDP and TCP at 127.0.0.1 on one OS-chosen port, and
    /// registers that address on `tap` as node `"dns"`. Must be called inside a Tokio runtime.
    pub fn start(entries: &[Entry], tap: Tap) -> Result<Self, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Bind {
                detail: "DNS server started outside a Tokio runtime".into(),
            });
        }
        let zones = zones(entries)?;
        let mut catalog = Catalog::new();
        let mut names = Vec::with_capacity(zones.len());
        for zone in zones {
            let mut handler: InMemoryZoneHandler = InMemoryZoneHandler::empty(
                zone.origin.clone(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            );
            for record in zone.records {
                let text = record.to_string();
                if !handler.upsert_mut(record, SERIAL) {
                    return Err(Error::Dns {
                        detail: format!("zone {} rejected {text}", zone.origin),
                    });
                }
            }
            let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
            catalog.upsert(LowerName::new(&zone.origin), vec![handler]);
            names.push(zone.origin.to_string());
        }

        let (udp, tcp) = bind_pair()?;
        let addr = udp.local_addr().map_err(bind_error)?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, TCP_IDLE, 32);
        tap.register(Layer::Udp, addr, NODE);
        tap.register(Layer::Tcp, addr, NODE);
        Ok(Self {
            addr,
            zones: names,
            server: Some(server),
        })
    }

    /// The UDP and TCP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Apexes of the zones served, sorted.
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// Stops accepting queries and waits (bounded) until every task has ended; whatever is
    /// still running then is aborted.
    pub async fn shutdown(mut self) {
        if let Some(mut server) = self.server.take() {
            server.shutdown_token().cancel();
            // Either way the server is dropped next, which aborts whatever is left.
            let _ = tokio::time::timeout(SHUTDOWN_BOUND, server.block_until_done()).await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // Cancelling ends the accept loops; dropping the server's task set aborts them too.
            server.shutdown_token().cancel();
        }
    }
}

fn bind_error(e: io::Error) -> Error {
    Error::Bind {
        detail: format!("DNS: {e}"),
    }
}

/// A UDP socket on 127.0.0.1:0 and a TCP listener on the same port.
fn bind_pair() -> Result<(tokio::net::UdpSocket, tokio::net::TcpListener), Error> {
    let mut last = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(bind_error)?;
        let addr = udp.local_addr().map_err(bind_error)?;
        match std::net::TcpListener::bind(addr) {
            Ok(tcp) => {
                udp.set_nonblocking(true).map_err(bind_error)?;
                tcp.set_nonblocking(true).map_err(bind_error)?;
                let udp = tokio::net::UdpSocket::from_std(udp).map_err(bind_error)?;
                let tcp = tokio::net::TcpListener::from_std(tcp).map_err(bind_error)?;
                return Ok((udp, tcp));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Bind {
        detail: format!(
            "DNS: no UDP port with a free TCP twin in {BIND_ATTEMPTS} tries (last: {})",
            last.map_or_else(|| "none".to_owned(), |e| e.to_string())
        ),
    })
}
