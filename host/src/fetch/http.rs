//! `http://` and `https://`: requests with redirects followed by hand (so each target's
//! host can be checked against the grant) and bodies capped while they stream. Serves both
//! `fetch` (GET a document: any non-2xx is an error) and the `http` capability (any
//! method; any status is a response).

use std::error::Error as _;

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, PROXY_AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};

use super::{FetchOptions, redacted};
use crate::bindings::types::CapabilityError;
use crate::policy::FetchGrant;

/// The client shared by every HTTP request: no automatic redirects, the connect timeout
/// (the total timeout is applied around the whole request), no proxy from the environment
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

/// Where redirects of one request may go.
pub(super) struct RedirectRule<'a> {
    /// The URL the plugin asked for; its host was granted by the capability.
    pub first: &'a Url,
    /// Other hosts redirects may reach.
    pub grant: Option<&'a FetchGrant>,
    /// The policy entry that would grant another host, for denials
    /// (`plugins.<name>.fetch.hosts`).
    pub grant_key: &'a str,
    pub max: usize,
}

impl RedirectRule<'_> {
    fn check(&self, method: &Method, from: &Url, to: &Url) -> Result<(), CapabilityError> {
        let first = redacted(self.first);
        if !matches!(to.scheme(), "http" | "https") {
            return Err(CapabilityError::Failed(format!(
                "{method} {first}: {} redirected to {}, which is not http(s); refused",
                redacted(from),
                redacted(to)
            )));
        }
        if from.scheme() == "https" && to.scheme() == "http" {
            return Err(CapabilityError::Failed(format!(
                "{method} {first}: {} redirected from https to plain http ({}); refused",
                redacted(from),
                redacted(to)
            )));
        }
        let host = to.host_str().unwrap_or_default();
        let port = to.port_or_known_default();
        if !same_host_and_port(self.first, to) && !self.grant.is_some_and(|grant| grant.allows(host, port)) {
            let on_port = port.map(|port| format!(" on port {port}")).unwrap_or_default();
            return Err(CapabilityError::Denied(format!(
                "{method} {first}: {} redirected to {}, but host `{host}` is not granted{on_port} \
                 (add it under {} in the policy file)",
                redacted(from),
                redacted(to),
                self.grant_key
            )));
        }
        Ok(())
    }
}

/// A redirect may stay where the first request went (same host and port) without a grant;
/// anywhere else, a port-bound grant included, it is checked.
fn same_host_and_port(a: &Url, b: &Url) -> bool {
    let same_host = a.host_str().zip(b.host_str()).is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
    same_host && a.port_or_known_default() == b.port_or_known_default()
}

/// One request as the plugin asked for it.
pub struct HttpRequest {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
    pub follow_redirects: bool,
    /// Bound on the whole exchange; `None` for the host's total timeout.
    pub timeout: Option<std::time::Duration>,
}

/// The answer to a request: the response (body not yet read) and the URL that gave it.
struct Answer {
    response: reqwest::Response,
    url: Url,
    method: Method,
}

/// Send `request` to `url`, following at most `redirects.max` redirects when asked, each
/// checked by `redirects`. A 303, or a 301/302 answering a POST, turns the next hop into a
/// GET without a body (what browsers and curl do); 307 and 308 keep method and body.
/// Credentials (`authorization`, `cookie`) are not sent on to another host.
async fn exchange(client: &reqwest::Client, url: &Url, request: HttpRequest, redirects: &RedirectRule<'_>) -> Result<Answer, CapabilityError> {
    let HttpRequest { mut method, mut headers, mut body, follow_redirects, timeout: _ } = request;
    let mut current = url.clone();
    let mut followed = 0;
    loop {
        let mut request = client.request(method.clone(), current.clone()).headers(headers.clone());
        if let Some(body) = &body {
            request = request.body(body.clone());
        }
        let response = request.send().await.map_err(|e| request_failed(&method, &current, &e))?;
        let status = response.status();
        let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
        if !(follow_redirects && redirect) {
            return Ok(Answer { response, url: current, method });
        }
        let next = redirect_target(&method, &current, status, &response)?;
        if followed == redirects.max {
            return Err(CapabilityError::Failed(format!(
                "{method} {}: more than {} redirects (the last from {} to {}); refused",
                redacted(url),
                redirects.max,
                redacted(&current),
                redacted(&next)
            )));
        }
        redirects.check(&method, &current, &next)?;
        if status == StatusCode::SEE_OTHER || (method == Method::POST && matches!(status.as_u16(), 301 | 302)) {
            method = Method::GET;
            body = None;
            headers.remove(CONTENT_TYPE);
            headers.remove(CONTENT_LENGTH);
        }
        if !same_host_and_port(&current, &next) {
            for credential in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
                headers.remove(credential);
            }
        }
        followed += 1;
        current = next;
    }
}

/// GET `url` as a document: redirects followed, a non-2xx answer is an error.
pub(super) async fn get(client: &reqwest::Client, url: &Url, max_bytes: u64, redirects: &RedirectRule<'_>) -> Result<Vec<u8>, CapabilityError> {
    let request = HttpRequest { method: Method::GET, headers: HeaderMap::new(), body: None, follow_redirects: true, timeout: None };
    let answer = exchange(client, url, request, redirects).await?;
    let status = answer.response.status();
    if !status.is_success() {
        return Err(status_error(&answer.url, status, url));
    }
    read_capped(answer.response, &answer.method, &answer.url, max_bytes).await
}

/// What the `http` capability returns: any status, its headers and the capped body.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub final_url: String,
}

/// Send `request` to `url`; any status is an answer.
pub(super) async fn send(
    client: &reqwest::Client,
    url: &Url,
    request: HttpRequest,
    max_bytes: u64,
    redirects: &RedirectRule<'_>,
) -> Result<HttpResponse, CapabilityError> {
    let answer = exchange(client, url, request, redirects).await?;
    let status = answer.response.status().as_u16();
    let headers = answer
        .response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let body = read_capped(answer.response, &answer.method, &answer.url, max_bytes).await?;
    Ok(HttpResponse { status, headers, body, final_url: answer.url.to_string() })
}

fn redirect_target(method: &Method, current: &Url, status: StatusCode, response: &reqwest::Response) -> Result<Url, CapabilityError> {
    let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).ok_or_else(|| {
        CapabilityError::Failed(format!("{method} {} answered HTTP {status} without a usable Location header", redacted(current)))
    })?;
    current.join(location).map_err(|e| {
        CapabilityError::Failed(format!("{method} {} redirected to `{location}`, which is not a valid URL: {e}", redacted(current)))
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
async fn read_capped(mut response: reqwest::Response, method: &Method, url: &Url, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
    let too_large = |what: String| CapabilityError::TooLarge(format!("{} {what}, over the limit of {max_bytes} bytes", redacted(url)));
    if let Some(length) = response.content_length().filter(|length| *length > max_bytes) {
        return Err(too_large(format!("is {length} bytes (Content-Length)")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| request_failed(method, url, &e))? {
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large("sent more".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure, with the causes reqwest wraps (DNS, connect, TLS, reset). The URL
/// is taken out of reqwest's own text so that only the redacted form appears.
fn request_failed(method: &Method, url: &Url, error: &reqwest::Error) -> CapabilityError {
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
    CapabilityError::Failed(format!("{method} {} {what}{causes}", redacted(url)))
}
