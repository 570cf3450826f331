//! Benchmarks over real sockets in a solution-2 world where callees answer at once: call set-up
//! latency (INVITE → 200 at the caller) and data channel latency (INVITE → the callee receiving
//! the caller's first avatar message). Numbers are reported by `testbed bench`, never asserted.

use std::time::{Duration, Instant};

use proto::clock::Clock;

use super::play::p2p_channels;
use super::scenario_timers;
use crate::node::{UE_A, UE_B};
use crate::world::{DcSetup, Description, Options, Setup, World};

const CALLEE: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone";

/// A solution-2 world whose callees answer at once, with UE-A and UE-B registered.
async fn world(seed: u64, dc: Option<DcSetup>) -> anyhow::Result<World> {
    let description = Description::load()?;
    let options = Options {
        seed,
        clock: Clock::Fixed(description.start_time()?),
        timers: scenario_timers(),
        setup: Setup {
            dc,
            ..Setup::default()
        },
        needs: Vec::new(),
        as_flow: crate::scenarios::sol2_third_party_rcd::SOLUTION.as_flow,
        auto_answer: true,
    };
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
