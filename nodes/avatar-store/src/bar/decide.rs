//! The BAR's decisions, without I/O (solution #5 step 6): which resource a request is for, the
//! bearer token it carries, and whether the token vouches for the download.

use avatar::Avatar;
use avatar::token::{self, Claims, Expected};
use proto::wire::avatar::{MODEL_PATH_PREFIX, unpct};

use crate::owners::OwnerKeys;
use crate::refusal::{Refusal, TargetFault};

/// A model request: `GET /bar/v1/models/{avatar_id}?session={call_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRequest {
    /// The Avatar ID requested.
    pub avatar_id: String,
    /// The session the download is for (the call's Call-ID).
    pub session: String,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A model resource, its target read (or why it cannot be).
    Model(Result<ModelRequest, Refusal>),
    /// A model resource asked with another method than `GET` (405).
    WrongMethod,
    /// No such resource (404).
    NotFound,
}

/// Routes a request by its method and target (path and query).
pub fn route(method: &str, target: &str) -> Route {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(segment) = path.strip_prefix(MODEL_PATH_PREFIX) else {
        return Route::NotFound;
    };
    if segment.is_empty() || segment.contains('/') {
        return Route::NotFound;
    }
    if method != "GET" {
        return Route::WrongMethod;
    }
    Route::Model(model_request(segment, query))
}

/// The Avatar ID of the path segment and the `session` of the query, percent-decoded.
fn model_request(segment: &str, query: &str) -> Result<ModelRequest, Refusal> {
    let bad = |fault| Refusal::BadTarget { fault };
    let avatar_id = unpct(segment).ok_or(bad(TargetFault::BadEscape))?;
    let session = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("session="))
        .filter(|value| !value.is_empty())
        .ok_or(bad(TargetFault::NoSession))?;
    let session = unpct(session).ok_or(bad(TargetFault::BadEscape))?;
    Ok(ModelRequest { avatar_id, session })
}

/// The bearer token of an `Authorization` header (RFC 6750 §2.1; the scheme is
/// case-insensitive); [`Refusal::NoBearer`] without one.
pub fn bearer(authorization: Option<&str>) -> Result<&str, Refusal> {
    let header = authorization.map(str::trim).unwrap_or_default();
    if header.is_empty() {
        return Err(Refusal::NoBearer { scheme: None });
    }
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty() {
        Ok(token)
    } else {
        Err(Refusal::NoBearer {
            scheme: Some(scheme.to_owned()),
        })
    }
}

/// What the BAR grants: the avatar whose model it answers, and the token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    /// The avatar.
    pub avatar: &'a Avatar,
    /// The verified claims.
    pub claims: Claims,
}

/// Step 6: the avatar requested and its owner's key ([`OwnerKeys::owner_of`]), then the token
/// verified with that key for the Avatar ID and the session requested at `now`
/// (`avatar::token::verify`: Malformed, SignatureInvalid, NotEntitled, ClaimMismatch, Replayed,
/// Expired).
pub fn decide<'a>(
    keys: &'a OwnerKeys,
    request: &ModelRequest,
    token: &str,
    now: i64,
) -> Result<Grant<'a>, Refusal> {
    let (avatar, key) = keys.owner_of(&request.avatar_id)?;
    let expected = Expected {
        avatar_id: &request.avatar_id,
        session: &request.session,
        owner_impu: &avatar.owner_impu,
        now,
    };
    let claims = token::verify(token, key, &expected)?;
    Ok(Grant { avatar, claims })
}

/// The label of the `VerifyAvatarToken` note for a grant.
pub fn granted_label(grant: &Grant<'_>) -> String {
    format!(
        "avatar token for {} verified with the owner's UE certificate ({}, {}): bound to session {}, expires {}",
        grant.avatar.id,
        grant.avatar.owner_ue,
        grant.avatar.owner_impu,
        grant.claims.call_id,
        grant.claims.exp
    )
}

