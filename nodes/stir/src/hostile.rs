//! Hostile PASSporTs and Identity headers, as data: the case table of
//! `fixtures/hostile/passports.toml` ([`Table`]), how each case's Identity values are made
//! ([`Case::identities`]: a signed token with its JOSE header, claims, signature or compact form
//! bent as the case says, or a raw value), and what a hostile certificate repository answers at
//! each path ([`repository`]: redirects, slow and huge answers, garbage). The STI-VS over Ms and
//! `testbed verify` are both driven from this one table, so both must give each case the SIP
//! answer and `verstat` it expects (RFC 8224 §6.2.2, TS 24.229 §7.2A.20).
//!
//! Pure: keys are passed in, nothing is fetched, and signing is deterministic (RFC 6979), so a
//! case always builds the same bytes.

use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::identity::IdentityHeader;
use crate::jose::{self, b64u};

/// The case table (TOML: `toml::from_str::<Table>`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The verifier's time and the Date header, seconds since the epoch (a case may say
    /// otherwise).
    pub now: i64,
    /// The caller as SIP asserts it.
    pub orig: String,
    /// The callee as SIP addresses it.
    pub dest: String,
    /// The host of the certificate repository every x5u names by default.
    pub cr: String,
    /// The cases.
    pub case: Vec<Case>,
}

/// How the signature part is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signature {
    /// ES256 over the token's own signing input.
    #[default]
    Sign,
    /// No signature at all (`alg` `none`).
    Empty,
    /// 32 bytes that are no ECDSA signature (an HMAC's length).
    Mac,
    /// A valid ES256 signature over other bytes (the same token with another `orig`).
    OtherBytes,
    /// The valid signature with `s` replaced by `n − s` when that is the larger: the high-s
    /// twin of a signature, which verifies the same (ECDSA malleability).
    HighS,
    /// `s = n`: outside `[1, n − 1]`.
    SIsN,
    /// The valid signature without its last byte.
    Truncated,
}

/// How the compact form is bent after signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// `header.payload.signature`.
    #[default]
    Compact,
    /// `header.payload`.
    TwoParts,
    /// `header.payload.signature.signature`.
    FourParts,
    /// The payload cut to a length no base64url text has (4k + 1 characters).
    Base64Length,
    /// A `+` (base64, not base64url) in the payload.
    Base64Chars,
}

/// A second Identity value of the same request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Second {
    /// The same value again.
    Same,
    /// Another `shaken` PASSporT of the same signer with `attest` `C`.
    AttestC,
}

/// What the verifier must answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The SIP status code of the first failing PASSporT; 200 when every PASSporT verifies.
    pub code: u16,
    /// Its reason phrase (`pass` when every PASSporT verifies).
    pub reason: String,
    /// The `verstat` the caller's number gets.
    pub verstat: String,
    /// A fragment of the failure's description (empty for a pass).
    #[serde(default)]
    pub why: String,
    /// The answer must come within this many milliseconds (a slow repository).
    #[serde(default)]
    pub within_ms: Option<u64>,
    /// How many requests the repository gets for the case: 0 for an x5u refused unfetched, 1
    /// for a redirect not followed (checked where a repository serves one case at a time).
    #[serde(default)]
    pub fetches: Option<usize>,
}

