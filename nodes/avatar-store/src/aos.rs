//! An operator's AOS (avatar object server) of solution #8 (TR 33.790 §6.8.2 steps 2, 12 and
//! 21, NOTE 1 and NOTE 2), serving the subscribers of ONE operator domain over HTTPS; a client
//! certificate is verified when offered:
//!
//! - `POST /aos/v1/lookups` by the operator's IMS AS (steps 2 and 12; mutual TLS required, only
//!   the hosts of [`AosConfig::as_hosts`]) with an
//!   [`AvatarLookup`](proto::wire::avatar::AvatarLookup). The AOS checks the subscriber may use
//!   avatars (the Editor's Note "how is UE authorized to use avatars": the AOS holds it,
//!   `fixtures/avatars/aos.toml`), picks the avatar named or the subscriber's default, registers
//!   the call's tuple (who may fetch it, under which policy) and answers the
//!   [`AvatarData`](proto::wire::avatar::AvatarData) to sign (`AuthorizeAvatar`).
//! - `GET /aos/v1/objects/{avatar_id}?call={call_id}` by a UE (step 21; UEs have no TLS client
//!   certificates) with `Authorization: Bearer <proof>` (`avatar::aos_request`). The AOS
//!   verifies the proof with the UE certificate naming its `sub`, requires the call's tuple to
//!   name that UE as the other party and its policy to allow another fetch, and answers the
//!   object's bytes, those the lookup's digest covers (`ServeAvatarObject`).
//! - The same object, `GET /aos/v1/objects/{avatar_id}` without a call, to the STIR signers and
//!   verifiers of [`AosConfig::signers`] (mutual TLS): RFC 9795 §6.2.2 has the STI-AS compute
//!   `rcdi` over the content an `rcd` claim's `icn` names and the STI-VS check it, so they read
//!   the object the PASSporT signs (testbed choice `8-aos-signer-read`). Their reads are not
//!   fetches of step 21: no tuple is needed or counted.
//!
//! Refusals are typed [`Problem`](proto::wire::avatar::Problem)s ([`Refusal`]). The decisions
//! are pure ([`decide`], [`tuples`]); this file is the HTTPS driver.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::trace::{Act, Note};

use crate::directory::{Directory, UeKeys};
use crate::refusal::Refusal;

pub mod decide;
pub mod records;
pub mod tuples;

use decide::{ObjectRequest, Route};
use records::{Objects, Subscribers};
use tuples::Tuples;

/// Host of the AOS in the simulated world.
pub const HOST: &str = "aos.avatars.example";

/// What an AOS is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AosConfig {
    /// The operator domain whose subscribers it serves (`ims.mnc001.mcc001.3gppnetwork.org`,
    /// the host part of their IMPUs); a subscriber of another domain is unknown to it.
    pub domain: String,
    /// The DNS names of the operator's IMS AS (its TLS client certificate): the only clients
    /// whose lookups it answers.
    pub as_hosts: Vec<String>,
    /// The DNS names of the STI-ASs and STI-VSs that may read objects to compute and check
    /// `rcdi` (the operator's signer, and the verifiers of the networks it calls).
    pub signers: Vec<String>,
    /// Which subscribers may use avatars, and their fetch policies.
    pub subscribers: Subscribers,
    /// The avatar objects, as served.
    pub objects: Objects,
    /// The UE certificates a fetch proof is verified with.
    pub directory: Directory,
}

impl AosConfig {
    /// The committed fixtures: `fixtures/avatars/` (the avatars and `aos.toml`),
    /// `fixtures/pki/ue/*.pem` and `fixtures/pki/ue-ca.pem`.
    pub fn from_fixtures(
        domain: &str,
        as_hosts: Vec<String>,
        signers: Vec<String>,
    ) -> Result<Self, avatar::Error> {
        let fixtures = kit::fixtures::dir();
        Ok(Self {
            domain: domain.to_owned(),
            as_hosts,
            signers,
            subscribers: Subscribers::from_dir(&fixtures)?,
            objects: Objects::new(avatar::Catalogue::from_dir(&fixtures.join("avatars"))?)?,
            directory: Directory::from_dir(&fixtures)?,
        })
    }
}

struct Aos {
    ctx: Ctx,
    config: AosConfig,
    keys: UeKeys,
    tuples: Mutex<Tuples>,
}

impl fmt::Debug for Aos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aos")
            .field("ctx", &self.ctx)
            .field("domain", &self.config.domain)
            .finish_non_exhaustive()
    }
}

