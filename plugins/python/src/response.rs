//! The response, in upstream NoETL's shape: the step's value as `data` (or
//! `{stdout, stderr}` when it returned none), `stdout` without the runner's marked line,
//! `stderr`, `exit_code`; Python's own error with the traceback's last line first.

use serde_json::{Value, json};

use noetl_plugin_script::JobOutcome;
use noetl_plugin_script::generated::{outcome_error, process_response, timeout_seconds};

use crate::wrapper::{ERROR_MARK, RESULT_MARK};

/// Build the response for `outcome`. Never fails: a response must reach the caller.
pub fn finish(config: &Value, outcome: &JobOutcome) -> Value {
    let (stdout, result) = take_marked(&outcome.output, RESULT_MARK);
    let (stdout, python_error) = take_marked(&stdout, ERROR_MARK);
    let stderr = outcome.stderr.clone().unwrap_or_default();
    let error = outcome_error(outcome, timeout_seconds(config), |code| match python_error
        .as_ref()
        .and_then(describe_python_error)
    {
        Some(text) => text,
        None => format!("Python script exited with code {code}"),
    });
    let data = match result {
        Some(value) if error.is_none() && !value.is_null() => value,
        _ => json!({"stdout": stdout, "stderr": stderr}),
    };
    process_response(data, error, &stdout, &stderr, outcome)
}

/// `ValueError: bad input` first, then the whole traceback.
fn describe_python_error(report: &Value) -> Option<String> {
    let last = report.get("error")?.as_str()?;
    let traceback = report
        .get("traceback")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(format!("{last}\n{}", traceback.trim_end()))
}

/// The output without its last line starting with `mark` (the runner writes it on a
/// line of its own, after a newline), and that line's JSON.
fn take_marked(output: &str, mark: &str) -> (String, Option<Value>) {
    let Some(at) = output.rfind(&format!("\n{mark}")) else {
        return (output.to_owned(), None);
    };
    let line_start = at + 1 + mark.len();
    let line_end = output[line_start..]
        .find('\n')
        .map_or(output.len(), |end| line_start + end);
    let value = serde_json::from_str(&output[line_start..line_end]).ok();
    let rest = output.get(line_end + 1..).unwrap_or_default();
    (format!("{}{rest}", &output[..at]), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marked_line_and_the_newline_before_it_are_removed() {
        let (stdout, value) = take_marked("hi\n\n@@__NOETL_RESULT__@@{\"a\": 1}\n", RESULT_MARK);
        assert_eq!(stdout, "hi\n");
        assert_eq!(value, Some(json!({"a": 1})));
        let (stdout, value) = take_marked("partial\n@@__NOETL_RESULT__@@null\n", RESULT_MARK);
        assert_eq!((stdout.as_str(), value), ("partial", Some(Value::Null)));
        assert_eq!(
            take_marked("no mark\n", RESULT_MARK),
            ("no mark\n".to_owned(), None)
        );
    }
}
