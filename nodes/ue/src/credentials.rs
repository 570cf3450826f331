//! The UE's credentials for TR 33.790 solution #4 (§6.4): its UE key
//! (`fixtures/pki/ue/<ue>.key.pem`), the token request of step 0b ([`Ue::obtain_3p_token`]),
//! the `Authorization` values of option B ([`bearer_authorization`]) and the answer to the
//! authorization server's challenge relayed in a `401` (§6.4.2.2, [`challenge_authorization`]).
//!
//! Notes: [`Act::ObtainToken`] when a token was obtained (refused with the server's refusal
//! mapped to a [`Reason`] by [`token_refusal_reason`]); [`Act::AnswerChallenge`] when a
//! challenge is answered by signing its nonce (refused when the UE key is unusable).

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use proto::sip::{Request, Response};
use proto::sipmsg;
use proto::trace::{Act, Note, Reason};
use proto::wire::authz::{
    OAuthError, TOKEN_PATH, TokenRequest, TokenResponse, proof_signing_input, token_signing_input,
};

use kit::Error;

use crate::{Ue, lock};

/// A quoted-string (RFC 7230 §3.2.6): `"` and `\` escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `Authorization` header value of an INVITE that names a third-party ID (TR 33.790
/// §6.4.2.1 step 1, option B): `Bearer realm="<realm>", 3pid="<id3p>"`, then
/// `, token="<token>"` when there is one. Testbed choice: the RFC 7235 auth-param form of the
/// Bearer scheme carrying what step 1 lists (3P ID, realm of the authorization server, token).
/// An empty `id3p` is left out (a UE answering a challenge it did not ask for names no 3P ID).
pub fn bearer_authorization(realm: &str, id3p: &str, token: Option<&str>) -> String {
    let mut value = format!("Bearer realm={}", quoted(realm));
    if !id3p.is_empty() {
        value.push_str(&format!(", 3pid={}", quoted(id3p)));
    }
    if let Some(token) = token {
        value.push_str(&format!(", token={}", quoted(token)));
    }
    value
}

/// The `Authorization` header value answering a challenge (TR 33.790 §6.4.2.2): `base` (what
/// the first INVITE carried, or [`bearer_authorization`] with the challenge's realm) followed by
/// `, nonce="<nonce>", proof="<proof>"`; `proof` is the UE's ES256 signature over the nonce
/// ([`ue_signature`] over [`proof_signing_input`]).
pub fn challenge_authorization(base: &str, nonce: &str, proof: &str) -> String {
    let base = base.trim();
    // A bare scheme takes its first auth-param after a space, not a comma.
    let separator = if base.contains([' ', '\t']) {
        ", "
    } else {
        " "
    };
    format!(
        "{base}{separator}nonce={}, proof={}",
        quoted(nonce),
        quoted(proof)
    )
}

/// RFC 7235 credentials/challenge: the scheme and its auth-params (`proto::sipmsg`'s parser).
pub use proto::sipmsg::auth_params as parse_auth_params;

/// A Bearer challenge with a nonce (TR 33.790 §6.4.2.2), as a `401` carries it in
/// `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    /// The authorization server's realm, when named.
    pub realm: Option<String>,
    /// The nonce the UE signs.
    pub nonce: String,
}

/// The first `WWW-Authenticate` of `response` whose scheme is `Bearer` (case-insensitive) and
/// that has a `nonce` auth-param.
pub fn bearer_challenge(response: &Response) -> Option<BearerChallenge> {
    sipmsg::values(&response.headers, "WWW-Authenticate")
        .into_iter()
        .filter_map(parse_auth_params)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .find_map(|(_, mut params)| {
            Some(BearerChallenge {
                nonce: params.remove("nonce")?,
                realm: params.remove("realm"),
            })
        })
}

/// The INVITE answering a challenge: `initial` (as built, or as sent) with its Via removed (the
/// endpoint adds one with a new branch), CSeq `cseq`, and `authorization` replacing any
/// Authorization header; Call-ID, From tag, Route, body and everything else unchanged.
pub fn challenge_retry(initial: &Request, cseq: u32, authorization: &str) -> Request {
    let mut retry = initial.clone();
    sipmsg::remove(&mut retry.headers, "Via");
    sipmsg::set(&mut retry.headers, "CSeq", format!("{cseq} INVITE"));
    if sipmsg::first(&retry.headers, "Authorization").is_some() {
        sipmsg::set(&mut retry.headers, "Authorization", authorization);
    } else {
        // Before the body's headers, with the other request headers.
        let at = retry
            .headers
            .iter()
            .position(|h| h.name().eq_ignore_ascii_case("Date"))
            .unwrap_or(retry.headers.len());
        retry.headers.0.insert(
            at,
            sipmsg::make_header("Authorization", authorization.to_owned()),
        );
    }
    retry
}