/// One hostile case: how its Identity values are made and what the verifier must answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short name.
    pub id: String,
    /// What it tries.
    pub what: String,
    /// The fixture certificate whose key signs and whose chain the repository serves
    /// (`sti-sp-1001`).
    #[serde(default = "default_signer")]
    pub signer: String,
    /// JOSE header members set (over `alg`, `ppt`, `typ`, `x5u`).
    #[serde(default)]
    pub header: Map<String, Value>,
    /// JOSE header members removed.
    #[serde(default)]
    pub drop_header: Vec<String>,
    /// Claims set (over `attest`, `dest`, `iat`, `orig`, `origid`).
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Claims removed.
    #[serde(default)]
    pub drop_claims: Vec<String>,
    /// `iat` is the verifier's time plus this (unless `claims` sets it).
    #[serde(default)]
    pub iat_offset: i64,
    /// A `pad` member of this many characters added to the JOSE header.
    #[serde(default)]
    pub pad_header: usize,
    /// A `pad` claim of this many characters.
    #[serde(default)]
    pub pad_claims: usize,
    /// The `x5u` (default: the signer's chain at the repository).
    #[serde(default)]
    pub x5u: Option<String>,
    /// The verifier fetches only from these hosts (default: any).
    #[serde(default)]
    pub x5u_hosts: Vec<String>,
    /// How the signature is made.
    #[serde(default)]
    pub signature: Signature,
    /// How the compact form is bent.
    #[serde(default)]
    pub shape: Shape,
    /// The `info` parameter (default: the `x5u`).
    #[serde(default)]
    pub info: Option<String>,
    /// The `alg` parameter (default `ES256`; empty: absent).
    #[serde(default)]
    pub alg_param: Option<String>,
    /// The `ppt` parameter (default: the token's `ppt`; empty: absent).
    #[serde(default)]
    pub ppt_param: Option<String>,
    /// The Identity value exactly as given, instead of a built one.
    #[serde(default)]
    pub raw: Option<String>,
    /// A second Identity value in the same request.
    #[serde(default)]
    pub second: Option<Second>,
    /// The verifier's time, if not the table's.
    #[serde(default)]
    pub now: Option<i64>,
    /// What the verifier must answer.
    pub expect: Expect,
}

fn default_signer() -> String {
    "sti-sp-1001".into()
}

/// The fixed `origid` of every built token (RFC 8588 §5 wants a UUID).
pub const ORIGID: &str = "6f4b0a4e-9f3a-4c3e-9d52-4a1c2b7e8d10";

/// The secp256r1 group order n, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `n − s`, big-endian (`s < n`).
fn negate(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        // In 0..=255 after the borrow: the cast keeps the value.
        out[i] = d as u8;
    }
    out
}

impl Table {
    /// The case named `id`.
    pub fn case(&self, id: &str) -> Option<&Case> {
        self.case.iter().find(|c| c.id == id)
    }

    /// The default x5u of a signer's chain.
    pub fn x5u(&self, signer: &str) -> String {
        format!("https://{}/certs/{signer}.pem", self.cr)
    }
}

impl Case {
    /// The verifier's time for this case.
    pub fn now(&self, table: &Table) -> i64 {
        self.now.unwrap_or(table.now)
    }

    /// The x5u its token names.
    pub fn x5u(&self, table: &Table) -> String {
        self.x5u.clone().unwrap_or_else(|| table.x5u(&self.signer))
    }

    /// The fixture path of the signing key.
    pub fn key_path(&self) -> String {
        format!("pki/{}.key.pem", self.signer)
    }

    /// The Identity values of the request, signed with `key` (the signer's).
    pub fn identities(&self, table: &Table, key: &SigningKey) -> Vec<String> {
        let first = self.value(table, key, &Map::new());
        let mut values = vec![first.clone()];
        match self.second {
            Some(Second::Same) => values.push(first),
            Some(Second::AttestC) => {
                let mut c = Map::new();
                c.insert("attest".into(), Value::from("C"));
                values.push(self.value(table, key, &c));
            }
            None => {}
        }
        values
    }

    fn header(&self, table: &Table) -> Map<String, Value> {
        let mut header = Map::new();
        header.insert("alg".into(), "ES256".into());
        header.insert("ppt".into(), "shaken".into());
        header.insert("typ".into(), "passport".into());
        header.insert("x5u".into(), self.x5u(table).into());
        header.extend(self.header.clone());
        for name in &self.drop_header {
            header.remove(name);
        }
        if self.pad_header > 0 {
            header.insert("pad".into(), "x".repeat(self.pad_header).into());
        }
        header
    }

