//! The local backend against real processes: bundles built by hand exactly as the script
//! plugin plans them (ConfigMap `{job}-script` at /scripts with `args.json`, optional Secret
//! `{job}-env`, Job last; argv via `$(NOETL_ARGS)`; deps in an `install-dependencies` init
//! container into the `deps` emptyDir). No assertion depends on timing.

use base64::Engine;
use noetl_host::backend::local::{LocalBackend, LocalConfig};
use noetl_host::backend::{JobBundle, JobOutcome, JobStatus, Manifest};
use serde_json::{Value, json};
use std::path::Path;

struct Step<'a> {
    job: &'a str,
    image: &'a str,
    file: &'a str,
    script: &'a str,
    args: Value,
    deps: Vec<&'a str>,
    env: Vec<(&'a str, &'a str)>,
    backoff_limit: i32,
    deadline: i64,
    memory: Option<&'a str>,
    cpu: Option<&'a str>,
}

impl<'a> Step<'a> {
    fn python(job: &'a str, script: &'a str) -> Self {
        Step {
            job,
            image: "python:3.11-slim",
            file: "script.py",
            script,
            args: json!({}),
            deps: vec![],
            env: vec![],
            backoff_limit: 0,
            deadline: 120,
            memory: None,
            cpu: None,
        }
    }

    fn bundle(&self) -> JobBundle {
        let job = self.job;
        let python = self.file.ends_with(".py");
        let runtime = if python { "python3" } else { "node" };
        let cm = format!("{job}-script");
        let secret = format!("{job}-env");
        let mut manifests = vec![Manifest {
            kind: "ConfigMap".into(),
            name: cm.clone(),
            body: json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": cm, "namespace": "noetl"},
                "data": {self.file: self.script, "args.json": self.args.to_string()}
            }),
        }];
        let mut env = vec![
            json!({"name": "NOETL_ARGS", "valueFrom": {"configMapKeyRef": {"name": cm, "key": "args.json"}}}),
            json!({"name": "HOME", "value": "/tmp"}),
        ];
        if !self.env.is_empty() {
            // Half the values as base64 `data`, half as `stringData`: both must arrive.
            let (data, string_data): (Vec<_>, Vec<_>) = self.env.iter().enumerate().partition(|(i, _)| i % 2 == 0);
            let b64 = base64::engine::general_purpose::STANDARD;
            manifests.push(Manifest {
                kind: "Secret".into(),
                name: secret.clone(),
                body: json!({
                    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": secret, "namespace": "noetl"},
                    "data": data.iter().map(|(_, (k, v))| (k.to_string(), json!(b64.encode(v)))).collect::<serde_json::Map<_, _>>(),
                    "stringData": string_data.iter().map(|(_, (k, v))| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                }),
            });
            for (k, _) in &self.env {
                env.push(json!({"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}}));
            }
        }
        let mut mounts = vec![
            json!({"name": "script", "mountPath": "/scripts", "readOnly": true}),
            json!({"name": "tmp", "mountPath": "/tmp"}),
        ];
        let mut volumes = vec![
            json!({"name": "script", "configMap": {"name": cm}}),
            json!({"name": "tmp", "emptyDir": {}}),
        ];
        let security = json!({
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]}
        });
        let mut init = vec![];
        if !self.deps.is_empty() {
            mounts.push(json!({"name": "deps", "mountPath": "/deps"}));
            volumes.push(json!({"name": "deps", "emptyDir": {}}));
            env.push(json!({"name": "PYTHONPATH", "value": "/deps"}));
            let mut argv = vec![
                "python3", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--target", "/deps", "--",
            ];
            argv.extend(&self.deps);
            init.push(json!({
                "name": "install-dependencies", "image": self.image, "command": argv,
                "env": [{"name": "HOME", "value": "/tmp"}],
                "securityContext": security,
                "volumeMounts": [{"name": "deps", "mountPath": "/deps"}, {"name": "tmp", "mountPath": "/tmp"}],
            }));
        }
        let mut resources = json!({"requests": {"cpu": "100m"}});
        if let Some(m) = self.memory {
            resources["limits"]["memory"] = json!(m);
        }
        if let Some(cpu) = self.cpu {
            resources["limits"]["cpu"] = json!(cpu);
        }
        let script_container = json!({
            "name": "script", "image": self.image,
            "command": [runtime, format!("/scripts/{}", self.file), "$(NOETL_ARGS)"],
            "env": env, "resources": resources, "securityContext": security, "volumeMounts": mounts,
        });
        let labels = json!({"app.kubernetes.io/managed-by": "noetl-host", "noetl.io/tool": "script"});
        manifests.push(Manifest {
            kind: "Job".into(),
            name: job.into(),
            body: json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": job, "namespace": "noetl", "labels": labels},
                "spec": {
                    "backoffLimit": self.backoff_limit,
                    "activeDeadlineSeconds": self.deadline,
                    "ttlSecondsAfterFinished": 300,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "restartPolicy": "Never",
                            "securityContext": {
                                "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000,
                                "seccompProfile": {"type": "RuntimeDefault"}
                            },
                            "initContainers": init,
                            "containers": [script_container],
                            "volumes": volumes,
                        }
                    }
                }
            }),
        });
        JobBundle { namespace: "noetl".into(), job_name: job.into(), manifests, timeout_seconds: 600 }
    }
}

