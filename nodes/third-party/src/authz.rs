//! The enterprise's 3P authorization server of TR 33.790 solution #4 (§6.4, "SHAKEN based
//! third-party specific user identities"), at `https://authz.enterprise.example`, which is also
//! its realm. It decides, for the enterprise, which of its employees may present which
//! third-party specific user identity (3P ID), and it creates the enterprise name card that the
//! originating operator signs into the INVITE.
//!
//! Who works here comes from `fixtures/enterprise/authz.toml` ([`Directory`]); the UE
//! certificates that prove a UE holds its key are `fixtures/pki/ue/<ue>.pem`, issued by
//! `fixtures/pki/ue-ca.pem`.
//!
//! Endpoints (one HTTPS server; client certificates verified when offered and required per path):
//!
//! - `POST /oauth2/v1/3pid-token` (any client) — step 0b, option B: the UE signs
//!   `"{impu}|{id3p}|{iat}"` with its UE key; if that signature verifies with its certificate
//!   and the employee may present that 3P ID, the server issues an ES256 JWT ([`Authority::issue`]).
//! - `POST /3pid/v1/authorize` (mutual TLS, the NEF only) — step 3: the server authorises the
//!   caller with the token (option B), with the designated IMPU it had allocated (option A), or
//!   by authenticating the UE with a challenge (§6.4.2.2), and on success creates the
//!   enterprise name card ([`Authority::authorize`]).
//! - `GET /cards/<file>` (public) — the jCard a name card's `jcl` points at.
//!
//! Step 0a (option A) is the enterprise's initiative: [`AuthzHandle::request_allocation`] asks
//! the NEF for a designated IMPU and remembers it.
//!
//! The decisions ([`Authority::issue`], [`Authority::validate_token`], [`Authority::authorize`],
//! [`ue_certificate_key`], [`client_is`]) are pure functions over parsed input and a [`Ledger`];
//! [`start`] drives them over `kit`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey as _;
use proto::clock::Rng;
use proto::trace::Note;
use proto::wire::authz::{
    ALLOCATE_PATH, AUTHZ_AUTHORIZE_PATH, Allocation, AllocationRequest, AuthorizeRequest,
    AuthorizeResponse, AuthzOption, CARDS_PATH_PREFIX, NameCard, OAuthError, TOKEN_PATH,
    TokenRequest, TokenResponse, proof_signing_input, token_signing_input,
};
use serde::{Deserialize, Serialize};
use stir::jose::{self, CompactJws, Part};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer as _;

/// Host of the 3P authorization server in the simulated world.
pub const HOST: &str = "authz.enterprise.example";
/// Its realm: what a UE names in its INVITE so the operator finds this server (step 1).
pub const REALM: &str = HOST;
/// `iss` of the tokens it issues.
pub const ISSUER: &str = "https://authz.enterprise.example";
/// `aud` of the tokens it issues: the serving operator's IMS domain.
pub const AUDIENCE: &str = "ims.mnc001.mcc001.3gppnetwork.org";
/// The operator's NEF, the only client allowed to ask for authorisations.
pub const NEF_HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
/// Lifetime of a token (seconds).
pub const TOKEN_LIFETIME: i64 = 3600;
/// How far a token request's `iat` may be from the server's clock (seconds).
pub const REQUEST_SKEW: i64 = 300;
/// How long a challenge nonce (§6.4.2.2) may be answered (seconds).
pub const CHALLENGE_LIFETIME: i64 = 120;
/// Outstanding challenges kept at most (a bound on memory under a flood of requests).
pub const MAX_CHALLENGES: usize = 1024;
/// Age of a stale token's `iat` and `exp` (threat switch [`AuthzConfig::stale_tokens`]).
const DAY: i64 = 86_400;

/// URL a name card's jCard is served at.
pub fn card_url(file: &str) -> String {
    format!("{ISSUER}{CARDS_PATH_PREFIX}{file}")
}

// ---- configuration and directory ---------------------------------------------------------------

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

/// Local policy for option B (§6.4.2.1 step 3 and §6.4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthPolicy {
    /// The INVITE must carry a token.
    Token,
    /// A token is honoured; without one the server authenticates the UE with a challenge.
    Authenticate,
}

/// One employee: who they are at the operator, which UE key they hold, what they may present.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Employee {
    pub impu: String,
    /// UE id; its certificate is `pki/ue/<ue>.pem`.
    pub ue: String,
    /// The 3P IDs this employee may present.
    pub id3p: Vec<String>,
    /// Name card: display name and jCard file.
    pub nam: String,
    pub jcard: String,
    pub auth: AuthPolicy,
    /// No longer an employee.
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    employee: Vec<Employee>,
}

/// Everything the server knows from the fixtures.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Employees by IMPU.
    pub employees: BTreeMap<String, Employee>,
    /// jCard bytes by file name.
    pub jcards: BTreeMap<String, Vec<u8>>,
    /// UE certificates (PEM) by UE id.
    pub ue_certs: BTreeMap<String, Vec<u8>>,
    /// The UE CA certificate (PEM).
    pub ue_ca: Vec<u8>,
}

impl Directory {
    /// Builds the directory from the TOML text of `enterprise/authz.toml`; `read` gives the bytes
    /// of a fixture by its path under `fixtures/`.
    pub fn from_toml(
        text: &str,
        read: impl Fn(&str) -> Result<Vec<u8>, Error>,
    ) -> Result<Self, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Fixture {
            path: "enterprise/authz.toml".into(),
            detail: e.to_string(),
        })?;
        let mut dir = Directory {
            ue_ca: read("pki/ue-ca.pem")?,
            ..Directory::default()
        };
        for e in file.employee {
            if !dir.jcards.contains_key(&e.jcard) {
                let bytes = read(&format!("enterprise/jcards/{}", e.jcard))?;
                dir.jcards.insert(e.jcard.clone(), bytes);
            }
            if !dir.ue_certs.contains_key(&e.ue) {
                let pem = read(&format!("pki/ue/{}.pem", e.ue))?;
                dir.ue_certs.insert(e.ue.clone(), pem);
            }
            dir.employees.insert(e.impu.clone(), e);
        }
        Ok(dir)
    }

    /// The committed directory.
    pub fn load() -> Result<Self, Error> {
        let text = String::from_utf8_lossy(&fixtures::read("enterprise/authz.toml")?).into_owned();
        Self::from_toml(&text, fixtures::read)
    }
}

// ---- what the server remembers -----------------------------------------------------------------

/// A designated IMPU the NEF allocated at this server's request (option A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designated {
    pub allocation: Allocation,
    /// The employee it was allocated for.
    pub employee_impu: String,
}