/// The label of the refused `VerifyAvatarToken` note.
pub fn refused_label(request: Option<&ModelRequest>, refusal: &Refusal) -> String {
    match request {
        Some(r) => format!("refuse model request for {}: {refusal}", r.avatar_id),
        None => format!("refuse model request: {refusal}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{CALL, NOW, UE_A, keys, owners, ue_key};
    use proto::trace::Reason;
    use proto::wire::avatar::model_path;

    fn request(avatar_id: &str) -> ModelRequest {
        ModelRequest {
            avatar_id: avatar_id.into(),
            session: CALL.into(),
        }
    }

    fn token_for(avatar_id: &str, call: &str, iat: i64, ue: &str) -> String {
        token::sign(
            &Claims::new(avatar_id, UE_A, call, iat, "jti-1"),
            &ue_key(ue),
        )
    }

    fn good() -> String {
        token_for("qbranch-agent", CALL, NOW, "ue-a")
    }

    #[test]
    fn routes_by_method_and_path() {
        let target = model_path("qbranch-agent", CALL);
        assert_eq!(
            route("GET", &target),
            Route::Model(Ok(request("qbranch-agent")))
        );
        assert_eq!(route("POST", &target), Route::WrongMethod);
        for other in [
            "/",
            "/bar/v1/models/",
            "/bar/v1/models/a/b",
            "/bar/v1/other",
        ] {
            assert_eq!(route("GET", other), Route::NotFound, "{other}");
        }
        // Percent-encoding both ways; other query parameters are ignored.
        let odd = model_path("q branch/é", "x y@z");
        assert_eq!(
            route("GET", &format!("{odd}&lang=en")),
            Route::Model(Ok(ModelRequest {
                avatar_id: "q branch/é".into(),
                session: "x y@z".into(),
            }))
        );
    }

    #[test]
    fn an_unusable_target_is_malformed() {
        let refused = |target: &str| match route("GET", target) {
            Route::Model(Err(r)) => r,
            other => panic!("{other:?}"),
        };
        for (target, fault) in [
            ("/bar/v1/models/owl", TargetFault::NoSession),
            ("/bar/v1/models/owl?session=", TargetFault::NoSession),
            ("/bar/v1/models/owl?sess=1", TargetFault::NoSession),
            ("/bar/v1/models/o%zzl?session=1", TargetFault::BadEscape),
            ("/bar/v1/models/owl?session=%FF", TargetFault::BadEscape),
            ("/bar/v1/models/owl?session=%4", TargetFault::BadEscape),
        ] {
            let r = refused(target);
            assert_eq!(r, Refusal::BadTarget { fault }, "{target}");
            assert_eq!(r.reason(), Reason::Malformed);
            assert_eq!(r.status(), 400);
        }
    }

    #[test]
    fn bearer_token_or_a_challenge() {
        assert_eq!(bearer(Some("Bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer(Some("bearer  a.b.c ")), Ok("a.b.c"));
        for (header, scheme) in [
            (None, None),
            (Some(""), None),
            (Some("Bearer"), Some("Bearer")),
            (Some("Bearer   "), Some("Bearer")),
            (Some("Basic dXNlcjpwdw=="), Some("Basic")),
        ] {
            let e = bearer(header).unwrap_err();
            let scheme = scheme.map(str::to_owned);
            assert_eq!(e, Refusal::NoBearer { scheme }, "{header:?}");
            assert_eq!(e.reason(), Reason::MissingIdentity);
            assert_eq!(e.status(), 401);
        }
    }

    #[test]
    fn a_good_token_is_granted_the_owners_model() {
        let keys = keys();
        let grant = decide(&keys, &request("qbranch-agent"), &good(), NOW + 10).unwrap();
        assert_eq!(grant.avatar.id, "qbranch-agent");
        assert_eq!(grant.avatar.model.id, "qbranch-agent");
        assert_eq!(grant.claims.call_id, CALL);
        let label = granted_label(&grant);
        assert!(
            label.starts_with("avatar token for qbranch-agent verified"),
            "{label}"
        );
    }

    /// Every refusal of step 6, with its reason and status.
    #[test]
    fn each_refusal_has_its_reason() {
        let keys = keys();
        let agent = request("qbranch-agent");
        let mut forged = good();
        forged.truncate(forged.len() - 4);
        forged.push_str("AAAA");
        let cases: [(&str, ModelRequest, String, i64, Reason, u16); 8] = [
            (
                "signed by another UE's key",
                agent.clone(),
                token_for("qbranch-agent", CALL, NOW, "ue-m"),
                NOW,
                Reason::SignatureInvalid,
                403,
            ),
            (
                "forged signature",
                agent.clone(),
                forged,
                NOW,
                Reason::SignatureInvalid,
                403,
            ),
            (
                "token for another avatar",
                agent.clone(),
                token_for("qbranch-cat", CALL, NOW, "ue-a"),
                NOW,
                Reason::ClaimMismatch,
                403,
            ),
            (
                "token of another session",
                agent.clone(),
                token_for("qbranch-agent", "call-0@ue-a", NOW, "ue-a"),
                NOW,
                Reason::Replayed,
                403,
            ),
            (
                "expired",
                agent.clone(),
                good(),
                NOW + token::LIFETIME + 1,
                Reason::Expired,
                403,
            ),
            (
                "malformed",
                agent.clone(),
                "a.b".into(),
                NOW,
                Reason::Malformed,
                403,
            ),
            (
                "unknown avatar",
                request("dragon"),
                good(),
                NOW,
                Reason::NoRecord,
                404,
            ),
            (
                "UE-B's avatar with UE-A's token: not the owner's key",
                request("owl"),
                token_for("owl", CALL, NOW, "ue-a"),
                NOW,
                Reason::SignatureInvalid,
                403,
            ),
        ];
        for (what, req, token, now, reason, status) in cases {
            let e = decide(&keys, &req, &token, now).unwrap_err();
            assert_eq!((e.reason(), e.status()), (reason, status), "{what}: {e}");
            let label = refused_label(Some(&req), &e);
            assert!(label.starts_with("refuse model request for"), "{label}");
        }
    }

    #[test]
    fn an_unusable_owner_certificate_refuses_the_token() {
        let keys = owners(|_| None).check(100);
        let e = decide(&keys, &request("qbranch-agent"), &good(), NOW).unwrap_err();
        assert_eq!((e.reason(), e.status()), (Reason::CertificateInvalid, 403));
    }
}
