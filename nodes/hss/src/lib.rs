//! The HSS of one operator: the subscription data the TR's solutions read (third-party ID
//! authorisation and the 3P ID server's address for TR 33.790 §6.2; verification subscription
//! on the terminating side), loaded from `fixtures/subscribers.toml` and served over the Sh-like
//! HTTPS interface (`proto::wire::sh`, DESIGN §5) to the operator's IMS AS with mutual TLS.

use proto::tn::digits;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use proto::trace::Note;
use proto::wire::authz::{PROVISION_PATH, Provisioning};
use proto::wire::sh::{IdInfoAnswer, RcdAnswer, Storage, Subscription};
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

/// The answer to one Sh-like request. Pure.
///
/// - `GET /sh/v1/subscribers/{tn}`: the subscription (authorisation facts).
/// - `GET /sh/v1/3pid-info/{tn}`: solution 1's 3P ID information, or its URI, per `storage`.
/// - `GET /sh/v1/rcd/{tn}`: solution 3's RCD URL(s) or concrete RCD, per `storage`.
pub fn answer(db: &Db, storage: Storage, method: &str, target: &str) -> Response {
    let routes: [(&str, Resource); 3] = [
        ("/sh/v1/subscribers/", Resource::Subscription),
        ("/sh/v1/3pid-info/", Resource::IdInfo),
        ("/sh/v1/rcd/", Resource::Rcd),
    ];
    let Some((tn, resource)) = routes
        .iter()
        .find_map(|(prefix, r)| target.strip_prefix(prefix).map(|tn| (tn, *r)))
    else {
        return Response::text(404, format!("no such resource: {target}"));
    };
    if method != "GET" {
        return Response::text(405, "only GET");
    }
    let Some(subscription) = db.get(tn) else {
        return Response::text(404, format!("no subscriber with number {tn}"));
    };
    match resource {
        Resource::Subscription => json_response(200, subscription),
        Resource::IdInfo => {
            let answer = match (storage, &subscription.id_info, &subscription.id_info_url) {
                (Storage::Pointer, _, Some(url)) => IdInfoAnswer {
                    info: None,
                    url: Some(url.clone()),
                },
                (_, Some(info), _) => IdInfoAnswer {
                    info: Some(info.clone()),
                    url: None,
                },
                (Storage::Data, None, Some(url)) => IdInfoAnswer {
                    info: None,
                    url: Some(url.clone()),
                },
                (_, None, None) => {
                    return Response::text(
                        404,
                        format!("{tn} is not subscribed to third party ID information"),
                    );
                }
            };
            json_response(200, &answer)
        }
        Resource::Rcd => {
            let answer = match (storage, &subscription.rcd, subscription.rcd_urls.is_empty()) {
                (Storage::Data, Some(rcd), _) | (Storage::Pointer, Some(rcd), true) => RcdAnswer {
                    urls: Vec::new(),
                    rcd: Some(rcd.clone()),
                },
                (_, _, false) => RcdAnswer {
                    urls: subscription.rcd_urls.clone(),
                    rcd: None,
                },
                (_, None, true) => {
                    return Response::text(404, format!("no RCD is associated with {tn}"));
                }
            };
            json_response(200, &answer)
        }
    }
}

/// TR 33.790 §6.1.2 step 4 ("if needed, the HSS fetches the 3P ID information"): this HSS
/// never needs to; it hands out what it holds (choice `6.1-hss-fetch`). Said in the trace.
fn fetch_note(target: &str, response: &Response) -> Option<String> {
    target.strip_prefix("/sh/v1/3pid-info/")?;
    let pointer =
        serde_json::from_slice::<IdInfoAnswer>(&response.body).is_ok_and(|a| a.url.is_some());
    Some(match response.status {
        200 if pointer => {
            "3P ID information held as a URI: returned for the IMS AS to fetch; no repository fetch by the HSS".into()
        }
        200 => "3P ID information held in the subscription: returned as is; no repository fetch by the HSS".into(),
        _ => "no 3P ID information for this IMPU: nothing returned; no repository fetch by the HSS".into(),
    })
}

#[derive(Debug, Clone, Copy)]
enum Resource {
    Subscription,
    IdInfo,
    Rcd,
}

/// `POST /sh/v1/provisioning` (TR 33.790 §6.4.2.1 step 0a): the NEF provisions a designated
/// IMPU and its service profile. Only `provisioner` (the operator's NEF, named by its TLS
/// client certificate) may. Pure but for the database it changes.
pub fn provision(
    db: &mut Db,
    provisioner: Option<&str>,
    client_certificate: Option<&[u8]>,
    body: &[u8],
) -> Response {
    let Some(nef) = provisioner else {
        return Response::text(403, "this HSS takes no provisioning");
    };
    if let Err(reason) = kit::tls::client_is(client_certificate, nef) {
        return Response::text(403, reason);
    }
    let p: Provisioning = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => return Response::text(400, format!("provisioning body: {e}")),
    };
    if !p.tn.starts_with('+') || p.tn.len() < 3 || !p.tn[1..].chars().all(|c| c.is_ascii_digit()) {
        return Response::text(400, format!("not a global number: {:?}", p.tn));
    }
    let subscription = Subscription {
        impu: p.impu,
        tn: p.tn,
        third_party_ids: p.third_party_ids,
        id_server: None,
        verification: false,
        id_info: None,
        id_info_url: None,
        rcd_urls: Vec::new(),
        rcd: None,
        authz_realm: Some(p.authz_realm),
        id3p: Some(p.id3p),
    };
    let answer = json_response(201, &subscription);
    db.insert(subscription);
    answer
}

