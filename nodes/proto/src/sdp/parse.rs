//! Reading an SDP body (RFC 8866) into a [`Session`]: line by line into pending sections, then
//! each `m=application` section checked for what a data channel needs. Session-level
//! `a=ice-ufrag`, `a=ice-pwd`, `a=fingerprint` and `a=setup` apply to sections that do not set
//! their own (as WebRTC stacks write them).

use super::{Application, Candidate, DcMap, Media, SdpError, Session, Setup};

/// Reads an SDP body; see [`Session::parse`].
pub(super) fn session(text: &str) -> Result<Session, SdpError> {
    let mut reader = Reader::default();
    for (i, raw) in text.lines().enumerate() {
        let text = raw.trim_end_matches('\r');
        if !text.is_empty() {
            reader.line(Line { no: i + 1, text })?;
        }
    }
    reader.finish()
}

/// One non-empty line of the body, with its 1-based number for errors.
#[derive(Clone, Copy)]
struct Line<'a> {
    no: usize,
    text: &'a str,
}

impl Line<'_> {
    /// This line is malformed: `what` names the part.
    fn bad(self, what: &'static str) -> SdpError {
        SdpError::Line {
            line: self.no,
            what,
            text: self.text.to_owned(),
        }
    }

    /// This `a=dcmap` line is refused, for `reason`.
    fn bad_dcmap(self, reason: String) -> SdpError {
        SdpError::Dcmap {
            line: self.no,
            text: self.text.to_owned(),
            reason,
        }
    }
}

/// The attributes of an `m=application` section (or of the session level) while its lines are
/// read: each optional until the section ends.
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

/// The section the reader is in.
#[derive(Default)]
enum Section {
    /// Before the first m-line.
    #[default]
    Session,
    /// An audio section: its port and its attribute lines, kept verbatim.
    Audio(u16, Vec<String>),
    /// A data channel section.
    App(Box<Pending>),
    /// Any other media section: ignored.
    Other,
}

/// The reader's state between lines.
struct Reader {
    /// `o=` and `s=` as read so far; media are added by [`Reader::finish`].
    session: Session,
    /// Session-level attributes: defaults for the sections that do not set their own.
    top: Pending,
    /// The sections already ended, in order.
    sections: Vec<Section>,
    /// The section being read.
    current: Section,
}

impl Default for Reader {
    fn default() -> Self {
        Self {
            session: Session {
                session_id: 0,
                version: 0,
                name: String::new(),
                media: Vec::new(),
            },
            top: Pending::default(),
            sections: Vec::new(),
            current: Section::Session,
        }
    }
}

impl Reader {
    /// Takes one `<type>=<value>` line; unknown types are ignored (RFC 8866 §5).
    fn line(&mut self, line: Line<'_>) -> Result<(), SdpError> {
        let (kind, value) = line.text.split_once('=').ok_or_else(|| line.bad("line"))?;
        match kind {
            "o" => {
                let f: Vec<&str> = value.split_whitespace().collect();
                self.session.session_id = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                self.session.version = f.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
            }
            "s" => self.session.name = value.to_owned(),
            "m" => self.media(line, value)?,
            "a" => self.attribute(line, value)?,
            _ => {}
        }
        Ok(())
    }

    /// An m-line ends the current section and opens the next.
    fn media(&mut self, line: Line<'_>, value: &str) -> Result<(), SdpError> {
        let f: Vec<&str> = value.split_whitespace().collect();
        let port: u16 = f
            .get(1)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| line.bad("m-line port"))?;
        let next = match (f.first().copied(), f.get(2).copied()) {
            (Some("audio"), _) => Section::Audio(port, Vec::new()),
            (Some("application"), Some(p)) if p.ends_with("DTLS/SCTP") => {
                Section::App(Box::new(Pending {
                    port,
                    ..Pending::default()
                }))
            }
            _ => Section::Other,
        };
        self.sections
            .push(std::mem::replace(&mut self.current, next));
        Ok(())
    }

    /// An `a=` line: kept verbatim in audio, read at session level and in data channel
    /// sections, ignored elsewhere.
    fn attribute(&mut self, line: Line<'_>, value: &str) -> Result<(), SdpError> {
        let (name, val) = value.split_once(':').unwrap_or((value, ""));
        let target: &mut Pending = match &mut self.current {
            Section::Session => &mut self.top,
            Section::App(p) => p,
            Section::Audio(_, lines) => {
                lines.push(line.text.to_owned());
                return Ok(());
            }
            Section::Other => return Ok(()),
        };
        target.attribute(line, name, val)
    }

    /// The session with every audio and data channel section, in order.
    fn finish(self) -> Result<Session, SdpError> {
        let Reader {
            mut session,
            top,
            mut sections,
            current,
        } = self;
        sections.push(current);
        for s in sections {
            match s {
                Section::Audio(port, lines) => session.media.push(Media::Audio { port, lines }),
                Section::App(p) => session.media.push(Media::Application(p.finish(&top)?)),
                Section::Session | Section::Other => {}
            }
        }
        Ok(session)
    }
}

