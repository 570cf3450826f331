//! The DCSF: the data channel application lists of its subscribers (`fixtures/dc-apps.toml`),
//! served over HTTPS (`proto::wire::dcsf`) to the MF, which asks when a UE fetches its list over
//! the bootstrap data channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use proto::wire::dcsf::{App, AppList};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    subscriber: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    tn: String,
    apps: Vec<App>,
}

/// Application lists keyed by telephone number digits.
#[derive(Debug, Clone, Default)]
pub struct Store(BTreeMap<String, AppList>);

impl Store {
    /// The lists from the TOML text of `fixtures/dc-apps.toml`.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Fixture {
            path: "dc-apps.toml".into(),
            detail: e.to_string(),
        })?;
        Ok(Store(
            file.subscriber
                .into_iter()
                .map(|e| {
                    (
                        proto::tn::digits(&e.tn),
                        AppList {
                            tn: e.tn,
                            apps: e.apps,
                        },
                    )
                })
                .collect(),
        ))
    }

    /// The lists of `fixtures/dc-apps.toml`.
    pub fn load() -> Result<Self, Error> {
        Self::from_toml(&String::from_utf8_lossy(&fixtures::read("dc-apps.toml")?))
    }

    /// The list of the subscriber with these telephone number digits.
    pub fn get(&self, tn_digits: &str) -> Option<&AppList> {
        self.0.get(tn_digits)
    }
}

/// The answer to one request. Pure.
pub fn answer(store: &Store, method: &str, target: &str) -> Response {
    let Some(tn) = target
        .strip_prefix("/dcsf/v1/subscribers/")
        .and_then(|rest| rest.strip_suffix("/apps"))
    else {
        return Response::text(404, format!("no such resource: {target}"));
    };
    if method != "GET" {
        return Response::text(405, "only GET");
    }
    match store.get(tn) {
        Some(list) => json_response(200, list),
        None => Response::text(404, format!("no DC applications for {tn}")),
    }
}

/// Starts the DCSF over HTTPS; only clients with a certificate of the world's CA (the MFs) are
/// served.
pub async fn start(ctx: &Ctx, store: Store) -> Result<Server, Error> {
    let store = Arc::new(store);
    let h = handler(move |req: Request, _peer: Peer| {
        let store = store.clone();
        async move { answer(&store, &req.method, &req.target) }
    });
    ctx.https_server(h, ClientAuth::Required).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fixture_lists_are_served_by_number() {
        let text = std::fs::read_to_string(fixtures::dir().join("dc-apps.toml")).unwrap();
        let store = Store::from_toml(&text).unwrap();
        let ok = answer(&store, "GET", "/dcsf/v1/subscribers/12025551000/apps");
        assert_eq!(ok.status, 200);
        let list: AppList = serde_json::from_slice(&ok.body).unwrap();
        assert!(!list.apps.is_empty());
        assert_eq!(
            answer(&store, "GET", "/dcsf/v1/subscribers/1/apps").status,
            404
        );
        assert_eq!(
            answer(&store, "POST", "/dcsf/v1/subscribers/12025551000/apps").status,
            405
        );
    }
}
