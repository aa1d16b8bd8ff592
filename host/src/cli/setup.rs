//! Building a host from the command line's global options.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use noetl_host::backend::Backend;
use noetl_host::backend::kubernetes::{KubeOps, KubeOptions, KubernetesBackend, RetryPolicy, client as kube_client};
use noetl_host::backend::local::LocalBackend;
use noetl_host::fetch::{FetchOptions, HostFetcher};
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::{Capabilities, KubeApi, PolicyScopedSecret};
use noetl_host::engine::HostEngine;
use noetl_host::execute::Executor;
use noetl_host::playbook::{Document, StepRenderer};
use noetl_host::plugin::{CallEnv, PluginRuntime, PluginSet};
use noetl_host::policy::{BackendChoice, Policy};
use noetl_host::secrets::{DirectoryProvider, KubernetesSecrets, SecretRef, SecretResolver};

use super::{BackendArg, Failure, GlobalArgs};

/// Policy and plugins, shared by every command.
pub struct Loaded {
    pub policy: Arc<Policy>,
    pub plugins: Arc<PluginSet>,
}

pub fn policy(global: &GlobalArgs) -> Result<Policy, Failure> {
    match &global.policy {
        Some(path) => Policy::load(path).map_err(|e| Failure::new(2, format!("{e:#}"))),
        None => Ok(Policy::default_policy()),
    }
}

/// Engine, cache, policy and every plugin.
pub async fn load(global: &GlobalArgs) -> Result<Loaded, Failure> {
    load_for(global, None).await
}

/// [`load`] for a playbook: of the built-in tools, only those its steps name. A playbook
/// that runs other playbooks, or that does not parse (check then says why), gets them all.
pub async fn load_for_playbook(global: &GlobalArgs, path: &Path) -> Result<Loaded, Failure> {
    let kinds = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| Document::parse(&text, "").ok())
        .map(|document| document.tool_kinds())
        .filter(|kinds| !kinds.contains(noetl_host::playbook::PLAYBOOK_KIND));
    load_for(global, kinds.as_ref()).await
}

async fn load_for(global: &GlobalArgs, kinds: Option<&BTreeSet<String>>) -> Result<Loaded, Failure> {
    let policy = policy(global)?;
    let runtime = PluginRuntime::new(HostEngine::new()?, ArtifactCache::new(ArtifactCache::default_dir()))?;
    let plugins = PluginSet::discover_for(&runtime, &policy, &global.plugin_dirs, &global.plugins, kinds).await?;
    for warning in plugins.policy_warnings(&policy) {
        tracing::warn!("{warning}");
    }
    Ok(Loaded { policy: Arc::new(policy), plugins: Arc::new(plugins) })
}

/// The secret provider chain (environment, `--secrets-dir`, `--secrets-k8s`).
pub async fn secrets(global: &GlobalArgs, loaded: &Loaded) -> Result<Arc<SecretResolver>, Failure> {
    let directory = match &global.secrets_dir {
        Some(dir) => Some(DirectoryProvider::open(dir).map_err(|e| {
            Failure::new(2, format!("--secrets-dir {}: cannot open it ({e}); give a directory with one file per secret", dir.display()))
        })?),
        None => None,
    };
    let kubernetes = match &global.secrets_k8s {
        Some(secret) => Some(kubernetes_secret(global, loaded, secret).await?),
        None => None,
    };
    Ok(Arc::new(SecretResolver::standard(global.redactor.clone(), directory, kubernetes)))
}

/// The `--secrets-k8s` Secret, read under the template engine's grant (it is the plugin the
/// secrets are handed to). The grant is checked first, so a policy that does not allow the
/// read stops the command before anything runs or any request is sent.
async fn kubernetes_secret(global: &GlobalArgs, loaded: &Loaded, secret: &SecretRef) -> Result<Arc<dyn KubernetesSecrets>, Failure> {
    let template = loaded.plugins.template_engine()?;
    let caps = CallEnv::from_policy(&loaded.policy, template).caps;
    PolicyScopedSecret::check_grant(&caps, secret).map_err(|e| Failure::new(2, format!("--secrets-k8s {secret}: {e}")))?;
    let client = kube_client(&kube_options(global))
        .await
        .map_err(|e| Failure::new(4, format!("--secrets-k8s {secret}: {e:#}")))?;
    let api: Arc<dyn KubeApi> = Arc::new(KubeOps::new(client, RetryPolicy::default()));
    Ok(Arc::new(PolicyScopedSecret::new(secret.clone(), api)))
}

