//! The answering side (RFC 3261 §8.2, §13.3, §15.1.2): an INVITE alerts the user (180) and is
//! answered (200, with an SDP answer for any data channels offered: the caller's peer-to-peer
//! section, the own network's bootstrap section, the caller's network's avatar media section),
//! or ends with 487 when the caller cancels and 480 when nobody answers; a re-INVITE gets the
//! same session description again (as caller too: its last offer; `session`), unless as callee
//! it proposes an avatar the user rejects (488, TR 33.790 §6.7.2.1 step 6), or its offer adds
//! an application data channel section, declines one or renews one the network added (TR 33.790
//! §6.9.2.2 step 5: answered section by section, the association answered, closed or replaced);
//! one naming a DC application on the bootstrap section is answered as it is, then the
//! application downloaded over the bootstrap channel (`download`); a BYE ends the call's data
//! channels.
//!
//! Notes: [`Act::Alert`], [`Act::StopRinging`], [`Act::KeepSession`], [`Act::ConsiderAvatar`]
//! (done, or refused `Declined`), [`Act::DcRelease`], [`Act::DcClose`] (a section a re-INVITE
//! declines: done, or refused `Closed` when this agent holds no association for it);
//! answering a data channel section [`Act::DcAnswer`] (refused when declined with port 0),
//! [`Act::DownloadApp`] (done, or refused with why), and the `unreachable` fault
//! [`Act::Tamper`].

mod change;
mod download;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use dc::Peer;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode;
use proto::sdp::{self, Application, Media, SdpError, Session};
use proto::sip::proxy::{self, response_to};
use proto::sip::{Method, Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};

use crate::channels;
use crate::session::{self, Reinvite, Side};
use crate::{AVATAR_MEDIA_MID, BOOTSTRAP_MID, State, UeConfig, lock, plain_sdp};

/// Answers one incoming request (the agent's SIP handler).
pub(crate) async fn handle(
    ep: Endpoint,
    mut incoming: Incoming,
    ctx: Ctx,
    state: Arc<Mutex<State>>,
    config: Arc<UeConfig>,
) {
    let request = incoming.request().clone();
    if incoming.is_ack() {
        return;
    }
    // RFC 3261 §8.2.2.3: an extension the request requires and this agent lacks (it supports
    // none) is answered 420 with Unsupported; a CANCEL's Require is not looked at.
    let required = proxy::option_tags(&request, false);
    if request.method != Method::Cancel && !required.is_empty() {
        let _ = incoming
            .respond(proxy::bad_extension(&request, &required, "Require"))
            .await;
        return;
    }
    let call_id = sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned();
    let in_dialog = sipmsg::first(&request.headers, "To").is_some_and(|t| t.contains(";tag="));
    if !in_order(&ctx, &state, &mut incoming, &request, &call_id, in_dialog).await {
        return;
    }
    let callee = Callee {
        ep: &ep,
        ctx: &ctx,
        state: &state,
        config: &config,
    };
    match request.method {
        Method::Invite if in_dialog => callee.reinvite(&mut incoming, &request, &call_id).await,
        Method::Invite => callee.invite(&mut incoming, &request, &call_id).await,
        Method::Bye => callee.bye(&mut incoming, &request, &call_id).await,
        Method::Options => {
            let mut ok = response_to(&request, 200, "OK", None);
            allow(&mut ok);
            let _ = incoming.respond(ok).await;
        }
        // RFC 3261 §8.2.1: a method the agent knows but does not take is answered 405 with Allow.
        _ => {
            let mut refused = response_to(&request, 405, "Method Not Allowed", None);
            allow(&mut refused);
            let _ = incoming.respond(refused).await;
        }
    }
}

/// The methods this agent takes (RFC 3261 §20.5), in `Allow`.
const ALLOWED: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS";

/// Adds `Allow` to `response`, before its Content-Length.
fn allow(response: &mut Response) {
    let at = response.headers.len().saturating_sub(1);
    response
        .headers
        .0
        .insert(at, proto::sip::Header::Allow(ALLOWED.into()));
}

