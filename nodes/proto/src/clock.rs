//! Time and randomness for network functions, passed in, never read from the OS inside logic.
//! Scenario runs use a [`Clock::Fixed`] instant and a seeded [`Rng`] per node, so two runs of a
//! scenario produce the same bytes (ARCHITECTURE.md, "Determinism").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{RngExt as _, SeedableRng as _};
use rand_chacha::ChaCha12Rng;
use sha2::{Digest as _, Sha256};

/// Wall-clock source of a world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Always this instant (seconds since the epoch): scenario runs.
    Fixed(i64),
    /// The system clock: a served world.
    System,
}

impl Clock {
    /// Seconds since the epoch.
    pub fn now(&self) -> i64 {
        match self {
            Clock::Fixed(t) => *t,
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        }
    }

    /// RFC 7231 IMF-fixdate, for SIP and HTTP Date headers (`Mon, 02 Mar 2026 09:00:00 GMT`).
    pub fn http_date(&self) -> String {
        http_date(self.now())
    }
}

/// Formats seconds since the epoch as an IMF-fixdate.
pub fn http_date(secs: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    httpdate::fmt_http_date(t)
}

/// Parses an IMF-fixdate (or the other RFC 7231 forms) to seconds since the epoch.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(text.trim()).ok()?;
    i64::try_from(t.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// A node's seeded random source: Call-IDs, tags, branches, nonces, `origid`.
/// Each node's stream depends only on the world seed and the node's name, so one node's draws
/// do not shift another's when threads interleave differently.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha12Rng);

impl Rng {
    /// The stream of node `node` in a world seeded with `seed` (ChaCha12 keyed by
    /// SHA-256 of `"{seed}/{node}"`).
    pub fn for_node(seed: u64, node: &str) -> Self {
        let digest = Sha256::digest(format!("{seed}/{node}").as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(&digest);
        Rng(ChaCha12Rng::from_seed(key))
    }

    /// `n` random bytes as lowercase hex.
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| format!("{:02x}", self.0.random::<u8>()))
            .collect()
    }

    /// RFC 3261 §8.1.1.7 branch with the magic cookie.
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.hex(8))
    }

    /// A From/To tag (RFC 3261 §19.3): 4 random bytes as hex.
    pub fn tag(&mut self) -> String {
        self.hex(4)
    }

    /// A Call-ID (RFC 3261 §8.1.1.4): 8 random bytes as hex, `@host`.
    pub fn call_id(&mut self, host: &str) -> String {
        format!("{}@{host}", self.hex(8))
    }

    /// A version-4 UUID (RFC 9562 §5.4).
    pub fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.0.random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// A random `u32`.
    pub fn u32(&mut self) -> u32 {
        self.0.random()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_round_trips() {
        assert_eq!(http_date(1_772_442_000), "Mon, 02 Mar 2026 09:00:00 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            parse_http_date("Mon, 02 Mar 2026 09:00:00 GMT"),
            Some(1_772_442_000)
        );
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn node_streams_are_seeded_and_independent() {
        let mut a1 = Rng::for_node(7, "ue-a");
        let mut a2 = Rng::for_node(7, "ue-a");
        let mut b = Rng::for_node(7, "ue-b");
        let x = a1.branch();
        assert_eq!(x, a2.branch());
        assert_ne!(x, b.branch());
        assert!(x.starts_with("z9hG4bK"));
        let u = a1.uuid();
        assert_eq!((u.len(), &u[14..15]), (36, "4"));
    }
}