/// A backend with its own cache and work dirs, so tests can check what is left behind.
struct Harness {
    backend: LocalBackend,
    work: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        Self::with_pids_limit(LocalConfig::default().pids_limit)
    }

    fn with_pids_limit(pids_limit: u64) -> Self {
        Self::with_bounds(pids_limit, true)
    }

    /// `cgroups: false` forces the rlimit fallback (`local.cgroups: false`).
    fn with_bounds(pids_limit: u64, cgroups: bool) -> Self {
        let work = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(LocalConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            work_dir: Some(work.path().to_path_buf()),
            pids_limit,
            cgroups,
            ..LocalConfig::default()
        })
        .unwrap();
        Harness { backend, work, cache }
    }

    async fn run(&self, step: &Step<'_>) -> JobOutcome {
        let outcome = self.backend.run(&step.bundle()).await.unwrap();
        self.assert_no_temp_dirs_left();
        outcome
    }

    fn assert_no_temp_dirs_left(&self) {
        let left: Vec<_> = std::fs::read_dir(self.work.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(left.is_empty(), "temp dirs left behind: {left:?}");
        let staging = self.cache.path().join("staging");
        let left: Vec<_> = std::fs::read_dir(&staging).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(left.is_empty(), "staging dirs left behind: {left:?}");
    }

    fn cached_envs(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.cache.path().join("envs")).unwrap().map(|e| e.unwrap().path()).collect()
    }
}

fn output_json(outcome: &JobOutcome) -> Value {
    serde_json::from_str(outcome.output.trim())
        .unwrap_or_else(|e| panic!("output is not JSON ({e}): {outcome:#?}"))
}

#[tokio::test]
async fn python_script_gets_args_as_argv1_unexpanded() {
    let h = Harness::new();
    let mut step = Step::python(
        "noetl-script-py-ok",
        "import json, sys\nargs = json.loads(sys.argv[1])\nprint(json.dumps({'input': args, 'count': len(args['items']), 'argc': len(sys.argv)}))\n",
    );
    // `$(...)` and `$$` inside the args must reach the script verbatim: only the command is
    // expanded, once, and the value of NOETL_ARGS is not expanded again.
    step.args = json!({"items": [1, 2, 3], "text": "$(HOME) $$ $(NOETL_ARGS) é"});
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!((outcome.succeeded, outcome.failed), (1, 0));
    assert_eq!(outcome.pod_name.as_deref(), Some("noetl-script-py-ok-local-1"));
    assert_eq!(
        output_json(&outcome),
        json!({"input": {"items": [1, 2, 3], "text": "$(HOME) $$ $(NOETL_ARGS) é"}, "count": 3, "argc": 2})
    );
    assert!(!outcome.output_truncated);
}

#[tokio::test]
async fn node_script_gets_args_as_argv2() {
    let h = Harness::new();
    let mut step = Step::python(
        "noetl-script-node-ok",
        "const args = JSON.parse(process.argv[2] || '{}');\nconsole.log(JSON.stringify({input: args, processed: true}));\n",
    );
    step.image = "node:20-slim";
    step.file = "script.js";
    step.args = json!({"message": "Hello from Node.js"});
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert_eq!(output_json(&outcome), json!({"input": {"message": "Hello from Node.js"}, "processed": true}));
}