/// RFC 3261 §12.2.2: a request in a dialog whose CSeq number is lower than the dialog's remote
/// sequence number is answered 500 (noted `RefuseRequest`); otherwise the number is kept (an
/// initial INVITE starts the sequence). CANCEL shares its INVITE's number and is not counted.
async fn in_order(
    ctx: &Ctx,
    state: &Mutex<State>,
    incoming: &mut Incoming,
    request: &Request,
    call_id: &str,
    in_dialog: bool,
) -> bool {
    let starts = request.method == Method::Invite && !in_dialog;
    if request.method == Method::Cancel || !(in_dialog || starts) {
        return true;
    }
    let Some(n) = sipmsg::first(&request.headers, "CSeq")
        .and_then(|c| c.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return true;
    };
    let last = {
        let mut st = lock(state);
        let last = st.remote_cseq.get(call_id).copied();
        if !session::out_of_order(last, n) {
            st.remote_cseq
                .insert(call_id.to_owned(), last.map_or(n, |l| l.max(n)));
        }
        last
    };
    if !session::out_of_order(last, n) {
        return true;
    }
    let l = last.unwrap_or_default();
    ctx.note(
        Some(incoming.trace_id()),
        Note::refused(
            Act::RefuseRequest,
            Reason::Malformed,
            format!("CSeq {n} is lower than the dialog's {l}: out of order (RFC 3261 §12.2.2)"),
        ),
    );
    let _ = incoming
        .respond(response_to(request, 500, "Server Internal Error", None))
        .await;
    false
}

/// How a ringing call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pickup {
    /// The user answered ([`crate::Ue::answer`]).
    Answered,
    /// The caller cancelled (RFC 3261 §9.2).
    Cancelled,
    /// Nobody answered within [`UeConfig::wait`].
    NoAnswer,
}

impl Pickup {
    /// From the ringing's outcome: `Some(picked up)`, or `None` when the wait ran out.
    fn from_wait(answered: Option<bool>) -> Self {
        match answered {
            Some(true) => Pickup::Answered,
            Some(false) => Pickup::Cancelled,
            None => Pickup::NoAnswer,
        }
    }

    /// The final answer instead of a 200, if any.
    fn refusal(self) -> Option<(u16, &'static str)> {
        match self {
            Pickup::Answered => None,
            Pickup::Cancelled => Some((487, "Request Terminated")),
            Pickup::NoAnswer => Some((480, "Temporarily Unavailable (no answer)")),
        }
    }
}

/// A 200 to `request` carrying the SDP `body`.
fn ok_with_sdp(request: &Request, tag: Option<&str>, contact: String, body: String) -> Response {
    let mut ok = response_to(request, 200, "OK", tag);
    sipmsg::push(&mut ok.headers, "Contact", contact);
    sipmsg::push(&mut ok.headers, "Content-Type", "application/sdp");
    ok.body = body.into_bytes();
    sipmsg::set(&mut ok.headers, "Content-Length", ok.body.len().to_string());
    ok
}

/// The `m=application` sections an INVITE offers (none without an SDP body).
fn offered_sections(request: &Request) -> Result<Vec<Application>, SdpError> {
    let offer = std::str::from_utf8(&request.body)
        .ok()
        .map(Session::parse)
        .transpose()?;
    Ok(offer
        .map(|s| s.applications().cloned().collect())
        .unwrap_or_default())
}

/// A section the network offers the callee (the network's MF is the offerer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetworkSection {
    /// The own network's bootstrap channel (mid [`BOOTSTRAP_MID`], TS 26.114 §6.2.10).
    Bootstrap,
    /// The caller's network's avatar media channel (mid [`AVATAR_MEDIA_MID`]; TR 33.790 §6.5,
    /// §6.6: rendered avatar frames and protected avatar objects).
    AvatarMedia,
}

impl NetworkSection {
    /// The network's section an offered mid is, if it is one.
    fn of(mid: &str) -> Option<Self> {
        match mid {
            BOOTSTRAP_MID => Some(NetworkSection::Bootstrap),
            AVATAR_MEDIA_MID => Some(NetworkSection::AvatarMedia),
            _ => None,
        }
    }

    /// What it is called in labels.
    fn name(self) -> &'static str {
        match self {
            NetworkSection::Bootstrap => "bootstrap data channel",
            NetworkSection::AvatarMedia => "avatar media data channel",
        }
    }

    /// The label of accepting it.
    fn accepted(self) -> String {
        match self {
            NetworkSection::Bootstrap => "accept the network's bootstrap data channel".into(),
            NetworkSection::AvatarMedia => format!(
                "accept the caller's network's avatar media data channel (m=application mid {AVATAR_MEDIA_MID})"
            ),
        }
    }

    /// The label of declining it.
    fn declined(self, mid: &str) -> String {
        match self {
            NetworkSection::Bootstrap => format!(
                "decline the network's bootstrap data channel (m=application mid {mid} port 0)"
            ),
            NetworkSection::AvatarMedia => format!(
                "decline the caller's network's avatar media data channel (m=application mid {mid} port 0)"
            ),
        }
    }
}

