//! The DAC (digital asset container) of solution #6 (TR 33.790 §6.6.2, steps 5–6) at
//! `https://dac.avatars.example`, mutual TLS required (a request without a client certificate
//! is refused, NotAuthorised): the requester is the DNS name of its verified client certificate.
//!
//! - `POST /dac/v1/objects` with an [`ObjectRequest`] (step 5). The DAC notes the UE-A
//!   attestation, finds the owner of the avatar it names and verifies it with the owner's
//!   pre-configured UE certificate, for the requesting XR AS (step 6, `VerifyAttestation`).
//!   Network centric: it answers the avatar object. UE-A or UE-B centric: it draws an ephemeral
//!   key, derives a session key with the rendering UE's ephemeral key from the attestation
//!   (`KeyAgreement`), protects the object (`ProtectAvatarObject`) and answers it protected.
//!   Refused: a typed [`Problem`](proto::wire::avatar::Problem), 403 (404 for an unknown
//!   avatar, 400 for a body that is no object request).
//!
//! The decisions are pure ([`decide`]); this file is the HTTPS driver. Every random byte comes
//! from the DAC's seeded stream, one stream per protected object (`<id>/obj<n>`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::clock::Rng;
use proto::trace::{Act, Note};
use proto::wire::avatar::{Jwk, OBJECT_PATH, ObjectRequest, ObjectResponse, Party};

use crate::owners::{OwnerKeys, Owners};
use crate::refusal::Refusal;

pub mod decide;

use decide::{Delivery, Verified};

/// Host of the DAC in the simulated world.
pub const HOST: &str = "dac.avatars.example";

/// What the DAC is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DacConfig {
    /// The avatars (the objects) and their owners' UE certificates.
    pub owners: Owners,
}

impl DacConfig {
    /// The committed fixtures: `fixtures/avatars/`, `fixtures/pki/ue/<owner>.pem` and
    /// `fixtures/pki/ue-ca.pem`.
    pub fn from_fixtures() -> Result<Self, avatar::Error> {
        Ok(Self {
            owners: Owners::from_fixtures()?,
        })
    }
}

struct Dac {
    ctx: Ctx,
    keys: OwnerKeys,
    /// How many objects the DAC has protected: the n-th draws from `<id>/obj<n>`.
    protected: AtomicU64,
}

impl fmt::Debug for Dac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dac")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl Dac {
    fn handle(&self, req: &Request, peer: &Peer) -> Response {
        let path = req.target.split('?').next().unwrap_or_default();
        if path != OBJECT_PATH {
            return Response::text(404, format!("no such resource: {path}"));
        }
        if req.method != "POST" {
            let mut r = Response::text(405, "only POST");
            r.headers.push(("allow".into(), "POST".into()));
            return r;
        }
        let verified = match self.verify(req, peer) {
            Ok(v) => v,
            Err(refusal) => {
                let label = decide::refused_label(&refusal);
                self.ctx.note(
                    peer.msg,
                    Note::refused(Act::VerifyAttestation, refusal.reason(), label),
                );
                return refusal.response(&self.ctx.host);
            }
        };
        self.ctx.note(
            peer.msg,
            Note::done(Act::VerifyAttestation, decide::verified_label(&verified)),
        );
        match self.deliver(&verified, peer.msg) {
            Ok(answer) => json_response(200, &answer),
            Err(refusal) => {
                let label = format!("cannot protect the avatar object: {refusal}");
                self.ctx.note(
                    peer.msg,
                    Note::refused(Act::ProtectAvatarObject, refusal.reason(), label),
                );
                refusal.response(&self.ctx.host)
            }
        }
    }

    /// Step 6: who asks, what, the attestation noted, then the decision.
    fn verify(&self, req: &Request, peer: &Peer) -> Result<Verified<'_>, Refusal> {
        let names = decide::requester_names(peer.certificate.as_deref())?;
        let ObjectRequest { attestation } = decide::object_request(&req.body)?;
        let label = format!("UE-A attestation presented by {}", names.join(", "));
        if let Some(note) = avatar::attestation::note(&label, &attestation) {
            self.ctx.note(peer.msg, note);
        }
        decide::decide(&self.keys, &attestation, &names, self.ctx.clock.now())
    }

    /// The answer: the object, or the object protected for the rendering UE.
    fn deliver(
        &self,
        verified: &Verified<'_>,
        msg: Option<u64>,
    ) -> Result<ObjectResponse, Refusal> {
        let mut answer = ObjectResponse {
            avatar_id: verified.avatar.id.clone(),
            rendering: verified.claims.rendering,
            object: None,
            protected: None,
        };
        match &verified.delivery {
            Delivery::Object => answer.object = Some(verified.avatar.model.clone()),
            Delivery::Protect { party, recipient } => {
                answer.protected = Some(self.protect(verified, *party, recipient, msg)?);
            }
        }
        Ok(answer)
    }

    /// Draws from the next object stream, protects, notes the key agreement and the protection.
    fn protect(
        &self,
        verified: &Verified<'_>,
        party: Party,
        recipient: &Jwk,
        msg: Option<u64>,
    ) -> Result<proto::wire::avatar::Protected, Refusal> {
        let n = self.protected.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rng = Rng::for_node(self.ctx.seed, &format!("{}/obj{n}", self.ctx.id));
        let draw = decide::draw(&mut rng)?;
        let (protected, key) = decide::protect(verified, recipient, &draw)?;
        let label = format!(
            "derive the session key for {} with {}'s ephemeral key",
            verified.avatar.id,
            decide::party_name(party)
        );
        let own = draw.key.public_jwk();
        self.ctx.note(
            msg,
            avatar::e2e::key_agreement_note(&label, &own, recipient, &protected, &key),
        );
        let label = decide::protected_label(verified, party, &key);
        self.ctx
            .note(msg, Note::done(Act::ProtectAvatarObject, label));
        Ok(protected)
    }
}

/// Starts the DAC over HTTPS. A client certificate is verified against the world's TLS CA
/// when offered and required by the handler: a request without one is answered 403
/// NotAuthorised (a typed refusal rather than a failed handshake); the attestation decides
/// which XR AS may have the object. The owners' certificates are checked now, at the world's
/// time.
pub async fn start(ctx: &Ctx, config: DacConfig) -> Result<Server, kit::Error> {
    let dac = Arc::new(Dac {
        ctx: ctx.clone(),
        keys: config.owners.check(ctx.clock.now()),
        protected: AtomicU64::new(0),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let dac = dac.clone();
        async move { dac.handle(&req, &peer) }
    });
    ctx.https_server(h, ClientAuth::Optional).await
}
