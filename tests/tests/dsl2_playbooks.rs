//! DSL v2 playbooks (tests/playbooks/dsl2/) run through the real `noetl-host` binary on
//! the local backend: routing by upstream's orchestrator core, every tool config rendered
//! in the sandboxed template plugin, script steps whose output proves the route taken and
//! the values seen, and the third-party `json-transform` plugin as a step and as a task.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use noetl_tests::{guests, host_bin, repo_root};
use serde_json::Value;

const CANARY: &str = "canary-dsl2-keychain-5d1e";

fn playbook(name: &str) -> PathBuf {
    repo_root().join("tests/playbooks/dsl2").join(name)
}

/// Shared with local_examples.rs: the runtime probe and dependency caches are reused.
fn shared_cache() -> PathBuf {
    let target = host_bin().parent().and_then(Path::parent).expect("target dir").to_path_buf();
    let dir = target.join("local-examples-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `noetl-host SUBCOMMAND FILE --plugin json-transform.wasm ARGS...`.
fn host(subcommand: &str, file: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(host_bin())
        .arg(subcommand)
        .arg(file)
        .args(["--plugin", guests::JSON_TRANSFORM])
        .args(args)
        .env("XDG_CACHE_HOME", shared_cache())
        .env_remove("NOETL_SECRET_API_TOKEN")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

/// Run with `--output json`, require success, return the report.
fn run_ok(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let output = host("run", &playbook(name), &all, envs);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    });
    assert_eq!(output.status.code(), Some(0), "{report:#}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["status"], "success", "{report:#}");
    report
}

fn steps_run(report: &Value) -> Vec<String> {
    report["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap().to_string()).collect()
}

fn data_of<'r>(report: &'r Value, step: &str) -> &'r Value {
    &report["steps"].as_array().unwrap().iter().find(|s| s["step"] == step).unwrap_or_else(|| panic!("no step {step} in {report:#}"))["response"]["data"]
}

/// A rendered value as text whatever its JSON type (typed template values or not).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn exclusive_arcs_route_on_the_first_matching_when() {
    let report = run_ok("routing.yaml", &["--execution-id", "exec-routing-1"], &[]);
    assert_eq!(steps_run(&report), ["start", "big"]);
    let seen = &data_of(&report, "big")["result"];
    assert_eq!(seen["route"], "big");
    assert_eq!(text(&seen["seen"]["n"]), "7");
    assert_eq!(seen["seen"]["label"], "threshold", "`{{{{ start.data.result.label }}}}`");
    assert_eq!(seen["seen"]["execution"], "exec-routing-1", "our execution id, not the core's number");

    let report = run_ok("routing.yaml", &["--set", "n=2"], &[]);
    assert_eq!(steps_run(&report), ["start", "small"]);
    assert_eq!(text(&data_of(&report, "small")["result"]["seen"]["n"]), "2", "`{{{{ ctx.n }}}}` is the workload value");
}

#[test]
fn set_and_vars_reach_later_steps_and_routing() {
    let report = run_ok("set_and_vars.yaml", &[], &[]);
    assert_eq!(steps_run(&report), ["start", "report"]);
    let seen = &data_of(&report, "report")["result"];
    assert_eq!(text(&seen["total"]), "3", "step `set: ctx.total`");
    assert_eq!(text(&seen["ctx_total"]), "3");
    assert_eq!(seen["route"], "via-arc", "arc `set`");
    assert_eq!(text(&seen["doubled"]), "6", "step `vars`");
    assert_eq!(seen["greeting"], "hello 10", "playbook `vars`");
}

#[test]
fn a_sequential_loop_runs_each_item_in_order() {
    let report = run_ok("loop_sequential.yaml", &[], &[]);
    assert_eq!(steps_run(&report), ["start", "visit", "visit", "visit", "summary"]);
    let visits: Vec<&Value> = report["steps"].as_array().unwrap().iter().filter(|s| s["step"] == "visit").collect();
    for (index, (visit, city)) in visits.iter().zip(["oslo", "lima", "pune"]).enumerate() {
        assert_eq!(visit["iteration"], index);
        let seen = &visit["response"]["data"]["result"];
        assert_eq!(seen["name"], city);
        assert_eq!(seen["upper"], city.to_uppercase());
        assert_eq!(text(&seen["index"]), index.to_string());
        assert_eq!(text(&seen["total"]), "3");
        assert_eq!(seen["city"], city, "upstream hands the item to the tool's args too");
    }
    assert_eq!(text(&data_of(&report, "summary")["visited"]), "3", "the loop step's result lists every item");
}

#[test]
fn a_parallel_loop_keeps_at_most_max_in_flight_items_running() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let report = run_ok("loop_parallel.yaml", &["--events", events.to_str().unwrap()], &[]);
    let mut squares: Vec<i64> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "square")
        .map(|s| s["response"]["data"]["result"]["square"].as_i64().unwrap())
        .collect();
    squares.sort();
    assert_eq!(squares, [1, 4, 9, 16, 25]);
    // The event log orders starts and completions: never more than two items at once,
    // and two at once did happen (the core issued all five together).
    let text = std::fs::read_to_string(&events).unwrap();
    let (mut running, mut most) = (0, 0);
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["node_name"] != "square" {
            continue;
        }
        match event["event_type"].as_str().unwrap() {
            "command.started" => running += 1,
            "command.completed" | "command.failed" => running -= 1,
            _ => {}
        }
        most = most.max(running);
    }
    assert_eq!(most, 2, "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("\"command.issued\"") && l.contains("\"square\"")).count(), 5);
}

