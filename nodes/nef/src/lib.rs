//! The originating operator's NEF in TR 33.790 solution #4 (§6.4): the one point where the
//! enterprise's 3P authorization server meets the IMS, at
//! `https://nef.ims.mnc001.mcc001.3gppnetwork.org`. Every client must present a TLS certificate
//! of the world's CA (mutual TLS); the NEF identifies it by the certificate's DNS name and serves
//! it only what that client may do.
//!
//! - `POST /3gpp-3pid/v1/allocations` — step 0a, option A. An authorised AF (the enterprise's
//!   authorization server) asks for a designated IMPU for one employee and one third-party ID;
//!   the NEF takes the next free IMPU of its pool, provisions it at the HSS
//!   (`POST /sh/v1/provisioning`) and remembers which authorization server owns it.
//! - `POST /3gpp-3pid/v1/authorize` — step 2. The IMS AS asks whether a caller may present a
//!   third-party ID; the NEF selects the third party's authorization server (by the realm in
//!   the request for option B, by the owner of the designated IMPU for option A), forwards the
//!   question and returns the answer.
//!
//! The decisions ([`identify`], [`select`], [`next_free`], [`existing`]) are pure functions;
//! [`start`] drives them over `kit`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use proto::trace::Note;
use proto::wire::authz::{
    ALLOCATE_PATH, AUTHZ_AUTHORIZE_PATH, Allocation, AllocationRequest, AuthorizeRequest,
    AuthorizeResponse, AuthzOption, NEF_AUTHORIZE_PATH, PROVISION_PATH, Provisioning,
};
use serde::Deserialize;

/// Host of the NEF in the simulated world.
pub const HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";

/// One designated IMPU the NEF may allocate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PoolEntry {
    pub impu: String,
    /// Its telephone number (`+12025550100`).
    pub tn: String,
}

/// What the NEF is configured with (`fixtures/nef.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NefConfig {
    /// The HSS designated IMPUs are provisioned at.
    pub hss_host: String,
    /// Realm → host of the third party's authorization server.
    pub realms: BTreeMap<String, String>,
    /// AF hosts (authorization servers) allowed to request allocations.
    pub allowed_afs: BTreeSet<String>,
    /// The IMS AS allowed to ask for authorisations.
    pub ims_as_host: String,
    /// Designated IMPUs, allocated in this order.
    pub pool: Vec<PoolEntry>,
}

impl NefConfig {
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Fixture {
            path: "nef.toml".into(),
            detail: e.to_string(),
        })
    }

    /// The committed `fixtures/nef.toml`.
    pub fn load() -> Result<Self, Error> {
        Self::from_toml(&String::from_utf8_lossy(&fixtures::read("nef.toml")?))
    }

    /// The realm an AF speaks for: the realm whose authorization server it is, else its host.
    pub fn realm_of(&self, af_host: &str) -> String {
        self.realms
            .iter()
            .find(|(_, host)| host.eq_ignore_ascii_case(af_host))
            .map_or_else(|| af_host.to_owned(), |(realm, _)| realm.clone())
    }
}

/// A designated IMPU the NEF allocated: for whom, and which authorization server owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub allocation: Allocation,
    pub employee_impu: String,
    /// The AF that asked for it: where option A authorisations go.
    pub authz_host: String,
}

/// What the NEF remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Allocated IMPUs.
    pub records: BTreeMap<String, Record>,
    /// IMPUs taken out of the pool while their provisioning is under way.
    pub reserved: BTreeSet<String>,
}

impl Table {
    fn taken(&self, impu: &str) -> bool {
        self.records.contains_key(impu) || self.reserved.contains(impu)
    }
}

pub use kit::tls::dns_names;

/// Which of the `allowed` hosts the client is, by its TLS certificate (already verified against
/// the world's CA by the TLS layer); the reason if none.
pub fn identify<'a>(
    certificate: Option<&[u8]>,
    allowed: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Result<String, String> {
    let der = certificate.ok_or_else(|| format!("no client certificate: {what} only"))?;
    let names = dns_names(der)?;
    allowed
        .into_iter()
        .find(|a| names.iter().any(|n| n.eq_ignore_ascii_case(a)))
        .map(str::to_owned)
        .ok_or_else(|| format!("client certificate names {names:?}: {what} only"))
}

