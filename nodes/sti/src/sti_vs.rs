//! STI-VS, the verification server (TS 24.229 Annex V.2 `POST /stir/v1/verification`; RFC 8224
//! §6.2 with SHAKEN's certificate rules). The terminating IMS AS hands it the Identity headers of
//! an INVITE; it fetches each certificate from x5u and the CRL its distribution point names
//! (both cached as HTTP caching allows, within bounds), verifies, checks RCD integrity, and
//! answers with `verstat` and one result per PASSporT. TR 33.790 §6.2.2.2 steps 8–10. It
//! verifies the testbed's `avatar` PASSporT (the signed Avatar-id, §6.7.2.1 step 3) the same
//! way, and gives the verified `avatar` claim back in `validClaims`.
//!
//! Only the clients the world authorises are served (mutual TLS, [`crate::MsClients`]); others
//! get a 403 and nothing is verified for them.

use std::sync::Arc;

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::x5u::{CacheLimits, X5uFetcher};
use kit::{Error, fixtures};
use proto::trace::{Act, Note, Reason};
use stir::ms::{
    MsParty, VERIFICATION_PATH, VerificationRequest, VerificationRequestBody, VerificationResponse,
    VerificationResponseBody, VerifyResult, VerifyResultEntry,
};
use stir::rcd::Fetched;
use stir::verify::{self, Check, Context, RCDI_CHECK, Report, Verified};
use stir::{DigestStatus, IdentityHeader, Party, Policy, SipFacts, TrustAnchors, Verstat};

use crate::{MsClients, ms_error, ms_error_status, reason};

/// The SIP code a PASSporT whose RCD digests do not match is failed with (RFC 8224 §6.2.2).
const RCDI_CODE: u16 = 438;

/// A running STI-VS.
#[derive(Debug)]
pub struct StiVs {
    /// Its HTTPS server.
    pub server: Server,
}

/// How an STI-VS is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The clients it verifies for.
    pub clients: MsClients,
    /// Verifier settings (freshness; revocation by CRL, on by default).
    pub policy: Policy,
    /// Bounds on its cache of certificate chains and CRLs.
    pub cache: CacheLimits,
    /// The repositories it fetches x5u chains from (`None`: any host); an x5u elsewhere is
    /// refused with 436 before anything is resolved or sent.
    pub x5u_hosts: Option<Vec<String>>,
}

impl Config {
    /// Verifies for `clients` with the default policy and cache bounds.
    pub fn new(clients: MsClients) -> Self {
        Self {
            clients,
            policy: Policy::default(),
            cache: CacheLimits::default(),
            x5u_hosts: None,
        }
    }
}

struct Verifier {
    ctx: Ctx,
    clients: MsClients,
    anchors: TrustAnchors,
    fetcher: X5uFetcher,
    content: Client,
    policy: Policy,
}

fn party(p: &MsParty) -> Option<Party> {
    p.tn.as_ref()
        .map(|tn| Party::Tn(tn.clone()))
        .or_else(|| p.uri.as_ref().map(|u| Party::from_uri(u)))
}

/// The Ms result entry for one report: a PASSporT whose signature holds but whose RCD digests
/// do not match fails too, so the IMS AS drops the RCD (TR 33.790 §6.2.2.2 step 10).
pub fn result_entry(ppt: &str, jws: &str, report: &Report) -> VerifyResult {
    let mut entry = VerifyResult::from_outcome(ppt, jws, &report.outcome);
    if let Ok(verified) = &report.outcome
        && let Some(rcd) = &verified.rcd
        && !rcd.intact()
    {
        let pointers = |uncovered: bool| -> Vec<&str> {
            rcd.digests
                .iter()
                .filter(|(_, s)| !s.is_match())
                .filter(|(_, s)| matches!(s, DigestStatus::Uncovered { .. }) == uncovered)
                .map(|(p, _)| p.as_str())
                .collect()
        };
        let (bad, uncovered) = (pointers(false), pointers(true));
        let mut why = Vec::new();
        if !bad.is_empty() {
            why.push(format!("rcdi digest does not match for {}", bad.join(", ")));
        }
        if !uncovered.is_empty() {
            why.push(format!("rcdi does not cover {}", uncovered.join(", ")));
        }
        entry.status = "fail".into();
        entry.reason_code = Some(RCDI_CODE);
        entry.reason_text = Some("Invalid Identity Header".into());
        entry.reason_description = Some(why.join("; "));
        entry.passport = Some(jws.to_owned());
        entry.valid_claims = None;
    }
    entry
}