#[tokio::test]
async fn failing_script_is_retried_backoff_limit_times_with_its_real_exit_code() {
    let h = Harness::new();
    let mut step = Step::python(
        "noetl-script-exit3",
        "import sys\nprint('partial result')\nprint('boom', file=sys.stderr)\nsys.exit(3)\n",
    );
    step.backoff_limit = 3;
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Failed, "{outcome:#?}");
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!((outcome.succeeded, outcome.failed), (0, 4));
    assert_eq!(outcome.pod_name.as_deref(), Some("noetl-script-exit3-local-4"));
    assert_eq!(outcome.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(outcome.output.trim(), "partial result");
    assert_eq!(outcome.stderr.as_deref().map(str::trim), Some("boom"));
}

#[tokio::test]
async fn deadline_kills_the_whole_process_tree() {
    let h = Harness::new();
    let marker = format!("noetl-tree-marker-{}", std::process::id());
    let script = format!(
        "import subprocess, sys, time\n\
         subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', '{marker}'])\n\
         print('started', flush=True)\n\
         time.sleep(1000)\n"
    );
    let mut step = Step::python("noetl-script-timeout", &script);
    step.deadline = 2;
    step.backoff_limit = 2;
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Timeout, "{outcome:#?}");
    assert_eq!(outcome.execution_seconds, 2.0);
    assert_eq!(outcome.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(outcome.output.trim(), "started");
    // The grandchild must be gone too: nothing on the host still carries the marker.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(!cmdline.contains(&marker), "process survived the deadline: {cmdline}");
        }
    }
}

#[tokio::test]
async fn memory_limit_stops_a_script_allocating_far_beyond_it() {
    let h = Harness::new();
    let mut step = Step::python(
        "noetl-script-oom",
        "data = bytearray(2 * 1024 ** 3)\nprint('allocated', len(data))\n",
    );
    step.memory = Some("128Mi");
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Failed, "{outcome:#?}");
    assert_eq!(outcome.reason.as_deref(), Some("OOMKilled"), "{outcome:#?}");
    // Under a memory cgroup the kernel kills the tree (137); under the rlimit fallback the
    // allocation fails and Python exits with MemoryError (1).
    let expected = if cgroup_v1_available() { 137 } else { 1 };
    assert_eq!(outcome.exit_code, Some(expected), "{outcome:#?}");
    assert!(outcome.message.as_deref().unwrap().contains("resources.limits.memory"));
    assert!(!outcome.output.contains("allocated"));

    // The same limit leaves room for a script that stays under it.
    let mut small = Step::python("noetl-script-small", "data = bytearray(64 * 1024 ** 2)\nprint('allocated', len(data))\n");
    small.memory = Some("128Mi");
    let outcome = h.run(&small).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");

    // node starts under a limit (RLIMIT_AS would kill it at start-up).
    let mut node = Step::python("noetl-script-node-mem", "console.log(JSON.stringify({ok: true}));\n");
    node.image = "node:20-slim";
    node.file = "script.js";
    node.memory = Some("256Mi");
    let outcome = h.run(&node).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
}

#[tokio::test]
async fn dependencies_install_from_pypi_once_and_then_come_from_the_cache() {
    let h = Harness::new();
    let mut first = Step::python(
        "noetl-script-deps-1",
        "import json, six\nprint(json.dumps({'version': six.__version__, 'file': six.__file__}))\n",
    );
    first.deps = vec!["six==1.16.0"];
    let outcome = h.run(&first).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    let out = output_json(&outcome);
    assert_eq!(out["version"], "1.16.0");
    assert!(out["file"].as_str().unwrap().starts_with("/deps/"), "{out}");

    // Drop a marker module into the cached environment: the second run can only import it
    // if it mounted that same environment instead of installing a fresh one.
    let envs = h.cached_envs();
    assert_eq!(envs.len(), 1, "{envs:?}");
    std::fs::write(envs[0].join("deps/noetl_cache_marker.py"), "VALUE = 'from-cache'\n").unwrap();

    let mut second = Step::python(
        "noetl-script-deps-2",
        "import json, six, noetl_cache_marker\n\
         try:\n    open('/deps/written-by-script', 'w')\n    writable = True\n\
         except OSError:\n    writable = False\n\
         print(json.dumps({'marker': noetl_cache_marker.VALUE, 'deps_writable': writable}))\n",
    );
    second.deps = vec!["six==1.16.0"];
    let outcome = h.run(&second).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert_eq!(output_json(&outcome), json!({"marker": "from-cache", "deps_writable": false}));
    assert_eq!(h.cached_envs(), envs);
}

