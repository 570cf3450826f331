//! The DCSF: the data channel application lists of its subscribers (`fixtures/dc-apps.toml`),
//! served over HTTPS (`proto::wire::dcsf`) to the MF, which asks when a UE fetches its list, or
//! downloads one application of it, over the bootstrap data channel; and the Avatar ID relay of TR 33.790 §6.5.2 steps 3–4: the XR AS
//! posts an accepted Avatar ID ([`DCSF_AVATAR_PATH`]) and the DCSF passes it on to the MF
//! ([`MF_AVATAR_PATH`], mutual TLS), answering with the MF's answer. An application entry may
//! carry the Avatar-ids the subscriber may use with it (TR 33.790 §6.7.2.1 step 1, choice
//! `7-avatar-id-list`): the UE downloads them with its list over the bootstrap channel.
//!
//! For DC capability exposure (TR 33.790 §6.9, solution 9) it is also the source of DC events
//! and the executor of DC session control ([`Exposure`]): the IMS ASs report the data
//! channels of calls ([`DCSF_EVENTS_PATH`]), which it records and notifies to the NEF's
//! subscriptions, as it does a UE's download of one application (`app-downloaded`); the NEF
//! subscribes, reads a record, and asks for an application data channel to be established,
//! updated or terminated, a bootstrap channel terminated, or an application downloaded over
//! one, which the DCSF carries out with the MF and the originating IMS AS (re-INVITEs,
//! §6.9.2.2 step 5).
//!
//! Notes: passing the Avatar ID on [`Act::ForwardAvatarId`]; a subscription created
//! [`Act::SubscribeDcEvents`]; each notification [`Act::NotifyDcEvent`] (also a refused event
//! report); a control request carried out or not [`Act::ControlDc`] (also a refused record
//! read).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

mod control;
mod exposure;
mod records;

use kit::http::{Client, Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{AvatarForward, DCSF_AVATAR_PATH, MF_AVATAR_PATH};
use proto::wire::dcsf::{App, AppList};
use serde::Deserialize;

use crate::upstream;

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

    /// Application `id` of the list of the subscriber with these telephone number digits.
    pub fn app(&self, tn_digits: &str, id: &str) -> Option<&App> {
        self.get(tn_digits)?.apps.iter().find(|a| a.id == id)
    }
}

/// What a request on the application lists' paths asks for. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource<'a> {
    /// `GET …/subscribers/{tn}/apps`: the subscriber's list.
    List {
        /// The number's digits.
        tn: &'a str,
    },
    /// `GET …/subscribers/{tn}/apps/{id}`: one application, downloaded (TR 33.790 §6.9's
    /// `app-downloaded` event).
    App {
        /// The number's digits.
        tn: &'a str,
        /// The application's id.
        id: &'a str,
    },
}

impl<'a> Resource<'a> {
    /// The resource `target` names, if it is one of the lists' paths
    /// ([`proto::wire::dcsf::path`], [`proto::wire::dcsf::app_path`]). Pure.
    fn of(target: &'a str) -> Option<Self> {
        let rest = target.strip_prefix("/dcsf/v1/subscribers/")?;
        let (tn, rest) = rest.split_once('/')?;
        if tn.is_empty() {
            return None;
        }
        match rest.strip_prefix("apps")? {
            "" => Some(Resource::List { tn }),
            id => id
                .strip_prefix('/')
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(|id| Resource::App { tn, id }),
        }
    }
}

/// The answer to one request. Pure.
pub fn answer(store: &Store, method: &str, target: &str) -> Response {
    let Some(resource) = Resource::of(target) else {
        return Response::text(404, format!("no such resource: {target}"));
    };
    if method != "GET" {
        return Response::text(405, "only GET");
    }
    match resource {
        Resource::List { tn } => match store.get(tn) {
            Some(list) => json_response(200, list),
            None => Response::text(404, format!("no DC applications for {tn}")),
        },
        Resource::App { tn, id } => match store.app(tn, id) {
            Some(app) => json_response(200, app),
            None => Response::text(404, format!("no DC application {id} for {tn}")),
        },
    }
}

/// DCSF settings.
#[derive(Debug, Clone)]
pub struct DcsfConfig {
    /// The application lists.
    pub store: Store,
    /// The MF an accepted Avatar ID is passed on to (TR 33.790 §6.5.2 step 4). `None`: the
    /// Avatar ID path is unknown (404).
    pub avatar_mf_host: Option<String>,
    /// DC capability exposure (TR 33.790 §6.9). `None`: its paths are unknown (404).
    pub exposure: Option<Exposure>,
}

/// Who the DCSF deals with for DC capability exposure (each identified by the DNS name of its
/// TLS certificate).
#[derive(Debug, Clone)]
pub struct Exposure {
    /// The NEF: the only client of subscriptions, records and control.
    pub nef_host: String,
    /// The IMS ASs allowed to report the DC events of calls.
    pub as_hosts: Vec<String>,
    /// The IMS AS that changes a call's data channels (the originating one).
    pub as_host: String,
    /// The MF that anchors the application data channels AFs have established (the
    /// originating one).
    pub mf_host: String,
}

/// A running DCSF's state.
#[derive(Debug)]
struct Dcsf {
    ctx: Ctx,
    config: DcsfConfig,
    /// The HTTPS client (mutual TLS) it reaches the MF, the IMS AS and the NEF with.
    client: Client,
    /// The data channels of calls and the NEF's subscriptions.
    book: Mutex<records::Book>,
}

