//! The SIP Identity header (RFC 8224 §4): `<compact JWS>;info=<x5u>;alg=ES256;ppt="shaken"`.
//!
//! A request may carry several Identity headers (one per PASSporT type, e.g. `shaken` and
//! `rcd`); [`IdentityHeader::parse_list`] also accepts several comma-separated in one value.

use crate::Error;

/// Largest Identity header value accepted, bytes. A SHAKEN or RCD PASSporT is well under a
/// kilobyte (the testbed's largest is about 850 bytes); a longer value is refused before it is
/// decoded, so an oversized JOSE header or claim set costs the verifier nothing (438).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// One Identity header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeader {
    /// The PASSporT, compact JWS form.
    pub jws: String,
    /// `info`: where the signing certificate is (RFC 8224 §4.1), without the angle brackets.
    pub info: String,
    /// `alg` parameter, if present.
    pub alg: Option<String>,
    /// `ppt` parameter, if present, unquoted.
    pub ppt: Option<String>,
    /// Any other parameters, in order, values unquoted.
    pub params: Vec<(String, Option<String>)>,
}

impl IdentityHeader {
    /// The full form SHAKEN uses, with `alg` and `ppt`.
    pub fn new(jws: impl Into<String>, info: impl Into<String>, ppt: &str) -> Self {
        Self {
            jws: jws.into(),
            info: info.into(),
            alg: Some(crate::passport::ES256.into()),
            ppt: Some(ppt.to_owned()),
            params: Vec::new(),
        }
    }

    /// Renders the header value; `ppt` is quoted as in RFC 8588's examples.
    pub fn to_header(&self) -> String {
        let mut out = format!("{};info=<{}>", self.jws, self.info);
        if let Some(alg) = &self.alg {
            out.push_str(";alg=");
            out.push_str(&quote_if_needed(alg));
        }
        if let Some(ppt) = &self.ppt {
            out.push_str(";ppt=");
            out.push_str(&quote(ppt));
        }
        for (name, value) in &self.params {
            out.push(';');
            out.push_str(name);
            if let Some(value) = value {
                out.push('=');
                out.push_str(&quote_if_needed(value));
            }
        }
        out
    }

    /// Parses one Identity header value. `ppt=shaken` and `ppt="shaken"` are the same.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let value = value.trim();
        let bad = |why: &'static str| Error::MalformedIdentity {
            value: truncate(value),
            why,
        };
        if value.is_empty() {
            return Err(bad("empty value"));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(bad("longer than 8 KiB"));
        }
        let (jws, params) = match value.find(';') {
            Some(i) => (value[..i].trim(), &value[i..]),
            None => (value, ""),
        };
        if jws.is_empty()
            || !jws
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(bad("signed-identity-digest is not a compact JWS"));
        }
        let mut header = IdentityHeader {
            jws: jws.to_owned(),
            info: String::new(),
            alg: None,
            ppt: None,
            params: Vec::new(),
        };
        let mut info = None;
        for (name, val) in parse_params(params).map_err(bad)? {
            match name.to_ascii_lowercase().as_str() {
                "info" => {
                    let raw = val.ok_or_else(|| bad("info has no value"))?;
                    // A URI has no `<`, `>` or `"` (RFC 3986): one that does could not be
                    // written back between angle brackets.
                    let uri = raw
                        .strip_prefix('<')
                        .and_then(|r| r.strip_suffix('>'))
                        .filter(|uri| !uri.contains(['<', '>', '"']))
                        .ok_or_else(|| bad("info is not <absoluteURI>"))?;
                    info = Some(uri.trim().to_owned());
                }
                "alg" => header.alg = val,
                "ppt" => header.ppt = val,
                _ => header.params.push((name, val)),
            }
        }
        header.info = info.ok_or_else(|| bad("no info parameter"))?;
        Ok(header)
    }

    /// Every Identity of a request, from its Identity header values (each may hold several).
    /// A request with none is answered 428 (RFC 8224 §6.2.2), which is this function's error.
    pub fn from_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Self>, Error> {
        let mut all = Vec::new();
        for value in values {
            all.extend(Self::parse_list(value)?);
        }
        if all.is_empty() {
            return Err(Error::MissingIdentity);
        }
        Ok(all)
    }

    /// Parses a header value that may hold several comma-separated Identity values.
    pub fn parse_list(value: &str) -> Result<Vec<Self>, Error> {
        split_top_level(value, ',')
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .map(IdentityHeader::parse)
            .collect()
    }
}

fn truncate(value: &str) -> String {
    const MAX: usize = 120;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_owned(),
    }
}

