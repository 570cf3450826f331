//! Running a scenario variant: start a world with the variant's threat switches, play the
//! users' part (register, call, answer, hang up), stop the world, and judge the trace — every
//! TR step seen, every expected outcome observed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto::clock::Clock;
use proto::sip::Timers;
use proto::sipmsg::{self, NameAddr, Request};
use proto::trace::{Body, Note, Record};
use serde::Serialize;

use crate::scenario::{Figure, Outcome, StepMatch, match_steps};
use crate::world::{Description, Options, Setup, World};

/// What the users do.
#[derive(Debug, Clone)]
pub enum Script {
    /// `caller` (registering first unless it is the PBX) calls `callee`'s number, naming
    /// `display` as its 3P ID data; the callee answers; the caller hangs up.
    Call {
        caller: &'static str,
        display: Option<&'static str>,
        callee: &'static str,
        target: &'static str,
        /// What the caller (or its enterprise) does first.
        prep: Prep,
    },
}

/// Solution 4's preparation before the call (TR 33.790 §6.4.2.1 steps 0a/0b).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prep {
    None,
    /// Option A (step 0a): the enterprise has the NEF allocate a designated IMPU for the
    /// caller; the caller registers it and calls from it.
    DesignatedImpu {
        id3p: &'static str,
    },
    /// Option B (step 0b): the caller obtains a token for the 3P ID and presents both in its
    /// INVITE's Authorization header (and the 3P ID in From).
    Token {
        id3p: &'static str,
    },
    /// Option B without a token: the authorization server authenticates the caller instead
    /// (§6.4.2.2).
    Authenticate {
        id3p: &'static str,
    },
    /// Option B with a token the caller obtained earlier (an ex-employee's): no step 0b now.
    HeldToken {
        id3p: &'static str,
    },
}

/// What a variant must show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Expected {
    pub answered: bool,
    /// `verstat` on the P-Asserted-Identity the callee receives.
    pub verstat: &'static str,
    /// The caller name the callee is shown (P-Asserted-Identity display name), if any.
    pub name: Option<&'static str>,
    /// Whether the callee gets a Call-Info with purpose=rcd-jcard.
    pub jcard: bool,
    /// Whether the originating IMS AS asked the 3P ID server.
    pub id3p_consulted: bool,
    /// Whether an `rcd` PASSporT was signed.
    pub rcd_signed: bool,
    /// A check the STI-VS must report failed: (ppt, SIP code).
    pub vs_failure: Option<(&'static str, u16)>,
    /// What the call's data channels must do (DC-capable UEs only).
    pub dc: Option<DcExpect>,
    /// `verstat` on the From URI the callee receives, when it matters (solution 4).
    pub from_verstat: Option<&'static str>,
}

/// What a call's peer-to-peer data channels must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DcExpect {
    /// Both sides open every channel and exchange messages both ways.
    Up,
    /// The callee declines (port 0): no channels, the call stays up.
    Declined,
    /// The callee never answers ICE: the caller fails the channels within its bound, the call
    /// stays up.
    Unreachable,
    /// As [`DcExpect::Up`], and the caller's bootstrap channel to its MF carries `GET /` and
    /// the application list; a re-INVITE adds an application channel to the MF that carries a
    /// message each way.
    Bootstrap,
}

/// Channels a DC-capable caller offers: the avatar animation channel of TS 26.114 style
/// application data channels (stream ≥ 1000), and a second, unordered one.
pub fn p2p_channels() -> Vec<proto::sdp::DcMap> {
    vec![
        proto::sdp::DcMap::reliable(1000, "avatar", "avatar-json"),
        proto::sdp::DcMap {
            ordered: false,
            max_retr: Some(2),
            ..proto::sdp::DcMap::reliable(1002, "pose", "")
        },
    ]
}

/// A scenario variant: one flow of one solution, with or without a threat switched on.
#[derive(Debug, Clone)]
pub struct Variant {
    pub solution: u8,
    pub id: &'static str,
    pub title: &'static str,
    /// The TR clause 5 threat the variant shows mitigated.
    pub threat: Option<&'static str>,
    pub figure: Figure,
    /// Testbed choices the flow depends on.
    pub choices: Vec<&'static str>,
    pub setup: Setup,
    pub script: Script,
    pub expected: Expected,
}

