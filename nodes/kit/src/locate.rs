//! Locating SIP servers (RFC 3263 §4): the contract between the SIP transport and whatever
//! answers "where is this host" — the world's DNS in a scenario, a fixed table in unit tests.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use serde::Serialize;

use crate::http::BoxFuture;

/// SIP transport protocol (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SipTransport {
    Udp,
    Tcp,
}

impl SipTransport {
    /// As written in a Via header (`SIP/2.0/UDP`).
    pub fn via_name(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
        }
    }
}

impl fmt::Display for SipTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_name())
    }
}

/// One place a SIP request may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SipTarget {
    pub addr: SocketAddr,
    pub transport: SipTransport,
}

/// RFC 3263 server location.
pub trait Locate: Send + Sync + fmt::Debug {
    /// Targets for a SIP URI's host, in preference order. `port` and `transport` are the URI's
    /// explicit port and `transport=` parameter, which (RFC 3263 §4.1–4.2) skip NAPTR and/or SRV.
    fn sip_targets<'a>(
        &'a self,
        host: &'a str,
        port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> BoxFuture<'a, io::Result<Vec<SipTarget>>>;
}
