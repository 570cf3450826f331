//! Strict checks of the RFC 3261 §25.1 grammar where the parser is lenient: the request line
//! (`Method SP Request-URI SP SIP-Version`, single spaces, a Request-URI without `<>`, white
//! space or — for SIP URIs — a headers component, §19.1.1) and the name-addr / addr-spec of
//! From and To (a display name of tokens or one closed quoted string, nothing but the URI
//! inside `<>`, no white space in a URI, an addr-spec without `,` `?`, §20.10). Each returns
//! what is wrong, for the reason phrase of a 400. Pure.

/// What is wrong with the request line of `head` (the message's first line), if it is one and
/// anything is. A status line, or a line that is no request line at all, is left to the parser.
pub fn request_line_fault(first_line: &str) -> Option<&'static str> {
    let line = first_line.trim_end_matches(['\r', '\n']);
    let last = line.rsplit(' ').next()?;
    if !last.starts_with("SIP/") || line.starts_with("SIP/") {
        return None;
    }
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Some("request line not Method SP Request-URI SP SIP-Version");
    }
    let uri = parts[1];
    if uri.contains(['<', '>', '"', '\t']) {
        return Some("Request-URI enclosed in <> or with characters a URI cannot hold");
    }
    let bytes = uri.as_bytes();
    let escapes_ok = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_ok {
        return Some("malformed %-escape in the Request-URI");
    }
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") {
        let host_part = uri.rsplit_once('@').map_or(uri, |(_, h)| h);
        if host_part.contains('?') {
            return Some("headers in the Request-URI");
        }
    }
    None
}

/// Characters of an RFC 3261 `token`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// The length of the quoted string at the start of `s` (opening quote included), if it is
/// closed.
fn quoted_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next()?;
            }
            '"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// What is wrong with a From or To value (`name-addr` or `addr-spec`, then parameters), if
/// anything.
pub fn name_addr_fault(value: &str) -> Option<&'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Some("empty");
    }
    let rest = if value.starts_with('"') {
        let Some(n) = quoted_len(value) else {
            return Some("unterminated quoted display name");
        };
        let after = value[n..].trim_start();
        if !after.starts_with('<') {
            return Some("quoted display name not followed by <URI>");
        }
        after
    } else if let Some(lt) = value.find('<') {
        let display = value[..lt].trim();
        if display
            .split_whitespace()
            .any(|word| !word.chars().all(is_token_char))
        {
            return Some("display name neither tokens nor a quoted string");
        }
        &value[lt..]
    } else {
        // addr-spec: the URI runs to the first `;`; it must not hold `,` or `?` (§20.10).
        let uri = value.split(';').next().unwrap_or_default().trim_end();
        if uri.contains(char::is_whitespace) {
            return Some("white space in the URI");
        }
        if uri.contains([',', '?', '<', '>']) {
            return Some("URI with , ? or <> not enclosed in <>");
        }
        return scheme_fault(uri);
    };
    // `rest` starts with `<`.
    let Some(gt) = rest.find('>') else {
        return Some("< not closed");
    };
    let uri = &rest[1..gt];
    if uri.is_empty() || uri.contains(char::is_whitespace) {
        return Some("white space in the URI");
    }
    if let Some(fault) = scheme_fault(uri) {
        return Some(fault);
    }
    let params = rest[gt + 1..].trim_start();
    if !params.is_empty() && !params.starts_with(';') {
        return Some("text after the URI that is not a parameter");
    }
    None
}

/// A URI must start with a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`).
fn scheme_fault(uri: &str) -> Option<&'static str> {
    let scheme = uri.split(':').next().unwrap_or_default();
    let ok = uri.contains(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (!ok).then_some("URI without a scheme")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(request_line_fault("OPTIONS sip:a@b SIP/2.0"), None);
        assert_eq!(request_line_fault("SIP/2.0 200 OK"), None);
        assert!(request_line_fault("OPTIONS  sip:a@b  SIP/2.0").is_some());
        assert!(request_line_fault("OPTIONS sip:a@b; lr SIP/2.0").is_some());
        assert!(request_line_fault("OPTIONS <sip:a@b> SIP/2.0").is_some());
        assert!(request_line_fault("OPTIONS sip:a@b?Route=%3Csip:c%3E SIP/2.0").is_some());
        // A `?` in the user part is legal (RFC 4475 §3.1.1.2).
        assert_eq!(request_line_fault("X sip:a?,/;;*:&p=1@b SIP/2.0"), None);
        assert_eq!(
            request_line_fault("OPTIONS tel:+1-201-555-0123 SIP/2.0"),
            None
        );
    }

    #[test]
    fn name_addrs() {
        for good in [
            "<sip:a@b>;tag=1",
            "\"A \\\"B\\\\\" <sip:a@b> ;tag = 1",
            "caller<sip:caller@example.com>;tag=323",
            "token1~` token2'+_ <sip:m@e>;p=\"x;y\"",
            "sip:vivekg@host ;   tag    = 1918181833n",
            "isbn:2983792873",
            "<http://www.example.com>;tag=3234233",
            "<tel:+12025550123>",
        ] {
            assert_eq!(name_addr_fault(good), None, "{good}");
        }
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "\"Bell, Alexander\" <sip:a.g.bell@ bell-tel.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43",
            "sip:a@b?x=y",
            "<sip:a@b",
            "<nothing>",
            "",
        ] {
            assert!(name_addr_fault(bad).is_some(), "{bad}");
        }
    }
}