/// Starts the HSS over HTTPS; only clients with a certificate of the world's CA are served.
/// `storage` says whether it hands out data or pointers where both are provisioned;
/// `provisioner` is the NEF allowed to provision designated IMPUs, if any.
pub async fn start(
    ctx: &Ctx,
    db: Db,
    storage: Storage,
    provisioner: Option<String>,
) -> Result<Server, Error> {
    let db = Arc::new(RwLock::new(db));
    let node = ctx.clone();
    let h = handler(move |req: Request, peer: Peer| {
        let db = db.clone();
        let node = node.clone();
        let provisioner = provisioner.clone();
        async move {
            if req.target == PROVISION_PATH && req.method == "POST" {
                let mut db = db.write().unwrap_or_else(|p| p.into_inner());
                let response = provision(
                    &mut db,
                    provisioner.as_deref(),
                    peer.certificate.as_deref(),
                    &req.body,
                );
                let label = if response.status == 201 {
                    "provision the designated IMPU and its 3P ID service profile".to_owned()
                } else {
                    format!(
                        "refuse provisioning: {}",
                        String::from_utf8_lossy(&response.body)
                    )
                };
                node.note(peer.msg, Note::Action { label });
                return response;
            }
            let response = {
                let db = db.read().unwrap_or_else(|p| p.into_inner());
                answer(&db, storage, &req.method, &req.target)
            };
            if let Some(label) = fetch_note(&req.target, &response) {
                node.note(peer.msg, Note::Action { label });
            }
            response
        }
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
            answer(
                &orig,
                Storage::Data,
                "GET",
                "/sh/v1/subscribers/12025551000"
            )
            .status,
            200
        );
        assert_eq!(
            answer(
                &orig,
                Storage::Data,
                "GET",
                "/sh/v1/subscribers/19999999999"
            )
            .status,
            404
        );
        assert_eq!(
            answer(
                &orig,
                Storage::Data,
                "POST",
                "/sh/v1/subscribers/12025551000"
            )
            .status,
            405
        );
    }

    #[test]
    fn data_or_pointer_per_storage_option() {
        let text = std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap();
        let orig = Db::from_toml(&text, "ims.mnc001.mcc001.3gppnetwork.org").unwrap();
        let info = |storage, tn| {
            let r = answer(&orig, storage, "GET", &format!("/sh/v1/3pid-info/{tn}"));
            (r.status == 200).then(|| serde_json::from_slice::<IdInfoAnswer>(&r.body).unwrap())
        };
        let rcd = |storage, tn| {
            let r = answer(&orig, storage, "GET", &format!("/sh/v1/rcd/{tn}"));
            (r.status == 200).then(|| serde_json::from_slice::<RcdAnswer>(&r.body).unwrap())
        };
        let data = info(Storage::Data, "12025551000").unwrap();
        assert_eq!(data.info.unwrap().name, "Q Branch Spy Gadgets");
        assert!(data.url.is_none());
        let pointer = info(Storage::Pointer, "12025551000").unwrap();
        assert!(pointer.info.is_none());
        assert_eq!(
            pointer.url.as_deref(),
            Some("https://id.enterprise.example/3pid/v1/subscribers/12025551000")
        );
        assert!(
            info(Storage::Data, "12025551666").is_none(),
            "not subscribed"
        );
        let concrete = rcd(Storage::Data, "12025551000").unwrap();
        assert_eq!(concrete.rcd.unwrap().nam, "Q Branch Spy Gadgets");
        assert!(concrete.urls.is_empty());
        let urls = rcd(Storage::Pointer, "12025551000").unwrap();
        assert_eq!(
            urls.urls,
            ["https://id.enterprise.example/jcards/q-branch.json"]
        );
        assert!(urls.rcd.is_none());
        assert!(
            rcd(Storage::Pointer, "12025551999").is_none(),
            "ex-employee"
        );
        let r = answer(
            &orig,
            Storage::Pointer,
            "GET",
            "/sh/v1/3pid-info/12025551000",
        );
        assert!(
            fetch_note("/sh/v1/3pid-info/12025551000", &r)
                .unwrap()
                .contains("held as a URI")
        );
        assert!(fetch_note("/sh/v1/rcd/12025551000", &r).is_none());
    }

    #[test]
    fn provisioning_only_from_the_nef() {
        let mut db = Db::default();
        let body = br#"{"impu":"sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org","tn":"+12025550100","third_party_ids":true,"authz_realm":"authz.enterprise.example","id3p":"tel:+12025550100"}"#;
        assert_eq!(provision(&mut db, None, None, body).status, 403);
        let nef = "nef.ims.mnc001.mcc001.3gppnetwork.org";
        assert_eq!(provision(&mut db, Some(nef), None, body).status, 403);
        let pem = fixtures::read("pki/tls/hss.ims.mnc001.mcc001.3gppnetwork.org.pem").unwrap();
        let other = kit::tls::certs_from_pem(&pem).unwrap().remove(0);
        assert_eq!(
            provision(&mut db, Some(nef), Some(&other), body).status,
            403
        );
        let pem = fixtures::read(&format!("pki/tls/{nef}.pem")).unwrap();
        let cert = kit::tls::certs_from_pem(&pem).unwrap().remove(0);
        assert_eq!(provision(&mut db, Some(nef), Some(&cert), b"{").status, 400);
        assert!(db.is_empty());
        assert_eq!(provision(&mut db, Some(nef), Some(&cert), body).status, 201);
        let s = db.get("12025550100").unwrap();
        assert!(s.third_party_ids);
        assert_eq!(s.authz_realm.as_deref(), Some("authz.enterprise.example"));
    }
}
