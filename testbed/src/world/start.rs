//! Starting the world, one network function family at a time: STIR/SHAKEN, the HSSs, the
//! enterprise, the NEF and authorization server, the data channel network (MFs, DCSF), the two
//! IMS networks, and the users. Each family's start function gives its NFs their settings by
//! hostname only; the DNS that publishes every NF's address starts last ([`Builder::finish`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use kit::dns::{DnsServer, Entry};
use kit::http::Server;
use kit::node::{Ctx, WorldDns};
use kit::sipnode::SipNode;
use kit::tap::Tap;
use ue::{Access, Ue, UeConfig};

use super::{DcSetup, Description, ORIG, Options, TERM, World, dc_timers};
use crate::node::*;

/// The world as it is being started: what family start functions ([`super::family`]) use.
#[derive(Debug)]
pub struct Builder {
    pub(super) options: Options,
    description: Description,
    tap: Tap,
    /// The DNS server's address, known once it starts (last).
    server: Arc<OnceLock<SocketAddr>>,
    entries: Vec<Entry>,
    sip: Vec<Arc<SipNode>>,
    http: Vec<(String, Server)>,
    ues: BTreeMap<String, Ue>,
    /// The MFs started (by the DC network family).
    pub mfs: BTreeMap<String, Arc<xr::mf::Mf>>,
    /// The enterprise's authorization server (started by its family).
    pub authz: Option<third_party::authz::AuthzHandle>,
    /// Solution 9's DC ASs/AFs (started by their family).
    pub afs: BTreeMap<String, Arc<nef::af::DcAf>>,
}

impl Builder {
    pub(super) fn new(description: Description, options: Options) -> Self {
        Self {
            options,
            description,
            tap: Tap::new(),
            server: Arc::new(OnceLock::new()),
            entries: Vec::new(),
            sip: Vec::new(),
            http: Vec::new(),
            ues: BTreeMap::new(),
            mfs: BTreeMap::new(),
            authz: None,
            afs: BTreeMap::new(),
        }
    }

    /// The hostname of NF `id`.
    pub fn host(&self, id: &str) -> anyhow::Result<String> {
        self.description.host(id).map(str::to_owned)
    }

    /// The variant's threat switches.
    pub fn setup(&self) -> &super::Setup {
        &self.options.setup
    }

    /// The hostname of NF `id` if it was started (by a family started before the core).
    pub fn started(&self, id: &str) -> anyhow::Result<Option<String>> {
        let up = self.http.iter().any(|(n, _)| n == id);
        match up {
            true => self.host(id).map(Some),
            false => Ok(None),
        }
    }

