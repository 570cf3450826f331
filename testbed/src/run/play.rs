//! Playing the users' part of a variant: the callee and the caller register, the caller (or its
//! enterprise) prepares what its solution needs (solution 4's steps 0a/0b), dials, the callee
//! answers once the ringing reached the caller, data channels carry messages, and the caller
//! hangs up. Between phases the world settles, so the trace's order follows the flow. What the
//! users saw is returned for the judge; errors keep their types (a refused data channel is a
//! [`dc::DcError`], not a sentence).

use std::time::{Duration, Instant};

use proto::sdp::DcMap;
use proto::sip::Request;
use proto::trace::{Act, Note};
use serde::Serialize;

use super::Timing;
use crate::node::{MF_O, MF_T, TESTBED};
use crate::world::{DcSetup, World};

mod aos;
mod avatar;
mod exposure;

pub use aos::{AosAfter, AosObserved, AosPlan};
pub use avatar::{AvatarObserved, AvatarPlan, EARLIER_CALL, TokenAttack};
pub use exposure::{AfAct, ExposureObserved, ExposurePlan, TokenUse};

/// What the users do.
#[derive(Debug, Clone)]
pub enum Script {
    /// `caller` (registering first unless it is the PBX) calls `callee`'s number, naming
    /// `display` as its 3P ID data; the callee answers; the caller hangs up.
    Call {
        /// Who calls.
        caller: &'static str,
        /// The From display name the caller writes (3P ID data), if any.
        display: Option<&'static str>,
        /// Who is called.
        callee: &'static str,
        /// The Request-URI dialled.
        target: &'static str,
        /// What the caller (or its enterprise) does first.
        prep: Prep,
        /// The caller's attack on the network, if it is an attacker.
        attack: Attack,
    },
    /// UE-A calls UE-B with data channels in the avatar world, fetches its DC application
    /// list on its bootstrap channel, and does what `plan` says (solutions 5 and 6); UE-A
    /// hangs up.
    Avatar(AvatarPlan),
    /// A caller calls UE-B, both naming avatars (or not), and the avatars are fetched at step
    /// 21 (solution 8); the caller hangs up.
    Aos(AosPlan),
    /// DC ASs/AFs use the NEF's DC exposure APIs before or during UE-A's call to UE-B with
    /// data channels (solution 9); UE-A hangs up.
    Exposure(ExposurePlan),
}

/// An attack on the network itself (the trust model), before or instead of an honest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// None: the caller is honest.
    None,
    /// The caller writes this number in P-Asserted-Identity and From (`sip:` URI).
    AssertIdentity(&'static str),
    /// The caller does not register, and writes this UE's Contact as its own.
    ReuseContact {
        /// Whose Contact.
        of: &'static str,
    },
    /// The caller tries to register as this UE: without credentials, then with a wrong
    /// password; then it calls anyway.
    RegisterAs {
        /// Whose identity.
        of: &'static str,
    },
    /// The caller sends its INVITE straight to its S-CSCF with an `orig` Route.
    OrigRoute,
    /// Before the call, this node asks the STI-AS to sign for it directly.
    DirectSigning {
        /// Who asks.
        by: &'static str,
    },
    /// The caller signs with this UE's key instead of its own (it holds the victim's SIP
    /// credentials, not its UE key).
    ForeignKey {
        /// Whose key.
        of: &'static str,
    },
}

impl Attack {
    /// Whether the caller registers before calling.
    fn registers(self) -> bool {
        !matches!(
            self,
            Attack::ReuseContact { .. } | Attack::RegisterAs { .. }
        )
    }
}

