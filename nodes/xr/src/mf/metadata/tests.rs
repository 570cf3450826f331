//! Tests of `mf::metadata`: the relay body and outcome, the acknowledgement, the verify-or-decode
//! decision, and the stop.
#![allow(clippy::unwrap_used)]
use super::*;

const DAC: &str = "dac.avatars.example";
const NOW: i64 = 1_772_442_000;

fn who() -> Who {
    Who {
        tn: "+12025551000".into(),
        call_id: "call-7".into(),
    }
}

fn signed_id() -> SignedAvatarId {
    SignedAvatarId {
        signed: "p.p.s".into(),
        avatar_id: "qbranch-agent".into(),
        app_id: "avatar-call".into(),
        impu: "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org".into(),
    }
}

fn text(relative: &str) -> String {
    String::from_utf8(kit::fixtures::read(relative).unwrap()).unwrap()
}

/// The metadata of `avatar_id` signed by the DAC at [`NOW`], valid for `lifetime` seconds.
fn signed_metadata(avatar_id: &str, lifetime: i64) -> String {
    let key = avatar::keys::signing_key_pem(&text(&format!("pki/tls/{DAC}.key.pem"))).unwrap();
    let der = crate::trust::dac_certificate().unwrap();
    let catalogue = avatar::Catalogue::load().unwrap();
    let metadata =
        avatar::metadata::Metadata::of(catalogue.get(avatar_id).unwrap(), DAC, NOW, lifetime);
    avatar::metadata::sign(&metadata, &key, &der).unwrap()
}

#[test]
fn the_relay_carries_the_token_and_the_signed_avatar_id() {
    let body = relay_body(&who(), "u.t.s".into(), Some(signed_id()));
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({
            "tn": "+12025551000",
            "call_id": "call-7",
            "ue_token": "u.t.s",
            "signed_avatar_id": {
                "signed": "p.p.s",
                "avatar_id": "qbranch-agent",
                "app_id": "avatar-call",
                "impu": "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org"
            }
        })
    );
    // Without one (no signed Avatar-id came with the channel): the XR AS decides.
    let bare = relay_body(&who(), "u.t.s".into(), None);
    assert_eq!(
        serde_json::to_string(&bare).unwrap(),
        r#"{"tn":"+12025551000","call_id":"call-7","ue_token":"u.t.s"}"#
    );
}

#[test]
fn the_xr_as_answers_to_the_relay_decided() {
    let accepted = Accepted {
        avatar_id: "qbranch-agent".into(),
        status: "rendering".into(),
    };
    let ok = json_response(200, &accepted);
    assert_eq!(
        relay_outcome(Ok(&ok)),
        Ok(Verdict::Accepted(accepted.clone()))
    );
    // A refusal with a problem is the XR AS's verdict: the relay got through.
    for status in [403, 502] {
        let refused = upstream::problem(status, Reason::NotAuthorised, "no certificate");
        let Ok(Verdict::Refused(p)) = relay_outcome(Ok(&refused)) else {
            panic!("{status}")
        };
        assert_eq!(p.reason, Reason::NotAuthorised);
    }
    // Not through: no answer, or an answer the MF cannot read.
    for unreadable in [Response::text(500, "boom"), Response::json(200, "[]")] {
        let p = relay_outcome(Ok(&unreadable)).unwrap_err();
        assert_eq!(p.reason, Reason::Unreachable, "{unreadable:?}");
    }
    let p = relay_outcome(Err(&kit::Error::Timeout { ms: 3000 })).unwrap_err();
    assert_eq!(p.reason, Reason::Timeout);

    // The UE's acknowledgement says which.
    let text = |o: &Result<Verdict, Problem>| match ack(o) {
        DcMessage::Ack { received } => received,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        text(&Ok(Verdict::Accepted(accepted))),
        "ue-token: rendering (qbranch-agent)"
    );
    let refused = Problem {
        reason: Reason::MissingIdentity,
        detail: "no signed Avatar-id".into(),
    };
    assert_eq!(
        text(&Ok(Verdict::Refused(refused.clone()))),
        "ue-token refused by the XR AS: missing-identity: no signed Avatar-id"
    );
    assert_eq!(
        text(&Err(refused)),
        "ue-token not relayed: missing-identity: no signed Avatar-id"
    );
}

#[test]
fn the_mf_verifies_or_decodes_the_metadata() {
    let jws = signed_metadata("qbranch-agent", avatar::metadata::LIFETIME);
    let cert = crate::trust::dac_certificate().unwrap();
    let model = |id: &str| {
        avatar::Catalogue::load()
            .unwrap()
            .get(id)
            .unwrap()
            .model
            .clone()
    };
    let tampered = avatar::metadata::tamper(&jws);
    let expired = signed_metadata("qbranch-agent", -1);
    // (metadata, the call's signed Avatar-id) → the model verified, or the reason.
    let verify_cases: [(&str, Option<&str>, Result<Taken, Reason>); 5] = [
        (
            &jws,
            Some("qbranch-agent"),
            Ok(Taken::Verified(model("qbranch-agent"))),
        ),
        (
            &tampered,
            Some("qbranch-agent"),
            Err(Reason::SignatureInvalid),
        ),
        (&expired, Some("qbranch-agent"), Err(Reason::Expired)),
        (&jws, Some("owl"), Err(Reason::ClaimMismatch)),
        (&jws, None, Err(Reason::MissingIdentity)),
    ];
    for (metadata, expected, want) in verify_cases {
        let got = take(metadata, Some(&cert), expected, NOW).map_err(|e| e.reason());
        assert_eq!(got, want, "{expected:?}");
    }
    // Without verification (the XR AS is trusted): decoded, even tampered or expired.
    assert_eq!(
        take(&jws, None, None, NOW),
        Ok(Taken::Decoded(model("qbranch-agent")))
    );
    let Ok(Taken::Decoded(m)) = take(&tampered, None, Some("qbranch-agent"), NOW) else {
        panic!("tampered metadata decodes")
    };
    assert_eq!(m.name, "Tampered Q-Branch agent");
    assert!(take(&expired, None, None, NOW).is_ok());
    let bad = take("not.a.jws", None, None, NOW).unwrap_err();
    assert!(matches!(bad, NotTaken::Undecodable(_)), "{bad:?}");
    assert_eq!(bad.reason(), Reason::Malformed);
}

#[test]
fn a_stopped_party_gets_no_more_frames() {
    let mut avatars = Avatars::new();
    assert!(sends_to(&[], Party::Callee) && sends_to(&[], Party::Caller));
    assert!(stop_party(&mut avatars, "c1", Party::Callee));
    assert!(!stop_party(&mut avatars, "c1", Party::Callee), "once");
    let stopped = avatars["c1"].stopped.clone();
    assert!(!sends_to(&stopped, Party::Callee));
    assert!(
        sends_to(&stopped, Party::Caller),
        "the caller still gets feedback"
    );
    assert!(stop_party(&mut avatars, "c2", Party::Callee), "per call");
}
