//! The HSS of one operator: the subscription data the TR's solutions read (third-party ID
//! authorisation and the 3P ID server's address for TR 33.790 §6.2; verification subscription
//! on the terminating side), loaded from `fixtures/subscribers.toml` ([`Db`]) and served over
//! the Sh-like HTTPS interface (`proto::wire::sh`, ARCHITECTURE.md "Interfaces", [`answer`]) to
//! the operator's IMS AS with mutual TLS. In solution #4 the NEF provisions designated IMPUs
//! here ([`provision`](mod@provision)).
//!
//! It is not a repository. For solution 1 it hands out the 3P ID information or the URI it
//! holds; configured to ([`HssConfig::fetch_id_info`]), it follows a URI itself and hands out
//! what the repository returns (§6.1.2 step 4, "if needed", choice `6.1-hss-fetch`).
//!
//! For authenticated registration it serves each private user identity's SIP Digest
//! credential (H(A1) with SHA-256, RFC 7616/8760) to the operator's S-CSCF only ([`auth`]).
//! For solution 7 it serves each subscriber's avatar entitlements to the IMS AS ([`avatars`],
//! TR 33.790 §6.7.2.1 step 3). For solution 9 it holds the DC exposure policy and the
//! subscribers' consent and serves them to the NEF only ([`exposure`], §6.9.2 step 2).
//! Actions it notes: provisioning (`ProvisionImpu`, done or refused), a credential refused
//! to a client that is not the S-CSCF (`ServeCredential`, refused), and avatar entitlements
//! refused to a client without a usable certificate ([`avatars::ACT`], refused); the DC
//! exposure policy served or refused (`ServeExposurePolicy`).
#![warn(missing_docs)]

pub mod auth;
pub mod avatars;
mod db;
pub mod exposure;
pub mod provision;
mod sh;

use std::sync::{Arc, RwLock};

use kit::Error;
use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx};
use proto::trace::{Act, Note};
use proto::wire::authz::PROVISION_PATH;
use proto::wire::exposure::HSS_POLICY_PATH;
use proto::wire::sh::{IdInfo, IdInfoAnswer, Storage};

pub use db::{ALGORITHM, Db, ha1};
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

/// Serves one credential request (`GET /sh/v1/auth/{impi}`): the credential, or the refusal
/// (noted when it is about the client).
fn serve_credential(
    node: &Ctx,
    db: &RwLock<Db>,
    registrar: Option<&str>,
    impi: &str,
    peer: &Peer,
) -> Response {
    let db = db.read().unwrap_or_else(|p| p.into_inner());
    match auth::answer(&db, registrar, peer.certificate.as_deref(), impi) {
        Ok(response) => response,
        Err(refusal) => {
            if refusal.noted() {
                node.note(
                    peer.msg,
                    Note::refused(
                        Act::ServeCredential,
                        refusal.reason(),
                        format!("refuse the Digest credential of {impi}: {refusal}"),
                    ),
                );
            }
            refusal.response()
        }
    }
}

/// Serves one avatar entitlement request (`GET /sh/v1/avatars/{impu}`): the entitlements, or
/// the refusal (noted when it is about the client).
fn serve_avatars(node: &Ctx, db: &RwLock<Db>, impu: &str, peer: &Peer) -> Response {
    let db = db.read().unwrap_or_else(|p| p.into_inner());
    match avatars::answer(&db, peer.certificate.as_deref(), impu) {
        Ok(response) => response,
        Err(refusal) => {
            if refusal.noted() {
                node.note(
                    peer.msg,
                    Note::refused(
                        avatars::ACT,
                        refusal.reason(),
                        format!("refuse the avatar entitlements of {impu}: {refusal}"),
                    ),
                );
            }
            refusal.response()
        }
    }
}

/// Serves one DC exposure policy request (`GET HSS_POLICY_PATH?af=…&impu=…`): the AF's policy
/// and the subscriber's consent to the NEF, noted served or refused.
fn serve_policy(
    node: &Ctx,
    policy: &exposure::Policy,
    nef: Option<&str>,
    req: &Request,
    peer: &Peer,
) -> Response {
    if req.method != "GET" {
        return Response::text(405, "only GET");
    }
    match exposure::decide(policy, nef, peer.certificate.as_deref(), &req.target) {
        Ok((query, answer)) => {
            let label = exposure::label(&query, &answer);
            node.note(peer.msg, Note::done(Act::ServeExposurePolicy, label));
            exposure::response(&answer)
        }
        Err(refusal) => {
            let label = format!("refuse the DC exposure policy: {refusal}");
            node.note(
                peer.msg,
                Note::refused(Act::ServeExposurePolicy, refusal.reason(), label),
            );
            refusal.response()
        }
    }
}

