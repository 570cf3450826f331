//! Solution #7 step 7 over real HTTPS: the XR AS gets an access token from the NEF with the
//! signed Avatar-id (verified by a stand-in IMS AS) and the UE token; a client that is not an
//! authorised XR AS, a UE token whose certificate is not the one SIP announced and a signed
//! Avatar-id the IMS AS rejects are refused with their RFC 6749 errors and typed reasons.

use std::sync::{Arc, Mutex};

use avatar::access_token;
use avatar::ue_token::{self, UeTokenClaims};
use avatar::wire::{
    AvatarIdCheck, AvatarIdVerdict, FORM_TYPE, TOKEN_PATH, TokenError, TokenRequest, TokenResponse,
    VERIFY_AVATAR_ID_PATH,
};
use kit::fixtures;
use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, HostTable, json_response};
use kit::tap::Tap;
use nef::NefConfig;
use nef::oauth::{CHECK_SIGNED_ID, CHECK_UE_TOKEN};
use proto::trace::{Act, Body, Note, Outcome, Reason};

use super::{AS_O, NEF, NOW, UE_A, ctx};

const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const DAC: &str = "dac.avatars.example";
const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
const APP: &str = "avatar-call";
/// Signed Avatar-ids the stand-in IMS AS knows: good, good but with UE-B's fingerprint, forged.
const SID_GOOD: &str = "sid.good.x";
const SID_OTHER_CERT: &str = "sid.other-cert.x";
const SID_FORGED: &str = "sid.forged.x";

fn text(relative: &str) -> String {
    String::from_utf8(fixtures::read(relative).unwrap()).unwrap()
}

fn der(relative: &str) -> Vec<u8> {
    avatar::cert::der_from_pem(&text(relative)).unwrap()
}

fn ue_a_token() -> String {
    let key = avatar::keys::signing_key_pem(&text("pki/ue/ue-a.key.pem")).unwrap();
    let claims = UeTokenClaims::new(UE_A, XR_AS, CALL, NOW);
    ue_token::sign(&claims, &key, &der("pki/ue/ue-a.pem")).unwrap()
}

/// A stand-in originating IMS AS: its verdict on the signed Avatar-ids above, and what it was
/// asked.
async fn stand_in_as(
    hosts: &Arc<HostTable>,
    tap: &Tap,
) -> (Server, Arc<Mutex<Vec<AvatarIdCheck>>>) {
    let asked = Arc::new(Mutex::new(Vec::<AvatarIdCheck>::new()));
    let seen = asked.clone();
    let server = ctx("as-o", AS_O, hosts, tap)
        .https_server(
            handler(move |req: Request, _peer: Peer| {
                let seen = seen.clone();
                async move {
                    assert_eq!(req.target, VERIFY_AVATAR_ID_PATH);
                    let check: AvatarIdCheck = serde_json::from_slice(&req.body).unwrap();
                    seen.lock().unwrap().push(check.clone());
                    let fp = |ue: &str| ue_token::fingerprint(&der(&format!("pki/ue/{ue}.pem")));
                    let verdict = match check.signed_avatar_id.as_str() {
                        SID_GOOD => AvatarIdVerdict::valid(UE_A, "qbranch-agent", APP, &fp("ue-a")),
                        SID_OTHER_CERT => {
                            AvatarIdVerdict::valid(UE_A, "qbranch-agent", APP, &fp("ue-b"))
                        }
                        _ => AvatarIdVerdict::invalid(
                            Reason::SignatureInvalid,
                            "signature does not verify",
                        ),
                    };
                    json_response(200, &verdict)
                }
            }),
            ClientAuth::Required,
        )
        .await
        .unwrap();
    (server, asked)
}

async fn ask(client: &Client, signed_avatar_id: &str) -> Response {
    let form = TokenRequest::read(signed_avatar_id, &ue_a_token(), APP).to_form();
    let req = Request {
        method: "POST".into(),
        target: format!("https://{NEF}{TOKEN_PATH}"),
        headers: vec![("content-type".into(), FORM_TYPE.into())],
        body: form.into(),
    };
    client.send(req).await.unwrap()
}

