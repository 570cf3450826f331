//! A re-INVITE that changes the call's data channel sections, carried out (TR 33.790 §6.9.2.2
//! step 5; the plan is `session`'s): sections kept, closed, answered, renewed or declined, in
//! the offer's order, and the answer kept as the call's local session.

use std::sync::Arc;

use dc::Peer;
use proto::sdp::{Application, Media};
use proto::trace::{Act, Note, Reason};

use super::Callee;
use crate::session::{self, Step, Why};
use crate::{channels, lock};

impl Callee<'_> {
    /// Carries out a re-INVITE's change of the call's data channel sections (TR 33.790
    /// §6.9.2.2 step 5): each section of the plan answered in order — kept, closed
    /// ([`Act::DcClose`]), answered ([`Act::DcAnswer`]), renewed (both) or declined (refused
    /// `Declined`) — and the answer kept as the call's local session; returns it.
    pub(super) async fn change(
        &self,
        msg: Option<u64>,
        call_id: &str,
        plan: session::Plan,
    ) -> String {
        let mut media = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            let section = match step {
                Step::Keep(m) => m.clone(),
                Step::Close(declined) => {
                    self.close_section(msg, call_id, &declined.mid).await;
                    Media::Application(declined.clone())
                }
                Step::Answer { offered, app } => {
                    Media::Application(self.answer_added(msg, call_id, offered, app).await)
                }
                Step::Renew { offered } => {
                    Media::Application(self.renew(msg, call_id, offered).await)
                }
                Step::Decline { offered, why } => {
                    self.decline_added(msg, call_id, offered, *why);
                    Media::Application(Application::declined(offered))
                }
            };
            media.push(section);
        }
        let sdp = plan.answer(media).render();
        session::keep(
            &mut lock(self.state).sessions,
            call_id,
            plan.side,
            sdp.clone(),
        );
        sdp
    }

    /// Notes a new section declined ([`Act::DcAnswer`] refused `Declined`).
    fn decline_added(&self, msg: Option<u64>, call_id: &str, offered: &Application, why: Why) {
        let why = match why {
            Why::Incapable => "this agent has no data channel capability",
            Why::NotRequested => "it names no DC application (3gpp-req-app)",
        };
        self.ctx.note(
            msg,
            Note::refused(
                Act::DcAnswer,
                Reason::Declined,
                format!(
                    "decline the re-INVITE's m=application mid {} of call {call_id} (port 0): {why}",
                    offered.mid
                ),
            ),
        );
    }

    /// Closes this agent's association for the section `mid` of call `call_id`, which a
    /// re-INVITE declines ([`Act::DcClose`]; refused `Closed` when it holds none).
    async fn close_section(&self, msg: Option<u64>, call_id: &str, mid: &str) {
        let found = channels::find(&lock(self.state), call_id, mid);
        let what =
            format!("the re-INVITE declines m=application mid {mid} of call {call_id} (port 0)");
        match found {
            Some(peer) if !peer.is_closed() => {
                self.ctx.note(
                    msg,
                    Note::done(Act::DcClose, format!("{what}: close its association")),
                );
                peer.close().await;
            }
            Some(_) => self.ctx.note(
                msg,
                Note::done(
                    Act::DcClose,
                    format!("{what}: its association is closed already"),
                ),
            ),
            None => self.ctx.note(
                msg,
                Note::refused(
                    Act::DcClose,
                    Reason::Closed,
                    format!("{what}: this agent holds no association for it"),
                ),
            ),
        }
    }

    /// The answer to an application data channel section the network adds by re-INVITE
    /// (TR 33.790 §6.9.2.2 step 5): answered ([`Act::DcAnswer`]; the peer kept for the call),
    /// else declined with port 0 (refused with the engine's reason).
    async fn answer_added(
        &self,
        msg: Option<u64>,
        call_id: &str,
        offered: &Application,
        app: &str,
    ) -> Application {
        let what = format!(
            "the network's application data channel for {app} (m=application mid {}) in call {call_id}",
            offered.mid
        );
        let Some(dc) = self.config.dc.as_ref() else {
            self.ctx.note(
                msg,
                Note::refused(Act::DcAnswer, Reason::Declined, format!("decline {what}")),
            );
            return Application::declined(offered);
        };
        let owner = channels::owner(self.ctx, dc);
        let mut rng = channels::rng(self.ctx, self.state);
        match Peer::answer(&owner, &mut rng, offered).await {
            Ok((peer, section)) => {
                self.ctx
                    .note(msg, Note::done(Act::DcAnswer, format!("accept {what}")));
                self.keep_added(call_id, offered, peer);
                section
            }
            Err(e) => {
                self.ctx.note(
                    msg,
                    Note::refused(
                        Act::DcAnswer,
                        e.reason(),
                        format!("{what}: {e}: declined (port 0)"),
                    ),
                );
                Application::declined(offered)
            }
        }
    }

    /// Keeps `peer`, answering the network's `offered` section of call `call_id`, in place of
    /// any association kept for its mid, with the offer's ICE ufrag.
    fn keep_added(&self, call_id: &str, offered: &Application, peer: Peer) {
        let mut st = lock(self.state);
        st.network_peers
            .retain(|(id, p)| !(id == call_id && p.mid() == offered.mid));
        st.network_peers.push((call_id.to_owned(), Arc::new(peer)));
        st.network_ufrags.insert(
            (call_id.to_owned(), offered.mid.clone()),
            offered.ice_ufrag.clone(),
        );
    }

    /// A section the network added re-offered with new ICE credentials (an update): the
    /// association kept for it closed ([`Act::DcClose`]) and a new one answering the offer
    /// ([`Act::DcAnswer`]) kept in its place; declined with port 0 when it cannot be answered
    /// (refused with the engine's reason; the old association stays closed).
    async fn renew(&self, msg: Option<u64>, call_id: &str, offered: &Application) -> Application {
        let mid = &offered.mid;
        let old = channels::find(&lock(self.state), call_id, mid);
        if let Some(old) = old.filter(|p| !p.is_closed()) {
            self.ctx.note(
                msg,
                Note::done(
                    Act::DcClose,
                    format!(
                        "the re-INVITE re-offers m=application mid {mid} of call {call_id} with new ICE credentials: close its association"
                    ),
                ),
            );
            old.close().await;
        }
        let what = format!(
            "the network's updated application data channel (m=application mid {mid}) in call {call_id}"
        );
        let Some(dc) = self.config.dc.as_ref() else {
            self.ctx.note(
                msg,
                Note::refused(Act::DcAnswer, Reason::Declined, format!("decline {what}")),
            );
            return Application::declined(offered);
        };
        let owner = channels::owner(self.ctx, dc);
        let mut rng = channels::rng(self.ctx, self.state);
        match Peer::answer(&owner, &mut rng, offered).await {
            Ok((peer, section)) => {
                self.ctx.note(
                    msg,
                    Note::done(Act::DcAnswer, format!("accept {what}: a new association")),
                );
                self.keep_added(call_id, offered, peer);
                section
            }
            Err(e) => {
                self.ctx.note(
                    msg,
                    Note::refused(
                        Act::DcAnswer,
                        e.reason(),
                        format!("{what}: {e}: declined (port 0)"),
                    ),
                );
                Application::declined(offered)
            }
        }
    }
}
