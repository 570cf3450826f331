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
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::OnceCell;

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

/// RFC 3263 §4.2: the port when DNS gives none.
const SIP_DEFAULT_PORT: u16 = 5060;

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
            ),
        );
        let (outcome, raw, answer) = classify(self.lookup(name, rtype).await);
        self.tap.received(
            &self.node,
            Message::dns(
                self.server,
                self.node_addr,
                format!("{rtype} {shown} → {outcome}"),
                raw,
                id,
            ),
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

    /// SIP targets from the SRV records of `name`, for `transport`. A target without an
    /// address is skipped.
    async fn srv_targets(
        &self,
        name: &Name,
        transport: SipTransport,
    ) -> io::Result<Vec<SipTarget>> {
        let mut targets = Vec::new();
        for (port, target) in self.srv(name).await? {
            match self.addresses(&target).await {
                Ok(ips) => targets.extend(ips.into_iter().map(|ip| SipTarget {
                    addr: SocketAddr::new(ip, port),
                    transport,
                })),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(targets)
    }

    async fn locate(
        &self,
        host: &str,
        port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> io::Result<Vec<SipTarget>> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![SipTarget {
                addr: SocketAddr::new(ip, port.unwrap_or(SIP_DEFAULT_PORT)),
                transport: transport.unwrap_or(SipTransport::Udp),
            }]);
        }
        let name = parse_name(host)?;
        let by_address = |ips: Vec<IpAddr>, port: u16, transport: SipTransport| {
            ips.into_iter()
                .map(|ip| SipTarget {
                    addr: SocketAddr::new(ip, port),
                    transport,
                })
                .collect::<Vec<_>>()
        };

        // §4.1–4.2: an explicit port skips NAPTR and SRV.
        if let Some(port) = port {
            let transport = transport.unwrap_or(SipTransport::Udp);
            return Ok(by_address(self.addresses(&name).await?, port, transport));
        }

        // §4.1: an explicit transport skips NAPTR.
        if let Some(transport) = transport {
            let targets = self
                .srv_targets(&sip_srv_name(&name, transport)?, transport)
                .await?;
            if !targets.is_empty() {
                return Ok(targets);
            }
            let ips = self.addresses(&name).await?;
            return Ok(by_address(ips, SIP_DEFAULT_PORT, transport));
        }

        // §4.1: NAPTR, in order then preference, for the services we speak.
        match self.answer(&name, RecordType::NAPTR).await? {
            Answer::Records(records) => {
                let mut naptrs: Vec<_> = records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NAPTR(n) if n.flags.eq_ignore_ascii_case(b"s") => {
                            let transport = if n.services.eq_ignore_ascii_case(b"SIP+D2U") {
                                SipTransport::Udp
                            } else if n.services.eq_ignore_ascii_case(b"SIP+D2T") {
                                SipTransport::Tcp
                            } else {
                                return None;
                            };
                            Some((n.order, n.preference, transport, n.replacement.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                naptrs.sort_by_key(|a| (a.0, a.1));
                let mut targets = Vec::new();
                for (_, _, transport, replacement) in naptrs {
                    targets.extend(self.srv_targets(&replacement, transport).await?);
                }
                if !targets.is_empty() {
                    return Ok(targets);
                }
            }
            // RFC 8020: nothing exists at or below a name that does not exist.
            Answer::Negative(ResponseCode::NXDomain) => {
                return Err(not_found(&name, RecordType::NAPTR, ResponseCode::NXDomain));
            }
            Answer::Negative(_) => {}
        }

        // §4.1: no (usable) NAPTR — SRV for each transport we speak.
        let mut targets = Vec::new();
        for transport in [SipTransport::Udp, SipTransport::Tcp] {
            targets.extend(
                self.srv_targets(&sip_srv_name(&name, transport)?, transport)
                    .await?,
            );
        }
        if !targets.is_empty() {
            return Ok(targets);
        }

        // §4.2: no SRV — the host's address, port 5060, UDP.
        let ips = self.addresses(&name).await?;
        Ok(by_address(ips, SIP_DEFAULT_PORT, SipTransport::Udp))
    }

    async fn http_addr(&self, host: &str, port: u16) -> io::Result<SocketAddr> {
        if let Some(ip) = ip_literal(host) {
            return Ok(SocketAddr::new(ip, port));
        }
        let name = parse_name(host)?;
        let service = match port {
            443 => Some("_https"),
            80 => Some("_http"),
            _ => None,
        };
        if let Some(service) = service {
            let srv_name = child(&child(&name, "_tcp")?, service)?;
            for (srv_port, target) in self.srv(&srv_name).await? {
                match self.addresses(&target).await {
                    Ok(ips) => {
                        if let Some(ip) = ips.first() {
                            return Ok(SocketAddr::new(*ip, srv_port));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let ips = self.addresses(&name).await?;
        ips.first()
            .map(|ip| SocketAddr::new(*ip, port))
            .ok_or_else(|| not_found(&name, RecordType::A, ResponseCode::NoError))
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

/// Outcome of a lookup: the summary's tail, the answer as text, and what callers get.
fn classify(result: Result<Vec<Record>, NetError>) -> (String, String, io::Result<Answer>) {
    match result {
        Ok(records) if !records.is_empty() => {
            let n = records.len();
            let raw = records
                .iter()
                .map(Record::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            let outcome = format!("{n} record{}", if n == 1 { "" } else { "s" });
            (outcome, raw, Ok(Answer::Records(records.into())))
        }
        Ok(_) => (
            "no records".into(),
            ";; status: NOERROR, no answer".into(),
            Ok(Answer::Negative(ResponseCode::NoError)),
        ),
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => {
            let code = no.response_code;
            let outcome = if code == ResponseCode::NoError {
                "no records".to_owned()
            } else {
                rcode(code)
            };
            let mut raw = format!(";; status: {}", rcode(code));
            if let Some(soa) = &no.soa {
                raw.push('\n');
                raw.push_str(&soa.to_string());
            }
            (outcome, raw, Ok(Answer::Negative(code)))
        }
        Err(NetError::Dns(DnsError::ResponseCode(
            code @ (ResponseCode::Refused | ResponseCode::NXDomain),
        ))) => {
            let status = rcode(code);
            (
                status.clone(),
                format!(";; status: {status}"),
                Ok(Answer::Negative(code)),
            )
        }
        Err(NetError::Timeout) => (
            "timeout".into(),
            ";; no answer in time".into(),
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "DNS query timed out",
            )),
        ),
        Err(NetError::Io(e)) => {
            let kind = e.kind();
            (
                format!("error: {e}"),
                format!(";; {e}"),
                Err(io::Error::new(kind, format!("DNS query failed: {e}"))),
            )
        }
        Err(e) => (
            format!("error: {e}"),
            format!(";; {e}"),
            Err(io::Error::other(format!("DNS query failed: {e}"))),
        ),
    }
}

fn not_found(name: &Name, rtype: RecordType, code: ResponseCode) -> io::Error {
    let why = if code == ResponseCode::NoError {
        "no records".to_owned()
    } else {
        rcode(code)
    };
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{rtype} {}: {why}", display_name(name)),
    )
}

/// The RCODE mnemonic (RFC 1035 §4.1.1, RFC 6895 §2.3).
fn rcode(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE {}", u16::from(other)),
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

fn child(parent: &Name, label: &str) -> io::Result<Name> {
    let mut name = parent
        .prepend_label(label)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    name.set_fqdn(true);
    Ok(name)
}

fn sip_srv_name(host: &Name, transport: SipTransport) -> io::Result<Name> {
    let proto = match transport {
        SipTransport::Udp => "_udp",
        SipTransport::Tcp => "_tcp",
    };
    child(&child(host, proto)?, "_sip")
}
