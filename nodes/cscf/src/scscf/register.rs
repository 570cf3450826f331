//! The registrar (TS 24.229 §5.4.1, RFC 3261 §10.3) with SIP Digest authentication
//! (RFC 3261 §22.4, RFC 7616/8760 SHA-256, TS 33.203 Annex N's "SIP Digest" for IMS): a
//! REGISTER without an answer is challenged with the credential the HSS holds for its private
//! identity ([`Act::ChallengeUser`]); a REGISTER answering a challenge is checked and, when it
//! holds, bound ([`Act::RegisterUser`]); any other is refused with its typed reason.
//!
//! The private identity is the Authorization's `username` (TS 24.229 §5.1.1.2.1), or derived
//! from the public identity when there is none (§5.4.1.2.1). The public identity must be one
//! the private identity may register (the HSS's list), at challenge time and again at answer
//! time.

use std::collections::HashMap;

use kit::sip::{Endpoint, Incoming};
use proto::sip::Request;
use proto::sip::proxy::response_to;
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};
use proto::wire::sh::{DigestCredential, auth_path};

use super::digest::{self, Credentials, DigestError, Issued};
use super::{Scscf, aor_key};

#[derive(Debug, Clone)]
struct Binding {
    contact: String,
    path: Vec<String>,
}

/// Registered bindings, by the user part of the address of record.
#[derive(Debug, Default)]
pub(super) struct Registrar(HashMap<String, Binding>);

impl Registrar {
    /// The contact and Path registered for `key` ([`aor_key`]).
    pub(super) fn lookup(&self, key: &str) -> Option<(String, Vec<String>)> {
        self.0.get(key).map(|b| (b.contact.clone(), b.path.clone()))
    }
}

/// What a REGISTER says, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The address of record (To).
    pub aor: String,
    /// The first Contact URI.
    pub contact: String,
    /// The Path URIs (RFC 3327), top first.
    pub path: Vec<String>,
    /// The Digest credentials, if the REGISTER carries an Authorization header.
    pub credentials: Option<Credentials>,
}

/// What the registrar does with a REGISTER (pure decision on its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Fetch the credential of this private identity, and challenge.
    Challenge {
        /// The private user identity.
        impi: String,
    },
    /// Check the answer to a challenge.
    Answer(Credentials),
}

/// Why a REGISTER is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The REGISTER cannot be used (what is wrong with it).
    Malformed(&'static str),
    /// The HSS holds no credential for this private identity.
    NotSubscribed(String),
    /// The private identity may not register this public identity.
    NotAssociated {
        /// The public identity asked for.
        impu: String,
        /// The private identity that asked.
        impi: String,
    },
    /// The nonce answered is unknown, used already, or expired.
    StaleNonce,
    /// The answer to the challenge does not hold.
    Digest(DigestError),
    /// No credential could be had from the HSS (why).
    Hss(String),
}

impl Refusal {
    /// Why, typed for the trace.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::Malformed(_) | Refusal::Digest(DigestError::Malformed(_)) => Reason::Malformed,
            Refusal::NotSubscribed(_) => Reason::NotSubscribed,
            Refusal::NotAssociated { .. } => Reason::NotAuthorised,
            Refusal::StaleNonce => Reason::Expired,
            Refusal::Digest(DigestError::Mismatch(_)) => Reason::Mismatch,
            Refusal::Digest(DigestError::WrongResponse) => Reason::SignatureInvalid,
            Refusal::Hss(_) => Reason::Unreachable,
        }
    }

    /// The status and reason phrase of the answer (TS 24.229 §5.4.1.2.2: 403 when the
    /// authentication fails).
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            Refusal::Malformed(_) => (400, "Bad Request"),
            Refusal::Hss(_) => (500, "Server Internal Error (no credential from the HSS)"),
            Refusal::NotSubscribed(_) => (403, "Forbidden (unknown user)"),
            Refusal::NotAssociated { .. } => (403, "Forbidden (identity not registrable)"),
            Refusal::StaleNonce => (403, "Forbidden (stale nonce)"),
            Refusal::Digest(_) => (403, "Forbidden (authentication failed)"),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed(why) => f.write_str(why),
            Refusal::NotSubscribed(impi) => write!(f, "the HSS knows no private identity {impi}"),
            Refusal::NotAssociated { impu, impi } => {
                write!(f, "{impi} may not register {impu}")
            }
            Refusal::StaleNonce => f.write_str("the nonce answered is unknown, used or expired"),
            Refusal::Digest(e) => write!(f, "{e}"),
            Refusal::Hss(why) => write!(f, "no credential from the HSS: {why}"),
        }
    }
}

