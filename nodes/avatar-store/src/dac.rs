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
//! - `GET /dac/v1/metadata/{avatar_id}` with `Authorization: Bearer <access token>` (solution
//!   #7, TR 33.790 §6.7.2.1 steps 8–9). A client certificate is optional here. The DAC notes
//!   the token, validates it with the NEF's pre-configured certificate (audience this DAC,
//!   expiry, read scope, this Avatar ID, and its `sub` is the TLS client when the client
//!   presented a certificate: `VerifyAvatarToken`), then answers 200 `application/jwt`, the
//!   avatar metadata signed with the DAC's TLS key (`ServeAvatarObject`), valid for
//!   [`DacConfig::metadata_lifetime`]. Refused: 401 (`WWW-Authenticate: Bearer …,
//!   error="invalid_token"`, or no error without a token), 403 `insufficient_scope` for a token
//!   of another avatar, 404 for an unknown avatar, each with its typed `Problem`.
//!
//! The decisions are pure ([`decide`], [`metadata`]); this file is the HTTPS driver. Every
//! random byte comes from the DAC's seeded stream, one stream per protected object
//! (`<id>/obj<n>`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use p256::ecdsa::SigningKey;
use proto::clock::Rng;
use proto::trace::{Act, Note};
use proto::wire::avatar::{Jwk, OBJECT_PATH, ObjectRequest, ObjectResponse, Party};

use crate::bar;
use crate::owners::{OwnerKeys, Owners};
use crate::refusal::Refusal;

pub mod decide;
pub mod metadata;

use decide::{Delivery, Verified};
use metadata::{Expect, MetadataRoute};

/// Host of the DAC in the simulated world.
pub const HOST: &str = "dac.avatars.example";

/// Host of the NEF whose access tokens the DAC accepts (solution #7).
pub const NEF_HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";

/// What the DAC is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DacConfig {
    /// The avatars (the objects) and their owners' UE certificates.
    pub owners: Owners,
    /// The certificate (DER) of the NEF whose access tokens the DAC accepts, pre-configured
    /// (solution #7).
    pub nef_certificate: Vec<u8>,
    /// How long signed avatar metadata is valid, in seconds; negative makes metadata that has
    /// already expired (the testbed's "expired metadata" variant).
    pub metadata_lifetime: i64,
}

impl DacConfig {
    /// The committed fixtures: `fixtures/avatars/`, `fixtures/pki/ue/<owner>.pem`,
    /// `fixtures/pki/ue-ca.pem` and the NEF's `fixtures/pki/tls/<NEF_HOST>.pem`; metadata valid
    /// for `avatar::metadata::LIFETIME`.
    pub fn from_fixtures() -> Result<Self, avatar::Error> {
        let path = kit::fixtures::dir().join(format!("pki/tls/{NEF_HOST}.pem"));
        let pem = std::fs::read_to_string(&path).map_err(|e| avatar::Error::Fixture {
            path: path.display().to_string(),
            fault: avatar::FixtureFault::Read(e.to_string()),
        })?;
        Ok(Self {
            owners: Owners::from_fixtures()?,
            nef_certificate: avatar::cert::der_from_pem(&pem)?,
            metadata_lifetime: avatar::metadata::LIFETIME,
        })
    }
}

struct Dac {
    ctx: Ctx,
    keys: OwnerKeys,
    /// How many objects the DAC has protected: the n-th draws from `<id>/obj<n>`.
    protected: AtomicU64,
    /// The NEF's certificate (DER).
    nef_cert: Vec<u8>,
    /// The DAC's signing key and certificate (DER): its TLS identity.
    signer: (SigningKey, Vec<u8>),
    metadata_lifetime: i64,
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
        match metadata::route(&req.method, &req.target) {
            Some(MetadataRoute::Metadata(id)) => return self.metadata(id, req, peer),
            Some(MetadataRoute::WrongMethod) => {
                let mut r = Response::text(405, "only GET");
                r.headers.push(("allow".into(), "GET".into()));
                return r;
            }
            None => {}
        }
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

