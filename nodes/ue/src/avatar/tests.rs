#![allow(clippy::unwrap_used, clippy::expect_used)]

use ::avatar::e2e::EphemeralKey;
use ::avatar::{attestation, token};
use proto::trace::Reason;
use proto::wire::avatar::{DcMessage, Jwk, Rendering};

use super::object::{kind, session_key};
use super::*;

const IMPU: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
const EARLIER: &str = "earlier-call-7@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const NOW: i64 = 1_772_442_000;

fn ue_key(ue: &str) -> p256::ecdsa::SigningKey {
    crate::ue_signing_key(ue).unwrap()
}

fn plan(forgery: TokenForgery) -> TokenPlan {
    TokenPlan {
        avatar_id: "qbranch-agent".into(),
        forgery,
    }
}

fn expected(session: &str) -> token::Expected<'_> {
    token::Expected {
        avatar_id: "qbranch-agent",
        session,
        owner_impu: IMPU,
        now: NOW + 1,
    }
}

fn epk(byte: u8) -> Jwk {
    EphemeralKey::from_bytes([byte; 32]).unwrap().public_jwk()
}

fn att_plan(rendering: Rendering) -> AttestationPlan {
    AttestationPlan {
        avatar_id: "qbranch-agent".into(),
        rendering,
        xr_as: XR_AS.into(),
        expired: false,
        forged_signature: false,
        peer_key: None,
    }
}

#[test]
fn token_plans_give_their_claims() {
    let honest = token_claims(&plan(TokenForgery::None), IMPU, CALL, NOW, "j1");
    assert_eq!(
        honest,
        token::Claims::new("qbranch-agent", IMPU, CALL, NOW, "j1")
    );
    assert_eq!(honest.exp, NOW + token::LIFETIME);
    let bad = token_claims(&plan(TokenForgery::BadSignature), IMPU, CALL, NOW, "j1");
    assert_eq!(bad, honest, "only the signature is altered");
    let replay = token_claims(
        &plan(TokenForgery::OtherSession(EARLIER.into())),
        IMPU,
        CALL,
        NOW,
        "j1",
    );
    assert_eq!(replay.call_id, EARLIER);
}

#[test]
fn an_honest_token_verifies_and_each_forgery_fails_as_meant() {
    let key = ue_key("ue-a");
    let vk = *key.verifying_key();
    let claims = token_claims(&plan(TokenForgery::None), IMPU, CALL, NOW, "j1");
    let honest = token::sign(&claims, &key);
    assert!(token::verify(&honest, &vk, &expected(CALL)).is_ok());
    // Altered signature bytes: still decodes, never verifies.
    let forged = alter_signature(&honest);
    assert_ne!(forged, honest);
    assert_eq!(
        token::decode(&forged).unwrap(),
        token::decode(&honest).unwrap()
    );
    let e = token::verify(&forged, &vk, &expected(CALL)).unwrap_err();
    assert_eq!(e.reason(), Reason::SignatureInvalid);
    // Made for an earlier session: replayed in this one.
    let replay = token_claims(
        &plan(TokenForgery::OtherSession(EARLIER.into())),
        IMPU,
        CALL,
        NOW,
        "j1",
    );
    let e = token::verify(&token::sign(&replay, &key), &vk, &expected(CALL)).unwrap_err();
    assert_eq!(e.reason(), Reason::Replayed);
    // Signed with another UE's key (the foreign key attack).
    let foreign = token::sign(&claims, &ue_key("ue-m"));
    let e = token::verify(&foreign, &vk, &expected(CALL)).unwrap_err();
    assert_eq!(e.reason(), Reason::SignatureInvalid);
}

#[test]
fn altering_leaves_what_is_not_a_jws_alone() {
    assert_eq!(alter_signature("no-dots"), "no-dots");
    assert_eq!(alter_signature("a.b."), "a.b.");
    assert_eq!(alter_signature("a.b.!!"), "a.b.!!");
}

