//! Contract versions side by side: a tool built for 0.1.0 (the `legacy-contract` guest,
//! plain wit-bindgen on `wit/legacy/0.1.0`) loads next to 0.2.0 plugins, runs through
//! `exec` and `run`, has its 0.1.0 imports served under the same grants, and receives
//! rendered values as strings, while a 0.2.0 tool in the same playbook receives them typed.

use noetl_tests::cli::{json_stdout as json_out, run as host};
use noetl_tests::guests;
use serde_json::json;

#[test]
fn plugins_list_names_each_plugins_contract() {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["plugins", "list", "--output", "json", "--plugin", guests::LEGACY_CONTRACT, "--plugin", guests::HOSTILE], "", cache.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listing = json_out(&output);
    let contract = |name: &str| {
        let plugin = listing["plugins"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name}: {listing}"));
        plugin["contract"].as_str().unwrap().to_string()
    };
    assert_eq!(contract("legacy-echo"), "noetl:plugin@0.1.0");
    assert_eq!(contract("hostile"), "noetl:plugin@0.2.0");
    assert_eq!(contract("script"), "noetl:plugin@0.2.0");
    assert_eq!(contract("template"), "noetl:plugin@0.2.0");
    assert_eq!(listing["rejected"], json!([]));
}

#[test]
fn a_0_1_tool_runs_through_exec_and_its_imports_are_served_under_the_same_grant() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("note.txt"), "read through files@0.1.0\n").unwrap();
    let base_dir = dir.path().to_str().unwrap();
    let request = json!({"config": {"n": 1, "read": "note.txt"}, "context": {"execution_id": "e1", "step": "s"}}).to_string();

    // No policy: the default grants tool plugins nothing for `legacy-echo`.
    let output = host(&["exec", "--tool", "legacy-echo", "--plugin", guests::LEGACY_CONTRACT, "--base-dir", base_dir], &request, cache.path());
    let response = json_out(&output);
    assert_eq!(output.status.code(), Some(3), "{response}");
    let error = response["error"].as_str().unwrap();
    assert!(error.contains("denied") && error.contains("plugins.legacy-echo.files.dirs"), "{error}");

    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "plugins:\n  legacy-echo:\n    files: {dirs: [\".\"]}\n").unwrap();
    let args = ["exec", "--tool", "legacy-echo", "--plugin", guests::LEGACY_CONTRACT, "--base-dir", base_dir, "--policy", policy.to_str().unwrap()];
    let output = host(&args, &request, cache.path());
    let response = json_out(&output);
    assert_eq!(output.status.code(), Some(0), "{response}");
    assert_eq!(response["data"]["config"], json!({"kind": "legacy-echo", "n": 1, "read": "note.txt"}));
    assert_eq!(response["data"]["read"], "read through files@0.1.0\n");
}

#[test]
fn a_playbook_renders_strings_for_a_0_1_tool_and_typed_values_for_a_0_2_tool() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let playbook = dir.path().join("mixed.yaml");
    std::fs::write(
        &playbook,
        r#"workload:
  port: 8080
  flags: {debug: true}
workflow:
  - step: old
    tool: {kind: legacy-echo, port: "{{ workload.port }}", flags: "{{ workload.flags }}", text: "p{{ workload.port }}"}
  - step: new
    tool: {kind: hostile, behavior: ok, port: "{{ workload.port }}", flags: "{{ workload.flags }}", text: "p{{ workload.port }}"}
"#,
    )
    .unwrap();
    let args = ["run", playbook.to_str().unwrap(), "--output", "json", "--plugin", guests::LEGACY_CONTRACT, "--plugin", guests::HOSTILE];
    let output = host(&args, "", cache.path());
    let report = json_out(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    let old = &report["steps"][0]["response"]["data"]["config"];
    assert_eq!(old["port"], "8080", "{report}");
    assert!(old["flags"].is_string(), "{report}");
    assert_eq!(old["text"], "p8080");
    let new = &report["steps"][1]["response"]["data"]["echo"];
    assert_eq!(new["port"], 8080, "{report}");
    assert_eq!(new["flags"], json!({"debug": true}));
    assert_eq!(new["text"], "p8080");
}

#[test]
fn the_optional_init_export_is_accepted_and_shown() {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["plugins", "inspect", guests::PREINIT, "--output", "json"], "", cache.path());
    let detail = json_out(&output);
    assert!(output.status.success(), "{detail}");
    assert_eq!((detail["name"].as_str(), detail["contract"].as_str(), detail["init"].as_bool()), (Some("preinit"), Some("noetl:plugin@0.2.0"), Some(true)));
    let output = host(&["plugins", "inspect", guests::LEGACY_CONTRACT, "--output", "json"], "", cache.path());
    assert_eq!(json_out(&output)["init"], false);
    // It runs like any other tool, from the snapshot the host took after `init`: made on
    // the first load, read from the cache on the second.
    for load in ["first", "cached"] {
        let output = host(&["exec", "--tool", "preinit", "--plugin", guests::PREINIT], r#"{"config": {}}"#, cache.path());
        let response = json_out(&output);
        assert!(output.status.success() && response["data"]["initialised"] == true, "{load} load: {response}");
        assert!(!files_named(cache.path(), "-preinit.cwasm").is_empty(), "{load} load: no snapshot cached");
    }
}

/// What `init` stores is shared by every call, so it may not read anything of the world:
/// an `init` that reads the environment and the clock is refused, naming the import, and
/// no snapshot of it is kept.
#[test]
fn an_init_that_uses_wasi_is_refused_naming_the_import() {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["plugins", "inspect", guests::IMPURE_INIT], "", cache.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in ["failed in `init`", "unknown import", "wasi:", "may not call WASI", "move that work into the call"] {
        assert!(stderr.contains(needle), "`{needle}` missing from: {stderr}");
    }
    // The one snapshot kept is the built-in template engine's (it exports `init` too).
    let snapshots = files_named(cache.path(), "-preinit.cwasm");
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let output = host(&["plugins", "inspect", "template", "--output", "json"], "", cache.path());
    assert_eq!(json_out(&output)["init"], true);
    assert_eq!(files_named(cache.path(), "-preinit.cwasm"), snapshots, "the template engine's snapshot was reused");
}

/// Files under `dir` (at any depth) whose name ends with `suffix`.
fn files_named(dir: &std::path::Path, suffix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_named(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path.display().to_string());
        }
    }
    found
}