/// The URI in a 3P ID information answer that holds only a URI.
fn pointer(response: &Response) -> Option<String> {
    if response.status != 200 {
        return None;
    }
    match serde_json::from_slice::<IdInfoAnswer>(&response.body).ok()? {
        IdInfoAnswer {
            info: None,
            url: Some(url),
        } => Some(url),
        _ => None,
    }
}

/// What an HSS serves beyond reading subscriptions, and to whom.
#[derive(Debug, Clone, Default)]
pub struct HssConfig {
    /// Whether it hands out data or pointers where both are provisioned.
    pub storage: Storage,
    /// The NEF allowed to provision designated IMPUs and to read the DC exposure policy (its
    /// TLS host name), if any.
    pub provisioner: Option<String>,
    /// The S-CSCF allowed to fetch Digest credentials (its TLS host name), if any.
    pub registrar: Option<String>,
    /// Solution 1, §6.1.2 step 4: where its answer would be a URI, the HSS fetches the 3P ID
    /// information from the repository itself (mutual TLS) and hands out the information.
    pub fetch_id_info: bool,
}

/// §6.1.2 step 4: the 3P ID information behind `url`, fetched by the HSS (mutual TLS), as the
/// answer to the IMS AS; a 502 naming the fault when the repository does not deliver it.
async fn fetch_id_info(client: &kit::http::Client, url: &str) -> Response {
    let failed = |detail: String| {
        Response::text(
            502,
            format!("the HSS could not fetch the 3P ID information from {url}: {detail}"),
        )
    };
    let response = match client.send(kit::http::Request::get(url)).await {
        Ok(response) => response,
        Err(e) => return failed(e.to_string()),
    };
    if response.status != 200 {
        return failed(format!("the repository answered {}", response.status));
    }
    match serde_json::from_slice::<IdInfo>(&response.body) {
        Ok(info) => kit::node::json_response(
            200,
            &IdInfoAnswer {
                info: Some(info),
                url: None,
            },
        ),
        Err(e) => failed(format!("its answer is not 3P ID information: {e}")),
    }
}

/// Starts the HSS over HTTPS; only clients with a certificate of the world's CA are served.
/// The DC exposure policy (`fixtures/dc-exposure.toml`) is loaded here: an error if it cannot
/// be.
pub async fn start(ctx: &Ctx, db: Db, config: HssConfig) -> Result<Server, Error> {
    let db = Arc::new(RwLock::new(db));
    let policy = Arc::new(exposure::Policy::load()?);
    let node = ctx.clone();
    let config = Arc::new(config);
    let repository = Arc::new(ctx.https_client(true)?);
    let h = handler(move |req: Request, peer: Peer| {
        let db = db.clone();
        let node = node.clone();
        let config = config.clone();
        let policy = policy.clone();
        let repository = repository.clone();
        async move {
            let path = req.target.split('?').next().unwrap_or_default();
            if path == HSS_POLICY_PATH {
                let nef = config.provisioner.as_deref();
                return serve_policy(&node, &policy, nef, &req, &peer);
            }
            if req.target == PROVISION_PATH && req.method == "POST" {
                let provisioner = config.provisioner.as_deref();
                return serve_provisioning(&node, &db, provisioner, &req, &peer);
            }
            if let Some(impi) = req.target.strip_prefix(auth::PREFIX) {
                if req.method != "GET" {
                    return Response::text(405, "only GET");
                }
                let registrar = config.registrar.as_deref();
                return serve_credential(&node, &db, registrar, impi, &peer);
            }
            if let Some(impu) = req.target.strip_prefix(avatars::PREFIX) {
                if req.method != "GET" {
                    return Response::text(405, "only GET");
                }
                return serve_avatars(&node, &db, impu, &peer);
            }
            let response = {
                let db = db.read().unwrap_or_else(|p| p.into_inner());
                answer(&db, config.storage, &req.method, &req.target)
            };
            if config.fetch_id_info
                && req.target.starts_with(proto::wire::sh::ID_INFO_PREFIX)
                && let Some(url) = pointer(&response)
            {
                return fetch_id_info(&repository, &url).await;
            }
            response
        }
    });
    ctx.https_server(h, ClientAuth::Required).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_an_answer_holding_just_a_uri_is_followed() {
        let url = "https://id.enterprise.example/3pid/v1/subscribers/12025551000";
        let uri_only = kit::node::json_response(
            200,
            &IdInfoAnswer {
                info: None,
                url: Some(url.into()),
            },
        );
        assert_eq!(pointer(&uri_only).as_deref(), Some(url));
        let info = kit::node::json_response(
            200,
            &IdInfoAnswer {
                info: Some(IdInfo {
                    id: "sip:q@qbranch.example".into(),
                    name: "Q".into(),
                }),
                url: None,
            },
        );
        assert_eq!(pointer(&info), None);
        assert_eq!(pointer(&Response::text(404, "not subscribed")), None);
    }
}
