//! The `avatar` claim of the testbed's `avatar` PASSporT (TR 33.790 §6.7.2.1 step 3 and NOTE 2:
//! the signed Avatar-id, generated over Ms "based on at least calling UE IMS id (e.g. IMPU of
//! the calling UE), Avatar-id, and application Id"). Testbed choice `7-signed-avatar-id`: an
//! RFC 8225 §8 extension of our own, `ppt` `avatar`, so the SHAKEN verification path (x5u,
//! chain, TNAuthList, `iat` freshness) applies unchanged.
//!
//! Pure: the claim's shape and its well-formedness; the pipeline that requires it is
//! [`crate::verify`].

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// The `avatar` claim: which avatar, for which application, used by which caller.
/// Members in canonical (RFC 8785) order, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarClaim {
    /// The application the avatar is used with (`avatar-call`).
    pub app: String,
    /// The Avatar-id (`qbranch-agent`).
    pub id: String,
    /// The calling UE's IMS identity (`sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org`).
    pub impu: String,
}

/// Why an `avatar` claim is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvatarFault {
    /// Not an object with string members `id`, `app` and `impu` (the JSON error).
    Shape(String),
    /// A member is empty.
    Empty(&'static str),
    /// `impu` is not a `sip:`, `sips:` or `tel:` URI.
    ImpuNotUri(String),
}

impl fmt::Display for AvatarFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AvatarFault::Shape(e) => write!(f, "unexpected shape ({e})"),
            AvatarFault::Empty(member) => write!(f, "member {member:?} is empty"),
            AvatarFault::ImpuNotUri(impu) => {
                write!(f, "impu {impu:?} is not a sip:, sips: or tel: URI")
            }
        }
    }
}

impl AvatarClaim {
    /// The claim for avatar `id` used with application `app` by `impu`.
    pub fn new(id: impl Into<String>, app: impl Into<String>, impu: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            id: id.into(),
            impu: impu.into(),
        }
    }

    /// Whether the claim is well-formed: every member non-empty, `impu` an IMS public
    /// identity's URI form. Pure.
    pub fn check(&self) -> Result<(), AvatarFault> {
        for (member, value) in [("id", &self.id), ("app", &self.app), ("impu", &self.impu)] {
            if value.trim().is_empty() {
                return Err(AvatarFault::Empty(member));
            }
        }
        let uri = ["sip:", "sips:", "tel:"]
            .iter()
            .any(|scheme| self.impu.len() > scheme.len() && self.impu.starts_with(scheme));
        if uri {
            Ok(())
        } else {
            Err(AvatarFault::ImpuNotUri(self.impu.clone()))
        }
    }
}

/// The `avatar` member of a claims object as carried, parsed and checked: `None` when there is
/// none, [`Error::MalformedAvatar`] when it is not a well-formed [`AvatarClaim`].
pub fn from_claims(claims: &Value) -> Result<Option<AvatarClaim>, Error> {
    let Some(value) = claims.get("avatar") else {
        return Ok(None);
    };
    let claim: AvatarClaim =
        serde_json::from_value(value.clone()).map_err(|e| Error::MalformedAvatar {
            fault: AvatarFault::Shape(e.to_string()),
        })?;
    claim
        .check()
        .map_err(|fault| Error::MalformedAvatar { fault })?;
    Ok(Some(claim))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

    #[test]
    fn serialises_in_canonical_order() {
        let claim = AvatarClaim::new("qbranch-agent", "avatar-call", UE_A);
        assert_eq!(
            serde_json::to_string(&claim).unwrap(),
            format!(r#"{{"app":"avatar-call","id":"qbranch-agent","impu":"{UE_A}"}}"#)
        );
        assert_eq!(claim.check(), Ok(()));
    }

    #[test]
    fn ill_formed_claims_are_refused_with_their_fault() {
        let fault = |claims: Value| match from_claims(&claims) {
            Err(Error::MalformedAvatar { fault }) => fault,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            fault(json!({"avatar": "owl"})),
            AvatarFault::Shape(_)
        ));
        assert!(matches!(
            fault(json!({"avatar": {"id": "owl", "app": "avatar-call"}})),
            AvatarFault::Shape(_)
        ));
        assert!(matches!(
            fault(json!({"avatar": {"id": 7, "app": "a", "impu": UE_A}})),
            AvatarFault::Shape(_)
        ));
        assert_eq!(
            fault(json!({"avatar": {"id": " ", "app": "a", "impu": UE_A}})),
            AvatarFault::Empty("id")
        );
        assert_eq!(
            fault(json!({"avatar": {"id": "owl", "app": "a", "impu": "+12025551000"}})),
            AvatarFault::ImpuNotUri("+12025551000".into())
        );
        assert_eq!(
            fault(json!({"avatar": {"id": "owl", "app": "a", "impu": "sip:"}})),
            AvatarFault::ImpuNotUri("sip:".into())
        );
        assert_eq!(from_claims(&json!({"iat": 1})), Ok(None));
        let error = Error::MalformedAvatar {
            fault: AvatarFault::Empty("app"),
        };
        assert_eq!(error.sip_answer().code, 438);
    }
}
