#![allow(clippy::unwrap_used)]
use super::*;
use crate::testing::{CALL, NOW, UE_A, ue_key};
use proto::trace::Reason;

const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";
const UE_X: &str = "sip:+12025551999@ims.mnc001.mcc001.3gppnetwork.org";
const O: &str = "ims.mnc001.mcc001.3gppnetwork.org";
const T: &str = "ims.mnc002.mcc001.3gppnetwork.org";
const AS_O: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const HOST: &str = "aos.avatars.example";

fn config(domain: &str) -> AosConfig {
    AosConfig::from_fixtures(
        domain,
        vec![format!("as.{domain}")],
        vec![format!("sti-as.{domain}")],
    )
    .unwrap()
}

fn ask(impu: &str, avatar_id: Option<&str>, peer: &str) -> AvatarLookup {
    AvatarLookup {
        impu: impu.into(),
        avatar_id: avatar_id.map(str::to_owned),
        peer_impu: peer.into(),
        call_id: CALL.into(),
    }
}

fn get(avatar_id: &str) -> ObjectRequest {
    ObjectRequest {
        avatar_id: avatar_id.into(),
        call_id: CALL.into(),
    }
}

fn proof(ue: &str, sub: &str, avatar_id: &str, call: &str, iat: i64) -> String {
    aos_request::sign(
        &aos_request::Claims::new(sub, avatar_id, call, iat),
        &ue_key(ue),
    )
}

#[test]
fn routes_by_method_and_path() {
    assert_eq!(route("POST", AOS_LOOKUP_PATH), Route::Lookup);
    assert_eq!(
        route("GET", AOS_LOOKUP_PATH),
        Route::WrongMethod { allow: "POST" }
    );
    let target = format!("{AOS_OBJECT_PREFIX}qbranch-agent?call={}", pct(CALL));
    assert_eq!(
        route("GET", &target),
        Route::Object(Ok(get("qbranch-agent")))
    );
    assert_eq!(route("PUT", &target), Route::WrongMethod { allow: "GET" });
    for other in [
        "/",
        "/aos/v1/objects/",
        "/aos/v1/objects/a/b",
        "/aos/v1/other",
    ] {
        assert_eq!(route("GET", other), Route::NotFound, "{other}");
    }
    for (target, fault) in [
        ("/aos/v1/objects/owl", TargetFault::NoCall),
        ("/aos/v1/objects/owl?call=", TargetFault::NoCall),
        ("/aos/v1/objects/owl?session=1", TargetFault::NoCall),
        ("/aos/v1/objects/o%zzl?call=1", TargetFault::BadEscape),
        ("/aos/v1/objects/owl?call=%FF", TargetFault::BadEscape),
    ] {
        let Route::Object(Err(r)) = route("GET", target) else {
            panic!("{target}");
        };
        assert_eq!(r, Refusal::BadTarget { fault }, "{target}");
        assert_eq!((r.reason(), r.status()), (Reason::Malformed, 400));
    }
}

#[test]
fn domains_of_impus() {
    assert_eq!(domain_of(UE_A), Some(O));
    assert_eq!(
        domain_of("sip:+1@ims.example;user=phone"),
        Some("ims.example")
    );
    assert_eq!(domain_of("<sips:u@h.example:5061>"), Some("h.example"));
    assert_eq!(domain_of("tel:+12025551000"), None);
    assert_eq!(domain_of("sip:u@"), None);
}