    fn claims(&self, table: &Table, over: &Map<String, Value>) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("attest".into(), "A".into());
        claims.insert(
            "dest".into(),
            serde_json::json!({ "tn": [crate::passport::canonical_tn(&table.dest)] }),
        );
        claims.insert("iat".into(), (self.now(table) + self.iat_offset).into());
        claims.insert(
            "orig".into(),
            serde_json::json!({ "tn": crate::passport::canonical_tn(&table.orig) }),
        );
        claims.insert("origid".into(), ORIGID.into());
        claims.extend(self.claims.clone());
        claims.extend(over.clone());
        for name in &self.drop_claims {
            claims.remove(name);
        }
        if self.pad_claims > 0 {
            claims.insert("pad".into(), "x".repeat(self.pad_claims).into());
        }
        claims
    }

    fn value(&self, table: &Table, key: &SigningKey, over: &Map<String, Value>) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let header = self.header(table);
        let claims = self.claims(table, over);
        let jws = self.jws(&header, &claims, key);
        let x5u = self.x5u(table);
        let param = |given: &Option<String>, default: Option<String>| match given.as_deref() {
            Some("") => None,
            Some(v) => Some(v.to_owned()),
            None => default,
        };
        let token_ppt = header.get("ppt").and_then(Value::as_str).map(str::to_owned);
        IdentityHeader {
            jws,
            info: self.info.clone().unwrap_or(x5u),
            alg: param(&self.alg_param, Some("ES256".into())),
            ppt: param(&self.ppt_param, token_ppt),
            params: Vec::new(),
        }
        .to_header()
    }

    fn jws(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
        key: &SigningKey,
    ) -> String {
        // Canonical JSON of a map of JSON values cannot fail.
        let canonical = |m: &Map<String, Value>| jose::canonical_json(m).unwrap_or_default();
        let (h, p) = (b64u(&canonical(header)), b64u(&canonical(claims)));
        let input = format!("{h}.{p}");
        let sign = |input: &str| -> Vec<u8> {
            let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
            signature.to_bytes().to_vec()
        };
        let signature = match self.signature {
            Signature::Sign => sign(&input),
            Signature::Empty => Vec::new(),
            Signature::Mac => vec![0x5a; 32],
            Signature::OtherBytes => {
                let mut other = claims.clone();
                other.insert("orig".into(), serde_json::json!({ "tn": "12025551666" }));
                sign(&format!("{h}.{}", b64u(&canonical(&other))))
            }
            Signature::HighS => {
                let mut raw = sign(&input);
                let twin = negate(&raw[32..]);
                if twin.as_slice() > &raw[32..] {
                    raw[32..].copy_from_slice(&twin);
                }
                raw
            }
            Signature::SIsN => {
                let mut raw = sign(&input);
                raw[32..].copy_from_slice(&N);
                raw
            }
            Signature::Truncated => {
                let mut raw = sign(&input);
                raw.pop();
                raw
            }
        };
        let s = b64u(&signature);
        match self.shape {
            Shape::Compact => format!("{input}.{s}"),
            Shape::TwoParts => input,
            Shape::FourParts => format!("{input}.{s}.{s}"),
            Shape::Base64Length => {
                let cut = p.len() - (p.len() - 1) % 4;
                format!("{h}.{}.{s}", &p[..cut])
            }
            Shape::Base64Chars => format!("{h}.+{p}.{s}"),
        }
    }
}

/// What a hostile certificate repository answers for a path (the test servers carry it out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `200` with the fixture chain of this stem (`/certs/<stem>.pem`).
    Chain(String),
    /// `302` to this location (`/redirect/<stem>.pem`: to the chain at `/certs/`).
    Redirect(String),
    /// The chain, after this many milliseconds (`/slow/<stem>.pem`).
    Slow(String, u64),
    /// `200` with this many bytes of base64 text (`/huge/…`).
    Huge(usize),
    /// `200` with text that is no certificate (`/garbage/…`).
    Garbage,
    /// `404`.
    NotFound,
}

/// How long the slow repository waits before answering: longer than any verifier waits.
pub const SLOW_MS: u64 = 10_000;
/// How much the huge repository sends: far more than any chain limit.
pub const HUGE_BYTES: usize = 4 * 1024 * 1024;

