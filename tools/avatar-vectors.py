#!/usr/bin/env python3
"""Independent check of fixtures/vectors/avatar.toml, the avatar library's test vectors.

The vectors were made by the testbed's Rust library (crate `avatar`, nodes/avatar/tests/vectors.rs).
This script recomputes and verifies each one with Python's `cryptography` package and nothing of
the testbed's, following the design in the avatar brief (TR 33.790 solutions #5 and #6):

  token        compact JWS, header {"alg":"ES256","typ":"avatar+jwt"}, claims avatar_id, sub,
               call_id, iat, exp (= iat + 300), jti; ES256 signature (raw r||s, RFC 7518 §3.4) by
               the UE's fixture key, checked with the public key of its certificate and
               recomputed with RFC 6979 deterministic ECDSA.
  attestation  the same for "avatar-attestation+jwt", claims exactly avatar_id, xr_as, rendering,
               exp (= now + 300) and epk_ue_a (UE-A centric) or epk_ue_b (UE-B centric), the JWK
               of the vector's ephemeral secret.
  protected    ECDH P-256 (x coordinate) between the DAC's and the UE's ephemeral keys (32-byte
               big-endian scalars, 1 <= d < n, as p256's SecretKey::from_slice), HKDF-SHA256 to 32
               bytes (salt, info "TR 33.790 avatar object|<avatar_id>|<rendering>"), AES-256-GCM
               with AAD = the Avatar ID over the model's RFC 8785 canonical JSON; the key
               fingerprint is "sha256:" + the first 16 hex digits of SHA-256(key); one flipped
               ciphertext byte must fail to decrypt.

Usage: python3 tools/avatar-vectors.py [VECTORS.toml]   (default: fixtures/vectors/avatar.toml)
Prints one line per vector checked; exits 1 on any mismatch, naming the vector and the field.
"""

import base64
import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# The order n of the P-256 group (SEC 2 §2.4.2).
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

TOKEN_TYP = "avatar+jwt"
ATTESTATION_TYP = "avatar-attestation+jwt"
LIFETIME = 300
E2E_ALG = "ECDH-P256+HKDF-SHA256+A256GCM"
INFO_PREFIX = "TR 33.790 avatar object"
RENDERINGS = ("network-centric", "ue-a-centric", "ue-b-centric")
EPK_CLAIM = {"ue-a-centric": "epk_ue_a", "ue-b-centric": "epk_ue_b"}


class Mismatch(Exception):
    """A vector does not hold."""


def expect(cond, what):
    if not cond:
        raise Mismatch(what)


def equal(got, want, what):
    if got == want:
        return
    if isinstance(got, str) and isinstance(want, str) and max(len(got), len(want)) > 80:
        diffs = (i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        at = next(diffs, min(len(got), len(want)))
        lo = max(at - 8, 0)
        raise Mismatch(
            f"{what}: differs at character {at}: recomputed ...{got[lo:at + 16]}..., "
            f"the vector has ...{want[lo:at + 16]}... (lengths {len(got)}, {len(want)})"
        )
    raise Mismatch(f"{what}: recomputed {got!r}, the vector has {want!r}")


# ---- encodings ----------------------------------------------------------------------------------


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str, what: str) -> bytes:
    """Strict base64url without padding (RFC 7515 §2): alphabet, length and canonical form."""
    expect(re.fullmatch(r"[A-Za-z0-9_-]*", text) is not None, f"{what}: not base64url")
    expect(len(text) % 4 != 1, f"{what}: impossible base64url length")
    data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    expect(b64u(data) == text, f"{what}: non-canonical base64url")
    return data


def unhex(text: str, length: int, what: str) -> bytes:
    expect(re.fullmatch(r"[0-9a-f]*", text) is not None, f"{what}: not lowercase hex")
    data = bytes.fromhex(text)
    equal(len(data), length, f"{what} length in bytes")
    return data


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Mismatch(f"duplicate JSON member in {keys}")
    return dict(pairs)


def parse_json(data, what):
    try:
        return json.loads(data, object_pairs_hook=no_duplicates)
    except ValueError as e:
        raise Mismatch(f"{what}: not JSON ({e})") from None


def canonical(value) -> bytes:
    """RFC 8785 for what these vectors hold: ASCII member names (so UTF-16 order is code point
    order), integers, strings, arrays, objects; no floats (their RFC 8785 form differs)."""

    def check(v):
        expect(not isinstance(v, float), f"float {v!r}: not expected in these vectors")
        if isinstance(v, dict):
            for k, inner in v.items():
                expect(k.isascii(), f"non-ASCII member name {k!r}")
                check(inner)
        elif isinstance(v, list):
            for inner in v:
                check(inner)

    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# ---- keys ---------------------------------------------------------------------------------------


def certificate_key(ue: str):
    cert = x509.load_pem_x509_certificate((FIXTURES / "pki" / "ue" / f"{ue}.pem").read_bytes())
    key = cert.public_key()
    expect(isinstance(key, ec.EllipticCurvePublicKey), f"{ue}.pem: not an EC key")
    expect(isinstance(key.curve, ec.SECP256R1), f"{ue}.pem: not P-256")
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return key, sans.get_values_for_type(x509.UniformResourceIdentifier)