/// An outstanding challenge (§6.4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub impu: String,
    pub id3p: String,
    /// When it was issued (seconds since the epoch).
    pub issued: i64,
}

/// The server's changing state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Designated IMPUs by IMPU.
    pub allocations: BTreeMap<String, Designated>,
    /// Outstanding challenges by nonce; each is used at most once.
    pub challenges: BTreeMap<String, Challenge>,
    /// Tokens revoked one by one (`jti`).
    pub revoked_jtis: BTreeSet<String>,
    /// Employees who left since the server started (in addition to the directory's `revoked`).
    pub revoked_employees: BTreeSet<String>,
}

// ---- decisions ---------------------------------------------------------------------------------

/// Why the server refuses (a token request, an authorisation, an allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// A required member is missing.
    Missing(&'static str),
    NotAnEmployee {
        impu: String,
    },
    /// The employee left (directory `revoked` or revoked at run time).
    EmployeeRevoked {
        impu: String,
    },
    Id3pNotAllowed {
        impu: String,
        id3p: String,
    },
    /// The UE's certificate does not chain to the UE CA, is not valid now, or does not name the
    /// IMPU.
    UeCertificate {
        ue: String,
        detail: String,
    },
    /// The UE's signature does not verify with its certificate.
    BadUeSignature {
        ue: String,
    },
    /// A token request signed too long ago (or in the future).
    StaleRequest {
        iat: i64,
        now: i64,
    },
    MalformedToken {
        detail: String,
    },
    BadTokenSignature,
    WrongIssuer {
        iss: String,
    },
    WrongAudience {
        aud: String,
    },
    TokenExpired {
        exp: i64,
        now: i64,
    },
    TokenNotYetValid {
        iat: i64,
        now: i64,
    },
    /// This token was revoked by id.
    TokenRevoked {
        jti: String,
    },
    /// The token's subject is no longer an employee.
    SubjectRevoked {
        sub: String,
    },
    WrongSubject {
        sub: String,
        impu: String,
    },
    Wrong3pid {
        token: String,
        requested: String,
    },
    WrongRealm {
        realm: String,
    },
    /// Option B without a token, and the policy for this UE is token only.
    NoToken {
        impu: String,
    },
    /// Option A for an IMPU this server never had allocated.
    NotDesignated {
        impu: String,
    },
    /// A proof names a nonce that was never issued, expired or was already used.
    UnknownNonce,
    /// A proof for a challenge issued to someone else or for another 3P ID.
    ChallengeMismatch {
        detail: String,
    },
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
            Denial::UeCertificate { ue, detail } => {
                write!(f, "certificate of UE {ue} unusable: {detail}")
            }
            Denial::BadUeSignature { ue } => {
                write!(
                    f,
                    "UE signature does not verify with the certificate of {ue}"
                )
            }
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
            Denial::TokenExpired { exp, now } => {
                write!(f, "token expired (exp {exp}, now {now})")
            }
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
            Denial::NotDesignated { impu } => {
                write!(
                    f,
                    "{impu} is not a designated IMPU allocated for the enterprise"
                )
            }
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
}

/// The claims of a 3P ID token (RFC 7519 registered claims plus `3pid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    /// The IMPU the token was issued to.
    pub sub: String,
    pub aud: String,
    /// The 3P ID it authorises.
    #[serde(rename = "3pid")]
    pub id3p: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JwtHeader {
    alg: String,
    typ: String,
    kid: String,
}

/// What [`Authority::authorize`] decided, with what to note in the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub response: AuthorizeResponse,
    /// Action labels, in order.
    pub actions: Vec<String>,
    /// The token as decoded (JOSE header, claims), when one came and decoded.
    pub token: Option<(serde_json::Value, serde_json::Value)>,
}

impl Decision {
    fn denied(
        impu: &str,
        denial: &Denial,
        token: Option<(serde_json::Value, serde_json::Value)>,
    ) -> Self {
        Self {
            response: AuthorizeResponse::denied(denial.to_string()),
            actions: vec![format!("refuse authorization of {impu}: {denial}")],
            token,
        }
    }
}

/// The server's keys and directory, and every decision it makes. Pure: the clock, the random
/// values and the [`Ledger`] are passed in.
///
/// Tokens are signed with the server's own TLS key (`fixtures/pki/tls/authz.enterprise.example
/// .key.pem`, P-256), so that one certificate (`authz.enterprise.example.pem`, issued by the
/// world's TLS CA) vouches for both the server and its tokens; the JOSE header's `kid` is the
/// server's hostname. The testbed PKI has no separate token-signing certificate, and the TR
/// leaves the token's content out of scope (§6.4.2.1, option B).
#[derive(Debug, Clone)]
pub struct Authority {
    pub directory: Directory,
    key: SigningKey,
    verifying: VerifyingKey,
    /// See [`AuthzConfig::stale_tokens`].
    pub stale_tokens: bool,
}

impl Authority {
    pub fn new(directory: Directory, key: SigningKey, stale_tokens: bool) -> Self {
        let verifying = VerifyingKey::from(&key);
        Self {
            directory,
            key,
            verifying,
            stale_tokens,
        }
    }

