//! The Kubernetes Pod Security Standards (<https://kubernetes.io/docs/concepts/security/pod-security-standards/>),
//! checked by the host on a pod spec before it creates anything, so a plugin gets no pod
//! past its policy even in a namespace whose admission does not enforce them.
//!
//! The spec is checked as JSON, exactly as it will be sent: nothing a typed model would drop
//! (an unknown field, a field of a newer API version) can slip past. A field that must be
//! unset or `false` is a violation with any other value, so a mistyped value is refused here
//! rather than trusted.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod baseline;
mod restricted;
#[cfg(test)]
mod tests;

/// A Pod Security Standards level, from the most open to the most locked down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No restriction at all: only by an explicit grant.
    Privileged,
    /// Prevents known privilege escalations (host namespaces, privileged containers, ...).
    Baseline,
    /// Baseline plus current pod hardening (non-root, no escalation, drop ALL, seccomp).
    #[default]
    Restricted,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        })
    }
}

/// One field of a pod spec that breaks a rule of a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the field from the manifest's root (`spec.template.spec.hostNetwork`).
    pub field: String,
    /// The standard's name of the control (`Host Namespaces`).
    pub control: &'static str,
    /// The level whose rule it breaks.
    pub level: Level,
    /// What is wrong and what the rule allows.
    pub detail: String,
}

impl Violation {
    /// The most locked-down level that allows the field as it is.
    pub fn allowed_by(&self) -> Level {
        match self.level {
            Level::Restricted => Level::Baseline,
            _ => Level::Privileged,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({} rule \"{}\")", self.field, self.detail, self.level, self.control)
    }
}

const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// Every violation of `level` in `pod` (a PodSpec as JSON) whose path from the manifest's
/// root is `at`; `metadata` is the pod's (or pod template's) metadata, for the AppArmor
/// annotations. `privileged` allows everything.
pub fn check(pod: &Value, metadata: Option<&Value>, at: &str, level: Level) -> Vec<Violation> {
    let mut found = Found { at, violations: Vec::new() };
    if level >= Level::Baseline {
        baseline::check(pod, metadata, &mut found);
    }
    if level >= Level::Restricted {
        restricted::check(pod, &mut found);
    }
    found.violations
}

struct Found<'a> {
    at: &'a str,
    violations: Vec<Violation>,
}

impl Found<'_> {
    fn push(&mut self, field: &str, control: &'static str, level: Level, detail: impl Into<String>) {
        let field = if field.is_empty() { self.at.to_string() } else { format!("{}.{field}", self.at) };
        self.violations.push(Violation { field, control, level, detail: detail.into() });
    }

    /// `value` at `field` must be absent, `null` or `false`.
    fn unset_or_false(&mut self, value: Option<&Value>, field: &str, control: &'static str, level: Level) {
        if let Some(v) = value.filter(|v| !v.is_null() && *v != &Value::Bool(false)) {
            self.push(field, control, level, format!("is {v}; it must be unset or false"));
        }
    }
}

/// `(path, container)` of every container, init container and ephemeral container.
fn containers(pod: &Value) -> impl Iterator<Item = (String, &Value)> {
    CONTAINER_LISTS
        .iter()
        .flat_map(move |list| items(pod.get(*list)).enumerate().map(move |(i, c)| (format!("{list}[{i}]"), c)))
}

fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

/// The pod's and each container's security context, with their paths.
fn security_contexts(pod: &Value) -> impl Iterator<Item = (String, &Value)> {
    let pod_level = pod.get("securityContext").map(|sc| ("securityContext".to_string(), sc));
    let containers =
        containers(pod).filter_map(|(path, c)| Some((format!("{path}.securityContext"), c.get("securityContext")?)));
    pod_level.into_iter().chain(containers)
}