#[tokio::test]
async fn failed_install_reports_dependency_install_failed_and_skips_the_script() {
    let h = Harness::new();
    let mut step = Step::python("noetl-script-deps-bad", "print('SCRIPT RAN')\n");
    step.deps = vec!["noetl-no-such-package-zz9==0.0.1"];
    step.backoff_limit = 2;
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Failed, "{outcome:#?}");
    assert_eq!(outcome.reason.as_deref(), Some("DependencyInstallFailed"));
    assert_eq!(outcome.exit_code, Some(1));
    let message = outcome.message.as_deref().unwrap();
    assert!(message.contains("install-dependencies"), "{message}");
    assert!(message.contains("noetl-no-such-package-zz9"), "{message}");
    assert!(!outcome.output.contains("SCRIPT RAN"));
    assert!(h.cached_envs().is_empty(), "a failed install must not be cached");
}

#[tokio::test]
async fn env_comes_from_the_secret_and_nothing_from_the_host() {
    // SAFETY: set once before any sandbox of this test starts; Rust's env access is locked.
    unsafe { std::env::set_var("NOETL_LOCAL_HOST_CANARY", "host-canary-value-8c1f") };
    let h = Harness::new();
    let mut step = Step::python("noetl-script-env", "import json, os\nprint(json.dumps(dict(os.environ)))\n");
    step.env = vec![("API_KEY", "secret-canary-3f9a"), ("API_URL", "https://api.example.com")];
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    let env = output_json(&outcome);
    assert_eq!(env["API_KEY"], "secret-canary-3f9a");
    assert_eq!(env["API_URL"], "https://api.example.com");
    assert_eq!(env["HOME"], "/tmp");
    assert!(env.get("NOETL_LOCAL_HOST_CANARY").is_none());
    assert!(!outcome.output.contains("host-canary-value-8c1f"));
    // Only what the pod spec defines, plus the image-default PATH (and Python's own
    // LC_CTYPE locale coercion).
    let allowed = ["NOETL_ARGS", "HOME", "API_KEY", "API_URL", "PATH", "LC_CTYPE"];
    for key in env.as_object().unwrap().keys() {
        assert!(allowed.contains(&key.as_str()), "unexpected variable {key} in the sandbox");
    }
}

#[tokio::test]
async fn script_cannot_see_host_files_or_write_outside_its_volumes() {
    let h = Harness::new();
    let host_dir = tempfile::tempdir_in(std::env::var("HOME").unwrap()).unwrap();
    let host_file = host_dir.path().join("host-only.txt");
    std::fs::write(&host_file, "host secret").unwrap();
    let tmp_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp_file.path(), "host tmp secret").unwrap();
    let script = format!(
        "import json, os\n\
         def read(p):\n    try:\n        return open(p).read()\n    except OSError as e:\n        return 'denied'\n\
         def write(p):\n    try:\n        open(p, 'w').write('x')\n        return 'written'\n    except OSError as e:\n        return 'denied'\n\
         print(json.dumps({{\n\
           'host_file': read({host:?}), 'tmp_file': read({tmp:?}), 'history': read('/root/.bash_history'),\n\
           'shadow': read('/etc/shadow'),\n\
           'scripts': write('/scripts/x.py'), 'usr': write('/usr/noetl-x'), 'root': write('/noetl-x'),\n\
           'tmp': write('/tmp/x'), 'uid': os.getuid(), 'pid': os.getpid(),\n\
         }}))\n",
        host = host_file.to_str().unwrap(),
        tmp = tmp_file.path().to_str().unwrap(),
    );
    let outcome = h.run(&Step::python("noetl-script-fs", &script)).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert_eq!(
        output_json(&outcome),
        json!({
            "host_file": "denied", "tmp_file": "denied", "history": "denied", "shadow": "denied",
            "scripts": "denied", "usr": "denied", "root": "denied", "tmp": "written",
            "uid": 1000, "pid": 1,
        })
    );
    assert!(!Path::new("/usr/noetl-x").exists());
}

