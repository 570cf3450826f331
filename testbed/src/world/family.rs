//! Network function families a solution may need beyond the core, as plug-ins: each is a
//! [`Family`] with a start function, and a solution lists the families its world needs
//! ([`crate::solution::Solution::needs`]). A new family is one constant here (or in a file of its
//! own) with its start function; the orchestrator starts whatever the variant needs, before the
//! core, and the core's NFs see which were started ([`Builder::started`]).

use std::fmt;

use kit::http::BoxFuture;

use super::start::Builder;
use super::{ORIG, TERM};
use crate::node::*;

/// How a family is started.
pub type Start = for<'a> fn(&'a mut Builder) -> BoxFuture<'a, anyhow::Result<()>>;

/// A family of network functions.
#[derive(Clone, Copy)]
pub struct Family {
    /// What it is.
    pub name: &'static str,
    /// Starts its NFs.
    pub start: Start,
}

impl fmt::Debug for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Family {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Family {}

/// The originating operator's NEF and the enterprise's 3P authorization server (solution 4).
pub const NEF_AUTHZ: Family = Family {
    name: "NEF and 3P authorization server",
    start: start_nef_authz,
};

/// Each operator's MF and the DCSF: bootstrap and application data channels.
pub const DC_NETWORK: Family = Family {
    name: "MFs and DCSF",
    start: start_dc_network,
};

/// The avatar solutions' own NFs (5 and 6): the originating operator's XR AS and the avatar
/// provider's BAR and DAC. Started before [`DC_NETWORK`], whose MFs and DCSF then talk to them.
pub const AVATAR: Family = Family {
    name: "XR AS, BAR and DAC",
    start: start_avatar,
};

fn start_avatar(b: &mut Builder) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let (ctx, dns) = b.nf(BAR)?;
        let server =
            avatar_store::bar::start(&ctx, avatar_store::bar::BarConfig::from_fixtures()?).await?;
        b.add_https(&dns, &ctx, server);
        let (ctx, dns) = b.nf(DAC)?;
        let mut config = avatar_store::dac::DacConfig::from_fixtures()?;
        if b.setup().dac_expired_metadata {
            config.metadata_lifetime = -1;
        }
        let server = avatar_store::dac::start(&ctx, config).await?;
        b.add_https(&dns, &ctx, server);
        let (ctx, dns) = b.nf(XR_AS_O)?;
        let config = xr::xr_as::XrAsConfig {
            dcsf_host: b.host(DCSF_O)?,
            dac_host: b.host(DAC)?,
            mf_host: b.host(MF_O)?,
            catalogue: avatar::assets::Catalogue::load()?,
            tamper: b.setup().xr_tamper.clone(),
            // Solution 7: the NEF it gets access tokens from (when the world has one), the
            // DAC's certificate it verifies metadata with, and whether it presents its own
            // client certificate (the "no valid certificate" threat: it does not).
            nef_host: b.started(NEF_O)?,
            dac_certificate: xr::trust::dac_certificate()?,
            client_certificate: !b.setup().xr_without_certificate,
            // Solution 7 (with a NEF): it asks the caller's IMS AS to anchor the media.
            ims_as_host: match b.started(NEF_O)? {
                Some(_) => Some(b.host(AS_O)?),
                None => None,
            },
        };
        let server = xr::xr_as::start(&ctx, config).await?;
        b.add_https(&dns, &ctx, server);
        Ok(())
    })
}

/// Solution 8's NFs: each operator's AOS, and the STIR services that work on answers — the
/// terminating operator's STI-AS (with its STI-CR) and the originating operator's STI-VS. Each
/// AOS lets the STIR services that sign or verify its objects read them (`rcdi`).
pub const AOS: Family = Family {
    name: "AOSs and STIR on answers",
    start: start_aos,
};

