//! The XR AS's decisions, pure: whether an Avatar ID is in the UE's list (solution 5 step 1),
//! what a rendering negotiation holds (solution 6 step 2), when steps 5–7 of a call run (with
//! both the negotiation and the application data channel, once), what the DAC's answer means
//! (step 6), what is handed to the MF (step 7), and the threat switches' changes.

use std::collections::BTreeMap;

use avatar::Catalogue;
use avatar::e2e::{self, EphemeralKey};
use kit::http::Response;
use proto::trace::{Note, Reason};
use proto::wire::avatar::{
    DcMessage, DeliverRequest, Model, ObjectResponse, Party, Problem, Protected, RenderRequest,
    Rendering,
};
use stir::Part;
use stir::jose::{b64u, b64u_decode};

use crate::upstream;

/// Solution 5 step 1: the Avatar ID against the avatar list of the UE with number `tn`
/// (choice `avatar-xr-list`): whether it is there, and the list.
pub(super) fn check_list(catalogue: &Catalogue, tn: &str, avatar_id: &str) -> (bool, Vec<String>) {
    let list: Vec<String> = catalogue
        .of_owner(tn)
        .into_iter()
        .map(|a| a.id.clone())
        .collect();
    (list.iter().any(|id| id == avatar_id), list)
}

/// A rendering negotiation the XR AS keeps for a call (solution 6 step 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Negotiation {
    /// The caller's number.
    pub tn: String,
    /// The UE-A attestation, as received (the DAC verifies it).
    pub attestation: String,
    /// The Avatar ID it names.
    pub avatar_id: String,
    /// The rendering option it names.
    pub rendering: Rendering,
}

impl Negotiation {
    /// Reads the attestation WITHOUT verifying it (the DAC verifies): its Avatar ID and
    /// rendering option.
    pub fn read(tn: &str, attestation: &str) -> Result<Self, avatar::Error> {
        let claims = avatar::attestation::unverified_claims(attestation)?;
        Ok(Self {
            tn: tn.to_owned(),
            attestation: attestation.to_owned(),
            avatar_id: claims.avatar_id,
            rendering: claims.rendering,
        })
    }
}

/// Steps 5–7 for one call, to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Run {
    /// The call's Call-ID.
    pub call_id: String,
    /// The negotiation.
    pub negotiation: Negotiation,
}

/// What the XR AS knows of one call.
#[derive(Debug, Default)]
struct Call {
    negotiation: Option<Negotiation>,
    adc: bool,
    started: bool,
}

/// The calls the XR AS serves, by Call-ID: whichever of the negotiation and the ADC report
/// arrives second starts steps 5–7, once per call.
#[derive(Debug, Default)]
pub(super) struct Calls(BTreeMap<String, Call>);

impl Calls {
    /// The negotiation of a call arrived (a later one replaces it until the run starts).
    pub fn negotiated(&mut self, call_id: &str, negotiation: Negotiation) -> Option<Run> {
        let call = self.0.entry(call_id.to_owned()).or_default();
        call.negotiation = Some(negotiation);
        Self::ready(call_id, call)
    }

    /// The caller's application data channel of a call is open.
    pub fn adc_open(&mut self, call_id: &str) -> Option<Run> {
        let call = self.0.entry(call_id.to_owned()).or_default();
        call.adc = true;
        Self::ready(call_id, call)
    }

    fn ready(call_id: &str, call: &mut Call) -> Option<Run> {
        if call.started || !call.adc {
            return None;
        }
        let negotiation = call.negotiation.clone()?;
        call.started = true;
        Some(Run {
            call_id: call_id.to_owned(),
            negotiation,
        })
    }
}

