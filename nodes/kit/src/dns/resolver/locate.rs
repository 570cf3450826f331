//! Locating servers through DNS: SIP servers as RFC 3263 §4 says (NAPTR per RFC 3403, then
//! SRV per RFC 2782, then A) and HTTP(S) servers (SRV `_https._tcp` / `_http._tcp`, then A).

use std::io;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::answer::not_found;
use super::{Answer, DnsResolver, child, ip_literal, parse_name};
use proto::sip::{SipTarget, SipTransport};

/// RFC 3263 §4.2: the port when DNS gives none.
const SIP_DEFAULT_PORT: u16 = 5060;
/// RFC 3263 §4.2: the port when DNS gives none, for TLS.
const SIPS_DEFAULT_PORT: u16 = 5061;

/// The port when DNS gives none, for `transport`.
fn default_port(transport: SipTransport) -> u16 {
    match transport {
        SipTransport::Tls => SIPS_DEFAULT_PORT,
        SipTransport::Udp | SipTransport::Tcp => SIP_DEFAULT_PORT,
    }
}

impl DnsResolver {
    /// SIP targets from the SRV records of `name`, for `transport`. A target without an
    /// address is skipped.
    async fn srv_targets(
        &self,
        name: &Name,
        transport: SipTransport,
    ) -> io::Result<Vec<SipTarget>> {
        let mut targets = Vec::new();
        for (port, target) in self.srv(name).await? {
            match self.addresses(&target).await {
                Ok(ips) => targets.extend(ips.into_iter().map(|ip| SipTarget {
                    addr: SocketAddr::new(ip, port),
                    transport,
                })),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(targets)
    }

    /// SIP targets for a URI's host, in the order RFC 3263 §4 gives: an IP literal as it is;
    /// an explicit port skips NAPTR and SRV, an explicit transport skips NAPTR; else NAPTR,
    /// then SRV for each transport, then the host's address on port 5060 over UDP.
    ///
    /// TLS is used when asked for (a `sips:` URI or `transport=tls`: SRV `_sips._tcp`, then the
    /// address on port 5061). Without a transport, only the `SIP+D2U` and `SIP+D2T` NAPTR
    /// services are followed: a `sip:` URI is not moved to TLS by what a server publishes.
    pub(super) async fn locate(
        &self,
        host: &str,
        port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> io::Result<Vec<SipTarget>> {
        if let Some(ip) = ip_literal(host) {
            let transport = transport.unwrap_or(SipTransport::Udp);
            return Ok(vec![SipTarget {
                addr: SocketAddr::new(ip, port.unwrap_or(default_port(transport))),
                transport,
            }]);
        }
        let name = parse_name(host)?;

        // §4.1–4.2: an explicit port skips NAPTR and SRV.
        if let Some(port) = port {
            let transport = transport.unwrap_or(SipTransport::Udp);
            return Ok(by_address(self.addresses(&name).await?, port, transport));
        }

        // §4.1: an explicit transport skips NAPTR.
        if let Some(transport) = transport {
            return self.locate_by_srv(&name, transport).await;
        }

        let targets = self.locate_by_naptr(&name).await?;
        if !targets.is_empty() {
            return Ok(targets);
        }

        // §4.1: no (usable) NAPTR — SRV for each transport we speak.
        let mut targets = Vec::new();
        for transport in [SipTransport::Udp, SipTransport::Tcp] {
            targets.extend(
                self.srv_targets(&sip_srv_name(&name, transport)?, transport)
                    .await?,
            );
        }
        if !targets.is_empty() {
            return Ok(targets);
        }

        // §4.2: no SRV — the host's address, port 5060, UDP.
        let ips = self.addresses(&name).await?;
        Ok(by_address(ips, SIP_DEFAULT_PORT, SipTransport::Udp))
    }

    /// §4.1 with a transport given: its SRV targets, else the host's address on port 5060
    /// (5061 for TLS).
    async fn locate_by_srv(
        &self,
        name: &Name,
        transport: SipTransport,
    ) -> io::Result<Vec<SipTarget>> {
        let targets = self
            .srv_targets(&sip_srv_name(name, transport)?, transport)
            .await?;
        if !targets.is_empty() {
            return Ok(targets);
        }
        let ips = self.addresses(name).await?;
        Ok(by_address(ips, default_port(transport), transport))
    }

    /// §4.1: the SRV targets of the NAPTR records for the services we speak, in order then
    /// preference. Empty when there is no usable NAPTR; an error when the name does not exist.
    async fn locate_by_naptr(&self, name: &Name) -> io::Result<Vec<SipTarget>> {
        match self.answer(name, RecordType::NAPTR).await? {
            Answer::Records(records) => {
                let mut targets = Vec::new();
                for (transport, replacement) in sip_naptrs(&records) {
                    targets.extend(self.srv_targets(&replacement, transport).await?);
                }
                Ok(targets)
            }
            // RFC 8020: nothing exists at or below a name that does not exist.
            Answer::Negative(ResponseCode::NXDomain) => {
                Err(not_found(name, RecordType::NAPTR, ResponseCode::NXDomain))
            }
            Answer::Negative(_) => Ok(Vec::new()),
        }
    }

    /// Where an HTTP(S) host is (see the [`crate::http::Resolve`] impl).
    pub(super) async fn http_addr(&self, host: &str, port: u16) -> io::Result<SocketAddr> {
        if let Some(ip) = ip_literal(host) {
            return Ok(SocketAddr::new(ip, port));
        }
        let name = parse_name(host)?;
        let service = match port {
            443 => Some("_https"),
            80 => Some("_http"),
            _ => None,
        };
        if let Some(service) = service {
            let srv_name = child(&child(&name, "_tcp")?, service)?;
            for (srv_port, target) in self.srv(&srv_name).await? {
                match self.addresses(&target).await {
                    Ok(ips) => {
                        if let Some(ip) = ips.first() {
                            return Ok(SocketAddr::new(*ip, srv_port));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let ips = self.addresses(&name).await?;
        ips.first()
            .map(|ip| SocketAddr::new(*ip, port))
            .ok_or_else(|| not_found(&name, RecordType::A, ResponseCode::NoError))
    }
}

/// One target per address.
fn by_address(ips: Vec<IpAddr>, port: u16, transport: SipTransport) -> Vec<SipTarget> {
    ips.into_iter()
        .map(|ip| SipTarget {
            addr: SocketAddr::new(ip, port),
            transport,
        })
        .collect()
}

/// The NAPTR records for SIP over UDP (`SIP+D2U`) and TCP (`SIP+D2T`) with the `s` flag
/// (RFC 3263 §4.1, RFC 3403), sorted by order then preference: each one's transport and the
/// SRV name it points to.
fn sip_naptrs(records: &[Record]) -> Vec<(SipTransport, Name)> {
    let mut naptrs: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::NAPTR(n) if n.flags.eq_ignore_ascii_case(b"s") => {
                let transport = if n.services.eq_ignore_ascii_case(b"SIP+D2U") {
                    SipTransport::Udp
                } else if n.services.eq_ignore_ascii_case(b"SIP+D2T") {
                    SipTransport::Tcp
                } else {
                    return None;
                };
                Some((n.order, n.preference, transport, n.replacement.clone()))
            }
            _ => None,
        })
        .collect();
    naptrs.sort_by_key(|a| (a.0, a.1));
    naptrs
        .into_iter()
        .map(|(_, _, transport, replacement)| (transport, replacement))
        .collect()
}

/// The SRV name of a SIP service (RFC 3263 §4.1, RFC 2782): `_sip._udp`, `_sip._tcp`, and
/// `_sips._tcp` for TLS.
fn sip_srv_name(host: &Name, transport: SipTransport) -> io::Result<Name> {
    let (service, proto) = match transport {
        SipTransport::Udp => ("_sip", "_udp"),
        SipTransport::Tcp => ("_sip", "_tcp"),
        SipTransport::Tls => ("_sips", "_tcp"),
    };
    child(&child(host, proto)?, service)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dns::{a_record, naptr};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn sip_naptrs_keep_our_services_in_order_then_preference() {
        let host = name("a.example.");
        let records = vec![
            naptr(&host, 20, "SIP+D2T", &name("_sip._tcp.a.example.")),
            a_record(&host),
            naptr(&host, 10, "sip+d2u", &name("_sip._udp.a.example.")),
            naptr(&host, 5, "SIPS+D2T", &name("_sips._tcp.a.example.")),
        ];
        let found = sip_naptrs(&records);
        assert_eq!(
            found,
            [
                (SipTransport::Udp, name("_sip._udp.a.example.")),
                (SipTransport::Tcp, name("_sip._tcp.a.example.")),
            ]
        );
    }

    #[test]
    fn sip_srv_names_follow_rfc_2782() {
        let host = name("a.example.");
        assert_eq!(
            sip_srv_name(&host, SipTransport::Udp).unwrap(),
            name("_sip._udp.a.example.")
        );
        assert_eq!(
            sip_srv_name(&host, SipTransport::Tcp).unwrap(),
            name("_sip._tcp.a.example.")
        );
        assert_eq!(
            sip_srv_name(&host, SipTransport::Tls).unwrap(),
            name("_sips._tcp.a.example.")
        );
        assert_eq!(default_port(SipTransport::Tls), 5061);
        assert_eq!(default_port(SipTransport::Udp), 5060);
    }
}
