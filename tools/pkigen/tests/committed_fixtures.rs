//! Checks the COMMITTED fixture PKI under `fixtures/pki/` (it does not regenerate it) against
//! `fixtures/world.toml`: validity at the scenario clock and today, the STIR/SHAKEN chain,
//! TNAuthList and CRL distribution point, the STI-ICA's CRL, one TLS certificate per NF, one UE
//! certificate per UE, the negative fixtures, and that `index.toml` describes every file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pkigen::fixture::{CRL_FILE, CRL_PATH, STI_REPO_ID, WRONG_TN_RANGE};
use pkigen::{Format, Index, TN_AUTH_LIST_OID_STR, World};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::pem::Pem;
use x509_parser::prelude::{ASN1Time, X509Certificate, parse_x509_certificate};

fn pki_dir() -> PathBuf {
    pkigen::default_out_dir()
}

fn world() -> World {
    World::load(&pkigen::default_world_path()).unwrap()
}

/// All PEM blocks of `fixtures/pki/<rel>`.
fn pem_blocks(rel: &str) -> Vec<Pem> {
    let path = pki_dir().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let blocks: Vec<Pem> = Pem::iter_from_buffer(&bytes)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{rel}: bad PEM: {e}"));
    assert!(!blocks.is_empty(), "{rel}: no PEM block");
    blocks
}

/// DER of every certificate in `rel` (which must hold only certificates).
fn cert_ders(rel: &str) -> Vec<Vec<u8>> {
    pem_blocks(rel)
        .into_iter()
        .map(|p| {
            assert_eq!(p.label, "CERTIFICATE", "{rel}");
            p.contents
        })
        .collect()
}

/// DER of the single certificate in `rel`.
fn cert_der(rel: &str) -> Vec<u8> {
    let mut ders = cert_ders(rel);
    assert_eq!(ders.len(), 1, "{rel}: expected exactly one certificate");
    ders.remove(0)
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = parse_x509_certificate(der).unwrap();
    assert!(rest.is_empty(), "trailing bytes after certificate");
    cert
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    let mut cns = cert.subject().iter_common_name();
    let cn = cns
        .next()
        .expect("subject has a CN")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(cns.next().is_none(), "subject has one CN");
    cn
}

fn organization(cert: &X509Certificate<'_>) -> String {
    let o = cert
        .subject()
        .iter_organization()
        .next()
        .expect("subject has an O");
    o.as_str().unwrap().to_owned()
}

/// Does `child`'s signature verify with `issuer`'s public key?
fn signed_by(child: &[u8], issuer: &[u8]) -> bool {
    parse(child)
        .verify_signature(Some(parse(issuer).public_key()))
        .is_ok()
}

/// Raw value of the TNAuthList extension, checking it is non-critical and unique.
fn tn_auth_list(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    let mut found = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == TN_AUTH_LIST_OID_STR);
    let ext = found.next()?;
    assert!(found.next().is_none(), "TNAuthList appears twice");
    assert!(!ext.critical, "TNAuthList must be non-critical");
    Some(ext.value.to_vec())
}

/// Expected TNAuthList DER for one SPC, spelled out byte by byte (short-form lengths).
fn expected_tn_auth_list(spc: &str) -> Vec<u8> {
    let n = u8::try_from(spc.len()).unwrap();
    assert!(n < 124, "test helper only does short-form lengths");
    let mut der = vec![0x30, n + 4, 0xA0, n + 2, 0x16, n];
    der.extend_from_slice(spc.as_bytes());
    der
}

/// The URIs of the certificate's CRL distribution points.
fn crl_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(u) = name {
                            urls.push((*u).to_owned());
                        }
                    }
                }
            }
        }
    }
    urls
}

/// The CRL distribution point world.toml's STI repository serves.
fn expected_crl_url() -> String {
    let world = world();
    let repo = world.nfs.iter().find(|nf| nf.id == STI_REPO_ID).unwrap();
    format!("https://{}{CRL_PATH}", repo.host)
}

/// The DER of the STI-ICA's CRL (the one PEM block of `CRL_FILE`).
fn crl_der() -> Vec<u8> {
    let blocks = pem_blocks(CRL_FILE);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].label, "X509 CRL");
    blocks[0].contents.clone()
}

