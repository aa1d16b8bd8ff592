//! Hostile inputs the host must not trust (issue #23), through the real `noetl-host` binary:
//! sub-playbook paths that leave the catalog roots, files that are not playbooks (never
//! quoted back), plugin files that take a built-in's name, host grants with a port, and
//! `exec` failures that must reach stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use noetl_tests::http::TestServer;
use noetl_tests::{host_bin, local::shared_cache, repo_root};
use serde_json::{Value, json};

const CANARY: &str = "CANARY-SHADOW";
const SHADOW: &str = "root:CANARY-SHADOW:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\nnobody:CANARY-SHADOW-2:20228::::::\n";

/// `noetl-host ARGS` with `stdin`, the shared plugin cache, and nothing from the caller's
/// environment that would change what it loads.
fn host(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(host_bin())
        .args(args)
        .env("XDG_CACHE_HOME", shared_cache())
        .env_remove("NOETL_POLICY")
        .env_remove("NOETL_LOG")
        .env_remove("NOETL_CACHE_DIR")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn transcript(output: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", output.status.code(), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn assert_no_canary(output: &Output) {
    let said = transcript(output);
    assert!(!said.contains(CANARY) && !said.contains("daemon:*"), "file content was quoted:\n{said}");
}

/// A playbook directory tree (`tree/`, with `lib/child.yaml`) and, beside it, a directory
/// outside every root holding a shadow-like file.
struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tree/lib")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/shadow"), SHADOW).unwrap();
        std::fs::write(dir.path().join("tree/lib/child.yaml"), "workflow:\n  - step: hello\n    tool: {kind: noop, result: {said: hi}}\n").unwrap();
        Layout { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `tree/NAME.yaml`: one step that runs the playbook at `path`.
    fn entry(&self, name: &str, path: &str) -> PathBuf {
        let file = self.path(&format!("tree/{name}.yaml"));
        std::fs::write(&file, format!("workflow:\n  - step: call\n    tool: {{kind: playbook, path: {}}}\n", json!(path))).unwrap();
        file
    }

    fn run(&self, entry: &Path, extra: &[&str]) -> (Output, Value) {
        let mut args = vec!["run", entry.to_str().unwrap(), "--output", "json"];
        args.extend_from_slice(extra);
        let output = host(&args, "");
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&output)));
        (output, report)
    }
}

fn step_error(report: &Value) -> String {
    report["steps"][0]["response"]["error"].as_str().unwrap_or_default().to_string()
}

