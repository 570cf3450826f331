//! STI-AS, the signing server (TS 24.229 Annex V.2 `POST /stir/v1/signing`; RFC 8588 for
//! `shaken`, RFC 9795 for `rcd`, the testbed's `avatar` for the signed Avatar-id). An IMS AS asks
//! it to sign; it answers with the Identity header value. TR 33.790 §6.2.2.2 steps 4–6
//! (§6.2.2.3 steps 3–5); §6.7.2.1 step 3 and NOTE 2 (choice `7-signed-avatar-id`).
//!
//! Only the clients the world authorises are served (mutual TLS, [`crate::MsClients`]); others
//! get a 403 and nothing is signed. What is signed is the signer's own in two respects: `iat`
//! comes from its clock, and `rcdi` is computed over the content it fetches itself from the
//! URIs the `rcd` claim names. A requester's `iat` or `rcdi` is set aside, and the trace says so
//! when it was sent and differs.

use std::collections::BTreeMap;
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

use crate::{MsClients, SpCert, ms_error, ms_error_status};

/// Why a signing request is refused: each answered with its Ms error (400), a 403 or a 500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The client is not one the world authorises to ask for signing.
    Unauthorised(String),
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
            Refusal::Unauthorised(why) => ms_error_status(403, "Forbidden", why),
            Refusal::EmptyBody => ms_error("Missing Request body", "empty"),
            Refusal::Unparsable(e) => ms_error("Failed To Parse Message Body", e),
            Refusal::MissingParameter(p) => ms_error("Missing Mandatory Parameter", p),
            Refusal::InvalidParameter(p) => ms_error("Invalid Parameter Value", p),
            Refusal::Rcdi(e) => ms_error("Invalid Parameter Value", e),
            Refusal::Signing(e) => Response::text(500, e.to_string()),
        }
    }

    /// Why, typed for the trace: a client the world does not authorise is
    /// [`Reason::NotAuthorised`]; content behind the RCD that could not be fetched is
    /// [`Reason::Unreachable`]; everything else is the request's (or signer's) malformation.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::Unauthorised(_) => Reason::NotAuthorised,
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
            Refusal::Unauthorised(why) => write!(f, "client not authorised: {why}"),
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

/// What the signer supplies itself, whatever the request says.
#[derive(Debug, Clone, Copy)]
pub struct Own<'a> {
    /// Where its certificate is (`x5u`).
    pub x5u: &'a str,
    /// The `origid` used when the request has none.
    pub origid: &'a str,
    /// `iat`: its clock's now.
    pub iat: i64,
    /// The content behind the `rcd` claim's URIs, as it fetched it, for `rcdi`.
    pub fetched: &'a Fetched,
}

/// The `rcdi` to sign: computed over the content the signer fetched (never the requester's).
fn rcdi_for(rcd: &stir::Rcd, fetched: &Fetched) -> Result<BTreeMap<String, String>, Refusal> {
    rcd::compute_rcdi(rcd, fetched, DigestAlg::Sha256).map_err(Refusal::Rcdi)
}

/// Builds the PASSporT a signing request asks for, with the signer's own `iat` and `rcdi`
/// ([`Own`]); `own.origid` is used when the request has none. Pure.
pub fn passport_for(req: &SigningRequest, own: &Own<'_>) -> Result<Passport, Refusal> {
    if req.orig.tn.is_none() && req.orig.uri.is_none() {
        return Err(Refusal::MissingParameter("orig.tn or orig.uri"));
    }
    if req.dest.tn.as_ref().is_none_or(Vec::is_empty)
        && req.dest.uri.as_ref().is_none_or(Vec::is_empty)
    {
        return Err(Refusal::MissingParameter("dest.tn or dest.uri"));
    }
    match ppt_asked(req)? {
        Ppt::Avatar => avatar_passport(req, own),
        Ppt::Rcd => {
            let rcd = req.rcd.clone().ok_or(Refusal::MissingParameter("rcd"))?;
            let rcdi = Some(rcdi_for(&rcd, own.fetched)?);
            let (orig, dest) = (req.orig.clone(), req.dest.clone());
            let mut p = Passport::rcd(own.x5u, orig, dest, own.iat, rcd, rcdi);
            p.claims.crn = req.crn.clone();
            Ok(p)
        }
        _ => {
            let attest = req.attest.unwrap_or(Attest::C);
            let origid = req.origid.clone().unwrap_or_else(|| own.origid.to_owned());
            let mut p = Passport::shaken(
                own.x5u,
                attest,
                req.orig.clone(),
                req.dest.clone(),
                own.iat,
                &origid,
            );
            // RFC 9795 §12: `rcd` claims may ride in another PASSporT type; the signature then
            // covers the caller's number and the RCD together (TR 33.790 solution 1).
            if let Some(rcd) = &req.rcd {
                let rcdi = rcdi_for(rcd, own.fetched)?;
                p.claims.rcd = Some(rcd.clone());
                p.claims.rcdi = (!rcdi.is_empty()).then_some(rcdi);
                p.claims.crn = req.crn.clone();
            }
            Ok(p)
        }
    }
}

