//! A job bundle from a plugin is a request, not an order. Before anything is created, on
//! every backend, the host checks it against the plugin's job grant (`plugins.NAME.jobs` in
//! the policy): only ConfigMaps, Secrets and one Job; a granted namespace; pods that meet
//! the granted Pod Security Standards level, run as a granted ServiceAccount and mount no
//! token unless it is granted. Then it stamps its own labels on every object, so its watches
//! see every Job it runs whatever the plugin wrote. The `kubernetes` capability's `create`
//! runs the same pod checks on every kind that carries a pod spec.

mod pods;
mod shape;
mod stamp;

use std::fmt;

use serde_json::Value;

use crate::backend::JobBundle;
use crate::policy::JobGrant;

pub use shape::check_shape;
pub use stamp::{ANNOTATION_PLAYBOOK_SHA256, JobIdentity};

/// Why the host will not create what a plugin asked for: every problem found, each naming
/// the manifest, the field, the rule and the policy key that would allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub plugin: String,
    /// What was refused (`the job bundle`, `kubernetes.create of Pod "x"`).
    pub what: String,
    pub problems: Vec<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin `{}`: {} was refused before anything was created:", self.plugin, self.what)?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// `bundle` checked against `grant` (the plugin's [`crate::policy::Policy::job_grant`]) and
/// stamped with the host's labels for `identity`; or why it may not run.
pub fn admit(
    plugin: &str,
    grant: Option<&JobGrant>,
    identity: &JobIdentity,
    bundle: JobBundle,
) -> Result<JobBundle, Refusal> {
    let refuse = |problems: Vec<String>| Refusal { plugin: plugin.into(), what: "its job bundle".into(), problems };
    check_shape(&bundle).map_err(|problem| refuse(vec![problem]))?;
    let Some(grant) = grant else {
        return Err(refuse(vec![format!(
            "the policy gives plugin `{plugin}` no job grant, so none of its jobs may run; to allow them, add \
             plugins.{plugin}.jobs: {{namespaces: [{}]}} to the policy file",
            bundle.namespace
        )]));
    };
    let mut problems = Vec::new();
    if !grant.allows_namespace(&bundle.namespace) {
        problems.push(format!(
            "the job runs in namespace `{}`, outside the namespaces granted ([{}]); to allow it, add `{}` to \
             plugins.{plugin}.jobs.namespaces in the policy file",
            bundle.namespace,
            grant.namespaces.join(", "),
            bundle.namespace
        ));
    }
    let job = bundle.job().expect("check_shape found the Job");
    let object = format!("Job {:?}", job.name);
    match pods::pod_of(&job.body, "Job") {
        Some(pod) => problems.extend(pods::check(plugin, grant.pod_security, &grant.service_accounts, &object, &pod)),
        None => problems.push(format!("{object}: has no spec.template.spec, so it has no pod to run")),
    }
    if !problems.is_empty() {
        return Err(refuse(problems));
    }
    Ok(stamp::stamp(bundle, identity))
}

/// Checks an object the plugin asks the `kubernetes` capability to create: when its kind
/// carries a pod spec (Pod, Job, CronJob, Deployment, ...), the pod must meet the plugin's
/// job grant, or `restricted` with no ServiceAccount token when it has none (its
/// `kubernetes` grant already decides where it may create objects).
pub fn check_created_object(plugin: &str, grant: Option<&JobGrant>, body: &Value) -> Result<(), Refusal> {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(pod) = pods::pod_of(body, kind) else {
        return Ok(());
    };
    let name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let object = format!("{kind} {name:?}");
    let (level, accounts) = match grant {
        Some(grant) => (grant.pod_security, grant.service_accounts.as_slice()),
        None => (crate::pod_security::Level::Restricted, &[][..]),
    };
    let problems = pods::check(plugin, level, accounts, &object, &pod);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Refusal { plugin: plugin.into(), what: format!("kubernetes.create of {object}"), problems })
}

#[cfg(test)]
mod tests;
