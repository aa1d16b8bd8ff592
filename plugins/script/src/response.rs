//! The tool response (spec "Response"): shaped from what the host observed. The host adds
//! `duration_ms`.

use serde_json::{Map, Value, json};

use noetl_protocol::conventions::REASON_INSTALL_FAILED;
use noetl_protocol::{JobOutcome, JobStatus};

use crate::config;
use crate::context::PlanContext;

/// Reasons that only restate "the Job failed"; the spec's wording already says that.
const GENERIC_REASONS: [&str; 3] = ["BackoffLimitExceeded", "Error", "PodFailurePolicy"];

/// Build the response JSON for `outcome`. Never fails: a response must reach the caller.
pub fn finish(config: &Value, _context: &PlanContext, outcome: &JobOutcome) -> Value {
    let timeout = configured_timeout(config);
    let execution_time = match outcome.status {
        JobStatus::Timeout => timeout.map_or(outcome.execution_seconds, f64::from),
        _ => outcome.execution_seconds,
    };
    let mut data = Map::new();
    data.insert("status".into(), json!(outcome.status));
    data.insert("job_name".into(), json!(outcome.job_name));
    data.insert("namespace".into(), json!(outcome.namespace));
    data.insert("pod_name".into(), json!(outcome.pod_name));
    data.insert(
        "execution_time".into(),
        json!((execution_time * 1000.0).round() / 1000.0),
    );
    data.insert("output".into(), json!(outcome.output));
    data.insert("succeeded".into(), json!(outcome.succeeded));
    data.insert("failed".into(), json!(outcome.failed));
    data.insert("exit_code".into(), json!(outcome.exit_code));
    if let Some(result) = last_json_line(&outcome.output) {
        data.insert("result".into(), result);
    }
    if outcome.output_truncated {
        data.insert("output_truncated".into(), json!(true));
    }
    for (key, value) in [
        ("reason", &outcome.reason),
        ("message", &outcome.message),
        ("stderr", &outcome.stderr),
    ] {
        if let Some(value) = value {
            data.insert(key.into(), json!(value));
        }
    }
    let mut response = Map::new();
    let error = job_error(outcome, timeout.unwrap_or(execution_time.round() as u32));
    response.insert(
        "status".into(),
        json!(if error.is_none() { "success" } else { "error" }),
    );
    response.insert("data".into(), Value::Object(data));
    if let Some(error) = error {
        response.insert("error".into(), json!(error));
    }
    Value::Object(response)
}

/// The step's `job.timeout` (default 600); `None` if the config no longer parses, which
/// only happens when the host hands back a config other than the one it planned.
fn configured_timeout(config: &Value) -> Option<u32> {
    config::parse(config).ok().map(|config| config.job.timeout)
}

/// Why the job did not succeed, in the spec's words (`None` when it completed);
/// `timeout` is the configured one in seconds. Shared by the tools built on this one.
pub fn job_error(outcome: &JobOutcome, timeout: u32) -> Option<String> {
    let reason = outcome.reason.as_deref();
    let detail = || {
        outcome
            .message
            .clone()
            .or_else(|| outcome.stderr.clone())
            .unwrap_or_else(|| outcome.output.clone())
    };
    match outcome.status {
        JobStatus::Completed => None,
        JobStatus::Failed if reason == Some(REASON_INSTALL_FAILED) => {
            let code = outcome
                .exit_code
                .map_or_else(|| "unknown".to_owned(), |code| code.to_string());
            Some(format!(
                "dependency install failed (exit {code}): {}",
                last_lines(&detail(), 5)
            ))
        }
        JobStatus::Failed => {
            let base = format!("Job failed with {} failures", outcome.failed);
            Some(match reason {
                Some(reason) if !GENERIC_REASONS.contains(&reason) => format!("{base} ({reason})"),
                _ => base,
            })
        }
        JobStatus::Timeout => Some(format!("Job timed out after {timeout}s")),
        JobStatus::StartFailed => {
            let reason = reason.unwrap_or("unknown reason");
            Some(match &outcome.message {
                Some(message) => format!("pod could not start: {reason}: {message}"),
                None => format!("pod could not start: {reason}"),
            })
        }
    }
}

/// The documented practice is "print the result as JSON on stdout": the last non-empty
/// line, when it parses, is that result.
fn last_json_line(output: &str) -> Option<Value> {
    let line = output
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())?;
    serde_json::from_str(line).ok()
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
