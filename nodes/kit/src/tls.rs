//! TLS material: PEM loading and rustls configurations (ring provider) for HTTPS clients and
//! servers, with the fixture PKI as trust anchors. Hostname verification is always on; mutual
//! TLS is a server option.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM text.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem {
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(Error::Pem {
            detail: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, SEC1 or PKCS#1) in a PEM text.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::Pem {
        detail: e.to_string(),
    })
}

/// A root store holding every certificate of a PEM text.
pub fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from_pem(pem)? {
        roots.add(cert).map_err(|e| Error::Tls {
            detail: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// A certificate chain and its key: what a TLS endpoint presents.
#[derive(Debug)]
pub struct Identity {
    /// End-entity certificate first, then the intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The end-entity certificate's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads a chain and a key from PEM.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            chain: certs_from_pem(chain_pem)?,
            key: key_from_pem(key_pem)?,
        })
    }
}

/// Client configuration trusting `roots`, presenting `identity` when a server asks (mutual TLS).
pub fn client_config(
    roots: RootCertStore,
    identity: Option<Identity>,
) -> Result<Arc<ClientConfig>, Error> {
    let tls = |e: rustls::Error| Error::Tls {
        detail: e.to_string(),
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls)?
        .with_root_certificates(roots);
    let config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain, id.key)
            .map_err(tls)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Server configuration presenting `identity`; with `client_roots`, a client certificate issued
/// under them is required (mutual TLS) and anything else fails the handshake.
pub fn server_config(
    identity: Identity,
    client_roots: Option<RootCertStore>,
) -> Result<Arc<ServerConfig>, Error> {
    server_config_with(identity, client_roots, false)
}

/// [`server_config`]; with `optional`, a client without a certificate is let in too (a
/// certificate that is offered must still chain to `client_roots`).
pub fn server_config_with(
    identity: Identity,
    client_roots: Option<RootCertStore>,
    optional: bool,
) -> Result<Arc<ServerConfig>, Error> {
    let tls = |e: rustls::Error| Error::Tls {
        detail: e.to_string(),
    };
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls)?;
    let builder = match client_roots {
        Some(roots) => {
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            if optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| Error::Tls {
                detail: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(identity.chain, identity.key)
        .map_err(tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The DNS names (subject alternative names) of a DER certificate, lower-cased.
///
/// Servers ask this for every request on a kept-alive mutual-TLS connection, so the answers for
/// the last few certificates are remembered (the function is pure: same bytes, same names).
pub fn dns_names(der: &[u8]) -> Result<Vec<String>, String> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    type Memo = Mutex<HashMap<Vec<u8>, Result<Vec<String>, String>>>;
    static MEMO: LazyLock<Memo> = LazyLock::new(Memo::default);
    const ENTRIES: usize = 64;
    if let Some(hit) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(der) {
        return hit.clone();
    }
    let names = read_dns_names(der);
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if memo.len() >= ENTRIES {
        memo.clear();
    }
    memo.insert(der.to_vec(), names.clone());
    names
}

fn read_dns_names(der: &[u8]) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer as _, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("client certificate unreadable: {e}"))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("client certificate names unreadable: {e}"))?;
    Ok(san
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some((*d).to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Whether a TLS client certificate (already verified against the world's CA by the TLS layer)
/// names `host`; the reason if not.
pub fn client_is(certificate: Option<&[u8]>, host: &str) -> Result<(), String> {
    let der = certificate.ok_or_else(|| format!("mutual TLS required: only {host} may ask"))?;
    let names = dns_names(der)?;
    if names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(format!(
            "client certificate names {names:?}, only {host} may ask"
        ))
    }
}
