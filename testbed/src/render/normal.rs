//! Making a run's text byte-stable: DTLS certificate fingerprints (which cannot be seeded)
//! become a placeholder, and every port a node of the world used becomes the node's name.
//! Both work inside JSON strings as well as on plain text.

/// Replaces DTLS certificate fingerprints (`a=fingerprint:<alg> <hex pairs>`) by
/// `<dtls-fingerprint>`. Only the hex pairs are replaced, so the text around them (a JSON
/// string's escapes and closing quote) is kept.
pub fn unseeded(text: &str) -> String {
    const TAG: &str = "a=fingerprint:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(TAG) {
        let after = &rest[at + TAG.len()..];
        let alg_len = after.find(' ').unwrap_or(after.len());
        let value = &after[(alg_len + 1).min(after.len())..];
        let hex_len = value
            .find(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
            .unwrap_or(value.len());
        out.push_str(&rest[..at + TAG.len() + alg_len]);
        if hex_len > 0 && alg_len < after.len() {
            out.push_str(" <dtls-fingerprint>");
            rest = &value[hex_len..];
        } else {
            rest = &after[alg_len..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces every port the world's nodes used (as `:port` and as a space-separated number,
/// the form DNS SRV answers take) by the node's name. A port number names one node per world
/// (the tap makes sure), so the replacement is unambiguous.
pub fn normalise(text: &str, ports: &[(u16, String)]) -> String {
    let mut ports: Vec<(String, &str)> = ports
        .iter()
        .map(|(p, n)| (p.to_string(), n.as_str()))
        .collect();
    ports.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    'outer: while i < bytes.len() {
        let c = bytes[i];
        if (c == b':' || c == b' ') && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit() {
            for (port, node) in &ports {
                let end = i + 1 + port.len();
                if text.get(i + 1..end) == Some(port.as_str())
                    && !bytes.get(end).is_some_and(u8::is_ascii_digit)
                {
                    // A space form only counts when a space (or line end) follows too.
                    if c == b' ' && !matches!(bytes.get(end), Some(b' ') | Some(b'\n') | None) {
                        continue;
                    }
                    out.push(c as char);
                    out.push('<');
                    out.push_str(node);
                    out.push('>');
                    i = end;
                    continue 'outer;
                }
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalised_in_text_and_in_json_strings() {
        assert_eq!(
            unseeded("x\n  a=fingerprint:sha-256 AB:CD:01\ny"),
            "x\n  a=fingerprint:sha-256 <dtls-fingerprint>\ny"
        );
        let json = r#"{"raw":"v=0\r\na=fingerprint:sha-256 AB:CD:01\r\na=setup:actpass\r\n"}"#;
        let out = unseeded(json);
        assert_eq!(
            out,
            r#"{"raw":"v=0\r\na=fingerprint:sha-256 <dtls-fingerprint>\r\na=setup:actpass\r\n"}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        let end = r#"{"raw":"a=fingerprint:sha-256 AB:CD"}"#;
        assert!(serde_json::from_str::<serde_json::Value>(&unseeded(end)).is_ok());
        assert_eq!(unseeded("a=fingerprint:"), "a=fingerprint:");
    }

    #[test]
    fn ports_become_node_names() {
        let ports = vec![(43121, "pcscf-o".to_owned())];
        let text = "Via: SIP/2.0/UDP pcscf.example:43121;branch=z\n_sip._udp SRV 0 0 43121 pcscf.\n\"iat\":431210,x:43121\n";
        assert_eq!(
            normalise(text, &ports),
            "Via: SIP/2.0/UDP pcscf.example:<pcscf-o>;branch=z\n_sip._udp SRV 0 0 <pcscf-o> pcscf.\n\"iat\":431210,x:<pcscf-o>\n"
        );
    }
}