/// The `Authorization` value answering `challenge` with `proof`: after `configured` (what the
/// first INVITE carried) or, without one, the challenge's realm and no 3P ID (none was asked
/// for).
fn challenge_answer(
    configured: Option<String>,
    challenge: &BearerChallenge,
    proof: &str,
) -> String {
    let base = configured.unwrap_or_else(|| match &challenge.realm {
        Some(realm) => bearer_authorization(realm, "", None),
        None => "Bearer".into(),
    });
    challenge_authorization(&base, &challenge.nonce, proof)
}

/// A UE's signing key: `fixtures/pki/ue/<ue>.key.pem` (PKCS#8 PEM, P-256).
pub fn ue_signing_key(ue: &str) -> Result<SigningKey, Error> {
    let path = format!("pki/ue/{ue}.key.pem");
    let pem = kit::fixtures::read(&path)?;
    let text = std::str::from_utf8(&pem).map_err(|e| Error::Pem {
        detail: format!("{path}: {e}"),
    })?;
    SigningKey::from_pkcs8_pem(text).map_err(|e| Error::Pem {
        detail: format!("{path}: not a PKCS#8 P-256 key: {e}"),
    })
}

/// A UE's certificate (DER): the first certificate of `fixtures/pki/ue/<ue>.pem`.
pub fn ue_certificate(ue: &str) -> Result<Vec<u8>, Error> {
    let path = format!("pki/ue/{ue}.pem");
    let pem = kit::fixtures::read(&path)?;
    let text = std::str::from_utf8(&pem).map_err(|e| Error::Pem {
        detail: format!("{path}: {e}"),
    })?;
    ::avatar::cert::der_from_pem(text).map_err(|e| Error::Pem {
        detail: format!("{path}: {e}"),
    })
}

/// A UE's ES256 signature over `message`: raw `r‖s` (64 bytes), base64url without padding —
/// what the authorization server checks (`third_party::authz::verify_ue_signature`).
pub fn ue_signature(key: &SigningKey, message: &[u8]) -> String {
    let signature: Signature = key.sign(message);
    stir::jose::b64u(&signature.to_bytes())
}

/// A token request (TR 33.790 §6.4.2.1 step 0b) for `impu` and `id3p`, signed at `iat`.
pub fn token_request(key: &SigningKey, impu: &str, id3p: &str, iat: i64) -> TokenRequest {
    TokenRequest {
        impu: impu.to_owned(),
        id3p: id3p.to_owned(),
        iat,
        signature: ue_signature(key, token_signing_input(impu, id3p, iat).as_bytes()),
    }
}

/// Why the authorization server refused a token, from its HTTP status and RFC 6749 §5.2 error
/// (if its body was one): not allowed that 3P ID (`invalid_grant`, `unauthorized_client`,
/// `invalid_scope`, `access_denied`) → [`Reason::NotEntitled`]; an expired grant or token →
/// [`Reason::Expired`]; the UE's proof of its key did not verify (`invalid_client`) →
/// [`Reason::SignatureInvalid`]; a request it could not use (`invalid_request`, or another
/// 4xx error) → [`Reason::Malformed`]; no usable answer (no OAuth error, a server error) →
/// [`Reason::Unreachable`]. Pure.
pub fn token_refusal_reason(status: u16, error: Option<&OAuthError>) -> Reason {
    let Some(error) = error else {
        return Reason::Unreachable;
    };
    match error.error.as_str() {
        "invalid_grant" | "unauthorized_client" | "invalid_scope" | "access_denied" => {
            Reason::NotEntitled
        }
        "expired" | "expired_token" => Reason::Expired,
        "invalid_client" => Reason::SignatureInvalid,
        "invalid_request" => Reason::Malformed,
        "server_error" | "temporarily_unavailable" => Reason::Unreachable,
        _ if status >= 500 => Reason::Unreachable,
        _ => Reason::Malformed,
    }
}

/// The trace's reason for a step-0b exchange that failed before the server answered.
fn exchange_reason(e: &Error) -> Reason {
    match e {
        Error::Timeout { .. } => Reason::Timeout,
        Error::Pem { .. } | Error::Fixture { .. } | Error::Tls { .. } | Error::Url { .. } => {
            Reason::Malformed
        }
        _ => Reason::Unreachable,
    }
}

/// A token the authorization server did not give, and why (for the trace).
#[derive(Debug)]
struct Refusal {
    reason: Reason,
    error: Error,
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Refusal {
            reason: exchange_reason(&error),
            error,
        }
    }
}

