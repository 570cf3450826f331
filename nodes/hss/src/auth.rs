//! `GET /sh/v1/auth/{impi}` (`proto::wire::sh::auth_path`): a private user identity's SIP
//! Digest credential, for authenticated registration — the testbed's stand-in for the Cx
//! multimedia-auth request of TS 29.228 §6.3 with SIP Digest (TS 33.203 Annex N). Only the
//! operator's S-CSCF (named by its TLS client certificate, as provisioning names the NEF) may
//! ask; it gets H(A1), never the password.

use std::fmt;

use kit::http::Response;
use kit::node::json_response;
use proto::trace::Reason;
use proto::wire::sh::DigestCredential;

use crate::Db;

/// The path prefix of the credential resource.
pub const PREFIX: &str = "/sh/v1/auth/";

/// Why the HSS hands out no credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This HSS serves no registrar at all.
    NoRegistrar,
    /// The client is not the operator's S-CSCF (why, from its TLS certificate).
    WrongClient(String),
    /// No private user identity of that name.
    UnknownImpi(String),
}

impl Refusal {
    /// Why, typed for the trace.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::NoRegistrar | Refusal::WrongClient(_) => Reason::NotAuthorised,
            Refusal::UnknownImpi(_) => Reason::NoRecord,
        }
    }

    /// Whether the refusal is a decision about the client, noted on the trace; an unknown
    /// identity is only a 404 (the S-CSCF notes what it means for the registration).
    pub fn noted(&self) -> bool {
        !matches!(self, Refusal::UnknownImpi(_))
    }

    /// The answer on the wire: 403 for the wrong client, 404 for an unknown identity.
    pub fn response(&self) -> Response {
        let status = match self {
            Refusal::NoRegistrar | Refusal::WrongClient(_) => 403,
            Refusal::UnknownImpi(_) => 404,
        };
        Response::text(status, self.to_string())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoRegistrar => f.write_str("this HSS serves no registrar"),
            Refusal::WrongClient(why) => f.write_str(why),
            Refusal::UnknownImpi(impi) => write!(f, "no private user identity {impi}"),
        }
    }
}

/// The query asking for the legacy MD5 credential instead (a served world's registrar only:
/// choice `serve-digest-md5`).
pub const MD5_QUERY: &str = "algorithm=MD5";

/// The credential of `impi` if `registrar` (the S-CSCF's host) is the client: SHA-256, or MD5
/// when `impi` ends in `?`[`MD5_QUERY`]. Pure.
pub fn decide(
    db: &Db,
    registrar: Option<&str>,
    client_certificate: Option<&[u8]>,
    impi: &str,
) -> Result<DigestCredential, Refusal> {
    let scscf = registrar.ok_or(Refusal::NoRegistrar)?;
    kit::tls::client_is(client_certificate, scscf).map_err(Refusal::WrongClient)?;
    let credential = match impi.split_once('?') {
        None => db.credential(impi),
        Some((name, MD5_QUERY)) => db.credential_md5(name),
        Some(_) => None,
    };
    credential.ok_or_else(|| Refusal::UnknownImpi(impi.to_owned()))
}

/// The answer to `GET {PREFIX}{impi}`: 200 with the credential, or the refusal's answer.
pub fn answer(
    db: &Db,
    registrar: Option<&str>,
    client_certificate: Option<&[u8]>,
    impi: &str,
) -> Result<Response, Refusal> {
    decide(db, registrar, client_certificate, impi).map(|c| json_response(200, &c))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::fixtures;

    const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
    const SCSCF: &str = "scscf.ims.mnc001.mcc001.3gppnetwork.org";
    const IMPI: &str = "+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

    fn certificate(host: &str) -> Vec<u8> {
        let pem = fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
        kit::tls::certs_from_pem(&pem).unwrap().remove(0).to_vec()
    }

    #[test]
    fn only_the_s_cscf_gets_credentials() {
        let text = std::fs::read_to_string(fixtures::dir().join("subscribers.toml")).unwrap();
        let db = Db::from_toml(&text, ORIG).unwrap();
        let refused = |r: Result<Response, Refusal>| {
            let refusal = r.unwrap_err();
            (refusal.response().status, refusal.reason(), refusal.noted())
        };
        let scscf = certificate(SCSCF);
        let pcscf = certificate("pcscf.ims.mnc001.mcc001.3gppnetwork.org");
        assert_eq!(
            refused(answer(&db, None, Some(&scscf), IMPI)),
            (403, Reason::NotAuthorised, true)
        );
        assert_eq!(
            refused(answer(&db, Some(SCSCF), None, IMPI)),
            (403, Reason::NotAuthorised, true)
        );
        assert_eq!(
            refused(answer(&db, Some(SCSCF), Some(&pcscf), IMPI)),
            (403, Reason::NotAuthorised, true)
        );
        assert_eq!(
            refused(answer(&db, Some(SCSCF), Some(&scscf), "nobody@ims.example")),
            (404, Reason::NoRecord, false)
        );
        let ok = answer(&db, Some(SCSCF), Some(&scscf), IMPI).unwrap();
        assert_eq!(ok.status, 200);
        let c: DigestCredential = serde_json::from_slice(&ok.body).unwrap();
        assert_eq!(c, db.credential(IMPI).unwrap());
        assert!(!String::from_utf8_lossy(&ok.body).contains("fixture-secret"));
        let md5 = answer(
            &db,
            Some(SCSCF),
            Some(&scscf),
            &format!("{IMPI}?{MD5_QUERY}"),
        );
        let c: DigestCredential = serde_json::from_slice(&md5.unwrap().body).unwrap();
        assert_eq!(c, db.credential_md5(IMPI).unwrap());
        assert_eq!(
            refused(answer(
                &db,
                Some(SCSCF),
                Some(&scscf),
                &format!("{IMPI}?x=1")
            )),
            (404, Reason::NoRecord, false)
        );
    }
}
