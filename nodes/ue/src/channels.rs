//! The data channels of a call (TS 26.114 §6.2.10, RFC 8864), shared by both sides: the engine
//! owner and seeded randomness of each session, the caller's offers in an INVITE and their
//! completion by the answer, the sections a re-INVITE adds, and the release at the call's end.
//!
//! Notes: a call that goes on without data channels it offered is
//! [`Act::DcUnavailable`] refused with the [`DcError`]'s reason; closing a call's open
//! associations is [`Act::DcRelease`].

use std::sync::{Arc, Mutex};

use dc::{DcError, DcOwner, Peer};
use kit::Error;
use kit::node::Ctx;
use proto::sdp::{Application, DcMap, Media, Session};
use proto::sip::Response;
use proto::trace::{Act, Note, Reason};

use crate::{BOOTSTRAP_MID, Call, DcConfig, P2P_MID, State, bootstrap_channel, lock, sip_error};

/// The data channel owner for this agent's peers (its trace name and timers).
pub(crate) fn owner(ctx: &Ctx, dc: &DcConfig) -> DcOwner {
    DcOwner {
        node: ctx.id.clone(),
        tap: ctx.tap.clone(),
        timers: dc.timers,
    }
}

/// A seeded random stream for the next data channel session of this agent.
pub(crate) fn rng(ctx: &Ctx, state: &Mutex<State>) -> proto::clock::Rng {
    let n = {
        let mut st = lock(state);
        st.dc_sessions += 1;
        st.dc_sessions
    };
    proto::clock::Rng::for_node(ctx.seed, &format!("{}/dc{n}", ctx.id))
}

/// The data channel associations an INVITE offered, waiting for the answer.
#[derive(Debug, Default)]
pub(crate) struct Offered {
    /// The peer-to-peer section (mid [`P2P_MID`]).
    p2p: Option<Peer>,
    /// The bootstrap section toward the own network's MF (mid [`BOOTSTRAP_MID`]).
    bootstrap: Option<Peer>,
}

/// The caller's SDP offer with data channels: audio, the peer-to-peer section mapping
/// `channels`, and (when configured) the bootstrap section. The channels are created before the
/// offer, peer to peer first.
pub(crate) async fn offer(
    ctx: &Ctx,
    state: &Mutex<State>,
    dc: &DcConfig,
    host: &str,
    channels: &[DcMap],
) -> Result<(String, Offered), Error> {
    let owner = owner(ctx, dc);
    let mut offered = Offered::default();
    let (peer, section) = Peer::offer(&owner, &mut rng(ctx, state), P2P_MID, channels, &[])
        .await
        .map_err(|e| sip_error(format!("data channel offer: {e}")))?;
    offered.p2p = Some(peer);
    let mut session = Session::with_audio(host, 0);
    session.media.push(Media::Application(section));
    if dc.bootstrap {
        let made = Peer::offer(
            &owner,
            &mut rng(ctx, state),
            BOOTSTRAP_MID,
            &[bootstrap_channel()],
            &[],
        )
        .await;
        match made {
            Ok((peer, section)) => {
                offered.bootstrap = Some(peer);
                session.media.push(Media::Application(section));
            }
            Err(e) => {
                offered.close().await;
                return Err(sip_error(format!("bootstrap data channel offer: {e}")));
            }
        }
    }
    Ok((session.render(), offered))
}

impl Offered {
    /// Closes every offered association (the offer will never be answered).
    pub(crate) async fn close(&self) {
        for peer in self.p2p.iter().chain(&self.bootstrap) {
            peer.close().await;
        }
    }

