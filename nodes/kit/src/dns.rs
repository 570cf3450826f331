//! The world's DNS: the zone data every network function is published in, an authoritative
//! server for it ([`DnsServer`], on hickory-server), and the stub resolver each node uses
//! ([`DnsResolver`], on hickory-resolver) to locate SIP servers (RFC 3263 §4: NAPTR per
//! RFC 3403, then SRV per RFC 2782, then A) and HTTP(S) servers (SRV `_https._tcp` /
//! `_http._tcp`, then A).
//!
//! Every address in the world is 127.0.0.1 and every port is chosen by the OS, so DNS — not the
//! URL — tells a client which port a network function listens on. Each zone is a valid
//! RFC 1035 zone: an SOA and an NS record at the apex, the name server's address, then the
//! network functions' records (see [`zones`]).

mod resolver;
mod server;

use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::{A, NAPTR, NS, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record};

pub use resolver::DnsResolver;
pub use server::DnsServer;

use crate::Error;

/// TTL of every record (seconds). A resolver caches an answer for the life of the world, so it
/// only matters to outside tools.
pub const TTL: u32 = 3600;

/// Serial of every zone's SOA (the zones never change while a world runs).
pub const SERIAL: u32 = 1;

/// The label of each zone's name server (`ns.<zone>`).
const NS_LABEL: &str = "ns";

/// What DNS publishes about one network function. Addresses are always 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Fully qualified host name, with or without the trailing dot.
    pub host: String,
    /// SIP port, served on UDP and TCP alike (NAPTR + SRV `_sip._udp` / `_sip._tcp`).
    pub sip_port: Option<u16>,
    /// SIP over TLS port (NAPTR `SIPS+D2T` + SRV `_sips._tcp`, RFC 3263 §4.1).
    pub sips_port: Option<u16>,
    /// HTTPS port (SRV `_https._tcp`).
    pub https_port: Option<u16>,
    /// Plain HTTP port (SRV `_http._tcp`).
    pub http_port: Option<u16>,
}

impl Entry {
    /// An entry with only an A record.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            sip_port: None,
            sips_port: None,
            https_port: None,
            http_port: None,
        }
    }

    /// Publishes a SIP port (NAPTR and SRV for UDP and TCP, RFC 3263 §4.1).
    pub fn with_sip(mut self, port: u16) -> Self {
        self.sip_port = Some(port);
        self
    }

    /// Publishes a SIP over TLS port (NAPTR `SIPS+D2T` and SRV `_sips._tcp`, RFC 3263 §4.1):
    /// where a `sips:` URI or `transport=tls` for this host goes.
    pub fn with_sips(mut self, port: u16) -> Self {
        self.sips_port = Some(port);
        self
    }

    /// Publishes an HTTPS port (SRV `_https._tcp`).
    pub fn with_https(mut self, port: u16) -> Self {
        self.https_port = Some(port);
        self
    }

    /// Publishes a plain HTTP port (SRV `_http._tcp`).
    pub fn with_http(mut self, port: u16) -> Self {
        self.http_port = Some(port);
        self
    }
}

/// One zone: its apex and its records (SOA first, then NS, then in the order of the entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The apex (absolute).
    pub origin: Name,
    /// Every record of the zone, SOA first.
    pub records: Vec<Record>,
}

impl Zone {
    /// The zone in presentation format (RFC 1035 §5.1), one record a line.
    pub fn lines(&self) -> Vec<String> {
        self.records.iter().map(Record::to_string).collect()
    }
}

