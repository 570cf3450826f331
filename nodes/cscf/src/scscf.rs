//! The S-CSCF (TS 24.229 §5.4): registrar for its domain, and the router that hands calls to
//! the IMS AS over ISC and takes them back. The route it puts behind the AS carries a marker
//! saying where the call was (`orig` → originating services, `orig-as` → back from the
//! originating AS, `term-as` → back from the terminating AS), the way an S-CSCF recognises a
//! request returning from an AS (TS 24.229 §5.4.3.3).
//!
//! Registration is authenticated with SIP Digest against the credential the HSS holds
//! ([`register`], [`digest`], [`nonces`]). A marker counts only on a request from the trust
//! domain (RFC 3325 §2.3): the nodes [`ScscfConfig::trusted`] names, recognised by the world's
//! address book of source addresses (`Ctx::who`); from anyone else a marked request is refused
//! ([`ScscfConfig::admit`], `RefuseRequest`), and an unmarked one loses any asserted identity
//! it carries ([`strip_untrusted`], `StripUntrusted`) before it is routed as terminating.

pub mod digest;
pub mod nonces;
pub mod register;

use std::sync::{Arc, Mutex, MutexGuard};

use kit::Error;
use kit::http::Client;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::clock::Rng;
use proto::sip::proxy::prepare_forward;
use proto::sip::{Method, Request, Timers};
use proto::sipmsg;
use proto::trace::{Act, Note, Reason};

use crate::layer;
use digest::Issued;
use nonces::Nonces;
use register::Registrar;

/// S-CSCF settings.
#[derive(Debug, Clone)]
pub struct ScscfConfig {
    /// The operator's home domain (`ims.mnc001.mcc001.3gppnetwork.org`).
    pub domain: String,
    /// The IMS AS its initial filter criteria send calls to.
    pub as_host: String,
    /// The IBCF that leads out of the network (NNI), for other domains.
    pub ibcf_host: String,
    /// The HSS that holds its subscribers' Digest credentials (HTTPS, mutual TLS).
    pub hss_host: String,
    /// The nodes of its trust domain (world ids: its P-CSCF, IMS AS and IBCF): only their
    /// requests may carry an `orig`, `orig-as` or `term-as` marker.
    pub trusted: Vec<String>,
    /// SIP timers (RFC 3261 §17).
    pub timers: Timers,
    /// Served worlds only (choice `serve-digest-md5`): a REGISTER that names no private
    /// identity (no Authorization, so not an IMS UE: TS 24.229 §5.1.1.2.1) is challenged with
    /// legacy MD5 Digest instead of SHA-256. Off in every scenario world.
    pub digest_md5: bool,
}

/// A request refused because a routing marker came from outside the trust domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The marker it carried (`orig`, `orig-as`, `term-as`).
    pub marker: String,
    /// Who sent it, if the world's address book knows.
    pub from: Option<String>,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = self.from.as_deref().unwrap_or("an unknown source");
        write!(
            f,
            "a request marked `{}` from {from}, outside the trust domain: not treated as {}",
            self.marker,
            match self.marker.as_str() {
                "orig" => "originating",
                _ => "returning from the IMS AS",
            }
        )
    }
}

/// The S-CSCF's state and what it talks to.
#[derive(Debug)]
struct Scscf {
    ctx: Ctx,
    config: ScscfConfig,
    registrar: Mutex<Registrar>,
    nonces: Mutex<Nonces<Issued>>,
    /// The nonces' random stream (its own, so nonces do not shift the endpoint's draws).
    rng: Mutex<Rng>,
    /// HTTPS to the HSS, presenting this node's certificate.
    hss: Client,
}

/// A poisoned lock still holds usable state: every update is one insert or remove.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scscf {
    fn registrar(&self) -> MutexGuard<'_, Registrar> {
        lock(&self.registrar)
    }

    fn nonces(&self) -> MutexGuard<'_, Nonces<Issued>> {
        lock(&self.nonces)
    }

    fn rng(&self) -> MutexGuard<'_, Rng> {
        lock(&self.rng)
    }
}

fn aor_key(uri: &str) -> String {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let user = rest.split('@').next().unwrap_or(rest);
    user.split(';').next().unwrap_or(user).to_owned()
}

/// Where a request goes next, and why (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// To the IMS AS, with this S-CSCF (and the marker) behind it.
    ToAs {
        /// Where the call was: `orig-as` (originating services) or `term-as` (terminating).
        marker: &'static str,
    },
    /// Out of the network through the IBCF.
    ToIbcf,
    /// To the registered contact, through its Path.
    ToContact {
        /// The registered contact URI.
        contact: String,
        /// The Path it registered through.
        path: Vec<String>,
    },
    /// Along the remaining route set / Request-URI (in-dialog requests).
    Onward,
    /// The callee is not registered.
    NotRegistered,
}

