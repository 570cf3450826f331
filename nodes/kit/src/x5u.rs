//! Fetching the certificate chain a PASSporT's `x5u` names, and the CRL its certificate's
//! distribution point names, as an STI-VS must (RFC 8224 §6.2.3, RFC 8226 §9, ATIS-1000080
//! §5.3, RFC 5280 §4.2.1.13): `https:` only, redirects not followed, a bounded body and a
//! bounded time, and a cache; optionally only from the repositories a verifier knows
//! ([`X5uFetcher::with_allowed_hosts`]: an x5u elsewhere is refused unresolved and unfetched).
//!
//! The cache follows HTTP caching (RFC 9111) as a private cache: `Cache-Control: no-store` or
//! `no-cache` is not stored, `max-age` (less `Age`) decides how long an entry is fresh, else
//! `Expires` (an unreadable one counts as already past, §5.3), else a default; every lifetime
//! is capped, and the cache holds a bounded number of entries and bytes ([`CacheLimits`]). Its
//! decisions are pure ([`lifetime`], [`Cache`]) and take `now` from the node's clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use proto::clock::Clock;
use stir::{CertFetcher, FetchError};

use crate::Error;
use crate::http::{Client, Request, Response};

/// Media type of a PEM chain (RFC 8555 §9.1).
pub const PEM_CHAIN: &str = "application/pem-certificate-chain";
/// Media type of a DER CRL (RFC 5280 §4.2.1.13).
pub const PKIX_CRL: &str = "application/pkix-crl";
/// Largest chain accepted. A SHAKEN chain is a few kilobytes.
pub const MAX_CHAIN_BYTES: usize = 64 * 1024;
/// Largest CRL accepted.
pub const MAX_CRL_BYTES: usize = 256 * 1024;

/// Bounds on what the cache keeps and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Longest an entry stays fresh, whatever the server says (seconds).
    pub max_age: i64,
    /// How long an entry stays fresh when the server says nothing about it (seconds).
    pub default_age: i64,
    /// Most entries kept.
    pub max_entries: usize,
    /// Most bytes kept, over all entries.
    pub max_bytes: usize,
}

