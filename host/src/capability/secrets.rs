//! `secrets` (template engine only): values from the host's secret providers. Every value
//! handed out is remembered by the provider for redaction.

use crate::bindings::template_engine::noetl::plugin::secrets::Host;
use crate::bindings::types::CapabilityError;
use crate::plugin::HostState;

/// Resolves secret names to values (the host's provider chain).
pub trait SecretSource: Send + Sync {
    fn get(&self, name: &str) -> Result<String, CapabilityError>;
}

impl Host for HostState {
    async fn get(&mut self, name: String) -> Result<String, CapabilityError> {
        let caps = &self.caps;
        if !caps.grant.secrets.as_ref().is_some_and(|g| g.allows(&name)) {
            return Err(caps.denied("secrets", &format!("secret `{name}`"), "secrets.names"));
        }
        let source = caps.secrets.as_deref().ok_or_else(|| {
            CapabilityError::NotConfigured(format!("secret `{name}` was requested but this host has no secret providers"))
        })?;
        source.get(&name)
    }
}
