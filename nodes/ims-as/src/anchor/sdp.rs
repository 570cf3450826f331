//! The SDP surgery of anchoring, pure: which sections go to the MF, a section as a session of
//! its own, the MF's offer appended to an INVITE, answers put back into (and the callee's answer
//! to the MF's offer taken out of) a 2xx.

use proto::sdp::{Media, Session};
use proto::sip::msg::Headers;
use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::wire::avatar::AVATAR_MEDIA_MID;
use proto::wire::mf::{BOOTSTRAP_MID, for_network};

use super::{Answers, Key};

/// The SIP-facing mid of the callers' peer-to-peer data channel section (as the UEs write it).
pub(super) const P2P_MID: &str = "dc";

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

/// The key under which the section with `mid` the MF offered the callee is kept.
pub(super) fn offered_key(call_id: &str, mid: &str) -> Key {
    key(call_id, mid, "offered to the callee")
}

/// The offer, when it has no section with `mid` yet (the MF's section for it can be appended).
fn lacking(body: &[u8], mid: &str) -> Option<Session> {
    let session = Session::parse(std::str::from_utf8(body).ok()?).ok()?;
    session.application(mid).is_none().then_some(session)
}

/// The offer, when it is a data channel call the MF should offer the callee a bootstrap
/// channel in (it has data channel sections, none of them the bootstrap one).
pub(super) fn wants_bootstrap(body: &[u8]) -> Option<Session> {
    lacking(body, BOOTSTRAP_MID).filter(|s| s.applications().next().is_some())
}

/// The offer, when the caller's MF's avatar media section can be appended to it (it has none
/// yet; whether the MF is asked for a new one is [`offers_p2p`]'s).
pub(super) fn wants_avatar_media(body: &[u8]) -> Option<Session> {
    lacking(body, AVATAR_MEDIA_MID)
}

/// Whether the offer has the caller's peer-to-peer data channel section (mid [`P2P_MID`], not
/// declined): an avatar call, which the caller's MF gives an avatar media section.
pub(super) fn offers_p2p(session: &Session) -> bool {
    session
        .application(P2P_MID)
        .is_some_and(|a| !a.is_declined())
}

/// The offer with the MF's section appended (after the sections that stay: the order toward
/// the callee is the same in the INVITE and every re-INVITE).
pub(super) fn with_section(mut session: Session, section: Media) -> String {
    session.media.push(section);
    session.render()
}

