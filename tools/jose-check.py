#!/usr/bin/python3
"""Independent check of the avatar JWSs in an exported trace (issues 11 and 12).

Reads the JSON export of a run (`testbed run 5:happy --format json > trace.json`), finds every
compact JWS that crossed a wire (data channel messages, HTTP bodies and headers, SIP headers)
whose JOSE `typ` is one of the avatar solutions', and verifies each with PyJWT — a JOSE library
independent of the testbed's Rust code — against the certificate of its signer from the
fixture PKI:

  * `avatar+jwt` (solution 5's token) and `ue-token+jwt` (solution 7's UE token): the UE whose
    certificate names the token's `sub` (its IMPU); a UE token's `x5t#S256` must be that
    certificate's SHA-256;
  * `avatar-attestation+jwt` (solution 6's attestation): the owner of its `avatar_id`
    (fixtures/avatars/avatars.toml);
  * `at+jwt` (solution 7's and solution 9's OAuth 2.0 access tokens, RFC 9068) and `avatar-metadata+jwt`
    (solution 7's signed avatar metadata): the TLS certificate of the host in `iss` (the NEF, the
    DAC), issued by the world's TLS CA;
  * `passport` with `ppt` avatar (solution 7's signed Avatar-id) or rcd (solution 8's signed
    avatar data): the STI-SP certificate its `x5u` names (fixtures/pki/sti-sp-*.pem).

UE certificates are checked to be issued by the UE CA (fixtures/pki/ue-ca.pem). Times are not
checked: scenario runs use a fixed clock, so `exp` is printed instead (the NFs check it against
the run's clock; see the variants `*-expired`).

Usage: /usr/bin/python3 tools/jose-check.py TRACE.json [--expect-fail]
Needs Debian's python3-jwt (PyJWT) and python3-cryptography. Exits 1 when a JWS does not
verify (or, with --expect-fail, when every one does: for the forged and foreign-key variants).
"""

import base64
import json
import re
import sys
import tomllib
from pathlib import Path

try:
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as e:  # pragma: no cover - environment
    sys.exit(f"jose-check: {e}; install python3-jwt and python3-cryptography (apt)")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TYPS = {
    "avatar+jwt": "avatar token",
    "avatar-attestation+jwt": "UE-A attestation",
    "ue-token+jwt": "UE token",
    "at+jwt": "access token",
    "avatar-metadata+jwt": "signed avatar metadata",
    "passport": "PASSporT",
}
# PASSporTs of other types (shaken) are the key issue #1 checks' business.
PASSPORT_TYPES = {"avatar", "rcd"}
COMPACT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def ue_certificates():
    """Each fixture UE certificate, checked to be signed by the UE CA, with its URIs."""
    ca = x509.load_pem_x509_certificate((FIXTURES / "pki" / "ue-ca.pem").read_bytes())
    certs = {}
    for pem in sorted((FIXTURES / "pki" / "ue").glob("*.pem")):
        if pem.name.endswith(".key.pem"):
            continue
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        if cert.issuer != ca.subject:
            sys.exit(f"jose-check: {pem.name} is not issued by the UE CA")
        # The CA's ECDSA signature over the certificate (cryptography 38 has no helper).
        ca.public_key().verify(
            cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
        )
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        certs[pem.stem] = (cert, set(san.get_values_for_type(x509.UniformResourceIdentifier)))
    return certs


def owners():
    """Avatar ID → owning UE id."""
    data = tomllib.loads((FIXTURES / "avatars" / "avatars.toml").read_text())
    return {a["id"]: a["owner"] for a in data["avatar"]}


