//! The P-CSCF: a UE's first hop (TS 24.229 §5.2). It adds itself to the registration path
//! (Path, RFC 3327), remembers which public identity each registered contact has, and on
//! requests from that UE asserts it in P-Asserted-Identity (RFC 3325) — whatever the UE claims
//! in From. Everything else it forwards by Route or Request-URI, record-routing dialogs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::prepare_forward;
use proto::sip::{Method, Request, Timers};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note};

/// P-CSCF settings.
#[derive(Debug, Clone)]
pub struct PcscfConfig {
    /// The home S-CSCF (the I-CSCF is left out: choice `world-ims-entry`).
    pub scscf_host: String,
    /// SIP timers (RFC 3261 §17).
    pub timers: Timers,
}

#[derive(Debug, Default)]
struct State {
    /// Registered contact URI → asserted public identity.
    identities: HashMap<String, String>,
}

fn contact_uri(req: &Request) -> Option<String> {
    sipmsg::first(&req.headers, "Contact")
        .and_then(|c| {
            sipmsg::split_list(c)
                .first()
                .and_then(|v| NameAddr::parse(v))
        })
        .map(|n| n.uri)
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

/// A REGISTER: onward to the S-CSCF with this P-CSCF in its Path; on 200, the contact's
/// identity is remembered.
async fn register(
    ep: &Endpoint,
    incoming: &mut Incoming,
    config: &PcscfConfig,
    state: &Mutex<State>,
    mut fwd: Request,
) {
    let request = incoming.request().clone();
    sipmsg::push(&mut fwd.headers, "Path", format!("<sip:{};lr>", ep.host()));
    if sipmsg::route_uris(&fwd.headers).is_empty() {
        sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{};lr", config.scscf_host)]);
    }
    let impu = sipmsg::first(&request.headers, "To")
        .and_then(NameAddr::parse)
        .map(|n| n.uri);
    let code = sipnode::forward(ep, incoming, fwd).await;
    if code == Some(200)
        && let (Some(contact), Some(impu)) = (contact_uri(&request), impu)
    {
        state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .identities
            .insert(contact, impu);
    }
}

/// An originating INVITE from a registered UE: assert who it is, and route it into the
/// S-CSCF's originating services.
async fn originate(
    ep: &Endpoint,
    incoming: &mut Incoming,
    ctx: &Ctx,
    config: &PcscfConfig,
    impu: &str,
    mut fwd: Request,
) {
    let label = assert_identity(incoming.request(), &mut fwd, impu);
    ctx.note(
        Some(incoming.trace_id()),
        Note::done(Act::AssertIdentity, label),
    );
    if sipmsg::route_uris(&fwd.headers).is_empty() {
        sipmsg::set_routes(
            &mut fwd.headers,
            &[format!("sip:{};lr;orig", config.scscf_host)],
        );
    }
    sipnode::forward(ep, incoming, fwd).await;
}

async fn handle(
    ep: Endpoint,
    mut incoming: Incoming,
    ctx: Ctx,
    config: Arc<PcscfConfig>,
    state: Arc<Mutex<State>>,
) {
    let request = incoming.request().clone();
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
    let from_ue = contact_uri(&request).and_then(|c| {
        state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .identities
            .get(&c)
            .cloned()
    });
    match (&request.method, from_ue) {
        (Method::Register, _) => register(&ep, &mut incoming, &config, &state, fwd).await,
        (Method::Invite, Some(impu)) if !incoming.is_ack() => {
            originate(&ep, &mut incoming, &ctx, &config, &impu, fwd).await;
        }
        _ => {
            sipnode::forward(&ep, &mut incoming, fwd).await;
        }
    }
}

/// Starts the P-CSCF.
pub async fn start(ctx: &Ctx, config: PcscfConfig) -> Result<SipNode, Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let (ctx, config, state) = (
        ctx.clone(),
        Arc::new(config),
        Arc::new(Mutex::new(State::default())),
    );
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, ctx.clone(), config.clone(), state.clone())
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