    /// Completes the offered associations with the call's answer: the bootstrap channel, then
    /// the peer-to-peer one. One that cannot be completed is closed; an answered call then
    /// goes on without it ([`Act::DcUnavailable`], and [`Call::dc_refused`] for the
    /// peer-to-peer section).
    pub(crate) async fn complete(self, ctx: &Ctx, call: &mut Call) {
        if let Some(peer) = self.bootstrap {
            match complete(&peer, call, BOOTSTRAP_MID).await {
                Ok(()) => call.bdc = Some(Arc::new(peer)),
                Err(e) => {
                    peer.close().await;
                    unavailable(ctx, call, &e, format!("no bootstrap data channel: {e}"));
                }
            }
        }
        if let Some(peer) = self.p2p {
            match complete(&peer, call, P2P_MID).await {
                Ok(()) => call.dc = Some(Arc::new(peer)),
                Err(e) => {
                    peer.close().await;
                    unavailable(
                        ctx,
                        call,
                        &e,
                        format!("the call goes on without data channels: {e}"),
                    );
                    call.dc_refused = Some(e);
                }
            }
        }
    }
}

/// Notes that an answered call goes on without data channels it offered (a call that was not
/// answered does not go on at all: nothing to note).
fn unavailable(ctx: &Ctx, call: &Call, e: &DcError, label: String) {
    if call.answered() {
        ctx.note(None, Note::refused(Act::DcUnavailable, e.reason(), label));
    }
}

/// Applies the section `mid` of the call's answer to `peer`.
async fn complete(peer: &Peer, call: &Call, mid: &str) -> Result<(), DcError> {
    let section = answered_section(call.ok(), mid)?;
    peer.complete(&section).await
}

/// The answered section `mid` in a 2xx (`None`: the call was not answered).
fn answered_section(ok: Option<&Response>, mid: &str) -> Result<Application, DcError> {
    let ok = ok.ok_or(DcError::Closed)?;
    section(ok, mid)
}

/// The section `mid` of the SDP a 2xx carries.
pub(crate) fn section(ok: &Response, mid: &str) -> Result<Application, DcError> {
    let text = std::str::from_utf8(&ok.body)
        .map_err(|_| DcError::Sdp(format!("the {} has no SDP", ok.status_code.code())))?;
    let session = Session::parse(text).map_err(|e| DcError::Sdp(e.to_string()))?;
    session
        .application(mid)
        .cloned()
        .ok_or_else(|| DcError::Sdp(format!("the answer has no m=application mid {mid}")))
}

/// Why data channels offered by re-INVITE did not come up; the call goes on without them.
#[derive(Debug)]
pub(crate) enum AddFailure {
    /// The re-INVITE got a final answer other than 2xx.
    Rejected(u16),
    /// The re-INVITE exchange failed (no answer, transport).
    Exchange(Error),
    /// The answer did not complete the association.
    Dc(DcError),
}

impl AddFailure {
    /// The trace's reason for it.
    pub(crate) fn reason(&self) -> Reason {
        match self {
            AddFailure::Rejected(_) => Reason::Declined,
            AddFailure::Exchange(Error::Timeout { .. }) => Reason::Timeout,
            AddFailure::Exchange(_) => Reason::Unreachable,
            AddFailure::Dc(e) => e.reason(),
        }
    }
}

impl std::fmt::Display for AddFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddFailure::Rejected(code) => write!(f, "re-INVITE answered {code}"),
            AddFailure::Exchange(e) => write!(f, "{e}"),
            AddFailure::Dc(e) => write!(f, "{e}"),
        }
    }
}

/// Closes the open associations among `peers` at the call's end, noting
/// [`Act::DcRelease`] when there was any.
pub(crate) async fn release<'a>(
    ctx: &Ctx,
    msg: Option<u64>,
    peers: impl IntoIterator<Item = &'a Arc<Peer>>,
) {
    let open: Vec<&Arc<Peer>> = peers.into_iter().filter(|p| !p.is_closed()).collect();
    if open.is_empty() {
        return;
    }
    ctx.note(
        msg,
        Note::done(
            Act::DcRelease,
            format!(
                "the call ended: close its {} data channel association(s)",
                open.len()
            ),
        ),
    );
    for peer in open {
        peer.close().await;
    }
}

