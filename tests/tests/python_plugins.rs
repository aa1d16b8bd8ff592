//! Python plugins on the Python SDK (plugins/sdk-python), built with the componentize-py
//! that tests/setup.sh installs: the SDK's own tests, the example plugin
//! (examples/python-word-stats) through `exec` and a playbook, and the project
//! `plugins new --lang python` writes, built and run as its README says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use noetl_tests::{cli, host_bin, local, repo_root};
use serde_json::{Value, json};

/// The venv tests/setup.sh installs componentize-py into: the version the SDK's
/// pyproject.toml pins, under the user's cache directory.
fn componentize_py_venv() -> PathBuf {
    let pyproject =
        std::fs::read_to_string(repo_root().join("plugins/sdk-python/pyproject.toml")).unwrap();
    let version = pyproject
        .split("\"componentize-py==")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("plugins/sdk-python/pyproject.toml pins componentize-py==VERSION");
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    let venv = cache.join(format!("noetl-host/componentize-py-{version}"));
    assert!(
        venv.join("bin/componentize-py").is_file(),
        "{} has no componentize-py: run tests/setup.sh (it installs componentize-py {version})",
        venv.display()
    );
    venv
}

/// Where the Python tests put what they build: under this checkout's `target/`.
fn work_dir() -> PathBuf {
    let dir = host_bin()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("python-plugins");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The compiled-component cache the example's tests share: compiling the componentized
/// example (about 18 MB) is the slow part of loading it, so it is compiled once per run.
/// [`word_stats_wasm`] empties it first: componentize-py's output differs from build to
/// build, so an earlier run's entries (35 MB each) would never be used again.
fn example_cache() -> PathBuf {
    work_dir().join("host-cache")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the SDK package in `dir`: componentize-py writes `__pycache__` into every
/// directory of its Python path, and the checkout stays as it is.
fn sdk_copy(dir: &Path) -> PathBuf {
    let sdk = dir.join("sdk");
    copy_dir(&repo_root().join("plugins/sdk-python"), &sdk);
    sdk
}

/// Runs a tool of the venv; an active venv of the person running the tests stays out
/// (componentize-py would search its `VIRTUAL_ENV` for packages).
fn run(command: &mut Command) -> Output {
    let output = command.env_remove("VIRTUAL_ENV").output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `componentize-py -w tool componentize MODULE -o OUT`, the build command PLUGINS.md gives,
/// with the SDK and the project on its Python path.
fn componentize(python_path: &[&Path], module: &str, out: &Path) {
    let mut command = Command::new(componentize_py_venv().join("bin/componentize-py"));
    command.args(["-w", "tool", "componentize"]);
    for dir in python_path {
        command.arg("-p").arg(dir);
    }
    run(command
        .arg(module)
        .arg("-o")
        .arg(out)
        .current_dir(python_path[0]));
}

/// `python -m unittest` in `dir`, with `python_path` importable (no bytecode written);
/// passes when every test passed and `expected` (a test's name) was among them.
fn unittest(dir: &Path, python_path: &[&Path], expected: &str) {
    let python_path = std::env::join_paths(python_path).unwrap();
    let output = run(Command::new(componentize_py_venv().join("bin/python"))
        .args(["-B", "-m", "unittest", "discover", "-v", "-s"])
        .arg(dir)
        .current_dir(dir)
        .env("PYTHONPATH", python_path));
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        report.contains(&format!("{expected} (")) && report.trim_end().ends_with("OK"),
        "{report}"
    );
}

/// The example plugin, built once per test run (the example's tests share it).
fn word_stats_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let build = tempfile::tempdir().unwrap();
        let sdk = sdk_copy(build.path());
        let example = build.path().join("example");
        copy_dir(&repo_root().join("examples/python-word-stats"), &example);
        let wasm = work_dir().join("word_stats.wasm");
        componentize(&[&example, &sdk], "word_stats", &wasm);
        let _ = std::fs::remove_dir_all(example_cache());
        std::fs::create_dir_all(example_cache()).unwrap();
        wasm
    })
}

