//! What a job bundle is, by contract: ConfigMaps and Secrets, then exactly one Job, all in
//! the bundle's namespace, each manifest's body agreeing with its kind and name, no owner
//! references (the host sets those itself once the Job exists), and no ServiceAccount token
//! Secret (Kubernetes would fill it with a token of any account the plugin names, which a
//! pod could then mount as a plain secret volume).

use serde_json::Value;

use crate::backend::JobBundle;

/// Kinds a bundle may hold besides its one Job.
const SUPPORTING_KINDS: &[&str] = &["ConfigMap", "Secret"];
const SERVICE_ACCOUNT_TOKEN: &str = "kubernetes.io/service-account-token";

/// `Ok` when `bundle` has the contract's shape; otherwise the first problem, naming the
/// manifest.
pub fn check_shape(bundle: &JobBundle) -> Result<(), String> {
    let jobs = bundle.manifests.iter().filter(|m| m.kind == "Job").count();
    let last_is_job = bundle.manifests.last().is_some_and(|m| m.kind == "Job" && m.name == bundle.job_name);
    if jobs != 1 || !last_is_job {
        return Err(format!(
            "a job bundle holds ConfigMaps and Secrets, then exactly one Job named {:?} last; this one has {jobs} \
             Job manifest(s){}",
            bundle.job_name,
            if last_is_job { "" } else { " and does not end with that Job" }
        ));
    }
    for manifest in &bundle.manifests {
        let object = format!("{} {:?}", manifest.kind, manifest.name);
        if manifest.kind != "Job" && !SUPPORTING_KINDS.contains(&manifest.kind.as_str()) {
            return Err(format!(
                "{object}: a job bundle may hold only ConfigMap, Secret and one Job manifests, not a {}",
                manifest.kind
            ));
        }
        let meta = |key: &str| manifest.body.pointer(&format!("/metadata/{key}")).filter(|v| !v.is_null());
        let kind = manifest.body.get("kind").filter(|v| !v.is_null());
        if kind.is_some_and(|k| k.as_str() != Some(&manifest.kind)) {
            return Err(format!("{object}: its body says kind {}", kind.unwrap_or(&Value::Null)));
        }
        if meta("name").and_then(Value::as_str) != Some(&manifest.name) {
            return Err(format!(
                "{object}: its body's metadata.name is {}, not the manifest's name",
                meta("name").unwrap_or(&Value::Null)
            ));
        }
        if let Some(ns) = meta("namespace").filter(|ns| ns.as_str() != Some(&bundle.namespace)) {
            return Err(format!(
                "{object}: says metadata.namespace {ns} but the bundle targets namespace {:?}",
                bundle.namespace
            ));
        }
        if manifest.kind == "Secret" && manifest.body.get("type").and_then(Value::as_str) == Some(SERVICE_ACCOUNT_TOKEN)
        {
            return Err(format!(
                "{object}: is of type {SERVICE_ACCOUNT_TOKEN}, which Kubernetes fills with a ServiceAccount's token; \
                 a job bundle may not create one"
            ));
        }
        if meta("ownerReferences").is_some() {
            return Err(format!(
                "{object}: sets metadata.ownerReferences; the host sets owner references itself (supporting \
                 objects are owned by the Job)"
            ));
        }
    }
    Ok(())
}
