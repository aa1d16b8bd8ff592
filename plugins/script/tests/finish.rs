//! The response for each way a job can end (spec "Response").

mod common;

use noetl_plugin_script::{JobOutcome, JobStatus, finish};
use serde_json::{Value, json};

fn config(timeout: u32) -> Value {
    json!({"kind": "script", "script": {"type": "inline", "content": "print(1)"}, "job": {"timeout": timeout}})
}

fn outcome(status: JobStatus) -> JobOutcome {
    JobOutcome {
        status,
        job_name: "noetl-script-abc123-xyz78".into(),
        namespace: "noetl".into(),
        pod_name: Some("noetl-script-abc123-xyz78-abcde".into()),
        execution_seconds: 45.23,
        succeeded: 0,
        failed: 0,
        exit_code: None,
        reason: None,
        message: None,
        output: String::new(),
        stderr: None,
        output_truncated: false,
    }
}

fn respond(outcome: &JobOutcome) -> Value {
    finish(&config(60), &common::context("s"), outcome)
}

#[test]
fn success_has_the_spec_shape_and_the_parsed_result() {
    let outcome = JobOutcome {
        succeeded: 1,
        exit_code: Some(0),
        output: "starting\n{\"result\": \"success\", \"count\": 100}\n\n".into(),
        ..outcome(JobStatus::Completed)
    };
    assert_eq!(
        respond(&outcome),
        json!({
            "status": "success",
            "data": {
                "status": "completed",
                "job_name": "noetl-script-abc123-xyz78",
                "namespace": "noetl",
                "pod_name": "noetl-script-abc123-xyz78-abcde",
                "execution_time": 45.23,
                "output": "starting\n{\"result\": \"success\", \"count\": 100}\n\n",
                "succeeded": 1,
                "failed": 0,
                "exit_code": 0,
                "result": {"result": "success", "count": 100}
            }
        })
    );
}

#[test]
fn output_that_does_not_end_in_json_has_no_result() {
    let outcome = JobOutcome {
        succeeded: 1,
        exit_code: Some(0),
        output: "{\"a\": 1}\nComputation complete: (10000,)\n".into(),
        ..outcome(JobStatus::Completed)
    };
    let response = respond(&outcome);
    assert_eq!(response["status"], "success");
    assert!(response["data"].get("result").is_none());
    assert!(response.get("error").is_none());
}

#[test]
fn truncated_output_is_flagged() {
    let outcome = JobOutcome {
        succeeded: 1,
        exit_code: Some(0),
        output: "…tail\n[1, 2]".into(),
        output_truncated: true,
        ..outcome(JobStatus::Completed)
    };
    let response = respond(&outcome);
    assert_eq!(response["data"]["output_truncated"], true);
    assert_eq!(response["data"]["result"], json!([1, 2]));
}

#[test]
fn a_failed_script_reports_its_real_exit_code_in_the_spec_wording() {
    let traceback = "Traceback (most recent call last):\n  File \"/scripts/script.py\", line 1\nZeroDivisionError: division by zero";
    let outcome = JobOutcome {
        failed: 1,
        exit_code: Some(3),
        reason: Some("BackoffLimitExceeded".into()),
        output: traceback.into(),
        stderr: Some(traceback.into()),
        ..outcome(JobStatus::Failed)
    };
    let response = respond(&outcome);
    assert_eq!(response["status"], "error");
    assert_eq!(response["error"], "Job failed with 1 failures");
    assert_eq!(response["data"]["status"], "failed");
    assert_eq!(response["data"]["exit_code"], 3);
    assert_eq!(response["data"]["output"], traceback);
    assert_eq!(response["data"]["stderr"], traceback);
    assert_eq!(response["data"]["reason"], "BackoffLimitExceeded");
}

#[test]
fn a_killed_script_names_the_reason() {
    let outcome = JobOutcome {
        failed: 4,
        exit_code: Some(137),
        reason: Some("OOMKilled".into()),
        ..outcome(JobStatus::Failed)
    };
    let response = respond(&outcome);
    assert_eq!(response["error"], "Job failed with 4 failures (OOMKilled)");
    assert_eq!(response["data"]["exit_code"], 137);
}

#[test]
fn a_failed_install_is_not_blamed_on_the_script() {
    let outcome = JobOutcome {
        failed: 1,
        exit_code: Some(1),
        reason: Some("DependencyInstallFailed".into()),
        stderr: Some(
            "Collecting nopackage\nERROR: No matching distribution found for nopackage".into(),
        ),
        ..outcome(JobStatus::Failed)
    };
    let response = respond(&outcome);
    assert_eq!(response["status"], "error");
    assert_eq!(
        response["error"],
        "dependency install failed (exit 1): Collecting nopackage\nERROR: No matching distribution found for nopackage"
    );
    assert_eq!(response["data"]["reason"], "DependencyInstallFailed");
}

#[test]
fn a_timeout_reports_the_configured_timeout() {
    let outcome = JobOutcome {
        execution_seconds: 61.7,
        reason: Some("DeadlineExceeded".into()),
        output: "partial".into(),
        ..outcome(JobStatus::Timeout)
    };
    let response = respond(&outcome);
    assert_eq!(response["status"], "error");
    assert_eq!(response["error"], "Job timed out after 60s");
    assert_eq!(response["data"]["status"], "timeout");
    assert_eq!(response["data"]["execution_time"], 60.0);
    assert_eq!(response["data"]["output"], "partial");
}

#[test]
fn a_pod_that_never_started_says_why() {
    let outcome = JobOutcome {
        pod_name: None,
        execution_seconds: 12.0,
        reason: Some("ImagePullBackOff".into()),
        message: Some("Back-off pulling image \"python:3.99\"".into()),
        ..outcome(JobStatus::StartFailed)
    };
    let response = respond(&outcome);
    assert_eq!(response["status"], "error");
    assert_eq!(
        response["error"],
        "pod could not start: ImagePullBackOff: Back-off pulling image \"python:3.99\""
    );
    assert_eq!(response["data"]["status"], "start_failed");
    assert_eq!(response["data"]["pod_name"], Value::Null);
    assert_eq!(response["data"]["exit_code"], Value::Null);
    assert_eq!(
        response["data"]["message"],
        "Back-off pulling image \"python:3.99\""
    );
}

#[test]
fn outcome_json_matches_the_host_shape() {
    let outcome = JobOutcome {
        exit_code: Some(0),
        ..outcome(JobStatus::StartFailed)
    };
    let value = serde_json::to_value(&outcome).unwrap();
    assert_eq!(value["status"], "start_failed");
    let back: JobOutcome = serde_json::from_value(value).unwrap();
    assert_eq!(back, outcome);
}
