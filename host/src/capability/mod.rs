//! The host side of the WIT capability imports. Every call is checked against the calling
//! plugin's grant from the policy file; a denial names plugin, capability and target and
//! says which policy entry would grant it.

mod fetch;
mod files;
mod http;
mod kube_secret;
mod kubernetes;
mod legacy;
mod log;
mod secrets;

use std::path::PathBuf;
use std::sync::Arc;

pub use fetch::Fetcher;
pub use kube_secret::PolicyScopedSecret;
pub use kubernetes::KubeApi;

use crate::bindings::types::CapabilityError;
use crate::fetch::HostFetcher;
use crate::policy::PluginGrant;
use crate::redact::Redactor;
use crate::secrets::SecretResolver;

/// What one plugin may reach during one call, and the providers behind each capability.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// Plugin name as the policy file names it.
    pub plugin: String,
    pub grant: PluginGrant,
    /// Directory that relative `files` grants (and the default grant `.`) resolve against:
    /// the playbook's directory.
    pub base_dir: Option<PathBuf>,
    pub kubernetes: Option<Arc<dyn KubeApi>>,
    pub fetcher: Option<Arc<dyn Fetcher>>,
    /// The HTTP client behind the `http` capability (the fetcher's).
    pub http: Option<HostFetcher>,
    pub secrets: Option<Arc<SecretResolver>>,
    /// Secret values known to the host; removed from everything a plugin logs.
    pub redactor: Redactor,
}

impl Capabilities {
    /// A plugin that gets nothing but `log` (used for `describe` at load time).
    pub fn none(plugin: &str) -> Self {
        Capabilities { plugin: plugin.into(), ..Default::default() }
    }

    fn denied(&self, capability: &str, target: &str, grant_needed: &str) -> CapabilityError {
        CapabilityError::Denied(format!(
            "plugin `{}` may not use {capability} on {target}: the policy grants no such access \
             (add it under plugins.{}.{grant_needed} in the policy file)",
            self.plugin, self.plugin
        ))
    }
}