fn error(r: &Response, status: u16) -> TokenError {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn the_xr_as_gets_an_access_token_for_a_verified_avatar_id_and_ue_token() {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let (as_server, asked) = stand_in_as(&hosts, &tap).await;
    hosts.add(AS_O, as_server.local_addr());
    let server = nef::start(&ctx("nef-o", NEF, &hosts, &tap), NefConfig::load().unwrap())
        .await
        .unwrap();
    hosts.add(NEF, server.local_addr());
    let xr_as = ctx("xr-as-o", XR_AS, &hosts, &tap)
        .https_client(true)
        .unwrap();

    // The grant: an RFC 9068 access token the DAC validates with the NEF's certificate.
    let r = ask(&xr_as, SID_GOOD).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let granted: TokenResponse = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (
            granted.token_type.as_str(),
            granted.expires_in,
            granted.scope.as_str()
        ),
        ("Bearer", 300, "avatar-metadata:read")
    );
    let nef_cert = der(&format!("pki/tls/{NEF}.pem"));
    let claims =
        access_token::validate(&granted.access_token, &nef_cert, DAC, "qbranch-agent", NOW)
            .unwrap();
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.impu.as_str(),
            claims.app_id.as_str(),
            claims.iss.as_str()
        ),
        (XR_AS, UE_A, APP, NEF)
    );
    assert_eq!(
        asked.lock().unwrap()[0],
        AvatarIdCheck {
            signed_avatar_id: SID_GOOD.into(),
            app_id: APP.into()
        }
    );

    // Not an authorised XR AS (the IMS AS itself asks).
    let ims_as = ctx("as-o", AS_O, &hosts, &tap).https_client(true).unwrap();
    let e = error(&ask(&ims_as, SID_GOOD).await, 403);
    assert_eq!(
        (e.error.as_str(), e.reason),
        ("unauthorized_client", Some(Reason::NotAuthorised))
    );
    // The UE token's certificate is not the one SIP announced.
    let e = error(&ask(&xr_as, SID_OTHER_CERT).await, 400);
    assert_eq!(
        (e.error.as_str(), e.reason),
        ("invalid_grant", Some(Reason::ClaimMismatch))
    );
    // The IMS AS rejects the signed Avatar-id.
    let e = error(&ask(&xr_as, SID_FORGED).await, 400);
    assert_eq!(
        (e.error.as_str(), e.reason),
        ("invalid_grant", Some(Reason::SignatureInvalid))
    );
    assert_eq!(
        asked.lock().unwrap().len(),
        3,
        "the unauthorised client never reached the IMS AS"
    );

    notes(&tap);
}

fn notes(tap: &Tap) {
    let notes: Vec<Note> = tap
        .records()
        .into_iter()
        .filter(|r| r.node == "nef-o")
        .filter_map(|r| match r.body {
            Body::Note { note, .. } => Some(note),
            _ => None,
        })
        .collect();
    let actions: Vec<(Act, Outcome)> = notes.iter().filter_map(Note::action).collect();
    assert_eq!(
        actions,
        [
            (Act::IssueToken, Outcome::Done),
            (Act::IssueToken, Outcome::Refused(Reason::NotAuthorised)),
            (Act::IssueToken, Outcome::Refused(Reason::ClaimMismatch)),
            (Act::IssueToken, Outcome::Refused(Reason::SignatureInvalid)),
        ]
    );
    let checks: Vec<(&str, bool, Option<Reason>)> = notes
        .iter()
        .filter_map(|n| match n {
            Note::Check {
                name,
                passed,
                reason,
                ..
            } => Some((name.as_str(), *passed, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        checks,
        [
            (CHECK_SIGNED_ID, true, None),
            (CHECK_UE_TOKEN, true, None),
            (CHECK_SIGNED_ID, true, None),
            (CHECK_UE_TOKEN, false, Some(Reason::ClaimMismatch)),
            (CHECK_SIGNED_ID, false, Some(Reason::SignatureInvalid)),
        ]
    );
    let issued = notes.iter().any(|n| matches!(n, Note::Token { header, claims, .. } if header["typ"] == "at+jwt" && claims["aud"] == DAC));
    assert!(issued, "the access token issued is noted");
}
