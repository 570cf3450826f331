//! The orchestrator: starts one instance of every network function the scenarios need, each on
//! 127.0.0.1 with an OS-chosen port, then the world's DNS with their records, and stops it all
//! again. Which NFs exist and where they live is data (`fixtures/world.toml`); this file wires
//! each NF's settings (its S-CSCF, its AS, its peers) by hostname only.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use kit::dns::{DnsServer, Entry};
use kit::http::Server;
use kit::node::{Ctx, WorldDns};
use kit::sipnode::SipNode;
use kit::tap::Tap;
use proto::clock::Clock;
use proto::sip::Timers;
use serde::Deserialize;
use ue::{Access, Ue, UeConfig};

/// The world description (`fixtures/world.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct Description {
    pub scenario_start: String,
    pub nf: Vec<NfEntry>,
    pub ue: Vec<UeEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NfEntry {
    pub id: String,
    pub name: String,
    pub host: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UeEntry {
    pub id: String,
    pub name: String,
    pub impu: String,
    pub tn: String,
}

impl Description {
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

    pub fn host(&self, id: &str) -> anyhow::Result<&str> {
        self.nf
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.host.as_str())
            .ok_or_else(|| anyhow!("world.toml has no NF {id}"))
    }

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
    /// The originating network's egress IBCF manipulates INVITEs on the NNI.
    pub nni_tamper: Option<ibcf::Tamper>,
    /// The UEs are DC-capable (TS 26.114): calls offer a peer-to-peer data channel.
    pub dc: Option<DcSetup>,
    /// The key issue #1 solution the operators' IMS ASes run.
    pub flow: ims_as::Flow,
    /// Whether the HSSs hand out data or pointers where they hold both (solutions 1 and 3).
    pub hss_storage: proto::wire::sh::Storage,
    /// The enterprise changes this jCard after its first fetch (solution 3's threat).
    pub jcard_revision: Option<third_party::id_server::Revision>,
    /// The 3P authorization server hands out tokens that have already expired (solution 4's
    /// threat: a UE holding an old token).
    pub stale_tokens: bool,
    /// The callee is not subscribed to verification of third party identities (solution 4).
    pub callee_unverified: bool,
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

/// Data channel timers in the world: 5 ms ICE checks, a 40 ms keepalive, 1.5 s to connect.
pub fn dc_timers() -> dc::DcTimers {
    dc::DcTimers {
        connect: Duration::from_millis(1500),
        ..dc::DcTimers::default()
    }
}

/// World settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub clock: Clock,
    pub timers: Timers,
    pub setup: Setup,
    /// Callees answer at once (benchmarks) instead of ringing until told (scenarios).
    pub auto_answer: bool,
}

/// A running world.
#[derive(Debug)]
pub struct World {
    pub tap: Tap,
    pub description: Description,
    pub ues: BTreeMap<String, Ue>,
    /// The data channel setting the world was started with.
    pub dc: Option<DcSetup>,
    /// MF/MRFs by id (worlds with [`DcSetup::Bootstrap`]).
    pub mfs: BTreeMap<String, Arc<xr::mf::Mf>>,
    /// The enterprise's 3P authorization server (solution 4 worlds), to start step 0a.
    pub authz: Option<third_party::authz::AuthzHandle>,
    sip: Vec<SipNode>,
    http: Vec<(String, Server)>,
    dns: Option<DnsServer>,
    /// Every node's address, for naming ports in the trace.
    pub addresses: Vec<(SocketAddr, String)>,
    /// Time from the first bind to the DNS being up.
    pub startup: Duration,
}

/// The originating and terminating operators' domains.
pub const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
pub const TERM: &str = "ims.mnc002.mcc001.3gppnetwork.org";

struct Builder {
    tap: Tap,
    options: Options,
    server: Arc<OnceLock<SocketAddr>>,
    entries: Vec<Entry>,
}

