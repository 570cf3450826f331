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
use proto::sip::{Method, Timers};
use proto::sipmsg::{self, NameAddr};
use proto::trace::Note;

/// P-CSCF settings.
#[derive(Debug, Clone)]
pub struct PcscfConfig {
    /// The home S-CSCF (the I-CSCF is left out: choice `world-ims-entry`).
    pub scscf_host: String,
    pub timers: Timers,
}

#[derive(Debug, Default)]
struct State {
    /// Registered contact URI → asserted public identity.
    identities: HashMap<String, String>,
}

fn contact_uri(req: &proto::sip::Request) -> Option<String> {
    sipmsg::first(&req.headers, "Contact")
        .and_then(|c| {
            sipmsg::split_list(c)
                .first()
                .and_then(|v| NameAddr::parse(v))
        })
        .map(|n| n.uri)
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
    let mut fwd = match prepare_forward(
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
    match request.method {
        Method::Register => {
            sipmsg::push(&mut fwd.headers, "Path", format!("<sip:{};lr>", ep.host()));
            if sipmsg::route_uris(&fwd.headers).is_empty() {
                sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{};lr", config.scscf_host)]);
            }
            let impu = sipmsg::first(&request.headers, "To")
                .and_then(NameAddr::parse)
                .map(|n| n.uri);
            let code = sipnode::forward(&ep, &mut incoming, fwd).await;
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
        _ if !incoming.is_ack() && from_ue.is_some() && request.method == Method::Invite => {
            // An originating request from a registered UE: assert who it is.
            if let Some(impu) = &from_ue {
                let claimed = sipmsg::first(&request.headers, "From").and_then(NameAddr::parse);
                let display = claimed.as_ref().and_then(|c| c.display.clone());
                let pai = NameAddr {
                    display,
                    uri: format!("{impu};user=phone"),
                    params: String::new(),
                };
                sipmsg::remove(&mut fwd.headers, "P-Preferred-Identity");
                sipmsg::set(&mut fwd.headers, "P-Asserted-Identity", pai.render());
                ctx.note(
                    Some(incoming.trace_id()),
                    Note::Action {
                        label: format!(
                            "assert the registered identity {impu} (P-Asserted-Identity)"
                        ),
                    },
                );
            }
            if sipmsg::route_uris(&fwd.headers).is_empty() {
                sipmsg::set_routes(
                    &mut fwd.headers,
                    &[format!("sip:{};lr;orig", config.scscf_host)],
                );
            }
            sipnode::forward(&ep, &mut incoming, fwd).await;
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
