//! Rich Call Data (RFC 9795): the `rcd` claim, `rcdi` integrity digests and the SIP Call-Info
//! header that carries RCD outside the token (RFC 9796).
//!
//! `rcdi` maps a JSON pointer into the `rcd` claim to an SRI-style digest (`sha256-<base64>`,
//! W3C Subresource Integrity). What is digested depends on what the pointer names:
//! - a URI-valued member (`/jcl`, `/icn`, or a URI inside an embedded jCard): the bytes fetched
//!   from that URI, which the caller supplies in [`Fetched`] (this crate does no I/O);
//! - an embedded object or array (`/jcd`): its RFC 8785 (JCS) canonical form;
//! - any other string (`/nam`, `/apn`): its UTF-8 bytes.
//!
//! Every URI member must be covered (RFC 9795 §6.2.2: the content behind a URI is what the
//! callee is shown, and the signature covers only the URI): [`check_rcdi`] reports a URI member
//! without an `rcdi` entry as [`DigestStatus::Uncovered`], so such RCD is never intact.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256, Sha384};

use crate::{Error, jose};

/// The `rcd` claim (RFC 9795 §6.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rcd {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nam: Option<String>,
    /// jCard URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jcl: Option<String>,
    /// Embedded jCard (RFC 7095 JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jcd: Option<Value>,
    /// Icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icn: Option<String>,
    /// Alternate presentation number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apn: Option<String>,
    /// Every other member, as carried.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Digest algorithms an `rcdi` value may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DigestAlg {
    /// SHA-256 (`sha256-…`).
    Sha256,
    /// SHA-384 (`sha384-…`).
    Sha384,
}

impl DigestAlg {
    /// The SRI algorithm prefix (`sha256`, `sha384`).
    pub fn prefix(self) -> &'static str {
        match self {
            DigestAlg::Sha256 => "sha256",
            DigestAlg::Sha384 => "sha384",
        }
    }

    /// The raw digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha256 => Sha256::digest(bytes).to_vec(),
            DigestAlg::Sha384 => Sha384::digest(bytes).to_vec(),
        }
    }

    /// SRI form: `<alg>-<standard base64, padded>`.
    pub fn sri(self, bytes: &[u8]) -> String {
        format!("{}-{}", self.prefix(), STANDARD.encode(self.digest(bytes)))
    }
}

/// Content fetched from URIs the `rcd` claim names, keyed by URI.
pub type Fetched = BTreeMap<String, Vec<u8>>;

/// What one `rcdi` entry turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum DigestStatus {
    /// The recomputed digest equals the signed one.
    Match,
    /// The content differs from what was signed.
    Mismatch {
        /// The signed SRI value.
        expected: String,
        /// The SRI value of the content now.
        computed: String,
    },
    /// The pointer names a URI whose content was not supplied.
    NotFetched {
        /// The URI.
        uri: String,
    },
    /// The pointer does not resolve inside `rcd`.
    Unresolved,
    /// The value is not `sha256-…`/`sha384-…` base64.
    Unsupported {
        /// The value as signed.
        value: String,
    },
    /// A URI member of `rcd` that no `rcdi` entry covers: what is behind it was not signed.
    Uncovered {
        /// The URI.
        uri: String,
    },
}

impl DigestStatus {
    /// Whether the digest matched.
    pub fn is_match(&self) -> bool {
        matches!(self, DigestStatus::Match)
    }
}

/// True for members whose value is a URI and whose digest covers the content behind it.
fn is_uri_member(pointer: &str, value: &str) -> bool {
    let last = pointer.rsplit('/').next().unwrap_or_default();
    matches!(last, "jcl" | "icn")
        || (pointer.starts_with("/jcd/")
            && (value.starts_with("https://") || value.starts_with("http://")))
}

/// The bytes an `rcdi` digest covers for the value at `pointer`, or the URI that must be fetched.
fn digest_input(pointer: &str, value: &Value, fetched: &Fetched) -> Result<Vec<u8>, DigestStatus> {
    match value {
        Value::String(s) if is_uri_member(pointer, s) => fetched
            .get(s)
            .cloned()
            .ok_or_else(|| DigestStatus::NotFetched { uri: s.clone() }),
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        other => jose::canonical_json(other).map_err(|_| DigestStatus::Unresolved),
    }
}

