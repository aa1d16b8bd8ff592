//! The CLI as a worker or a person uses it: real `noetl-host` processes.

use std::process::{Command, Output, Stdio};

use noetl_tests::cli::{json_stdout as json_out, run as host, stderr};
use noetl_tests::{guests, host_bin};
use serde_json::json;

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
fn exec_rejects_non_json_stdin_with_exit_code_2_and_a_json_response() {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["exec", "--tool", "script"], "not json", cache.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("stdin is not JSON"));
    let response = json_out(&output);
    assert_eq!(response["status"], "error");
    assert!(response["error"].as_str().unwrap().contains("stdin is not JSON"), "{response}");
    assert_eq!(response["duration_ms"], 0, "the tool call never started");
}

/// A policy file in a temp dir, and its path as an argument.
fn policy_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A kubeconfig whose server refuses every connection.
fn unreachable_kubeconfig(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n\
         clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\n\
         contexts: [{name: x, context: {cluster: c, user: u}}]\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

const GRANT_KUBE_SYSTEM_SECRETS: &str = "plugins:\n  hostile:\n    kubernetes: {namespaces: [kube-system], kinds: [Secret]}\n";

#[test]
fn exec_kubernetes_capability_without_a_cluster_is_a_host_problem_exit_4() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(&dir, GRANT_KUBE_SYSTEM_SECRETS);
    let request = r#"{"config": {"behavior": "kubernetes"}}"#;
    let output = host(&["exec", "--tool", "hostile", "--plugin", guests::HOSTILE, "--policy", &policy], request, cache.path());
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let response = json_out(&output);
    let error = response["error"].as_str().unwrap();
    assert!(error.contains("no Kubernetes cluster configured") && error.contains("--backend kubernetes"), "{error}");
}

#[test]
fn exec_kubernetes_capability_with_an_unreachable_cluster_is_exit_4() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(&dir, GRANT_KUBE_SYSTEM_SECRETS);
    let kubeconfig = unreachable_kubeconfig(&dir);
    let args = ["exec", "--tool", "hostile", "--plugin", guests::HOSTILE, "--policy", &policy, "--backend", "kubernetes", "--kubeconfig", &kubeconfig];
    let output = host(&args, r#"{"config": {"behavior": "kubernetes"}}"#, cache.path());
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert_eq!(json_out(&output)["status"], "error");
}

#[test]
fn exec_script_on_an_unreachable_cluster_is_exit_4_with_a_json_response() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = unreachable_kubeconfig(&dir);
    let request = r#"{"config": {"script": {"type": "inline", "content": "print(1)"}}, "context": {"execution_id": "e1", "step": "s"}}"#;
    let output = host(&["exec", "--tool", "script", "--backend", "kubernetes", "--kubeconfig", &kubeconfig], request, cache.path());
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let response = json_out(&output);
    assert_eq!(response["status"], "error");
    assert!(response["duration_ms"].is_u64(), "{response}");
}

#[test]
fn exec_with_a_missing_kubeconfig_or_a_bad_policy_still_answers_on_stdout() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let request = r#"{"config": {"script": {"type": "inline", "content": "print(1)"}}}"#;
    let missing = dir.path().join("no-such-kubeconfig");
    let output = host(&["exec", "--tool", "script", "--backend", "kubernetes", "--kubeconfig", missing.to_str().unwrap()], request, cache.path());
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(json_out(&output)["error"].as_str().unwrap().contains("no-such-kubeconfig"));

    let policy = policy_file(&dir, "plugins:\n  script:\n    limits: {cpu_ms: 0}\n");
    let output = host(&["exec", "--tool", "script", "--policy", &policy], request, cache.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(json_out(&output)["error"].as_str().unwrap().contains("plugins.script.limits.cpu_ms"));
}

