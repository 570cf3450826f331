//! Playing an avatar call (solutions 5 and 6): UE-A calls UE-B in the data channel world with
//! the avatar network functions; both fetch their application lists over their bootstrap
//! channels; then the solution's avatar phase, in the TR's order; the caller hangs up. The users'
//! actions are the UEs' own methods (they note what they do); the harness only sequences them
//! and lets the world settle between phases, so the trace's order is causal and byte-stable.

use std::sync::Arc;

use dc::Peer;
use proto::sdp::DcMap;
use proto::trace::Reason;
use proto::wire::avatar::{
    AVATAR_APP_STREAM, AVATAR_MEDIA_MID, AVATAR_MEDIA_STREAM, Frame, PEER_AVATAR_STREAM, Rendering,
};

use super::{BOUND, Observed, P2A_MID, PlayError, QUIET, Timing, missing};
use crate::node::MF_O;
use crate::world::World;

/// What the caller does in an avatar call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvatarPlan {
    /// Solution 5: a token over the application channel (0a), the Avatar ID to the XR AS (0b).
    Token {
        /// The Avatar ID the token names.
        token_for: &'static str,
        /// The Avatar ID named to the XR AS.
        select: &'static str,
        /// How the token is made.
        attack: TokenAttack,
    },
    /// Solution 6: the attestation, the rendering option, the application channel.
    Attestation {
        /// The Avatar ID.
        avatar_id: &'static str,
        /// The rendering option.
        rendering: Rendering,
        /// The XR AS the attestation names (a node id).
        xr_as: &'static str,
        /// The attestation has expired.
        expired: bool,
        /// Its signature is forged.
        forged: bool,
    },
    /// Solution 7: the Avatar-id from the downloaded list in the application channel
    /// negotiation, the UE token on the channel, network-centric rendering.
    Network {
        /// The Avatar-id UE-A names (one of its list, or another UE's for the threat).
        avatar_id: &'static str,
        /// The UE token is signed with this UE's key and certificate instead of UE-A's.
        token_key: Option<&'static str>,
        /// UE-B rejects the avatar (step 6).
        callee_rejects: bool,
    },
}

/// How the solution 5 token is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAttack {
    /// Honestly, by the caller's UE.
    None,
    /// Signed with another UE's key (the caller holds the victim's SIP credentials only).
    ForeignKey(&'static str),
    /// Its signature bytes altered.
    BadSignature,
    /// Made for an earlier call (its Call-ID) and replayed in this one.
    Replayed,
    /// Never sent: the Avatar ID reaches the MF without a token.
    Withheld,
}

/// What the users saw of the avatar.
#[derive(Debug, Default)]
pub struct AvatarObserved {
    /// The status the XR AS's answer (relayed on the bootstrap channel) had: to the Avatar ID
    /// (solution 5) or to the rendering negotiation (solution 6).
    pub answer: Option<u16>,
    /// The typed reason of a refusal answer.
    pub refusal: Option<Reason>,
    /// The frames UE-B was shown.
    pub callee_frames: Vec<Frame>,
    /// Why a rendering UE rendered nothing (a typed reason), if it did not.
    pub not_rendered: Option<Reason>,
}

/// The earlier call a replayed token was made for.
pub const EARLIER_CALL: &str = "earlier-call-7@ue-a.ims.mnc001.mcc001.3gppnetwork.org";

/// The channels of an avatar call as the harness holds them.
struct Channels {
    call_id: String,
    /// UE-A's peer-to-peer association.
    a_p2p: Arc<Peer>,
    /// UE-B's peer-to-peer association.
    b_p2p: Arc<Peer>,
    /// UE-A's bootstrap channel to MF-O.
    a_bdc: Arc<Peer>,
    /// UE-B's avatar media channel from MF-O.
    b_avm: Arc<Peer>,
}

/// The application channel to the caller's MF (solution 5 0a, solution 6 step 4): the p2a
/// section by re-INVITE, opened on both ends.
async fn application_channel(
    world: &World,
    caller: &ue::Ue,
    call: &mut ue::Call,
) -> Result<Arc<Peer>, PlayError> {
    let app = DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "avatar-json");
    let p2a = caller
        .add_channels(call, P2A_MID, std::slice::from_ref(&app))
        .await?;
    p2a.wait_open().await?;
    world.settle(QUIET, BOUND).await;
    Ok(p2a)
}

