//! Embedding the host in a NoETL worker: one call builds the executor `noetl-host run`
//! uses on the local backend (built-in plugins, policy grants, fetcher), so a worker runs a
//! step with `local_executor(policy).await?.execute(&tool, &context, None).await`.

use std::sync::Arc;

use crate::backend::local::{ImageRuntime, LocalBackend, LocalConfig};
use crate::cache::ArtifactCache;
use crate::capability::Capabilities;
use crate::engine::HostEngine;
use crate::execute::Executor;
use crate::fetch::{FetchOptions, HostFetcher};
use crate::plugin::{PluginRuntime, PluginSet};
use crate::policy::Policy;

/// The local backend's settings taken from the policy's `local:` section.
pub fn local_config(policy: &Policy) -> LocalConfig {
    LocalConfig {
        image_runtimes: policy.local.runtimes.iter().map(|(image, runtime)| ImageRuntime::new(image, runtime)).collect(),
        network_steps: policy.local.network_steps.clone(),
        pids_limit: policy.local.pids_limit.unwrap_or(crate::backend::local::DEFAULT_PIDS_LIMIT),
        cgroups: policy.local.cgroups.unwrap_or(true),
        ..LocalConfig::default()
    }
}

/// The built-in plugins under `policy`, one step at a time on the local backend.
pub async fn local_executor(policy: Policy) -> anyhow::Result<Executor> {
    let runtime = PluginRuntime::new(HostEngine::new()?, ArtifactCache::new(ArtifactCache::default_dir()))?;
    let plugins = PluginSet::discover(&runtime, &policy, &[], &[]).await?;
    let backend = LocalBackend::new(local_config(&policy))?;
    Ok(Executor {
        plugins: Arc::new(plugins),
        policy: Arc::new(policy),
        backend: Arc::new(backend),
        providers: Capabilities::default(),
        fetcher: Some(HostFetcher::new(FetchOptions::from_env())),
    })
}
