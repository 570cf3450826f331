//! The STI-CA's repository (ATIS-1000080 §6.3.5, RFC 5280 §4.2.1.13): serves the STI-ICA's
//! certificate revocation list, DER (`application/pkix-crl`), at the distribution point the
//! STI-SP certificates name: `https://certs.sti.example/crl/sti-ica.crl` (the world's
//! `sti-repo`), with `Cache-Control: max-age` so verifiers know how long they may keep it.

use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx};
use kit::x5u::PKIX_CRL;
use kit::{Error, fixtures};

/// The path of the STI-ICA's CRL (the STI-SP certificates' distribution point).
pub const CRL_PATH: &str = "/crl/sti-ica.crl";
/// The fixture holding that CRL (PEM; served as DER).
pub const CRL_FIXTURE: &str = "pki/sti-ica.crl.pem";
/// How long a verifier may keep the CRL (seconds).
pub const CRL_MAX_AGE: u32 = 3600;

/// The CRL's URL on the repository at `host`.
pub fn crl_url(host: &str) -> String {
    format!("https://{host}{CRL_PATH}")
}

/// The answer to `method target`: the CRL with its caching lifetime, or a 404. Pure.
fn answer(crl: &[u8], method: &str, target: &str) -> Response {
    match (method, target) {
        ("GET", CRL_PATH) => {
            let mut response = Response::new(200, PKIX_CRL, crl.to_vec());
            response
                .headers
                .push(("cache-control".into(), format!("max-age={CRL_MAX_AGE}")));
            response
        }
        ("GET", _) => Response::text(404, format!("nothing at {target}")),
        _ => Response::text(405, "only GET"),
    }
}

/// Serves the fixture CRL of the STI-ICA.
pub async fn start(ctx: &Ctx) -> Result<Server, Error> {
    let pem = fixtures::read(CRL_FIXTURE)?;
    let der = stir::cert::crl_der(&pem).map_err(|e| Error::Pem {
        detail: format!("{CRL_FIXTURE}: {e}"),
    })?;
    let crl: Arc<[u8]> = der.into();
    let h = handler(move |req: Request, _peer: Peer| {
        let crl = crl.clone();
        async move { answer(&crl, &req.method, &req.target) }
    });
    ctx.https_server(h, ClientAuth::None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crl_is_served_as_der_with_its_caching_lifetime() {
        let ok = answer(b"DER", "GET", CRL_PATH);
        assert_eq!((ok.status, &ok.body[..]), (200, &b"DER"[..]));
        assert_eq!(ok.header_value("content-type"), Some(PKIX_CRL));
        assert_eq!(ok.header_value("cache-control"), Some("max-age=3600"));
        assert_eq!(answer(b"DER", "GET", "/crl/other.crl").status, 404);
        assert_eq!(answer(b"DER", "PUT", CRL_PATH).status, 405);
        assert_eq!(
            crl_url("certs.sti.example"),
            "https://certs.sti.example/crl/sti-ica.crl"
        );
    }
}