impl Variant {
    /// `2:single`, as the command line names it.
    pub fn name(&self) -> String {
        format!("{}:{}", self.solution, self.id)
    }
}

/// The outcome of one run.
#[derive(Debug)]
pub struct Run {
    pub variant: Variant,
    /// The trace, in causal order.
    pub trace: Vec<Record>,
    /// Every address a node used and its name (for port normalisation).
    pub names: Vec<(SocketAddr, String)>,
    /// The addresses the world's nodes listened on.
    pub listening: Vec<(SocketAddr, String)>,
    pub steps: Vec<StepMatch>,
    pub outcomes: Vec<Outcome>,
    /// A failure that stopped the run.
    pub error: Option<String>,
    pub timing: Timing,
    /// Two nodes were seen on one address (the trace may name a peer wrongly).
    pub ambiguous: bool,
}

/// Measured durations (reported, never asserted).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub startup: Duration,
    /// INVITE sent → final response at the caller.
    pub call_setup: Duration,
    pub total: Duration,
}

impl Run {
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.steps.iter().all(StepMatch::seen)
            && self.outcomes.iter().all(|o| o.passed)
    }
}

/// Timers for scenario runs: the RFC values, with Timer C short so a lost final answer fails
/// a run in seconds, not minutes.
pub fn scenario_timers() -> Timers {
    Timers {
        timer_c: Duration::from_secs(10),
        ..Timers::default()
    }
}

struct Observed {
    answered: Option<u16>,
    callee_got: Option<Request>,
    /// Data channels: what happened (messages exchanged, or why not); the call was still up
    /// afterwards (the BYE got 200).
    dc: Option<(Result<usize, String>, bool)>,
    /// Channels to the network (bootstrap, then P2A by re-INVITE): exchanges done, or why not.
    network: Option<Result<usize, String>>,
}

/// The caller's channels to its own network: the bootstrap channel (HTTP `GET /` for the DC
/// application list, which the MF gets from the DCSF), then an application channel to the MF
/// added by re-INVITE, carrying a message each way.
async fn network_channels(
    world: &World,
    caller: &ue::Ue,
    call: &mut ue::Call,
    tn: &str,
) -> Result<usize, String> {
    let quiet = Duration::from_millis(30);
    let bound = Duration::from_secs(3);
    let wait = Duration::from_secs(2);
    let mf = world
        .mfs
        .get("mf-o")
        .ok_or_else(|| "no MF in this world".to_owned())?;
    let mf_host = world
        .description
        .host("mf-o")
        .map_err(|e| e.to_string())?
        .to_owned();
    let bdc = call
        .bdc
        .clone()
        .ok_or_else(|| "no bootstrap data channel".to_owned())?;
    bdc.wait_open().await.map_err(|e| e.to_string())?;
    let far = mf
        .peer(tn, ue::BOOTSTRAP_MID)
        .ok_or_else(|| "the MF holds no bootstrap channel for the caller".to_owned())?;
    far.wait_open().await.map_err(|e| e.to_string())?;
    world.settle(quiet, bound).await;
    fetch_app_list(&bdc, &mf_host).await?;
    let mut n = 1;
    world.settle(quiet, bound).await;
    let app = proto::sdp::DcMap::reliable(1100, "avatar-app", "avatar-json");
    let p2a = caller
        .add_channels(call, P2A_MID, std::slice::from_ref(&app))
        .await
        .map_err(|e| e.to_string())?;
    world.settle(quiet, bound).await;
    p2a.wait_open().await.map_err(|e| e.to_string())?;
    let far = mf
        .peer(tn, P2A_MID)
        .ok_or_else(|| "the MF holds no application channel for the caller".to_owned())?;
    far.wait_open().await.map_err(|e| e.to_string())?;
    world.settle(quiet, bound).await;
    let text = r#"{"avatar":"ue-a","scene":"lobby","action":"join"}"#;
    p2a.send(app.stream, text.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let reply = p2a
        .recv(app.stream, wait)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice::<serde_json::Value>(&reply)
        .map_err(|e| format!("the MF's reply: {e}"))?;
    n += 1;
    world.settle(quiet, bound).await;
    Ok(n)
}

/// The callee's bootstrap channel, offered by its own network's MF in the INVITE: `GET /` for
/// its DC application list.
async fn callee_bootstrap(world: &World, callee: &ue::Ue, tn: &str) -> Result<usize, String> {
    let mf = world
        .mfs
        .get("mf-t")
        .ok_or_else(|| "no terminating MF in this world".to_owned())?;
    let mf_host = world
        .description
        .host("mf-t")
        .map_err(|e| e.to_string())?
        .to_owned();
    let bdc = callee
        .answered_bdc()
        .ok_or_else(|| "the callee holds no bootstrap data channel".to_owned())?;
    bdc.wait_open().await.map_err(|e| e.to_string())?;
    let far = mf
        .peer(tn, ue::BOOTSTRAP_MID)
        .ok_or_else(|| "the terminating MF holds no bootstrap channel for the callee".to_owned())?;
    far.wait_open().await.map_err(|e| e.to_string())?;
    world
        .settle(Duration::from_millis(30), Duration::from_secs(3))
        .await;
    fetch_app_list(&bdc, &mf_host).await?;
    Ok(1)
}

/// `GET /` over a bootstrap channel; the application list it answers.
async fn fetch_app_list(
    bdc: &dc::Peer,
    mf_host: &str,
) -> Result<proto::wire::dcsf::AppList, String> {
    let stream = ue::bootstrap_channel().stream;
    let get = format!("GET / HTTP/1.1\r\nHost: {mf_host}\r\nAccept: application/json\r\n\r\n");
    bdc.send(stream, get.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let got = bdc
        .recv(stream, Duration::from_secs(2))
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "the bootstrap answer is not HTTP".to_owned())?;
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(format!(
            "the bootstrap answer is {:?}",
            head.lines().next().unwrap_or("")
        ));
    }
    let list: proto::wire::dcsf::AppList =
        serde_json::from_str(body).map_err(|e| format!("application list: {e}"))?;
    if list.apps.is_empty() {
        return Err("the application list is empty".into());
    }
    Ok(list)
}

