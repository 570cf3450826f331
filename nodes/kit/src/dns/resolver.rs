//! A node's stub resolver on hickory-resolver, asking only the world's DNS server (UDP, then TCP
//! when an answer is truncated; no system configuration, no hosts file). It locates SIP servers
//! (RFC 3263 §4: NAPTR per RFC 3403, SRV per RFC 2782, then A) and HTTP(S) servers (SRV
//! `_https._tcp` / `_http._tcp`, then A), and records every query it sends, with its answer, on
//! the trace tap.
//!
//! Answers — negative ones too (RFC 2308) — are cached for the life of the resolver, in a map
//! of its own keyed by (name, type), so that exactly the queries that go on the wire are traced
//! and the same sequence of lookups always gives the same records. Concurrent lookups of one
//! (name, type) share one query. Failures to get an answer (timeouts, socket errors) are not
//! cached.
//!
//! This file holds the resolver and its cache; [`locate`] turns answers into SIP and HTTP
//! targets, [`answer`] reads what a lookup came back with.

mod answer;
mod locate;
mod wire;

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::domain::usage;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::OnceCell;

use self::answer::{classify, not_found};
use super::display_name;
use crate::Error;
use crate::http::{BoxFuture, Resolve};
use crate::locate::Locate;
use crate::tap::Tap;
use proto::sip::{SipTarget, SipTransport};
use proto::trace::Message;

/// Bound on one query (hickory retransmits over UDP within it).
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// Hard bound on one lookup, whatever hickory does inside.
const LOOKUP_BOUND: Duration = Duration::from_secs(2);

/// What the server said about one (name, type).
#[derive(Debug, Clone)]
enum Answer {
    /// The answer section (records of the asked type, and any CNAME on the way).
    Records(Arc<[Record]>),
    /// No records: NXDOMAIN, NOERROR without data (NODATA) or REFUSED.
    Negative(ResponseCode),
}

type Cell = Arc<OnceCell<Answer>>;

/// The DNS resolver of one node (see the module docs).
pub struct DnsResolver {
    resolver: TokioResolver,
    server: SocketAddr,
    node: String,
    node_addr: SocketAddr,
    tap: Tap,
    next_id: AtomicU16,
    cache: Mutex<HashMap<(String, RecordType), Cell>>,
}

impl fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsResolver")
            .field("server", &self.server)
            .field("node", &self.node)
            .field("node_addr", &self.node_addr)
            .finish_non_exhaustive()
    }
}