/// The REGISTER's address of record, contact, Path and credentials. Pure.
pub fn parse(request: &Request) -> Result<Registration, Refusal> {
    let aor = sipmsg::first(&request.headers, "To")
        .and_then(NameAddr::parse)
        .map(|n| n.uri);
    let contact = sipmsg::first(&request.headers, "Contact").and_then(|c| {
        sipmsg::split_list(c)
            .first()
            .and_then(|v| NameAddr::parse(v))
    });
    let (Some(aor), Some(contact)) = (aor, contact) else {
        return Err(Refusal::Malformed("REGISTER needs To and Contact"));
    };
    let path = sipmsg::values(&request.headers, "Path")
        .into_iter()
        .flat_map(sipmsg::split_list)
        .filter_map(NameAddr::parse)
        .map(|n| n.uri)
        .collect();
    let credentials = match sipmsg::first(&request.headers, "Authorization") {
        Some(value) => Some(Credentials::parse(value).ok_or(Refusal::Malformed(
            "Authorization is not Digest with a username",
        ))?),
        None => None,
    };
    Ok(Registration {
        aor,
        contact: contact.uri,
        path,
        credentials,
    })
}

/// What to do with a parsed REGISTER. Pure.
pub fn step(registration: &Registration) -> Result<Step, Refusal> {
    match &registration.credentials {
        Some(c) if !c.is_initial() => Ok(Step::Answer(c.clone())),
        Some(c) => Ok(Step::Challenge {
            impi: c.username.clone(),
        }),
        None => digest::derive_impi(&registration.aor)
            .map(|impi| Step::Challenge { impi })
            .ok_or(Refusal::Malformed("no private identity in To")),
    }
}

/// The Digest algorithm to challenge `registration` with (pure): SHA-256; in a served world
/// that allows it (`md5_allowed`, choice `serve-digest-md5`), MD5 for a REGISTER without
/// Authorization — a client that is not an IMS UE (TS 24.229 §5.1.1.2.1 has every IMS UE name
/// its private identity in its first REGISTER).
pub fn algorithm(registration: &Registration, md5_allowed: bool) -> &'static str {
    if md5_allowed && registration.credentials.is_none() {
        digest::ALGORITHM_MD5
    } else {
        digest::ALGORITHM
    }
}

/// Whether `impus` lists `aor` (URI parameters aside).
fn registrable(impus: &[String], aor: &str) -> bool {
    let bare = |u: &str| u.split(';').next().unwrap_or(u).to_ascii_lowercase();
    impus.iter().any(|i| bare(i) == bare(aor))
}

/// What a challenge for `aor` with `algorithm` is issued for, given the HSS's credential (which
/// must be for that algorithm). Pure.
pub fn issue_for(
    aor: &str,
    credential: DigestCredential,
    algorithm: &str,
) -> Result<Issued, Refusal> {
    if !credential.algorithm.eq_ignore_ascii_case(algorithm) {
        return Err(Refusal::Hss(format!(
            "credential for algorithm {}",
            credential.algorithm
        )));
    }
    if !registrable(&credential.impus, aor) {
        return Err(Refusal::NotAssociated {
            impu: aor.to_owned(),
            impi: credential.impi,
        });
    }
    Ok(Issued {
        impi: credential.impi,
        impus: credential.impus,
        realm: credential.realm,
        ha1: credential.ha1,
        algorithm: credential.algorithm,
    })
}

