//! A re-INVITE whose offer changes the call's data channel sections (TR 33.790 §6.9.2.2
//! step 5: the IMS AS adds the MF's application data channel section, naming its DC
//! application in `a=dcsa:<stream> 3gpp-req-app:<app>`, or declines — port 0 — a section the
//! call has), as a plan for the answer (RFC 3264 §6, §8). Pure; `uas` carries it out.
//!
//! An offer changes the session when it declines a section the local session has open, offers
//! with a port a section the local session lacks that names a DC application ([`REQ_APP`]):
//! what the network asks for, or re-offers a section the network added with other ICE
//! credentials than the offer that added it (an update: a new association for the mid; new
//! credentials restart ICE, RFC 8839 §4.4.1.1.1). Any other offer leaves the session as it is
//! (solution #7's re-INVITEs re-offer a party's session, its peer's sections included).
//!
//! Apart from the answer, an offer re-offering the bootstrap section naming a DC application its
//! local section does not name asks for that application's download over the bootstrap
//! channel ([`download`]; §6.9.2.2 "DC application download").

use proto::sdp::{Application, Media, Session};
use proto::wire::exposure::REQ_APP;

use super::Side;
use crate::BOOTSTRAP_MID;

/// Why a new section is declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// This agent has no data channel capability.
    Incapable,
    /// The section names no DC application (no `3gpp-req-app`): not one the network asks for.
    NotRequested,
}

/// One section of the answer, in the offer's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The local section as it is (or a new section offered declined, answered declined).
    Keep(Media),
    /// A section open in the local session that the offer declines: answered declined (this
    /// is the local section declined); the agent closes its association for the mid.
    Close(Application),
    /// A new application data channel section the network offers, to answer.
    Answer {
        /// The offered section.
        offered: Application,
        /// The DC application it names.
        app: String,
    },
    /// A section the network added re-offered with new ICE credentials: its association is
    /// replaced by a new one answering this offer.
    Renew {
        /// The offered section.
        offered: Application,
    },
    /// A new section this agent does not take: declined (port 0).
    Decline {
        /// The offered section.
        offered: Application,
        /// Why.
        why: Why,
    },
}

/// The answer to a re-INVITE that changes the call's data channel sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Which end of the dialog this agent is (kept with the new local session).
    pub side: Side,
    /// The local session the answer replaces.
    pub local: Session,
    /// The answer's sections: the offer's, in order, then the local ones it left out.
    pub steps: Vec<Step>,
}

impl Plan {
    /// The answer: the local session as its next version (RFC 3264 §8) with `media`, the
    /// carried-out [`Plan::steps`].
    pub(crate) fn answer(&self, media: Vec<Media>) -> Session {
        Session {
            version: self.local.version.saturating_add(1),
            media,
            ..self.local.clone()
        }
    }
}

/// The DC application a section names: its first `a=dcsa:<stream> 3gpp-req-app:<id>`.
pub(crate) fn requested_app(app: &Application) -> Option<String> {
    app.dcsa.iter().find_map(|(_, attr)| {
        let id = attr.strip_prefix(REQ_APP)?.strip_prefix(':')?.trim();
        (!id.is_empty()).then(|| id.to_owned())
    })
}

/// The sections the network added to a call by re-INVITE: each mid with the ICE ufrag of the
/// offer this agent answered for it.
pub(crate) type Added = [(String, String)];

/// Whether `offered` re-offers a section the network `added` (open locally) with an ICE ufrag
/// other than the one of the offer answered: an update, a new association for the mid.
fn renews(added: &Added, local: &Application, offered: &Application) -> bool {
    !offered.is_declined()
        && !local.is_declined()
        && added
            .iter()
            .any(|(mid, ufrag)| *mid == offered.mid && *ufrag != offered.ice_ufrag)
}

/// Whether `offer` changes `local`: it declines a section `local` has open, adds (with a port)
/// a section naming a DC application that `local` lacks, or renews one the network `added`.
fn changes(local: &Session, offer: &Session, added: &Added) -> bool {
    offer
        .applications()
        .any(|o| match local.application(&o.mid) {
            Some(l) => (o.is_declined() && !l.is_declined()) || renews(added, l, o),
            None => !o.is_declined() && requested_app(o).is_some(),
        })
}