/// The DAC's answer to the object request (step 6), decided: the object, or the status and
/// [`Problem`] to answer with (the DAC's 403/404 problem as it came; 502 when the DAC could
/// not be asked or its answer is unreadable).
pub(super) fn dac_outcome(
    answer: Result<&Response, &kit::Error>,
) -> Result<ObjectResponse, (u16, Problem)> {
    let unreachable = |detail: String| {
        (
            502,
            Problem {
                reason: Reason::Unreachable,
                detail,
            },
        )
    };
    match answer {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body)
            .map_err(|e| unreachable(format!("the DAC's answer is unreadable: {e}"))),
        Ok(r) if matches!(r.status, 403 | 404) => match upstream::read_problem(&r.body) {
            Some(p) => Err((r.status, p)),
            None => Err(unreachable(format!(
                "the DAC answered {} without a problem",
                r.status
            ))),
        },
        Ok(r) => Err(unreachable(format!("the DAC answered {}", r.status))),
        Err(e) => Err((
            502,
            Problem {
                reason: upstream::transport_reason(e),
                detail: format!("DAC: {e}"),
            },
        )),
    }
}

/// What the XR AS hands the MF in step 7.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Rendition {
    /// Network centric: the MF renders the object.
    Render(RenderRequest),
    /// UE-A or UE-B centric: the MF passes the protected object to the rendering UE.
    Deliver(DeliverRequest),
}

impl Rendition {
    /// The protected object on its way, if any (what the threat switches act on).
    pub fn protected_mut(&mut self) -> Option<&mut Protected> {
        match self {
            Rendition::Deliver(DeliverRequest {
                message: DcMessage::ProtectedAvatar { protected, .. },
                ..
            }) => Some(protected),
            _ => None,
        }
    }
}

/// Step 7 for the DAC's answer: render (network centric) or deliver to the rendering UE; `Err`
/// names what the answer lacks for the negotiated rendering option.
pub(super) fn rendition(run: &Run, object: ObjectResponse) -> Result<Rendition, &'static str> {
    let n = &run.negotiation;
    let to = match n.rendering {
        Rendering::NetworkCentric => {
            let object: Model = object.object.ok_or("the avatar object")?;
            return Ok(Rendition::Render(RenderRequest {
                tn: n.tn.clone(),
                call_id: run.call_id.clone(),
                object,
            }));
        }
        Rendering::UeACentric => Party::Caller,
        Rendering::UeBCentric => Party::Callee,
    };
    let protected = object.protected.ok_or("the protected avatar object")?;
    Ok(Rendition::Deliver(DeliverRequest {
        call_id: run.call_id.clone(),
        to,
        message: DcMessage::ProtectedAvatar {
            avatar_id: object.avatar_id,
            protected,
        },
    }))
}

/// Threat `AlterObject`: one byte of the ciphertext flipped (the UE's AEAD tag then fails).
/// `false` when the ciphertext does not decode (left as it is).
pub(super) fn alter(p: &mut Protected) -> bool {
    let Ok(mut bytes) = b64u_decode(&p.ciphertext, Part::Payload) else {
        return false;
    };
    let Some(first) = bytes.first_mut() else {
        return false;
    };
    *first ^= 0xff;
    p.ciphertext = b64u(&bytes);
    true
}