/// The SIP-facing mid of the caller's application channel to the MF.
pub const P2A_MID: &str = "p2a";

/// Opens the call's data channels on both sides and has the two users exchange avatar
/// messages both ways (each waits for the other's, so the trace order is causal).
async fn exchange(world: &World, call: &ue::Call, callee: &ue::Ue) -> Result<usize, String> {
    let quiet = Duration::from_millis(30);
    let bound = Duration::from_secs(3);
    let a = call.dc.clone().ok_or_else(|| {
        call.dc_refused
            .clone()
            .unwrap_or_else(|| "no data channels".into())
    })?;
    a.wait_open().await.map_err(|e| e.to_string())?;
    let b = callee
        .answered_dc()
        .ok_or_else(|| "the callee holds no data channels".to_owned())?;
    b.wait_open().await.map_err(|e| e.to_string())?;
    world.settle(quiet, bound).await;
    let wait = Duration::from_secs(2);
    let mut n = 0;
    for (from, to, text) in [
        (
            &a,
            &b,
            r#"{"avatar":"ue-a","frame":1,"pose":{"head":[0.0,12.5,0.0],"smile":0.8}}"#,
        ),
        (
            &b,
            &a,
            r#"{"avatar":"ue-b","frame":1,"pose":{"head":[3.0,0.0,-1.5],"smile":0.2}}"#,
        ),
        (
            &a,
            &b,
            r#"{"avatar":"ue-a","frame":2,"pose":{"head":[0.0,10.0,0.0],"smile":0.9}}"#,
        ),
    ] {
        from.send(1000, text.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let got = to.recv(1000, wait).await.map_err(|e| e.to_string())?;
        if got != text.as_bytes() {
            return Err("a message arrived changed".into());
        }
        n += 1;
    }
    world.settle(quiet, bound).await;
    Ok(n)
}

async fn play(world: &World, script: &Script, timing: &mut Timing) -> anyhow::Result<Observed> {
    let Script::Call {
        caller,
        display,
        callee,
        target,
        prep,
    } = script;
    let quiet = Duration::from_millis(30);
    let bound = Duration::from_secs(3);
    let callee_ue = world.ue(callee)?;
    let code = callee_ue.register().await?;
    anyhow::ensure!(code == 200, "{callee} could not register ({code})");
    let caller_ue = world.ue(caller)?;
    prepare(world, caller, caller_ue, *prep, true).await?;
    world.settle(quiet, bound).await;
    let code = caller_ue.register().await?;
    anyhow::ensure!(code == 200, "{caller} could not register ({code})");
    world.settle(quiet, bound).await;
    prepare(world, caller, caller_ue, *prep, false).await?;
    world.settle(quiet, bound).await;
    let began = Instant::now();
    // The caller dials; the callee's phone rings; once the ringing has reached the caller (the
    // world is quiet), the callee picks up.
    let channels = if world.dc.is_some() {
        p2p_channels()
    } else {
        Vec::new()
    };
    let mut call = async {
        let dialling = caller_ue.call_with(target, *display, &channels);
        let picking_up = async {
            let deadline = Instant::now() + bound;
            while callee_ue.ringing() == 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if callee_ue.ringing() > 0 {
                world.settle(quiet, bound).await;
                callee_ue.answer();
            }
        };
        let (call, ()) = tokio::join!(dialling, picking_up);
        call
    }
    .await?;
    timing.call_setup = began.elapsed();
    world.settle(quiet, bound).await;
    let exchanged = if world.dc.is_some() && call.answered() {
        let r = exchange(world, &call, callee_ue).await;
        world.settle(quiet, bound).await;
        Some(r)
    } else {
        None
    };
    let network = if world.dc == Some(crate::world::DcSetup::Bootstrap) && call.answered() {
        let tn = world.description.ue(caller)?.tn.clone();
        let r = network_channels(world, caller_ue, &mut call, &tn).await;
        world.settle(quiet, bound).await;
        let callee_tn = world.description.ue(callee)?.tn.clone();
        let r = match r {
            Ok(n) => callee_bootstrap(world, callee_ue, &callee_tn)
                .await
                .map(|m| n + m),
            Err(e) => Err(e),
        };
        world.settle(quiet, bound).await;
        Some(r)
    } else {
        None
    };
    let mut bye = None;
    if call.answered() {
        let code = caller_ue.hang_up(&call).await?;
        anyhow::ensure!(code == 200, "BYE answered {code}");
        bye = Some(code);
        world.settle(quiet, bound).await;
    }
    Ok(Observed {
        answered: Some(call.code),
        callee_got: callee_ue.received().last().cloned(),
        dc: exchanged.map(|r| (r, bye == Some(200))),
        network,
    })
}

/// Solution 4's steps 0a/0b, before (`before_registration`) and after the caller registers.
/// A step the option does not take is said in the trace by the node that would have acted.
async fn prepare(
    world: &World,
    caller: &str,
    ue: &ue::Ue,
    prep: Prep,
    before_registration: bool,
) -> anyhow::Result<()> {
    let realm = world.description.host("authz3p")?.to_owned();
    let skip = |node: &str, label: String| {
        world.tap.note(node, None, Note::Action { label });
    };
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
            ue.use_impu(&allocation.impu);
            world
                .settle(Duration::from_millis(30), Duration::from_secs(3))
                .await;
            skip(
                caller,
                format!(
                    "configure the allocated IMPU {} (option A): no token is obtained",
                    allocation.impu
                ),
            );
        }
        // Option B: the UE presents the 3P ID (Authorization and From), with a token or not.
        (Prep::Token { id3p } | Prep::HeldToken { id3p } | Prep::Authenticate { id3p }, false) => {
            skip(
                "authz3p",
                "option B: no designated IMPU is allocated for this UE".into(),
            );
            let token = match prep {
                Prep::Token { .. } => Some(ue.obtain_3p_token(&realm, id3p).await?),
                Prep::HeldToken { .. } => {
                    let token = authz()?
                        .mint_token(&ue.impu(), id3p)
                        .map_err(|e| anyhow::anyhow!("the earlier token: {e}"))?;
                    skip(
                        caller,
                        "presents the token it obtained while still an employee (no step 0b now)"
                            .into(),
                    );
                    Some(token)
                }
                _ => {
                    skip(
                        caller,
                        "no token is obtained: the authorization server is to authenticate the UE (§6.4.2.2)".into(),
                    );
                    None
                }
            };
            ue.set_authorization(Some(ue::bearer_authorization(
                &realm,
                id3p,
                token.as_ref().map(|t| t.access_token.as_str()),
            )));
            ue.present_as(Some(id3p));
        }
        _ => {}
    }
    Ok(())
}