/// Solution 4's preparation before the call (TR 33.790 §6.4.2.1 steps 0a/0b).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prep {
    /// Nothing.
    None,
    /// Option A (step 0a): the enterprise has the NEF allocate a designated IMPU for the
    /// caller; the caller registers it and calls from it.
    DesignatedImpu {
        /// The 3P ID the IMPU is for.
        id3p: &'static str,
    },
    /// Option B (step 0b): the caller obtains a token for the 3P ID and presents both in its
    /// INVITE's Authorization header (and the 3P ID in From).
    Token {
        /// The 3P ID.
        id3p: &'static str,
    },
    /// Option B without a token: the authorization server authenticates the caller instead
    /// (§6.4.2.2).
    Authenticate {
        /// The 3P ID.
        id3p: &'static str,
    },
    /// Option B with a token the caller obtained before this run (an ex-employee's).
    HeldToken {
        /// The 3P ID.
        id3p: &'static str,
    },
    /// Option B with a token another employee obtained before this run, which the caller
    /// copied.
    OthersToken {
        /// The 3P ID.
        id3p: &'static str,
        /// The UE the token was issued to.
        holder: &'static str,
    },
    /// Option B: the caller asks for a token; refused one, it presents the 3P ID without it
    /// (and the server's policy decides what follows).
    TokenIfGranted {
        /// The 3P ID.
        id3p: &'static str,
    },
}

/// What a call's data channels must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DcExpect {
    /// Both sides open every channel and exchange messages both ways.
    Up,
    /// The callee declines (port 0): no channels, the call stays up.
    Declined,
    /// The callee never answers ICE: the caller fails the channels within its bound, the call
    /// stays up.
    Unreachable,
    /// As [`DcExpect::Up`], and each UE's bootstrap channel to its MF carries `GET /` and the
    /// application list; a re-INVITE adds an application channel to the caller's MF that
    /// carries a message each way.
    Bootstrap,
}

