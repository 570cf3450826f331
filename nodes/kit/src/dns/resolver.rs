//! A node's stub resolver, asking only the world's DNS server over its own UDP socket (TCP at
//! the same port when an answer is truncated, RFC 7766; no system configuration, no hosts
//! file). It locates SIP servers (RFC 3263 §4: NAPTR per RFC 3403, SRV per RFC 2782, then A)
//! and HTTP(S) servers (SRV `_https._tcp` / `_http._tcp`, then A), and records every query it
//! sends and every answer it gets on the trace tap, as the bytes that crossed the wire, from
//! the socket's real address (its port claimed for the node, so the trace names it).
//!
//! Queries and answers are hickory-proto messages; the exchange is this file's: one query at a
//! time per node, ids counting up from 1 (deterministic), an answer taken only from the server
//! with the query's id, one try bounded by [`QUERY_TIMEOUT`].
//!
//! Answers — negative ones too (RFC 2308) — are cached for the life of the resolver, in a map
//! of its own keyed by (name, type), so that exactly the queries that go on the wire are traced
//! and the same sequence of lookups always gives the same records. Concurrent lookups of one
//! (name, type) share one query. Failures to get an answer (timeouts, socket errors) are not
//! cached.
//!
//! This file holds the resolver, its socket and its cache; [`locate`] turns answers into SIP
//! and HTTP targets, [`answer`] reads what a lookup came back with.

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

use hickory_proto::op::{Message as DnsMessage, ResponseCode};
use hickory_proto::rr::domain::usage;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UdpSocket;
use tokio::sync::OnceCell;

use self::answer::{Got, classify, not_found};
use super::display_name;
use crate::Error;
use crate::http::{BoxFuture, Resolve};
use crate::locate::Locate;
use crate::tap::{Layer, Tap};
use proto::sip::{SipTarget, SipTransport};
use proto::trace::Message;