/// Runs one variant with `seed`.
///
/// Traces name ports by node, and the OS picks every port: now and then an ephemeral client
/// port of one node (TCP) has the number another node listens on (UDP), and the trace would
/// name it after the wrong node. Such a run is repeated (at most three times) so that traces
/// stay byte-stable; the repeat is a fresh world, the result otherwise the same.
pub async fn execute(variant: &Variant, seed: u64) -> Run {
    let mut run = execute_once(variant, seed).await;
    for _ in 0..3 {
        if !run.ambiguous && !ports_collide(&run.names) {
            break;
        }
        run = execute_once(variant, seed).await;
    }
    run
}

/// Whether two different nodes were seen on the same port number (of any protocol).
fn ports_collide(names: &[(SocketAddr, String)]) -> bool {
    let mut by_port: std::collections::BTreeMap<u16, &str> = std::collections::BTreeMap::new();
    names
        .iter()
        .any(|(addr, node)| *by_port.entry(addr.port()).or_insert(node.as_str()) != node.as_str())
}

async fn execute_once(variant: &Variant, seed: u64) -> Run {
    let began = Instant::now();
    let mut timing = Timing::default();
    let world = async {
        let description = Description::load()?;
        let clock = Clock::Fixed(description.start_time()?);
        let options = Options {
            seed,
            clock,
            timers: scenario_timers(),
            setup: variant.setup.clone(),
            auto_answer: false,
        };
        World::start(description, options).await
    }
    .await;
    let world = match world {
        Ok(w) => w,
        Err(e) => {
            return Run {
                variant: variant.clone(),
                trace: Vec::new(),
                names: Vec::new(),
                listening: Vec::new(),
                steps: Vec::new(),
                outcomes: Vec::new(),
                error: Some(format!("{e:#}")),
                timing,
                ambiguous: false,
            };
        }
    };
    timing.startup = world.startup;
    let played = play(&world, &variant.script, &mut timing).await;
    let tap = world.tap.clone();
    let listening = world.addresses.clone();
    let mut names = listening.clone();
    world.shutdown().await;
    // Data channel (ICE) addresses the nodes registered.
    for (addr, node) in tap.names() {
        if !names.iter().any(|(a, _)| *a == addr) {
            names.push((addr, node));
        }
    }
    let trace = tap.ordered();
    // Ephemeral TCP client ports the nodes registered, too.
    for r in &trace {
        if let Some(m) = r.message() {
            for addr in [m.src, m.dst] {
                if let Some(node) = tap.node_at(addr)
                    && !names.iter().any(|(a, _)| *a == addr)
                {
                    names.push((addr, node));
                }
            }
        }
    }
    let steps = match_steps(&variant.figure, &trace);
    let (outcomes, error) = match played {
        Ok(observed) => (judge(&variant.expected, &observed, &trace), None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    timing.total = began.elapsed();
    Run {
        variant: variant.clone(),
        trace,
        names,
        listening,
        steps,
        outcomes,
        error,
        timing,
        ambiguous: tap.ambiguous(),
    }
}

/// Call set-up latency in a solution-2 world: UE-A calls UE-B (who answers at once) `calls`
/// times; returns each INVITE → 200 time at the caller and the world's start-up time.
pub async fn bench_calls(calls: usize, seed: u64) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let description = Description::load()?;
    let clock = Clock::Fixed(description.start_time()?);
    let options = Options {
        seed,
        clock,
        timers: scenario_timers(),
        setup: Setup::default(),
        auto_answer: true,
    };
    let world = World::start(description, options).await?;
    let startup = world.startup;
    let result = async {
        let (a, b) = (world.ue("ue-a")?, world.ue("ue-b")?);
        anyhow::ensure!(
            b.register().await? == 200 && a.register().await? == 200,
            "registration failed"
        );
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let began = Instant::now();
            let call = a
                .call(
                    "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone",
                    None,
                )
                .await?;
            times.push(began.elapsed());
            anyhow::ensure!(call.answered(), "call answered {}", call.code);
            a.hang_up(&call).await?;
        }
        Ok(times)
    }
    .await;
    world.shutdown().await;
    Ok((startup, result?))
}