fn route_marker(request: &Request, me: &str) -> Option<Option<String>> {
    let top = sipmsg::route_uris(&request.headers).into_iter().next()?;
    if sipmsg::uri_host(&top) != me {
        return None;
    }
    let marker = ["orig", "orig-as", "term-as"]
        .into_iter()
        .find(|m| sipmsg::uri_has_param(&top, m))
        .map(str::to_owned);
    Some(marker)
}

impl ScscfConfig {
    /// The routing decision for an initial INVITE (pure).
    fn next(
        &self,
        request: &Request,
        me: &str,
        lookup: impl Fn(&str) -> Option<(String, Vec<String>)>,
    ) -> Next {
        let marker = route_marker(request, me).flatten();
        let target = request.uri.to_string();
        let ours = sipmsg::uri_host(&target).eq_ignore_ascii_case(&self.domain);
        match marker.as_deref() {
            Some("orig") => Next::ToAs { marker: "orig-as" },
            Some("orig-as") if !ours => Next::ToIbcf,
            Some("orig-as") | None if ours && sipmsg::route_uris(&request.headers).len() <= 1 => {
                Next::ToAs { marker: "term-as" }
            }
            Some("term-as") => match lookup(&aor_key(&target)) {
                Some((contact, path)) => Next::ToContact { contact, path },
                None => Next::NotRegistered,
            },
            _ => Next::Onward,
        }
    }
}

impl ScscfConfig {
    /// Whether a request carrying `marker` on its top Route (for this S-CSCF) may be served,
    /// coming from node `from` (the world's address book): a marker counts only from the trust
    /// domain (TS 24.229 §5.4.3.2, RFC 3325 §2.3); a request without one is not this check's
    /// concern. Pure.
    pub fn admit(&self, marker: Option<&str>, from: Option<&str>) -> Result<(), Untrusted> {
        match marker {
            Some(m) if !self.trusts(from) => Err(Untrusted {
                marker: m.to_owned(),
                from: from.map(str::to_owned),
            }),
            _ => Ok(()),
        }
    }

    /// Whether node `from` is of the trust domain. Pure.
    pub fn trusts(&self, from: Option<&str>) -> bool {
        from.is_some_and(|f| self.trusted.iter().any(|t| t == f))
    }
}

/// Removes from a request that came from outside the trust domain the identity headers only
/// the trust domain may write (RFC 3325 §5: P-Asserted-Identity; P-Served-User); returns their
/// names. Pure.
pub fn strip_untrusted(fwd: &mut Request) -> Vec<&'static str> {
    ["P-Asserted-Identity", "P-Served-User"]
        .into_iter()
        .filter(|name| sipmsg::remove(&mut fwd.headers, name) > 0)
        .collect()
}

impl ScscfConfig {
    /// Carries a routing decision out on the request to forward (Route set, Request-URI) and
    /// returns the routing note it is worth, if any; or the status and reason phrase to refuse
    /// the request with (pure). `me` is this S-CSCF's host.
    pub fn route(
        &self,
        next: &Next,
        me: &str,
        fwd: &mut Request,
    ) -> Result<Option<String>, (u16, &'static str)> {
        let remaining = sipmsg::route_uris(&fwd.headers);
        Ok(match next {
            Next::ToAs { marker } => {
                let mut routes = vec![
                    format!("sip:{};lr", self.as_host),
                    format!("sip:{me};lr;{marker}"),
                ];
                routes.extend(remaining);
                sipmsg::set_routes(&mut fwd.headers, &routes);
                let phase = if *marker == "orig-as" {
                    "originating"
                } else {
                    "terminating"
                };
                Some(format!(
                    "initial filter criteria: {phase} services at the IMS AS ({})",
                    self.as_host
                ))
            }
            Next::ToIbcf => {
                sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{};lr", self.ibcf_host)]);
                Some(format!(
                    "callee's domain {} is another network: route to the IBCF",
                    sipmsg::uri_host(&fwd.uri.to_string())
                ))
            }
            Next::ToContact { contact, path } => {
                let Ok(uri) = contact.parse() else {
                    return Err((500, "Server Internal Error (stored contact unusable)"));
                };
                fwd.uri = uri;
                sipmsg::set_routes(&mut fwd.headers, path);
                None
            }
            Next::NotRegistered => {
                return Err((480, "Temporarily Unavailable (callee not registered)"));
            }
            Next::Onward => None,
        })
    }
}