/// The channels set up by the INVITE, open on both ends.
async fn channels(call: &ue::Call, callee: &ue::Ue) -> Result<Channels, PlayError> {
    let a_p2p = call
        .dc
        .clone()
        .ok_or_else(|| missing("UE-A has no peer-to-peer channel"))?;
    let b_p2p = callee
        .answered_dc()
        .ok_or_else(|| missing("UE-B has no peer-to-peer channel"))?;
    let a_bdc = call
        .bdc
        .clone()
        .ok_or_else(|| missing("UE-A has no bootstrap channel"))?;
    let b_avm = callee
        .avatar_media()
        .ok_or_else(|| missing("UE-B has no avatar media channel from the caller's MF"))?;
    for p in [&a_p2p, &b_p2p, &a_bdc, &b_avm] {
        p.wait_open().await?;
    }
    let call_id = proto::sipmsg::first(&call.invite.headers, "Call-ID")
        .unwrap_or_default()
        .to_owned();
    Ok(Channels {
        call_id,
        a_p2p,
        b_p2p,
        a_bdc,
        b_avm,
    })
}

/// Solution 5 after the call is up and both bootstrap lists were fetched.
async fn token_flow(
    world: &World,
    caller: &ue::Ue,
    callee: &ue::Ue,
    call: &mut ue::Call,
    ch: &Channels,
    plan: (&'static str, &'static str, TokenAttack),
) -> Result<AvatarObserved, PlayError> {
    let (token_for, select, attack) = plan;
    let p2a = application_channel(world, caller, call).await?;
    if let TokenAttack::ForeignKey(of) = attack {
        // It holds UE-A's SIP credentials, not its UE key: it signs with the key it has.
        caller.use_ue_key(of);
    }
    if attack != TokenAttack::Withheld {
        let forgery = match attack {
            TokenAttack::BadSignature => ue::TokenForgery::BadSignature,
            TokenAttack::Replayed => ue::TokenForgery::OtherSession(EARLIER_CALL.into()),
            _ => ue::TokenForgery::None,
        };
        let plan = ue::TokenPlan {
            avatar_id: token_for.into(),
            forgery,
        };
        caller.send_avatar_token(&p2a, &ch.call_id, &plan).await?;
        world.settle(QUIET, BOUND).await;
    }
    let answer = caller.select_avatar(&ch.a_bdc, select).await?;
    world.settle(QUIET, BOUND).await;
    let mut seen = AvatarObserved {
        answer: Some(answer.status),
        refusal: answer.problem.as_ref().map(|p| p.reason),
        ..AvatarObserved::default()
    };
    if answer.status == 200 {
        caller
            .send_facial_points(&p2a, AVATAR_APP_STREAM, true)
            .await?;
        world.settle(QUIET, BOUND).await;
        seen.callee_frames = callee
            .show_frames(&ch.b_avm, AVATAR_MEDIA_STREAM, 3)
            .await?;
        world.settle(QUIET, BOUND).await;
    }
    Ok(seen)
}

/// Solution 6 after the call is up and both bootstrap lists were fetched.
async fn attestation_flow(
    world: &World,
    caller: &ue::Ue,
    callee: &ue::Ue,
    call: &mut ue::Call,
    ch: &Channels,
    plan: &AvatarPlan,
) -> Result<AvatarObserved, PlayError> {
    let AvatarPlan::Attestation {
        avatar_id,
        rendering,
        xr_as,
        expired,
        forged,
    } = plan
    else {
        return Err(missing("an attestation plan"));
    };
    let peer_key = if *rendering == Rendering::UeBCentric {
        let (key, answered) = tokio::join!(
            caller.request_peer_key(&ch.a_p2p),
            callee.answer_key_request(&ch.b_p2p, &ch.call_id)
        );
        answered?;
        world.settle(QUIET, BOUND).await;
        Some(key?)
    } else {
        None
    };
    let att = ue::AttestationPlan {
        avatar_id: (*avatar_id).into(),
        rendering: *rendering,
        xr_as: world
            .description
            .host(xr_as)
            .map_err(|e| PlayError::Missing(e.to_string()))?
            .to_owned(),
        expired: *expired,
        forged_signature: *forged,
        peer_key,
    };
    let answer = caller
        .negotiate_rendering(&ch.a_bdc, &ch.call_id, &att)
        .await?;
    world.settle(QUIET, BOUND).await;
    // Step 4: the application channel; the XR AS then fetches the object (steps 5–7).
    let p2a = application_channel(world, caller, call).await?;
    let mut seen = AvatarObserved {
        answer: Some(answer.status),
        refusal: answer.problem.as_ref().map(|p| p.reason),
        ..AvatarObserved::default()
    };
    if answer.status != 200 {
        return Ok(seen);
    }
    let rendered = render(world, caller, callee, ch, &p2a, *rendering).await?;
    match rendered {
        Ok(frames) => seen.callee_frames = frames,
        Err(reason) => seen.not_rendered = Some(reason),
    }
    Ok(seen)
}