/// Every URI member of `rcd` with its JSON pointer: `/jcl`, `/icn`, and every `http(s)` URI
/// inside an embedded jCard (`/jcd/1/4/3`), in pointer order.
pub fn uri_members(rcd: &Rcd) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(jcl) = &rcd.jcl {
        out.push(("/jcl".to_owned(), jcl.clone()));
    }
    if let Some(icn) = &rcd.icn {
        out.push(("/icn".to_owned(), icn.clone()));
    }
    if let Some(jcd) = &rcd.jcd {
        embedded_uris("/jcd", jcd, &mut out);
    }
    out.sort();
    out
}

/// The URIs inside an embedded value, with their pointers (RFC 6901 escaping for keys).
fn embedded_uris(pointer: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if is_uri_member(pointer, s) => out.push((pointer.to_owned(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                embedded_uris(&format!("{pointer}/{i}"), item, out);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let key = key.replace('~', "~0").replace('/', "~1");
                embedded_uris(&format!("{pointer}/{key}"), member, out);
            }
        }
        _ => {}
    }
}

/// Computes `rcdi` for every member of `rcd` and every URI inside an embedded jCard (RFC 9795
/// §6.2.2), with `alg`. URI members need their content in `fetched`.
pub fn compute_rcdi(
    rcd: &Rcd,
    fetched: &Fetched,
    alg: DigestAlg,
) -> Result<BTreeMap<String, String>, Error> {
    let value = serde_json::to_value(rcd).map_err(|e| Error::Encode {
        what: "rcd claim",
        detail: e.to_string(),
    })?;
    let mut rcdi = BTreeMap::new();
    let top = value.as_object().into_iter().flatten();
    // JSON pointers (RFC 6901): `~` and `/` in member names escaped, as `check_rcdi` reads them.
    let members = top.map(|(key, member)| {
        let key = key.replace('~', "~0").replace('/', "~1");
        (format!("/{key}"), member.clone())
    });
    let inner = uri_members(rcd)
        .into_iter()
        .filter(|(pointer, _)| pointer.starts_with("/jcd/"))
        .map(|(pointer, uri)| (pointer, Value::String(uri)));
    for (pointer, member) in members.chain(inner) {
        match digest_input(&pointer, &member, fetched) {
            Ok(bytes) => {
                rcdi.insert(pointer, alg.sri(&bytes));
            }
            Err(DigestStatus::NotFetched { uri }) => {
                return Err(Error::RcdContentMissing { uri });
            }
            Err(_) => {}
        }
    }
    Ok(rcdi)
}

/// Checks every `rcdi` entry against the `rcd` claim as received and the fetched content, and
/// reports every URI member that no entry covers as [`DigestStatus::Uncovered`].
pub fn check_rcdi(
    rcd: &Rcd,
    rcdi: &BTreeMap<String, String>,
    fetched: &Fetched,
) -> BTreeMap<String, DigestStatus> {
    let mut statuses = check_entries(rcd, rcdi, fetched);
    for (pointer, uri) in uri_members(rcd) {
        statuses
            .entry(pointer)
            .or_insert(DigestStatus::Uncovered { uri });
    }
    statuses
}

/// One status per `rcdi` entry.
fn check_entries(
    rcd: &Rcd,
    rcdi: &BTreeMap<String, String>,
    fetched: &Fetched,
) -> BTreeMap<String, DigestStatus> {
    let value = serde_json::to_value(rcd).unwrap_or(Value::Null);
    rcdi.iter()
        .map(|(pointer, signed)| {
            let status = match (parse_sri(signed), value.pointer(pointer)) {
                (None, _) => DigestStatus::Unsupported {
                    value: signed.clone(),
                },
                (_, None) => DigestStatus::Unresolved,
                (Some((alg, _)), Some(member)) => match digest_input(pointer, member, fetched) {
                    Err(status) => status,
                    Ok(bytes) => {
                        let computed = alg.sri(&bytes);
                        if &computed == signed {
                            DigestStatus::Match
                        } else {
                            DigestStatus::Mismatch {
                                expected: signed.clone(),
                                computed,
                            }
                        }
                    }
                },
            };
            (pointer.clone(), status)
        })
        .collect()
}

/// Splits `sha256-<b64>` / `sha384-<b64>`; `None` for anything else (including a digest of the
/// wrong length).
pub fn parse_sri(value: &str) -> Option<(DigestAlg, Vec<u8>)> {
    let (prefix, b64) = value.split_once('-')?;
    let (alg, len) = match prefix {
        "sha256" => (DigestAlg::Sha256, 32),
        "sha384" => (DigestAlg::Sha384, 48),
        _ => return None,
    };
    let digest = STANDARD.decode(b64).ok()?;
    (digest.len() == len).then_some((alg, digest))
}

