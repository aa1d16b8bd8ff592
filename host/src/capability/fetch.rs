//! `fetch`: documents by URL, only from hosts (or buckets) the policy grants.

use std::future::Future;
use std::pin::Pin;

use sha2::{Digest, Sha256};

use crate::bindings::tool::noetl::plugin::fetch::{Fetched, Host};
use super::Capabilities;
use crate::bindings::types::CapabilityError;
use crate::plugin::HostState;

pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, CapabilityError>> + Send + 'a>>;

/// Retrieves documents for the `fetch` capability (HTTP, object stores).
pub trait Fetcher: Send + Sync {
    /// Fetch `uri`; refuse (`too-large`) bodies over `max_bytes` without reading them whole.
    fn get<'a>(&'a self, uri: &'a str, max_bytes: u64) -> FetchFuture<'a>;
}

/// The scheme and the host (or bucket) of a URI the capability accepts.
fn scheme_and_host(uri: &str) -> Result<(&str, &str), CapabilityError> {
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or_else(|| CapabilityError::Failed(format!("`{uri}` is not a URL; expected http(s)://, gs:// or s3://")))?;
    if !matches!(scheme, "http" | "https" | "gs" | "s3") {
        return Err(CapabilityError::Failed(format!(
            "unsupported URL scheme `{scheme}` in `{uri}`; use http, https, gs or s3"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(CapabilityError::Failed(format!("`{uri}` has no host or bucket")));
    }
    Ok((scheme, host))
}

impl Host for HostState {
    async fn get(&mut self, uri: String, max_bytes: u64) -> Result<Fetched, CapabilityError> {
        let started = self.begin_host_call();
        let result = self.caps.clone().fetch_granted(&uri, max_bytes).await;
        self.end_host_call(started);
        result.map(|body| Fetched { sha256: hex::encode(Sha256::digest(&body)), body })
    }
}

impl Capabilities {
    async fn fetch_granted(&self, uri: &str, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
        let caps = self;
        let (_, host) = scheme_and_host(uri)?;
        if !caps.grant.fetch.as_ref().is_some_and(|g| g.allows(host)) {
            return Err(caps.denied("fetch", &format!("`{host}` (from {uri})"), "fetch.hosts"));
        }
        let fetcher = caps.fetcher.as_deref().ok_or_else(|| {
            CapabilityError::NotConfigured(format!("plugin `{}` asked to fetch {uri}, but this host has no fetcher configured", caps.plugin))
        })?;
        fetcher.get(uri, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_buckets_are_extracted() {
        assert_eq!(scheme_and_host("https://user@Example.com:8443/a?b").unwrap(), ("https", "Example.com"));
        assert_eq!(scheme_and_host("s3://bucket/key/x.py").unwrap(), ("s3", "bucket"));
        assert_eq!(scheme_and_host("http://[::1]:80/x").unwrap(), ("http", "::1"));
        assert!(matches!(scheme_and_host("ftp://x/y"), Err(CapabilityError::Failed(m)) if m.contains("unsupported URL scheme `ftp`")));
        assert!(scheme_and_host("file:///etc/passwd").is_err());
    }
}
