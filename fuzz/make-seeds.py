#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/seeds/<target>/) from the repository's own
material: messages, tokens and bodies of the scenario traces (snapshots/*.json.snap, with the
redacted ports and DTLS fingerprint filled in again), the fixture PKI (fixtures/pki) and the
fixture avatars and jCards. Tokens the traces do not carry whole are signed here with the fixture
keys (ES256 over canonical JSON, as the nodes sign them), so they verify in the targets.

Needs python3-cryptography. Run from anywhere: `python3 fuzz/make-seeds.py`. Deterministic
except for ECDSA signatures (random nonces here; the nodes use RFC 6979).
"""

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
PKI = ROOT / "fixtures" / "pki"

NOW = 1_772_442_000
X5U = "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/sti-sp-1001.pem"
OWNER = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org"
CALL_ID = "be62a78f359407d6@ue-a.ims.mnc001.mcc001.3gppnetwork.org"
XR_AS = "xr-as.ims.mnc001.mcc001.3gppnetwork.org"
DAC = "dac.avatars.example"
NEF = "nef.ims.mnc001.mcc001.3gppnetwork.org"
PORTS = {
    "ue-a": 40100, "ue-b": 40200, "pcscf-o": 5060, "scscf-o": 5062, "as-o": 5064,
    "ibcf-o": 5066, "ibcf-t": 5068, "scscf-t": 5070, "pcscf-t": 5072, "as-t": 5074,
}
FINGERPRINT = ":".join(f"{b:02X}" for b in hashlib.sha256(b"fuzz dtls").digest())


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def canonical(value) -> bytes:
    # RFC 8785 for the values used here (strings, integers, objects, arrays).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key(path: str):
    return serialization.load_pem_private_key((PKI / path).read_bytes(), None)


def cert_der(path: str) -> bytes:
    return x509.load_pem_x509_certificate((PKI / path).read_bytes()).public_bytes(
        serialization.Encoding.DER
    )


def sign(private, header: dict, claims: dict) -> str:
    h, p = b64u(canonical(header)), b64u(canonical(claims))
    der = private.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{h}.{p}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def write(target: str, name: str, data) -> None:
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def strings(o):
    if isinstance(o, dict):
        for v in o.values():
            yield from strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from strings(v)
    elif isinstance(o, str):
        yield o


def trace(name: str):
    text = (ROOT / "snapshots" / f"{name}.json.snap").read_text()
    # Line ends normalised to LF here; sip_wire() puts CRLF back.
    return [s.replace("\r\n", "\n") for s in strings(json.loads(text.split("---\n", 2)[2]))]


def unredact(text: str) -> str:
    text = text.replace("<dtls-fingerprint>", FINGERPRINT)
    return re.sub(r"<([a-z0-9-]+)>", lambda m: str(PORTS.get(m.group(1), 5080)) if m.group(1) in PORTS else m.group(0), text)


def sip_wire(raw: str) -> bytes:
    """A traced SIP message as it went on the wire: CRLF line ends, the real Content-Length."""
    raw = unredact(raw)
    head, _, body = raw.partition("\n\n")
    body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    lines = [l for l in head.split("\n") if not l.lower().startswith("content-length:")]
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def http_body(raw: str) -> str:
    return raw.split("\n\n", 1)[1] if "\n\n" in raw else raw


def first(strings_, pred):
    return next(s for s in strings_ if pred(s))


def main() -> None:
    if SEEDS.exists():
        shutil.rmtree(SEEDS)
    boot = trace("2__dc-bootstrap")
    intercepted = trace("6__ue-b-intercepted")

    # ---- sip_message -------------------------------------------------------------------------
    invite = first(boot, lambda s: s.startswith("INVITE ") and re.search(r"^Identity: ", s, re.M))
    write("sip_message", "invite-identity-rcd-dcmap.sip", sip_wire(invite))
    seen = set()
    for s in boot:
        m = re.match(r"^(?:SIP/2\.0 (\d{3})[^\n]*|([A-Z]+) \S+ SIP/2\.0)\n", s)
        if not m:
            continue
        kind = m.group(1) or m.group(2)
        if kind in seen or kind == "INVITE" and "Identity:" in s:
            continue
        seen.add(kind)
        write("sip_message", f"{kind.lower()}.sip", sip_wire(s))
    bye = (ROOT / "fuzz/seeds/sip_message/bye.sip")
    stream = b"\r\n\r\n" + sip_wire(invite) + (bye.read_bytes() if bye.exists() else b"")
    write("sip_message", "tcp-stream-keepalive-two-messages.sip", stream)
    write("sip_message", "bad-cseq.sip", b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK1\r\nCSeq: nonsense INVITE\r\nFoo: bar\r\n\r\n")

    # ---- sdp ---------------------------------------------------------------------------------
    offer = unredact(invite.split("\n\n", 1)[1]).replace("\n", "\r\n")
    write("sdp", "offer-audio-two-dc-sections.sdp", offer)
    answer = first(boot, lambda s: s.startswith("SIP/2.0 200") and "m=application" in s)
    write("sdp", "answer.sdp", unredact(answer.split("\n\n", 1)[1]).replace("\n", "\r\n"))
    write("sdp", "session-level-attributes.sdp", "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA:BB\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=candidate:123 1 udp 2130706431 127.0.0.1 5555 typ host\r\na=candidate:9 1 tcp 1 127.0.0.1 9 typ host tcptype active\r\na=dcmap:2 label=\"x\";max-time=150;priority=256\r\na=dcsa:2 accept-types:application/json\r\n")
    write("sdp", "declined.sdp", "v=0\r\no=- 5 6 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=inactive\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:dc\r\n")

    # ---- identity_header ---------------------------------------------------------------------
    identities = re.findall(r"^Identity: (.*)$", invite, re.M)
    write("identity_header", "shaken.txt", identities[0])
    write("identity_header", "rcd.txt", identities[1])
    write("identity_header", "list.txt", ", ".join(identities))
    call_info = re.search(r"^Call-Info: (.*)$", invite, re.M).group(1)
    write("identity_header", "call-info.txt", call_info + " , <https://x.example/i.png>;purpose=icon")
    write("identity_header", "unquoted-ppt-extra-param.txt", "a.b.c ; info=<https://x/y> ; alg=ES256 ; ppt=shaken ; foo=\"b\\\"ar\";flag")

    # ---- passport ----------------------------------------------------------------------------
    write("passport", "0-shaken.txt", "0" + identities[0])
    write("passport", "0-rcd.txt", "0" + identities[1])
    def parts(identity):
        token, params = identity.split(";", 1)
        h, p, _ = token.split(".")
        pad = lambda t: t + "=" * (-len(t) % 4)
        return ";" + params, base64.urlsafe_b64decode(pad(h)).decode(), base64.urlsafe_b64decode(pad(p)).decode()
    for name, identity in (("shaken", identities[0]), ("rcd", identities[1])):
        params, h, p = parts(identity)
        write("passport", f"1-signed-{name}.txt", f"1{params}\n{h}\n{p}")
    avatar_claims = {"avatar": {"app": "avatar-call", "id": "qbranch-agent", "impu": OWNER},
                     "dest": {"tn": ["12155551001"]}, "iat": NOW, "orig": {"tn": "12025551000"}}
    write("passport", "1-signed-avatar.txt", "1;info=<" + X5U + ">;alg=ES256;ppt=\"avatar\"\n"
          + json.dumps({"alg": "ES256", "ppt": "avatar", "typ": "passport", "x5u": X5U}, separators=(",", ":"))
          + "\n" + json.dumps(avatar_claims, separators=(",", ":")))
    rcd_jcd = {"crn": "Gadget delivery", "dest": {"tn": ["12155551001"]}, "iat": NOW, "orig": {"tn": "12025551000"},
               "rcd": {"nam": "Q", "jcd": ["vcard", [["fn", {}, "text", "Q"], ["logo", {}, "uri", "https://id.enterprise.example/logos/q-branch.png"]]]},
               "rcdi": {"/nam": "sha256-" + base64.b64encode(hashlib.sha256(b"Q").digest()).decode()}}
    write("passport", "1-signed-rcd-jcd.txt", "1;info=<" + X5U + ">;ppt=rcd\n"
          + json.dumps({"alg": "ES256", "ppt": "rcd", "typ": "passport", "x5u": X5U}, separators=(",", ":"))
          + "\n" + json.dumps(rcd_jcd, separators=(",", ":")))
    write("passport", "2-chain-1001.pem", b"2" + (PKI / "sti-sp-1001.chain.pem").read_bytes())
    write("passport", "2-chain-revoked.pem", b"2" + (PKI / "sti-sp-revoked.chain.pem").read_bytes())
    write("passport", "2-chain-wrongtn.pem", b"2" + (PKI / "sti-sp-wrongtn.chain.pem").read_bytes())
    write("passport", "3-crl.pem", b"3" + (PKI / "sti-ica.crl.pem").read_bytes())
    crl = x509.load_pem_x509_crl((PKI / "sti-ica.crl.pem").read_bytes())
    write("passport", "3-crl.der", b"3" + crl.public_bytes(serialization.Encoding.DER))
    for name in ("sti-sp-1001", "sti-sp-wrongtn"):
        c = x509.load_pem_x509_certificate((PKI / f"{name}.pem").read_bytes())
        ext = c.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26"))
        write("passport", f"3-tnauthlist-{name}.der", b"3" + ext.value.value)
    # a TNAuthList with an SPC, a range and one number
    ia5 = lambda s: bytes([0x16, len(s)]) + s.encode()
    rng = bytes([0x30]) + bytes([len(ia5("12025551000") + b"\x02\x01\x0a")]) + ia5("12025551000") + b"\x02\x01\x0a"
    entries = b"\xa0" + bytes([len(ia5("1001"))]) + ia5("1001") + b"\xa1" + bytes([len(rng)]) + rng + b"\xa2" + bytes([len(ia5("12155551001"))]) + ia5("12155551001")
    write("passport", "3-tnauthlist-spc-range-one.der", b"3\x30" + bytes([len(entries)]) + entries)

    # ---- rcd ---------------------------------------------------------------------------------
    jcard = (ROOT / "fixtures/enterprise/jcards/q-branch.json").read_text()
    _, _, p = parts(identities[1])
    claims = json.loads(p)
    write("rcd", "jcl-nam.json", json.dumps({"rcd": claims["rcd"], "rcdi": claims["rcdi"],
                                             "fetched": {claims["rcd"]["jcl"]: jcard}}, indent=1))
    write("rcd", "embedded-jcard-icon.json", json.dumps({
        "rcd": {"nam": "Alice Liddell", "icn": "https://id.enterprise.example/logos/q-branch.png",
                "jcd": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Alice Liddell"],
                                  ["tel", {"type": ["work", "voice"]}, "uri", "tel:+1-202-555-1000"],
                                  ["logo", {}, "uri", "https://id.enterprise.example/logos/a.png"]]]},
        "fetched": {"https://id.enterprise.example/logos/q-branch.png": "PNG", "https://id.enterprise.example/logos/a.png": "PNG2"}}, indent=1))
    write("rcd", "sri.txt", "sha384-" + base64.b64encode(hashlib.sha384(b"x").digest()).decode())

    # ---- ms_json -----------------------------------------------------------------------------
    for key_, name in (('"signingRequest"', "signing-request"), ('"signingResponse"', "signing-response"),
                       ('"verificationRequest"', "verification-request"), ('"verificationResponse"', "verification-response")):
        raw = first(boot, lambda s, k=key_: k in s and ("HTTP/1.1" in s.split("\n", 1)[0]))
        write("ms_json", f"{name}.json", http_body(raw))
    write("ms_json", "signing-request-rcd.json", json.dumps({"signingRequest": {
        "ppt": "rcd", "attest": "A", "dest": {"tn": ["12155551001"]}, "iat": NOW, "orig": {"tn": "12025551000"},
        "rcd": claims["rcd"], "rcdi": claims["rcdi"], "crn": claims["crn"], "requestId": "r-1"}}))
    write("ms_json", "signing-request-avatar.json", json.dumps({"signingRequest": {
        "ppt": "avatar", "dest": {"tn": ["12155551001"]}, "iat": NOW, "orig": {"tn": "12025551000"},
        "avatar": {"id": "qbranch-agent", "app": "avatar-call", "impu": OWNER}}}))
    write("ms_json", "verify-result-fail.json", json.dumps({"ppt": "shaken", "status": "fail", "reasonCode": 438,
        "reasonText": "Invalid Identity Header", "reasonDescription": "bad signature", "passport": "a.b.c"}))
    write("ms_json", "error.json", '{"error":"Missing Mandatory Parameter: orig"}')

    # ---- avatar_jws --------------------------------------------------------------------------
    ue_a = key("ue/ue-a.key.pem")
    nef = key(f"tls/{NEF}.key.pem")
    dac = key(f"tls/{DAC}.key.pem")
    ue_cert = cert_der("ue/ue-a.pem")
    nef_cert = cert_der(f"tls/{NEF}.pem")
    dac_cert = cert_der(f"tls/{DAC}.pem")
    x5t = lambda der: b64u(hashlib.sha256(der).digest())

    def own_public(seed: int) -> dict:
        pub = ec.derive_private_key(int.from_bytes(bytes([seed]) * 32, "big"), ec.SECP256R1()).public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64u(pub.x.to_bytes(32, "big")), "y": b64u(pub.y.to_bytes(32, "big"))}

    tokens = {
        "avatar-token": (ue_a, {"alg": "ES256", "typ": "avatar+jwt"},
                         {"avatar_id": "qbranch-agent", "sub": OWNER, "call_id": CALL_ID, "iat": NOW, "exp": NOW + 300, "jti": "t-1"}),
        "attestation-ue-a-centric": (ue_a, {"alg": "ES256", "typ": "avatar-attestation+jwt"},
                                     {"avatar_id": "qbranch-agent", "xr_as": XR_AS, "rendering": "ue-a-centric", "epk_ue_a": own_public(7), "exp": NOW + 300}),
        "attestation-network-centric": (ue_a, {"alg": "ES256", "typ": "avatar-attestation+jwt"},
                                        {"avatar_id": "qbranch-agent", "xr_as": XR_AS, "rendering": "network-centric", "exp": NOW + 300}),
        "aos-request": (ue_a, {"alg": "ES256", "typ": "aos-request+jwt"},
                        {"sub": OWNER, "avatar_id": "qbranch-agent", "call_id": CALL_ID, "iat": NOW}),
        "ue-token": (ue_a, {"alg": "ES256", "typ": "ue-token+jwt", "x5t#S256": x5t(ue_cert)},
                     {"sub": OWNER, "xr_as": XR_AS, "iat": NOW, "exp": NOW + 300, "call": CALL_ID}),
        "access-token": (nef, {"alg": "ES256", "typ": "at+jwt", "x5t#S256": x5t(nef_cert)},
                         {"iss": NEF, "sub": XR_AS, "aud": DAC, "scope": "avatar-metadata:read", "avatar_id": "qbranch-agent",
                          "app_id": "avatar-call", "impu": OWNER, "iat": NOW, "exp": NOW + 300, "jti": "at-1"}),
    }
    model = json.loads((ROOT / "fixtures/avatars/qbranch-agent.json").read_text())
    tokens["metadata"] = (dac, {"alg": "ES256", "typ": "avatar-metadata+jwt", "x5t#S256": x5t(dac_cert)},
                          {"iss": DAC, "avatar_id": "qbranch-agent", "name": model["name"], "model": model, "iat": NOW, "exp": NOW + 600})
    mode_of = {ue_a: "1", nef: "2", dac: "3"}
    for name, (k, h, c) in tokens.items():
        write("avatar_jws", f"0-{name}.jws", "0" + sign(k, h, c))
        write("avatar_jws", f"{mode_of[k]}-{name}.txt", mode_of[k] + json.dumps(h, separators=(",", ":")) + "\n" + json.dumps(c, separators=(",", ":")))
    # a protected avatar object for the target's own ephemeral key (seed 7), from the DAC's (seed 9)
    own = own_public(7)
    dac_eph = ec.derive_private_key(int.from_bytes(bytes([9]) * 32, "big"), ec.SECP256R1())
    peer = ec.EllipticCurvePublicNumbers(int.from_bytes(base64.urlsafe_b64decode(own["x"] + "="), "big"),
                                         int.from_bytes(base64.urlsafe_b64decode(own["y"] + "="), "big"), ec.SECP256R1()).public_key()
    shared = dac_eph.exchange(ec.ECDH(), peer)
    salt, nonce = bytes(range(16)), bytes(range(12))
    info = "TR 33.790 avatar object|qbranch-agent|ue-a-centric"
    session = HKDF(hashes.SHA256(), 32, salt, info.encode()).derive(shared)
    ct = AESGCM(session).encrypt(nonce, canonical(model), b"qbranch-agent")
    write("avatar_jws", "4-protected.json", "4" + json.dumps({"alg": "ECDH-P256+HKDF-SHA256+A256GCM", "epk": own_public(9),
        "salt": b64u(salt), "info": info, "nonce": b64u(nonce), "aad": "qbranch-agent", "ciphertext": b64u(ct)}))
    for name in ("owl", "shark"):
        m = json.loads((ROOT / f"fixtures/avatars/{name}.json").read_text())
        write("avatar_jws", f"5-model-{name}.json", "5" + json.dumps(m, separators=(",", ":")) + "\n" + '{"eyes_open":40,"mouth_open":90,"smile":-60,"gaze":100}')
    write("avatar_jws", "6-token-request.form", "6grant_type=client_credentials&scope=avatar-metadata%3Aread&signed_avatar_id=a.b.c&ue_token=d.e.f&app_id=avatar-call")
    deliver = first(intercepted, lambda s: '"type":"protected-avatar"' in s and s.startswith("POST "))
    write("avatar_jws", "7-dc-protected-avatar.json", "7" + json.dumps(json.loads(http_body(deliver))["message"]))
    write("avatar_jws", "7-dc-facial-points.json", '7{"type":"facial-points","seq":3,"points":{"eyes_open":100,"mouth_open":0,"smile":0,"gaze":0}}')

    # ---- nef_bodies --------------------------------------------------------------------------
    write("nef_bodies", "0-allocation.json", '0{"employee_impu":"sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org","id3p":"tel:+12025550100"}')
    authorize = first(trace("4__authenticate"), lambda s: s.startswith("POST /3gpp-3pid/v1/authorize"))
    write("nef_bodies", "1-authorize-b.json", "1" + http_body(authorize))
    write("nef_bodies", "1-authorize-a-proof.json", '1{"impu":"sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org","option":"A","proof":{"nonce":"n-1","signature":"AAAA"}}')
    write("nef_bodies", "2-subscribe.json", '2{"impu":"sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org","events":["dc-established","app-downloaded"],"notifyUri":"https://dc-as.avatars.example:8443/notify/1"}')
    write("nef_bodies", "3-control-adc.json", '3{"impu":"sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org","operation":"establish","target":"adc","appId":"screen-share"}')
    write("nef_bodies", "3-control-download.json", '3{"impu":"sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org","operation":"download","target":"bdc","appId":"avatar-call","dcId":"dc-1"}')
    write("nef_bodies", "4-notification.json", '4{"event":"dc-established","caller":"sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org","callee":"sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org","dcId":"dc-1","target":"adc","app":{"id":"screen-share","name":"Screen share","url":"https://apps.example/s"},"at":1772442000}')
    write("nef_bodies", "5-grant-form.form", "5grant_type=client_credentials&scope=dc-events&resource=nef-dc-exposure")
    write("nef_bodies", "5-oauth-form.form", "5grant_type=client_credentials&scope=avatar-metadata%3Aread&signed_avatar_id=a.b.c&ue_token=d.e.f&app_id=avatar-call")
    dc_as = cert_der("tls/dc-as.avatars.example.pem")
    exp_h = {"alg": "ES256", "typ": "at+jwt", "x5t#S256": x5t(nef_cert)}
    exp_c = {"iss": NEF, "sub": "dc-as.avatars.example", "aud": "nef-dc-exposure", "scope": "dc-events dc-control",
             "iat": NOW, "exp": NOW + 300, "jti": "dc-at1", "cnf": {"x5t#S256": x5t(dc_as)}}
    write("nef_bodies", "6-exposure-token.jws", "6" + sign(nef, exp_h, exp_c))
    write("nef_bodies", "6-exposure-token-signed.txt", "6" + json.dumps(exp_h, separators=(",", ":")) + "\n" + json.dumps(exp_c, separators=(",", ":")))
    write("nef_bodies", "7-dc-as-cert.der", b"7" + dc_as)


if __name__ == "__main__":
    main()