impl Default for CacheLimits {
    /// A day at most, an hour by default, 128 entries, 2 MiB.
    fn default() -> Self {
        Self {
            max_age: 24 * 3600,
            default_age: 3600,
            max_entries: 128,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

/// The directives of a `Cache-Control` value (names lower-cased, values unquoted).
fn directives(value: &str) -> impl Iterator<Item = (String, Option<&str>)> {
    value.split(',').filter_map(|d| {
        let d = d.trim();
        if d.is_empty() {
            return None;
        }
        Some(match d.split_once('=') {
            Some((name, v)) => (
                name.trim().to_ascii_lowercase(),
                Some(v.trim().trim_matches('"')),
            ),
            None => (d.to_ascii_lowercase(), None),
        })
    })
}

/// How many seconds a response received at `now` stays fresh in a private cache, capped by
/// `limits.max_age`; `None` when it must not be stored (RFC 9111 §3, §4.2.1, §5.2.2).
pub fn lifetime(response: &Response, now: i64, limits: &CacheLimits) -> Option<i64> {
    let mut max_age = None;
    for value in header_values(response, "cache-control") {
        for (name, arg) in directives(value) {
            match name.as_str() {
                "no-store" | "no-cache" => return None,
                "max-age" => max_age = arg.and_then(|a| a.parse::<i64>().ok()),
                _ => {}
            }
        }
    }
    let age = response
        .header_value("age")
        .and_then(|a| a.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let fresh = match (max_age, response.header_value("expires")) {
        (Some(max_age), _) => max_age - age,
        (None, Some(expires)) => proto::clock::parse_http_date(expires).map_or(0, |t| t - now),
        (None, None) => limits.default_age,
    };
    let fresh = fresh.min(limits.max_age);
    (fresh > 0).then_some(fresh)
}

fn header_values<'a>(response: &'a Response, name: &str) -> impl Iterator<Item = &'a str> {
    response
        .headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One cached body.
#[derive(Debug, Clone)]
struct Entry {
    body: Vec<u8>,
    /// Fresh until (seconds since the epoch, exclusive).
    until: i64,
}

/// Bodies by URL, each fresh until an instant, within [`CacheLimits`]. Pure: every call is
/// given `now`.
#[derive(Debug, Clone, Default)]
pub struct Cache {
    limits: CacheLimits,
    entries: HashMap<String, Entry>,
    bytes: usize,
}

impl Cache {
    /// An empty cache within `limits`.
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// The body for `url` if it is still fresh at `now`.
    pub fn get(&self, url: &str, now: i64) -> Option<&[u8]> {
        self.entries
            .get(url)
            .filter(|e| now < e.until)
            .map(|e| e.body.as_slice())
    }

    /// How many entries and bytes it holds.
    pub fn size(&self) -> (usize, usize) {
        (self.entries.len(), self.bytes)
    }

    /// Stores `body` for `url`, fresh for `fresh` seconds from `now`, first dropping what is
    /// stale and then, while the limits would be exceeded, the entry that goes stale first. A
    /// body larger than the whole cache is not stored.
    pub fn put(&mut self, url: &str, body: Vec<u8>, now: i64, fresh: i64) {
        self.remove(url);
        if body.len() > self.limits.max_bytes || self.limits.max_entries == 0 {
            return;
        }
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| now >= e.until)
            .map(|(u, _)| u.clone())
            .collect();
        for url in stale {
            self.remove(&url);
        }
        while self.entries.len() >= self.limits.max_entries
            || self.bytes + body.len() > self.limits.max_bytes
        {
            let Some(first) = self
                .entries
                .iter()
                .min_by(|a, b| a.1.until.cmp(&b.1.until).then_with(|| a.0.cmp(b.0)))
                .map(|(u, _)| u.clone())
            else {
                break;
            };
            self.remove(&first);
        }
        self.bytes += body.len();
        self.entries.insert(
            url.to_owned(),
            Entry {
                body,
                until: now.saturating_add(fresh),
            },
        );
    }

    fn remove(&mut self, url: &str) {
        if let Some(old) = self.entries.remove(url) {
            self.bytes -= old.body.len();
        }
    }
}

/// An x5u (and CRL) fetcher over HTTPS with an optional cache.
#[derive(Debug, Clone)]
pub struct X5uFetcher {
    client: Client,
    crl_client: Client,
    cache: Option<Arc<Mutex<Cache>>>,
    clock: Clock,
    hosts: Option<Arc<Vec<String>>>,
}

/// The host of an `https://` URL, lower-cased, without userinfo or port.
fn url_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether the verifier may fetch `url` given its allow-list (none: any host).
pub fn allowed(url: &str, hosts: Option<&[String]>) -> Result<(), FetchError> {
    let Some(hosts) = hosts else {
        return Ok(());
    };
    let host = url_host(url).unwrap_or_default();
    if hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        Ok(())
    } else {
        Err(FetchError::HostNotAllowed { host })
    }
}

impl X5uFetcher {
    /// `client`'s body limit is lowered to [`MAX_CHAIN_BYTES`] for chains (and
    /// [`MAX_CRL_BYTES`] for CRLs) if it is larger. With `cache`, a cache within the default
    /// [`CacheLimits`], on the system clock (see [`X5uFetcher::with_clock`]).
    pub fn new(client: Client, cache: bool) -> Self {
        let crl_limit = client.max_body().min(MAX_CRL_BYTES);
        let limit = client.max_body().min(MAX_CHAIN_BYTES);
        Self {
            crl_client: client.clone().with_max_body(crl_limit),
            client: client.with_max_body(limit),
            cache: cache.then(|| Arc::new(Mutex::new(Cache::new(CacheLimits::default())))),
            clock: Clock::System,
            hosts: None,
        }
    }

