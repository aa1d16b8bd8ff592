//! The fetcher behind the `fetch` capability: `http(s)://` through reqwest, `s3://` and
//! `gs://` through object_store. Its HTTP client also serves the `http` capability
//! ([`HostFetcher::send`]).
//!
//! The capability (`capability/fetch.rs`) checks the first URL's host against the plugin's
//! grant. Redirects are followed here, so the redirect targets are checked here: a redirect
//! may always stay on the host that was granted, and may go to another host only if the
//! grant given with [`HostFetcher::with_redirect_grant`] allows it. A fetcher without a
//! redirect grant therefore never leaves the granted host.

mod http;
mod object;
mod options;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use reqwest::Url;

pub use http::{HttpRequest, HttpResponse};
pub use options::{CloudEnvironment, FetchOptions};

use crate::bindings::types::CapabilityError;
use crate::capability::Fetcher;
use crate::policy::FetchGrant;

/// Fetches documents for plugins. Cheap to clone: clones share the HTTP connection pool and
/// the object-store clients (with their cached credentials).
#[derive(Clone)]
pub struct HostFetcher {
    shared: Arc<Shared>,
    /// Hosts redirects may lead to besides the one first requested.
    redirect_grant: Option<FetchGrant>,
}

struct Shared {
    options: FetchOptions,
    /// Built on the first HTTP fetch: building it loads every system CA certificate (tens of
    /// milliseconds), which a run whose steps fetch nothing should not pay.
    http: tokio::sync::OnceCell<reqwest::Client>,
    objects: object::ObjectStores,
}

impl HostFetcher {
    pub fn new(options: FetchOptions) -> Self {
        // reqwest and object_store are built without a TLS crypto provider of their own
        // (the default one, aws-lc, is a large C build); they use the process default,
        // which we make ring, the provider kube already uses. Installing fails only when
        // another provider is already the default, which then serves just as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let objects = object::ObjectStores::new(&options);
        let http = tokio::sync::OnceCell::new();
        HostFetcher { shared: Arc::new(Shared { options, http, objects }), redirect_grant: None }
    }

    /// The same fetcher, allowed to follow redirects to any host `grant` allows (pass the
    /// calling plugin's `fetch` grant).
    pub fn with_redirect_grant(&self, grant: FetchGrant) -> Self {
        HostFetcher { shared: self.shared.clone(), redirect_grant: Some(grant) }
    }

    /// Fetch `uri` whole, refusing (`too-large`) a body over `max_bytes` before or while
    /// reading it, within the total timeout.
    pub async fn fetch(&self, uri: &str, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
        let url = Url::parse(uri).map_err(|e| CapabilityError::Failed(format!("`{uri}` is not a valid URL: {e}")))?;
        let timeout = self.shared.options.total_timeout;
        let fetching = async {
            match url.scheme() {
                "http" | "https" => {
                    let redirects = http::RedirectRule {
                        first: &url,
                        grant: self.redirect_grant.as_ref(),
                        grant_key: "plugins.<name>.fetch.hosts",
                        max: self.shared.options.max_redirects,
                    };
                    http::get(self.http_client().await?, &url, max_bytes, &redirects).await
                }
                "s3" => self.shared.objects.get(object::Cloud::S3, &url, max_bytes).await,
                "gs" => self.shared.objects.get(object::Cloud::Gcs, &url, max_bytes).await,
                other => Err(CapabilityError::Failed(format!(
                    "unsupported URL scheme `{other}` in {}; use http, https, gs or s3",
                    redacted(&url)
                ))),
            }
        };
        tokio::time::timeout(timeout, fetching).await.unwrap_or_else(|_| {
            Err(CapabilityError::Failed(format!(
                "fetching {} did not finish within the total timeout of {} s (FetchOptions.total_timeout)",
                redacted(&url),
                timeout.as_secs_f64()
            )))
        })
    }
}

impl HostFetcher {
    async fn http_client(&self) -> Result<&reqwest::Client, CapabilityError> {
        self.shared.http.get_or_try_init(|| async { http::client(&self.shared.options) }).await
    }

    /// Send one request of the `http` capability. The caller has checked that `url`'s host
    /// is granted; redirects (when `request.follow_redirects`) may reach the same host or
    /// any host `grant` allows, `grant_key` naming that grant in denials. The body is
    /// refused (`too-large`) past `max_bytes`; the whole exchange is bounded by the
    /// request's timeout, capped at [`FetchOptions::total_timeout`].
    pub async fn send(&self, url: &Url, request: HttpRequest, max_bytes: u64, grant: &FetchGrant, grant_key: &str) -> Result<HttpResponse, CapabilityError> {
        let options = &self.shared.options;
        let timeout = request.timeout.map_or(options.total_timeout, |asked| asked.min(options.total_timeout));
        let method = request.method.clone();
        let redirects = http::RedirectRule { first: url, grant: Some(grant), grant_key, max: options.max_redirects };
        let sending = async { http::send(self.http_client().await?, url, request, max_bytes, &redirects).await };
        tokio::time::timeout(timeout, sending).await.unwrap_or_else(|_| {
            Err(CapabilityError::Failed(format!(
                "{method} {} did not finish within {} s (the request's timeout-ms, capped at the host's {} s)",
                redacted(url),
                timeout.as_secs_f64(),
                options.total_timeout.as_secs_f64()
            )))
        })
    }
}

impl Fetcher for HostFetcher {
    // Spelled out: the capability's `FetchFuture` alias is private to its module.
    fn get<'a>(&'a self, uri: &'a str, max_bytes: u64) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, CapabilityError>> + Send + 'a>> {
        Box::pin(self.fetch(uri, max_bytes))
    }
}

/// A URL as errors show it: the password and the query (signed URLs carry credentials
/// there) are replaced, everything else names the document.
pub(crate) fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    if shown.query().is_some() {
        shown.set_query(Some("***"));
    }
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_password_and_query_only() {
        let url = Url::parse("https://user:canary-pw@example.com/a/b.py?X-Amz-Signature=canary-sig#frag").unwrap();
        assert_eq!(redacted(&url), "https://user:***@example.com/a/b.py?***");
        assert_eq!(redacted(&Url::parse("s3://bucket/key.py").unwrap()), "s3://bucket/key.py");
    }
}
