//! `testbed serve`: one solution's whole world, kept running for clients from outside until
//! Ctrl-C. It starts the world of the solution's first happy variant (its NF families, its IMS AS
//! flow, that variant's setup) on the system clock when every fixture certificate it uses is
//! valid today ([`clock`]), registers the world's own UEs (callees answer at once), prints where
//! everything is and how to reach it ([`banner`]), and serves a plain HTTP control endpoint on
//! loopback ([`control`]): `POST /serve/v1/calls` has one of the world's UEs place a call, and
//! `/live/v1/…` is the dashboard's attach interface.
//!
//! External SIP clients register at a P-CSCF with the subscriber credentials of
//! `fixtures/subscribers.toml`. The registrar keeps one binding per public identity, so the
//! latest registration wins: a client registering as UE-B receives the calls to UE-B from then
//! on (`--external ue-b` keeps the world's own UE-B from registering at all). A client that
//! sends no Authorization in its first REGISTER (not an IMS UE) is challenged with MD5 Digest
//! instead of SHA-256: a served world's legacy allowance (choice `serve-digest-md5`), never
//! in scenario worlds.

pub mod banner;
pub mod clock;
pub mod control;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use proto::sip::Timers;

use crate::node::{UE_A, UE_B, UE_M, UE_X};
use crate::solution::{Solution, Variant};
use crate::world::{Description, Options, World};

/// `testbed serve`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The solution whose world is served.
    #[arg(long, default_value_t = 2)]
    pub solution: u8,
    /// The control endpoint (plain HTTP, loopback): `POST /serve/v1/calls`, and `/live/v1/`
    /// for `testbed tui --attach`. Port 0 picks a free one (printed).
    #[arg(long, default_value = "127.0.0.1:7060")]
    pub control: SocketAddr,
    /// Seed of the world's random streams.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// UEs the world does not register itself, leaving their identity to an external client
    /// (`ue-b`, or `ue-a,ue-b`).
    #[arg(long, value_delimiter = ',')]
    pub external: Vec<String>,
}

/// The UEs a served world registers at start (those with credentials; the PBX is a trunk).
pub const REGISTERED: [&str; 4] = [UE_A, UE_B, UE_M, UE_X];

/// How long a shutdown waits for the control endpoint's last requests to let go of the world.
const RELEASE_BOUND: Duration = Duration::from_secs(3);

/// Runs `testbed serve` until Ctrl-C; the world is shut down before it returns.
pub fn command(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

/// The solution numbered `number` and the variant whose world is served: its first happy one.
pub fn served(number: u8) -> anyhow::Result<(&'static Solution, Variant)> {
    let solution = crate::scenarios::solution(number).ok_or_else(|| {
        let known: Vec<String> = crate::scenarios::SOLUTIONS
            .iter()
            .map(|s| s.number.to_string())
            .collect();
        anyhow!("no solution {number} (there are {})", known.join(", "))
    })?;
    let variant = (solution.variants)()
        .into_iter()
        .find(|v| v.threat.is_none())
        .ok_or_else(|| anyhow!("solution {number} has no happy variant to serve"))?;
    Ok((solution, variant))
}

/// The options of the served world of `variant`: its setup with the MD5 allowance, callees
/// answering at once, RFC 3261 timers (a person may take a while), the clock [`clock::choose`]
/// picks.
pub fn options(
    solution: &Solution,
    variant: &Variant,
    seed: u64,
    clock: proto::clock::Clock,
) -> Options {
    let mut setup = variant.setup.clone();
    setup.digest_md5 = true;
    Options {
        seed,
        clock,
        timers: Timers::default(),
        setup,
        needs: variant.needs(),
        as_flow: solution.as_flow,
        auto_answer: true,
    }
}

async fn serve(args: &Args) -> anyhow::Result<()> {
    for id in &args.external {
        if !REGISTERED.contains(&id.as_str()) {
            bail!(
                "--external {id}: not a UE that registers (one of {})",
                REGISTERED.join(", ")
            );
        }
    }
    let (solution, variant) = served(args.solution)?;
    let description = Description::load()?;
    let now = proto::clock::Clock::System.now();
    let choice = clock::choose(&clock::Validity::load()?, &description, now)?;
    let options = options(solution, &variant, args.seed, choice.clock);
    let world = World::start(description, options).await?;
    let world = Arc::new(world);
    let outcome = run(args, solution, &variant, &choice, world.clone()).await;
    release(world).await?;
    outcome
}

/// Registers the UEs, serves the control endpoint, prints the banner and waits for Ctrl-C.
async fn run(
    args: &Args,
    solution: &Solution,
    variant: &Variant,
    choice: &clock::Choice,
    world: Arc<World>,
) -> anyhow::Result<()> {
    let mut registered = Vec::new();
    for id in REGISTERED {
        if args.external.iter().any(|e| e == id) {
            continue;
        }
        let code = world.ue(id)?.register().await?;
        if code != 200 {
            bail!("the world's {id} could not register: {code}");
        }
        registered.push(id);
    }
    let control = control::start(args.control, world.clone(), solution.number).await?;
    let overview = banner::Overview::of(
        &world,
        solution,
        variant,
        choice,
        control.addr(),
        &registered,
    )?;
    print!("{}", banner::render(&overview));
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    println!("Ctrl-C: stopping the world");
    control.shutdown().await;
    Ok(())
}

/// Shuts the world down once nothing else holds it (the control endpoint's tasks are gone).
async fn release(mut world: Arc<World>) -> anyhow::Result<()> {
    let began = std::time::Instant::now();
    loop {
        match Arc::try_unwrap(world) {
            Ok(w) => {
                w.shutdown().await;
                println!("stopped");
                return Ok(());
            }
            Err(shared) if began.elapsed() < RELEASE_BOUND => {
                world = shared;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(_) => bail!("the world is still in use {RELEASE_BOUND:?} after Ctrl-C"),
        }
    }
}
