//! The NEF's DC exposure routes (TR 33.790 solution #9, §6.9.2): the token endpoint, event
//! subscriptions (Figure 6.9.2.1-1), the DCSF's notifications (steps 7–8) and DC session control
//! (Figure 6.9.2.2-1). Each handler parses, asks [`crate::exposure`] what to do, carries it out
//! (the HSS/UDM for the policy, the DCSF, the AF's `notifyUri`) and notes it. Every refusal
//! is answered with its [`Refusal`]'s status and noted with its typed reason.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use kit::http::{Client, Peer, Request, Response};
use kit::node::{Ctx, json_response};
use p256::ecdsa::SigningKey;
use proto::clock::Rng;
use proto::trace::{Act, Note, Reason};
use proto::wire::avatar::pct;
use proto::wire::exposure::{
    ControlRequest, DCSF_CONTROL_PATH, DCSF_DC_PREFIX, DCSF_SUBSCRIPTIONS_PATH, DcRecord,
    DcsfSubscribe, EventKind, HSS_POLICY_PATH, NEF_CONTROL_PATH, NEF_NOTIFY_PREFIX,
    NEF_SUBSCRIPTIONS_PATH, NEF_TOKEN_PATH, Notification, PolicyAnswer, SubscribeRequest,
    Subscribed, Target,
};
use serde::de::DeserializeOwned;

use crate::config::{ExposureConfig, NefConfig};
use crate::exposure::decide::{self, Permission};
use crate::exposure::grant::{self, GrantRefusal};
use crate::exposure::token::{self, ExposureClaims, Issuer, Scope, TokenError};
use crate::exposure::{AfPolicy, Refusal};

/// An AF's subscription as the NEF keeps it: whose, which events, where to forward.
#[derive(Debug, Clone)]
struct Kept {
    af: AfPolicy,
    impu: String,
    events: Vec<EventKind>,
    notify_uri: String,
}

/// What the exposure routes hold: the configuration, the NEF's signing key and certificate,
/// and the subscriptions.
pub(crate) struct Exposure {
    config: ExposureConfig,
    key: SigningKey,
    cert: Vec<u8>,
    /// How many tokens were issued: the n-th `jti` is drawn from `<id>/dc-at<n>`.
    issued: AtomicU64,
    /// How many subscriptions were made: the n-th is `nef-sub-<n>`.
    made: AtomicU64,
    subscriptions: Mutex<BTreeMap<String, Kept>>,
}

impl fmt::Debug for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exposure")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a handler is given.
pub(crate) struct Call<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) http: &'a Client,
    pub(crate) req: &'a Request,
    pub(crate) peer: &'a Peer,
}

impl Call<'_> {
    fn note(&self, note: Note) {
        self.ctx.note(self.peer.msg, note);
    }

    /// Notes `refusal` under `act` (a peer's failure as a failed check of its answer) and
    /// gives it back.
    fn refuse(&self, act: Act, refusal: Refusal) -> Refusal {
        match &refusal {
            Refusal::Unavailable { peer, detail } => self.note(Note::fail(
                format!("{peer} answer"),
                Reason::Unreachable,
                None,
                detail.clone(),
            )),
            _ => self.note(Note::refused(act, refusal.reason(), refusal.label())),
        }
        refusal
    }
}