impl Ue {
    /// Which UE's key (and certificate) this agent signs with: the one [`Ue::use_ue_key`]
    /// named, else its node id's.
    pub(crate) fn ue_key_name(&self) -> String {
        lock(&self.state)
            .ue_key
            .clone()
            .unwrap_or_else(|| self.ctx.id.clone())
    }

    /// The UE key this agent signs with: `fixtures/pki/ue/<id>.key.pem`.
    pub(crate) fn ue_key(&self) -> Result<SigningKey, Error> {
        ue_signing_key(&self.ue_key_name())
    }

    /// TR 33.790 §6.4.2.1 step 0b (option B): asks the enterprise's authorization server at
    /// `authz_host` for a token authorising this agent's IMPU ([`Ue::impu`]) to present `id3p`.
    /// The request proves possession of the UE key: an ES256 signature over
    /// [`token_signing_input`] with the current time as `iat` ([`token_request`]). A refusal is
    /// an error naming the HTTP status and the server's `error_description`. Noted as
    /// [`Act::ObtainToken`], done or refused ([`token_refusal_reason`]).
    pub async fn obtain_3p_token(
        &self,
        authz_host: &str,
        id3p: &str,
    ) -> Result<TokenResponse, Error> {
        let label = format!(
            "obtain a 3P ID token for {id3p} from {authz_host} (TR 33.790 §6.4.2.1 step 0b)"
        );
        match self.request_token(authz_host, id3p).await {
            Ok(token) => {
                self.ctx.note(None, Note::done(Act::ObtainToken, label));
                Ok(token)
            }
            Err(Refusal { reason, error }) => {
                self.ctx.note(
                    None,
                    Note::refused(Act::ObtainToken, reason, format!("{label}: {error}")),
                );
                Err(error)
            }
        }
    }

    /// The step-0b exchange: the signed request, the server's answer.
    async fn request_token(&self, authz_host: &str, id3p: &str) -> Result<TokenResponse, Refusal> {
        let request = token_request(&self.ue_key()?, &self.impu(), id3p, self.ctx.clock.now());
        let body = serde_json::to_vec(&request).map_err(|e| Refusal {
            reason: Reason::Malformed,
            error: Error::Http {
                detail: format!("cannot encode the token request: {e}"),
            },
        })?;
        let url = format!("https://{authz_host}{TOKEN_PATH}");
        let response = self
            .ctx
            .https_client(false)?
            .send(kit::http::Request::post_json(url, body))
            .await?;
        if response.status != 200 {
            let oauth = serde_json::from_slice::<OAuthError>(&response.body).ok();
            let why = match &oauth {
                Some(e) => format!("{}: {}", e.error, e.error_description),
                None => String::from_utf8_lossy(&response.body).trim().to_owned(),
            };
            return Err(Refusal {
                reason: token_refusal_reason(response.status, oauth.as_ref()),
                error: Error::Http {
                    detail: format!(
                        "authorization server {authz_host} refused a token for {id3p} ({}): {why}",
                        response.status
                    ),
                },
            });
        }
        serde_json::from_slice(&response.body).map_err(|e| Refusal {
            reason: Reason::Malformed,
            error: Error::Http {
                detail: format!("token answer from {authz_host} unusable: {e}"),
            },
        })
    }

    /// The INVITE answering `challenge` (TR 33.790 §6.4.2.2): `request` again with CSeq `cseq`
    /// and an Authorization value carrying the UE's signature over the nonce
    /// ([`challenge_authorization`]); `configured` is what the first INVITE carried. Noted as
    /// [`Act::AnswerChallenge`]; `None` (refused, [`Reason::Malformed`]) when the UE key is
    /// unusable.
    pub(crate) fn answer_challenge(
        &self,
        request: &Request,
        cseq: u32,
        configured: Option<String>,
        challenge: &BearerChallenge,
    ) -> Option<Request> {
        let key = match self.ue_key() {
            Ok(key) => key,
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::refused(
                        Act::AnswerChallenge,
                        Reason::Malformed,
                        format!("cannot answer the authorization server's challenge: {e}"),
                    ),
                );
                return None;
            }
        };
        self.ctx.note(
            None,
            Note::done(
                Act::AnswerChallenge,
                "answer the authorization server's challenge: sign the nonce with the UE key (TR 33.790 §6.4.2.2)",
            ),
        );
        let proof = ue_signature(&key, proof_signing_input(&challenge.nonce));
        let authorization = challenge_answer(configured, challenge, &proof);
        Some(challenge_retry(request, cseq, &authorization))
    }
}

#[cfg(test)]
mod tests;
