//! Every decision of the 3P authorization server, pure: the clock, the random values and the
//! [`Ledger`] are passed in, and each decision is a value — a token or a typed [`Denial`]
//! (step 0b), or a [`Decision`] carrying the answer to the NEF and the typed notes to trace
//! (step 3). The server ([`crate::authz::server`]) only parses, calls these and drives the I/O.

mod denial;
mod token;

use std::collections::{BTreeMap, BTreeSet};

use kit::{Error, fixtures};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey as _;
use proto::clock::Rng;
use proto::trace::{Act, Note, Reason};
use proto::wire::authz::{
    Allocation, AuthorizeRequest, AuthorizeResponse, AuthzOption, NameCard, Proof, TokenRequest,
    TokenResponse, proof_signing_input, token_signing_input,
};
use stir::jose::{self, Part};

pub use denial::{CertFault, Denial};
pub use token::TokenClaims;

use super::directory::{AuthPolicy, Directory, Employee};
use super::{CHALLENGE_LIFETIME, HOST, MAX_CHALLENGES, REALM, REQUEST_SKEW, card_url};

// ---- what the server remembers -----------------------------------------------------------------

/// A designated IMPU the NEF allocated at this server's request (option A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designated {
    /// What the NEF allocated.
    pub allocation: Allocation,
    /// The employee it was allocated for.
    pub employee_impu: String,
}

/// An outstanding challenge (§6.4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The caller it was issued to.
    pub impu: String,
    /// The 3P ID the caller asked for.
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

// ---- step 3's decision -------------------------------------------------------------------------

/// What [`Authority::authorize`] decided, with what to note in the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The answer to the NEF.
    pub response: AuthorizeResponse,
    /// In order: the token as carried (when one came and decodes), the checks that ran, then
    /// the action — [`Act::AuthorizeId3p`] done or refused, or [`Act::ChallengeUe`] done.
    pub notes: Vec<Note>,
}

impl Decision {
    /// A refusal: the typed reason in the answer and in the [`Act::AuthorizeId3p`] note.
    fn denied(impu: &str, denial: &Denial, mut notes: Vec<Note>) -> Self {
        let reason = denial.reason();
        notes.push(Note::refused(
            Act::AuthorizeId3p,
            reason,
            format!("refuse authorization of {impu}: {denial}"),
        ));
        Self {
            response: AuthorizeResponse::denied(reason, denial.to_string()),
            notes,
        }
    }

    /// The typed reason of a refusal (or of a challenge), from the answer.
    pub fn denial(&self) -> Option<Reason> {
        self.response.denial
    }
}

/// A positive decision and the enterprise name card; `notes` are what came before (the token,
/// the checks).
fn grant(
    impu: &str,
    employee: &Employee,
    id3p: &str,
    how: String,
    mut notes: Vec<Note>,
) -> Decision {
    let card = NameCard {
        nam: employee.nam.clone(),
        jcl: card_url(&employee.jcard),
    };
    notes.push(Note::done(
        Act::AuthorizeId3p,
        format!(
            "authorize {impu} to present {id3p} ({how}); create enterprise name card {:?} (jcl {})",
            card.nam, card.jcl
        ),
    ));
    Decision {
        response: AuthorizeResponse {
            authorized: true,
            reason: how,
            denial: None,
            id3p: Some(id3p.to_owned()),
            name_card: Some(card),
            challenge: None,
        },
        notes,
    }
}

/// What the trace calls the UE's proof of possession (§6.4.2.2).
const PROOF_CHECK: &str = "authenticate the UE (6.4.2.2)";

// ---- the authority -----------------------------------------------------------------------------

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
    /// Who works here.
    pub directory: Directory,
    key: SigningKey,
    verifying: VerifyingKey,
    /// See [`AuthzConfig::stale_tokens`](crate::authz::AuthzConfig::stale_tokens).
    pub stale_tokens: bool,
}

impl Authority {
    /// An authority over `directory` signing tokens with `key`.
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

