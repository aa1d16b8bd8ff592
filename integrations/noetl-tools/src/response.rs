//! The host's response and errors as upstream's `ToolResult` and `ToolError`, with the
//! call's secrets redacted from every string in them.

use noetl_host::execute::ExecError;
use noetl_host::redact::Redactor;
use noetl_tools::{ToolError, ToolResult, ToolStatus};
use serde_json::Value;

/// `response` (the spec's `status` / `data` / `error` / `duration_ms`) as a `ToolResult`:
/// `data` exactly the response's `data`; `exit_code`, `stdout` (the job's output) and
/// `stderr` copied out of it; `status` timeout when the job timed out.
pub fn tool_result(response: Value, redactor: &Redactor) -> ToolResult {
    let response = redactor.redact_json(response);
    let data = response.get("data").cloned();
    let field = |key: &str| data.as_ref().and_then(|d| d.get(key));
    let text = |key: &str| field(key).and_then(Value::as_str).map(str::to_owned);
    let mut result = match response.get("status").and_then(Value::as_str) {
        Some("success") => ToolResult::success(data.clone().unwrap_or(Value::Null)),
        _ => {
            let error = response
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the tool reported an error without a message");
            let mut result = ToolResult::error(error);
            result.data = data.clone();
            if text("status").as_deref() == Some("timeout") {
                result.status = ToolStatus::Timeout;
            }
            result
        }
    };
    result.exit_code = field("exit_code")
        .and_then(Value::as_i64)
        .and_then(|code| i32::try_from(code).ok());
    result.stdout = text("output");
    result.stderr = text("stderr");
    result.duration_ms = response.get("duration_ms").and_then(Value::as_u64);
    result
}

/// A call that produced no response: the step config is wrong (`Configuration`, as
/// upstream's own tools report it), or the plugin, the policy or the host failed.
pub fn tool_error(error: &ExecError, redactor: &Redactor) -> ToolError {
    let message = redactor.redact(&error.to_string()).into_owned();
    match error {
        ExecError::InvalidConfig { .. } | ExecError::UnknownTool(_) => {
            ToolError::Configuration(message)
        }
        _ => ToolError::ExecutionFailed(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_timed_out_job_is_a_timeout_with_the_spec_data() {
        let data = json!({"status": "timeout", "exit_code": null, "output": "partial", "execution_time": 2.0});
        let result = tool_result(
            json!({"status": "error", "error": "Job timed out", "data": data, "duration_ms": 2100}),
            &Redactor::new(),
        );
        assert_eq!(result.status, ToolStatus::Timeout);
        assert_eq!(result.data, Some(data));
        assert_eq!(result.error.as_deref(), Some("Job timed out"));
        assert_eq!(
            (
                result.exit_code,
                result.stdout.as_deref(),
                result.duration_ms
            ),
            (None, Some("partial"), Some(2100))
        );
    }

    #[test]
    fn secrets_are_redacted_from_data_and_error() {
        let redactor = Redactor::new();
        redactor.remember("canary-resp-51f0");
        let response = json!({"status": "error", "error": "bad canary-resp-51f0", "data": {"status": "failed", "exit_code": 3, "output": "canary-resp-51f0", "stderr": "e"}});
        let result = tool_result(response, &redactor);
        assert!(!format!("{result:?}").contains("canary-resp-51f0"));
        assert_eq!(
            (result.exit_code, result.stderr.as_deref()),
            (Some(3), Some("e"))
        );
        assert_eq!(result.status, ToolStatus::Error);
    }
}
