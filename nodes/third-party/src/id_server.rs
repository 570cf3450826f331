//! The 3P ID server (TR 33.790 §6.2.2.1): associations between an IMS identity, the third-party
//! ID data a caller may name and the Rich Call Data to present. Records come from
//! `fixtures/enterprise/rcd.toml`; jCards (RFC 7095) from `fixtures/enterprise/jcards/`.
//!
//! - `GET /rcd/v1/subscribers/{tn}`: the records of one identity. Operators only: the client
//!   must present a certificate of the world's CA (mutual TLS, §6.2.2.1 NOTE 2), else 403.
//! - `GET /3pid/v1/subscribers/{tn}`: the 3P ID information of one identity (its default
//!   record's id and name), as the repository of TR 33.790 §6.1.2 step 6. Operators only.
//! - `GET /jcards/{file}`: a jCard, public, so a terminating network can fetch the `jcl` URL.
//!
//! A [`Revision`] makes the enterprise change one jCard after it was first served: the threat
//! of §6.3 where the card behind a signed RCD URL changes after signing.

use proto::tn::digits;
use std::collections::BTreeMap;
use std::sync::Arc;

use kit::http::{Peer, Request, Response, Server, handler};
use kit::node::{ClientAuth, Ctx, json_response};
use kit::{Error, fixtures};
use proto::trace::{Act, Note};
use proto::wire::id3p::{RcdRecord, RcdRecords};
use proto::wire::sh::IdInfo;
use serde::Deserialize;

/// Host of the 3P ID server in the simulated world.
pub const HOST: &str = "id.enterprise.example";

#[derive(Debug, Deserialize)]
struct File {
    record: Vec<FileRecord>,
}

#[derive(Debug, Deserialize)]
struct FileRecord {
    tn: String,
    id: String,
    nam: String,
    jcard: Option<String>,
    icn: Option<String>,
    crn: Option<String>,
    #[serde(default)]
    default: bool,
}

/// Everything the server holds.
#[derive(Debug, Clone, Default)]
pub struct Store {
    /// Records by telephone number (digits only).
    pub records: BTreeMap<String, Vec<RcdRecord>>,
    /// jCard bytes by file name.
    pub jcards: BTreeMap<String, Vec<u8>>,
}

/// URL a jCard file is served at.
pub fn jcard_url(file: &str) -> String {
    format!("https://{HOST}/jcards/{file}")
}

impl Store {
    /// Loads the records and every jCard they name from the fixtures.
    pub fn load() -> Result<Self, Error> {
        let text = String::from_utf8_lossy(&fixtures::read("enterprise/rcd.toml")?).into_owned();
        let file: File = toml::from_str(&text).map_err(|e| Error::Fixture {
            path: "enterprise/rcd.toml".into(),
            detail: e.to_string(),
        })?;
        let mut store = Store::default();
        for r in file.record {
            if let Some(jcard) = &r.jcard
                && !store.jcards.contains_key(jcard)
            {
                store.jcards.insert(
                    jcard.clone(),
                    fixtures::read(&format!("enterprise/jcards/{jcard}"))?,
                );
            }
            store
                .records
                .entry(digits(&r.tn))
                .or_default()
                .push(RcdRecord {
                    id: r.id,
                    nam: r.nam,
                    jcl: r.jcard.as_deref().map(jcard_url),
                    icn: r.icn,
                    crn: r.crn,
                    default: r.default,
                });
        }
        Ok(store)
    }

    /// The answer to one request. Pure.
    pub fn answer(&self, method: &str, target: &str, client_certificate: bool) -> Response {
        if method != "GET" {
            return Response::text(405, "only GET");
        }
        if let Some(tn) = target.strip_prefix("/rcd/v1/subscribers/") {
            if !client_certificate {
                return Response::text(
                    403,
                    "RCD records are served to operators over mutual TLS only",
                );
            }
            return match self.records.get(tn) {
                Some(records) => json_response(
                    200,
                    &RcdRecords {
                        tn: tn.to_owned(),
                        records: records.clone(),
                    },
                ),
                None => Response::text(404, format!("no RCD record for {tn}")),
            };
        }
        if let Some(tn) = target.strip_prefix("/3pid/v1/subscribers/") {
            if !client_certificate {
                return Response::text(
                    403,
                    "3P ID information is served to operators over mutual TLS only",
                );
            }
            return match self
                .records
                .get(tn)
                .and_then(|records| records.iter().find(|r| r.default))
            {
                Some(r) => json_response(
                    200,
                    &IdInfo {
                        id: r.id.clone(),
                        name: r.nam.clone(),
                    },
                ),
                None => Response::text(404, format!("no 3P ID information for {tn}")),
            };
        }
        if let Some(file) = target.strip_prefix("/jcards/") {
            return match self.jcards.get(file) {
                Some(bytes) => Response::new(200, "application/jscontact+json", bytes.clone()),
                None => Response::text(404, format!("no jCard {file}")),
            };
        }
        Response::text(404, format!("no such resource: {target}"))
    }
}

/// The enterprise edits one jCard once it has been served `after` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The jCard file that changes.
    pub file: String,
    /// How many times it is served unchanged first.
    pub after: usize,
    /// What is served from then on.
    pub bytes: Vec<u8>,
}