impl Builder {
    fn ctx(&mut self, id: &str, host: &str) -> (Ctx, Arc<WorldDns>) {
        let dns = WorldDns::new(self.server.clone(), id, self.tap.clone());
        let ctx = Ctx {
            id: id.to_owned(),
            host: host.to_owned(),
            tap: self.tap.clone(),
            clock: self.options.clock,
            seed: self.options.seed,
            resolve: dns.clone(),
            locate: dns.clone(),
        };
        (ctx, dns)
    }

    fn sip(&mut self, dns: &WorldDns, host: &str, node: &SipNode) {
        let addr = node.endpoint.local_addr();
        dns.set_node_addr(addr);
        self.entries.push(Entry::new(host).with_sip(addr.port()));
    }

    fn https(&mut self, dns: &WorldDns, host: &str, server: &Server) {
        let addr = server.local_addr();
        dns.set_node_addr(addr);
        self.entries.push(Entry::new(host).with_https(addr.port()));
    }
}

impl World {
    /// Starts every network function of solution 2's world and the DNS that finds them.
    pub async fn start(description: Description, options: Options) -> anyhow::Result<World> {
        let began = Instant::now();
        let tap = Tap::new();
        let timers = options.timers;
        let setup = options.setup.clone();
        let auto_answer = options.auto_answer;
        let mut b = Builder {
            tap: tap.clone(),
            options,
            server: Arc::new(OnceLock::new()),
            entries: Vec::new(),
        };
        let d = &description;
        let sol4 = setup.flow == ims_as::Flow::AuthzServer;
        let mut sip = Vec::new();
        let mut http = Vec::new();

        // STIR/SHAKEN, HSS and the enterprise's servers (HTTPS).
        for (id, start) in [
            ("sti-cr-o", "cr-o"),
            ("sti-as-o", "as"),
            ("sti-vs-t", "vs"),
            ("hss-o", "hss-o"),
            ("hss-t", "hss-t"),
            ("id3p", "id3p"),
        ] {
            let host = d.host(id)?.to_owned();
            let (ctx, dns) = b.ctx(id, &host);
            let server = match start {
                "cr-o" => sti::sti_cr::start(&ctx, &["1001"]).await?,
                "as" => {
                    sti::sti_as::start(&ctx, "1001", d.host("sti-cr-o")?)
                        .await?
                        .server
                }
                "vs" => sti::sti_vs::start(&ctx).await?.server,
                "hss-o" => {
                    let provisioner = sol4
                        .then(|| d.host("nef-o").map(str::to_owned))
                        .transpose()?;
                    hss::start(&ctx, hss::Db::load(ORIG)?, setup.hss_storage, provisioner).await?
                }
                "hss-t" => {
                    let mut db = hss::Db::load(TERM)?;
                    if setup.callee_unverified {
                        db.update(&d.ue("ue-b")?.tn, |s| s.verification = false);
                    }
                    hss::start(&ctx, db, setup.hss_storage, None).await?
                }
                _ => {
                    third_party::id_server::start(
                        &ctx,
                        third_party::id_server::Store::load()?,
                        setup.jcard_revision.clone(),
                    )
                    .await?
                }
            };
            b.https(&dns, &host, &server);
            http.push((id.to_owned(), server));
        }

        // Solution 4: the originating network's NEF and the enterprise's authorization server.
        let mut authz = None;
        if sol4 {
            let host = d.host("nef-o")?.to_owned();
            let (ctx, dns) = b.ctx("nef-o", &host);
            let server = nef::start(&ctx, nef::NefConfig::load()?).await?;
            b.https(&dns, &host, &server);
            http.push(("nef-o".to_owned(), server));
            let host = d.host("authz3p")?.to_owned();
            let (ctx, dns) = b.ctx("authz3p", &host);
            let started = third_party::authz::start(
                &ctx,
                third_party::authz::AuthzConfig {
                    nef_host: d.host("nef-o")?.to_owned(),
                    stale_tokens: setup.stale_tokens,
                },
            )
            .await?;
            b.https(&dns, &host, &started.server);
            http.push(("authz3p".to_owned(), started.server));
            authz = Some(started.handle);
        }

        // Data channel network functions: the DCSF and each operator's MF.
        let mut mfs = BTreeMap::new();
        let bootstrap = setup.dc == Some(DcSetup::Bootstrap);
        if bootstrap {
            let host = d.host("dcsf-o")?.to_owned();
            let (ctx, dns) = b.ctx("dcsf-o", &host);
            let server = xr::dcsf::start(&ctx, xr::dcsf::Store::load()?).await?;
            b.https(&dns, &host, &server);
            http.push(("dcsf-o".to_owned(), server));
            // Each operator's MF: the originating one answers the caller's network-bound
            // sections, the terminating one offers the callee its bootstrap channel. One DCSF
            // serves both operators (choice `dc-bootstrap-anchor`).
            for id in ["mf-o", "mf-t"] {
                let host = d.host(id)?.to_owned();
                let (ctx, dns) = b.ctx(id, &host);
                let config = xr::mf::MfConfig {
                    dcsf_host: d.host("dcsf-o")?.to_owned(),
                    timers: dc_timers(),
                };
                let (mf, server) = xr::mf::start(&ctx, config).await?;
                b.https(&dns, &host, &server);
                http.push((id.to_owned(), server));
                mfs.insert(id.to_owned(), mf);
            }
        }

        // The two IMS networks, wired by hostname.
        let h = |id: &str| d.host(id).map(str::to_owned);
        let peers_o: BTreeMap<String, String> = [(TERM.to_owned(), h("ibcf-t")?)].into();
        let peers_t: BTreeMap<String, String> = [(ORIG.to_owned(), h("ibcf-o")?)].into();
        let nodes = [
            (
                "pcscf-o",
                SipNf::Pcscf(cscf::pcscf::PcscfConfig {
                    scscf_host: h("scscf-o")?,
                    timers,
                }),
            ),
            (
                "scscf-o",
                SipNf::Scscf(cscf::scscf::ScscfConfig {
                    domain: ORIG.into(),
                    as_host: h("as-o")?,
                    ibcf_host: h("ibcf-o")?,
                    timers,
                }),
            ),
            (
                "as-o",
                SipNf::As(ims_as::AsConfig {
                    role: ims_as::Role::Originating {
                        hss_host: h("hss-o")?,
                        sti_as_host: h("sti-as-o")?,
                    },
                    flow: setup.flow,
                    nef_host: if sol4 { Some(h("nef-o")?) } else { None },
                    timers,
                    mf_host: if bootstrap { Some(h("mf-o")?) } else { None },
                }),
            ),
            (
                "ibcf-o",
                SipNf::Ibcf(ibcf::IbcfConfig {
                    domain: ORIG.into(),
                    scscf_host: h("scscf-o")?,
                    peers: peers_o,
                    trunk_domains: vec!["enterprise.example".into()],
                    tamper: setup.nni_tamper.clone(),
                    timers,
                }),
            ),
            (
                "ibcf-t",
                SipNf::Ibcf(ibcf::IbcfConfig {
                    domain: TERM.into(),
                    scscf_host: h("scscf-t")?,
                    peers: peers_t,
                    trunk_domains: Vec::new(),
                    tamper: None,
                    timers,
                }),
            ),
            (
                "scscf-t",
                SipNf::Scscf(cscf::scscf::ScscfConfig {
                    domain: TERM.into(),
                    as_host: h("as-t")?,
                    ibcf_host: h("ibcf-t")?,
                    timers,
                }),
            ),
            (
                "as-t",
                SipNf::As(ims_as::AsConfig {
                    role: ims_as::Role::Terminating {
                        sti_vs_host: h("sti-vs-t")?,
                        hss_host: if sol4 { Some(h("hss-t")?) } else { None },
                    },
                    flow: setup.flow,
                    nef_host: None,
                    timers,
                    mf_host: if bootstrap { Some(h("mf-t")?) } else { None },
                }),
            ),
            (
                "pcscf-t",
                SipNf::Pcscf(cscf::pcscf::PcscfConfig {
                    scscf_host: h("scscf-t")?,
                    timers,
                }),
            ),
        ];
        for (id, nf) in nodes {
            let host = h(id)?;
            let (ctx, dns) = b.ctx(id, &host);
            let node = match nf {
                SipNf::Pcscf(c) => cscf::pcscf::start(&ctx, c).await?,
                SipNf::Scscf(c) => cscf::scscf::start(&ctx, c).await?,
                SipNf::As(c) => ims_as::start(&ctx, c).await?,
                SipNf::Ibcf(c) => ibcf::start(&ctx, c).await?,
            };
            b.sip(&dns, &host, &node);
            sip.push(node);
        }

        // Users: UEs registered to their operator, and the enterprise PBX on its trunk.
        let wait = Duration::from_secs(5);
        let mut ues = BTreeMap::new();
        let users = [
            ("ue-a", ORIG, "pcscf-o"),
            ("ue-m", ORIG, "pcscf-o"),
            ("ue-x", ORIG, "pcscf-o"),
            ("ue-b", TERM, "pcscf-t"),
        ];
        for (id, domain, pcscf) in users {
            let entry = d.ue(id)?;
            // A UE's name for itself (Via sent-by); it is not in DNS, responses come back by
            // the Via's received address.
            let (ctx, dns) = b.ctx(id, &format!("{id}.{domain}"));
            let access = Access::Pcscf {
                pcscf_host: d.host(pcscf)?.into(),
                domain: domain.into(),
            };
            let dc = setup.dc.map(|d| ue::DcConfig {
                timers: dc_timers(),
                accept: d != DcSetup::Decline,
                unreachable: d == DcSetup::Unreachable,
                bootstrap: d == DcSetup::Bootstrap,
            });
            let ue = Ue::start(
                &ctx,
                UeConfig {
                    impu: entry.impu.clone(),
                    access,
                    timers,
                    wait,
                    auto_answer,
                    dc,
                },
            )
            .await?;
            dns.set_node_addr(ue.endpoint().local_addr());
            ues.insert(id.to_owned(), ue);
        }
        let pbx_user = d.ue("ue-pbx")?;
        let pbx_host = d.host("pbx")?.to_owned();
        let (ctx, dns) = b.ctx("pbx", &pbx_host);
        let access = Access::Trunk {
            ibcf_host: d.host("ibcf-o")?.into(),
        };
        let pbx = Ue::start(
            &ctx,
            UeConfig {
                impu: pbx_user.impu.clone(),
                access,
                timers,
                wait,
                auto_answer,
                dc: None,
            },
        )
        .await?;
        dns.set_node_addr(pbx.endpoint().local_addr());
        b.entries
            .push(Entry::new(&pbx_host).with_sip(pbx.endpoint().local_addr().port()));
        ues.insert("pbx".to_owned(), pbx);

        let dns = DnsServer::start(&b.entries, tap.clone())?;
        let _ = b.server.set(dns.local_addr());
        let mut addresses: Vec<(SocketAddr, String)> = Vec::new();
        addresses.push((dns.local_addr(), "dns".into()));
        addresses.extend(
            sip.iter()
                .map(|n| (n.endpoint.local_addr(), n.endpoint.node().to_owned())),
        );
        addresses.extend(
            ues.iter()
                .map(|(id, u)| (u.endpoint().local_addr(), id.clone())),
        );
        addresses.extend(
            http.iter()
                .map(|(id, server)| (server.local_addr(), id.clone())),
        );
        Ok(World {
            tap,
            description,
            ues,
            dc: setup.dc,
            mfs,
            authz,
            sip,
            http,
            dns: Some(dns),
            addresses,
            startup: began.elapsed(),
        })
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

    /// Stops every network function and the DNS; nothing keeps running afterwards.
    pub async fn shutdown(mut self) {
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
        for (_, server) in self.http.drain(..) {
            server.shutdown();
        }
        if let Some(dns) = self.dns.take() {
            dns.shutdown().await;
        }
    }
}

/// A SIP network function and its settings.
enum SipNf {
    Pcscf(cscf::pcscf::PcscfConfig),
    Scscf(cscf::scscf::ScscfConfig),
    As(ims_as::AsConfig),
    Ibcf(ibcf::IbcfConfig),
}
