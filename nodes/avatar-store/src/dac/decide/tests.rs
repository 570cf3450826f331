#![allow(clippy::unwrap_used)]
use super::*;
use crate::testing::{NOW, XR_AS, keys, read, ue_key};
use avatar::attestation::LIFETIME;
use proto::trace::Reason;
use stir::Part;
use stir::jose::{b64u, b64u_decode};

const OTHER_XR_AS: &str = "xr-as.ims.mnc002.mcc001.3gppnetwork.org";

/// A UE's ephemeral key (from fixed bytes, as a UE draws it from its stream).
fn ue_epk(byte: u8) -> EphemeralKey {
    EphemeralKey::from_bytes([byte; 32]).unwrap()
}

fn claims(rendering: Rendering) -> Claims {
    Claims {
        avatar_id: "qbranch-agent".into(),
        xr_as: XR_AS.into(),
        rendering,
        epk_ue_a: (rendering == Rendering::UeACentric).then(|| ue_epk(0xa1).public_jwk()),
        epk_ue_b: (rendering == Rendering::UeBCentric).then(|| ue_epk(0xb1).public_jwk()),
        exp: NOW + LIFETIME,
    }
}

fn signed(claims: &Claims) -> String {
    attestation::sign(claims, &ue_key("ue-a"))
}

fn names(host: &str) -> Vec<String> {
    vec![host.to_owned()]
}

fn draw_for(n: u64) -> Draw {
    draw(&mut Rng::for_node(7, &format!("dac/obj{n}"))).unwrap()
}

#[test]
fn network_centric_returns_the_object() {
    let keys = keys();
    let att = signed(&claims(Rendering::NetworkCentric));
    let v = decide(&keys, &att, &names(XR_AS), NOW).unwrap();
    assert_eq!(v.delivery, Delivery::Object);
    assert_eq!(v.avatar.model.id, "qbranch-agent");
    assert_eq!(v.claims, claims(Rendering::NetworkCentric));
    let label = verified_label(&v);
    assert!(
        label.contains(XR_AS) && label.contains("network-centric"),
        "{label}"
    );
}

/// UE-A and UE-B centric: protected for the rendering UE's key, which opens it; nobody else's
/// key does.
#[test]
fn ue_centric_returns_a_protected_object_the_recipient_opens() {
    let keys = keys();
    for (rendering, party, own) in [
        (Rendering::UeACentric, Party::Caller, ue_epk(0xa1)),
        (Rendering::UeBCentric, Party::Callee, ue_epk(0xb1)),
    ] {
        let att = signed(&claims(rendering));
        let v = decide(&keys, &att, &names(XR_AS), NOW).unwrap();
        let Delivery::Protect {
            party: to,
            recipient,
        } = &v.delivery
        else {
            panic!("{:?}", v.delivery)
        };
        assert_eq!((*to, recipient), (party, &own.public_jwk()));
        let draw = draw_for(1);
        let (p, key) = protect(&v, recipient, &draw).unwrap();
        assert_eq!(p.epk, draw.key.public_jwk());
        assert_eq!(p.aad, "qbranch-agent");
        let (model, ue_key) = e2e::open(&p, &own).unwrap();
        assert_eq!(model, v.avatar.model);
        assert_eq!(ue_key.fingerprint(), key.fingerprint());
        // The XR AS (any other key) cannot open it.
        let e = e2e::open(&p, &ue_epk(0x33)).unwrap_err();
        assert_eq!(e.reason(), Reason::DecryptionFailed);
        let label = protected_label(&v, party, &key);
        assert!(
            label.contains(party_name(party))
                && label.contains(e2e::KDF)
                && label.contains(&key.fingerprint()),
            "{label}"
        );
    }
}

/// One refusal case: what, the attestation, the requester, the time, the expected reason and
/// status.
type Case = (&'static str, String, &'static str, i64, Reason, u16);

/// Each case is refused by [`decide`] with its reason and status.
fn assert_refused(cases: Vec<Case>) {
    let keys = keys();
    for (what, att, requester, now, reason, status) in cases {
        let e = decide(&keys, &att, &names(requester), now).unwrap_err();
        assert_eq!((e.reason(), e.status()), (reason, status), "{what}: {e}");
        assert!(refused_label(&e).starts_with("refuse avatar object request: "));
    }
}

