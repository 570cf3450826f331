//! The avatar library's test vectors (`fixtures/vectors/avatar.toml`): avatar tokens, UE-A
//! attestations and end-to-end protected avatar objects made from fixed inputs (the fixture
//! `qbranch-agent` model, UE-A's fixture key, fixed times, secrets, salts and nonces).
//!
//! Every output is deterministic (ES256 with RFC 6979 nonces, fixed ECDH secrets), so the test
//! rebuilds each vector from its inputs with the library and requires the file's bytes, then
//! requires the library's verifiers to accept them. `tools/avatar-vectors.py` checks the same
//! file independently with Python `cryptography`.
//!
//! The file is what [`emit`] writes; `AVATAR_VECTORS=write cargo test -p avatar --test vectors`
//! rewrites it (review the diff before committing a new one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;

use avatar::e2e::{self, EphemeralKey};
use avatar::{Catalogue, Error, attestation, keys, token};
use p256::ecdsa::{SigningKey, VerifyingKey};
use proto::wire::avatar::{Jwk, Model, Protected, Rendering};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use stir::jose::{b64u, canonical_json};

/// The verifiers' time and the tokens' `iat`: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
/// The Avatar ID of every vector.
const AVATAR_ID: &str = "qbranch-agent";
/// The session an avatar token is bound to.
const CALL_ID: &str = "vector-call@ue-a.example";
/// The XR AS an attestation names.
const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
/// The UE that owns the avatar and signs.
const SIGNER: &str = "ue-a";
/// What every fixed secret, salt and nonce is SHA-256 of, with `|<what>|<vector>` appended.
const LABEL: &str = "TR 33.790 avatar vector";

// ---- the file ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    now: i64,
    token: Vec<TokenVector>,
    attestation: Vec<AttestationVector>,
    protected: Vec<ProtectedVector>,
}

/// An avatar token (solution #5 step 0a).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenVector {
    name: String,
    signer: String,
    avatar_id: String,
    sub: String,
    call_id: String,
    iat: i64,
    exp: i64,
    jti: String,
    header: String,
    claims: String,
    jws: String,
}

/// A UE-A attestation (solution #6 step 2).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationVector {
    name: String,
    signer: String,
    avatar_id: String,
    xr_as: String,
    rendering: Rendering,
    exp: i64,
    /// The rendering UE's ephemeral secret (hex) whose public key the attestation carries.
    epk_secret: Option<String>,
    header: String,
    claims: String,
    jws: String,
}

/// An avatar object protected by the DAC for the rendering UE (solution #6 step 6).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectedVector {
    name: String,
    avatar_id: String,
    rendering: Rendering,
    dac_secret: String,
    ue_secret: String,
    dac_public: Jwk,
    ue_public: Jwk,
    salt: String,
    nonce: String,
    info: String,
    plaintext: String,
    ciphertext: String,
    tag: String,
    key_fingerprint: String,
    protected: String,
}

