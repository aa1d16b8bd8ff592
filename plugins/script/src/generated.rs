//! Tools that run a script they write themselves (python's wrapper around the step's code,
//! shell's `sh -c`) plan through this crate's config checks and manifests, so their Jobs
//! get exactly the script tool's sandbox, limits and backends.
//!
//! The step's own fields map onto the script tool's job fields (`env` -> `job.env`,
//! `timeout_seconds` -> `job.timeout`, `dependencies` -> `job.install_dependencies`), and
//! errors found by the script tool's checks are reported under the field the author wrote.

use serde_json::{Map, Value, json};

use noetl_protocol::conventions::REASON_INSTALL_FAILED;
use noetl_protocol::fields::reader::ObjectReader;
use noetl_protocol::fields::{Errors, FieldError};
use noetl_protocol::{JobOutcome, JobStatus};

use crate::config::JobConfig;
use crate::context::PlanContext;
use crate::error::PlanError;
use crate::manifests::{self, JobBundle};
use crate::naming::JobNames;
use crate::runtime::Runtime;
use crate::source::{self, NoSources};

/// The step's fields that become job fields, as the author wrote them (not yet checked).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobFields<'a> {
    pub env: Option<&'a Value>,
    pub timeout_seconds: Option<&'a Value>,
    pub dependencies: Option<&'a Value>,
    /// `job`: the script tool's job fields (image, namespace, resources, ...).
    pub job: Option<&'a Value>,
}

/// (step field, script tool job field) pairs: the author sets the first, never the second.
const RENAMED: [(&str, &str); 3] = [
    ("env", "env"),
    ("timeout_seconds", "timeout"),
    ("dependencies", "install_dependencies"),
];

/// A script generated from a step, with where its parts came from for error paths.
#[derive(Debug, Clone)]
pub struct GeneratedScript<'a> {
    /// The tool kind, for the objects' `noetl.io/tool` label.
    pub tool: &'a str,
    pub runtime: Runtime,
    pub content: String,
    /// Where the content came from (`tool.code`), for size errors.
    pub content_field: &'a str,
    /// What the script receives as JSON text in its first argument.
    pub args: Value,
    /// Where the args came from (`tool.args` or `tool.input`).
    pub args_field: &'a str,
    pub fields: JobFields<'a>,
}

/// The job bundle running `script`. A one-shot tool does not retry a failed run unless
/// the step asks for it (`job.backoff_limit`); the script tool's default is 3.
pub fn plan(script: &GeneratedScript, context: &PlanContext) -> Result<JobBundle, PlanError> {
    let (job, mut misplaced) = job_object(&script.fields);
    let config = json!({
        "kind": "script",
        "script": {"type": "inline", "content": script.content, "runtime": script.runtime.name()},
        "args": script.args,
        "job": job,
    });
    let renames = renames(script);
    let parsed = crate::config::parse(&config).map_err(|errors| rename_all(errors, &renames));
    let config = match parsed {
        Ok(config) if misplaced.is_empty() => config,
        Ok(_) => return Err(PlanError::InvalidConfig(misplaced)),
        Err(mut errors) => {
            errors.append(&mut misplaced);
            return Err(PlanError::InvalidConfig(errors));
        }
    };
    let content =
        source::load(&config.script, &config.args_json, &NoSources).map_err(
            |error| match error {
                PlanError::InvalidConfig(errors) => {
                    PlanError::InvalidConfig(rename_all(errors, &renames))
                }
                other => other,
            },
        )?;
    let names = JobNames::new(&context.execution_id, context.name_seed);
    Ok(manifests::bundle(
        script.tool,
        &config,
        &content,
        &names,
        context,
    ))
}