/// Takes the associations of call `call_id` (peer to peer, bootstrap, avatar media, added by
/// the network) out of the state, in that order, and forgets the caller's own ones (the
/// [`Call`] releases those).
pub(crate) fn take_call_peers(st: &mut State, call_id: &str) -> Vec<Arc<Peer>> {
    st.own_peers.retain(|(id, _)| id != call_id);
    st.network_ufrags.retain(|(id, _), _| id != call_id);
    [
        &mut st.peers,
        &mut st.bootstrap_peers,
        &mut st.avatar_media_peers,
        &mut st.network_peers,
    ]
    .into_iter()
    .flat_map(|kept| take_call(kept, call_id))
    .collect()
}

/// Keeps the caller's own associations of call `call_id` findable ([`find`]) without holding
/// them: the [`Call`] does.
pub(crate) fn own(state: &Mutex<State>, call_id: &str, peers: &[&Arc<Peer>]) {
    let mut st = lock(state);
    for peer in peers {
        st.own_peers
            .push((call_id.to_owned(), Arc::downgrade(peer)));
    }
}

/// The association of call `call_id` for section `mid` the state holds, the most recent first:
/// added by the network, answered as callee, or the caller's own (while its call holds it).
pub(crate) fn find(st: &State, call_id: &str, mid: &str) -> Option<Arc<Peer>> {
    let held = [
        &st.network_peers,
        &st.peers,
        &st.bootstrap_peers,
        &st.avatar_media_peers,
    ];
    held.into_iter()
        .find_map(|kept| {
            kept.iter()
                .rev()
                .find(|(id, p)| id == call_id && p.mid() == mid)
                .map(|(_, p)| p.clone())
        })
        .or_else(|| {
            st.own_peers
                .iter()
                .rev()
                .filter(|(id, _)| id == call_id)
                .filter_map(|(_, p)| p.upgrade())
                .find(|p| p.mid() == mid)
        })
}

/// Takes the peers of call `call_id` out of `kept`.
fn take_call(kept: &mut Vec<(String, Arc<Peer>)>, call_id: &str) -> Vec<Arc<Peer>> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(kept)
        .into_iter()
        .partition(|(id, _)| *id == call_id);
    *kept = rest;
    mine.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ok(body: &str) -> Response {
        Response::try_from(
            format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_str(),
        )
        .unwrap()
    }

    #[test]
    fn sections_of_an_answer() {
        let mut session = Session::with_audio("b.test", 0);
        let offered = Application {
            port: 9,
            mid: P2P_MID.into(),
            ice_ufrag: String::new(),
            ice_pwd: String::new(),
            candidates: Vec::new(),
            fingerprint: (String::new(), String::new()),
            setup: proto::sdp::Setup::Actpass,
            sctp_port: 5000,
            max_message_size: 262_144,
            dcmaps: Vec::new(),
            dcsa: Vec::new(),
        };
        session
            .media
            .push(Media::Application(Application::declined(&offered)));
        let answer = ok(&session.render());
        assert!(section(&answer, P2P_MID).unwrap().is_declined());
        assert!(matches!(
            section(&answer, BOOTSTRAP_MID),
            Err(DcError::Sdp(_))
        ));
        assert!(matches!(section(&ok(""), P2P_MID), Err(DcError::Sdp(_))));
        assert_eq!(answered_section(None, P2P_MID), Err(DcError::Closed));
    }

    #[test]
    fn add_failure_reasons() {
        assert_eq!(AddFailure::Rejected(488).reason(), Reason::Declined);
        assert_eq!(
            AddFailure::Exchange(Error::Timeout { ms: 5 }).reason(),
            Reason::Timeout
        );
        assert_eq!(
            AddFailure::Exchange(sip_error("no final response")).reason(),
            Reason::Unreachable
        );
        assert_eq!(AddFailure::Dc(DcError::Declined).reason(), Reason::Declined);
        assert_eq!(
            AddFailure::Rejected(488).to_string(),
            "re-INVITE answered 488"
        );
    }
}
