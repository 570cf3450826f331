//! The NEF's HTTPS driver: parses each request, asks [`crate::decide`] what to do, carries it
//! out (provisioning at the HSS, forwarding to the authorization server) and notes it.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use kit::Error;
use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::trace::{Act, Note, Reason};
use proto::wire::authz::{
    ALLOCATE_PATH, AUTHZ_AUTHORIZE_PATH, Allocation, AllocationRequest, AuthorizeRequest,
    AuthorizeResponse, NEF_AUTHORIZE_PATH, PROVISION_PATH, Provisioning,
};

use avatar::wire::TOKEN_PATH;

mod exposure;

use crate::decide::{Record, Reservation, Table, identify, reserve, select};
use crate::oauth::Tokens;
use crate::refusal::{AllocationRefusal, ForwardError, ProvisionError};
use crate::{NefConfig, PoolEntry};

struct Nef {
    ctx: Ctx,
    config: NefConfig,
    table: Mutex<Table>,
    client: Client,
    /// Solution #7's token endpoint, when configured.
    tokens: Option<Tokens>,
    /// Solution #9's DC exposure routes, when configured.
    exposure: Option<exposure::Exposure>,
}

impl fmt::Debug for Nef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nef")
            .field("ctx", &self.ctx)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Nef {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note(&self, msg: Option<u64>, note: Note) {
        self.ctx.note(msg, note);
    }

    async fn handle(&self, req: Request, peer: Peer) -> Response {
        let path = req.target.split('?').next().unwrap_or_default();
        if exposure::Exposure::serves(path) {
            let Some(routes) = &self.exposure else {
                return Response::text(404, "no DC exposure here");
            };
            let call = exposure::Call {
                ctx: &self.ctx,
                http: &self.client,
                req: &req,
                peer: &peer,
            };
            return routes.handle(&call, path).await;
        }
        match path {
            ALLOCATE_PATH | NEF_AUTHORIZE_PATH | TOKEN_PATH if req.method != "POST" => {
                Response::text(405, "only POST")
            }
            ALLOCATE_PATH => self.allocate(&req, &peer).await,
            NEF_AUTHORIZE_PATH => self.authorize(&req, &peer).await,
            TOKEN_PATH => match &self.tokens {
                Some(tokens) => tokens.grant(&self.ctx, &self.client, &req, &peer).await,
                None => Response::text(404, "no avatar access tokens here"),
            },
            _ => Response::text(404, format!("no such resource: {path}")),
        }
    }

    /// Step 0a: an authorised AF asks for a designated IMPU.
    async fn allocate(&self, req: &Request, peer: &Peer) -> Response {
        match self.try_allocate(req, peer).await {
            Ok(allocation) => json_response(200, &allocation),
            Err(refusal) => {
                self.note(
                    peer.msg,
                    Note::refused(Act::AllocateImpu, refusal.reason(), refusal.label()),
                );
                refusal.response()
            }
        }
    }

    async fn try_allocate(
        &self,
        req: &Request,
        peer: &Peer,
    ) -> Result<Allocation, AllocationRefusal> {
        let af = identify(
            peer.certificate.as_deref(),
            self.config.allowed_afs.iter().map(String::as_str),
            "authorised AFs may request designated IMPUs",
        )
        .map_err(AllocationRefusal::NotAuthorised)?;
        let request: AllocationRequest = serde_json::from_slice(&req.body)
            .map_err(|e| AllocationRefusal::BadBody(e.to_string()))?;
        let realm = self.config.realm_of(&af);
        let reservation = reserve(&mut self.table(), &self.config.pool, &realm, &request);
        let entry = match reservation {
            Reservation::Existing(done) => {
                let label = format!(
                    "designated IMPU {} already allocated for {} ({})",
                    done.impu, request.employee_impu, request.id3p
                );
                self.note(peer.msg, Note::done(Act::AllocateImpu, label));
                return Ok(done);
            }
            Reservation::Exhausted => return Err(AllocationRefusal::Exhausted),
            Reservation::Reserved(entry) => entry,
        };
        let label = format!(
            "allocate designated IMPU {} for {} ({}, realm {realm}) and provision it at the HSS",
            entry.impu, request.employee_impu, request.id3p
        );
        self.note(peer.msg, Note::done(Act::AllocateImpu, label));
        let provisioned = self
            .provision(&Provisioning {
                impu: entry.impu.clone(),
                tn: entry.tn.clone(),
                third_party_ids: true,
                authz_realm: realm.clone(),
                id3p: request.id3p.clone(),
                employee_impu: Some(request.employee_impu.clone()),
            })
            .await;
        self.settle(entry, realm, af, request, provisioned)
    }

    /// Takes the reserved entry out of the reservations: recorded when the HSS provisioned it,
    /// back in the pool when not.
    fn settle(
        &self,
        entry: PoolEntry,
        realm: String,
        af: String,
        request: AllocationRequest,
        provisioned: Result<(), ProvisionError>,
    ) -> Result<Allocation, AllocationRefusal> {
        let mut table = self.table();
        table.reserved.remove(&entry.impu);
        if let Err(error) = provisioned {
            return Err(AllocationRefusal::Provisioning {
                impu: entry.impu,
                error,
            });
        }
        let allocation = Allocation {
            impu: entry.impu,
            tn: entry.tn,
            id3p: request.id3p,
            realm,
        };
        table.records.insert(
            allocation.impu.clone(),
            Record {
                allocation: allocation.clone(),
                employee_impu: request.employee_impu,
                authz_host: af,
            },
        );
        Ok(allocation)
    }

    /// Provisions a designated IMPU at the HSS.
    async fn provision(&self, provisioning: &Provisioning) -> Result<(), ProvisionError> {
        let body =
            serde_json::to_vec(provisioning).map_err(|e| ProvisionError::Encode(e.to_string()))?;
        let url = format!("https://{}{PROVISION_PATH}", self.config.hss_host);
        match self.client.send(Request::post_json(url, body)).await {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(ProvisionError::Refused {
                impu: provisioning.impu.clone(),
                status: r.status,
                body: String::from_utf8_lossy(&r.body).into_owned(),
            }),
            Err(e) => Err(ProvisionError::Unreachable {
                impu: provisioning.impu.clone(),
                detail: e.to_string(),
            }),
        }
    }

    /// Step 2: the IMS AS asks; the NEF selects the authorization server and forwards.
    async fn authorize(&self, req: &Request, peer: &Peer) -> Response {
        let request = match self.authorization_request(req, peer) {
            Ok(request) => request,
            Err((reason, response)) => {
                let why = String::from_utf8_lossy(&response.body).into_owned();
                self.note(
                    peer.msg,
                    Note::refused(
                        Act::SelectAuthzServer,
                        reason,
                        format!("refuse authorization request: {why}"),
                    ),
                );
                return response;
            }
        };
        let selection = select(&self.config, &self.table(), &request);
        let selection = match selection {
            Ok(s) => s,
            Err(none) => {
                let label = format!("cannot select third party authorization server: {none}");
                self.note(
                    peer.msg,
                    Note::refused(Act::SelectAuthzServer, none.reason(), label),
                );
                return json_response(
                    200,
                    &AuthorizeResponse::denied(none.reason(), none.to_string()),
                );
            }
        };
        let label = format!(
            "select third party authorization server {} for {} ({})",
            selection.authz_host, request.impu, selection.why
        );
        self.note(peer.msg, Note::done(Act::SelectAuthzServer, label));
        // The authorization server's answer, its typed denial included, goes back unchanged.
        let answer = match self.forward(&selection.authz_host, &request).await {
            Ok(answer) => answer,
            Err(e) => {
                let label = format!("authorization failed: {e}");
                self.note(
                    peer.msg,
                    Note::fail("authorization server answer", e.reason(), None, label),
                );
                AuthorizeResponse::denied(e.reason(), e.to_string())
            }
        };
        json_response(200, &answer)
    }

    /// The authorization request, if the client is the IMS AS and the body one; else why not
    /// and the answer.
    fn authorization_request(
        &self,
        req: &Request,
        peer: &Peer,
    ) -> Result<AuthorizeRequest, (Reason, Response)> {
        identify(
            peer.certificate.as_deref(),
            [self.config.ims_as_host.as_str()],
            "the IMS AS may ask for authorisations",
        )
        .map_err(|why| (Reason::NotAuthorised, Response::text(403, why)))?;
        serde_json::from_slice(&req.body).map_err(|e| {
            let why = format!("body is not an authorization request: {e}");
            (Reason::Malformed, Response::text(400, why))
        })
    }

    async fn forward(
        &self,
        authz_host: &str,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeResponse, ForwardError> {
        let body = serde_json::to_vec(request).map_err(|e| ForwardError::Encode(e.to_string()))?;
        let url = format!("https://{authz_host}{AUTHZ_AUTHORIZE_PATH}");
        let host = || authz_host.to_owned();
        let response = self
            .client
            .send(Request::post_json(url, body))
            .await
            .map_err(|e| ForwardError::Unreachable {
                host: host(),
                detail: e.to_string(),
            })?;
        if response.status != 200 {
            return Err(ForwardError::Status {
                host: host(),
                status: response.status,
                body: String::from_utf8_lossy(&response.body).into_owned(),
            });
        }
        serde_json::from_slice(&response.body).map_err(|e| ForwardError::Unusable {
            host: host(),
            detail: e.to_string(),
        })
    }
}

/// Starts the NEF over HTTPS; only clients with a certificate of the world's CA are served, and
/// each only on the paths its name allows. With an `[avatar]` section, the NEF's TLS key and
/// the UE certificates are loaded for the token endpoint (an error if they cannot be); with an
/// `[exposure]` section, the NEF's TLS key for the DC exposure routes.
pub async fn start(ctx: &Ctx, config: NefConfig) -> Result<Server, Error> {
    let nef = Arc::new(Nef {
        ctx: ctx.clone(),
        client: ctx.https_client(true)?,
        tokens: Tokens::load(ctx, &config)?,
        exposure: exposure::Exposure::load(ctx, &config)?,
        config,
        table: Mutex::new(Table::default()),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let nef = nef.clone();
        async move { nef.handle(req, peer).await }
    });
    ctx.https_server(h, ClientAuth::Required).await
}
