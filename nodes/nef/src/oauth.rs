//! The NEF's token endpoint of solution #7 (TR 33.790 §6.7.2.1 step 7):
//! `POST /nef/v1/oauth2/token`, an RFC 6749 §4.4 client credentials request from the XR AS
//! (mutual TLS; the client is its certificate's DNS name) with the signed Avatar-id, the UE
//! token and the application id. The NEF asks the originating IMS AS whether the signed
//! Avatar-id holds (`POST /as/v1/avatar-ids/verify`; the IMS AS also tells it the fingerprint
//! of the UE certificate SIP carried), validates the UE token with the UE certificate of the
//! signed IMPU against that fingerprint, and grants an access token for the DAC
//! (`avatar::access_token`, signed with the NEF's TLS key) — or refuses with an RFC 6749 §5.2
//! error. Trace: the signed Avatar-id and the UE token as `Token` notes, a check for each
//! (`signed Avatar-id`, `UE token`), and `IssueToken` done (with the access token noted) or
//! refused with its reason.
//!
//! The decisions are pure ([`decide`]), the refusals typed ([`refusal`]); this file drives.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use avatar::access_token;
use avatar::ue_certs::UeCerts;
use avatar::wire::{
    AvatarIdCheck, AvatarIdVerdict, TokenRequest, TokenResponse, VERIFY_AVATAR_ID_PATH,
};
use kit::http::{Client, Peer, Request, Response};
use kit::node::{Ctx, json_response};
use p256::ecdsa::SigningKey;
use proto::clock::Rng;
use proto::trace::{Act, Note};

use crate::NefConfig;
use crate::config::AvatarTokens;

pub mod decide;
pub mod refusal;

use decide::{Issuer, SignedId};
use refusal::TokenRefusal;

/// The name of the check on the signed Avatar-id in the trace.
pub const CHECK_SIGNED_ID: &str = "signed Avatar-id";
/// The name of the check on the UE token in the trace.
pub const CHECK_UE_TOKEN: &str = "UE token";