/// The trace note for one check `stir::verify` ran on a PASSporT of type `ppt`. A failed check
/// carries what the PASSporT is rejected with: the outcome's reason and SIP code, or
/// [`Reason::DigestMismatch`] and 438 for RCD digests that do not match, or URI members no
/// digest covers (see [`result_entry`]).
pub fn check_note(ppt: &str, check: &Check, outcome: &Result<Verified, stir::Error>) -> Note {
    let name = format!("{ppt}: {}", check.name);
    if check.passed {
        return Note::pass(name, check.detail.clone());
    }
    let (why, code) = match outcome {
        Err(e) => (reason(e), Some(e.sip_answer().code)),
        Ok(_) if check.name == RCDI_CHECK => (Reason::DigestMismatch, Some(RCDI_CODE)),
        // `stir::verify` fails no other check of a PASSporT that passed.
        Ok(_) => (Reason::Malformed, None),
    };
    Note::fail(name, why, code, check.detail.clone())
}

/// How the caller's number fared: the first `shaken` PASSporT decides (RFC 8588); RCD failures
/// only drop the RCD (TR 33.790 §6.2.2.2 step 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerTn {
    /// The `shaken` PASSporT verified.
    Verified,
    /// The `shaken` PASSporT failed with this error.
    Failed(stir::Error),
    /// There was no `shaken` PASSporT.
    NoPassport,
}

impl CallerTn {
    /// The `verstat` value it leads to (TS 24.229 §7.2A.20).
    pub fn verstat(&self) -> Verstat {
        match self {
            CallerTn::Verified => Verstat::Passed,
            CallerTn::Failed(e) => e.verstat(),
            CallerTn::NoPassport => Verstat::NoValidation,
        }
    }

    /// The STI-VS's summary action: `VerifyIdentity` done only when the caller's number
    /// verified; refused otherwise, with the failing `shaken` PASSporT's reason
    /// ([`Reason::MissingIdentity`] when there was none). The label lists every result.
    pub fn note(&self, results: &[VerifyResult]) -> Note {
        let label = summary_label(results, self.verstat());
        match self {
            CallerTn::Verified => Note::done(Act::VerifyIdentity, label),
            CallerTn::Failed(e) => Note::refused(Act::VerifyIdentity, reason(e), label),
            CallerTn::NoPassport => {
                Note::refused(Act::VerifyIdentity, Reason::MissingIdentity, label)
            }
        }
    }
}

/// The summary note's label: every result, and the `verstat` it led to.
fn summary_label(results: &[VerifyResult], verstat: Verstat) -> String {
    let summary: Vec<String> = results
        .iter()
        .map(|r| format!("{} {}", r.ppt, r.status))
        .collect();
    format!(
        "verify certificates and signatures: {} → verstat {verstat}",
        summary.join(", ")
    )
}

/// How the signed Avatar-id fared (TR 33.790 §6.7.2.1 step 3): the request's first `avatar`
/// PASSporT decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedAvatarId {
    /// The `avatar` PASSporT verified.
    Verified,
    /// The `avatar` PASSporT failed with this error.
    Failed(stir::Error),
    /// There was no `avatar` PASSporT.
    NoPassport,
}

/// The STI-VS's summary action for a request. The caller's number decides
/// ([`CallerTn::note`]); only a request with no `shaken` PASSporT but an `avatar` one (the
/// signed Avatar-id alone) is summed up by that one instead: `VerifyIdentity` done when it
/// verified, refused with its reason when not. `verstat` stays the caller number's.
pub fn summary_note(caller: &CallerTn, avatar: &SignedAvatarId, results: &[VerifyResult]) -> Note {
    let label = || summary_label(results, caller.verstat());
    match (caller, avatar) {
        (CallerTn::NoPassport, SignedAvatarId::Verified) => {
            Note::done(Act::VerifyIdentity, label())
        }
        (CallerTn::NoPassport, SignedAvatarId::Failed(e)) => {
            Note::refused(Act::VerifyIdentity, reason(e), label())
        }
        _ => caller.note(results),
    }
}

