//! `testbed`: the TR 33.790 testbed's command line. Today it signs and verifies STIR/SHAKEN
//! Identity headers against the fixture PKI (or any other); the orchestrator, the scenarios of
//! solutions 1–9 and the dashboard arrive as their issues land.

mod sign;
mod verify;

use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Verify(args)) => verify::run(args),
        Some(Command::Sign(args)) => sign::run(args),
        // The dashboard will open here; until it exists, say what there is.
        None => {
            let mut help = <Cli as clap::CommandFactory>::command();
            let _ = help.print_help();
            println!(
                "\nTry: testbed sign --orig +12025551000 --dest +12155551001 | testbed verify - --cert fixtures/pki/sti-sp-1001.chain.pem"
            );
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