/// The PASSporT type a request asks for (`shaken` when it names none); an `avatar` claim comes
/// only with `ppt: "avatar"`, so it is never silently left unsigned.
fn ppt_asked(req: &SigningRequest) -> Result<Ppt, Refusal> {
    let ppt = match req.ppt.as_deref() {
        None | Some("shaken") => Ppt::Shaken,
        Some("rcd") => Ppt::Rcd,
        Some("avatar") => Ppt::Avatar,
        Some(other) => return Err(Refusal::InvalidParameter(format!("ppt {other:?}"))),
    };
    if ppt != Ppt::Avatar && req.avatar.is_some() {
        return Err(Refusal::InvalidParameter(format!(
            "avatar: signed only with ppt \"avatar\", not {:?}",
            ppt.as_str()
        )));
    }
    Ok(ppt)
}

/// The signed Avatar-id (TR 33.790 §6.7.2.1 step 3 and NOTE 2; choice `7-signed-avatar-id`):
/// an `avatar` PASSporT over the caller, the callee, the signer's `iat` and the well-formed
/// `avatar` claim the request carries. It signs no RCD: a request with `rcd` is refused.
fn avatar_passport(req: &SigningRequest, own: &Own<'_>) -> Result<Passport, Refusal> {
    let avatar = req
        .avatar
        .clone()
        .ok_or(Refusal::MissingParameter("avatar"))?;
    avatar
        .check()
        .map_err(|fault| Refusal::InvalidParameter(format!("avatar: {fault}")))?;
    if req.rcd.is_some() {
        return Err(Refusal::InvalidParameter(
            "rcd: not signed in an avatar PASSporT".into(),
        ));
    }
    let (orig, dest) = (req.orig.clone(), req.dest.clone());
    Ok(Passport::avatar(own.x5u, orig, dest, own.iat, avatar))
}