/// Why a data channel phase did not go as planned.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// The data channel engine or the far end refused.
    #[error(transparent)]
    Dc(#[from] dc::DcError),
    /// Something the phase needs is not there (no MF in this world, no channel answered).
    #[error("{0}")]
    Missing(String),
    /// The bootstrap channel's HTTP answer is not what was asked for.
    #[error("the bootstrap answer: {0}")]
    Bootstrap(String),
    /// A message arrived changed.
    #[error("a message arrived changed")]
    Changed,
    /// A SIP exchange failed.
    #[error(transparent)]
    Sip(#[from] kit::Error),
    /// A UE's avatar action failed (its typed reason: [`ue::AvatarError::reason`]).
    #[error(transparent)]
    Avatar(#[from] ue::AvatarError),
}

fn missing(what: &str) -> PlayError {
    PlayError::Missing(what.to_owned())
}

/// What the users saw.
#[derive(Debug, Default)]
pub struct Observed {
    /// The caller's final response code.
    pub answered: Option<u16>,
    /// The last INVITE the callee received.
    pub callee_got: Option<Request>,
    /// The answer to the caller's BYE.
    pub bye: Option<u16>,
    /// The peer-to-peer data channels: exchanges done, or why not.
    pub dc: Option<Result<usize, PlayError>>,
    /// The channels to the network (bootstrap, then P2A by re-INVITE): exchanges, or why not.
    pub network: Option<Result<usize, PlayError>>,
    /// The attacker's registration attempts' final codes.
    pub registrations: Vec<u16>,
    /// The answer to a signing request an attacker sent the STI-AS directly.
    pub direct_signing: Option<u16>,
    /// What the users saw of the avatar, or why the avatar phase failed (solutions 5 and 6).
    pub avatar: Option<Result<AvatarObserved, PlayError>>,
    /// What the users saw of each other's avatars (solution 8).
    pub aos: Option<AosObserved>,
    /// What the DC ASs/AFs and the UEs saw (solution 9).
    pub exposure: Option<ExposureObserved>,
}

/// Channels a DC-capable caller offers: the avatar animation channel of TS 26.114 style
/// application data channels (stream ≥ 1000), and a second, unordered one.
pub fn p2p_channels() -> Vec<DcMap> {
    vec![
        DcMap::reliable(1000, "avatar", "avatar-json"),
        DcMap {
            ordered: false,
            max_retr: Some(2),
            ..DcMap::reliable(1002, "pose", "")
        },
    ]
}

/// The SIP-facing mid of the caller's application channel to the MF.
pub const P2A_MID: &str = "p2a";

const QUIET: Duration = Duration::from_millis(30);
const BOUND: Duration = Duration::from_secs(3);
const WAIT: Duration = Duration::from_secs(2);

/// Plays `script` in `world`.
pub async fn play(world: &World, script: &Script, timing: &mut Timing) -> anyhow::Result<Observed> {
    match script {
        Script::Call {
            caller,
            display,
            callee,
            target,
            prep,
            attack,
        } => {
            let call = CallPlan {
                caller,
                display: *display,
                callee,
                target,
                prep: *prep,
                attack: *attack,
            };
            play_call(world, &call, timing).await
        }
        Script::Avatar(plan) => avatar::play(world, plan, timing).await,
        Script::Aos(plan) => aos::play(world, plan, timing).await,
        Script::Exposure(plan) => exposure::play(world, plan, timing).await,
    }
}

/// The fields of [`Script::Call`].
struct CallPlan<'s> {
    caller: &'s str,
    display: Option<&'static str>,
    callee: &'s str,
    target: &'s str,
    prep: Prep,
    attack: Attack,
}

/// Plays a call.
async fn play_call(
    world: &World,
    plan: &CallPlan<'_>,
    timing: &mut Timing,
) -> anyhow::Result<Observed> {
    let CallPlan {
        caller,
        display,
        callee,
        target,
        prep,
        attack,
    } = plan;
    let callee_ue = world.ue(callee)?;
    let code = callee_ue.register().await?;
    anyhow::ensure!(code == 200, "{callee} could not register ({code})");
    let caller_ue = world.ue(caller)?;
    let mut observed = Observed::default();
    prepare(world, caller_ue, *prep, true).await?;
    world.settle(QUIET, BOUND).await;
    if attack.registers() {
        let code = caller_ue.register().await?;
        anyhow::ensure!(code == 200, "{caller} could not register ({code})");
        world.settle(QUIET, BOUND).await;
    }
    prepare(world, caller_ue, *prep, false).await?;
    world.settle(QUIET, BOUND).await;
    arm(world, caller_ue, *attack, &mut observed).await?;
    let began = Instant::now();
    let mut call = dial(world, caller_ue, callee_ue, target, *display).await?;
    timing.call_setup = began.elapsed();
    world.settle(QUIET, BOUND).await;
    observed.answered = Some(call.code);
    if world.dc.is_some() && call.answered() {
        observed.dc = Some(exchange(world, &call, callee_ue).await);
        world.settle(QUIET, BOUND).await;
    }
    if world.dc == Some(DcSetup::Bootstrap) && call.answered() {
        observed.network = Some(network(world, caller, caller_ue, &mut call, callee).await);
    }
    if call.answered() {
        observed.bye = Some(caller_ue.hang_up(&call).await?);
        world.settle(QUIET, BOUND).await;
    }
    observed.callee_got = callee_ue.received().last().cloned();
    Ok(observed)
}

/// What an attacker does before it dials: forge headers, fail to register as someone else, ask
/// the STI-AS directly. The NFs note what they refuse; the harness notes nothing.
async fn arm(
    world: &World,
    caller: &ue::Ue,
    attack: Attack,
    observed: &mut Observed,
) -> anyhow::Result<()> {
    match attack {
        Attack::None => {}
        Attack::AssertIdentity(uri) => caller.forge(ue::Forgery::AssertedIdentity(uri.into())),
        Attack::ReuseContact { of } => {
            let victim = world.ue(of)?;
            let addr = victim.endpoint().local_addr();
            let user = world.description.ue(of)?.tn.clone();
            caller.forge(ue::Forgery::Contact(format!(
                "sip:{user}@{}:{}",
                addr.ip(),
                addr.port()
            )));
        }
        Attack::RegisterAs { of } => {
            let impu = world.description.ue(of)?.impu.clone();
            observed
                .registrations
                .push(caller.register_as(&impu, None).await?);
            world.settle(QUIET, BOUND).await;
            let wrong = caller.register_as(&impu, Some("not-the-password")).await?;
            observed.registrations.push(wrong);
            world.settle(QUIET, BOUND).await;
        }
        Attack::OrigRoute => {
            let scscf = world.description.host(crate::node::SCSCF_O)?.to_owned();
            caller.forge(ue::Forgery::NextHop(scscf));
        }
        Attack::ForeignKey { of } => caller.use_ue_key(of),
        Attack::DirectSigning { by } => {
            let sti_as = world.description.host(crate::node::STI_AS_O)?.to_owned();
            let code = world.ue(by)?.ask_to_sign(&sti_as).await?;
            observed.direct_signing = Some(code);
            world.settle(QUIET, BOUND).await;
        }
    }
    Ok(())
}

/// The caller dials; the callee's phone rings; once the ringing has reached the caller (the
/// world is quiet), the callee picks up.
pub(super) async fn dial(
    world: &World,
    caller: &ue::Ue,
    callee: &ue::Ue,
    target: &str,
    display: Option<&str>,
) -> anyhow::Result<ue::Call> {
    let channels = if world.dc.is_some() {
        p2p_channels()
    } else {
        Vec::new()
    };
    // A refused call ends the wait for the callee's ringing at once.
    let done = std::sync::atomic::AtomicBool::new(false);
    let dialling = async {
        let call = caller.call_with(target, display, &channels).await;
        done.store(true, std::sync::atomic::Ordering::Release);
        call
    };
    let picking_up = async {
        let deadline = Instant::now() + BOUND;
        while callee.ringing() == 0
            && Instant::now() < deadline
            && !done.load(std::sync::atomic::Ordering::Acquire)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if callee.ringing() > 0 {
            world.settle(QUIET, BOUND).await;
            callee.answer();
        }
    };
    let (call, ()) = tokio::join!(dialling, picking_up);
    Ok(call?)
}

/// The bootstrap and P2A phase: the caller's channels to its network, then the callee's
/// bootstrap channel.
async fn network(
    world: &World,
    caller: &str,
    caller_ue: &ue::Ue,
    call: &mut ue::Call,
    callee: &str,
) -> Result<usize, PlayError> {
    let r = network_channels(world, caller_ue, call, &tn(world, caller)?).await;
    world.settle(QUIET, BOUND).await;
    let r = match r {
        Ok(n) => callee_bootstrap(
            world,
            world
                .ue(callee)
                .map_err(|e| PlayError::Missing(e.to_string()))?,
            &tn(world, callee)?,
        )
        .await
        .map(|m| n + m),
        Err(e) => Err(e),
    };
    world.settle(QUIET, BOUND).await;
    r
}

/// The number of UE `id` in this world.
fn tn(world: &World, id: &str) -> Result<String, PlayError> {
    world
        .description
        .ue(id)
        .map(|u| u.tn.clone())
        .map_err(|e| PlayError::Missing(e.to_string()))
}

fn mf<'w>(world: &'w World, id: &str) -> Result<&'w std::sync::Arc<xr::mf::Mf>, PlayError> {
    world
        .mfs
        .get(id)
        .ok_or_else(|| PlayError::Missing(format!("no MF {id} in this world")))
}

