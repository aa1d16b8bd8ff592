//! `tool.job`: where and how the Job runs, with the spec's defaults.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use serde_json::Value;

use super::did_you_mean;
use super::reader::{Echo, ObjectReader, index, join};
use crate::error::Errors;
use crate::validate::quantity::{self, Resource};
use crate::validate::{image, names};

/// Seconds the host waits past `timeout` before its own backstop fires: long enough for
/// Kubernetes' `activeDeadlineSeconds` to fail the Job and for pods to stop within their
/// default 30 s termination grace, so the timeout is normally observed from the cluster.
pub const TIMEOUT_GRACE_SECONDS: u32 = 30;

/// `job.resources`: quantities by resource name (`cpu`, `memory`, `ephemeral-storage`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    pub image: String,
    pub namespace: String,
    /// Seconds; becomes `activeDeadlineSeconds`.
    pub timeout: u32,
    pub backoff_limit: i32,
    pub ttl_seconds_after_finished: i32,
    pub install_dependencies: Vec<String>,
    pub image_pull_policy: String,
    pub resources: Resources,
    /// Delivered through the `{job}-env` Secret.
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub service_account: Option<String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub image_pull_secrets: Vec<String>,
}

impl Default for JobConfig {
    /// The spec's defaults.
    fn default() -> Self {
        JobConfig {
            image: "python:3.11-slim".into(),
            namespace: "noetl".into(),
            timeout: 600,
            backoff_limit: 3,
            ttl_seconds_after_finished: 300,
            install_dependencies: Vec::new(),
            image_pull_policy: "IfNotPresent".into(),
            resources: Resources::default(),
            env: BTreeMap::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            service_account: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            image_pull_secrets: Vec::new(),
        }
    }
}

pub(crate) const FIELDS: [&str; 15] = [
    "image",
    "namespace",
    "timeout",
    "backoff_limit",
    "ttl_seconds_after_finished",
    "install_dependencies",
    "image_pull_policy",
    "resources",
    "env",
    "labels",
    "annotations",
    "service_account",
    "node_selector",
    "tolerations",
    "image_pull_secrets",
];
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
/// Env names the tool sets itself; a user value would silently shadow or be shadowed.
const RESERVED_ENV: [&str; 4] = ["NOETL_ARGS", "HOME", "PYTHONPATH", "NODE_PATH"];
const I32_MAX: i64 = i32::MAX as i64;

