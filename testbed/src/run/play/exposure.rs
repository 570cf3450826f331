//! Playing solution 9 (TR 33.790 §6.9): DC ASs/AFs use the NEF's exposure APIs before UE-A's
//! call (event subscriptions, Figure 6.9.2.1-1) or during it (DC session control, Figure
//! 6.9.2.2-1). UE-A calls UE-B with data channels, downloads its application list over its
//! bootstrap channel and hangs up. After each control request the harness looks at the
//! AF-established application data channel where it matters, at both UEs: open (and carrying a
//! message each way to the MF) or closed. The AFs and the NFs note what they do; the harness
//! only sequences them (and says in its own name when it hands an AF another AF's token).

use std::collections::BTreeMap;
use std::sync::Arc;

use nef::af::DcAf;
use nef::exposure::Scope;
use proto::trace::{Act, Note};
use proto::wire::exposure::{ControlRequest, EventKind, Notification, Operation, Target};
use proto::wire::mf::{ADC_MID, ADC_STREAM};

use super::{BOUND, Observed, PlayError, QUIET, Timing, WAIT, dial, exchange, fetch_app_list};
use crate::node::{MF_O, TESTBED, UE_A, UE_B};
use crate::world::World;

/// What the AFs do, before UE-A's call and during it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposurePlan {
    /// Before UE-A calls (subscriptions).
    pub before_call: Vec<AfAct>,
    /// While the call is up (control requests).
    pub during_call: Vec<AfAct>,
}

/// One request of an AF to the NEF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfAct {
    /// `af` subscribes to every DC event of UE `subscriber`, with a token got as `token` says.
    Subscribe {
        /// The AF.
        af: &'static str,
        /// The UE whose events.
        subscriber: &'static str,
        /// Which token it presents.
        token: TokenUse,
    },
    /// `af` asks for `operation` on UE-A's call: on an ADC (`adc`; an update or a termination
    /// names the ADC established last) or on the BDC; `app` the application named.
    Control {
        /// The AF.
        af: &'static str,
        /// What it asks.
        operation: Operation,
        /// An ADC (else the BDC).
        adc: bool,
        /// The DC application named.
        app: Option<&'static str>,
    },
}

/// Which access token an AF presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Its own, for the request's scope and the exposure API.
    Own,
    /// Its own, asked for another audience (RFC 8707 `resource`).
    Resource(&'static str),
    /// Its own, with the other scope (dc-control for a subscription).
    ControlScope,
    /// A copy of this AF's token.
    CopiedFrom(&'static str),
}

/// What the AFs and the UEs saw.
#[derive(Debug, Default)]
pub struct ExposureObserved {
    /// The NEF's status for each request, in plan order (before the call, then during);
    /// `None` when the request never got an answer (no token, the TLS handshake refused).
    pub statuses: Vec<Option<u16>>,
    /// After each request, whether the AF-established ADC was open at (UE-A, UE-B): `None`
    /// where the UE holds no such channel.
    pub adc: Vec<(Option<bool>, Option<bool>)>,
    /// After each request that set the ADC up (established or updated), the messages it carried
    /// each way between the UEs and the MF (or why not), by request index.
    pub adc_used: BTreeMap<usize, Result<usize, PlayError>>,
    /// After each request, whether UE-A's bootstrap channel was open (`None`: it holds none).
    pub bdc: Vec<Option<bool>>,
    /// The DC applications each UE downloaded over its bootstrap channel, by UE id.
    pub downloaded: BTreeMap<String, Vec<String>>,
    /// The notifications each AF received, by AF id.
    pub notifications: BTreeMap<String, Vec<Notification>>,
}

/// Plays `plan`.
pub(super) async fn play(
    world: &World,
    plan: &ExposurePlan,
    timing: &mut Timing,
) -> anyhow::Result<Observed> {
    let callee = world.ue(UE_B)?;
    let caller = world.ue(UE_A)?;
    for (ue, id) in [(callee, UE_B), (caller, UE_A)] {
        let code = ue.register().await?;
        anyhow::ensure!(code == 200, "{id} could not register ({code})");
        world.settle(QUIET, BOUND).await;
    }
    let mut seen = ExposureObserved::default();
    for act in &plan.before_call {
        let (status, _) = perform(world, act, None).await?;
        seen.statuses.push(status);
        seen.adc.push((None, None));
        seen.bdc.push(None);
        world.settle(QUIET, BOUND).await;
    }
    let began = std::time::Instant::now();
    let call = dial(world, caller, callee, UE_B_TARGET, None).await?;
    timing.call_setup = began.elapsed();
    world.settle(QUIET, BOUND).await;
    let mut observed = Observed {
        answered: Some(call.code),
        ..Observed::default()
    };
    if call.answered() {
        observed.dc = Some(exchange(world, &call, callee).await);
        world.settle(QUIET, BOUND).await;
        observed.network = Some(bootstrap(world, &call).await);
        world.settle(QUIET, BOUND).await;
        let call_id = proto::sipmsg::first(&call.invite.headers, "Call-ID")
            .unwrap_or_default()
            .to_owned();
        let mut last_dc: Option<String> = None;
        for act in &plan.during_call {
            // A BDC is named by the event the AF was notified of; an ADC by the last answer.
            let dc = match act {
                AfAct::Control { af, adc: false, .. } => bootstrap_dc(world, af),
                _ => last_dc.clone(),
            };
            let (status, dc_id) = perform(world, act, dc.as_deref()).await?;
            if dc_id.is_some() {
                last_dc = dc_id;
            }
            let index = seen.statuses.len();
            seen.statuses.push(status);
            world.settle(QUIET, BOUND).await;
            let sets_up = matches!(
                act,
                AfAct::Control {
                    operation: Operation::Establish | Operation::Update,
                    adc: true,
                    ..
                }
            ) && status == Some(200);
            if sets_up {
                seen.adc_used.insert(index, use_adc(world, &call_id).await);
                world.settle(QUIET, BOUND).await;
            }
            seen.adc.push(adc_state(world, &call_id));
            seen.bdc.push(
                caller
                    .channel(&call_id, ue::BOOTSTRAP_MID)
                    .map(|p| !p.is_closed()),
            );
        }
        observed.bye = Some(caller.hang_up(&call).await?);
        world.settle(QUIET, BOUND).await;
    }
    observed.callee_got = callee.received().last().cloned();
    for (id, ue) in [(UE_A, caller), (UE_B, callee)] {
        seen.downloaded.insert(id.to_owned(), ue.downloaded());
    }
    for (id, af) in &world.afs {
        seen.notifications.insert(id.clone(), af.received());
    }
    observed.exposure = Some(seen);
    Ok(observed)
}

/// UE-B's IMPU, as UE-A dials it.
const UE_B_TARGET: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";

fn af<'w>(world: &'w World, id: &str) -> anyhow::Result<&'w Arc<DcAf>> {
    world
        .afs
        .get(id)
        .ok_or_else(|| anyhow::anyhow!("no DC AS/AF {id} in this world"))
}

