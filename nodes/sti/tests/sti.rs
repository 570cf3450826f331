//! The STIR/SHAKEN network functions over real HTTPS on loopback: only the operator's IMS AS
//! may ask the STI-AS to sign and the STI-VS to verify (mutual TLS, others 403 or no
//! handshake); the STI-AS signs with its own `iat` and `rcdi`; the STI-VS refuses a revoked
//! certificate (the CRL from the STI-CA's repository, fetched once and cached) and one whose
//! TNAuthList does not cover the caller; the signed Avatar-id (`ppt` `avatar`) goes over Ms both
//! ways, the verification giving the verified `avatar` claim back; and every hostile Identity
//! header of `fixtures/hostile/passports.toml` gets the answer the table gives it (`hostile`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "sti/hostile.rs"]
mod hostile;

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, HostTable};
use kit::tap::Tap;
use proto::clock::Clock;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use sti::{MsClients, SpCert, sti_as, sti_cr, sti_repo, sti_vs};
use stir::ms::{
    SIGNING_PATH, SigningRequest, SigningRequestBody, SigningResponseBody, VERIFICATION_PATH,
    VerificationRequest, VerificationRequestBody, VerificationResponseBody,
};
use stir::{Attest, AvatarClaim, Dest, DigestAlg, Orig, Rcd};

const NOW: i64 = 1_772_442_000;
const AS_O: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const AS_T: &str = "as.ims.mnc002.mcc001.3gppnetwork.org";
const PBX: &str = "pbx.enterprise.example";
const STI_AS: &str = "sti-as.ims.mnc001.mcc001.3gppnetwork.org";
/// A second signer (another certificate), on the other operator's STI-AS host.
const STI_AS_2: &str = "sti-as.ims.mnc002.mcc001.3gppnetwork.org";
const STI_VS: &str = "sti-vs.ims.mnc002.mcc001.3gppnetwork.org";
const STI_CR: &str = "sti-cr.ims.mnc001.mcc001.3gppnetwork.org";
const REPO: &str = "certs.sti.example";
const ID3P: &str = "id.enterprise.example";
const JCL: &str = "https://id.enterprise.example/jcards/q-branch.json";
const JCARD: &[u8] = br#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch"]]]"#;
const UE_A: &str = "+12025551000";
const UE_B: &str = "+12155551001";

struct World {
    tap: Tap,
    hosts: Arc<HostTable>,
    servers: Vec<Server>,
}

impl World {
    fn ctx(&self, id: &str, host: &str) -> Ctx {
        self.hosts.ctx(id, host, &self.tap, Clock::Fixed(NOW), 7)
    }

    fn serve(&mut self, host: &str, server: Server) {
        self.hosts.add(host, server.local_addr());
        self.servers.push(server);
    }

    /// The repository, the STI-CR with every chain, the jCard host, the STI-AS (1001) and the
    /// STI-VS; each Ms server serves only its operator's IMS AS.
    async fn start() -> World {
        let mut w = World {
            tap: Tap::new(),
            hosts: Arc::new(HostTable::default()),
            servers: Vec::new(),
        };
        let server = sti_repo::start(&w.ctx("sti-repo", REPO)).await.unwrap();
        w.serve(REPO, server);
        let certs = [
            SpCert::of_spc("1001"),
            SpCert::revoked(),
            SpCert::wrong_tn(),
        ];
        let server = sti_cr::start(&w.ctx("sti-cr-o", STI_CR), &certs)
            .await
            .unwrap();
        w.serve(STI_CR, server);
        let jcards = handler(|req: Request, _peer: Peer| async move {
            match req.target.as_str() {
                "/jcards/q-branch.json" => Response::json(200, JCARD),
                _ => Response::text(404, "no"),
            }
        });
        let server = w
            .ctx("id3p", ID3P)
            .https_server(jcards, ClientAuth::None)
            .await
            .unwrap();
        w.serve(ID3P, server);
        w.signer(STI_AS, "sti-as-o", SpCert::of_spc("1001")).await;
        let config = sti_vs::Config::new(MsClients::new([AS_T]));
        let vs = sti_vs::start(&w.ctx("sti-vs-t", STI_VS), config)
            .await
            .unwrap();
        w.serve(STI_VS, vs.server);
        w
    }

    /// An STI-AS at `host` signing with `cert`, for the originating IMS AS only.
    async fn signer(&mut self, host: &str, id: &str, cert: SpCert) {
        let config = sti_as::Config {
            cert,
            cr_host: STI_CR.into(),
            clients: MsClients::new([AS_O]),
        };
        let sti_as = sti_as::start(&self.ctx(id, host), config).await.unwrap();
        self.serve(host, sti_as.server);
    }

