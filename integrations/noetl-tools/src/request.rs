//! Upstream's `ToolConfig` and `ExecutionContext` as the host's step config, plan context
//! and template context (README, "Mapping").

use noetl_host::bindings::types::FieldError;
use noetl_tools::{ExecutionContext, ToolConfig};
use serde_json::{Map, Value, json};

use crate::legacy::{self, field_error};

/// The kind whose `job` takes `timeout` and `retry`, and whose legacy shape is translated.
const SCRIPT: &str = "script";

/// The step's `tool` object for the host: `kind` and the flattened config, with `input`
/// as `args` and, for `script`, `timeout` as `job.timeout` and `retry.max_retries` as
/// `job.backoff_limit` where the job does not set them. Returns the warnings to log.
pub fn step_config(config: &ToolConfig) -> Result<(Value, Vec<String>), Vec<FieldError>> {
    let mut step = match &config.config {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        _ => {
            return Err(vec![field_error(
                "tool",
                "is not a mapping",
                "write the tool config as a mapping of fields",
            )]);
        }
    };
    step.insert("kind".into(), json!(config.kind));
    if config.kind != SCRIPT {
        let mut warnings = Vec::new();
        if !step.contains_key("args")
            && let Some(input) = step.remove("input")
        {
            step.insert("args".into(), input);
        }
        for (key, given) in [
            ("timeout", config.timeout.is_some()),
            ("retry", config.retry.is_some()),
            ("auth", config.auth.is_some()),
        ] {
            if given {
                warnings.push(format!(
                    "tool.{key} is not used by the `{}` plugin and is ignored",
                    config.kind
                ));
            }
        }
        return Ok((Value::Object(step), warnings));
    }
    let mut warnings = legacy::translate(&mut step)?;
    if config.auth.is_some() {
        return Err(vec![field_error(
            "tool.auth",
            "the script tool takes no auth block",
            "give the script its credentials as environment variables: job.env: {NAME: \"{{ secrets.NAME }}\"}",
        )]);
    }
    let job = step.entry("job").or_insert_with(|| json!({}));
    let Value::Object(job) = job else {
        return Err(vec![field_error(
            "tool.job",
            "is not a mapping",
            "write job as a mapping, e.g. job: {image: python:3.11-slim}",
        )]);
    };
    if let Some(timeout) = config.timeout {
        fill(
            job,
            "timeout",
            json!(timeout),
            "tool.timeout",
            &mut warnings,
        );
    }
    if let Some(retry) = &config.retry {
        fill(
            job,
            "backoff_limit",
            json!(retry.max_retries),
            "tool.retry.max_retries",
            &mut warnings,
        );
    }
    Ok((Value::Object(step), warnings))
}

/// Sets `job.<key>` from the ToolConfig's `from` unless the job sets it; a job value that
/// differs wins, with a warning.
fn fill(
    job: &mut Map<String, Value>,
    key: &str,
    value: Value,
    from: &str,
    warnings: &mut Vec<String>,
) {
    match job.get(key) {
        None => {
            job.insert(key.into(), value);
        }
        Some(own) if *own != value => warnings.push(format!(
            "{from} ({value}) is ignored: tool.job.{key} ({own}) is given and wins"
        )),
        Some(_) => {}
    }
}

/// What the host and its plugins know of the call: `execution_id` (as text, the host's
/// labels and Job names use it), `step`, and upstream's `worker_id` / `command_id`.
pub fn plan_context(ctx: &ExecutionContext) -> Value {
    let mut context = json!({"execution_id": ctx.execution_id.to_string(), "step": ctx.step});
    for (key, value) in [
        ("worker_id", &ctx.worker_id),
        ("command_id", &ctx.command_id),
    ] {
        if let Some(value) = value {
            context[key] = json!(value);
        }
    }
    context
}

/// The names templates see: upstream's own `to_template_context()` (the variables, then
/// `execution_id`, `step`, `server_url`, `worker_id`, `command_id`). Secrets are not in
/// it: `{{ secrets.NAME }}` asks the call's secret provider.
pub fn template_context(ctx: &ExecutionContext) -> Map<String, Value> {
    ctx.to_template_context().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use noetl_tools::registry::RetryConfig;

    fn tool_config(kind: &str, mut config: Value) -> ToolConfig {
        config["kind"] = json!(kind);
        serde_json::from_value(config).unwrap()
    }

    #[test]
    fn timeout_and_retry_fill_the_job_where_it_is_silent() {
        let mut config = tool_config(
            "script",
            json!({"script": {"type": "inline", "content": "print(1)"}, "timeout": 30}),
        );
        config.retry = Some(RetryConfig {
            max_retries: 1,
            ..RetryConfig::default()
        });
        assert_eq!(
            config.timeout,
            Some(30),
            "upstream's ToolConfig takes `timeout` out of the flattened config"
        );
        let (step, warnings) = step_config(&config).unwrap();
        assert_eq!(step["job"], json!({"timeout": 30, "backoff_limit": 1}));
        assert!(warnings.is_empty());
    }

    #[test]
    fn the_jobs_own_timeout_wins_with_a_warning() {
        let config = tool_config(
            "script",
            json!({"script": {"type": "inline", "content": "x"}, "job": {"timeout": 5}, "timeout": 30}),
        );
        let (step, warnings) = step_config(&config).unwrap();
        assert_eq!(step["job"]["timeout"], 5);
        assert_eq!(
            warnings,
            ["tool.timeout (30) is ignored: tool.job.timeout (5) is given and wins"]
        );
    }

    #[test]
    fn auth_on_a_script_step_is_a_field_error() {
        let config = tool_config(
            "script",
            json!({"script": {"type": "inline", "content": "x"}, "auth": {"type": "bearer", "token": "t"}}),
        );
        let errors = step_config(&config).unwrap_err();
        assert_eq!(errors[0].field, "tool.auth");
        assert!(errors[0].fix.contains("job.env"));
    }

    #[test]
    fn the_plan_context_carries_upstreams_ids_as_text() {
        let ctx = ExecutionContext::new(42, "load", "http://server")
            .with_worker_id("w-1")
            .with_command_id("c-9");
        assert_eq!(
            plan_context(&ctx),
            json!({"execution_id": "42", "step": "load", "worker_id": "w-1", "command_id": "c-9"})
        );
    }
}