    /// Solution #7 step 9: validate the access token, then answer the signed metadata.
    fn metadata(&self, id: Result<String, Refusal>, req: &Request, peer: &Peer) -> Response {
        let answer = id
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|id| self.serve_metadata(id, req, peer));
        match answer {
            Ok(jws) => Response::new(200, avatar::wire::METADATA_TYPE, jws),
            Err(refusal) => {
                let avatar_id = id.as_ref().ok().map(String::as_str);
                let label = metadata::refused_label(avatar_id, &refusal);
                let act = match refusal {
                    Refusal::Signing { .. } => Act::ServeAvatarObject,
                    _ => Act::VerifyAvatarToken,
                };
                self.ctx
                    .note(peer.msg, Note::refused(act, refusal.reason(), label));
                refusal.response(&self.ctx.host)
            }
        }
    }

    /// The token noted as presented, the decision noted, the metadata signed and noted.
    fn serve_metadata(&self, id: &str, req: &Request, peer: &Peer) -> Result<String, Refusal> {
        let token = bar::decide::bearer(req.header_value("authorization"))?;
        let client = peer
            .certificate
            .as_deref()
            .map(|der| kit::tls::dns_names(der).unwrap_or_default());
        let label = format!(
            "access token presented for the metadata of {id}{}",
            client
                .as_ref()
                .map(|n| format!(" by {}", n.join(", ")))
                .unwrap_or_default()
        );
        if let Some(note) = avatar::access_token::note(&label, token) {
            self.ctx.note(peer.msg, note);
        }
        let now = self.ctx.clock.now();
        let expect = Expect {
            nef_cert: &self.nef_cert,
            dac_host: &self.ctx.host,
            avatar_id: id,
            client: client.as_deref(),
            now,
        };
        let granted = metadata::decide(&self.keys, token, &expect)?;
        self.ctx.note(
            peer.msg,
            Note::done(Act::VerifyAvatarToken, metadata::granted_label(&granted)),
        );
        let jws = metadata::sign(
            &granted,
            &self.signer,
            &self.ctx.host,
            now,
            self.metadata_lifetime,
        )?;
        let label = format!(
            "avatar metadata of {id} signed with the DAC's key, expires {}",
            now + self.metadata_lifetime
        );
        if let Some(note) = avatar::metadata::note(&label, &jws) {
            self.ctx.note(peer.msg, note);
        }
        self.ctx.note(
            peer.msg,
            Note::done(
                Act::ServeAvatarObject,
                format!(
                    "serve the signed avatar metadata of {id} to {}",
                    granted.claims.sub
                ),
            ),
        );
        Ok(jws)
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
        nef_cert: config.nef_certificate,
        signer: signer(&ctx.host)?,
        metadata_lifetime: config.metadata_lifetime,
    });
    let h = handler(move |req: Request, peer: Peer| {
        let dac = dac.clone();
        async move { dac.handle(&req, &peer) }
    });
    ctx.https_server(h, ClientAuth::Optional).await
}

/// The DAC's signing key and certificate: its TLS key and certificate from the fixture PKI
/// (`pki/tls/<host>.key.pem`, `pki/tls/<host>.pem`).
fn signer(host: &str) -> Result<(SigningKey, Vec<u8>), kit::Error> {
    let read = |relative: String| {
        let bytes = kit::fixtures::read(&relative)?;
        Ok::<_, kit::Error>((relative, String::from_utf8_lossy(&bytes).into_owned()))
    };
    let fault = |path: String, e: avatar::Error| kit::Error::Fixture {
        path,
        detail: e.to_string(),
    };
    let (key_path, key_pem) = read(format!("pki/tls/{host}.key.pem"))?;
    let key = avatar::keys::signing_key_pem(&key_pem).map_err(|e| fault(key_path, e))?;
    let (cert_path, cert_pem) = read(format!("pki/tls/{host}.pem"))?;
    let der = avatar::cert::der_from_pem(&cert_pem).map_err(|e| fault(cert_path, e))?;
    Ok((key, der))
}
