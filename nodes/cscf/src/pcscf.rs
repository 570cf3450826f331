//! The P-CSCF: a UE's first hop (TS 24.229 §5.2) and the edge of the operator's trust domain
//! (RFC 3325). It adds itself to the registration path (Path, RFC 3327); when the S-CSCF
//! accepts a registration it binds the public identity to the flow the REGISTER came on
//! ([`trust`], `BindFlow`) and remembers the Service-Route. A request is from a registered UE
//! only if it arrives on a bound flow: the P-CSCF removes what only the trust domain may write
//! (P-Asserted-Identity, P-Served-User, a Route other than the Service-Route, routing markers:
//! `StripUntrusted`), asserts the bound identity in P-Asserted-Identity whatever the UE claims
//! in From (`AssertIdentity`), and routes it by the Service-Route into the S-CSCF's originating
//! services. Requests from its S-CSCF toward UEs are forwarded; anything else but a REGISTER
//! is refused with 403 (`RefuseRequest`).

pub mod trust;

use std::sync::{Arc, Mutex, MutexGuard};

use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::{prepare_forward, prepare_response_forward, response_to};
use proto::sip::{Method, Request, Response, Timers};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};

use crate::layer;
use trust::{Bindings, Bound, Flow, Origin};

/// P-CSCF settings.
#[derive(Debug, Clone)]
pub struct PcscfConfig {
    /// The home S-CSCF (the I-CSCF is left out: choice `world-ims-entry`).
    pub scscf_host: String,
    /// The operator's core nodes (world ids: its S-CSCF, and its IMS AS when that stays on a
    /// dialog's path): requests from them go toward UEs; anything else not on a registered flow
    /// is refused.
    pub core: Vec<String>,
    /// SIP timers (RFC 3261 §17).
    pub timers: Timers,
}

/// The P-CSCF's state and settings.
#[derive(Debug)]
struct Pcscf {
    ctx: Ctx,
    config: PcscfConfig,
    bindings: Mutex<Bindings>,
}

impl Pcscf {
    /// The bound flows; a poisoned lock still holds usable state (every update is one bind).
    fn bindings(&self) -> MutexGuard<'_, Bindings> {
        self.bindings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The route of a registered UE's initial requests: its Service-Route, else the S-CSCF's
    /// originating services.
    fn service_route(&self, bound: &Bound) -> Vec<String> {
        if bound.service_route.is_empty() {
            vec![format!("sip:{};lr;orig", self.config.scscf_host)]
        } else {
            bound.service_route.clone()
        }
    }
}

/// The flow `incoming` arrived on.
fn flow_of(incoming: &Incoming) -> Flow {
    Flow {
        layer: layer(incoming.transport()),
        addr: incoming.source(),
    }
}

/// Asserts the registered identity `impu` on a request from its UE (RFC 3325 §9.1): a
/// P-Asserted-Identity with the display name the UE gave in From, and no P-Preferred-Identity.
/// Returns the trace label. Pure.
pub fn assert_identity(request: &Request, fwd: &mut Request, impu: &str) -> String {
    let claimed = sipmsg::first(&request.headers, "From").and_then(NameAddr::parse);
    let display = claimed.as_ref().and_then(|c| c.display.clone());
    let pai = NameAddr {
        display,
        uri: format!("{impu};user=phone"),
        params: String::new(),
    };
    sipmsg::remove(&mut fwd.headers, "P-Preferred-Identity");
    sipmsg::set(&mut fwd.headers, "P-Asserted-Identity", pai.render());
    format!("assert the registered identity {impu} (P-Asserted-Identity)")
}

/// The Service-Route URIs of a 200 to REGISTER (RFC 3608), top first.
fn service_route(ok: &Response) -> Vec<String> {
    sipmsg::values(&ok.headers, "Service-Route")
        .into_iter()
        .flat_map(sipmsg::split_list)
        .filter_map(NameAddr::parse)
        .map(|n| n.uri)
        .collect()
}

/// Forwards a REGISTER statefully and relays its responses; returns the final one (a `503`
/// answered here when the S-CSCF cannot be reached is not returned).
async fn forward_register(
    ep: &Endpoint,
    incoming: &mut Incoming,
    fwd: Request,
) -> Option<Response> {
    let mut tx = match ep.send_request(fwd).await {
        Ok(tx) => tx,
        Err(e) => {
            let reason = format!("Service Unavailable ({e})");
            let _ = incoming
                .respond(response_to(incoming.request(), 503, &reason, None))
                .await;
            return None;
        }
    };
    while let Some(response) = tx.next_response().await {
        let code = response.status_code.code();
        if code == 100 {
            continue;
        }
        if let Some(up) = prepare_response_forward(&response) {
            let _ = incoming.relay(up).await;
        }
        if code >= 200 {
            return Some(response);
        }
    }
    None
}

