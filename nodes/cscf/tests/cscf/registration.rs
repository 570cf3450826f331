//! Authenticated registration: the S-CSCF challenges with the credential it fetched from the
//! HSS, a right answer registers (and the P-CSCF binds the flow), a wrong one is refused, and
//! the HSS hands credentials to its S-CSCF only.

use kit::http::Request;
use proto::trace::{Act, Outcome, Reason};
use proto::wire::sh::auth_path;

use super::{HSS, UE_A, world};

#[tokio::test]
async fn challenge_answer_register() {
    let w = world().await;
    assert_eq!(w.ue_a.register().await.unwrap(), 200);
    assert_eq!(
        w.acts("scscf-o"),
        [
            (Act::ChallengeUser, Outcome::Done),
            (Act::RegisterUser, Outcome::Done)
        ]
    );
    assert_eq!(w.acts("ue-a"), [(Act::AnswerDigest, Outcome::Done)]);
    assert_eq!(w.acts("pcscf-o"), [(Act::BindFlow, Outcome::Done)]);
    let bind = &w.actions("pcscf-o")[0].2;
    assert!(
        bind.starts_with(&format!(
            "bind {UE_A} to the flow it registered on (UDP 127.0.0.1:"
        )),
        "{bind}"
    );
    assert!(
        w.acts("hss-o").is_empty(),
        "the S-CSCF is served without a note"
    );

    // On the wire: REGISTER naming the private identity, 401 with a SHA-256 challenge, the
    // answer in the same registration attempt, 200 with the Service-Route.
    let sent: Vec<(String, String)> = w
        .tap
        .records()
        .into_iter()
        .filter(|r| r.node == "ue-a")
        .filter_map(|r| match r.body {
            proto::trace::Body::Sent { message, .. } => Some((message.summary, message.raw)),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].1.contains(r#"Authorization: Digest username="+12025551000@ims.mnc001.mcc001.3gppnetwork.org", realm="ims.mnc001.mcc001.3gppnetwork.org", uri="sip:ims.mnc001.mcc001.3gppnetwork.org", nonce="", response="""#));
    assert!(sent[1].1.contains("CSeq: 2 REGISTER"));
    assert!(sent[1].1.contains("algorithm=SHA-256, cnonce="));
    let received: Vec<String> = w
        .tap
        .records()
        .into_iter()
        .filter(|r| r.node == "ue-a")
        .filter_map(|r| match r.body {
            proto::trace::Body::Received { message, .. } => Some(message.raw),
            _ => None,
        })
        .collect();
    assert!(received[0].starts_with("SIP/2.0 401 Unauthorized"));
    assert!(received[0].contains(
        r#"WWW-Authenticate: Digest realm="ims.mnc001.mcc001.3gppnetwork.org", nonce=""#
    ));
    assert!(received[0].contains(r#"algorithm=SHA-256, qop="auth""#));
    assert!(received[1].starts_with("SIP/2.0 200 OK"));
    assert!(
        received[1]
            .contains("Service-Route: <sip:scscf.ims.mnc001.mcc001.3gppnetwork.org;lr;orig>")
    );
}

#[tokio::test]
async fn no_or_wrong_credentials_refused() {
    let w = world().await;
    // UE-M registers as UE-A without credentials: the challenge is the answer.
    assert_eq!(w.ue_m.register_as(UE_A, None).await.unwrap(), 401);
    // With a wrong password: 403.
    assert_eq!(w.ue_m.register_as(UE_A, Some("guess")).await.unwrap(), 403);
    assert_eq!(
        w.acts("scscf-o"),
        [
            (Act::ChallengeUser, Outcome::Done),
            (Act::ChallengeUser, Outcome::Done),
            (
                Act::RegisterUser,
                Outcome::Refused(Reason::SignatureInvalid)
            )
        ]
    );
    assert_eq!(w.acts("ue-m"), [(Act::AnswerDigest, Outcome::Done)]);
    assert!(w.acts("pcscf-o").is_empty(), "no flow bound");

    // An unknown private identity: refused at once.
    let nobody = "sip:+19995550000@ims.mnc001.mcc001.3gppnetwork.org";
    assert_eq!(w.ue_m.register_as(nobody, Some("x")).await.unwrap(), 403);
    assert_eq!(
        w.acts("scscf-o")[3],
        (Act::RegisterUser, Outcome::Refused(Reason::NotSubscribed))
    );

    // UE-M's own (right) credentials do not register UE-A's identity.
    let own = ue::UeConfig {
        impu: UE_A.into(),
        ..super::ue_config(super::UE_M, "fixture-secret-ue-m")
    };
    let m2 = ue::Ue::start(&w.ctx("ue-m2", "ue-m2.test"), own)
        .await
        .unwrap();
    assert_eq!(m2.register().await.unwrap(), 403);
    assert_eq!(
        w.acts("scscf-o")[4],
        (Act::RegisterUser, Outcome::Refused(Reason::NotAuthorised))
    );
}

#[tokio::test]
async fn credentials_only_for_the_s_cscf() {
    let w = world().await;
    let url = format!(
        "https://{HSS}{}",
        auth_path("+12025551000@ims.mnc001.mcc001.3gppnetwork.org")
    );
    let pcscf = w.ctx("pcscf-o", super::PCSCF);
    let answer = pcscf
        .https_client(true)
        .unwrap()
        .send(Request::get(url))
        .await
        .unwrap();
    assert_eq!(answer.status, 403);
    assert_eq!(
        w.acts("hss-o"),
        [(
            Act::ServeCredential,
            Outcome::Refused(Reason::NotAuthorised)
        )]
    );
}