impl DnsResolver {
    /// A resolver for `node` (whose address, as the trace shows it, is `node_addr`) that asks
    /// only `server`, on UDP and, for truncated answers, TCP at the same port.
    pub fn new(
        server: SocketAddr,
        node: &str,
        node_addr: SocketAddr,
        tap: Tap,
    ) -> Result<Self, Error> {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let name_server = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_parts(None, Vec::new(), vec![name_server]);

        let mut options = ResolverOpts::default();
        options.timeout = QUERY_TIMEOUT;
        // One try: hickory counts retries after the first.
        options.attempts = 0;
        options.use_hosts_file = ResolveHosts::Never;
        options.num_concurrent_reqs = 1;
        options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
        options.case_randomization = false;

        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|e| Error::Dns {
                detail: format!("resolver for {node}: {e}"),
            })?;
        Ok(Self {
            resolver,
            server,
            node: node.to_owned(),
            node_addr,
            tap,
            next_id: AtomicU16::new(1),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The server this resolver asks.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The answer records for (`name`, `rtype`), from the cache or from one traced query.
    /// No records (NXDOMAIN, NODATA, REFUSED) is an error of kind `NotFound`; no answer in time
    /// is `TimedOut`.
    pub async fn query(&self, name: &str, rtype: RecordType) -> io::Result<Vec<Record>> {
        let name = parse_name(name)?;
        match self.answer(&name, rtype).await? {
            Answer::Records(records) => Ok(records.to_vec()),
            Answer::Negative(code) => Err(not_found(&name, rtype, code)),
        }
    }

    /// Whether (`name`, `rtype`) has been answered and cached.
    pub fn is_cached(&self, name: &str, rtype: RecordType) -> bool {
        let Ok(name) = parse_name(name) else {
            return false;
        };
        self.lock()
            .get(&cache_key(&name, rtype))
            .is_some_and(|cell| cell.initialized())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, RecordType), Cell>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn answer(&self, name: &Name, rtype: RecordType) -> io::Result<Answer> {
        if answered_locally(name) {
            // hickory answers these itself (RFC 6761) and sends nothing: nothing to trace.
            return classify(self.lookup(name, rtype).await).2;
        }
        let cell = self
            .lock()
            .entry(cache_key(name, rtype))
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.send(name, rtype))
            .await
            .cloned()
    }

    async fn lookup(&self, name: &Name, rtype: RecordType) -> Result<Vec<Record>, NetError> {
        match tokio::time::timeout(LOOKUP_BOUND, self.resolver.lookup(name.clone(), rtype)).await {
            Ok(Ok(lookup)) => Ok(lookup.answers().to_vec()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(NetError::Timeout),
        }
    }

    /// One query on the wire, traced as a sent query and a received answer.
    async fn send(&self, name: &Name, rtype: RecordType) -> io::Result<Answer> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shown = display_name(name);
        self.tap.sent(
            &self.node,
            Message::dns(
                self.node_addr,
                self.server,
                format!("{rtype}? {shown}"),
                format!("{name} IN {rtype}"),
                id,
            )
            .with_wire(wire::query(id, name, rtype)),
        );
        let result = self.lookup(name, rtype).await;
        let answer_wire = wire::answer(id, name, rtype, &result);
        let (outcome, raw, answer) = classify(result);
        self.tap.received(
            &self.node,
            Message::dns(
                self.server,
                self.node_addr,
                format!("{rtype} {shown} → {outcome}"),
                raw,
                id,
            )
            .with_wire(answer_wire),
        );
        answer
    }

    /// Addresses of `host` (A records).
    async fn addresses(&self, host: &Name) -> io::Result<Vec<IpAddr>> {
        let ips: Vec<IpAddr> = match self.answer(host, RecordType::A).await? {
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    _ => None,
                })
                .collect(),
            Answer::Negative(code) => return Err(not_found(host, RecordType::A, code)),
        };
        if ips.is_empty() {
            return Err(not_found(host, RecordType::A, ResponseCode::NoError));
        }
        Ok(ips)
    }

    /// SRV records of `name` in the order RFC 2782 says to try them (priority, then weight,
    /// heaviest first; ties by target and port so the order is stable). No SRV: empty.
    async fn srv(&self, name: &Name) -> io::Result<Vec<(u16, Name)>> {
        let mut srvs: Vec<(u16, u16, u16, Name)> = match self.answer(name, RecordType::SRV).await? {
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match &r.data {
                    // A target of "." means the service is decidedly not available here.
                    RData::SRV(s) if !s.target.is_root() => {
                        Some((s.priority, s.weight, s.port, s.target.clone()))
                    }
                    _ => None,
                })
                .collect(),
            Answer::Negative(_) => Vec::new(),
        };
        srvs.sort_by(|a, b| (a.0, Reverse(a.1), &a.3, a.2).cmp(&(b.0, Reverse(b.1), &b.3, b.2)));
        Ok(srvs
            .into_iter()
            .map(|(_, _, port, target)| (port, target))
            .collect())
    }
}

impl Locate for DnsResolver {
    fn sip_targets<'a>(
        &'a self,
        host: &'a str,
        port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> BoxFuture<'a, io::Result<Vec<SipTarget>>> {
        Box::pin(self.locate(host, port, transport))
    }
}

impl Resolve for DnsResolver {
    /// Port 443 or 80 (a URL without a port): the port and target of SRV `_https._tcp.<host>` or
    /// `_http._tcp.<host>` if there is one; any other port, or no SRV: `host`'s address and
    /// `port`.
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>> {
        Box::pin(self.http_addr(host, port))
    }
}

/// Names hickory answers without asking anyone (RFC 6761 special-use names).
fn answered_locally(name: &Name) -> bool {
    [
        &*usage::LOCALHOST,
        &*usage::IN_ADDR_ARPA_127,
        &*usage::IP6_ARPA_1,
        &*usage::INVALID,
        &*usage::ONION,
    ]
    .iter()
    .any(|u| u.name().zone_of(name))
}

/// The cache's key: the name in lower case, and the type.
fn cache_key(name: &Name, rtype: RecordType) -> (String, RecordType) {
    (name.to_lowercase().to_ascii(), rtype)
}

/// An IP address literal (an IPv6 one possibly in brackets, as in a URI).
fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// A host name as an absolute DNS name (so no search list applies).
fn parse_name(host: &str) -> io::Result<Name> {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    let invalid = |detail: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is not a host name: {detail}"),
        )
    };
    if trimmed.is_empty() {
        return Err(invalid("empty".into()));
    }
    let mut name = Name::from_ascii(trimmed).map_err(|e| invalid(e.to_string()))?;
    name.set_fqdn(true);
    Ok(name)
}

/// `label.parent`, absolute.
fn child(parent: &Name, label: &str) -> io::Result<Name> {
    let mut name = parent
        .prepend_label(label)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    name.set_fqdn(true);
    Ok(name)
}