fn host(world: &World, id: &str) -> Result<String, PlayError> {
    world
        .description
        .host(id)
        .map(str::to_owned)
        .map_err(|e| PlayError::Missing(e.to_string()))
}

/// The caller's channels to its own network: the bootstrap channel (HTTP `GET /` for the DC
/// application list, which the MF gets from the DCSF), then an application channel to the MF
/// added by re-INVITE, carrying a message each way.
async fn network_channels(
    world: &World,
    caller: &ue::Ue,
    call: &mut ue::Call,
    tn: &str,
) -> Result<usize, PlayError> {
    let mf = mf(world, MF_O)?;
    let mf_host = host(world, MF_O)?;
    let bdc = call
        .bdc
        .clone()
        .ok_or_else(|| missing("no bootstrap data channel"))?;
    bdc.wait_open().await?;
    let far = mf
        .peer(tn, ue::BOOTSTRAP_MID)
        .ok_or_else(|| missing("the MF holds no bootstrap channel for the caller"))?;
    far.wait_open().await?;
    world.settle(QUIET, BOUND).await;
    fetch_app_list(&bdc, &mf_host).await?;
    world.settle(QUIET, BOUND).await;
    let app = DcMap::reliable(1100, "avatar-app", "avatar-json");
    let p2a = caller
        .add_channels(call, P2A_MID, std::slice::from_ref(&app))
        .await?;
    world.settle(QUIET, BOUND).await;
    p2a.wait_open().await?;
    let far = mf
        .peer(tn, P2A_MID)
        .ok_or_else(|| missing("the MF holds no application channel for the caller"))?;
    far.wait_open().await?;
    world.settle(QUIET, BOUND).await;
    let text = r#"{"avatar":"ue-a","scene":"lobby","action":"join"}"#;
    p2a.send(app.stream, text.as_bytes()).await?;
    let reply = p2a.recv(app.stream, WAIT).await?;
    serde_json::from_slice::<serde_json::Value>(&reply)
        .map_err(|e| PlayError::Bootstrap(format!("the MF's reply: {e}")))?;
    world.settle(QUIET, BOUND).await;
    Ok(2)
}

