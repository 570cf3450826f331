//! STI-VS, the verification server (TS 24.229 Annex V.2 `POST /stir/v1/verification`; RFC 8224
//! §6.2 with SHAKEN's certificate rules). The terminating IMS AS hands it the Identity headers of
//! an INVITE; it fetches each certificate from x5u (cached), verifies, checks RCD integrity, and
//! answers with `verstat` and one result per PASSporT. TR 33.790 §6.2.2.2 steps 8–10.

use std::sync::Arc;

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::x5u::X5uFetcher;
use kit::{Error, fixtures};
use proto::trace::Note;
use stir::ms::{
    MsParty, VERIFICATION_PATH, VerificationRequest, VerificationRequestBody, VerificationResponse,
    VerificationResponseBody, VerifyResult,
};
use stir::rcd::Fetched;
use stir::verify::{self, Context, Report};
use stir::{IdentityHeader, Party, Policy, SipFacts, TrustAnchors, Verstat};

use crate::ms_error;

/// A running STI-VS.
#[derive(Debug)]
pub struct StiVs {
    pub server: Server,
}

struct Verifier {
    ctx: Ctx,
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
        let bad: Vec<&str> = rcd
            .digests
            .iter()
            .filter(|(_, s)| !s.is_match())
            .map(|(p, _)| p.as_str())
            .collect();
        entry.status = "fail".into();
        entry.reason_code = Some(438);
        entry.reason_text = Some("Invalid Identity Header".into());
        entry.reason_description =
            Some(format!("rcdi digest does not match for {}", bad.join(", ")));
        entry.passport = Some(jws.to_owned());
        entry.valid_claims = None;
    }
    entry
}

impl Verifier {
    async fn verify_one(
        &self,
        value: &str,
        facts: &SipFacts,
        msg: Option<u64>,
    ) -> (String, VerifyResult, Option<Result<(), Verstat>>) {
        let identity = match IdentityHeader::parse(value) {
            Ok(id) => id,
            Err(error) => {
                let outcome = Err(error);
                let entry = VerifyResult::from_outcome("shaken", value, &outcome);
                return (
                    "shaken".into(),
                    entry,
                    outcome.err().map(|e| Err(e.verstat())),
                );
            }
        };
        let ppt = identity.ppt.clone().unwrap_or_else(|| "shaken".into());
        let mut fetched = Fetched::new();
        if let Ok(decoded) = stir::passport::decode(&identity.jws) {
            self.ctx.note(
                msg,
                Note::Token {
                    label: format!("PASSporT received (ppt={ppt})"),
                    header: decoded.header_json,
                    claims: decoded.claims_json,
                },
            );
            if let Some(rcd) = &decoded.passport.claims.rcd {
                fetched = crate::fetch_rcd_content(&self.content, rcd).await;
            }
        }
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
            // A failed check carries the code the PASSporT is rejected with: the outcome's, or
            // 438 for RCD digests that do not match (see `result_entry`).
            let code = (!check.passed)
                .then(|| match &report.outcome {
                    Err(e) => Some(e.sip_answer().code),
                    Ok(_) => (check.name == "rcdi digest").then_some(438),
                })
                .flatten();
            self.ctx.note(
                msg,
                Note::Check {
                    name: format!("{ppt}: {}", check.name),
                    passed: check.passed,
                    detail: check.detail.clone(),
                    code,
                },
            );
        }
        let entry = result_entry(&ppt, &identity.jws, &report);
        let verdict = match &report.outcome {
            Ok(_) => Ok(()),
            Err(e) => Err(e.verstat()),
        };
        (ppt, entry, Some(verdict))
    }

    async fn handle(&self, req: Request, peer: Peer) -> Response {
        if req.method != "POST" || req.target != VERIFICATION_PATH {
            return Response::text(
                404,
                format!("no such operation: {} {}", req.method, req.target),
            );
        }
        if req.body.is_empty() {
            return ms_error("Missing Request body", "empty");
        }
        let body: VerificationRequestBody = match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => return ms_error("Failed To Parse Message Body", e),
        };
        let VerificationRequest {
            identity_header,
            identity_headers,
            from,
            to,
            time,
            request_id,
        } = body.verification_request;
        let facts = SipFacts {
            orig: party(&from),
            dest: party(&to),
            date: Some(time),
        };
        let mut results = Vec::new();
        let mut shaken_verdict = None;
        for value in std::iter::once(&identity_header).chain(identity_headers.iter()) {
            let (ppt, entry, verdict) = self.verify_one(value, &facts, peer.msg).await;
            if ppt == "shaken" && shaken_verdict.is_none() {
                shaken_verdict = verdict;
            }
            results.push(entry);
        }
        let verstat = match shaken_verdict {
            Some(Ok(())) => Verstat::Passed,
            Some(Err(v)) => v,
            None => Verstat::NoValidation,
        };
        let summary: Vec<String> = results
            .iter()
            .map(|r| format!("{} {}", r.ppt, r.status))
            .collect();
        self.ctx.note(
            peer.msg,
            Note::Action {
                label: format!(
                    "verify certificates and signatures: {} → verstat {verstat}",
                    summary.join(", ")
                ),
            },
        );
        let response = VerificationResponse {
            verstat_value: verstat.as_str().into(),
            verify_results: results
                .into_iter()
                .map(|verify_result| stir::ms::VerifyResultEntry { verify_result })
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

/// Starts an STI-VS trusting the fixture STI-CA.
pub async fn start(ctx: &Ctx) -> Result<StiVs, Error> {
    let anchors =
        TrustAnchors::from_pem(&fixtures::read(fixtures::STI_CA)?).map_err(|e| Error::Pem {
            detail: e.to_string(),
        })?;
    let verifier = Arc::new(Verifier {
        ctx: ctx.clone(),
        anchors,
        fetcher: X5uFetcher::new(ctx.https_client(false)?, true),
        content: ctx.https_client(false)?.with_max_body(crate::MAX_RCD_BYTES),
        policy: Policy::default(),
    });
    let h = handler(move |req, peer| {
        let verifier = verifier.clone();
        async move { verifier.handle(req, peer).await }
    });
    Ok(StiVs {
        server: ctx.https_server(h, ClientAuth::None).await?,
    })
}