/// How to reach the cluster, from --kubeconfig, --kube-context and --start-grace-seconds.
fn kube_options(global: &GlobalArgs) -> KubeOptions {
    let defaults = KubeOptions::default();
    KubeOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.kube_context.clone(),
        start_failure_grace: global.start_grace_seconds.map_or(defaults.start_failure_grace, std::time::Duration::from_secs),
        ..defaults
    }
}

/// The template engine under its policy grant, resolving secrets through `secrets`.
pub fn renderer(loaded: &Loaded, secrets: &Arc<SecretResolver>, strict: bool) -> Result<StepRenderer, Failure> {
    Ok(noetl_host::embed::renderer(&loaded.plugins, &loaded.policy, secrets, strict)?)
}

/// A context file (YAML or JSON object).
pub fn read_context(path: &Path) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::new(2, format!("reading context {}: {e}", path.display())))?;
    let value: Value = serde_yaml::from_str(&text)
        .map_err(|e| Failure::new(2, format!("context {} is not YAML/JSON: {e}", path.display())))?;
    if !value.is_object() {
        return Err(Failure::new(2, format!("context {} must be a mapping (workload, earlier step results)", path.display())));
    }
    Ok(value)
}

/// The backend the options (or else the policy) choose.
fn backend_choice(global: &GlobalArgs, policy: &Policy) -> BackendChoice {
    match global.backend {
        Some(BackendArg::Local) => BackendChoice::Local,
        Some(BackendArg::Kubernetes) => BackendChoice::Kubernetes,
        None => policy.backend,
    }
}

/// Whether plugins get a cluster behind their `kubernetes` capability (only the kubernetes
/// backend connects to one).
pub fn uses_cluster(global: &GlobalArgs, policy: &Policy) -> bool {
    backend_choice(global, policy) == BackendChoice::Kubernetes
}

/// The chosen backend, and (with a cluster) the API behind plugins' `kubernetes` capability.
pub async fn backend(global: &GlobalArgs, policy: &Policy) -> Result<(Arc<dyn Backend>, Option<Arc<dyn KubeApi>>), Failure> {
    match backend_choice(global, policy) {
        BackendChoice::Local => {
            let config = noetl_host::embed::local_config(policy);
            let backend = LocalBackend::new(config).map_err(|e| Failure::new(4, format!("local backend: {e:#}")))?;
            Ok((Arc::new(backend), None))
        }
        BackendChoice::Kubernetes => {
            let backend = KubernetesBackend::connect(kube_options(global)).await.map_err(|e| Failure::new(4, format!("kubernetes backend: {e:#}")))?;
            let api: Arc<dyn KubeApi> = Arc::new(backend.ops());
            Ok((Arc::new(backend), Some(api)))
        }
    }
}

pub async fn executor(global: &GlobalArgs, loaded: &Loaded, secrets: &Arc<SecretResolver>) -> Result<Executor, Failure> {
    let (backend, kubernetes) = backend(global, &loaded.policy).await?;
    let fetcher = fetcher();
    Ok(Executor {
        plugins: loaded.plugins.clone(),
        policy: loaded.policy.clone(),
        backend,
        providers: Capabilities { redactor: secrets.redactor().clone(), kubernetes, ..Capabilities::default() },
        fetcher: Some(fetcher),
    })
}

/// The `fetch` capability's fetcher (HTTP, S3, GCS), configured from the environment.
pub fn fetcher() -> HostFetcher {
    HostFetcher::new(FetchOptions::from_env())
}
