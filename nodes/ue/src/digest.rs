//! The UE's side of SIP Digest registration (RFC 3261 §22.4, RFC 7616 with SHA-256 and
//! `qop=auth` as RFC 8760 brings them to SIP, TS 24.229 §5.1.1.2): the Authorization of a first
//! REGISTER that only names the private identity, the registrar's challenge in a 401, and the
//! Authorization answering it. Pure.

use proto::sip::Response;
use proto::sipmsg::{self, auth_params};
use sha2::{Digest as _, Sha256};

/// The only algorithm this UE answers (RFC 8760 §2.1).
pub const DIGEST_ALGORITHM: &str = "SHA-256";

/// A registrar's Digest challenge, as a 401 carries it in `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `algorithm`, if named (RFC 7616 §3.3: MD5 when absent).
    pub algorithm: Option<String>,
    /// `qop` options, if any (`auth`, `auth-int`).
    pub qop: Vec<String>,
    /// `opaque`, returned as given.
    pub opaque: Option<String>,
}

/// Why a Digest challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestUnsupported {
    /// Another algorithm than SHA-256 (named).
    Algorithm(String),
    /// No `qop=auth` offered.
    Qop,
}

impl std::fmt::Display for DigestUnsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DigestUnsupported::Algorithm(a) => write!(f, "algorithm {a} (only SHA-256 answered)"),
            DigestUnsupported::Qop => f.write_str("no qop=auth offered"),
        }
    }
}

/// The first `WWW-Authenticate` of `response` whose scheme is `Digest` and that has a realm
/// and a nonce.
pub fn digest_challenge(response: &Response) -> Option<DigestChallenge> {
    sipmsg::values(&response.headers, "WWW-Authenticate")
        .into_iter()
        .filter_map(auth_params)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Digest"))
        .find_map(|(_, mut p)| {
            Some(DigestChallenge {
                realm: p.remove("realm")?,
                nonce: p.remove("nonce").filter(|n| !n.is_empty())?,
                algorithm: p.remove("algorithm"),
                qop: p
                    .remove("qop")
                    .map(|q| q.split(',').map(|o| o.trim().to_owned()).collect())
                    .unwrap_or_default(),
                opaque: p.remove("opaque"),
            })
        })
}

