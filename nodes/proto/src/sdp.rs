//! SDP for IMS data channels (TS 26.114 §6.2.10, RFC 8841 SCTP over DTLS, RFC 8864 `dcmap`),
//! built and parsed here: an audio m-line plus one `m=application <port> UDP/DTLS/SCTP
//! webrtc-datachannel` line per SCTP association, each with `a=mid`, ICE credentials and host
//! candidates, `a=fingerprint`, `a=setup`, `a=sctp-port`, `a=max-message-size` and one
//! `a=dcmap` per data channel (`a=dcsa` where a channel has sub-protocol attributes).
//!
//! Pure: no sockets. [`crate::dc`] turns an [`Application`] into a WebRTC peer and back.
//! Unknown attributes are kept aside (not an error); a malformed `a=dcmap` line is an error
//! that names the line and says what is wrong.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Why an SDP body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP line {line}: malformed a=dcmap ({reason}): {text:?}")]
    Dcmap {
        line: usize,
        text: String,
        reason: String,
    },
    #[error("SDP line {line}: malformed {what}: {text:?}")]
    Line {
        line: usize,
        what: &'static str,
        text: String,
    },
    #[error("SDP m=application section {mid:?} lacks {what}")]
    Missing { mid: String, what: &'static str },
}

/// `a=setup` (RFC 4145): who starts the DTLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Actpass,
    Active,
    Passive,
}

impl Setup {
    fn as_str(self) -> &'static str {
        match self {
            Setup::Actpass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "actpass" => Some(Setup::Actpass),
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            _ => None,
        }
    }
}

/// One `a=dcmap` (RFC 8864 §5.1): a data channel negotiated on a pre-agreed SCTP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcMap {
    /// SCTP stream id (0–65534).
    pub stream: u16,
    pub label: String,
    /// `http` for a bootstrap channel; empty for none.
    pub subprotocol: String,
    pub ordered: bool,
    /// Partial reliability: at most one of the two.
    pub max_retr: Option<u16>,
    pub max_time: Option<u16>,
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
            let (name, val) = opt
                .split_once('=')
                .ok_or_else(|| format!("option {opt:?} has no value"))?;
            let number = |v: &str| -> Result<u16, String> {
                v.parse()
                    .map_err(|_| format!("{name}={v:?} is not a number 0–65535"))
            };
            match name.trim() {
                "label" => map.label = quoted(val).ok_or(format!("label {val:?} is not quoted"))?,
                "subprotocol" => {
                    map.subprotocol =
                        quoted(val).ok_or(format!("subprotocol {val:?} is not quoted"))?
                }
                "ordered" => {
                    map.ordered = match val {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("ordered={other:?} is not true or false")),
                    }
                }
                "max-retr" => map.max_retr = Some(number(val)?),
                "max-time" => map.max_time = Some(number(val)?),
                "priority" => map.priority = Some(number(val)?),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if map.max_retr.is_some() && map.max_time.is_some() {
            return Err("max-retr and max-time are mutually exclusive".into());
        }
        Ok(map)
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

fn quoted(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then(|| inner.to_owned())
}

/// A host candidate (RFC 8839 §5.1), UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub foundation: String,
    pub component: u16,
    pub priority: u32,
    pub addr: SocketAddr,
    pub typ: String,
}

impl Candidate {
    pub fn host(addr: SocketAddr) -> Self {
        Self {
            foundation: "1".into(),
            component: 1,
            priority: 2_130_706_431,
            addr,
            typ: "host".into(),
        }
    }

    pub fn render(&self) -> String {
        format!(
            "{} {} UDP {} {} {} typ {}",
            self.foundation,
            self.component,
            self.priority,
            self.addr.ip(),
            self.addr.port(),
            self.typ
        )
    }

