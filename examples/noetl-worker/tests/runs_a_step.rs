//! The example worker as a real process: upstream's registry, our script tool, a real step.

use std::process::Command;

use serde_json::Value;

fn worker(args: &[&str]) -> (Option<i32>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_noetl-worker"))
        .args(args)
        .output()
        .unwrap();
    let result = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), result)
}

#[test]
fn runs_the_example_step_through_upstreams_registry() {
    let step = concat!(env!("CARGO_MANIFEST_DIR"), "/step.yaml");
    let (code, result) = worker(&[step]);
    assert_eq!(code, Some(0), "{result:#}");
    assert_eq!(result["status"], "success");
    assert_eq!(
        result["data"]["result"],
        serde_json::json!({"greeting": "hello example"})
    );
    assert_eq!(result["exit_code"], 0);
}

#[test]
fn a_refused_config_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("tool.yaml");
    std::fs::write(&step, "kind: script\nscript: {type: inline, content: 'print(1)'}\njob: {image: python:3.11-slim, backof_limit: 1}\n").unwrap();
    let (code, result) = worker(&[step.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{result:#}");
    assert!(
        result["error"]
            .as_str()
            .unwrap()
            .contains("tool.job.backof_limit"),
        "{result:#}"
    );
}