    /// The committed directory and the server's TLS key.
    pub fn load(stale_tokens: bool) -> Result<Self, Error> {
        let pem = String::from_utf8_lossy(&fixtures::read(&format!("pki/tls/{HOST}.key.pem"))?)
            .into_owned();
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| Error::Pem {
            detail: e.to_string(),
        })?;
        Ok(Self::new(Directory::load()?, key, stale_tokens))
    }

    /// The key tokens verify with.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    fn employee(&self, impu: &str) -> Result<&Employee, Denial> {
        self.directory
            .employees
            .get(impu)
            .ok_or_else(|| Denial::NotAnEmployee {
                impu: impu.to_owned(),
            })
    }

    fn revoked(&self, ledger: &Ledger, employee: &Employee) -> bool {
        employee.revoked || ledger.revoked_employees.contains(&employee.impu)
    }

    /// The employee, still employed and allowed `id3p`.
    fn entitled(&self, ledger: &Ledger, impu: &str, id3p: &str) -> Result<&Employee, Denial> {
        let employee = self.employee(impu)?;
        if self.revoked(ledger, employee) {
            return Err(Denial::EmployeeRevoked {
                impu: impu.to_owned(),
            });
        }
        if !employee.id3p.iter().any(|i| i == id3p) {
            return Err(Denial::Id3pNotAllowed {
                impu: impu.to_owned(),
                id3p: id3p.to_owned(),
            });
        }
        Ok(employee)
    }

    /// The UE's key from its certificate, checked at `now`.
    pub fn ue_key(&self, employee: &Employee, now: i64) -> Result<VerifyingKey, Denial> {
        let fault = |detail: String| Denial::UeCertificate {
            ue: employee.ue.clone(),
            detail,
        };
        let pem = self
            .directory
            .ue_certs
            .get(&employee.ue)
            .ok_or_else(|| fault("no certificate on file".into()))?;
        ue_certificate_key(pem, &self.directory.ue_ca, now, &employee.impu).map_err(fault)
    }

    /// Step 0b (option B): a UE asks for a token. The UE must be an employee, prove it holds
    /// the key of its UE certificate (signature over `"{impu}|{id3p}|{iat}"`, signed within
    /// [`REQUEST_SKEW`] of `now`), still be employed and be allowed the 3P ID.
    pub fn issue(
        &self,
        ledger: &Ledger,
        req: &TokenRequest,
        now: i64,
        jti: &str,
    ) -> Result<(TokenResponse, TokenClaims), Denial> {
        let employee = self.employee(&req.impu)?;
        let key = self.ue_key(employee, now)?;
        let input = token_signing_input(&req.impu, &req.id3p, req.iat);
        if !verify_ue_signature(&key, input.as_bytes(), &req.signature) {
            return Err(Denial::BadUeSignature {
                ue: employee.ue.clone(),
            });
        }
        if (now - req.iat).abs() > REQUEST_SKEW {
            return Err(Denial::StaleRequest { iat: req.iat, now });
        }
        self.entitled(ledger, &req.impu, &req.id3p)?;
        self.mint(&req.impu, &req.id3p, now, jti)
    }

    /// Signs a token for `impu` and `id3p` without any check (what [`Authority::issue`] ends
    /// with; scenarios also use it for a token a UE obtained before it left the enterprise).
    pub fn mint(
        &self,
        impu: &str,
        id3p: &str,
        now: i64,
        jti: &str,
    ) -> Result<(TokenResponse, TokenClaims), Denial> {
        let (iat, exp) = if self.stale_tokens {
            (now - 2 * DAY, now - DAY)
        } else {
            (now, now + TOKEN_LIFETIME)
        };
        let claims = TokenClaims {
            iss: ISSUER.to_owned(),
            sub: impu.to_owned(),
            aud: AUDIENCE.to_owned(),
            id3p: id3p.to_owned(),
            iat,
            exp,
            jti: jti.to_owned(),
        };
        let header = JwtHeader {
            alg: "ES256".into(),
            typ: "JWT".into(),
            kid: HOST.into(),
        };
        let encode = |e: stir::Error| Denial::MalformedToken {
            detail: e.to_string(),
        };
        let header = jose::canonical_json(&header).map_err(encode)?;
        let payload = jose::canonical_json(&claims).map_err(encode)?;
        let token = jose::sign_es256(&self.key, &header, &payload);
        Ok((
            TokenResponse {
                access_token: token,
                token_type: "Bearer".into(),
                expires_in: exp - iat,
                id3p: id3p.to_owned(),
                realm: REALM.to_owned(),
            },
            claims,
        ))
    }

    /// Step 3, option B with a token: signature with this server's key, `iss`, `aud`, `exp`
    /// and `iat` against `now`, not revoked (by `jti`, or because its subject left), issued to
    /// the caller `impu`, for the requested `id3p`, which the employee may still present.
    pub fn validate_token(
        &self,
        ledger: &Ledger,
        token: &str,
        impu: &str,
        id3p: &str,
        now: i64,
    ) -> Result<TokenClaims, Denial> {
        let malformed = |detail: String| Denial::MalformedToken { detail };
        let jws = CompactJws::split(token).map_err(|e| malformed(e.to_string()))?;
        let header_bytes =
            jose::b64u_decode(jws.header, Part::Header).map_err(|e| malformed(e.to_string()))?;
        let header: JwtHeader = serde_json::from_slice(&header_bytes)
            .map_err(|e| malformed(format!("JOSE header: {e}")))?;
        if header.alg != "ES256" {
            return Err(malformed(format!("alg {:?}, expected ES256", header.alg)));
        }
        jose::verify_es256(&self.verifying, &jws).map_err(|_| Denial::BadTokenSignature)?;
        let payload =
            jose::b64u_decode(jws.payload, Part::Payload).map_err(|e| malformed(e.to_string()))?;
        let claims: TokenClaims =
            serde_json::from_slice(&payload).map_err(|e| malformed(format!("claims: {e}")))?;
        if claims.iss != ISSUER {
            return Err(Denial::WrongIssuer { iss: claims.iss });
        }
        if claims.aud != AUDIENCE {
            return Err(Denial::WrongAudience { aud: claims.aud });
        }
        if now >= claims.exp {
            return Err(Denial::TokenExpired {
                exp: claims.exp,
                now,
            });
        }
        if claims.iat > now + REQUEST_SKEW {
            return Err(Denial::TokenNotYetValid {
                iat: claims.iat,
                now,
            });
        }
        if ledger.revoked_jtis.contains(&claims.jti) {
            return Err(Denial::TokenRevoked { jti: claims.jti });
        }
        match self.directory.employees.get(&claims.sub) {
            Some(e) if self.revoked(ledger, e) => {
                return Err(Denial::SubjectRevoked { sub: claims.sub });
            }
            Some(_) => {}
            None => return Err(Denial::NotAnEmployee { impu: claims.sub }),
        }
        if claims.sub != impu {
            return Err(Denial::WrongSubject {
                sub: claims.sub,
                impu: impu.to_owned(),
            });
        }
        if claims.id3p != id3p {
            return Err(Denial::Wrong3pid {
                token: claims.id3p,
                requested: id3p.to_owned(),
            });
        }
        self.entitled(ledger, impu, id3p)?;
        Ok(claims)
    }

    /// Step 3: the authorization the NEF forwards. On success the response carries the 3P ID and
    /// the enterprise name card; §6.4.2.2 challenges draw their nonce from `rng`.
    pub fn authorize(
        &self,
        ledger: &mut Ledger,
        req: &AuthorizeRequest,
        now: i64,
        rng: &mut Rng,
    ) -> Decision {
        match req.option {
            AuthzOption::A => self.option_a(ledger, req),
            AuthzOption::B => self.option_b(ledger, req, now, rng),
        }
    }

    /// Option A: the caller uses a designated IMPU this server had allocated.
    fn option_a(&self, ledger: &Ledger, req: &AuthorizeRequest) -> Decision {
        let decide = || -> Result<(&Employee, String), Denial> {
            let designated =
                ledger
                    .allocations
                    .get(&req.impu)
                    .ok_or_else(|| Denial::NotDesignated {
                        impu: req.impu.clone(),
                    })?;
            let id3p = &designated.allocation.id3p;
            if let Some(asked) = &req.id3p
                && asked != id3p
            {
                return Err(Denial::Id3pNotAllowed {
                    impu: req.impu.clone(),
                    id3p: asked.clone(),
                });
            }
            let employee = self.entitled(ledger, &designated.employee_impu, id3p)?;
            Ok((employee, id3p.clone()))
        };
        match decide() {
            Ok((employee, id3p)) => grant(
                &req.impu,
                employee,
                &id3p,
                format!("option A: designated IMPU allocated for {}", employee.impu),
                Vec::new(),
                None,
            ),
            Err(d) => Decision::denied(&req.impu, &d, None),
        }
    }

    /// Option B: a token, or (§6.4.2.2) a challenge and its proof.
    fn option_b(
        &self,
        ledger: &mut Ledger,
        req: &AuthorizeRequest,
        now: i64,
        rng: &mut Rng,
    ) -> Decision {
        if let Some(realm) = &req.realm
            && realm != REALM
        {
            return Decision::denied(
                &req.impu,
                &Denial::WrongRealm {
                    realm: realm.clone(),
                },
                None,
            );
        }
        let Some(id3p) = req.id3p.as_deref() else {
            return Decision::denied(&req.impu, &Denial::Missing("id3p"), None);
        };
        ledger
            .challenges
            .retain(|_, c| now - c.issued <= CHALLENGE_LIFETIME);
        if let Some(token) = &req.token {
            let decoded = decode_unverified(token);
            return match self.validate_token(ledger, token, &req.impu, id3p, now) {
                Ok(claims) => match self.employee(&claims.sub) {
                    Ok(employee) => grant(
                        &req.impu,
                        employee,
                        id3p,
                        format!("option B: token {} valid until {}", claims.jti, claims.exp),
                        Vec::new(),
                        decoded,
                    ),
                    Err(d) => Decision::denied(&req.impu, &d, decoded),
                },
                Err(d) => Decision::denied(&req.impu, &d, decoded),
            };
        }
        if let Some(proof) = &req.proof {
            return match self.check_proof(ledger, &req.impu, id3p, proof, now) {
                Ok(employee) => grant(
                    &req.impu,
                    employee,
                    id3p,
                    "option B, alternative procedure (6.4.2.2): UE authenticated".into(),
                    vec![format!(
                        "authenticate the UE {}: signature over nonce {} verifies with the certificate of {}",
                        req.impu, proof.nonce, employee.ue
                    )],
                    None,
                ),
                Err(d) => Decision::denied(&req.impu, &d, None),
            };
        }
        // No token, no proof: local policy decides whether to authenticate the UE (§6.4.2.2).
        let employee = match self.entitled(ledger, &req.impu, id3p) {
            Ok(e) => e,
            Err(d) => return Decision::denied(&req.impu, &d, None),
        };
        if employee.auth != AuthPolicy::Authenticate {
            return Decision::denied(
                &req.impu,
                &Denial::NoToken {
                    impu: req.impu.clone(),
                },
                None,
            );
        }
        if ledger.challenges.len() >= MAX_CHALLENGES {
            return Decision::denied(&req.impu, &Denial::TooManyChallenges, None);
        }
        let nonce = rng.hex(16);
        ledger.challenges.insert(
            nonce.clone(),
            Challenge {
                impu: req.impu.clone(),
                id3p: id3p.to_owned(),
                issued: now,
            },
        );
        Decision {
            response: AuthorizeResponse {
                authorized: false,
                reason: "local policy: authenticate the UE; sign the challenge nonce".into(),
                id3p: None,
                name_card: None,
                challenge: Some(nonce.clone()),
            },
            actions: vec![format!(
                "authenticate the UE {} (6.4.2.2, local policy): challenge with nonce {nonce}",
                req.impu
            )],
            token: None,
        }
    }

    /// A proof answers an outstanding challenge (each nonce is taken out: single use) for the
    /// same caller and 3P ID, with the UE's signature over the nonce.
    fn check_proof(
        &self,
        ledger: &mut Ledger,
        impu: &str,
        id3p: &str,
        proof: &proto::wire::authz::Proof,
        now: i64,
    ) -> Result<&Employee, Denial> {
        let challenge = ledger
            .challenges
            .remove(&proof.nonce)
            .ok_or(Denial::UnknownNonce)?;
        if now - challenge.issued > CHALLENGE_LIFETIME {
            return Err(Denial::UnknownNonce);
        }
        if challenge.impu != impu {
            return Err(Denial::ChallengeMismatch {
                detail: format!("nonce was issued to {}, not {impu}", challenge.impu),
            });
        }
        if challenge.id3p != id3p {
            return Err(Denial::ChallengeMismatch {
                detail: format!("nonce was issued for {}, not {id3p}", challenge.id3p),
            });
        }
        let employee = self.entitled(ledger, impu, id3p)?;
        let key = self.ue_key(employee, now)?;
        if !verify_ue_signature(&key, proof_signing_input(&proof.nonce), &proof.signature) {
            return Err(Denial::BadUeSignature {
                ue: employee.ue.clone(),
            });
        }
        Ok(employee)
    }
}

