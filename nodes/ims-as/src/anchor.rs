//! Data channel anchoring (TS 23.228 Annex AC in outline; choice `dc-bootstrap-anchor`). When
//! the operator has an MF, the originating IMS AS takes every `m=application` section a served
//! UE offers toward its own network (the bootstrap channel, mid `bdc`; application channels to
//! the network, mids `p2a…`) out of the INVITE or re-INVITE, has the MF answer each over HTTPS,
//! and puts the MF's answers back in the 2xx at the offer's positions (RFC 3264: one answer
//! section per offered section). Sections toward the far end pass through unchanged.
//!
//! On the terminating side ([`offer`], [`forward_offered`]) the roles turn: for a call that
//! offers data channels, the IMS AS has its MF offer the callee a bootstrap channel (appended to
//! the INVITE, and to every re-INVITE of the call unchanged), takes the callee's answer for it
//! out of the 2xx and hands it to the MF.

use kit::http::{Client, Request as HttpRequest};
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use proto::sdp::{Media, Session};
use proto::sip::proxy::{prepare_response_forward, response_to};
use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};
use proto::trace::Note;
use proto::wire::mf::{
    ANCHOR_PATH, AnchorRequest, AnchorResponse, BOOTSTRAP_MID, COMPLETE_PATH, CompleteRequest,
    OFFER_PATH, OfferRequest, OfferResponse, RELEASE_PATH, ReleaseRequest, for_network,
};

/// MF answers to put back into the 2xx: (position in the offer, answered section).
pub type Answers = Vec<(usize, Media)>;

/// Sections anchored so far: (Call-ID, mid, the offer's ICE ufrag) and the MF's answer. A
/// re-offer repeats an anchored section unchanged; it keeps its answer.
#[derive(Debug, Default)]
pub struct Anchored(std::sync::Mutex<Vec<(Key, Media)>>);

/// (Call-ID, mid, the offer's ICE ufrag).
type Key = (String, String, String);

impl Anchored {
    fn get(&self, key: &Key) -> Option<Media> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m.clone())
    }

    /// Forgets a call's sections; whether it had any.
    fn forget(&self, call_id: &str) -> bool {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let before = all.len();
        all.retain(|((id, _, _), _)| id != call_id);
        all.len() != before
    }

    fn put(&self, key: Key, media: Media) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key, media));
    }
}

fn set_body(headers: &mut proto::sip::msg::Headers, body: &mut Vec<u8>, text: String) {
    *body = text.into_bytes();
    sipmsg::set(headers, "Content-Length", body.len().to_string());
}

/// Takes the network-bound sections out of `invite`, has the MF at `mf_host` answer each, and
/// returns the answers. On any failure the section is answered declined (port 0) by the AS.
pub async fn take(
    ctx: &Ctx,
    client: &Client,
    anchored: &Anchored,
    mf_host: &str,
    invite: &mut Request,
    msg: u64,
) -> Answers {
    let Ok(text) = std::str::from_utf8(&invite.body) else {
        return Vec::new();
    };
    let Ok(mut session) = Session::parse(text) else {
        return Vec::new();
    };
    if !session
        .applications()
        .any(|a| for_network(&a.mid) && !a.is_declined())
    {
        return Vec::new();
    }
    let tn = sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .or_else(|| sipmsg::first(&invite.headers, "From"))
        .and_then(NameAddr::parse)
        .and_then(|n| n.tn())
        .unwrap_or_default();
    let call_id = sipmsg::first(&invite.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned();
    let mut answers = Vec::new();
    let mut kept = Vec::new();
    for (i, media) in std::mem::take(&mut session.media).into_iter().enumerate() {
        let Media::Application(app) = &media else {
            kept.push(media);
            continue;
        };
        if !for_network(&app.mid) || app.is_declined() {
            kept.push(media);
            continue;
        }
        let key = (call_id.clone(), app.mid.clone(), app.ice_ufrag.clone());
        if let Some(known) = anchored.get(&key) {
            ctx.note(
                Some(msg),
                Note::Action {
                    label: format!(
                        "m=application mid {} is anchored at the MF already: keep its answer",
                        app.mid
                    ),
                },
            );
            answers.push((i, known));
            continue;
        }
        ctx.note(
            Some(msg),
            Note::Action {
                label: format!(
                    "anchor m=application mid {} at the MF ({mf_host}); it does not go on toward the callee",
                    app.mid
                ),
            },
        );
        let offer = Session {
            session_id: 0,
            version: 0,
            name: "-".into(),
            media: vec![media.clone()],
        };
        let request = AnchorRequest {
            tn: tn.clone(),
            call_id: call_id.clone(),
            offer: offer.render(),
        };
        let answered = ask(client, mf_host, &request).await;
        let section = match answered {
            Ok(a) => {
                anchored.put(key, a.clone());
                a
            }
            Err(e) => {
                ctx.note(
                    Some(msg),
                    Note::Check {
                        name: format!("MF answer for mid {}", app.mid),
                        passed: false,
                        detail: format!("{e}: declined (port 0)"),
                        code: None,
                    },
                );
                Media::Application(proto::sdp::Application::declined(app))
            }
        };
        answers.push((i, section));
    }
    session.media = kept;
    let text = session.render();
    set_body(&mut invite.headers, &mut invite.body, text);
    answers
}

/// A BYE passes: if the call had sections anchored at the MF, the MF releases them.
pub async fn release(
    ctx: &Ctx,
    client: &Client,
    anchored: &Anchored,
    mf_host: &str,
    bye: &Request,
    msg: u64,
) {
    let call_id = sipmsg::first(&bye.headers, "Call-ID").unwrap_or_default();
    if !anchored.forget(call_id) {
        return;
    }
    ctx.note(
        Some(msg),
        Note::Action {
            label: "the call ends: the MF releases its data channels".into(),
        },
    );
    let request = ReleaseRequest {
        call_id: call_id.to_owned(),
    };
    if let Err(e) = post(
        client,
        &format!("https://{mf_host}{RELEASE_PATH}"),
        &request,
    )
    .await
    {
        ctx.note(
            Some(msg),
            Note::Check {
                name: "MF release".into(),
                passed: false,
                detail: e,
                code: None,
            },
        );
    }
}

/// POSTs `body` to the MF, expecting a 2xx.
async fn post<B: serde::Serialize>(client: &Client, url: &str, body: &B) -> Result<(), String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let response = client
        .send(HttpRequest::post_json(url, bytes))
        .await
        .map_err(|e| e.to_string())?;
    (response.status < 300)
        .then_some(())
        .ok_or_else(|| format!("{url} answered {}", response.status))
}