/// Checks an answer for `aor` against what its nonce was issued for (`None`: unknown, used or
/// expired). Pure.
pub fn check_answer(
    aor: &str,
    credentials: &Credentials,
    issued: Option<Issued>,
    method: &str,
    request_uri: &str,
) -> Result<Issued, Refusal> {
    let issued = issued.ok_or(Refusal::StaleNonce)?;
    digest::verify(credentials, &issued, method, request_uri).map_err(Refusal::Digest)?;
    if !registrable(&issued.impus, aor) {
        return Err(Refusal::NotAssociated {
            impu: aor.to_owned(),
            impi: issued.impi,
        });
    }
    Ok(issued)
}

/// What the registrar answers.
#[derive(Debug)]
enum Answer {
    /// 401 with this nonce, issued for this.
    Challenge(String, Issued),
    /// 200: the binding is made.
    Registered(Issued),
}

impl Scscf {
    /// The Digest credential of `impi` for `algorithm` from the HSS (mutual TLS; only this
    /// S-CSCF may ask).
    async fn credential(&self, impi: &str, algorithm: &str) -> Result<DigestCredential, Refusal> {
        let mut url = format!("https://{}{}", self.config.hss_host, auth_path(impi));
        if algorithm == digest::ALGORITHM_MD5 {
            url.push_str("?algorithm=MD5");
        }
        let response = self
            .hss
            .send(kit::http::Request::get(url))
            .await
            .map_err(|e| Refusal::Hss(e.to_string()))?;
        match response.status {
            200 => serde_json::from_slice(&response.body)
                .map_err(|e| Refusal::Hss(format!("credential unusable: {e}"))),
            404 => Err(Refusal::NotSubscribed(impi.to_owned())),
            status => Err(Refusal::Hss(format!("the HSS answered {status}"))),
        }
    }

    /// A challenge for `aor` with `algorithm`: the credential fetched, a fresh nonce issued
    /// for it.
    async fn challenge(&self, aor: &str, impi: &str, algorithm: &str) -> Result<Answer, Refusal> {
        let issued = issue_for(aor, self.credential(impi, algorithm).await?, algorithm)?;
        let nonce = self.rng().hex(16);
        self.nonces()
            .issue(nonce.clone(), issued.clone(), self.ctx.clock.now());
        Ok(Answer::Challenge(nonce, issued))
    }

    /// The registrar's decision on `request` (the HSS asked when a challenge is due).
    async fn decide(&self, request: &Request) -> Result<(Registration, Answer), Refusal> {
        let registration = parse(request)?;
        let answer = match step(&registration)? {
            Step::Challenge { impi } => {
                let algorithm = algorithm(&registration, self.config.digest_md5);
                self.challenge(&registration.aor, &impi, algorithm).await?
            }
            Step::Answer(c) => {
                let issued = self.nonces().take(&c.nonce, self.ctx.clock.now());
                let method = request.method.to_string();
                let uri = request.uri.to_string();
                Answer::Registered(check_answer(&registration.aor, &c, issued, &method, &uri)?)
            }
        };
        Ok((registration, answer))
    }