/// The allocation already made for this realm, employee and third-party ID (a repeated request
/// gets the same IMPU).
pub fn existing<'a>(
    table: &'a Table,
    realm: &str,
    employee_impu: &str,
    id3p: &str,
) -> Option<&'a Allocation> {
    table
        .records
        .values()
        .find(|r| {
            r.allocation.realm == realm
                && r.employee_impu == employee_impu
                && r.allocation.id3p == id3p
        })
        .map(|r| &r.allocation)
}

/// The first IMPU of the pool neither allocated nor reserved.
pub fn next_free<'a>(pool: &'a [PoolEntry], table: &Table) -> Option<&'a PoolEntry> {
    pool.iter().find(|p| !table.taken(&p.impu))
}

/// Where an authorisation goes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub authz_host: String,
    pub why: String,
}

/// Step 2: selects the third party's authorization server for a request — option B by its
/// realm, option A by the record of the designated IMPU. The reason when there is none.
pub fn select(
    config: &NefConfig,
    table: &Table,
    req: &AuthorizeRequest,
) -> Result<Selection, String> {
    match req.option {
        AuthzOption::B => {
            let realm = req
                .realm
                .as_deref()
                .ok_or("option B request names no realm")?;
            let host = config
                .realms
                .get(realm)
                .ok_or_else(|| format!("no third party authorization server for realm {realm}"))?;
            Ok(Selection {
                authz_host: host.clone(),
                why: format!("option B, realm {realm}"),
            })
        }
        AuthzOption::A => {
            let record = table
                .records
                .get(&req.impu)
                .ok_or_else(|| format!("{} is not a designated IMPU", req.impu))?;
            Ok(Selection {
                authz_host: record.authz_host.clone(),
                why: format!(
                    "option A, designated IMPU of realm {}",
                    record.allocation.realm
                ),
            })
        }
    }
}

// ---- the server --------------------------------------------------------------------------------

struct Nef {
    ctx: Ctx,
    config: NefConfig,
    table: Mutex<Table>,
    client: Client,
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

    fn action(&self, msg: Option<u64>, label: String) {
        self.ctx.note(msg, Note::Action { label });
    }

    async fn handle(&self, req: Request, peer: Peer) -> Response {
        let path = req.target.split('?').next().unwrap_or_default();
        match path {
            ALLOCATE_PATH | NEF_AUTHORIZE_PATH if req.method != "POST" => {
                Response::text(405, "only POST")
            }
            ALLOCATE_PATH => self.allocate(&req, &peer).await,
            NEF_AUTHORIZE_PATH => self.authorize(&req, &peer).await,
            _ => Response::text(404, format!("no such resource: {path}")),
        }
    }

