//! The orchestrator: starts one instance of every network function a variant's world needs,
//! each on 127.0.0.1 with an OS-chosen port, then the world's DNS with their records, and stops
//! it all again. Which NFs exist and where they live is data (`fixtures/world.toml`); each NF
//! family has its own start function ([`start`]), which wires its settings by hostname only.

pub mod family;
mod start;

pub use family::Family;
pub use start::Builder;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use kit::dns::DnsServer;
use kit::http::Server;
use kit::sipnode::SipNode;
use kit::tap::Tap;
use proto::clock::Clock;
use proto::sip::Timers;
use serde::Deserialize;
use ue::Ue;

use crate::solution::AsFlow;

/// The world description (`fixtures/world.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct Description {
    /// The scenario clock's start (RFC 3339).
    pub scenario_start: String,
    /// Every network function: id, name, hostname.
    pub nf: Vec<NfEntry>,
    /// Every user agent: id, name, IMPU, number.
    pub ue: Vec<UeEntry>,
    /// The enterprise trunks the originating operator serves.
    #[serde(default)]
    pub trunk: Vec<TrunkEntry>,
}

/// A network function of the world.
#[derive(Debug, Clone, Deserialize)]
pub struct NfEntry {
    /// Its node id (`as-o`).
    pub id: String,
    /// What it is, for people.
    pub name: String,
    /// Its hostname.
    pub host: String,
}

/// An enterprise trunk the originating operator serves (`[[trunk]]` in world.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct TrunkEntry {
    /// How the trunk IBCF names it in P-Served-User.
    pub served_user: String,
    /// Number prefixes assigned to it.
    pub ranges: Vec<String>,
}

/// A subscriber's registration credential, as its UE holds it (`fixtures/subscribers.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct Credential {
    /// The public identity.
    pub impu: String,
    /// The private identity.
    pub impi: String,
    /// The Digest password (a fixture secret).
    pub password: String,
}

/// A user agent of the world.
#[derive(Debug, Clone, Deserialize)]
pub struct UeEntry {
    /// Its node id (`ue-a`).
    pub id: String,
    /// Who it is, for people.
    pub name: String,
    /// Its IMPU.
    pub impu: String,
    /// Its number.
    pub tn: String,
}

impl Description {
    /// Reads `fixtures/world.toml`.
    pub fn load() -> anyhow::Result<Self> {
        let text = String::from_utf8(kit::fixtures::read("world.toml")?)?;
        toml::from_str(&text).context("fixtures/world.toml")
    }

    /// The scenario clock's start, seconds since the epoch.
    pub fn start_time(&self) -> anyhow::Result<i64> {
        let t = time::OffsetDateTime::parse(
            &self.scenario_start,
            &time::format_description::well_known::Rfc3339,
        )?;
        Ok(t.unix_timestamp())
    }

    /// The hostname of NF `id`.
    pub fn host(&self, id: &str) -> anyhow::Result<&str> {
        self.nf
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.host.as_str())
            .ok_or_else(|| anyhow!("world.toml has no NF {id}"))
    }

    /// The trunks, as the originating IMS AS attests by them.
    pub fn trunks(&self) -> Vec<ims_as::attest::Trunk> {
        self.trunk
            .iter()
            .map(|t| ims_as::attest::Trunk {
                served_user: t.served_user.clone(),
                ranges: t.ranges.clone(),
            })
            .collect()
    }

    /// The registration credential of `impu`, as its UE holds it (none for the PBX: it does not
    /// register).
    pub fn credential(&self, impu: &str) -> anyhow::Result<Option<Credential>> {
        #[derive(Deserialize)]
        struct File {
            subscriber: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            impu: String,
            impi: Option<String>,
            password: Option<String>,
        }
        let text = String::from_utf8(kit::fixtures::read("subscribers.toml")?)?;
        let file: File = toml::from_str(&text).context("fixtures/subscribers.toml")?;
        Ok(file
            .subscriber
            .into_iter()
            .find(|s| s.impu == impu)
            .and_then(|s| match (s.impi, s.password) {
                (Some(impi), Some(password)) => Some(Credential {
                    impu: s.impu,
                    impi,
                    password,
                }),
                _ => None,
            }))
    }

    /// User agent `id`.
    pub fn ue(&self, id: &str) -> anyhow::Result<&UeEntry> {
        self.ue
            .iter()
            .find(|u| u.id == id)
            .ok_or_else(|| anyhow!("world.toml has no UE {id}"))
    }
}

