//! STI-CR, the certificate repository (ATIS-1000080 §5.3): serves each STI-SP certificate chain
//! (PEM, end-entity first, `application/pem-certificate-chain`) at the URL that PASSporTs name
//! in `x5u`: `https://<host>/certs/sti-sp-<spc>.pem`.

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx};
use kit::x5u::PEM_CHAIN;
use kit::{Error, fixtures};

/// The path an STI-SP chain is served at.
pub fn chain_path(spc: &str) -> String {
    format!("/certs/sti-sp-{spc}.pem")
}

/// The x5u URL of an STI-SP certificate kept by the repository at `host`.
pub fn x5u(host: &str, spc: &str) -> String {
    format!("https://{host}{}", chain_path(spc))
}

/// Serves the chains of the given service provider codes.
pub async fn start(ctx: &Ctx, spcs: &[&str]) -> Result<Server, Error> {
    let mut chains = BTreeMap::new();
    for spc in spcs {
        chains.insert(
            chain_path(spc),
            fixtures::read(&format!("pki/sti-sp-{spc}.chain.pem"))?,
        );
    }
    let chains = Arc::new(chains);
    let h = handler(move |req: Request, _peer: Peer| {
        let chains = chains.clone();
        async move {
            match (req.method.as_str(), chains.get(&req.target)) {
                ("GET", Some(pem)) => Response::new(200, PEM_CHAIN, pem.clone()),
                ("GET", None) => Response::text(404, format!("no certificate at {}", req.target)),
                _ => Response::text(405, "only GET"),
            }
        }
    });
    ctx.https_server(h, ClientAuth::None).await
}