/// The script tool's `job` object built from the step's fields, and the errors for job
/// fields the author set under `job` instead of under their own name.
fn job_object(fields: &JobFields) -> (Value, Vec<FieldError>) {
    let mut misplaced = Vec::new();
    let mut job = match fields.job {
        Some(Value::Object(map)) => map.clone(),
        // Not a mapping: passed on, so the script tool's check reports it at `tool.job`.
        Some(other) => return (other.clone(), misplaced),
        None => Map::new(),
    };
    let own = [fields.env, fields.timeout_seconds, fields.dependencies];
    for ((step_field, job_field), value) in RENAMED.into_iter().zip(own) {
        if job.contains_key(job_field) {
            misplaced.push(FieldError::new(
                format!("tool.job.{job_field}"),
                format!("this tool takes `{step_field}` at the top of the step, not under `job`"),
                format!("move it to tool.{step_field}"),
            ));
        }
        if let Some(value) = value {
            job.insert(job_field.into(), value.clone());
        }
    }
    job.entry("backoff_limit").or_insert(json!(0));
    (Value::Object(job), misplaced)
}

/// `cwd`: an absolute directory inside the sandbox (the generated script changes to it).
pub fn working_dir(tool: &ObjectReader, errors: &mut Errors) -> Option<String> {
    let cwd = tool.string("cwd", "/tmp", errors)?;
    if cwd.starts_with('/') {
        return Some(cwd);
    }
    errors.push(
        "tool.cwd",
        format!("{cwd:?} is not an absolute path inside the sandbox"),
        "write an absolute path, e.g. /tmp (the step's writable scratch directory)",
    );
    None
}

/// The step's timeout in seconds (`timeout_seconds`, else the script tool's default), for
/// messages; the config was checked by `plan` before the job ran.
pub fn timeout_seconds(config: &Value) -> u32 {
    config
        .get("timeout_seconds")
        .and_then(Value::as_u64)
        .and_then(|seconds| u32::try_from(seconds).ok())
        .unwrap_or_else(|| JobConfig::default().timeout)
}

/// Why the job did not succeed, in upstream NoETL's words where it has them: `exited(code)`
/// for the process's own non-zero exit, `Execution timed out after N seconds`; otherwise
/// the script tool's (dependency install failed, out of memory, pod could not start).
pub fn outcome_error(
    outcome: &JobOutcome,
    timeout: u32,
    exited: impl FnOnce(i32) -> String,
) -> Option<String> {
    let reason = outcome.reason.as_deref();
    match (outcome.status, outcome.exit_code) {
        (JobStatus::Completed, _) => None,
        (JobStatus::Timeout, _) => Some(format!("Execution timed out after {timeout} seconds")),
        (JobStatus::Failed, Some(code))
            if !matches!(reason, Some(REASON_INSTALL_FAILED) | Some("OOMKilled")) =>
        {
            Some(exited(code))
        }
        _ => crate::job_error(outcome, timeout),
    }
}

/// Upstream NoETL's result of a process tool: `status`, `data`, `error` (when failed),
/// `stdout`, `stderr`, `exit_code`; plus `output_truncated` when the host kept only the
/// tail of the output. The host adds `duration_ms`.
pub fn process_response(
    data: Value,
    error: Option<String>,
    stdout: &str,
    stderr: &str,
    outcome: &JobOutcome,
) -> Value {
    let mut response = Map::new();
    let status = if error.is_none() { "success" } else { "error" };
    response.insert("status".into(), json!(status));
    response.insert("data".into(), data);
    if let Some(error) = error {
        response.insert("error".into(), json!(error));
    }
    response.insert("stdout".into(), json!(stdout));
    response.insert("stderr".into(), json!(stderr));
    response.insert("exit_code".into(), json!(outcome.exit_code));
    if outcome.output_truncated {
        response.insert("output_truncated".into(), json!(true));
    }
    Value::Object(response)
}

