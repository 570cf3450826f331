//! The pure decision of each verification step: a `Result` per check, no I/O, no recording.
//! [`super::run`] runs them in the order of RFC 8224 §6.2 and records each as a [`super::Check`].

use super::Party;
use crate::identity::IdentityHeader;
use crate::passport::{self, Claims, Header, Orig, Passport, Ppt};
use crate::{CertInfo, Error, cert};

/// The header's `alg` parameter, if any, is ES256: the only one defined for SHAKEN (RFC 8224
/// §4.1, RFC 8588 §3).
pub(super) fn alg_param(identity: &IdentityHeader) -> Result<Option<String>, Error> {
    match &identity.alg {
        Some(alg) if alg != passport::ES256 => Err(Error::UnsupportedAlg { alg: alg.clone() }),
        other => Ok(other.clone()),
    }
}

/// The PASSporT's JOSE `alg` is ES256 (RFC 8588 §3).
pub(super) fn alg_is_es256(header: &Header) -> Result<(), Error> {
    if header.alg == passport::ES256 {
        Ok(())
    } else {
        Err(Error::UnsupportedAlg {
            alg: header.alg.clone(),
        })
    }
}

/// The JOSE `typ` is `passport` (RFC 8225 §4.1).
pub(super) fn typ_is_passport(header: &Header) -> Result<(), Error> {
    if header.typ.as_deref() == Some(passport::TYP) {
        Ok(())
    } else {
        Err(Error::WrongTyp {
            typ: header.typ.clone(),
        })
    }
}

/// The header parameter and the token's own `ppt` agree, and the `ppt` is one this verifier
/// knows (RFC 8225 §8.1).
pub(super) fn ppt(identity: &IdentityHeader, passport: &Passport) -> Result<Option<Ppt>, Error> {
    if identity.ppt == passport.header.ppt {
        passport.ppt()
    } else {
        Err(Error::PptMismatch {
            param: identity.ppt.clone(),
            token: passport.header.ppt.clone(),
        })
    }
}

/// The claims the `ppt` requires are there: `attest` and `origid` for SHAKEN (RFC 8588 §4,
/// §5), `rcd` for RCD (RFC 9795), `avatar` for the signed Avatar-id (TR 33.790 §6.7.2.1 NOTE
/// 2); an `avatar` claim, wherever it rides, must be well-formed.
pub(super) fn required_claims(ppt: Option<Ppt>, claims: &Claims) -> Result<(), Error> {
    let missing = match ppt {
        Some(Ppt::Shaken) if claims.attest.is_none() => Some("attest"),
        Some(Ppt::Shaken) if claims.origid.is_none() => Some("origid"),
        Some(Ppt::Rcd) if claims.rcd.is_none() => Some("rcd"),
        Some(Ppt::Avatar) if claims.avatar.is_none() => Some("avatar"),
        _ => None,
    };
    if let Some(claim) = missing {
        return Err(Error::MissingClaim { claim });
    }
    match &claims.avatar {
        Some(avatar) => avatar
            .check()
            .map_err(|fault| Error::MalformedAvatar { fault }),
        None => Ok(()),
    }
}

/// The claims [`required_claims`] asked for, as the trace lists them.
pub(super) fn required_list(ppt: Option<Ppt>) -> String {
    match ppt {
        Some(Ppt::Shaken) => "orig, dest, iat, attest, origid".into(),
        Some(Ppt::Rcd) => "orig, dest, iat, rcd".into(),
        Some(Ppt::Avatar) => "orig, dest, iat, avatar".into(),
        _ => "orig, dest, iat".into(),
    }
}

/// The `info` parameter names the credential the signature is checked with (RFC 8224 §6.2.3).
pub(super) fn info_names_x5u(identity: &IdentityHeader, header: &Header) -> Result<(), Error> {
    if identity.info == header.x5u {
        Ok(())
    } else {
        Err(Error::InfoMismatch {
            info: identity.info.clone(),
            x5u: header.x5u.clone(),
        })
    }
}

/// `iat` is within `freshness` seconds of `reference` (RFC 8224 §6.2.1); `against` names the
/// reference (`now`, `Date header`).
pub(super) fn fresh(
    iat: i64,
    reference: i64,
    freshness: i64,
    against: &'static str,
) -> Result<(), Error> {
    if (reference - iat).abs() > freshness {
        Err(Error::Stale {
            iat,
            reference,
            freshness,
            against,
        })
    } else {
        Ok(())
    }
}

/// `orig` names the caller SIP asserts (RFC 8224 §6.2).
pub(super) fn orig_matches(orig: &Party, claims: &Claims) -> Result<(), Error> {
    if orig.matches_orig(&claims.orig) {
        Ok(())
    } else {
        Err(Error::OrigMismatch {
            sip: orig.text(),
            token: serde_json::to_string(&claims.orig).unwrap_or_default(),
        })
    }
}

/// `dest` names the callee SIP addresses (RFC 8224 §6.2).
pub(super) fn dest_matches(dest: &Party, claims: &Claims) -> Result<(), Error> {
    if dest.matches_dest(&claims.dest) {
        Ok(())
    } else {
        Err(Error::DestMismatch {
            sip: dest.text(),
            token: serde_json::to_string(&claims.dest).unwrap_or_default(),
        })
    }
}

