//! Embedding the host in a NoETL worker: one call builds the executor `noetl-host run`
//! uses on the local backend (built-in plugins, policy grants, fetcher), so a worker runs a
//! step with `local_executor(policy).await?.execute(&tool, &context, None).await`
//! (`kubernetes_executor` for a cluster), and [`renderer`] renders a step's templates with
//! the secrets a caller provides.

use std::sync::Arc;

use crate::backend::Backend;
use crate::backend::kubernetes::{KubeOptions, KubernetesBackend};
use crate::backend::local::{ImageRuntime, LocalBackend, LocalConfig};
use crate::cache::ArtifactCache;
use crate::capability::Capabilities;
use crate::engine::HostEngine;
use crate::execute::Executor;
use crate::fetch::{FetchOptions, HostFetcher};
use crate::capability::KubeApi;
use crate::playbook::StepRenderer;
use crate::plugin::{CallEnv, PluginRuntime, PluginSet};
use crate::policy::Policy;
use crate::secrets::SecretResolver;

/// The local backend's settings taken from the policy's `local:` section.
pub fn local_config(policy: &Policy) -> LocalConfig {
    LocalConfig {
        image_runtimes: policy.local.runtimes.iter().map(|(image, runtime)| ImageRuntime::new(image, runtime)).collect(),
        network: policy.local.network.clone(),
        pids_limit: policy.local.pids_limit.unwrap_or(crate::backend::local::DEFAULT_PIDS_LIMIT),
        cgroups: policy.local.cgroups.unwrap_or(true),
        ..LocalConfig::default()
    }
}

/// The built-in plugins under `policy`, one step at a time on the local backend.
pub async fn local_executor(policy: Policy) -> anyhow::Result<Executor> {
    let backend = LocalBackend::new(local_config(&policy))?;
    executor_on(policy, Arc::new(backend), None).await
}

/// The built-in plugins under `policy`, jobs on the cluster `options` name; plugins'
/// `kubernetes` capability reaches the same cluster through the backend's client.
pub async fn kubernetes_executor(policy: Policy, options: KubeOptions) -> anyhow::Result<Executor> {
    let backend = KubernetesBackend::connect(options).await?;
    let api: Arc<dyn KubeApi> = Arc::new(backend.ops());
    executor_on(policy, Arc::new(backend), Some(api)).await
}

/// The built-in plugins under `policy`, jobs on `backend`; `kubernetes` serves plugins'
/// `kubernetes` capability (the backend's cluster, or none).
pub async fn executor_on(policy: Policy, backend: Arc<dyn Backend>, kubernetes: Option<Arc<dyn KubeApi>>) -> anyhow::Result<Executor> {
    let runtime = PluginRuntime::new(HostEngine::new()?, ArtifactCache::new(ArtifactCache::default_dir()))?;
    let plugins = PluginSet::discover(&runtime, &policy, &[], &[]).await?;
    Ok(Executor {
        plugins: Arc::new(plugins),
        policy: Arc::new(policy),
        backend,
        providers: Capabilities { kubernetes, ..Capabilities::default() },
        fetcher: Some(HostFetcher::new(FetchOptions::from_env())),
    })
}

/// The template engine under its policy grant, resolving `{{ secrets.X }}` through
/// `secrets` and redacting with its redactor.
pub fn renderer(plugins: &PluginSet, policy: &Policy, secrets: &Arc<SecretResolver>, strict: bool) -> anyhow::Result<StepRenderer> {
    let plugin = plugins.template_engine()?.clone();
    let mut env = CallEnv::from_policy(policy, &plugin);
    env.caps = Arc::new(Capabilities { secrets: Some(secrets.clone()), redactor: secrets.redactor().clone(), ..(*env.caps).clone() });
    Ok(StepRenderer { plugin, env, strict })
}
