//! The ISC proxy core: every request the S-CSCF routes through the AS is forwarded statefully
//! (RFC 3261 §16); an initial INVITE first gets key issue #1's identity work ([`originating`]
//! or [`terminating`], through the configured [`Flow`](crate::Flow)), and with an MF the data
//! channel sections are anchored there ([`crate::anchor`]). Nothing here knows which solution
//! runs.

mod originating;
mod terminating;

use std::sync::Arc;

use kit::http::BoxFuture;
use kit::http::Client;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, EditResponse};
use proto::sip::proxy::{prepare_forward, response_to};
use proto::sip::{Method, Request, Response};
use proto::sipmsg;

use crate::dialog;
use crate::flows::Side;
use crate::io::Io;
use crate::{AsConfig, Role, anchor, orig};
use proto::wire::avatar::SignedAvatarId;

/// One AS: its settings, its HTTPS clients and what it anchored.
#[derive(Debug)]
struct Node {
    ctx: Ctx,
    config: AsConfig,
    /// Mutual-TLS client: HSS, 3P ID server, repositories, NEF, MF, STI-AS/VS.
    mtls: Client,
    /// Data channel sections anchored at the MF.
    anchored: anchor::Anchored,
    /// The dialogs of the calls on its path (requests of its own in them, renumbering).
    book: dialog::Book,
    /// Its SIP endpoint (for requests of its own, from its HTTPS side too).
    ep: Endpoint,
}

impl Node {
    /// What a flow may use while the AS handles the INVITE with trace id `msg`.
    fn io<'a>(&'a self, msg: u64, hss: Option<&'a str>) -> Io<'a> {
        let nef = self.config.nef_host.as_deref();
        Io::new(&self.ctx, &self.mtls, hss, nef, msg)
            .with_avatars(self.config.avatars.as_ref())
            .with_dcsf(self.config.dcsf_host.as_deref())
    }

    /// The means for the in-dialog work of a flow (re-INVITEs, ACKs): the role's HSS and STIR
    /// service, the AS's endpoint, dialogs and MF.
    fn dialog_io<'a>(&'a self, msg: u64, ep: &'a Endpoint) -> Io<'a> {
        let (hss, ms) = match &self.config.role {
            Role::Originating {
                hss_host,
                sti_as_host,
            } => (Some(hss_host.as_str()), sti_as_host.as_str()),
            Role::Terminating {
                sti_vs_host,
                hss_host,
            } => (hss_host.as_deref(), sti_vs_host.as_str()),
        };
        self.io(msg, hss)
            .with_ms(Some(ms))
            .with_xr_as(self.config.xr_as_host.as_deref())
            .with_sip(ep, &self.book, self.config.mf_host.as_deref())
    }

    /// Which side of the call the AS serves.
    fn side(&self) -> Side {
        match self.config.role {
            Role::Originating { .. } => Side::Originating,
            Role::Terminating { .. } => Side::Terminating,
        }
    }
}

/// Starts the AS: binds its SIP endpoint and serves every request with [`handle`]; when the
/// flow serves HTTPS, also an HTTPS server (mutual TLS) for it.
pub(crate) async fn start(ctx: &Ctx, config: AsConfig) -> Result<crate::Started, kit::Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
    let node = Arc::new(Node {
        ctx: ctx.clone(),
        mtls: ctx.https_client(true)?,
        anchored: anchor::Anchored::default(),
        book: dialog::Book::default(),
        ep: ep.clone(),
        config,
    });
    let https = if node.config.flow.serves_https() {
        let n = node.clone();
        let h = kit::http::handler(move |req: kit::http::Request, peer: kit::http::Peer| {
            let n = n.clone();
            async move {
                let io = n.dialog_io(peer.msg.unwrap_or_default(), &n.ep);
                n.config.flow.http(&io, &req, &peer).await
            }
        });
        Some(ctx.https_server(h, kit::node::ClientAuth::Required).await?)
    } else {
        None
    };
    let sip = sipnode::serve(ep, move |ep, incoming| handle(ep, incoming, node.clone()));
    Ok(crate::Started { sip, https })
}