/// The JSON Schema of `job` for these tools: the script tool's job fields without those
/// the step takes at its top level, and no retries by default.
pub fn job_schema() -> Value {
    let mut schema = crate::config_schema();
    let mut job = schema["properties"]["job"].take();
    if let Some(properties) = job["properties"].as_object_mut() {
        for (_, job_field) in RENAMED {
            properties.remove(job_field);
        }
        properties.insert(
            "backoff_limit".into(),
            json!({"type": "integer", "minimum": 0, "default": 0}),
        );
    }
    job
}

/// Script-tool field paths -> the paths the author wrote.
fn renames(script: &GeneratedScript) -> Vec<(String, String)> {
    RENAMED
        .iter()
        .map(|(step_field, job_field)| {
            (
                format!("tool.job.{job_field}"),
                format!("tool.{step_field}"),
            )
        })
        .chain([
            (
                "tool.script.content".to_owned(),
                script.content_field.to_owned(),
            ),
            ("tool.args".to_owned(), script.args_field.to_owned()),
        ])
        .collect()
}

fn rename_all(errors: Vec<FieldError>, renames: &[(String, String)]) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut error| {
            if let Some((from, to)) = renames
                .iter()
                .find(|(from, _)| is_under(&error.field, from))
            {
                error.field = format!("{to}{}", &error.field[from.len()..]);
            }
            error
        })
        .collect()
}

/// `tool.job.env.X` is under `tool.job.env`; `tool.job.environment` is not.
fn is_under(field: &str, prefix: &str) -> bool {
    field
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(fields: JobFields<'_>) -> GeneratedScript<'_> {
        GeneratedScript {
            tool: "python",
            runtime: Runtime::Python,
            content: "print(1)".into(),
            content_field: "tool.code",
            args: json!({"a": 1}),
            args_field: "tool.input",
            fields,
        }
    }

    fn errors(fields: JobFields<'_>) -> Vec<FieldError> {
        match plan(&script(fields), &PlanContext::new("e", "s").with_seed(1)) {
            Err(PlanError::InvalidConfig(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn step_fields_become_job_fields_and_no_retry_by_default() {
        let env = json!({"TOKEN": "t"});
        let timeout = json!(5);
        let deps = json!(["requests==2.32.3"]);
        let fields = JobFields {
            env: Some(&env),
            timeout_seconds: Some(&timeout),
            dependencies: Some(&deps),
            job: None,
        };
        let bundle = plan(&script(fields), &PlanContext::new("e", "s").with_seed(1)).unwrap();
        let job = &bundle.job().unwrap().body;
        assert_eq!(job["spec"]["activeDeadlineSeconds"], 5);
        assert_eq!(job["spec"]["backoffLimit"], 0);
        assert_eq!(job["metadata"]["labels"]["noetl.io/tool"], "python");
        let init = &job["spec"]["template"]["spec"]["initContainers"][0]["command"];
        assert_eq!(init.as_array().unwrap().last().unwrap(), "requests==2.32.3");
        assert!(bundle.manifests.iter().any(|m| m.kind == "Secret"));
    }

    #[test]
    fn errors_name_the_fields_the_author_wrote() {
        let env = json!({"HOME": "/x"});
        let timeout = json!(0);
        let job = json!({"timeout": 5, "imagee": "python:3.12"});
        let fields = JobFields {
            env: Some(&env),
            timeout_seconds: Some(&timeout),
            dependencies: None,
            job: Some(&job),
        };
        let paths: Vec<String> = errors(fields).into_iter().map(|e| e.field).collect();
        for expected in [
            "tool.env.HOME",
            "tool.timeout_seconds",
            "tool.job.imagee",
            "tool.job.timeout",
        ] {
            assert!(
                paths.iter().any(|p| p == expected),
                "{expected} missing from {paths:?}"
            );
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(is_under("tool.job.env.X", "tool.job.env"));
        assert!(is_under(
            "tool.job.install_dependencies[0]",
            "tool.job.install_dependencies"
        ));
        assert!(!is_under("tool.job.environment", "tool.job.env"));
    }
}
