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

/// The scheme, the host (or bucket) and the port of a URI the capability accepts: the URL's
/// own port, else the scheme's (80, 443); none for a bucket.
fn scheme_host_port(uri: &str) -> Result<(&str, &str, Option<u16>), CapabilityError> {
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
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').unwrap_or((v6, "")),
        None => host_port.split_once(':').map_or((host_port, ""), |(host, port)| (host, port)),
    };
    if host.is_empty() {
        return Err(CapabilityError::Failed(format!("`{uri}` has no host or bucket")));
    }
    let port = match port.trim_start_matches(':') {
        "" => match scheme {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        },
        digits => Some(digits.parse().map_err(|_| CapabilityError::Failed(format!("`{uri}` has an invalid port `{digits}`")))?),
    };
    Ok((scheme, host, port))
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
        let (_, host, port) = scheme_host_port(uri)?;
        if !caps.grant.fetch.as_ref().is_some_and(|g| g.allows(host, port)) {
            let target = match port {
                Some(port) => format!("`{host}` port {port} (from {uri})"),
                None => format!("`{host}` (from {uri})"),
            };
            return Err(caps.denied("fetch", &target, "fetch.hosts"));
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
        assert_eq!(scheme_host_port("https://user@Example.com:8443/a?b").unwrap(), ("https", "Example.com", Some(8443)));
        assert_eq!(scheme_host_port("https://example.com/a").unwrap(), ("https", "example.com", Some(443)));
        assert_eq!(scheme_host_port("http://example.com").unwrap(), ("http", "example.com", Some(80)));
        assert_eq!(scheme_host_port("s3://bucket/key/x.py").unwrap(), ("s3", "bucket", None));
        assert_eq!(scheme_host_port("http://[::1]:8080/x").unwrap(), ("http", "::1", Some(8080)));
        assert_eq!(scheme_host_port("http://[::1]/x").unwrap(), ("http", "::1", Some(80)));
        assert!(scheme_host_port("http://a.org:99999/x").is_err());
        assert!(matches!(scheme_host_port("ftp://x/y"), Err(CapabilityError::Failed(m)) if m.contains("unsupported URL scheme `ftp`")));
        assert!(scheme_host_port("file:///etc/passwd").is_err());
    }
}