/// Threat `TryOpen`: the XR AS derives a key for the protected object with an ephemeral key of
/// its own and tries to open it. The key agreement's note (when the key derives) and the
/// outcome (it is not the recipient: `DecryptionFailed`).
pub(super) fn try_open(
    label: &str,
    p: &Protected,
    own: &EphemeralKey,
) -> (Option<Note>, Result<Model, avatar::Error>) {
    let note = b64u_decode(&p.salt, Part::Payload)
        .ok()
        .and_then(|salt| e2e::derive(own, &p.epk, &salt, &p.info).ok())
        .map(|key| e2e::key_agreement_note(label, &own.public_jwk(), &p.epk, p, &key));
    (note, e2e::open(p, own).map(|(model, _)| model))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kit::node::json_response;

    const UE_A: &str = "+12025551000";

    fn negotiation(rendering: Rendering) -> Negotiation {
        Negotiation {
            tn: UE_A.into(),
            attestation: "a.b.c".into(),
            avatar_id: "qbranch-agent".into(),
            rendering,
        }
    }

    fn model() -> Model {
        Catalogue::load()
            .unwrap()
            .get("qbranch-agent")
            .unwrap()
            .model
            .clone()
    }

    fn protected_for(recipient: &EphemeralKey) -> Protected {
        let dac = EphemeralKey::from_bytes([3; 32]).unwrap();
        e2e::protect(
            &model(),
            &dac,
            &recipient.public_jwk(),
            [5; 16],
            [6; 12],
            Rendering::UeBCentric,
        )
        .unwrap()
        .0
    }

    #[test]
    fn avatar_lists_by_the_callers_number() {
        let c = Catalogue::load().unwrap();
        let (listed, list) = check_list(&c, UE_A, "qbranch-cat");
        assert!(listed);
        assert_eq!(list, ["qbranch-agent", "qbranch-cat"]);
        assert!(!check_list(&c, UE_A, "owl").0, "UE-B's avatar");
        assert!(!check_list(&c, UE_A, "dragon").0, "no such avatar");
        assert_eq!(check_list(&c, "+12025559999", "owl"), (false, vec![]));
    }

    #[test]
    fn negotiations_read_the_attestation_unverified() {
        assert_eq!(
            Negotiation::read(UE_A, "nonsense").unwrap_err().reason(),
            Reason::Malformed
        );
        let claims = avatar::attestation::Claims {
            avatar_id: "qbranch-agent".into(),
            xr_as: "xr-as.ims.mnc002.mcc001.3gppnetwork.org".into(),
            rendering: Rendering::UeACentric,
            epk_ue_a: None,
            epk_ue_b: None,
            exp: 0,
        };
        // Signed by anyone, expired, for another XR AS: the XR AS reads it; the DAC judges.
        let pem = kit::fixtures::read("pki/ue/ue-m.key.pem").unwrap();
        let key = avatar::keys::signing_key_pem(&String::from_utf8(pem).unwrap()).unwrap();
        let att = avatar::attestation::sign(&claims, &key);
        let n = Negotiation::read(UE_A, &att).unwrap();
        assert_eq!(
            (n.avatar_id.as_str(), n.rendering),
            ("qbranch-agent", Rendering::UeACentric)
        );
    }

    #[test]
    fn steps_5_to_7_start_once_with_both() {
        let n = negotiation(Rendering::NetworkCentric);
        let run = Run {
            call_id: "c1".into(),
            negotiation: n.clone(),
        };
        // Negotiation first (the TR's order), then the ADC.
        let mut calls = Calls::default();
        assert_eq!(calls.negotiated("c1", n.clone()), None);
        assert_eq!(calls.adc_open("c1"), Some(run.clone()));
        assert_eq!(calls.adc_open("c1"), None, "one run per call");
        assert_eq!(calls.negotiated("c1", n.clone()), None);
        // The ADC first.
        let mut calls = Calls::default();
        assert_eq!(calls.adc_open("c1"), None);
        assert_eq!(calls.negotiated("c1", n.clone()), Some(run));
        // Solution 5: an ADC and no negotiation does nothing.
        assert_eq!(Calls::default().adc_open("c2"), None);
    }

    #[test]
    fn the_dacs_answers_decided() {
        let object = ObjectResponse {
            avatar_id: "qbranch-agent".into(),
            rendering: Rendering::NetworkCentric,
            object: Some(model()),
            protected: None,
        };
        let ok = json_response(200, &object);
        assert_eq!(dac_outcome(Ok(&ok)).unwrap(), object);
        for (status, reason) in [(403, Reason::NotAuthorised), (404, Reason::NoRecord)] {
            let refused = upstream::problem(status, reason, "no");
            let (got, p) = dac_outcome(Ok(&refused)).unwrap_err();
            assert_eq!((got, p.reason), (status, reason));
        }
        for unreadable in [
            Response::text(403, "no"),
            Response::text(500, "boom"),
            upstream::problem(401, Reason::Expired, "odd status"),
            Response::json(200, "[]"),
        ] {
            let (status, p) = dac_outcome(Ok(&unreadable)).unwrap_err();
            assert_eq!((status, p.reason), (502, Reason::Unreachable));
        }
        let (status, p) = dac_outcome(Err(&kit::Error::Timeout { ms: 1 })).unwrap_err();
        assert_eq!((status, p.reason), (502, Reason::Timeout));
    }

    #[test]
    fn step_7_by_rendering_option() {
        let key = EphemeralKey::from_bytes([4; 32]).unwrap();
        let answer = |rendering, object: bool| ObjectResponse {
            avatar_id: "qbranch-agent".into(),
            rendering,
            object: object.then(model),
            protected: (!object).then(|| protected_for(&key)),
        };
        let run = |rendering| Run {
            call_id: "c1".into(),
            negotiation: negotiation(rendering),
        };
        let Ok(Rendition::Render(r)) = rendition(
            &run(Rendering::NetworkCentric),
            answer(Rendering::NetworkCentric, true),
        ) else {
            panic!("network centric renders at the MF")
        };
        assert_eq!((r.tn.as_str(), r.call_id.as_str()), (UE_A, "c1"));
        assert_eq!(r.object, model());
        for (rendering, to) in [
            (Rendering::UeACentric, Party::Caller),
            (Rendering::UeBCentric, Party::Callee),
        ] {
            let Ok(Rendition::Deliver(d)) = rendition(&run(rendering), answer(rendering, false))
            else {
                panic!("{rendering:?} delivers")
            };
            assert_eq!(d.to, to);
            assert!(matches!(d.message, DcMessage::ProtectedAvatar { .. }));
        }
        assert_eq!(
            rendition(
                &run(Rendering::NetworkCentric),
                answer(Rendering::NetworkCentric, false)
            ),
            Err("the avatar object")
        );
        assert_eq!(
            rendition(
                &run(Rendering::UeBCentric),
                answer(Rendering::UeBCentric, true)
            ),
            Err("the protected avatar object")
        );
    }

    #[test]
    fn an_altered_object_no_longer_opens() {
        let ue_b = EphemeralKey::from_bytes([4; 32]).unwrap();
        let mut p = protected_for(&ue_b);
        assert_eq!(e2e::open(&p, &ue_b).unwrap().0, model());
        let before = p.ciphertext.clone();
        assert!(alter(&mut p));
        assert_ne!(p.ciphertext, before);
        assert_eq!(
            b64u_decode(&p.ciphertext, Part::Payload).unwrap().len(),
            b64u_decode(&before, Part::Payload).unwrap().len(),
            "one byte changed, none added"
        );
        assert_eq!(
            e2e::open(&p, &ue_b).unwrap_err().reason(),
            Reason::DecryptionFailed
        );
        p.ciphertext = "!!".into();
        assert!(!alter(&mut p));
    }

    #[test]
    fn the_xr_as_cannot_open_what_is_for_ue_b() {
        let ue_b = EphemeralKey::from_bytes([4; 32]).unwrap();
        let xr_as = EphemeralKey::from_bytes([8; 32]).unwrap();
        let p = protected_for(&ue_b);
        let (note, opened) = try_open("try", &p, &xr_as);
        assert_eq!(opened.unwrap_err().reason(), Reason::DecryptionFailed);
        let Some(Note::KeyAgreement {
            key_fingerprint, ..
        }) = note
        else {
            panic!("a key agreement note")
        };
        let (_, ue_b_key) = e2e::open(&p, &ue_b).unwrap();
        assert_ne!(key_fingerprint, ue_b_key.fingerprint());
        // UE-B itself can.
        assert!(try_open("ue-b", &p, &ue_b).1.is_ok());
    }
}
