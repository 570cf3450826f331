//! The BAR (base avatar repository) of solution #5 (TR 33.790 §6.5.2 steps 5–7) at
//! `https://bar.avatars.example`, mutual TLS required (the MFs present their certificates):
//!
//! - `GET /bar/v1/models/{avatar_id}?session={call_id}` with `Authorization: Bearer <token>`
//!   (step 5). The BAR notes the token, verifies it with the avatar owner's pre-configured UE
//!   certificate for the Avatar ID and the session requested (step 6, `VerifyAvatarToken`) and
//!   answers the base avatar model (step 7), or a typed [`Problem`](proto::wire::avatar::Problem):
//!   401 without a bearer token, 404 for an unknown avatar, 400 for an unusable target, 403 for
//!   a token that does not vouch for the download.
//!
//! The decisions are pure ([`decide`]); this file is the HTTPS driver.

use std::fmt;
use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::trace::{Act, Note};

use crate::owners::{OwnerKeys, Owners};
use crate::refusal::Refusal;

pub mod decide;

use decide::{Grant, ModelRequest, Route, bearer, granted_label, refused_label, route};

/// Host of the BAR in the simulated world.
pub const HOST: &str = "bar.avatars.example";

/// What the BAR is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarConfig {
    /// The avatars and their owners' UE certificates.
    pub owners: Owners,
}

impl BarConfig {
    /// The committed fixtures: `fixtures/avatars/`, `fixtures/pki/ue/<owner>.pem` and
    /// `fixtures/pki/ue-ca.pem`.
    pub fn from_fixtures() -> Result<Self, avatar::Error> {
        Ok(Self {
            owners: Owners::from_fixtures()?,
        })
    }
}

struct Bar {
    ctx: Ctx,
    keys: OwnerKeys,
}

impl fmt::Debug for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bar")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl Bar {
    fn handle(&self, req: &Request, peer: &Peer) -> Response {
        match route(&req.method, &req.target) {
            Route::NotFound => Response::text(404, format!("no such resource: {}", req.target)),
            Route::WrongMethod => {
                let mut r = Response::text(405, "only GET");
                r.headers.push(("allow".into(), "GET".into()));
                r
            }
            Route::Model(parsed) => self.model(parsed, req, peer.msg),
        }
    }

    /// Steps 6 and 7: verify, note, answer the model or the problem.
    fn model(
        &self,
        parsed: Result<ModelRequest, Refusal>,
        req: &Request,
        msg: Option<u64>,
    ) -> Response {
        let request = parsed.as_ref().ok();
        match self.verify(&parsed, req, msg) {
            Ok(grant) => {
                self.ctx.note(
                    msg,
                    Note::done(Act::VerifyAvatarToken, granted_label(&grant)),
                );
                json_response(200, &grant.avatar.model)
            }
            Err(refusal) => {
                let label = refused_label(request, &refusal);
                self.ctx.note(
                    msg,
                    Note::refused(Act::VerifyAvatarToken, refusal.reason(), label),
                );
                refusal.response(&self.ctx.host)
            }
        }
    }

    /// The bearer token noted as presented, then the decision.
    fn verify(
        &self,
        parsed: &Result<ModelRequest, Refusal>,
        req: &Request,
        msg: Option<u64>,
    ) -> Result<Grant<'_>, Refusal> {
        let request = parsed.as_ref().map_err(Clone::clone)?;
        let token = bearer(req.header_value("authorization"))?;
        let label = format!("avatar token presented for {}", request.avatar_id);
        if let Some(note) = avatar::token::note(&label, token) {
            self.ctx.note(msg, note);
        }
        decide::decide(&self.keys, request, token, self.ctx.clock.now())
    }
}

/// Starts the BAR over HTTPS with mutual TLS (any client certificate of the world's TLS CA).
/// The owners' certificates are checked now, at the world's time.
pub async fn start(ctx: &Ctx, config: BarConfig) -> Result<Server, kit::Error> {
    let bar = Arc::new(Bar {
        ctx: ctx.clone(),
        keys: config.owners.check(ctx.clock.now()),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let bar = bar.clone();
        async move { bar.handle(&req, &peer) }
    });
    ctx.https_server(h, ClientAuth::Required).await
}
