//! STI-AS, the signing server (TS 24.229 Annex V.2 `POST /stir/v1/signing`; RFC 8588 for
//! `shaken`, RFC 9795 for `rcd`). An IMS AS asks it to sign; it answers with the Identity header
//! value. TR 33.790 §6.2.2.2 steps 4–6 (§6.2.2.3 steps 3–5).

use std::fmt;
use std::sync::{Arc, Mutex};

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;
use proto::clock::Rng;
use proto::trace::{Act, Note, Reason};
use stir::ms::{
    SIGNING_PATH, SigningRequest, SigningRequestBody, SigningResponse, SigningResponseBody,
};
use stir::rcd::{self, Fetched};
use stir::{Attest, DigestAlg, IdentityHeader, Passport, Ppt};

use crate::ms_error;

/// Why a signing request is refused: each answered with its Ms error (400) or a 500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request has no body.
    EmptyBody,
    /// The body is not a signing request (the JSON error).
    Unparsable(String),
    /// A mandatory parameter is absent.
    MissingParameter(&'static str),
    /// A parameter has a value this signer does not take.
    InvalidParameter(String),
    /// `rcdi` could not be computed over the RCD's content (not fetched, or not encodable).
    Rcdi(stir::Error),
    /// Signing itself failed (the signer's own fault).
    Signing(stir::Error),
}

impl Refusal {
    /// The answer on the wire (TS 24.229 Annex V.2 error strings).
    fn response(&self) -> Response {
        match self {
            Refusal::EmptyBody => ms_error("Missing Request body", "empty"),
            Refusal::Unparsable(e) => ms_error("Failed To Parse Message Body", e),
            Refusal::MissingParameter(p) => ms_error("Missing Mandatory Parameter", p),
            Refusal::InvalidParameter(p) => ms_error("Invalid Parameter Value", p),
            Refusal::Rcdi(e) => ms_error("Invalid Parameter Value", e),
            Refusal::Signing(e) => Response::text(500, e.to_string()),
        }
    }

    /// Why, typed for the trace: content behind the RCD that could not be fetched is
    /// [`Reason::Unreachable`]; everything else is the request's (or signer's) malformation.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::Rcdi(stir::Error::RcdContentMissing { .. }) => Reason::Unreachable,
            Refusal::Rcdi(e) | Refusal::Signing(e) => crate::reason(e),
            Refusal::EmptyBody
            | Refusal::Unparsable(_)
            | Refusal::MissingParameter(_)
            | Refusal::InvalidParameter(_) => Reason::Malformed,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::EmptyBody => f.write_str("empty request body"),
            Refusal::Unparsable(e) => write!(f, "body is not a signing request: {e}"),
            Refusal::MissingParameter(p) => write!(f, "missing mandatory parameter {p}"),
            Refusal::InvalidParameter(p) => write!(f, "invalid parameter value {p}"),
            Refusal::Rcdi(e) => write!(f, "cannot compute rcdi: {e}"),
            Refusal::Signing(e) => write!(f, "cannot sign: {e}"),
        }
    }
}

/// The signing request in a POST body.
fn parse(body: &[u8]) -> Result<SigningRequest, Refusal> {
    if body.is_empty() {
        return Err(Refusal::EmptyBody);
    }
    serde_json::from_slice::<SigningRequestBody>(body)
        .map(|b| b.signing_request)
        .map_err(|e| Refusal::Unparsable(e.to_string()))
}

/// The `rcdi` to sign: the one given, else computed over the fetched content.
fn rcdi_for(
    req: &SigningRequest,
    rcd: &stir::Rcd,
    fetched: &Fetched,
) -> Result<std::collections::BTreeMap<String, String>, Refusal> {
    match &req.rcdi {
        Some(given) => Ok(given.clone()),
        None => rcd::compute_rcdi(rcd, fetched, DigestAlg::Sha256).map_err(Refusal::Rcdi),
    }
}

/// Builds the PASSporT a signing request asks for. `origid` is used when the request has none.
/// Pure: the caller supplies the content behind RCD URIs for `rcdi`.
pub fn passport_for(
    req: &SigningRequest,
    x5u: &str,
    origid: &str,
    fetched: &Fetched,
) -> Result<Passport, Refusal> {
    if req.orig.tn.is_none() && req.orig.uri.is_none() {
        return Err(Refusal::MissingParameter("orig.tn or orig.uri"));
    }
    if req.dest.tn.as_ref().is_none_or(Vec::is_empty)
        && req.dest.uri.as_ref().is_none_or(Vec::is_empty)
    {
        return Err(Refusal::MissingParameter("dest.tn or dest.uri"));
    }
    let ppt = match req.ppt.as_deref() {
        None | Some("shaken") => Ppt::Shaken,
        Some("rcd") => Ppt::Rcd,
        Some(other) => return Err(Refusal::InvalidParameter(format!("ppt {other:?}"))),
    };
    match ppt {
        Ppt::Rcd => {
            let rcd = req.rcd.clone().ok_or(Refusal::MissingParameter("rcd"))?;
            let rcdi = Some(rcdi_for(req, &rcd, fetched)?);
            let mut p = Passport::rcd(x5u, req.orig.clone(), req.dest.clone(), req.iat, rcd, rcdi);
            p.claims.crn = req.crn.clone();
            Ok(p)
        }
        _ => {
            let attest = req.attest.unwrap_or(Attest::C);
            let origid = req.origid.clone().unwrap_or_else(|| origid.to_owned());
            let mut p = Passport::shaken(
                x5u,
                attest,
                req.orig.clone(),
                req.dest.clone(),
                req.iat,
                &origid,
            );
            // RFC 9795 §12: `rcd` claims may ride in another PASSporT type; the signature then
            // covers the caller's number and the RCD together (TR 33.790 solution 1).
            if let Some(rcd) = &req.rcd {
                let rcdi = rcdi_for(req, rcd, fetched)?;
                p.claims.rcd = Some(rcd.clone());
                p.claims.rcdi = (!rcdi.is_empty()).then_some(rcdi);
                p.claims.crn = req.crn.clone();
            }
            Ok(p)
        }
    }
}