/// The answering agent, for one request.
struct Callee<'a> {
    ep: &'a Endpoint,
    ctx: &'a Ctx,
    state: &'a Arc<Mutex<State>>,
    config: &'a UeConfig,
}

impl Callee<'_> {
    /// A re-INVITE in a dialog: decided on the local session of the call and the avatar it may
    /// propose ([`session::decide`]), then answered — 481 without a session; as callee, 488 for
    /// a rejected avatar ([`Act::ConsiderAvatar`] refused, `Declined`) or, for an accepted one,
    /// [`Act::ConsiderAvatar`] done; the answer a change of the data channel sections plans;
    /// otherwise 200 with the same session description ([`Act::KeepSession`]). A 200 to an
    /// offer naming a DC application on the bootstrap section is followed by its download
    /// ([`session::download`]; once per call and application).
    async fn reinvite(&self, incoming: &mut Incoming, request: &Request, call_id: &str) {
        let (decision, download) = self.decide_reinvite(request, call_id);
        let msg = Some(incoming.trace_id());
        let sdp = match decision {
            Reinvite::Unknown => {
                let _ = incoming
                    .respond(response_to(
                        request,
                        481,
                        "Call/Transaction Does Not Exist",
                        None,
                    ))
                    .await;
                return;
            }
            Reinvite::RejectAvatar { avatar_id } => {
                self.ctx.note(
                    msg,
                    Note::refused(
                        Act::ConsiderAvatar,
                        Reason::Declined,
                        format!("reject the avatar {avatar_id}: 488 (TR 33.790 §6.7.2.1 step 6)"),
                    ),
                );
                let _ = incoming
                    .respond(response_to(request, 488, "Not Acceptable Here", None))
                    .await;
                return;
            }
            Reinvite::AcceptAvatar {
                avatar_id,
                signed,
                sdp,
            } => {
                self.ctx.note(
                    msg,
                    Note::done(
                        Act::ConsiderAvatar,
                        format!(
                            "accept the avatar {avatar_id} (TR 33.790 §6.7.2.1 step 6): {}",
                            signed.describe()
                        ),
                    ),
                );
                self.keep_session(msg);
                sdp
            }
            Reinvite::Keep { sdp } => {
                self.keep_session(msg);
                sdp
            }
            Reinvite::Change(plan) => self.change(msg, call_id, plan).await,
        };
        let addr = self.ep.local_addr();
        let contact = format!("<sip:{}:{}>", addr.ip(), addr.port());
        let _ = incoming
            .respond(ok_with_sdp(request, None, contact, sdp))
            .await;
        // §6.9.2.2 "DC application download": after the 200, so the trace reads re-INVITE,
        // 200, then the download.
        if let Some(app) = download {
            download::spawn(
                self.ctx.clone(),
                self.state.clone(),
                msg,
                call_id.to_owned(),
                app,
            );
        }
    }

    /// The decision for a re-INVITE ([`session::decide`]) and, when it is answered 200, the DC
    /// application it asks to download that this call has not downloaded yet (kept as asked).
    fn decide_reinvite(&self, request: &Request, call_id: &str) -> (Reinvite, Option<String>) {
        let mut st = lock(self.state);
        let kept = session::find(&st.sessions, call_id);
        let added: Vec<(String, String)> = st
            .network_ufrags
            .iter()
            .filter(|((id, _), _)| id == call_id)
            .map(|((_, mid), ufrag)| (mid.clone(), ufrag.clone()))
            .collect();
        let decision = session::decide(
            kept,
            &request.headers,
            &request.body,
            st.reject_avatar,
            self.config.dc.is_some(),
            &added,
        );
        let answered = matches!(
            decision,
            Reinvite::Keep { .. } | Reinvite::AcceptAvatar { .. } | Reinvite::Change(_)
        );
        let download = kept
            .filter(|_| answered)
            .and_then(|k| session::download(&k.sdp, &request.body))
            .map(|app| (call_id.to_owned(), app))
            .filter(|asked| !st.downloads_asked.contains(asked));
        let Some((call, app)) = download else {
            return (decision, None);
        };
        st.downloads_asked.push((call, app.clone()));
        (decision, Some(app))
    }

    /// Notes that a re-INVITE is answered with the same session description.
    fn keep_session(&self, msg: Option<u64>) {
        self.ctx.note(
            msg,
            Note::done(
                Act::KeepSession,
                "re-INVITE: answer with the same session description",
            ),
        );
    }

    /// An initial INVITE: alert, ring until answered (unless answering at once), then 200 with
    /// the SDP answer.
    async fn invite(&self, incoming: &mut Incoming, request: &Request, call_id: &str) {
        let tag = self.alert(incoming, request).await;
        let pickup = if self.config.auto_answer {
            Pickup::Answered
        } else {
            self.ring(incoming, request).await
        };
        if let Some((code, reason)) = pickup.refusal() {
            // Nothing of an unanswered call stays (its remote CSeq was kept on arrival).
            drop(crate::end_call(self.state, call_id));
            let _ = incoming
                .respond(response_to(request, code, reason, Some(&tag)))
                .await;
            return;
        }
        let addr = self.ep.local_addr();
        let feature = if self.config.dc.is_some() {
            format!(";{}", sdp::DC_FEATURE_TAG)
        } else {
            String::new()
        };
        let contact = format!("<sip:{}:{}>{feature}", addr.ip(), addr.port());
        let body = self.answer_sdp(request).await;
        let avatar_id = {
            let mut state = lock(self.state);
            session::keep(&mut state.sessions, call_id, Side::Callee, body.clone());
            state.avatar_id.clone()
        };
        let mut ok = ok_with_sdp(request, Some(&tag), contact, body);
        // TR 33.790 §6.8.2 step 11: the callee names its Avatar ID in its 200.
        if let Some(id) = avatar_id {
            sipmsg::push(&mut ok.headers, crate::AVATAR_ID_HEADER, id);
        }
        let _ = incoming.respond(ok).await;
    }

    /// Keeps the INVITE, alerts the user with what it shows ([`Act::Alert`]) and sends 180;
    /// returns the To tag of the dialog.
    async fn alert(&self, incoming: &mut Incoming, request: &Request) -> String {
        let shown = describe(request);
        crate::keep_received(&mut lock(self.state).received, request);
        self.ctx.note(
            Some(incoming.trace_id()),
            Note::done(Act::Alert, format!("alert the user: {shown}")),
        );
        let tag = self.ep.next_tag();
        let _ = incoming
            .respond(response_to(request, 180, "Ringing", Some(&tag)))
            .await;
        tag
    }

    /// Rings until the user answers, the caller cancels (487, RFC 3261 §9.2; noted as
    /// [`Act::StopRinging`]) or nobody answers in time (480).
    async fn ring(&self, incoming: &Incoming, request: &Request) -> Pickup {
        let (pick_up, picked_up) = tokio::sync::oneshot::channel();
        {
            let mut st = lock(self.state);
            // Calls that were cancelled or timed out dropped their end.
            st.ringing.retain(|pick_up| !pick_up.is_closed());
            st.ringing.push(pick_up);
        }
        let cancelled = sipnode::on_cancel(request);
        let answered = tokio::time::timeout(self.config.wait, async {
            match cancelled {
                Some(cancelled) => tokio::select! {
                    picked = picked_up => picked.is_ok(),
                    _ = cancelled => false,
                },
                None => picked_up.await.is_ok(),
            }
        })
        .await;
        let pickup = Pickup::from_wait(answered.ok());
        if pickup == Pickup::Cancelled {
            self.ctx.note(
                Some(incoming.trace_id()),
                Note::done(Act::StopRinging, "the caller cancelled: stop ringing"),
            );
        }
        pickup
    }

    /// BYE ends the data channels of the call first ([`Act::DcRelease`]).
    async fn bye(&self, incoming: &mut Incoming, request: &Request, call_id: &str) {
        let peers = crate::end_call(self.state, call_id);
        channels::release(self.ctx, Some(incoming.trace_id()), &peers).await;
        let _ = incoming
            .respond(response_to(request, 200, "OK", None))
            .await;
    }

    /// The callee's SDP answer: the plain audio answer for a plain offer; with a data channel
    /// section offered, an answer for it (accepted, declined with port 0, or — for the
    /// unreachable switch — pointing at an address nobody reads).
    async fn answer_sdp(&self, request: &Request) -> String {
        let offered = match offered_sections(request) {
            Ok(offered) => offered,
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::fail(
                        "SDP offer",
                        Reason::Malformed,
                        None,
                        format!("{e}: answered without data channels"),
                    ),
                );
                Vec::new()
            }
        };
        if offered.is_empty() {
            return plain_sdp(self.ep.host());
        }
        let call_id = sipmsg::first(&request.headers, "Call-ID").unwrap_or_default();
        let mut session = Session::with_audio(self.ep.host(), 0);
        for offered in &offered {
            let section = match NetworkSection::of(&offered.mid) {
                Some(network) => self.answer_network(network, offered, call_id).await,
                None => self.answer_p2p(offered, call_id).await,
            };
            session.media.push(Media::Application(section));
        }
        session.render()
    }

    /// The callee's answer to the peer-to-peer section: accepted when configured to
    /// ([`Act::DcAnswer`]), else declined with port 0 (refused, [`Reason::Declined`]).
    async fn answer_p2p(&self, offered: &Application, call_id: &str) -> Application {
        let Some(dc) = self
            .config
            .dc
            .as_ref()
            .filter(|d| d.accept && !offered.is_declined())
        else {
            self.ctx.note(
                None,
                Note::refused(
                    Act::DcAnswer,
                    Reason::Declined,
                    format!(
                        "decline the data channels (m=application mid {} port 0)",
                        offered.mid
                    ),
                ),
            );
            return Application::declined(offered);
        };
        let owner = channels::owner(self.ctx, dc);
        let mut rng = channels::rng(self.ctx, self.state);
        match Peer::answer(&owner, &mut rng, offered).await {
            Ok((peer, section)) => {
                self.ctx.note(
                    None,
                    Note::done(
                        Act::DcAnswer,
                        format!(
                            "accept the data channels (m=application mid {})",
                            offered.mid
                        ),
                    ),
                );
                if dc.unreachable {
                    return self.unreachable(&peer, section).await;
                }
                lock(self.state)
                    .peers
                    .push((call_id.to_owned(), Arc::new(peer)));
                section
            }
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::refused(
                        Act::DcAnswer,
                        e.reason(),
                        format!("data channel answer: {e}: declined (port 0)"),
                    ),
                );
                Application::declined(offered)
            }
        }
    }

    /// The `unreachable` fault ([`Act::Tamper`]): the answer names an address nobody reads
    /// and this side's association is closed at once.
    async fn unreachable(&self, peer: &Peer, mut section: Application) -> Application {
        peer.close().await;
        let silent = SocketAddr::from(([127, 0, 0, 1], 9));
        section.candidates = vec![sdp::Candidate::host(silent)];
        section.port = silent.port();
        self.ctx.note(
            None,
            Note::done(
                Act::Tamper,
                "fault: the answer's data channel address is one nobody reads (127.0.0.1:9)",
            ),
        );
        section
    }

    /// The callee's answer to a section the network offers: the bootstrap channel its own
    /// network's MF offers (TS 26.114 §6.2.10), or the avatar media channel the caller's
    /// network's MF offers. Accepted by a bootstrap-capable UE ([`Act::DcAnswer`]; the peer kept
    /// for the call), else declined with port 0 (refused, [`Reason::Declined`]).
    async fn answer_network(
        &self,
        network: NetworkSection,
        offered: &Application,
        call_id: &str,
    ) -> Application {
        let Some(dc) = self
            .config
            .dc
            .as_ref()
            .filter(|d| d.bootstrap && !offered.is_declined())
        else {
            self.ctx.note(
                None,
                Note::refused(
                    Act::DcAnswer,
                    Reason::Declined,
                    network.declined(&offered.mid),
                ),
            );
            return Application::declined(offered);
        };
        let owner = channels::owner(self.ctx, dc);
        let mut rng = channels::rng(self.ctx, self.state);
        match Peer::answer(&owner, &mut rng, offered).await {
            Ok((peer, section)) => {
                self.ctx
                    .note(None, Note::done(Act::DcAnswer, network.accepted()));
                let kept = (call_id.to_owned(), Arc::new(peer));
                let mut st = lock(self.state);
                match network {
                    NetworkSection::Bootstrap => st.bootstrap_peers.push(kept),
                    NetworkSection::AvatarMedia => st.avatar_media_peers.push(kept),
                }
                section
            }
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::refused(
                        Act::DcAnswer,
                        e.reason(),
                        format!("{} answer: {e}: declined (port 0)", network.name()),
                    ),
                );
                Application::declined(offered)
            }
        }
    }
}