/// One Identity header verified: its `ppt`, its Ms result entry, and the error that failed the
/// PASSporT (not its RCD), if any.
struct Outcome {
    ppt: String,
    entry: VerifyResult,
    failure: Option<stir::Error>,
}

impl Verifier {
    /// Verifies one Identity value; `shaken_seen` says whether the request already carried a
    /// `shaken` PASSporT (a second one is refused unverified, [`verify::repeated`]). A blank
    /// value is no Identity header at all (428).
    async fn verify_one(
        &self,
        value: &str,
        facts: &SipFacts,
        shaken_seen: bool,
        msg: Option<u64>,
    ) -> Outcome {
        let parsed = if value.trim().is_empty() {
            Err(stir::Error::MissingIdentity)
        } else {
            IdentityHeader::parse(value)
        };
        let identity = match parsed {
            Ok(id) => id,
            Err(error) => {
                let outcome = Err(error);
                let entry = VerifyResult::from_outcome("shaken", value, &outcome);
                return Outcome {
                    ppt: "shaken".into(),
                    entry,
                    failure: outcome.err(),
                };
            }
        };
        let ppt = identity.ppt.clone().unwrap_or_else(|| "shaken".into());
        if shaken_seen && let Some(report) = verify::repeated(&ppt) {
            for check in &report.checks {
                self.ctx.note(msg, check_note(&ppt, check, &report.outcome));
            }
            return Outcome {
                entry: result_entry(&ppt, &identity.jws, &report),
                failure: report.outcome.err(),
                ppt,
            };
        }
        let fetched = self.received(&identity, &ppt, msg).await;
        let ctx = Context {
            facts,
            now: self.ctx.clock.now(),
            fetcher: &self.fetcher,
            anchors: &self.anchors,
            policy: &self.policy,
            fetched: &fetched,
        };
        let report = verify::verify_report(&identity, &ctx).await;
        for check in &report.checks {
            self.ctx.note(msg, check_note(&ppt, check, &report.outcome));
        }
        Outcome {
            entry: result_entry(&ppt, &identity.jws, &report),
            failure: report.outcome.err(),
            ppt,
        }
    }

    /// Notes the PASSporT as received and fetches the content its `rcd` claims point at.
    async fn received(&self, identity: &IdentityHeader, ppt: &str, msg: Option<u64>) -> Fetched {
        let Ok(decoded) = stir::passport::decode(&identity.jws) else {
            return Fetched::new();
        };
        self.ctx.note(
            msg,
            Note::Token {
                label: format!("PASSporT received (ppt={ppt})"),
                header: decoded.header_json,
                claims: decoded.claims_json,
            },
        );
        match &decoded.passport.claims.rcd {
            Some(rcd) => crate::fetch_rcd_content(&self.content, rcd).await,
            None => Fetched::new(),
        }
    }

    /// A 403 for a client the world does not authorise (Ms client authentication), noted.
    fn refuse_client(&self, peer: &Peer) -> Option<Response> {
        let refusal = self.clients.authorise(peer.certificate.as_deref()).err()?;
        let why = self.clients.refusal_text(&refusal);
        self.ctx.note(
            peer.msg,
            Note::refused(
                Act::VerifyIdentity,
                Reason::NotAuthorised,
                format!("refuse verification: client not authorised: {why}"),
            ),
        );
        Some(ms_error_status(403, "Forbidden", why))
    }