/// The answer of the hostile repository at `host` for the request target `target`.
pub fn repository(host: &str, target: &str) -> Answer {
    let stem = |rest: &str| rest.strip_suffix(".pem").map(str::to_owned);
    let (dir, file) = target
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", ""));
    match (dir, stem(file)) {
        ("certs", Some(s)) if s.starts_with("sti-sp-") && !s.contains(['/', '.']) => {
            Answer::Chain(s)
        }
        ("redirect", Some(s)) => Answer::Redirect(format!("https://{host}/certs/{s}.pem")),
        ("slow", Some(s)) => Answer::Slow(s, SLOW_MS),
        ("huge", _) => Answer::Huge(HUGE_BYTES),
        ("garbage", _) => Answer::Garbage,
        _ => Answer::NotFound,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_high_s_twin_is_n_minus_s() {
        let mut one = [0u8; 32];
        one[31] = 1;
        let mut n_minus_one = N;
        n_minus_one[31] -= 1;
        assert_eq!(negate(&one), n_minus_one);
        assert_eq!(negate(&n_minus_one), one);
    }

    fn case(extra: &str) -> (Table, Case) {
        let text = format!(
            "now = 1\norig = \"+12025551000\"\ndest = \"+12155551001\"\ncr = \"cr.example\"\n\
             [[case]]\nid = \"c\"\nwhat = \"w\"\n{extra}\n\
             expect = {{ code = 200, reason = \"pass\", verstat = \"TN-Validation-Passed\" }}\n"
        );
        let table: Table = toml::from_str(&text).unwrap();
        let case = table.case[0].clone();
        (table, case)
    }

    fn jws(extra: &str) -> String {
        let (table, case) = case(extra);
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let value = case.identities(&table, &key).remove(0);
        IdentityHeader::parse(&value).map_or(value, |id| id.jws)
    }

    #[test]
    fn cases_bend_what_they_say() {
        let good = jws("");
        assert_eq!(good.split('.').count(), 3);
        let decoded = crate::passport::decode(&good).unwrap();
        assert_eq!(
            decoded.header_json["x5u"],
            "https://cr.example/certs/sti-sp-1001.pem"
        );
        assert_eq!(decoded.claims_json["iat"], 1);
        assert_eq!(jws("shape = \"two-parts\"").split('.').count(), 2);
        assert_eq!(jws("shape = \"four-parts\"").split('.').count(), 4);
        let cut = jws("shape = \"base64-length\"");
        assert_eq!(cut.split('.').nth(1).unwrap().len() % 4, 1);
        // The high-s twin is high, and differs from the signer's only in s.
        let high = jws("signature = \"high-s\"");
        let raw =
            jose::b64u_decode(high.split('.').nth(2).unwrap(), jose::Part::Signature).unwrap();
        assert!(raw[32..] > negate(&raw[32..])[..]);
        let signed =
            jose::b64u_decode(good.split('.').nth(2).unwrap(), jose::Part::Signature).unwrap();
        assert_eq!(raw[..32], signed[..32]);
        let (table, case) = case("second = \"attest-c\"\ndrop_claims = [\"origid\"]");
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let values = case.identities(&table, &key);
        assert_eq!(values.len(), 2);
        assert_ne!(values[0], values[1]);
    }

    #[test]
    fn the_repository_answers_by_path() {
        let h = "cr.example";
        assert_eq!(
            repository(h, "/certs/sti-sp-1001.pem"),
            Answer::Chain("sti-sp-1001".into())
        );
        assert_eq!(
            repository(h, "/redirect/sti-sp-1001.pem"),
            Answer::Redirect("https://cr.example/certs/sti-sp-1001.pem".into())
        );
        assert_eq!(repository(h, "/huge/x.pem"), Answer::Huge(HUGE_BYTES));
        assert_eq!(repository(h, "/certs/../key.pem"), Answer::NotFound);
        assert_eq!(repository(h, "/"), Answer::NotFound);
    }
}