/// What a scenario variant changes in the world before it starts (the threat switches).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Network function families the variant needs beyond its solution's.
    pub needs: Vec<Family>,
    /// The originating network's egress IBCF manipulates INVITEs on the NNI.
    pub nni_tamper: Option<ibcf::Tamper>,
    /// The UEs are DC-capable (TS 26.114): calls offer a peer-to-peer data channel.
    pub dc: Option<DcSetup>,
    /// Whether the HSSs hand out data or pointers where they hold both (solutions 1 and 3).
    pub hss_storage: proto::wire::sh::Storage,
    /// The originating HSS follows a 3P ID information URI itself (solution 1, §6.1.2 step 4).
    pub hss_fetch: bool,
    /// The enterprise changes this jCard after its first fetch (solution 3's threat).
    pub jcard_revision: Option<third_party::id_server::Revision>,
    /// The 3P authorization server hands out tokens that have already expired (solution 4's
    /// threat: a UE holding an old token).
    pub stale_tokens: bool,
    /// The callee is not subscribed to verification of third party identities (solution 4).
    pub callee_unverified: bool,
    /// The certificate the originating STI-AS signs with (the operator's own; a revoked one, or
    /// one whose TNAuthList does not cover the caller, for the certificate threats).
    pub sti_sp_cert: StiSpCert,
    /// How the IP-PBX reaches its trunk: with its own certificate (the default), another
    /// host's, none, or not over TLS (the spoofed trunks).
    pub trunk_tls: ue::TrunkTls,
    /// The XR AS manipulates the avatar objects it relays (solution 6's threats).
    pub xr_tamper: Option<xr::xr_as::XrTamper>,
    /// The terminating network's IBCF manipulates the answers it sends back over the NNI
    /// (solution 8's threat on the callee's signed avatar).
    pub nni_answer_tamper: Option<ibcf::Tamper>,
    /// Solution 7: the XR AS is outside the operator's trust domain, so the caller's MF
    /// verifies the signed avatar metadata again (step 11.1, NOTE 10).
    pub xr_as_untrusted: bool,
    /// Solution 7: the XR AS presents no TLS client certificate.
    pub xr_without_certificate: bool,
    /// Solution 7: the NEF issues access tokens that have already expired.
    pub nef_expired_tokens: bool,
    /// Solution 7: the DAC signs avatar metadata that has already expired.
    pub dac_expired_metadata: bool,
    /// Served worlds only (`testbed serve`, choice `serve-digest-md5`): the S-CSCFs challenge
    /// a REGISTER without Authorization (a SIP client that is not an IMS UE) with legacy MD5
    /// Digest. Off in every scenario.
    pub digest_md5: bool,
}

/// The certificate an STI-AS signs with: the operator's own by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StiSpCert(pub sti::SpCert);

impl Default for StiSpCert {
    fn default() -> Self {
        StiSpCert(sti::SpCert::of_spc("1001"))
    }
}

impl std::ops::Deref for StiSpCert {
    type Target = sti::SpCert;
    fn deref(&self) -> &sti::SpCert {
        &self.0
    }
}

/// How the callee treats the data channels offered to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcSetup {
    /// Accepted: the channels come up.
    Accept,
    /// Declined in the answer (m=application port 0).
    Decline,
    /// Accepted, but the callee never answers ICE.
    Unreachable,
    /// Accepted; the caller also brings up a bootstrap data channel to its MF (the originating
    /// network has an MF and a DCSF, and its IMS AS anchors the caller's network-bound sections
    /// there), and can add application channels to the MF by re-INVITE.
    Bootstrap,
}

/// Data channel timers in the world: 5 ms ICE checks, a 10 ms keepalive, 1.5 s to connect.
pub fn dc_timers() -> dc::DcTimers {
    dc::DcTimers {
        connect: Duration::from_millis(1500),
        ..dc::DcTimers::default()
    }
}