/// The token `af` presents for `scope`, as `token` says; `None` when it could not get one (it
/// noted why).
async fn token(
    world: &World,
    af_id: &str,
    scope: Scope,
    token: TokenUse,
) -> anyhow::Result<Option<String>> {
    let own = af(world, af_id)?;
    Ok(match token {
        TokenUse::Own => own.obtain_token(scope, None).await.ok(),
        TokenUse::Resource(resource) => own.obtain_token(scope, Some(resource)).await.ok(),
        TokenUse::ControlScope => own.obtain_token(Scope::Control, None).await.ok(),
        TokenUse::CopiedFrom(other) => {
            let copied = af(world, other)?.obtain_token(scope, None).await.ok();
            world.settle(QUIET, BOUND).await;
            if copied.is_some() {
                world.tap.note(
                    TESTBED,
                    None,
                    Note::done(
                        Act::ObtainToken,
                        format!(
                            "{af_id} holds a copy of the access token the NEF issued to {other}"
                        ),
                    ),
                );
            }
            copied
        }
    })
}

/// One request (`dc`: the ADC established last); the NEF's status and the data channel its
/// answer names.
async fn perform(
    world: &World,
    act: &AfAct,
    dc: Option<&str>,
) -> anyhow::Result<(Option<u16>, Option<String>)> {
    match *act {
        AfAct::Subscribe {
            af,
            subscriber,
            token,
        } => Ok((subscribe(world, af, subscriber, token).await?, None)),
        AfAct::Control {
            af,
            operation,
            adc,
            app,
        } => control(world, af, operation, (adc, app), dc).await,
    }
}

/// A subscription to every DC event of `subscriber`; the NEF's status.
async fn subscribe(
    world: &World,
    af_id: &str,
    subscriber: &str,
    use_: TokenUse,
) -> anyhow::Result<Option<u16>> {
    let Some(token) = token(world, af_id, Scope::Events, use_).await? else {
        return Ok(None);
    };
    world.settle(QUIET, BOUND).await;
    let impu = world.description.ue(subscriber)?.impu.clone();
    let events = [
        EventKind::DcEstablished,
        EventKind::AppDownloaded,
        EventKind::DcTerminated,
    ];
    Ok(
        match af(world, af_id)?.subscribe(&token, &impu, &events).await {
            Ok(_) => Some(201),
            Err(e) => e.status,
        },
    )
}