#[test]
fn only_the_operators_ims_as_may_look_up() {
    let der = |host: &str| {
        let pem = crate::testing::read(&format!("pki/tls/{host}.pem"));
        kit::tls::certs_from_pem(pem.as_bytes()).unwrap().remove(0)
    };
    let hosts = vec![AS_O.to_owned()];
    assert_eq!(as_client(Some(&der(AS_O)), &hosts).unwrap(), AS_O);
    let e = as_client(Some(&der("mf.ims.mnc001.mcc001.3gppnetwork.org")), &hosts).unwrap_err();
    assert!(matches!(e, Refusal::NotAnAs { .. }), "{e}");
    assert_eq!((e.reason(), e.status()), (Reason::NotAuthorised, 403));
    let e = as_client(None, &hosts).unwrap_err();
    assert!(matches!(e, Refusal::NoClientIdentity { .. }), "{e}");
    assert_eq!((e.reason(), e.status()), (Reason::NotAuthorised, 403));
    let e = lookup_body(b"{").unwrap_err();
    assert_eq!((e.reason(), e.status()), (Reason::Malformed, 400));
}

#[test]
fn a_lookup_answers_the_named_avatar_or_the_default_and_the_tuple() {
    let o = config(O);
    let named = lookup(&o, HOST, &ask(UE_A, Some("qbranch-cat"), UE_B)).unwrap();
    assert_eq!(named.data.avatar_id, "qbranch-cat");
    assert_eq!(named.data.name, "Q-Branch cat");
    assert!(!named.default);
    let default = lookup(&o, HOST, &ask(UE_A, None, UE_B)).unwrap();
    assert!(default.default);
    let object = o.objects.get("qbranch-agent").unwrap();
    assert_eq!(
        default.data,
        AvatarData {
            avatar_id: "qbranch-agent".into(),
            name: "Q-Branch agent".into(),
            object_url: "https://aos.avatars.example/aos/v1/objects/qbranch-agent".into(),
            digest: crate::aos::records::digest(&object.bytes),
            policy: "repeat".into(),
        }
    );
    assert_eq!(
        default.tuple,
        Tuple {
            call_id: CALL.into(),
            owner_impu: UE_A.into(),
            peer_impu: UE_B.into(),
            avatar_id: "qbranch-agent".into(),
            policy: Policy::Repeat,
            fetches: 0,
        }
    );
    let label = authorised_label(&default);
    assert!(label.contains("qbranch-agent (its default)"), "{label}");
    // UE-B at its own operator's AOS: policy once.
    let t = config(T);
    let b = lookup(&t, HOST, &ask(UE_B, Some("owl"), UE_A)).unwrap();
    assert_eq!(
        (b.data.policy.as_str(), b.tuple.policy),
        ("once", Policy::Once)
    );
}

/// Every refusal of steps 2 and 12, in the order the checks run.
#[test]
fn each_lookup_refusal_has_its_reason() {
    let o = config(O);
    let cases = [
        (
            "another operator's subscriber",
            ask(UE_B, None, UE_A),
            Reason::NoRecord,
            404,
        ),
        ("no record", ask(UE_X, None, UE_A), Reason::NoRecord, 404),
        (
            "not a SIP URI",
            ask("tel:+12025551000", None, UE_B),
            Reason::NoRecord,
            404,
        ),
        (
            "not authorised to use avatars",
            ask(UE_M, Some("shark"), UE_A),
            Reason::NotEntitled,
            403,
        ),
        (
            "someone else's avatar",
            ask(UE_A, Some("owl"), UE_B),
            Reason::ClaimMismatch,
            403,
        ),
        (
            "no such avatar",
            ask(UE_A, Some("dragon"), UE_B),
            Reason::ClaimMismatch,
            403,
        ),
    ];
    for (what, request, reason, status) in cases {
        let e = lookup(&o, HOST, &request).unwrap_err();
        assert_eq!((e.reason(), e.status()), (reason, status), "{what}: {e}");
        let label = refused_lookup_label(Some(&request), &e);
        assert!(label.starts_with("refuse avatar lookup for"), "{label}");
    }
    // A subscriber authorised to use avatars but without any.
    let mut o = o;
    o.subscribers = crate::aos::records::Subscribers::from_toml(&format!(
        "[[subscriber]]\nimpu = \"{UE_X}\"\navatars = true\npolicy = \"once\"\n"
    ))
    .unwrap();
    let e = lookup(&o, HOST, &ask(UE_X, None, UE_A)).unwrap_err();
    assert!(matches!(e, Refusal::NoAvatarObject { .. }), "{e}");
    assert_eq!((e.reason(), e.status()), (Reason::NoRecord, 404));
}

