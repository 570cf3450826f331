//! The Sh-like read interface (`proto::wire::sh`, ARCHITECTURE.md "Interfaces"): what the IMS AS asks the HSS for,
//! answered from the subscription data. Pure.

use kit::http::Response;
use kit::node::json_response;
use proto::wire::sh::{IdInfoAnswer, RcdAnswer, Storage, Subscription};

use crate::Db;

#[derive(Debug, Clone, Copy)]
enum Resource {
    Subscription,
    IdInfo,
    Rcd,
}

/// The answer to one Sh-like request. Pure.
///
/// - `GET /sh/v1/subscribers/{tn}`: the subscription (authorisation facts).
/// - `GET /sh/v1/3pid-info/{tn}`: solution 1's 3P ID information, or its URI, per `storage`.
///   TR 33.790 §6.1.2 step 4 ("if needed, the HSS fetches the 3P ID information") is not
///   here: this is what the HSS holds; the server follows a URI when configured to
///   (`HssConfig::fetch_id_info`, choice `6.1-hss-fetch`).
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
        Resource::IdInfo => match id_info(storage, subscription) {
            Some(answer) => json_response(200, &answer),
            None => Response::text(
                404,
                format!("{tn} is not subscribed to third party ID information"),
            ),
        },
        Resource::Rcd => match rcd(storage, subscription) {
            Some(answer) => json_response(200, &answer),
            None => Response::text(404, format!("no RCD is associated with {tn}")),
        },
    }
}

/// Solution 1: the 3P ID information itself, or the URI it is kept at, per `storage` (either
/// when only one is provisioned); none when neither is.
fn id_info(storage: Storage, subscription: &Subscription) -> Option<IdInfoAnswer> {
    match (storage, &subscription.id_info, &subscription.id_info_url) {
        (Storage::Pointer, _, Some(url)) | (Storage::Data, None, Some(url)) => Some(IdInfoAnswer {
            info: None,
            url: Some(url.clone()),
        }),
        (_, Some(info), _) => Some(IdInfoAnswer {
            info: Some(info.clone()),
            url: None,
        }),
        (_, None, None) => None,
    }
}

/// Solution 3: the concrete RCD, or the URLs it is kept at, per `storage` (either when only one
/// is provisioned); none when neither is.
fn rcd(storage: Storage, subscription: &Subscription) -> Option<RcdAnswer> {
    match (storage, &subscription.rcd, subscription.rcd_urls.is_empty()) {
        (Storage::Data, Some(rcd), _) | (Storage::Pointer, Some(rcd), true) => Some(RcdAnswer {
            urls: Vec::new(),
            rcd: Some(rcd.clone()),
        }),
        (_, _, false) => Some(RcdAnswer {
            urls: subscription.rcd_urls.clone(),
            rcd: None,
        }),
        (_, None, true) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::fixtures;

    fn orig() -> Db {
        let text = std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap();
        Db::from_toml(&text, "ims.mnc001.mcc001.3gppnetwork.org").unwrap()
    }

    #[test]
    fn subscriptions_by_number_and_method() {
        let orig = orig();
        let status = |method, target| answer(&orig, Storage::Data, method, target).status;
        assert_eq!(status("GET", "/sh/v1/subscribers/12025551000"), 200);
        assert_eq!(status("GET", "/sh/v1/subscribers/19999999999"), 404);
        assert_eq!(status("POST", "/sh/v1/subscribers/12025551000"), 405);
        assert_eq!(status("GET", "/sh/v1/elsewhere/12025551000"), 404);
    }

    #[test]
    fn data_or_pointer_per_storage_option() {
        let orig = orig();
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
    }
}
