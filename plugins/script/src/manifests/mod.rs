//! The job bundle: ConfigMap, Secret (only with env), Job last, built with k8s-openapi
//! types so every field name and shape is the API's own.

mod config_map;
mod job;
mod metadata;
mod secret;

use serde::Serialize;

pub use noetl_protocol::{JobBundle, Manifest};

use crate::config::ToolConfig;
use crate::context::PlanContext;
use crate::naming::JobNames;
use metadata::Stamp;

/// The bundle for `config`; its objects are labelled `noetl.io/tool: {tool}` (`script`,
/// or the tool that generated the script, e.g. `python`).
pub fn bundle(
    tool: &str,
    config: &ToolConfig,
    script: &str,
    names: &JobNames,
    context: &PlanContext,
) -> JobBundle {
    let stamp = Stamp::new(context, tool);
    let namespace = &config.job.namespace;
    let config_map_name = names.script_config_map();
    let config_map = config_map::build(
        &config_map_name,
        namespace,
        &stamp,
        config.runtime.script_file(),
        script,
        &config.args_json,
    );
    let mut manifests = vec![manifest("ConfigMap", &config_map_name, &config_map)];
    if !config.job.env.is_empty() {
        let secret_name = names.env_secret();
        manifests.push(manifest(
            "Secret",
            &secret_name,
            &secret::build(&secret_name, namespace, &stamp, &config.job.env),
        ));
    }
    manifests.push(manifest(
        "Job",
        &names.job,
        &job::build(&config.job, config.runtime, names, &stamp),
    ));
    JobBundle {
        namespace: namespace.clone(),
        job_name: names.job.clone(),
        manifests,
        timeout_seconds: config.job.timeout + crate::config::TIMEOUT_GRACE_SECONDS,
    }
}

fn manifest(kind: &str, name: &str, object: &impl Serialize) -> Manifest {
    let body = serde_json::to_value(object).expect("k8s-openapi objects always serialize");
    Manifest {
        kind: kind.into(),
        name: name.into(),
        body,
    }
}