#[test]
fn duration_ms_of_a_failed_call_is_the_call_s_own_time() {
    // The CPU budget stops the plugin after 300 ms of its own time, so the call took at least
    // that long; an error response measures the same span as a success.
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(&dir, "plugins:\n  hostile:\n    limits: {cpu_ms: 300}\n");
    let output = host(&["exec", "--tool", "hostile", "--plugin", guests::HOSTILE, "--policy", &policy], r#"{"config": {"behavior": "loop"}}"#, cache.path());
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let response = json_out(&output);
    assert!(response["duration_ms"].as_u64().unwrap() >= 300, "{response}");
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let cache = tempfile::tempdir().unwrap();
    for args in [&["plugins", "inspect", "script"][..], &["plugins", "list"][..]] {
        let mut child = Command::new(host_bin())
            .args(args)
            .env("NOETL_CACHE_DIR", cache.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command has loaded its plugins and printed.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = stderr(&output);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn verbose_logs_leave_out_library_debug_noise() {
    // wasmtime logs `ignoring section ".symtab"` at debug when it compiles a plugin: with a
    // fresh cache each run compiles. NOETL_LOG=debug shows it (so the check below can fail);
    // -vv does not.
    let noisy = |extra: &[(&str, &str)], args: &[&str]| {
        let cache = tempfile::tempdir().unwrap();
        let output = Command::new(host_bin())
            .args(args)
            .args(["plugins", "list", "--plugin", guests::JSON_TRANSFORM])
            .env("NOETL_CACHE_DIR", cache.path())
            .envs(extra.iter().copied())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output).contains("ignoring section")
    };
    assert!(noisy(&[("NOETL_LOG", "debug")], &[]), "the library line this test looks for is no longer logged");
    assert!(!noisy(&[], &["-vv"]));
}

#[test]
fn a_policy_naming_a_plugin_nobody_loaded_warns_with_the_near_miss() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(&dir, "plugins:\n  json-transfrom:\n    limits: {cpu_ms: 500}\n");
    let output = host(&["plugins", "list", "--policy", &policy, "--plugin", guests::JSON_TRANSFORM], "", cache.path());
    assert!(output.status.success());
    let stderr = stderr(&output);
    assert!(stderr.contains("plugins.json-transfrom") && stderr.contains("did you mean `json-transform`?"), "{stderr}");
}

#[test]
fn two_plugins_of_one_kind_in_a_directory_the_unused_one_is_rejected_with_the_reason() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a-transform.wasm"), dir.path().join("b-transform.wasm"));
    std::fs::copy(guests::JSON_TRANSFORM, &first).unwrap();
    std::fs::copy(guests::JSON_TRANSFORM, &second).unwrap();
    let output = host(&["plugins", "list", "--output", "json", "--plugin-dir", dir.path().to_str().unwrap()], "", cache.path());
    let listing = json_out(&output);
    let used: Vec<&str> = listing["plugins"].as_array().unwrap().iter().filter(|p| p["name"] == "json-transform").map(|p| p["origin"].as_str().unwrap()).collect();
    assert_eq!(used, [second.to_str().unwrap()]);
    let rejected = &listing["rejected"][0];
    assert_eq!(rejected["origin"], first.to_str().unwrap(), "{listing}");
    let reason = rejected["reason"].as_str().unwrap();
    assert!(reason.contains("same tool kind `json-transform`") && reason.contains("b-transform.wasm"), "{reason}");
}

#[test]
fn rejected_lines_name_the_file_and_say_what_it_is_in_words() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.wasm"), b"").unwrap();
    std::fs::write(dir.path().join("elf.wasm"), b"\x7fELF\x02\x01\x01\x00rest").unwrap();
    // The smallest valid core module: header only.
    std::fs::write(dir.path().join("module.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let output = host(&["plugins", "list", "--plugin-dir", dir.path().to_str().unwrap()], "", cache.path());
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rejected: Vec<&str> = stdout.lines().filter(|l| l.starts_with("REJECTED ")).collect();
    assert_eq!(rejected.len(), 3, "{stdout}");
    for (file, words) in [("empty.wasm", "is empty"), ("elf.wasm", "not a WebAssembly file"), ("module.wasm", "core WebAssembly module, not a component")] {
        let line = rejected.iter().find(|l| l.contains(file)).unwrap_or_else(|| panic!("no line names {file}: {stdout}"));
        assert!(line.contains(words), "{line}");
        assert!(!line.contains("0x") && !line.contains("``"), "byte dump or empty name: {line}");
    }
}

#[test]
fn plugins_show_wasi_imports_and_what_the_policy_leaves_unusable() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(&dir, GRANT_KUBE_SYSTEM_SECRETS);
    let args = ["plugins", "inspect", "hostile", "--output", "json", "--plugin", guests::HOSTILE, "--policy", &policy];
    let detail = json_out(&host(&args, "", cache.path()));
    let wasi: Vec<&str> = detail["wasi"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    // It reads /etc/passwd with std::fs: the filesystem interfaces are imported, and useless.
    assert!(wasi.contains(&"wasi:filesystem/preopens"), "{wasi:?}");
    let unusable = &detail["unusable"];
    assert!(unusable["wasi:filesystem/preopens"].as_str().unwrap().contains("files capability"), "{unusable}");
    assert!(unusable["fetch"].as_str().unwrap().contains("plugins.hostile.fetch"), "{unusable}");
    assert!(unusable["kubernetes"].as_str().unwrap().contains("--backend kubernetes"), "{unusable}");
    assert!(unusable.get("log").is_none() && unusable.get("wasi:clocks/wall-clock").is_none(), "{unusable}");

    let output = host(&["plugins", "list", "--plugin", guests::HOSTILE, "--policy", &policy], "", cache.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| l.starts_with("hostile ")).unwrap();
    assert!(line.contains("fetch!") && line.contains("kubernetes!") && line.contains("filesystem!"), "{line}");
    assert!(line.contains("clocks") && !line.contains("clocks!"), "{line}");
}

/// PLUGINS.md's quoted limit messages (`key: message`), from the block after its marker.
fn documented_limit_messages() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(noetl_tests::repo_root().join("PLUGINS.md")).unwrap();
    let after_marker = doc.split("<!-- limit-messages:").nth(1).expect("PLUGINS.md has the limit-messages marker");
    let block = after_marker.split("```text\n").nth(1).unwrap().split("```").next().unwrap();
    block.lines().map(|line| line.split_once(": ").expect("`key: message`")).map(|(k, m)| (k.into(), m.into())).collect()
}

/// Whether `actual` is exactly `quoted` with `NAME` and each `N` (a number) filled in.
fn matches_quote(quoted: &str, actual: &str, name: &str) -> bool {
    let quoted = quoted.replace("NAME", name);
    let mut rest = actual;
    for (i, piece) in quoted.split('N').enumerate() {
        if i > 0 {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        match rest.strip_prefix(piece) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn plugins_md_quotes_the_limit_messages_the_host_produces() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let quotes = documented_limit_messages();
    assert_eq!(quotes.len(), 6, "{quotes:?}");
    for (key, quoted) in quotes {
        let (behavior, limits) = match key.as_str() {
            "wall_ms" => ("sleep", "{wall_ms: 800}"),
            "cpu_ms" => ("loop", "{cpu_ms: 300}"),
            "memory_mib" => ("allocate", "{memory_mib: 64}"),
            "max_response_mib" => ("big-output", "{cpu_ms: 20000, memory_mib: 1024, max_response_mib: 1}"),
            "stack" => ("recurse", "{}"),
            "denied" => ("kubernetes", "{}"),
            other => panic!("PLUGINS.md quotes a message for `{other}`, which this test does not produce"),
        };
        let policy = policy_file(&dir, &format!("plugins:\n  hostile:\n    limits: {limits}\n"));
        let request = json!({"config": {"behavior": behavior}}).to_string();
        let output = host(&["exec", "--tool", "hostile", "--plugin", guests::HOSTILE, "--policy", &policy], &request, cache.path());
        assert_eq!(output.status.code(), Some(3), "{key}: {}", stderr(&output));
        let error = json_out(&output)["error"].as_str().unwrap().to_string();
        let first_line = error.lines().next().unwrap();
        assert!(matches_quote(&quoted, first_line, "hostile"), "{key}: PLUGINS.md quotes\n  {quoted}\nthe host says\n  {first_line}");
    }
}

/// Text of both output streams, for assertions on messages.
fn all_text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

const SLEEP_POLICY: &str = "plugins:\n  hostile:\n    limits: {cpu_ms: 300, wall_ms: 1000}\n";

#[test]
fn exec_stops_a_sleeping_plugin_at_its_wall_clock_limit() {
    let cache = tempfile::tempdir().unwrap();
    let policy = cache.path().join("policy.yaml");
    std::fs::write(&policy, SLEEP_POLICY).unwrap();
    let request = r#"{"config": {"behavior": "sleep"}, "context": {}}"#;
    let args = ["--policy", policy.to_str().unwrap(), "exec", "--tool", "hostile", "--plugin", guests::HOSTILE];
    let output = host(&args, request, cache.path());
    let text = all_text(&output);
    assert_ne!(output.status.code(), Some(0), "{text}");
    for needle in ["wall-clock limit of 1000 ms", "plugins.hostile.limits.wall_ms"] {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
    assert!(!text.contains("used more than its CPU budget"), "{text}");
}

#[test]
fn run_stops_a_sleeping_plugin_step_at_its_wall_clock_limit() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, SLEEP_POLICY).unwrap();
    let playbook = dir.path().join("sleepy.yaml");
    std::fs::write(&playbook, "workflow:\n  - step: nap\n    tool:\n      kind: hostile\n      behavior: sleep\n").unwrap();
    let args = [
        "--policy",
        policy.to_str().unwrap(),
        "run",
        playbook.to_str().unwrap(),
        "--output",
        "json",
        "--plugin",
        guests::HOSTILE,
    ];
    let output = host(&args, "", dir.path());
    let text = all_text(&output);
    assert_ne!(output.status.code(), Some(0), "{text}");
    for needle in ["nap", "wall-clock limit of 1000 ms", "plugins.hostile.limits.wall_ms"] {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

/// The second scan of the directory does not run the slow `describe` again: the listing
/// says the verdict is remembered.
#[test]
fn plugins_list_remembers_a_plugin_whose_describe_hit_a_limit() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guests::SLOW_DESCRIBE, dir.path().join("slow.wasm")).unwrap();
    let policy = cache.path().join("policy.yaml");
    std::fs::write(&policy, "defaults:\n  limits: {wall_ms: 500}\n").unwrap();
    let args = ["--policy", policy.to_str().unwrap(), "plugins", "list", "--plugin-dir", dir.path().to_str().unwrap()];
    let reasons = || {
        let output = host(&args, "", cache.path());
        assert!(output.status.success(), "{}", all_text(&output));
        // Rejections come last; a remembered one's reason spans two lines.
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        stdout.find("REJECTED").map(|at| stdout[at..].to_string()).unwrap_or_default()
    };
    let first = reasons();
    assert!(first.contains("slow.wasm") && first.contains("wall-clock limit of 500 ms"), "{first}");
    assert!(!first.contains("remembered"), "{first}");
    let second = reasons();
    assert!(second.contains("wall-clock limit of 500 ms") && second.contains("remembered from an earlier load"), "{second}");
}

/// `run` and `check` load, of the built-in tools, only the kinds the playbook names (each
/// costs milliseconds to load): in a fresh cache, checking a `noop` playbook compiles the
/// noop tool, the template engine and the router and nothing else; `plugins list` then
/// compiles the rest.
#[test]
fn a_playbook_command_loads_only_the_built_in_tools_it_names() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let playbook = dir.path().join("noop.yaml");
    let text = "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: only_noop}\nworkflow:\n  - step: start\n    tool: {kind: noop}\n";
    std::fs::write(&playbook, text).unwrap();
    let compiled = || {
        let components = cache.path().join("components");
        std::fs::read_dir(components).unwrap().flatten().filter(|e| !e.file_name().to_string_lossy().ends_with("-preinit.cwasm")).count()
    };
    let output = host(&["check", playbook.to_str().unwrap()], "", cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(compiled(), 3, "noop, the template engine and the router only");
    let output = host(&["plugins", "list"], "", cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let builtins = noetl_host::builtin::PLUGINS.len();
    assert_eq!(compiled(), builtins + 1, "plugins list loads every built-in (and the router)");
}