/// World settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seeds every node's random stream.
    pub seed: u64,
    /// Fixed in scenarios.
    pub clock: Clock,
    /// SIP timers.
    pub timers: Timers,
    /// The variant's threat switches.
    pub setup: Setup,
    /// Which NF families to start beyond the core.
    pub needs: Vec<Family>,
    /// The key issue #1 flow the operators' IMS ASs run.
    pub as_flow: AsFlow,
    /// Callees answer at once (benchmarks) instead of ringing until told (scenarios).
    pub auto_answer: bool,
}

/// A running world.
#[derive(Debug)]
pub struct World {
    /// Its trace.
    pub tap: Tap,
    /// What it was started from.
    pub description: Description,
    /// Its user agents by id (the PBX too).
    pub ues: BTreeMap<String, Ue>,
    /// The data channel setting the world was started with.
    pub dc: Option<DcSetup>,
    /// MF/MRFs by id (worlds that need the DC network).
    pub mfs: BTreeMap<String, Arc<xr::mf::Mf>>,
    /// The enterprise's 3P authorization server (solution 4 worlds), to start step 0a.
    pub authz: Option<third_party::authz::AuthzHandle>,
    /// Solution 9's DC ASs/AFs by id.
    pub afs: BTreeMap<String, Arc<nef::af::DcAf>>,
    sip: Vec<Arc<SipNode>>,
    /// The network functions' servers, each of which can be stopped on its own ([`World::stop`]).
    switch: Switch,
    /// Every node's listening address, for tests that check nothing is left running.
    pub addresses: Vec<(SocketAddr, String)>,
    /// Time from the first bind to the DNS being up.
    pub startup: Duration,
}

/// The originating and terminating operators' domains.
pub const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
/// See [`ORIG`].
pub const TERM: &str = "ims.mnc002.mcc001.3gppnetwork.org";

impl World {
    /// Starts every network function the options call for and the DNS that finds them.
    pub async fn start(description: Description, options: Options) -> anyhow::Result<World> {
        let began = Instant::now();
        let families = options.needs.clone();
        let mut b = start::Builder::new(description, options);
        // The families first: the core's NFs are configured by what exists (names resolve
        // through the DNS, which starts last, so the order does not matter otherwise).
        for family in families {
            (family.start)(&mut b).await?;
        }
        b.stir_shaken().await?;
        b.hss().await?;
        b.enterprise().await?;
        b.ims().await?;
        b.users().await?;
        let mut world = b.finish()?;
        world.startup = began.elapsed();
        Ok(world)
    }

    /// What every SIP endpoint of the world (network functions and user agents) holds open,
    /// summed.
    pub fn sip_stats(&self) -> kit::sip::EndpointStats {
        self.sip
            .iter()
            .map(|n| n.endpoint.stats())
            .chain(self.ues.values().map(|u| u.endpoint().stats()))
            .fold(kit::sip::EndpointStats::default(), |a, b| a + b)
    }

    /// The SIP endpoint of node `id`: a network function's, or a user agent's.
    pub fn sip_endpoint(&self, id: &str) -> Option<&kit::sip::Endpoint> {
        self.sip
            .iter()
            .map(|n| &n.endpoint)
            .find(|e| e.node() == id)
            .or_else(|| self.ues.get(id).map(Ue::endpoint))
    }

    /// The listening address of the node `id` (its first, where it has several).
    pub fn addr(&self, id: &str) -> anyhow::Result<SocketAddr> {
        self.addresses
            .iter()
            .find(|(_, n)| n == id)
            .map(|(a, _)| *a)
            .ok_or_else(|| anyhow::anyhow!("the world has no {id}"))
    }

    /// A user agent by id.
    pub fn ue(&self, id: &str) -> anyhow::Result<&Ue> {
        self.ues
            .get(id)
            .ok_or_else(|| anyhow!("no user agent {id} in this world"))
    }

    /// Waits until no new trace record has arrived for `quiet`, at most `bound`, then puts a
    /// barrier in the trace: lets messages still in flight (an ACK crossing the proxies) land
    /// before the next user action, and keeps the phases apart in the trace's order.
    pub async fn settle(&self, quiet: Duration, bound: Duration) {
        let start = Instant::now();
        let mut last = self.tap.len();
        let mut since = Instant::now();
        while start.elapsed() < bound {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let now = self.tap.len();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet && self.tap.awaiting() == 0 {
                // Quiet, and nothing sent is still on its way: a slow machine pausing a
                // message between two hops does not end the phase early.
                break;
            }
        }
        self.tap.barrier();
    }