/// A positive decision and the enterprise name card.
fn grant(
    impu: &str,
    employee: &Employee,
    id3p: &str,
    how: String,
    mut actions: Vec<String>,
    token: Option<(serde_json::Value, serde_json::Value)>,
) -> Decision {
    let card = NameCard {
        nam: employee.nam.clone(),
        jcl: card_url(&employee.jcard),
    };
    actions.push(format!("authorize {impu} to present {id3p} ({how})"));
    actions.push(format!(
        "create enterprise name card {:?} (jcl {})",
        card.nam, card.jcl
    ));
    Decision {
        response: AuthorizeResponse {
            authorized: true,
            reason: how,
            id3p: Some(id3p.to_owned()),
            name_card: Some(card),
            challenge: None,
        },
        actions,
        token,
    }
}

/// JOSE header and claims of a token as carried, for the trace (nothing is trusted from it).
fn decode_unverified(token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    let jws = CompactJws::split(token).ok()?;
    let part = |text: &str, p: Part| -> Option<serde_json::Value> {
        serde_json::from_slice(&jose::b64u_decode(text, p).ok()?).ok()
    };
    Some((
        part(jws.header, Part::Header)?,
        part(jws.payload, Part::Payload)?,
    ))
}

/// Whether a UE's ES256 signature (raw `r‖s`, base64url) over `message` verifies with `key`.
pub fn verify_ue_signature(key: &VerifyingKey, message: &[u8], signature_b64u: &str) -> bool {
    let Ok(raw) = jose::b64u_decode(signature_b64u, Part::Signature) else {
        return false;
    };
    if raw.len() != 64 {
        return false;
    }
    Signature::from_slice(&raw).is_ok_and(|s| key.verify(message, &s).is_ok())
}

