//! STI-CR, the certificate repository (ATIS-1000080 §5.3): serves each STI-SP certificate chain
//! (PEM, end-entity first, `application/pem-certificate-chain`) at the URL that PASSporTs name
//! in `x5u`: `https://<host>/certs/<stem>.pem` (`sti-sp-1001`, `sti-sp-revoked`, …), with
//! `Cache-Control: max-age` so verifiers know how long they may keep it (RFC 9111).

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx};
use kit::x5u::PEM_CHAIN;
use kit::{Error, fixtures};

use crate::SpCert;

/// How long a verifier may keep a chain (seconds): a day, as certificates change rarely.
pub const CHAIN_MAX_AGE: u32 = 86_400;

/// The path a chain is served at.
pub fn chain_path(cert: &SpCert) -> String {
    format!("/certs/{}.pem", cert.stem())
}

/// The x5u URL of a chain kept by the repository at `host`.
pub fn x5u(host: &str, cert: &SpCert) -> String {
    format!("https://{host}{}", chain_path(cert))
}

/// The answer to a GET of `target`: the chain with its caching lifetime, or a 404. Pure.
fn answer(chains: &BTreeMap<String, Vec<u8>>, method: &str, target: &str) -> Response {
    match (method, chains.get(target)) {
        ("GET", Some(pem)) => {
            let mut response = Response::new(200, PEM_CHAIN, pem.clone());
            response
                .headers
                .push(("cache-control".into(), format!("max-age={CHAIN_MAX_AGE}")));
            response
        }
        ("GET", None) => Response::text(404, format!("no certificate at {target}")),
        _ => Response::text(405, "only GET"),
    }
}

/// Serves the chains of the given certificates.
pub async fn start(ctx: &Ctx, certs: &[SpCert]) -> Result<Server, Error> {
    let mut chains = BTreeMap::new();
    for cert in certs {
        chains.insert(chain_path(cert), fixtures::read(&cert.chain_path())?);
    }
    let chains = Arc::new(chains);
    let h = handler(move |req: Request, _peer: Peer| {
        let chains = chains.clone();
        async move { answer(&chains, &req.method, &req.target) }
    });
    ctx.https_server(h, ClientAuth::None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_served_with_their_caching_lifetime() {
        let cert = SpCert::of_spc("1001");
        assert_eq!(
            x5u("cr.example", &cert),
            "https://cr.example/certs/sti-sp-1001.pem"
        );
        let chains = BTreeMap::from([(chain_path(&cert), b"PEM".to_vec())]);
        let ok = answer(&chains, "GET", "/certs/sti-sp-1001.pem");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header_value("cache-control"), Some("max-age=86400"));
        assert_eq!(answer(&chains, "GET", "/certs/other.pem").status, 404);
        assert_eq!(
            answer(&chains, "POST", "/certs/sti-sp-1001.pem").status,
            405
        );
    }
}