/// The label of the signing note: what was signed, how, and where its certificate is.
fn signed_label(passport: &Passport, ppt: &str, x5u: &str) -> String {
    let attest = passport
        .claims
        .attest
        .map(|a| format!(", attestation {a}"))
        .unwrap_or_default();
    format!("sign PASSporT (ppt={ppt}{attest}) with ES256, x5u {x5u}")
}

/// A running STI-AS.
#[derive(Debug)]
pub struct StiAs {
    /// Its HTTPS server.
    pub server: Server,
}

struct Signer {
    ctx: Ctx,
    key: SigningKey,
    x5u: String,
    rng: Mutex<Rng>,
    client: Client,
}

impl Signer {
    async fn handle(&self, req: Request, peer: Peer) -> Response {
        if req.method != "POST" || req.target != SIGNING_PATH {
            return Response::text(
                404,
                format!("no such operation: {} {}", req.method, req.target),
            );
        }
        match self.sign(&req.body).await {
            Ok((request, passport, token)) => {
                self.note_signed(peer.msg, &passport, &token);
                self.respond(request, &passport, token)
            }
            Err(refusal) => {
                self.ctx.note(
                    peer.msg,
                    Note::refused(
                        Act::SignPassport,
                        refusal.reason(),
                        format!("refuse to sign: {refusal}"),
                    ),
                );
                refusal.response()
            }
        }
    }

    /// Parses the request, fetches what `rcdi` needs, builds and signs the PASSporT.
    async fn sign(&self, body: &[u8]) -> Result<(SigningRequest, Passport, String), Refusal> {
        let request = parse(body)?;
        let fetched = match &request.rcd {
            Some(rcd) if request.rcdi.is_none() => {
                crate::fetch_rcd_content(&self.client, rcd).await
            }
            _ => Fetched::new(),
        };
        // The seeded stream keeps origid reproducible; a poisoned lock still holds a valid Rng.
        let origid = self.rng.lock().unwrap_or_else(|p| p.into_inner()).uuid();
        let passport = passport_for(&request, &self.x5u, &origid, &fetched)?;
        let token = passport.sign(&self.key).map_err(Refusal::Signing)?;
        Ok((request, passport, token))
    }

    /// The trace: the signed PASSporT as a token, and the signing action.
    fn note_signed(&self, msg: Option<u64>, passport: &Passport, token: &str) {
        let ppt = ppt_of(passport);
        if let Ok(decoded) = stir::passport::decode(token) {
            self.ctx.note(
                msg,
                Note::Token {
                    label: format!("PASSporT signed (ppt={ppt})"),
                    header: decoded.header_json,
                    claims: decoded.claims_json,
                },
            );
        }
        self.ctx.note(
            msg,
            Note::done(Act::SignPassport, signed_label(passport, &ppt, &self.x5u)),
        );
    }

    /// The Ms signing response carrying the Identity header value.
    fn respond(&self, request: SigningRequest, passport: &Passport, token: String) -> Response {
        let header = IdentityHeader::new(token, &self.x5u, &ppt_of(passport)).to_header();
        json_response(
            200,
            &SigningResponseBody {
                signing_response: SigningResponse {
                    identity_header: header,
                    request_id: request.request_id,
                },
            },
        )
    }
}

/// The PASSporT's type as named in its header (`shaken` when absent).
fn ppt_of(passport: &Passport) -> String {
    passport
        .header
        .ppt
        .clone()
        .unwrap_or_else(|| "shaken".into())
}

