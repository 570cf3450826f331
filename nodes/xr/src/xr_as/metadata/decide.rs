//! The XR AS's decisions for solution 7 (TR 33.790 §6.7.2.1 steps 7–9), pure: what the NEF's
//! answer to the token request means, what the DAC's answer to the metadata request means, and
//! which Avatar-id it asks the DAC for (the threat switch `OtherAvatar`).

use avatar::wire::{TokenError, TokenResponse};
use kit::http::Response;
use proto::trace::Reason;
use proto::wire::avatar::Problem;

use super::super::XrTamper;
use crate::upstream;

/// A refusal to answer the MF with: the status and the [`Problem`].
pub(in crate::xr_as) type Refusal = (u16, Problem);

fn refusal(status: u16, reason: Reason, detail: String) -> Refusal {
    (status, Problem { reason, detail })
}

/// Why the NEF could not be asked. A TLS handshake that fails is the NEF refusing this client
/// (its certificate, or none: `NotAuthorised`); in TLS 1.3 the NEF's alert for a missing client
/// certificate may only arrive once the handshake is over, on the first read: then it is an
/// HTTP exchange failure, not told apart from others (`Unreachable`).
pub(in crate::xr_as) fn nef_transport_reason(e: &kit::Error) -> Reason {
    match e {
        kit::Error::Handshake { .. } => Reason::NotAuthorised,
        other => upstream::transport_reason(other),
    }
}

/// The NEF's answer to the token request (step 7), decided: the access token, or the refusal
/// (403 with the NEF's typed reason when its RFC 6749 error gives one; 502 `Unreachable` when
/// it gives none, or no usable answer; 502 with the transport's reason when it could not be
/// asked).
pub(in crate::xr_as) fn token_outcome(
    answer: Result<&Response, &kit::Error>,
) -> Result<TokenResponse, Refusal> {
    match answer {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body).map_err(|e| {
            refusal(
                502,
                Reason::Unreachable,
                format!("the NEF's token response is unreadable: {e}"),
            )
        }),
        Ok(r) => match serde_json::from_slice::<TokenError>(&r.body) {
            Ok(TokenError {
                error,
                error_description,
                reason: Some(reason),
            }) => Err(refusal(
                403,
                reason,
                format!(
                    "the NEF answered {} {}: {error_description}",
                    r.status,
                    error.as_str()
                ),
            )),
            Ok(e) => Err(refusal(
                502,
                Reason::Unreachable,
                format!(
                    "the NEF answered {} {} without a reason: {}",
                    r.status,
                    e.error.as_str(),
                    e.error_description
                ),
            )),
            Err(_) => Err(refusal(
                502,
                Reason::Unreachable,
                format!("the NEF answered {}", r.status),
            )),
        },
        Err(e) => Err(refusal(502, nef_transport_reason(e), format!("NEF: {e}"))),
    }
}

/// The DAC's answer to the metadata request (steps 8–9), decided: the signed metadata (a compact
/// JWS), or the refusal (the DAC's 4xx status and problem as they came; 502 when it could not be
/// asked or its answer is unusable).
pub(in crate::xr_as) fn metadata_outcome(
    answer: Result<&Response, &kit::Error>,
) -> Result<String, Refusal> {
    match answer {
        Ok(r) if r.status == 200 => String::from_utf8(r.body.to_vec()).map_err(|_| {
            refusal(
                502,
                Reason::Unreachable,
                "the DAC's metadata is not text".into(),
            )
        }),
        Ok(r) if (400..500).contains(&r.status) => match upstream::read_problem(&r.body) {
            Some(p) => Err((r.status, p)),
            None => Err(refusal(
                502,
                Reason::Unreachable,
                format!("the DAC answered {} without a problem", r.status),
            )),
        },
        Ok(r) => Err(refusal(
            502,
            Reason::Unreachable,
            format!("the DAC answered {}", r.status),
        )),
        Err(e) => Err(refusal(
            502,
            upstream::transport_reason(e),
            format!("DAC: {e}"),
        )),
    }
}