/// The fields of [`AvatarPlan::Network`].
struct NetworkPlan<'p> {
    avatar_id: &'p str,
    token_key: Option<&'static str>,
    callee_rejects: bool,
}

/// The application the avatar is used with.
const AVATAR_APP: &str = "avatar-call";

/// Solution 7 after the call is up and UE-A downloaded its list (step 1): UE-A picks the
/// Avatar-id (2), negotiates the application channel (3; the IMS AS's re-INVITEs of steps 5 and
/// 6 follow its ACK), sends its UE token (4; the XR AS then does steps 7–11), and, when the MF
/// has the metadata's model, its facial points (12–15).
async fn network_flow(
    world: &World,
    (caller, callee): (&ue::Ue, &ue::Ue),
    call: &mut ue::Call,
    ch: &Channels,
    list: &proto::wire::dcsf::AppList,
    plan: NetworkPlan<'_>,
) -> Result<AvatarObserved, PlayError> {
    let listed = list
        .apps
        .iter()
        .any(|a| a.id == AVATAR_APP && a.avatar_ids.iter().any(|id| id == plan.avatar_id));
    if listed {
        caller.choose_network_avatar(list, AVATAR_APP, plan.avatar_id)?;
    }
    callee.reject_avatar(plan.callee_rejects);
    let adc = ue::AvatarAdc {
        avatar_id: plan.avatar_id.to_owned(),
        app_id: AVATAR_APP.to_owned(),
    };
    let p2a = caller.negotiate_avatar_channel(call, &adc).await?;
    p2a.wait_open().await?;
    // The MF's end too: a message sent before it is open could be lost.
    let caller_tn = super::tn(world, CALLER)?;
    if let Some(far) = super::mf(world, MF_O)?.peer(&caller_tn, P2A_MID) {
        far.wait_open().await?;
    }
    world.settle(QUIET, BOUND).await;
    if let Some(of) = plan.token_key {
        // It holds UE-A's SIP credentials, not its UE key and certificate.
        caller.use_ue_key(of);
    }
    let xr_as = super::host(world, crate::node::XR_AS_O)?;
    caller.send_ue_token(&p2a, &ch.call_id, &xr_as).await?;
    world.settle(QUIET, BOUND).await;
    let mut seen = AvatarObserved::default();
    if !super::mf(world, MF_O)?.avatar_ready(&ch.call_id) {
        seen.not_rendered = Some(Reason::NoRecord);
        return Ok(seen);
    }
    caller
        .send_facial_points(&p2a, AVATAR_APP_STREAM, true)
        .await?;
    world.settle(QUIET, BOUND).await;
    if !plan.callee_rejects {
        seen.callee_frames = callee
            .show_frames(&ch.b_avm, AVATAR_MEDIA_STREAM, 3)
            .await?;
        world.settle(QUIET, BOUND).await;
    }
    Ok(seen)
}

/// Steps 8 on: who renders, and what UE-B is shown. A rendering UE that cannot open the object
/// gives its typed reason instead of frames.
async fn render(
    world: &World,
    caller: &ue::Ue,
    callee: &ue::Ue,
    ch: &Channels,
    p2a: &Peer,
    rendering: Rendering,
) -> Result<Result<Vec<Frame>, Reason>, PlayError> {
    // Nothing on its way (the DAC refused): nobody has anything to render.
    if !super::mf(world, MF_O)?.avatar_ready(&ch.call_id) {
        return Ok(Err(Reason::NoRecord));
    }
    let frames = match rendering {
        Rendering::NetworkCentric => {
            caller
                .send_facial_points(p2a, AVATAR_APP_STREAM, true)
                .await?;
            world.settle(QUIET, BOUND).await;
            callee
                .show_frames(&ch.b_avm, AVATAR_MEDIA_STREAM, 3)
                .await?
        }
        Rendering::UeACentric => {
            match caller.render_and_send(p2a, &ch.a_p2p, &ch.call_id).await {
                Ok(_) => {}
                Err(e) => return Ok(Err(e.reason())),
            }
            world.settle(QUIET, BOUND).await;
            callee.show_frames(&ch.b_p2p, PEER_AVATAR_STREAM, 3).await?
        }
        Rendering::UeBCentric => {
            caller
                .send_facial_points(&ch.a_p2p, PEER_AVATAR_STREAM, false)
                .await?;
            world.settle(QUIET, BOUND).await;
            match callee
                .render_received(&ch.b_avm, &ch.b_p2p, &ch.call_id, 3)
                .await
            {
                Ok(frames) => frames,
                Err(e) => return Ok(Err(e.reason())),
            }
        }
    };
    world.settle(QUIET, BOUND).await;
    Ok(Ok(frames))
}