/// Refuses a request whose routing marker came from outside the trust domain (403).
async fn refuse_untrusted(s: &Scscf, incoming: &mut Incoming, untrusted: &Untrusted) {
    s.ctx.note(
        Some(incoming.trace_id()),
        Note::refused(
            Act::RefuseRequest,
            Reason::NotAuthorised,
            format!("refuse {untrusted}"),
        ),
    );
    sipnode::refuse(incoming, 403, "Forbidden (not from the trust domain)").await;
}

async fn handle(ep: Endpoint, mut incoming: Incoming, s: Arc<Scscf>) {
    let request = incoming.request().clone();
    if request.method == Method::Register {
        s.register(&ep, &mut incoming).await;
        return;
    }
    if !sipnode::forwardable(&mut incoming).await {
        return;
    }
    let marker = route_marker(&request, ep.host()).flatten();
    let from = s.ctx.who(layer(incoming.transport()), incoming.source());
    if let Err(untrusted) = s.config.admit(marker.as_deref(), from.as_deref()) {
        refuse_untrusted(&s, &mut incoming, &untrusted).await;
        return;
    }
    let initial = request.method == Method::Invite && !incoming.is_ack();
    let next = if initial {
        let lookup = |key: &str| s.registrar().lookup(key);
        s.config.next(&request, ep.host(), lookup)
    } else {
        Next::Onward
    };
    let branch = ep.next_branch();
    // Record-route on the first visit only: a call returning from the AS passes again, and one
    // entry keeps the S-CSCF in the dialog.
    let record = initial && matches!(next, Next::ToAs { .. });
    let mut fwd = match prepare_forward(
        &request,
        ep.host(),
        ep.local_addr(),
        incoming.transport(),
        &branch,
        record,
    ) {
        Ok(f) => f,
        Err(answer) => {
            let _ = incoming.respond(answer).await;
            return;
        }
    };
    if !s.config.trusts(from.as_deref()) {
        let removed = strip_untrusted(&mut fwd);
        if !removed.is_empty() {
            let from = from.as_deref().unwrap_or("an unknown source");
            let label = format!(
                "remove what only the trust domain may write from a request of {from} (RFC 3325): {}",
                removed.join(", ")
            );
            let note = Note::done(Act::StripUntrusted, label);
            s.ctx.note(Some(incoming.trace_id()), note);
        }
    }
    match s.config.route(&next, ep.host(), &mut fwd) {
        Ok(note) => {
            if let Some(label) = note {
                s.ctx
                    .note(Some(incoming.trace_id()), Note::done(Act::Route, label));
            }
            sipnode::forward(&ep, &mut incoming, fwd).await;
        }
        Err((code, reason)) => sipnode::refuse(&mut incoming, code, reason).await,
    }
}

