//! `POST /sh/v1/provisioning` (TR 33.790 §6.4.2.1 step 0a): the NEF provisions a designated
//! IMPU and its 3P ID service profile. Only the provisioner (the operator's NEF, named by its
//! TLS client certificate) may. When the request names the employee the IMPU is for
//! (`employee_impu`, as the allocation request did), the employee's private identity may
//! register the designated IMPU (`Db::associate`); without it, nobody can.

use std::fmt;

use kit::http::Response;
use kit::node::json_response;
use proto::trace::Reason;
use proto::wire::authz::Provisioning;
use proto::wire::sh::Subscription;
use serde::Deserialize;

use crate::Db;

/// Why the HSS refuses to provision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This HSS takes no provisioning at all.
    NoProvisioner,
    /// The client is not the provisioner (why, from its TLS certificate).
    WrongClient(String),
    /// The body is not a provisioning request (the JSON error).
    BadBody(String),
    /// The number is not a global telephone number.
    NotGlobalNumber(String),
}

impl Refusal {
    /// Why, typed for the trace: the client may not provision, or the request is malformed.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::NoProvisioner | Refusal::WrongClient(_) => Reason::NotAuthorised,
            Refusal::BadBody(_) | Refusal::NotGlobalNumber(_) => Reason::Malformed,
        }
    }

    /// The answer on the wire: 403 for the wrong client, 400 for a bad request.
    pub fn response(&self) -> Response {
        let status = match self {
            Refusal::NoProvisioner | Refusal::WrongClient(_) => 403,
            Refusal::BadBody(_) | Refusal::NotGlobalNumber(_) => 400,
        };
        Response::text(status, self.to_string())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoProvisioner => f.write_str("this HSS takes no provisioning"),
            Refusal::WrongClient(why) => f.write_str(why),
            Refusal::BadBody(e) => write!(f, "provisioning body: {e}"),
            Refusal::NotGlobalNumber(tn) => write!(f, "not a global number: {tn:?}"),
        }
    }
}

/// The subscription a provisioning request asks for, if `provisioner` may ask and the request
/// holds. Pure.
pub fn decide(
    provisioner: Option<&str>,
    client_certificate: Option<&[u8]>,
    body: &[u8],
) -> Result<Subscription, Refusal> {
    let nef = provisioner.ok_or(Refusal::NoProvisioner)?;
    kit::tls::client_is(client_certificate, nef).map_err(Refusal::WrongClient)?;
    let p: Provisioning =
        serde_json::from_slice(body).map_err(|e| Refusal::BadBody(e.to_string()))?;
    if !p.tn.starts_with('+') || p.tn.len() < 3 || !p.tn[1..].chars().all(|c| c.is_ascii_digit()) {
        return Err(Refusal::NotGlobalNumber(p.tn));
    }
    Ok(Subscription {
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
    })
}

/// Who a designated IMPU is for, when the provisioning request says (the allocation request's
/// `employee_impu`).
#[derive(Debug, Default, Deserialize)]
struct Owner {
    #[serde(default)]
    employee_impu: Option<String>,
}

/// The employee a provisioning body names, if any. Pure.
pub fn owner(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Owner>(body)
        .ok()
        .and_then(|o| o.employee_impu)
}

/// Decides on a provisioning request and applies it to `db`: the answer (201 with the
/// subscription), or the refusal.
pub fn provision(
    db: &mut Db,
    provisioner: Option<&str>,
    client_certificate: Option<&[u8]>,
    body: &[u8],
) -> Result<Response, Refusal> {
    let subscription = decide(provisioner, client_certificate, body)?;
    let answer = json_response(201, &subscription);
    if let Some(employee) = owner(body) {
        db.associate(&subscription.impu, &employee);
    }
    db.insert(subscription);
    Ok(answer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::fixtures;

    #[test]
    fn provisioning_only_from_the_nef() {
        let mut db = Db::default();
        let body = br#"{"impu":"sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org","tn":"+12025550100","third_party_ids":true,"authz_realm":"authz.enterprise.example","id3p":"tel:+12025550100"}"#;
        let refused = |r: Result<Response, Refusal>| {
            let refusal = r.unwrap_err();
            (refusal.response().status, refusal.reason())
        };
        assert_eq!(
            refused(provision(&mut db, None, None, body)),
            (403, Reason::NotAuthorised)
        );
        let nef = "nef.ims.mnc001.mcc001.3gppnetwork.org";
        assert_eq!(
            refused(provision(&mut db, Some(nef), None, body)),
            (403, Reason::NotAuthorised)
        );
        let pem = fixtures::read("pki/tls/hss.ims.mnc001.mcc001.3gppnetwork.org.pem").unwrap();
        let other = kit::tls::certs_from_pem(&pem).unwrap().remove(0);
        assert_eq!(
            refused(provision(&mut db, Some(nef), Some(&other), body)),
            (403, Reason::NotAuthorised)
        );
        let pem = fixtures::read(&format!("pki/tls/{nef}.pem")).unwrap();
        let cert = kit::tls::certs_from_pem(&pem).unwrap().remove(0);
        assert_eq!(
            refused(provision(&mut db, Some(nef), Some(&cert), b"{")),
            (400, Reason::Malformed)
        );
        let local = br#"{"impu":"sip:x@y","tn":"2025550100","third_party_ids":true,"authz_realm":"a","id3p":"tel:+1"}"#;
        assert_eq!(
            refused(provision(&mut db, Some(nef), Some(&cert), local)),
            (400, Reason::Malformed)
        );
        assert!(db.is_empty());
        assert_eq!(
            provision(&mut db, Some(nef), Some(&cert), body)
                .unwrap()
                .status,
            201
        );
        let s = db.get("12025550100").unwrap();
        assert!(s.third_party_ids);
        assert_eq!(s.authz_realm.as_deref(), Some("authz.enterprise.example"));
    }

    #[test]
    fn a_named_employee_may_register_the_designated_impu() {
        let text = std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap();
        let mut db = Db::from_toml(&text, "ims.mnc001.mcc001.3gppnetwork.org").unwrap();
        let nef = "nef.ims.mnc001.mcc001.3gppnetwork.org";
        let pem = fixtures::read(&format!("pki/tls/{nef}.pem")).unwrap();
        let cert = kit::tls::certs_from_pem(&pem).unwrap().remove(0);
        let body = br#"{"impu":"sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org","tn":"+12025550100","third_party_ids":true,"authz_realm":"authz.enterprise.example","id3p":"tel:+12025550100","employee_impu":"sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org"}"#;
        assert_eq!(
            owner(body).as_deref(),
            Some("sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org")
        );
        assert_eq!(owner(b"{}"), None);
        provision(&mut db, Some(nef), Some(&cert), body).unwrap();
        let impi = "+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
        assert_eq!(
            db.credential(impi).unwrap().impus,
            [
                "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org",
                "sip:+12025550100@ims.mnc001.mcc001.3gppnetwork.org"
            ]
        );
    }

    #[test]
    fn refusals_answer_with_their_text() {
        let r = Refusal::NoProvisioner.response();
        assert_eq!(
            (r.status, String::from_utf8_lossy(&r.body).into_owned()),
            (403, "this HSS takes no provisioning".to_owned())
        );
        let r = Refusal::NotGlobalNumber("12".into()).response();
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            r#"not a global number: "12""#
        );
    }
}
