//! Header-level helpers over the SIP message types (`rsipstack::sip`, the fixed rsip parser):
//! read, add, replace and remove headers by name, and the URI and name-addr pieces the network
//! functions' logic needs, and RFC 7235 auth-params ([`auth_params`], in `auth`). Pure; the
//! transport is `kit::sip`.

mod auth;

pub use auth::auth_params;
pub use rsipstack::sip::{
    Header, Headers, Method, Request, Response, StatusCode, Uri, headers::make_header,
};

/// Names compared case-insensitively, with the RFC 3261 §7.3.3 compact forms.
fn same_name(a: &str, b: &str) -> bool {
    fn long(n: &str) -> &str {
        match n.to_ascii_lowercase().as_str() {
            "i" => "call-id",
            "m" => "contact",
            "e" => "content-encoding",
            "l" => "content-length",
            "c" => "content-type",
            "f" => "from",
            "s" => "subject",
            "k" => "supported",
            "t" => "to",
            "v" => "via",
            "y" => "identity",
            _ => n,
        }
    }
    long(a).eq_ignore_ascii_case(long(b))
}

/// Every value of a header, in order.
pub fn values<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|h| same_name(h.name(), name))
        .map(Header::value)
        .collect()
}

/// The first value of a header.
pub fn first<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| same_name(h.name(), name))
        .map(Header::value)
}

/// Removes every header of that name; returns how many there were.
pub fn remove(headers: &mut Headers, name: &str) -> usize {
    let before = headers.len();
    headers.retain(|h| !same_name(h.name(), name));
    before - headers.len()
}

/// Appends a header.
pub fn push(headers: &mut Headers, name: &str, value: impl Into<String>) {
    headers.push(make_header(name, value.into()));
}

/// Replaces every header of that name with one header (keeping the position of the first).
pub fn set(headers: &mut Headers, name: &str, value: impl Into<String>) {
    let value = value.into();
    let position = headers.iter().position(|h| same_name(h.name(), name));
    remove(headers, name);
    let header = make_header(name, value);
    match position {
        Some(i) if i <= headers.len() => headers.0.insert(i, header),
        _ => headers.push(header),
    }
}

/// Splits a header value at commas outside `<…>` and `"…"` (several values in one header).
pub fn split_list(value: &str) -> Vec<&str> {
    let (mut parts, mut start, mut angle, mut quote) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !quote && !angle => {
                parts.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// Every Route URI, top first (RFC 3261 §20.34), without angle brackets.
pub fn route_uris(headers: &Headers) -> Vec<String> {
    values(headers, "Route")
        .into_iter()
        .flat_map(split_list)
        .filter_map(NameAddr::parse)
        .map(|n| n.uri)
        .collect()
}

/// Replaces the route set with `uris` (top first), one Route header each.
pub fn set_routes(headers: &mut Headers, uris: &[String]) {
    remove(headers, "Route");
    let at = headers
        .iter()
        .position(|h| same_name(h.name(), "Max-Forwards"))
        .map_or(0, |i| i + 1);
    for (i, uri) in uris.iter().enumerate() {
        let at = (at + i).min(headers.len());
        headers
            .0
            .insert(at, make_header("Route", format!("<{uri}>")));
    }
}

/// The host of a SIP/SIPS/tel URI (`sip:user@host:port;params` → `host`); for tel, the number.
pub fn uri_host(uri: &str) -> &str {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let rest = rest.split([';', '?']).next().unwrap_or(rest);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| h)
            .trim_start_matches('[');
    }
    host.split(':').next().unwrap_or(host)
}

/// Whether a URI carries a parameter (`;lr`, `;orig`).
pub fn uri_has_param(uri: &str, name: &str) -> bool {
    uri.split('?')
        .next()
        .unwrap_or(uri)
        .split(';')
        .skip(1)
        .any(|p| p == name || p.starts_with(&format!("{name}=")))
}

