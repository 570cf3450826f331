//! `a=dcmap` (RFC 8864 §5.1): one data channel negotiated on a pre-agreed SCTP stream.

/// One `a=dcmap` (RFC 8864 §5.1): a data channel negotiated on a pre-agreed SCTP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcMap {
    /// SCTP stream id (0–65534).
    pub stream: u16,
    /// The channel's label; empty for none.
    pub label: String,
    /// `http` for a bootstrap channel; empty for none.
    pub subprotocol: String,
    /// Whether messages are delivered in order.
    pub ordered: bool,
    /// Partial reliability by retransmissions; at most one of this and `max_time`.
    pub max_retr: Option<u16>,
    /// Partial reliability by lifetime, in milliseconds.
    pub max_time: Option<u16>,
    /// The channel's priority.
    pub priority: Option<u16>,
}

impl DcMap {
    /// An ordered, reliable channel.
    pub fn reliable(stream: u16, label: &str, subprotocol: &str) -> Self {
        Self {
            stream,
            label: label.into(),
            subprotocol: subprotocol.into(),
            ordered: true,
            max_retr: None,
            max_time: None,
            priority: None,
        }
    }

    /// The attribute value after `a=dcmap:`.
    pub fn render(&self) -> String {
        let mut opts = Vec::new();
        if !self.label.is_empty() {
            opts.push(format!("label=\"{}\"", self.label));
        }
        if !self.subprotocol.is_empty() {
            opts.push(format!("subprotocol=\"{}\"", self.subprotocol));
        }
        if !self.ordered {
            opts.push("ordered=false".into());
        }
        if let Some(n) = self.max_retr {
            opts.push(format!("max-retr={n}"));
        }
        if let Some(n) = self.max_time {
            opts.push(format!("max-time={n}"));
        }
        if let Some(n) = self.priority {
            opts.push(format!("priority={n}"));
        }
        if opts.is_empty() {
            self.stream.to_string()
        } else {
            format!("{} {}", self.stream, opts.join(";"))
        }
    }

    /// Parses the value after `a=dcmap:`; the error says what is wrong.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (id, rest) = value.split_once(' ').unwrap_or((value, ""));
        let stream: u16 = id
            .parse()
            .map_err(|_| format!("stream id {id:?} is not a number 0–65534"))?;
        if stream == u16::MAX {
            return Err("stream id 65535 is reserved".into());
        }
        let mut map = DcMap::reliable(stream, "", "");
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(map);
        }
        for opt in split_opts(rest)? {
            map.set_option(opt)?;
        }
        if map.max_retr.is_some() && map.max_time.is_some() {
            return Err("max-retr and max-time are mutually exclusive".into());
        }
        Ok(map)
    }

    /// Applies one `name=value` option of a `dcmap` value (RFC 8864 §5.1).
    fn set_option(&mut self, opt: &str) -> Result<(), String> {
        let (name, val) = opt
            .split_once('=')
            .ok_or_else(|| format!("option {opt:?} has no value"))?;
        let number = |v: &str| -> Result<u16, String> {
            v.parse()
                .map_err(|_| format!("{name}={v:?} is not a number 0–65535"))
        };
        match name.trim() {
            "label" => self.label = quoted(val).ok_or(format!("label {val:?} is not quoted"))?,
            "subprotocol" => {
                self.subprotocol =
                    quoted(val).ok_or(format!("subprotocol {val:?} is not quoted"))?
            }
            "ordered" => {
                self.ordered = match val {
                    "true" => true,
                    "false" => false,
                    other => return Err(format!("ordered={other:?} is not true or false")),
                }
            }
            "max-retr" => self.max_retr = Some(number(val)?),
            "max-time" => self.max_time = Some(number(val)?),
            "priority" => self.priority = Some(number(val)?),
            other => return Err(format!("unknown option {other:?}")),
        }
        Ok(())
    }
}

/// Splits `a;b;"c;d"` at semicolons outside quotes; an unterminated quote is an error.
fn split_opts(s: &str) -> Result<Vec<&str>, String> {
    let (mut out, mut start, mut quote) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quote = !quote,
            ';' if !quote => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote {
        return Err("unterminated quoted string".into());
    }
    out.push(s[start..].trim());
    if out.iter().any(|o| o.is_empty()) {
        return Err("empty option".into());
    }
    Ok(out)
}

/// The inside of a quoted-string without embedded quotes; `None` when not quoted.
fn quoted(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then(|| inner.to_owned())
}