fn start_aos(b: &mut Builder) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let (sti_as_o, sti_vs_o) = (b.host(STI_AS_O)?, b.host(STI_VS_O)?);
        let (sti_as_t, sti_vs_t) = (b.host(STI_AS_T)?, b.host(STI_VS_T)?);
        for (id, domain, as_id, signers) in [
            (AOS_O, ORIG, AS_O, vec![sti_as_o, sti_vs_t]),
            (AOS_T, TERM, AS_T, vec![sti_as_t, sti_vs_o]),
        ] {
            let (ctx, dns) = b.nf(id)?;
            let config =
                avatar_store::aos::AosConfig::from_fixtures(domain, vec![b.host(as_id)?], signers)?;
            let server = avatar_store::aos::start(&ctx, config).await?;
            b.add_https(&dns, &ctx, server);
        }
        let (ctx, dns) = b.nf(STI_CR_T)?;
        let server = sti::sti_cr::start(&ctx, &[sti::SpCert::of_spc("1002")]).await?;
        b.add_https(&dns, &ctx, server);
        let (ctx, dns) = b.nf(STI_AS_T)?;
        let config = sti::sti_as::Config {
            cert: sti::SpCert::of_spc("1002"),
            cr_host: b.host(STI_CR_T)?,
            clients: sti::MsClients::new([b.host(AS_T)?]),
        };
        let server = sti::sti_as::start(&ctx, config).await?.server;
        b.add_https(&dns, &ctx, server);
        let (ctx, dns) = b.nf(STI_VS_O)?;
        let config = sti::sti_vs::Config::new(sti::MsClients::new([b.host(AS_O)?]));
        let server = sti::sti_vs::start(&ctx, config).await?.server;
        b.add_https(&dns, &ctx, server);
        Ok(())
    })
}

/// Solution 7's NEF (acting as CAPIF CF/NRF): the originating operator's NEF, granting the XR
/// AS access tokens for avatar metadata (`[avatar]` of `fixtures/nef.toml`). Started before
/// [`AVATAR`], whose XR AS asks it.
pub const NEF_AVATAR: Family = Family {
    name: "NEF (avatar access tokens)",
    start: start_nef_avatar,
};

fn start_nef_avatar(b: &mut Builder) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let (ctx, dns) = b.nf(NEF_O)?;
        let mut config = nef::NefConfig::load()?;
        if b.setup().nef_expired_tokens
            && let Some(avatar) = config.avatar.as_mut()
        {
            avatar.token_lifetime = -1;
        }
        let server = nef::start(&ctx, config).await?;
        b.add_https(&dns, &ctx, server);
        Ok(())
    })
}

fn start_nef_authz(b: &mut Builder) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let (ctx, dns) = b.nf(NEF_O)?;
        let server = nef::start(&ctx, nef::NefConfig::load()?).await?;
        b.add_https(&dns, &ctx, server);
        let (ctx, dns) = b.nf(AUTHZ3P)?;
        let config = third_party::authz::AuthzConfig {
            nef_host: b.host(NEF_O)?,
            stale_tokens: b.setup().stale_tokens,
        };
        let started = third_party::authz::start(&ctx, config).await?;
        b.authz = Some(started.handle);
        b.add_https(&dns, &ctx, started.server);
        Ok(())
    })
}

