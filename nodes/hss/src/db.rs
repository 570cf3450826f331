//! The subscription data: one operator's subscribers from `fixtures/subscribers.toml`, keyed by
//! canonical telephone number, plus the designated IMPUs the NEF provisions at run time, and
//! each subscriber's registration credential (private user identity and Digest password), and
//! each subscriber's avatar entitlements (solution 7, TR 33.790 §6.7.2.1 step 3).

use std::collections::BTreeMap;

use kit::{Error, fixtures};
use proto::tn::digits;
use proto::wire::sh::{AvatarEntitlement, AvatarEntitlements, DigestCredential, Subscription};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Deserialize)]
struct File {
    subscriber: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    operator: String,
    /// The private user identity registration authenticates (TS 23.228 §4.3.3.1).
    #[serde(default)]
    impi: Option<String>,
    /// Its Digest password (a fixture secret).
    #[serde(default)]
    password: Option<String>,
    /// The avatars it may use, each with one application (solution 7). Kept out of the
    /// [`Subscription`] so the subscription reads stay as they are on the wire.
    #[serde(default)]
    avatars: Vec<AvatarEntitlement>,
    #[serde(flatten)]
    subscription: Subscription,
}

/// What registration authenticates: a private user identity, the public identities it may
/// register, and its password.
#[derive(Clone, PartialEq, Eq)]
struct Credential {
    impus: Vec<String>,
    password: String,
}

impl std::fmt::Debug for Credential {
    // The password stays out of logs, fixture secret or not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("impus", &self.impus)
            .finish_non_exhaustive()
    }
}

/// The Digest algorithm of every credential this HSS hands out (RFC 8760).
pub const ALGORITHM: &str = "SHA-256";

/// The legacy algorithm a served world's S-CSCF may also challenge with (RFC 2617, RFC 3261
/// §22.4; choice `serve-digest-md5`): the HSS derives its H(A1) from the stored password.
pub const ALGORITHM_MD5: &str = "MD5";