    /// Step 0a: an authorised AF asks for a designated IMPU.
    async fn allocate(&self, req: &Request, peer: &Peer) -> Response {
        let certificate = peer.certificate.as_ref().map(|c| c.as_ref());
        let af = match identify(
            certificate,
            self.config.allowed_afs.iter().map(String::as_str),
            "authorised AFs may request designated IMPUs",
        ) {
            Ok(af) => af,
            Err(reason) => {
                self.action(peer.msg, format!("refuse allocation: {reason}"));
                return Response::text(403, reason);
            }
        };
        let request: AllocationRequest = match serde_json::from_slice(&req.body) {
            Ok(r) => r,
            Err(e) => {
                return Response::text(400, format!("body is not an allocation request: {e}"));
            }
        };
        let realm = self.config.realm_of(&af);
        let entry = {
            let mut table = self.table();
            if let Some(done) = existing(&table, &realm, &request.employee_impu, &request.id3p) {
                let done = done.clone();
                drop(table);
                self.action(
                    peer.msg,
                    format!(
                        "designated IMPU {} already allocated for {} ({})",
                        done.impu, request.employee_impu, request.id3p
                    ),
                );
                return json_response(200, &done);
            }
            let Some(entry) = next_free(&self.config.pool, &table).cloned() else {
                drop(table);
                let reason = "designated IMPU pool exhausted".to_owned();
                self.action(peer.msg, format!("refuse allocation: {reason}"));
                return Response::text(503, reason);
            };
            table.reserved.insert(entry.impu.clone());
            entry
        };
        self.action(
            peer.msg,
            format!(
                "allocate designated IMPU {} for {} ({}, realm {realm}) and provision it at the HSS",
                entry.impu, request.employee_impu, request.id3p
            ),
        );
        let provisioning = Provisioning {
            impu: entry.impu.clone(),
            tn: entry.tn.clone(),
            third_party_ids: true,
            authz_realm: realm.clone(),
            id3p: request.id3p.clone(),
        };
        let refusal = self.provision(&provisioning).await.err();
        let mut table = self.table();
        table.reserved.remove(&entry.impu);
        if let Some(reason) = refusal {
            drop(table);
            self.action(
                peer.msg,
                format!("release designated IMPU {}: {reason}", entry.impu),
            );
            return Response::text(502, reason);
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
        drop(table);
        json_response(200, &allocation)
    }

    /// Provisions a designated IMPU at the HSS; the reason when it did not happen.
    async fn provision(&self, provisioning: &Provisioning) -> Result<(), String> {
        let body = serde_json::to_vec(provisioning).map_err(|e| e.to_string())?;
        let url = format!("https://{}{PROVISION_PATH}", self.config.hss_host);
        match self.client.send(Request::post_json(url, body)).await {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(format!(
                "HSS refused provisioning of {} ({}): {}",
                provisioning.impu,
                r.status,
                String::from_utf8_lossy(&r.body).trim()
            )),
            Err(e) => Err(format!(
                "HSS unreachable for provisioning of {}: {e}",
                provisioning.impu
            )),
        }
    }

    /// Step 2: the IMS AS asks; the NEF selects the authorization server and forwards.
    async fn authorize(&self, req: &Request, peer: &Peer) -> Response {
        let certificate = peer.certificate.as_ref().map(|c| c.as_ref());
        if let Err(reason) = identify(
            certificate,
            [self.config.ims_as_host.as_str()],
            "the IMS AS may ask for authorisations",
        ) {
            self.action(peer.msg, format!("refuse authorization request: {reason}"));
            return Response::text(403, reason);
        }
        let request: AuthorizeRequest = match serde_json::from_slice(&req.body) {
            Ok(r) => r,
            Err(e) => {
                return Response::text(400, format!("body is not an authorization request: {e}"));
            }
        };
        let selection = {
            let table = self.table();
            select(&self.config, &table, &request)
        };
        let selection = match selection {
            Ok(s) => s,
            Err(reason) => {
                self.action(
                    peer.msg,
                    format!("cannot select third party authorization server: {reason}"),
                );
                return json_response(200, &AuthorizeResponse::denied(reason));
            }
        };
        self.action(
            peer.msg,
            format!(
                "select third party authorization server {} for {} ({})",
                selection.authz_host, request.impu, selection.why
            ),
        );
        let answer = self.forward(&selection.authz_host, &request).await;
        if let Err(reason) = &answer {
            self.action(peer.msg, format!("authorization failed: {reason}"));
        }
        json_response(200, &answer.unwrap_or_else(AuthorizeResponse::denied))
    }

    async fn forward(
        &self,
        authz_host: &str,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeResponse, String> {
        let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let url = format!("https://{authz_host}{AUTHZ_AUTHORIZE_PATH}");
        let response = self
            .client
            .send(Request::post_json(url, body))
            .await
            .map_err(|e| format!("authorization server {authz_host} unreachable: {e}"))?;
        if response.status != 200 {
            return Err(format!(
                "authorization server {authz_host} answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body).trim()
            ));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| format!("authorization server {authz_host} answer unusable: {e}"))
    }
}

/// Starts the NEF over HTTPS; only clients with a certificate of the world's CA are served, and
/// each only on the paths its name allows.
pub async fn start(ctx: &Ctx, config: NefConfig) -> Result<Server, Error> {
    let nef = Arc::new(Nef {
        ctx: ctx.clone(),
        client: ctx.https_client(true)?,
        config,
        table: Mutex::new(Table::default()),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let nef = nef.clone();
        async move { nef.handle(req, peer).await }
    });
    ctx.https_server(h, ClientAuth::Required).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const AUTHZ: &str = "authz.enterprise.example";
    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const ID3P: &str = "tel:+12025550100";

    fn der(host: &str) -> Vec<u8> {
        let pem = fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
        x509_parser::pem::Pem::iter_from_buffer(&pem)
            .next()
            .unwrap()
            .unwrap()
            .contents
    }

    fn record(impu: &str, employee: &str) -> Record {
        Record {
            allocation: Allocation {
                impu: impu.into(),
                tn: "+12025550100".into(),
                id3p: ID3P.into(),
                realm: AUTHZ.into(),
            },
            employee_impu: employee.into(),
            authz_host: AUTHZ.into(),
        }
    }

    #[test]
    fn wire_shapes() {
        use proto::wire::authz::token_signing_input;
        let req = AuthorizeRequest {
            impu: "sip:+1@x".into(),
            option: AuthzOption::B,
            realm: Some(AUTHZ.into()),
            id3p: None,
            token: None,
            proof: None,
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"impu":"sip:+1@x","option":"B","realm":"authz.enterprise.example"}"#
        );
        let back: AuthorizeRequest =
            serde_json::from_str(r#"{"impu":"sip:+1@x","option":"A"}"#).unwrap();
        assert_eq!(back.option, AuthzOption::A);
        assert!(serde_json::from_str::<AuthorizeRequest>(r#"{"impu":"x","option":"C"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&AuthorizeResponse::denied("no")).unwrap(),
            r#"{"authorized":false,"reason":"no"}"#
        );
        assert_eq!(token_signing_input("a", "b", 7), "a|b|7");
    }

    #[test]
    fn fixture_config() {
        let c = NefConfig::load().unwrap();
        assert_eq!(c.hss_host, "hss.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(c.realms[AUTHZ], AUTHZ);
        assert!(c.allowed_afs.contains(AUTHZ));
        assert_eq!(
            c.pool[0].impu,
            "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org"
        );
        assert_eq!(c.realm_of(AUTHZ), AUTHZ);
        assert_eq!(c.realm_of("other.example"), "other.example");
    }

    #[test]
    fn clients_are_identified_by_their_certificate() {
        let authz = der(AUTHZ);
        let as_o = der("as.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(identify(Some(&authz), [AUTHZ], "AFs").unwrap(), AUTHZ);
        let e = identify(Some(&as_o), [AUTHZ], "AFs only").unwrap_err();
        assert!(e.contains("as.ims.mnc001") && e.contains("AFs only"), "{e}");
        assert!(
            identify(None, [AUTHZ], "AFs")
                .unwrap_err()
                .contains("no client certificate")
        );
        assert!(identify(Some(b"junk"), [AUTHZ], "AFs").is_err());
    }

    #[test]
    fn pool_is_allocated_in_order_and_reservations_count() {
        let c = NefConfig::load().unwrap();
        let mut t = Table::default();
        assert_eq!(next_free(&c.pool, &t).unwrap().impu, c.pool[0].impu);
        t.reserved.insert(c.pool[0].impu.clone());
        assert_eq!(next_free(&c.pool, &t).unwrap().impu, c.pool[1].impu);
        t.records
            .insert(c.pool[1].impu.clone(), record(&c.pool[1].impu, UE_A));
        assert!(next_free(&c.pool, &t).is_none());
        assert_eq!(
            existing(&t, AUTHZ, UE_A, ID3P).unwrap().impu,
            c.pool[1].impu
        );
        assert!(existing(&t, AUTHZ, UE_A, "tel:+1999").is_none());
        assert!(existing(&t, "other", UE_A, ID3P).is_none());
    }

    #[test]
    fn selection_by_realm_or_designated_impu() {
        let c = NefConfig::load().unwrap();
        let mut t = Table::default();
        let mut req = AuthorizeRequest {
            impu: UE_A.into(),
            option: AuthzOption::B,
            realm: Some(AUTHZ.into()),
            id3p: Some(ID3P.into()),
            token: Some("t".into()),
            proof: None,
        };
        assert_eq!(select(&c, &t, &req).unwrap().authz_host, AUTHZ);
        req.realm = Some("authz.other.example".into());
        assert!(
            select(&c, &t, &req)
                .unwrap_err()
                .contains("no third party authorization server")
        );
        req.realm = None;
        assert!(select(&c, &t, &req).unwrap_err().contains("no realm"));
        let designated = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
        let a = AuthorizeRequest {
            impu: designated.into(),
            option: AuthzOption::A,
            realm: None,
            id3p: None,
            token: None,
            proof: None,
        };
        assert_eq!(
            select(&c, &t, &a).unwrap_err(),
            format!("{designated} is not a designated IMPU")
        );
        t.records
            .insert(designated.into(), record(designated, UE_A));
        let s = select(&c, &t, &a).unwrap();
        assert_eq!(s.authz_host, AUTHZ);
        assert!(s.why.starts_with("option A"));
    }
}