fn exec(config: Value, args: &[&str]) -> Output {
    let wasm = word_stats_wasm().to_str().unwrap();
    let mut all = vec!["exec", "--tool", "word-stats", "--plugin", wasm];
    all.extend_from_slice(args);
    cli::run(
        &all,
        &json!({"config": config, "context": {"step": "count"}}).to_string(),
        &example_cache(),
    )
}

#[test]
fn the_sdk_s_own_tests_pass_against_generated_bindings() {
    let work = tempfile::tempdir().unwrap();
    let sdk = sdk_copy(work.path());
    // The stub bindings componentize-py generates for IDEs, in the package's `bindings`.
    run(
        Command::new(componentize_py_venv().join("bin/componentize-py"))
            .args([
                "-d",
                "noetl_plugin/wit",
                "-w",
                "tool",
                "--world-module",
                "noetl_plugin.bindings",
                "bindings",
                ".",
            ])
            .current_dir(&sdk),
    );
    unittest(
        &sdk.join("tests"),
        &[&sdk],
        "test_every_field_error_reaches_the_host",
    );
}

#[test]
fn the_example_s_own_tests_pass_natively() {
    let work = tempfile::tempdir().unwrap();
    let sdk = sdk_copy(work.path());
    let example = work.path().join("example");
    copy_dir(&repo_root().join("examples/python-word-stats"), &example);
    unittest(
        &example,
        &[&example, &sdk],
        "test_every_bad_field_is_named_at_once",
    );
}