#[tokio::test]
async fn script_has_no_network() {
    let h = Harness::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "import socket\n\
         try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n    print('connected')\n\
         except OSError as e:\n    print('blocked')\n"
    );
    let outcome = h.run(&Step::python("noetl-script-net", &script)).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert_eq!(outcome.output.trim(), "blocked");
    assert_eq!(listener.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
}

#[tokio::test]
async fn output_is_bounded_and_keeps_the_tail() {
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(LocalConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        work_dir: Some(work.path().to_path_buf()),
        output_cap_bytes: 1000,
        ..LocalConfig::default()
    })
    .unwrap();
    let step = Step::python("noetl-script-big", "for i in range(100000):\n    print('line', i)\nprint('THE END')\n");
    let outcome = backend.run(&step.bundle()).await.unwrap();
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert!(outcome.output_truncated);
    assert!(outcome.output.len() <= 1000);
    assert!(outcome.output.ends_with("THE END\n"), "{}", outcome.output);
}

#[tokio::test]
async fn unmapped_image_is_a_clear_error_and_leaves_nothing() {
    let h = Harness::new();
    let mut step = Step::python("noetl-script-ruby", "puts 1");
    step.image = "ruby:3.3";
    let err = format!("{:#}", h.backend.run(&step.bundle()).await.unwrap_err());
    assert!(err.contains("`ruby:3.3` has no local runtime"), "{err}");
    assert!(err.contains("`*python*` -> `python3`") && err.contains("`node` -> `node`"), "{err}");
    assert!(err.contains("LocalConfig.image_runtimes"), "{err}");
    h.assert_no_temp_dirs_left();
}

#[tokio::test]
async fn bad_memory_quantity_names_the_field() {
    let h = Harness::new();
    let mut step = Step::python("noetl-script-badmem", "print(1)");
    step.memory = Some("lots");
    let err = format!("{:#}", h.backend.run(&step.bundle()).await.unwrap_err());
    assert!(err.contains("containers[script].resources.limits.memory"), "{err}");
    assert!(err.contains("512Mi"), "{err}");
    h.assert_no_temp_dirs_left();
}

/// Whether this host bounds local steps with cgroup v1 (as the reference machine does):
/// the host's own memory and pids cgroups accept a child directory.
fn cgroup_v1_available() -> bool {
    let probe = format!("noetl-probe-{}", std::process::id());
    ["memory", "pids"].iter().all(|controller| {
        let Some(home) = own_v1_cgroup(controller) else { return false };
        let dir = home.join(&probe);
        let made = std::fs::create_dir(&dir).is_ok();
        let _ = std::fs::remove_dir(&dir);
        made
    })
}

/// This process's cgroup of v1 `controller`, where the backend makes the steps' cgroups
/// (assumes the hierarchy is mounted at /sys/fs/cgroup/<controller> from its root).
fn own_v1_cgroup(controller: &str) -> Option<std::path::PathBuf> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = membership.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == controller).then_some(path.trim_start_matches('/').to_string())
    })?;
    let home = Path::new("/sys/fs/cgroup").join(controller).join(path);
    home.is_dir().then_some(home)
}

/// This process's cgroup in the unified (v2) hierarchy, where a delegated host makes them.
fn own_v2_cgroup() -> Option<std::path::PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount_point = mountinfo.lines().find(|line| line.contains(" - cgroup2 "))?.split(' ').nth(4)?.to_string();
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = membership.lines().find_map(|line| line.strip_prefix("0::"))?.trim_start_matches('/').to_string();
    let home = Path::new(&mount_point).join(path);
    home.is_dir().then_some(home)
}