/// One request: prepare the forward, do the identity work on an initial INVITE (or answer it
/// 401 with a challenge), let the flow see a re-INVITE, renumber an in-dialog request the AS
/// took numbers from, anchor data channels, forward (each answer through [`Answers`]).
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
    let msg = incoming.trace_id();
    if invite
        && initial
        && let Some(challenge) = identity(&node, &mut fwd, msg).await
    {
        // §6.4.2.2: the authorization server authenticates the UE; the challenge travels
        // to the UE as a SIP 401 (choice `6.4-authenticate`).
        let mut answer = response_to(&request, 401, "Unauthorized", Some(&ep.next_tag()));
        sipmsg::push(&mut answer.headers, "WWW-Authenticate", challenge);
        let _ = incoming.respond(answer).await;
        return;
    }
    let shift = if initial { 0 } else { node.book.pass(&mut fwd) };
    let avatar = if invite && !initial {
        let io = node.dialog_io(msg, &ep);
        node.config.flow.reinvite(&io, node.side(), &mut fwd).await
    } else {
        None
    };
    if request.method == Method::Bye {
        let call_id = sipmsg::first(&request.headers, "Call-ID").unwrap_or_default();
        // The flow hears of the call's end before the BYE goes on (a byte-stable trace).
        let io = node.dialog_io(msg, &ep);
        node.config.flow.ended(&io, call_id).await;
        node.book.forget(call_id);
    }
    let mut editor = (invite || shift > 0).then(|| Answers {
        invite: fwd.clone(),
        msg,
        node: node.clone(),
        edited: None,
        shift,
    });
    let editor_ref = editor.as_mut().map(|e| e as &mut dyn EditResponse);
    match node.config.mf_host.as_deref() {
        Some(mf_host) => {
            let kind = Kind::of(invite, initial);
            let at = Forwarding {
                ep: &ep,
                mf_host,
                kind,
                avatar: avatar.as_ref(),
            };
            anchoring(&node, at, &mut incoming, fwd, editor_ref).await;
        }
        None => {
            sipnode::forward_edited(&ep, &mut incoming, fwd, editor_ref).await;
        }
    }
}

/// The flow's hook on the answers to one INVITE ([`crate::Flow::answer`]), the dialog kept
/// from the 2xx of an initial INVITE, and a renumbered request's answers numbered back. A 2xx is
/// worked on once; its retransmissions are relayed as the first one was edited.
struct Answers {
    node: Arc<Node>,
    /// The request as forwarded.
    invite: Request,
    msg: u64,
    /// The first 2xx as edited.
    edited: Option<Response>,
    /// What was added to the request's CSeq number.
    shift: u32,
}

impl EditResponse for Answers {
    fn edit(&mut self, mut response: Response) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            if self.shift > 0 {
                dialog::shift_cseq(&mut response.headers, -i64::from(self.shift));
            }
            let ok = (200..300).contains(&response.status_code.code());
            let is_invite = self.invite.method == Method::Invite;
            if !(ok && is_invite) {
                return response;
            }
            if let Some(edited) = &self.edited {
                return edited.clone();
            }
            if let Some(d) = dialog::Dialog::of(&self.invite, &response, &self.node.ctx.host) {
                self.node.book.keep(d);
            }
            let flow = self.node.config.flow.clone();
            if flow.answers() {
                let io = self.node.io(self.msg, None);
                flow.answer(&io, self.node.side(), &self.invite, &mut response)
                    .await;
            }
            self.edited = Some(response.clone());
            response
        })
    }
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

/// Where and how a request is forwarded by an AS with an MF.
struct Forwarding<'a> {
    ep: &'a Endpoint,
    mf_host: &'a str,
    kind: Kind,
    /// The signed Avatar-id for the application channels anchored now (solution 7).
    avatar: Option<&'a SignedAvatarId>,
}

/// Data channel anchoring at the MF, then forwarding: a BYE releases what the call anchored;
/// an INVITE with sections to anchor or to add (the MF's offers to the callee) is forwarded
/// with the MF's answers put back; anything else is forwarded as it is.
async fn anchoring(
    node: &Node,
    at: Forwarding<'_>,
    incoming: &mut Incoming,
    mut fwd: Request,
    editor: Option<&mut dyn EditResponse>,
) {
    let msg = incoming.trace_id();
    let mf = anchor::Mf::new(&node.ctx, &node.mtls, &node.anchored, at.mf_host, msg);
    if fwd.method == Method::Bye {
        mf.release(&fwd).await;
    }
    if at.kind == Kind::Other {
        sipnode::forward_edited(at.ep, incoming, fwd, editor).await;
        return;
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
            let answers = mf.take(&mut fwd, at.avatar).await;
            let offered = if node.config.avatar_media {
                mf.offer_avatar_media(&mut fwd, at.kind == Kind::Initial)
                    .await
            } else {
                None
            };
            (answers, offered)
        }
    };
    if answers.is_empty() && offered.is_none() {
        sipnode::forward_edited(at.ep, incoming, fwd, editor).await;
        return;
    }
    mf.forward(at.ep, incoming, fwd, &answers, offered, editor)
        .await;
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
