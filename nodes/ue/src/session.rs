//! What a re-INVITE in a call's dialog gets (RFC 3261 §14.2, RFC 3264 §8). The agent keeps its
//! local session description per Call-ID — as callee the SDP it answered in its 200, as caller
//! the last offer it made (the INVITE's, or that of a re-INVITE of its own once answered) — and
//! answers a re-INVITE with it: the IMS AS's re-INVITEs anchoring a party's media at the MF (TR
//! 33.790 §6.7.2.1 steps 5 and 6) leave the session as it is.
//!
//! As callee, a re-INVITE naming an avatar in [`AVATAR_ID_HEADER`] is the avatar of the call
//! being proposed (§6.7.2.1 step 6: "UE-B has the option to reject the avatar alone"): UE-B
//! accepts it, or rejects it with 488 when its user said so ([`crate::Ue::reject_avatar`]).
//! Whether the network verified the signed Avatar-id is read from the re-INVITE's Identity
//! header with `ppt` `avatar` (the terminating network removes one that does not verify; step
//! 3), decoded without verifying.
//!
//! Otherwise a re-INVITE whose offer adds an application data channel section, declines one
//! the call has or renews one the network added (TR 33.790 §6.9.2.2 step 5) changes the
//! session: answered as `change` plans it. One naming a DC application on the bootstrap section
//! asks for its download ([`download`], §6.9.2.2 "DC application download").
//!
//! Pure: [`decide`], [`download`] and [`signed_avatar_id`]; `uas` carries the decision out and
//! notes it.

mod change;

pub(crate) use change::{Added, Plan, Step, Why, download};

use proto::sipmsg::{self, Headers};
use stir::jose::b64u_decode;
use stir::{IdentityHeader, Part};

use crate::AVATAR_ID_HEADER;

/// Whether a request with CSeq number `n` is out of order in a dialog whose remote sequence
/// number is `last` (RFC 3261 §12.2.2: lower than the remote sequence number — to be answered
/// 500). Pure.
pub(crate) fn out_of_order(last: Option<u32>, n: u32) -> bool {
    last.is_some_and(|l| n < l)
}

/// Which end of a call's dialog this agent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// It placed the call (UE-A).
    Caller,
    /// It answered the call (UE-B).
    Callee,
}

/// The local session description of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalSession {
    /// The call's Call-ID.
    pub call_id: String,
    /// Which end this agent is.
    pub side: Side,
    /// The SDP: answered (callee) or offered last (caller).
    pub sdp: String,
}

/// Keeps `sdp` as the local session of call `call_id`, replacing the one kept before.
pub(crate) fn keep(sessions: &mut Vec<LocalSession>, call_id: &str, side: Side, sdp: String) {
    sessions.retain(|s| s.call_id != call_id);
    sessions.push(LocalSession {
        call_id: call_id.to_owned(),
        side,
        sdp,
    });
}

/// The local session kept for call `call_id`, if any.
pub(crate) fn find<'a>(sessions: &'a [LocalSession], call_id: &str) -> Option<&'a LocalSession> {
    sessions.iter().rev().find(|s| s.call_id == call_id)
}

/// What the avatar a re-INVITE proposes has for a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signed {
    /// No Identity header with `ppt` `avatar` came with it.
    Unsigned,
    /// The network's verified Identity header (`ppt` `avatar`) signs this same Avatar-id.
    Verified,
    /// The Identity header with `ppt` `avatar` signs another Avatar-id.
    Other(String),
}

impl Signed {
    /// For the reader of the note.
    pub(crate) fn describe(&self) -> String {
        match self {
            Signed::Unsigned => "no Identity header with ppt avatar: not network-verified".into(),
            Signed::Verified => {
                "the network verified the signed Avatar-id (Identity header, ppt avatar)".into()
            }
            Signed::Other(id) => {
                format!("the Identity header with ppt avatar signs another Avatar-id, {id}")
            }
        }
    }
}

/// What to do with a re-INVITE in a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reinvite {
    /// No session is kept for the Call-ID: 481.
    Unknown,
    /// Answer 200 with the same session description.
    Keep {
        /// The local session description.
        sdp: String,
    },
    /// As callee: the avatar proposed is accepted, then 200 with the same session description.
    AcceptAvatar {
        /// The Avatar-id [`AVATAR_ID_HEADER`] names.
        avatar_id: String,
        /// Whether the network verified it.
        signed: Signed,
        /// The local session description.
        sdp: String,
    },
    /// As callee: the avatar proposed is rejected with 488 Not Acceptable Here.
    RejectAvatar {
        /// The Avatar-id [`AVATAR_ID_HEADER`] names.
        avatar_id: String,
    },
    /// The offer adds or declines data channel sections: 200 with the answer the plan makes.
    Change(Plan),
}

