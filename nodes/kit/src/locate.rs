//! Locating SIP servers (RFC 3263 §4): the contract between the SIP transport and whatever
//! answers "where is this host" — the world's DNS in a scenario, a fixed table in unit tests.

use std::fmt;
use std::io;

use proto::sip::{SipTarget, SipTransport};

use crate::http::BoxFuture;

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