/// Bound on one query's exchange (UDP, and TCP after a truncated answer, each).
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// Largest answer read over UDP (RFC 1035 §4.2.1 allows 512 without EDNS; a server that has
/// more sets TC and the query goes again over TCP).
const UDP_ANSWER_MAX: usize = 4096;

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
    server: SocketAddr,
    node: String,
    node_addr: SocketAddr,
    tap: Tap,
    next_id: AtomicU16,
    /// The query socket, bound on first use; held for one exchange at a time.
    socket: tokio::sync::Mutex<Option<UdpSocket>>,
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
    /// A resolver for `node` that asks only `server`, on UDP and, for truncated answers, TCP
    /// at the same port. Its queries go out from a port of its own on `node_addr`'s address.
    pub fn new(
        server: SocketAddr,
        node: &str,
        node_addr: SocketAddr,
        tap: Tap,
    ) -> Result<Self, Error> {
        Ok(Self {
            server,
            node: node.to_owned(),
            node_addr,
            tap,
            next_id: AtomicU16::new(1),
            socket: tokio::sync::Mutex::new(None),
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
            // Special-use names (RFC 6761) are answered here; nothing goes on the wire.
            return classify(local_answer(name, rtype)).2;
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

    /// One query on the wire, traced as it was sent and as its answer came back.
    async fn send(&self, name: &Name, rtype: RecordType) -> io::Result<Answer> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shown = display_name(name);
        let query = wire::query(id, name, rtype)
            .ok_or_else(|| io::Error::other(format!("cannot encode the query for {shown}")))?;
        let mut socket = self.socket.lock().await;
        let local = match self.bound(&mut socket).await {
            Ok(local) => local,
            Err(e) => return classify(Got::Io(e)).2,
        };
        self.tap.sent(
            &self.node,
            Message::dns(
                local,
                self.server,
                format!("{rtype}? {shown}"),
                format!("{name} IN {rtype}"),
                id,
            )
            .with_wire(Some(query.clone())),
        );
        let exchanged = match socket.as_ref() {
            Some(udp) => self.exchange(udp, id, &query).await,
            None => Err(Got::Io(io::Error::other("no query socket"))),
        };
        drop(socket);
        let (got, bytes, from) = match exchanged {
            Ok((message, bytes, from)) => (Got::from_message(message), Some(bytes), from),
            Err(failed) => (failed, None, local),
        };
        let (outcome, raw, answer) = classify(got);
        if bytes.is_some() {
            self.tap.received(
                &self.node,
                Message::dns(
                    self.server,
                    from,
                    format!("{rtype} {shown} → {outcome}"),
                    raw,
                    id,
                )
                .with_wire(bytes),
            );
        } else {
            // No answer crossed the wire: the trace says what happened instead.
            self.tap.received(
                &self.node,
                Message::dns(
                    self.server,
                    local,
                    format!("{rtype} {shown} → {outcome}"),
                    raw,
                    id,
                ),
            );
        }
        answer
    }

    /// The query socket's address, binding it on first use (a port claimed for this node and
    /// registered as its own on the tap).
    async fn bound(&self, socket: &mut Option<UdpSocket>) -> io::Result<SocketAddr> {
        if let Some(udp) = socket.as_ref() {
            return udp.local_addr();
        }
        let udp =
            crate::ports::bind_udp(self.node_addr.ip(), Some((&self.tap, &self.node))).await?;
        let local = udp.local_addr()?;
        self.tap.register(Layer::Udp, local, &self.node);
        *socket = Some(udp);
        Ok(local)
    }

    /// Sends `query` (id `id`) and reads its answer: over UDP, then over TCP when the UDP
    /// answer is truncated. Returns the answer, its bytes and the address it came to.
    async fn exchange(
        &self,
        udp: &UdpSocket,
        id: u16,
        query: &[u8],
    ) -> Result<(DnsMessage, Vec<u8>, SocketAddr), Got> {
        let local = udp.local_addr().map_err(Got::Io)?;
        udp.send_to(query, self.server).await.map_err(Got::Io)?;
        let mut buf = vec![0u8; UDP_ANSWER_MAX];
        let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
        let (message, bytes) = loop {
            let (n, from) = tokio::time::timeout_at(deadline, udp.recv_from(&mut buf))
                .await
                .map_err(|_| Got::Timeout)?
                .map_err(Got::Io)?;
            // Only the server's answer to this query (RFC 5452 §9.1): anything else is ignored.
            if from != self.server {
                continue;
            }
            match DnsMessage::from_vec(&buf[..n]) {
                Ok(m) if m.metadata.id == id && is_response(&m) => break (m, buf[..n].to_vec()),
                _ => continue,
            }
        };
        if !message.metadata.truncation {
            return Ok((message, bytes, local));
        }
        tokio::time::timeout(QUERY_TIMEOUT, self.over_tcp(id, query))
            .await
            .map_err(|_| Got::Timeout)?
    }

    /// The same query over TCP (RFC 7766 §6.2: two-octet length, then the message).
    async fn over_tcp(
        &self,
        id: u16,
        query: &[u8],
    ) -> Result<(DnsMessage, Vec<u8>, SocketAddr), Got> {
        let mut tcp = crate::ports::connect_tcp(self.server, Some((&self.tap, &self.node)))
            .await
            .map_err(Got::Io)?;
        let local = tcp.local_addr().map_err(Got::Io)?;
        self.tap.register(Layer::Tcp, local, &self.node);
        let len =
            u16::try_from(query.len()).map_err(|_| Got::Io(io::Error::other("query too long")))?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        tcp.write_all(&framed).await.map_err(Got::Io)?;
        let n = tcp.read_u16().await.map_err(Got::Io)?;
        let mut bytes = vec![0u8; usize::from(n)];
        tcp.read_exact(&mut bytes).await.map_err(Got::Io)?;
        match DnsMessage::from_vec(&bytes) {
            Ok(m) if m.metadata.id == id && is_response(&m) => Ok((m, bytes, local)),
            Ok(_) => Err(Got::Io(io::Error::other("a TCP answer to another query"))),
            Err(e) => Err(Got::Io(io::Error::other(format!(
                "malformed DNS answer: {e}"
            )))),
        }
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

/// Whether `m` is a response.
fn is_response(m: &DnsMessage) -> bool {
    m.metadata.message_type == hickory_proto::op::MessageType::Response
}

/// The answer to a special-use name (RFC 6761 §6.3: `localhost.` is the loopback address; the
/// others do not exist).
fn local_answer(name: &Name, rtype: RecordType) -> Got {
    if usage::LOCALHOST.name().zone_of(name) {
        let data = match rtype {
            RecordType::A => Some(RData::A(std::net::Ipv4Addr::LOCALHOST.into())),
            RecordType::AAAA => Some(RData::AAAA(std::net::Ipv6Addr::LOCALHOST.into())),
            _ => None,
        };
        return match data {
            Some(d) => Got::Records(vec![Record::from_rdata(name.clone(), 0, d)]),
            None => Got::NoRecords {
                code: ResponseCode::NoError,
                soa: None,
            },
        };
    }
    Got::NoRecords {
        code: ResponseCode::NXDomain,
        soa: None,
    }
}

/// Names answered without asking anyone (RFC 6761 special-use names).
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
