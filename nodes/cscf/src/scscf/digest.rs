//! SIP Digest for the registrar (RFC 3261 §22.4, with RFC 7616's SHA-256 and `qop=auth` as
//! RFC 8760 brings them to SIP): the challenge a REGISTER gets, the credentials its answer
//! carries, and the check of that answer against the H(A1) the HSS handed out. Pure; whether a
//! nonce is known and unused is [`super::nonces`]'s.

use proto::sipmsg::auth_params;
use sha2::{Digest as _, Sha256};

/// The algorithm challenged and accepted (RFC 8760 §2.1).
pub const ALGORITHM: &str = "SHA-256";

/// The legacy algorithm a served world's registrar also challenges clients that are not IMS
/// UEs with (RFC 2617, RFC 3261 §22.4; choice `serve-digest-md5`). Never in scenario worlds.
pub const ALGORITHM_MD5: &str = "MD5";

/// The only quality of protection challenged and accepted (RFC 7616 §3.3).
pub const QOP: &str = "auth";

/// Lowercase hex of SHA-256 over `text` (RFC 7616 §3.4: `H`).
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lowercase hex of MD5 over `text` (RFC 2617 §3.2.1: `H` of the legacy algorithm).
fn md5_hex(text: &str) -> String {
    use md5::Digest as _;
    md5::Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `response` of RFC 7616 §3.4.1 with `qop=auth`:
/// `H(H(A1) ":" nonce ":" nc ":" cnonce ":" "auth" ":" H(method ":" uri))`.
pub fn response(ha1: &str, nonce: &str, nc: &str, cnonce: &str, method: &str, uri: &str) -> String {
    let ha2 = sha256_hex(&format!("{method}:{uri}"));
    sha256_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{QOP}:{ha2}"))
}

/// [`response`] with MD5 as `H` (RFC 2617 §3.2.2.1), for the legacy challenge of served
/// worlds.
pub fn response_md5(
    ha1: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{QOP}:{ha2}"))
}

/// The private user identity of a REGISTER that names none (TS 24.229 §5.4.1.2.1): the public
/// user identity without its scheme, port and parameters (`sip:+1@ims.example;user=phone` →
/// `+1@ims.example`). `None` when nothing is left.
pub fn derive_impi(impu: &str) -> Option<String> {
    let uri = impu.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let rest = rest.split([';', '?']).next().unwrap_or(rest);
    let impi = match rest.rsplit_once('@') {
        Some((user, host)) => format!("{user}@{}", host.split(':').next().unwrap_or(host)),
        None => rest.to_owned(),
    };
    (!impi.is_empty() && !impi.starts_with('@')).then_some(impi)
}

/// The `WWW-Authenticate` value of a 401 challenging with `nonce` in `realm`.
pub fn challenge(realm: &str, nonce: &str) -> String {
    challenge_with(realm, nonce, ALGORITHM)
}

/// The `WWW-Authenticate` value of a 401 challenging with `nonce` in `realm` for `algorithm`.
pub fn challenge_with(realm: &str, nonce: &str, algorithm: &str) -> String {
    format!(r#"Digest realm="{realm}", nonce="{nonce}", algorithm={algorithm}, qop="{QOP}""#)
}

/// The Digest credentials an `Authorization` header carries (RFC 3261 §25.1
/// `digest-response`); absent parameters are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The private user identity (`username`).
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`: the challenge answered (empty in a first REGISTER, TS 24.229 §5.1.1.2.1).
    pub nonce: String,
    /// `uri`: the Request-URI.
    pub uri: String,
    /// `response`: the hex digest (empty in a first REGISTER).
    pub response: String,
    /// `algorithm`, if given.
    pub algorithm: Option<String>,
    /// `qop`, if given.
    pub qop: Option<String>,
    /// `nc`, if given.
    pub nc: Option<String>,
    /// `cnonce`, if given.
    pub cnonce: Option<String>,
}

impl Credentials {
    /// The credentials of a Digest `Authorization` value; `None` for another scheme, a
    /// malformed value, or one without `username`.
    pub fn parse(value: &str) -> Option<Self> {
        let (scheme, mut p) = auth_params(value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let mut take = |name: &str| p.remove(name);
        Some(Credentials {
            username: take("username").filter(|u| !u.is_empty())?,
            realm: take("realm").unwrap_or_default(),
            nonce: take("nonce").unwrap_or_default(),
            uri: take("uri").unwrap_or_default(),
            response: take("response").unwrap_or_default(),
            algorithm: take("algorithm"),
            qop: take("qop"),
            nc: take("nc"),
            cnonce: take("cnonce"),
        })
    }

    /// Whether these only name the private identity, answering no challenge (the first
    /// REGISTER of TS 24.229 §5.1.1.2.1: empty nonce and response).
    pub fn is_initial(&self) -> bool {
        self.nonce.is_empty() || self.response.is_empty()
    }
}

/// What a challenge was issued for: the private identity, what it may register, and its H(A1)
/// from the HSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The private user identity challenged.
    pub impi: String,
    /// The public user identities it may register.
    pub impus: Vec<String>,
    /// The realm challenged in.
    pub realm: String,
    /// H(A1) (hex).
    pub ha1: String,
    /// The algorithm challenged ([`ALGORITHM`], or [`ALGORITHM_MD5`] in served worlds).
    pub algorithm: String,
}

/// Why a Digest answer does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestError {
    /// A parameter `qop=auth` requires is missing or malformed (its name).
    Malformed(&'static str),
    /// A parameter differs from what was challenged (its name).
    Mismatch(&'static str),
    /// The response is not the digest of the user's credential (wrong password).
    WrongResponse,
}

impl std::fmt::Display for DigestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DigestError::Malformed(p) => write!(f, "Digest `{p}` missing or malformed"),
            DigestError::Mismatch(p) => write!(f, "Digest `{p}` is not the one challenged"),
            DigestError::WrongResponse => {
                f.write_str("the Digest response does not match the credential")
            }
        }
    }
}

/// Whether two strings are equal, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks the answer `c` to the challenge `issued` on a request with `method` and
/// `request_uri` (RFC 3261 §22.4, RFC 7616 §3.4): same user, realm, algorithm, `qop=auth`,
/// the Request-URI as `uri`, `nc` and `cnonce` present, and the response right.
pub fn verify(
    c: &Credentials,
    issued: &Issued,
    method: &str,
    request_uri: &str,
) -> Result<(), DigestError> {
    if c.username != issued.impi {
        return Err(DigestError::Mismatch("username"));
    }
    if c.realm != issued.realm {
        return Err(DigestError::Mismatch("realm"));
    }
    let md5 = issued.algorithm.eq_ignore_ascii_case(ALGORITHM_MD5);
    // RFC 2617 §3.2.2: an answer naming no algorithm means MD5; SHA-256 must be named.
    let named = c.algorithm.as_deref().or(md5.then_some(ALGORITHM_MD5));
    if !named.is_some_and(|a| a.eq_ignore_ascii_case(&issued.algorithm)) {
        return Err(DigestError::Mismatch("algorithm"));
    }
    if c.qop.as_deref() != Some(QOP) {
        return Err(DigestError::Mismatch("qop"));
    }
    if !c.uri.eq_ignore_ascii_case(request_uri) {
        return Err(DigestError::Mismatch("uri"));
    }
    let nc = c.nc.as_deref().unwrap_or_default();
    if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DigestError::Malformed("nc"));
    }
    let cnonce = c.cnonce.as_deref().unwrap_or_default();
    if cnonce.is_empty() {
        return Err(DigestError::Malformed("cnonce"));
    }
    let expected = if md5 {
        response_md5(&issued.ha1, &c.nonce, nc, cnonce, method, &c.uri)
    } else {
        response(&issued.ha1, &c.nonce, nc, cnonce, method, &c.uri)
    };
    if same(&expected, &c.response.to_ascii_lowercase()) {
        Ok(())
    } else {
        Err(DigestError::WrongResponse)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 7616 §3.9.1's SHA-256 example, from `testdata/`.
    fn rfc7616() -> serde_json::Value {
        serde_json::from_str(include_str!("../../testdata/rfc7616-3.9.1-sha256.json")).unwrap()
    }

    fn ha1(user: &str, realm: &str, password: &str) -> String {
        sha256_hex(&format!("{user}:{realm}:{password}"))
    }

    #[test]
    fn rfc7616_sha256_example() {
        let v = rfc7616();
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        let h = ha1(&s("username"), &s("realm"), &s("password"));
        assert_eq!(
            response(
                &h,
                &s("nonce"),
                &s("nc"),
                &s("cnonce"),
                &s("method"),
                &s("uri")
            ),
            s("response")
        );
        // The example's Authorization header, as a SIP Authorization value, verifies.
        let value = format!(
            r#"Digest username="{}", realm="{}", uri="{}", algorithm=SHA-256, nonce="{}", nc={}, cnonce="{}", qop=auth, response="{}", opaque="{}""#,
            s("username"),
            s("realm"),
            s("uri"),
            s("nonce"),
            s("nc"),
            s("cnonce"),
            s("response"),
            s("opaque")
        );
        let c = Credentials::parse(&value).unwrap();
        assert!(!c.is_initial());
        let issued = Issued {
            impi: s("username"),
            impus: Vec::new(),
            realm: s("realm"),
            ha1: h,
            algorithm: ALGORITHM.into(),
        };
        assert_eq!(verify(&c, &issued, "GET", &s("uri")), Ok(()));
        assert_eq!(
            verify(&c, &issued, "POST", &s("uri")),
            Err(DigestError::WrongResponse)
        );
    }

    fn answered(password: &str) -> (Credentials, Issued) {
        let (impi, realm, uri, nonce) = ("+1@ims.a", "ims.a", "sip:ims.a", "n1");
        let issued = Issued {
            impi: impi.into(),
            impus: vec!["sip:+1@ims.a".into()],
            realm: realm.into(),
            ha1: ha1(impi, realm, "secret"),
            algorithm: ALGORITHM.into(),
        };
        let r = response(
            &ha1(impi, realm, password),
            nonce,
            "00000001",
            "c1",
            "REGISTER",
            uri,
        );
        let value = format!(
            r#"Digest username="{impi}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{r}", algorithm=SHA-256, cnonce="c1", qop=auth, nc=00000001"#
        );
        (Credentials::parse(&value).unwrap(), issued)
    }

    /// A change to an answer's credentials.
    type Change = dyn Fn(&mut Credentials);

    #[test]
    fn answers_checked_field_by_field() {
        let (c, issued) = answered("secret");
        assert_eq!(verify(&c, &issued, "REGISTER", "sip:ims.a"), Ok(()));
        assert_eq!(verify(&c, &issued, "REGISTER", "SIP:IMS.A"), Ok(()));
        let (wrong, _) = answered("guess");
        assert_eq!(
            verify(&wrong, &issued, "REGISTER", "sip:ims.a"),
            Err(DigestError::WrongResponse)
        );
        let with = |f: &Change| {
            let mut c = c.clone();
            f(&mut c);
            verify(&c, &issued, "REGISTER", "sip:ims.a")
        };
        let cases: [(&Change, DigestError); 8] = [
            (
                &|c| c.username = "+2@ims.a".into(),
                DigestError::Mismatch("username"),
            ),
            (
                &|c| c.realm = "ims.b".into(),
                DigestError::Mismatch("realm"),
            ),
            (&|c| c.algorithm = None, DigestError::Mismatch("algorithm")),
            (
                &|c| c.algorithm = Some("MD5".into()),
                DigestError::Mismatch("algorithm"),
            ),
            (
                &|c| c.qop = Some("auth-int".into()),
                DigestError::Mismatch("qop"),
            ),
            (
                &|c| c.uri = "sip:ims.b".into(),
                DigestError::Mismatch("uri"),
            ),
            (&|c| c.nc = Some("1".into()), DigestError::Malformed("nc")),
            (&|c| c.cnonce = None, DigestError::Malformed("cnonce")),
        ];
        for (change, error) in cases {
            assert_eq!(with(change), Err(error));
        }
    }

    #[test]
    fn legacy_md5_answers_of_served_worlds() {
        // RFC 2617 §3.5's example (its H(A1) is the HSS's `ha1_md5` of Mufasa's password).
        let value = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let c = Credentials::parse(value).unwrap();
        let issued = Issued {
            impi: "Mufasa".into(),
            impus: Vec::new(),
            realm: "testrealm@host.com".into(),
            ha1: "939e7578ed9e3c518a452acee763bce9".into(),
            algorithm: ALGORITHM_MD5.into(),
        };
        assert_eq!(verify(&c, &issued, "GET", "/dir/index.html"), Ok(()));
        let named = Credentials {
            algorithm: Some("md5".into()),
            ..c.clone()
        };
        assert_eq!(verify(&named, &issued, "GET", "/dir/index.html"), Ok(()));
        let sha = Credentials {
            algorithm: Some(ALGORITHM.into()),
            ..c.clone()
        };
        assert_eq!(
            verify(&sha, &issued, "GET", "/dir/index.html"),
            Err(DigestError::Mismatch("algorithm"))
        );
        assert_eq!(
            verify(&c, &issued, "POST", "/dir/index.html"),
            Err(DigestError::WrongResponse)
        );
        assert_eq!(
            challenge_with("r", "n", ALGORITHM_MD5),
            r#"Digest realm="r", nonce="n", algorithm=MD5, qop="auth""#
        );
    }

    #[test]
    fn credentials_and_challenges() {
        assert_eq!(
            challenge("ims.a", "00ff"),
            r#"Digest realm="ims.a", nonce="00ff", algorithm=SHA-256, qop="auth""#
        );
        let first = Credentials::parse(
            r#"Digest username="+1@ims.a", realm="ims.a", uri="sip:ims.a", nonce="", response="""#,
        )
        .unwrap();
        assert!(first.is_initial());
        assert_eq!(first.username, "+1@ims.a");
        assert!(Credentials::parse(r#"Bearer realm="x""#).is_none());
        assert!(
            Credentials::parse(r#"Digest realm="x""#).is_none(),
            "no username"
        );
        assert!(Credentials::parse(r#"Digest username="""#).is_none());
    }

    #[test]
    fn private_identity_derived_from_the_public_one() {
        let d = |s: &str| derive_impi(s);
        assert_eq!(
            d("sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org").as_deref(),
            Some("+12025551000@ims.mnc001.mcc001.3gppnetwork.org")
        );
        assert_eq!(
            d("<sip:+1@ims.a:5060;user=phone>").as_deref(),
            Some("+1@ims.a")
        );
        assert_eq!(d("tel:+12025551000").as_deref(), Some("+12025551000"));
        assert_eq!(d("sip:"), None);
        assert_eq!(d("sip:@ims.a"), None);
    }
}