    async fn handle(&self, req: Request, peer: Peer) -> Response {
        if let Some(refused) = self.refuse_client(&peer) {
            return refused;
        }
        if req.method != "POST" || req.target != VERIFICATION_PATH {
            return Response::text(
                404,
                format!("no such operation: {} {}", req.method, req.target),
            );
        }
        let request = match parse(&req.body) {
            Ok(r) => r,
            Err((response, why)) => {
                self.ctx.note(
                    peer.msg,
                    Note::refused(
                        Act::VerifyIdentity,
                        Reason::Malformed,
                        format!("refuse verification: {why}"),
                    ),
                );
                return response;
            }
        };
        let VerificationRequest {
            identity_header,
            identity_headers,
            from,
            to,
            time,
            request_id,
        } = request;
        let facts = SipFacts {
            orig: party(&from),
            dest: party(&to),
            date: Some(time),
        };
        let mut results = Vec::new();
        let mut caller = CallerTn::NoPassport;
        let mut avatar = SignedAvatarId::NoPassport;
        // Exact repeats are one PASSporT; blank values are none (all blank: 428).
        let mut values = verify::distinct(
            std::iter::once(identity_header.as_str())
                .chain(identity_headers.iter().map(String::as_str))
                .filter(|v| !v.trim().is_empty()),
        );
        if values.is_empty() {
            values.push("");
        }
        for value in values {
            let shaken_seen = caller != CallerTn::NoPassport;
            let outcome = self.verify_one(value, &facts, shaken_seen, peer.msg).await;
            if outcome.ppt == "shaken" && caller == CallerTn::NoPassport {
                caller = outcome.failure.map_or(CallerTn::Verified, CallerTn::Failed);
            } else if outcome.ppt == "shaken"
                && let Some(e @ stir::Error::DuplicatePassport { .. }) = outcome.failure
            {
                // Two different `shaken` PASSporTs: which attestation is meant is ambiguous.
                caller = CallerTn::Failed(e);
            } else if outcome.ppt == "avatar" && avatar == SignedAvatarId::NoPassport {
                avatar = outcome
                    .failure
                    .map_or(SignedAvatarId::Verified, SignedAvatarId::Failed);
            }
            results.push(outcome.entry);
        }
        self.ctx
            .note(peer.msg, summary_note(&caller, &avatar, &results));
        let response = VerificationResponse {
            verstat_value: caller.verstat().as_str().into(),
            verify_results: results
                .into_iter()
                .map(|verify_result| VerifyResultEntry { verify_result })
                .collect(),
            request_id,
        };
        json_response(
            200,
            &VerificationResponseBody {
                verification_response: response,
            },
        )
    }
}

/// The verification request in a POST body; the Ms error answer (and why, for the trace) if
/// there is none.
fn parse(body: &[u8]) -> Result<VerificationRequest, (Response, String)> {
    if body.is_empty() {
        return Err((
            ms_error("Missing Request body", "empty"),
            "empty request body".into(),
        ));
    }
    serde_json::from_slice::<VerificationRequestBody>(body)
        .map(|b| b.verification_request)
        .map_err(|e| {
            (
                ms_error("Failed To Parse Message Body", &e),
                format!("body is not a verification request: {e}"),
            )
        })
}

