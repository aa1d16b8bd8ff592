//! NoETL tool kinds served by noetl-host's sandboxed plugins, through upstream's
//! `noetl_tools::registry::Tool` trait. A worker registers them over its own registry:
//!
//! ```no_run
//! # async fn worker() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! let mut registry = noetl_tools::tools::create_default_registry();
//! let host = Arc::new(noetl_host_tools::WorkerHost::from_policy_file(None).await?);
//! noetl_host_tools::register(&mut registry, &host, noetl_host_tools::DEFAULT_KINDS)?;
//! # Ok(()) }
//! ```
//!
//! The mapping between upstream's types and the host's is described in README.md.

mod host;
mod kinds;
mod legacy;
mod request;
mod response;
mod secrets;
mod tool;

use std::sync::Arc;

pub use host::WorkerHost;
pub use noetl_tools;
pub use tool::HostTool;

use noetl_tools::ToolRegistry;

/// The kinds a worker gets when it names none.
pub const DEFAULT_KINDS: &[&str] = &["script"];

/// Registers a [`HostTool`] for each of `kinds` in `registry`, replacing the tool of the same
/// kind there (upstream's native one). All of them share `host`. Fails, registering
/// nothing, when the host has no plugin for one of the kinds.
pub fn register(
    registry: &mut ToolRegistry,
    host: &Arc<WorkerHost>,
    kinds: &[&str],
) -> anyhow::Result<()> {
    if let Some(missing) = kinds.iter().find(|kind| !host.serves(kind)) {
        anyhow::bail!(
            "no noetl-host plugin serves tool kind `{missing}`; load a plugin for it or leave it out of the kinds to register"
        );
    }
    for kind in kinds {
        registry.register(HostTool::new(kinds::intern(kind), host.clone()));
    }
    Ok(())
}
