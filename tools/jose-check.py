#!/usr/bin/python3
"""Independent check of the avatar tokens and attestations in an exported trace (issue 11).

Reads the JSON export of a run (`testbed run 5:happy --format json > trace.json`), finds every
compact JWS that crossed a wire (data channel messages and HTTP bodies) whose JOSE `typ` is
`avatar+jwt` (solution 5's token) or `avatar-attestation+jwt` (solution 6's attestation), and
verifies each with PyJWT — a JOSE library independent of the testbed's Rust code — against the
owner's UE certificate from the fixture PKI:

  * the token's signer is the UE whose certificate names the token's `sub` (its IMPU);
  * the attestation's signer is the owner of its `avatar_id` (fixtures/avatars/avatars.toml).

The certificate is checked to be issued by the UE CA (fixtures/pki/ue-ca.pem). Times are not
checked: scenario runs use a fixed clock, so `exp` is printed instead (the DAC and BAR check it
against the run's clock; see the variants `*-expired`).

Usage: /usr/bin/python3 tools/jose-check.py TRACE.json [--expect-fail]
Needs Debian's python3-jwt (PyJWT) and python3-cryptography. Exits 1 when a JWS does not
verify (or, with --expect-fail, when every one does: for the forged and foreign-key variants).
"""

import json
import re
import sys
import tomllib
from pathlib import Path

try:
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as e:  # pragma: no cover - environment
    sys.exit(f"jose-check: {e}; install python3-jwt and python3-cryptography (apt)")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TYPS = {"avatar+jwt": "avatar token", "avatar-attestation+jwt": "UE-A attestation"}
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


def signer(typ, claims, certs, avatar_owners):
    """The UE whose key must have signed this JWS, and why."""
    if typ == "avatar+jwt":
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
                typ = jwt.get_unverified_header(jws).get("typ")
            except jwt.PyJWTError:
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
        sys.exit(f"jose-check: no avatar token or attestation in {args[0]}")
    failures = 0
    for jws, typ, hop in found:
        claims = jwt.decode(jws, options={"verify_signature": False})
        ue, why = signer(typ, claims, certs, avatar_owners)
        key = certs[ue][0].public_key() if ue in certs else None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            print(f"FAIL {TYPS[typ]} ({hop}): {why}")
            failures += 1
            continue
        try:
            jwt.decode(
                jws,
                key,
                algorithms=["ES256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as e:
            print(f"FAIL {TYPS[typ]} ({hop}) with {ue}'s certificate ({why}): {e}")
            failures += 1
            continue
        shown = {k: v for k, v in claims.items() if not k.startswith("epk")}
        keys = [k for k in claims if k.startswith("epk")]
        print(f"ok   {TYPS[typ]} ({hop}) verifies with {ue}'s certificate ({why}): {shown}"
              + (f" + {', '.join(keys)}" if keys else ""))
    print(f"{len(found)} checked with PyJWT {jwt.__version__}, {failures} failed")
    if expect_fail:
        return 0 if failures else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