def private_key(ue: str):
    pem = (FIXTURES / "pki" / "ue" / f"{ue}.key.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    expect(isinstance(key, ec.EllipticCurvePrivateKey), f"{ue}.key.pem: not an EC key")
    return key


def ephemeral(secret_hex: str, what: str):
    """The P-256 key whose scalar is the 32 bytes read big-endian; refused unless 1 <= d < n."""
    d = int.from_bytes(unhex(secret_hex, 32, what), "big")
    expect(0 < d < P256_N, f"{what}: not a P-256 scalar")
    return ec.derive_private_key(d, ec.SECP256R1())


def jwk(public_key) -> dict:
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64u(numbers.x.to_bytes(32, "big")),
        "y": b64u(numbers.y.to_bytes(32, "big")),
    }


def jwk_public(j: dict, what: str):
    equal(sorted(j), ["crv", "kty", "x", "y"], f"{what} members")
    equal((j["kty"], j["crv"]), ("EC", "P-256"), f"{what} kty, crv")
    x = int.from_bytes(b64u_decode(j["x"], f"{what}.x"), "big")
    y = int.from_bytes(b64u_decode(j["y"], f"{what}.y"), "big")
    try:
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        raise Mismatch(f"{what}: not a point on P-256") from None


# ---- compact JWS, ES256 -------------------------------------------------------------------------


def check_jws(v: dict, typ: str) -> dict:
    """The JWS's parts are the vector's canonical header and claims, the ES256 signature verifies
    with the signer's certificate and is the RFC 6979 one; returns the claims."""
    parts = v["jws"].split(".")
    equal(len(parts), 3, "JWS parts")
    header = b64u_decode(parts[0], "JWS header")
    payload = b64u_decode(parts[1], "JWS payload")
    signature = b64u_decode(parts[2], "JWS signature")
    equal(header.decode(), v["header"], "decoded header")
    equal(payload.decode(), v["claims"], "decoded claims")
    equal(parse_json(header, "header"), {"alg": "ES256", "typ": typ}, "header")
    equal(canonical(parse_json(header, "header")), header, "header in canonical JSON")
    claims = parse_json(payload, "claims")
    equal(canonical(claims), payload, "claims in canonical JSON")

    cert_key, _ = certificate_key(v["signer"])
    key = private_key(v["signer"])
    equal(key.public_key().public_numbers(), cert_key.public_numbers(), "key vs certificate")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    equal(len(signature), 64, "ES256 signature length (raw r||s)")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        cert_key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Mismatch(f"ES256 signature does not verify with pki/ue/{v['signer']}.pem") from None
    der = key.sign(signing_input, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r6979, s6979 = decode_dss_signature(der)
    equal((r, s), (r6979, s6979), "signature vs RFC 6979 deterministic ECDSA (r, s)")
    return claims


def check_token(v: dict, now: int) -> str:
    claims = check_jws(v, TOKEN_TYP)
    fields = ("avatar_id", "sub", "call_id", "iat", "exp", "jti")
    equal(claims, {k: v[k] for k in fields}, "claims")
    equal(v["exp"], v["iat"] + LIFETIME, "exp - iat")
    equal(v["iat"], now, "iat")
    _, uris = certificate_key(v["signer"])
    expect(v["sub"] in uris, f"sub {v['sub']!r} is not a SAN URI of {v['signer']}.pem: {uris}")
    return "ES256 verifies with the certificate, RFC 6979 signature reproduced, claims match"


def check_attestation(v: dict, now: int) -> str:
    claims = check_jws(v, ATTESTATION_TYP)
    rendering = v["rendering"]
    expect(rendering in RENDERINGS, f"rendering {rendering!r}")
    want = {k: v[k] for k in ("avatar_id", "xr_as", "rendering", "exp")}
    if rendering in EPK_CLAIM:
        want[EPK_CLAIM[rendering]] = jwk(ephemeral(v["epk_secret"], "epk_secret").public_key())
    else:
        expect("epk_secret" not in v, "network centric carries no ephemeral key")
    equal(claims, want, "claims (exactly table 6.6.2.4-1)")
    equal(v["exp"], now + LIFETIME, "exp - now")
    return "ES256 verifies with the certificate, RFC 6979 signature reproduced, claims match"


# ---- the protected avatar object ----------------------------------------------------------------


def model_plaintext(avatar_id: str) -> bytes:
    """The avatar's model file named by fixtures/avatars/avatars.toml, in canonical JSON."""
    avatars = FIXTURES / "avatars"
    listed = tomllib.loads((avatars / "avatars.toml").read_text())["avatar"]
    entry = [a for a in listed if a["id"] == avatar_id]
    equal(len(entry), 1, f"avatars.toml entries for {avatar_id}")
    model = parse_json((avatars / entry[0]["model"]).read_bytes(), entry[0]["model"])
    equal(model["id"], avatar_id, "model id")
    return canonical(model)


def derive(own, peer_public, salt: bytes, info: str):
    shared = own.exchange(ec.ECDH(), peer_public)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode())
    return hkdf.derive(shared)


