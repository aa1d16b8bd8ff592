//! `kubernetes`: scoped API access. The policy decides which namespaces and kinds a plugin
//! may touch, and an object that carries a pod spec is created only if its pod meets the
//! plugin's job grant (`crate::admission`); the Kubernetes backend (when configured)
//! carries out the call.

use std::future::Future;
use std::pin::Pin;

use crate::bindings::tool::noetl::plugin::kubernetes::Host;
use super::Capabilities;
use crate::bindings::types::CapabilityError;
use crate::plugin::HostState;

pub type KubeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CapabilityError>> + Send + 'a>>;

/// The cluster operations behind the capability (implemented by the Kubernetes backend).
pub trait KubeApi: Send + Sync {
    fn get<'a>(&'a self, kind: &'a str, namespace: &'a str, name: &'a str) -> KubeFuture<'a, String>;
    fn list<'a>(&'a self, kind: &'a str, namespace: &'a str, selector: &'a str) -> KubeFuture<'a, Vec<String>>;
    fn create<'a>(&'a self, namespace: &'a str, body: &'a str) -> KubeFuture<'a, String>;
    fn delete<'a>(&'a self, kind: &'a str, namespace: &'a str, name: &'a str) -> KubeFuture<'a, ()>;
}

impl Capabilities {
    /// `Ok` when the policy grants this plugin `verb` on `kind` in `namespace`; otherwise the
    /// denial naming plugin, verb, kind, namespace and the policy key that would grant it.
    pub(crate) fn check_kube_grant(&self, verb: &str, kind: &str, namespace: &str) -> Result<(), CapabilityError> {
        let granted = self.grant.kubernetes.as_ref().is_some_and(|g| g.allows(namespace, kind));
        if granted {
            return Ok(());
        }
        Err(self.denied(
            "kubernetes",
            &format!("`{verb} {kind}` in namespace `{namespace}`"),
            "kubernetes (namespaces and kinds)",
        ))
    }

    /// The backing API when the call is granted; otherwise the error to return.
    fn kube_for(&self, verb: &str, kind: &str, namespace: &str) -> Result<&dyn KubeApi, CapabilityError> {
        let caps = self;
        caps.check_kube_grant(verb, kind, namespace)?;
        caps.kubernetes.as_deref().ok_or_else(|| {
            CapabilityError::NotConfigured(format!(
                "plugin `{}` asked to {verb} {kind} in namespace `{namespace}`, but this host has no Kubernetes \
                 cluster configured (run with --backend kubernetes and a kubeconfig)",
                caps.plugin
            ))
        })
    }
}

/// The kind of a `create` body, once the grant allows the plugin to create it in
/// `namespace` and, when it carries a pod spec, the pod meets the plugin's job grant.
fn check_create(caps: &Capabilities, namespace: &str, body: &str) -> Result<String, CapabilityError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| CapabilityError::Failed(format!("kubernetes.create: body is not JSON: {e}")))?;
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .ok_or_else(|| CapabilityError::Failed("kubernetes.create: body has no `kind`".into()))?;
    caps.check_kube_grant("create", kind, namespace)?;
    crate::admission::check_created_object(&caps.plugin, caps.grant.jobs.as_ref(), &value)
        .map_err(|refusal| CapabilityError::Denied(refusal.to_string()))?;
    Ok(kind.to_string())
}

impl Host for HostState {
    async fn get(&mut self, kind: String, namespace: String, name: String) -> Result<String, CapabilityError> {
        let started = self.begin_host_call();
        let caps = self.caps.clone();
        let result = match caps.kube_for("get", &kind, &namespace) {
            Ok(api) => api.get(&kind, &namespace, &name).await,
            Err(e) => Err(e),
        };
        self.end_host_call(started);
        result
    }

    async fn list(&mut self, kind: String, namespace: String, selector: String) -> Result<Vec<String>, CapabilityError> {
        let started = self.begin_host_call();
        let caps = self.caps.clone();
        let result = match caps.kube_for("list", &kind, &namespace) {
            Ok(api) => api.list(&kind, &namespace, &selector).await,
            Err(e) => Err(e),
        };
        self.end_host_call(started);
        result
    }

    async fn create(&mut self, namespace: String, body: String) -> Result<String, CapabilityError> {
        let started = self.begin_host_call();
        let caps = self.caps.clone();
        let result = match check_create(&caps, &namespace, &body).and_then(|kind| caps.kube_for("create", &kind, &namespace)) {
            Ok(api) => api.create(&namespace, &body).await,
            Err(e) => Err(e),
        };
        self.end_host_call(started);
        result
    }

    async fn delete(&mut self, kind: String, namespace: String, name: String) -> Result<(), CapabilityError> {
        let started = self.begin_host_call();
        let caps = self.caps.clone();
        let result = match caps.kube_for("delete", &kind, &namespace) {
            Ok(api) => api.delete(&kind, &namespace, &name).await,
            Err(e) => Err(e),
        };
        self.end_host_call(started);
        result
    }
}

/// The Kubernetes backend's operations serve the capability; the grant was checked above.
impl KubeApi for crate::backend::kubernetes::KubeOps {
    fn get<'a>(&'a self, kind: &'a str, namespace: &'a str, name: &'a str) -> KubeFuture<'a, String> {
        Box::pin(async move { self.get(kind, namespace, name).await.map(|v| v.to_string()).map_err(ops_error) })
    }

    fn list<'a>(&'a self, kind: &'a str, namespace: &'a str, selector: &'a str) -> KubeFuture<'a, Vec<String>> {
        Box::pin(async move {
            let items = self.list(kind, namespace, selector).await.map_err(ops_error)?;
            Ok(items.iter().map(|v| v.to_string()).collect())
        })
    }

    fn create<'a>(&'a self, namespace: &'a str, body: &'a str) -> KubeFuture<'a, String> {
        Box::pin(async move {
            let body = serde_json::from_str(body).map_err(|e| CapabilityError::Failed(format!("kubernetes.create: body is not JSON: {e}")))?;
            self.create(namespace, body).await.map(|v| v.to_string()).map_err(ops_error)
        })
    }

    fn delete<'a>(&'a self, kind: &'a str, namespace: &'a str, name: &'a str) -> KubeFuture<'a, ()> {
        Box::pin(async move { self.delete(kind, namespace, name).await.map_err(ops_error) })
    }
}

fn ops_error(error: crate::backend::kubernetes::OpsError) -> CapabilityError {
    use crate::backend::kubernetes::OpsError;
    match error {
        OpsError::NotFound(m) => CapabilityError::NotFound(m),
        OpsError::Failed(m) => CapabilityError::Failed(m),
    }
}