    fn parse(value: &str) -> Option<Self> {
        let f: Vec<&str> = value.split_whitespace().collect();
        if f.len() < 8 || f[6] != "typ" || !f[2].eq_ignore_ascii_case("udp") {
            return None;
        }
        let ip: IpAddr = f[4].parse().ok()?;
        let port: u16 = f[5].parse().ok()?;
        Some(Self {
            foundation: f[0].into(),
            component: f[1].parse().ok()?,
            priority: f[3].parse().ok()?,
            addr: SocketAddr::new(ip, port),
            typ: f[7].into(),
        })
    }
}

/// One `m=application … UDP/DTLS/SCTP webrtc-datachannel` section: one SCTP association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// 0 declines the section (RFC 3264 §6).
    pub port: u16,
    pub mid: String,
    pub ice_ufrag: String,
    pub ice_pwd: String,
    pub candidates: Vec<Candidate>,
    /// (`sha-256`, `AB:CD:…`).
    pub fingerprint: (String, String),
    pub setup: Setup,
    pub sctp_port: u16,
    pub max_message_size: u32,
    pub dcmaps: Vec<DcMap>,
    /// `a=dcsa:<stream> <attribute>` (RFC 8864 §6).
    pub dcsa: Vec<(u16, String)>,
}

impl Application {
    /// This section declined (port 0), as an answer to `offer` (RFC 3264 §6: mid kept).
    pub fn declined(offer: &Application) -> Self {
        Self {
            port: 0,
            mid: offer.mid.clone(),
            ice_ufrag: String::new(),
            ice_pwd: String::new(),
            candidates: Vec::new(),
            fingerprint: (String::new(), String::new()),
            setup: Setup::Active,
            sctp_port: offer.sctp_port,
            max_message_size: offer.max_message_size,
            dcmaps: Vec::new(),
            dcsa: Vec::new(),
        }
    }

    pub fn is_declined(&self) -> bool {
        self.port == 0
    }

    /// The channel on `stream`, if mapped.
    pub fn dcmap(&self, stream: u16) -> Option<&DcMap> {
        self.dcmaps.iter().find(|m| m.stream == stream)
    }

    fn render_into(&self, out: &mut String) {
        let _ = write!(
            out,
            "m=application {} UDP/DTLS/SCTP webrtc-datachannel\r\n",
            self.port
        );
        let ip = self
            .candidates
            .first()
            .map_or("127.0.0.1".to_owned(), |c| c.addr.ip().to_string());
        let _ = write!(out, "c=IN IP4 {ip}\r\na=mid:{}\r\n", self.mid);
        if self.is_declined() {
            return;
        }
        let _ = write!(
            out,
            "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
            self.ice_ufrag, self.ice_pwd
        );
        for c in &self.candidates {
            let _ = write!(out, "a=candidate:{}\r\n", c.render());
        }
        if !self.candidates.is_empty() {
            out.push_str("a=end-of-candidates\r\n");
        }
        let _ = write!(
            out,
            "a=fingerprint:{} {}\r\na=setup:{}\r\na=sctp-port:{}\r\na=max-message-size:{}\r\n",
            self.fingerprint.0,
            self.fingerprint.1,
            self.setup.as_str(),
            self.sctp_port,
            self.max_message_size
        );
        for m in &self.dcmaps {
            let _ = write!(out, "a=dcmap:{}\r\n", m.render());
        }
        for (stream, attr) in &self.dcsa {
            let _ = write!(out, "a=dcsa:{stream} {attr}\r\n");
        }
    }
}

/// A media section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// The call's audio (inactive in this testbed: no media flows); kept as its lines.
    Audio {
        port: u16,
        lines: Vec<String>,
    },
    Application(Application),
}

/// A session description: the audio section and data channel sections, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub session_id: u64,
    pub version: u64,
    /// Session name (`s=`): the testbed puts the sending host here.
    pub name: String,
    pub media: Vec<Media>,
}

