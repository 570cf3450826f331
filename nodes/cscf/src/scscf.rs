//! The S-CSCF (TS 24.229 §5.4): registrar for its domain, and the router that hands calls to
//! the IMS AS over ISC and takes them back. The route it puts behind the AS carries a marker
//! saying where the call was (`orig` → originating services, `orig-as` → back from the
//! originating AS, `term-as` → back from the terminating AS), the way an S-CSCF recognises a
//! request returning from an AS (TS 24.229 §5.4.3.3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::{prepare_forward, response_to};
use proto::sip::{Method, Request, Timers};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note};

/// S-CSCF settings.
#[derive(Debug, Clone)]
pub struct ScscfConfig {
    /// The operator's home domain (`ims.mnc001.mcc001.3gppnetwork.org`).
    pub domain: String,
    /// The IMS AS its initial filter criteria send calls to.
    pub as_host: String,
    /// The IBCF that leads out of the network (NNI), for other domains.
    pub ibcf_host: String,
    /// SIP timers (RFC 3261 §17).
    pub timers: Timers,
}

#[derive(Debug, Clone)]
struct Binding {
    contact: String,
    path: Vec<String>,
}

/// Registered bindings, by the user part of the address of record.
#[derive(Debug, Default)]
struct Registrar(HashMap<String, Binding>);

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

async fn register(ep: &Endpoint, incoming: &mut Incoming, registrar: &Mutex<Registrar>) {
    let request = incoming.request().clone();
    let aor = sipmsg::first(&request.headers, "To")
        .and_then(NameAddr::parse)
        .map(|n| n.uri);
    let contact = sipmsg::first(&request.headers, "Contact").and_then(|c| {
        sipmsg::split_list(c)
            .first()
            .and_then(|v| NameAddr::parse(v))
    });
    let (Some(aor), Some(contact)) = (aor, contact) else {
        sipnode::refuse(incoming, 400, "Bad Request (REGISTER needs To and Contact)").await;
        return;
    };
    let path: Vec<String> = sipmsg::values(&request.headers, "Path")
        .into_iter()
        .flat_map(sipmsg::split_list)
        .filter_map(NameAddr::parse)
        .map(|n| n.uri)
        .collect();
    registrar
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .0
        .insert(
            aor_key(&aor),
            Binding {
                contact: contact.uri.clone(),
                path: path.clone(),
            },
        );
    let mut ok = response_to(&request, 200, "OK", Some(&ep.next_tag()));
    sipmsg::push(
        &mut ok.headers,
        "Contact",
        format!("<{}>;expires=600", contact.uri),
    );
    for p in &path {
        sipmsg::push(&mut ok.headers, "Path", format!("<{p}>"));
    }
    sipmsg::push(
        &mut ok.headers,
        "Service-Route",
        format!("<sip:{};lr;orig>", ep.host()),
    );
    sipmsg::push(&mut ok.headers, "P-Associated-URI", format!("<{aor}>"));
    let _ = incoming.respond(ok).await;
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

async fn handle(
    ep: Endpoint,
    mut incoming: Incoming,
    ctx: Ctx,
    config: Arc<ScscfConfig>,
    registrar: Arc<Mutex<Registrar>>,
) {
    let request = incoming.request().clone();
    if request.method == Method::Register {
        register(&ep, &mut incoming, &registrar).await;
        return;
    }
    let initial = request.method == Method::Invite && !incoming.is_ack();
    let next = if initial {
        let lookup = |key: &str| {
            registrar
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .0
                .get(key)
                .map(|b| (b.contact.clone(), b.path.clone()))
        };
        config.next(&request, ep.host(), lookup)
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
    match config.route(&next, ep.host(), &mut fwd) {
        Ok(note) => {
            if let Some(label) = note {
                ctx.note(Some(incoming.trace_id()), Note::done(Act::Route, label));
            }
            sipnode::forward(&ep, &mut incoming, fwd).await;
        }
        Err((code, reason)) => sipnode::refuse(&mut incoming, code, reason).await,
    }
}

/// Starts the S-CSCF.
pub async fn start(ctx: &Ctx, config: ScscfConfig) -> Result<SipNode, Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let (ctx, config, registrar) = (
        ctx.clone(),
        Arc::new(config),
        Arc::new(Mutex::new(Registrar::default())),
    );
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, ctx.clone(), config.clone(), registrar.clone())
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
            timers: Timers::default(),
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
}
