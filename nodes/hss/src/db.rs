//! The subscription data: one operator's subscribers from `fixtures/subscribers.toml`, keyed by
//! canonical telephone number, plus the designated IMPUs the NEF provisions at run time.

use std::collections::BTreeMap;

use kit::{Error, fixtures};
use proto::tn::digits;
use proto::wire::sh::Subscription;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    subscriber: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    operator: String,
    #[serde(flatten)]
    subscription: Subscription,
}

/// The subscriptions of one operator, keyed by canonical telephone number (digits only).
#[derive(Debug, Clone, Default)]
pub struct Db(BTreeMap<String, Subscription>);

impl Db {
    /// The operator's subscribers from the TOML text of `fixtures/subscribers.toml`.
    pub fn from_toml(text: &str, operator: &str) -> Result<Self, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Fixture {
            path: "subscribers.toml".into(),
            detail: e.to_string(),
        })?;
        Ok(Db(file
            .subscriber
            .into_iter()
            .filter(|e| e.operator == operator)
            .map(|e| (digits(&e.subscription.tn), e.subscription))
            .collect()))
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
        self.0.get(tn_digits)
    }

    /// How many subscriptions it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Provisions a subscription (solution 4 step 0a: a designated IMPU from the NEF).
    pub fn insert(&mut self, subscription: Subscription) {
        self.0.insert(digits(&subscription.tn), subscription);
    }

    /// Applies a change (threat variants: an association removed, a flag flipped).
    pub fn update(&mut self, tn: &str, change: impl FnOnce(&mut Subscription)) {
        if let Some(s) = self.0.get_mut(&digits(tn)) {
            change(s);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fixture_subscribers_split_by_operator() {
        let text = std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap();
        let orig = Db::from_toml(&text, "ims.mnc001.mcc001.3gppnetwork.org").unwrap();
        let term = Db::from_toml(&text, "ims.mnc002.mcc001.3gppnetwork.org").unwrap();
        assert!(orig.get("12025551000").unwrap().third_party_ids);
        assert!(!orig.get("12025551666").unwrap().third_party_ids);
        assert!(orig.get("12155551001").is_none());
        assert!(term.get("12155551001").unwrap().verification);
    }
}