/// Splits at `sep` outside `<…>` and `"…"`.
pub(crate) fn split_top_level(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut in_angle, mut in_quote, mut escaped) = (0, false, false, false);
    for (i, c) in value.char_indices() {
        if in_quote {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            c if c == sep && !in_angle => {
                parts.push(&value[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Parses `;name[=value]` parameters (RFC 3261 §25.1 generic-param), unquoting quoted strings.
/// Values in angle brackets keep them.
pub(crate) fn parse_params(params: &str) -> Result<Vec<(String, Option<String>)>, &'static str> {
    let params = params.trim();
    if params.is_empty() {
        return Ok(Vec::new());
    }
    let params = params
        .strip_prefix(';')
        .ok_or("parameters must start with ;")?;
    split_top_level(params, ';')
        .into_iter()
        .map(|p| {
            let p = p.trim();
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (p, None),
            };
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err("bad parameter name");
            }
            let value = value.map(unquote).transpose()?;
            Ok((name.to_owned(), value))
        })
        .collect()
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn unquote(value: &str) -> Result<String, &'static str> {
    let Some(inner) = value.strip_prefix('"') else {
        if value.is_empty() {
            return Err("empty parameter value");
        }
        return Ok(value.to_owned());
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or("unterminated quoted string")?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next().ok_or("dangling escape")?);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A quoted-string (RFC 3261 §25.1).
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `value` as a generic-param value: as is when a token or a `<…>` that parses back whole (no
/// `<`, `>` or `"` inside), else a quoted-string.
pub(crate) fn quote_if_needed(value: &str) -> String {
    let bracketed = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .is_some_and(|inner| !inner.contains(['<', '>', '"']));
    if !value.is_empty() && (value.bytes().all(is_token_byte) || bracketed) {
        value.to_owned()
    } else {
        quote(value)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn builds_and_parses_full_form() {
        let h = IdentityHeader::new("aa.bb.cc", "https://sti-cr.example/sp.pem", "shaken");
        let text = h.to_header();
        assert_eq!(
            text,
            r#"aa.bb.cc;info=<https://sti-cr.example/sp.pem>;alg=ES256;ppt="shaken""#
        );
        assert_eq!(IdentityHeader::parse(&text).unwrap(), h);
    }

    #[test]
    fn ppt_quoted_or_not_is_the_same() {
        let a = IdentityHeader::parse("a.b.c;info=<https://x/y>;alg=ES256;ppt=shaken").unwrap();
        let b = IdentityHeader::parse(r#"a.b.c ; info=<https://x/y> ; alg=ES256 ; ppt="shaken""#)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.ppt.as_deref(), Some("shaken"));
    }

    #[test]
    fn several_in_one_value() {
        let list = IdentityHeader::parse_list(
            "a.b.c;info=<https://x/1,2>;ppt=shaken, d.e.f;info=<https://x/3>;ppt=rcd",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].info, "https://x/1,2");
        assert_eq!(list[1].ppt.as_deref(), Some("rcd"));
    }

    /// Every parsed value renders to a value that parses back to it: `alg` and parameter values
    /// are quoted when they are not tokens, an `info` that could not be written back is refused
    /// (found by the `identity_header` fuzz target,
    /// fuzz/regressions/identity_header/alg-not-a-token.txt).
    #[test]
    fn parsed_values_render_back_to_themselves() {
        for value in [
            r#"a.b.c;info=<https://x/y>;alg="ES256;ppt=rcd""#,
            r#"a.b.c;info=<https://x/y>;x="<a>;y=<b>";z="<c\"d>";w="<e>""#,
            r#"a.b.c;info=<https://x/y>;alg="a, b.c;info=<https://evil>""#,
        ] {
            let h = IdentityHeader::parse(value).unwrap();
            assert_eq!(IdentityHeader::parse(&h.to_header()).unwrap(), h, "{value}");
            assert_eq!(IdentityHeader::parse_list(&h.to_header()).unwrap(), [h]);
        }
        let h = IdentityHeader::parse(r#"a.b.c;info=<https://x/y>;alg="ES256;ppt=rcd""#).unwrap();
        assert_eq!(h.alg.as_deref(), Some("ES256;ppt=rcd"));
        assert_eq!(h.ppt, None);
        assert!(matches!(
            IdentityHeader::parse(r#"a.b.c;info="<https://x>;ppt=rcd;x=<y>""#),
            Err(Error::MalformedIdentity { .. })
        ));
    }

    #[test]
    fn malformed_values_are_rejected() {
        for bad in [
            "",
            "a.b.c",
            "a.b.c;info=https://x",
            "a b;info=<https://x>",
            "a.b.c;info=<https://x>;ppt=\"open",
            "a.b.c;info=<https://x>;=x",
        ] {
            assert!(
                matches!(
                    IdentityHeader::parse(bad),
                    Err(Error::MalformedIdentity { .. })
                ),
                "{bad}"
            );
        }
    }

    /// An oversized value (a padded JOSE header or claim set) is refused before decoding.
    #[test]
    fn oversized_values_are_rejected() {
        let long = format!("a.{}.c;info=<https://x>", "A".repeat(MAX_VALUE_BYTES));
        assert!(matches!(
            IdentityHeader::parse(&long),
            Err(Error::MalformedIdentity {
                why: "longer than 8 KiB",
                ..
            })
        ));
    }
}
