//! The 3P authorization server's driver over `kit`: one HTTPS server (token endpoint, the NEF's
//! authorisations, public jCards) and the enterprise's own step 0a towards the NEF. Each handler
//! parses, asks [`Authority`] for the decision, answers, and notes what it did under the
//! node's id (`authz3p`): [`Act::IssueToken`], [`Act::ChallengeUe`], [`Act::AuthorizeId3p`] and
//! [`Act::RequestAllocation`], done or refused with the typed [`Reason`].

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

mod allocation;

use kit::Error;
use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use proto::clock::Rng;
use proto::trace::{Act, Note, Reason};
use proto::wire::authz::{
    AUTHZ_AUTHORIZE_PATH, Allocation, AuthorizeRequest, CARDS_PATH_PREFIX, OAuthError, TOKEN_PATH,
    TokenRequest, TokenResponse,
};

pub use allocation::AllocationError;

use super::policy::{Authority, Denial, Ledger, TokenClaims};
use super::{NEF_HOST, client_is};

/// How the server is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzConfig {
    /// The NEF: the only client whose certificate may ask [`AUTHZ_AUTHORIZE_PATH`], and where
    /// allocations are requested (step 0a).
    pub nef_host: String,
    /// Threat switch: every token issued is already expired (`iat` two days ago, `exp` one day
    /// ago) — a stale token a UE kept.
    pub stale_tokens: bool,
}

impl Default for AuthzConfig {
    fn default() -> Self {
        Self {
            nef_host: NEF_HOST.to_owned(),
            stale_tokens: false,
        }
    }
}

struct Inner {
    ctx: Ctx,
    config: AuthzConfig,
    authority: Authority,
    ledger: Mutex<Ledger>,
    rng: Mutex<Rng>,
    client: Client,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("ctx", &self.ctx)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

// ---- step 0b: the token endpoint ---------------------------------------------------------------

fn oauth_error(status: u16, error: &str, description: String) -> Response {
    json_response(
        status,
        &OAuthError {
            error: error.into(),
            error_description: description,
        },
    )
}

/// The token endpoint's answer to a decided request, and its [`Act::IssueToken`] note.
fn token_answer(
    request: &TokenRequest,
    issued: Result<(TokenResponse, TokenClaims), Denial>,
    stale_tokens: bool,
) -> (Response, Note) {
    match issued {
        Ok((response, claims)) => {
            let stale = if stale_tokens {
                " (stale: already expired)"
            } else {
                ""
            };
            let label = format!(
                "issue 3P ID token {} to {} for {}, exp {}{stale}",
                claims.jti, claims.sub, claims.id3p, claims.exp
            );
            (
                json_response(200, &response),
                Note::done(Act::IssueToken, label),
            )
        }
        Err(denial) => {
            let (status, error) = denial.oauth();
            let label = format!("refuse token to {}: {denial}", request.impu);
            (
                oauth_error(status, error, denial.to_string()),
                Note::refused(Act::IssueToken, denial.reason(), label),
            )
        }
    }
}

impl Inner {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rng(&self) -> MutexGuard<'_, Rng> {
        self.rng.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note(&self, msg: Option<u64>, note: Note) {
        self.ctx.note(msg, note);
    }

    async fn handle(&self, req: Request, peer: Peer) -> Response {
        let path = req.target.split('?').next().unwrap_or_default();
        if path == TOKEN_PATH {
            if req.method != "POST" {
                return Response::text(405, "only POST");
            }
            return self.token(&req, &peer);
        }
        if path == AUTHZ_AUTHORIZE_PATH {
            if req.method != "POST" {
                return Response::text(405, "only POST");
            }
            return self.authorize(&req, &peer);
        }
        if let Some(file) = path.strip_prefix(CARDS_PATH_PREFIX) {
            if req.method != "GET" {
                return Response::text(405, "only GET");
            }
            return match self.authority.directory.jcards.get(file) {
                Some(bytes) => Response::json(200, bytes.clone()),
                None => Response::text(404, format!("no name card {file}")),
            };
        }
        Response::text(404, format!("no such resource: {path}"))
    }

    /// Step 0b: a UE asks for a token.
    fn token(&self, req: &Request, peer: &Peer) -> Response {
        let request: TokenRequest = match serde_json::from_slice(&req.body) {
            Ok(r) => r,
            Err(e) => {
                let text = format!("body is not a token request: {e}");
                let label = format!("refuse token request: {text}");
                self.note(
                    peer.msg,
                    Note::refused(Act::IssueToken, Reason::Malformed, label),
                );
                return oauth_error(400, "invalid_request", text);
            }
        };
        let now = self.ctx.clock.now();
        let jti = self.rng().uuid();
        let issued = {
            let ledger = self.ledger();
            self.authority.issue(&ledger, &request, now, &jti)
        };
        let (response, note) = token_answer(&request, issued, self.authority.stale_tokens);
        self.note(peer.msg, note);
        response
    }

    // ---- step 3: the NEF's authorisations ------------------------------------------------------

