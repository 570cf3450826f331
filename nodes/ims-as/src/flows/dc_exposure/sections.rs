//! The SDP side of solution 9, pure: which data channel sections a 2xx to an INVITE or
//! re-INVITE opened or closed (the DC events the AS reports), and the offers of the AS's own
//! re-INVITEs that add, update or remove a section or ask for a DC application download over
//! the bootstrap channel (§6.9.2.2 step 5).

use std::collections::BTreeMap;

use proto::sdp::{Application, Media, Session};
use proto::wire::exposure::{DcSection, REQ_APP, Target};

/// The mid of the bootstrap data channel's section (TS 26.114 §6.2.10).
pub(crate) const BDC_MID: &str = "bdc";

/// The DC application an `m=application` section names: its first `a=dcsa:<stream>
/// 3gpp-req-app:<id>` (RFC 8864 §6, the TS 26.114 name).
pub(crate) fn app_of(app: &Application) -> Option<String> {
    app.dcsa.iter().find_map(|(_, attr)| {
        let id = attr.strip_prefix(REQ_APP)?.strip_prefix(':')?.trim();
        (!id.is_empty()).then(|| id.to_owned())
    })
}

/// How a section is reported: its mid, bootstrap (`bdc`) or application, its DC application
/// and its channels' labels.
pub(crate) fn describe(app: &Application) -> DcSection {
    DcSection {
        mid: app.mid.clone(),
        target: if app.mid == BDC_MID {
            Target::Bdc
        } else {
            Target::Adc
        },
        app: app_of(app),
        labels: app.dcmaps.iter().map(|m| m.label.clone()).collect(),
    }
}

/// What one offer/answer exchange did to a call's data channels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// Sections offered and answered with a port that were not open before (`dc-established`).
    pub opened: Vec<DcSection>,
    /// Sections open before that the exchange declined (port 0 in the offer or the answer:
    /// `dc-terminated`).
    pub closed: Vec<DcSection>,
}

/// What the exchange of `offer` and `answer` did, given the sections `open` so far (by mid). A
/// section is described from the offer (what the UE asked for), the answer filling in an
/// application or labels the offer lacks.
pub(crate) fn exchange(
    offer: &Session,
    answer: &Session,
    open: &BTreeMap<String, DcSection>,
) -> Exchange {
    let mut out = Exchange::default();
    for offered in offer.applications() {
        let answered = answer.application(&offered.mid);
        let up = !offered.is_declined() && answered.is_some_and(|a| !a.is_declined());
        match (up, open.get(&offered.mid)) {
            (true, None) => {
                let mut section = describe(offered);
                if let Some(a) = answered {
                    let theirs = describe(a);
                    section.app = section.app.or(theirs.app);
                    if section.labels.is_empty() {
                        section.labels = theirs.labels;
                    }
                }
                out.opened.push(section);
            }
            (false, Some(was)) => out.closed.push(was.clone()),
            _ => {}
        }
    }
    out
}

/// `local` as a new version (RFC 3264 §8: the version goes up with each offer) with `section`
/// in place of the section of its mid, appended when it has none.
pub(crate) fn with_section(local: &Session, section: &Application) -> Session {
    let mut offer = local.clone();
    offer.version = offer.version.saturating_add(1);
    let same = offer
        .media
        .iter_mut()
        .find(|m| matches!(m, Media::Application(a) if a.mid == section.mid));
    match same {
        Some(m) => *m = Media::Application(section.clone()),
        None => offer.media.push(Media::Application(section.clone())),
    }
    offer
}

/// `local` as a new version with the section `mid` declined (port 0, RFC 3264 §8.2); `None`
/// when it has no such section.
pub(crate) fn with_declined(local: &Session, mid: &str) -> Option<Session> {
    let declined = Application::declined(local.application(mid)?);
    Some(with_section(local, &declined))
}

/// `local` as a new version with its section of `section`'s mid replaced in place by `section`
/// (an update: a new association for the same mid, RFC 8864 §5); `None` when it has none.
pub(crate) fn with_replaced(local: &Session, section: &Application) -> Option<Session> {
    local.application(&section.mid)?;
    Some(with_section(local, section))
}

