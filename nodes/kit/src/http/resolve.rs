//! Where an HTTP host is: the [`Resolve`] contract and two plain resolvers (the operating
//! system's, and a fixed table in the manner of curl's `--resolve`). The world's DNS resolver
//! is `crate::dns::DnsResolver`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a host is. The URL's port (or the scheme's default) is passed in; a resolver that
/// knows better (DNS SRV, a `--resolve` override) answers with its own port.
pub trait Resolve: Send + Sync + fmt::Debug {
    /// The address to connect to for `host` at `port`.
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>>;
}

/// The operating system's resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>> {
        Box::pin(async move {
            tokio::net::lookup_host((host, port))
                .await?
                .next()
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
                })
        })
    }
}

/// Fixed host → address entries (curl's `--resolve`), falling back to the system resolver.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    /// Addresses by lower-case host name (the URL's port is ignored for these).
    pub entries: HashMap<String, SocketAddr>,
    /// Whether a host not in `entries` goes to the [`SystemResolver`] (else it is not found).
    pub fallback_to_system: bool,
}

impl Resolve for StaticResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<SocketAddr>> {
        Box::pin(async move {
            match self.entries.get(&host.to_ascii_lowercase()) {
                Some(addr) => Ok(*addr),
                None if self.fallback_to_system => SystemResolver.resolve(host, port).await,
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} is not known"),
                )),
            }
        })
    }
}
