//! Registration through the P-CSCF (TS 24.229 §5.1.1.2, RFC 3261 §10.2) with SIP Digest
//! (RFC 3261 §22.4, RFC 7616/8760 SHA-256): the first REGISTER names the private identity
//! (TS 24.229 §5.1.1.2.1) when the UE has credentials; one 401 Digest challenge is answered
//! with a second REGISTER in the same registration attempt (Call-ID, From tag, CSeq 2); the
//! Service-Route of the 200 is kept for the UE's requests.
//!
//! Notes: [`Act::AnswerDigest`] when a challenge is answered (refused when it cannot be:
//! another algorithm than SHA-256, or no `qop=auth`).

use kit::Error;
use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};

use crate::digest::{derived_impi, digest_authorization, digest_challenge, digest_initial};
use crate::uac::final_response;
use crate::{Access, Ue, lock, sip_error};

/// The CSeq number of the REGISTER answering a challenge.
const ANSWER_CSEQ: u32 = 2;

/// A private identity and the password to answer with.
#[derive(Debug, Clone)]
struct Secret {
    impi: String,
    password: String,
}

/// The REGISTER answering a challenge: `first` (as built, without Via) with CSeq
/// [`ANSWER_CSEQ`] and `authorization` as its only Authorization. Pure.
fn answer_request(first: &Request, authorization: &str) -> Request {
    let mut retry = first.clone();
    sipmsg::remove(&mut retry.headers, "Via");
    sipmsg::set(
        &mut retry.headers,
        "CSeq",
        format!("{ANSWER_CSEQ} REGISTER"),
    );
    sipmsg::set(&mut retry.headers, "Authorization", authorization);
    retry
}

/// The Service-Route URIs of a 200 to REGISTER (RFC 3608), top first.
fn service_route(ok: &Response) -> Vec<String> {
    sipmsg::values(&ok.headers, "Service-Route")
        .into_iter()
        .flat_map(sipmsg::split_list)
        .filter_map(NameAddr::parse)
        .map(|n| n.uri)
        .collect()
}

impl Ue {
    /// REGISTER through the P-CSCF (a trunk has nothing to register) as [`Ue::impu`], with
    /// the configured credentials ([`crate::UeConfig::impi`], [`crate::UeConfig::password`]):
    /// one Digest challenge is answered. Returns the final status (a 401 when the UE has no
    /// credentials).
    pub async fn register(&self) -> Result<u16, Error> {
        let secret = match (&self.config.impi, &self.config.password) {
            (Some(impi), Some(password)) => Some(Secret {
                impi: impi.clone(),
                password: password.clone(),
            }),
            _ => None,
        };
        self.register_with(&self.impu(), secret).await
    }

    /// Registers `impu` — someone else's, for the threat variants — from this UE. Without a
    /// password the REGISTER names no private identity and no challenge is answered (the 401
    /// is the final status); with one, the private identity `impu` implies (TS 24.229
    /// §5.4.1.2.1) is named and the challenge answered with that password (a wrong one: 403).
    pub async fn register_as(&self, impu: &str, password: Option<&str>) -> Result<u16, Error> {
        let secret = password.map(|p| Secret {
            impi: derived_impi(impu),
            password: p.to_owned(),
        });
        self.register_with(impu, secret).await
    }