/// Starts the S-CSCF.
pub async fn start(ctx: &Ctx, config: ScscfConfig) -> Result<SipNode, Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let s = Arc::new(Scscf {
        hss: ctx.https_client(true)?,
        rng: Mutex::new(Rng::for_node(ctx.seed, &format!("{}/nonce", ctx.id))),
        ctx: ctx.clone(),
        config,
        registrar: Mutex::new(Registrar::default()),
        nonces: Mutex::new(Nonces::default()),
    });
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, s.clone())
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> ScscfConfig {
        ScscfConfig {
            domain: "ims.b".into(),
            as_host: "as.ims.b".into(),
            ibcf_host: "ibcf.ims.b".into(),
            hss_host: "hss.ims.b".into(),
            trusted: vec!["pcscf-b".into(), "as-b".into(), "ibcf-b".into()],
            timers: Timers::default(),
            digest_md5: false,
        }
    }

    fn invite(uri: &str, routes: &[&str]) -> Request {
        let mut text = format!("INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP x:1;branch=z9hG4bK1\r\n");
        for r in routes {
            text.push_str(&format!("Route: <{r}>\r\n"));
        }
        text.push_str("From: <sip:a@ims.a>;tag=1\r\nTo: <sip:b@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
        Request::try_from(text.as_str()).unwrap()
    }

    #[test]
    fn isc_routing_decisions() {
        let c = config();
        let none = |_: &str| None;
        let me = "scscf.ims.b";
        assert_eq!(
            c.next(
                &invite("sip:+1@ims.c", &["sip:scscf.ims.b;lr;orig"]),
                me,
                none
            ),
            Next::ToAs { marker: "orig-as" }
        );
        assert_eq!(
            c.next(
                &invite("sip:+1@ims.c", &["sip:scscf.ims.b;lr;orig-as"]),
                me,
                none
            ),
            Next::ToIbcf
        );
        assert_eq!(
            c.next(&invite("sip:+1@ims.b", &["sip:scscf.ims.b;lr"]), me, none),
            Next::ToAs { marker: "term-as" }
        );
        assert_eq!(
            c.next(
                &invite("sip:+1@ims.b", &["sip:scscf.ims.b;lr;term-as"]),
                me,
                none
            ),
            Next::NotRegistered
        );
        let found = |k: &str| {
            (k == "+1").then(|| {
                (
                    "sip:+1@127.0.0.1:5".to_owned(),
                    vec!["sip:pcscf;lr".to_owned()],
                )
            })
        };
        assert_eq!(
            c.next(
                &invite("sip:+1@ims.b;user=phone", &["sip:scscf.ims.b;lr;term-as"]),
                me,
                found
            ),
            Next::ToContact {
                contact: "sip:+1@127.0.0.1:5".into(),
                path: vec!["sip:pcscf;lr".into()]
            }
        );
    }

    #[test]
    fn routing_notes_and_refusals() {
        let c = config();
        let me = "scscf.ims.b";
        let mut fwd = invite("sip:+1@ims.b", &["sip:pcscf.ims.b;lr"]);
        let note = c
            .route(&Next::ToAs { marker: "term-as" }, me, &mut fwd)
            .unwrap();
        assert_eq!(
            note.as_deref(),
            Some("initial filter criteria: terminating services at the IMS AS (as.ims.b)")
        );
        assert_eq!(
            sipmsg::route_uris(&fwd.headers),
            [
                "sip:as.ims.b;lr",
                "sip:scscf.ims.b;lr;term-as",
                "sip:pcscf.ims.b;lr"
            ]
        );
        let mut fwd = invite("sip:+1@ims.c", &[]);
        let note = c.route(&Next::ToIbcf, me, &mut fwd).unwrap();
        assert_eq!(
            note.as_deref(),
            Some("callee's domain ims.c is another network: route to the IBCF")
        );
        assert_eq!(sipmsg::route_uris(&fwd.headers), ["sip:ibcf.ims.b;lr"]);
        let contact = Next::ToContact {
            contact: "sip:+1@127.0.0.1:5".into(),
            path: vec!["sip:pcscf;lr".into()],
        };
        let mut fwd = invite("sip:+1@ims.b", &[]);
        assert_eq!(c.route(&contact, me, &mut fwd), Ok(None));
        assert_eq!(fwd.uri.to_string(), "sip:+1@127.0.0.1:5");
        assert_eq!(c.route(&Next::Onward, me, &mut fwd), Ok(None));
        assert_eq!(
            c.route(&Next::NotRegistered, me, &mut fwd).unwrap_err().0,
            480
        );
    }

    #[test]
    fn markers_count_only_from_the_trust_domain() {
        let c = config();
        assert_eq!(c.admit(None, None), Ok(()));
        assert_eq!(c.admit(None, Some("ue-m")), Ok(()));
        for from in ["pcscf-b", "as-b", "ibcf-b"] {
            assert_eq!(c.admit(Some("orig"), Some(from)), Ok(()));
            assert_eq!(c.admit(Some("term-as"), Some(from)), Ok(()));
        }
        let refused = c.admit(Some("orig"), Some("ue-m")).unwrap_err();
        assert_eq!(
            refused,
            Untrusted {
                marker: "orig".into(),
                from: Some("ue-m".into())
            }
        );
        assert_eq!(
            refused.to_string(),
            "a request marked `orig` from ue-m, outside the trust domain: not treated as originating"
        );
        assert!(c.admit(Some("orig-as"), None).is_err());
        assert!(
            c.admit(Some("orig"), Some("pcscf-a")).is_err(),
            "another operator's"
        );
        assert!(c.trusts(Some("ibcf-b")));
        assert!(!c.trusts(Some("ue-m")) && !c.trusts(None));
    }

    #[test]
    fn identities_from_outside_the_trust_domain_removed() {
        let mut r = invite("sip:+1@ims.b", &[]);
        assert!(strip_untrusted(&mut r).is_empty());
        sipmsg::push(&mut r.headers, "P-Asserted-Identity", "<sip:+2@ims.b>");
        assert_eq!(strip_untrusted(&mut r), ["P-Asserted-Identity"]);
        assert!(sipmsg::first(&r.headers, "P-Asserted-Identity").is_none());
    }
}