/// `local` as a new version whose bootstrap section asks for DC application `app` on its
/// stream 0, the bootstrap channel (`a=dcsa:0 3gpp-req-app:<app>`, RFC 8864 §6), in place of
/// any application asked for there before; `None` when it has no open bootstrap section.
pub(crate) fn with_download(local: &Session, app: &str) -> Option<Session> {
    let mut bdc = local
        .application(BDC_MID)
        .filter(|a| !a.is_declined())?
        .clone();
    bdc.dcsa
        .retain(|(stream, attr)| !(*stream == 0 && attr.starts_with(REQ_APP)));
    bdc.dcsa.push((0, format!("{REQ_APP}:{app}")));
    Some(with_section(local, &bdc))
}

/// `session` holding only its section `mid` (a party's answer to an added section, as the MF
/// takes it); `None` when it has none.
pub(crate) fn only(session: &Session, mid: &str) -> Option<Session> {
    let app = session.application(mid)?.clone();
    Some(Session {
        media: vec![Media::Application(app)],
        ..session.clone()
    })
}

/// The one `m=application` section of the MF's offer to a party; `None` when the text is not
/// SDP or holds no such section.
pub(crate) fn offered_section(offer: &str) -> Option<Application> {
    Session::parse(offer).ok()?.applications().next().cloned()
}