    /// The first REGISTER of `impu` (without Via): to the home domain through the P-CSCF (or
    /// the forged next hop), naming `impi` when given.
    fn register_request(&self, impu: &str, impi: Option<&str>) -> Result<Request, Error> {
        let Access::Pcscf { pcscf_host, domain } = &self.config.access else {
            return Err(sip_error("only a UE behind a P-CSCF registers"));
        };
        let uri = format!("sip:{domain}");
        let mut text = self.base(
            "REGISTER",
            &uri,
            &format!("<{impu}>"),
            &format!("<{impu}>"),
            1,
        );
        let first_hop = self.forged().next_hop.unwrap_or_else(|| pcscf_host.clone());
        text.push_str(&format!("Route: <sip:{first_hop};lr>\r\n"));
        if let Some(impi) = impi {
            let authorization = digest_initial(impi, domain, &uri);
            text.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        text.push_str("Expires: 600\r\nSupported: path\r\nContent-Length: 0\r\n\r\n");
        Request::try_from(text.as_str()).map_err(|e| sip_error(e.to_string()))
    }

    /// Sends `request` and waits (bounded) for its final response.
    async fn register_exchange(&self, request: Request) -> Result<Response, Error> {
        let mut tx = self.endpoint().send_request(request).await?;
        final_response(&mut tx, self.config.wait, "REGISTER").await
    }

    /// The REGISTER answering the Digest challenge of `unauthorized`, if it carries one this UE
    /// can answer; noted either way.
    fn answer_digest(
        &self,
        first: &Request,
        unauthorized: &Response,
        secret: &Secret,
    ) -> Option<Request> {
        let challenge = digest_challenge(unauthorized)?;
        let cnonce = self
            .digest_rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .hex(16);
        let uri = first.uri.to_string();
        let answer = digest_authorization(
            &challenge,
            &secret.impi,
            &secret.password,
            "REGISTER",
            &uri,
            &cnonce,
        );
        let label = format!(
            "answer the registrar's Digest challenge (realm {}) as {} (RFC 7616, RFC 8760 SHA-256)",
            challenge.realm, secret.impi
        );
        match answer {
            Ok(authorization) => {
                self.ctx.note(None, Note::done(Act::AnswerDigest, label));
                Some(answer_request(first, &authorization))
            }
            Err(unsupported) => {
                let label = format!("{label}: cannot, {unsupported}");
                self.ctx.note(
                    None,
                    Note::refused(Act::AnswerDigest, Reason::Malformed, label),
                );
                None
            }
        }
    }

    /// Registers `impu`, answering one Digest challenge with `secret` if given; keeps the
    /// Service-Route of a 200.
    async fn register_with(&self, impu: &str, secret: Option<Secret>) -> Result<u16, Error> {
        if !matches!(self.config.access, Access::Pcscf { .. }) {
            return Ok(200);
        }
        let first = self.register_request(impu, secret.as_ref().map(|s| s.impi.as_str()))?;
        let mut last = self.register_exchange(first.clone()).await?;
        if last.status_code.code() == 401
            && let Some(secret) = &secret
            && let Some(retry) = self.answer_digest(&first, &last, secret)
        {
            last = self.register_exchange(retry).await?;
        }
        let code = last.status_code.code();
        if code == 200 {
            lock(&self.state).service_route = service_route(&last);
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_answer_is_the_same_registration_attempt() {
        let text = "REGISTER sip:ims.a SIP/2.0\r\nVia: SIP/2.0/UDP ue:1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:+1@ims.a>;tag=1\r\nTo: <sip:+1@ims.a>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nRoute: <sip:pcscf;lr>\r\nAuthorization: Digest username=\"+1@ims.a\", nonce=\"\", response=\"\"\r\nContent-Length: 0\r\n\r\n";
        let first = Request::try_from(text).unwrap();
        let retry = answer_request(&first, "Digest username=\"+1@ims.a\", nonce=\"n\"");
        assert!(sipmsg::first(&retry.headers, "Via").is_none());
        assert_eq!(sipmsg::first(&retry.headers, "CSeq"), Some("2 REGISTER"));
        assert_eq!(
            sipmsg::values(&retry.headers, "Authorization"),
            ["Digest username=\"+1@ims.a\", nonce=\"n\""]
        );
        for h in ["From", "To", "Call-ID", "Route"] {
            assert_eq!(
                sipmsg::first(&retry.headers, h),
                sipmsg::first(&first.headers, h)
            );
        }
    }
}
