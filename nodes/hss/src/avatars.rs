//! `GET /sh/v1/avatars/{impu}` (`proto::wire::sh::avatars_path`): a subscriber's avatar
//! entitlements, the subscription data the IMS AS validates an Avatar-id against before it has
//! it signed (TR 33.790 §6.7.2.1 step 3; NOTE 1: how they are provisioned is out of scope, here
//! `fixtures/subscribers.toml`).
//!
//! Served like the HSS's other Sh reads: to a client that authenticated with a certificate of
//! the world's CA (mutual TLS, checked by the TLS layer); a request without a usable client
//! certificate is refused (403) and noted. An unknown subscriber is only a 404: the IMS AS
//! notes what it means for the call.

use std::fmt;

use kit::http::Response;
use kit::node::json_response;
use proto::trace::{Act, Reason};
use proto::wire::sh::AvatarEntitlements;

use crate::Db;

/// The path prefix of the avatar entitlement resource.
pub const PREFIX: &str = "/sh/v1/avatars/";

/// The action a refused read is noted with (there is no HSS-specific act for it yet: the
/// nearest is the authorisation of a subscriber's use of avatars).
pub const ACT: Act = Act::AuthorizeAvatar;

/// Why the HSS hands out no entitlements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The client presented no usable certificate (why).
    Client(String),
    /// No subscriber has that public identity.
    UnknownImpu(String),
    /// The path does not hold an identity (empty, or a broken percent-escape).
    BadImpu(String),
}

impl Refusal {
    /// Why, typed for the trace.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::Client(_) => Reason::NotAuthorised,
            Refusal::UnknownImpu(_) => Reason::NoRecord,
            Refusal::BadImpu(_) => Reason::Malformed,
        }
    }

    /// Whether the refusal is a decision about the client, noted on the trace; an unknown or
    /// unreadable identity is only an error answer.
    pub fn noted(&self) -> bool {
        matches!(self, Refusal::Client(_))
    }

    /// The answer on the wire: 403 for the client, 404 for an unknown subscriber, 400 for a
    /// path that names none.
    pub fn response(&self) -> Response {
        let status = match self {
            Refusal::Client(_) => 403,
            Refusal::UnknownImpu(_) => 404,
            Refusal::BadImpu(_) => 400,
        };
        Response::text(status, self.to_string())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Client(why) => f.write_str(why),
            Refusal::UnknownImpu(impu) => write!(f, "no subscriber with public identity {impu}"),
            Refusal::BadImpu(path) => write!(f, "no public identity in {path:?}"),
        }
    }
}

/// The client may read Sh data: it presented a certificate (of the world's CA, which the TLS
/// layer verified) naming a host. Pure.
fn client_may_read(client_certificate: Option<&[u8]>) -> Result<String, Refusal> {
    let der = client_certificate
        .ok_or_else(|| Refusal::Client("mutual TLS required: no client certificate".into()))?;
    let names = kit::tls::dns_names(der).map_err(Refusal::Client)?;
    names
        .into_iter()
        .next()
        .ok_or_else(|| Refusal::Client("the client certificate names no host".into()))
}

/// `%XX` escapes decoded (an IMPU may come escaped); `None` for a broken escape.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The entitlements of the subscriber the path names (what follows [`PREFIX`]), if the client
/// may read Sh data. Pure.
pub fn decide(
    db: &Db,
    client_certificate: Option<&[u8]>,
    path_impu: &str,
) -> Result<AvatarEntitlements, Refusal> {
    client_may_read(client_certificate)?;
    let impu = percent_decode(path_impu)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| Refusal::BadImpu(path_impu.to_owned()))?;
    db.avatar_entitlements(&impu)
        .ok_or(Refusal::UnknownImpu(impu))
}

/// The answer to `GET {PREFIX}{impu}`: 200 with the entitlements, or the refusal.
pub fn answer(
    db: &Db,
    client_certificate: Option<&[u8]>,
    path_impu: &str,
) -> Result<Response, Refusal> {
    decide(db, client_certificate, path_impu).map(|e| json_response(200, &e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::fixtures;
    use proto::wire::sh::avatars_path;

    const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
    const AS_O: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";

    fn certificate(host: &str) -> Vec<u8> {
        let pem = fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
        kit::tls::certs_from_pem(&pem).unwrap().remove(0).to_vec()
    }

    fn db() -> Db {
        let text = std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap();
        Db::from_toml(&text, ORIG).unwrap()
    }

    fn impu_of(path: &str) -> &str {
        path.strip_prefix(PREFIX).unwrap()
    }

    #[test]
    fn known_subscribers_get_their_entitlements() {
        let (db, as_o) = (db(), certificate(AS_O));
        let ok = answer(&db, Some(&as_o), impu_of(&avatars_path(UE_A))).unwrap();
        assert_eq!(ok.status, 200);
        let body: serde_json::Value = serde_json::from_slice(&ok.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "impu": UE_A,
                "entitlements": [
                    {"avatar_id": "qbranch-agent", "app_id": "avatar-call"},
                    {"avatar_id": "qbranch-cat", "app_id": "avatar-call"},
                ]
            })
        );
        // Escaped the same.
        let escaped = "sip%3A%2B12025551000%40ims.mnc001.mcc001.3gppnetwork.org";
        assert_eq!(
            decide(&db, Some(&as_o), escaped),
            decide(&db, Some(&as_o), UE_A)
        );
        // Known, entitled to none.
        let ue_m = decide(&db, Some(&as_o), UE_M).unwrap();
        assert!(ue_m.entitlements.is_empty());
    }

    #[test]
    fn unknown_subscribers_and_paths_are_errors_not_noted() {
        let (db, as_o) = (db(), certificate(AS_O));
        let refused = |impu: &str| {
            let r = answer(&db, Some(&as_o), impu).unwrap_err();
            (r.response().status, r.reason(), r.noted())
        };
        assert_eq!(
            refused("sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org"),
            (404, Reason::NoRecord, false)
        );
        assert_eq!(refused(""), (400, Reason::Malformed, false));
        assert_eq!(refused("sip%3"), (400, Reason::Malformed, false));
    }

    #[test]
    fn a_client_without_a_usable_certificate_is_refused() {
        let db = db();
        for certificate in [None, Some(&b"junk"[..])] {
            let refusal = answer(&db, certificate, UE_A).unwrap_err();
            assert_eq!(
                (refusal.response().status, refusal.reason(), refusal.noted()),
                (403, Reason::NotAuthorised, true),
                "{refusal}"
            );
        }
    }

    #[test]
    fn percent_escapes() {
        assert_eq!(percent_decode("a%40b").as_deref(), Some("a@b"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%+4"), None);
    }
}
