//! One function per kind of certificate the testbed needs. Every key is a fresh ECDSA P-256 key
//! pair; every certificate is valid over [`validity`] unless the function says otherwise. Each
//! function returns an [`IssuedCert`], which can in turn sign children.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    SanType,
};
use time::OffsetDateTime;

use crate::tnauth::{TN_AUTH_LIST_OID, tn_auth_list_spc};

/// A certificate just issued, with its private key and an rcgen [`Issuer`] for signing children.
#[derive(Debug)]
pub struct IssuedCert {
    /// The certificate, PEM (`CERTIFICATE`).
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 PEM (`PRIVATE KEY`).
    pub key_pem: String,
    /// This certificate's subject and key as an issuer of further certificates.
    pub issuer: Issuer<'static, KeyPair>,
}

impl IssuedCert {
    /// This certificate followed by `parents` (nearest first): a PEM certificate chain, end
    /// entity first, as served at an x5u URL (`application/pem-certificate-chain`) or sent in TLS.
    pub fn chain_pem(&self, parents: &[&IssuedCert]) -> String {
        std::iter::once(self)
            .chain(parents.iter().copied())
            .map(|c| c.cert_pem.as_str())
            .collect()
    }
}

/// Standard validity of every fixture certificate: 2025-01-01T00:00:00Z to 2045-01-01T00:00:00Z,
/// so both the scenario clock and today fall inside it.
pub fn validity() -> (OffsetDateTime, OffsetDateTime) {
    (
        rcgen::date_time_ymd(2025, 1, 1),
        rcgen::date_time_ymd(2045, 1, 1),
    )
}

/// Validity of the deliberately expired STI-SP certificate: 2020-01-01 to 2021-01-01.
pub fn expired_validity() -> (OffsetDateTime, OffsetDateTime) {
    (
        rcgen::date_time_ymd(2020, 1, 1),
        rcgen::date_time_ymd(2021, 1, 1),
    )
}

/// A self-signed root CA (CA:true without path length limit, keyCertSign + cRLSign).
pub fn root_ca(common_name: &str, organization: &str) -> Result<IssuedCert> {
    let params = ca_params(common_name, organization, BasicConstraints::Unconstrained);
    let key = new_key()?;
    let cert = params
        .self_signed(&key)
        .with_context(|| format!("self-signing {common_name}"))?;
    Ok(finish(cert, key, params))
}

/// An intermediate CA signed by `parent` (CA:true, pathlen 0, keyCertSign + cRLSign).
pub fn intermediate_ca(
    common_name: &str,
    organization: &str,
    parent: &IssuedCert,
) -> Result<IssuedCert> {
    let mut params = ca_params(common_name, organization, BasicConstraints::Constrained(0));
    params.use_authority_key_identifier_extension = true;
    sign(params, parent)
}

/// A STIR/SHAKEN service provider certificate (RFC 8226, ATIS-1000080 shape): CN `SHAKEN <spc>`,
/// O `organization`, digitalSignature only, CA:false, and a non-critical TNAuthList with the
/// single SPC `spc`.
pub fn sti_sp(spc: &str, organization: &str, issuer: &IssuedCert) -> Result<IssuedCert> {
    sign(sti_sp_params(spc, organization)?, issuer)
}

/// Like [`sti_sp`] but without the TNAuthList extension: a verifier must reject it.
pub fn sti_sp_without_tn_auth_list(
    spc: &str,
    organization: &str,
    issuer: &IssuedCert,
) -> Result<IssuedCert> {
    let mut params = sti_sp_params(spc, organization)?;
    params.custom_extensions.clear();
    sign(params, issuer)
}

/// Like [`sti_sp`] but valid only over [`expired_validity`]: a verifier must reject it.
pub fn sti_sp_expired(spc: &str, organization: &str, issuer: &IssuedCert) -> Result<IssuedCert> {
    let mut params = sti_sp_params(spc, organization)?;
    (params.not_before, params.not_after) = expired_validity();
    sign(params, issuer)
}

/// A TLS certificate for a network function: CN and DNS SAN `host`, digitalSignature, EKU
/// serverAuth and clientAuth (the same certificate serves as the client certificate in mutual
/// TLS), CA:false.
pub fn tls_node(host: &str, issuer: &IssuedCert) -> Result<IssuedCert> {
    let mut params = leaf_params(host, None);
    params.subject_alt_names = vec![SanType::DnsName(
        host.try_into()
            .with_context(|| format!("host {host:?} as DNS name"))?,
    )];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    sign(params, issuer)
}

/// A UE certificate: CN `name`, URI SANs `impu` and `tel:<tn>`, digitalSignature, EKU
/// clientAuth, CA:false.
pub fn ue(name: &str, impu: &str, tn: &str, issuer: &IssuedCert) -> Result<IssuedCert> {
    let mut params = leaf_params(name, None);
    let tel = format!("tel:{tn}");
    params.subject_alt_names = vec![
        SanType::URI(impu.try_into().with_context(|| format!("impu {impu:?}"))?),
        SanType::URI(
            tel.as_str()
                .try_into()
                .with_context(|| format!("{tel:?}"))?,
        ),
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    sign(params, issuer)
}

fn sti_sp_params(spc: &str, organization: &str) -> Result<CertificateParams> {
    let mut params = leaf_params(&format!("SHAKEN {spc}"), Some(organization));
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        TN_AUTH_LIST_OID,
        tn_auth_list_spc(spc)?,
    )];
    Ok(params)
}

fn ca_params(common_name: &str, organization: &str, limit: BasicConstraints) -> CertificateParams {
    let mut params = base_params(common_name, Some(organization));
    params.is_ca = IsCa::Ca(limit);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// End-entity parameters: explicit CA:false (rcgen then also adds a subject key identifier),
/// digitalSignature, authority key identifier.
fn leaf_params(common_name: &str, organization: Option<&str>) -> CertificateParams {
    let mut params = base_params(common_name, organization);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params
}

/// Subject `O=<organization>, CN=<common_name>` and the standard validity. The serial number is
/// left to rcgen, which derives it from the subject public key (unique per key).
fn base_params(common_name: &str, organization: Option<&str>) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    dn.push(DnType::CommonName, common_name);
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    (params.not_before, params.not_after) = validity();
    params
}

fn new_key() -> Result<KeyPair> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating P-256 key")
}

/// Issues `params` with a fresh key, signed by `issuer`.
fn sign(params: CertificateParams, issuer: &IssuedCert) -> Result<IssuedCert> {
    let key = new_key()?;
    let cert = params
        .signed_by(&key, &issuer.issuer)
        .context("signing certificate")?;
    Ok(finish(cert, key, params))
}

fn finish(cert: rcgen::Certificate, key: KeyPair, params: CertificateParams) -> IssuedCert {
    IssuedCert {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
        issuer: Issuer::new(params, key),
    }
}
