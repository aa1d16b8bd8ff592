//! Helpers of the end-to-end tests: the test cluster (tests/cluster), its kubectl, the
//! `noetl-host` binary, and modified copies of the spec's example playbooks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin kubeconfig of the running test cluster. Tests that need the cluster fail
/// (never pass) when it is not there.
pub fn kubeconfig() -> PathBuf {
    let path = std::env::var_os("NOETL_TEST_KUBECONFIG").unwrap_or_else(|| {
        panic!(
            "NOETL_TEST_KUBECONFIG is not set: start the test cluster with tests/run-all.sh, or \
             `export NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh)` before `cargo test -- --ignored`"
        )
    });
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "NOETL_TEST_KUBECONFIG={} does not exist: is the test cluster up (tests/cluster/up.sh)?",
        path.display()
    );
    path
}

/// The cluster's own kubectl (built by tests/cluster/build.sh, same version as the server).
fn kubectl_bin() -> PathBuf {
    let cache = std::env::var_os("NOETL_CLUSTER_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/noetl-host/cluster")
        });
    let bin = cache.join("v1.34.4/bin/kubectl");
    assert!(
        bin.exists(),
        "{} is missing: run tests/cluster/build.sh",
        bin.display()
    );
    bin
}

/// kubectl against the test cluster as admin; panics with its stderr when it fails.
pub fn kubectl(args: &[&str]) -> String {
    kubectl_with_input(args, None)
}

pub fn kubectl_with_input(args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig())
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl");
    if let Some(input) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    let output = child.wait_with_output().expect("kubectl");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert!(
        output.status.success(),
        "kubectl {args:?} failed: {}\nstdout:\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    text(&output.stdout)
}

/// Names (`kind/name`) of objects of `kinds` (comma-separated) in every namespace that
/// carry this execution id label.
pub fn objects_of(execution_id: &str, kinds: &str) -> Vec<String> {
    let selector = format!("noetl.io/execution-id={execution_id}");
    kubectl(&[
        "get",
        kinds,
        "--all-namespaces",
        "-l",
        &selector,
        "-o",
        "name",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// Waits (bounded, for the controllers' eventual consistency) until `done` holds.
pub fn eventually(what: &str, limit: Duration, mut done: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match done() {
            Ok(()) => return,
            Err(state) if start.elapsed() > limit => {
                panic!("{what}: still not true after {limit:?}; last state: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// An execution id no other test (or earlier run of this one) uses.
pub fn execution_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "e2e-{tag}-{:x}{:04x}",
        nanos % 0xffffff,
        std::process::id() % 0xffff
    )
}

/// One finished `noetl-host` process.
pub struct HostRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl HostRun {
    pub fn from_output(output: Output) -> Self {
        HostRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Everything the process said, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The `--output json` report.
    pub fn report(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not the JSON report ({e}):\n{}",
                self.transcript()
            )
        })
    }

    /// The single step's response (`{status, data, error?}`).
    pub fn step_response(&self) -> Value {
        let report = self.report();
        let steps = report["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("no steps in the report:\n{}", self.transcript()));
        assert_eq!(steps.len(), 1, "expected one step:\n{}", self.transcript());
        steps[0]["response"].clone()
    }

    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "unexpected exit code:\n{}",
            self.transcript()
        );
        self
    }
}

/// `noetl-host [global...] run FILE --backend kubernetes --kubeconfig K --execution-id ID --output json`.
pub fn run_command(
    playbook: &Path,
    execution_id: &str,
    kubeconfig: &Path,
    global: &[&str],
) -> Command {
    let mut command = Command::new(noetl_tests::host_bin());
    command
        .args(global)
        .arg("run")
        .arg(playbook)
        .args(["--backend", "kubernetes", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["--execution-id", execution_id, "--output", "json"])
        .env_remove("KUBECONFIG")
        .env_remove("NOETL_POLICY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

pub fn run(playbook: &Path, execution_id: &str, global: &[&str]) -> HostRun {
    run_with(run_command(playbook, execution_id, &kubeconfig(), global))
}

pub fn run_with(mut command: Command) -> HostRun {
    HostRun::from_output(command.output().expect("start noetl-host"))
}

/// A spec example playbook (examples/playbooks/NN-*.yaml) as YAML.
pub fn example(number: &str) -> (PathBuf, serde_yaml::Value) {
    let dir = noetl_tests::repo_root().join("examples/playbooks");
    let path = std::fs::read_dir(&dir)
        .expect("examples/playbooks")
        .map(|e| e.expect("dir entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{number}-")))
        })
        .unwrap_or_else(|| panic!("no example {number}-*.yaml in {}", dir.display()));
    let yaml = serde_yaml::from_str(&std::fs::read_to_string(&path).expect("read example"))
        .expect("example is YAML");
    (path, yaml)
}

/// A copy of example `number` with `edit` applied to its (only) step's `tool`, written
/// into `dir`; the spec's files stay unchanged.
pub fn modified_example(
    dir: &Path,
    number: &str,
    edit: impl FnOnce(&mut serde_yaml::Value),
) -> PathBuf {
    let (original, mut yaml) = example(number);
    edit(&mut yaml["workflow"][0]["tool"]);
    let path = dir.join(original.file_name().expect("file name"));
    std::fs::write(&path, serde_yaml::to_string(&yaml).expect("YAML"))
        .expect("write playbook copy");
    path
}

/// Sets `tool.job.<key>` (a YAML snippet value).
pub fn set_job(tool: &mut serde_yaml::Value, key: &str, value: &str) {
    tool["job"][key] = serde_yaml::from_str(value).expect("YAML value");
}

/// The kwok behaviour annotations on the Job's pods.
pub fn behaviour(tool: &mut serde_yaml::Value, annotations: &[(&str, &str)]) {
    let mut map = serde_yaml::Mapping::new();
    for (key, value) in annotations {
        map.insert(format!("test.noetl.io/{key}").into(), (*value).into());
    }
    tool["job"]["annotations"] = serde_yaml::Value::Mapping(map);
}

/// Creates ServiceAccount `account` in `namespace` with no Role bound to it, and writes a
/// kubeconfig into `dir` that authenticates only with its token (and the cluster's CA), so
/// every request it makes is refused with 403. Returns the kubeconfig and the token (to
/// check it never leaks). Delete the account (or its namespace) when done.
pub fn unbound_account_kubeconfig(dir: &Path, account: &str, namespace: &str) -> (PathBuf, String) {
    let admin = kubeconfig();
    kubectl(&["create", "serviceaccount", account, "-n", namespace]);
    let token = kubectl(&["create", "token", account, "-n", namespace])
        .trim()
        .to_string();
    let server = kubectl(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]);
    let ca = admin.parent().unwrap().join("pki/ca.crt");
    assert!(
        ca.exists(),
        "{} is missing (tests/cluster layout changed?)",
        ca.display()
    );
    let path = dir.join("kubeconfig");
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "limited",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": ca}}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "limited", "context": {"cluster": "test", "user": account, "namespace": namespace}}],
    });
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    (path, token)
}
