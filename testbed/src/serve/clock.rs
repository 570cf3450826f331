//! Which clock a served world runs on. Scenarios run at a fixed instant (world.toml's
//! `scenario_start`); a served world talks to real clients whose SIP Date headers carry real
//! time, and the terminating IMS AS hands the STI-VS the INVITE's Date to check `iat` against.
//! So the system clock, when every fixture certificate and CRL the world relies on is valid now
//! (`fixtures/pki/index.toml`: the deliberately expired ones, already expired at the scenario
//! start, are left out); otherwise the scenario clock, and external clients' calls will fail
//! freshness checks.

use anyhow::Context as _;
use proto::clock::Clock;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::world::Description;

/// When the world's fixture certificates are all valid: the latest `not_before` and the
/// earliest `not_after` of those valid at the scenario start (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    /// Every (not_before, not_after) pair of the PKI index.
    pub files: Vec<(i64, i64)>,
}

/// The clock chosen and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The clock.
    pub clock: Clock,
    /// Why, for the banner.
    pub why: String,
}

fn seconds(text: &str) -> anyhow::Result<i64> {
    Ok(OffsetDateTime::parse(text, &Rfc3339)
        .with_context(|| format!("not an RFC 3339 time: {text}"))?
        .unix_timestamp())
}

fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

impl Validity {
    /// Reads `fixtures/pki/index.toml`.
    pub fn load() -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Index {
            file: Vec<File>,
        }
        #[derive(Deserialize)]
        struct File {
            not_before: Option<String>,
            not_after: Option<String>,
        }
        let text = String::from_utf8(kit::fixtures::read("pki/index.toml")?)?;
        let index: Index = toml::from_str(&text).context("fixtures/pki/index.toml")?;
        let mut files = Vec::new();
        for f in index.file {
            if let (Some(b), Some(a)) = (f.not_before, f.not_after) {
                files.push((seconds(&b)?, seconds(&a)?));
            }
        }
        Ok(Validity { files })
    }

    /// The window in which every file valid at `start` is valid; `None` if none is.
    pub fn window(&self, start: i64) -> Option<(i64, i64)> {
        let used = self.files.iter().filter(|(b, a)| *b <= start && start < *a);
        used.fold(None, |w, &(b, a)| match w {
            None => Some((b, a)),
            Some((wb, wa)) => Some((wb.max(b), wa.min(a))),
        })
    }
}

/// The system clock if `now` is inside the fixtures' validity window, else the scenario clock.
pub fn choose(validity: &Validity, description: &Description, now: i64) -> anyhow::Result<Choice> {
    let start = description.start_time()?;
    Ok(decide(validity, start, now))
}

/// [`choose`] on numbers. Pure.
pub fn decide(validity: &Validity, start: i64, now: i64) -> Choice {
    match validity.window(start) {
        Some((b, a)) if b <= now && now < a => Choice {
            clock: Clock::System,
            why: format!(
                "system clock ({}): every fixture certificate and CRL the world uses is valid now ({} to {})",
                rfc3339(now),
                rfc3339(b),
                rfc3339(a)
            ),
        },
        window => Choice {
            clock: Clock::Fixed(start),
            why: format!(
                "scenario clock, fixed at {}: the fixture PKI is not valid now ({}; window {}); external clients' Date headers will fail the STI-VS's freshness check",
                rfc3339(start),
                rfc3339(now),
                window.map_or_else(
                    || "none".to_owned(),
                    |(b, a)| format!("{} to {}", rfc3339(b), rfc3339(a))
                )
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn system_clock_inside_the_fixture_window_only() {
        let v = Validity::load().unwrap();
        let start = seconds("2026-03-02T09:00:00Z").unwrap();
        // The expired negatives (2020–2021) are left out of the window.
        let (b, a) = v.window(start).unwrap();
        assert_eq!(rfc3339(b), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(a), "2045-01-01T00:00:00Z");
        let today = seconds("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(decide(&v, start, today).clock, Clock::System);
        let late = seconds("2046-01-01T00:00:00Z").unwrap();
        let fixed = decide(&v, start, late);
        assert_eq!(fixed.clock, Clock::Fixed(start));
        assert!(fixed.why.contains("not valid now"), "{}", fixed.why);
        let empty = Validity { files: Vec::new() };
        assert_eq!(decide(&empty, start, today).clock, Clock::Fixed(start));
    }
}
