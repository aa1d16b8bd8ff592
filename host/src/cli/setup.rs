//! Building a host from the command line's global options.

use std::sync::Arc;

use noetl_host::backend::Backend;
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::execute::Executor;
use noetl_host::plugin::{PluginRuntime, PluginSet};
use noetl_host::policy::{BackendChoice, Policy};

use super::{BackendArg, Failure, GlobalArgs};

pub struct Loaded {
    pub policy: Policy,
    pub plugins: PluginSet,
}

pub fn policy(global: &GlobalArgs) -> Result<Policy, Failure> {
    match &global.policy {
        Some(path) => Policy::load(path).map_err(|e| Failure::new(2, format!("{e:#}"))),
        None => Ok(Policy::default_policy()),
    }
}

/// Engine, cache, policy and every plugin.
pub async fn load(global: &GlobalArgs) -> Result<Loaded, Failure> {
    let policy = policy(global)?;
    let runtime = PluginRuntime::new(HostEngine::new()?, ArtifactCache::new(ArtifactCache::default_dir()))?;
    let plugins = PluginSet::discover(&runtime, &policy, &global.plugin_dirs, &global.plugins).await?;
    Ok(Loaded { policy, plugins })
}

/// The backend the options (or the policy) choose.
pub async fn backend(global: &GlobalArgs, policy: &Policy) -> Result<Arc<dyn Backend>, Failure> {
    let choice = match global.backend {
        Some(BackendArg::Local) => BackendChoice::Local,
        Some(BackendArg::Kubernetes) => BackendChoice::Kubernetes,
        None => policy.backend,
    };
    Err(Failure::new(4, format!("the {choice:?} backend is not available in this build")))
}

pub async fn executor(global: &GlobalArgs) -> Result<Executor, Failure> {
    let loaded = load(global).await?;
    let backend = backend(global, &loaded.policy).await?;
    Ok(Executor {
        plugins: Arc::new(loaded.plugins),
        policy: Arc::new(loaded.policy),
        backend,
        providers: Capabilities::default(),
    })
}