/// Starts an STI-VS trusting the fixture STI-CA, verifying for `config.clients` over mutual TLS
/// (a client without a certificate of the world's TLS CA fails the handshake; one whose
/// certificate names another host gets a 403). Its x5u and CRL cache judges freshness on the
/// world's clock.
pub async fn start(ctx: &Ctx, config: Config) -> Result<StiVs, Error> {
    let anchors =
        TrustAnchors::from_pem(&fixtures::read(fixtures::STI_CA)?).map_err(|e| Error::Pem {
            detail: e.to_string(),
        })?;
    let mut fetcher = X5uFetcher::new(ctx.https_client(false)?, true)
        .with_clock(ctx.clock)
        .with_cache_limits(config.cache);
    if let Some(hosts) = config.x5u_hosts {
        fetcher = fetcher.with_allowed_hosts(hosts);
    }
    let verifier = Arc::new(Verifier {
        ctx: ctx.clone(),
        clients: config.clients,
        anchors,
        fetcher,
        content: ctx.https_client(true)?.with_max_body(crate::MAX_RCD_BYTES),
        policy: config.policy,
    });
    let h = handler(move |req, peer| {
        let verifier = verifier.clone();
        async move { verifier.handle(req, peer).await }
    });
    Ok(StiVs {
        server: ctx.https_server(h, ClientAuth::Required).await?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::trace::Outcome as Done;

    fn check(name: &'static str, passed: bool) -> Check {
        Check {
            name,
            passed,
            detail: "d".into(),
        }
    }

    fn result(ppt: &str, status: &str) -> VerifyResult {
        VerifyResult {
            ppt: ppt.into(),
            status: status.into(),
            reason_code: None,
            reason_text: None,
            reason_description: None,
            passport: None,
            valid_claims: None,
        }
    }

    #[test]
    fn failed_checks_carry_the_outcome_reason_and_code() {
        let outcome = Err(stir::Error::BadSignature);
        assert_eq!(
            check_note("shaken", &check("ES256 signature", false), &outcome),
            Note::fail(
                "shaken: ES256 signature",
                Reason::SignatureInvalid,
                Some(438),
                "d"
            )
        );
        assert_eq!(
            check_note("shaken", &check("alg parameter", true), &outcome),
            Note::pass("shaken: alg parameter", "d")
        );
        let stale = Err(stir::Error::Stale {
            iat: 0,
            reference: 100,
            freshness: 60,
            against: "now",
        });
        assert_eq!(
            check_note("rcd", &check("iat fresh", false), &stale),
            Note::fail("rcd: iat fresh", Reason::Stale, Some(403), "d")
        );
    }

    #[test]
    fn caller_tn_verdicts() {
        let results = [result("shaken", "pass"), result("rcd", "fail")];
        let passed = CallerTn::Verified;
        assert_eq!(passed.verstat(), Verstat::Passed);
        let note = passed.note(&results);
        assert_eq!(note.action(), Some((Act::VerifyIdentity, Done::Done)));
        let Note::Action { label, .. } = &note else {
            panic!("{note:?}")
        };
        assert_eq!(
            label,
            "verify certificates and signatures: shaken pass, rcd fail → verstat TN-Validation-Passed"
        );

        let failed = CallerTn::Failed(stir::Error::OrigMismatch {
            sip: "+1".into(),
            token: "+2".into(),
        });
        assert_eq!(failed.verstat(), Verstat::Failed);
        assert_eq!(
            failed.note(&[result("shaken", "fail")]).action(),
            Some((Act::VerifyIdentity, Done::Refused(Reason::ClaimMismatch)))
        );

        let none = CallerTn::NoPassport;
        assert_eq!(none.verstat(), Verstat::NoValidation);
        assert_eq!(
            none.note(&[result("rcd", "pass")]).action(),
            Some((Act::VerifyIdentity, Done::Refused(Reason::MissingIdentity)))
        );
    }

    #[test]
    fn a_signed_avatar_id_alone_is_summed_up_by_its_outcome() {
        let avatar_only = [result("avatar", "pass")];
        let note = summary_note(
            &CallerTn::NoPassport,
            &SignedAvatarId::Verified,
            &avatar_only,
        );
        assert_eq!(note.action(), Some((Act::VerifyIdentity, Done::Done)));
        let Note::Action { label, .. } = &note else {
            panic!("{note:?}")
        };
        assert_eq!(
            label,
            "verify certificates and signatures: avatar pass → verstat No-TN-Validation"
        );
        let failed = SignedAvatarId::Failed(stir::Error::MissingClaim { claim: "avatar" });
        assert_eq!(
            summary_note(&CallerTn::NoPassport, &failed, &[result("avatar", "fail")]).action(),
            Some((Act::VerifyIdentity, Done::Refused(Reason::Malformed)))
        );
        // With a `shaken` PASSporT, the caller's number decides as before.
        let both = [result("shaken", "pass"), result("avatar", "fail")];
        assert_eq!(
            summary_note(&CallerTn::Verified, &failed, &both),
            CallerTn::Verified.note(&both)
        );
        let none = [result("rcd", "pass")];
        assert_eq!(
            summary_note(&CallerTn::NoPassport, &SignedAvatarId::NoPassport, &none),
            CallerTn::NoPassport.note(&none)
        );
    }

    #[test]
    fn malformed_requests_get_ms_errors() {
        let (r, why) = parse(b"").unwrap_err();
        assert_eq!((r.status, why.as_str()), (400, "empty request body"));
        let (r, why) = parse(b"{}").unwrap_err();
        assert_eq!(r.status, 400);
        assert!(
            why.starts_with("body is not a verification request"),
            "{why}"
        );
    }
}