    /// Stops network function `nf` now, as a crash would: its listeners and sockets close, so
    /// its peers meet a refused connection (HTTPS, SIP over TCP) or no answer (SIP over UDP,
    /// DNS). `nf` is a node id (`sti-vs-t`), or one without its operator's suffix (`sti-vs`,
    /// `hss`: every such node the world runs). Returns the nodes stopped (none: no such NF
    /// is running). The user agents cannot be stopped this way.
    pub fn stop(&self, nf: &str) -> Vec<String> {
        self.switch.stop(nf)
    }

    /// A handle that stops network functions of this world from anywhere ([`World::stop`]),
    /// for as long as the world runs.
    pub fn switch(&self) -> Switch {
        self.switch.clone()
    }

    /// Stops every network function and the DNS; nothing keeps running afterwards.
    pub async fn shutdown(self) {
        for ue in self.ues.values() {
            ue.close_data_channels().await;
            ue.shutdown();
        }
        for mf in self.mfs.values() {
            mf.shutdown().await;
        }
        for node in &self.sip {
            node.shutdown();
        }
        for node in &self.sip {
            node.endpoint.close().await;
        }
        for ue in self.ues.values() {
            ue.endpoint().close().await;
        }
        let (http, dns) = self.switch.take();
        for (_, server) in http {
            server.shutdown();
        }
        if let Some(dns) = dns {
            dns.shutdown().await;
        }
        self.tap.release_guards();
    }
}

/// Stops a running world's network functions one by one ([`World::stop`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Switch(Arc<std::sync::Mutex<Running>>);

/// What a [`Switch`] can stop.
#[derive(Debug)]
struct Running {
    tap: Tap,
    http: Vec<(String, Server)>,
    sip: Vec<Arc<SipNode>>,
    dns: Option<DnsServer>,
    /// The MFs' data channel side (their HTTPS API is in `http`).
    mfs: BTreeMap<String, Arc<xr::mf::Mf>>,
}

impl Switch {
    pub(crate) fn new(
        tap: Tap,
        http: Vec<(String, Server)>,
        sip: Vec<Arc<SipNode>>,
        dns: Option<DnsServer>,
        mfs: BTreeMap<String, Arc<xr::mf::Mf>>,
    ) -> Self {
        Switch(Arc::new(std::sync::Mutex::new(Running {
            tap,
            http,
            sip,
            dns,
            mfs,
        })))
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether node `id` is meant by `nf` (itself, or `nf` and an operator suffix).
    pub(crate) fn names(nf: &str, id: &str) -> bool {
        id == nf || id.strip_prefix(nf).is_some_and(|s| s == "-o" || s == "-t")
    }

    /// See [`World::stop`].
    pub fn stop(&self, nf: &str) -> Vec<String> {
        let mut running = self.running();
        let mut stopped = Vec::new();
        let mut kept = Vec::new();
        for (id, server) in running.http.drain(..) {
            if Self::names(nf, &id) {
                // Aborts the accept loop and, with it, every open connection.
                server.shutdown();
                stopped.push(id);
            } else {
                kept.push((id, server));
            }
        }
        running.http = kept;
        for node in &running.sip {
            let id = node.endpoint.node();
            if Self::names(nf, id) {
                node.shutdown();
                stopped.push(id.to_owned());
            }
        }
        for (id, mf) in &running.mfs {
            // Its associations close too (traced, so not under the caller's feet: a task of
            // its own, where there is a runtime to run it).
            if Self::names(nf, id)
                && let Ok(runtime) = tokio::runtime::Handle::try_current()
            {
                let mf = mf.clone();
                runtime.spawn(async move { mf.shutdown().await });
            }
        }
        if Self::names(nf, crate::node::DNS)
            && let Some(dns) = running.dns.take()
        {
            // Dropping it cancels its listeners at once.
            drop(dns);
            stopped.push(crate::node::DNS.to_owned());
        }
        stopped.sort();
        stopped.dedup();
        for id in &stopped {
            running.tap.stop_node(id);
        }
        stopped
    }

    /// Everything not stopped, for the world's shutdown.
    fn take(&self) -> (Vec<(String, Server)>, Option<DnsServer>) {
        let mut running = self.running();
        (std::mem::take(&mut running.http), running.dns.take())
    }
}