impl Pending {
    /// Reads one attribute; unknown attributes are ignored.
    fn attribute(&mut self, line: Line<'_>, name: &str, val: &str) -> Result<(), SdpError> {
        match name {
            "mid" => self.mid = Some(val.to_owned()),
            "ice-ufrag" => self.ufrag = Some(val.to_owned()),
            "ice-pwd" => self.pwd = Some(val.to_owned()),
            "candidate" => {
                // Only UDP host candidates are used; others are skipped.
                if let Some(c) = Candidate::parse(val) {
                    self.candidates.push(c);
                }
            }
            "fingerprint" => {
                let (alg, fp) = val
                    .split_once(' ')
                    .ok_or_else(|| line.bad("a=fingerprint"))?;
                self.fingerprint = Some((alg.to_owned(), fp.trim().to_owned()));
            }
            "setup" => self.setup = Some(Setup::parse(val).ok_or_else(|| line.bad("a=setup"))?),
            "sctp-port" => self.sctp_port = Some(val.parse().map_err(|_| line.bad("a=sctp-port"))?),
            "max-message-size" => {
                self.max_message_size =
                    Some(val.parse().map_err(|_| line.bad("a=max-message-size"))?)
            }
            "dcmap" => self.dcmap(line, val)?,
            "dcsa" => {
                let (id, attr) = val.split_once(' ').ok_or_else(|| line.bad("a=dcsa"))?;
                let id: u16 = id.parse().map_err(|_| line.bad("a=dcsa stream id"))?;
                self.dcsa.push((id, attr.to_owned()));
            }
            _ => {}
        }
        Ok(())
    }

    /// An `a=dcmap` line (RFC 8864 §5.1): well formed, and its stream not mapped already.
    fn dcmap(&mut self, line: Line<'_>, val: &str) -> Result<(), SdpError> {
        let map = DcMap::parse(val).map_err(|reason| line.bad_dcmap(reason))?;
        if self.dcmaps.iter().any(|m| m.stream == map.stream) {
            return Err(line.bad_dcmap(format!("stream {} mapped twice", map.stream)));
        }
        self.dcmaps.push(map);
        Ok(())
    }

    /// The finished section: a mid always; when not declined, ICE credentials, a fingerprint
    /// and a DTLS role (its own or the session's) and an SCTP port.
    fn finish(self, top: &Pending) -> Result<Application, SdpError> {
        let Some(mid) = self.mid.clone() else {
            return Err(SdpError::Missing {
                mid: String::new(),
                what: "a=mid",
            });
        };
        if self.port == 0 {
            return Ok(self.declined(mid));
        }
        let missing = |what| SdpError::Missing {
            mid: mid.clone(),
            what,
        };
        let ice_ufrag = self
            .ufrag
            .or_else(|| top.ufrag.clone())
            .ok_or_else(|| missing("a=ice-ufrag"))?;
        let ice_pwd = self
            .pwd
            .or_else(|| top.pwd.clone())
            .ok_or_else(|| missing("a=ice-pwd"))?;
        let fingerprint = self
            .fingerprint
            .or_else(|| top.fingerprint.clone())
            .ok_or_else(|| missing("a=fingerprint"))?;
        let setup = self.setup.or(top.setup).ok_or_else(|| missing("a=setup"))?;
        let sctp_port = self.sctp_port.ok_or_else(|| missing("a=sctp-port"))?;
        Ok(Application {
            port: self.port,
            mid,
            ice_ufrag,
            ice_pwd,
            candidates: self.candidates,
            fingerprint,
            setup,
            sctp_port,
            max_message_size: self.max_message_size.unwrap_or(65536),
            dcmaps: self.dcmaps,
            dcsa: self.dcsa,
        })
    }

    /// A declined section (port 0, RFC 3264 §6): what it says, nothing required.
    fn declined(self, mid: String) -> Application {
        Application {
            port: 0,
            mid,
            ice_ufrag: String::new(),
            ice_pwd: String::new(),
            candidates: Vec::new(),
            fingerprint: (String::new(), String::new()),
            setup: Setup::Active,
            sctp_port: self.sctp_port.unwrap_or(5000),
            max_message_size: self.max_message_size.unwrap_or(65536),
            dcmaps: self.dcmaps,
            dcsa: self.dcsa,
        }
    }
}