/// Makes a 2xx's SDP the answer to what the caller offered: takes the callee's answer for the
/// section the MF offered it (`offered`, by mid) out, then puts the MF's `answers` back at their
/// offer positions (RFC 3264: one answer section per offered section, in order). Returns the
/// callee's answer taken out; the body is left as it is when there is nothing to change.
pub(super) fn answer_upstream(
    response: &mut Response,
    offered: Option<&str>,
    answers: &Answers,
) -> Option<Media> {
    let text = std::str::from_utf8(&response.body).ok()?;
    let mut session = Session::parse(text).ok()?;
    let taken = offered
        .and_then(|mid| {
            session
                .media
                .iter()
                .position(|m| matches!(m, Media::Application(a) if a.mid == mid))
        })
        .map(|at| session.media.remove(at));
    if taken.is_none() && answers.is_empty() {
        return None;
    }
    for (i, media) in answers {
        let at = (*i).min(session.media.len());
        session.media.insert(at, media.clone());
    }
    let text = session.render();
    set_body(&mut response.headers, &mut response.body, text);
    taken
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

    fn ok(session: &Session) -> Response {
        let body = session.render();
        Response::try_from(
            format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_str(),
        )
        .unwrap()
    }

    fn body_mids(response: &Response) -> Vec<String> {
        mids(&Session::parse(std::str::from_utf8(&response.body).unwrap()).unwrap())
    }

    #[test]
    fn avatar_media_goes_after_the_sections_that_stay() {
        // UE-A offers dc and bdc; bdc goes to the MF; avm is appended after dc.
        let body = offer(vec![app(P2P_MID, 9), app("bdc", 9)]);
        let (rest, _) = split_network(&body).unwrap();
        let rest = rest.render().into_bytes();
        let session = wants_avatar_media(&rest).unwrap();
        assert!(offers_p2p(&session));
        let out = with_section(session, app(AVATAR_MEDIA_MID, 9));
        let out = Session::parse(&out).unwrap();
        assert_eq!(mids(&out), ["audio", P2P_MID, AVATAR_MEDIA_MID]);
        // The terminating side's bootstrap offer then goes after avm.
        let term = wants_bootstrap(out.render().as_bytes()).unwrap();
        let term = Session::parse(&with_section(term, app(BOOTSTRAP_MID, 9))).unwrap();
        assert_eq!(
            mids(&term),
            ["audio", P2P_MID, AVATAR_MEDIA_MID, BOOTSTRAP_MID]
        );
    }

    #[test]
    fn avatar_media_is_for_calls_offering_the_peer_to_peer_section() {
        let plain = Session::with_audio("ue", 1);
        assert!(!offers_p2p(&plain));
        let declined =
            Session::parse(std::str::from_utf8(&offer(vec![app(P2P_MID, 0)])).unwrap()).unwrap();
        assert!(
            !offers_p2p(&declined),
            "a declined dc section is no avatar call"
        );
        let again = offer(vec![app(P2P_MID, 9), app(AVATAR_MEDIA_MID, 9)]);
        assert_eq!(wants_avatar_media(&again), None, "never appended twice");
        assert_eq!(wants_avatar_media(b"not sdp"), None);
    }

    #[test]
    fn a_reoffer_repeats_the_section_unchanged_in_the_same_place() {
        let avm = app(AVATAR_MEDIA_MID, 9);
        let invite = offer(vec![app(P2P_MID, 9), app("bdc", 9)]);
        // The re-INVITE adds a p2a section; it goes to the MF like bdc.
        let reinvite = offer(vec![app(P2P_MID, 9), app("bdc", 9), app("p2a1", 9)]);
        let toward_callee = |body: &[u8]| {
            let (rest, _) = split_network(body).unwrap();
            let session = wants_avatar_media(rest.render().as_bytes()).unwrap();
            Session::parse(&with_section(session, avm.clone())).unwrap()
        };
        let (first, second) = (toward_callee(&invite), toward_callee(&reinvite));
        assert_eq!(mids(&first), mids(&second));
        assert_eq!(first.media[2], avm);
        assert_eq!(second.media[2], avm);
    }

    #[test]
    fn the_callee_answer_for_avm_comes_out_and_the_mf_answers_go_back_in() {
        // Toward UE-B: [audio, dc, avm]; UE-A offered [audio, dc, bdc] (bdc at 2, to the MF).
        let mut answered = Session::with_audio("ue-b", 0);
        answered
            .media
            .extend([app(P2P_MID, 9), app(AVATAR_MEDIA_MID, 9)]);
        let mut response = ok(&answered);
        let answers = vec![(2, app("bdc", 9))];
        let taken = answer_upstream(&mut response, Some(AVATAR_MEDIA_MID), &answers);
        assert_eq!(taken, Some(app(AVATAR_MEDIA_MID, 9)));
        assert_eq!(body_mids(&response), ["audio", P2P_MID, "bdc"]);
        assert_eq!(
            sipmsg::first(&response.headers, "Content-Length").unwrap(),
            response.body.len().to_string()
        );
    }

    #[test]
    fn a_2xx_with_nothing_to_change_is_left_as_it_is() {
        let plain = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\na=label:x\r\n";
        let mut response = ok(&Session::parse(plain).unwrap());
        response.body = plain.as_bytes().to_vec();
        assert_eq!(
            answer_upstream(&mut response, Some(AVATAR_MEDIA_MID), &Vec::new()),
            None
        );
        assert_eq!(response.body, plain.as_bytes());
        // Answers only (no offered section): put back at their positions.
        let mut answered = Session::with_audio("ue-b", 0);
        answered.media.push(app(P2P_MID, 9));
        let mut response = ok(&answered);
        let answers = vec![(2, app("bdc", 9)), (3, app("p2a1", 9))];
        assert_eq!(answer_upstream(&mut response, None, &answers), None);
        assert_eq!(body_mids(&response), ["audio", P2P_MID, "bdc", "p2a1"]);
    }

    #[test]
    fn keys_and_single_sections() {
        assert_eq!(key("c", "bdc", "u"), ("c".into(), "bdc".into(), "u".into()));
        assert_eq!(offered_key("c", BOOTSTRAP_MID).1, BOOTSTRAP_MID);
        assert_ne!(
            offered_key("c", AVATAR_MEDIA_MID),
            offered_key("c", BOOTSTRAP_MID),
            "a call can have both offers"
        );
        let s = single(app("bdc", 9));
        assert_eq!(mids(&s), ["bdc"]);
        assert_eq!(s.name, "-");
    }
}
