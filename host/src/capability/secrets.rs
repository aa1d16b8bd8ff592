//! `secrets` (template engine only): values from the host's secret providers, checked
//! against the plugin's grant. The resolver remembers every value for redaction.

use crate::bindings::template_engine::noetl::plugin::secrets::Host;
use crate::bindings::types::CapabilityError;
use crate::plugin::HostState;
use crate::secrets::SecretError;

impl Host for HostState {
    async fn get(&mut self, name: String) -> Result<String, CapabilityError> {
        let started = self.begin_host_call();
        let caps = self.caps.clone();
        let result = if !caps.grant.secrets.as_ref().is_some_and(|g| g.allows(&name)) {
            Err(caps.denied("secrets", &format!("secret `{name}`"), "secrets.names"))
        } else {
            match &caps.secrets {
                None => Err(CapabilityError::NotConfigured(format!(
                    "secret `{name}` was requested but this host has no secret providers"
                ))),
                Some(resolver) => resolver.resolve(&name).await.map_err(|error| match error {
                    SecretError::NotFound { .. } => CapabilityError::NotFound(error.to_string()),
                    other => CapabilityError::Failed(other.to_string()),
                }),
            }
        };
        self.end_host_call(started);
        result
    }
}