/// The callee's bootstrap channel, offered by its own network's MF in the INVITE: `GET /` for
/// its DC application list.
async fn callee_bootstrap(world: &World, callee: &ue::Ue, tn: &str) -> Result<usize, PlayError> {
    let mf = mf(world, MF_T)?;
    let mf_host = host(world, MF_T)?;
    let bdc = callee
        .answered_bdc()
        .ok_or_else(|| missing("the callee holds no bootstrap data channel"))?;
    bdc.wait_open().await?;
    let far = mf
        .peer(tn, ue::BOOTSTRAP_MID)
        .ok_or_else(|| missing("the terminating MF holds no bootstrap channel for the callee"))?;
    far.wait_open().await?;
    world.settle(QUIET, BOUND).await;
    fetch_app_list(&bdc, &mf_host).await?;
    Ok(1)
}

/// `GET /` over a bootstrap channel; the application list it answers.
pub(super) async fn fetch_app_list(
    bdc: &dc::Peer,
    mf_host: &str,
) -> Result<proto::wire::dcsf::AppList, PlayError> {
    let stream = ue::bootstrap_channel().stream;
    let get = format!("GET / HTTP/1.1\r\nHost: {mf_host}\r\nAccept: application/json\r\n\r\n");
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
    let list: proto::wire::dcsf::AppList = serde_json::from_str(body)
        .map_err(|e| PlayError::Bootstrap(format!("application list: {e}")))?;
    if list.apps.is_empty() {
        return Err(PlayError::Bootstrap("the application list is empty".into()));
    }
    Ok(list)
}

/// Avatar messages the users exchange over their peer-to-peer channel.
const AVATAR_MESSAGES: [(bool, &str); 3] = [
    (
        true,
        r#"{"avatar":"ue-a","frame":1,"pose":{"head":[0.0,12.5,0.0],"smile":0.8}}"#,
    ),
    (
        false,
        r#"{"avatar":"ue-b","frame":1,"pose":{"head":[3.0,0.0,-1.5],"smile":0.2}}"#,
    ),
    (
        true,
        r#"{"avatar":"ue-a","frame":2,"pose":{"head":[0.0,10.0,0.0],"smile":0.9}}"#,
    ),
];