/// The step ran and failed (exit 1), with the refusal naming the path, the roots and the fix.
fn assert_refused(layout: &Layout, entry: &Path, names: &str) {
    let (output, report) = layout.run(entry, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let error = step_error(&report);
    let tree = layout.path("tree").canonicalize().unwrap();
    for needle in ["was refused", names, "outside the catalog roots", &tree.display().to_string(), "--catalog DIR"] {
        assert!(error.contains(needle), "expected {needle:?} in {error}");
    }
    assert_no_canary(&output);
}

#[test]
fn an_absolute_path_outside_the_roots_is_refused_unread() {
    let layout = Layout::new();
    let shadow = layout.path("outside/shadow");
    assert_refused(&layout, &layout.entry("absolute", shadow.to_str().unwrap()), &shadow.display().to_string());
}

#[test]
fn a_dot_dot_escape_is_refused() {
    let layout = Layout::new();
    assert_refused(&layout, &layout.entry("escape", "../outside/shadow"), "../outside/shadow");
    // From a child too: its own directory is no root of its own.
    std::fs::write(layout.path("tree/lib/escape.yaml"), "workflow:\n  - step: up\n    tool: {kind: playbook, path: ../../outside/shadow}\n").unwrap();
    let (output, report) = layout.run(&layout.entry("nested", "lib/escape"), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(step_error(&report).contains("outside the catalog roots"), "{report:#}");
    assert_no_canary(&output);
}

#[test]
fn a_symlink_inside_the_tree_pointing_out_is_refused() {
    let layout = Layout::new();
    std::os::unix::fs::symlink(layout.path("outside/shadow"), layout.path("tree/lib/evil.yaml")).unwrap();
    let entry = layout.entry("symlink", "lib/evil");
    assert_refused(&layout, &entry, "it leads to");
    // A symlinked directory leads out the same way.
    std::os::unix::fs::symlink(layout.path("outside"), layout.path("tree/linked")).unwrap();
    assert_refused(&layout, &layout.entry("symlinked_dir", "linked/shadow"), "linked/shadow");
}

#[test]
fn a_relative_child_inside_the_tree_runs() {
    let layout = Layout::new();
    let (output, report) = layout.run(&layout.entry("inside", "lib/child"), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert_eq!(report["steps"][0]["response"]["data"]["steps"]["hello"], json!({"said": "hi"}), "{report:#}");
    // `..` that stays inside the tree is fine: lib/up.yaml calls ../lib/child.
    std::fs::write(layout.path("tree/lib/up.yaml"), "workflow:\n  - step: again\n    tool: {kind: playbook, path: ../lib/child}\n").unwrap();
    let (output, _) = layout.run(&layout.entry("up", "lib/up"), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}

#[test]
fn a_child_under_a_second_catalog_runs() {
    let layout = Layout::new();
    for catalog in ["cat-a", "cat-b"] {
        std::fs::create_dir_all(layout.path(catalog)).unwrap();
    }
    std::fs::write(layout.path("cat-b/greet.yaml"), "workflow:\n  - step: greet\n    tool: {kind: noop, result: {from: cat-b}}\n").unwrap();
    let entry = layout.entry("catalog", "greet");
    let (output, report) = layout.run(&entry, &[]);
    assert_eq!(output.status.code(), Some(1), "not found without the catalog: {}", transcript(&output));
    assert!(step_error(&report).contains("playbook `greet` was not found"), "{report:#}");
    let (a, b) = (layout.path("cat-a"), layout.path("cat-b"));
    let (output, report) = layout.run(&entry, &["--catalog", a.to_str().unwrap(), "--catalog", b.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert_eq!(report["steps"][0]["response"]["data"]["steps"]["greet"], json!({"from": "cat-b"}), "{report:#}");
    // A catalog that does not exist is an argument error.
    let missing = layout.path("cat-missing");
    let output = host(&["run", entry.to_str().unwrap(), "--catalog", missing.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    assert!(transcript(&output).contains("--catalog"), "{}", transcript(&output));
}

#[test]
fn a_file_that_is_not_a_playbook_is_named_never_quoted() {
    let layout = Layout::new();
    // Inside the tree, so it is read: a YAML scalar, a YAML syntax error, a mapping of secrets.
    std::fs::write(layout.path("tree/lib/shadow.yaml"), SHADOW).unwrap();
    std::fs::write(layout.path("tree/lib/broken.yaml"), "a: [CANARY-SHADOW\nb: {CANARY-SHADOW\n").unwrap();
    std::fs::write(layout.path("tree/lib/secrets.yaml"), "CANARY-SHADOW-KEY: CANARY-SHADOW-VALUE\nCANARY-SHADOW-KEY: again\n").unwrap();
    for (child, says) in [("lib/shadow", "not a playbook"), ("lib/broken", "YAML error at line"), ("lib/secrets", "not a playbook")] {
        let (output, report) = layout.run(&layout.entry("bad_child", child), &[]);
        assert_eq!(output.status.code(), Some(1), "{child}: {}", transcript(&output));
        let error = step_error(&report);
        assert!(error.contains(says) && error.contains(&format!("{child}.yaml")), "{child}: {error}");
        assert_no_canary(&output);
    }
    // The same files as the playbook the user runs, checks or plans: exit 2, no content.
    for file in ["outside/shadow", "tree/lib/shadow.yaml", "tree/lib/broken.yaml", "tree/lib/secrets.yaml"] {
        let path = layout.path(file);
        for command in ["check", "run", "plan"] {
            let output = host(&[command, path.to_str().unwrap()], "");
            assert_eq!(output.status.code(), Some(2), "{command} {file}: {}", transcript(&output));
            assert_no_canary(&output);
        }
    }
}

// ── built-in names are reserved ─────────────────────────────────────────────────────────

/// A plugin directory holding the built-in `name`'s own component as a plugin file: a
/// file that describes itself as `name`.
fn impostor(dir: &Path, name: &str) -> PathBuf {
    let bytes = noetl_host::builtin::PLUGINS.iter().find(|(n, _)| *n == name).unwrap().1;
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let file = plugins.join(format!("my-{name}.wasm"));
    std::fs::write(&file, bytes).unwrap();
    file
}

/// The 64-hex digest a refusal names after `sha256: `.
fn digest_in(text: &str) -> String {
    let at = text.find(".sha256: ").unwrap_or_else(|| panic!("no digest in {text}")) + ".sha256: ".len();
    text[at..at + 64].to_string()
}

fn plan_example(dir: &Path, extra: &[&str]) -> Output {
    let example = repo_root().join("examples/playbooks/01-basic-python.yaml");
    let plugins = dir.join("plugins");
    let mut args = vec!["plan", example.to_str().unwrap(), "--plugin-dir", plugins.to_str().unwrap()];
    args.extend_from_slice(extra);
    host(&args, "")
}

#[test]
fn a_plugin_file_named_like_a_built_in_is_refused_without_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["script", "template"] {
        let file = impostor(dir.path(), name);
        let plugins = dir.path().join("plugins");
        let output = host(&["plugins", "list", "--plugin-dir", plugins.to_str().unwrap()], "");
        let said = transcript(&output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let refusal = format!("{} was refused: it provides `{name}`, a name reserved for the built-in {name} plugin", file.display());
        assert_eq!(stderr.matches(&refusal).count(), 1, "said once on stderr at the default verbosity:\n{said}");
        assert!(said.contains(&format!("plugins.{name}.sha256: ")), "{said}");
        assert_eq!(digest_in(&stderr).len(), 64);
        std::fs::remove_file(file).unwrap();
    }
    // The built-in keeps serving: the example plans under its default grant.
    impostor(dir.path(), "script");
    let output = plan_example(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}

#[test]
fn a_pinned_replacement_gets_no_built_in_grant_and_a_wrong_pin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = impostor(dir.path(), "script");
    let digest = digest_in(&String::from_utf8_lossy(&plan_example(dir.path(), &[]).stderr));
    let policy = dir.path().join("policy.yaml");

    // Pinned: it loads, replaces the built-in (said once), and gets no job grant.
    std::fs::write(&policy, format!("plugins:\n  script: {{sha256: {digest}}}\n")).unwrap();
    let output = plan_example(dir.path(), &["--policy", policy.to_str().unwrap()]);
    let said = transcript(&output);
    assert_eq!(output.status.code(), Some(3), "{said}");
    assert!(said.contains("the policy gives plugin `script` no job grant"), "{said}");
    let replaced = format!("{} replaces the built-in script plugin", file.display());
    assert_eq!(String::from_utf8_lossy(&output.stderr).matches(&replaced).count(), 1, "{said}");
    assert!(!said.contains("kind: Job"), "{said}");
    // What the policy writes for it is what it gets.
    std::fs::write(&policy, format!("plugins:\n  script:\n    sha256: {}\n    jobs: {{namespaces: [noetl]}}\n", digest.to_uppercase())).unwrap();
    let output = plan_example(dir.path(), &["--policy", policy.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));

    // A pin of another digest: refused, naming both; the built-in serves the step.
    let wrong = "0".repeat(64);
    std::fs::write(&policy, format!("plugins:\n  script: {{sha256: \"{wrong}\"}}\n")).unwrap();
    let output = plan_example(dir.path(), &["--policy", policy.to_str().unwrap()]);
    let said = transcript(&output);
    assert!(said.contains(&format!("{} was refused", file.display())) && said.contains(&wrong) && said.contains(&digest), "{said}");
    assert_eq!(output.status.code(), Some(0), "the built-in is never refused by the pin: {said}");

    // A pin applies to any plugin name: json-transform with a wrong digest is refused.
    std::fs::write(&policy, format!("plugins:\n  json-transform: {{sha256: \"{wrong}\"}}\n")).unwrap();
    let output = host(&["plugins", "list", "--plugin", noetl_tests::guests::JSON_TRANSFORM, "--policy", policy.to_str().unwrap()], "");
    let said = transcript(&output);
    assert!(said.contains("plugins.json-transform.sha256") && said.contains(&wrong) && said.contains("was refused"), "{said}");
}

// ── exec failures reach stderr; host grants with a port ─────────────────────────────────

fn exec_http(policy_hosts: &str, url: &str, dir: &Path) -> Output {
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, format!("plugins:\n  http:\n    http: {{hosts: [{policy_hosts}]}}\n")).unwrap();
    let request = json!({"config": {"url": url}, "context": {"execution_id": "e1", "step": "s"}});
    host(&["exec", "--tool", "http", "--policy", policy.to_str().unwrap()], &request.to_string())
}

#[test]
fn a_host_grant_with_a_port_matches_only_that_port() {
    let server = TestServer::start(|_, _| (200, "{\"ok\": true}".into()));
    let url = format!("{}/x", server.url());
    let port: u16 = server.url().rsplit(':').next().unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();

    let output = exec_http(&format!("\"127.0.0.1:{port}\""), &url, dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let output = exec_http("\"127.0.0.1\"", &url, dir.path());
    assert_eq!(output.status.code(), Some(0), "a host alone is any port: {}", transcript(&output));

    // Another port: denied, and the message is on stderr as well as in the response.
    let output = exec_http(&format!("\"127.0.0.1:{}\"", port.wrapping_add(1).max(1)), &url, dir.path());
    assert_ne!(output.status.code(), Some(0), "{}", transcript(&output));
    let response: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&output)));
    let error = response["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("`127.0.0.1` port {port}")) && error.contains("plugins.http.http.hosts"), "{error}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: {error}")), "stderr lacks the failure:\n{}", transcript(&output));

    // A pattern that does not parse stops at policy load, naming the key and the fix.
    let output = exec_http("\"127.0.0.1:http\"", &url, dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    let said = transcript(&output);
    assert!(said.contains("plugins.http.http.hosts: `127.0.0.1:http`: the port `http`") && said.contains("HOST:PORT"), "{said}");
}

#[test]
fn every_exec_failure_is_on_stderr() {
    // A config the plugin rejects (exit 2) and a tool that answers status error (exit 1):
    // both failures happen inside the call.
    let dir = tempfile::tempdir().unwrap();
    let invalid = host(&["exec", "--tool", "noop"], &json!({"config": {"result": 1, "args": 2}}).to_string());
    let unreachable = exec_http("\"127.0.0.1\"", "http://127.0.0.1:1/x", dir.path());
    for output in [invalid, unreachable] {
        assert_ne!(output.status.code(), Some(0), "{}", transcript(&output));
        let response: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&output)));
        assert_eq!(response["status"], "error", "{}", transcript(&output));
        let error = response["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{}", transcript(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("error: ") && stderr.contains(error.lines().next().unwrap()), "{}", transcript(&output));
    }
}