/// The avatar phase of `plan` in an answered call.
pub(super) async fn phase(
    world: &World,
    caller: &ue::Ue,
    callee: &ue::Ue,
    call: &mut ue::Call,
    plan: &AvatarPlan,
) -> Result<AvatarObserved, PlayError> {
    let ch = channels(call, callee).await?;
    let mf = super::mf(world, MF_O)?;
    let (caller_tn, callee_tn) = (super::tn(world, CALLER)?, super::tn(world, CALLEE)?);
    for (tn, mid) in [
        (&caller_tn, ue::BOOTSTRAP_MID),
        (&callee_tn, AVATAR_MEDIA_MID),
    ] {
        mf.peer(tn, mid)
            .ok_or_else(|| missing(&format!("the caller's MF holds no {mid} channel for {tn}")))?
            .wait_open()
            .await?;
    }
    world.settle(QUIET, BOUND).await;
    let list = super::fetch_app_list(&ch.a_bdc, &super::host(world, MF_O)?).await?;
    world.settle(QUIET, BOUND).await;
    match plan {
        AvatarPlan::Token {
            token_for,
            select,
            attack,
        } => {
            token_flow(
                world,
                caller,
                callee,
                call,
                &ch,
                (token_for, select, *attack),
            )
            .await
        }
        AvatarPlan::Attestation { .. } => {
            attestation_flow(world, caller, callee, call, &ch, plan).await
        }
        AvatarPlan::Network {
            avatar_id,
            token_key,
            callee_rejects,
        } => {
            let net = NetworkPlan {
                avatar_id,
                token_key: *token_key,
                callee_rejects: *callee_rejects,
            };
            network_flow(world, (caller, callee), call, &ch, &list, net).await
        }
    }
}

/// UE-A (the caller) and UE-B (the callee) in every avatar call.
const CALLER: &str = crate::node::UE_A;
const CALLEE: &str = crate::node::UE_B;

/// Plays an avatar call: both register, UE-A dials UE-B with data channels, UE-B answers; UE-A
/// fetches its DC application list on its bootstrap channel (solution 6 step 1: its avatars);
/// the avatar phase of `plan`; UE-A hangs up.
pub(super) async fn play(
    world: &World,
    plan: &AvatarPlan,
    timing: &mut Timing,
) -> anyhow::Result<Observed> {
    let callee = world.ue(CALLEE)?;
    let caller = world.ue(CALLER)?;
    for ue in [callee, caller] {
        let code = ue.register().await?;
        anyhow::ensure!(code == 200, "{} could not register ({code})", ue.impu());
        world.settle(QUIET, BOUND).await;
    }
    let target = format!(
        "sip:{}@{};user=phone",
        world.description.ue(CALLEE)?.tn,
        callee_domain(world)?
    );
    let began = std::time::Instant::now();
    let mut call = super::dial(world, caller, callee, &target, None).await?;
    timing.call_setup = began.elapsed();
    world.settle(QUIET, BOUND).await;
    let mut observed = Observed {
        answered: Some(call.code),
        ..Observed::default()
    };
    if call.answered() {
        let result = phase(world, caller, callee, &mut call, plan).await;
        world.settle(QUIET, BOUND).await;
        observed.avatar = Some(result);
        observed.bye = Some(caller.hang_up(&call).await?);
        world.settle(QUIET, BOUND).await;
    }
    observed.callee_got = callee.received().last().cloned();
    Ok(observed)
}

/// The callee's home domain (the host part of its IMPU).
fn callee_domain(world: &World) -> anyhow::Result<String> {
    let impu = &world.description.ue(CALLEE)?.impu;
    impu.rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .ok_or_else(|| anyhow::anyhow!("the callee's IMPU {impu} has no domain"))
}