    /// What the world gives node `id` at `host`.
    pub(super) fn ctx(&self, id: &str, host: &str) -> (Ctx, Arc<WorldDns>) {
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

    /// A context for NF `id` at its world.toml hostname.
    pub fn nf(&self, id: &str) -> anyhow::Result<(Ctx, Arc<WorldDns>)> {
        let host = self.host(id)?;
        Ok(self.ctx(id, &host))
    }

    /// Keeps an HTTPS server running without publishing it in DNS (a node outside the world's
    /// PKI, which no one is meant to reach).
    pub fn keep_unpublished(&mut self, id: &str, server: Server) {
        self.http.push((id.to_owned(), server));
    }

    /// Publishes an HTTPS server of the world under its NF's hostname.
    pub fn add_https(&mut self, dns: &WorldDns, ctx: &Ctx, server: Server) {
        let addr = server.local_addr();
        dns.set_node_addr(addr);
        self.entries
            .push(Entry::new(&ctx.host).with_https(addr.port()));
        self.http.push((ctx.id.clone(), server));
    }

    fn add_sip(&mut self, dns: &WorldDns, ctx: &Ctx, node: SipNode) {
        let addr = node.endpoint.local_addr();
        dns.set_node_addr(addr);
        self.entries
            .push(Entry::new(&ctx.host).with_sip(addr.port()));
        self.sip.push(Arc::new(node));
    }

    /// The STI-CA's repository (its CRL), the originating operator's STI-CR and STI-AS, the
    /// terminating operator's STI-VS. Ms serves only the operator's own IMS AS.
    pub(super) async fn stir_shaken(&mut self) -> anyhow::Result<()> {
        let (ctx, dns) = self.nf(STI_REPO)?;
        let server = sti::sti_repo::start(&ctx).await?;
        self.add_https(&dns, &ctx, server);
        let (ctx, dns) = self.nf(STI_CR_O)?;
        let certs = [
            sti::SpCert::of_spc("1001"),
            sti::SpCert::revoked(),
            sti::SpCert::wrong_tn(),
        ];
        let server = sti::sti_cr::start(&ctx, &certs).await?;
        self.add_https(&dns, &ctx, server);
        let (ctx, dns) = self.nf(STI_AS_O)?;
        let config = sti::sti_as::Config {
            cert: self.options.setup.sti_sp_cert.0.clone(),
            cr_host: self.host(STI_CR_O)?,
            clients: sti::MsClients::new([self.host(AS_O)?]),
        };
        let server = sti::sti_as::start(&ctx, config).await?.server;
        self.add_https(&dns, &ctx, server);
        let (ctx, dns) = self.nf(STI_VS_T)?;
        let config = sti::sti_vs::Config::new(sti::MsClients::new([self.host(AS_T)?]));
        let server = sti::sti_vs::start(&ctx, config).await?.server;
        self.add_https(&dns, &ctx, server);
        Ok(())
    }

    /// Each operator's HSS (the originating one takes provisioning from its NEF when there is
    /// one).
    pub(super) async fn hss(&mut self) -> anyhow::Result<()> {
        let setup = self.options.setup.clone();
        let (ctx, dns) = self.nf(HSS_O)?;
        let config = hss::HssConfig {
            storage: setup.hss_storage,
            provisioner: self.started(NEF_O)?,
            registrar: Some(self.host(SCSCF_O)?),
            fetch_id_info: setup.hss_fetch,
        };
        let server = hss::start(&ctx, hss::Db::load(ORIG)?, config).await?;
        self.add_https(&dns, &ctx, server);
        let (ctx, dns) = self.nf(HSS_T)?;
        let mut db = hss::Db::load(TERM)?;
        if setup.callee_unverified {
            db.update(&self.description.ue(UE_B)?.tn, |s| s.verification = false);
        }
        let config = hss::HssConfig {
            storage: setup.hss_storage,
            provisioner: None,
            registrar: Some(self.host(SCSCF_T)?),
            fetch_id_info: false,
        };
        let server = hss::start(&ctx, db, config).await?;
        self.add_https(&dns, &ctx, server);
        Ok(())
    }

    /// The enterprise's 3P ID server.
    pub(super) async fn enterprise(&mut self) -> anyhow::Result<()> {
        let (ctx, dns) = self.nf(ID3P)?;
        let server = third_party::id_server::start(
            &ctx,
            third_party::id_server::Store::load()?,
            self.options.setup.jcard_revision.clone(),
        )
        .await?;
        self.add_https(&dns, &ctx, server);
        Ok(())
    }

    /// The two IMS networks: P-CSCF, S-CSCF, IMS AS and IBCF on each side, wired by hostname.
    pub(super) async fn ims(&mut self) -> anyhow::Result<()> {
        let timers = self.options.timers;
        for (pcscf, scscf, as_id) in [(PCSCF_O, SCSCF_O, AS_O), (PCSCF_T, SCSCF_T, AS_T)] {
            let (ctx, dns) = self.nf(pcscf)?;
            let config = cscf::pcscf::PcscfConfig {
                scscf_host: self.host(scscf)?,
                // The operator's core toward its UEs: the S-CSCF, and the IMS AS, which stays
                // on the path of calls whose data channels it anchors.
                core: vec![scscf.to_owned(), as_id.to_owned()],
                timers,
            };
            let node = cscf::pcscf::start(&ctx, config).await?;
            self.add_sip(&dns, &ctx, node);
        }
        for (scscf, domain, pcscf, as_id, ibcf, hss) in [
            (SCSCF_O, ORIG, PCSCF_O, AS_O, IBCF_O, HSS_O),
            (SCSCF_T, TERM, PCSCF_T, AS_T, IBCF_T, HSS_T),
        ] {
            let (ctx, dns) = self.nf(scscf)?;
            let config = cscf::scscf::ScscfConfig {
                domain: domain.into(),
                as_host: self.host(as_id)?,
                ibcf_host: self.host(ibcf)?,
                hss_host: self.host(hss)?,
                // The operator's trust domain (RFC 3325): only these may mark a request as
                // originating (choice `trust-by-address`).
                trusted: vec![pcscf.to_owned(), as_id.to_owned(), ibcf.to_owned()],
                timers,
                digest_md5: self.options.setup.digest_md5,
            };
            let node = cscf::scscf::start(&ctx, config).await?;
            self.add_sip(&dns, &ctx, node);
        }
        self.ibcfs().await?;
        self.application_servers().await
    }

    async fn ibcfs(&mut self) -> anyhow::Result<()> {
        let timers = self.options.timers;
        let sides = [
            (IBCF_O, ORIG, SCSCF_O, TERM, IBCF_T, true),
            (IBCF_T, TERM, SCSCF_T, ORIG, IBCF_O, false),
        ];
        for (id, domain, scscf, peer_domain, peer, originating) in sides {
            let (ctx, dns) = self.nf(id)?;
            let config = ibcf::IbcfConfig {
                domain: domain.into(),
                scscf_host: self.host(scscf)?,
                peers: [(peer_domain.to_owned(), self.host(peer)?)].into(),
                trunk: originating.then(|| ibcf::Trunk {
                    host: self.host(PBX).unwrap_or_default(),
                    domain: "enterprise.example".into(),
                    // A client without the trunk's certificate is let in and refused with a
                    // 403 the trace shows (a rogue CA's certificate fails the handshake).
                    client_auth: kit::node::ClientAuth::Optional,
                }),
                tamper: if originating {
                    self.options.setup.nni_tamper.clone()
                } else {
                    None
                },
                answer_tamper: if originating {
                    None
                } else {
                    self.options.setup.nni_answer_tamper.clone()
                },
                timers,
            };
            let node = ibcf::start(&ctx, config).await?;
            let tls = node.endpoint.tls_addr();
            self.add_sip(&dns, &ctx, node);
            // The trunk side also publishes its SIP over TLS port (NAPTR SIPS+D2T, SRV _sips._tcp).
            if let Some(tls) = tls
                && let Some(entry) = self.entries.pop()
            {
                self.entries.push(entry.with_sips(tls.port()));
            }
        }
        Ok(())
    }

    /// Each operator's IMS AS, running the solution's flow.
    async fn application_servers(&mut self) -> anyhow::Result<()> {
        let nef = self.started(NEF_O)?;
        let hss_t = nef.as_ref().map(|_| self.host(HSS_T)).transpose()?;
        // Each AS runs its own instance of the flow (a flow may keep per-call state).
        let (flow_o, flow_t) = ((self.options.as_flow)(), (self.options.as_flow)());
        // With the AOSs (solution 8) each AS looks avatars up at its own and works on the
        // answers: the terminating one has them signed, the originating one verified.
        let avatars = |aos: &str, sti: &str| -> anyhow::Result<Option<ims_as::AvatarHosts>> {
            Ok(match self.started(aos)? {
                Some(aos_host) => Some(ims_as::AvatarHosts {
                    aos_host,
                    answer_sti_host: self.host(sti)?,
                }),
                None => None,
            })
        };
        let avatars_o = avatars(AOS_O, STI_VS_O)?;
        let dcsf = match self.started(DC_AS_O)? {
            Some(_) => Some(self.host(DCSF_O)?),
            None => None,
        };
        let avatars_t = avatars(AOS_T, STI_AS_T)?;
        let originating = ims_as::AsConfig {
            role: ims_as::Role::Originating {
                hss_host: self.host(HSS_O)?,
                sti_as_host: self.host(STI_AS_O)?,
            },
            flow: flow_o,
            nef_host: nef,
            trunks: self.description.trunks(),
            timers: self.options.timers,
            mf_host: self.started(MF_O)?,
            // With an XR AS (the avatar solutions) the caller's MF offers the callee the
            // avatar media channel in the INVITE.
            avatar_media: self.started(XR_AS_O)?.is_some(),
            avatars: avatars_o,
            // Solution 7: the XR AS that may ask it to anchor a call's media.
            xr_as_host: self.started(XR_AS_O)?,
            // Solution 9: the DCSF it reports DC events to and takes DC control from.
            dcsf_host: dcsf.clone(),
        };
        let terminating = ims_as::AsConfig {
            role: ims_as::Role::Terminating {
                sti_vs_host: self.host(STI_VS_T)?,
                // The flows that verify only for subscribed callees ask the callee's HSS: the
                // worlds with the NEF family (solution 4).
                hss_host: hss_t,
            },
            flow: flow_t,
            nef_host: None,
            trunks: Vec::new(),
            timers: self.options.timers,
            mf_host: self.started(MF_T)?,
            avatar_media: false,
            avatars: avatars_t,
            xr_as_host: None,
            dcsf_host: dcsf,
        };
        for (id, config) in [(AS_O, originating), (AS_T, terminating)] {
            let (ctx, dns) = self.nf(id)?;
            let started = ims_as::start(&ctx, config).await?;
            self.add_sip(&dns, &ctx, started.sip);
            // A flow's HTTPS server (solution 7: the NEF asks the IMS AS) beside the SIP one.
            if let Some(server) = started.https
                && let Some(entry) = self.entries.pop()
            {
                self.entries
                    .push(entry.with_https(server.local_addr().port()));
                self.http.push((ctx.id.clone(), server));
            }
        }
        Ok(())
    }

    /// The users: UEs registered to their operator, and the enterprise PBX on its trunk.
    pub(super) async fn users(&mut self) -> anyhow::Result<()> {
        let users = [
            (UE_A, ORIG, PCSCF_O),
            (UE_M, ORIG, PCSCF_O),
            (UE_X, ORIG, PCSCF_O),
            (UE_B, TERM, PCSCF_T),
        ];
        for (id, domain, pcscf) in users {
            let access = Access::Pcscf {
                pcscf_host: self.host(pcscf)?,
                domain: domain.into(),
            };
            let impu = self.description.ue(id)?.impu.clone();
            let dc = self.options.setup.dc.map(|d| ue::DcConfig {
                timers: dc_timers(),
                accept: d != DcSetup::Decline,
                unreachable: d == DcSetup::Unreachable,
                bootstrap: d == DcSetup::Bootstrap,
            });
            // A UE's name for itself (Via sent-by); it is not in DNS, responses come back by
            // the Via's received address.
            self.user(id, &format!("{id}.{domain}"), impu, access, dc)
                .await?;
        }
        let access = Access::Trunk {
            ibcf_host: self.host(IBCF_O)?,
            tls: self.options.setup.trunk_tls.clone(),
        };
        let impu = self.description.ue("ue-pbx")?.impu.clone();
        let host = self.host(PBX)?;
        let port = self.user(PBX, &host, impu, access, None).await?;
        self.entries.push(Entry::new(&host).with_sip(port));
        Ok(())
    }

    /// Starts one user agent; its SIP port.
    async fn user(
        &mut self,
        id: &str,
        host: &str,
        impu: String,
        access: Access,
        dc: Option<ue::DcConfig>,
    ) -> anyhow::Result<u16> {
        let (ctx, dns) = self.ctx(id, host);
        let credential = self.description.credential(&impu)?;
        let config = UeConfig {
            impu,
            impi: credential.as_ref().map(|c| c.impi.clone()),
            password: credential.map(|c| c.password),
            access,
            timers: self.options.timers,
            wait: std::time::Duration::from_secs(5),
            auto_answer: self.options.auto_answer,
            dc,
        };
        let ue = Ue::start(&ctx, config).await?;
        let addr = ue.endpoint().local_addr();
        dns.set_node_addr(addr);
        self.ues.insert(id.to_owned(), ue);
        Ok(addr.port())
    }

    /// Starts the DNS with every NF's records; the world is up.
    pub(super) fn finish(self) -> anyhow::Result<World> {
        let dns = DnsServer::start(&self.entries, self.tap.clone())?;
        let _ = self.server.set(dns.local_addr());
        let mut addresses: Vec<(SocketAddr, String)> = vec![(dns.local_addr(), DNS.into())];
        addresses.extend(
            self.sip
                .iter()
                .map(|n| (n.endpoint.local_addr(), n.endpoint.node().to_owned())),
        );
        addresses.extend(
            self.ues
                .iter()
                .map(|(id, u)| (u.endpoint().local_addr(), id.clone())),
        );
        addresses.extend(
            self.http
                .iter()
                .map(|(id, server)| (server.local_addr(), id.clone())),
        );
        let switch = super::Switch::new(
            self.tap.clone(),
            self.http,
            self.sip.clone(),
            Some(dns),
            self.mfs.clone(),
        );
        Ok(World {
            tap: self.tap,
            description: self.description,
            ues: self.ues,
            dc: self.options.setup.dc,
            mfs: self.mfs,
            authz: self.authz,
            afs: self.afs,
            switch,
            sip: self.sip,
            addresses,
            startup: std::time::Duration::ZERO,
        })
    }
}
