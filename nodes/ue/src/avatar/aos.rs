//! Solution #8 step 21 (TR 33.790 §6.8.2), the UE's side: the other party's avatar as its
//! network delivered it — the `rcd` Identity header of the INVITE (callee) or of the 200
//! (caller), present only when it verified, with `verstat` on P-Asserted-Identity — and the
//! fetch of its object from that party's AOS, with the UE's signed proof
//! (`avatar::aos_request`), checked against the digest the PASSporT signed before it is
//! rendered and shown.
//!
//! Notes: [`Act::FetchAvatarObject`] (done; refused with the AOS's reason, or `ClaimMismatch`
//! when the bytes are not those signed), then [`Act::RenderAvatar`] and [`Act::ShowAvatar`]
//! with their pictures.

use ::avatar::aos_request::{self, Claims};
use kit::http::Request as HttpRequest;
use proto::sipmsg::{self, Headers, NameAddr};
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::{FacialPoints, Frame, Model, Problem, pct, unpct};
use stir::jose::{CompactJws, b64u_decode};
use stir::rcd::DigestAlg;
use stir::{IdentityHeader, Part};

use super::AvatarError;
use crate::Ue;

/// The other party's avatar, as a verified message signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAvatar {
    /// Its name (the RCD `nam`).
    pub name: Option<String>,
    /// The Avatar ID (the object URL's last segment).
    pub avatar_id: String,
    /// The object URL (the RCD `icn`).
    pub url: String,
    /// The signed digest of the object (`rcdi` for `/icn`).
    pub digest: String,
}

/// The avatar a message signs for the other party: its `rcd` Identity header, when the
/// network marked the identity verified (`verstat=TN-Validation-Passed` on
/// P-Asserted-Identity) and the claims carry an icon with its digest. Pure; the signature was
/// verified by the network (the UE trusts its own network's verstat, TS 24.229 §7.2A.20).
pub fn peer_avatar(headers: &Headers) -> Option<PeerAvatar> {
    let verified = sipmsg::first(headers, "P-Asserted-Identity")
        .and_then(NameAddr::parse)
        .is_some_and(|p| p.uri.contains("verstat=TN-Validation-Passed"));
    if !verified {
        return None;
    }
    sipmsg::values(headers, "Identity")
        .into_iter()
        .filter_map(|v| IdentityHeader::parse(v).ok())
        .filter(|h| h.ppt.as_deref() == Some("rcd"))
        .find_map(|h| from_claims(&h.jws))
}

/// The avatar of an `rcd` PASSporT's claims.
fn from_claims(jws: &str) -> Option<PeerAvatar> {
    let jws = CompactJws::split(jws).ok()?;
    let payload = b64u_decode(jws.payload, Part::Payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let url = claims.pointer("/rcd/icn")?.as_str()?.to_owned();
    let digest = claims.pointer("/rcdi/~1icn")?.as_str()?.to_owned();
    let segment = url.split('?').next()?.rsplit('/').next()?;
    Some(PeerAvatar {
        name: claims
            .pointer("/rcd/nam")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        avatar_id: unpct(segment)?,
        url,
        digest,
    })
}

impl Ue {
    /// Step 21: fetches `peer`'s object from its AOS for call `call_id` with this UE's proof,
    /// checks the bytes against the signed digest, renders and shows it (`whose`: "the
    /// caller's", "the callee's"). Every refusal is noted and returned.
    pub async fn fetch_peer_avatar(
        &self,
        peer: &PeerAvatar,
        call_id: &str,
        whose: &str,
    ) -> Result<Frame, AvatarError> {
        let fetched = self.fetch_object(peer, call_id).await;
        let model = match fetched {
            Ok(model) => model,
            Err(e) => {
                let label = format!("fetch {whose} avatar {}: {e}", peer.avatar_id);
                self.ctx.note(
                    None,
                    Note::refused(Act::FetchAvatarObject, e.reason(), label),
                );
                return Err(e);
            }
        };
        self.ctx.note(
            None,
            Note::done(
                Act::FetchAvatarObject,
                format!(
                    "fetch {whose} avatar {} from {}: the bytes are those signed ({})",
                    peer.avatar_id, peer.url, peer.digest
                ),
            ),
        );
        // A still: the neutral face (no facial points travel in solution 8).
        let neutral = FacialPoints {
            eyes_open: 100,
            mouth_open: 0,
            smile: 0,
            gaze: 0,
        };
        let frame = self.render(&model, &neutral, 0);
        self.show(&frame, whose);
        Ok(frame)
    }

    /// The GET with the proof, the answer's status and the digest check.
    async fn fetch_object(&self, peer: &PeerAvatar, call_id: &str) -> Result<Model, AvatarError> {
        let key = self.ue_key().map_err(AvatarError::Key)?;
        let claims = Claims::new(&self.impu(), &peer.avatar_id, call_id, self.ctx.clock.now());
        let proof = aos_request::sign(&claims, &key);
        let url = format!("{}?call={}", peer.url, pct(call_id));
        let client = self.ctx.https_client(false).map_err(AvatarError::Fetch)?;
        let request = HttpRequest::get(url).header("authorization", &format!("Bearer {proof}"));
        let answer = client.send(request).await.map_err(AvatarError::Fetch)?;
        if answer.status != 200 {
            let problem = serde_json::from_slice::<Problem>(&answer.body).ok();
            return Err(AvatarError::Refused {
                status: answer.status,
                reason: problem.as_ref().map_or(Reason::Unreachable, |p| p.reason),
                detail: problem.map(|p| p.detail).unwrap_or_default(),
            });
        }
        let got = DigestAlg::Sha256.sri(&answer.body);
        if got != peer.digest {
            return Err(AvatarError::DigestMismatch {
                signed: peer.digest.clone(),
                got,
            });
        }
        serde_json::from_slice(&answer.body).map_err(AvatarError::Encode)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::sip::Request;
    use stir::jose::b64u;

    fn message(pai: &str, rcd: &serde_json::Value) -> Request {
        let payload = b64u(rcd.to_string().as_bytes());
        let identity = format!("e30.{payload}.c2ln;info=<https://cr/x.pem>;alg=ES256;ppt=rcd");
        let text = format!(
            "INVITE sip:b@ims.b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@ims.a>;tag=1\r\nTo: <sip:b@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nP-Asserted-Identity: {pai}\r\nIdentity: {identity}\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "rcd": {"nam": "Owl", "icn": "https://aos.b/aos/v1/objects/owl"},
            "rcdi": {"/icn": "sha256-AAAA"}
        })
    }

    #[test]
    fn a_verified_rcd_gives_the_peer_avatar() {
        let r = message(
            "\"Owl\" <sip:+1@ims.b;user=phone;verstat=TN-Validation-Passed>",
            &claims(),
        );
        let a = peer_avatar(&r.headers).unwrap();
        assert_eq!(a.avatar_id, "owl");
        assert_eq!(a.name.as_deref(), Some("Owl"));
        assert_eq!(a.url, "https://aos.b/aos/v1/objects/owl");
        assert_eq!(a.digest, "sha256-AAAA");
    }

    #[test]
    fn nothing_unless_verified_and_complete() {
        let failed = message(
            "<sip:+1@ims.b;user=phone;verstat=TN-Validation-Failed>",
            &claims(),
        );
        assert_eq!(peer_avatar(&failed.headers), None);
        let no_digest = message(
            "<sip:+1@ims.b;verstat=TN-Validation-Passed>",
            &serde_json::json!({"rcd": {"icn": "https://aos.b/aos/v1/objects/owl"}}),
        );
        assert_eq!(peer_avatar(&no_digest.headers), None);
    }
}
