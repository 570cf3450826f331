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
        let kind = Kind::of(invite, initial);
        let Some(rest) = anchoring(&node, mf_host, &ep, &mut incoming, fwd, kind).await else {
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

/// What kind of request the AS forwards, for anchoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An initial INVITE (out of any dialog).
    Initial,
    /// A re-INVITE in a dialog.
    Reinvite,
    /// Anything else (a BYE, an ACK, …).
    Other,
}

impl Kind {
    /// From whether the request is an INVITE (not an ACK) and whether it is out of any dialog.
    fn of(invite: bool, initial: bool) -> Self {
        match (invite, initial) {
            (true, true) => Kind::Initial,
            (true, false) => Kind::Reinvite,
            (false, _) => Kind::Other,
        }
    }
}

/// Data channel anchoring at the MF: a BYE releases what the call anchored; an INVITE with
/// sections to anchor or to add (the MF's offers to the callee) is forwarded here. Hands the
/// request back when it is still to be forwarded.
async fn anchoring(
    node: &Node,
    mf_host: &str,
    ep: &Endpoint,
    incoming: &mut Incoming,
    mut fwd: Request,
    kind: Kind,
) -> Option<Request> {
    let msg = incoming.trace_id();
    let mf = anchor::Mf::new(&node.ctx, &node.mtls, &node.anchored, mf_host, msg);
    if fwd.method == Method::Bye {
        mf.release(&fwd).await;
        return Some(fwd);
    }
    if kind == Kind::Other {
        return Some(fwd);
    }
    let (answers, offered) = match node.config.role {
        Role::Terminating { .. } => {
            let offered = match orig::callee_tn(&fwd) {
                Some(callee) => mf.offer_bootstrap(&mut fwd, &callee).await,
                None => None,
            };
            (Vec::new(), offered)
        }
        Role::Originating { .. } => {
            let answers = mf.take(&mut fwd).await;
            let offered = if node.config.avatar_media {
                mf.offer_avatar_media(&mut fwd, kind == Kind::Initial).await
            } else {
                None
            };
            (answers, offered)
        }
    };
    if answers.is_empty() && offered.is_none() {
        return Some(fwd);
    }
    mf.forward(ep, incoming, fwd, &answers, offered).await;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_by_kind() {
        assert_eq!(Kind::of(true, true), Kind::Initial);
        assert_eq!(Kind::of(true, false), Kind::Reinvite);
        assert_eq!(Kind::of(false, true), Kind::Other);
        assert_eq!(Kind::of(false, false), Kind::Other);
    }
}
