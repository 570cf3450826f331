//! Why the server refuses, typed: one [`Denial`] per cause, with two pure mappings — to the
//! OAuth error of the token endpoint ([`Denial::oauth`]) and to the trace [`Reason`] that the
//! refusal's note and the authorization answer's `denial` carry ([`Denial::reason`]).

use std::fmt;

use proto::trace::Reason;

use crate::authz::{AUDIENCE, ISSUER, REALM, REQUEST_SKEW};

/// Why a UE certificate cannot vouch for a UE's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertFault {
    /// The directory holds no certificate for this UE.
    NotOnFile,
    /// It does not chain to the UE CA, is not valid at the time, or is not P-256
    /// (`stir::cert::validate_end_entity`'s error).
    Invalid(stir::Error),
    /// It does not name the employee's IMPU among its subject alternative names.
    DoesNotName {
        /// The IMPU it should name.
        impu: String,
        /// The URIs it names.
        uris: Vec<String>,
    },
}

impl fmt::Display for CertFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertFault::NotOnFile => f.write_str("no certificate on file"),
            CertFault::Invalid(e) => write!(f, "{e}"),
            CertFault::DoesNotName { impu, uris } => {
                write!(f, "it does not name {impu} (names {uris:?})")
            }
        }
    }
}

/// Why the server refuses (a token request, an authorisation, an allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// A required member is missing.
    Missing(&'static str),
    /// The IMPU is not in the enterprise's directory.
    NotAnEmployee {
        /// The IMPU asked about.
        impu: String,
    },
    /// The employee left (directory `revoked` or revoked at run time).
    EmployeeRevoked {
        /// The former employee's IMPU.
        impu: String,
    },
    /// The 3P ID is not among those the employee may present.
    Id3pNotAllowed {
        /// The employee's IMPU.
        impu: String,
        /// The 3P ID asked for.
        id3p: String,
    },
    /// The UE's certificate does not chain to the UE CA, is not valid now, or does not name the
    /// IMPU.
    UeCertificate {
        /// The UE id.
        ue: String,
        /// What is wrong with its certificate.
        fault: CertFault,
    },
    /// The UE's signature does not verify with its certificate.
    BadUeSignature {
        /// The UE id.
        ue: String,
    },
    /// A token request signed too long ago (or in the future).
    StaleRequest {
        /// When the UE says it signed.
        iat: i64,
        /// The server's time.
        now: i64,
    },
    /// The token is not a compact JWS with this server's header and claims.
    MalformedToken {
        /// What does not parse.
        detail: String,
    },
    /// The token's signature does not verify with this server's key.
    BadTokenSignature,
    /// The token names another issuer.
    WrongIssuer {
        /// The issuer it names.
        iss: String,
    },
    /// The token names another audience.
    WrongAudience {
        /// The audience it names.
        aud: String,
    },
    /// The token is past its `exp`.
    TokenExpired {
        /// Its `exp`.
        exp: i64,
        /// The server's time.
        now: i64,
    },
    /// The token's `iat` is in the future (beyond the allowed skew).
    TokenNotYetValid {
        /// Its `iat`.
        iat: i64,
        /// The server's time.
        now: i64,
    },
    /// This token was revoked by id.
    TokenRevoked {
        /// Its `jti`.
        jti: String,
    },
    /// The token's subject is no longer an employee.
    SubjectRevoked {
        /// Its `sub`.
        sub: String,
    },
    /// The token was issued to someone other than the caller.
    WrongSubject {
        /// Its `sub`.
        sub: String,
        /// The caller.
        impu: String,
    },
    /// The token authorises another 3P ID than the one asked for.
    Wrong3pid {
        /// The 3P ID in the token.
        token: String,
        /// The 3P ID asked for.
        requested: String,
    },
    /// The request names another authorization server's realm.
    WrongRealm {
        /// The realm it names.
        realm: String,
    },
    /// Option B without a token, and the policy for this UE is token only.
    NoToken {
        /// The caller.
        impu: String,
    },
    /// Option A for an IMPU this server never had allocated.
    NotDesignated {
        /// The caller.
        impu: String,
    },
    /// A proof names a nonce that was never issued, expired or was already used.
    UnknownNonce,
    /// A proof for a challenge issued to someone else or for another 3P ID.
    ChallengeMismatch {
        /// What differs.
        detail: String,
    },
    /// The bound on outstanding challenges is reached.
    TooManyChallenges,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Missing(what) => write!(f, "request has no {what}"),
            Denial::NotAnEmployee { impu } => {
                write!(f, "{impu} is not an employee of the enterprise")
            }
            Denial::EmployeeRevoked { impu } => write!(f, "{impu} is no longer an employee"),
            Denial::Id3pNotAllowed { impu, id3p } => write!(f, "{impu} may not present {id3p}"),
            Denial::UeCertificate { ue, fault } => {
                write!(f, "certificate of UE {ue} unusable: {fault}")
            }
            Denial::BadUeSignature { ue } => write!(
                f,
                "UE signature does not verify with the certificate of {ue}"
            ),
            Denial::StaleRequest { iat, now } => write!(
                f,
                "token request signed at {iat}, server time {now}: more than {REQUEST_SKEW} s apart"
            ),
            Denial::MalformedToken { detail } => write!(f, "token malformed: {detail}"),
            Denial::BadTokenSignature => {
                f.write_str("token signature does not verify with the authorization server's key")
            }
            Denial::WrongIssuer { iss } => write!(f, "token issuer {iss:?} is not {ISSUER}"),
            Denial::WrongAudience { aud } => write!(f, "token audience {aud:?} is not {AUDIENCE}"),
            Denial::TokenExpired { exp, now } => write!(f, "token expired (exp {exp}, now {now})"),
            Denial::TokenNotYetValid { iat, now } => {
                write!(f, "token not yet valid (iat {iat}, now {now})")
            }
            Denial::TokenRevoked { jti } => write!(f, "token revoked: jti {jti}"),
            Denial::SubjectRevoked { sub } => {
                write!(f, "token revoked: {sub} is no longer an employee")
            }
            Denial::WrongSubject { sub, impu } => {
                write!(f, "token was issued to {sub}, not to the caller {impu}")
            }
            Denial::Wrong3pid { token, requested } => {
                write!(f, "token is for 3P ID {token}, not {requested}")
            }
            Denial::WrongRealm { realm } => {
                write!(f, "realm {realm:?} is not this server's ({REALM})")
            }
            Denial::NoToken { impu } => write!(
                f,
                "option B without a token, and local policy does not authenticate {impu}"
            ),
            Denial::NotDesignated { impu } => write!(
                f,
                "{impu} is not a designated IMPU allocated for the enterprise"
            ),
            Denial::UnknownNonce => f.write_str("unknown, expired or already used nonce"),
            Denial::ChallengeMismatch { detail } => write!(f, "proof does not match: {detail}"),
            Denial::TooManyChallenges => f.write_str("too many outstanding challenges"),
        }
    }
}