/// ecdsa-with-SHA256 (RFC 5758 §3.2).
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

fn first_certificate(pem: &[u8]) -> Option<Vec<u8>> {
    Pem::iter_from_buffer(pem)
        .map_while(Result::ok)
        .find(|b| b.label == "CERTIFICATE")
        .map(|b| b.contents)
}

fn valid_at(cert: &X509Certificate<'_>, now: i64) -> Result<(), String> {
    let v = cert.validity();
    let (nb, na) = (v.not_before.timestamp(), v.not_after.timestamp());
    if now < nb || now > na {
        return Err(format!(
            "{} is valid from {nb} to {na}, not at {now}",
            cert.subject()
        ));
    }
    Ok(())
}

/// The P-256 key of a UE certificate (first certificate of `cert_pem`), after checking that the
/// UE CA (`ca_pem`) issued it with ecdsa-with-SHA256, that both are valid at `now`, and that its
/// subject alternative names include `impu`.
pub fn ue_certificate_key(
    cert_pem: &[u8],
    ca_pem: &[u8],
    now: i64,
    impu: &str,
) -> Result<VerifyingKey, String> {
    let der = first_certificate(cert_pem).ok_or("no certificate in the PEM")?;
    let ca_der = first_certificate(ca_pem).ok_or("no UE CA certificate")?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| format!("not X.509: {e}"))?;
    let (_, ca) =
        X509Certificate::from_der(&ca_der).map_err(|e| format!("UE CA not X.509: {e}"))?;
    if !ca.is_ca() {
        return Err(format!("{} is not a CA", ca.subject()));
    }
    if cert.issuer() != ca.subject() {
        return Err(format!(
            "issued by {}, not by the UE CA {}",
            cert.issuer(),
            ca.subject()
        ));
    }
    if cert.signature_algorithm.algorithm.to_id_string() != OID_ECDSA_SHA256 {
        return Err("not signed with ecdsa-with-SHA256".into());
    }
    let ca_key =
        VerifyingKey::from_sec1_bytes(&ca.tbs_certificate.subject_pki.subject_public_key.data)
            .map_err(|_| "UE CA key is not P-256".to_owned())?;
    let signature = Signature::from_der(&cert.signature_value.data)
        .map_err(|_| "certificate signature is not an ECDSA signature".to_owned())?;
    ca_key
        .verify(cert.tbs_certificate.as_ref(), &signature)
        .map_err(|_| "the UE CA's signature on it does not verify".to_owned())?;
    valid_at(&ca, now)?;
    valid_at(&cert, now)?;
    let names = cert
        .subject_alternative_name()
        .map_err(|e| format!("subject alternative names unreadable: {e}"))?
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(u) => Some((*u).to_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !names.iter().any(|n| n == impu) {
        return Err(format!("it does not name {impu} (names {names:?})"));
    }
    VerifyingKey::from_sec1_bytes(&cert.tbs_certificate.subject_pki.subject_public_key.data)
        .map_err(|_| "its key is not P-256".to_owned())
}

pub use kit::tls::{client_is, dns_names};

// ---- the server --------------------------------------------------------------------------------

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

fn oauth_error(denial: &Denial) -> Response {
    let (status, error) = denial.oauth();
    json_response(
        status,
        &OAuthError {
            error: error.into(),
            error_description: denial.to_string(),
        },
    )
}

impl Inner {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rng(&self) -> MutexGuard<'_, Rng> {
        self.rng.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn action(&self, msg: Option<u64>, label: String) {
        self.ctx.note(msg, Note::Action { label });
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
                return json_response(
                    400,
                    &OAuthError {
                        error: "invalid_request".into(),
                        error_description: format!("body is not a token request: {e}"),
                    },
                );
            }
        };
        let now = self.ctx.clock.now();
        let jti = self.rng().uuid();
        let issued = {
            let ledger = self.ledger();
            self.authority.issue(&ledger, &request, now, &jti)
        };
        match issued {
            Ok((response, claims)) => {
                let stale = if self.authority.stale_tokens {
                    " (stale: already expired)"
                } else {
                    ""
                };
                self.action(
                    peer.msg,
                    format!(
                        "issue 3P ID token {} to {} for {}, exp {}{stale}",
                        claims.jti, claims.sub, claims.id3p, claims.exp
                    ),
                );
                json_response(200, &response)
            }
            Err(denial) => {
                self.action(
                    peer.msg,
                    format!("refuse token to {}: {denial}", request.impu),
                );
                oauth_error(&denial)
            }
        }
    }

    /// Step 3: the NEF forwards the IMS AS's question.
    fn authorize(&self, req: &Request, peer: &Peer) -> Response {
        if let Err(reason) = client_is(
            peer.certificate.as_ref().map(|c| c.as_ref()),
            &self.config.nef_host,
        ) {
            self.action(peer.msg, format!("refuse authorization request: {reason}"));
            return Response::text(403, reason);
        }
        let request: AuthorizeRequest = match serde_json::from_slice(&req.body) {
            Ok(r) => r,
            Err(e) => {
                return Response::text(400, format!("body is not an authorization request: {e}"));
            }
        };
        let now = self.ctx.clock.now();
        let decision = {
            let mut ledger = self.ledger();
            let mut rng = self.rng();
            self.authority
                .authorize(&mut ledger, &request, now, &mut rng)
        };
        if let Some((header, claims)) = decision.token.clone() {
            self.ctx.note(
                peer.msg,
                Note::Token {
                    label: "3P ID token".into(),
                    header,
                    claims,
                },
            );
        }
        for label in decision.actions {
            self.action(peer.msg, label);
        }
        json_response(200, &decision.response)
    }
}

/// Why an allocation (step 0a) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationError {
    /// The enterprise's own policy: not an employee, revoked, 3P ID not allowed.
    Policy(Denial),
    /// The NEF could not be reached.
    Transport(Error),
    /// The NEF answered with an error.
    Refused { status: u16, reason: String },
    /// The NEF's answer is not an allocation for what was asked.
    BadAnswer(String),
}

impl fmt::Display for AllocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocationError::Policy(d) => write!(f, "not requested: {d}"),
            AllocationError::Transport(e) => write!(f, "NEF unreachable: {e}"),
            AllocationError::Refused { status, reason } => {
                write!(f, "NEF refused ({status}): {reason}")
            }
            AllocationError::BadAnswer(detail) => write!(f, "NEF answer unusable: {detail}"),
        }
    }
}