/// The records of every entry, grouped into zones.
///
/// Each host's zone is its parent domain (the host minus its first label; a single-label host
/// is its own zone). A record goes into the longest of those zones that contains its owner
/// name, so a host that is also another host's parent is the apex of that zone. Per host:
///
/// * `host A 127.0.0.1`;
/// * with a SIP port (RFC 3263 §4.1, RFC 3403): `host NAPTR 10 50 "s" "SIP+D2U" ""
///   _sip._udp.host.`, `host NAPTR 20 50 "s" "SIP+D2T" "" _sip._tcp.host.`, and
///   `_sip._udp.host SRV 0 0 <port> host.`, `_sip._tcp.host SRV 0 0 <port> host.`;
/// * with a SIP over TLS port: `host NAPTR 30 50 "s" "SIPS+D2T" "" _sips._tcp.host.` and
///   `_sips._tcp.host SRV 0 0 <port> host.`;
/// * with an HTTPS port: `_https._tcp.host SRV 0 0 <port> host.`;
/// * with an HTTP port: `_http._tcp.host SRV 0 0 <port> host.`.
///
/// Zones come sorted by their names' text; the result depends only on the entries.
pub fn zones(entries: &[Entry]) -> Result<Vec<Zone>, Error> {
    let hosts = entries
        .iter()
        .map(|e| host_name(&e.host))
        .collect::<Result<Vec<_>, _>>()?;

    let mut origins: Vec<Name> = Vec::new();
    for host in &hosts {
        let origin = if host.num_labels() > 1 {
            fqdn(host.base_name())
        } else {
            host.clone()
        };
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    origins.sort_by_cached_key(Name::to_ascii);

    let mut zones: Vec<Zone> = Vec::with_capacity(origins.len());
    for origin in &origins {
        let ns = fqdn(child(origin, NS_LABEL)?);
        let soa = SOA::new(
            ns.clone(),
            fqdn(child(origin, "hostmaster")?),
            SERIAL,
            3600,
            600,
            86400,
            TTL,
        );
        zones.push(Zone {
            origin: origin.clone(),
            records: vec![
                Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)),
                Record::from_rdata(origin.clone(), TTL, RData::NS(NS(ns.clone()))),
            ],
        });
        // The name server's address, unless a network function has that very name.
        if !hosts.contains(&ns) {
            place(&mut zones, a_record(&ns))?;
        }
    }

    for (entry, host) in entries.iter().zip(&hosts) {
        place(&mut zones, a_record(host))?;
        if let Some(port) = entry.sip_port {
            let udp = fqdn(child(&child(host, "_udp")?, "_sip")?);
            let tcp = fqdn(child(&child(host, "_tcp")?, "_sip")?);
            place(&mut zones, naptr(host, 10, "SIP+D2U", &udp))?;
            place(&mut zones, naptr(host, 20, "SIP+D2T", &tcp))?;
            place(&mut zones, srv(&udp, port, host))?;
            place(&mut zones, srv(&tcp, port, host))?;
        }
        if let Some(port) = entry.sips_port {
            let tls = fqdn(child(&child(host, "_tcp")?, "_sips")?);
            place(&mut zones, naptr(host, 30, "SIPS+D2T", &tls))?;
            place(&mut zones, srv(&tls, port, host))?;
        }
        if let Some(port) = entry.https_port {
            let name = fqdn(child(&child(host, "_tcp")?, "_https")?);
            place(&mut zones, srv(&name, port, host))?;
        }
        if let Some(port) = entry.http_port {
            let name = fqdn(child(&child(host, "_tcp")?, "_http")?);
            place(&mut zones, srv(&name, port, host))?;
        }
    }
    Ok(zones)
}

/// A host name as an absolute, lower-case DNS name.
fn host_name(host: &str) -> Result<Name, Error> {
    let bad = |detail: String| Error::Dns {
        detail: format!("host {host:?}: {detail}"),
    };
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    if trimmed.is_empty() {
        return Err(bad("empty".into()));
    }
    let name = Name::from_ascii(trimmed).map_err(|e| bad(e.to_string()))?;
    Ok(fqdn(name.to_lowercase()))
}

fn fqdn(mut name: Name) -> Name {
    name.set_fqdn(true);
    name
}

fn child(parent: &Name, label: &str) -> Result<Name, Error> {
    parent.prepend_label(label).map_err(|e| Error::Dns {
        detail: format!("{label}.{parent}: {e}"),
    })
}