/// The Avatar-id the XR AS asks the DAC for (step 8): the one signed for the call, or under the
/// threat switch `OtherAvatar` the other one.
pub(in crate::xr_as) fn asked_avatar<'a>(tamper: Option<&'a XrTamper>, signed: &'a str) -> &'a str {
    match tamper {
        Some(XrTamper::OtherAvatar(other)) => other,
        _ => signed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use avatar::wire::OAuthError;
    use kit::node::json_response;

    fn token_error(error: OAuthError, reason: Option<Reason>) -> TokenError {
        TokenError {
            error,
            error_description: "why".into(),
            reason,
        }
    }

    #[test]
    fn the_nefs_answers_decided() {
        let granted = TokenResponse {
            access_token: "a.t.s".into(),
            token_type: "Bearer".into(),
            expires_in: 300,
            scope: "avatar-metadata:read".into(),
        };
        assert_eq!(
            token_outcome(Ok(&json_response(200, &granted))).unwrap(),
            granted
        );
        // (answer) → (status, reason) of the refusal.
        let cases = [
            (
                json_response(
                    403,
                    &token_error(OAuthError::UnauthorizedClient, Some(Reason::NotAuthorised)),
                ),
                (403, Reason::NotAuthorised),
            ),
            (
                json_response(
                    400,
                    &token_error(OAuthError::InvalidGrant, Some(Reason::SignatureInvalid)),
                ),
                (403, Reason::SignatureInvalid),
            ),
            (
                json_response(400, &token_error(OAuthError::InvalidGrant, None)),
                (502, Reason::Unreachable),
            ),
            (Response::text(403, "no"), (502, Reason::Unreachable)),
            (Response::json(200, "{}"), (502, Reason::Unreachable)),
            (Response::text(500, "boom"), (502, Reason::Unreachable)),
        ];
        for (answer, want) in cases {
            let (status, p) = token_outcome(Ok(&answer)).unwrap_err();
            assert_eq!((status, p.reason), want, "{answer:?}");
        }
        let transport = [
            (
                kit::Error::Handshake {
                    peer: "nef".into(),
                    detail: "alert".into(),
                },
                Reason::NotAuthorised,
            ),
            (kit::Error::Timeout { ms: 3000 }, Reason::Timeout),
            (
                kit::Error::Http {
                    detail: "closed".into(),
                },
                Reason::Unreachable,
            ),
        ];
        for (e, want) in transport {
            let (status, p) = token_outcome(Err(&e)).unwrap_err();
            assert_eq!((status, p.reason), (502, want), "{e}");
        }
    }

    #[test]
    fn the_dacs_metadata_answers_decided() {
        let ok = Response::new(200, avatar::wire::METADATA_TYPE, "h.c.s");
        assert_eq!(metadata_outcome(Ok(&ok)).unwrap(), "h.c.s");
        for (status, reason) in [
            (401, Reason::Expired),
            (403, Reason::NotAuthorised),
            (404, Reason::NoRecord),
        ] {
            let refused = upstream::problem(status, reason, "no");
            let (got, p) = metadata_outcome(Ok(&refused)).unwrap_err();
            assert_eq!((got, p.reason), (status, reason));
        }
        for unusable in [
            Response::text(403, "no"),
            Response::text(500, "boom"),
            Response::new(200, "application/jwt", vec![0xff, 0xfe]),
        ] {
            let (status, p) = metadata_outcome(Ok(&unusable)).unwrap_err();
            assert_eq!(
                (status, p.reason),
                (502, Reason::Unreachable),
                "{unusable:?}"
            );
        }
        let (status, p) = metadata_outcome(Err(&kit::Error::Timeout { ms: 1 })).unwrap_err();
        assert_eq!((status, p.reason), (502, Reason::Timeout));
    }

    #[test]
    fn the_avatar_asked_for() {
        let other = XrTamper::OtherAvatar("owl".into());
        assert_eq!(asked_avatar(None, "qbranch-agent"), "qbranch-agent");
        assert_eq!(asked_avatar(Some(&other), "qbranch-agent"), "owl");
        assert_eq!(
            asked_avatar(Some(&XrTamper::AlterMetadata), "qbranch-agent"),
            "qbranch-agent"
        );
    }
}
