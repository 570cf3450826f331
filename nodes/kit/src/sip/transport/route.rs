//! Preparing and routing requests: what a request must carry when it leaves (§8.1.1), where
//! it goes (§8.1.2, §16.6, RFC 3263 §4) and over which transport (§18.1.1).

use std::net::SocketAddr;

use rsipstack::sip::headers::untyped::ToTypedHeader as _;
use rsipstack::sip::{Header, HeadersExt as _, Host, Param, Request, Scheme, Uri};

use super::sip_error;
use crate::Error;
use crate::sip::endpoint::{Inner, shut_down};
use crate::sip::wire;
use crate::sip::{SipTarget, SipTransport, UDP_SIZE_LIMIT};

impl Inner {
    /// Adds what a request must carry when it leaves: a Via with a fresh branch if it has none,
    /// Max-Forwards 70 if it has none (§8.1.1), Content-Length of its body.
    pub(in crate::sip) fn prepare_outgoing(&self, mut request: Request) -> Result<Request, Error> {
        if self.is_closed() {
            return Err(shut_down());
        }
        if !request.headers.iter().any(|h| matches!(h, Header::Via(_))) {
            let via = format!(
                "SIP/2.0/UDP {}:{};branch={}",
                self.config.host,
                self.addr.port(),
                self.next_branch()
            );
            request.headers.0.insert(0, Header::Via(via.into()));
        }
        if request.max_forwards_header().is_err() {
            let at = request
                .headers
                .0
                .iter()
                .rposition(|h| matches!(h, Header::Via(_)))
                .map_or(0, |i| i + 1);
            request.headers.0.insert(at, Header::MaxForwards(70.into()));
        }
        let length = u32::try_from(request.body.len()).map_err(|_| sip_error("body too large"))?;
        request
            .headers
            .unique_push(Header::ContentLength(length.into()));
        Ok(request)
    }

    /// Where a request goes, in order, each with the request as it is sent there (our Via
    /// naming the transport). Over TCP when larger than 1300 bytes (§18.1.1).
    pub(in crate::sip) async fn routes_for(
        &self,
        request: &Request,
    ) -> Result<Vec<(SipTarget, Request)>, Error> {
        let uri = match request.typed_route_headers() {
            Ok(routes) if !routes.is_empty() => routes
                .into_iter()
                .next()
                .map_or_else(|| request.uri.clone(), |r| r.uri),
            Ok(_) => request.uri.clone(),
            Err(e) => return Err(sip_error(format!("Route header unusable: {e}"))),
        };
        let large = wire::encode_request(request).len() > UDP_SIZE_LIMIT;
        let mut routes: Vec<(SipTarget, Request)> = Vec::new();
        for mut target in self.locate_uri(&uri).await? {
            if large && target.transport == SipTransport::Udp {
                target.transport = SipTransport::Tcp;
            }
            if routes.iter().any(|(t, _)| *t == target) {
                continue;
            }
            routes.push((target, self.with_via_transport(request, target.transport)));
        }
        Ok(routes)
    }

    /// `request` with our top Via's transport set to `transport` (§18.1.1); over TLS from an
    /// endpoint with a TLS listener, its sent-by port is the listener's (and back again when
    /// the request goes over UDP or TCP after all).
    pub(super) fn with_via_transport(&self, request: &Request, transport: SipTransport) -> Request {
        let mut request = request.clone();
        let host = &self.config.host;
        let tls_port = self.tls_addr.map(|a| a.port());
        if let Ok(via) = request.via_header_mut() {
            let _ = via.update_first_value(|value| {
                let mut top = value.typed()?;
                let ours = matches!(&top.uri.host_with_port.host, Host::Domain(d) if d.0.eq_ignore_ascii_case(host));
                if ours {
                    let was_tls = top.transport == wire::rsip_transport(SipTransport::Tls);
                    top.transport = wire::rsip_transport(transport);
                    match (tls_port, transport == SipTransport::Tls) {
                        (Some(port), true) => top.uri.host_with_port.port = Some(port.into()),
                        (Some(_), false) if was_tls => {
                            top.uri.host_with_port.port = Some(self.addr.port().into());
                        }
                        _ => {}
                    }
                    Ok(top.into())
                } else {
                    Ok(value)
                }
            });
        }
        request
    }

    /// Targets for a SIP URI (RFC 3263 §4): a numeric host directly, a name through Locate.
    /// A `sips:` URI goes over TLS (RFC 3261 §26.2.2), and so does a URI naming a host of
    /// [`crate::sip::TlsConfig::always`] without a `transport` parameter.
    pub(super) async fn locate_uri(&self, uri: &Uri) -> Result<Vec<SipTarget>, Error> {
        let explicit = uri
            .params
            .iter()
            .find_map(|p| match p {
                Param::Transport(t) => Some(*t),
                _ => None,
            })
            .map(wire::sip_transport)
            .transpose()
            .map_err(sip_error)?;
        let port = uri.host_with_port.port.as_ref().map(|p| p.0);
        let host = &uri.host_with_port.host;
        let transport = self.transport_for(uri.scheme.as_ref(), host, explicit)?;
        match host {
            Host::IpAddr(ip) => Ok(vec![SipTarget {
                addr: SocketAddr::new(*ip, port.unwrap_or(default_port(transport))),
                transport: transport.unwrap_or(SipTransport::Udp),
            }]),
            Host::Domain(domain) => self.locate_host(&domain.0, port, transport).await,
        }
    }

    /// The transport a URI asks for (pure): its `transport` parameter; TLS for `sips:` (where
    /// any other transport is an error) and for a host always reached over TLS; else none
    /// (DNS decides).
    fn transport_for(
        &self,
        scheme: Option<&Scheme>,
        host: &Host,
        explicit: Option<SipTransport>,
    ) -> Result<Option<SipTransport>, Error> {
        match (scheme, explicit) {
            (None | Some(Scheme::Sip), Some(t)) => Ok(Some(t)),
            (None | Some(Scheme::Sip), None) => {
                let always = matches!(host, Host::Domain(d) if self.config.tls.always_for(&d.0));
                Ok(always.then_some(SipTransport::Tls))
            }
            (Some(Scheme::Sips), None | Some(SipTransport::Tls)) => Ok(Some(SipTransport::Tls)),
            (Some(Scheme::Sips), Some(other)) => Err(sip_error(format!(
                "a sips: URI cannot go over {other} (RFC 3261 §26.2.2)"
            ))),
            (Some(other), _) => Err(sip_error(format!("cannot route a {other}: URI"))),
        }
    }

    pub(super) async fn locate_host(
        &self,
        host: &str,
        port: Option<u16>,
        transport: Option<SipTransport>,
    ) -> Result<Vec<SipTarget>, Error> {
        let bound = self.io_bound();
        let resolve = |detail: String| Error::Resolve {
            host: host.to_owned(),
            detail,
        };
        let targets = tokio::time::timeout(bound, self.locate.sip_targets(host, port, transport))
            .await
            .map_err(|_| resolve(format!("no answer within {} ms", bound.as_millis())))?
            .map_err(|e| resolve(e.to_string()))?;
        if targets.is_empty() {
            return Err(resolve("no SIP targets".into()));
        }
        for target in targets.iter().filter(|t| t.transport == SipTransport::Tls) {
            self.learn_tls_host(target.addr, host);
        }
        Ok(targets)
    }
}

/// The port when neither the URI nor DNS gives one (RFC 3263 §4.2): 5061 for TLS, else 5060.
fn default_port(transport: Option<SipTransport>) -> u16 {
    match transport {
        Some(SipTransport::Tls) => 5061,
        _ => 5060,
    }
}