    /// Fetches x5u chains only from these hosts (CRLs come from wherever the certificate says);
    /// an x5u naming another host fails with [`FetchError::HostNotAllowed`] before anything is
    /// resolved or sent.
    pub fn with_allowed_hosts(mut self, hosts: Vec<String>) -> Self {
        self.hosts = Some(Arc::new(hosts));
        self
    }

    /// Cache freshness is judged on `clock` (a world's scenario clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A cache within `limits` (replacing any cache, and its entries).
    pub fn with_cache_limits(mut self, limits: CacheLimits) -> Self {
        self.cache = Some(Arc::new(Mutex::new(Cache::new(limits))));
        self
    }

    fn cache(&self) -> Option<std::sync::MutexGuard<'_, Cache>> {
        // A poisoned lock only means another fetch panicked mid-insert; the map is still valid.
        let cache = self.cache.as_ref()?;
        Some(cache.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn cached(&self, url: &str) -> Option<Vec<u8>> {
        let now = self.clock.now();
        self.cache()?.get(url, now).map(<[u8]>::to_vec)
    }

    /// Whether `url` is in the cache and fresh (for traces: "served from cache").
    pub fn is_cached(&self, url: &str) -> bool {
        self.cached(url).is_some()
    }

    /// The cache's entry and byte counts (zero without a cache).
    pub fn cache_size(&self) -> (usize, usize) {
        self.cache().map_or((0, 0), |c| c.size())
    }

    async fn fetch_uncached(
        &self,
        client: &Client,
        url: &str,
        accept: &str,
    ) -> Result<Response, FetchError> {
        if !url.starts_with("https://") {
            return Err(FetchError::NotHttps {
                url: url.to_owned(),
            });
        }
        let response = client
            .send(Request::get(url).header("accept", accept))
            .await
            .map_err(|e| match e {
                Error::Timeout { ms } => FetchError::Timeout { ms },
                Error::BodyTooLarge { limit } => FetchError::TooLarge { limit },
                Error::Url { url } => FetchError::NotHttps { url },
                other => FetchError::Unreachable {
                    detail: other.to_string(),
                },
            })?;
        if response.status != 200 {
            return Err(FetchError::Status {
                code: response.status,
            });
        }
        Ok(response)
    }

    /// From the cache if fresh, else fetched and cached for as long as the response allows.
    async fn get(&self, client: &Client, url: &str, accept: &str) -> Result<Vec<u8>, FetchError> {
        if let Some(hit) = self.cached(url) {
            return Ok(hit);
        }
        let response = self.fetch_uncached(client, url, accept).await?;
        let body = response.body.to_vec();
        let now = self.clock.now();
        if let Some(mut cache) = self.cache() {
            let limits = cache.limits;
            if let Some(fresh) = lifetime(&response, now, &limits) {
                cache.put(url, body.clone(), now, fresh);
            }
        }
        Ok(body)
    }
}

impl CertFetcher for X5uFetcher {
    async fn fetch(&self, x5u: &str) -> Result<Vec<u8>, FetchError> {
        if x5u.starts_with("https://") {
            allowed(x5u, self.hosts.as_deref().map(Vec::as_slice))?;
        }
        self.get(&self.client, x5u, PEM_CHAIN).await
    }

    async fn fetch_crl(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.get(&self.crl_client, url, PKIX_CRL).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_772_442_000;

    fn response(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Default::default(),
        }
    }

    fn limits() -> CacheLimits {
        CacheLimits {
            max_age: 1000,
            default_age: 60,
            max_entries: 3,
            max_bytes: 10,
        }
    }