impl Denial {
    /// HTTP status and RFC 6749 §5.2 error code for the token endpoint.
    pub fn oauth(&self) -> (u16, &'static str) {
        match self {
            Denial::Missing(_) | Denial::StaleRequest { .. } => (400, "invalid_request"),
            Denial::UeCertificate { .. } | Denial::BadUeSignature { .. } => (401, "invalid_client"),
            Denial::Id3pNotAllowed { .. } => (403, "invalid_scope"),
            _ => (403, "unauthorized_client"),
        }
    }

    /// The typed reason of the refusal, for the trace note and the authorization answer's
    /// `denial`. The choices the TR leaves open:
    ///
    /// - an IMPU the server holds nothing for (not an employee, or option A with an IMPU it never
    ///   had allocated) is [`Reason::NoRecord`]; [`Reason::NotEntitled`] is kept for an employee
    ///   asking for a 3P ID that is not among theirs;
    /// - a challenge nonce that is no longer outstanding (expired, used or never issued: the
    ///   server cannot tell them apart once it is gone) is [`Reason::Expired`];
    /// - a UE certificate that is unusable (chain, validity, names) is
    ///   [`Reason::CertificateInvalid`];
    /// - option B without a token for a token-only employee is
    ///   [`Reason::AuthenticationRequired`] (the UE must authenticate with a token first);
    /// - too many outstanding challenges is [`Reason::Policy`] (a local bound).
    pub fn reason(&self) -> Reason {
        match self {
            Denial::Missing(_) | Denial::MalformedToken { .. } => Reason::Malformed,
            Denial::NotAnEmployee { .. } | Denial::NotDesignated { .. } => Reason::NoRecord,
            Denial::EmployeeRevoked { .. }
            | Denial::TokenRevoked { .. }
            | Denial::SubjectRevoked { .. } => Reason::Revoked,
            Denial::Id3pNotAllowed { .. } => Reason::NotEntitled,
            Denial::UeCertificate { .. } => Reason::CertificateInvalid,
            Denial::BadUeSignature { .. } | Denial::BadTokenSignature => Reason::SignatureInvalid,
            Denial::StaleRequest { .. } | Denial::TokenNotYetValid { .. } => Reason::Stale,
            Denial::WrongIssuer { .. }
            | Denial::WrongAudience { .. }
            | Denial::WrongSubject { .. }
            | Denial::Wrong3pid { .. }
            | Denial::WrongRealm { .. }
            | Denial::ChallengeMismatch { .. } => Reason::ClaimMismatch,
            Denial::TokenExpired { .. } | Denial::UnknownNonce => Reason::Expired,
            Denial::NoToken { .. } => Reason::AuthenticationRequired,
            Denial::TooManyChallenges => Reason::Policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        text.to_owned()
    }

    #[test]
    fn every_denial_maps_to_its_reason() {
        let cases = [
            (Denial::Missing("id3p"), Reason::Malformed),
            (
                Denial::MalformedToken { detail: s("a.b") },
                Reason::Malformed,
            ),
            (Denial::NotAnEmployee { impu: s("m") }, Reason::NoRecord),
            (Denial::NotDesignated { impu: s("d") }, Reason::NoRecord),
            (Denial::EmployeeRevoked { impu: s("x") }, Reason::Revoked),
            (Denial::TokenRevoked { jti: s("j") }, Reason::Revoked),
            (Denial::SubjectRevoked { sub: s("x") }, Reason::Revoked),
            (
                Denial::Id3pNotAllowed {
                    impu: s("a"),
                    id3p: s("t"),
                },
                Reason::NotEntitled,
            ),
            (
                Denial::UeCertificate {
                    ue: s("ue-a"),
                    fault: CertFault::NotOnFile,
                },
                Reason::CertificateInvalid,
            ),
            (
                Denial::BadUeSignature { ue: s("ue-a") },
                Reason::SignatureInvalid,
            ),
            (Denial::BadTokenSignature, Reason::SignatureInvalid),
            (Denial::StaleRequest { iat: 0, now: 999 }, Reason::Stale),
            (Denial::TokenNotYetValid { iat: 999, now: 0 }, Reason::Stale),
            (Denial::WrongIssuer { iss: s("i") }, Reason::ClaimMismatch),
            (Denial::WrongAudience { aud: s("a") }, Reason::ClaimMismatch),
            (
                Denial::WrongSubject {
                    sub: s("a"),
                    impu: s("m"),
                },
                Reason::ClaimMismatch,
            ),
            (
                Denial::Wrong3pid {
                    token: s("t"),
                    requested: s("u"),
                },
                Reason::ClaimMismatch,
            ),
            (Denial::WrongRealm { realm: s("r") }, Reason::ClaimMismatch),
            (
                Denial::ChallengeMismatch { detail: s("d") },
                Reason::ClaimMismatch,
            ),
            (Denial::TokenExpired { exp: 0, now: 1 }, Reason::Expired),
            (Denial::UnknownNonce, Reason::Expired),
            (
                Denial::NoToken { impu: s("a") },
                Reason::AuthenticationRequired,
            ),
            (Denial::TooManyChallenges, Reason::Policy),
        ];
        for (denial, reason) in cases {
            assert_eq!(denial.reason(), reason, "{denial}");
        }
    }

    #[test]
    fn oauth_errors_of_the_token_endpoint() {
        assert_eq!(Denial::Missing("id3p").oauth(), (400, "invalid_request"));
        assert_eq!(
            Denial::BadUeSignature { ue: s("ue-a") }.oauth(),
            (401, "invalid_client")
        );
        assert_eq!(
            Denial::Id3pNotAllowed {
                impu: s("a"),
                id3p: s("t")
            }
            .oauth(),
            (403, "invalid_scope")
        );
        assert_eq!(
            Denial::EmployeeRevoked { impu: s("x") }.oauth(),
            (403, "unauthorized_client")
        );
    }

    #[test]
    fn texts_say_what_was_wrong() {
        assert_eq!(
            Denial::TokenRevoked { jti: s("jti-1") }.to_string(),
            "token revoked: jti jti-1"
        );
        assert_eq!(
            Denial::WrongRealm { realm: s("r") }.to_string(),
            r#"realm "r" is not this server's (authz.enterprise.example)"#
        );
        assert_eq!(
            Denial::UeCertificate {
                ue: s("ue-a"),
                fault: CertFault::DoesNotName {
                    impu: s("sip:m"),
                    uris: vec![s("sip:a")],
                },
            }
            .to_string(),
            r#"certificate of UE ue-a unusable: it does not name sip:m (names ["sip:a"])"#
        );
    }
}