/// The cgroups of `jobs` that still exist (the backend names them
/// `noetl-step-<pid>-<n>-<pod>`, the pod being `<job>-local-<attempt>`).
fn step_cgroups_left(jobs: &[&str]) -> Vec<std::path::PathBuf> {
    let prefix = format!("noetl-step-{}-", std::process::id());
    let ours = |name: &str| name.starts_with(&prefix) && jobs.iter().any(|job| name.contains(&format!("-{job}-local-")));
    ["memory", "pids", "cpu"]
        .iter()
        .filter_map(|c| own_v1_cgroup(c))
        .chain(own_v2_cgroup())
        .flat_map(|home| std::fs::read_dir(home).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|n| ours(&n.to_string_lossy())))
        .collect()
}

const QUICK_STEP: &str = "import json\nprint(json.dumps({'ok': True}))\n";

/// Runs `hostile` and, alongside it on the same backend, a normal step that must complete;
/// then checks the backend still serves, and that no cgroup is left behind.
async fn run_beside_a_normal_step(h: &Harness, hostile: &Step<'_>) -> JobOutcome {
    // Job names unique to this test: tests run in parallel in this process.
    let (beside_job, after_job) = (format!("{}-beside", hostile.job), format!("{}-after", hostile.job));
    let (hostile_bundle, normal) = (hostile.bundle(), Step::python(&beside_job, QUICK_STEP).bundle());
    let (outcome, beside) = tokio::join!(h.backend.run(&hostile_bundle), h.backend.run(&normal));
    let (outcome, beside) = (outcome.unwrap(), beside.unwrap());
    h.assert_no_temp_dirs_left();
    assert_eq!(beside.status, JobStatus::Completed, "the step run alongside must complete: {beside:#?}");
    let after = h.run(&Step::python(&after_job, QUICK_STEP)).await;
    assert_eq!(after.status, JobStatus::Completed, "the backend must keep serving: {after:#?}");
    let jobs = [hostile.job, beside_job.as_str(), after_job.as_str()];
    assert_eq!(step_cgroups_left(&jobs), Vec::<std::path::PathBuf>::new(), "cgroups left behind");
    outcome
}

/// Ends as the kernel would end it on Kubernetes: out of memory (137), or at its deadline.
fn assert_oom_killed_or_timed_out(outcome: &JobOutcome) {
    match outcome.status {
        JobStatus::Failed => {
            assert_eq!(outcome.reason.as_deref(), Some("OOMKilled"), "{outcome:#?}");
            assert_eq!(outcome.exit_code, Some(137), "{outcome:#?}");
        }
        JobStatus::Timeout => assert_eq!(outcome.reason.as_deref(), Some("DeadlineExceeded"), "{outcome:#?}"),
        _ => panic!("expected OOMKilled or DeadlineExceeded: {outcome:#?}"),
    }
}

/// Every child turns into a shell that keeps starting more; PID 1 keeps forking too. The
/// process limit (64 here) holds the storm, memory stays small, and the deadline ends it.
#[tokio::test]
async fn a_fork_bomb_is_held_by_the_process_limit_and_ended_at_its_deadline() {
    let h = Harness::with_pids_limit(64);
    let mut bomb = Step::python(
        "noetl-script-fork-bomb",
        "import os, time\n\
         while True:\n\
         \x20   try:\n\
         \x20       if os.fork() == 0:\n\
         \x20           os.execv('/bin/sh', ['sh', '-c', 'while :; do sh -c \"sleep 1000\" & done'])\n\
         \x20   except OSError:\n\
         \x20       time.sleep(0.01)\n",
    );
    bomb.memory = Some("128Mi");
    // Half a core: the storm must not take the machine's CPU either.
    bomb.cpu = Some("500m");
    bomb.deadline = 10;
    let outcome = run_beside_a_normal_step(&h, &bomb).await;
    assert_oom_killed_or_timed_out(&outcome);
    if cgroup_v1_available() {
        let message = outcome.message.as_deref().unwrap_or_default();
        assert!(message.contains("process limit of 64"), "{outcome:#?}");
    }
}