/// The decision for a re-INVITE with `headers` and SDP `offer` in a call whose local session
/// is `session`; `reject_avatar` is the user's wish as callee, `capable` whether the agent has
/// data channel capability, `added` the sections the network added to the call. An avatar
/// proposed is considered first; an offer that changes nothing keeps the session. Pure.
pub(crate) fn decide(
    session: Option<&LocalSession>,
    headers: &Headers,
    offer: &[u8],
    reject_avatar: bool,
    capable: bool,
    added: &Added,
) -> Reinvite {
    let Some(session) = session else {
        return Reinvite::Unknown;
    };
    let sdp = session.sdp.clone();
    let proposed = sipmsg::first(headers, AVATAR_ID_HEADER)
        .map(str::trim)
        .filter(|id| !id.is_empty());
    let avatar_id = match (session.side, proposed) {
        (Side::Callee, Some(id)) => id.to_owned(),
        _ => {
            return match change::plan(&sdp, session.side, offer, capable, added) {
                Some(plan) => Reinvite::Change(plan),
                None => Reinvite::Keep { sdp },
            };
        }
    };
    if reject_avatar {
        return Reinvite::RejectAvatar { avatar_id };
    }
    let signed = match signed_avatar_id(headers) {
        None => Signed::Unsigned,
        Some(id) if id == avatar_id => Signed::Verified,
        Some(id) => Signed::Other(id),
    };
    Reinvite::AcceptAvatar {
        avatar_id,
        signed,
        sdp,
    }
}

/// The Avatar-id the `avatar` claim of the first Identity header with `ppt` `avatar` names,
/// decoded without verifying (the network verified it before forwarding); `None` when there is
/// no such header or its claim does not read. Pure.
pub(crate) fn signed_avatar_id(headers: &Headers) -> Option<String> {
    sipmsg::values(headers, "Identity")
        .into_iter()
        .filter_map(|value| IdentityHeader::parse_list(value).ok())
        .flatten()
        .filter(|h| {
            h.ppt
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("avatar"))
        })
        .find_map(|h| avatar_claim_id(&h.jws))
}