/// Adds `record` (once) to the longest zone containing its owner name.
fn place(zones: &mut [Zone], record: Record) -> Result<(), Error> {
    let zone = zones
        .iter_mut()
        .filter(|z| z.origin.zone_of(&record.name))
        .max_by_key(|z| z.origin.num_labels())
        .ok_or_else(|| Error::Dns {
            detail: format!("no zone for {}", record.name),
        })?;
    if !zone.records.contains(&record) {
        zone.records.push(record);
    }
    Ok(())
}

fn a_record(host: &Name) -> Record {
    Record::from_rdata(host.clone(), TTL, RData::A(A(Ipv4Addr::LOCALHOST)))
}

fn naptr(host: &Name, order: u16, service: &str, replacement: &Name) -> Record {
    let rdata = NAPTR::new(
        order,
        50,
        b"s".to_vec().into_boxed_slice(),
        service.as_bytes().to_vec().into_boxed_slice(),
        Vec::new().into_boxed_slice(),
        replacement.clone(),
    );
    Record::from_rdata(host.clone(), TTL, RData::NAPTR(rdata))
}

fn srv(name: &Name, port: u16, target: &Name) -> Record {
    Record::from_rdata(
        name.clone(),
        TTL,
        RData::SRV(SRV::new(0, 0, port, target.clone())),
    )
}

/// A host name without the trailing dot, as summaries show it.
fn display_name(name: &Name) -> String {
    let text = name.to_ascii();
    match text.strip_suffix('.') {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zones_are_parents_and_the_longest_match_wins() {
        let entries = [
            Entry::new("a.example").with_sip(5070),
            Entry::new("B.Example."),
            Entry::new("x.a.example").with_https(8443),
        ];
        let zones = zones(&entries).unwrap();
        let origins: Vec<String> = zones.iter().map(|z| z.origin.to_string()).collect();
        assert_eq!(origins, ["a.example.", "example."]);
        let apex = &zones[0].lines();
        assert!(apex.contains(&"a.example. 3600 IN A 127.0.0.1".to_string()));
        assert!(apex.contains(&"_sip._udp.a.example. 3600 IN SRV 0 0 5070 a.example.".to_string()));
        assert!(
            apex.contains(
                &"_https._tcp.x.a.example. 3600 IN SRV 0 0 8443 x.a.example.".to_string()
            )
        );
        let parent = &zones[1].lines();
        assert!(parent[0].starts_with("example. 3600 IN SOA ns.example. hostmaster.example. 1 "));
        assert!(parent.contains(&"b.example. 3600 IN A 127.0.0.1".to_string()));
        assert!(!parent.iter().any(|l| l.starts_with("a.example.")));
    }

    #[test]
    fn a_sips_port_is_a_naptr_and_an_srv_record() {
        let zones = zones(&[Entry::new("ibcf.a.example").with_sip(5070).with_sips(5071)]).unwrap();
        let lines = zones[0].lines();
        assert!(lines.contains(
            &"ibcf.a.example. 3600 IN NAPTR 30 50 \"s\" \"SIPS+D2T\" \"\" _sips._tcp.ibcf.a.example."
                .to_string()
        ), "{lines:#?}");
        assert!(lines.contains(
            &"_sips._tcp.ibcf.a.example. 3600 IN SRV 0 0 5071 ibcf.a.example.".to_string()
        ));
        // Without one, nothing about TLS is published.
        let plain = super::zones(&[Entry::new("ibcf.a.example").with_sip(5070)]).unwrap();
        assert!(!plain[0].lines().iter().any(|l| l.contains("sips")));
    }

    #[test]
    fn bad_host_is_an_error() {
        assert!(matches!(zones(&[Entry::new("")]), Err(Error::Dns { .. })));
        assert!(matches!(
            zones(&[Entry::new("a..b")]),
            Err(Error::Dns { .. })
        ));
    }
}