/// H(A1) of RFC 2617 §3.2.2.2 with MD5: hex(MD5(username ":" realm ":" password)).
pub fn ha1_md5(username: &str, realm: &str, password: &str) -> String {
    md5::Md5::digest(format!("{username}:{realm}:{password}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// H(A1) of RFC 7616 §3.4.2 with SHA-256: hex(SHA-256(username ":" realm ":" password)).
pub fn ha1(username: &str, realm: &str, password: &str) -> String {
    Sha256::digest(format!("{username}:{realm}:{password}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The subscriptions of one operator, keyed by canonical telephone number (digits only), and
/// the credentials of its private user identities.
#[derive(Debug, Clone, Default)]
pub struct Db {
    /// The operator's domain: the Digest realm of its credentials.
    realm: String,
    subscriptions: BTreeMap<String, Subscription>,
    /// By private user identity.
    credentials: BTreeMap<String, Credential>,
    /// Avatar entitlements by public user identity (subscribers with none are absent).
    avatars: BTreeMap<String, Vec<AvatarEntitlement>>,
}

impl Db {
    /// The operator's subscribers from the TOML text of `fixtures/subscribers.toml`.
    pub fn from_toml(text: &str, operator: &str) -> Result<Self, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Fixture {
            path: "subscribers.toml".into(),
            detail: e.to_string(),
        })?;
        let mut db = Db {
            realm: operator.to_owned(),
            ..Db::default()
        };
        for entry in file
            .subscriber
            .into_iter()
            .filter(|e| e.operator == operator)
        {
            if let (Some(impi), Some(password)) = (entry.impi, entry.password) {
                let impus = vec![entry.subscription.impu.clone()];
                db.credentials.insert(impi, Credential { impus, password });
            }
            if !entry.avatars.is_empty() {
                db.avatars
                    .insert(entry.subscription.impu.clone(), entry.avatars);
            }
            db.insert(entry.subscription);
        }
        Ok(db)
    }

    /// The operator's subscribers from the committed `fixtures/subscribers.toml`.
    pub fn load(operator: &str) -> Result<Self, Error> {
        Self::from_toml(
            &String::from_utf8_lossy(&fixtures::read("subscribers.toml")?),
            operator,
        )
    }

    /// The subscription of a number (digits only).
    pub fn get(&self, tn_digits: &str) -> Option<&Subscription> {
        self.subscriptions.get(tn_digits)
    }

    /// The avatar entitlements of the subscriber with public identity `impu` (an empty list
    /// when it has none); `None` when no subscription has that identity.
    pub fn avatar_entitlements(&self, impu: &str) -> Option<AvatarEntitlements> {
        let subscription = self.subscriptions.values().find(|s| s.impu == impu)?;
        Some(AvatarEntitlements {
            impu: subscription.impu.clone(),
            entitlements: self.avatars.get(impu).cloned().unwrap_or_default(),
        })
    }

    /// How many subscriptions it holds.
    pub fn len(&self) -> usize {
        self.subscriptions.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
    }

    /// Provisions a subscription (solution 4 step 0a: a designated IMPU from the NEF).
    pub fn insert(&mut self, subscription: Subscription) {
        self.subscriptions
            .insert(digits(&subscription.tn), subscription);
    }

    /// Applies a change (threat variants: an association removed, a flag flipped).
    pub fn update(&mut self, tn: &str, change: impl FnOnce(&mut Subscription)) {
        if let Some(s) = self.subscriptions.get_mut(&digits(tn)) {
            change(s);
        }
    }

    /// Lets the private identity that registers `owner` register `impu` too (a designated IMPU
    /// provisioned for an employee: the implicit registration set of TS 23.228 §4.3.3.3). False
    /// when no private identity registers `owner`.
    pub fn associate(&mut self, impu: &str, owner: &str) -> bool {
        let Some(credential) = self
            .credentials
            .values_mut()
            .find(|c| c.impus.iter().any(|i| i == owner))
        else {
            return false;
        };
        if !credential.impus.iter().any(|i| i == impu) {
            credential.impus.push(impu.to_owned());
        }
        true
    }

    /// The Digest credential of private identity `impi` (H(A1) in this operator's realm), if
    /// it has one.
    pub fn credential(&self, impi: &str) -> Option<DigestCredential> {
        let c = self.credentials.get(impi)?;
        Some(DigestCredential {
            impi: impi.to_owned(),
            impus: c.impus.clone(),
            realm: self.realm.clone(),
            algorithm: ALGORITHM.to_owned(),
            ha1: ha1(impi, &self.realm, &c.password),
        })
    }

    /// The legacy MD5 Digest credential of `impi` (H(A1) with MD5 in this operator's realm),
    /// for a served world's registrar only (choice `serve-digest-md5`).
    pub fn credential_md5(&self, impi: &str) -> Option<DigestCredential> {
        let c = self.credentials.get(impi)?;
        Some(DigestCredential {
            impi: impi.to_owned(),
            impus: c.impus.clone(),
            realm: self.realm.clone(),
            algorithm: ALGORITHM_MD5.to_owned(),
            ha1: ha1_md5(impi, &self.realm, &c.password),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
    const UE_A_IMPI: &str = "+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

    fn fixture() -> String {
        std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap()
    }

    #[test]
    fn fixture_subscribers_split_by_operator() {
        let text = fixture();
        let orig = Db::from_toml(&text, ORIG).unwrap();
        let term = Db::from_toml(&text, "ims.mnc002.mcc001.3gppnetwork.org").unwrap();
        assert!(orig.get("12025551000").unwrap().third_party_ids);
        assert!(!orig.get("12025551666").unwrap().third_party_ids);
        assert!(orig.get("12155551001").is_none());
        assert!(term.get("12155551001").unwrap().verification);
        assert!(
            term.credential("+12155551001@ims.mnc002.mcc001.3gppnetwork.org")
                .is_some()
        );
        assert!(term.credential(UE_A_IMPI).is_none(), "another operator's");
    }

    #[test]
    fn avatar_entitlements_by_impu() {
        let text = fixture();
        let orig = Db::from_toml(&text, ORIG).unwrap();
        let ue_a = orig
            .avatar_entitlements("sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org")
            .unwrap();
        let ids: Vec<(&str, &str)> = ue_a
            .entitlements
            .iter()
            .map(|e| (e.avatar_id.as_str(), e.app_id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("qbranch-agent", "avatar-call"),
                ("qbranch-cat", "avatar-call")
            ]
        );
        assert!(ue_a.allows("qbranch-cat", "avatar-call"));
        assert!(!ue_a.allows("qbranch-cat", "another-app"));
        // UE-M owns `shark` in the avatar catalogue, but its subscription entitles it to none.
        let ue_m = orig
            .avatar_entitlements("sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org")
            .unwrap();
        assert!(ue_m.entitlements.is_empty());
        assert!(!ue_m.allows("shark", "avatar-call"));
        let term = Db::from_toml(&text, "ims.mnc002.mcc001.3gppnetwork.org").unwrap();
        let ue_b = term
            .avatar_entitlements("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org")
            .unwrap();
        assert!(ue_b.allows("owl", "avatar-call"));
        assert!(
            orig.avatar_entitlements("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org")
                .is_none(),
            "another operator's subscriber"
        );
        // The subscription read is unchanged on the wire: no avatar member.
        let json = serde_json::to_string(orig.get("12025551000").unwrap()).unwrap();
        assert!(!json.contains("avatar"), "{json}");
    }

    #[test]
    fn credentials_carry_ha1_in_the_operator_realm() {
        let orig = Db::from_toml(&fixture(), ORIG).unwrap();
        let c = orig.credential(UE_A_IMPI).unwrap();
        assert_eq!(c.impi, UE_A_IMPI);
        assert_eq!(
            c.impus,
            ["sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org"]
        );
        assert_eq!((c.realm.as_str(), c.algorithm.as_str()), (ORIG, "SHA-256"));
        assert_eq!(c.ha1, ha1(UE_A_IMPI, ORIG, "fixture-secret-ue-a"));
        assert_eq!(c.ha1.len(), 64);
        assert!(orig.credential("nobody@ims.example").is_none());
        assert!(!format!("{orig:?}").contains("fixture-secret"));
    }

    #[test]
    fn md5_h_a1_for_served_worlds() {
        // RFC 2617 §3.5's example: H(A1) of Mufasa / testrealm@host.com / Circle Of Life.
        assert_eq!(
            ha1_md5("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9"
        );
        let orig = Db::from_toml(&fixture(), ORIG).unwrap();
        let c = orig.credential_md5(UE_A_IMPI).unwrap();
        assert_eq!(c.algorithm, "MD5");
        assert_eq!(c.ha1, ha1_md5(UE_A_IMPI, ORIG, "fixture-secret-ue-a"));
        assert_eq!(c.impus, orig.credential(UE_A_IMPI).unwrap().impus);
    }

    #[test]
    fn rfc7616_sha256_h_a1() {
        // RFC 7616 §3.9.1: H(A1) is the first term of its SHA-256 response computation.
        assert_eq!(
            ha1("Mufasa", "http-auth@example.org", "Circle of Life"),
            "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"
        );
    }

    #[test]
    fn designated_impus_join_their_owner_credential() {
        let mut orig = Db::from_toml(&fixture(), ORIG).unwrap();
        let owner = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
        let designated = "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org";
        assert!(orig.associate(designated, owner));
        assert!(orig.associate(designated, owner), "idempotent");
        assert_eq!(
            orig.credential(UE_A_IMPI).unwrap().impus,
            [owner, designated]
        );
        assert!(!orig.associate(designated, "sip:nobody@ims.example"));
    }
}