fn sans(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<String>) {
    let san = cert.subject_alternative_name().unwrap().expect("has SAN");
    let mut dns = Vec::new();
    let mut uris = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(d) => dns.push((*d).to_owned()),
            GeneralName::URI(u) => uris.push((*u).to_owned()),
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    (dns, uris)
}

fn assert_end_entity(cert: &X509Certificate<'_>, what: &str) {
    let bc = cert
        .basic_constraints()
        .unwrap()
        .expect("basicConstraints present");
    assert!(!bc.value.ca, "{what}: CA:false");
    let ku = cert.key_usage().unwrap().expect("keyUsage present");
    assert!(ku.value.digital_signature(), "{what}: digitalSignature");
    assert!(!ku.value.key_cert_sign(), "{what}: not keyCertSign");
}

fn assert_ca(cert: &X509Certificate<'_>, path_len: Option<u32>, what: &str) {
    let bc = cert
        .basic_constraints()
        .unwrap()
        .expect("basicConstraints present");
    assert!(bc.critical, "{what}: basicConstraints critical");
    assert!(bc.value.ca, "{what}: CA:true");
    assert_eq!(bc.value.path_len_constraint, path_len, "{what}: pathlen");
    let ku = cert.key_usage().unwrap().expect("keyUsage present");
    assert!(
        ku.value.key_cert_sign() && ku.value.crl_sign(),
        "{what}: keyCertSign+cRLSign"
    );
}

/// `<stem>.chain.pem` is `<stem>.pem` followed by `parent` (a file name).
fn assert_chain(stem: &str, parent: &str) {
    let chain = cert_ders(&format!("{stem}.chain.pem"));
    assert_eq!(
        chain,
        [cert_der(&format!("{stem}.pem")), cert_der(parent)],
        "{stem}.chain.pem"
    );
}

/// Every file under the PKI directory, relative, `/`-separated, sorted.
fn files_on_disk() -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let rel = format!("{prefix}{name}");
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{rel}/"), out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&pki_dir(), "", &mut out);
    out
}

#[test]
fn every_certificate_is_valid_at_scenario_start_and_now_except_the_expired_one() {
    let start = ASN1Time::from(world().scenario_start().unwrap());
    let now = ASN1Time::now();
    let mut checked = 0;
    let mut expired_seen = 0;
    for rel in files_on_disk() {
        if !rel.ends_with(".pem") || rel.ends_with(".key.pem") || rel == CRL_FILE {
            continue;
        }
        for (i, der) in cert_ders(&rel).iter().enumerate() {
            let cert = parse(der);
            let validity = cert.validity();
            // The expired leaf is first in both sti-sp-expired.pem and its chain; the ICA after
            // it in the chain is valid.
            if rel.starts_with("sti-sp-expired.") && i == 0 {
                assert!(
                    !validity.is_valid_at(start),
                    "{rel} must be expired at scenario_start"
                );
                assert!(!validity.is_valid_at(now), "{rel} must be expired now");
                expired_seen += 1;
            } else {
                assert!(
                    validity.is_valid_at(start),
                    "{rel}[{i}] invalid at scenario_start"
                );
                assert!(validity.is_valid_at(now), "{rel}[{i}] invalid now");
            }
            checked += 1;
        }
    }
    assert_eq!(expired_seen, 2, "sti-sp-expired.pem and its chain");
    assert!(checked > 60, "only {checked} certificates found");
}

#[test]
fn every_key_is_pkcs8_p256_and_matches_its_certificate() {
    let keys: Vec<String> = files_on_disk()
        .into_iter()
        .filter(|f| f.ends_with(".key.pem"))
        .collect();
    assert!(!keys.is_empty());
    for rel in keys {
        let blocks = pem_blocks(&rel);
        assert_eq!(blocks.len(), 1, "{rel}");
        assert_eq!(blocks[0].label, "PRIVATE KEY", "{rel}: PKCS#8");
        let pem = std::fs::read_to_string(pki_dir().join(&rel)).unwrap();
        let key = rcgen::KeyPair::from_pem(&pem).unwrap();
        assert!(
            key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256,
            "{rel}: P-256"
        );
        let cert_rel = rel.replace(".key.pem", ".pem");
        let der = cert_der(&cert_rel);
        let cert = parse(&der);
        assert_eq!(
            key.public_key_raw(),
            &cert.public_key().subject_public_key.data[..],
            "{rel} is the key of {cert_rel}"
        );
    }
}

