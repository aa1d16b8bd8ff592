//! The example worker as a real process: it embeds the host and runs a real step.

use std::process::Command;

use serde_json::Value;

fn worker(args: &[&str]) -> (Option<i32>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_noetl-worker-example")).args(args).output().unwrap();
    let response = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    });
    (output.status.code(), response)
}

#[test]
fn runs_the_default_python_step_on_the_local_backend() {
    let (code, response) = worker(&[]);
    assert_eq!(code, Some(0), "{response:#}");
    assert_eq!(response["status"], "success");
    assert_eq!(response["data"]["result"], serde_json::json!({"hello": "worker"}));
    assert_eq!(response["data"]["status"], "completed");
}

#[test]
fn an_invalid_step_is_refused_with_the_field_path() {
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("tool.yaml");
    std::fs::write(&step, "kind: script\nscript: {type: inline, content: 'print(1)'}\njob: {image: python:3.11-slim, backof_limit: 1}\n").unwrap();
    let (code, response) = worker(&[step.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{response:#}");
    assert_eq!(response["errors"][0]["field"], "tool.job.backof_limit");
}