/// Data channel latency in a solution-2 world with DC-capable UEs: UE-A calls UE-B (who
/// answers at once) `calls` times, offering the peer-to-peer channels; returns, per call, the
/// time from sending the INVITE to UE-B receiving UE-A's first application (avatar) message.
pub async fn bench_dc_calls(calls: usize, seed: u64) -> anyhow::Result<Vec<Duration>> {
    let description = Description::load()?;
    let clock = Clock::Fixed(description.start_time()?);
    let options = Options {
        seed,
        clock,
        timers: scenario_timers(),
        setup: Setup {
            nni_tamper: None,
            dc: Some(crate::world::DcSetup::Accept),
            ..Setup::default()
        },
        auto_answer: true,
    };
    let world = World::start(description, options).await?;
    let result = async {
        let (a, b) = (world.ue("ue-a")?, world.ue("ue-b")?);
        anyhow::ensure!(
            b.register().await? == 200 && a.register().await? == 200,
            "registration failed"
        );
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let began = Instant::now();
            let call = a
                .call_with(
                    "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone",
                    None,
                    &p2p_channels(),
                )
                .await?;
            anyhow::ensure!(call.answered(), "call answered {}", call.code);
            let peer = call
                .dc
                .clone()
                .ok_or_else(|| anyhow::anyhow!("no data channels: {:?}", call.dc_refused))?;
            let far = b
                .answered_dc()
                .ok_or_else(|| anyhow::anyhow!("the callee holds no data channels"))?;
            // Both ends open before the first message: a message that reaches an end whose
            // negotiated channel has not opened yet is not delivered by the engine.
            let (near, remote) = tokio::join!(peer.wait_open(), far.wait_open());
            near?;
            remote?;
            peer.send(1000, br#"{"avatar":"ue-a","frame":1}"#).await?;
            far.recv(1000, Duration::from_secs(2)).await.map_err(|e| {
                anyhow::anyhow!("call {}: {e} (far {far:?}, near {peer:?})", times.len() + 1)
            })?;
            times.push(began.elapsed());
            a.hang_up(&call).await?;
        }
        Ok(times)
    }
    .await;
    world.shutdown().await;
    result
}

