//! Network function families a solution may need beyond the core, as plug-ins: each is a
//! [`Family`] with a start function, and a solution lists the families its world needs
//! ([`crate::solution::Solution::needs`]). A new family is one constant here (or in a file of its
//! own) with its start function; the orchestrator starts whatever the variant needs, before the
//! core, and the core's NFs see which were started ([`Builder::started`]).

use std::fmt;

use kit::http::BoxFuture;

use super::start::Builder;
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
        let server =
            avatar_store::dac::start(&ctx, avatar_store::dac::DacConfig::from_fixtures()?).await?;
        b.add_https(&dns, &ctx, server);
        let (ctx, dns) = b.nf(XR_AS_O)?;
        let config = xr::xr_as::XrAsConfig {
            dcsf_host: b.host(DCSF_O)?,
            dac_host: b.host(DAC)?,
            mf_host: b.host(MF_O)?,
            catalogue: avatar::assets::Catalogue::load()?,
            tamper: b.setup().xr_tamper,
        };
        let server = xr::xr_as::start(&ctx, config).await?;
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
        let config = xr::dcsf::DcsfConfig {
            store: xr::dcsf::Store::load()?,
            avatar_mf_host: if avatars { Some(b.host(MF_O)?) } else { None },
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
            };
            let (mf, server) = xr::mf::start(&ctx, config).await?;
            b.add_https(&dns, &ctx, server);
            b.mfs.insert(id.to_owned(), mf);
        }
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