/// The certificate's TNAuthList authorises `orig` (RFC 8226 §9, RFC 8224 §6.2.3): an SPC
/// covers any number, TN and range entries only theirs ([`cert::authorises`]).
pub(super) fn tn_authorised(cert: &CertInfo, orig: &Orig) -> Result<(), Error> {
    let tn = orig.tn.as_deref().map(passport::canonical_tn);
    if cert::authorises(&cert.tn_auth_list, tn.as_deref()) {
        return Ok(());
    }
    let entries: Vec<String> = cert.tn_auth_list.iter().map(ToString::to_string).collect();
    Err(Error::TnNotAuthorised {
        subject: cert.subject.clone(),
        orig: serde_json::to_string(orig).unwrap_or_default(),
        entries: entries.join(", "),
    })
}

/// `orig` as the trace shows it (`orig tn 12025551000`).
pub(super) fn orig_text(orig: &Orig) -> String {
    match (&orig.tn, &orig.uri) {
        (Some(tn), _) => format!("orig tn {tn}"),
        (None, Some(uri)) => format!("orig uri {uri}"),
        (None, None) => "orig (empty)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::TnEntry;
    use crate::passport::{Attest, Dest};

    fn cert(entries: Vec<TnEntry>) -> CertInfo {
        CertInfo {
            subject: "CN=SHAKEN 1001".into(),
            issuer: "CN=STI-ICA".into(),
            path: Vec::new(),
            not_before: 0,
            not_after: 1,
            tn_auth_list: entries,
            serial: "01".into(),
            crl_urls: Vec::new(),
        }
    }

    #[test]
    fn tn_authority_follows_the_tn_auth_list() {
        let spc = cert(vec![TnEntry::Spc("1001".into())]);
        assert_eq!(tn_authorised(&spc, &Orig::tn("+1 202 555 1000")), Ok(()));
        let range = cert(vec![TnEntry::Range {
            start: "12025559000".into(),
            count: 100,
        }]);
        assert_eq!(tn_authorised(&range, &Orig::tn("+12025559042")), Ok(()));
        assert_eq!(
            tn_authorised(&range, &Orig::tn("+12025551000")),
            Err(Error::TnNotAuthorised {
                subject: "CN=SHAKEN 1001".into(),
                orig: r#"{"tn":"12025551000"}"#.into(),
                entries: "TN range 12025559000 (+100)".into(),
            })
        );
        assert_eq!(orig_text(&Orig::tn("+12025551000")), "orig tn 12025551000");
    }

    #[test]
    fn freshness_is_inclusive_either_side() {
        assert_eq!(fresh(1000, 1060, 60, "now"), Ok(()));
        assert_eq!(fresh(1000, 940, 60, "now"), Ok(()));
        assert_eq!(
            fresh(1000, 1061, 60, "Date header"),
            Err(Error::Stale {
                iat: 1000,
                reference: 1061,
                freshness: 60,
                against: "Date header",
            })
        );
    }

    #[test]
    fn required_claims_follow_the_ppt() {
        let mut claims = Claims::new(Orig::tn("+12025551000"), Dest::tn("+12155551001"), 0);
        let missing = |claim| Err(Error::MissingClaim { claim });
        assert_eq!(required_claims(None, &claims), Ok(()));
        assert_eq!(
            required_claims(Some(Ppt::Shaken), &claims),
            missing("attest")
        );
        claims.attest = Some(Attest::A);
        assert_eq!(
            required_claims(Some(Ppt::Shaken), &claims),
            missing("origid")
        );
        claims.origid = Some("4437c7eb-8f7a-4f0e-a863-f53a0e60251a".into());
        assert_eq!(required_claims(Some(Ppt::Shaken), &claims), Ok(()));
        assert_eq!(required_claims(Some(Ppt::Rcd), &claims), missing("rcd"));
        assert_eq!(required_claims(Some(Ppt::Div), &claims), Ok(()));
        assert_eq!(required_list(Some(Ppt::Rcd)), "orig, dest, iat, rcd");
    }

    #[test]
    fn avatar_tokens_need_a_well_formed_avatar_claim() {
        use crate::avatar::{AvatarClaim, AvatarFault};
        let mut claims = Claims::new(Orig::tn("+12025551000"), Dest::tn("+12155551001"), 0);
        assert_eq!(
            required_claims(Some(Ppt::Avatar), &claims),
            Err(Error::MissingClaim { claim: "avatar" })
        );
        claims.avatar = Some(AvatarClaim::new("owl", "", "sip:+12025551000@ims.example"));
        assert_eq!(
            required_claims(Some(Ppt::Avatar), &claims),
            Err(Error::MalformedAvatar {
                fault: AvatarFault::Empty("app")
            })
        );
        claims.avatar = Some(AvatarClaim::new(
            "owl",
            "avatar-call",
            "sip:+12025551000@ims.example",
        ));
        assert_eq!(required_claims(Some(Ppt::Avatar), &claims), Ok(()));
        assert_eq!(required_list(Some(Ppt::Avatar)), "orig, dest, iat, avatar");
    }
}