#[test]
fn a_tool_list_runs_its_tasks_in_order_with_earlier_results_visible() {
    let report = run_ok("tool_list.yaml", &[], &[]);
    assert_eq!(steps_run(&report), ["start", "check"]);
    let start = data_of(&report, "start");
    assert_eq!(start["make"]["result"]["word"], "hello");
    assert_eq!(start["shape"]["greeting"], "hello", "json-transform saw the script task's result");
    assert_eq!(text(&start["shape"]["n"]), "2");
    let seen = &data_of(&report, "check")["result"];
    assert_eq!(seen["greeting"], "hello");
    assert_eq!(seen["word"], "hello");
}

#[test]
fn an_end_step_runs_and_a_false_arc_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let report = run_ok("end_step.yaml", &["--events", events.to_str().unwrap()], &[]);
    assert_eq!(steps_run(&report), ["start", "end"]);
    assert_eq!(data_of(&report, "end")["result"]["closing"], "finish");
    let log = std::fs::read_to_string(&events).unwrap();
    assert!(log.lines().any(|l| l.contains("\"step.skipped\"") && l.contains("\"never\"")), "{log}");
}

#[test]
fn a_keychain_credential_reaches_the_tool_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let output =
        host("run", &playbook("keychain.yaml"), &["--output", "json", "--events", events.to_str().unwrap()], &[("NOETL_SECRET_API_TOKEN", CANARY)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let result = &data_of(&report, "start")["result"];
    assert_eq!(result["length"], CANARY.len());
    let digest = Command::new("python3").args(["-c", &format!("import hashlib; print(hashlib.sha256(b'{CANARY}').hexdigest())")]).output().unwrap();
    assert_eq!(result["sha256"], String::from_utf8_lossy(&digest.stdout).trim());
    let log = std::fs::read_to_string(&events).unwrap();
    for (what, text) in [("stdout", stdout.as_ref()), ("stderr", stderr.as_ref()), ("events", log.as_str())] {
        assert!(!text.contains(CANARY), "the secret leaked into {what}");
    }
}

#[test]
fn a_missing_keychain_entry_names_the_alias_and_the_providers() {
    let output = host("run", &playbook("keychain.yaml"), &["--output", "json"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let error = report["steps"][0]["response"]["error"].as_str().unwrap();
    assert!(error.contains("keychain `api` field `token`"), "{error}");
    assert!(error.contains("NOETL_SECRET_API_TOKEN"), "{error}");
    assert!(error.contains("secret directory (not configured"), "{error}");
}

#[test]
fn a_secret_in_routing_is_refused_before_anything_runs() {
    let file = playbook("broken/keychain_in_when.yaml");
    for subcommand in ["check", "run"] {
        let output = host(subcommand, &file, &[], &[("NOETL_SECRET_API_TOKEN", CANARY)]);
        let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.code(), Some(2), "{subcommand}: {all}");
        assert!(all.contains("step `start`, `next`: refers to a secret"), "{subcommand}: {all}");
        assert!(!all.contains(CANARY));
        assert!(!all.contains("\"status\""), "{subcommand}: nothing ran: {all}");
    }
}

#[test]
fn check_reports_every_problem_with_step_field_and_fix() {
    let output = host("check", &playbook("broken/many_problems.yaml"), &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = [
        "step `start`, `nxt`: unknown key; fix: remove it",
        "step `start`, `next.arcs[0].step`: no step is named `lod`; fix: use one of: load, start, end",
        "step `start`, `next`: template does not parse",
        "step `load`, `loop.iterator`: missing; fix: name the loop variable",
    ];
    for expected in expected {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }
    // Plugin checks need the document to translate; the same file with the document
    // problems fixed shows them.
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.yaml");
    let text = std::fs::read_to_string(playbook("broken/many_problems.yaml"))
        .unwrap()
        .replace("    nxt: load\n", "")
        .replace("step: lod", "step: load")
        .replace("{{ start.rows > }}", "{{ start.rows > 0 }}")
        .replace("      in: \"{{ workload.items }}\"\n", "      in: \"{{ workload.items }}\"\n      iterator: item\n");
    std::fs::write(&fixed, text).unwrap();
    let output = host("check", &fixed, &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("step `load`, `tool.kind`: step `load` uses tool kind `postgres`; no plugin provides it; installed: "), "{stdout}");
    assert!(stdout.contains("json-transform") && stdout.contains("script"), "{stdout}");
    assert!(stdout.contains("step `start`, `tool.job.timeout`"), "the script plugin's own validation: {stdout}");
}

#[test]
fn check_passes_the_corpus_and_the_spec_examples_and_draws_the_graph() {
    let corpus =
        ["routing.yaml", "set_and_vars.yaml", "loop_sequential.yaml", "loop_parallel.yaml", "tool_list.yaml", "end_step.yaml", "keychain.yaml"];
    let examples = std::fs::read_dir(repo_root().join("examples/playbooks")).unwrap().map(|e| e.unwrap().path());
    for file in corpus.iter().map(|name| playbook(name)).chain(examples) {
        let output = host("check", &file, &[], &[]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = host("check", &playbook("routing.yaml"), &["--graph"], &[]);
    let chart = String::from_utf8_lossy(&output.stdout);
    assert!(chart.starts_with("flowchart TD\n"), "{chart}");
    assert!(chart.contains("s_start -->|\"{{ start.result.n > 5 }}\"| s_big"), "{chart}");
    assert!(chart.contains("s_start --> s_small"), "{chart}");
}

#[test]
fn dry_run_checks_and_runs_nothing() {
    let output = host("run", &playbook("routing.yaml"), &["--dry-run"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("dry run: nothing was run"));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("step start"));
}

#[test]
fn a_template_error_in_routing_is_reported_against_the_step() {
    let output = host("run", &playbook("broken/route_error.yaml"), &["--output", "json"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(steps_run(&report), ["start"]);
    assert_eq!(report["status"], "error");
    let error = report["error"].as_str().unwrap();
    assert!(error.starts_with("step `start`: routing after it finished failed in the core:"), "{error}");
    assert!(error.contains("int error"), "{error}");
}

#[test]
fn a_sub_playbook_runs_from_a_relative_path_or_the_catalog() {
    let report = run_ok("sub_playbook.yaml", &[], &[]);
    assert_eq!(steps_run(&report), ["start", "show"]);
    assert_eq!(data_of(&report, "start")["steps"]["start"]["greeting"], "hello ada");
    assert_eq!(data_of(&report, "show")["said"], "hello ada");

    // Copied elsewhere, the relative path no longer resolves: --catalog finds it.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("sub_playbook.yaml");
    std::fs::copy(playbook("sub_playbook.yaml"), &copy).unwrap();
    let missing = host("run", &copy, &["--output", "json"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&missing.stdout).unwrap();
    let error = report["steps"][0]["response"]["error"].as_str().unwrap();
    assert!(error.contains("playbook `lib/greet` was not found") && error.contains("--catalog"), "{error}");
    let catalog = repo_root().join("tests/playbooks/dsl2");
    let output = host("run", &copy, &["--output", "json", "--catalog", catalog.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}