/// A body as an SDP session, if it is one.
pub(crate) fn parse(body: &[u8]) -> Option<Session> {
    Session::parse(std::str::from_utf8(body).ok()?).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An `m=application` section with mid `mid`, port `port`, one channel labelled `label`
    /// and, with `app`, its `3gpp-req-app`.
    fn section(mid: &str, port: u16, label: &str, app: Option<&str>) -> String {
        let mut s = format!(
            "m=application {port} UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:{mid}\r\na=ice-ufrag:u{mid}\r\na=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sctp-port:5000\r\na=max-message-size:65536\r\na=dcmap:1200 label=\"{label}\";subprotocol=\"json\"\r\n"
        );
        if let Some(app) = app {
            s.push_str(&format!("a=dcsa:1200 {REQ_APP}:{app}\r\n"));
        }
        s
    }

    fn session(version: u64, sections: &[String]) -> Session {
        let mut text = format!(
            "v=0\r\no=- 7 {version} IN IP4 127.0.0.1\r\ns=ue\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:audio\r\na=inactive\r\n"
        );
        for s in sections {
            text.push_str(s);
        }
        Session::parse(&text).unwrap()
    }

    #[test]
    fn sections_answered_with_a_port_are_opened_once() {
        let offer = session(
            1,
            &[
                section("bdc", 9, "bootstrap", None),
                section("dc", 9, "chat", Some("avatar-call")),
                section("x", 9, "refused", None),
            ],
        );
        let answer = session(
            1,
            &[
                section("bdc", 9, "bootstrap", None),
                section("dc", 9, "chat", None),
                section("x", 0, "refused", None),
            ],
        );
        let e = exchange(&offer, &answer, &BTreeMap::new());
        assert_eq!(
            e.opened,
            [
                DcSection {
                    mid: "bdc".into(),
                    target: Target::Bdc,
                    app: None,
                    labels: vec!["bootstrap".into()],
                },
                DcSection {
                    mid: "dc".into(),
                    target: Target::Adc,
                    app: Some("avatar-call".into()),
                    labels: vec!["chat".into()],
                },
            ]
        );
        assert!(e.closed.is_empty());
        let open = e.opened.into_iter().map(|s| (s.mid.clone(), s)).collect();
        assert_eq!(exchange(&offer, &answer, &open), Exchange::default());
    }

    #[test]
    fn an_open_section_declined_later_is_closed() {
        let was = describe(
            session(1, &[section("dc", 9, "chat", None)])
                .application("dc")
                .unwrap(),
        );
        let open = BTreeMap::from([("dc".to_owned(), was.clone())]);
        let offer = session(2, &[section("dc", 9, "chat", None)]);
        let answer = session(2, &[section("dc", 0, "chat", None)]);
        let e = exchange(&offer, &answer, &open);
        assert_eq!(e.closed, [was]);
        assert!(e.opened.is_empty());
    }

    #[test]
    fn the_application_is_read_from_the_answer_when_the_offer_has_none() {
        let offer = session(1, &[section("adc", 9, "a", None)]);
        let answer = session(1, &[section("adc", 9, "a", Some("screen-share"))]);
        let e = exchange(&offer, &answer, &BTreeMap::new());
        assert_eq!(e.opened[0].app.as_deref(), Some("screen-share"));
        let no_app =
            section("adc", 9, "a", None).replace("a=dcmap", "a=dcsa:1200 other:x\r\na=dcmap");
        let s = session(1, &[no_app]);
        assert_eq!(app_of(s.application("adc").unwrap()), None);
    }

    #[test]
    fn an_added_section_is_appended_to_a_new_version() {
        let local = session(4, &[section("bdc", 9, "bootstrap", None)]);
        let mf = session(0, &[section("adc", 9, "avatar-call", Some("avatar-call"))]);
        let text = mf.render();
        let added = offered_section(&text).unwrap();
        let offer = with_section(&local, &added);
        assert_eq!(offer.version, 5);
        let mids: Vec<&str> = offer.applications().map(|a| a.mid.as_str()).collect();
        assert_eq!(mids, ["bdc", "adc"]);
        let reparsed = Session::parse(&offer.render()).unwrap();
        assert_eq!(reparsed.application("adc"), Some(&added));
        // A mid the session already has (declined earlier) is reused in place.
        let again = with_section(&with_declined(&offer, "adc").unwrap(), &added);
        assert_eq!(again.version, 7);
        assert_eq!(again.applications().count(), 2);
        assert_eq!(offered_section("not sdp"), None);
    }

    #[test]
    fn a_removed_section_is_declined_in_place() {
        let local = session(
            2,
            &[
                section("bdc", 9, "bootstrap", None),
                section("adc", 9, "x", None),
            ],
        );
        let offer = with_declined(&local, "adc").unwrap();
        assert_eq!(offer.version, 3);
        let adc = offer.application("adc").unwrap();
        assert!(adc.is_declined());
        assert!(!offer.application("bdc").unwrap().is_declined());
        assert!(offer.render().contains("m=application 0 UDP/DTLS/SCTP"));
        assert_eq!(with_declined(&local, "nope"), None);
    }

    #[test]
    fn an_updated_section_replaces_the_old_in_place() {
        let local = session(
            3,
            &[
                section("bdc", 9, "bootstrap", None),
                section("adc", 9, "x", None),
            ],
        );
        let mut new =
            offered_section(&session(0, &[section("adc", 9, "y", None)]).render()).unwrap();
        new.ice_ufrag = "fresh".into();
        let offer = with_replaced(&local, &new).unwrap();
        assert_eq!(offer.version, 4);
        let mids: Vec<&str> = offer.applications().map(|a| a.mid.as_str()).collect();
        assert_eq!(mids, ["bdc", "adc"]);
        assert_eq!(offer.application("adc"), Some(&new));
        new.mid = "other".into();
        assert_eq!(with_replaced(&local, &new), None);
    }

    #[test]
    fn a_download_is_asked_on_the_bootstrap_stream() {
        let local = session(
            5,
            &[
                section("bdc", 9, "bootstrap", None),
                section("adc", 9, "x", Some("chat")),
            ],
        );
        let offer = with_download(&local, "avatar-call").unwrap();
        assert_eq!(offer.version, 6);
        let bdc = offer.application("bdc").unwrap();
        assert_eq!(bdc.dcsa, [(0, format!("{REQ_APP}:avatar-call"))]);
        assert_eq!(app_of(bdc).as_deref(), Some("avatar-call"));
        assert_eq!(offer.application("adc"), local.application("adc"));
        let text = offer.render();
        assert!(
            text.contains("a=dcsa:0 3gpp-req-app:avatar-call\r\n"),
            "{text}"
        );
        // Asked again: the new application in place of the old.
        let again = with_download(&offer, "screen-share").unwrap();
        let bdc = again.application("bdc").unwrap();
        assert_eq!(bdc.dcsa, [(0, format!("{REQ_APP}:screen-share"))]);
        // No bootstrap channel, or a declined one: nothing to ask over.
        let none = session(1, &[section("adc", 9, "x", None)]);
        assert_eq!(with_download(&none, "avatar-call"), None);
        let closed = with_declined(&local, "bdc").unwrap();
        assert_eq!(with_download(&closed, "avatar-call"), None);
    }

    #[test]
    fn an_answer_is_cut_down_to_the_added_section() {
        let answer = session(
            9,
            &[
                section("bdc", 9, "bootstrap", None),
                section("adc", 9, "x", None),
            ],
        );
        let only = only(&answer, "adc").unwrap();
        assert_eq!(only.media.len(), 1);
        assert_eq!((only.session_id, only.version), (7, 9));
        assert_eq!(only.application("adc"), answer.application("adc"));
        assert!(super::only(&answer, "nope").is_none());
    }
}