impl Session {
    /// An audio-only session with the testbed's inactive audio m-line and `a=mid:audio`.
    pub fn with_audio(name: &str, session_id: u64) -> Self {
        Self {
            session_id,
            version: 0,
            name: name.into(),
            media: vec![Media::Audio {
                port: 9,
                lines: vec![
                    "a=mid:audio".into(),
                    "a=rtpmap:0 PCMU/8000".into(),
                    "a=inactive".into(),
                ],
            }],
        }
    }

    /// The data channel sections.
    pub fn applications(&self) -> impl Iterator<Item = &Application> {
        self.media.iter().filter_map(|m| match m {
            Media::Application(a) => Some(a),
            Media::Audio { .. } => None,
        })
    }

    /// The data channel section with this mid.
    pub fn application(&self, mid: &str) -> Option<&Application> {
        self.applications().find(|a| a.mid == mid)
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "v=0\r\no=- {} {} IN IP4 127.0.0.1\r\ns={}\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
            self.session_id, self.version, self.name
        );
        for m in &self.media {
            match m {
                Media::Audio { port, lines } => {
                    let _ = write!(out, "m=audio {port} RTP/AVP 0\r\n");
                    for l in lines {
                        let _ = write!(out, "{l}\r\n");
                    }
                }
                Media::Application(a) => a.render_into(&mut out),
            }
        }
        out
    }

    /// Parses an SDP body. Session-level `a=ice-ufrag`, `a=ice-pwd`, `a=fingerprint` and
    /// `a=setup` apply to sections that do not set their own (as WebRTC stacks write them).
    pub fn parse(text: &str) -> Result<Session, SdpError> {
        #[derive(Default)]
        struct Pending {
            port: u16,
            mid: Option<String>,
            ufrag: Option<String>,
            pwd: Option<String>,
            candidates: Vec<Candidate>,
            fingerprint: Option<(String, String)>,
            setup: Option<Setup>,
            sctp_port: Option<u16>,
            max_message_size: Option<u32>,
            dcmaps: Vec<DcMap>,
            dcsa: Vec<(u16, String)>,
        }
        enum Section {
            Session,
            Audio(u16, Vec<String>),
            App(Box<Pending>),
            Other,
        }
        let mut session = Session {
            session_id: 0,
            version: 0,
            name: String::new(),
            media: Vec::new(),
        };
        let mut top = Pending::default();
        let mut sections: Vec<Section> = Vec::new();
        let mut current = Section::Session;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let bad = |what: &'static str| SdpError::Line {
                line: line_no,
                what,
                text: line.to_owned(),
            };
            let (kind, value) = line.split_once('=').ok_or_else(|| bad("line"))?;
            match kind {
                "o" => {
                    let f: Vec<&str> = value.split_whitespace().collect();
                    session.session_id = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                    session.version = f.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
                }
                "s" => session.name = value.to_owned(),
                "m" => {
                    let f: Vec<&str> = value.split_whitespace().collect();
                    let port: u16 = f
                        .get(1)
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(|| bad("m-line port"))?;
                    sections.push(std::mem::replace(&mut current, Section::Other));
                    current = match (f.first().copied(), f.get(2).copied()) {
                        (Some("audio"), _) => Section::Audio(port, Vec::new()),
                        (Some("application"), Some(p)) if p.ends_with("DTLS/SCTP") => {
                            Section::App(Box::new(Pending {
                                port,
                                ..Pending::default()
                            }))
                        }
                        _ => Section::Other,
                    };
                }
                "a" => {
                    let (name, val) = value.split_once(':').unwrap_or((value, ""));
                    let target: &mut Pending = match &mut current {
                        Section::Session => &mut top,
                        Section::App(p) => p,
                        Section::Audio(_, lines) => {
                            lines.push(line.to_owned());
                            continue;
                        }
                        Section::Other => continue,
                    };
                    match name {
                        "mid" => target.mid = Some(val.to_owned()),
                        "ice-ufrag" => target.ufrag = Some(val.to_owned()),
                        "ice-pwd" => target.pwd = Some(val.to_owned()),
                        "candidate" => {
                            // Only UDP host candidates are used; others are skipped.
                            if let Some(c) = Candidate::parse(val) {
                                target.candidates.push(c);
                            }
                        }
                        "fingerprint" => {
                            let (alg, fp) =
                                val.split_once(' ').ok_or_else(|| bad("a=fingerprint"))?;
                            target.fingerprint = Some((alg.to_owned(), fp.trim().to_owned()));
                        }
                        "setup" => {
                            target.setup = Some(Setup::parse(val).ok_or_else(|| bad("a=setup"))?)
                        }
                        "sctp-port" => {
                            target.sctp_port = Some(val.parse().map_err(|_| bad("a=sctp-port"))?)
                        }
                        "max-message-size" => {
                            target.max_message_size =
                                Some(val.parse().map_err(|_| bad("a=max-message-size"))?)
                        }
                        "dcmap" => {
                            let map = DcMap::parse(val).map_err(|reason| SdpError::Dcmap {
                                line: line_no,
                                text: line.to_owned(),
                                reason,
                            })?;
                            if target.dcmaps.iter().any(|m| m.stream == map.stream) {
                                return Err(SdpError::Dcmap {
                                    line: line_no,
                                    text: line.to_owned(),
                                    reason: format!("stream {} mapped twice", map.stream),
                                });
                            }
                            target.dcmaps.push(map);
                        }
                        "dcsa" => {
                            let (id, attr) = val.split_once(' ').ok_or_else(|| bad("a=dcsa"))?;
                            let id: u16 = id.parse().map_err(|_| bad("a=dcsa stream id"))?;
                            target.dcsa.push((id, attr.to_owned()));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        sections.push(current);
        for s in sections {
            match s {
                Section::Audio(port, lines) => session.media.push(Media::Audio { port, lines }),
                Section::App(p) => {
                    let mid = p.mid.clone().unwrap_or_default();
                    let missing = |what| SdpError::Missing {
                        mid: mid.clone(),
                        what,
                    };
                    if p.mid.is_none() {
                        return Err(missing("a=mid"));
                    }
                    if p.port == 0 {
                        session.media.push(Media::Application(Application {
                            port: 0,
                            mid: mid.clone(),
                            ice_ufrag: String::new(),
                            ice_pwd: String::new(),
                            candidates: Vec::new(),
                            fingerprint: (String::new(), String::new()),
                            setup: Setup::Active,
                            sctp_port: p.sctp_port.unwrap_or(5000),
                            max_message_size: p.max_message_size.unwrap_or(65536),
                            dcmaps: p.dcmaps,
                            dcsa: p.dcsa,
                        }));
                        continue;
                    }
                    let app = Application {
                        port: p.port,
                        ice_ufrag: p
                            .ufrag
                            .or_else(|| top.ufrag.clone())
                            .ok_or_else(|| missing("a=ice-ufrag"))?,
                        ice_pwd: p
                            .pwd
                            .or_else(|| top.pwd.clone())
                            .ok_or_else(|| missing("a=ice-pwd"))?,
                        candidates: p.candidates,
                        fingerprint: p
                            .fingerprint
                            .or_else(|| top.fingerprint.clone())
                            .ok_or_else(|| missing("a=fingerprint"))?,
                        setup: p.setup.or(top.setup).ok_or_else(|| missing("a=setup"))?,
                        sctp_port: p.sctp_port.ok_or_else(|| missing("a=sctp-port"))?,
                        max_message_size: p.max_message_size.unwrap_or(65536),
                        dcmaps: p.dcmaps,
                        dcsa: p.dcsa,
                        mid,
                    };
                    session.media.push(Media::Application(app));
                }
                Section::Session | Section::Other => {}
            }
        }
        Ok(session)
    }
}

/// The Contact/REGISTER feature tag of a DC-capable UE (TS 24.229 §5.1.1.2, RFC 3840).
pub const DC_FEATURE_TAG: &str = "+sip.app-subtype=\"webrtc-datachannel\"";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn app(mid: &str, port: u16) -> Application {
        Application {
            port,
            mid: mid.into(),
            ice_ufrag: "ufragA".into(),
            ice_pwd: "pwdpwdpwdpwdpwdpwdpwdpwd".into(),
            candidates: vec![Candidate::host(SocketAddr::from(([127, 0, 0, 1], port)))],
            fingerprint: ("sha-256".into(), "AB:CD".into()),
            setup: Setup::Actpass,
            sctp_port: 5000,
            max_message_size: 65536,
            dcmaps: vec![
                DcMap::reliable(0, "bootstrap", "http"),
                DcMap {
                    max_retr: Some(3),
                    ordered: false,
                    priority: Some(256),
                    ..DcMap::reliable(1000, "avatar", "")
                },
            ],
            dcsa: vec![(1000, "accept-types:application/json".into())],
        }
    }

    #[test]
    fn round_trip() {
        let mut s = Session::with_audio("ue-a.example", 42);
        s.media.push(Media::Application(app("1", 40000)));
        let text = s.render();
        assert!(text.contains("m=application 40000 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
        assert!(text.contains("a=dcmap:0 label=\"bootstrap\";subprotocol=\"http\"\r\n"));
        assert!(
            text.contains(
                "a=dcmap:1000 label=\"avatar\";ordered=false;max-retr=3;priority=256\r\n"
            )
        );
        assert!(text.contains("a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n"));
        let back = Session::parse(&text).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.application("1").unwrap().dcmap(0).unwrap().label,
            "bootstrap"
        );
    }

    #[test]
    fn declined_section_round_trips() {
        let offer = app("1", 40000);
        let mut s = Session::with_audio("b", 1);
        s.media
            .push(Media::Application(Application::declined(&offer)));
        let back = Session::parse(&s.render()).unwrap();
        assert!(back.application("1").unwrap().is_declined());
    }

    #[test]
    fn session_level_attributes_apply() {
        let text = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA:BB\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=candidate:123 1 udp 2130706431 127.0.0.1 5555 typ host\r\na=candidate:9 1 tcp 1 127.0.0.1 9 typ host tcptype active\r\n";
        let s = Session::parse(text).unwrap();
        let a = s.application("0").unwrap();
        assert_eq!(a.fingerprint.1, "AA:BB");
        assert_eq!(a.candidates.len(), 1);
        assert_eq!(a.candidates[0].addr.port(), 5555);
    }

    #[test]
    fn malformed_dcmap_lines_are_refused_with_the_reason() {
        let base = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\na=sctp-port:5000\r\n";
        for (line, reason) in [
            ("a=dcmap:x label=\"a\"", "is not a number"),
            ("a=dcmap:65535", "reserved"),
            ("a=dcmap:70000", "is not a number"),
            ("a=dcmap:1 label=a", "not quoted"),
            ("a=dcmap:1 label=\"a", "unterminated"),
            ("a=dcmap:1 ordered=maybe", "not true or false"),
            ("a=dcmap:1 max-retr=2;max-time=10", "mutually exclusive"),
            ("a=dcmap:1 colour=\"red\"", "unknown option"),
            ("a=dcmap:1 max-retr", "has no value"),
            ("a=dcmap:1 label=\"a\";;", "empty option"),
        ] {
            let err = Session::parse(&format!("{base}{line}\r\n")).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, SdpError::Dcmap { line: 12, .. }) && text.contains(reason),
                "{line}: {text}"
            );
        }
        let twice = format!("{base}a=dcmap:1\r\na=dcmap:1 label=\"b\"\r\n");
        assert!(
            Session::parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("mapped twice")
        );
    }

    #[test]
    fn missing_attributes_are_named() {
        let text = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";
        assert_eq!(
            Session::parse(text).unwrap_err(),
            SdpError::Missing {
                mid: "1".into(),
                what: "a=ice-ufrag"
            }
        );
        let no_mid = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert!(
            Session::parse(no_mid)
                .unwrap_err()
                .to_string()
                .contains("a=mid")
        );
    }
}
