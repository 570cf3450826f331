//! A DC AS/AF (TR 33.790 solution #9, §6.9): the client side of the NEF's DC exposure APIs, a
//! network function of its own in the world. It obtains an access token from the NEF with its
//! TLS client certificate (the OAuth 2.0 client credentials grant, TS 33.501 §13.4.1),
//! subscribes to a subscriber's DC events (§6.9.2.1 step 1) and asks for DC session control
//! (§6.9.2.2 step 1), each over mutual TLS; its own HTTPS server takes the notifications the
//! NEF passes on (step 8) from the NEF only and keeps them.
//!
//! Which certificate it presents is its configuration ([`AfCertificate`]): its own of the
//! world's CA, the rogue CA's (the NEF's TLS handshake refuses it), or none. It decides nothing:
//! every answer of the NEF comes back as it is, a refusal typed ([`AfError`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use avatar::wire::{FORM_TYPE, TokenError as ErrorBody, TokenResponse, encode_form};
use kit::http::{Client, Peer, Request, Response, Server, Trace, handler};
use kit::node::{ClientAuth, Ctx};
use kit::{Error, fixtures, tls};
use proto::trace::{Act, Note, Reason};
use proto::wire::exposure::{
    AF_NOTIFY_PATH, ControlOutcome, ControlRequest, EventKind, NEF_CONTROL_PATH,
    NEF_SUBSCRIPTIONS_PATH, NEF_TOKEN_PATH, Notification, SubscribeRequest, Subscribed,
};
use serde::de::DeserializeOwned;

use crate::exposure::token::Scope;

/// The host of the rogue AF's certificate, issued by the rogue CA (`pki/rogue-ca.pem`).
pub const ROGUE_HOST: &str = "rogue-af.avatars.example";

/// How long the AF waits for the NEF.
const WAIT: Duration = Duration::from_secs(3);

/// Which TLS client certificate the AF presents to the NEF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfCertificate {
    /// Its own, of the world's CA (`pki/tls/<host>`).
    World,
    /// `pki/tls/rogue-af.avatars.example`, of the rogue CA: the NEF's handshake refuses it.
    Rogue,
    /// None.
    None,
}

/// What a DC AS/AF is configured with.
#[derive(Debug, Clone)]
pub struct AfConfig {
    /// The NEF it uses.
    pub nef_host: String,
    /// The certificate it presents.
    pub certificate: AfCertificate,
}

/// Why a request of the AF failed: the NEF's status (none when no answer came), the typed
/// reason, and the detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail} (status {status:?}, {reason:?})")]
pub struct AfError {
    /// The NEF's status, if it answered.
    pub status: Option<u16>,
    /// Why, typed.
    pub reason: Reason,
    /// Why, for the reader.
    pub detail: String,
}

impl AfError {
    /// No answer: the TLS handshake refused, or the NEF unreachable or silent.
    fn unreachable(e: &Error) -> Self {
        Self {
            status: None,
            reason: Reason::Unreachable,
            detail: e.to_string(),
        }
    }

    /// An answer other than the one hoped for. The reason is the one an RFC 6749 error body
    /// carries, else the one the status and an RFC 6750 challenge imply.
    fn answered(r: &Response) -> Self {
        let text = String::from_utf8_lossy(&r.body).trim().to_owned();
        let typed = serde_json::from_slice::<ErrorBody>(&r.body)
            .ok()
            .and_then(|b| b.reason);
        let challenge = r.header_value("www-authenticate").unwrap_or_default();
        let reason = typed.unwrap_or(match r.status {
            400 => Reason::Malformed,
            401 => Reason::NotAuthorised,
            403 if challenge.contains("insufficient_scope") => Reason::Policy,
            403 => Reason::NotAuthorised,
            404 => Reason::NoRecord,
            s if s >= 500 => Reason::Unreachable,
            _ => Reason::Policy,
        });
        Self {
            status: Some(r.status),
            reason,
            detail: format!("the NEF answered {}: {text}", r.status),
        }
    }
}

/// A running DC AS/AF.
#[derive(Debug)]
pub struct DcAf {
    ctx: Ctx,
    config: AfConfig,
    client: Client,
    received: Mutex<Vec<Notification>>,
}

impl DcAf {
    /// Its host (the name of its certificate).
    pub fn host(&self) -> &str {
        &self.ctx.host
    }

