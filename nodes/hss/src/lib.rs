//! The HSS of one operator: the subscription data the TR's solutions read (third-party ID
//! authorisation and the 3P ID server's address for TR 33.790 §6.2; verification subscription
//! on the terminating side), loaded from `fixtures/subscribers.toml` and served over the Sh-like
//! HTTPS interface (`kit::wire::sh`, DESIGN §5) to the operator's IMS AS with mutual TLS.

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::wire::sh::Subscription;
use kit::{Error, fixtures};
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

    pub fn load(operator: &str) -> Result<Self, Error> {
        Self::from_toml(
            &String::from_utf8_lossy(&fixtures::read("subscribers.toml")?),
            operator,
        )
    }

    pub fn get(&self, tn_digits: &str) -> Option<&Subscription> {
        self.0.get(tn_digits)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Applies a change (threat variants: an association removed, a flag flipped).
    pub fn update(&mut self, tn: &str, change: impl FnOnce(&mut Subscription)) {
        if let Some(s) = self.0.get_mut(&digits(tn)) {
            change(s);
        }
    }
}

fn digits(tn: &str) -> String {
    tn.chars().filter(char::is_ascii_digit).collect()
}

/// The answer to one Sh-like request. Pure.
pub fn answer(db: &Db, method: &str, target: &str) -> Response {
    let Some(tn) = target.strip_prefix("/sh/v1/subscribers/") else {
        return Response::text(404, format!("no such resource: {target}"));
    };
    if method != "GET" {
        return Response::text(405, "only GET");
    }
    match db.get(tn) {
        Some(subscription) => json_response(200, subscription),
        None => Response::text(404, format!("no subscriber with number {tn}")),
    }
}

/// Starts the HSS over HTTPS; only clients with a certificate of the world's CA are served.
pub async fn start(ctx: &Ctx, db: Db) -> Result<Server, Error> {
    let db = Arc::new(db);
    let h = handler(move |req: Request, _peer: Peer| {
        let db = db.clone();
        async move { answer(&db, &req.method, &req.target) }
    });
    ctx.https_server(h, ClientAuth::Required).await
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
        assert_eq!(
            answer(&orig, "GET", "/sh/v1/subscribers/12025551000").status,
            200
        );
        assert_eq!(
            answer(&orig, "GET", "/sh/v1/subscribers/19999999999").status,
            404
        );
        assert_eq!(
            answer(&orig, "POST", "/sh/v1/subscribers/12025551000").status,
            405
        );
    }
}
