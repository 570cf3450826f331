//! Fetching the certificate chain a PASSporT's `x5u` names, as an STI-VS must (RFC 8224 §6.2.3,
//! RFC 8226 §9, ATIS-1000080 §5.3): `https:` only, redirects not followed, a bounded body and a
//! bounded time, and a cache so one certificate is fetched once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use stir::{CertFetcher, FetchError};

use crate::Error;
use crate::http::{Client, Request};

/// Media type of a PEM chain (RFC 8555 §9.1).
pub const PEM_CHAIN: &str = "application/pem-certificate-chain";
/// Largest chain accepted. A SHAKEN chain is a few kilobytes.
pub const MAX_CHAIN_BYTES: usize = 64 * 1024;

/// Chains by x5u URL.
type Cache = Mutex<HashMap<String, Vec<u8>>>;

/// An x5u fetcher over HTTPS with an optional cache.
#[derive(Debug, Clone)]
pub struct X5uFetcher {
    client: Client,
    cache: Option<Arc<Cache>>,
}

impl X5uFetcher {
    /// `client`'s body limit is lowered to [`MAX_CHAIN_BYTES`] if it is larger.
    pub fn new(client: Client, cache: bool) -> Self {
        let limit = client.max_body().min(MAX_CHAIN_BYTES);
        Self {
            client: client.with_max_body(limit),
            cache: cache.then(Default::default),
        }
    }

    fn cached(&self, x5u: &str) -> Option<Vec<u8>> {
        let cache = self.cache.as_ref()?;
        // A poisoned lock only means another fetch panicked mid-insert; the map is still valid.
        let map = cache.lock().unwrap_or_else(|p| p.into_inner());
        map.get(x5u).cloned()
    }

    /// Whether `x5u` is in the cache (for traces: "served from cache").
    pub fn is_cached(&self, x5u: &str) -> bool {
        self.cached(x5u).is_some()
    }

    async fn fetch_uncached(&self, x5u: &str) -> Result<Vec<u8>, FetchError> {
        if !x5u.starts_with("https://") {
            return Err(FetchError::NotHttps {
                url: x5u.to_owned(),
            });
        }
        let response = self
            .client
            .send(Request::get(x5u).header("accept", PEM_CHAIN))
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
        Ok(response.body.to_vec())
    }
}

impl CertFetcher for X5uFetcher {
    async fn fetch(&self, x5u: &str) -> Result<Vec<u8>, FetchError> {
        if let Some(hit) = self.cached(x5u) {
            return Ok(hit);
        }
        let chain = self.fetch_uncached(x5u).await?;
        if let Some(cache) = &self.cache {
            cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(x5u.to_owned(), chain.clone());
        }
        Ok(chain)
    }
}