impl std::error::Error for AllocationError {}

/// What the orchestrator holds of a running authorization server (cloneable).
#[derive(Debug, Clone)]
pub struct AuthzHandle(Arc<Inner>);

impl AuthzHandle {
    /// Step 0a (option A): asks the NEF (mutual TLS) for a designated IMPU for one employee and
    /// 3P ID, and remembers it so that option A calls from it are authorised.
    pub async fn request_allocation(
        &self,
        employee_impu: &str,
        id3p: &str,
    ) -> Result<Allocation, AllocationError> {
        let inner = &self.0;
        {
            let ledger = inner.ledger();
            inner
                .authority
                .entitled(&ledger, employee_impu, id3p)
                .map_err(AllocationError::Policy)?;
        }
        inner.action(
            None,
            format!(
                "request a designated IMPU for {employee_impu} to present {id3p} (step 0a, option A)"
            ),
        );
        let body = serde_json::to_vec(&AllocationRequest {
            employee_impu: employee_impu.to_owned(),
            id3p: id3p.to_owned(),
        })
        .map_err(|e| AllocationError::BadAnswer(e.to_string()))?;
        let url = format!("https://{}{ALLOCATE_PATH}", inner.config.nef_host);
        let response = inner
            .client
            .send(Request::post_json(url, body))
            .await
            .map_err(AllocationError::Transport)?;
        if response.status != 200 {
            return Err(AllocationError::Refused {
                status: response.status,
                reason: String::from_utf8_lossy(&response.body).into_owned(),
            });
        }
        let allocation: Allocation = serde_json::from_slice(&response.body)
            .map_err(|e| AllocationError::BadAnswer(e.to_string()))?;
        if allocation.id3p != id3p {
            return Err(AllocationError::BadAnswer(format!(
                "allocation is for {}, asked for {id3p}",
                allocation.id3p
            )));
        }
        inner.ledger().allocations.insert(
            allocation.impu.clone(),
            Designated {
                allocation: allocation.clone(),
                employee_impu: employee_impu.to_owned(),
            },
        );
        inner.action(
            None,
            format!(
                "remember designated IMPU {} for {employee_impu} ({id3p})",
                allocation.impu
            ),
        );
        Ok(allocation)
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
    /// (e.g. before it left the enterprise), for threat scenarios.
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

/// A running 3P authorization server.
#[derive(Debug)]
pub struct Authz {
    pub server: Server,
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
    use p256::ecdsa::signature::Signer as _;
    use proto::wire::authz::Proof;

    const NOW: i64 = 1_772_442_000; // 2026-03-02T09:00:00Z, the scenario clock
    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_X: &str = "sip:+12025551999@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_PBX: &str = "sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";
    const ID3P: &str = "tel:+12025550100";

    fn authority(stale: bool) -> Authority {
        Authority::load(stale).unwrap()
    }

    fn ue_key(ue: &str) -> SigningKey {
        let pem = fixtures::read(&format!("pki/ue/{ue}.key.pem")).unwrap();
        SigningKey::from_pkcs8_pem(std::str::from_utf8(&pem).unwrap()).unwrap()
    }

    fn sign(ue: &str, message: &[u8]) -> String {
        let s: Signature = ue_key(ue).sign(message);
        jose::b64u(&s.to_bytes())
    }

    fn token_request(ue: &str, impu: &str, id3p: &str, iat: i64) -> TokenRequest {
        TokenRequest {
            impu: impu.into(),
            id3p: id3p.into(),
            iat,
            signature: sign(ue, token_signing_input(impu, id3p, iat).as_bytes()),
        }
    }

    fn rng() -> Rng {
        Rng::for_node(1, "authz3p")
    }

    fn option_b(impu: &str, token: Option<String>, proof: Option<Proof>) -> AuthorizeRequest {
        AuthorizeRequest {
            impu: impu.into(),
            option: AuthzOption::B,
            realm: Some(REALM.into()),
            id3p: Some(ID3P.into()),
            token,
            proof,
        }
    }

    fn token_for(a: &Authority, impu: &str, id3p: &str, now: i64) -> String {
        a.mint(impu, id3p, now, "jti-1").unwrap().0.access_token
    }

    #[test]
    fn fixture_directory() {
        let d = Directory::load().unwrap();
        assert_eq!(d.employees.len(), 3);
        assert!(d.employees[UE_X].revoked);
        assert_eq!(d.employees[UE_PBX].auth, AuthPolicy::Authenticate);
        assert_eq!(d.employees[UE_A].auth, AuthPolicy::Authenticate);
        assert_eq!(d.employees[UE_X].auth, AuthPolicy::Token);
        assert!(d.jcards.contains_key("q-branch.json"));
        assert_eq!(d.ue_certs.len(), 3);
    }

    #[test]
    fn token_issued_to_an_employee_that_proves_its_key() {
        let a = authority(false);
        let ledger = Ledger::default();
        let (response, claims) = a
            .issue(
                &ledger,
                &token_request("ue-a", UE_A, ID3P, NOW - 10),
                NOW,
                "j1",
            )
            .unwrap();
        assert_eq!(response.token_type, "Bearer");
        assert_eq!(response.expires_in, TOKEN_LIFETIME);
        assert_eq!(response.realm, REALM);
        assert_eq!(
            (claims.iat, claims.exp, claims.sub.as_str()),
            (NOW, NOW + 3600, UE_A)
        );
        let parts: Vec<&str> = response.access_token.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&jose::b64u_decode(parts[0], Part::Header).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": HOST})
        );
        let payload: serde_json::Value =
            serde_json::from_slice(&jose::b64u_decode(parts[1], Part::Payload).unwrap()).unwrap();
        assert_eq!(payload["3pid"], ID3P);
        assert_eq!(payload["aud"], AUDIENCE);
        assert_eq!(payload["iss"], ISSUER);
        // And it validates.
        let c = a
            .validate_token(&ledger, &response.access_token, UE_A, ID3P, NOW + 60)
            .unwrap();
        assert_eq!(c, claims);
    }

    #[test]
    fn token_refusals() {
        let a = authority(false);
        let l = Ledger::default();
        // Signed with another UE's key.
        let mut r = token_request("ue-m", UE_A, ID3P, NOW);
        assert_eq!(
            a.issue(&l, &r, NOW, "j").unwrap_err(),
            Denial::BadUeSignature { ue: "ue-a".into() }
        );
        assert_eq!(a.issue(&l, &r, NOW, "j").unwrap_err().oauth().0, 401);
        r.signature = "not base64!".into();
        assert!(matches!(
            a.issue(&l, &r, NOW, "j"),
            Err(Denial::BadUeSignature { .. })
        ));
        // Not an employee.
        assert_eq!(
            a.issue(&l, &token_request("ue-m", UE_M, ID3P, NOW), NOW, "j")
                .unwrap_err(),
            Denial::NotAnEmployee { impu: UE_M.into() }
        );
        // The ex-employee.
        let d = a
            .issue(&l, &token_request("ue-x", UE_X, ID3P, NOW), NOW, "j")
            .unwrap_err();
        assert_eq!(d, Denial::EmployeeRevoked { impu: UE_X.into() });
        assert_eq!(d.oauth(), (403, "unauthorized_client"));
        // A 3P ID not allowed.
        assert!(matches!(
            a.issue(
                &l,
                &token_request("ue-a", UE_A, "tel:+19999999999", NOW),
                NOW,
                "j"
            ),
            Err(Denial::Id3pNotAllowed { .. })
        ));
        // A replayed old request.
        assert!(matches!(
            a.issue(&l, &token_request("ue-a", UE_A, ID3P, NOW - 3600), NOW, "j"),
            Err(Denial::StaleRequest { .. })
        ));
        // A UE certificate not valid at the clock (the fixtures are valid 2025–2045).
        assert!(matches!(
            a.issue(&l, &token_request("ue-a", UE_A, ID3P, 100), 100, "j"),
            Err(Denial::UeCertificate { .. })
        ));
    }

    #[test]
    fn ue_certificate_checks() {
        let ca = fixtures::read("pki/ue-ca.pem").unwrap();
        let cert = fixtures::read("pki/ue/ue-a.pem").unwrap();
        assert!(ue_certificate_key(&cert, &ca, NOW, UE_A).is_ok());
        let e = ue_certificate_key(&cert, &ca, NOW, UE_M).unwrap_err();
        assert!(e.contains("does not name"), "{e}");
        // A TLS certificate is not from the UE CA.
        let tls = fixtures::read("pki/tls/authz.enterprise.example.pem").unwrap();
        let e = ue_certificate_key(&tls, &ca, NOW, UE_A).unwrap_err();
        assert!(e.contains("not by the UE CA"), "{e}");
        // Checked against another CA: refused.
        let tls_ca = fixtures::read("pki/tls-ca.pem").unwrap();
        assert!(ue_certificate_key(&cert, &tls_ca, NOW, UE_A).is_err());
        assert!(ue_certificate_key(b"garbage", &ca, NOW, UE_A).is_err());
    }

    #[test]
    fn valid_token_authorizes_and_creates_the_name_card() {
        let a = authority(false);
        let mut l = Ledger::default();
        let token = token_for(&a, UE_A, ID3P, NOW);
        let d = a.authorize(
            &mut l,
            &option_b(UE_A, Some(token), None),
            NOW + 5,
            &mut rng(),
        );
        assert!(d.response.authorized, "{:?}", d.response);
        assert_eq!(d.response.id3p.as_deref(), Some(ID3P));
        assert_eq!(
            d.response.name_card,
            Some(NameCard {
                nam: "Q Branch Spy Gadgets".into(),
                jcl: "https://authz.enterprise.example/cards/q-branch.json".into(),
            })
        );
        assert!(d.actions.iter().any(|l| l.starts_with("authorize ")));
        assert!(
            d.actions
                .iter()
                .any(|l| l.starts_with("create enterprise name card"))
        );
        let (_, claims) = d.token.unwrap();
        assert_eq!(claims["sub"], UE_A);
    }

    fn refused(a: &Authority, l: &mut Ledger, req: AuthorizeRequest, now: i64) -> String {
        let d = a.authorize(l, &req, now, &mut rng());
        assert!(!d.response.authorized);
        assert!(d.response.name_card.is_none());
        assert!(d.actions[0].starts_with("refuse authorization"));
        assert!(d.actions[0].contains(&d.response.reason));
        d.response.reason
    }

    #[test]
    fn expired_token() {
        let a = authority(false);
        let token = token_for(&a, UE_A, ID3P, NOW);
        let reason = refused(
            &a,
            &mut Ledger::default(),
            option_b(UE_A, Some(token), None),
            NOW + 3600,
        );
        assert!(reason.starts_with("token expired"), "{reason}");
        // The threat switch issues tokens that are already stale.
        let stale = authority(true);
        let (response, claims) = stale
            .issue(
                &Ledger::default(),
                &token_request("ue-a", UE_A, ID3P, NOW),
                NOW,
                "j",
            )
            .unwrap();
        assert_eq!((claims.iat, claims.exp), (NOW - 2 * DAY, NOW - DAY));
        let reason = refused(
            &stale,
            &mut Ledger::default(),
            option_b(UE_A, Some(response.access_token), None),
            NOW,
        );
        assert!(reason.starts_with("token expired"), "{reason}");
    }

    #[test]
    fn revoked_tokens() {
        let a = authority(false);
        // UE-X kept a token from before it left.
        let token = token_for(&a, UE_X, ID3P, NOW);
        let reason = refused(
            &a,
            &mut Ledger::default(),
            option_b(UE_X, Some(token), None),
            NOW,
        );
        assert_eq!(
            reason,
            format!("token revoked: {UE_X} is no longer an employee")
        );
        // UE-A leaves at run time; and a token revoked by id.
        let token = token_for(&a, UE_A, ID3P, NOW);
        let mut l = Ledger::default();
        l.revoked_employees.insert(UE_A.into());
        let reason = refused(&a, &mut l, option_b(UE_A, Some(token.clone()), None), NOW);
        assert!(reason.contains("no longer an employee"), "{reason}");
        let mut l = Ledger::default();
        l.revoked_jtis.insert("jti-1".into());
        let reason = refused(&a, &mut l, option_b(UE_A, Some(token), None), NOW);
        assert_eq!(reason, "token revoked: jti jti-1");
    }

    #[test]
    fn wrong_subject_wrong_3pid_bad_signature_wrong_realm() {
        let a = authority(false);
        let mut l = Ledger::default();
        // UE-M replays UE-A's token.
        let token = token_for(&a, UE_A, ID3P, NOW);
        let reason = refused(&a, &mut l, option_b(UE_M, Some(token.clone()), None), NOW);
        assert!(reason.contains("issued to sip:+12025551000"), "{reason}");
        // Another 3P ID than the token's.
        let mut r = option_b(UE_A, Some(token.clone()), None);
        r.id3p = Some("tel:+12025550199".into());
        let reason = refused(&a, &mut l, r, NOW);
        assert!(reason.starts_with("token is for 3P ID"), "{reason}");
        // A token signed by someone else (a UE's key instead of the server's).
        let forged = jose::sign_es256(
            &ue_key("ue-m"),
            br#"{"alg":"ES256","kid":"authz.enterprise.example","typ":"JWT"}"#,
            token
                .split('.')
                .nth(1)
                .map(|p| jose::b64u_decode(p, Part::Payload).unwrap())
                .unwrap()
                .as_slice(),
        );
        let reason = refused(&a, &mut l, option_b(UE_A, Some(forged), None), NOW);
        assert!(reason.contains("signature does not verify"), "{reason}");
        let reason = refused(&a, &mut l, option_b(UE_A, Some("a.b".into()), None), NOW);
        assert!(reason.starts_with("token malformed"), "{reason}");
        // Another realm.
        let mut r = option_b(UE_A, Some(token), None);
        r.realm = Some("authz.other.example".into());
        let reason = refused(&a, &mut l, r, NOW);
        assert!(reason.contains("not this server's"), "{reason}");
        // No token, and the UE's policy is token only.
        let mut token_only = authority(false);
        token_only.directory.employees.get_mut(UE_A).unwrap().auth = AuthPolicy::Token;
        let reason = refused(&token_only, &mut l, option_b(UE_A, None, None), NOW);
        assert!(reason.contains("does not authenticate"), "{reason}");
    }

    #[test]
    fn challenge_and_proof() {
        let a = authority(false);
        let mut l = Ledger::default();
        let mut r = rng();
        let d = a.authorize(&mut l, &option_b(UE_PBX, None, None), NOW, &mut r);
        assert!(!d.response.authorized);
        let nonce = d.response.challenge.clone().unwrap();
        assert!(
            d.actions[0].contains("authenticate the UE"),
            "{:?}",
            d.actions
        );
        assert_eq!(l.challenges.len(), 1);

        // A proof signed with the wrong key: refused, and the nonce is used up.
        let bad = Proof {
            nonce: nonce.clone(),
            signature: sign("ue-a", nonce.as_bytes()),
        };
        let reason = refused(&a, &mut l, option_b(UE_PBX, None, Some(bad)), NOW + 1);
        assert!(reason.contains("does not verify"), "{reason}");
        let good = Proof {
            nonce: nonce.clone(),
            signature: sign("ue-pbx", nonce.as_bytes()),
        };
        let reason = refused(&a, &mut l, option_b(UE_PBX, None, Some(good)), NOW + 2);
        assert_eq!(reason, "unknown, expired or already used nonce");

        // A fresh challenge, answered correctly: authorised, once.
        let d = a.authorize(&mut l, &option_b(UE_PBX, None, None), NOW, &mut r);
        let nonce2 = d.response.challenge.unwrap();
        assert_ne!(nonce, nonce2);
        let good = Proof {
            nonce: nonce2.clone(),
            signature: sign("ue-pbx", nonce2.as_bytes()),
        };
        let d = a.authorize(
            &mut l,
            &option_b(UE_PBX, None, Some(good.clone())),
            NOW + 3,
            &mut r,
        );
        assert!(d.response.authorized, "{:?}", d.response);
        assert_eq!(d.response.name_card.unwrap().nam, "Q Branch Front Desk");
        assert!(d.actions[0].starts_with("authenticate the UE"));
        assert!(
            d.actions
                .iter()
                .any(|l| l.starts_with("create enterprise name card"))
        );
        let reason = refused(&a, &mut l, option_b(UE_PBX, None, Some(good)), NOW + 4);
        assert_eq!(reason, "unknown, expired or already used nonce");

        // A nonce issued to one caller does not serve another, and expires.
        let d = a.authorize(&mut l, &option_b(UE_PBX, None, None), NOW, &mut r);
        let nonce3 = d.response.challenge.unwrap();
        let proof = Proof {
            nonce: nonce3.clone(),
            signature: sign("ue-a", nonce3.as_bytes()),
        };
        let reason = refused(&a, &mut l, option_b(UE_A, None, Some(proof)), NOW);
        assert!(reason.contains("was issued to"), "{reason}");
        let d = a.authorize(&mut l, &option_b(UE_PBX, None, None), NOW, &mut r);
        let nonce4 = d.response.challenge.unwrap();
        let late = Proof {
            nonce: nonce4.clone(),
            signature: sign("ue-pbx", nonce4.as_bytes()),
        };
        let reason = refused(
            &a,
            &mut l,
            option_b(UE_PBX, None, Some(late)),
            NOW + CHALLENGE_LIFETIME + 1,
        );
        assert_eq!(reason, "unknown, expired or already used nonce");
        assert!(l.challenges.is_empty());
    }

    #[test]
    fn option_a_needs_an_allocation_of_this_server() {
        let a = authority(false);
        let mut l = Ledger::default();
        let designated = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
        let req = AuthorizeRequest {
            impu: designated.into(),
            option: AuthzOption::A,
            realm: None,
            id3p: None,
            token: None,
            proof: None,
        };
        let reason = refused(&a, &mut l, req.clone(), NOW);
        assert!(reason.contains("not a designated IMPU"), "{reason}");
        l.allocations.insert(
            designated.into(),
            Designated {
                allocation: Allocation {
                    impu: designated.into(),
                    tn: "+12025550100".into(),
                    id3p: ID3P.into(),
                    realm: REALM.into(),
                },
                employee_impu: UE_A.into(),
            },
        );
        let d = a.authorize(&mut l, &req, NOW, &mut rng());
        assert!(d.response.authorized, "{:?}", d.response);
        assert_eq!(d.response.id3p.as_deref(), Some(ID3P));
        let mut other = req.clone();
        other.id3p = Some("tel:+19999999999".into());
        refused(&a, &mut l, other, NOW);
        l.revoked_employees.insert(UE_A.into());
        let reason = refused(&a, &mut l, req, NOW);
        assert!(reason.contains("no longer an employee"), "{reason}");
    }

    #[test]
    fn client_identification() {
        let nef = fixtures::read(&format!("pki/tls/{NEF_HOST}.pem")).unwrap();
        let nef = first_certificate(&nef).unwrap();
        assert_eq!(client_is(Some(&nef), NEF_HOST), Ok(()));
        let as_o = fixtures::read("pki/tls/as.ims.mnc001.mcc001.3gppnetwork.org.pem").unwrap();
        let as_o = first_certificate(&as_o).unwrap();
        let e = client_is(Some(&as_o), NEF_HOST).unwrap_err();
        assert!(e.contains("only nef."), "{e}");
        assert!(
            client_is(None, NEF_HOST)
                .unwrap_err()
                .contains("mutual TLS")
        );
        assert!(client_is(Some(b"junk"), NEF_HOST).is_err());
    }
}
