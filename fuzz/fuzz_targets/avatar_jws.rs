//! Avatar communication (nodes/avatar): the avatar token (solution #5), the UE-A attestation and
//! the end-to-end protected avatar object (solution #6), the AOS request proof (solution #8),
//! the UE token, the NEF's access token and the DAC's signed metadata (solution #7), the token
//! request form, the data channel messages and the renderer, with the fixture keys and
//! certificates at the scenario clock. The first byte picks what the rest is:
//!
//! - `0` (mod 8): a compact JWS, given to every decoder and verifier;
//! - `1`: `<JOSE header JSON>\n<claims JSON>` signed with UE-A's key: avatar token, attestation,
//!   AOS request proof and UE token verification;
//! - `2`: the same signed with the NEF's key: access token validation;
//! - `3`: the same signed with the DAC's key: signed metadata verification;
//! - `4`: a protected avatar object (JSON), opened with a fixed ephemeral key;
//! - `5`: a base avatar model (JSON), protected and opened end to end, and rendered;
//! - `6`: a token request form body (`application/x-www-form-urlencoded`);
//! - `7`: a data channel message (JSON).
//!
//! Properties: nothing panics; a verifier that accepts returns claims that also read without
//! verification; a model protected for a key opens with it to the same model; a token request
//! form renders to a form that reads back to the same request; a data channel message survives
//! JSON.
#![no_main]

use std::sync::LazyLock;

use avatar::e2e::{self, EphemeralKey};
use avatar::wire::{self, TokenRequest};
use avatar::{access_token, aos_request, attestation, metadata, render, token, ue_token};
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::{SigningKey, VerifyingKey};
use proto::wire::avatar::{DcMessage, FacialPoints, Model, Protected, Rendering};
use stir::jose;
use testbed_fuzz::{NOW, der, mode_and_text, pki, signing_key};

const OWNER: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const AVATAR_ID: &str = "qbranch-agent";
const CALL_ID: &str = "be62a78f359407d6@ue-a.ims.mnc001.mcc001.3gppnetwork.org";
const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const DAC: &str = "dac.avatars.example";

struct Keys {
    ue_a: SigningKey,
    ue_a_public: VerifyingKey,
    ue_a_cert: Vec<u8>,
    ue_a_fingerprint: String,
    nef: SigningKey,
    nef_cert: Vec<u8>,
    dac: SigningKey,
    dac_cert: Vec<u8>,
    own: EphemeralKey,
    dac_ephemeral: EphemeralKey,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let ue_a = signing_key(pki::UE_A_KEY);
    let ue_a_cert = der(pki::UE_A);
    let ephemeral = |seed| match EphemeralKey::from_bytes(seed) {
        Ok(key) => key,
        Err(e) => panic!("ephemeral key: {e}"),
    };
    Keys {
        ue_a_public: *ue_a.verifying_key(),
        ue_a_fingerprint: ue_token::fingerprint(&ue_a_cert),
        ue_a,
        ue_a_cert,
        nef: signing_key(pki::NEF_KEY),
        nef_cert: der(pki::NEF),
        dac: signing_key(pki::DAC_KEY),
        dac_cert: der(pki::DAC),
        own: ephemeral([7; 32]),
        dac_ephemeral: ephemeral([9; 32]),
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((mode, text)) = mode_and_text(data) else {
        return;
    };
    let keys = &*KEYS;
    match mode % 8 {
        0 => jws(keys, text),
        1 => {
            if let Some(token) = sign(&keys.ue_a, text) {
                jws(keys, &token);
            }
        }
        2 => {
            if let Some(token) = sign(&keys.nef, text) {
                jws(keys, &token);
            }
        }
        3 => {
            if let Some(token) = sign(&keys.dac, text) {
                jws(keys, &token);
            }
        }
        4 => {
            if let Ok(protected) = serde_json::from_str::<Protected>(text) {
                let _ = e2e::jwk_to_public(&protected.epk);
                if let Ok((model, key)) = e2e::open(&protected, &keys.own) {
                    let _ = key.fingerprint();
                    let _ = render::render(&model, &render::script()[0], 0);
                }
            }
        }
        5 => model(keys, text),
        6 => form(text),
        _ => {
            if let Ok(message) = serde_json::from_str::<DcMessage>(text) {
                let json = serde_json::to_string(&message).unwrap_or_default();
                let again = serde_json::from_str::<DcMessage>(&json);
                assert_eq!(again.ok().as_ref(), Some(&message), "{json}");
            }
        }
    }
});

