//! One data channel `m=application` section (RFC 8841): its ICE credentials and host
//! candidates (RFC 8839), DTLS fingerprint and role (RFC 8122, RFC 4145), SCTP port and
//! message size, and its `a=dcmap`/`a=dcsa` lines (RFC 8864).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::DcMap;

/// `a=setup` (RFC 4145): who starts the DTLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The offerer's choice: either role (the answerer picks).
    Actpass,
    /// This side starts the handshake.
    Active,
    /// This side waits for the handshake.
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

    pub(super) fn parse(s: &str) -> Option<Self> {
        match s {
            "actpass" => Some(Setup::Actpass),
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            _ => None,
        }
    }
}

/// A host candidate (RFC 8839 §5.1), UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Candidates with the same foundation share a base and type.
    pub foundation: String,
    /// ICE component id (1: the only one data channels use).
    pub component: u16,
    /// ICE priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// Where the candidate receives.
    pub addr: SocketAddr,
    /// Candidate type (`host`).
    pub typ: String,
}

impl Candidate {
    /// The host candidate for `addr`: foundation 1, component 1, the highest host priority.
    pub fn host(addr: SocketAddr) -> Self {
        Self {
            foundation: "1".into(),
            component: 1,
            priority: 2_130_706_431,
            addr,
            typ: "host".into(),
        }
    }

    /// The attribute value after `a=candidate:`.
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

    /// Parses the value after `a=candidate:`; `None` for anything but a UDP candidate.
    pub(super) fn parse(value: &str) -> Option<Self> {
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
    /// `a=mid` (RFC 5888): names the section across offer and answer.
    pub mid: String,
    /// `a=ice-ufrag` (RFC 8839 §5.4).
    pub ice_ufrag: String,
    /// `a=ice-pwd` (RFC 8839 §5.4).
    pub ice_pwd: String,
    /// `a=candidate` lines, UDP only.
    pub candidates: Vec<Candidate>,
    /// (`sha-256`, `AB:CD:…`).
    pub fingerprint: (String, String),
    /// `a=setup`: the DTLS role.
    pub setup: Setup,
    /// `a=sctp-port` (RFC 8841).
    pub sctp_port: u16,
    /// `a=max-message-size` (RFC 8841).
    pub max_message_size: u32,
    /// One per data channel.
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

    /// Whether the section is declined (port 0).
    pub fn is_declined(&self) -> bool {
        self.port == 0
    }

    /// The channel on `stream`, if mapped.
    pub fn dcmap(&self, stream: u16) -> Option<&DcMap> {
        self.dcmaps.iter().find(|m| m.stream == stream)
    }

    /// Appends the section's lines; a declined section gets only its m-, c- and mid lines.
    pub(super) fn render_into(&self, out: &mut String) {
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