/// What a callee's phone would show for an INVITE: the asserted caller, its name (if any), the
/// verification status and the name card link.
pub fn describe(invite: &Request) -> String {
    let pai = sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .or_else(|| sipmsg::first(&invite.headers, "From"))
        .and_then(NameAddr::parse);
    let number = pai
        .as_ref()
        .and_then(NameAddr::tn)
        .unwrap_or_else(|| "unknown number".into());
    let name = pai
        .as_ref()
        .and_then(|p| p.display.clone())
        .map_or("no name".into(), |n| format!("name {n:?}"));
    let verstat = pai
        .as_ref()
        .and_then(|p| p.uri_param("verstat").map(str::to_owned))
        .unwrap_or_else(|| "no verstat".into());
    let card = sipmsg::first(&invite.headers, "Call-Info")
        .map_or("no name card".to_owned(), |c| format!("name card {c}"));
    format!("call from {number}, {name}, {verstat}, {card}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn invite(extra: &str, body: &str) -> Request {
        Request::try_from(
            format!(
                "INVITE tel:+12155551001 SIP/2.0\r\nVia: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1\r\nFrom: <sip:+12025551000@ims.test>;tag=1\r\nTo: <tel:+12155551001>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_str(),
        )
        .unwrap()
    }

    #[test]
    fn the_network_offers_bootstrap_and_avatar_media_sections() {
        assert_eq!(
            NetworkSection::of(BOOTSTRAP_MID),
            Some(NetworkSection::Bootstrap)
        );
        assert_eq!(
            NetworkSection::of(AVATAR_MEDIA_MID),
            Some(NetworkSection::AvatarMedia)
        );
        assert_eq!(NetworkSection::of(crate::P2P_MID), None);
        assert_eq!(NetworkSection::of("p2a1"), None);
        // The bootstrap labels read as before.
        assert_eq!(
            NetworkSection::Bootstrap.accepted(),
            "accept the network's bootstrap data channel"
        );
        assert_eq!(
            NetworkSection::Bootstrap.declined("bdc"),
            "decline the network's bootstrap data channel (m=application mid bdc port 0)"
        );
        assert!(NetworkSection::AvatarMedia.accepted().contains("mid avm"));
    }

    #[test]
    fn ringing_ends_in_an_answer_or_a_refusal() {
        assert_eq!(Pickup::from_wait(Some(true)), Pickup::Answered);
        assert_eq!(Pickup::from_wait(Some(false)), Pickup::Cancelled);
        assert_eq!(Pickup::from_wait(None), Pickup::NoAnswer);
        assert_eq!(Pickup::Answered.refusal(), None);
        assert_eq!(Pickup::Cancelled.refusal().unwrap().0, 487);
        assert_eq!(Pickup::NoAnswer.refusal().unwrap().0, 480);
    }

    #[test]
    fn offers_without_sdp_have_no_sections() {
        assert!(offered_sections(&invite("", "")).unwrap().is_empty());
        let plain = plain_sdp("a.test");
        assert!(offered_sections(&invite("", &plain)).unwrap().is_empty());
    }

    #[test]
    fn ok_carries_the_sdp() {
        let ok = ok_with_sdp(
            &invite("", ""),
            Some("t1"),
            "<sip:b@x>".into(),
            "v=0\r\n".into(),
        );
        assert_eq!(ok.status_code.code(), 200);
        assert_eq!(sipmsg::first(&ok.headers, "Content-Length"), Some("5"));
        assert_eq!(sipmsg::first(&ok.headers, "Contact"), Some("<sip:b@x>"));
        assert!(sipmsg::first(&ok.headers, "To").unwrap().contains("tag=t1"));
    }

    #[test]
    fn describe_shows_the_asserted_caller() {
        let r = invite(
            "P-Asserted-Identity: \"Front Desk\" <tel:+12025550100;verstat=TN-Validation-Passed>\r\nCall-Info: <https://rcd.example/card.json>;purpose=jcard\r\n",
            "",
        );
        assert_eq!(
            describe(&r),
            "call from +12025550100, name \"Front Desk\", TN-Validation-Passed, name card <https://rcd.example/card.json>;purpose=jcard"
        );
        assert_eq!(
            describe(&invite("", "")),
            "call from +12025551000, no name, no verstat, no name card"
        );
    }
}