    /// An HTTPS client of `host`, presenting its TLS certificate when `mutual`.
    fn client(&self, host: &str, mutual: bool) -> Client {
        self.ctx("client", host).https_client(mutual).unwrap()
    }

    fn notes(&self, node: &str) -> Vec<Note> {
        self.tap
            .records()
            .into_iter()
            .filter(|r| r.node == node)
            .filter_map(|r| match r.body {
                Body::Note { note, .. } => Some(note),
                _ => None,
            })
            .collect()
    }

    fn actions(&self, node: &str) -> Vec<(Act, Outcome)> {
        self.notes(node).iter().filter_map(Note::action).collect()
    }

    /// How many requests `node` received whose summary starts with `start`.
    fn received(&self, node: &str, start: &str) -> usize {
        self.tap
            .records()
            .iter()
            .filter(|r| r.node == node)
            .filter(|r| matches!(&r.body, Body::Received { message, .. } if message.summary.starts_with(start)))
            .count()
    }
}

fn shaken() -> SigningRequest {
    SigningRequest {
        ppt: None,
        attest: Some(Attest::A),
        dest: Dest::tn(UE_B),
        iat: NOW,
        orig: Orig::tn(UE_A),
        origid: None,
        rcd: None,
        rcdi: None,
        crn: None,
        avatar: None,
        request_id: None,
    }
}

async fn post(client: &Client, host: &str, path: &str, body: Vec<u8>) -> Response {
    client
        .send(Request::post_json(format!("https://{host}{path}"), body))
        .await
        .unwrap()
}