/// A control request on UE-A's call: `operation` on an ADC or the BDC, naming an application
/// (`dc`: the ADC established last); the NEF's status and the data channel its answer names.
async fn control(
    world: &World,
    af_id: &str,
    operation: Operation,
    (adc, app): (bool, Option<&str>),
    dc: Option<&str>,
) -> anyhow::Result<(Option<u16>, Option<String>)> {
    let Some(token) = token(world, af_id, Scope::Control, TokenUse::Own).await? else {
        return Ok((None, None));
    };
    world.settle(QUIET, BOUND).await;
    let request = ControlRequest {
        impu: world.description.ue(UE_A)?.impu.clone(),
        operation,
        target: if adc { Target::Adc } else { Target::Bdc },
        dc_id: match operation {
            Operation::Update | Operation::Terminate => dc.map(str::to_owned),
            _ => None,
        },
        app_id: app.map(str::to_owned),
    };
    Ok(match af(world, af_id)?.control(&token, &request).await {
        Ok(outcome) => (Some(200), outcome.dc_id),
        Err(e) => (e.status, None),
    })
}

/// The id of UE-A's bootstrap channel as `af` learnt it: the latest dc-established event for a
/// BDC it was notified of.
fn bootstrap_dc(world: &World, af: &str) -> Option<String> {
    world
        .afs
        .get(af)?
        .received()
        .into_iter()
        .rev()
        .find(|n| n.event == EventKind::DcEstablished && n.target == Some(Target::Bdc))
        .and_then(|n| n.dc_id)
}

/// UE-A's bootstrap channel: `GET /` for its application list, then `GET /apps/avatar-call`
/// to download the avatar application (the DCSF's app-downloaded event).
async fn bootstrap(world: &World, call: &ue::Call) -> Result<usize, PlayError> {
    let bdc = call
        .bdc
        .clone()
        .ok_or_else(|| PlayError::Missing("no bootstrap data channel".into()))?;
    bdc.wait_open().await?;
    let mf_host = world
        .description
        .host(MF_O)
        .map_err(|e| PlayError::Missing(e.to_string()))?
        .to_owned();
    world.settle(QUIET, BOUND).await;
    fetch_app_list(&bdc, &mf_host).await?;
    world.settle(QUIET, BOUND).await;
    fetch_app(&bdc, &mf_host, DOWNLOADED_APP).await?;
    Ok(2)
}

/// The application UE-A downloads after its list.
const DOWNLOADED_APP: &str = "avatar-call";

/// `GET /apps/{id}` over a bootstrap channel: the application's entry.
async fn fetch_app(
    bdc: &dc::Peer,
    mf_host: &str,
    id: &str,
) -> Result<proto::wire::dcsf::App, PlayError> {
    let stream = ue::bootstrap_channel().stream;
    let path = proto::wire::dcsf::bootstrap_app_path(id);
    let get = format!("GET {path} HTTP/1.1\r\nHost: {mf_host}\r\nAccept: application/json\r\n\r\n");
    bdc.send(stream, get.as_bytes()).await?;
    let got = bdc.recv(stream, WAIT).await?;
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| PlayError::Bootstrap("not HTTP".into()))?;
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(PlayError::Bootstrap(format!(
            "{:?}",
            head.lines().next().unwrap_or("")
        )));
    }
    serde_json::from_str(body).map_err(|e| PlayError::Bootstrap(format!("application: {e}")))
}

/// The AF-established ADC at each UE: opens, and carries a message each way to the MF.
async fn use_adc(world: &World, call_id: &str) -> Result<usize, PlayError> {
    let mut n = 0;
    for id in [UE_A, UE_B] {
        let ue = world
            .ue(id)
            .map_err(|e| PlayError::Missing(e.to_string()))?;
        let peer = ue
            .channel(call_id, ADC_MID)
            .ok_or_else(|| PlayError::Missing(format!("{id} holds no ADC for the call")))?;
        peer.wait_open().await?;
        world.settle(QUIET, BOUND).await;
        let text = format!(r#"{{"type":"app-hello","from":"{id}"}}"#);
        peer.send(ADC_STREAM, text.as_bytes()).await?;
        let _ack = peer.recv(ADC_STREAM, WAIT).await?;
        world.settle(QUIET, BOUND).await;
        n += 2;
    }
    Ok(n)
}

/// Whether each UE's ADC of the call is open (`None`: it holds none).
fn adc_state(world: &World, call_id: &str) -> (Option<bool>, Option<bool>) {
    let open = |id: &str| {
        world
            .ue(id)
            .ok()
            .and_then(|ue| ue.channel(call_id, ADC_MID))
            .map(|p| !p.is_closed())
    };
    (open(UE_A), open(UE_B))
}