/// Step 6's checks of a well-formed attestation: the requester, the expiry, the signature.
#[test]
fn another_xr_as_expired_or_forged_is_refused() {
    let good = claims(Rendering::UeACentric);
    let mut forged = signed(&good);
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (ok, late) = (NOW, NOW + LIFETIME + 1);
    assert_refused(vec![
        (
            "names another XR AS",
            signed(&good),
            OTHER_XR_AS,
            ok,
            Reason::NotAuthorised,
            403,
        ),
        ("expired", signed(&good), XR_AS, late, Reason::Expired, 403),
        (
            "forged signature",
            forged,
            XR_AS,
            ok,
            Reason::SignatureInvalid,
            403,
        ),
        (
            "signed by another UE's key",
            attestation::sign(&good, &ue_key("ue-m")),
            XR_AS,
            ok,
            Reason::SignatureInvalid,
            403,
        ),
    ]);
}

/// Attestations that do not carry what the DAC needs, or name no avatar it holds.
#[test]
fn malformed_keyless_or_unknown_is_refused() {
    let good = claims(Rendering::UeACentric);
    let no_key = Claims {
        epk_ue_a: None,
        ..good.clone()
    };
    let mut off_curve = good.clone();
    if let Some(jwk) = off_curve.epk_ue_a.as_mut() {
        let mut y = b64u_decode(&jwk.y, Part::Payload).unwrap();
        y[31] ^= 1;
        jwk.y = b64u(&y);
    }
    let dragon = Claims {
        avatar_id: "dragon".into(),
        ..good.clone()
    };
    let token = avatar::token::sign(
        &avatar::token::Claims::new("qbranch-agent", "sip:x", "c", NOW, "j"),
        &ue_key("ue-a"),
    );
    assert_refused(vec![
        (
            "no key for the rendering option",
            signed(&no_key),
            XR_AS,
            NOW,
            Reason::Malformed,
            403,
        ),
        (
            "the key is not a P-256 point",
            signed(&off_curve),
            XR_AS,
            NOW,
            Reason::Malformed,
            403,
        ),
        (
            "malformed",
            "e30.e30.".into(),
            XR_AS,
            NOW,
            Reason::Malformed,
            403,
        ),
        (
            "a token, not an attestation",
            token,
            XR_AS,
            NOW,
            Reason::Malformed,
            403,
        ),
        (
            "unknown avatar",
            signed(&dragon),
            XR_AS,
            NOW,
            Reason::NoRecord,
            404,
        ),
    ]);
}

#[test]
fn the_requester_is_the_certificate_name_the_attestation_names() {
    let keys = keys();
    let att = signed(&claims(Rendering::NetworkCentric));
    let two = vec!["other.example".to_owned(), XR_AS.to_owned()];
    assert!(decide(&keys, &att, &two, NOW).is_ok());
    let e = decide(&keys, &att, &[], NOW).unwrap_err();
    assert_eq!(e.reason(), Reason::NotAuthorised);
}

#[test]
fn requester_names_come_from_the_client_certificate() {
    let pem = read(&format!("pki/tls/{XR_AS}.pem"));
    let der = kit::tls::certs_from_pem(pem.as_bytes()).unwrap();
    assert_eq!(requester_names(Some(&der[0])).unwrap(), [XR_AS]);
    let e = requester_names(None).unwrap_err();
    assert_eq!((e.reason(), e.status()), (Reason::NotAuthorised, 403));
    let e = requester_names(Some(b"garbage")).unwrap_err();
    assert_eq!(e.reason(), Reason::NotAuthorised);
}

#[test]
fn a_body_that_is_no_object_request_is_malformed() {
    let ok = object_request(br#"{"attestation":"a.b.c"}"#).unwrap();
    assert_eq!(ok.attestation, "a.b.c");
    for body in [&b"{"[..], &b"{}"[..], &b"[]"[..], &b"\xff"[..]] {
        let e = object_request(body).unwrap_err();
        assert_eq!((e.reason(), e.status()), (Reason::Malformed, 400));
    }
}

#[test]
fn draws_are_seeded_per_object() {
    let (a, b) = (draw_for(1), draw_for(1));
    assert_eq!(a.key.public_jwk(), b.key.public_jwk());
    assert_eq!((a.salt, a.nonce), (b.salt, b.nonce));
    let c = draw_for(2);
    assert_ne!(a.key.public_jwk(), c.key.public_jwk());
    assert_ne!(a.salt, c.salt);
    // 32 key bytes, then 16 salt bytes and 12 nonce bytes, in that order.
    let mut rng = Rng::for_node(7, "dac/obj1");
    let words: Vec<[u8; 4]> = (0..15).map(|_| rng.u32().to_le_bytes()).collect();
    assert_eq!(a.salt.as_slice(), words[8..12].concat().as_slice());
    assert_eq!(a.nonce.as_slice(), words[12..15].concat().as_slice());
}