#[test]
fn the_example_loads_with_its_description_and_imports() {
    let wasm = word_stats_wasm().to_str().unwrap();
    let output = cli::run(
        &["plugins", "inspect", wasm, "--output", "json"],
        "",
        &example_cache(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    let info = cli::json_stdout(&output);
    assert_eq!(info["name"], "word-stats", "{info:#}");
    assert_eq!(info["contract"], "noetl:plugin@0.2.0", "{info:#}");
    assert_eq!(info["version"], "0.1.0", "{info:#}");
}

#[test]
fn the_example_counts_words_through_exec() {
    let output = exec(
        json!({"text": "The cat saw the other cat. THE END", "top": 2}),
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    let response = cli::json_stdout(&output);
    assert_eq!(response["status"], "success", "{response:#}");
    assert_eq!(
        response["data"],
        json!({"words": 8, "unique": 5, "top": [{"word": "the", "count": 3}, {"word": "cat", "count": 2}], "longest": "other"})
    );
}

#[test]
fn a_bad_config_names_every_field_and_exits_2() {
    let output = exec(json!({"top": "many", "case_sensitive": "yes"}), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", cli::stderr(&output));
    let response = cli::json_stdout(&output);
    let fields: Vec<&str> = response["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["tool.text", "tool.top", "tool.case_sensitive"],
        "{response:#}"
    );
    assert!(
        response["errors"][1]["fix"]
            .as_str()
            .unwrap()
            .contains("top: 5"),
        "{response:#}"
    );
}

#[test]
fn a_file_without_a_files_grant_is_denied_naming_the_policy_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "words").unwrap();
    let output = exec(
        json!({"file": "a.txt"}),
        &["--base-dir", dir.path().to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(3), "{}", cli::stderr(&output));
    let error = cli::json_stdout(&output)["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("denied") && error.contains("plugins.word-stats.files"),
        "{error}"
    );
}

#[test]
fn the_example_playbook_runs_with_its_policy() {
    let example = repo_root().join("examples/python-word-stats");
    let wasm = word_stats_wasm().to_str().unwrap();
    let policy = example.join("policy.yaml");
    let cache = example_cache();
    let output = local::run(
        &example.join("playbook.yaml"),
        &["--plugin", wasm, "--policy", policy.to_str().unwrap()],
        &[("NOETL_CACHE_DIR", cache.to_str().unwrap())],
    );
    let report = local::report(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{report:#}\nstderr: {}",
        cli::stderr(&output)
    );
    let first = &report["steps"][0]["response"]["data"];
    assert_eq!(first["words"], 14, "{report:#}");
    assert_eq!(
        first["top"],
        json!([{"word": "the", "count": 5}, {"word": "river", "count": 2}])
    );
    // The second step's text is made of the first one's result, rendered as text.
    assert_eq!(
        report["steps"][1]["response"]["data"],
        json!({"words": 3, "unique": 2, "top": [{"word": "the", "count": 2}], "longest": "remembers"})
    );
}

#[test]
fn a_new_python_plugin_builds_tests_loads_and_runs() {
    let work = tempfile::tempdir().unwrap();
    let sdk = sdk_copy(work.path());
    let project = work.path().join("greeter");
    let args = [
        "plugins",
        "new",
        "greeter",
        "--lang",
        "python",
        "--dir",
        project.to_str().unwrap(),
        "--sdk-path",
        sdk.to_str().unwrap(),
    ];
    let output = cli::run(&args, "", work.path());
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    for file in ["requirements.txt", "app.py", "test_app.py", "README.md"] {
        assert!(project.join(file).is_file(), "{file} not written");
    }
    let requirements = std::fs::read_to_string(project.join("requirements.txt")).unwrap();
    assert!(
        requirements.contains(&format!(
            "noetl-plugin-sdk[build] @ file://{}",
            sdk.canonicalize().unwrap().display()
        )),
        "{requirements}"
    );
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(
        readme.contains("componentize-py -w tool componentize app -o greeter.wasm"),
        "the README gives the build command"
    );

    unittest(
        &project,
        &[&project, &sdk],
        "test_replies_with_the_message_and_its_length",
    );
    let wasm = project.join("greeter.wasm");
    componentize(&[&project, &sdk], "app", &wasm);

    let request = json!({"config": {"message": "hello"}}).to_string();
    let output = cli::run(
        &[
            "exec",
            "--tool",
            "greeter",
            "--plugin",
            wasm.to_str().unwrap(),
        ],
        &request,
        work.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    assert_eq!(
        cli::json_stdout(&output)["data"],
        json!({"message": "hello", "length": 5})
    );
}

/// No plugin file takes the router's name: `plugins.router` configures the host's own router.
#[test]
fn a_plugin_file_named_router_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let sdk = sdk_copy(work.path());
    let project = work.path().join("router");
    let args = ["plugins", "new", "router", "--lang", "python", "--dir", project.to_str().unwrap(), "--sdk-path", sdk.to_str().unwrap()];
    let output = cli::run(&args, "", work.path());
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    let wasm = project.join("router.wasm");
    componentize(&[&project, &sdk], "app", &wasm);
    let output = cli::run(&["exec", "--tool", "router", "--plugin", wasm.to_str().unwrap()], "{\"config\": {}}", work.path());
    assert_eq!(output.status.code(), Some(2), "{}", cli::stderr(&output));
    let stderr = cli::stderr(&output);
    assert!(stderr.contains("the name of the host's built-in router"), "{stderr}");
    assert!(stderr.contains("give the tool another kind"), "{stderr}");
}

#[test]
fn a_python_project_refuses_an_sdk_path_that_is_not_the_python_sdk() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("p");
    let rust_sdk = repo_root().join("plugins/sdk");
    let args = [
        "plugins",
        "new",
        "p",
        "--lang",
        "python",
        "--dir",
        project.to_str().unwrap(),
        "--sdk-path",
        rust_sdk.to_str().unwrap(),
    ];
    let output = cli::run(&args, "", work.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        cli::stderr(&output).contains("no noetl_plugin/componentize-py.toml there"),
        "{}",
        cli::stderr(&output)
    );
    assert!(!project.exists());
}