pub(super) fn parse(value: &Value, path: &str, errors: &mut Errors) -> Option<JobConfig> {
    let job = ObjectReader::open(value, path, &FIELDS, errors)?;
    let defaults = JobConfig::default();
    let image = job
        .string("image", "python:3.11-slim", errors)
        .filter(|image| errors.check(&job.path("image"), image::reference(image)));
    let namespace = job
        .string("namespace", "noetl", errors)
        .filter(|ns| errors.check(&job.path("namespace"), names::namespace(ns)));
    let timeout = job.integer(
        "timeout",
        1,
        i64::from(u32::MAX - TIMEOUT_GRACE_SECONDS),
        " of seconds",
        errors,
    );
    let backoff_limit = job.integer("backoff_limit", 0, I32_MAX, "", errors);
    let ttl = job.integer(
        "ttl_seconds_after_finished",
        0,
        I32_MAX,
        " of seconds",
        errors,
    );
    let pull_policy = job
        .string("image_pull_policy", "IfNotPresent", errors)
        .filter(|policy| {
            let known = PULL_POLICIES.contains(&policy.as_str());
            if !known {
                errors.push(
                    &job.path("image_pull_policy"),
                    format!("unknown image pull policy {policy:?}"),
                    did_you_mean::suggestion(policy, &PULL_POLICIES),
                );
            }
            known
        });
    let service_account = job.string("service_account", "my-service-account", errors);
    if let Some(name) = &service_account {
        errors.check(&job.path("service_account"), names::object_name(name));
    }
    let image_pull_secrets: Vec<String> = job
        .string_list("image_pull_secrets", "regcred", errors)
        .into_iter()
        .map(|(item_path, name)| {
            errors.check(&item_path, names::object_name(&name));
            name
        })
        .collect();
    let install_dependencies = job
        .string_list("install_dependencies", "pandas==2.2.3", errors)
        .into_iter()
        .map(|(_, spec)| spec)
        .collect();
    let resources = job
        .object("resources", &["requests", "limits"], errors)
        .map(|resources| parse_resources(&resources, errors))
        .unwrap_or_default();
    let env = job.string_map(
        "env",
        "API_URL: \"https://api.example.com\"",
        Echo::Never,
        errors,
    );
    for name in env.keys() {
        let field = job.path("env");
        if errors.check(&join(&field, name), names::env_var_name(name))
            && RESERVED_ENV.contains(&name.as_str())
        {
            errors.push(
                &join(&field, name),
                format!("{name} is set by the script tool itself"),
                "use another name; NOETL_ARGS, HOME, PYTHONPATH and NODE_PATH are reserved",
            );
        }
    }
    let labels = job.string_map("labels", "team: data", Echo::Values, errors);
    check_labels(&labels, &job.path("labels"), true, errors);
    let annotations = job.string_map(
        "annotations",
        "owner: \"data-team@example.com\"",
        Echo::Values,
        errors,
    );
    check_labels(&annotations, &job.path("annotations"), false, errors);
    let node_selector = job.string_map("node_selector", "disktype: ssd", Echo::Values, errors);
    check_labels(&node_selector, &job.path("node_selector"), true, errors);
    let tolerations = parse_tolerations(&job, errors);
    Some(JobConfig {
        image: image.unwrap_or(defaults.image),
        namespace: namespace.unwrap_or(defaults.namespace),
        // In range by the checks above, so the conversions cannot fail.
        timeout: timeout.map_or(defaults.timeout, |t| t as u32),
        backoff_limit: backoff_limit.map_or(defaults.backoff_limit, |b| b as i32),
        ttl_seconds_after_finished: ttl.map_or(defaults.ttl_seconds_after_finished, |t| t as i32),
        install_dependencies,
        image_pull_policy: pull_policy.unwrap_or(defaults.image_pull_policy),
        resources,
        env,
        labels,
        annotations,
        service_account,
        node_selector,
        tolerations,
        image_pull_secrets,
    })
}

/// Keys must be qualified names outside the tool's own `noetl.io/` space; label values
/// (not annotation values, which are free text) must be valid label values.
fn check_labels(
    map: &BTreeMap<String, String>,
    path: &str,
    values_are_labels: bool,
    errors: &mut Errors,
) {
    for (key, value) in map {
        let field = join(path, key);
        if !errors.check(&field, names::qualified_name(key)) {
            continue;
        }
        if key.starts_with("noetl.io/") || key == "app.kubernetes.io/managed-by" {
            errors.push(
                &field,
                format!("{key} is set by the script tool itself"),
                "use a key outside noetl.io/, e.g. example.com/team",
            );
        } else if values_are_labels {
            errors.check(&field, names::label_value(value));
        }
    }
}

fn parse_resources(resources: &ObjectReader, errors: &mut Errors) -> Resources {
    let mut read = |section: &str| -> BTreeMap<String, (String, f64)> {
        let Some(reader) = resources.object(section, &Resource::NAMES, errors) else {
            return BTreeMap::new();
        };
        Resource::NAMES
            .iter()
            .filter_map(|name| {
                let value = reader.get(name)?;
                let field = reader.path(name);
                // YAML `cpu: 2` arrives as a number; Kubernetes accepts it as the quantity "2".
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    other => {
                        errors.push(
                            &field,
                            format!(
                                "expected a quantity string, found {}",
                                super::reader::describe(other)
                            ),
                            "write a quantity such as \"500m\" or \"1Gi\"",
                        );
                        return None;
                    }
                };
                let resource = Resource::from_name(name).expect("listed resource");
                match quantity::parse(&text, resource) {
                    Ok(amount) => Some((name.to_string(), (text, amount))),
                    Err(invalid) => {
                        errors.invalid(&field, invalid);
                        None
                    }
                }
            })
            .collect()
    };
    let requests = read("requests");
    let limits = read("limits");
    // The API server refuses a request above its limit; say so at plan time.
    for (name, (text, amount)) in &requests {
        if let Some((limit_text, limit)) = limits.get(name)
            && amount > limit
        {
            errors.push(
                &join(&resources.path("requests"), name),
                format!("request {text} is larger than the limit {limit_text}"),
                format!(
                    "lower the request or raise {}",
                    join(&resources.path("limits"), name)
                ),
            );
        }
    }
    let texts = |map: BTreeMap<String, (String, f64)>| {
        map.into_iter()
            .map(|(name, (text, _))| (name, text))
            .collect()
    };
    Resources {
        requests: texts(requests),
        limits: texts(limits),
    }
}