/// The plan for the answer to `offer` given the local session `local` (SDP texts) of an agent
/// on `side`, `capable` of data channels, in a call the network `added` sections to; `None`
/// when the offer changes nothing (or either does not parse): the local session is answered
/// as it is.
pub(crate) fn plan(
    local: &str,
    side: Side,
    offer: &[u8],
    capable: bool,
    added: &Added,
) -> Option<Plan> {
    let offer = Session::parse(std::str::from_utf8(offer).ok()?).ok()?;
    let local = Session::parse(local).ok()?;
    if !changes(&local, &offer, added) {
        return None;
    }
    let mut used = vec![false; local.media.len()];
    let mut steps = Vec::new();
    for offered in &offer.media {
        let step = match offered {
            Media::Audio { .. } => {
                let found = local
                    .media
                    .iter()
                    .enumerate()
                    .find(|(i, m)| !used[*i] && matches!(m, Media::Audio { .. }));
                match found {
                    Some((i, m)) => {
                        used[i] = true;
                        Step::Keep(m.clone())
                    }
                    None => Step::Keep(offered.clone()),
                }
            }
            Media::Application(o) => {
                let found = local
                    .media
                    .iter()
                    .enumerate()
                    .find(|(_, m)| matches!(m, Media::Application(a) if a.mid == o.mid));
                match found {
                    Some((i, Media::Application(l))) => {
                        used[i] = true;
                        if o.is_declined() && !l.is_declined() {
                            Step::Close(Application::declined(l))
                        } else if renews(added, l, o) {
                            Step::Renew { offered: o.clone() }
                        } else {
                            Step::Keep(Media::Application(l.clone()))
                        }
                    }
                    _ => new_section(o, capable),
                }
            }
        };
        steps.push(step);
    }
    // Sections the offer left out stay as they are (an offer that only adds a section does
    // not end the others).
    let rest = local.media.iter().zip(&used).filter(|(_, u)| !**u);
    steps.extend(rest.map(|(m, _)| Step::Keep(m.clone())));
    Some(Plan { side, local, steps })
}

/// The DC application a re-INVITE's `offer` asks this agent to download over its bootstrap
/// channel (TR 33.790 §6.9.2.2, "DC application download"): the offer re-offers the bootstrap
/// section of the `local` session (mid [`BOOTSTRAP_MID`], with a port) with an
/// `a=dcsa:<stream> 3gpp-req-app:<app>` the local section does not have. `None` otherwise (or
/// when either does not parse).
pub(crate) fn download(local: &str, offer: &[u8]) -> Option<String> {
    let offer = Session::parse(std::str::from_utf8(offer).ok()?).ok()?;
    let local = Session::parse(local).ok()?;
    let kept = local.application(BOOTSTRAP_MID)?;
    let offered = offer
        .application(BOOTSTRAP_MID)
        .filter(|o| !o.is_declined())?;
    let app = requested_app(offered)?;
    let named = kept.dcsa.iter().any(|(_, attr)| {
        attr.strip_prefix(REQ_APP)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|id| id.trim() == app)
    });
    (!named).then_some(app)
}