/// The `avatar.id` of a compact JWS's claims, if they carry a well-formed `avatar` claim.
fn avatar_claim_id(jws: &str) -> Option<String> {
    let payload = jws.split('.').nth(1)?;
    let bytes = b64u_decode(payload, Part::Payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    stir::avatar::from_claims(&claims)
        .ok()
        .flatten()
        .map(|c| c.id)
}

#[cfg(test)]
mod cseq_tests {
    use super::out_of_order;

    #[test]
    fn only_a_lower_number_is_out_of_order() {
        assert!(!out_of_order(None, 1));
        assert!(!out_of_order(Some(2), 3));
        assert!(!out_of_order(Some(3), 3));
        assert!(out_of_order(Some(4), 3));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::sip::Request;
    use stir::jose::b64u;

    const IMPU: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

    fn headers(extra: &str) -> Headers {
        let text = format!(
            "INVITE sip:ue-b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP a.test:5060;branch=z9hG4bK1\r\nFrom: <sip:as@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap().headers
    }

    fn session(side: Side) -> LocalSession {
        LocalSession {
            call_id: "c1".into(),
            side,
            sdp: "v=0\r\n".into(),
        }
    }

    /// An Identity header value with `ppt` and claims `claims` (the signature is not looked at).
    fn identity(ppt: &str, claims: &serde_json::Value) -> String {
        let header = b64u(br#"{"alg":"ES256","ppt":"avatar","typ":"passport"}"#);
        let payload = b64u(claims.to_string().as_bytes());
        format!(
            "Identity: {header}.{payload}.c2ln;info=<https://cr.test/sp.pem>;alg=ES256;ppt=\"{ppt}\"\r\n"
        )
    }

    fn avatar_claims(id: &str) -> serde_json::Value {
        serde_json::json!({
            "attest": "A", "avatar": {"app": "avatar-call", "id": id, "impu": IMPU},
            "iat": 1_772_442_000, "orig": {"tn": "12025551000"}
        })
    }

    #[test]
    fn sessions_are_kept_per_call_last_one_wins() {
        let mut sessions = Vec::new();
        keep(&mut sessions, "c1", Side::Caller, "first".into());
        keep(&mut sessions, "c2", Side::Callee, "other".into());
        keep(&mut sessions, "c1", Side::Caller, "last".into());
        assert_eq!(find(&sessions, "c1").unwrap().sdp, "last");
        assert_eq!(find(&sessions, "c2").unwrap().side, Side::Callee);
        assert_eq!(find(&sessions, "c3"), None);
        assert_eq!(sessions.len(), 2);
    }

    #[test]
    fn a_reinvite_without_a_session_is_unknown() {
        assert_eq!(
            decide(None, &headers(""), b"", false, true, &[]),
            Reinvite::Unknown
        );
        let avatar = headers("P-Avatar-ID: qbranch-agent\r\n");
        assert_eq!(
            decide(None, &avatar, b"", true, true, &[]),
            Reinvite::Unknown
        );
    }

    #[test]
    fn a_plain_reinvite_keeps_the_session_on_either_side() {
        for side in [Side::Caller, Side::Callee] {
            for reject in [false, true] {
                assert_eq!(
                    decide(Some(&session(side)), &headers(""), b"", reject, true, &[]),
                    Reinvite::Keep {
                        sdp: "v=0\r\n".into()
                    }
                );
            }
        }
        // The caller does not consider an avatar (UE-A chose it).
        let avatar = headers("P-Avatar-ID: qbranch-agent\r\n");
        assert_eq!(
            decide(Some(&session(Side::Caller)), &avatar, b"", true, true, &[]),
            Reinvite::Keep {
                sdp: "v=0\r\n".into()
            }
        );
        // An empty header names no avatar.
        let empty = headers("P-Avatar-ID: \r\n");
        assert!(matches!(
            decide(Some(&session(Side::Callee)), &empty, b"", true, true, &[]),
            Reinvite::Keep { .. }
        ));
    }

    #[test]
    fn the_callee_accepts_or_rejects_the_avatar_proposed() {
        let callee = session(Side::Callee);
        let avatar = headers("P-Avatar-ID: qbranch-agent\r\n");
        assert_eq!(
            decide(Some(&callee), &avatar, b"", true, true, &[]),
            Reinvite::RejectAvatar {
                avatar_id: "qbranch-agent".into()
            }
        );
        assert_eq!(
            decide(Some(&callee), &avatar, b"", false, true, &[]),
            Reinvite::AcceptAvatar {
                avatar_id: "qbranch-agent".into(),
                signed: Signed::Unsigned,
                sdp: "v=0\r\n".into()
            }
        );
        let signed = headers(&format!(
            "P-Avatar-ID: qbranch-agent\r\n{}",
            identity("avatar", &avatar_claims("qbranch-agent"))
        ));
        assert!(matches!(
            decide(Some(&callee), &signed, b"", false, true, &[]),
            Reinvite::AcceptAvatar {
                signed: Signed::Verified,
                ..
            }
        ));
        let other = headers(&format!(
            "P-Avatar-ID: qbranch-agent\r\n{}",
            identity("avatar", &avatar_claims("owl"))
        ));
        assert!(matches!(
            decide(Some(&callee), &other, b"", false, true, &[]),
            Reinvite::AcceptAvatar { signed: Signed::Other(id), .. } if id == "owl"
        ));
    }

    #[test]
    fn an_offer_adding_an_application_section_changes_the_session() {
        let local = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=ue\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=inactive\r\n";
        let adc = format!(
            "m=application 7000 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:adc\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sctp-port:5000\r\na=max-message-size:65536\r\na=dcmap:1200 label=\"chess\"\r\na=dcsa:1200 {}:chess\r\n",
            proto::wire::exposure::REQ_APP
        );
        let offer = format!("{local}{adc}");
        for side in [Side::Caller, Side::Callee] {
            let session = LocalSession {
                call_id: "c1".into(),
                side,
                sdp: local.into(),
            };
            let decided = decide(
                Some(&session),
                &headers(""),
                offer.as_bytes(),
                false,
                true,
                &[],
            );
            assert!(
                matches!(&decided, Reinvite::Change(plan) if plan.side == side && plan.steps.len() == 2),
                "{decided:?}"
            );
            // The same session offered back changes nothing.
            assert!(matches!(
                decide(
                    Some(&session),
                    &headers(""),
                    local.as_bytes(),
                    false,
                    true,
                    &[]
                ),
                Reinvite::Keep { .. }
            ));
        }
        // As callee, an avatar proposed is considered first.
        let callee = LocalSession {
            call_id: "c1".into(),
            side: Side::Callee,
            sdp: local.into(),
        };
        let avatar = headers("P-Avatar-ID: qbranch-agent\r\n");
        assert!(matches!(
            decide(Some(&callee), &avatar, offer.as_bytes(), false, true, &[]),
            Reinvite::AcceptAvatar { .. }
        ));
    }

    #[test]
    fn only_a_ppt_avatar_identity_signs_an_avatar_id() {
        let claims = avatar_claims("qbranch-agent");
        let shaken = identity("shaken", &claims);
        assert_eq!(signed_avatar_id(&headers(&shaken)), None);
        let avatar = identity("avatar", &claims);
        assert_eq!(
            signed_avatar_id(&headers(&format!("{shaken}{avatar}"))).as_deref(),
            Some("qbranch-agent")
        );
        // A claim that is not a well-formed avatar claim, or no claim at all.
        let bad = serde_json::json!({"avatar": {"id": "owl"}});
        assert_eq!(signed_avatar_id(&headers(&identity("avatar", &bad))), None);
        let none = serde_json::json!({"iat": 1});
        assert_eq!(signed_avatar_id(&headers(&identity("avatar", &none))), None);
        assert_eq!(
            signed_avatar_id(&headers("Identity: not a jws;info=<x>\r\n")),
            None
        );
        assert_eq!(signed_avatar_id(&headers("")), None);
    }

    #[test]
    fn signatures_read_for_the_note() {
        assert!(Signed::Verified.describe().contains("verified"));
        assert!(Signed::Other("owl".into()).describe().contains("owl"));
        assert!(Signed::Unsigned.describe().contains("not network-verified"));
    }
}
