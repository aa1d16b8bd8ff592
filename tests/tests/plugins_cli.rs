//! The CLI as a worker or a person uses it: real `noetl-host` processes.

use std::process::Output;

use noetl_tests::{guests, run_host as host};
use serde_json::Value;

fn json_out(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn plugins_list_shows_builtins_third_party_and_rejected() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guests::JSON_TRANSFORM, dir.path().join("json-transform.wasm")).unwrap();
    std::fs::copy(guests::FUTURE_CONTRACT, dir.path().join("future.wasm")).unwrap();
    std::fs::copy(guests::HOSTILE, dir.path().join("hostile.wasm")).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let output = host(&["plugins", "list", "--output", "json", "--plugin-dir", dir_arg], "", cache.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listing = json_out(&output);
    let names: Vec<&str> = listing["plugins"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in ["script", "json-transform", "hostile", "template"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let transform = listing["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "json-transform").unwrap();
    assert_eq!(transform["contract"], "noetl:plugin@0.2.0");
    assert_eq!(transform["version"], "0.1.0");
    // Requested capabilities are what the component imports: none for a pure transform,
    // the three it calls for the hostile plugin.
    assert_eq!(transform["capabilities"], serde_json::json!([]));
    let hostile = listing["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile").unwrap();
    let mut caps: Vec<&str> = hostile["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    caps.sort();
    assert_eq!(caps, ["fetch", "files", "http", "kubernetes"], "{hostile}");
    let rejected = listing["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0]["reason"].as_str().unwrap().contains("noetl:plugin@1.0.0"), "{rejected:?}");
}

#[test]
fn exec_runs_a_third_party_tool_over_stdio() {
    let cache = tempfile::tempdir().unwrap();
    let request = r#"{"config": {"input": {"items": [{"ok": true, "n": 1}, {"ok": false, "n": 2}], "count": 2},
                                 "where": {"path": "items", "field": "ok", "equals": true},
                                 "rename": {"count": "total"}},
                      "context": {"execution_id": "e1", "step": "reshape"}}"#;
    let output = host(&["exec", "--tool", "json-transform", "--plugin", guests::JSON_TRANSFORM], request, cache.path());
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let response = json_out(&output);
    assert_eq!(response["status"], "success");
    assert_eq!(response["data"], serde_json::json!({"items": [{"ok": true, "n": 1}], "total": 2}));
    assert!(response["duration_ms"].is_u64());
}

#[test]
fn exec_reports_invalid_config_with_field_and_fix_and_exit_code_2() {
    let cache = tempfile::tempdir().unwrap();
    let request = r#"{"config": {"input": 1, "pik": ["a"]}, "context": {}}"#;
    let output = host(&["exec", "--tool", "json-transform", "--plugin", guests::JSON_TRANSFORM], request, cache.path());
    assert_eq!(output.status.code(), Some(2));
    let response = json_out(&output);
    assert_eq!(response["status"], "error");
    assert_eq!(response["errors"][0]["field"], "tool.pik");
    assert!(response["errors"][0]["fix"].as_str().unwrap().contains("pick"), "{response}");
}

#[test]
fn exec_with_unknown_tool_names_the_available_ones() {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["exec", "--tool", "nope"], r#"{"config": {}, "context": {}}"#, cache.path());
    assert_eq!(output.status.code(), Some(2));
    let response = json_out(&output);
    let error = response["error"].as_str().unwrap();
    assert!(error.contains("no plugin provides tool kind `nope`") && error.contains("script"), "{error}");
}

#[test]
fn exec_rejects_non_json_stdin_with_exit_code_2() {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["exec", "--tool", "script"], "not json", cache.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("stdin is not JSON"));
}
