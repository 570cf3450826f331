//! The NEF's decisions on a token request (solution #7 step 7), pure and in the order it makes
//! them: (a) the client is an XR AS allowed to ask; the form is a client credentials request
//! for the read scope; (b) the IMS AS's verdict on the signed Avatar-id holds and names the
//! application asked for; (c) the UE token holds with the certificate of the signed IMPU,
//! against the fingerprint SIP carried, for this XR AS; (d) the claims of the access token.

use std::collections::BTreeSet;

use avatar::access_token::{AccessClaims, SCOPE_READ};
use avatar::ue_certs::UeCerts;
use avatar::ue_token::{self, UeTokenClaims};
use avatar::wire::{AvatarIdVerdict, CLIENT_CREDENTIALS, TokenRequest};
use proto::trace::Reason;

use super::refusal::TokenRefusal;
use crate::decide::identify;

/// (a) Which of the allowed XR ASs the client is, by its TLS certificate.
pub fn client(
    certificate: Option<&[u8]>,
    clients: &BTreeSet<String>,
) -> Result<String, TokenRefusal> {
    identify(
        certificate,
        clients.iter().map(String::as_str),
        "authorised XR ASs may ask for avatar access tokens",
    )
    .map_err(TokenRefusal::UnauthorizedClient)
}

/// The form as a token request: every parameter there (`invalid_request`), the client
/// credentials grant (`unsupported_grant_type`) and the read scope (`invalid_scope`).
pub fn request(body: &[u8]) -> Result<TokenRequest, TokenRefusal> {
    let text = String::from_utf8_lossy(body);
    let request = TokenRequest::from_form(&text).map_err(TokenRefusal::BadRequest)?;
    if request.grant_type != CLIENT_CREDENTIALS {
        return Err(TokenRefusal::UnsupportedGrant(request.grant_type));
    }
    if request.scope != SCOPE_READ {
        return Err(TokenRefusal::InvalidScope(request.scope));
    }
    Ok(request)
}

/// What a signed Avatar-id the IMS AS vouched for binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedId {
    /// The calling UE's IMPU.
    pub impu: String,
    /// The Avatar ID.
    pub avatar_id: String,
    /// The application id.
    pub app_id: String,
    /// The UE certificate fingerprint the IMS AS saw in SIP.
    pub fingerprint: String,
}

/// (b) The IMS AS's verdict: valid, complete (else the IMS AS gave no usable answer) and for
/// the application the request names.
pub fn signed_id(
    verdict: AvatarIdVerdict,
    request: &TokenRequest,
    as_host: &str,
) -> Result<SignedId, TokenRefusal> {
    if !verdict.valid {
        return Err(TokenRefusal::SignedIdInvalid {
            reason: verdict.reason.unwrap_or(Reason::SignatureInvalid),
            detail: verdict
                .detail
                .unwrap_or_else(|| "the IMS AS says so".into()),
        });
    }
    let (Some(impu), Some(avatar_id), Some(app_id), Some(fingerprint)) = (
        verdict.impu,
        verdict.avatar_id,
        verdict.app_id,
        verdict.ue_cert_fingerprint,
    ) else {
        return Err(TokenRefusal::VerifierUnavailable {
            host: as_host.to_owned(),
            detail: "a valid verdict without impu, avatar_id, app_id and ue_cert_fingerprint"
                .into(),
        });
    };
    if app_id != request.app_id {
        return Err(TokenRefusal::AppMismatch {
            signed: app_id,
            requested: request.app_id.clone(),
        });
    }
    Ok(SignedId {
        impu,
        avatar_id,
        app_id,
        fingerprint,
    })
}

/// (c) The UE token verified with the certificate that names the signed IMPU
/// ([`TokenRefusal::NoUeCertificate`]), against the fingerprint SIP carried, for the client
/// XR AS, at `now` (`avatar::ue_token::verify`), and its `sub` is that IMPU.
pub fn ue_token(
    certs: &UeCerts,
    id: &SignedId,
    token: &str,
    client: &str,
    now: i64,
) -> Result<UeTokenClaims, TokenRefusal> {
    let cert = certs
        .naming(&id.impu)
        .ok_or_else(|| TokenRefusal::NoUeCertificate {
            impu: id.impu.clone(),
        })?;
    let claims = ue_token::verify(token, &cert.der, &id.fingerprint, client, now)
        .map_err(TokenRefusal::UeToken)?;
    if claims.sub != id.impu {
        return Err(TokenRefusal::UeToken(avatar::Error::SubjectMismatch {
            sub: claims.sub,
            names: vec![id.impu.clone()],
        }));
    }
    Ok(claims)
}

/// What the NEF grants with: who it is, the DAC, the token lifetime.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    /// The NEF's host (`iss`).
    pub nef: &'a str,
    /// The DAC (`aud`).
    pub dac: &'a str,
    /// Token lifetime in seconds.
    pub lifetime: i64,
}

/// (d) The access token's claims for `client`, bound to the signed Avatar-id's UE, avatar and
/// application, with the read scope, issued at `now`.
pub fn claims(
    issuer: &Issuer<'_>,
    client: &str,
    id: &SignedId,
    now: i64,
    jti: &str,
) -> AccessClaims {
    AccessClaims {
        iss: issuer.nef.to_owned(),
        sub: client.to_owned(),
        aud: issuer.dac.to_owned(),
        scope: SCOPE_READ.to_owned(),
        avatar_id: id.avatar_id.clone(),
        app_id: id.app_id.clone(),
        impu: id.impu.clone(),
        iat: now,
        exp: now + issuer.lifetime,
        jti: jti.to_owned(),
    }
}

/// The label of the `IssueToken` note for a grant.
pub fn granted_label(c: &AccessClaims) -> String {
    format!(
        "grant {} an access token for the metadata of {} at {} (UE {}, app {}, scope {}), expires {}",
        c.sub, c.avatar_id, c.aud, c.impu, c.app_id, c.scope, c.exp
    )
}

#[cfg(test)]
mod tests;