#[test]
fn a_good_proof_verifies() {
    let keys = config(O).directory.check(NOW);
    let p = proof("ue-b", UE_B, "qbranch-agent", CALL, NOW);
    let claims = verify_proof(&keys, &get("qbranch-agent"), &p, NOW + 10).unwrap();
    assert_eq!(claims.sub, UE_B);
}

/// Every refusal of the proof, with its reason.
#[test]
fn each_proof_refusal_has_its_reason() {
    let keys = config(O).directory.check(NOW);
    let good = proof("ue-b", UE_B, "qbranch-agent", CALL, NOW);
    let cases = [
        ("malformed", "a.b".to_owned(), NOW, Reason::Malformed),
        (
            "signed by UE-M's key",
            proof("ue-m", UE_B, "qbranch-agent", CALL, NOW),
            NOW,
            Reason::SignatureInvalid,
        ),
        (
            "for another avatar",
            proof("ue-b", UE_B, "qbranch-cat", CALL, NOW),
            NOW,
            Reason::ClaimMismatch,
        ),
        (
            "for another call",
            proof("ue-b", UE_B, "qbranch-agent", "call-0@x", NOW),
            NOW,
            Reason::ClaimMismatch,
        ),
        ("stale", good.clone(), NOW + 301, Reason::Expired),
        (
            "no UE certificate names sub",
            proof("ue-b", "sip:nobody@x", "qbranch-agent", CALL, NOW),
            NOW,
            Reason::CertificateInvalid,
        ),
    ];
    for (what, p, now, reason) in cases {
        let e = verify_proof(&keys, &get("qbranch-agent"), &p, now).unwrap_err();
        assert_eq!((e.reason(), e.status()), (reason, 403), "{what}: {e}");
        let label = refused_fetch_label(Some(&get("qbranch-agent")), &e);
        assert!(
            label.starts_with("refuse avatar object qbranch-agent"),
            "{label}"
        );
    }
}

/// Step 21's tuple: the peer fetches within the policy, a stranger does not.
#[test]
fn fetches_follow_the_tuple_and_its_policy() {
    let o = config(O);
    let granted = lookup(&o, HOST, &ask(UE_A, None, UE_B)).unwrap();
    let mut tuples = Tuples::default();
    tuples.register(granted.tuple.clone());
    let claims = |sub: &str| aos_request::Claims::new(sub, "qbranch-agent", CALL, NOW);
    // Repeat: every fetch, counted; the bytes are those the digest covers.
    for n in 1..=2 {
        let s = fetch(&o.objects, &mut tuples, &claims(UE_B)).unwrap();
        assert_eq!(s.tuple.fetches, n);
        assert_eq!(
            crate::aos::records::digest(&s.object.bytes),
            granted.data.digest
        );
        let label = served_label(&s);
        assert!(
            label.contains(&format!("fetch {n} (policy repeat)")),
            "{label}"
        );
    }
    // UE-M fetching UE-A's avatar: not the other party.
    let e = fetch(&o.objects, &mut tuples, &claims(UE_M)).unwrap_err();
    assert_eq!((e.reason(), e.status()), (Reason::NotAuthorised, 403));
    // Once: the second fetch is a replay.
    let t = config(T);
    let granted = lookup(&t, HOST, &ask(UE_B, None, UE_A)).unwrap();
    tuples.register(granted.tuple);
    let claims = aos_request::Claims::new(UE_A, "owl", CALL, NOW);
    let s = fetch(&t.objects, &mut tuples, &claims).unwrap();
    assert_eq!(
        served_label(&s).rsplit(": ").next(),
        Some("fetch 1 of 1 (policy once)")
    );
    let e = fetch(&t.objects, &mut tuples, &claims).unwrap_err();
    assert_eq!((e.reason(), e.status()), (Reason::Replayed, 403));
}