/// One entry of a SIP Call-Info header (RFC 3261 §20.9; RCD use per RFC 9796).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CallInfo {
    /// The URI, without angle brackets.
    pub uri: String,
    /// `purpose` parameter, e.g. `rcd-jcard`.
    pub purpose: Option<String>,
    /// RFC 9796 `call-reason` parameter (unquoted).
    pub call_reason: Option<String>,
    /// Other parameters, in order, values unquoted.
    pub params: Vec<(String, Option<String>)>,
}

/// `purpose` value for a jCard carrying RCD.
pub const PURPOSE_RCD_JCARD: &str = "rcd-jcard";

impl CallInfo {
    /// `<uri>;purpose=rcd-jcard[;call-reason="…"]`.
    pub fn rcd_jcard(uri: impl Into<String>, call_reason: Option<&str>) -> Self {
        Self {
            uri: uri.into(),
            purpose: Some(PURPOSE_RCD_JCARD.into()),
            call_reason: call_reason.map(str::to_owned),
            params: Vec::new(),
        }
    }

    /// The header value of this one entry.
    pub fn to_header(&self) -> String {
        let mut out = format!("<{}>", self.uri);
        if let Some(purpose) = &self.purpose {
            out.push_str(";purpose=");
            out.push_str(&crate::identity::quote_if_needed(purpose));
        }
        if let Some(reason) = &self.call_reason {
            out.push_str(";call-reason=");
            out.push_str(&crate::identity::quote(reason));
        }
        for (name, value) in &self.params {
            out.push(';');
            out.push_str(name);
            if let Some(value) = value {
                out.push('=');
                out.push_str(&crate::identity::quote_if_needed(value));
            }
        }
        out
    }