const TOLERATION_FIELDS: [&str; 5] = ["key", "operator", "value", "effect", "tolerationSeconds"];
const OPERATORS: [&str; 2] = ["Exists", "Equal"];
const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Kubernetes toleration objects, checked with the API server's rules.
fn parse_tolerations(job: &ObjectReader, errors: &mut Errors) -> Vec<Toleration> {
    let Some(value) = job.get("tolerations") else {
        return Vec::new();
    };
    let path = job.path("tolerations");
    let Some(items) = value.as_array() else {
        errors.push(&path, format!("expected a list of tolerations, found {}", super::reader::describe(value)), "write a list, e.g. [{key: dedicated, operator: Equal, value: etl, effect: NoSchedule}]");
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| parse_toleration(item, &index(&path, i), errors))
        .collect()
}

fn parse_toleration(item: &Value, path: &str, errors: &mut Errors) -> Option<Toleration> {
    let toleration = ObjectReader::open(item, path, &TOLERATION_FIELDS, errors)?;
    let key = toleration.string("key", "dedicated", errors).filter(|key| {
        key.is_empty() || errors.check(&toleration.path("key"), names::qualified_name(key))
    });
    let operator = toleration.string("operator", "Equal", errors).filter(|op| {
        one_of(
            op,
            &OPERATORS,
            &toleration.path("operator"),
            "operator",
            errors,
        )
    });
    let value = toleration.string("value", "etl", errors);
    let effect = toleration
        .string("effect", "NoSchedule", errors)
        .filter(|effect| {
            effect.is_empty()
                || one_of(
                    effect,
                    &EFFECTS,
                    &toleration.path("effect"),
                    "effect",
                    errors,
                )
        });
    let seconds = toleration.integer(
        "tolerationSeconds",
        i64::MIN,
        i64::MAX,
        " of seconds",
        errors,
    );
    let exists = operator.as_deref() == Some("Exists");
    if exists && value.as_deref().is_some_and(|v| !v.is_empty()) {
        errors.push(
            &toleration.path("value"),
            "a toleration with operator Exists matches any value, so it takes none",
            "remove value, or use operator: Equal",
        );
    } else if !exists && let Some(v) = &value {
        errors.check(&toleration.path("value"), names::label_value(v));
    }
    // Only when key and operator were themselves valid: otherwise that error already says it.
    let given_but_invalid = |field: &str, parsed: bool| toleration.get(field).is_some() && !parsed;
    let key_empty =
        key.as_deref().is_none_or(str::is_empty) && !given_but_invalid("key", key.is_some());
    if key_empty && !exists && !given_but_invalid("operator", operator.is_some()) {
        errors.push(
            &toleration.path("operator"),
            "a toleration without a key must use operator Exists",
            "add a key, or set operator: Exists to tolerate every taint",
        );
    }
    if seconds.is_some() && effect.as_deref() != Some("NoExecute") {
        errors.push(
            &toleration.path("tolerationSeconds"),
            "tolerationSeconds only applies to effect NoExecute",
            "set effect: NoExecute, or remove tolerationSeconds",
        );
    }
    Some(Toleration {
        key,
        operator,
        value,
        effect: effect.filter(|e| !e.is_empty()),
        toleration_seconds: seconds,
    })
}

fn one_of(value: &str, allowed: &[&str], path: &str, what: &str, errors: &mut Errors) -> bool {
    let ok = allowed.contains(&value);
    if !ok {
        errors.push(
            path,
            format!("unknown {what} {value:?}"),
            did_you_mean::suggestion(value, allowed),
        );
    }
    ok
}