/// The DCSF and each operator's MF: the originating one answers the caller's network-bound
/// sections, the terminating one offers the callee its bootstrap channel. One DCSF serves
/// both operators (choice `dc-bootstrap-anchor`).
fn start_dc_network(b: &mut Builder) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        // With the avatar NFs (started before), the caller's MF and the DCSF serve them.
        let avatars = b.started(XR_AS_O)?.is_some();
        let (ctx, dns) = b.nf(DCSF_O)?;
        // With the DC exposure family (solution 9), the DCSF takes the NEF's subscriptions and
        // control requests, the IMS ASs' DC events, and has the originating IMS AS and MF
        // change a call's data channels.
        let exposure = match b.started(DC_AS_O)? {
            Some(_) => Some(xr::dcsf::Exposure {
                nef_host: b.host(NEF_O)?,
                as_hosts: vec![b.host(AS_O)?, b.host(AS_T)?],
                as_host: b.host(AS_O)?,
                mf_host: b.host(MF_O)?,
            }),
            None => None,
        };
        let config = xr::dcsf::DcsfConfig {
            store: xr::dcsf::Store::load()?,
            avatar_mf_host: if avatars { Some(b.host(MF_O)?) } else { None },
            exposure,
        };
        let server = xr::dcsf::start(&ctx, config).await?;
        b.add_https(&dns, &ctx, server);
        for id in [MF_O, MF_T] {
            let (ctx, dns) = b.nf(id)?;
            let serves_avatars = avatars && id == MF_O;
            let config = xr::mf::MfConfig {
                dcsf_host: b.host(DCSF_O)?,
                timers: super::dc_timers(),
                xr_as_host: if serves_avatars {
                    b.started(XR_AS_O)?
                } else {
                    None
                },
                bar_host: if serves_avatars {
                    b.started(BAR)?
                } else {
                    None
                },
                // Solution 7, NOTE 10: an XR AS outside the trust domain has its metadata
                // verified again by the caller's MF.
                verify_metadata: serves_avatars && b.setup().xr_as_untrusted,
            };
            let (mf, server) = xr::mf::start(&ctx, config).await?;
            b.add_https(&dns, &ctx, server);
            b.mfs.insert(id.to_owned(), mf);
        }
        Ok(())
    })
}

/// Solution 9's NFs: the originating operator's NEF with its DC exposure APIs (policy and
/// consent from the HSS/UDM, subscriptions and control at the DCSF) and the DC ASs/AFs that use
/// them: the operator's own, the avatar provider's (untrusted), the whiteboard provider's, and a
/// rogue one whose certificate comes from the rogue CA. Started before [`DC_NETWORK`], whose
/// DCSF then takes the NEF's subscriptions and the IMS AS's DC events.
pub const DC_EXPOSURE: Family = Family {
    name: "NEF (DC exposure) and DC ASs/AFs",
    start: start_dc_exposure,
};

fn start_dc_exposure(b: &mut Builder) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let (ctx, dns) = b.nf(NEF_O)?;
        let mut config = nef::NefConfig::load()?;
        if let Some(exposure) = config.exposure.as_mut() {
            exposure.hss_host = b.host(HSS_O)?;
            exposure.dcsf_host = b.host(DCSF_O)?;
            if b.setup().nef_expired_tokens {
                exposure.token_lifetime = -1;
            }
        }
        let server = nef::start(&ctx, config).await?;
        b.add_https(&dns, &ctx, server);
        let nef_host = b.host(NEF_O)?;
        for id in [DC_AS_O, DC_AS_3P, DC_AS_WB] {
            let (ctx, dns) = b.nf(id)?;
            let config = nef::af::AfConfig {
                nef_host: nef_host.clone(),
                certificate: nef::af::AfCertificate::World,
            };
            let (af, server) = nef::af::start(&ctx, config).await?;
            b.add_https(&dns, &ctx, server);
            b.afs.insert(id.to_owned(), af);
        }
        // The rogue AF: outside the world's PKI, reachable by no one.
        let (ctx, _) = b.ctx(DC_AS_ROGUE, DC_AS_ROGUE_HOST);
        let config = nef::af::AfConfig {
            nef_host,
            certificate: nef::af::AfCertificate::Rogue,
        };
        let (af, server) = nef::af::start(&ctx, config).await?;
        b.keep_unpublished(DC_AS_ROGUE, server);
        b.afs.insert(DC_AS_ROGUE.to_owned(), af);
        Ok(())
    })
}

/// `a` and then whatever of `b` is not in `a`.
pub fn union(a: &[Family], b: &[Family]) -> Vec<Family> {
    let mut all = a.to_vec();
    for f in b {
        if !all.contains(f) {
            all.push(*f);
        }
    }
    all
}