/// What the token endpoint holds: its configuration, the NEF's signing key and certificate,
/// and the UE certificates of the world.
pub(crate) struct Tokens {
    config: AvatarTokens,
    as_host: String,
    key: SigningKey,
    cert: Vec<u8>,
    ue_certs: UeCerts,
    /// How many tokens were issued: the n-th `jti` is drawn from `<id>/at<n>`.
    issued: AtomicU64,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("config", &self.config)
            .field("as_host", &self.as_host)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// The token endpoint of `config`'s `[avatar]` section (none without one): the NEF's TLS key
    /// and certificate (`pki/tls/<host>.key.pem`, `.pem`) and the UE certificates checked at
    /// the world's time.
    pub(crate) fn load(ctx: &Ctx, config: &NefConfig) -> Result<Option<Self>, kit::Error> {
        let Some(avatar) = config.avatar.clone() else {
            return Ok(None);
        };
        let fault = |path: String, e: avatar::Error| kit::Error::Fixture {
            path,
            detail: e.to_string(),
        };
        let text = |path: &str| {
            kit::fixtures::read(path).map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let key_path = format!("pki/tls/{}.key.pem", ctx.host);
        let key =
            avatar::keys::signing_key_pem(&text(&key_path)?).map_err(|e| fault(key_path, e))?;
        let cert_path = format!("pki/tls/{}.pem", ctx.host);
        let cert =
            avatar::cert::der_from_pem(&text(&cert_path)?).map_err(|e| fault(cert_path, e))?;
        let ue_certs = UeCerts::load(&kit::fixtures::dir(), ctx.clock.now())
            .map_err(|e| fault("pki/ue".into(), e))?;
        Ok(Some(Self {
            as_host: config.avatar_id_verifier().to_owned(),
            config: avatar,
            key,
            cert,
            ue_certs,
            issued: AtomicU64::new(0),
        }))
    }

    /// Step 7: grant, or refuse with the RFC 6749 answer; noted either way.
    pub(crate) async fn grant(
        &self,
        ctx: &Ctx,
        client: &Client,
        req: &Request,
        peer: &Peer,
    ) -> Response {
        match self.try_grant(ctx, client, req, peer).await {
            Ok(answer) => {
                let mut r = json_response(200, &answer);
                r.headers.push(("cache-control".into(), "no-store".into()));
                r
            }
            Err(refusal) => {
                ctx.note(
                    peer.msg,
                    Note::refused(Act::IssueToken, refusal.reason(), refusal.label()),
                );
                refusal.response()
            }
        }
    }

    async fn try_grant(
        &self,
        ctx: &Ctx,
        http: &Client,
        req: &Request,
        peer: &Peer,
    ) -> Result<TokenResponse, TokenRefusal> {
        let client = decide::client(peer.certificate.as_deref(), &self.config.clients)?;
        let request = decide::request(&req.body)?;
        note_token(
            ctx,
            peer.msg,
            &format!("signed Avatar-id presented by {client}"),
            &request.signed_avatar_id,
        );
        let verdict = self.ask_as(http, &request).await;
        let id = checked(
            ctx,
            peer.msg,
            CHECK_SIGNED_ID,
            verdict.and_then(|v| decide::signed_id(v, &request, &self.as_host)),
            |id| {
                format!(
                    "{} verified the signed Avatar-id: {} may use {} in {}",
                    self.as_host, id.impu, id.avatar_id, id.app_id
                )
            },
        )?;
        note_token(
            ctx,
            peer.msg,
            &format!("UE token presented by {client}"),
            &request.ue_token,
        );
        let now = ctx.clock.now();
        let result = decide::ue_token(&self.ue_certs, &id, &request.ue_token, &client, now);
        checked(ctx, peer.msg, CHECK_UE_TOKEN, result, |c| {
            format!(
                "UE token of {} for {} verified with the UE certificate SIP announced ({})",
                c.sub, c.xr_as, id.fingerprint
            )
        })?;
        self.issue(ctx, peer.msg, &client, &id, now)
    }

    /// (d) The access token, noted.
    fn issue(
        &self,
        ctx: &Ctx,
        msg: Option<u64>,
        client: &str,
        id: &SignedId,
        now: i64,
    ) -> Result<TokenResponse, TokenRefusal> {
        let issuer = Issuer {
            nef: &ctx.host,
            dac: &self.config.dac,
            lifetime: self.config.token_lifetime,
        };
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let jti = jti(&mut Rng::for_node(ctx.seed, &format!("{}/at{n}", ctx.id)));
        let claims = decide::claims(&issuer, client, id, now, &jti);
        let token =
            access_token::issue(&claims, &self.key, &self.cert).map_err(TokenRefusal::Issue)?;
        ctx.note(
            msg,
            Note::done(Act::IssueToken, decide::granted_label(&claims)),
        );
        if let Some(note) = access_token::note(&format!("access token issued to {client}"), &token)
        {
            ctx.note(msg, note);
        }
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: self.config.token_lifetime,
            scope: claims.scope,
        })
    }

    /// (b) The IMS AS's verdict on the signed Avatar-id.
    async fn ask_as(
        &self,
        http: &Client,
        request: &TokenRequest,
    ) -> Result<AvatarIdVerdict, TokenRefusal> {
        let unavailable = |detail: String| TokenRefusal::VerifierUnavailable {
            host: self.as_host.clone(),
            detail,
        };
        let check = AvatarIdCheck {
            signed_avatar_id: request.signed_avatar_id.clone(),
            app_id: request.app_id.clone(),
        };
        let body = serde_json::to_vec(&check).map_err(|e| unavailable(e.to_string()))?;
        let url = format!("https://{}{VERIFY_AVATAR_ID_PATH}", self.as_host);
        let r = http
            .send(Request::post_json(url, body))
            .await
            .map_err(|e| unavailable(format!("unreachable: {e}")))?;
        if r.status != 200 {
            let body = String::from_utf8_lossy(&r.body);
            return Err(unavailable(format!(
                "answered {}: {}",
                r.status,
                body.trim()
            )));
        }
        serde_json::from_slice(&r.body).map_err(|e| unavailable(format!("answer unusable: {e}")))
    }
}

/// A `Note::Token` for a JWS presented, if it decodes.
fn note_token(ctx: &Ctx, msg: Option<u64>, label: &str, jws: &str) {
    if let Some(note) = avatar::ue_token::note(label, jws) {
        ctx.note(msg, note);
    }
}

/// Notes a check that ran: passed with `detail`, or failed with the refusal's reason and
/// status.
fn checked<T>(
    ctx: &Ctx,
    msg: Option<u64>,
    name: &str,
    result: Result<T, TokenRefusal>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, TokenRefusal> {
    match &result {
        Ok(v) => ctx.note(msg, Note::pass(name, detail(v))),
        Err(TokenRefusal::VerifierUnavailable { .. }) => {}
        Err(e) => ctx.note(
            msg,
            Note::fail(name, e.reason(), Some(e.status()), e.to_string()),
        ),
    }
    result
}

/// 128 bits of the stream as hex: a token's unique id.
fn jti(rng: &mut Rng) -> String {
    (0..4).map(|_| format!("{:08x}", rng.u32())).collect()
}
