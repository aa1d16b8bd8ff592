//! `log`: plugin messages go to `tracing`, tagged with the plugin's name.

use crate::bindings::tool::noetl::plugin::log::{Host, Level};
use crate::plugin::HostState;

impl Host for HostState {
    async fn log(&mut self, level: Level, message: String) {
        let plugin = self.caps.plugin.as_str();
        let message = self.caps.redactor.redact(&message);
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}
