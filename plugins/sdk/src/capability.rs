//! The host capabilities a plugin may call. Each is denied unless the host's policy grants
//! it; a denial comes back as [`CapabilityError::Denied`] with the grant that is missing.

use crate::bindings::noetl::plugin;
use crate::CapabilityError;

/// Log through the host (goes to its `tracing` output, tagged with this plugin's name).
pub mod log {
    use super::plugin::log::{Level, log};
    pub fn trace(message: &str) { log(Level::Trace, message) }
    pub fn debug(message: &str) { log(Level::Debug, message) }
    pub fn info(message: &str) { log(Level::Info, message) }
    pub fn warn(message: &str) { log(Level::Warn, message) }
    pub fn error(message: &str) { log(Level::Error, message) }
}

/// Fetch a document by URL (`http(s)://`, `gs://`, `s3://`) through the host.
pub fn fetch(uri: &str, max_bytes: u64) -> Result<plugin::fetch::Fetched, CapabilityError> {
    plugin::fetch::get(uri, max_bytes)
}

/// General HTTP requests through the host, to hosts the policy grants
/// (`plugins.NAME.http.hosts`). Any status is a response; errors are denials, bodies over
/// the cap, network failures and timeouts.
///
/// ```ignore
/// use noetl_plugin_sdk::capability::http::Request;
/// let response = Request::post("https://api.example.com/v1/items")
///     .header("authorization", &format!("Bearer {token}"))
///     .json(&serde_json::json!({"name": "x"}))
///     .send()?;
/// if response.status >= 400 { /* the API said no: response.text() says why */ }
/// ```
pub mod http {
    use super::plugin::http as wit;
    use crate::CapabilityError;
    use serde_json::Value;

    pub use wit::Response;

    /// An HTTP request to build and [`send`](Request::send).
    #[derive(Debug, Clone)]
    pub struct Request {
        inner: wit::Request,
    }

    impl Request {
        /// A request with no headers and no body that follows redirects, with the host's
        /// default timeout and the largest response body the policy allows.
        pub fn new(method: &str, url: &str) -> Self {
            Request {
                inner: wit::Request {
                    method: method.to_ascii_uppercase(),
                    url: url.into(),
                    headers: Vec::new(),
                    body: None,
                    timeout_ms: None,
                    follow_redirects: true,
                    max_response_bytes: u64::MAX,
                },
            }
        }

        pub fn get(url: &str) -> Self {
            Self::new("GET", url)
        }

        pub fn post(url: &str) -> Self {
            Self::new("POST", url)
        }

        /// Add a header (names may repeat).
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.inner.headers.push((name.into(), value.into()));
            self
        }

        pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
            self.inner.body = Some(body.into());
            self
        }

        /// `value` as the JSON body, with `content-type: application/json`.
        pub fn json(self, value: &Value) -> Self {
            self.header("content-type", "application/json").body(crate::to_json_text(value))
        }

        /// Bound on the whole exchange; the host caps it.
        pub fn timeout_ms(mut self, timeout_ms: u32) -> Self {
            self.inner.timeout_ms = Some(timeout_ms);
            self
        }

        /// Whether to follow redirects (each hop is checked against the grant).
        pub fn follow_redirects(mut self, follow: bool) -> Self {
            self.inner.follow_redirects = follow;
            self
        }

        /// Refuse (`too-large`) response bodies over `max_bytes`; the policy may cap it lower.
        pub fn max_response_bytes(mut self, max_bytes: u64) -> Self {
            self.inner.max_response_bytes = max_bytes;
            self
        }

        pub fn send(self) -> Result<Response, CapabilityError> {
            wit::send(&self.inner)
        }
    }

    impl Response {
        /// The first header named `name` (case-insensitive).
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
        }

        /// The body as text (invalid UTF-8 replaced).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }

        /// The body parsed as JSON.
        pub fn json(&self) -> Result<Value, serde_json::Error> {
            serde_json::from_slice(&self.body)
        }
    }
}

/// Read a file from a directory the host grants (relative path).
pub fn read_file(path: &str, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
    plugin::files::read(path, max_bytes)
}

/// Scoped Kubernetes API access.
pub use plugin::kubernetes;