    /// Serves a REGISTER: challenge, registration or refusal, each noted.
    pub(super) async fn register(&self, ep: &Endpoint, incoming: &mut Incoming) {
        let request = incoming.request().clone();
        let msg = Some(incoming.trace_id());
        let (response, note) = match self.decide(&request).await {
            Ok((r, Answer::Challenge(nonce, issued))) => {
                let mut answer = response_to(&request, 401, "Unauthorized", Some(&ep.next_tag()));
                let value = digest::challenge_with(&issued.realm, &nonce, &issued.algorithm);
                sipmsg::push(&mut answer.headers, "WWW-Authenticate", value);
                let how = if issued.algorithm == digest::ALGORITHM_MD5 {
                    "MD5, qop=auth (RFC 2617: a served world's legacy allowance, choice serve-digest-md5)"
                } else {
                    "SHA-256, qop=auth (RFC 7616, RFC 8760)"
                };
                let label = format!(
                    "challenge the registration of {} (private identity {}): SIP Digest, {how}",
                    r.aor, issued.impi
                );
                (answer, Note::done(Act::ChallengeUser, label))
            }
            Ok((r, Answer::Registered(issued))) => {
                let answer = self.bind(ep, &request, &r);
                let label = format!(
                    "register {} at {}: the Digest answer of {} holds",
                    r.aor, r.contact, issued.impi
                );
                (answer, Note::done(Act::RegisterUser, label))
            }
            Err(refusal) => {
                let (code, phrase) = refusal.status();
                let aor = sipmsg::first(&request.headers, "To")
                    .and_then(NameAddr::parse)
                    .map_or_else(|| "?".to_owned(), |n| n.uri);
                let label = format!("refuse the registration of {aor}: {refusal}");
                let note = Note::refused(Act::RegisterUser, refusal.reason(), label);
                (response_to(&request, code, phrase, None), note)
            }
        };
        self.ctx.note(msg, note);
        let _ = incoming.respond(response).await;
    }