/// Opens the call's data channels on both sides and has the two users exchange avatar
/// messages both ways (each waits for the other's, so the trace order is causal).
pub(super) async fn exchange(
    world: &World,
    call: &ue::Call,
    callee: &ue::Ue,
) -> Result<usize, PlayError> {
    let a = match (&call.dc, &call.dc_refused) {
        (Some(a), _) => a.clone(),
        (None, Some(refused)) => return Err(PlayError::Dc(refused.clone())),
        (None, None) => return Err(missing("no data channels")),
    };
    a.wait_open().await?;
    let b = callee
        .answered_dc()
        .ok_or_else(|| missing("the callee holds no data channels"))?;
    b.wait_open().await?;
    world.settle(QUIET, BOUND).await;
    let mut n = 0;
    for (from_caller, text) in AVATAR_MESSAGES {
        let (from, to) = if from_caller { (&a, &b) } else { (&b, &a) };
        from.send(1000, text.as_bytes()).await?;
        let got = to.recv(1000, WAIT).await?;
        if got != text.as_bytes() {
            return Err(PlayError::Changed);
        }
        n += 1;
    }
    world.settle(QUIET, BOUND).await;
    Ok(n)
}

/// Solution 4's steps 0a/0b, before (`before_registration`) and after the caller registers.
/// What a step does is recorded by the node that does it; a step the option does not take is
/// shown as such by the figure, not written here.
async fn prepare(
    world: &World,
    ue: &ue::Ue,
    prep: Prep,
    before_registration: bool,
) -> anyhow::Result<()> {
    let realm = world.description.host(crate::node::AUTHZ3P)?.to_owned();
    let authz = || {
        world
            .authz
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no 3P authorization server in this world"))
    };
    match (prep, before_registration) {
        (Prep::DesignatedImpu { id3p }, true) => {
            let allocation = authz()?
                .request_allocation(&ue.impu(), id3p)
                .await
                .map_err(|e| anyhow::anyhow!("step 0a: {e}"))?;
            // The UE is told by its enterprise, not by a message in the trace: the barrier
            // puts its note after the allocation.
            world.settle(QUIET, BOUND).await;
            ue.use_impu(&allocation.impu);
            world.settle(QUIET, BOUND).await;
        }
        // Option B: the UE presents the 3P ID (Authorization and From), with a token or not.
        (
            Prep::Token { id3p }
            | Prep::HeldToken { id3p }
            | Prep::Authenticate { id3p }
            | Prep::OthersToken { id3p, .. }
            | Prep::TokenIfGranted { id3p },
            false,
        ) => {
            let token = match prep {
                Prep::Token { .. } => Some(ue.obtain_3p_token(&realm, id3p).await?.access_token),
                // The UE noted the refusal; it goes on without a token.
                Prep::TokenIfGranted { .. } => ue
                    .obtain_3p_token(&realm, id3p)
                    .await
                    .ok()
                    .map(|t| t.access_token),
                Prep::HeldToken { .. } => Some(held_token(world, ue, &ue.impu(), id3p)?),
                Prep::OthersToken { holder, .. } => {
                    let impu = world.description.ue(holder)?.impu.clone();
                    Some(held_token(world, ue, &impu, id3p)?)
                }
                _ => None,
            };
            ue.set_authorization(Some(ue::bearer_authorization(
                &realm,
                id3p,
                token.as_deref(),
            )));
            ue.present_as(Some(id3p));
        }
        _ => {}
    }
    Ok(())
}

/// A token issued before this run: to the caller while it was still an employee, or to another
/// employee (`holder`) and copied by the caller. The harness makes it with the enterprise's key
/// (no message crosses a wire), and says so in its own name.
fn held_token(world: &World, ue: &ue::Ue, holder: &str, id3p: &str) -> anyhow::Result<String> {
    let authz = world
        .authz
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no 3P authorization server in this world"))?;
    let token = authz
        .mint_token(holder, id3p)
        .map_err(|e| anyhow::anyhow!("the earlier token: {e}"))?;
    let how = if holder == ue.impu() {
        format!("before this run, {holder} obtained a token for {id3p} while still an employee")
    } else {
        format!(
            "before this run, {holder} obtained a token for {id3p}, and {} copied it",
            ue.impu()
        )
    };
    world
        .tap
        .note(TESTBED, None, Note::done(Act::ObtainToken, how));
    Ok(token.access_token)
}
