//! The ISC proxy core: every request the S-CSCF routes through the AS is forwarded statefully
//! (RFC 3261 §16); an initial INVITE first gets key issue #1's identity work ([`originating`]
//! or [`terminating`], through the configured [`Flow`](crate::Flow)), and with an MF the data
//! channel sections are anchored there ([`crate::anchor`]). Nothing here knows which solution
//! runs.

mod originating;
mod terminating;

use std::sync::Arc;

use kit::http::Client;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::{prepare_forward, response_to};
use proto::sip::{Method, Request};
use proto::sipmsg;

use crate::io::Io;
use crate::{AsConfig, Role, anchor, orig};

/// One AS: its settings, its HTTPS clients and what it anchored.
#[derive(Debug)]
struct Node {
    ctx: Ctx,
    config: AsConfig,
    /// Mutual-TLS client: HSS, 3P ID server, repositories, NEF, MF, STI-AS/VS.
    mtls: Client,
    /// Data channel sections anchored at the MF.
    anchored: anchor::Anchored,
}

impl Node {
    /// What a flow may use while the AS handles the INVITE with trace id `msg`.
    fn io<'a>(&'a self, msg: u64, hss: Option<&'a str>) -> Io<'a> {
        let nef = self.config.nef_host.as_deref();
        Io::new(&self.ctx, &self.mtls, hss, nef, msg)
    }
}

/// Starts the AS: binds its SIP endpoint and serves every request with [`handle`].
pub(crate) async fn start(ctx: &Ctx, config: AsConfig) -> Result<SipNode, kit::Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let node = Arc::new(Node {
        ctx: ctx.clone(),
        mtls: ctx.https_client(true)?,
        anchored: anchor::Anchored::default(),
        config,
    });
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, node.clone())
    }))
}

/// One request: prepare the forward, do the identity work on an initial INVITE (or answer it
/// 401 with a challenge), anchor data channels, forward.
async fn handle(ep: Endpoint, mut incoming: Incoming, node: Arc<Node>) {
    let request = incoming.request().clone();
    let branch = ep.next_branch();
    let mut fwd = match prepare_forward(
        &request,
        ep.host(),
        ep.local_addr(),
        incoming.transport(),
        &branch,
        node.config.mf_host.is_some(),
    ) {
        Ok(f) => f,
        Err(answer) => {
            let _ = incoming.respond(answer).await;
            return;
        }
    };
    let invite = request.method == Method::Invite && !incoming.is_ack();
    // A re-INVITE (To tag set) is in the dialog: the call's identity work is done.
    let initial = sipmsg::first(&request.headers, "To").is_none_or(|to| !to.contains(";tag="));
    if invite && initial {
        let msg = incoming.trace_id();
        if let Some(challenge) = identity(&node, &mut fwd, msg).await {
            // §6.4.2.2: the authorization server authenticates the UE; the challenge travels
            // to the UE as a SIP 401 (choice `6.4-authenticate`).
            let mut answer = response_to(&request, 401, "Unauthorized", Some(&ep.next_tag()));
            sipmsg::push(&mut answer.headers, "WWW-Authenticate", challenge);
            let _ = incoming.respond(answer).await;
            return;
        }
    }
    if let Some(mf_host) = node.config.mf_host.as_deref() {
        let Some(rest) = anchoring(&node, mf_host, &ep, &mut incoming, fwd, invite).await else {
            return;
        };
        fwd = rest;
    }
    sipnode::forward(&ep, &mut incoming, fwd).await;
}

/// Key issue #1 on an initial INVITE, per role. A challenge (a `WWW-Authenticate` value) when
/// the INVITE is to be answered 401 instead.
async fn identity(node: &Node, fwd: &mut Request, msg: u64) -> Option<String> {
    let flow = node.config.flow.as_ref();
    match &node.config.role {
        Role::Originating {
            hss_host,
            sti_as_host,
        } => {
            let io = node.io(msg, Some(hss_host));
            originating::run(&io, flow, fwd, sti_as_host, &node.config.trunks).await
        }
        Role::Terminating {
            sti_vs_host,
            hss_host,
        } => {
            let io = node.io(msg, hss_host.as_deref());
            terminating::run(&io, flow, fwd, sti_vs_host).await;
            None
        }
    }
}

/// Data channel anchoring at the MF: a BYE releases what the call anchored; an INVITE with
/// sections to anchor (originating) or to add (terminating) is forwarded here. Hands the request
/// back when it is still to be forwarded.
async fn anchoring(
    node: &Node,
    mf_host: &str,
    ep: &Endpoint,
    incoming: &mut Incoming,
    mut fwd: Request,
    invite: bool,
) -> Option<Request> {
    let msg = incoming.trace_id();
    let mf = anchor::Mf::new(&node.ctx, &node.mtls, &node.anchored, mf_host, msg);
    if fwd.method == Method::Bye {
        mf.release(&fwd).await;
        return Some(fwd);
    }
    if !invite {
        return Some(fwd);
    }
    match node.config.role {
        Role::Terminating { .. } => {
            if let Some(callee) = orig::callee_tn(&fwd)
                && let Some(new) = mf.offer(&mut fwd, &callee).await
            {
                mf.forward_offered(ep, incoming, fwd, new).await;
                return None;
            }
        }
        Role::Originating { .. } => {
            let answers = mf.take(&mut fwd).await;
            if !answers.is_empty() {
                anchor::forward(ep, incoming, fwd, &answers).await;
                return None;
            }
        }
    }
    Some(fwd)
}
