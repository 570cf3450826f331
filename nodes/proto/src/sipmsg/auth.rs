//! RFC 7235 §2.1 auth-params: the `scheme name=value, …` form of `WWW-Authenticate`,
//! `Authorization` and their proxy variants, as TR 33.790 solution #4 carries its token and
//! challenge in them.

use std::collections::BTreeMap;

/// Parses one challenge or credentials value in the RFC 7235 auth-param form:
/// `scheme [ name=value *( "," name=value ) ]`, values tokens or quoted-strings (commas and
/// escaped quotes inside quotes kept, escapes removed). Parameter names are lower-cased (they
/// are case-insensitive); the scheme is returned as written. A second challenge in the same
/// value (`…, Digest realm="x"`) ends the first. `None` when malformed: no scheme, a parameter
/// without `=` or value, an unterminated quoted-string, a name given twice, or token68 form.
pub fn auth_params(value: &str) -> Option<(String, BTreeMap<String, String>)> {
    let mut cur = Cursor::new(value);
    cur.skip_ws();
    let scheme = cur.token();
    if scheme.is_empty() || cur.peek().is_some_and(|c| !is_ws(c)) {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut after_comma = false;
    loop {
        after_comma |= cur.skip_empty_elements();
        if cur.at_end() {
            break;
        }
        let (name, value) = match cur.param(after_comma)? {
            Param::Pair(name, value) => (name, value),
            Param::NextChallenge => return Some((scheme, params)),
        };
        if params.insert(name.to_ascii_lowercase(), value).is_some() {
            return None;
        }
        cur.skip_ws();
        match cur.peek() {
            None => break,
            Some(',') => {}
            Some(_) => return None,
        }
    }
    Some((scheme, params))
}

/// What follows a list separator.
enum Param {
    /// `name=value`, the value unquoted.
    Pair(String, String),
    /// `, Scheme …`: the next challenge starts here and ends this one.
    NextChallenge,
}

/// A position in an auth-param value.
struct Cursor {
    chars: Vec<char>,
    i: usize,
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 7230 §3.2.6 tchar.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

impl Cursor {
    fn new(value: &str) -> Self {
        Self {
            chars: value.chars().collect(),
            i: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.chars.len()
    }

    /// Skips spaces and tabs (RFC 7230 §3.2.3 OWS, BWS).
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    /// Skips whitespace and empty list elements (RFC 7230 §7 allows them); whether it passed a
    /// comma.
    fn skip_empty_elements(&mut self) -> bool {
        let mut comma = false;
        self.skip_ws();
        while self.peek() == Some(',') {
            comma = true;
            self.i += 1;
            self.skip_ws();
        }
        comma
    }

    /// A token, possibly empty.
    fn token(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        self.chars[start..self.i].iter().collect()
    }

    /// `name = value`, or the start of the next challenge (a token after a comma, then
    /// whitespace and more, with no `=`); `None` when malformed.
    fn param(&mut self, after_comma: bool) -> Option<Param> {
        let name = self.token();
        if name.is_empty() {
            return None;
        }
        let before_ws = self.i;
        self.skip_ws();
        if self.peek() != Some('=') {
            let next_challenge = after_comma && self.i > before_ws && !self.at_end();
            return next_challenge.then_some(Param::NextChallenge);
        }
        self.i += 1;
        self.skip_ws();
        let value = if self.peek() == Some('"') {
            self.quoted_string()?
        } else {
            Some(self.token()).filter(|v| !v.is_empty())?
        };
        Some(Param::Pair(name, value))
    }

    /// A quoted-string (RFC 7230 §3.2.6) at the cursor, unescaped; `None` when unterminated.
    fn quoted_string(&mut self) -> Option<String> {
        self.i += 1;
        let mut v = String::new();
        loop {
            match self.peek()? {
                '"' => {
                    self.i += 1;
                    return Some(v);
                }
                '\\' => {
                    v.push(*self.chars.get(self.i + 1)?);
                    self.i += 2;
                }
                c => {
                    v.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn auth_params_bearer_credentials() {
        let (scheme, p) =
            auth_params(r#"Bearer realm="authz.example", 3pid="tel:+1", token="a.b,c", x=y"#)
                .unwrap();
        assert_eq!(scheme, "Bearer");
        assert_eq!(p["realm"], "authz.example");
        assert_eq!(p["3pid"], "tel:+1");
        assert_eq!(p["token"], "a.b,c");
        assert_eq!(p["x"], "y");
        let (_, p) = auth_params(r#"Bearer nonce="q\"uote""#).unwrap();
        assert_eq!(p["nonce"], "q\"uote");
        assert!(auth_params(r#"Bearer realm="open"#).is_none());
        assert!(auth_params("").is_none());
        assert_eq!(auth_params("Bearer").unwrap().1.len(), 0);
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn auth_params_parse() {
        let (scheme, p) =
            auth_params(r#"Bearer realm="authz.enterprise.example", nonce="0a1b""#).unwrap();
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            p,
            params(&[("realm", "authz.enterprise.example"), ("nonce", "0a1b")])
        );
        // Tokens, odd spacing, case-insensitive names, empty list elements.
        let (scheme, p) = auth_params("  bearer  Realm = x.example ,, NONCE=abc-1 ,").unwrap();
        assert_eq!(scheme, "bearer");
        assert_eq!(p, params(&[("realm", "x.example"), ("nonce", "abc-1")]));
        // Commas and escaped quotes inside a quoted-string.
        let (_, p) =
            auth_params(r#"Bearer realm="a, b", error_description="say \"no\", \\ok""#).unwrap();
        assert_eq!(
            p,
            params(&[("realm", "a, b"), ("error_description", r#"say "no", \ok"#)])
        );
        // An empty quoted value is a value.
        assert_eq!(
            auth_params(r#"Bearer realm="""#).unwrap().1,
            params(&[("realm", "")])
        );
        // A scheme alone.
        assert_eq!(
            auth_params("Bearer").unwrap(),
            ("Bearer".to_owned(), BTreeMap::new())
        );
        // A second challenge ends the first.
        let (scheme, p) =
            auth_params(r#"Bearer realm="r", nonce="n", Digest realm="d", qop="auth""#).unwrap();
        assert_eq!(scheme, "Bearer");
        assert_eq!(p, params(&[("realm", "r"), ("nonce", "n")]));
        // Malformed.
        for bad in [
            "",
            "   ",
            r#"="x""#,
            r#"Bearer realm="unterminated"#,
            r#"Bearer realm="ends in escape\"#,
            "Bearer realm",
            "Bearer realm=",
            r#"Bearer realm="a" nonce="b""#,
            r#"Bearer realm="a", realm="b""#,
            r#"Bearer Realm="a", realm="b""#,
            "Bearer abc==",
            r#"Bearer,realm="a""#,
            r#"Bearer realm="a"x"#,
        ] {
            assert_eq!(auth_params(bad), None, "{bad:?}");
        }
    }
}