impl Aos {
    fn handle(&self, req: &Request, peer: &Peer) -> Response {
        match decide::route(&req.method, &req.target) {
            Route::NotFound => Response::text(404, format!("no such resource: {}", req.target)),
            Route::WrongMethod { allow } => {
                let mut r = Response::text(405, format!("only {allow}"));
                r.headers.push(("allow".into(), allow.into()));
                r
            }
            Route::Lookup => self.lookup(req, peer),
            Route::Object(parsed) => {
                match decide::signer(peer.certificate.as_deref(), &self.config.signers) {
                    Some(signer) => self.signer_read(&req.target, &signer, peer.msg),
                    None => self.object(parsed, req, peer.msg),
                }
            }
        }
    }

    /// Steps 2 and 12: the IMS AS, the lookup, the decision; the tuple registered; noted.
    fn lookup(&self, req: &Request, peer: &Peer) -> Response {
        let request = decide::lookup_body(&req.body);
        let decided = decide::as_client(peer.certificate.as_deref(), &self.config.as_hosts)
            .and_then(|_| request.clone())
            .and_then(|r| decide::lookup(&self.config, &self.ctx.host, &r));
        match decided {
            Ok(granted) => {
                self.tuples().register(granted.tuple.clone());
                let label = decide::authorised_label(&granted);
                self.ctx
                    .note(peer.msg, Note::done(Act::AuthorizeAvatar, label));
                json_response(200, &granted.data)
            }
            Err(refusal) => {
                let label = decide::refused_lookup_label(request.as_ref().ok(), &refusal);
                self.ctx.note(
                    peer.msg,
                    Note::refused(Act::AuthorizeAvatar, refusal.reason(), label),
                );
                refusal.response(&self.ctx.host)
            }
        }
    }

    /// Step 21: the proof noted and verified, the tuple's policy applied; noted.
    fn object(
        &self,
        parsed: Result<ObjectRequest, Refusal>,
        req: &Request,
        msg: Option<u64>,
    ) -> Response {
        let request = parsed.as_ref().ok();
        let served = parsed
            .clone()
            .and_then(|r| self.verify(&r, req, msg))
            .and_then(|claims| {
                let mut tuples = self.tuples();
                decide::fetch(&self.config.objects, &mut tuples, &claims)
            });
        match served {
            Ok(served) => {
                let label = decide::served_label(&served);
                self.ctx
                    .note(msg, Note::done(Act::ServeAvatarObject, label));
                Response::new(200, "application/json", served.object.bytes.clone())
            }
            Err(refusal) => {
                let label = decide::refused_fetch_label(request, &refusal);
                self.ctx.note(
                    msg,
                    Note::refused(Act::ServeAvatarObject, refusal.reason(), label),
                );
                refusal.response(&self.ctx.host)
            }
        }
    }

    /// A STIR signer or verifier reads an object for `rcdi` (no tuple, not counted); noted.
    fn signer_read(&self, target: &str, signer: &str, msg: Option<u64>) -> Response {
        let object = decide::object_id(target).and_then(|id| self.config.objects.get(&id));
        match object {
            Some(object) => {
                let label = format!(
                    "serve avatar object {} to {signer} (rcdi: RFC 9795 §6.2.2)",
                    object.avatar.id
                );
                self.ctx
                    .note(msg, Note::done(Act::ServeAvatarObject, label));
                Response::new(200, "application/json", object.bytes.clone())
            }
            None => Response::text(404, format!("no such avatar object: {target}")),
        }
    }

    /// The bearer proof noted as presented, then verified.
    fn verify(
        &self,
        request: &ObjectRequest,
        req: &Request,
        msg: Option<u64>,
    ) -> Result<avatar::aos_request::Claims, Refusal> {
        let proof = crate::bar::decide::bearer(req.header_value("authorization"))?;
        let label = format!("AOS fetch proof presented for {}", request.avatar_id);
        if let Some(note) = avatar::aos_request::note(&label, proof) {
            self.ctx.note(msg, note);
        }
        decide::verify_proof(&self.keys, request, proof, self.ctx.clock.now())
    }

    /// The tuples. A panic while they were held cannot leave them half-updated (each change is
    /// one push or one increment), so a poisoned lock is taken over.
    fn tuples(&self) -> std::sync::MutexGuard<'_, Tuples> {
        self.tuples.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts an AOS over HTTPS. A client certificate is verified against the world's TLS CA when
/// offered: lookups require one naming an IMS AS of [`AosConfig::as_hosts`] (else 403
/// NotAuthorised, a typed refusal rather than a failed handshake); UEs fetch objects without
/// one. The UE certificates are checked now, at the world's time.
pub async fn start(ctx: &Ctx, config: AosConfig) -> Result<Server, kit::Error> {
    let aos = Arc::new(Aos {
        ctx: ctx.clone(),
        keys: config.directory.check(ctx.clock.now()),
        config,
        tuples: Mutex::new(Tuples::default()),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let aos = aos.clone();
        async move { aos.handle(&req, &peer) }
    });
    ctx.https_server(h, ClientAuth::Optional).await
}