#[test]
fn attestation_plans_give_the_table_claims() {
    let net = attestation_claims(&att_plan(Rendering::NetworkCentric), None, NOW).unwrap();
    assert_eq!((net.epk_ue_a.clone(), net.epk_ue_b.clone()), (None, None));
    assert_eq!(net.exp, NOW + attestation::LIFETIME);
    assert_eq!(net.xr_as, XR_AS);
    // UE-A centric carries UE-A's own ephemeral key, and needs it.
    let a = attestation_claims(&att_plan(Rendering::UeACentric), Some(epk(3)), NOW).unwrap();
    assert_eq!((a.epk_ue_a, a.epk_ue_b), (Some(epk(3)), None));
    assert!(matches!(
        attestation_claims(&att_plan(Rendering::UeACentric), None, NOW),
        Err(AvatarError::NoEphemeralKey)
    ));
    // UE-B centric carries UE-B's, from the plan.
    let b_plan = AttestationPlan {
        peer_key: Some(epk(4)),
        ..att_plan(Rendering::UeBCentric)
    };
    let b = attestation_claims(&b_plan, Some(epk(3)), NOW).unwrap();
    assert_eq!((b.epk_ue_a, b.epk_ue_b), (None, Some(epk(4))));
    assert!(matches!(
        attestation_claims(&att_plan(Rendering::UeBCentric), None, NOW),
        Err(AvatarError::NoEphemeralKey)
    ));
    let expired = AttestationPlan {
        expired: true,
        ..att_plan(Rendering::NetworkCentric)
    };
    let old = attestation_claims(&expired, None, NOW).unwrap();
    assert!(old.exp < NOW);
}

#[test]
fn attestation_threats_fail_at_the_dac_as_meant() {
    let key = ue_key("ue-a");
    let vk = *key.verifying_key();
    let claims = attestation_claims(&att_plan(Rendering::NetworkCentric), None, NOW).unwrap();
    let att = attestation::sign(&claims, &key);
    assert!(attestation::verify(&att, &vk, XR_AS, NOW).is_ok());
    let e = attestation::verify(&alter_signature(&att), &vk, XR_AS, NOW).unwrap_err();
    assert_eq!(e.reason(), Reason::SignatureInvalid);
    let expired = AttestationPlan {
        expired: true,
        ..att_plan(Rendering::NetworkCentric)
    };
    let old = attestation::sign(&attestation_claims(&expired, None, NOW).unwrap(), &key);
    let e = attestation::verify(&old, &vk, XR_AS, NOW).unwrap_err();
    assert_eq!(e.reason(), Reason::Expired);
}

#[test]
fn the_session_key_matches_the_dacs_and_a_bad_salt_is_malformed() {
    let (dac, ue) = (
        EphemeralKey::from_bytes([1; 32]).unwrap(),
        EphemeralKey::from_bytes([2; 32]).unwrap(),
    );
    let model = ::avatar::Catalogue::load()
        .unwrap()
        .get("qbranch-agent")
        .unwrap()
        .model
        .clone();
    let (p, dac_key) = ::avatar::e2e::protect(
        &model,
        &dac,
        &ue.public_jwk(),
        [9; 16],
        [8; 12],
        Rendering::UeACentric,
    )
    .unwrap();
    assert_eq!(
        session_key(&ue, &p).unwrap().fingerprint(),
        dac_key.fingerprint()
    );
    let bad = proto::wire::avatar::Protected {
        salt: "!".into(),
        ..p
    };
    assert_eq!(
        session_key(&ue, &bad).unwrap_err().reason(),
        Reason::Malformed
    );
}

#[test]
fn message_kinds_are_their_json_types() {
    let messages = [
        DcMessage::KeyRequest,
        DcMessage::EphemeralKey { jwk: epk(5) },
        DcMessage::AvatarToken { token: "t".into() },
        DcMessage::Ack {
            received: "x".into(),
        },
    ];
    for m in messages {
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["type"], kind(&m));
    }
}

#[test]
fn seeded_hex_reads_as_32_bytes() {
    let hex = "00".repeat(31) + "ff";
    let mut want = [0u8; 32];
    want[31] = 0xff;
    assert_eq!(bytes32(&hex), Some(want));
    assert_eq!(bytes32("abc"), None);
    assert_eq!(bytes32(&"zz".repeat(32)), None);
}