    /// Step 3: the NEF forwards the IMS AS's question.
    fn authorize(&self, req: &Request, peer: &Peer) -> Response {
        let refuse = |reason: Reason, text: String| {
            let label = format!("refuse authorization request: {text}");
            self.note(peer.msg, Note::refused(Act::AuthorizeId3p, reason, label));
        };
        // Only the NEF may ask (mutual TLS): anyone else is not authorised to.
        if let Err(text) = client_is(
            peer.certificate.as_ref().map(|c| c.as_ref()),
            &self.config.nef_host,
        ) {
            refuse(Reason::NotAuthorised, text.clone());
            return Response::text(403, text);
        }
        let request: AuthorizeRequest = match serde_json::from_slice(&req.body) {
            Ok(r) => r,
            Err(e) => {
                let text = format!("body is not an authorization request: {e}");
                refuse(Reason::Malformed, text.clone());
                return Response::text(400, text);
            }
        };
        let now = self.ctx.clock.now();
        let decision = {
            let mut ledger = self.ledger();
            let mut rng = self.rng();
            self.authority
                .authorize(&mut ledger, &request, now, &mut rng)
        };
        for note in decision.notes {
            self.note(peer.msg, note);
        }
        json_response(200, &decision.response)
    }
}

/// What the orchestrator holds of a running authorization server (cloneable).
#[derive(Debug, Clone)]
pub struct AuthzHandle(Arc<Inner>);

impl AuthzHandle {
    /// Step 0a (option A): asks the NEF (mutual TLS) for a designated IMPU for one employee and
    /// 3P ID, and remembers it so that option A calls from it are authorised. Notes
    /// [`Act::RequestAllocation`] done when it asks, refused when the enterprise's policy
    /// refuses to ask, and the check of the NEF's answer.
    pub async fn request_allocation(
        &self,
        employee_impu: &str,
        id3p: &str,
    ) -> Result<Allocation, AllocationError> {
        self.0.allocate(employee_impu, id3p).await
    }

    /// An employee leaves: tokens they hold are refused from now on, none are issued.
    pub fn revoke_employee(&self, impu: &str) {
        self.0.ledger().revoked_employees.insert(impu.to_owned());
    }

    /// Revokes one token by its `jti`.
    pub fn revoke_token(&self, jti: &str) {
        self.0.ledger().revoked_jtis.insert(jti.to_owned());
    }

    /// A token for `impu` and `id3p` signed now without any check: what a UE obtained earlier
    /// (e.g. before it left the enterprise), for threat scenarios. Not an action of this run:
    /// nothing is noted.
    pub fn mint_token(&self, impu: &str, id3p: &str) -> Result<TokenResponse, Denial> {
        let jti = self.0.rng().uuid();
        let now = self.0.ctx.clock.now();
        let (response, _) = self.0.authority.mint(impu, id3p, now, &jti)?;
        Ok(response)
    }

    /// A copy of what the server remembers.
    pub fn ledger(&self) -> Ledger {
        self.0.ledger().clone()
    }
}

// ---- starting it -------------------------------------------------------------------------------

/// A running 3P authorization server.
#[derive(Debug)]
pub struct Authz {
    /// The HTTPS server.
    pub server: Server,
    /// What the orchestrator drives it with.
    pub handle: AuthzHandle,
}

/// Starts the 3P authorization server with the committed directory and the server's TLS key as
/// its token key. Client certificates are verified when offered (they must chain to the world's
/// TLS CA); [`AUTHZ_AUTHORIZE_PATH`] requires the NEF's.
pub async fn start(ctx: &Ctx, config: AuthzConfig) -> Result<Authz, Error> {
    let authority = Authority::load(config.stale_tokens)?;
    start_with(ctx, config, authority).await
}

/// [`start`] with a given [`Authority`].
pub async fn start_with(
    ctx: &Ctx,
    config: AuthzConfig,
    authority: Authority,
) -> Result<Authz, Error> {
    let inner = Arc::new(Inner {
        ctx: ctx.clone(),
        client: ctx.https_client(true)?,
        config,
        authority,
        ledger: Mutex::new(Ledger::default()),
        rng: Mutex::new(ctx.rng()),
    });
    let shared = inner.clone();
    let h = handler(move |req: Request, peer: Peer| {
        let inner = shared.clone();
        async move { inner.handle(req, peer).await }
    });
    let server = ctx.https_server(h, ClientAuth::Optional).await?;
    Ok(Authz {
        server,
        handle: AuthzHandle(inner),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use kit::fixtures;
    use proto::trace::Outcome;
    use stir::cert::pem_certificates;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const ID3P: &str = "tel:+12025550100";

    fn first_certificate(path: &str) -> Vec<u8> {
        let pem = fixtures::read(path).unwrap();
        pem_certificates(&pem).unwrap().remove(0)
    }

    #[test]
    fn client_identification() {
        let nef = first_certificate(&format!("pki/tls/{NEF_HOST}.pem"));
        assert_eq!(client_is(Some(&nef), NEF_HOST), Ok(()));
        let as_o = first_certificate("pki/tls/as.ims.mnc001.mcc001.3gppnetwork.org.pem");
        let e = client_is(Some(&as_o), NEF_HOST).unwrap_err();
        assert!(e.contains("only nef."), "{e}");
        assert!(
            client_is(None, NEF_HOST)
                .unwrap_err()
                .contains("mutual TLS")
        );
        assert!(client_is(Some(b"junk"), NEF_HOST).is_err());
    }

    #[test]
    fn token_answers_and_their_notes() {
        let request = TokenRequest {
            impu: UE_A.into(),
            id3p: ID3P.into(),
            iat: 0,
            signature: String::new(),
        };
        let denial = Denial::EmployeeRevoked { impu: UE_A.into() };
        let (response, note) = token_answer(&request, Err(denial), false);
        assert_eq!(response.status, 403);
        let e: OAuthError = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(e.error, "unauthorized_client");
        assert_eq!(
            note.action(),
            Some((Act::IssueToken, Outcome::Refused(Reason::Revoked)))
        );
    }
}