#[test]
fn sti_ca_and_ica_form_the_chain() {
    let root = cert_der("sti-ca.pem");
    let ica = cert_der("sti-ica.pem");
    let root_cert = parse(&root);
    assert_eq!(common_name(&root_cert), "STI-CA Root (testbed)");
    assert_eq!(organization(&root_cert), "sti.example");
    assert_eq!(
        root_cert.subject(),
        root_cert.issuer(),
        "root is self-issued"
    );
    assert!(signed_by(&root, &root), "root is self-signed");
    assert_ca(&root_cert, None, "sti-ca");

    let ica_cert = parse(&ica);
    assert_eq!(common_name(&ica_cert), "STI-ICA (testbed)");
    assert_eq!(ica_cert.issuer(), root_cert.subject());
    assert!(signed_by(&ica, &root), "ICA verifies against the root");
    assert_ca(&ica_cert, Some(0), "sti-ica");
}

#[test]
fn each_sti_sp_has_its_tn_auth_list_and_chains_to_the_root() {
    let world = world();
    let root = cert_der("sti-ca.pem");
    let ica = cert_der("sti-ica.pem");
    let mut seen = 0;
    for (domain, spc) in world.sti_domains() {
        let stem = format!("sti-sp-{spc}");
        let der = cert_der(&format!("{stem}.pem"));
        let cert = parse(&der);
        assert_eq!(common_name(&cert), format!("SHAKEN {spc}"), "{stem}");
        assert_eq!(organization(&cert), domain.name, "{stem}");
        assert_eq!(
            tn_auth_list(&cert),
            Some(expected_tn_auth_list(spc)),
            "{stem}"
        );
        assert_end_entity(&cert, &stem);
        assert_eq!(crl_urls(&cert), [expected_crl_url()], "{stem}");
        assert!(signed_by(&der, &ica), "{stem} verifies against the ICA");
        assert!(
            !signed_by(&der, &root),
            "{stem} is not signed by the root directly"
        );
        assert_chain(&stem, "sti-ica.pem");
        seen += 1;
    }
    assert_eq!(seen, 2, "world.toml has two SPC domains");
}

#[test]
fn tn_auth_list_of_spc_1001_is_exactly_the_rfc_8226_der() {
    let der = cert_der("sti-sp-1001.pem");
    assert_eq!(
        tn_auth_list(&parse(&der)).unwrap(),
        [0x30, 0x08, 0xA0, 0x06, 0x16, 0x04, 0x31, 0x30, 0x30, 0x31]
    );
}

#[test]
fn rogue_sti_sp_does_not_chain_to_the_sti_ca() {
    let rogue = cert_der("sti-sp-rogue.pem");
    let cert = parse(&rogue);
    assert_eq!(
        common_name(&cert),
        "SHAKEN 1001",
        "same shape as the real one"
    );
    assert_eq!(tn_auth_list(&cert), Some(expected_tn_auth_list("1001")));
    assert!(
        !signed_by(&rogue, &cert_der("sti-ica.pem")),
        "must not verify against the ICA"
    );
    assert!(
        !signed_by(&rogue, &cert_der("sti-ca.pem")),
        "must not verify against the root"
    );
    let rogue_ca = cert_der("rogue-ca.pem");
    assert!(signed_by(&rogue, &rogue_ca), "issued by the Rogue CA");
    assert!(signed_by(&rogue_ca, &rogue_ca), "Rogue CA is self-signed");
    assert!(!signed_by(&rogue_ca, &cert_der("sti-ca.pem")));
    assert_eq!(common_name(&parse(&rogue_ca)), "Rogue CA");
    assert_chain("sti-sp-rogue", "rogue-ca.pem");
}

#[test]
fn notnauth_sti_sp_lacks_tn_auth_list_but_is_otherwise_valid() {
    let der = cert_der("sti-sp-notnauth.pem");
    let cert = parse(&der);
    assert_eq!(common_name(&cert), "SHAKEN 1001");
    assert_eq!(tn_auth_list(&cert), None);
    assert!(signed_by(&der, &cert_der("sti-ica.pem")));
    assert_chain("sti-sp-notnauth", "sti-ica.pem");
}