/// A name-addr or addr-spec (`"Name" <sip:…>;params`) taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameAddr {
    /// Display name, unquoted.
    pub display: Option<String>,
    /// The URI, without angle brackets.
    pub uri: String,
    /// Header parameters after the `>` (e.g. `;tag=…`), including the leading `;`.
    pub params: String,
}

impl NameAddr {
    /// Parses a name-addr or addr-spec (RFC 3261 §25.1); `None` when empty or a `<` is not
    /// closed.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        // The `<` that opens the URI: not one inside a quoted display name (`"A <b>" <sip:…>`).
        if let Some(lt) = find_unquoted(value, '<') {
            let gt = value[lt..].find('>')? + lt;
            let display = value[..lt].trim();
            let display = display
                .strip_prefix('"')
                .and_then(|d| d.strip_suffix('"'))
                .unwrap_or(display);
            Some(Self {
                display: (!display.is_empty())
                    .then(|| display.replace("\\\"", "\"").replace("\\\\", "\\")),
                uri: value[lt + 1..gt].trim().to_owned(),
                params: value[gt + 1..].trim().to_owned(),
            })
        } else {
            // addr-spec: parameters after the URI belong to the header (RFC 3261 §20.10).
            let (uri, params) = match value.find(';') {
                Some(i) => (value[..i].trim_end(), &value[i..]),
                None => (value, ""),
            };
            (!uri.is_empty()).then(|| Self {
                display: None,
                uri: uri.to_owned(),
                params: params.to_owned(),
            })
        }
    }

    /// Renders with the display name quoted.
    pub fn render(&self) -> String {
        let display = match &self.display {
            Some(d) => format!("\"{}\" ", d.replace('\\', "\\\\").replace('"', "\\\"")),
            None => String::new(),
        };
        format!("{display}<{}>{}", self.uri, self.params)
    }

    /// Sets (or replaces) a URI parameter such as `verstat` (TS 24.229 §7.2A.20).
    pub fn set_uri_param(&mut self, name: &str, value: &str) {
        let mut parts: Vec<String> = self.uri.split(';').map(str::to_owned).collect();
        let prefix = format!("{name}=");
        parts.retain(|p| !p.starts_with(&prefix) && p != name);
        parts.push(format!("{name}={value}"));
        self.uri = parts.join(";");
    }

    /// A URI parameter's value.
    pub fn uri_param(&self, name: &str) -> Option<&str> {
        self.uri
            .split(';')
            .skip(1)
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
    }

    /// The telephone number the URI carries (`tel:+1…` or `sip:+1…@host`), if any.
    pub fn tn(&self) -> Option<String> {
        let uri = self.uri.as_str();
        let user = if let Some(rest) = uri.strip_prefix("tel:") {
            rest.split(';').next()?
        } else {
            let rest = uri
                .strip_prefix("sip:")
                .or_else(|| uri.strip_prefix("sips:"))?;
            rest.split_once('@')?.0.split(';').next()?
        };
        user.starts_with('+').then(|| user.to_owned())
    }
}