impl Revision {
    /// The threat variant's edit: the card behind the signed URL is replaced with another
    /// organisation's name after the first fetch (the originating network's, at signing).
    pub fn rebranded(file: &str) -> Self {
        Revision {
            file: file.to_owned(),
            after: 1,
            bytes: br#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Totally Legit Bank"],["org",{},"text","Totally Legit Bank"],["tel",{"type":["work","voice"]},"uri","tel:+1-202-555-1000"]]]"#.to_vec(),
        }
    }

    /// Whether a request asks for the card this revision changes.
    fn is_for(&self, method: &str, target: &str) -> bool {
        method == "GET" && target.strip_prefix("/jcards/") == Some(self.file.as_str())
    }
}

/// Starts the server. Client certificates are verified when offered (they must chain to the
/// world's TLS CA) and required for the RCD records and 3P ID information.
pub async fn start(ctx: &Ctx, store: Store, revision: Option<Revision>) -> Result<Server, Error> {
    let store = Arc::new(store);
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let node = ctx.clone();
    let h = handler(move |req: Request, peer: Peer| {
        let store = store.clone();
        let revision = revision.clone();
        let served = served.clone();
        let node = node.clone();
        async move {
            if let Some(rev) = &revision
                && rev.is_for(&req.method, &req.target)
            {
                let n = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= rev.after {
                    let label = format!(
                        "threat: the enterprise's jCard {} was changed after it was signed",
                        rev.file
                    );
                    node.note(peer.msg, Note::done(Act::ChangeJcard, label));
                    return Response::new(200, "application/jscontact+json", rev.bytes.clone());
                }
            }
            store.answer(&req.method, &req.target, peer.certificate.is_some())
        }
    });
    ctx.https_server(h, ClientAuth::Optional).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::node::HostTable;
    use kit::tap::Tap;
    use proto::clock::Clock;
    use proto::trace::{Body, Outcome};

    #[tokio::test]
    async fn a_revision_changes_the_card_after_it_was_served_and_says_so() {
        let tap = Tap::new();
        let hosts = Arc::new(HostTable::default());
        let ctx = hosts.ctx("id3p", HOST, &tap, Clock::Fixed(1_772_442_000), 7);
        let revision = Revision::rebranded("q-branch.json");
        let server = start(&ctx, Store::load().unwrap(), Some(revision.clone()))
            .await
            .unwrap();
        hosts.add(HOST, server.local_addr());
        let client = hosts
            .ctx("as-t", "as.example", &tap, Clock::Fixed(1_772_442_000), 7)
            .https_client(false)
            .unwrap();
        let url = jcard_url("q-branch.json");
        let first = client.send(Request::get(url.clone())).await.unwrap();
        assert_eq!(
            first.body,
            fixtures::read("enterprise/jcards/q-branch.json").unwrap()
        );
        let second = client.send(Request::get(url)).await.unwrap();
        assert_eq!(second.body, revision.bytes);
        let acts: Vec<_> = tap
            .records()
            .into_iter()
            .filter(|r| r.node == "id3p")
            .filter_map(|r| match r.body {
                Body::Note { note, .. } => note.action(),
                _ => None,
            })
            .collect();
        assert_eq!(acts, [(Act::ChangeJcard, Outcome::Done)]);
        assert!(revision.is_for("GET", "/jcards/q-branch.json"));
        assert!(!revision.is_for("POST", "/jcards/q-branch.json"));
        assert!(!revision.is_for("GET", "/jcards/other.json"));
    }

    #[test]
    fn fixture_records_and_access_rules() {
        let store = Store::load().unwrap();
        let a = &store.records["12025551000"];
        assert_eq!(a.len(), 2);
        assert!(
            a.iter()
                .any(|r| r.default && r.nam == "Q Branch Spy Gadgets")
        );
        assert_eq!(
            a[0].jcl.as_deref(),
            Some("https://id.enterprise.example/jcards/q-branch.json")
        );
        assert!(
            !store.records.contains_key("12025551999"),
            "the ex-employee has no record"
        );
        assert_eq!(
            store
                .answer("GET", "/rcd/v1/subscribers/12025551000", true)
                .status,
            200
        );
        assert_eq!(
            store
                .answer("GET", "/rcd/v1/subscribers/12025551000", false)
                .status,
            403
        );
        assert_eq!(
            store
                .answer("GET", "/rcd/v1/subscribers/12025551999", true)
                .status,
            404
        );
        assert_eq!(
            store.answer("GET", "/jcards/q-branch.json", false).status,
            200
        );
        assert_eq!(store.answer("GET", "/jcards/../secret", false).status, 404);
        let info = store.answer("GET", "/3pid/v1/subscribers/12025551000", true);
        assert_eq!(info.status, 200);
        assert!(
            String::from_utf8_lossy(&info.body).contains(r#""name": "Q Branch Spy Gadgets""#),
            "the default record's name"
        );
        assert_eq!(
            store
                .answer("GET", "/3pid/v1/subscribers/12025551000", false)
                .status,
            403
        );
        assert_eq!(
            store
                .answer("GET", "/3pid/v1/subscribers/12025551999", true)
                .status,
            404
        );
    }
}