    #[test]
    fn lifetime_follows_cache_control_then_expires_then_the_default() {
        let l = limits();
        let at = |h: &[(&str, &str)]| lifetime(&response(h), NOW, &l);
        assert_eq!(at(&[("cache-control", "max-age=300")]), Some(300));
        assert_eq!(
            at(&[("Cache-Control", "public, max-age=\"300\"")]),
            Some(300)
        );
        assert_eq!(
            at(&[("cache-control", "max-age=300"), ("age", "100")]),
            Some(200)
        );
        assert_eq!(
            at(&[("cache-control", "max-age=99999")]),
            Some(1000),
            "capped"
        );
        assert_eq!(at(&[("cache-control", "no-store")]), None);
        assert_eq!(at(&[("cache-control", "max-age=300, no-cache")]), None);
        assert_eq!(at(&[("cache-control", "max-age=0")]), None);
        // max-age wins over Expires (RFC 9111 §5.3).
        let soon = proto::clock::http_date(NOW + 120);
        assert_eq!(
            at(&[("expires", &soon), ("cache-control", "max-age=30")]),
            Some(30)
        );
        assert_eq!(at(&[("expires", &soon)]), Some(120));
        assert_eq!(at(&[("expires", &proto::clock::http_date(NOW - 1))]), None);
        assert_eq!(
            at(&[("expires", "0")]),
            None,
            "an unreadable Expires is past"
        );
        assert_eq!(
            at(&[]),
            Some(60),
            "the default when the server says nothing"
        );
    }

    #[test]
    fn only_allowed_hosts_are_fetched_from() {
        let hosts = ["sti-cr.example".to_owned()];
        let ok = |url: &str| allowed(url, Some(&hosts));
        assert_eq!(ok("https://STI-CR.example/certs/a.pem"), Ok(()));
        assert_eq!(ok("https://sti-cr.example:8443/a.pem"), Ok(()));
        for (url, host) in [
            ("https://evil.example/certs/a.pem", "evil.example"),
            ("https://sti-cr.example@evil.example/a.pem", "evil.example"),
            (
                "https://sti-cr.example.evil.example/a.pem",
                "sti-cr.example.evil.example",
            ),
            ("https://[::1]/a.pem", "::1"),
        ] {
            assert_eq!(
                ok(url),
                Err(FetchError::HostNotAllowed { host: host.into() }),
                "{url}"
            );
        }
        assert_eq!(allowed("https://evil.example/a.pem", None), Ok(()));
    }

    #[test]
    fn entries_go_stale_at_their_instant() {
        let mut c = Cache::new(limits());
        c.put("a", b"AA".to_vec(), NOW, 10);
        assert_eq!(c.get("a", NOW + 9), Some(&b"AA"[..]));
        assert_eq!(c.get("a", NOW + 10), None);
        assert_eq!(c.get("b", NOW), None);
    }

    #[test]
    fn the_cache_keeps_within_its_entry_and_byte_bounds() {
        let mut c = Cache::new(limits());
        c.put("a", b"1234".to_vec(), NOW, 30);
        c.put("b", b"12".to_vec(), NOW, 10);
        c.put("c", b"12".to_vec(), NOW, 20);
        assert_eq!(c.size(), (3, 8));
        // A fourth entry pushes out the one going stale first ("b").
        c.put("d", b"1".to_vec(), NOW, 40);
        assert_eq!(c.size(), (3, 7));
        assert!(c.get("b", NOW).is_none() && c.get("d", NOW).is_some());
        // Too many bytes: "c" (stale first), then "a" go.
        c.put("e", b"123456".to_vec(), NOW, 50);
        assert_eq!(c.size(), (2, 7));
        assert!(c.get("a", NOW).is_none() && c.get("c", NOW).is_none());
        // Larger than the whole cache: not stored, nothing evicted.
        c.put("f", vec![0; 11], NOW, 50);
        assert_eq!(c.size(), (2, 7));
        // Replacing an entry does not count it twice; stale entries are dropped first.
        c.put("d", b"22".to_vec(), NOW, 40);
        assert_eq!(c.size(), (2, 8));
        c.put("g", b"1".to_vec(), NOW + 45, 10);
        assert_eq!(c.size(), (2, 7), "d went stale and was dropped");
    }
}
