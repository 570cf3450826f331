//! One function per kind of certificate the testbed needs, and the STI-ICA's CRL. Every function
//! takes the ECDSA P-256 key pair the certificate certifies (a fresh one, or the one already in
//! the fixtures: see [`crate::previous::Previous`]); every certificate is valid over [`validity`]
//! unless the function says otherwise. Each function returns an [`IssuedCert`], which can in
//! turn sign children.
//!
//! With the same key and parameters a certificate's content (its TBSCertificate) comes out the
//! same bytes: rcgen derives the serial number from the subject public key and the key
//! identifiers from the keys. Only the ECDSA signature differs from run to run.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, RevocationReason, RevokedCertParams, SanType,
    SerialNumber,
};
use time::OffsetDateTime;

use crate::tnauth::{TN_AUTH_LIST_OID, tn_auth_list_range, tn_auth_list_spc};

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

/// A certificate revocation list just issued (RFC 5280 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCrl {
    /// The CRL, PEM (`X509 CRL`).
    pub pem: String,
    /// The CRL, DER.
    pub der: Vec<u8>,
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

/// A fresh ECDSA P-256 key pair.
pub fn new_key() -> Result<KeyPair> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating P-256 key")
}

/// A self-signed root CA (CA:true without path length limit, keyCertSign + cRLSign).
pub fn root_ca(common_name: &str, organization: &str, key: KeyPair) -> Result<IssuedCert> {
    let params = ca_params(common_name, organization, BasicConstraints::Unconstrained);
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
    key: KeyPair,
) -> Result<IssuedCert> {
    let mut params = ca_params(common_name, organization, BasicConstraints::Constrained(0));
    params.use_authority_key_identifier_extension = true;
    sign(params, parent, key)
}

/// What goes into a STIR/SHAKEN service provider certificate besides its key and issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StiSp<'a> {
    /// The SPC named in the subject (`CN=SHAKEN <spc>`).
    pub spc: &'a str,
    /// The subject's organisation (the operator's domain).
    pub organization: &'a str,
    /// The CRL distribution point (RFC 5280 §4.2.1.13), if any.
    pub crl_url: Option<&'a str>,
}

/// A STIR/SHAKEN service provider certificate (RFC 8226, ATIS-1000080 shape): CN `SHAKEN <spc>`,
/// O `organization`, digitalSignature only, CA:false, the CRL distribution point when given, and
/// a non-critical TNAuthList with the single SPC `spc`.
pub fn sti_sp(sp: &StiSp<'_>, issuer: &IssuedCert, key: KeyPair) -> Result<IssuedCert> {
    sign(sti_sp_params(sp, tn_auth_list_spc(sp.spc)?)?, issuer, key)
}

/// Like [`sti_sp`] but without the TNAuthList extension: a verifier must reject it.
pub fn sti_sp_without_tn_auth_list(
    sp: &StiSp<'_>,
    issuer: &IssuedCert,
    key: KeyPair,
) -> Result<IssuedCert> {
    let mut params = sti_sp_params(sp, tn_auth_list_spc(sp.spc)?)?;
    params.custom_extensions.clear();
    sign(params, issuer, key)
}

/// Like [`sti_sp`] but valid only over [`expired_validity`]: a verifier must reject it.
pub fn sti_sp_expired(sp: &StiSp<'_>, issuer: &IssuedCert, key: KeyPair) -> Result<IssuedCert> {
    let mut params = sti_sp_params(sp, tn_auth_list_spc(sp.spc)?)?;
    (params.not_before, params.not_after) = expired_validity();
    sign(params, issuer, key)
}

/// Like [`sti_sp`] but its TNAuthList holds only the telephone number range `start` (+`count`)
/// and no SPC (RFC 8226 §9): it authorises those numbers and no others.
pub fn sti_sp_tn_range(
    sp: &StiSp<'_>,
    start: &str,
    count: u64,
    issuer: &IssuedCert,
    key: KeyPair,
) -> Result<IssuedCert> {
    sign(
        sti_sp_params(sp, tn_auth_list_range(start, count)?)?,
        issuer,
        key,
    )
}

/// Like [`sti_sp`] but its keyUsage is keyAgreement only, not digitalSignature (RFC 5280
/// §4.2.1.3): its key may not sign PASSporTs, and a verifier must reject it.
pub fn sti_sp_not_for_signing(
    sp: &StiSp<'_>,
    issuer: &IssuedCert,
    key: KeyPair,
) -> Result<IssuedCert> {
    let mut params = sti_sp_params(sp, tn_auth_list_spc(sp.spc)?)?;
    params.key_usages = vec![KeyUsagePurpose::KeyAgreement];
    sign(params, issuer, key)
}

/// A TLS certificate for a network function: CN and DNS SAN `host`, digitalSignature, EKU
/// serverAuth and clientAuth (the same certificate serves as the client certificate in mutual
/// TLS), CA:false.
pub fn tls_node(host: &str, issuer: &IssuedCert, key: KeyPair) -> Result<IssuedCert> {
    let mut params = leaf_params(host, None);
    params.subject_alt_names = vec![SanType::DnsName(
        host.try_into()
            .with_context(|| format!("host {host:?} as DNS name"))?,
    )];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    sign(params, issuer, key)
}

/// What a UE certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeNames<'a> {
    /// The certificate's CN.
    pub name: &'a str,
    /// The IMPU, a URI SAN.
    pub impu: &'a str,
    /// The telephone number (E.164), the URI SAN `tel:<tn>`.
    pub tn: &'a str,
}

/// A UE certificate: CN `name`, URI SANs `impu` and `tel:<tn>`, digitalSignature, EKU
/// clientAuth, CA:false.
pub fn ue(names: &UeNames<'_>, issuer: &IssuedCert, key: KeyPair) -> Result<IssuedCert> {
    let mut params = leaf_params(names.name, None);
    let tel = format!("tel:{}", names.tn);
    params.subject_alt_names = vec![
        SanType::URI(
            names
                .impu
                .try_into()
                .with_context(|| format!("impu {:?}", names.impu))?,
        ),
        SanType::URI(
            tel.as_str()
                .try_into()
                .with_context(|| format!("{tel:?}"))?,
        ),
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    sign(params, issuer, key)
}

/// A CRL signed by `issuer` listing `revoked` (DER serial numbers) as revoked for key
/// compromise since the start of [`validity`]; this update and next update span [`validity`],
/// so the fixture CRL stays current as long as the certificates do (test-only: a real CA
/// issues short-lived CRLs). CRL number 1.
pub fn crl(issuer: &IssuedCert, revoked: &[Vec<u8>]) -> Result<IssuedCrl> {
    let (this_update, next_update) = validity();
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: this_update,
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params
        .signed_by(&issuer.issuer)
        .context("signing the CRL")?;
    Ok(IssuedCrl {
        pem: crl.pem().context("CRL as PEM")?,
        der: crl.der().to_vec(),
    })
}

fn sti_sp_params(sp: &StiSp<'_>, tn_auth_list: Vec<u8>) -> Result<CertificateParams> {
    let mut params = leaf_params(&format!("SHAKEN {}", sp.spc), Some(sp.organization));
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        TN_AUTH_LIST_OID,
        tn_auth_list,
    )];
    if let Some(url) = sp.crl_url {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![url.to_owned()],
        }];
    }
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

/// Issues `params` for `key`, signed by `issuer`.
fn sign(params: CertificateParams, issuer: &IssuedCert, key: KeyPair) -> Result<IssuedCert> {
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