/// What the requester sent that the signer set aside (its `iat`, when it differs from the
/// signer's clock; its `rcdi`, always), for the trace; `None` when it sent nothing of the kind.
/// Pure.
pub fn set_aside(req: &SigningRequest, passport: &Passport) -> Option<String> {
    let mut parts = Vec::new();
    if req.iat != passport.claims.iat {
        parts.push(format!(
            "the requester's iat {} set aside: iat {} from the STI-AS clock",
            req.iat, passport.claims.iat
        ));
    }
    if let Some(given) = &req.rcdi {
        let same = passport.claims.rcdi.as_ref() == Some(given);
        parts.push(format!(
            "the requester's rcdi set aside ({}): rcdi computed over the content the STI-AS fetched",
            if same { "it matched" } else { "it differed" }
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The label of the signing note: what was signed, how, and where its certificate is.
fn signed_label(passport: &Passport, ppt: &str, x5u: &str) -> String {
    let attest = passport
        .claims
        .attest
        .map(|a| format!(", attestation {a}"))
        .unwrap_or_default();
    let avatar = passport
        .claims
        .avatar
        .as_ref()
        .map(|a| format!(", Avatar-id {} for {} by {}", a.id, a.app, a.impu))
        .unwrap_or_default();
    format!("sign PASSporT (ppt={ppt}{attest}{avatar}) with ES256, x5u {x5u}")
}

/// A running STI-AS.
#[derive(Debug)]
pub struct StiAs {
    /// Its HTTPS server.
    pub server: Server,
}

/// How an STI-AS is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The certificate (and key) it signs with; its x5u is that chain at the STI-CR.
    pub cert: SpCert,
    /// Host of the STI-CR serving the chain.
    pub cr_host: String,
    /// The clients it signs for.
    pub clients: MsClients,
}

struct Signer {
    ctx: Ctx,
    key: SigningKey,
    x5u: String,
    clients: MsClients,
    rng: Mutex<Rng>,
    client: Client,
}

impl Signer {
    async fn handle(&self, req: Request, peer: Peer) -> Response {
        // Who asks comes first: an unauthorised client learns nothing, not even a 404.
        let signed = match self.authorise(&peer) {
            Err(refusal) => Err(refusal),
            Ok(()) if req.method != "POST" || req.target != SIGNING_PATH => {
                return Response::text(
                    404,
                    format!("no such operation: {} {}", req.method, req.target),
                );
            }
            Ok(()) => self.sign(&req.body).await,
        };
        match signed {
            Ok((request, passport, token)) => {
                self.note_signed(peer.msg, &request, &passport, &token);
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

    /// Only the clients the world authorises are served (Ms client authentication).
    fn authorise(&self, peer: &Peer) -> Result<(), Refusal> {
        self.clients
            .authorise(peer.certificate.as_deref())
            .map(|_host| ())
            .map_err(|refusal| Refusal::Unauthorised(self.clients.refusal_text(&refusal)))
    }

    /// Parses the request, fetches what `rcdi` covers, builds and signs the PASSporT with the
    /// signer's own `iat` and `rcdi`.
    async fn sign(&self, body: &[u8]) -> Result<(SigningRequest, Passport, String), Refusal> {
        let request = parse(body)?;
        // An avatar PASSporT signs no RCD (a request with one is refused): nothing to fetch.
        let fetched = match &request.rcd {
            Some(rcd) if request.ppt.as_deref() != Some(Ppt::Avatar.as_str()) => {
                crate::fetch_rcd_content(&self.client, rcd).await
            }
            _ => Fetched::new(),
        };
        // The seeded stream keeps origid reproducible; a poisoned lock still holds a valid Rng.
        let origid = self.rng.lock().unwrap_or_else(|p| p.into_inner()).uuid();
        let own = Own {
            x5u: &self.x5u,
            origid: &origid,
            iat: self.ctx.clock.now(),
            fetched: &fetched,
        };
        let passport = passport_for(&request, &own)?;
        let token = passport.sign(&self.key).map_err(Refusal::Signing)?;
        Ok((request, passport, token))
    }

    /// The trace: what the requester sent that was set aside, the signed PASSporT as a token,
    /// and the signing action.
    fn note_signed(
        &self,
        msg: Option<u64>,
        request: &SigningRequest,
        passport: &Passport,
        token: &str,
    ) {
        if let Some(detail) = set_aside(request, passport) {
            self.ctx.note(msg, Note::pass(OWN_VALUES_CHECK, detail));
        }
        let ppt = ppt_of(passport);
        // The decoded token is for the trace only: a tap keeping no records would drop it.
        let decoded = self
            .ctx
            .tap
            .keeps_records()
            .then(|| stir::passport::decode(token));
        if let Some(Ok(decoded)) = decoded {
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

/// The name of the check noted when the signer set aside a requester's `iat` or `rcdi`.
pub const OWN_VALUES_CHECK: &str = "iat and rcdi are the signer's own";

/// Starts an STI-AS signing with `config.cert` (x5u at the STI-CR `config.cr_host`) for the
/// clients `config.clients`, over mutual TLS (a client without a certificate of the world's TLS
/// CA fails the handshake; one whose certificate names another host gets a 403).
pub async fn start(ctx: &Ctx, config: Config) -> Result<StiAs, Error> {
    let pem = String::from_utf8_lossy(&fixtures::read(&config.cert.key_path())?).into_owned();
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| Error::Pem {
        detail: e.to_string(),
    })?;
    let signer = Arc::new(Signer {
        ctx: ctx.clone(),
        key,
        x5u: crate::sti_cr::x5u(&config.cr_host, &config.cert),
        clients: config.clients,
        rng: Mutex::new(ctx.rng()),
        client: ctx.https_client(true)?,
    });
    let h = handler(move |req, peer| {
        let signer = signer.clone();
        async move { signer.handle(req, peer).await }
    });
    Ok(StiAs {
        server: ctx.https_server(h, ClientAuth::Required).await?,
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
            iat: NOW,
            orig: Orig::tn("+12025551000"),
            origid: None,
            rcd: None,
            rcdi: None,
            crn: None,
            avatar: None,
            request_id: None,
        }
    }

    const NOW: i64 = 1_772_442_000;

    fn own<'a>(x5u: &'a str, origid: &'a str, fetched: &'a Fetched) -> Own<'a> {
        Own {
            x5u,
            origid,
            iat: NOW,
            fetched,
        }
    }

    fn passport_for(
        r: &SigningRequest,
        x5u: &str,
        origid: &str,
        f: &Fetched,
    ) -> Result<Passport, Refusal> {
        super::passport_for(r, &own(x5u, origid, f))
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
    fn iat_and_rcdi_are_the_signers_whatever_the_requester_says() {
        let mut r = request();
        r.ppt = Some("rcd".into());
        r.iat = NOW - 3600;
        r.rcd = Some(stir::Rcd {
            nam: Some("Q".into()),
            jcl: Some("https://id/j.json".into()),
            ..Default::default()
        });
        let forged: BTreeMap<String, String> = [(
            "/jcl".to_owned(),
            DigestAlg::Sha256.sri(b"what the requester claims"),
        )]
        .into();
        r.rcdi = Some(forged.clone());
        let mut fetched = Fetched::new();
        fetched.insert("https://id/j.json".into(), b"[]".to_vec());
        let p = passport_for(&r, "x", "u", &fetched).unwrap();
        assert_eq!(p.claims.iat, NOW, "the signer's clock");
        let rcdi = p.claims.rcdi.clone().unwrap();
        assert_eq!(
            rcdi["/jcl"],
            DigestAlg::Sha256.sri(b"[]"),
            "over what it fetched"
        );
        assert_ne!(Some(&forged), p.claims.rcdi.as_ref());
        let said = set_aside(&r, &p).unwrap();
        assert!(
            said.contains("iat 1772438400 set aside: iat 1772442000"),
            "{said}"
        );
        assert!(said.contains("rcdi set aside (it differed)"), "{said}");
        // Nothing sent that differs: nothing to say.
        let plain = request();
        let p = passport_for(&plain, "x", "u", &Fetched::new()).unwrap();
        assert_eq!(set_aside(&plain, &p), None);
    }

    fn avatar_request() -> SigningRequest {
        let mut r = request();
        r.ppt = Some("avatar".into());
        r.attest = None;
        r.avatar = Some(stir::AvatarClaim::new(
            "qbranch-agent",
            "avatar-call",
            "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org",
        ));
        r
    }

    #[test]
    fn avatar_requests_sign_the_avatar_claim() {
        let p = passport_for(&avatar_request(), "https://cr/x.pem", "u", &Fetched::new()).unwrap();
        assert_eq!(p.header.ppt.as_deref(), Some("avatar"));
        assert_eq!(p.claims.iat, NOW);
        assert_eq!(p.claims.avatar, avatar_request().avatar);
        assert!(p.claims.attest.is_none() && p.claims.origid.is_none());
        assert_eq!(
            signed_label(&p, &ppt_of(&p), "https://cr/x.pem"),
            "sign PASSporT (ppt=avatar, Avatar-id qbranch-agent for avatar-call by \
             sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org) with ES256, x5u https://cr/x.pem"
        );
    }

    #[test]
    fn avatar_refusals() {
        let refused = |r: &SigningRequest| passport_for(r, "x", "u", &Fetched::new()).unwrap_err();
        let mut r = avatar_request();
        r.avatar = None;
        assert_eq!(refused(&r), Refusal::MissingParameter("avatar"));
        let mut r = avatar_request();
        if let Some(a) = r.avatar.as_mut() {
            a.impu = "+12025551000".into();
        }
        assert!(matches!(refused(&r), Refusal::InvalidParameter(p) if p.starts_with("avatar:")));
        let mut r = avatar_request();
        r.rcd = Some(stir::Rcd::default());
        assert!(matches!(refused(&r), Refusal::InvalidParameter(p) if p.starts_with("rcd:")));
        // An avatar claim is never dropped from another PASSporT type.
        let mut r = avatar_request();
        r.ppt = None;
        assert!(matches!(refused(&r), Refusal::InvalidParameter(p) if p.starts_with("avatar:")));
        r.ppt = Some("rcd".into());
        assert!(matches!(refused(&r), Refusal::InvalidParameter(_)));
        assert_eq!(refused(&r).reason(), Reason::Malformed);
    }

    #[test]
    fn an_unauthorised_client_is_refused_with_403() {
        let refusal = Refusal::Unauthorised("only as.ims.example may ask".into());
        assert_eq!(refusal.reason(), Reason::NotAuthorised);
        assert_eq!(refusal.response().status, 403);
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
