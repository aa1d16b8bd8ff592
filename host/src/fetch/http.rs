//! `http://` and `https://`: GET with redirects followed by hand (so each target's host
//! can be checked against the grant) and the body capped while it streams.

use std::error::Error as _;

use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};

use super::{FetchOptions, redacted};
use crate::bindings::types::CapabilityError;
use crate::policy::FetchGrant;

/// The client shared by every HTTP fetch: no automatic redirects, the connect timeout
/// (the total timeout is applied around the whole fetch), no proxy from the environment
/// (a plugin's reach is what the policy grants, not what a proxy variable adds).
pub(super) fn client(options: &FetchOptions) -> Result<reqwest::Client, CapabilityError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .no_proxy()
        .user_agent(concat!("noetl-host/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CapabilityError::Failed(format!("the host could not set up its HTTP client (TLS roots, resolver): {e}")))
}

/// Where redirects of one fetch may go.
pub(super) struct RedirectRule<'a> {
    /// The URL the plugin asked for; its host was granted by the capability.
    pub first: &'a Url,
    /// Other hosts redirects may reach.
    pub grant: Option<&'a FetchGrant>,
    pub max: usize,
}

impl RedirectRule<'_> {
    fn check(&self, from: &Url, to: &Url) -> Result<(), CapabilityError> {
        let first = redacted(self.first);
        if !matches!(to.scheme(), "http" | "https") {
            return Err(CapabilityError::Failed(format!(
                "fetching {first}: {} redirected to {}, which is not http(s); refused",
                redacted(from),
                redacted(to)
            )));
        }
        if from.scheme() == "https" && to.scheme() == "http" {
            return Err(CapabilityError::Failed(format!(
                "fetching {first}: {} redirected from https to plain http ({}); refused",
                redacted(from),
                redacted(to)
            )));
        }
        let host = to.host_str().unwrap_or_default();
        let same_host = self.first.host_str().is_some_and(|first| first.eq_ignore_ascii_case(host));
        if !same_host && !self.grant.is_some_and(|grant| grant.allows(host)) {
            return Err(CapabilityError::Denied(format!(
                "fetching {first}: {} redirected to {}, but host `{host}` is not granted \
                 (add it under plugins.<name>.fetch.hosts in the policy file)",
                redacted(from),
                redacted(to)
            )));
        }
        Ok(())
    }
}

/// GET `url`, following at most `redirects.max` redirects, each checked by `redirects`.
pub(super) async fn get(client: &reqwest::Client, url: &Url, max_bytes: u64, redirects: &RedirectRule<'_>) -> Result<Vec<u8>, CapabilityError> {
    let mut current = url.clone();
    let mut followed = 0;
    loop {
        let response = client.get(current.clone()).send().await.map_err(|e| request_failed(&current, &e))?;
        let status = response.status();
        if status.is_redirection() {
            let next = redirect_target(&current, status, &response)?;
            if followed == redirects.max {
                return Err(CapabilityError::Failed(format!(
                    "fetching {}: more than {} redirects (the last from {} to {}); refused",
                    redacted(url),
                    redirects.max,
                    redacted(&current),
                    redacted(&next)
                )));
            }
            redirects.check(&current, &next)?;
            followed += 1;
            current = next;
            continue;
        }
        if !status.is_success() {
            return Err(status_error(&current, status, url));
        }
        return read_capped(response, &current, max_bytes).await;
    }
}

fn redirect_target(current: &Url, status: StatusCode, response: &reqwest::Response) -> Result<Url, CapabilityError> {
    let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).ok_or_else(|| {
        CapabilityError::Failed(format!("GET {} answered HTTP {status} without a usable Location header", redacted(current)))
    })?;
    current.join(location).map_err(|e| {
        CapabilityError::Failed(format!("GET {} redirected to `{location}`, which is not a valid URL: {e}", redacted(current)))
    })
}

/// A non-2xx answer is an error naming status and URL: never a 404 page taken for a document.
fn status_error(at: &Url, status: StatusCode, asked: &Url) -> CapabilityError {
    let via = if at == asked { String::new() } else { format!(" (redirected from {})", redacted(asked)) };
    let message = format!("GET {} answered HTTP {status}{via}", redacted(at));
    match status {
        StatusCode::NOT_FOUND | StatusCode::GONE => CapabilityError::NotFound(message),
        _ => CapabilityError::Failed(message),
    }
}

/// The body, refused as soon as it is known to exceed `max_bytes`: from Content-Length
/// before reading, else by counting while streaming.
async fn read_capped(mut response: reqwest::Response, url: &Url, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
    let too_large = |what: String| CapabilityError::TooLarge(format!("{} {what}, over the limit of {max_bytes} bytes", redacted(url)));
    if let Some(length) = response.content_length().filter(|length| *length > max_bytes) {
        return Err(too_large(format!("is {length} bytes (Content-Length)")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| request_failed(url, &e))? {
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large("sent more".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure, with the causes reqwest wraps (DNS, connect, TLS, reset). The URL
/// is taken out of reqwest's own text so that only the redacted form appears.
fn request_failed(url: &Url, error: &reqwest::Error) -> CapabilityError {
    let what = if error.is_connect() && error.is_timeout() {
        "could not connect within the connect timeout (FetchOptions.connect_timeout)"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_body() || error.is_decode() {
        "failed while reading the body"
    } else {
        "failed"
    };
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let causes = if causes.is_empty() { String::new() } else { format!(": {}", causes.join(": ")) };
    CapabilityError::Failed(format!("GET {} {what}{causes}", redacted(url)))
}