    /// Binds the registration and builds its 200 (Contact, Path, Service-Route with the
    /// `orig` marker, P-Associated-URI).
    fn bind(&self, ep: &Endpoint, request: &Request, r: &Registration) -> proto::sip::Response {
        self.registrar().0.insert(
            aor_key(&r.aor),
            Binding {
                contact: r.contact.clone(),
                path: r.path.clone(),
            },
        );
        let mut ok = response_to(request, 200, "OK", Some(&ep.next_tag()));
        sipmsg::push(
            &mut ok.headers,
            "Contact",
            format!("<{}>;expires=600", r.contact),
        );
        for p in &r.path {
            sipmsg::push(&mut ok.headers, "Path", format!("<{p}>"));
        }
        sipmsg::push(
            &mut ok.headers,
            "Service-Route",
            format!("<sip:{};lr;orig>", ep.host()),
        );
        sipmsg::push(&mut ok.headers, "P-Associated-URI", format!("<{}>", r.aor));
        ok
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const AOR: &str = "sip:+1@ims.a";

    fn register(extra: &str) -> Request {
        let text = format!(
            "REGISTER sip:ims.a SIP/2.0\r\nVia: SIP/2.0/UDP ue:1;branch=z9hG4bK1\r\nFrom: <{AOR}>;tag=1\r\nTo: <{AOR}>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nContact: <sip:+1@127.0.0.1:5>\r\nPath: <sip:pcscf.ims.a;lr>\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    fn credential(impus: &[&str]) -> DigestCredential {
        DigestCredential {
            impi: "+1@ims.a".into(),
            impus: impus.iter().map(|s| (*s).to_owned()).collect(),
            realm: "ims.a".into(),
            algorithm: "SHA-256".into(),
            ha1: "00".into(),
        }
    }

    #[test]
    fn steps_from_the_authorization() {
        let r = parse(&register("")).unwrap();
        assert_eq!(r.path, ["sip:pcscf.ims.a;lr"]);
        assert_eq!(
            step(&r),
            Ok(Step::Challenge {
                impi: "+1@ims.a".into()
            })
        );
        let named = "Authorization: Digest username=\"other@ims.a\", realm=\"ims.a\", uri=\"sip:ims.a\", nonce=\"\", response=\"\"\r\n";
        assert_eq!(
            step(&parse(&register(named)).unwrap()),
            Ok(Step::Challenge {
                impi: "other@ims.a".into()
            })
        );
        let answer = "Authorization: Digest username=\"+1@ims.a\", nonce=\"n\", response=\"r\"\r\n";
        assert!(matches!(
            step(&parse(&register(answer)).unwrap()),
            Ok(Step::Answer(c)) if c.nonce == "n"
        ));
        let bearer = "Authorization: Bearer realm=\"x\"\r\n";
        assert_eq!(
            parse(&register(bearer)).unwrap_err().reason(),
            Reason::Malformed
        );
    }

    #[test]
    fn md5_only_for_clients_naming_no_private_identity_in_served_worlds() {
        let bare = parse(&register("")).unwrap();
        let named = "Authorization: Digest username=\"+1@ims.a\", realm=\"ims.a\", uri=\"sip:ims.a\", nonce=\"\", response=\"\"\r\n";
        let ims = parse(&register(named)).unwrap();
        assert_eq!(algorithm(&bare, false), "SHA-256");
        assert_eq!(algorithm(&ims, false), "SHA-256");
        assert_eq!(algorithm(&ims, true), "SHA-256");
        assert_eq!(algorithm(&bare, true), "MD5");
        let mut md5 = credential(&["sip:+1@ims.a"]);
        md5.algorithm = "MD5".into();
        assert_eq!(issue_for(AOR, md5, "MD5").unwrap().algorithm, "MD5");
        let sha = credential(&["sip:+1@ims.a"]);
        assert_eq!(
            issue_for(AOR, sha, "MD5").unwrap_err().reason(),
            Reason::Unreachable
        );
    }

    #[test]
    fn only_registrable_identities_challenged() {
        let sha = digest::ALGORITHM;
        assert!(issue_for(AOR, credential(&["sip:+1@ims.a"]), sha).is_ok());
        let phone = "sip:+1@ims.a;user=phone";
        assert!(issue_for(phone, credential(&["sip:+1@ims.a"]), sha).is_ok());
        let refusal = issue_for(AOR, credential(&["sip:+2@ims.a"]), sha).unwrap_err();
        assert_eq!(
            (refusal.reason(), refusal.status().0),
            (Reason::NotAuthorised, 403)
        );
        let mut md5 = credential(&[AOR]);
        md5.algorithm = "MD5".into();
        assert_eq!(
            issue_for(AOR, md5, sha).unwrap_err().reason(),
            Reason::Unreachable
        );
    }

    #[test]
    fn refusal_reasons_and_answers() {
        let cases = [
            (Refusal::Malformed("x"), Reason::Malformed, 400),
            (
                Refusal::NotSubscribed("i".into()),
                Reason::NotSubscribed,
                403,
            ),
            (Refusal::StaleNonce, Reason::Expired, 403),
            (
                Refusal::Digest(DigestError::WrongResponse),
                Reason::SignatureInvalid,
                403,
            ),
            (
                Refusal::Digest(DigestError::Mismatch("uri")),
                Reason::Mismatch,
                403,
            ),
            (
                Refusal::Digest(DigestError::Malformed("nc")),
                Reason::Malformed,
                403,
            ),
            (Refusal::Hss("down".into()), Reason::Unreachable, 500),
        ];
        for (refusal, reason, code) in cases {
            assert_eq!(
                (refusal.reason(), refusal.status().0),
                (reason, code),
                "{refusal}"
            );
        }
    }

    #[test]
    fn answers_checked_against_their_nonce() {
        let issued = issue_for(AOR, credential(&[AOR]), digest::ALGORITHM).unwrap();
        let c = Credentials::default();
        assert_eq!(
            check_answer(AOR, &c, None, "REGISTER", "sip:ims.a"),
            Err(Refusal::StaleNonce)
        );
        assert_eq!(
            check_answer(AOR, &c, Some(issued), "REGISTER", "sip:ims.a"),
            Err(Refusal::Digest(DigestError::Mismatch("username")))
        );
    }
}
