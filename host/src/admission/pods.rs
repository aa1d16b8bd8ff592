//! The checks on one pod spec: the granted Pod Security Standards level, and our own rule
//! beyond the standard: a pod runs as a granted ServiceAccount (or the namespace's
//! `default`) and mounts no ServiceAccount token unless its account is granted.

use serde_json::Value;

use crate::pod_security::{self, Level};

/// A pod spec inside an object, with its metadata and its path from the object's root.
pub struct PodAt<'a> {
    pub spec: &'a Value,
    pub metadata: Option<&'a Value>,
    pub at: &'static str,
}

/// Where each kind that carries a pod keeps its pod template: (kind, template pointer,
/// spec path). Kinds the host cannot create today are listed too, so that a kind added to
/// the `kubernetes` capability is covered from the start.
const POD_TEMPLATES: &[(&str, &str, &str)] = &[
    ("Pod", "", "spec"),
    ("Job", "/spec/template", "spec.template.spec"),
    ("CronJob", "/spec/jobTemplate/spec/template", "spec.jobTemplate.spec.template.spec"),
    ("Deployment", "/spec/template", "spec.template.spec"),
    ("ReplicaSet", "/spec/template", "spec.template.spec"),
    ("StatefulSet", "/spec/template", "spec.template.spec"),
    ("DaemonSet", "/spec/template", "spec.template.spec"),
    ("ReplicationController", "/spec/template", "spec.template.spec"),
    ("PodTemplate", "/template", "template.spec"),
];

/// The pod spec of `body` when its `kind` carries one and it is there.
pub fn pod_of<'a>(body: &'a Value, kind: &str) -> Option<PodAt<'a>> {
    let (_, template, at) = POD_TEMPLATES.iter().find(|(k, _, _)| *k == kind)?;
    let template = body.pointer(template)?;
    Some(PodAt { spec: template.get("spec").filter(|s| !s.is_null())?, metadata: template.get("metadata"), at })
}

/// Every problem of `pod` (in `object`, e.g. `Job "x"`) under `level` and `accounts`, each
/// naming the policy key of plugin `plugin` that would allow it.
pub fn check(plugin: &str, level: Level, accounts: &[String], object: &str, pod: &PodAt) -> Vec<String> {
    let mut problems: Vec<String> = pod_security::check(pod.spec, pod.metadata, pod.at, level)
        .into_iter()
        .map(|v| {
            format!(
                "{object} {v}; the grant allows pod_security {level}: to allow this, set \
                 plugins.{plugin}.jobs.pod_security: {} in the policy file",
                v.allowed_by()
            )
        })
        .collect();
    let granted = |account: &str| accounts.iter().any(|a| a == account);
    let field = |name: &str| format!("{}.{name}", pod.at);
    let own = |key: &str| pod.spec.get(key).filter(|v| !v.is_null());
    let account = match (own("serviceAccountName"), own("serviceAccount")) {
        (Some(name), Some(legacy)) if name != legacy => {
            problems.push(format!(
                "{object} {}: is {name} but the deprecated {} is {legacy}; set only serviceAccountName",
                field("serviceAccountName"),
                field("serviceAccount")
            ));
            None
        }
        (Some(name), _) | (None, Some(name)) => Some(name.as_str().unwrap_or_default()),
        (None, None) => None,
    };
    if let Some(account) = account.filter(|a| *a != "default" && !granted(a)) {
        problems.push(format!(
            "{object} {}: runs as ServiceAccount `{account}`, which the grant does not list; to allow it, add \
             `{account}` to plugins.{plugin}.jobs.service_accounts in the policy file",
            field("serviceAccountName")
        ));
    }
    let account = account.unwrap_or("default");
    if !granted(account) {
        for token in tokens(pod, account) {
            problems.push(format!(
                "{object} {token}, but no ServiceAccount token is mounted unless granted; remove it, or to allow \
                 it add `{account}` to plugins.{plugin}.jobs.service_accounts in the policy file"
            ));
        }
    }
    problems
}

/// Where `pod` would mount a token of `account`: automounting (unless the pod turns it off:
/// unset leaves it to the ServiceAccount, which mounts by default) and projected
/// `serviceAccountToken` volumes.
fn tokens(pod: &PodAt, account: &str) -> Vec<String> {
    let mut found = Vec::new();
    let automount = pod.spec.get("automountServiceAccountToken").filter(|v| !v.is_null());
    if automount != Some(&Value::Bool(false)) {
        let is = automount.map_or("unset".to_string(), Value::to_string);
        found.push(format!(
            "{}.automountServiceAccountToken: is {is}, so the pod would mount the token of ServiceAccount \
             `{account}` (set it to false)",
            pod.at
        ));
    }
    let volumes = pod.spec.get("volumes").and_then(Value::as_array).into_iter().flatten();
    for (i, volume) in volumes.enumerate() {
        let sources = volume.pointer("/projected/sources").and_then(Value::as_array).into_iter().flatten();
        for (j, _) in sources.enumerate().filter(|(_, s)| s.get("serviceAccountToken").is_some_and(|t| !t.is_null())) {
            found.push(format!(
                "{}.volumes[{i}].projected.sources[{j}].serviceAccountToken: projects the token of ServiceAccount \
                 `{account}` into the pod",
                pod.at
            ));
        }
    }
    found
}