fn sent_by(trace: &[Record], node: &str, to: &str) -> bool {
    trace
        .iter()
        .any(|r| r.node == node && matches!(&r.body, Body::Sent { to: Some(t), .. } if t == to))
}

fn judge(expected: &Expected, observed: &Observed, trace: &[Record]) -> Vec<Outcome> {
    let mut out = Vec::new();
    let code = observed.answered.unwrap_or(0);
    out.push(Outcome::check(
        if expected.answered {
            "the call is answered (200) and completes"
        } else {
            "the call is refused"
        },
        expected.answered == (200..300).contains(&code),
        format!("final response {code}"),
    ));
    let Some(invite) = &observed.callee_got else {
        out.push(Outcome::check(
            "the callee receives the INVITE",
            false,
            "no INVITE reached the callee",
        ));
        return out;
    };
    let pai = sipmsg::first(&invite.headers, "P-Asserted-Identity").and_then(NameAddr::parse);
    let verstat = pai
        .as_ref()
        .and_then(|p| p.uri_param("verstat"))
        .unwrap_or("(none)");
    out.push(Outcome::check(
        format!("the callee gets verstat={}", expected.verstat),
        verstat == expected.verstat,
        format!("P-Asserted-Identity verstat={verstat}"),
    ));
    if let Some(want) = expected.from_verstat {
        let from = sipmsg::first(&invite.headers, "From").and_then(NameAddr::parse);
        let got = from
            .as_ref()
            .and_then(|f| f.uri_param("verstat"))
            .unwrap_or("(none)");
        out.push(Outcome::check(
            format!("the number in From is marked verstat={want}"),
            got == want,
            format!(
                "From {} verstat={got}",
                from.as_ref().map_or("(none)", |f| f.uri.as_str())
            ),
        ));
    }
    let name = pai.as_ref().and_then(|p| p.display.clone());
    let from_name = sipmsg::first(&invite.headers, "From")
        .and_then(NameAddr::parse)
        .and_then(|f| f.display);
    let shown = name.clone().or(from_name);
    out.push(Outcome::check(
        match expected.name {
            Some(n) => format!("the callee is shown the verified name {n:?}"),
            None => "the callee is shown no caller name".into(),
        },
        shown.as_deref() == expected.name,
        format!(
            "name at the callee: {}",
            shown
                .as_deref()
                .map_or("none".to_owned(), |n| format!("{n:?}"))
        ),
    ));
    let jcard = sipmsg::values(&invite.headers, "Call-Info")
        .iter()
        .any(|v| v.contains("purpose=rcd-jcard"));
    out.push(Outcome::check(
        if expected.jcard {
            "the callee gets the jCard URL (Call-Info purpose=rcd-jcard)"
        } else {
            "the callee gets no jCard URL"
        },
        jcard == expected.jcard,
        format!(
            "Call-Info rcd-jcard {}",
            if jcard { "present" } else { "absent" }
        ),
    ));
    let consulted = sent_by(trace, "as-o", "id3p");
    out.push(Outcome::check(
        if expected.id3p_consulted {
            "the originating AS fetches the RCD from the 3P ID server"
        } else {
            "the 3P ID server is not consulted"
        },
        consulted == expected.id3p_consulted,
        format!(
            "as-o → id3p requests: {}",
            if consulted { "yes" } else { "none" }
        ),
    ));
    let rcd_signed = trace.iter().any(|r| r.node == "sti-as-o" && matches!(&r.body, Body::Note { note: Note::Token { label, .. }, .. } if label.contains("ppt=rcd")));
    out.push(Outcome::check(
        if expected.rcd_signed {
            "an rcd PASSporT is signed"
        } else {
            "no rcd PASSporT is signed"
        },
        rcd_signed == expected.rcd_signed,
        format!(
            "rcd PASSporT {}",
            if rcd_signed { "signed" } else { "not signed" }
        ),
    ));
    if let Some((ppt, code)) = expected.vs_failure {
        let failed = trace.iter().find_map(|r| match &r.body {
            Body::Note {
                note:
                    Note::Check {
                        name,
                        passed: false,
                        detail,
                        code: c,
                    },
                ..
            } if r.node == "sti-vs-t" && name.starts_with(ppt) => {
                Some((name.clone(), detail.clone(), *c))
            }
            _ => None,
        });
        out.push(Outcome::check(
            format!("the STI-VS rejects the {ppt} PASSporT with {code}"),
            failed.as_ref().is_some_and(|(_, _, c)| *c == Some(code)),
            failed.map_or("no failed check".into(), |(n, d, _)| format!("{n}: {d}")),
        ));
    }
    if let Some(want) = expected.dc {
        let (what, passed, detail) = match (&observed.dc, want) {
            (None, _) => (
                "data channels",
                false,
                "no data channel phase ran".to_owned(),
            ),
            (Some((r, up)), DcExpect::Up) => (
                "the data channels open on both sides and carry avatar messages both ways; BYE closes them",
                matches!(r, Ok(3)) && *up,
                format!("{r:?}, call up until BYE: {up}"),
            ),
            (Some((r, up)), DcExpect::Declined) => (
                "the callee declines the data channels (port 0) and the call stays up",
                r.as_ref().is_err_and(|e| e.contains("declined")) && *up,
                format!("{r:?}, call up until BYE: {up}"),
            ),
            (Some((r, up)), DcExpect::Unreachable) => (
                "the data channels fail within their bound and the call stays up",
                r.as_ref().is_err_and(|e| e.contains("not up within")) && *up,
                format!("{r:?}, call up until BYE: {up}"),
            ),
            (Some((r, up)), DcExpect::Bootstrap) => (
                "peer-to-peer channels carry avatar messages both ways; each UE's bootstrap channel to its own network's MF carries GET / and its DC application list; a re-INVITE adds a channel to the caller's MF that carries a message each way; BYE closes them",
                matches!(r, Ok(3)) && matches!(observed.network, Some(Ok(3))) && *up,
                format!(
                    "peer to peer {r:?}, to the network {:?}, call up until BYE: {up}",
                    observed.network
                ),
            ),
        };
        out.push(Outcome::check(what, passed, detail));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn colliding_ports_are_found() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:4001".parse().unwrap();
        let same = vec![
            (a, "x".to_owned()),
            (a, "x".to_owned()),
            (b, "y".to_owned()),
        ];
        assert!(!ports_collide(&same));
        let clash = vec![
            (a, "x".to_owned()),
            (b, "y".to_owned()),
            (a, "z".to_owned()),
        ];
        assert!(ports_collide(&clash));
    }
}