/// A quoted-string (RFC 3261 §25.1): `"` and `\` escaped.
fn quoted(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// Lowercase hex of SHA-256 (RFC 7616 §3.4 `H`).
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// H(A1) of RFC 7616 §3.4.2 with SHA-256: `H(username ":" realm ":" password)`.
pub fn digest_ha1(username: &str, realm: &str, password: &str) -> String {
    sha256_hex(&format!("{username}:{realm}:{password}"))
}

/// The `response` of RFC 7616 §3.4.1 with SHA-256 and `qop=auth`:
/// `H(H(A1) ":" nonce ":" nc ":" cnonce ":" "auth" ":" H(method ":" uri))`.
pub fn digest_response(
    ha1: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
) -> String {
    let ha2 = sha256_hex(&format!("{method}:{uri}"));
    sha256_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

/// The Authorization of a first REGISTER (TS 24.229 §5.1.1.2.1): the private identity, the
/// home realm and the Request-URI, with an empty nonce and response.
pub fn digest_initial(impi: &str, realm: &str, uri: &str) -> String {
    format!(
        r#"Digest username={}, realm={}, uri={}, nonce="", response="""#,
        quoted(impi),
        quoted(realm),
        quoted(uri)
    )
}

/// The Authorization answering `challenge` for a `method` request to `uri` as `impi` with
/// `password` (nonce count 1: each nonce is answered once), with client nonce `cnonce`.
pub fn digest_authorization(
    challenge: &DigestChallenge,
    impi: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Result<String, DigestUnsupported> {
    let algorithm = challenge.algorithm.as_deref().unwrap_or("MD5");
    if !algorithm.eq_ignore_ascii_case(DIGEST_ALGORITHM) {
        return Err(DigestUnsupported::Algorithm(algorithm.to_owned()));
    }
    if !challenge.qop.iter().any(|q| q == "auth") {
        return Err(DigestUnsupported::Qop);
    }
    let nc = "00000001";
    let r = &challenge.realm;
    let n = &challenge.nonce;
    let response = digest_response(&digest_ha1(impi, r, password), method, uri, n, nc, cnonce);
    let mut value = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={DIGEST_ALGORITHM}, cnonce={}, qop=auth, nc={nc}",
        quoted(impi),
        quoted(r),
        quoted(n),
        quoted(uri),
        quoted(&response),
        quoted(cnonce)
    );
    if let Some(opaque) = &challenge.opaque {
        value.push_str(&format!(", opaque={}", quoted(opaque)));
    }
    Ok(value)
}

/// The private identity a public identity implies (TS 24.229 §5.4.1.2.1): without scheme,
/// port and parameters (`sip:+1@ims.example` → `+1@ims.example`).
pub fn derived_impi(impu: &str) -> String {
    let uri = impu.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let rest = rest.split([';', '?']).next().unwrap_or(rest);
    match rest.rsplit_once('@') {
        Some((user, host)) => format!("{user}@{}", host.split(':').next().unwrap_or(host)),
        None => rest.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn unauthorized(www: &str) -> Response {
        let text = format!(
            "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP ue:1;branch=z9hG4bK1\r\nFrom: <sip:+1@ims.a>;tag=1\r\nTo: <sip:+1@ims.a>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n{www}Content-Length: 0\r\n\r\n"
        );
        Response::try_from(text.as_str()).unwrap()
    }

    #[test]
    fn rfc7616_sha256_example() {
        // RFC 7616 §3.9.1, the SHA-256 response.
        assert_eq!(
            digest_response(
                &digest_ha1("Mufasa", "http-auth@example.org", "Circle of Life"),
                "GET",
                "/dir/index.html",
                "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                "00000001",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
            ),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn challenges_read_and_answered() {
        let r = unauthorized(
            "WWW-Authenticate: Bearer realm=\"x\", nonce=\"b\"\r\nWWW-Authenticate: Digest realm=\"ims.a\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth,auth-int\", opaque=\"o\"\r\n",
        );
        let c = digest_challenge(&r).unwrap();
        assert_eq!(
            c,
            DigestChallenge {
                realm: "ims.a".into(),
                nonce: "n1".into(),
                algorithm: Some("SHA-256".into()),
                qop: vec!["auth".into(), "auth-int".into()],
                opaque: Some("o".into()),
            }
        );
        let value =
            digest_authorization(&c, "+1@ims.a", "pw", "REGISTER", "sip:ims.a", "c1").unwrap();
        let (scheme, p) = auth_params(&value).unwrap();
        assert_eq!(scheme, "Digest");
        assert_eq!(p["username"], "+1@ims.a");
        assert_eq!(p["nc"], "00000001");
        assert_eq!(p["qop"], "auth");
        assert_eq!(p["opaque"], "o");
        assert_eq!(
            p["response"],
            digest_response(
                &digest_ha1("+1@ims.a", "ims.a", "pw"),
                "REGISTER",
                "sip:ims.a",
                "n1",
                "00000001",
                "c1"
            )
        );
        assert!(digest_challenge(&unauthorized("")).is_none());
        assert!(
            digest_challenge(&unauthorized(
                "WWW-Authenticate: Digest realm=\"r\", nonce=\"\"\r\n"
            ))
            .is_none()
        );
    }

    #[test]
    fn only_sha256_with_auth_answered() {
        let mut c = DigestChallenge {
            realm: "r".into(),
            nonce: "n".into(),
            algorithm: None,
            qop: vec!["auth".into()],
            opaque: None,
        };
        let answer =
            |c: &DigestChallenge| digest_authorization(c, "u", "p", "REGISTER", "sip:r", "c");
        assert_eq!(answer(&c), Err(DigestUnsupported::Algorithm("MD5".into())));
        c.algorithm = Some("sha-256".into());
        assert!(answer(&c).is_ok());
        c.qop = vec!["auth-int".into()];
        assert_eq!(answer(&c), Err(DigestUnsupported::Qop));
    }

    #[test]
    fn initial_authorization_and_derived_identity() {
        assert_eq!(
            digest_initial("+1@ims.a", "ims.a", "sip:ims.a"),
            r#"Digest username="+1@ims.a", realm="ims.a", uri="sip:ims.a", nonce="", response="""#
        );
        assert_eq!(
            derived_impi("sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org"),
            "+12025551000@ims.mnc001.mcc001.3gppnetwork.org"
        );
        assert_eq!(derived_impi("<sip:+1@h:5060;user=phone>"), "+1@h");
    }
}
