//! `http`: general HTTP requests (any method, headers, a body) to hosts the policy grants
//! under `plugins.NAME.http.hosts`, sent by the fetcher's HTTP client
//! ([`HostFetcher::send`](crate::fetch::HostFetcher::send)). Any status is a response.
//! Every redirect hop is checked against the same grant; the body is capped at the smaller
//! of the request's `max-response-bytes` and the plugin's `max_response_mib`; the timeout
//! at the fetcher's total timeout. Secret values the host knows are redacted from errors.
//! A request header that carries a secret (raw, or base64 of text holding it, as in
//! `Authorization: Basic base64(user:secret)`) is remembered for redaction from then on
//! ([`Redactor::remember_derived`](crate::redact::Redactor::remember_derived)), so a server
//! that echoes request headers does not leak it into the plugin's response or the events.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use super::Capabilities;
use crate::bindings::tool::noetl::plugin::http::{Host, Request, Response};
use crate::bindings::types::CapabilityError;
use crate::fetch::{HttpRequest, redacted};
use crate::plugin::HostState;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl Host for HostState {
    async fn send(&mut self, request: Request) -> Result<Response, CapabilityError> {
        let started = self.begin_host_call();
        let caps = self.caps.clone();
        let result = caps.send_granted(request, self.max_response_bytes).await;
        self.end_host_call(started);
        result.map_err(|error| caps.redact_error(error))
    }
}

impl Capabilities {
    async fn send_granted(&self, request: Request, policy_max_bytes: u64) -> Result<Response, CapabilityError> {
        let url = Url::parse(&request.url).map_err(|e| CapabilityError::Failed(format!("http: `{}` is not a valid URL: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CapabilityError::Failed(format!(
                "http: unsupported URL scheme `{}` in {}; use http or https",
                url.scheme(),
                redacted(&url)
            )));
        }
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default();
        let grant = self.grant.http.as_ref().filter(|grant| grant.allows(host, port));
        let Some(grant) = grant else {
            let port = port.map(|port| format!(" port {port}")).unwrap_or_default();
            return Err(self.denied("http", &format!("`{host}`{port} ({} {})", request.method, redacted(&url)), "http.hosts"));
        };
        let fetcher = self.http.as_ref().ok_or_else(|| {
            CapabilityError::NotConfigured(format!(
                "plugin `{}` asked for {} {}, but this host has no HTTP client configured",
                self.plugin,
                request.method,
                redacted(&url)
            ))
        })?;
        let max_bytes = request.max_response_bytes.min(policy_max_bytes);
        for (_, value) in &request.headers {
            self.redactor.remember_derived(value);
        }
        let outgoing = outgoing(request)?;
        let grant_key = format!("plugins.{}.http.hosts", self.plugin);
        let answer = fetcher.send(&url, outgoing, max_bytes, grant, &grant_key).await.map_err(|error| match error {
            CapabilityError::TooLarge(message) if max_bytes == policy_max_bytes => CapabilityError::TooLarge(format!(
                "{message} (the plugin's limit plugins.{}.limits.max_response_mib in the policy file)",
                self.plugin
            )),
            other => other,
        })?;
        Ok(Response { status: answer.status, headers: answer.headers, body: answer.body, final_url: answer.final_url })
    }

    /// The error with every secret value the host knows replaced.
    fn redact_error(&self, error: CapabilityError) -> CapabilityError {
        let redact = |message: String| self.redactor.redact(&message).into_owned();
        match error {
            CapabilityError::Denied(m) => CapabilityError::Denied(redact(m)),
            CapabilityError::NotConfigured(m) => CapabilityError::NotConfigured(redact(m)),
            CapabilityError::NotFound(m) => CapabilityError::NotFound(redact(m)),
            CapabilityError::TooLarge(m) => CapabilityError::TooLarge(redact(m)),
            CapabilityError::Failed(m) => CapabilityError::Failed(redact(m)),
        }
    }
}

/// The request as the HTTP client takes it. A bad header names the header, never its
/// value (values carry credentials).
fn outgoing(request: Request) -> Result<HttpRequest, CapabilityError> {
    let method_name = request.method.to_ascii_uppercase();
    if !METHODS.contains(&method_name.as_str()) {
        return Err(CapabilityError::Failed(format!(
            "http: method `{}` is not supported; use one of {}",
            request.method,
            METHODS.join(", ")
        )));
    }
    let method = Method::from_bytes(method_name.as_bytes()).expect("the listed methods are valid");
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| CapabilityError::Failed(format!("http: `{name}` is not a valid header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| CapabilityError::Failed(format!("http: the value of header `{name}` is not valid (value not shown)")))?;
        headers.append(header, value);
    }
    Ok(HttpRequest {
        method,
        headers,
        body: request.body,
        follow_redirects: request.follow_redirects,
        timeout: request.timeout_ms.map(|ms| Duration::from_millis(ms.into())),
    })
}