def tls_certificate(host):
    """The TLS certificate of `host`, checked to be issued by the world's TLS CA."""
    path = FIXTURES / "pki" / "tls" / f"{host}.pem"
    if not path.exists():
        return None
    ca = x509.load_pem_x509_certificate((FIXTURES / "pki" / "tls-ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ca.public_key().verify(
        cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
    )
    return cert


def key_of(typ, header, claims, certs, avatar_owners):
    """The public key that must have signed this JWS, and why (None: no such signer)."""
    if typ in ("at+jwt", "avatar-metadata+jwt"):
        iss = claims.get("iss", "")
        cert = tls_certificate(iss)
        return (cert.public_key() if cert else None), f"the TLS certificate of iss {iss}"
    if typ == "passport":
        name = header.get("x5u", "").rsplit("/", 1)[-1]
        path = FIXTURES / "pki" / name
        if not name.startswith("sti-sp-") or not path.exists():
            return None, f"no fixture STI-SP certificate for x5u {header.get('x5u')!r}"
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        return cert.public_key(), f"the STI-SP certificate {name} (x5u)"
    ue, why = signer(typ, claims, certs, avatar_owners)
    if ue not in certs:
        return None, why
    cert = certs[ue][0]
    if typ == "ue-token+jwt":
        digest = cert.fingerprint(hashes.SHA256())
        x5t = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if header.get("x5t#S256") != x5t:
            return None, f"x5t#S256 is not the SHA-256 of {ue}'s certificate ({why})"
    return cert.public_key(), f"{ue}'s certificate ({why})"


def signer(typ, claims, certs, avatar_owners):
    """The UE whose key must have signed this JWS, and why."""
    if typ in ("avatar+jwt", "ue-token+jwt"):
        sub = claims.get("sub", "")
        for ue, (_, uris) in certs.items():
            if sub in uris:
                return ue, f"sub {sub}"
        return None, f"no UE certificate names sub {sub!r}"
    avatar = claims.get("avatar_id", "")
    ue = avatar_owners.get(avatar)
    return ue, f"owner of {avatar}" if ue else f"unknown avatar {avatar!r}"


def tokens(trace):
    """Every compact JWS of an avatar type in the messages of the trace, first seen first."""
    seen = []
    for record in trace["records"]:
        message = record.get("body", {}).get("message")
        if not message:
            continue
        for jws in COMPACT.findall(message.get("raw", "")):
            try:
                header = jwt.get_unverified_header(jws)
            except jwt.PyJWTError:
                continue
            typ = header.get("typ")
            if typ == "passport" and header.get("ppt") not in PASSPORT_TYPES:
                continue
            if typ in TYPS and jws not in [j for j, _, _ in seen]:
                seen.append((jws, typ, f"{record['node']} → {record['body'].get('to')}"))
    return seen


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    expect_fail = "--expect-fail" in argv
    if len(args) != 1:
        sys.exit(__doc__)
    trace = json.loads(Path(args[0]).read_text())
    certs, avatar_owners = ue_certificates(), owners()
    found = tokens(trace)
    if not found:
        sys.exit(f"jose-check: no avatar JWS in {args[0]}")
    failures = 0
    for jws, typ, hop in found:
        header = jwt.get_unverified_header(jws)
        claims = jwt.decode(jws, options={"verify_signature": False})
        key, why = key_of(typ, header, claims, certs, avatar_owners)
        name = TYPS[typ] + (f" ppt={header.get('ppt')}" if typ == "passport" else "")
        if not isinstance(key, ec.EllipticCurvePublicKey):
            print(f"FAIL {name} ({hop}): {why}")
            failures += 1
            continue
        try:
            jwt.decode(
                jws,
                key,
                algorithms=["ES256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError as e:
            print(f"FAIL {name} ({hop}) with {why}: {e}")
            failures += 1
            continue
        shown = {k: v for k, v in claims.items() if not k.startswith("epk")}
        keys = [k for k in claims if k.startswith("epk")]
        if typ == "avatar-metadata+jwt" and "model" in shown:
            shown["model"] = f"<{shown['model'].get('id', '?')} model>"
        print(f"ok   {name} ({hop}) verifies with {why}: {shown}"
              + (f" + {', '.join(keys)}" if keys else ""))
    print(f"{len(found)} checked with PyJWT {jwt.__version__}, {failures} failed")
    if expect_fail:
        return 0 if failures else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