/// The rlimit fallback (forced here; a host without usable cgroups gets it anyway) holds a
/// fork storm too: `RLIMIT_NPROC` binds even when the host runs as root, because its
/// sandboxes then have a dedicated real uid. The storm's own PID 1 reports the refusal;
/// the deadline ends it, and a step alongside completes.
#[tokio::test]
async fn under_the_fallback_a_fork_storm_is_held_by_rlimit_nproc_and_ended_at_its_deadline() {
    let h = Harness::with_bounds(32, false);
    let mut storm = Step::python(
        "noetl-script-fallback-storm",
        "import os, time\n\
         said = False\n\
         while True:\n\
         \x20   try:\n\
         \x20       if os.fork() == 0:\n\
         \x20           time.sleep(1000)\n\
         \x20           os._exit(0)\n\
         \x20   except OSError as e:\n\
         \x20       if not said:\n\
         \x20           print('fork refused:', e.strerror, flush=True)\n\
         \x20           said = True\n\
         \x20       time.sleep(0.01)\n",
    );
    storm.memory = Some("128Mi");
    storm.deadline = 5;
    let outcome = run_beside_a_normal_step(&h, &storm).await;
    assert_eq!(outcome.status, JobStatus::Timeout, "{outcome:#?}");
    assert_eq!(outcome.reason.as_deref(), Some("DeadlineExceeded"), "{outcome:#?}");
    assert!(outcome.output.contains("fork refused: Resource temporarily unavailable"), "{outcome:#?}");
}

/// Under the fallback on a root host the sandbox has another real uid: the dependency
/// install still writes its environment, and the script reads it and its own files.
#[tokio::test]
async fn under_the_fallback_dependencies_install_and_the_script_runs() {
    let h = Harness::with_bounds(LocalConfig::default().pids_limit, false);
    let mut step = Step::python(
        "noetl-script-fallback-deps",
        "import json, os, six\n\
         open('/tmp/scratch', 'w').write('x')\n\
         print(json.dumps({'version': six.__version__, 'uid': os.geteuid()}))\n",
    );
    step.deps = vec!["six==1.16.0"];
    let outcome = h.run(&step).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:#?}");
    assert_eq!(output_json(&outcome)["version"], "1.16.0");
    // The pod's own (effective) uid inside, whatever the real one.
    assert_eq!(output_json(&outcome)["uid"], 1000);
}

/// `/tmp` is a tmpfs whose pages count in the step's memory: filling it ends the step.
#[tokio::test]
async fn filling_tmp_ends_the_step_at_its_memory_limit() {
    let h = Harness::new();
    let mut filler = Step::python(
        "noetl-script-tmp-filler",
        "chunk = b'x' * (1 << 20)\n\
         with open('/tmp/fill', 'wb') as f:\n\
         \x20   for _ in range(100000):\n\
         \x20       f.write(chunk)\n\
         \x20       f.flush()\n\
         print('wrote 100 GB')\n",
    );
    filler.memory = Some("64Mi");
    filler.deadline = 60;
    let outcome = run_beside_a_normal_step(&h, &filler).await;
    if cgroup_v1_available() {
        assert_oom_killed_or_timed_out(&outcome);
    } else {
        // Without cgroups the sized tmpfs is the bound: the write fails when it is full.
        assert_eq!(outcome.status, JobStatus::Failed, "{outcome:#?}");
        assert!(outcome.stderr.as_deref().unwrap_or_default().contains("No space left"), "{outcome:#?}");
    }
    assert!(!outcome.output.contains("wrote"), "{outcome:#?}");
}

/// Many small allocations, each under any per-allocation check, past the limit in total.
#[tokio::test]
async fn allocating_past_the_limit_is_oom_killed() {
    let h = Harness::new();
    let mut hog = Step::python(
        "noetl-script-hog",
        "hoard = []\n\
         for _ in range(100000):\n\
         \x20   hoard.append(bytearray(1 << 20))\n\
         print('kept', len(hoard))\n",
    );
    hog.memory = Some("64Mi");
    hog.deadline = 60;
    let outcome = run_beside_a_normal_step(&h, &hog).await;
    assert_eq!(outcome.reason.as_deref(), Some("OOMKilled"), "{outcome:#?}");
    if cgroup_v1_available() {
        assert_oom_killed_or_timed_out(&outcome);
        assert!(outcome.message.as_deref().unwrap_or_default().contains("memory cgroup"), "{outcome:#?}");
    }
}
