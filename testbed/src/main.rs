//! `testbed`: the TR 33.790 testbed's command line: the dashboard, the catalogue of solutions
//! and variants (from the registry), headless runs in four formats, benchmarks, and signing and
//! verifying STIR/SHAKEN Identity headers against the fixture PKI (or any other).

mod sign;
mod verify;

use testbed::{render, run, scenarios};

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: a loaded call spent about 30 % of its CPU in
/// malloc/free (many small, short-lived allocations across threads); see BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "testbed",
    version,
    args_override_self = true,
    about = "Reference testbed for 3GPP TR 33.790 (IMS real-time communication security, phase 2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an Identity header (RFC 8224), print its PASSporT and verify it: certificate from
    /// x5u over HTTPS (or --cert), chain to the trust anchors, signature, freshness, identities.
    /// Exits 1 and prints the SIP code and reason when verification fails.
    Verify(verify::Args),
    /// Sign a PASSporT (shaken or rcd) with an STI-SP key and print the Identity header.
    Sign(sign::Args),
    /// List the solutions and their variants (happy paths and threats).
    List,
    /// Print the testbed choices: where the TR leaves something open (and the trust model the
    /// testbed's own network functions follow), what the testbed does. `choices trust` prints
    /// those whose id contains `trust`.
    Choices {
        /// Only the choices whose id contains this.
        filter: Option<String>,
    },
    /// Run scenarios for real (every network function, real sockets) and print their traces:
    /// `run 2` (every variant of solution 2), `run 2:single`, `run --all`. Exits 1 when a TR
    /// step or an expected outcome is missing.
    Run(RunArgs),
    /// Open the dashboard (what `testbed` alone does on a terminal).
    Tui(TuiArgs),
    /// Serve one solution's whole world (default 2) to SIP clients from outside until Ctrl-C:
    /// prints the DNS, the P-CSCFs, the subscribers and their credentials, the Ms endpoints,
    /// and the control endpoint (`POST /serve/v1/calls`, `testbed tui --attach`).
    Serve(testbed::serve::Args),
    /// Run every variant and print how much of the TR they cover: each step of the solutions'
    /// figures (seen in which variants, n/a or prevented where and why, or missing) and each
    /// threat of clauses 5.1.2, 5.2.2 and 5.3.2 with the variants that demonstrate it. Exits 1
    /// below 100% or when a variant fails.
    Coverage {
        /// How many worlds run at once.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// The README form: one row per figure, the threats table, the totals (no timings).
        #[arg(long)]
        markdown: bool,
    },
    /// Measure what the testbed costs over real sockets (reported, never asserted): `setup`
    /// per solution, `load` (sustained solution-2 calls, many in flight), `scaling` (load at
    /// 1/8/64/256 in flight), `ms` (Ms over HTTPS, `--peer secsipidx`), `start`, and the
    /// sequential latencies `calls`, `dc` and `avatar`. `--json` for machines.
    Bench {
        #[command(subcommand)]
        bench: Bench,
    },
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Call set-up per solution: each solution's first happy variant `--calls` times; INVITE →
    /// 200 at the caller (and → the first data channel message where the flow has one).
    Setup {
        /// Runs per solution.
        #[arg(long, default_value_t = 20)]
        calls: usize,
        /// Only these solutions (repeatable); default all.
        #[arg(long = "solution")]
        solutions: Vec<u8>,
        /// JSON on standard output.
        #[arg(long)]
        json: bool,
    },
    /// Sustained solution-2 calls (signed by the STI-AS, verified by the STI-VS) at `--rate`
    /// calls/s, or as fast as `--in-flight` allows, for `--duration` seconds; reports calls/s,
    /// set-up p50/p99, failures with reasons, CPU per call, memory, and the SIP transactions,
    /// connections and sockets left after the run.
    Load(LoadCli),
    /// `load` as fast as it goes at each number of calls in flight.
    Scaling {
        #[command(flatten)]
        load: LoadCli,
        /// Calls in flight, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 64, 256])]
        levels: Vec<usize>,
    },
    /// Ms (STI-AS signing, STI-VS verification) over HTTPS with client certificates:
    /// requests/s, p50/p99 and errors at `--concurrency` for `--duration` seconds each;
    /// `--peer secsipidx` drives secsipidx the same way in the same run and reports the ratio.
    Ms {
        /// Which operations.
        #[arg(long, value_enum, default_value_t = testbed::bench::ms::Op::Both)]
        op: testbed::bench::ms::Op,
        /// Connections, each with one request at a time.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Seconds per operation.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// A peer to drive the same way: `secsipidx` (Debian package secsipidx).
        #[arg(long, value_parser = ["secsipidx"])]
        peer: Option<String>,
        /// JSON on standard output.
        #[arg(long)]
        json: bool,
    },
    /// World start-up time (every NF of every solution) and resident memory, over `--runs`.
    Start {
        /// Worlds started and stopped.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// JSON on standard output.
        #[arg(long)]
        json: bool,
    },
    /// Sequential solution-2 calls: INVITE → 200 at the caller, callee answering at once.
    Calls {
        /// Number of calls.
        #[arg(long, default_value_t = 200)]
        calls: usize,
    },
    /// Sequential calls with data channels: INVITE → first application data channel message.
    Dc {
        /// Number of calls.
        #[arg(long, default_value_t = 20)]
        calls: usize,
    },
    /// The avatar rendering round trip of `6:net-happy` (facial points → the MF's rendered
    /// frame back at UE-A), over `--calls` runs.
    Avatar {
        /// Number of runs.
        #[arg(long, default_value_t = 10)]
        calls: usize,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct LoadCli {
    /// Seconds during which calls are started.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Calls per second to start (default: as fast as `--in-flight` allows).
    #[arg(long)]
    rate: Option<f64>,
    /// Most calls at once.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// What the world's trace keeps: `counters` (memory stays flat), `ring` (the last
    /// 10,000 records) or `full`.
    #[arg(long, value_enum, default_value_t = TraceArg::Counters)]
    trace: TraceArg,
    /// Longest wait, in seconds, for SIP transactions to end after the last call.
    #[arg(long, default_value_t = 40.0)]
    drain: f64,
    /// Run the load this many times in the same world, each drained before the next (shows
    /// whether anything stays behind).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// SIP timers T1 20 ms / T4 200 ms instead of 500 ms / 5 s (RFC 3261 §17.1.1.1 allows a
    /// smaller T1 in closed networks, without recommending it): finished transactions linger
    /// 1.3 s instead of 32 s, so memory plateaus lower.
    #[arg(long)]
    fast_timers: bool,
    /// Calls to start in each round, at most (the round still ends at `--duration`).
    #[arg(long)]
    calls: Option<u64>,
    /// JSON on standard output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TraceArg {
    Counters,
    Ring,
    Full,
}

impl LoadCli {
    fn args(&self) -> anyhow::Result<testbed::bench::load::LoadArgs> {
        anyhow::ensure!(self.duration > 0.0, "--duration must be positive");
        anyhow::ensure!(self.rate.is_none_or(|r| r > 0.0), "--rate must be positive");
        Ok(testbed::bench::load::LoadArgs {
            duration: std::time::Duration::from_secs_f64(self.duration),
            rate: self.rate,
            in_flight: self.in_flight.max(1),
            trace: match self.trace {
                TraceArg::Counters => kit::tap::TraceMode::Counters,
                TraceArg::Ring => kit::tap::TraceMode::Ring(10_000),
                TraceArg::Full => kit::tap::TraceMode::Full,
            },
            drain: std::time::Duration::from_secs_f64(self.drain.max(0.0)),
            seed: 1,
            rounds: self.rounds.max(1),
            fast_timers: self.fast_timers,
            calls: self.calls,
            live_bytes: None,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
struct TuiArgs {
    /// `contrast` for projectors (bold and reverse video, no colour needed).
    #[arg(long, value_enum, default_value = "default")]
    theme: ThemeArg,
    /// Seed of the world's random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Attach to a served world (`testbed serve`) at this control address (HOST:PORT) and
    /// show its calls as they happen.
    #[arg(long, value_name = "ADDR")]
    attach: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ThemeArg {
    Default,
    Contrast,
}

fn tui(args: &TuiArgs) -> anyhow::Result<ExitCode> {
    let theme = match args.theme {
        ThemeArg::Default => testbed::dashboard::app::Theme::Default,
        ThemeArg::Contrast => testbed::dashboard::app::Theme::Contrast,
    };
    match &args.attach {
        Some(addr) => testbed::dashboard::live::run(addr, theme)?,
        None => testbed::dashboard::run(theme, args.seed)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// `2` or `2:<variant>`; several allowed.
    specs: Vec<String>,
    /// Every variant of every solution.
    #[arg(long)]
    all: bool,
    /// Seed of the world's random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only the one-line verdict per variant, not the traces.
    #[arg(long)]
    summary: bool,
    /// How many worlds run at once (each on its own ports); output stays in variant order.
    /// Past about 16 on two cores, data channel runs start missing their bounds (BENCHMARKS.md).
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// How each trace is printed.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to FILE instead of standard output (required for pcap); with several variants,
    /// one file each, `-<solution>-<variant>` inserted before the extension.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// Stop a network function (repeatable): `sti-vs-t`, or `sti-vs` for every STI-VS, before
    /// the flow; `NF@STEP` once the variant's figure step STEP has been seen (`hss-o@1`,
    /// `sti-vs@6.2.2.3-8`). Its listeners close for real; steps it keeps from happening are
    /// missing, and the variant's outcomes are judged as they are.
    #[arg(long, value_name = "NF[@STEP]")]
    down: Vec<String>,
}

/// Trace formats of `testbed run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// The readable trace: steps, outcomes, ladder, every message in full.
    Text,
    /// What the snapshots pin: steps, outcomes, and the ladder with security headers and notes.
    Review,
    /// Versioned JSON: figure, steps, outcomes, choices and every record.
    Json,
    /// A Mermaid sequence diagram with TR step notes.
    Mermaid,
    /// A pcapng capture of every SIP, DNS and HTTP message (needs --out FILE).
    Pcap,
}

impl Format {
    fn form(self) -> render::export::Form {
        match self {
            Format::Text => render::export::Form::Text,
            Format::Review => render::export::Form::Review,
            Format::Json => render::export::Form::Json,
            Format::Mermaid => render::export::Form::Mermaid,
            Format::Pcap => render::export::Form::Pcap,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Verify(args)) => verify::run(args),
        Some(Command::Sign(args)) => sign::run(args),
        Some(Command::List) => {
            list();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Choices { filter }) => {
            print_choices(filter.as_deref());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run(args)) => run_scenarios(args),
        Some(Command::Bench { bench: b }) => bench(b),
        Some(Command::Tui(args)) => tui(&args),
        Some(Command::Serve(args)) => testbed::serve::command(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Coverage { jobs, markdown }) => testbed::coverage::command(jobs, markdown)
            .map(|complete| {
                if complete {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }),
        // On a terminal, the dashboard; anywhere else (a pipe, CI), what there is to run.
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => tui(&TuiArgs {
            theme: ThemeArg::Default,
            seed: 1,
            attach: None,
        }),
        None => {
            let mut help = <Cli as clap::CommandFactory>::command();
            let _ = help.print_help();
            println!("\nNot a terminal, so no dashboard. Try: testbed list · testbed run --all");
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("testbed: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn list() {
    for solution in scenarios::SOLUTIONS {
        println!(
            "Solution {} — TR 33.790 §{} (KI#{} {}): {} · Figure {}",
            solution.number,
            solution.clause,
            solution.key_issue.number,
            solution.key_issue.title,
            solution.title,
            solution.figures.join(", ")
        );
        for v in (solution.variants)() {
            let threat = v
                .threat
                .map(|t| format!("\n      threat: §{} {}", t.clause, t.text))
                .unwrap_or_default();
            println!(
                "  {:<20} {} (Figure {}){threat}",
                v.name(),
                v.title,
                v.figure.figure
            );
        }
    }
}

fn print_choices(filter: Option<&str>) {
    let mut seen = std::collections::HashSet::new();
    for c in testbed::choices::all() {
        if !seen.insert(c.id) || filter.is_some_and(|f| !c.id.contains(f)) {
            continue;
        }
        println!(
            "{} — {}\n  open:  {}\n  ours:  {}\n",
            c.id, c.clause, c.question, c.answer
        );
    }
}

/// Prints `report` as JSON or in its human form.
fn emit<T: serde::Serialize>(
    json: bool,
    report: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", text(report));
    }
    Ok(())
}

fn bench(which: Bench) -> anyhow::Result<ExitCode> {
    use testbed::bench;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    match which {
        Bench::Setup {
            calls,
            solutions,
            json,
        } => {
            anyhow::ensure!(calls > 0, "--calls must be at least 1");
            let results = runtime.block_on(bench::setup::run(&solutions, calls, 1, json))?;
            anyhow::ensure!(!results.is_empty(), "no such solution");
            emit(json, &results, |r| bench::setup::text(r))?;
            let failed = results.iter().any(|r| !r.failed.is_empty());
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        Bench::Load(cli) => {
            let report = runtime.block_on(bench::load::run(&cli.args()?, cli.json))?;
            emit(cli.json, &report, bench::load::LoadReport::text)?;
            return Ok(if report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Bench::Scaling { load, levels } => {
            anyhow::ensure!(!levels.is_empty(), "--levels needs at least one number");
            let levels = runtime.block_on(bench::scaling(&levels, &load.args()?, load.json))?;
            emit(load.json, &levels, |l| bench::scaling_text(l))?;
        }
        Bench::Ms {
            op,
            concurrency,
            duration,
            peer,
            json,
        } => {
            anyhow::ensure!(duration > 0.0, "--duration must be positive");
            let args = bench::ms::MsArgs {
                op,
                concurrency: concurrency.max(1),
                duration: std::time::Duration::from_secs_f64(duration),
                peer: peer.is_some(),
                seed: 1,
            };
            let report = runtime.block_on(bench::ms::run(&args, json))?;
            emit(json, &report, bench::ms::MsReport::text)?;
        }
        Bench::Start { runs, json } => {
            anyhow::ensure!(runs > 0, "--runs must be at least 1");
            let report = runtime.block_on(bench::start::run(runs, 1, json))?;
            emit(json, &report, bench::start::StartReport::text)?;
        }
        Bench::Avatar { calls } => {
            anyhow::ensure!(calls > 0, "--calls must be at least 1");
            let times = runtime.block_on(run::bench::avatar_frames(calls, 1))?;
            let s = bench::stats::Summary::of(&times)
                .ok_or_else(|| anyhow::anyhow!("no frame round trip in the traces"))?;
            println!(
                "avatar rendering round trip (facial points → rendered frame back at UE-A, 6:net-happy), {} frames in {calls} runs: {}",
                s.n,
                s.line()
            );
        }
        Bench::Dc { calls } => {
            anyhow::ensure!(calls > 0, "--calls must be at least 1");
            let times = runtime.block_on(run::bench::dc_calls(calls, 1))?;
            let s = bench::stats::Summary::of(&times).ok_or_else(|| anyhow::anyhow!("no call"))?;
            println!(
                "INVITE → first application data channel message, {} calls: {}",
                s.n,
                s.line()
            );
        }
        Bench::Calls { calls } => {
            anyhow::ensure!(calls > 0, "--calls must be at least 1");
            let (startup, times) = runtime.block_on(run::bench::calls(calls, 1))?;
            let s = bench::stats::Summary::of(&times).ok_or_else(|| anyhow::anyhow!("no call"))?;
            println!("world start-up: {:.2} ms", ms(startup));
            println!(
                "solution-2 call set-up (INVITE → 200 at UE-A), {} sequential calls: {}",
                s.n,
                s.line()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per run on standard error: the verdict, the counts, the timings.
fn verdict(result: &run::Run) {
    let (seen, counted) = result.step_count();
    let ok = result.outcomes.iter().filter(|o| o.passed).count();
    let verdict = if result.passed() { "PASS" } else { "FAIL" };
    eprintln!(
        "{verdict} {:<20} {seen}/{counted} TR steps ({} n/a or prevented), {ok}/{} outcomes · world up {:.1} ms · answered after {:.1} ms (ringing included) · run {:.0} ms{}",
        result.variant.name(),
        result.steps.len() - counted,
        result.outcomes.len(),
        result.timing.startup.as_secs_f64() * 1e3,
        result.timing.call_setup.as_secs_f64() * 1e3,
        result.timing.total.as_secs_f64() * 1e3,
        result
            .error
            .as_ref()
            .map(|e| format!(" · error: {e}"))
            .unwrap_or_default()
    );
}

fn run_scenarios(args: RunArgs) -> anyhow::Result<ExitCode> {
    let variants = if args.all {
        scenarios::all()
    } else {
        let mut chosen = Vec::new();
        for spec in &args.specs {
            let found = scenarios::select(spec);
            anyhow::ensure!(
                !found.is_empty(),
                "no scenario {spec:?}; `testbed list` shows them"
            );
            chosen.extend(found);
        }
        chosen
    };
    anyhow::ensure!(
        !variants.is_empty(),
        "name a scenario (`testbed run 2:single`) or use --all"
    );
    anyhow::ensure!(
        !args.format.form().binary() || args.out.is_some() || args.summary,
        "--format pcap is binary and is not written to standard output: add --out FILE"
    );
    let downs = args
        .down
        .iter()
        .map(|d| run::fault::Down::parse(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let began = std::time::Instant::now();
    let mut failed = 0;
    // Worlds are independent (own ports, own trace), so several run at once; a run spends most
    // of its time waiting for its network to go quiet, not computing.
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(args.jobs.max(1)));
    let runs: Vec<_> = variants
        .iter()
        .map(|variant| {
            let (variant, permits, seed) = (variant.clone(), permits.clone(), args.seed);
            let downs = downs.clone();
            runtime.spawn(async move {
                let _permit = permits.acquire_owned().await;
                run::execute_with(&variant, seed, &downs).await
            })
        })
        .collect();
    for (variant, handle) in variants.iter().zip(runs) {
        let result = runtime
            .block_on(handle)
            .map_err(|e| anyhow::anyhow!("{}: the run panicked: {e}", variant.name()))?;
        if let (false, Some(out)) = (args.summary, &args.out) {
            let path = render::export::path(out, &variant.name(), variants.len() > 1);
            let wrote = render::export::write(&result, args.format.form(), &path)?;
            eprintln!("{}: {wrote}", variant.name());
        } else if !args.summary {
            match args.format {
                Format::Text => println!("{}", render::text(&result)),
                Format::Review => println!("{}", render::review(&result)),
                Format::Json => println!("{}", render::json(&result)),
                Format::Mermaid => println!("{}", render::mermaid(&result)),
                // Refused above: binary needs --out.
                Format::Pcap => {}
            }
        }
        for stopped in &result.faults {
            eprintln!("{}: {stopped}", variant.name());
        }
        verdict(&result);
        if !result.passed() {
            failed += 1;
        }
    }
    eprintln!(
        "{} of {} variants passed in {:.2} s",
        variants.len() - failed,
        variants.len(),
        began.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Seconds since the epoch from `now`, a number, or an RFC 3339 UTC time (`2026-03-02T09:00:00Z`).
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if text == "now" {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        return Ok(i64::try_from(now.as_secs())?);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    parse_rfc3339_utc(text)
        .ok_or_else(|| anyhow::anyhow!("{text:?} is not 'now', seconds, or YYYY-MM-DDTHH:MM:SSZ"))
}

fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_scenario_clock() {
        assert_eq!(
            parse_rfc3339_utc("2026-03-02T09:00:00Z"),
            Some(1_772_442_000)
        );
        assert_eq!(
            parse_rfc3339_utc("2016-08-16T19:23:38Z"),
            Some(1_471_375_418)
        );
        assert_eq!(parse_rfc3339_utc("2026-13-02T09:00:00Z"), None);
        assert_eq!(parse_time("1443208345").ok(), Some(1_443_208_345));
        assert!(parse_time("yesterday").is_err());
    }
}
