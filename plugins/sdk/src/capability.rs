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

/// Read a file from a directory the host grants (relative path).
pub fn read_file(path: &str, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
    plugin::files::read(path, max_bytes)
}

/// Scoped Kubernetes API access.
pub use plugin::kubernetes;
