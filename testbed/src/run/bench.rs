//! Benchmarks over real sockets in a solution-2 world where callees answer at once: call set-up
//! latency (INVITE → 200 at the caller) and data channel latency (INVITE → the callee receiving
//! the caller's first avatar message); and, in solution 6's network centric flow, the avatar
//! rendering round trip. Numbers are reported by `testbed bench`, never asserted.

use std::time::{Duration, Instant};

use proto::trace::{Body, Proto, Record};
use proto::wire::avatar::AVATAR_APP_STREAM;

use super::play::p2p_channels;
use crate::node::{UE_A, UE_B};
use crate::world::{DcSetup, Description, World};

/// The callee of benchmark and load calls (UE-B's number in the terminating network).
pub const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";

/// A solution-2 world whose callees answer at once, with UE-A and UE-B registered.
pub(crate) async fn world(seed: u64, dc: Option<DcSetup>) -> anyhow::Result<World> {
    world_with(seed, dc, None).await
}

/// [`world`], with other SIP timers than the scenarios' when given.
pub async fn world_with(
    seed: u64,
    dc: Option<DcSetup>,
    timers: Option<proto::sip::Timers>,
) -> anyhow::Result<World> {
    let description = Description::load()?;
    let mut options = crate::bench::load::options(&description, seed, dc)?;
    if let Some(timers) = timers {
        options.timers = timers;
    }
    let world = World::start(description, options).await?;
    let registered = async {
        let (a, b) = (world.ue(UE_A)?, world.ue(UE_B)?);
        anyhow::ensure!(
            b.register().await? == 200 && a.register().await? == 200,
            "registration failed"
        );
        Ok(())
    }
    .await;
    if let Err(e) = registered {
        world.shutdown().await;
        return Err(e);
    }
    Ok(world)
}

/// UE-A calls UE-B once; INVITE → 200 at the caller.
async fn call(world: &World) -> anyhow::Result<Duration> {
    let a = world.ue(UE_A)?;
    let began = Instant::now();
    let call = a.call(CALLEE, None).await?;
    let took = began.elapsed();
    anyhow::ensure!(call.answered(), "call answered {}", call.code);
    a.hang_up(&call).await?;
    Ok(took)
}

/// UE-A calls UE-B once with data channels; INVITE → UE-B receiving the first avatar message.
async fn dc_call(world: &World) -> anyhow::Result<Duration> {
    let (a, b) = (world.ue(UE_A)?, world.ue(UE_B)?);
    let began = Instant::now();
    let call = a.call_with(CALLEE, None, &p2p_channels()).await?;
    anyhow::ensure!(call.answered(), "call answered {}", call.code);
    let near = call
        .dc
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no data channels: {:?}", call.dc_refused))?;
    let far = b
        .answered_dc()
        .ok_or_else(|| anyhow::anyhow!("the callee holds no data channels"))?;
    // Both ends open before the first message: a message that reaches an end whose
    // negotiated channel has not opened yet is not delivered by the engine.
    let (opened_near, opened_far) = tokio::join!(near.wait_open(), far.wait_open());
    opened_near?;
    opened_far?;
    near.send(1000, br#"{"avatar":"ue-a","frame":1}"#).await?;
    far.recv(1000, Duration::from_secs(2)).await?;
    let took = began.elapsed();
    a.hang_up(&call).await?;
    Ok(took)
}

/// `calls` measurements in `world`, which is stopped afterwards.
async fn measure(world: World, calls: usize, dc: bool) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(calls);
    let mut result = Ok(());
    for n in 0..calls {
        let one = if dc {
            dc_call(&world).await
        } else {
            call(&world).await
        };
        match one {
            Ok(t) => times.push(t),
            Err(e) => {
                result = Err(anyhow::anyhow!("call {}: {e:#}", n + 1));
                break;
            }
        }
    }
    world.shutdown().await;
    result.map(|()| times)
}

/// Call set-up latency: UE-A calls UE-B `calls` times; each INVITE → 200 time at the caller,
/// and the world's start-up time.
pub async fn calls(calls: usize, seed: u64) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let world = world(seed, None).await?;
    let startup = world.startup;
    Ok((startup, measure(world, calls, false).await?))
}

/// Data channel latency with DC-capable UEs: per call, the time from sending the INVITE to
/// UE-B receiving UE-A's first application (avatar) message.
pub async fn dc_calls(calls: usize, seed: u64) -> anyhow::Result<Vec<Duration>> {
    let world = world(seed, Some(DcSetup::Accept)).await?;
    measure(world, calls, true).await
}

/// The avatar rendering round trip of solution 6's network centric flow (`6:net-happy`, a fresh
/// world per run): per frame, UE-A sending its facial points on its application channel → UE-A
/// receiving the frame the MF rendered from them (steps 8, 9 and 11), read from the trace's
/// wall-clock timestamps.
pub async fn avatar_frames(runs: usize, seed: u64) -> anyhow::Result<Vec<Duration>> {
    let variant = crate::scenarios::select("6:net-happy")
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no variant 6:net-happy"))?;
    let mut times = Vec::new();
    for n in 0..runs {
        let run = super::execute(&variant, seed).await;
        anyhow::ensure!(
            run.passed(),
            "run {}: 6:net-happy did not pass ({:?})",
            n + 1,
            run.error
        );
        times.extend(frame_round_trips(&run.trace));
    }
    Ok(times)
}

/// The `type` of an avatar message UE-A sent or received on its application channel.
fn app_message_type(r: &Record) -> Option<(bool, String)> {
    let (sent, message) = match &r.body {
        Body::Sent { message, .. } => (true, message),
        Body::Received { message, .. } => (false, message),
        Body::Note { .. } => return None,
    };
    if r.node != UE_A || message.proto != Proto::Dc || message.stream != Some(AVATAR_APP_STREAM) {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&message.raw).ok()?;
    Some((sent, json.get("type")?.as_str()?.to_owned()))
}

/// Facial points sent → the rendered frame back, at UE-A, per frame.
fn frame_round_trips(trace: &[Record]) -> Vec<Duration> {
    let mut sent_at = None;
    let mut out = Vec::new();
    for r in trace {
        match app_message_type(r) {
            Some((true, kind)) if kind == "facial-points" => sent_at = Some(r.at),
            Some((false, kind)) if kind == "avatar-frame" => {
                if let Some(at) = sent_at.take() {
                    out.push(r.at.saturating_sub(at));
                }
            }
            _ => {}
        }
    }
    out
}
