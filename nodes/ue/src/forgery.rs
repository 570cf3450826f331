//! An attacker's UE (the threat variants of issue 10, UE-M): what it writes into its requests
//! that an honest UE would not ([`Forgery`], applied with [`Ue::forge`] to the requests that
//! follow until [`Ue::clear_forgeries`]), and where it sends them. Registering as someone else
//! is [`Ue::register_as`].
//!
//! The forgeries apply to a UE reaching the network through a P-CSCF (`Access::Pcscf`); a
//! trunk's requests are left as they are.

use proto::sipmsg;

use crate::{Ue, lock};

/// What the attacker's UE forges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgery {
    /// The INVITEs of its calls ([`Ue::call`], [`Ue::call_with`]) carry a P-Asserted-Identity
    /// with this URI (a PBX on its trunk: a P-Preferred-Identity), and From presents it too (another UE's number: `sip:+12025551000@…` or
    /// `tel:+12025551000`).
    AssertedIdentity(String),
    /// Its Contact is this URI (another UE's contact, `sip:+12025551000@127.0.0.1:5060`).
    Contact(String),
    /// Its INVITEs' Route set after the first hop, instead of the Service-Route (e.g.
    /// `sip:scscf…;lr;orig`, or an AS to skip the S-CSCF).
    Route(Vec<String>),
    /// Its requests' first hop is this SIP host instead of its P-CSCF (e.g. the S-CSCF's host,
    /// to go round the P-CSCF). When the rest of the route set starts at that host already, the
    /// rest is the whole route set (`NextHop(scscf)` with the Service-Route `sip:scscf;lr;orig`
    /// sends `Route: <sip:scscf;lr;orig>` straight to the S-CSCF).
    NextHop(String),
}

/// The forgeries in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Forged {
    pub(crate) asserted: Option<String>,
    pub(crate) contact: Option<String>,
    pub(crate) route: Option<Vec<String>>,
    pub(crate) next_hop: Option<String>,
}

impl Forged {
    /// Adds `f` (replacing a forgery of the same kind).
    pub(crate) fn apply(&mut self, f: Forgery) {
        match f {
            Forgery::AssertedIdentity(uri) => self.asserted = Some(uri),
            Forgery::Contact(uri) => self.contact = Some(uri),
            Forgery::Route(routes) => self.route = Some(routes),
            Forgery::NextHop(host) => self.next_hop = Some(host),
        }
    }
}

/// The route set of a request: `sip:<first_hop>;lr`, then `rest` — or `rest` alone when it
/// already starts at `first_hop`. Pure.
pub(crate) fn route_set(first_hop: &str, rest: &[String]) -> Vec<String> {
    if rest
        .first()
        .is_some_and(|r| sipmsg::uri_host(r).eq_ignore_ascii_case(first_hop))
    {
        return rest.to_vec();
    }
    let mut routes = vec![format!("sip:{first_hop};lr")];
    routes.extend(rest.iter().cloned());
    routes
}

impl Ue {
    /// Forges `f` in this UE's requests from now on (until [`Ue::clear_forgeries`]).
    pub fn forge(&self, f: Forgery) {
        lock(&self.state).forged.apply(f);
    }

    /// Forges nothing any more: the UE is honest again.
    pub fn clear_forgeries(&self) {
        lock(&self.state).forged = Forged::default();
    }

    /// The forgeries in force.
    pub(crate) fn forged(&self) -> Forged {
        lock(&self.state).forged.clone()
    }
}

impl Ue {
    /// An attacker with a TLS certificate of the world (the enterprise's PBX) asks the operator's
    /// STI-AS to sign a PASSporT for its user's number directly, outside any call: the signing
    /// server must refuse it. Returns the HTTP status the STI-AS answered (or the TLS handshake
    /// error).
    pub async fn ask_to_sign(&self, sti_as_host: &str) -> Result<u16, kit::Error> {
        use stir::ms::{SIGNING_PATH, SigningRequest, SigningRequestBody};
        let tn = sipmsg::NameAddr::parse(&self.impu())
            .and_then(|n| n.tn())
            .unwrap_or_default();
        let body = SigningRequestBody {
            signing_request: SigningRequest {
                ppt: None,
                attest: Some(stir::Attest::A),
                dest: stir::Dest::tn("+12155551001"),
                iat: self.ctx.clock.now(),
                orig: stir::Orig::tn(&tn),
                origid: None,
                rcd: None,
                rcdi: None,
                crn: None,
                avatar: None,
                request_id: None,
            },
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| kit::Error::Http {
            detail: e.to_string(),
        })?;
        let url = format!("https://{sti_as_host}{SIGNING_PATH}");
        let client = self.ctx.https_client(true)?;
        let response = client
            .send(kit::http::Request::post_json(url.as_str(), bytes))
            .await?;
        Ok(response.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_sets() {
        let service = vec!["sip:scscf.ims.a;lr;orig".to_owned()];
        assert_eq!(
            route_set("pcscf.ims.a", &service),
            ["sip:pcscf.ims.a;lr", "sip:scscf.ims.a;lr;orig"]
        );
        assert_eq!(
            route_set("scscf.ims.a", &service),
            ["sip:scscf.ims.a;lr;orig"]
        );
        assert_eq!(route_set("pcscf.ims.a", &[]), ["sip:pcscf.ims.a;lr"]);
    }

    #[test]
    fn forgeries_accumulate_and_replace() {
        let mut f = Forged::default();
        f.apply(Forgery::NextHop("a".into()));
        f.apply(Forgery::Contact("sip:x@y".into()));
        f.apply(Forgery::NextHop("b".into()));
        assert_eq!(f.next_hop.as_deref(), Some("b"));
        assert_eq!(f.contact.as_deref(), Some("sip:x@y"));
        assert_eq!(f.asserted, None);
    }
}