async fn ask(client: &Client, mf_host: &str, request: &AnchorRequest) -> Result<Media, String> {
    let url = format!("https://{mf_host}{ANCHOR_PATH}");
    let answer: AnchorResponse = ask_json(client, &url, request).await?;
    first_application(&answer.answer)
        .ok_or_else(|| "the MF's answer has no m=application section".into())
}

/// POSTs `request` to the MF and reads its JSON answer (200 only).
async fn ask_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    client: &Client,
    url: &str,
    request: &B,
) -> Result<T, String> {
    let bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let response = client
        .send(HttpRequest::post_json(url, bytes))
        .await
        .map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!(
            "{url} answered {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    serde_json::from_slice(&response.body).map_err(|e| format!("{url}: {e}"))
}

/// The first `m=application` section of an SDP session.
fn first_application(sdp: &str) -> Option<Media> {
    Session::parse(sdp)
        .ok()?
        .media
        .into_iter()
        .find(|m| matches!(m, Media::Application(_)))
}

/// Puts the MF's answers back into a 2xx's SDP at their offer positions.
fn restore(response: &mut Response, answers: &Answers) {
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

/// Forwards `request` as [`kit::sipnode::forward`] does, putting `answers` into every 2xx.
pub async fn forward(
    endpoint: &Endpoint,
    incoming: &mut Incoming,
    request: Request,
    answers: &Answers,
) -> Option<u16> {
    let _ = incoming
        .respond(response_to(incoming.request(), 100, "Trying", None))
        .await;
    let mut tx = match endpoint.send_request(request).await {
        Ok(tx) => tx,
        Err(e) => {
            let reason = format!("Service Unavailable ({e})");
            let _ = incoming
                .respond(response_to(incoming.request(), 503, &reason, None))
                .await;
            return Some(503);
        }
    };
    let mut final_code = None;
    while let Some(response) = tx.next_response().await {
        let code = response.status_code.code();
        if code == 100 {
            continue;
        }
        if let Some(mut up) = prepare_response_forward(&response) {
            if (200..300).contains(&code) {
                restore(&mut up, answers);
            }
            let _ = incoming.relay(up).await;
        }
        if code >= 200 {
            final_code.get_or_insert(code);
            if code >= 300 {
                break;
            }
        }
    }
    final_code
}

/// The key under which a section offered to the callee is kept.
fn offered_key(call_id: &str) -> Key {
    (
        call_id.to_owned(),
        BOOTSTRAP_MID.to_owned(),
        "offered to the callee".to_owned(),
    )
}

/// Terminating side: appends the MF's bootstrap offer for the callee to a data channel call's
/// INVITE (asking the MF on the first INVITE, repeating the same section on re-INVITEs).
/// Returns whether a section was appended (and must be taken out of the 2xx), and whether it is
/// new (the MF awaits the callee's answer).
pub async fn offer(
    ctx: &Ctx,
    client: &Client,
    anchored: &Anchored,
    mf_host: &str,
    invite: &mut Request,
    callee_tn: &str,
    msg: u64,
) -> Option<bool> {
    let text = std::str::from_utf8(&invite.body).ok()?;
    let mut session = Session::parse(text).ok()?;
    if session.applications().next().is_none() || session.application(BOOTSTRAP_MID).is_some() {
        return None;
    }
    let call_id = sipmsg::first(&invite.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned();
    let key = offered_key(&call_id);
    let (section, new) = match anchored.get(&key) {
        Some(known) => {
            ctx.note(
                Some(msg),
                Note::Action {
                    label: format!(
                        "re-offer the callee's bootstrap data channel (mid {BOOTSTRAP_MID}) unchanged"
                    ),
                },
            );
            (known, false)
        }
        None => {
            ctx.note(
                Some(msg),
                Note::Action {
                    label: format!(
                        "a data channel call: have the MF ({mf_host}) offer the callee a bootstrap data channel (mid {BOOTSTRAP_MID})"
                    ),
                },
            );
            let request = OfferRequest {
                tn: callee_tn.to_owned(),
                call_id: call_id.clone(),
            };
            match ask_offer(client, mf_host, &request).await {
                Ok(section) => {
                    anchored.put(key, section.clone());
                    (section, true)
                }
                Err(e) => {
                    ctx.note(
                        Some(msg),
                        Note::Check {
                            name: "MF bootstrap offer".into(),
                            passed: false,
                            detail: format!("{e}: the callee gets no bootstrap data channel"),
                            code: None,
                        },
                    );
                    return None;
                }
            }
        }
    };
    session.media.push(section);
    let text = session.render();
    set_body(&mut invite.headers, &mut invite.body, text);
    Some(new)
}

async fn ask_offer(
    client: &Client,
    mf_host: &str,
    request: &OfferRequest,
) -> Result<Media, String> {
    let url = format!("https://{mf_host}{OFFER_PATH}");
    let offer: OfferResponse = ask_json(client, &url, request).await?;
    first_application(&offer.offer)
        .ok_or_else(|| "the MF's offer has no m=application section".into())
}

/// Takes the callee's answer for the bootstrap section out of a 2xx's SDP.
fn take_answer(response: &mut Response) -> Option<Media> {
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

/// Terminating side: forwards the INVITE as [`forward`] does, taking the callee's answer to the
/// bootstrap offer out of every 2xx; for a new offer, the first answer goes to the MF.
pub async fn forward_offered(
    ctx: &Ctx,
    client: &Client,
    mf_host: &str,
    endpoint: &Endpoint,
    incoming: &mut Incoming,
    request: Request,
    new: bool,
) -> Option<u16> {
    let call_id = sipmsg::first(&request.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned();
    let msg = incoming.trace_id();
    let _ = incoming
        .respond(response_to(incoming.request(), 100, "Trying", None))
        .await;
    let mut tx = match endpoint.send_request(request).await {
        Ok(tx) => tx,
        Err(e) => {
            let reason = format!("Service Unavailable ({e})");
            let _ = incoming
                .respond(response_to(incoming.request(), 503, &reason, None))
                .await;
            return Some(503);
        }
    };
    let mut final_code = None;
    let mut completed = !new;
    while let Some(response) = tx.next_response().await {
        let code = response.status_code.code();
        if code == 100 {
            continue;
        }
        let mut answer = None;
        if let Some(mut up) = prepare_response_forward(&response) {
            if (200..300).contains(&code) {
                answer = take_answer(&mut up);
            }
            let _ = incoming.relay(up).await;
        }
        if let Some(section) = answer
            && !completed
        {
            completed = true;
            complete(ctx, client, mf_host, &call_id, section, msg).await;
        }
        if code >= 200 {
            final_code.get_or_insert(code);
            if code >= 300 {
                break;
            }
        }
    }
    final_code
}

async fn complete(
    ctx: &Ctx,
    client: &Client,
    mf_host: &str,
    call_id: &str,
    section: Media,
    msg: u64,
) {
    ctx.note(
        Some(msg),
        Note::Action {
            label: format!(
                "take the callee's answer for mid {BOOTSTRAP_MID} out of the 2xx and hand it to the MF"
            ),
        },
    );
    let answer = Session {
        session_id: 0,
        version: 0,
        name: "-".into(),
        media: vec![section],
    };
    let request = CompleteRequest {
        call_id: call_id.to_owned(),
        answer: answer.render(),
    };
    if let Err(e) = post(
        client,
        &format!("https://{mf_host}{COMPLETE_PATH}"),
        &request,
    )
    .await
    {
        ctx.note(
            Some(msg),
            Note::Check {
                name: "MF bootstrap completion".into(),
                passed: false,
                detail: e,
                code: None,
            },
        );
    }
}