#[test]
fn expired_sti_sp_is_otherwise_valid() {
    let der = cert_der("sti-sp-expired.pem");
    let cert = parse(&der);
    assert_eq!(common_name(&cert), "SHAKEN 1001");
    assert_eq!(tn_auth_list(&cert), Some(expected_tn_auth_list("1001")));
    assert!(signed_by(&der, &cert_der("sti-ica.pem")));
    let v = cert.validity();
    assert_eq!(
        v.not_before,
        ASN1Time::from_timestamp(1_577_836_800).unwrap()
    ); // 2020-01-01
    assert_eq!(
        v.not_after,
        ASN1Time::from_timestamp(1_609_459_200).unwrap()
    ); // 2021-01-01
    assert_chain("sti-sp-expired", "sti-ica.pem");
}

#[test]
fn the_sti_ica_crl_is_signed_by_the_ica_current_and_revokes_only_sti_sp_revoked() {
    let der = crl_der();
    let (rest, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    assert!(rest.is_empty());
    let ica_der = cert_der("sti-ica.pem");
    let ica = parse(&ica_der);
    assert_eq!(crl.issuer(), ica.subject());
    crl.verify_signature(ica.public_key()).unwrap();
    let start = ASN1Time::from(world().scenario_start().unwrap());
    let now = ASN1Time::now();
    for t in [start, now] {
        assert!(crl.last_update() <= t && crl.next_update().unwrap() >= t);
    }
    let revoked = cert_der("sti-sp-revoked.pem");
    let serials: Vec<Vec<u8>> = crl
        .iter_revoked_certificates()
        .map(|r| r.serial().to_bytes_be())
        .collect();
    assert_eq!(
        serials,
        [parse(&revoked).tbs_certificate.serial.to_bytes_be()]
    );
    for good in ["sti-sp-1001.pem", "sti-sp-1002.pem"] {
        let serial = parse(&cert_der(good)).tbs_certificate.serial.to_bytes_be();
        assert!(!serials.contains(&serial), "{good} is not revoked");
    }
}

#[test]
fn revoked_sti_sp_is_otherwise_like_sti_sp_1001() {
    let der = cert_der("sti-sp-revoked.pem");
    let cert = parse(&der);
    let good_der = cert_der("sti-sp-1001.pem");
    let good = parse(&good_der);
    assert_eq!(cert.subject(), good.subject());
    assert_eq!(tn_auth_list(&cert), Some(expected_tn_auth_list("1001")));
    assert_eq!(crl_urls(&cert), [expected_crl_url()]);
    assert_end_entity(&cert, "sti-sp-revoked");
    assert!(signed_by(&der, &cert_der("sti-ica.pem")));
    assert_chain("sti-sp-revoked", "sti-ica.pem");
}

#[test]
fn wrongtn_sti_sp_holds_only_a_range_that_misses_the_subscribers() {
    let der = cert_der("sti-sp-wrongtn.pem");
    let cert = parse(&der);
    assert_eq!(common_name(&cert), "SHAKEN 1001");
    let (start, count) = WRONG_TN_RANGE;
    let mut expected = vec![0x30, 0x14, 0xA1, 0x12, 0x30, 0x10, 0x16, 0x0B];
    expected.extend_from_slice(start.as_bytes());
    expected.extend_from_slice(&[0x02, 0x01, u8::try_from(count).unwrap()]);
    assert_eq!(tn_auth_list(&cert), Some(expected));
    let first: u64 = start.parse().unwrap();
    for ue in &world().ues {
        let tn: u64 = ue.tn.trim_start_matches('+').parse().unwrap();
        assert!(
            !(first..first + count).contains(&tn),
            "{} is outside the range",
            ue.tn
        );
    }
    assert_end_entity(&cert, "sti-sp-wrongtn");
    assert!(signed_by(&der, &cert_der("sti-ica.pem")));
    assert_chain("sti-sp-wrongtn", "sti-ica.pem");
}

#[test]
fn every_nf_has_a_tls_certificate_chaining_to_tls_ca() {
    let world = world();
    let tls_ca = cert_der("tls-ca.pem");
    assert!(signed_by(&tls_ca, &tls_ca));
    assert_ca(&parse(&tls_ca), None, "tls-ca");
    assert_eq!(common_name(&parse(&tls_ca)), "Testbed TLS CA");
    assert!(!world.nfs.is_empty());
    for nf in &world.nfs {
        let stem = format!("tls/{}", nf.host);
        let der = cert_der(&format!("{stem}.pem"));
        let cert = parse(&der);
        let (dns, _) = sans(&cert);
        assert!(dns.contains(&nf.host), "{stem}: SAN {dns:?}");
        assert_eq!(common_name(&cert), nf.host);
        let eku = cert.extended_key_usage().unwrap().expect("EKU present");
        assert!(
            eku.value.server_auth && eku.value.client_auth,
            "{stem}: EKU"
        );
        assert_end_entity(&cert, &stem);
        assert!(signed_by(&der, &tls_ca), "{stem} verifies against tls-ca");
        assert_chain(&stem, "tls-ca.pem");
    }
}

#[test]
fn rogue_af_client_certificate_does_not_chain_to_tls_ca() {
    let der = cert_der("tls/rogue-af.avatars.example.pem");
    let cert = parse(&der);
    assert_eq!(common_name(&cert), "dc-as.avatars.example");
    assert_eq!(sans(&cert).0, ["dc-as.avatars.example"]);
    let eku = cert.extended_key_usage().unwrap().expect("EKU present");
    assert!(eku.value.client_auth);
    assert!(
        !signed_by(&der, &cert_der("tls-ca.pem")),
        "must not verify against tls-ca"
    );
    assert!(signed_by(&der, &cert_der("rogue-ca.pem")));
}

#[test]
fn every_ue_has_a_certificate_with_its_impu() {
    let world = world();
    let ue_ca = cert_der("ue-ca.pem");
    assert!(signed_by(&ue_ca, &ue_ca));
    assert_ca(&parse(&ue_ca), None, "ue-ca");
    assert!(!world.ues.is_empty());
    for ue in &world.ues {
        let rel = format!("ue/{}.pem", ue.id);
        let der = cert_der(&rel);
        let cert = parse(&der);
        assert_eq!(common_name(&cert), ue.name, "{rel}");
        let (dns, uris) = sans(&cert);
        assert!(dns.is_empty(), "{rel}: no DNS SAN");
        assert_eq!(uris, [ue.impu.clone(), format!("tel:{}", ue.tn)], "{rel}");
        let eku = cert.extended_key_usage().unwrap().expect("EKU present");
        assert!(
            eku.value.client_auth && !eku.value.server_auth,
            "{rel}: EKU"
        );
        assert_end_entity(&cert, &rel);
        assert!(signed_by(&der, &ue_ca), "{rel} verifies against ue-ca");
    }
}

#[test]
fn index_lists_every_file_with_its_subject_and_issuer() {
    let index = Index::load(&pki_dir().join("index.toml")).unwrap();
    let on_disk: BTreeSet<String> = files_on_disk()
        .into_iter()
        .filter(|f| f != "README.md" && f != "index.toml")
        .collect();
    let listed: BTreeSet<String> = index.files.iter().map(|e| e.path.clone()).collect();
    assert_eq!(listed.len(), index.files.len(), "no duplicate paths");
    assert_eq!(listed, on_disk);
    for e in &index.files {
        if e.format == Format::Crl {
            let der = crl_der();
            let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
            assert_eq!(e.path, CRL_FILE);
            assert_eq!(e.subject, crl.issuer().to_string());
            assert_eq!(e.issuer, crl.issuer().to_string());
            continue;
        }
        let cert_rel = match e.format {
            Format::PrivateKey => e.path.replace(".key.pem", ".pem"),
            Format::Certificate | Format::Chain | Format::Crl => e.path.clone(),
        };
        let der = cert_ders(&cert_rel).remove(0);
        let cert = parse(&der);
        assert_eq!(e.subject, cert.subject().to_string(), "{}", e.path);
        assert_eq!(e.issuer, cert.issuer().to_string(), "{}", e.path);
        let chain = e.path.ends_with(".chain.pem");
        assert_eq!(chain, e.format == Format::Chain, "{}", e.path);
    }
}

#[test]
fn readme_describes_every_file_and_warns_keys_are_test_only() {
    let readme = std::fs::read_to_string(pki_dir().join("README.md")).unwrap();
    assert!(readme.contains("cargo run -p pkigen"));
    assert!(readme.contains("test-only"));
    for f in files_on_disk() {
        if f != "README.md" && f != "index.toml" {
            assert!(readme.contains(&format!("`{f}`")), "README lists {f}");
        }
    }
}
