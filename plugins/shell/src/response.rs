//! The response, in upstream NoETL's shape for shell commands: `data` is
//! `{exit_code, stdout, stderr}`, and a non-zero exit is the step's error.

use serde_json::{Value, json};

use noetl_plugin_script::JobOutcome;
use noetl_plugin_script::generated::{outcome_error, process_response, timeout_seconds};

/// Build the response for `outcome`. Never fails: a response must reach the caller.
pub fn finish(config: &Value, outcome: &JobOutcome) -> Value {
    let captured = crate::config::captures(config);
    let (stdout, stderr) = if captured {
        (
            outcome.output.clone(),
            outcome.stderr.clone().unwrap_or_default(),
        )
    } else {
        (String::new(), String::new())
    };
    let error = outcome_error(outcome, timeout_seconds(config), |code| {
        format!("Command exited with code {code}")
    });
    let data = json!({"exit_code": outcome.exit_code, "stdout": stdout, "stderr": stderr});
    process_response(data, error, &stdout, &stderr, outcome)
}