// ---- building the vectors with the library ------------------------------------------------------

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn read(relative: &str) -> String {
    let path = fixtures().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn signing_key(ue: &str) -> SigningKey {
    keys::signing_key_pem(&read(&format!("pki/ue/{ue}.key.pem"))).unwrap()
}

/// The verifying key of the UE's certificate, checked to chain to the UE CA at [`NOW`].
fn certificate_key(ue: &str) -> VerifyingKey {
    let cert = read(&format!("pki/ue/{ue}.pem"));
    keys::ue_certificate_key(&cert, &read("pki/ue-ca.pem"), NOW)
        .unwrap()
        .0
}

fn model(avatar_id: &str) -> Model {
    let catalogue = Catalogue::from_dir(&fixtures().join("avatars")).unwrap();
    catalogue.find(avatar_id).unwrap().model.clone()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex_vec(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    unhex_vec(text).try_into().unwrap()
}

/// SHA-256 of `LABEL|what|vector`: the fixed secrets, salts and nonces (hex).
fn fixed(what: &str, vector: &str) -> String {
    hex(&Sha256::digest(format!("{LABEL}|{what}|{vector}")))
}

/// The decoded header and payload of a compact JWS, as text.
fn parts(jws: &str) -> (String, String) {
    let decode = |part: &str, which| {
        String::from_utf8(stir::jose::b64u_decode(part, which).unwrap()).unwrap()
    };
    let mut it = jws.split('.');
    let header = decode(it.next().unwrap(), stir::Part::Header);
    let payload = decode(it.next().unwrap(), stir::Part::Payload);
    (header, payload)
}

impl TokenVector {
    fn build(name: &str, signer: &str, sub: &str, iat: i64, jti: &str) -> Self {
        let claims = token::Claims::new(AVATAR_ID, sub, CALL_ID, iat, jti);
        let jws = token::sign(&claims, &signing_key(signer));
        let (header, payload) = parts(&jws);
        Self {
            name: name.into(),
            signer: signer.into(),
            avatar_id: claims.avatar_id,
            sub: claims.sub,
            call_id: claims.call_id,
            iat: claims.iat,
            exp: claims.exp,
            jti: claims.jti,
            header,
            claims: payload,
            jws,
        }
    }

    /// The vector rebuilt from its inputs (the Avatar ID and the Call-ID are the fixed ones).
    fn rebuilt(&self) -> Self {
        Self::build(&self.name, &self.signer, &self.sub, self.iat, &self.jti)
    }
}

impl AttestationVector {
    fn build(name: &str, rendering: Rendering, exp: i64, epk_secret: Option<String>) -> Self {
        let epk = epk_secret
            .as_deref()
            .map(|s| EphemeralKey::from_bytes(unhex(s)).unwrap().public_jwk());
        let claims = attestation::Claims {
            avatar_id: AVATAR_ID.into(),
            xr_as: XR_AS.into(),
            rendering,
            epk_ue_a: epk.clone().filter(|_| rendering == Rendering::UeACentric),
            epk_ue_b: epk.filter(|_| rendering == Rendering::UeBCentric),
            exp,
        };
        let jws = attestation::sign(&claims, &signing_key(SIGNER));
        let (header, payload) = parts(&jws);
        Self {
            name: name.into(),
            signer: SIGNER.into(),
            avatar_id: claims.avatar_id,
            xr_as: claims.xr_as,
            rendering,
            exp,
            epk_secret,
            header,
            claims: payload,
            jws,
        }
    }
}

/// The inputs of a protected-object vector.
struct ProtectedInputs<'a> {
    name: &'a str,
    rendering: Rendering,
    dac_secret: &'a str,
    ue_secret: &'a str,
    salt: &'a str,
    nonce: &'a str,
}

impl ProtectedVector {
    fn build(i: &ProtectedInputs<'_>) -> Self {
        let object = model(AVATAR_ID);
        let dac = EphemeralKey::from_bytes(unhex(i.dac_secret)).unwrap();
        let ue = EphemeralKey::from_bytes(unhex(i.ue_secret)).unwrap();
        let (p, key) = e2e::protect(
            &object,
            &dac,
            &ue.public_jwk(),
            unhex(i.salt),
            unhex(i.nonce),
            i.rendering,
        )
        .unwrap();
        let sealed = stir::jose::b64u_decode(&p.ciphertext, stir::Part::Payload).unwrap();
        let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
        Self {
            name: i.name.into(),
            avatar_id: object.id.clone(),
            rendering: i.rendering,
            dac_secret: i.dac_secret.into(),
            ue_secret: i.ue_secret.into(),
            dac_public: dac.public_jwk(),
            ue_public: ue.public_jwk(),
            salt: i.salt.into(),
            nonce: i.nonce.into(),
            info: p.info.clone(),
            plaintext: String::from_utf8(canonical_json(&object).unwrap()).unwrap(),
            ciphertext: hex(ciphertext),
            tag: hex(tag),
            key_fingerprint: key.fingerprint(),
            protected: String::from_utf8(canonical_json(&p).unwrap()).unwrap(),
        }
    }

    /// The vector rebuilt from its inputs (the Avatar ID is the fixed one).
    fn rebuilt(&self) -> Self {
        Self::build(&ProtectedInputs {
            name: &self.name,
            rendering: self.rendering,
            dac_secret: &self.dac_secret,
            ue_secret: &self.ue_secret,
            salt: &self.salt,
            nonce: &self.nonce,
        })
    }

    fn parsed(&self) -> Protected {
        serde_json::from_str(&self.protected).unwrap()
    }
}

// ---- the checks ---------------------------------------------------------------------------------

fn file() -> File {
    toml::from_str(&read("vectors/avatar.toml")).unwrap()
}

#[test]
fn the_file_covers_every_kind_and_rendering() {
    let f = file();
    assert_eq!(f.now, NOW);
    assert_eq!(f.token.len(), 1);
    let attested: Vec<Rendering> = f.attestation.iter().map(|v| v.rendering).collect();
    let protected: Vec<Rendering> = f.protected.iter().map(|v| v.rendering).collect();
    assert_eq!(
        attested,
        [
            Rendering::NetworkCentric,
            Rendering::UeACentric,
            Rendering::UeBCentric
        ]
    );
    assert_eq!(protected, [Rendering::UeACentric, Rendering::UeBCentric]);
}

#[test]
fn avatar_tokens_are_the_librarys_bytes_and_verify() {
    let f = file();
    for v in &f.token {
        assert_eq!(v.rebuilt(), *v, "token vector {}", v.name);
        let expected = token::Expected {
            avatar_id: &v.avatar_id,
            session: &v.call_id,
            owner_impu: &v.sub,
            now: f.now,
        };
        let claims = token::verify(&v.jws, &certificate_key(&v.signer), &expected).unwrap();
        assert_eq!(claims.jti, v.jti);
        assert_eq!(claims.exp, v.iat + token::LIFETIME);
    }
}

#[test]
fn attestations_are_the_librarys_bytes_and_verify() {
    let f = file();
    for v in &f.attestation {
        let rebuilt = AttestationVector::build(&v.name, v.rendering, v.exp, v.epk_secret.clone());
        assert_eq!(rebuilt, *v, "attestation vector {}", v.name);
        let claims =
            attestation::verify(&v.jws, &certificate_key(&v.signer), &v.xr_as, f.now).unwrap();
        assert_eq!(claims.rendering, v.rendering);
        assert_eq!(claims.exp, f.now + attestation::LIFETIME);
        // The recipient key is the one the matching protected-object vector protects for.
        let recipient = claims.recipient_key().cloned();
        let paired = f.protected.iter().find(|p| p.rendering == v.rendering);
        assert_eq!(recipient, paired.map(|p| p.ue_public.clone()), "{}", v.name);
    }
}

#[test]
fn protected_objects_are_the_librarys_bytes_and_open() {
    for v in &file().protected {
        let rebuilt = v.rebuilt();
        assert_eq!(
            rebuilt.dac_public, v.dac_public,
            "DAC public JWK of {}",
            v.name
        );
        assert_eq!(rebuilt.ciphertext, v.ciphertext, "ciphertext of {}", v.name);
        assert_eq!(rebuilt.tag, v.tag, "tag of {}", v.name);
        assert_eq!(rebuilt.key_fingerprint, v.key_fingerprint, "{}", v.name);
        assert_eq!(rebuilt, *v, "protected vector {}", v.name);
        let p = v.parsed();
        let mut sealed = unhex_vec(&(v.ciphertext.clone() + &v.tag));
        assert_eq!(p.epk, v.dac_public);
        assert_eq!(p.ciphertext, b64u(&sealed));
        let ue = EphemeralKey::from_bytes(unhex(&v.ue_secret)).unwrap();
        let (opened, key) = e2e::open(&p, &ue).unwrap();
        assert_eq!(opened, model(&v.avatar_id));
        assert_eq!(key.fingerprint(), v.key_fingerprint);
        // One ciphertext byte flipped: the tag no longer holds.
        sealed[0] ^= 0x01;
        let flipped = Protected {
            ciphertext: b64u(&sealed),
            ..p
        };
        assert_eq!(
            e2e::open(&flipped, &ue).unwrap_err(),
            Error::DecryptionFailed
        );
    }
}

// ---- writing the file ---------------------------------------------------------------------------

const PREAMBLE: &str = "\
# Test vectors of the avatar library (crate `avatar`, nodes/avatar): TR 33.790 solution #5's
# avatar token, solution #6's UE-A attestation and end-to-end protected avatar object.
#
# Made by the testbed's own library from fixed inputs (nodes/avatar/tests/vectors.rs; rewritten by
# `AVATAR_VECTORS=write cargo test -p avatar --test vectors`): UE-A's fixture key
# (fixtures/pki/ue/ue-a.key.pem, certificate ue-a.pem), the
# fixture avatar `qbranch-agent` (fixtures/avatars/qbranch-agent.json), iat = now below, and
# ephemeral secrets, salts and nonces that are SHA-256 of \"TR 33.790 avatar vector|<what>|<vector
# name>\" (salt: first 16 bytes, nonce: first 12). ES256 signatures are deterministic (RFC 6979,
# raw r||s, RFC 7518 §3.4), so every byte is exact.
#
# Checked two ways: `cargo test -p avatar --test vectors` rebuilds every vector with the library
# and requires these bytes; `python3 tools/avatar-vectors.py` checks them independently with
# Python `cryptography` (signatures, ECDH P-256, HKDF-SHA256, AES-256-GCM, the fingerprint).
#
# Binary values are hex; `header`, `claims`, `plaintext` and `protected` are RFC 8785 canonical
# JSON; `ciphertext` excludes the 16-byte GCM `tag` (Protected.ciphertext is b64u(ciphertext||tag)).
";

fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// A TOML literal string: JSON text stays readable without escapes.
fn lit(text: &str) -> String {
    assert!(!text.contains('\'') && !text.contains('\n'), "{text}");
    format!("'{text}'")
}

fn jwk(j: &Jwk) -> String {
    format!(
        "{{ kty = {}, crv = {}, x = {}, y = {} }}",
        q(&j.kty),
        q(&j.crv),
        q(&j.x),
        q(&j.y)
    )
}

fn emit_token(out: &mut String, v: &TokenVector) {
    out.push_str("\n# An avatar token (solution #5 step 0a): exp = iat + 300.\n[[token]]\n");
    for (k, val) in [
        ("name", &v.name),
        ("signer", &v.signer),
        ("avatar_id", &v.avatar_id),
        ("sub", &v.sub),
        ("call_id", &v.call_id),
    ] {
        writeln!(out, "{k} = {}", q(val)).unwrap();
    }
    writeln!(out, "iat = {}\nexp = {}\njti = {}", v.iat, v.exp, q(&v.jti)).unwrap();
    let (h, c, j) = (lit(&v.header), lit(&v.claims), q(&v.jws));
    writeln!(out, "header = {h}\nclaims = {c}\njws = {j}").unwrap();
}

fn emit_attestation(out: &mut String, v: &AttestationVector) {
    writeln!(
        out,
        "\n# A UE-A attestation (solution #6 step 2, table 6.6.2.4-1), {}: exp = now + 300.",
        v.rendering.as_str()
    )
    .unwrap();
    out.push_str("[[attestation]]\n");
    for (k, val) in [
        ("name", &v.name),
        ("signer", &v.signer),
        ("avatar_id", &v.avatar_id),
        ("xr_as", &v.xr_as),
    ] {
        writeln!(out, "{k} = {}", q(val)).unwrap();
    }
    writeln!(
        out,
        "rendering = {}\nexp = {}",
        q(v.rendering.as_str()),
        v.exp
    )
    .unwrap();
    if let Some(s) = &v.epk_secret {
        out.push_str("# The rendering UE's ephemeral secret; the epk claim is its public key.\n");
        writeln!(out, "epk_secret = {}", q(s)).unwrap();
    }
    let (h, c, j) = (lit(&v.header), lit(&v.claims), q(&v.jws));
    writeln!(out, "header = {h}\nclaims = {c}\njws = {j}").unwrap();
}

fn emit_protected(out: &mut String, v: &ProtectedVector) {
    writeln!(
        out,
        "\n# The avatar object protected by the DAC for the rendering UE, {} (solution #6 step 6).",
        v.rendering.as_str()
    )
    .unwrap();
    out.push_str("[[protected]]\n");
    writeln!(
        out,
        "name = {}\navatar_id = {}",
        q(&v.name),
        q(&v.avatar_id)
    )
    .unwrap();
    writeln!(out, "rendering = {}", q(v.rendering.as_str())).unwrap();
    writeln!(
        out,
        "dac_secret = {}\nue_secret = {}",
        q(&v.dac_secret),
        q(&v.ue_secret)
    )
    .unwrap();
    writeln!(out, "dac_public = {}", jwk(&v.dac_public)).unwrap();
    writeln!(out, "ue_public = {}", jwk(&v.ue_public)).unwrap();
    writeln!(out, "salt = {}\nnonce = {}", q(&v.salt), q(&v.nonce)).unwrap();
    writeln!(out, "info = {}", q(&v.info)).unwrap();
    writeln!(out, "plaintext = {}", lit(&v.plaintext)).unwrap();
    writeln!(
        out,
        "ciphertext = {}\ntag = {}",
        q(&v.ciphertext),
        q(&v.tag)
    )
    .unwrap();
    writeln!(out, "key_fingerprint = {}", q(&v.key_fingerprint)).unwrap();
    writeln!(out, "protected = {}", lit(&v.protected)).unwrap();
}

/// The vectors from the fixed inputs.
fn generate() -> File {
    let sub = Catalogue::from_dir(&fixtures().join("avatars"))
        .unwrap()
        .find(AVATAR_ID)
        .unwrap()
        .owner_impu
        .clone();
    let token = TokenVector::build("ue-a-qbranch-agent", SIGNER, &sub, NOW, "vector-jti-1");
    let renderings = [
        ("network-centric", Rendering::NetworkCentric),
        ("ue-a-centric", Rendering::UeACentric),
        ("ue-b-centric", Rendering::UeBCentric),
    ];
    let attestation = renderings.map(|(name, r)| {
        let secret = (r != Rendering::NetworkCentric).then(|| fixed("ue ephemeral", name));
        AttestationVector::build(name, r, NOW + attestation::LIFETIME, secret)
    });
    let protected = renderings[1..].iter().map(|&(name, rendering)| {
        let (dac, ue) = (fixed("dac ephemeral", name), fixed("ue ephemeral", name));
        let (salt, nonce) = (fixed("salt", name), fixed("nonce", name));
        ProtectedVector::build(&ProtectedInputs {
            name,
            rendering,
            dac_secret: &dac,
            ue_secret: &ue,
            salt: &salt[..32],
            nonce: &nonce[..24],
        })
    });
    File {
        now: NOW,
        token: vec![token],
        attestation: attestation.into(),
        protected: protected.collect(),
    }
}

fn emit(f: &File) -> String {
    let mut out = String::from(PREAMBLE);
    out.push_str("\n# The verifiers' time (2026-01-01T00:00:00Z); the token's iat.\n");
    writeln!(out, "now = {}", f.now).unwrap();
    f.token.iter().for_each(|v| emit_token(&mut out, v));
    f.attestation
        .iter()
        .for_each(|v| emit_attestation(&mut out, v));
    f.protected.iter().for_each(|v| emit_protected(&mut out, v));
    out
}

/// The committed file is exactly what the generator writes (comments included). With
/// `AVATAR_VECTORS=write` the test writes it instead (to regenerate it after a deliberate change).
#[test]
fn the_file_is_what_the_generator_writes() {
    let text = emit(&generate());
    if std::env::var("AVATAR_VECTORS").as_deref() == Ok("write") {
        std::fs::write(fixtures().join("vectors/avatar.toml"), &text).unwrap();
    }
    assert_eq!(text, read("vectors/avatar.toml"));
}