    /// Parses a Call-Info header value: one or more comma-separated `<uri>;params` entries.
    pub fn parse_list(value: &str) -> Result<Vec<CallInfo>, Error> {
        crate::identity::split_top_level(value, ',')
            .into_iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| CallInfo::parse(entry.trim()))
            .collect()
    }

    /// Parses one `<uri>;params` entry.
    pub fn parse(entry: &str) -> Result<CallInfo, Error> {
        let bad = |why: &'static str| Error::MalformedCallInfo {
            value: entry.to_owned(),
            why,
        };
        let rest = entry
            .trim()
            .strip_prefix('<')
            .ok_or_else(|| bad("does not start with <uri>"))?;
        let (uri, params) = rest.split_once('>').ok_or_else(|| bad("no closing >"))?;
        let mut info = CallInfo {
            uri: uri.trim().to_owned(),
            ..CallInfo::default()
        };
        for (name, value) in
            crate::identity::parse_params(params).map_err(|_| bad("bad parameter"))?
        {
            match name.to_ascii_lowercase().as_str() {
                "purpose" => info.purpose = value,
                "call-reason" => info.call_reason = value,
                _ => info.params.push((name, value)),
            }
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sri_round_trips_and_rejects_wrong_lengths() {
        let sri = DigestAlg::Sha256.sri(b"abc");
        assert_eq!(sri, "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert_eq!(parse_sri(&sri).unwrap().0, DigestAlg::Sha256);
        assert!(parse_sri("sha256-AAAA").is_none());
        assert!(parse_sri("md5-AAAA").is_none());
    }

    #[test]
    fn jcl_needs_its_content() {
        let rcd = Rcd {
            jcl: Some("https://id.enterprise.example/a.json".into()),
            ..Rcd::default()
        };
        assert!(matches!(
            compute_rcdi(&rcd, &Fetched::new(), DigestAlg::Sha256),
            Err(Error::RcdContentMissing { .. })
        ));
        let mut fetched = Fetched::new();
        fetched.insert(
            "https://id.enterprise.example/a.json".into(),
            b"[\"vcard\",[]]".to_vec(),
        );
        let rcdi = compute_rcdi(&rcd, &fetched, DigestAlg::Sha256).unwrap();
        assert_eq!(rcdi["/jcl"], DigestAlg::Sha256.sri(b"[\"vcard\",[]]"));
        assert_eq!(
            check_rcdi(&rcd, &rcdi, &fetched)["/jcl"],
            DigestStatus::Match
        );
        assert!(matches!(
            check_rcdi(&rcd, &rcdi, &Fetched::new())["/jcl"],
            DigestStatus::NotFetched { .. }
        ));
    }

    #[test]
    fn every_uri_member_must_be_covered() {
        let jcd: Value = serde_json::from_str(
            r#"["vcard",[["fn",{},"text","Q"],["logo",{},"uri","https://id/l.png"]]]"#,
        )
        .unwrap();
        let rcd = Rcd {
            nam: Some("Q".into()),
            jcl: Some("https://id/j.json".into()),
            icn: Some("https://id/i.png".into()),
            jcd: Some(jcd),
            ..Rcd::default()
        };
        let pointers: Vec<String> = uri_members(&rcd).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pointers, ["/icn", "/jcd/1/1/3", "/jcl"]);
        let mut fetched = Fetched::new();
        for uri in ["https://id/j.json", "https://id/i.png", "https://id/l.png"] {
            fetched.insert(uri.into(), uri.as_bytes().to_vec());
        }
        let rcdi = compute_rcdi(&rcd, &fetched, DigestAlg::Sha256).unwrap();
        assert_eq!(
            rcdi.keys().map(String::as_str).collect::<Vec<_>>(),
            ["/icn", "/jcd", "/jcd/1/1/3", "/jcl", "/nam"]
        );
        assert!(
            check_rcdi(&rcd, &rcdi, &fetched)
                .values()
                .all(DigestStatus::is_match)
        );

        // Without an entry for the icon, the icon is uncovered; without rcdi, every URI is.
        let mut partial = rcdi.clone();
        partial.remove("/icn");
        let status = check_rcdi(&rcd, &partial, &fetched);
        assert_eq!(
            status["/icn"],
            DigestStatus::Uncovered {
                uri: "https://id/i.png".into()
            }
        );
        let status = check_rcdi(&rcd, &BTreeMap::new(), &fetched);
        assert_eq!(status.len(), 3);
        assert!(
            status
                .values()
                .all(|s| matches!(s, DigestStatus::Uncovered { .. }))
        );
        // A name alone needs no digest.
        let name_only = Rcd {
            nam: Some("Q".into()),
            ..Rcd::default()
        };
        assert!(check_rcdi(&name_only, &BTreeMap::new(), &fetched).is_empty());
    }

    /// A member whose name holds `/` or `~` gets an escaped pointer, so the rcdi computed for a
    /// claim checks against it (found by the `rcd` fuzz target,
    /// fuzz/regressions/rcd/member-name-with-slash.json).
    #[test]
    fn member_names_are_escaped_in_pointers() {
        let rcd: Rcd = serde_json::from_str(r#"{"nam":"Q","/nam":"x","a~b":"y"}"#).unwrap();
        let rcdi = compute_rcdi(&rcd, &Fetched::new(), DigestAlg::Sha256).unwrap();
        assert_eq!(
            rcdi.keys().map(String::as_str).collect::<Vec<_>>(),
            ["/a~0b", "/nam", "/~1nam"]
        );
        assert!(
            check_rcdi(&rcd, &rcdi, &Fetched::new())
                .values()
                .all(DigestStatus::is_match)
        );
    }

    #[test]
    fn call_info_purpose_is_quoted_when_not_a_token() {
        let info = CallInfo::parse(r#"<https://x/j>;purpose="icon;call-reason=x""#);
        let info = info.unwrap();
        assert_eq!(info.purpose.as_deref(), Some("icon;call-reason=x"));
        assert_eq!(CallInfo::parse(&info.to_header()).unwrap(), info);
    }

    #[test]
    fn unresolved_pointer_is_reported() {
        let rcd = Rcd {
            nam: Some("x".into()),
            ..Rcd::default()
        };
        let mut rcdi = BTreeMap::new();
        rcdi.insert("/icn".to_owned(), DigestAlg::Sha256.sri(b""));
        assert_eq!(
            check_rcdi(&rcd, &rcdi, &Fetched::new())["/icn"],
            DigestStatus::Unresolved
        );
    }

    #[test]
    fn call_info_builds_and_parses() {
        let info = CallInfo::rcd_jcard(
            "https://id.enterprise.example/jcard/q.json",
            Some("Gadget delivery; urgent"),
        );
        let header = info.to_header();
        assert_eq!(
            header,
            r#"<https://id.enterprise.example/jcard/q.json>;purpose=rcd-jcard;call-reason="Gadget delivery; urgent""#
        );
        let parsed = CallInfo::parse_list(&format!(
            "{header} , <https://x.example/i.png>;purpose=icon"
        ))
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], info);
        assert_eq!(parsed[1].purpose.as_deref(), Some("icon"));
        assert!(CallInfo::parse("https://no-brackets").is_err());
    }
}
