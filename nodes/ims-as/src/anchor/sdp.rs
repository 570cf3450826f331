//! The SDP surgery of anchoring, pure: which sections go to the MF, a section as a session of
//! its own, answers put back into (or taken out of) a 2xx.

use proto::sdp::{Media, Session};
use proto::sip::msg::Headers;
use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::wire::mf::{BOOTSTRAP_MID, for_network};

use super::{Answers, Key};

/// Replaces a message body (and its Content-Length).
pub(super) fn set_body(headers: &mut Headers, body: &mut Vec<u8>, text: String) {
    *body = text.into_bytes();
    sipmsg::set(headers, "Content-Length", body.len().to_string());
}

/// The offer without the sections for the network, and those sections with their positions
/// (RFC 3264 order). `None` when the offer has none to anchor (or is no SDP).
pub(super) fn split_network(body: &[u8]) -> Option<(Session, Vec<(usize, Media)>)> {
    let mut session = Session::parse(std::str::from_utf8(body).ok()?).ok()?;
    let anchors =
        |m: &Media| matches!(m, Media::Application(a) if for_network(&a.mid) && !a.is_declined());
    if !session.media.iter().any(anchors) {
        return None;
    }
    let (network, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut session.media)
        .into_iter()
        .enumerate()
        .partition(|(_, m)| anchors(m));
    session.media = kept.into_iter().map(|(_, m)| m).collect();
    Some((session, network))
}

/// One section as a session of its own, as the MF takes and gives them.
pub(super) fn single(media: Media) -> Session {
    Session {
        session_id: 0,
        version: 0,
        name: "-".into(),
        media: vec![media],
    }
}

/// The caller's number as asserted (else From), for the MF; empty if none.
pub(super) fn caller_tn(invite: &Request) -> String {
    sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .or_else(|| sipmsg::first(&invite.headers, "From"))
        .and_then(NameAddr::parse)
        .and_then(|n| n.tn())
        .unwrap_or_default()
}

/// The request's Call-ID (empty if none).
pub(super) fn call_id(request: &Request) -> String {
    sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned()
}

/// The key of a section anchored from an offer.
pub(super) fn key(call_id: &str, mid: &str, ufrag: &str) -> Key {
    (call_id.to_owned(), mid.to_owned(), ufrag.to_owned())
}

/// The key under which the bootstrap section offered to the callee is kept.
pub(super) fn offered_key(call_id: &str) -> Key {
    key(call_id, BOOTSTRAP_MID, "offered to the callee")
}

/// The offer, when it is a data channel call the MF should offer the callee a bootstrap
/// channel in (it has data channel sections, none of them the bootstrap one).
pub(super) fn wants_bootstrap(body: &[u8]) -> Option<Session> {
    let session = Session::parse(std::str::from_utf8(body).ok()?).ok()?;
    (session.applications().next().is_some() && session.application(BOOTSTRAP_MID).is_none())
        .then_some(session)
}

/// Puts the MF's answers back into a 2xx's SDP at their offer positions.
pub(super) fn restore(response: &mut Response, answers: &Answers) {
    let Ok(text) = std::str::from_utf8(&response.body) else {
        return;
    };
    let Ok(mut session) = Session::parse(text) else {
        return;
    };
    for (i, media) in answers {
        let at = (*i).min(session.media.len());
        session.media.insert(at, media.clone());
    }
    let text = session.render();
    set_body(&mut response.headers, &mut response.body, text);
}

/// Takes the callee's answer for the bootstrap section out of a 2xx's SDP.
pub(super) fn take_answer(response: &mut Response) -> Option<Media> {
    let text = std::str::from_utf8(&response.body).ok()?;
    let mut session = Session::parse(text).ok()?;
    let at = session
        .media
        .iter()
        .position(|m| matches!(m, Media::Application(a) if a.mid == BOOTSTRAP_MID))?;
    let section = session.media.remove(at);
    let text = session.render();
    set_body(&mut response.headers, &mut response.body, text);
    Some(section)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::sdp::{Application, Candidate, Setup};

    fn app(mid: &str, port: u16) -> Media {
        Media::Application(Application {
            port,
            mid: mid.into(),
            ice_ufrag: format!("u-{mid}"),
            ice_pwd: "p".into(),
            candidates: vec![Candidate::host(([127, 0, 0, 1], 5000).into())],
            fingerprint: ("sha-256".into(), "AA:BB".into()),
            setup: Setup::Actpass,
            sctp_port: 5000,
            max_message_size: 65536,
            dcmaps: Vec::new(),
            dcsa: Vec::new(),
        })
    }

    fn offer(media: Vec<Media>) -> Vec<u8> {
        let mut s = Session::with_audio("ue", 1);
        s.media.extend(media);
        s.render().into_bytes()
    }

    fn mids(session: &Session) -> Vec<String> {
        session
            .media
            .iter()
            .map(|m| match m {
                Media::Application(a) => a.mid.clone(),
                Media::Audio { .. } => "audio".into(),
            })
            .collect()
    }

    #[test]
    fn network_sections_are_split_off_with_their_positions() {
        let body = offer(vec![app("0", 9), app("bdc", 9), app("p2a1", 0)]);
        let (rest, network) = split_network(&body).unwrap();
        assert_eq!(mids(&rest), ["audio", "0", "p2a1"], "declined and p2p stay");
        assert_eq!(network.len(), 1);
        assert_eq!(network[0].0, 2);
        assert_eq!(split_network(&offer(vec![app("0", 9)])), None);
        assert_eq!(split_network(b"not sdp"), None);
    }

    #[test]
    fn bootstrap_is_offered_only_to_data_channel_calls_without_one() {
        assert!(wants_bootstrap(&offer(vec![app("0", 9)])).is_some());
        assert!(wants_bootstrap(&offer(vec![app("0", 9), app("bdc", 9)])).is_none());
        assert!(wants_bootstrap(&offer(Vec::new())).is_none());
    }

    #[test]
    fn keys_and_single_sections() {
        assert_eq!(key("c", "bdc", "u"), ("c".into(), "bdc".into(), "u".into()));
        assert_eq!(offered_key("c").1, BOOTSTRAP_MID);
        let s = single(app("bdc", 9));
        assert_eq!(mids(&s), ["bdc"]);
        assert_eq!(s.name, "-");
    }
}