/// The step for an offered section the local session lacks.
fn new_section(offered: &Application, capable: bool) -> Step {
    if offered.is_declined() {
        return Step::Keep(Media::Application(Application::declined(offered)));
    }
    match requested_app(offered) {
        Some(app) if capable => Step::Answer {
            offered: offered.clone(),
            app,
        },
        Some(_) => Step::Decline {
            offered: offered.clone(),
            why: Why::Incapable,
        },
        None => Step::Decline {
            offered: offered.clone(),
            why: Why::NotRequested,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An `m=application` section `mid` on `port`, one channel on stream 1200 and, with `app`,
    /// its `3gpp-req-app`.
    fn section(mid: &str, port: u16, app: Option<&str>) -> String {
        let mut s = format!(
            "m=application {port} UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:{mid}\r\na=ice-ufrag:u{mid}\r\na=ice-pwd:pppppppppppppppppppppp\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 {port} typ host\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sctp-port:5000\r\na=max-message-size:65536\r\na=dcmap:1200 label=\"chat\";subprotocol=\"json\"\r\n"
        );
        if let Some(app) = app {
            s.push_str(&format!("a=dcsa:1200 {REQ_APP}:{app}\r\n"));
        }
        s
    }

    fn sdp(version: u64, sections: &[String]) -> String {
        let mut text = format!(
            "v=0\r\no=- 7 {version} IN IP4 127.0.0.1\r\ns=ue\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:audio\r\na=inactive\r\n"
        );
        for s in sections {
            text.push_str(s);
        }
        text
    }

    fn mids(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| match s {
                Step::Keep(Media::Audio { .. }) => "audio".to_owned(),
                Step::Keep(Media::Application(a)) => format!("keep {} {}", a.mid, a.port),
                Step::Close(a) => format!("close {} {}", a.mid, a.port),
                Step::Answer { offered, app } => format!("answer {} {app}", offered.mid),
                Step::Renew { offered } => format!("renew {} {}", offered.mid, offered.ice_ufrag),
                Step::Decline { offered, why } => format!("decline {} {why:?}", offered.mid),
            })
            .collect()
    }

    #[test]
    fn an_offer_repeating_the_session_changes_nothing() {
        let local = sdp(0, &[section("dc", 5000, None), section("bdc", 5001, None)]);
        let offer = sdp(3, &[section("dc", 6000, None), section("bdc", 6001, None)]);
        assert_eq!(
            plan(&local, Side::Caller, offer.as_bytes(), true, &[]),
            None
        );
        // Solution #7: a peer's section the party lacks (no DC application named), sections
        // left out, an audio-only offer, no SDP or no session at all.
        let peers = sdp(3, &[section("dc", 6000, None), section("p2a", 6002, None)]);
        assert_eq!(
            plan(&local, Side::Callee, peers.as_bytes(), true, &[]),
            None
        );
        assert_eq!(
            plan(&local, Side::Callee, sdp(1, &[]).as_bytes(), true, &[]),
            None
        );
        assert_eq!(plan(&local, Side::Callee, b"", true, &[]), None);
        assert_eq!(
            plan("not sdp", Side::Callee, offer.as_bytes(), true, &[]),
            None
        );
        // A section the local session has declined already, offered declined.
        let declined = sdp(0, &[section("dc", 0, None)]);
        let again = sdp(1, &[section("dc", 0, None)]);
        assert_eq!(
            plan(&declined, Side::Caller, again.as_bytes(), true, &[]),
            None
        );
    }

    #[test]
    fn an_added_application_section_is_answered_in_the_offers_order() {
        let local = sdp(2, &[section("dc", 5000, None), section("bdc", 5001, None)]);
        let offer = sdp(
            4,
            &[
                section("dc", 6000, None),
                section("adc", 7000, Some("avatar-call")),
                section("bdc", 6001, None),
            ],
        );
        let plan = plan(&local, Side::Callee, offer.as_bytes(), true, &[]).unwrap();
        assert_eq!(
            mids(&plan),
            [
                "audio",
                "keep dc 5000",
                "answer adc avatar-call",
                "keep bdc 5001"
            ]
        );
        assert_eq!(plan.side, Side::Callee);
        let answer = plan.answer(Vec::new());
        assert_eq!((answer.session_id, answer.version), (7, 3));
    }

    #[test]
    fn an_incapable_agent_declines_the_added_section() {
        let local = sdp(0, &[]);
        let offer = sdp(
            1,
            &[
                section("adc", 7000, Some("avatar-call")),
                section("x", 7001, None),
                section("y", 0, None),
            ],
        );
        let plan = plan(&local, Side::Caller, offer.as_bytes(), false, &[]).unwrap();
        assert_eq!(
            mids(&plan),
            [
                "audio",
                "decline adc Incapable",
                "decline x NotRequested",
                "keep y 0"
            ]
        );
    }

    #[test]
    fn a_declined_section_is_closed_and_the_rest_kept() {
        let local = sdp(
            3,
            &[
                section("dc", 5000, None),
                section("adc", 5002, Some("avatar-call")),
                section("bdc", 5001, None),
            ],
        );
        // The offer leaves bdc out: it stays, after the offered sections.
        let offer = sdp(5, &[section("dc", 6000, None), section("adc", 0, None)]);
        let plan = plan(&local, Side::Caller, offer.as_bytes(), true, &[]).unwrap();
        assert_eq!(
            mids(&plan),
            ["audio", "keep dc 5000", "close adc 0", "keep bdc 5001"]
        );
    }

    #[test]
    fn a_network_section_reoffered_with_new_credentials_is_renewed() {
        let local = sdp(
            3,
            &[
                section("dc", 5000, None),
                section("adc", 5002, Some("chess")),
            ],
        );
        // The offer that added adc had ufrag "uadc" (the test's sections all do).
        let same = [("adc".to_owned(), "uadc".to_owned())];
        let offer = sdp(5, &[section("dc", 6000, None), section("adc", 7000, None)]);
        assert_eq!(
            plan(&local, Side::Callee, offer.as_bytes(), true, &same),
            None
        );
        // Other credentials: a new association; the rest kept.
        let older = [("adc".to_owned(), "old".to_owned())];
        let plan = plan(&local, Side::Callee, offer.as_bytes(), true, &older).unwrap();
        assert_eq!(mids(&plan), ["audio", "keep dc 5000", "renew adc uadc"]);
        // A section the network did not add (dc) is never renewed; a declined one is closed.
        let dc = [("dc".to_owned(), "old".to_owned())];
        let declined = sdp(5, &[section("adc", 0, None)]);
        let closing = super::plan(&local, Side::Caller, declined.as_bytes(), true, &older);
        assert_eq!(
            mids(&closing.unwrap()),
            ["audio", "close adc 0", "keep dc 5000"]
        );
        let renewed = super::plan(&local, Side::Caller, offer.as_bytes(), true, &dc).unwrap();
        assert_eq!(mids(&renewed), ["audio", "renew dc udc", "keep adc 5002"]);
    }

    #[test]
    fn a_bootstrap_section_naming_a_new_application_asks_for_its_download() {
        let local = sdp(0, &[section("dc", 5000, None), section("bdc", 5001, None)]);
        let asked = sdp(
            1,
            &[
                section("dc", 6000, None),
                section("bdc", 6001, Some("avatar-call")),
            ],
        );
        assert_eq!(
            download(&local, asked.as_bytes()).as_deref(),
            Some("avatar-call")
        );
        // The download leaves the session as it is.
        assert_eq!(
            plan(&local, Side::Callee, asked.as_bytes(), true, &[]),
            None
        );
        // Not asked: the local section names it already, no bootstrap section here or there,
        // declined, another mid, not SDP.
        let named = sdp(0, &[section("bdc", 5001, Some("avatar-call"))]);
        assert_eq!(download(&named, asked.as_bytes()), None);
        let other = sdp(0, &[section("bdc", 5001, Some("chess"))]);
        assert_eq!(
            download(&other, asked.as_bytes()).as_deref(),
            Some("avatar-call")
        );
        assert_eq!(download(&sdp(0, &[]), asked.as_bytes()), None);
        let declined = sdp(1, &[section("bdc", 0, Some("avatar-call"))]);
        assert_eq!(download(&local, declined.as_bytes()), None);
        let adc = sdp(1, &[section("adc", 7000, Some("avatar-call"))]);
        assert_eq!(download(&local, adc.as_bytes()), None);
        assert_eq!(download(&local, b"\xff"), None);
        assert_eq!(download("not sdp", asked.as_bytes()), None);
    }

    #[test]
    fn the_requested_app_is_the_first_req_app_attribute() {
        let session = Session::parse(&sdp(0, &[section("adc", 9, Some("chess"))])).unwrap();
        let adc = session.application("adc").unwrap();
        assert_eq!(requested_app(adc).as_deref(), Some("chess"));
        let mut other = adc.clone();
        other.dcsa = vec![
            (1200, "avatar-app:x".into()),
            (1200, format!("{REQ_APP}:")),
            (1200, format!("{REQ_APP}: go ")),
        ];
        assert_eq!(requested_app(&other).as_deref(), Some("go"));
        other.dcsa.clear();
        assert_eq!(requested_app(&other), None);
    }
}