impl Exposure {
    /// The exposure routes of `config`'s `[exposure]` section (none without one), with the
    /// NEF's TLS key and certificate (`pki/tls/<host>.key.pem`, `.pem`).
    pub(crate) fn load(ctx: &Ctx, config: &NefConfig) -> Result<Option<Self>, kit::Error> {
        let Some(exposure) = config.exposure.clone() else {
            return Ok(None);
        };
        let fault = |path: String, e: avatar::Error| kit::Error::Fixture {
            path,
            detail: e.to_string(),
        };
        let text = |path: &str| {
            kit::fixtures::read(path).map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let key_path = format!("pki/tls/{}.key.pem", ctx.host);
        let key =
            avatar::keys::signing_key_pem(&text(&key_path)?).map_err(|e| fault(key_path, e))?;
        let cert_path = format!("pki/tls/{}.pem", ctx.host);
        let cert =
            avatar::cert::der_from_pem(&text(&cert_path)?).map_err(|e| fault(cert_path, e))?;
        Ok(Some(Self {
            config: exposure,
            key,
            cert,
            issued: AtomicU64::new(0),
            made: AtomicU64::new(0),
            subscriptions: Mutex::new(BTreeMap::new()),
        }))
    }

    /// Whether `path` is one of the exposure routes.
    pub(crate) fn serves(path: &str) -> bool {
        matches!(
            path,
            NEF_TOKEN_PATH | NEF_SUBSCRIPTIONS_PATH | NEF_CONTROL_PATH
        ) || path.starts_with(NEF_NOTIFY_PREFIX)
    }

    fn kept(&self) -> MutexGuard<'_, BTreeMap<String, Kept>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Routes one request of [`Exposure::serves`]'s paths.
    pub(crate) async fn handle(&self, call: &Call<'_>, path: &str) -> Response {
        if call.req.method != "POST" {
            return Response::text(405, "only POST");
        }
        match path {
            NEF_TOKEN_PATH => self.token(call),
            NEF_SUBSCRIPTIONS_PATH => match self.subscribe(call).await {
                Ok(s) => json_response(201, &s),
                Err(r) => r.response(),
            },
            NEF_CONTROL_PATH => match self.control(call).await {
                Ok(r) => r,
                Err(r) => r.response(),
            },
            _ => {
                let id = path.strip_prefix(NEF_NOTIFY_PREFIX).unwrap_or_default();
                match self.notify(call, id).await {
                    Ok(()) => Response::new(204, "text/plain", ""),
                    Err(r) => r.response(),
                }
            }
        }
    }

    // ---- the token endpoint ----------------------------------------------------------------

    /// `POST NEF_TOKEN_PATH`: a token for any client of the world's CA, bound to its
    /// certificate, with the scope and audience it asked for.
    fn token(&self, call: &Call<'_>) -> Response {
        match self.try_token(call) {
            Ok(r) => r,
            Err(refusal) => {
                call.note(Note::refused(
                    Act::IssueToken,
                    refusal.reason(),
                    refusal.label(),
                ));
                refusal.response()
            }
        }
    }

    fn try_token(&self, call: &Call<'_>) -> Result<Response, GrantRefusal> {
        let der = call.peer.certificate.as_deref();
        let client = decide::identify(der).map_err(GrantRefusal::Client)?;
        let ask = grant::parse(&call.req.body)?;
        let der = der.ok_or(GrantRefusal::Client(Refusal::NoCertificate))?;
        let issuer = Issuer {
            nef: &call.ctx.host,
            lifetime: self.config.token_lifetime,
        };
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rng = Rng::for_node(call.ctx.seed, &format!("{}/dc-at{n}", call.ctx.id));
        let jti: String = (0..4).map(|_| format!("{:08x}", rng.u32())).collect();
        let now = call.ctx.clock.now();
        let mut claims = token::claims(&issuer, &client, der, ask.scope, now, &jti);
        claims.aud = ask.audience;
        let access = token::issue(&claims, &self.key, &self.cert)
            .map_err(|e| GrantRefusal::Issue(e.to_string()))?;
        call.note(Note::done(Act::IssueToken, issued_label(&claims)));
        if let Some(note) = token::note(&format!("access token issued to {client}"), &access) {
            call.note(note);
        }
        let body = avatar::wire::TokenResponse {
            access_token: access,
            token_type: "Bearer".into(),
            expires_in: self.config.token_lifetime,
            scope: claims.scope,
        };
        let mut r = json_response(200, &body);
        r.headers.push(("cache-control".into(), "no-store".into()));
        Ok(r)
    }

    // ---- shared steps ------------------------------------------------------------------------

    /// The bearer token of the request, validated for `scope` (noted refused when it does not
    /// hold).
    fn authorised(&self, call: &Call<'_>, scope: Scope) -> Result<ExposureClaims, Refusal> {
        let token = bearer(call.req).ok_or_else(|| TokenError::Malformed {
            detail: "no Bearer access token in Authorization".into(),
        });
        let now = call.ctx.clock.now();
        token
            .and_then(|t| {
                let der = call.peer.certificate.as_deref();
                token::validate(t, &self.cert, der, scope, now)
            })
            .map_err(|e| call.refuse(Act::AuthorizeExposure, Refusal::Token(e)))
    }

    /// Step 2: the policy of `af` and the consent of `impu`, from the HSS/UDM.
    async fn policy(&self, call: &Call<'_>, af: &str, impu: &str) -> Result<PolicyAnswer, Refusal> {
        let url = format!(
            "https://{}{HSS_POLICY_PATH}?af={}&impu={}",
            self.config.hss_host,
            pct(af),
            pct(impu)
        );
        fetch(call.http, Request::get(url), &self.config.hss_host, 200)
            .await
            .map_err(|r| call.refuse(Act::AuthorizeExposure, r))
    }

    // ---- Figure 6.9.2.1-1: event subscription -------------------------------------------------

    async fn subscribe(&self, call: &Call<'_>) -> Result<Subscribed, Refusal> {
        let act = Act::AuthorizeExposure;
        let claims = self.authorised(call, Scope::Events)?;
        let request: SubscribeRequest =
            body(call.req, "subscription request").map_err(|r| call.refuse(act, r))?;
        decide::notify_uri_of(&claims.sub, &request.notify_uri).map_err(|r| call.refuse(act, r))?;
        let answer = self.policy(call, &claims.sub, &request.impu).await?;
        let af = decide::known(answer.af, &claims.sub).map_err(|r| call.refuse(act, r))?;
        let grant =
            decide::subscribe(&af, &answer.consent, &request).map_err(|r| call.refuse(act, r))?;
        let Permission::Events { events, anonymise } = grant.permission else {
            // `decide::subscribe` grants events only.
            return Err(call.refuse(act, Refusal::NoEvents));
        };
        call.note(Note::done(
            act,
            format!(
                "grant {} the DC events {} of {} ({}; the subscriber consented to their exposure)",
                af.host,
                words(&events),
                request.impu,
                if anonymise { "anonymised" } else { "in full" }
            ),
        ));
        let n = self.made.fetch_add(1, Ordering::SeqCst) + 1;
        let id = format!("nef-sub-{n}");
        let at_dcsf = DcsfSubscribe {
            impu: request.impu.clone(),
            events: events.clone(),
            notify_uri: format!("https://{}{NEF_NOTIFY_PREFIX}{id}", call.ctx.host),
        };
        let url = format!("https://{}{DCSF_SUBSCRIPTIONS_PATH}", self.config.dcsf_host);
        let post = Request::post_json(url, to_json(&at_dcsf));
        let _dcsf: Subscribed = fetch(call.http, post, &self.config.dcsf_host, 201)
            .await
            .map_err(|r| call.refuse(act, r))?;
        self.kept().insert(
            id.clone(),
            Kept {
                af,
                impu: request.impu,
                events: events.clone(),
                notify_uri: request.notify_uri,
            },
        );
        Ok(Subscribed {
            subscription_id: id,
            events,
            anonymised: Some(anonymise),
        })
    }

    /// Steps 7–8: a notification from the DCSF for subscription `id`, passed on to its AF as
    /// the AF's policy says.
    async fn notify(&self, call: &Call<'_>, id: &str) -> Result<(), Refusal> {
        let act = Act::ForwardDcEvent;
        kit::tls::client_is(call.peer.certificate.as_deref(), &self.config.dcsf_host).map_err(
            |why| {
                let names = vec![why];
                call.refuse(act, Refusal::UnknownAf { names })
            },
        )?;
        let kept = self.kept().get(id).cloned();
        let Some(kept) = kept else {
            let refusal = Refusal::NoSuchSubscription { id: id.to_owned() };
            return Err(call.refuse(act, refusal));
        };
        let n: Notification = body(call.req, "notification").map_err(|r| call.refuse(act, r))?;
        if !kept.events.contains(&n.event) {
            let refusal = Refusal::EventNotAllowed {
                af: kept.af.host.clone(),
                event: n.event,
            };
            return Err(call.refuse(act, refusal));
        }
        let seen = decide::anonymise(n.clone(), &kept.af);
        call.note(Note::done(act, forward_label(&n, &seen, &kept)));
        let post = Request::post_json(kept.notify_uri.clone(), to_json(&seen));
        let peer = kept.af.host.clone();
        match call.http.send(post).await {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(call.refuse(
                act,
                Refusal::Unavailable {
                    peer,
                    detail: format!("answered {}", r.status),
                },
            )),
            Err(e) => Err(call.refuse(
                act,
                Refusal::Unavailable {
                    peer,
                    detail: e.to_string(),
                },
            )),
        }
    }

    // ---- Figure 6.9.2.2-1: DC session control --------------------------------------------------

    async fn control(&self, call: &Call<'_>) -> Result<Response, Refusal> {
        let act = Act::AuthorizeExposure;
        let claims = self.authorised(call, Scope::Control)?;
        let request: ControlRequest =
            body(call.req, "control request").map_err(|r| call.refuse(act, r))?;
        let answer = self.policy(call, &claims.sub, &request.impu).await?;
        let af = decide::known(answer.af, &claims.sub).map_err(|r| call.refuse(act, r))?;
        // Step 4's policy and consent checks first: an AF refused here never makes the NEF
        // ask the DCSF about the subscriber's data channels.
        decide::rights(&af, &answer.consent, &request).map_err(|r| call.refuse(act, r))?;
        let adc_app = self.check_application(call, &af, &request).await?;
        let grant = decide::control(&af, &answer.consent, &request, adc_app.as_deref())
            .map_err(|r| call.refuse(act, r))?;
        call.note(Note::done(
            act,
            format!(
                "grant {}: {} the {} of {}'s call{} (the subscriber consented to AF control)",
                af.host,
                request.operation,
                request.target,
                request.impu,
                match &grant.permission {
                    Permission::Control { app: Some(app), .. } => format!(" for {app}"),
                    _ => String::new(),
                }
            ),
        ));
        let url = format!("https://{}{DCSF_CONTROL_PATH}", self.config.dcsf_host);
        let post = Request::post_json(url, to_json(&request));
        let r = call.http.send(post).await.map_err(|e| {
            let peer = self.config.dcsf_host.clone();
            call.refuse(
                act,
                Refusal::Unavailable {
                    peer,
                    detail: e.to_string(),
                },
            )
        })?;
        // Step 7: the DCSF's outcome, as it is, to the AF.
        let content_type = r.header_value("content-type").unwrap_or("application/json");
        Ok(Response::new(r.status, content_type, r.body.clone()))
    }

    /// Step 3 (NOTE 1: at the NEF): the application the request touches — for an ongoing ADC
    /// the one the DCSF reports — is one the AF owns. Noted either way; the ADC's application
    /// is given back.
    async fn check_application(
        &self,
        call: &Call<'_>,
        af: &AfPolicy,
        request: &ControlRequest,
    ) -> Result<Option<String>, Refusal> {
        let act = Act::CheckDcApplication;
        let dc_id = request
            .dc_id
            .as_deref()
            .filter(|_| request.target == Target::Adc);
        let adc_app = match dc_id {
            Some(dc_id) => self.adc_application(call, &request.impu, dc_id).await?,
            None => None,
        };
        let app =
            decide::owned(af, request, adc_app.as_deref()).map_err(|r| call.refuse(act, r))?;
        let label = match (&app, dc_id) {
            (Some(app), Some(dc)) => {
                format!(
                    "{} owns {app}, the application of {dc} as the DCSF reports it",
                    af.host
                )
            }
            (Some(app), None) => format!("{} owns {app}", af.host),
            (None, _) => format!(
                "{} of the {}: no DC application concerned",
                request.operation, request.target
            ),
        };
        call.note(Note::done(act, label));
        Ok(adc_app)
    }

    /// The application of the ongoing ADC `dc_id`, as the DCSF reports it; it must be an ADC
    /// of `impu`'s call.
    async fn adc_application(
        &self,
        call: &Call<'_>,
        impu: &str,
        dc_id: &str,
    ) -> Result<Option<String>, Refusal> {
        let act = Act::CheckDcApplication;
        let dcsf = &self.config.dcsf_host;
        let url = format!("https://{dcsf}{DCSF_DC_PREFIX}{}", pct(dc_id));
        let r = call.http.send(Request::get(url)).await.map_err(|e| {
            let detail = e.to_string();
            call.refuse(
                act,
                Refusal::Unavailable {
                    peer: dcsf.clone(),
                    detail,
                },
            )
        })?;
        if r.status == 404 {
            let dc_id = dc_id.to_owned();
            return Err(call.refuse(act, Refusal::NoSuchDc { dc_id }));
        }
        let record: DcRecord = answer(&r, dcsf, 200).map_err(|e| call.refuse(act, e))?;
        let party = record.caller == impu || record.callee == impu;
        if !party || record.section.target != Target::Adc {
            let refusal = Refusal::OtherDc {
                dc_id: dc_id.to_owned(),
                impu: impu.to_owned(),
            };
            return Err(call.refuse(act, refusal));
        }
        Ok(record.section.app)
    }
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1; the scheme in any case).
pub(crate) fn bearer(req: &Request) -> Option<&str> {
    let value = req.header_value("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The JSON body of a request, or why it is not a `what`.
fn body<T: DeserializeOwned>(req: &Request, what: &'static str) -> Result<T, Refusal> {
    serde_json::from_slice(&req.body).map_err(|e| Refusal::BadBody {
        what,
        detail: e.to_string(),
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail (string keys, no maps of other keys).
    serde_json::to_vec(value).unwrap_or_default()
}

/// Sends `req` to `peer`; its JSON answer if it came with `status`.
async fn fetch<T: DeserializeOwned>(
    http: &Client,
    req: Request,
    peer: &str,
    status: u16,
) -> Result<T, Refusal> {
    let r = http.send(req).await.map_err(|e| Refusal::Unavailable {
        peer: peer.to_owned(),
        detail: e.to_string(),
    })?;
    answer(&r, peer, status)
}

/// The JSON answer of `peer` if it came with `status`.
fn answer<T: DeserializeOwned>(r: &Response, peer: &str, status: u16) -> Result<T, Refusal> {
    let unavailable = |detail: String| Refusal::Unavailable {
        peer: peer.to_owned(),
        detail,
    };
    if r.status != status {
        let text = String::from_utf8_lossy(&r.body);
        return Err(unavailable(format!(
            "answered {}: {}",
            r.status,
            text.trim()
        )));
    }
    serde_json::from_slice(&r.body).map_err(|e| unavailable(format!("answer unusable: {e}")))
}

fn words(events: &[EventKind]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the trace says of an issued token.
fn issued_label(claims: &ExposureClaims) -> String {
    format!(
        "issue {} a {} access token for {} until {}, bound to its certificate",
        claims.sub, claims.scope, claims.aud, claims.exp
    )
}

/// What the trace says of a forwarded notification: in full, or what was replaced.
fn forward_label(before: &Notification, after: &Notification, kept: &Kept) -> String {
    let head = format!(
        "forward {} of {} to {}",
        before.event, kept.impu, kept.af.host
    );
    if before == after {
        return format!("{head} in full");
    }
    let mut replaced = Vec::new();
    let mut party = |role: &str, b: &Option<String>, a: &Option<String>| {
        if let (Some(b), Some(a)) = (b, a)
            && b != a
        {
            replaced.push(format!("{role} {b} → {a}"));
        }
    };
    party("caller", &before.caller, &after.caller);
    party("callee", &before.callee, &after.callee);
    if before.app != after.app
        && let Some(app) = &after.app
    {
        replaced.push(format!("application {} without name and URL", app.id));
    }
    format!("{head} anonymised: {}", replaced.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::wire::exposure::AppInfo;

    #[test]
    fn bearer_tokens_are_read_from_authorization() {
        let req = |value: &str| Request::get("https://x/").header("authorization", value);
        assert_eq!(bearer(&req("Bearer a.b.c")), Some("a.b.c"));
        assert_eq!(bearer(&req("bearer  a.b.c ")), Some("a.b.c"));
        assert_eq!(bearer(&req("Basic YQ==")), None);
        assert_eq!(bearer(&req("Bearer ")), None);
        assert_eq!(bearer(&Request::get("https://x/")), None);
    }

    #[test]
    fn routes() {
        for path in [
            NEF_TOKEN_PATH,
            NEF_SUBSCRIPTIONS_PATH,
            NEF_CONTROL_PATH,
            "/nef/v1/dc-notifications/nef-sub-1",
        ] {
            assert!(Exposure::serves(path), "{path}");
        }
        assert!(!Exposure::serves("/3gpp-3pid/v1/allocations"));
    }

    #[test]
    fn forward_labels_say_what_was_replaced() {
        let af = hss_less_policy(true);
        let n = Notification {
            event: EventKind::DcEstablished,
            caller: Some("sip:a@x".into()),
            callee: Some("sip:b@x".into()),
            dc_id: Some("dc-1".into()),
            target: Some(Target::Adc),
            app: Some(AppInfo {
                id: "avatar-call".into(),
                name: Some("Avatar call".into()),
                url: None,
            }),
            at: 1,
        };
        let kept = Kept {
            af: af.clone(),
            impu: "sip:a@x".into(),
            events: vec![EventKind::DcEstablished],
            notify_uri: "https://af/n".into(),
        };
        let seen = decide::anonymise(n.clone(), &af);
        let label = forward_label(&n, &seen, &kept);
        assert!(
            label.contains("anonymised: caller sip:a@x → anon-"),
            "{label}"
        );
        assert!(
            label.contains("application avatar-call without name"),
            "{label}"
        );
        let full = Kept {
            af: hss_less_policy(false),
            ..kept
        };
        assert!(forward_label(&n, &n, &full).ends_with("in full"));
    }

    fn hss_less_policy(anonymise: bool) -> AfPolicy {
        AfPolicy {
            host: "dc-as.avatars.example".into(),
            trusted: !anonymise,
            events: [EventKind::DcEstablished].into(),
            anonymise,
            control: Default::default(),
            targets: Default::default(),
            apps: Default::default(),
        }
    }
}
