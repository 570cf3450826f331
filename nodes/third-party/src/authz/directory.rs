//! Who works at the enterprise, loaded once from the fixtures: employees
//! (`fixtures/enterprise/authz.toml`), the jCards their name cards point at
//! (`fixtures/enterprise/jcards/`), their UE certificates (`fixtures/pki/ue/<ue>.pem`) and the
//! UE CA those must chain to (`fixtures/pki/ue-ca.pem`).

use std::collections::BTreeMap;

use kit::{Error, fixtures};
use serde::{Deserialize, Serialize};
use stir::TrustAnchors;

/// Local policy for option B (§6.4.2.1 step 3 and §6.4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthPolicy {
    /// The INVITE must carry a token.
    Token,
    /// A token is honoured; without one the server authenticates the UE with a challenge.
    Authenticate,
}

/// One employee: who they are at the operator, which UE key they hold, what they may present.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Employee {
    /// The employee's own IMPU at the operator.
    pub impu: String,
    /// UE id; its certificate is `pki/ue/<ue>.pem`.
    pub ue: String,
    /// The 3P IDs this employee may present.
    pub id3p: Vec<String>,
    /// Name card: display name.
    pub nam: String,
    /// Name card: jCard file under `enterprise/jcards/`.
    pub jcard: String,
    /// Option B without a token: challenge the UE or refuse.
    pub auth: AuthPolicy,
    /// No longer an employee.
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    employee: Vec<Employee>,
}

/// Everything the server knows from the fixtures.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Employees by IMPU.
    pub employees: BTreeMap<String, Employee>,
    /// jCard bytes by file name.
    pub jcards: BTreeMap<String, Vec<u8>>,
    /// UE certificates (PEM) by UE id.
    pub ue_certs: BTreeMap<String, Vec<u8>>,
    /// The UE CA: the one trust anchor of UE certificates.
    pub ue_ca: TrustAnchors,
}

/// Where the UE CA certificate is, under `fixtures/`.
const UE_CA: &str = "pki/ue-ca.pem";

impl Directory {
    /// Builds the directory from the TOML text of `enterprise/authz.toml`; `read` gives the bytes
    /// of a fixture by its path under `fixtures/`.
    pub fn from_toml(
        text: &str,
        read: impl Fn(&str) -> Result<Vec<u8>, Error>,
    ) -> Result<Self, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Fixture {
            path: "enterprise/authz.toml".into(),
            detail: e.to_string(),
        })?;
        let ue_ca = TrustAnchors::from_pem(&read(UE_CA)?).map_err(|e| Error::Fixture {
            path: UE_CA.into(),
            detail: e.to_string(),
        })?;
        let mut dir = Directory {
            ue_ca,
            ..Directory::default()
        };
        for e in file.employee {
            if !dir.jcards.contains_key(&e.jcard) {
                let bytes = read(&format!("enterprise/jcards/{}", e.jcard))?;
                dir.jcards.insert(e.jcard.clone(), bytes);
            }
            if !dir.ue_certs.contains_key(&e.ue) {
                let pem = read(&format!("pki/ue/{}.pem", e.ue))?;
                dir.ue_certs.insert(e.ue.clone(), pem);
            }
            dir.employees.insert(e.impu.clone(), e);
        }
        Ok(dir)
    }

    /// The committed directory.
    pub fn load() -> Result<Self, Error> {
        let text = String::from_utf8_lossy(&fixtures::read("enterprise/authz.toml")?).into_owned();
        Self::from_toml(&text, fixtures::read)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_X: &str = "sip:+12025551999@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_PBX: &str = "sip:+12025552001@ims.mnc001.mcc001.3gppnetwork.org";

    #[test]
    fn fixture_directory() {
        let d = Directory::load().unwrap();
        assert_eq!(d.employees.len(), 3);
        assert!(d.employees[UE_X].revoked);
        assert_eq!(d.employees[UE_PBX].auth, AuthPolicy::Authenticate);
        assert_eq!(d.employees[UE_A].auth, AuthPolicy::Authenticate);
        assert_eq!(d.employees[UE_X].auth, AuthPolicy::Token);
        assert!(d.jcards.contains_key("q-branch.json"));
        assert_eq!(d.ue_certs.len(), 3);
        assert_eq!(d.ue_ca.len(), 1);
    }

    #[test]
    fn a_ue_ca_that_is_not_a_certificate_is_a_fixture_error() {
        let text = std::str::from_utf8(&fixtures::read("enterprise/authz.toml").unwrap())
            .unwrap()
            .to_owned();
        let e = Directory::from_toml(&text, |path| {
            if path == UE_CA {
                Ok(b"not a certificate".to_vec())
            } else {
                fixtures::read(path)
            }
        })
        .unwrap_err();
        assert!(
            matches!(e, Error::Fixture { ref path, .. } if path == UE_CA),
            "{e}"
        );
    }
}
