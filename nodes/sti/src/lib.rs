//! The STIR/SHAKEN network functions of the simulated world (TS 24.229 Annex V, ATIS-1000074):
//! the signing server [`sti_as`], the verification server [`sti_vs`] and the certificate
//! repository [`sti_cr`]. Each serves HTTPS with the fixture PKI; the token logic is `stir`'s.

pub mod sti_as;
pub mod sti_cr;
pub mod sti_vs;

use kit::http::{Client, Request};
use stir::Rcd;
use stir::rcd::Fetched;

/// Largest RCD resource (jCard, icon) fetched for an `rcdi` digest.
pub const MAX_RCD_BYTES: usize = 64 * 1024;

/// Fetches the content behind the URIs an `rcd` claim names (`jcl`, `icn`) over HTTPS, for
/// computing or checking `rcdi` (RFC 9795 §6.2.2). A URI that cannot be fetched is left out:
/// the signer then fails loudly, the verifier reports the digest as not fetched.
pub async fn fetch_rcd_content(client: &Client, rcd: &Rcd) -> Fetched {
    let mut fetched = Fetched::new();
    for uri in [&rcd.jcl, &rcd.icn].into_iter().flatten() {
        if !uri.starts_with("https://") {
            continue;
        }
        if let Ok(response) = client.send(Request::get(uri.as_str())).await
            && response.status == 200
            && response.body.len() <= MAX_RCD_BYTES
        {
            fetched.insert(uri.clone(), response.body.to_vec());
        }
    }
    fetched
}

/// `{"error": …}` with a 400, the Ms error shape.
pub(crate) fn ms_error(kind: &str, detail: impl std::fmt::Display) -> kit::http::Response {
    kit::node::json_response(
        400,
        &stir::ms::ErrorBody {
            error: format!("{kind}: {detail}"),
        },
    )
}