/// The Identity header value the STI-AS at `host` signs for `request`.
async fn sign(client: &Client, host: &str, request: SigningRequest) -> Response {
    let body = SigningRequestBody {
        signing_request: request,
    };
    post(
        client,
        host,
        SIGNING_PATH,
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

fn identity(response: &Response) -> String {
    assert_eq!(
        response.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    let body: SigningResponseBody = serde_json::from_slice(&response.body).unwrap();
    body.signing_response.identity_header
}

async fn verify(client: &Client, shaken: String, others: Vec<String>) -> Response {
    let body = VerificationRequestBody {
        verification_request: VerificationRequest {
            identity_header: shaken,
            identity_headers: others,
            from: stir::ms::MsParty {
                tn: Some(UE_A.into()),
                uri: None,
            },
            to: stir::ms::MsParty {
                tn: Some(UE_B.into()),
                uri: None,
            },
            time: NOW,
            request_id: None,
        },
    };
    post(
        client,
        STI_VS,
        VERIFICATION_PATH,
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

fn verdict(response: &Response) -> VerificationResponseBody {
    assert_eq!(response.status, 200);
    serde_json::from_slice(&response.body).unwrap()
}

/// The failed checks the STI-VS noted: (name, reason, code).
fn failed_checks(w: &World) -> Vec<(String, Option<Reason>, Option<u16>)> {
    w.notes("sti-vs-t")
        .into_iter()
        .filter_map(|n| match n {
            Note::Check {
                name,
                passed: false,
                reason,
                code,
                ..
            } => Some((name, reason, code)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn only_the_operators_ims_as_may_ask_for_signing() {
    let w = World::start().await;
    // Another NF of the world (a valid TLS certificate, another name): 403, nothing signed.
    let pbx = w.client(PBX, true);
    let refused = sign(&pbx, STI_AS, shaken()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        w.actions("sti-as-o"),
        [(Act::SignPassport, Outcome::Refused(Reason::NotAuthorised))]
    );
    assert!(
        !w.notes("sti-as-o")
            .iter()
            .any(|n| matches!(n, Note::Token { .. }))
    );
    // No client certificate: the handshake fails.
    let anonymous = w.client(AS_O, false);
    let body = SigningRequestBody {
        signing_request: shaken(),
    };
    let sent = anonymous
        .send(Request::post_json(
            format!("https://{STI_AS}{SIGNING_PATH}"),
            serde_json::to_vec(&body).unwrap(),
        ))
        .await;
    assert!(sent.is_err(), "{sent:?}");
    assert_eq!(w.actions("sti-as-o").len(), 1, "nothing more was signed");
    // The operator's IMS AS is served.
    let as_o = w.client(AS_O, true);
    identity(&sign(&as_o, STI_AS, shaken()).await);
    assert_eq!(w.actions("sti-as-o")[1], (Act::SignPassport, Outcome::Done));
}

#[tokio::test]
async fn only_the_terminating_ims_as_may_ask_for_verification() {
    let w = World::start().await;
    let header = identity(&sign(&w.client(AS_O, true), STI_AS, shaken()).await);
    // The originating AS is not the STI-VS's client.
    let refused = verify(&w.client(AS_O, true), header.clone(), Vec::new()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        w.actions("sti-vs-t"),
        [(Act::VerifyIdentity, Outcome::Refused(Reason::NotAuthorised))]
    );
    let passed = verdict(&verify(&w.client(AS_T, true), header, Vec::new()).await);
    assert_eq!(
        passed.verification_response.verstat_value,
        "TN-Validation-Passed"
    );
    assert_eq!(
        w.actions("sti-vs-t")[1],
        (Act::VerifyIdentity, Outcome::Done)
    );
}

#[tokio::test]
async fn the_signer_sets_iat_and_computes_rcdi_itself() {
    let w = World::start().await;
    let forged: BTreeMap<String, String> =
        [("/jcl".to_owned(), DigestAlg::Sha256.sri(b"another card"))].into();
    let request = SigningRequest {
        ppt: Some("rcd".into()),
        attest: None,
        iat: NOW - 3600,
        rcd: Some(Rcd {
            nam: Some("Q Branch".into()),
            jcl: Some(JCL.into()),
            ..Rcd::default()
        }),
        rcdi: Some(forged),
        ..shaken()
    };
    let header = identity(&sign(&w.client(AS_O, true), STI_AS, request).await);
    let id = stir::IdentityHeader::parse(&header).unwrap();
    let claims = stir::passport::decode(&id.jws).unwrap().passport.claims;
    assert_eq!(claims.iat, NOW);
    assert_eq!(
        claims.rcdi.unwrap()["/jcl"],
        DigestAlg::Sha256.sri(JCARD),
        "over the jCard the STI-AS fetched"
    );
    assert_eq!(w.received("id3p", "GET /jcards/q-branch.json"), 1);
    let own = w.notes("sti-as-o").into_iter().find_map(|n| match n {
        Note::Check {
            name,
            passed,
            detail,
            ..
        } if name == sti_as::OWN_VALUES_CHECK => Some((passed, detail)),
        _ => None,
    });
    let (passed, detail) = own.expect("the signer says it set the requester's values aside");
    assert!(passed);
    assert!(detail.contains("rcdi set aside (it differed)"), "{detail}");
    // Its RCD verifies intact at the STI-VS (which fetches the same jCard).
    let shaken_header = identity(&sign(&w.client(AS_O, true), STI_AS, shaken()).await);
    let v = verdict(&verify(&w.client(AS_T, true), shaken_header, vec![header]).await);
    let statuses: Vec<&str> = v
        .verification_response
        .verify_results
        .iter()
        .map(|r| r.verify_result.status.as_str())
        .collect();
    assert_eq!(statuses, ["pass", "pass"]);
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_and_the_crl_is_fetched_once() {
    let mut w = World::start().await;
    w.signer(STI_AS_2, "sti-as-2", SpCert::revoked()).await;
    let (as_o, as_t) = (w.client(AS_O, true), w.client(AS_T, true));
    let revoked = identity(&sign(&as_o, STI_AS_2, shaken()).await);
    let v = verdict(&verify(&as_t, revoked, Vec::new()).await);
    let r = &v.verification_response;
    assert_eq!(r.verstat_value, "TN-Validation-Failed");
    assert_eq!(r.verify_results[0].verify_result.reason_code, Some(438));
    assert_eq!(
        failed_checks(&w),
        [(
            "shaken: certificate not revoked (CRL)".to_owned(),
            Some(Reason::Revoked),
            Some(438)
        )]
    );
    assert_eq!(
        w.actions("sti-vs-t"),
        [(Act::VerifyIdentity, Outcome::Refused(Reason::Revoked))]
    );
    // The good certificate passes; the CRL came from the repository once and is cached.
    let good = identity(&sign(&as_o, STI_AS, shaken()).await);
    let v = verdict(&verify(&as_t, good, Vec::new()).await);
    assert_eq!(
        v.verification_response.verstat_value,
        "TN-Validation-Passed"
    );
    assert_eq!(w.received("sti-repo", "GET /crl/sti-ica.crl"), 1);
}

#[tokio::test]
async fn a_certificate_whose_tn_auth_list_misses_the_caller_is_438() {
    let mut w = World::start().await;
    w.signer(STI_AS_2, "sti-as-2", SpCert::wrong_tn()).await;
    let header = identity(&sign(&w.client(AS_O, true), STI_AS_2, shaken()).await);
    let v = verdict(&verify(&w.client(AS_T, true), header, Vec::new()).await);
    let r = &v.verification_response;
    assert_eq!(r.verstat_value, "TN-Validation-Failed");
    assert_eq!(r.verify_results[0].verify_result.reason_code, Some(438));
    assert_eq!(
        failed_checks(&w),
        [(
            "shaken: TNAuthList covers orig".to_owned(),
            Some(Reason::NotEntitled),
            Some(438)
        )]
    );
    assert_eq!(
        w.actions("sti-vs-t"),
        [(Act::VerifyIdentity, Outcome::Refused(Reason::NotEntitled))]
    );
}

const IMPU_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

/// The signed Avatar-id UE-A asks for (TR 33.790 §6.7.2.1 step 3 and NOTE 2).
fn avatar_request() -> SigningRequest {
    SigningRequest {
        ppt: Some("avatar".into()),
        attest: None,
        avatar: Some(AvatarClaim::new("qbranch-agent", "avatar-call", IMPU_A)),
        ..shaken()
    }
}

#[tokio::test]
async fn a_signed_avatar_id_goes_over_ms_both_ways() {
    let w = World::start().await;
    let as_o = w.client(AS_O, true);
    let header = identity(&sign(&as_o, STI_AS, avatar_request()).await);
    assert!(header.ends_with(";ppt=\"avatar\""), "{header}");
    let id = stir::IdentityHeader::parse(&header).unwrap();
    let decoded = stir::passport::decode(&id.jws).unwrap();
    assert_eq!(decoded.header_json["ppt"], "avatar");
    assert_eq!(decoded.claims_json["avatar"]["id"], "qbranch-agent");
    assert_eq!(decoded.claims_json["iat"], NOW);
    assert_eq!(w.actions("sti-as-o"), [(Act::SignPassport, Outcome::Done)]);

    // Alone: the STI-VS verifies it and gives the claim back; no caller-number verdict.
    let as_t = w.client(AS_T, true);
    let v = verdict(&verify(&as_t, header.clone(), Vec::new()).await);
    let r = &v.verification_response;
    assert_eq!(r.verstat_value, "No-TN-Validation");
    assert_eq!(r.verify_results[0].verify_result.ppt, "avatar");
    assert_eq!(r.verify_results[0].verify_result.status, "pass");
    assert_eq!(
        r.avatar(),
        Some(AvatarClaim::new("qbranch-agent", "avatar-call", IMPU_A))
    );
    assert_eq!(
        w.actions("sti-vs-t"),
        [(Act::VerifyIdentity, Outcome::Done)]
    );
    assert!(failed_checks(&w).is_empty(), "{:?}", failed_checks(&w));

    // Beside the caller's `shaken` PASSporT: both pass, the number is validated.
    let shaken_header = identity(&sign(&as_o, STI_AS, shaken()).await);
    let v = verdict(&verify(&as_t, shaken_header, vec![header]).await);
    let r = &v.verification_response;
    assert_eq!(r.verstat_value, "TN-Validation-Passed");
    let statuses: Vec<(&str, &str)> = r
        .verify_results
        .iter()
        .map(|e| {
            (
                e.verify_result.ppt.as_str(),
                e.verify_result.status.as_str(),
            )
        })
        .collect();
    assert_eq!(statuses, [("shaken", "pass"), ("avatar", "pass")]);
    assert_eq!(r.avatar().map(|a| a.id), Some("qbranch-agent".into()));
}

#[tokio::test]
async fn a_signed_avatar_id_needs_its_claim_and_a_signer_entitled_to_the_caller() {
    let mut w = World::start().await;
    let as_o = w.client(AS_O, true);
    // No avatar claim: refused as a malformed request, nothing signed.
    let mut request = avatar_request();
    request.avatar = None;
    let refused = sign(&as_o, STI_AS, request).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        w.actions("sti-as-o"),
        [(Act::SignPassport, Outcome::Refused(Reason::Malformed))]
    );
    // Signed with a certificate whose TNAuthList misses the caller: 438, no claim back.
    w.signer(STI_AS_2, "sti-as-2", SpCert::wrong_tn()).await;
    let header = identity(&sign(&as_o, STI_AS_2, avatar_request()).await);
    let v = verdict(&verify(&w.client(AS_T, true), header, Vec::new()).await);
    let r = &v.verification_response;
    assert_eq!(r.verify_results[0].verify_result.reason_code, Some(438));
    assert_eq!(r.avatar(), None);
    assert_eq!(
        failed_checks(&w),
        [(
            "avatar: TNAuthList covers orig".to_owned(),
            Some(Reason::NotEntitled),
            Some(438)
        )]
    );
    assert_eq!(
        w.actions("sti-vs-t"),
        [(Act::VerifyIdentity, Outcome::Refused(Reason::NotEntitled))]
    );
}