    /// The notifications received from the NEF, in order.
    pub fn received(&self) -> Vec<Notification> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.config.nef_host)
    }

    fn note(&self, note: Note) {
        self.ctx.note(None, note);
    }

    /// An access token for `scope` (and the audience `resource`, RFC 8707, when given); noted
    /// obtained or refused.
    pub async fn obtain_token(
        &self,
        scope: Scope,
        resource: Option<&str>,
    ) -> Result<String, AfError> {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
        ];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        let req = Request {
            method: "POST".into(),
            target: self.url(NEF_TOKEN_PATH),
            headers: vec![("content-type".into(), FORM_TYPE.into())],
            body: encode_form(&form).into(),
        };
        let result = self.exchange::<TokenResponse>(req, 200).await;
        let what = format!("a {scope} access token from {}", self.config.nef_host);
        match result {
            Ok(t) => {
                self.note(Note::done(Act::ObtainToken, format!("obtain {what}")));
                Ok(t.access_token)
            }
            Err(e) => {
                let label = format!("obtain {what}: {}", e.detail);
                self.note(Note::refused(Act::ObtainToken, e.reason, label));
                Err(e)
            }
        }
    }

    /// §6.9.2.1 step 1: subscribes to `events` of `impu`, notified at its own
    /// `https://{host}{AF_NOTIFY_PATH}`.
    pub async fn subscribe(
        &self,
        token: &str,
        impu: &str,
        events: &[EventKind],
    ) -> Result<Subscribed, AfError> {
        let body = SubscribeRequest {
            impu: impu.to_owned(),
            events: events.to_vec(),
            notify_uri: format!("https://{}{AF_NOTIFY_PATH}", self.ctx.host),
        };
        let req = self.post(NEF_SUBSCRIPTIONS_PATH, token, &body)?;
        self.exchange(req, 201).await
    }

    /// §6.9.2.2 step 1: asks for `request`; the DCSF's outcome as the NEF relays it.
    pub async fn control(
        &self,
        token: &str,
        request: &ControlRequest,
    ) -> Result<ControlOutcome, AfError> {
        let req = self.post(NEF_CONTROL_PATH, token, request)?;
        self.exchange(req, 200).await
    }

    fn post<T: serde::Serialize>(
        &self,
        path: &str,
        token: &str,
        body: &T,
    ) -> Result<Request, AfError> {
        let json = serde_json::to_vec(body).map_err(|e| AfError {
            status: None,
            reason: Reason::Malformed,
            detail: e.to_string(),
        })?;
        Ok(Request::post_json(self.url(path), json)
            .header("authorization", &format!("Bearer {token}")))
    }

    /// Sends `req`; the JSON answer if it came with `status`.
    async fn exchange<T: DeserializeOwned>(&self, req: Request, status: u16) -> Result<T, AfError> {
        let r = self
            .client
            .send(req)
            .await
            .map_err(|e| AfError::unreachable(&e))?;
        if r.status != status {
            return Err(AfError::answered(&r));
        }
        serde_json::from_slice(&r.body).map_err(|e| AfError {
            status: Some(r.status),
            reason: Reason::Malformed,
            detail: format!("the NEF's answer is unusable: {e}"),
        })
    }

    /// `POST AF_NOTIFY_PATH` from the NEF: a notification kept and noted.
    fn take(&self, req: &Request, peer: &Peer) -> Response {
        if req.target.split('?').next() != Some(AF_NOTIFY_PATH) {
            return Response::text(404, format!("no such resource: {}", req.target));
        }
        if req.method != "POST" {
            return Response::text(405, "only POST");
        }
        let nef = &self.config.nef_host;
        if let Err(why) = kit::tls::client_is(peer.certificate.as_deref(), nef) {
            let label = format!("refuse a DC event notification: the NEF only: {why}");
            self.ctx.note(
                peer.msg,
                Note::refused(Act::ReceiveDcEvent, Reason::NotAuthorised, label),
            );
            return Response::text(403, format!("the NEF only: {why}"));
        }
        let n: Notification = match serde_json::from_slice(&req.body) {
            Ok(n) => n,
            Err(e) => return Response::text(400, format!("not a notification: {e}")),
        };
        let shown = serde_json::to_string(&n).unwrap_or_default();
        self.ctx.note(
            peer.msg,
            Note::done(
                Act::ReceiveDcEvent,
                format!("receive {} from the NEF: {shown}", n.event),
            ),
        );
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(n);
        Response::new(204, "text/plain", "")
    }
}

/// The HTTPS client presenting the configured certificate.
fn client(ctx: &Ctx, certificate: AfCertificate) -> Result<Client, Error> {
    let identity = match certificate {
        AfCertificate::World => return ctx.https_client(true),
        AfCertificate::None => return ctx.https_client(false),
        AfCertificate::Rogue => fixtures::tls_identity(ROGUE_HOST)?,
    };
    let roots = tls::roots_from_pem(&fixtures::read(fixtures::TLS_CA)?)?;
    let trace = Trace {
        tap: ctx.tap.clone(),
        node: ctx.id.clone(),
    };
    Ok(Client::new(
        tls::client_config(roots, Some(identity))?,
        ctx.resolve.clone(),
    )
    .with_timeout(WAIT)
    .with_trace(trace))
}

/// Starts a DC AS/AF: its HTTPS server (mutual TLS; notifications from the NEF only) and its
/// client for the NEF.
pub async fn start(ctx: &Ctx, config: AfConfig) -> Result<(Arc<DcAf>, Server), Error> {
    let af = Arc::new(DcAf {
        ctx: ctx.clone(),
        client: client(ctx, config.certificate)?,
        config,
        received: Mutex::new(Vec::new()),
    });
    let served = af.clone();
    let h = handler(move |req: Request, peer: Peer| {
        let af = served.clone();
        async move { af.take(&req, &peer) }
    });
    let server = ctx.https_server(h, ClientAuth::Required).await?;
    Ok((af, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_status_and_reason() {
        let r = |status: u16, challenge: Option<&str>| {
            let mut r = Response::text(status, "no");
            if let Some(c) = challenge {
                r.headers.push(("www-authenticate".into(), c.into()));
            }
            AfError::answered(&r)
        };
        let cases = [
            (
                r(401, Some("Bearer error=\"invalid_token\"")),
                Reason::NotAuthorised,
            ),
            (
                r(403, Some("Bearer error=\"insufficient_scope\"")),
                Reason::Policy,
            ),
            (r(403, None), Reason::NotAuthorised),
            (r(400, None), Reason::Malformed),
            (r(502, None), Reason::Unreachable),
        ];
        for (e, reason) in cases {
            assert_eq!(e.reason, reason, "{e}");
        }
        let body = ErrorBody {
            error: avatar::wire::OAuthError::InvalidScope,
            error_description: "x".into(),
            reason: Some(Reason::Policy),
        };
        let typed = kit::node::json_response(400, &body);
        assert_eq!(AfError::answered(&typed).reason, Reason::Policy);
        let e = AfError::unreachable(&Error::Timeout { ms: 3000 });
        assert_eq!((e.status, e.reason), (None, Reason::Unreachable));
    }
}