/// The byte index of the first `c` outside quoted-strings (RFC 3261 §25.1: `"…"`, with `\`
/// escaping the next character inside them).
fn find_unquoted(value: &str, c: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, ch) in value.char_indices() {
        if quoted {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
        } else if ch == '"' {
            quoted = true;
        } else if ch == c {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A `<` in a quoted display name is not the URI's (found by the `sip_message` fuzz target,
    /// fuzz/regressions/sip_message/display-name-with-lt.sip): the display name an IMS AS puts in
    /// a P-Asserted-Identity must not change the URI it asserts.
    #[test]
    fn angle_brackets_in_a_quoted_display_name() {
        let n = NameAddr::parse(r#""Evil <sip:evil@x>" <sip:+12025551000@ims.example>;tag=1"#);
        let n = n.unwrap();
        assert_eq!(n.display.as_deref(), Some("Evil <sip:evil@x>"));
        assert_eq!(n.uri, "sip:+12025551000@ims.example");
        assert_eq!(n.params, ";tag=1");
        for display in ["<", "a<b>c", r#"q\"<"#, "\\<"] {
            let n = NameAddr {
                display: Some(display.to_owned()),
                uri: "sip:+12025551000@ims.example;user=phone".into(),
                params: String::new(),
            };
            assert_eq!(NameAddr::parse(&n.render()), Some(n), "{display:?}");
        }
    }

    /// White space before the parameters of an addr-spec (RFC 3261 `SEMI = SWS ";" SWS`) is not
    /// part of its URI, as it is not in a name-addr (found by the `sip_message` fuzz target,
    /// fuzz/regressions/sip_message/addr-spec-cr-before-params.sip).
    #[test]
    fn addr_spec_uri_without_trailing_white_space() {
        for value in ["tel:+12155551001 ;tag=1", "tel:+12155551001\r;tag=1"] {
            let n = NameAddr::parse(value).unwrap();
            assert_eq!(
                (n.uri.as_str(), n.params.as_str()),
                ("tel:+12155551001", ";tag=1")
            );
            assert_eq!(NameAddr::parse(&n.render()), Some(n));
        }
    }

    #[test]
    fn name_addr_round_trip_and_params() {
        let mut n =
            NameAddr::parse(r#""Q Branch" <sip:+12025551000@ims.example;user=phone>;tag=abc"#)
                .unwrap();
        assert_eq!(n.display.as_deref(), Some("Q Branch"));
        assert_eq!(n.tn().as_deref(), Some("+12025551000"));
        n.set_uri_param("verstat", "TN-Validation-Passed");
        assert_eq!(
            n.render(),
            r#""Q Branch" <sip:+12025551000@ims.example;user=phone;verstat=TN-Validation-Passed>;tag=abc"#
        );
        assert_eq!(n.uri_param("verstat"), Some("TN-Validation-Passed"));
        let bare = NameAddr::parse("tel:+12155551001;tag=1").unwrap();
        assert_eq!(
            (bare.uri.as_str(), bare.params.as_str()),
            ("tel:+12155551001", ";tag=1")
        );
        assert!(NameAddr::parse("<sip:x").is_none());
    }

    #[test]
    fn routes_and_uris() {
        let mut h = Headers::default();
        push(&mut h, "Max-Forwards", "70");
        push(
            &mut h,
            "Route",
            "<sip:a.example;lr>, <sip:b.example;lr;orig>",
        );
        push(&mut h, "Route", "<sip:c.example:5070;lr>");
        let routes = route_uris(&h);
        assert_eq!(
            routes,
            [
                "sip:a.example;lr",
                "sip:b.example;lr;orig",
                "sip:c.example:5070;lr"
            ]
        );
        assert_eq!(uri_host(&routes[2]), "c.example");
        assert_eq!(uri_host("sip:+1202@ims.example;user=phone"), "ims.example");
        assert!(uri_has_param(&routes[1], "orig") && !uri_has_param(&routes[0], "orig"));
        set_routes(&mut h, &routes[1..]);
        assert_eq!(route_uris(&h), &routes[1..]);
        assert_eq!(values(&h, "Route").len(), 2);
        assert_eq!(split_list(r#""a, b" <sip:x>, <sip:y;p=1,2>"#).len(), 2);
    }

    #[test]
    fn headers_by_name_including_compact_forms() {
        let mut h = Headers::default();
        push(&mut h, "Identity", "a");
        push(&mut h, "y", "b");
        push(&mut h, "From", "<sip:x>");
        assert_eq!(values(&h, "identity"), ["a", "b"]);
        set(&mut h, "Identity", "c");
        assert_eq!(values(&h, "Identity"), ["c"]);
        assert_eq!(remove(&mut h, "from"), 1);
        assert_eq!(first(&h, "f"), None);
    }
}