def check_protected(v: dict, _now: int) -> str:
    dac = ephemeral(v["dac_secret"], "dac_secret")
    ue = ephemeral(v["ue_secret"], "ue_secret")
    equal(jwk(dac.public_key()), v["dac_public"], "DAC public JWK")
    equal(jwk(ue.public_key()), v["ue_public"], "UE public JWK")
    salt = unhex(v["salt"], 16, "salt")
    nonce = unhex(v["nonce"], 12, "nonce")
    avatar_id, rendering = v["avatar_id"], v["rendering"]
    expect(rendering in EPK_CLAIM, f"rendering {rendering!r} has no protected object")
    equal(v["info"], f"{INFO_PREFIX}|{avatar_id}|{rendering}", "HKDF info")
    plaintext = model_plaintext(avatar_id)
    equal(plaintext.decode(), v["plaintext"], "plaintext (the model's canonical JSON)")

    # Both ends: the DAC with the UE's public key from the JWK, the UE with the DAC's.
    key = derive(dac, jwk_public(v["ue_public"], "ue_public"), salt, v["info"])
    ue_key = derive(ue, jwk_public(v["dac_public"], "dac_public"), salt, v["info"])
    expect(key == ue_key, "the two ends derive different keys")
    fingerprint = "sha256:" + hashlib.sha256(key).hexdigest()[:16]
    equal(fingerprint, v["key_fingerprint"], "key fingerprint")

    aead, aad = AESGCM(key), avatar_id.encode()
    sealed = aead.encrypt(nonce, plaintext, aad)
    equal(sealed[:-16].hex(), v["ciphertext"], "ciphertext")
    equal(sealed[-16:].hex(), v["tag"], "GCM tag")
    equal(aead.decrypt(nonce, sealed, aad), plaintext, "decrypted plaintext")
    check_tamper(aead, nonce, sealed, aad)
    check_protected_json(v, sealed)
    return "ECDH + HKDF-SHA256 + AES-256-GCM reproduced, fingerprint matches, tamper fails"


def check_tamper(aead, nonce: bytes, sealed: bytes, aad: bytes):
    for index, what in ((0, "first ciphertext byte"), (len(sealed) - 1, "last tag byte")):
        flipped = bytearray(sealed)
        flipped[index] ^= 0x01
        try:
            aead.decrypt(nonce, bytes(flipped), aad)
        except InvalidTag:
            continue
        raise Mismatch(f"decryption succeeded with the {what} flipped")
    try:
        aead.decrypt(nonce, sealed, b"qbranch-cat")
    except InvalidTag:
        return
    raise Mismatch("decryption succeeded with another AAD")


def check_protected_json(v: dict, sealed: bytes):
    """The Protected object (proto::wire::avatar::Protected) carries exactly these values."""
    text = v["protected"].encode()
    p = parse_json(text, "protected")
    equal(canonical(p), text, "protected in canonical JSON")
    want = {
        "alg": E2E_ALG,
        "epk": v["dac_public"],
        "salt": b64u(bytes.fromhex(v["salt"])),
        "info": v["info"],
        "nonce": b64u(bytes.fromhex(v["nonce"])),
        "aad": v["avatar_id"],
        "ciphertext": b64u(sealed),
    }
    equal(p, want, "protected object")


# ---- the file -----------------------------------------------------------------------------------


def check_pairs(vectors: dict):
    """Each UE-centric attestation carries the UE key its protected-object vector uses."""
    for att in vectors["attestation"]:
        if att["rendering"] not in EPK_CLAIM:
            continue
        paired = [p for p in vectors["protected"] if p["rendering"] == att["rendering"]]
        equal(len(paired), 1, f"protected vectors for {att['rendering']}")
        equal(att["epk_secret"], paired[0]["ue_secret"], f"{att['name']} epk_secret vs protected")


def main(argv) -> int:
    path = Path(argv[1]) if len(argv) > 1 else FIXTURES / "vectors" / "avatar.toml"
    vectors = tomllib.loads(path.read_text())
    now = vectors["now"]
    checks = (("token", check_token), ("attestation", check_attestation),
              ("protected", check_protected))
    failures = checked = 0
    for kind, check in checks:
        listed = vectors.get(kind, [])
        if not listed:
            print(f"FAIL {kind}: no vectors in {path}")
            failures += 1
        for v in listed:
            checked += 1
            try:
                print(f"ok   {kind:<11} {v['name']:<18} {check(v, now)}")
            except Mismatch as e:
                failures += 1
                print(f"FAIL {kind:<11} {v.get('name', '?'):<18} {e}")
            except KeyError as e:
                failures += 1
                print(f"FAIL {kind:<11} {v.get('name', '?'):<18} missing field {e}")
    try:
        check_pairs(vectors)
        print("ok   attestation epk_secret = protected ue_secret for each UE-centric rendering")
    except (Mismatch, KeyError) as e:
        failures += 1
        print(f"FAIL pairs: {e!r}")
    if failures:
        print(f"{path}: {failures} FAILED of {checked} vectors", file=sys.stderr)
        return 1
    print(f"{path}: all {checked} vectors hold (Python cryptography)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
