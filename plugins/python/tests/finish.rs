//! Shaping responses from job outcomes: the value as `data`, upstream's messages for
//! exits and timeouts, Python's error with the traceback's last line first.

use noetl_plugin_python::finish;
use noetl_plugin_script::{JobOutcome, JobStatus};
use serde_json::{Value, json};

fn outcome(status: JobStatus, exit_code: Option<i32>, output: &str, stderr: &str) -> JobOutcome {
    JobOutcome {
        status,
        job_name: "noetl-script-exec-123-abcde".into(),
        namespace: "noetl".into(),
        pod_name: Some("p".into()),
        execution_seconds: 1.5,
        succeeded: u32::from(status == JobStatus::Completed),
        failed: u32::from(status != JobStatus::Completed),
        exit_code,
        reason: None,
        message: None,
        output: output.into(),
        stderr: Some(stderr.into()),
        output_truncated: false,
    }
}

fn config() -> Value {
    json!({"kind": "python", "code": "x", "timeout_seconds": 7})
}

#[test]
fn the_value_is_data_and_the_marked_line_leaves_stdout() {
    let response = finish(
        &config(),
        &outcome(
            JobStatus::Completed,
            Some(0),
            "log line\n\n@@__NOETL_RESULT__@@{\"n\": 2}\n",
            "",
        ),
    );
    assert_eq!(
        response,
        json!({"status": "success", "data": {"n": 2}, "stdout": "log line\n", "stderr": "", "exit_code": 0})
    );
}

#[test]
fn no_value_gives_stdout_and_stderr_as_data() {
    let response = finish(
        &config(),
        &outcome(
            JobStatus::Completed,
            Some(0),
            "hi\n\n@@__NOETL_RESULT__@@null\n",
            "warn\n",
        ),
    );
    assert_eq!(
        response["data"],
        json!({"stdout": "hi\n", "stderr": "warn\n"})
    );
}

#[test]
fn python_errors_lead_with_the_traceback_last_line() {
    let report = json!({"error": "ValueError: bad input", "traceback": "Traceback (most recent call last):\n  File \"<python step>\", line 1, in <module>\nValueError: bad input\n"});
    let output = format!("before\n@@__NOETL_ERROR__@@{report}\n");
    let response = finish(
        &config(),
        &outcome(JobStatus::Failed, Some(1), &output, "Traceback ..."),
    );
    let error = response["error"].as_str().unwrap();
    assert!(
        error.starts_with("ValueError: bad input\nTraceback (most recent call last):"),
        "{error}"
    );
    assert_eq!(response["status"], "error");
    assert_eq!(response["stdout"], "before");
}

#[test]
fn exits_and_timeouts_use_upstream_wording() {
    let exited = finish(&config(), &outcome(JobStatus::Failed, Some(3), "", ""));
    assert_eq!(exited["error"], "Python script exited with code 3");
    assert_eq!(exited["exit_code"], 3);
    let timed_out = finish(&config(), &outcome(JobStatus::Timeout, None, "", ""));
    assert_eq!(timed_out["error"], "Execution timed out after 7 seconds");
    let mut install = outcome(JobStatus::Failed, Some(1), "", "");
    install.reason = Some("DependencyInstallFailed".into());
    install.message = Some("ERROR: No matching distribution found for nopkg".into());
    let failed = finish(&config(), &install);
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .starts_with("dependency install failed (exit 1)"),
        "{failed}"
    );
}