/// `<header>\n<claims>` signed with `key`.
fn sign(key: &SigningKey, text: &str) -> Option<String> {
    let (header, claims) = text.split_once('\n')?;
    Some(jose::sign_es256(key, header.as_bytes(), claims.as_bytes()))
}

/// A compact JWS given to every decoder and verifier of the crate.
fn jws(keys: &Keys, text: &str) {
    let _ = token::decode(text);
    let _ = token::note("fuzz", text);
    let expected = token::Expected {
        avatar_id: AVATAR_ID,
        session: CALL_ID,
        owner_impu: OWNER,
        now: NOW,
    };
    if let Ok(claims) = token::verify(text, &keys.ue_a_public, &expected) {
        assert_eq!(claims.sub, OWNER);
        assert!(claims.exp >= NOW);
    }

    let unverified = attestation::unverified_claims(text);
    if let Ok(claims) = attestation::verify(text, &keys.ue_a_public, XR_AS, NOW) {
        assert_eq!(unverified.as_ref().ok(), Some(&claims));
        let recipient = claims.recipient_key();
        assert_eq!(
            recipient.is_some(),
            claims.rendering != Rendering::NetworkCentric
        );
        if let Some(jwk) = recipient {
            let _ = e2e::jwk_to_public(jwk);
        }
    }

    let unverified = aos_request::unverified_claims(text);
    let expected = aos_request::Expected {
        avatar_id: AVATAR_ID,
        call_id: CALL_ID,
        now: NOW,
    };
    match aos_request::verify(text, &keys.ue_a_public, &expected) {
        Ok(claims) => assert_eq!(unverified.as_ref().ok(), Some(&claims)),
        Err(e) => {
            let _ = e.reason();
        }
    }

    match ue_token::verify(text, &keys.ue_a_cert, &keys.ue_a_fingerprint, XR_AS, NOW) {
        Ok(claims) => assert_eq!(claims.xr_as, XR_AS),
        Err(e) => {
            let _ = e.reason();
        }
    }

    match access_token::validate(text, &keys.nef_cert, DAC, AVATAR_ID, NOW) {
        Ok(claims) => assert!(claims.allows(access_token::SCOPE_READ)),
        Err(e) => {
            let _ = e.reason();
        }
    }

    match metadata::verify(text, &keys.dac_cert, AVATAR_ID, NOW) {
        Ok(metadata) => {
            let _ = render::render(&metadata.model, &render::script()[1], 1);
            // An altered copy must not verify.
            let tampered = metadata::tamper(text);
            assert!(
                metadata::verify(&tampered, &keys.dac_cert, AVATAR_ID, NOW).is_err(),
                "tampered metadata verifies: {tampered}"
            );
        }
        Err(e) => {
            let _ = e.reason();
        }
    }
    let _ = metadata::tamper(text);
    let _ = metadata::note("fuzz", text);
}

/// A base avatar model and facial points (`<model JSON>` then optionally `\n<points JSON>`).
fn model(keys: &Keys, text: &str) {
    let (model_json, points_json) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(model) = serde_json::from_str::<Model>(model_json) else {
        return;
    };
    let points =
        serde_json::from_str::<FacialPoints>(points_json).unwrap_or_else(|_| render::script()[2]);
    let frame = render::render(&model, &points, 7);
    assert_eq!(frame.rows.len(), usize::from(render::HEIGHT.div_ceil(4)));
    let _ = render::note("fuzz", &frame);
    for rendering in [Rendering::UeACentric, Rendering::NetworkCentric] {
        let recipient = keys.own.public_jwk();
        let Ok((protected, key)) = e2e::protect(
            &model,
            &keys.dac_ephemeral,
            &recipient,
            [1; 16],
            [2; 12],
            rendering,
        ) else {
            continue;
        };
        match e2e::open(&protected, &keys.own) {
            Ok((opened, opened_key)) => {
                assert_eq!(opened, model);
                assert_eq!(opened_key.fingerprint(), key.fingerprint());
            }
            Err(e) => panic!("a protected model does not open: {e}"),
        }
    }
}

/// A token request form, as the NEF reads it.
fn form(text: &str) {
    let _ = wire::decode_form(text);
    if let Ok(request) = TokenRequest::from_form(text) {
        let rendered = request.to_form();
        assert_eq!(
            TokenRequest::from_form(&rendered).as_ref(),
            Ok(&request),
            "form {text:?} renders as {rendered:?}"
        );
    }
}