/// Starts the STI-AS of the operator whose STI-SP certificate has `spc`, with its x5u pointing
/// at the repository `cr_host`.
pub async fn start(ctx: &Ctx, spc: &str, cr_host: &str) -> Result<StiAs, Error> {
    let pem = String::from_utf8_lossy(&fixtures::read(&format!("pki/sti-sp-{spc}.key.pem"))?)
        .into_owned();
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| Error::Pem {
        detail: e.to_string(),
    })?;
    let signer = Arc::new(Signer {
        ctx: ctx.clone(),
        key,
        x5u: crate::sti_cr::x5u(cr_host, spc),
        rng: Mutex::new(ctx.rng()),
        client: ctx.https_client(false)?,
    });
    let h = handler(move |req, peer| {
        let signer = signer.clone();
        async move { signer.handle(req, peer).await }
    });
    Ok(StiAs {
        server: ctx.https_server(h, ClientAuth::None).await?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use stir::{Dest, Orig};

    fn request() -> SigningRequest {
        SigningRequest {
            ppt: None,
            attest: Some(Attest::A),
            dest: Dest::tn("+12155551001"),
            iat: 1_772_442_000,
            orig: Orig::tn("+12025551000"),
            origid: None,
            rcd: None,
            rcdi: None,
            crn: None,
            request_id: None,
        }
    }

    #[test]
    fn shaken_by_default_with_the_given_origid() {
        let p = passport_for(&request(), "https://cr/x.pem", "uuid-1", &Fetched::new()).unwrap();
        assert_eq!(p.header.ppt.as_deref(), Some("shaken"));
        assert_eq!(p.claims.origid.as_deref(), Some("uuid-1"));
        assert_eq!(p.claims.attest, Some(Attest::A));
    }

    #[test]
    fn refusals() {
        let mut r = request();
        r.orig = Orig::default();
        assert_eq!(
            passport_for(&r, "x", "u", &Fetched::new()),
            Err(Refusal::MissingParameter("orig.tn or orig.uri"))
        );
        let mut r = request();
        r.ppt = Some("rcd".into());
        assert_eq!(
            passport_for(&r, "x", "u", &Fetched::new()),
            Err(Refusal::MissingParameter("rcd"))
        );
        let mut r = request();
        r.ppt = Some("rph".into());
        assert!(matches!(
            passport_for(&r, "x", "u", &Fetched::new()),
            Err(Refusal::InvalidParameter(_))
        ));
    }

    #[test]
    fn rcd_gets_rcdi_over_fetched_jcard() {
        let mut r = request();
        r.ppt = Some("rcd".into());
        r.rcd = Some(stir::Rcd {
            nam: Some("Q".into()),
            jcl: Some("https://id/j.json".into()),
            ..Default::default()
        });
        let refusal = passport_for(&r, "x", "u", &Fetched::new()).unwrap_err();
        assert!(
            matches!(
                &refusal,
                Refusal::Rcdi(stir::Error::RcdContentMissing { uri }) if uri == "https://id/j.json"
            ),
            "jCard not fetched: {refusal:?}"
        );
        assert_eq!(refusal.reason(), Reason::Unreachable);
        assert_eq!(refusal.response().status, 400);
        let mut fetched = Fetched::new();
        fetched.insert("https://id/j.json".into(), b"[]".to_vec());
        let p = passport_for(&r, "x", "u", &fetched).unwrap();
        assert_eq!(p.claims.rcdi.unwrap()["/jcl"], DigestAlg::Sha256.sri(b"[]"));
    }

    #[test]
    fn shaken_carries_rcd_claims_when_asked() {
        let mut r = request();
        r.rcd = Some(stir::Rcd {
            nam: Some("Q Branch".into()),
            ..Default::default()
        });
        let p = passport_for(&r, "x", "u", &Fetched::new()).unwrap();
        assert_eq!(p.header.ppt.as_deref(), Some("shaken"));
        assert_eq!(p.claims.attest, Some(Attest::A));
        assert_eq!(
            p.claims.rcd.as_ref().and_then(|c| c.nam.as_deref()),
            Some("Q Branch")
        );
        let plain = passport_for(&request(), "x", "u", &Fetched::new()).unwrap();
        assert!(plain.claims.rcd.is_none() && plain.claims.rcdi.is_none());
    }

    #[test]
    fn refusals_are_malformed_requests_with_their_ms_errors() {
        assert_eq!(parse(b""), Err(Refusal::EmptyBody));
        assert!(matches!(parse(b"{"), Err(Refusal::Unparsable(_))));
        for refusal in [
            Refusal::EmptyBody,
            Refusal::Unparsable("eof".into()),
            Refusal::MissingParameter("rcd"),
            Refusal::InvalidParameter("ppt \"rph\"".into()),
        ] {
            assert_eq!(refusal.reason(), Reason::Malformed, "{refusal}");
            assert_eq!(refusal.response().status, 400, "{refusal}");
        }
        let r = Refusal::InvalidParameter("ppt \"rph\"".into()).response();
        let body: stir::ms::ErrorBody = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body.error, r#"Invalid Parameter Value: ppt "rph""#);
        let key = Refusal::Signing(stir::Error::Key {
            detail: "bad".into(),
        });
        assert_eq!(key.reason(), Reason::Malformed);
        assert_eq!(key.response().status, 500);
    }

    #[test]
    fn signed_label_names_ppt_attestation_and_x5u() {
        let p = passport_for(&request(), "https://cr/x.pem", "u", &Fetched::new()).unwrap();
        assert_eq!(
            signed_label(&p, &ppt_of(&p), "https://cr/x.pem"),
            "sign PASSporT (ppt=shaken, attestation A) with ES256, x5u https://cr/x.pem"
        );
    }
}