    /// The employee `impu`, still employed and allowed `id3p`.
    pub fn entitled(&self, ledger: &Ledger, impu: &str, id3p: &str) -> Result<&Employee, Denial> {
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

    /// The UE's key from its certificate: it must chain to the UE CA, be valid at `now` and name
    /// the employee's IMPU among its subject alternative names (`stir::cert`).
    pub fn ue_key(&self, employee: &Employee, now: i64) -> Result<VerifyingKey, Denial> {
        let fault = |fault: CertFault| Denial::UeCertificate {
            ue: employee.ue.clone(),
            fault,
        };
        let pem = self
            .directory
            .ue_certs
            .get(&employee.ue)
            .ok_or_else(|| fault(CertFault::NotOnFile))?;
        let certificate = stir::cert::validate_end_entity(pem, &self.directory.ue_ca, now)
            .map_err(|e| fault(CertFault::Invalid(e)))?;
        if !certificate.names(&employee.impu) {
            return Err(fault(CertFault::DoesNotName {
                impu: employee.impu.clone(),
                uris: certificate.uris,
            }));
        }
        Ok(certificate.key)
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
        match self.designated(ledger, req) {
            Ok((employee, id3p)) => grant(
                &req.impu,
                employee,
                &id3p,
                format!("option A: designated IMPU allocated for {}", employee.impu),
                Vec::new(),
            ),
            Err(d) => Decision::denied(&req.impu, &d, Vec::new()),
        }
    }

    /// The employee a designated IMPU was allocated for, and its 3P ID, if they may still use it.
    fn designated(
        &self,
        ledger: &Ledger,
        req: &AuthorizeRequest,
    ) -> Result<(&Employee, String), Denial> {
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
            let denial = Denial::WrongRealm {
                realm: realm.clone(),
            };
            return Decision::denied(&req.impu, &denial, Vec::new());
        }
        let Some(id3p) = req.id3p.as_deref() else {
            return Decision::denied(&req.impu, &Denial::Missing("id3p"), Vec::new());
        };
        ledger
            .challenges
            .retain(|_, c| now - c.issued <= CHALLENGE_LIFETIME);
        if let Some(token) = &req.token {
            return self.with_token(ledger, req, id3p, token, now);
        }
        if let Some(proof) = &req.proof {
            return self.with_proof(ledger, req, id3p, proof, now);
        }
        self.challenge(ledger, req, id3p, now, rng)
    }

    /// Option B with a token.
    fn with_token(
        &self,
        ledger: &Ledger,
        req: &AuthorizeRequest,
        id3p: &str,
        token: &str,
        now: i64,
    ) -> Decision {
        let notes: Vec<Note> = token::token_note(token).into_iter().collect();
        let valid = self
            .validate_token(ledger, token, &req.impu, id3p, now)
            .and_then(|claims| Ok((self.employee(&claims.sub)?, claims)));
        match valid {
            Ok((employee, claims)) => grant(
                &req.impu,
                employee,
                id3p,
                format!("option B: token {} valid until {}", claims.jti, claims.exp),
                notes,
            ),
            Err(d) => Decision::denied(&req.impu, &d, notes),
        }
    }

    /// Option B, alternative procedure (§6.4.2.2): the UE's answer to a challenge.
    fn with_proof(
        &self,
        ledger: &mut Ledger,
        req: &AuthorizeRequest,
        id3p: &str,
        proof: &Proof,
        now: i64,
    ) -> Decision {
        match self.check_proof(ledger, &req.impu, id3p, proof, now) {
            Ok(employee) => {
                let check = Note::pass(
                    PROOF_CHECK,
                    format!(
                        "signature of {} over nonce {} verifies with the certificate of {}",
                        req.impu, proof.nonce, employee.ue
                    ),
                );
                let how = "option B, alternative procedure (6.4.2.2): UE authenticated";
                grant(&req.impu, employee, id3p, how.into(), vec![check])
            }
            Err(d) => {
                // The signature check ran and failed; other denials stop before it.
                let checks = match d {
                    Denial::BadUeSignature { .. } => {
                        vec![Note::fail(PROOF_CHECK, d.reason(), None, d.to_string())]
                    }
                    _ => Vec::new(),
                };
                Decision::denied(&req.impu, &d, checks)
            }
        }
    }

    /// Option B without token or proof: local policy decides whether to authenticate the UE
    /// (§6.4.2.2); if so, a fresh single-use nonce from `rng` is remembered and sent.
    fn challenge(
        &self,
        ledger: &mut Ledger,
        req: &AuthorizeRequest,
        id3p: &str,
        now: i64,
        rng: &mut Rng,
    ) -> Decision {
        let employee = match self.entitled(ledger, &req.impu, id3p) {
            Ok(e) => e,
            Err(d) => return Decision::denied(&req.impu, &d, Vec::new()),
        };
        if employee.auth != AuthPolicy::Authenticate {
            let denial = Denial::NoToken {
                impu: req.impu.clone(),
            };
            return Decision::denied(&req.impu, &denial, Vec::new());
        }
        if ledger.challenges.len() >= MAX_CHALLENGES {
            return Decision::denied(&req.impu, &Denial::TooManyChallenges, Vec::new());
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
        let label = format!(
            "authenticate the UE {} (6.4.2.2, local policy): challenge with nonce {nonce}",
            req.impu
        );
        Decision {
            response: AuthorizeResponse {
                authorized: false,
                reason: "local policy: authenticate the UE; sign the challenge nonce".into(),
                denial: Some(Reason::AuthenticationRequired),
                id3p: None,
                name_card: None,
                challenge: Some(nonce),
            },
            notes: vec![Note::done(Act::ChallengeUe, label)],
        }
    }

    /// A proof answers an outstanding challenge (each nonce is taken out: single use) for the
    /// same caller and 3P ID, with the UE's signature over the nonce.
    fn check_proof(
        &self,
        ledger: &mut Ledger,
        impu: &str,
        id3p: &str,
        proof: &Proof,
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

#[cfg(test)]
mod tests;
