//! Every spec example (examples/playbooks/01..06) run through the real `noetl-host run`
//! binary on the default local backend, plus a bad step end to end.
//!
//! All tests share one dependency cache under the target dir, so pandas/numpy/requests are
//! installed from PyPI once per checkout, not once per test.

use std::path::{Path, PathBuf};
use std::process::Output;

use noetl_tests::http::TestServer;
use noetl_tests::local::{network_grant, report, run, shared_cache, write_policy};
use noetl_tests::repo_root;
use serde_json::{Value, json};

fn example(name: &str) -> PathBuf {
    repo_root().join("examples/playbooks").join(name)
}

/// The only step's `data.result`, after checking the run succeeded.
fn result_of(output: &Output) -> Value {
    let report = report(output);
    assert_eq!(output.status.code(), Some(0), "{report:#}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["status"], "success", "{report:#}");
    report["steps"][0]["response"]["data"]["result"].clone()
}

/// A copy of an example with `edits` (from → to) applied; each must match.
fn edited_copy(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(example(name)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name} no longer contains `{from}`");
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn example_01_basic_python() {
    let result = result_of(&run(&example("01-basic-python.yaml"), &[], &[]));
    assert_eq!(result, json!({"input": {"items": [1, 2, 3, 4, 5]}, "processed": true, "count": 5}));
}

/// A module dropped into the installed environment after the first run: the second run
/// can only import it if it got the cached tree instead of a fresh install.
const CACHE_PROBE: &str = "noetl_cache_probe";

#[test]
fn example_02_pandas_from_pypi_and_the_second_run_uses_the_cache() {
    let first = result_of(&run(&example("02-dependencies.yaml"), &[], &[]));
    assert_eq!(first["rows"], 2);
    // The args reach the script with their keys in the order the playbook wrote them.
    assert_eq!(first["columns"], serde_json::json!(["name", "age"]));

    let envs = shared_cache().join("noetl-host/deps/envs");
    let pandas_env = std::fs::read_dir(&envs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|env| std::fs::read_to_string(env.join("noetl-env.json")).is_ok_and(|m| m.contains("\"pandas\"")))
        .expect("the first run published a pandas environment in the cache");
    std::fs::write(pandas_env.join("deps").join(format!("{CACHE_PROBE}.py")), "HIT = 'cached'\n").unwrap();

    // Same install list (so the same cache key), a script that also imports the probe.
    let dir = tempfile::tempdir().unwrap();
    let probe = format!("\"rows\": len(df), \"probe\": __import__(\"{CACHE_PROBE}\").HIT,");
    let copy = edited_copy(dir.path(), "02-dependencies.yaml", &[("\"rows\": len(df),", &probe)]);
    let second = result_of(&run(&copy, &[], &[]));
    assert_eq!(second["probe"], "cached");
    assert_eq!(second["rows"], 2);
    let staging = shared_cache().join("noetl-host/deps/staging");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0, "an install ran (or was left) in staging");
}

#[test]
fn example_03_env_and_secrets_reach_a_loopback_api_with_network_opt_in() {
    let canary = "canary-3f9c1e7a-do-not-print";
    let expected = format!("Bearer {canary}");
    let server = TestServer::start(move |path, headers| {
        let authorized = headers.iter().any(|(n, v)| n == "authorization" && *v == expected);
        match (path, authorized) {
            ("/data", true) => (200, r#"{"items": [1, 2], "source": "test-api"}"#.into()),
            ("/data", false) => (401, r#"{"error": "bad token"}"#.into()),
            _ => (404, "{}".into()),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let copy = edited_copy(dir.path(), "03-env-secrets.yaml", &[("https://api.example.com", &server.url())]);
    // A policy file replaces the default one, so it also grants the template its secret.
    // The network is granted to this step of this exact file (the edited copy's SHA-256).
    let policy = write_policy(
        dir.path(),
        &format!("plugins:\n  template: {{secrets: {{names: [EXTERNAL_API_KEY]}}}}\n{}", network_grant(&copy, &["api_integration"])),
    );
    // Every log line on: whatever the host and its libraries log at debug level must not
    // carry the secret. (The sandbox no longer hands the environment to its library, which
    // used to dump it at debug level; the step's program gets it through its own execve.)
    let env = [("NOETL_SECRET_EXTERNAL_API_KEY", canary), ("NOETL_LOG", "debug")];
    let output = run(&copy, &["--policy", policy.to_str().unwrap()], &env);
    let result = result_of(&output);
    assert_eq!(result, json!({"items": [1, 2], "source": "test-api"}));
    let seen = server.seen_headers.lock().unwrap();
    assert_eq!(seen.len(), 1, "the script called the API once");
    assert!(seen[0].iter().any(|(n, v)| n == "authorization" && v == &format!("Bearer {canary}")));
    for (stream, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(!String::from_utf8_lossy(text).contains(canary), "the secret leaked on {stream}");
    }
}

#[test]
fn example_03_without_the_network_opt_in_the_script_has_no_route() {
    let server = TestServer::start(|_, _| (200, "{}".into()));
    let dir = tempfile::tempdir().unwrap();
    let copy = edited_copy(dir.path(), "03-env-secrets.yaml", &[("https://api.example.com", &server.url())]);
    let output = run(&copy, &[], &[("NOETL_SECRET_EXTERNAL_API_KEY", "unused")]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let report = report(&output);
    let stderr = report["steps"][0]["response"]["data"]["stderr"].as_str().unwrap_or_default().to_string();
    // A fresh network namespace has only a loopback device that is down: no route at all.
    assert!(stderr.contains("Network is unreachable"), "{report:#}");
    assert!(server.seen_headers.lock().unwrap().is_empty(), "the sandboxed script reached the host's loopback");
}

const REMOTE_SCRIPT: &str = "import json, sys\nargs = json.loads(sys.argv[1])\nprint(json.dumps({'fetched': True, 'args': args}))\n";

#[test]
fn example_04_http_source_needs_a_fetch_grant() {
    let server = TestServer::start(|path, _| match path {
        "/scripts/process.py" => (200, REMOTE_SCRIPT.into()),
        _ => (404, "{}".into()),
    });
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("{}/scripts/process.py", server.url());
    let copy = edited_copy(dir.path(), "04-http-source.yaml", &[("https://raw.githubusercontent.com/org/repo/main/scripts/process.py", &uri)]);

    let denied = run(&copy, &[], &[]);
    assert_eq!(denied.status.code(), Some(1), "{}", String::from_utf8_lossy(&denied.stderr));
    let text = format!("{}{}", String::from_utf8_lossy(&denied.stdout), String::from_utf8_lossy(&denied.stderr));
    assert!(text.contains("plugins.script.fetch.hosts"), "{text}");
    assert!(server.seen_headers.lock().unwrap().is_empty(), "fetched without a grant");

    let policy = write_policy(dir.path(), "plugins:\n  script:\n    fetch: {hosts: [127.0.0.1]}\n");
    let result = result_of(&run(&copy, &["--policy", policy.to_str().unwrap()], &[]));
    assert_eq!(result, json!({"fetched": true, "args": {"input_file": "/data/input.json", "output_file": "/data/output.json"}}));
}

#[test]
fn example_05_node() {
    let result = result_of(&run(&example("05-node.yaml"), &[], &[]));
    assert_eq!(result["processed"], true);
    assert_eq!(result["input"]["message"], "Hello from Node.js");
    assert!(result["timestamp"].is_string());
}

/// The spec's SVD of a 10000x10000 matrix takes far longer than 3 minutes on the 2-core
/// reference machine (measured: still running when stopped at 190 s), so this runs a copy
/// with a 1000x1000 matrix. Every job field (numpy install, requests/limits 4Gi/8Gi,
/// backoff_limit 1, timeout 1800) is kept as written.
#[test]
fn example_06_resource_limits_with_a_smaller_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let copy = edited_copy(dir.path(), "06-resource-limits.yaml", &[("randn(10000, 10000)", "randn(1000, 1000)")]);
    let output = run(&copy, &[], &[]);
    let report = report(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    let data = &report["steps"][0]["response"]["data"];
    assert_eq!(data["output"], "Computation complete: (1000,)\n", "{report:#}");
    assert_eq!(data["failed"], 0);
}

#[test]
fn a_misspelt_job_field_is_refused_with_its_path_and_leaves_no_temp_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let copy = edited_copy(dir.path(), "01-basic-python.yaml", &[("timeout: 60", "timeout: 60\n        backof_limit: 1")]);
    let output = run(&copy, &[], &[("TMPDIR", work.path().to_str().unwrap())]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("tool.job.backof_limit"), "{text}");
    assert!(text.contains("backoff_limit"), "{text}");
    let left: Vec<_> = std::fs::read_dir(work.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind in the sandbox work dir: {left:?}");
}