impl Pcscf {
    /// A REGISTER: onward to the S-CSCF with this P-CSCF in its Path; on 200, the public
    /// identity is bound to the flow the REGISTER came on, with the Service-Route.
    async fn register(&self, ep: &Endpoint, incoming: &mut Incoming, mut fwd: Request) {
        let request = incoming.request().clone();
        let flow = flow_of(incoming);
        sipmsg::push(&mut fwd.headers, "Path", format!("<sip:{};lr>", ep.host()));
        if sipmsg::route_uris(&fwd.headers).is_empty() {
            let scscf = format!("sip:{};lr", self.config.scscf_host);
            sipmsg::set_routes(&mut fwd.headers, &[scscf]);
        }
        let impu = sipmsg::first(&request.headers, "To")
            .and_then(NameAddr::parse)
            .map(|n| n.uri);
        let ok = forward_register(ep, incoming, fwd)
            .await
            .filter(|r| r.status_code.code() == 200);
        let (Some(ok), Some(impu)) = (ok, impu) else {
            return;
        };
        let owner = self.ctx.who(flow.layer, flow.addr);
        let label = format!(
            "bind {impu} to the flow it registered on ({flow}): the testbed's stand-in for the TS 33.203 security associations"
        );
        let bound = Bound {
            impu,
            service_route: service_route(&ok),
            owner,
        };
        self.bindings().bind(flow, bound);
        self.ctx
            .note(Some(incoming.trace_id()), Note::done(Act::BindFlow, label));
    }

    /// A request from a registered UE on its flow: what only the trust domain may write
    /// removed; an initial request asserted as the bound identity and routed by the
    /// Service-Route; onward.
    async fn ue_request(
        &self,
        ep: &Endpoint,
        incoming: &mut Incoming,
        bound: &Bound,
        mut fwd: Request,
    ) {
        let msg = Some(incoming.trace_id());
        let initial = !sipmsg::first(&fwd.headers, "To").is_some_and(|t| t.contains(";tag="));
        let initial = initial && !incoming.is_ack();
        let removed = trust::strip_untrusted(&mut fwd, initial, &self.service_route(bound));
        if !removed.is_empty() {
            let label = format!(
                "remove what only the trust domain may write (RFC 3325): {}",
                removed.join("; ")
            );
            self.ctx.note(msg, Note::done(Act::StripUntrusted, label));
        }
        if initial {
            let label = assert_identity(incoming.request(), &mut fwd, &bound.impu);
            self.ctx.note(msg, Note::done(Act::AssertIdentity, label));
        }
        sipnode::forward(ep, incoming, fwd).await;
    }

    /// A request from neither a registered flow nor the S-CSCF: 403.
    async fn refuse(&self, incoming: &mut Incoming) {
        let flow = flow_of(incoming);
        let who = self
            .ctx
            .who(flow.layer, flow.addr)
            .map_or_else(String::new, |n| format!(" ({n})"));
        let label = format!(
            "refuse {} from {flow}{who}: not a registered flow, nor the S-CSCF",
            incoming.method()
        );
        self.ctx.note(
            Some(incoming.trace_id()),
            Note::refused(Act::RefuseRequest, Reason::NotAuthorised, label),
        );
        sipnode::refuse(incoming, 403, "Forbidden (not registered on this flow)").await;
    }
}

async fn handle(ep: Endpoint, mut incoming: Incoming, p: Arc<Pcscf>) {
    if !sipnode::forwardable(&mut incoming).await {
        return;
    }
    let request = incoming.request().clone();
    let flow = flow_of(&incoming);
    let from = p.ctx.who(flow.layer, flow.addr);
    let origin = {
        let bindings = p.bindings();
        let bound = bindings.lookup(flow, from.as_deref());
        trust::origin(request.method, bound, from.as_deref(), &p.config.core)
    };
    if origin == Origin::Unknown {
        p.refuse(&mut incoming).await;
        return;
    }
    let branch = ep.next_branch();
    let fwd = match prepare_forward(
        &request,
        ep.host(),
        ep.local_addr(),
        incoming.transport(),
        &branch,
        request.method == Method::Invite,
    ) {
        Ok(f) => f,
        Err(answer) => {
            let _ = incoming.respond(answer).await;
            return;
        }
    };
    match origin {
        Origin::Register => p.register(&ep, &mut incoming, fwd).await,
        Origin::Ue(bound) => p.ue_request(&ep, &mut incoming, &bound, fwd).await,
        Origin::Core | Origin::Unknown => {
            sipnode::forward(&ep, &mut incoming, fwd).await;
        }
    }
}

/// Starts the P-CSCF.
pub async fn start(ctx: &Ctx, config: PcscfConfig) -> Result<SipNode, Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let p = Arc::new(Pcscf {
        ctx: ctx.clone(),
        config,
        bindings: Mutex::new(Bindings::default()),
    });
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, p.clone())
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn asserts_the_registered_identity_whatever_from_claims() {
        let text = "INVITE sip:+2@ims.b SIP/2.0\r\nVia: SIP/2.0/UDP ue:1;branch=z9hG4bK1\r\nFrom: \"Q Branch\" <sip:+12025559999@ims.a>;tag=1\r\nTo: <sip:+2@ims.b>\r\nP-Preferred-Identity: <sip:+12025559999@ims.a>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let request = Request::try_from(text).unwrap();
        let mut fwd = request.clone();
        let label = assert_identity(&request, &mut fwd, "sip:+12025551000@ims.a");
        assert_eq!(
            label,
            "assert the registered identity sip:+12025551000@ims.a (P-Asserted-Identity)"
        );
        assert!(sipmsg::first(&fwd.headers, "P-Preferred-Identity").is_none());
        let pai = sipmsg::first(&fwd.headers, "P-Asserted-Identity").unwrap();
        let pai = NameAddr::parse(pai).unwrap();
        assert_eq!(pai.uri, "sip:+12025551000@ims.a;user=phone");
        assert_eq!(pai.display.as_deref(), Some("Q Branch"));
    }
}
