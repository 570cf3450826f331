//! The HSS of one operator: the subscription data the TR's solutions read (third-party ID
//! authorisation and the 3P ID server's address for TR 33.790 §6.2; verification subscription
//! on the terminating side), loaded from `fixtures/subscribers.toml` ([`Db`]) and served over the
//! Sh-like HTTPS interface (`proto::wire::sh`, ARCHITECTURE.md "Interfaces", [`answer`]) to the operator's IMS AS
//! with mutual TLS. In solution #4 the NEF provisions designated IMPUs here ([`provision`]).
//!
//! It is not a repository: it hands out the 3P ID information or the URI it holds and fetches
//! nothing (choice `6.1-hss-fetch`). The only action it notes is provisioning.
#![warn(missing_docs)]

mod db;
pub mod provision;
mod sh;

use std::sync::{Arc, RwLock};

use kit::Error;
use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx};
use proto::trace::{Act, Note};
use proto::wire::authz::PROVISION_PATH;
use proto::wire::sh::Storage;

pub use db::Db;
pub use provision::provision;
pub use sh::answer;

/// Serves one provisioning request: applies it, and notes it provisioned or refused.
fn serve_provisioning(
    node: &Ctx,
    db: &RwLock<Db>,
    provisioner: Option<&str>,
    req: &Request,
    peer: &Peer,
) -> Response {
    let result = {
        let mut db = db.write().unwrap_or_else(|p| p.into_inner());
        provision(&mut db, provisioner, peer.certificate.as_deref(), &req.body)
    };
    let (note, response) = match result {
        Ok(response) => (
            Note::done(
                Act::ProvisionImpu,
                "provision the designated IMPU and its 3P ID service profile",
            ),
            response,
        ),
        Err(refusal) => (
            Note::refused(
                Act::ProvisionImpu,
                refusal.reason(),
                format!("refuse provisioning: {refusal}"),
            ),
            refusal.response(),
        ),
    };
    node.note(peer.msg, note);
    response
}

/// Starts the HSS over HTTPS; only clients with a certificate of the world's CA are served.
/// `storage` says whether it hands out data or pointers where both are provisioned;
/// `provisioner` is the NEF allowed to provision designated IMPUs, if any.
pub async fn start(
    ctx: &Ctx,
    db: Db,
    storage: Storage,
    provisioner: Option<String>,
) -> Result<Server, Error> {
    let db = Arc::new(RwLock::new(db));
    let node = ctx.clone();
    let h = handler(move |req: Request, peer: Peer| {
        let db = db.clone();
        let node = node.clone();
        let provisioner = provisioner.clone();
        async move {
            if req.target == PROVISION_PATH && req.method == "POST" {
                return serve_provisioning(&node, &db, provisioner.as_deref(), &req, &peer);
            }
            let db = db.read().unwrap_or_else(|p| p.into_inner());
            answer(&db, storage, &req.method, &req.target)
        }
    });
    ctx.https_server(h, ClientAuth::Required).await
}