/// A poisoned lock still holds usable state (every update is a push or one field set).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Dcsf {
    /// Solution 5 steps 3–4: the Avatar ID passed on to the MF; the MF's answer (it downloads
    /// the model first) is the answer, or 502 when the MF cannot be reached.
    async fn forward_avatar(&self, mf_host: &str, body: &[u8], msg: Option<u64>) -> Response {
        let forward: AvatarForward = match serde_json::from_slice(body) {
            Ok(f) => f,
            Err(e) => return upstream::problem(400, Reason::Malformed, e.to_string()),
        };
        self.ctx.note(
            msg,
            Note::done(
                Act::ForwardAvatarId,
                format!(
                    "pass the Avatar ID {} of {} (session {}) on to the MF {mf_host}",
                    forward.avatar_id, forward.tn, forward.call_id
                ),
            ),
        );
        let url = format!("https://{mf_host}{MF_AVATAR_PATH}");
        match self
            .client
            .send(Request::post_json(url, body.to_vec()))
            .await
        {
            Ok(answer) => upstream::pass_back(&answer),
            Err(e) => upstream::problem(502, Reason::Unreachable, format!("MF: {e}")),
        }
    }

    async fn handle(&self, req: Request, peer: Peer) -> Response {
        let msg = peer.msg;
        if let Some(exposure) = &self.config.exposure
            && let Some(answer) = self.exposure(exposure, &req, &peer).await
        {
            return answer;
        }
        match (req.target.as_str(), &self.config.avatar_mf_host) {
            (DCSF_AVATAR_PATH, Some(mf)) if req.method == "POST" => {
                self.forward_avatar(mf, &req.body, msg).await
            }
            (DCSF_AVATAR_PATH, Some(_)) => Response::text(405, "only POST"),
            _ => {
                let served = answer(&self.config.store, &req.method, &req.target);
                // One application downloaded (not a list: a list is not an application).
                if served.status == 200
                    && self.config.exposure.is_some()
                    && let Some(Resource::App { tn, id }) = Resource::of(&req.target)
                {
                    self.app_downloaded(tn, id, msg).await;
                }
                served
            }
        }
    }
}

/// Starts the DCSF over HTTPS; only clients with a certificate of the world's CA (the MFs, the
/// XR AS, and with [`Exposure`] the NEF and the IMS ASs) are served. It reaches the MF (and
/// the IMS AS and the NEF) with its own certificate (mutual TLS).
pub async fn start(ctx: &Ctx, config: DcsfConfig) -> Result<Server, Error> {
    let dcsf = Arc::new(Dcsf {
        ctx: ctx.clone(),
        client: ctx.https_client(true)?,
        config,
        book: Mutex::new(records::Book::default()),
    });
    let h = handler(move |req: Request, peer: Peer| {
        let dcsf = dcsf.clone();
        async move { dcsf.handle(req, peer).await }
    });
    ctx.https_server(h, ClientAuth::Required).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::wire::dcsf;

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
        // One application: its entry, or 404.
        let one = answer(&store, "GET", &dcsf::app_path("12025551000", "avatar-call"));
        assert_eq!(one.status, 200);
        let app: App = serde_json::from_slice(&one.body).unwrap();
        assert_eq!(
            (app.id.as_str(), app.name.as_str()),
            ("avatar-call", "Avatar call")
        );
        for missing in [
            dcsf::app_path("12025551000", "nope"),
            dcsf::app_path("1", "avatar-call"),
            "/dcsf/v1/subscribers/12025551000/apps/".into(),
            "/dcsf/v1/subscribers/12025551000/apps/avatar-call/x".into(),
            "/dcsf/v1/subscribers/12025551000/appsx".into(),
            "/dcsf/v1/subscribers//apps".into(),
        ] {
            assert_eq!(answer(&store, "GET", &missing).status, 404, "{missing}");
        }
    }

    #[test]
    fn resources_by_path() {
        assert_eq!(
            Resource::of(&dcsf::path("12025551000")),
            Some(Resource::List { tn: "12025551000" })
        );
        assert_eq!(
            Resource::of(&dcsf::app_path("12025551000", "screen-share")),
            Some(Resource::App {
                tn: "12025551000",
                id: "screen-share"
            })
        );
        assert_eq!(Resource::of("/dcsf/v1/dcs/dc-1"), None);
    }

    #[test]
    fn avatar_ids_come_with_the_avatar_call_application_only() {
        let store = Store::load().unwrap();
        let ids = |tn: &str, app: &str| {
            let list = store.get(tn).unwrap();
            list.apps
                .iter()
                .find(|a| a.id == app)
                .unwrap()
                .avatar_ids
                .clone()
        };
        assert_eq!(
            ids("12025551000", "avatar-call"),
            ["qbranch-agent", "qbranch-cat"]
        );
        assert_eq!(ids("12155551001", "avatar-call"), ["owl"]);
        assert!(ids("12025551000", "screen-share").is_empty());
        // An entry without Avatar-ids serialises as before; one with them carries the list.
        let ok = answer(&store, "GET", "/dcsf/v1/subscribers/12025551000/apps");
        let json: serde_json::Value = serde_json::from_slice(&ok.body).unwrap();
        assert_eq!(
            json["apps"][0]["avatar_ids"],
            serde_json::json!(["qbranch-agent", "qbranch-cat"])
        );
        assert!(json["apps"][1].get("avatar_ids").is_none(), "{json}");
        let plain = App {
            id: "a".into(),
            name: "A".into(),
            url: "u".into(),
            avatar_ids: vec![],
        };
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"id":"a","name":"A","url":"u"}"#
        );
        assert_eq!(
            serde_json::from_str::<App>(r#"{"id":"a","name":"A","url":"u"}"#).unwrap(),
            plain
        );
    }
}
