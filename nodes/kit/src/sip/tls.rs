//! SIP over TLS (RFC 3261 §26.2; `sips` as RFC 5630 §3 reads it): what an endpoint is
//! configured with ([`TlsConfig`]), the rustls configurations it runs with the fixture PKI, and
//! the pure readings of a handshake: who the peer is (the DNS name of its verified certificate,
//! RFC 5922 §7.1) and, when it failed, whether this side refused and why.
//!
//! SIP connections run TLS 1.2. In TLS 1.3 a client finishes its handshake before the server
//! has judged its certificate, so a client the server refuses would learn it only when it next
//! reads, after its request had gone out; in TLS 1.2 the server's refusal ends the client's
//! handshake, and the sender gets the error at once. Sessions are not resumed: every connection
//! authenticates both peers afresh.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::CertificateDer;

use crate::node::ClientAuth;
use crate::{Error, fixtures, tls};
use proto::trace::Reason;

/// How an endpoint speaks SIP over TLS. The default is none of it: no listener, no client
/// certificate, every host reached the way DNS says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Accept SIP over TLS on a listener of its own ([`super::Endpoint::tls_addr`]),
    /// presenting the fixture certificate of [`super::Config::host`], with this policy for
    /// client certificates (verified against the fixture TLS CA). `None`: no listener.
    pub listen: Option<ClientAuth>,
    /// The host whose fixture certificate this endpoint presents when it connects as a TLS
    /// client (`fixtures/pki/tls/<host>.chain.pem`); `None` presents none.
    pub certificate: Option<String>,
    /// Hosts this endpoint always reaches over TLS when a Route or Request-URI names them
    /// without an explicit transport: a SIP trunk's far end, configured the way an outbound
    /// proxy is given as a `sips:` URI (RFC 3261 §8.1.2, §26.2.2).
    pub always: Vec<String>,
}

impl TlsConfig {
    /// A TLS listener with `client_auth`, nothing else.
    pub fn listener(client_auth: ClientAuth) -> Self {
        Self {
            listen: Some(client_auth),
            ..Self::default()
        }
    }

    /// A TLS client presenting the fixture certificate of `certificate` (none with `None`)
    /// that reaches `host` over TLS whatever DNS offers.
    pub fn trunk_to(host: &str, certificate: Option<&str>) -> Self {
        Self {
            listen: None,
            certificate: certificate.map(str::to_owned),
            always: vec![host.to_owned()],
        }
    }

    /// Whether requests to `host` go over TLS whatever DNS offers ([`TlsConfig::always`]).
    pub fn always_for(&self, host: &str) -> bool {
        self.always.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(e: rustls::Error) -> Error {
    Error::Tls {
        detail: e.to_string(),
    }
}

/// The listener's configuration: the certificate of `host`, client certificates as
/// `client_auth` says, no ALPN (SIP names none).
pub(super) fn server_config(
    host: &str,
    client_auth: ClientAuth,
) -> Result<Arc<ServerConfig>, Error> {
    let roots = match client_auth {
        ClientAuth::None => None,
        ClientAuth::Required | ClientAuth::Optional => {
            Some(tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?)
        }
    };
    let identity = fixtures::tls_identity(host)?;
    let config = tls::server_config_with(identity, roots, client_auth == ClientAuth::Optional)?;
    let mut config = Arc::unwrap_or_clone(config);
    config.alpn_protocols.clear();
    Ok(Arc::new(config))
}

/// The client's configuration: TLS 1.2 (see the module docs), the fixture TLS CA as trust
/// anchor, the certificate of `certificate` when given, no resumption.
pub(super) fn client_config(certificate: Option<&str>) -> Result<Arc<ClientConfig>, Error> {
    let roots = tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(tls_error)?
        .with_root_certificates(roots);
    let mut config = match certificate {
        Some(host) => {
            let id = fixtures::tls_identity(host)?;
            builder
                .with_client_auth_cert(id.chain, id.key)
                .map_err(tls_error)?
        }
        None => builder.with_no_client_auth(),
    };
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// The peer's authenticated identity: the first DNS name of its end-entity certificate (the
/// TLS layer has verified the chain already). `None` without a certificate or a DNS name.
pub(super) fn peer_identity(certificates: Option<&[CertificateDer<'_>]>) -> Option<String> {
    let der = certificates?.first()?;
    tls::dns_names(der).ok()?.into_iter().next()
}

/// A handshake this side refused, and why (the side that refuses notes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// Why, typed.
    pub(super) reason: Reason,
    /// Why, for the reader.
    pub(super) detail: String,
}

/// Whether a failed handshake was this side's refusal (pure): a peer without the certificate
/// mutual TLS requires is not authorised, a certificate that does not verify (chain, validity,
/// name) is invalid, bytes that are not TLS are malformed. An alert from the peer means the
/// peer refused, and it is the peer that says so: `None`.
pub(super) fn refusal(error: &rustls::Error) -> Option<Refusal> {
    let (reason, detail) = match error {
        rustls::Error::AlertReceived(_) => return None,
        rustls::Error::NoCertificatesPresented => (
            Reason::NotAuthorised,
            "the peer presented no certificate (mutual TLS required)".to_owned(),
        ),
        rustls::Error::InvalidCertificate(e) => (
            Reason::CertificateInvalid,
            format!("the peer's certificate is not valid: {e}"),
        ),
        other => (Reason::Malformed, format!("TLS handshake failed: {other}")),
    };
    Some(Refusal { reason, detail })
}

/// The rustls error inside an I/O error from tokio-rustls, if that is what it is.
pub(super) fn rustls_error(error: &std::io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rustls::{AlertDescription, CertificateError};

    #[test]
    fn refusals_say_who_refused_and_why() {
        let none = refusal(&rustls::Error::NoCertificatesPresented).unwrap();
        assert_eq!(none.reason, Reason::NotAuthorised);
        let bad = refusal(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
        .unwrap();
        assert_eq!(bad.reason, Reason::CertificateInvalid);
        let name = refusal(&rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ))
        .unwrap();
        assert_eq!(name.reason, Reason::CertificateInvalid);
        assert!(name.detail.contains("not valid"), "{}", name.detail);
        // The peer refused us: it notes that, not this side.
        assert_eq!(
            refusal(&rustls::Error::AlertReceived(
                AlertDescription::BadCertificate
            )),
            None
        );
        let garbage = refusal(&rustls::Error::General("x".into())).unwrap();
        assert_eq!(garbage.reason, Reason::Malformed);
    }

    #[test]
    fn the_peer_identity_is_the_first_dns_name() {
        let chain =
            tls::certs_from_pem(&fixtures::read("pki/tls/pbx.enterprise.example.pem").unwrap())
                .unwrap();
        assert_eq!(
            peer_identity(Some(&chain)).as_deref(),
            Some("pbx.enterprise.example")
        );
        assert_eq!(peer_identity(None), None);
        assert_eq!(peer_identity(Some(&[])), None);
    }

    #[test]
    fn always_matches_hosts_case_blind() {
        let c = TlsConfig::trunk_to("ibcf.example", Some("pbx.example"));
        assert!(c.always_for("IBCF.example"));
        assert!(!c.always_for("scscf.example"));
        assert!(!TlsConfig::default().always_for("ibcf.example"));
        assert_eq!(
            TlsConfig::listener(ClientAuth::Required).listen,
            Some(ClientAuth::Required)
        );
    }
}
