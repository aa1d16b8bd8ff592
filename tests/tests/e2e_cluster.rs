//! End-to-end: the real `noetl-host` binary runs the spec's example playbooks (and
//! modified copies of them) on the test control plane (tests/cluster: real apiserver,
//! Job controller, garbage collector, TTL controller, scheduler; kwok plays the kubelet).
//! Pod outcomes are chosen with kwok's `test.noetl.io/*` annotations in `job.annotations`.
//!
//! Ignored by default; `tests/run-all.sh` starts the cluster, exports
//! `NOETL_TEST_KUBECONFIG` and runs them. By hand:
//! `NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh) cargo test -p noetl-tests --test e2e_cluster -- --ignored`.

mod e2e_support;
#[path = "fetch_support/http_server.rs"]
mod http_server;

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use e2e_support::*;

/// What kwok's `logs/success.log` prints for every pod in namespace `noetl`.
const SUCCESS_LOG: &str = "{\"result\": \"success\", \"count\": 100}\n";
/// Canary secret value: must reach the cluster's Secret and nowhere else.
const CANARY: &str = "canary-e2e-4f1d9a7c";
const CANARY_ENV: (&str, &str) = ("NOETL_SECRET_EXTERNAL_API_KEY", CANARY);

/// A policy granting the script plugin fetch on the loopback test server (and the
/// template engine the secrets, as the default policy does).
fn write_fetch_policy(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("policy.yaml");
    std::fs::write(
        &path,
        "plugins:\n  script:\n    fetch: { hosts: [\"127.0.0.1\"] }\n  template:\n    secrets: { names: [\"*\"] }\n",
    )
    .unwrap();
    path
}

/// A playbook ready to run for example `number`, with whatever it needs from the host:
/// 04 gets its script from a loopback HTTP server under a fetch policy; 03 gets the canary
/// secret. Returns the playbook, extra global arguments and the server's runtime (kept
/// alive while the host runs).
struct Prepared {
    playbook: std::path::PathBuf,
    global: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    _server: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

fn prepare(number: &str) -> Prepared {
    let dir = tempfile::tempdir().unwrap();
    let (original, _) = example(number);
    match number {
        "04" => {
            let server = tokio::runtime::Runtime::new().unwrap();
            let port = server.block_on(http_server::start());
            let playbook = modified_example(dir.path(), number, |tool| {
                tool["script"]["uri"] = format!("http://127.0.0.1:{port}/ok").into();
            });
            let policy = write_fetch_policy(dir.path());
            Prepared {
                playbook,
                global: vec!["--policy".into(), policy.display().to_string()],
                env: vec![],
                _server: Some(server),
                _dir: dir,
            }
        }
        "03" => Prepared {
            playbook: original,
            global: vec![],
            env: vec![CANARY_ENV],
            _server: None,
            _dir: dir,
        },
        _ => Prepared {
            playbook: original,
            global: vec![],
            env: vec![],
            _server: None,
            _dir: dir,
        },
    }
}

fn run_prepared(prepared: &Prepared, execution_id: &str) -> HostRun {
    let global: Vec<&str> = prepared.global.iter().map(String::as_str).collect();
    let mut command = run_command(&prepared.playbook, execution_id, &kubeconfig(), &global);
    command.env_remove(CANARY_ENV.0);
    for (key, value) in &prepared.env {
        command.env(key, value);
    }
    run_with(command)
}

/// The spec example runs to completion on the cluster and reports the kwok pod's output.
fn example_succeeds(number: &str) -> (HostRun, String) {
    let prepared = prepare(number);
    let id = execution_id(&format!("ex{number}"));
    let host = run_prepared(&prepared, &id);
    host.expect_code(0);
    let report = host.report();
    assert_eq!(report["status"], "success", "{}", host.transcript());
    assert_eq!(report["execution_id"], id.as_str(), "{}", host.transcript());
    let response = host.step_response();
    assert_eq!(response["status"], "success", "{}", host.transcript());
    let data = &response["data"];
    assert_eq!(data["status"], "completed", "{}", host.transcript());
    assert_eq!(data["exit_code"], 0, "{}", host.transcript());
    assert_eq!(data["namespace"], "noetl", "{}", host.transcript());
    for field in ["job_name", "pod_name"] {
        assert!(
            data[field].as_str().is_some_and(|s| !s.is_empty()),
            "data.{field} missing:\n{}",
            host.transcript()
        );
    }
    assert_eq!(data["output"], SUCCESS_LOG, "{}", host.transcript());
    assert_eq!(
        data["result"],
        json!({"result": "success", "count": 100}),
        "{}",
        host.transcript()
    );
    // The Job the host reports is the one in the cluster, labelled with the execution id.
    let jobs = objects_of(&id, "jobs");
    assert_eq!(
        jobs,
        vec![format!("job.batch/{}", data["job_name"].as_str().unwrap())],
        "{}",
        host.transcript()
    );
    (host, id)
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn example_01_basic_python() {
    example_succeeds("01");
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn example_02_dependencies() {
    example_succeeds("02");
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn example_03_env_secrets_reach_the_secret_and_nothing_else() {
    let (host, id) = example_succeeds("03");
    assert!(
        !host.stdout.contains(CANARY) && !host.stderr.contains(CANARY),
        "the secret leaked:\n{}",
        host.transcript()
    );
    let selector = format!("noetl.io/execution-id={id}");
    let api_key = kubectl(&[
        "get",
        "secrets",
        "-n",
        "noetl",
        "-l",
        &selector,
        "-o",
        "go-template={{range .items}}{{.data.API_KEY | base64decode}}{{end}}",
    ]);
    assert_eq!(
        api_key, CANARY,
        "the Secret of execution {id} should hold the rendered API_KEY"
    );
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn example_04_http_source() {
    example_succeeds("04");
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn example_05_node() {
    example_succeeds("05");
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn example_06_resource_limits() {
    example_succeeds("06");
}

/// `noetl-host plan` of each example is accepted by the real apiserver (server-side dry
/// run: schema, defaulting, admission), Secret values redacted included.
#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn plans_of_every_example_pass_a_server_side_dry_run() {
    kubeconfig();
    for number in ["01", "02", "03", "04", "05", "06"] {
        let prepared = prepare(number);
        let id = execution_id(&format!("plan{number}"));
        let mut command = std::process::Command::new(noetl_tests::host_bin());
        command
            .args(&prepared.global)
            .arg("plan")
            .arg(&prepared.playbook)
            .args(["--execution-id", &id, "--seed", "42"])
            .env_remove("NOETL_POLICY")
            .env_remove(CANARY_ENV.0);
        let plan = HostRun::from_output(command.output().unwrap());
        plan.expect_code(0);
        assert!(
            plan.stdout.contains("kind: Job"),
            "example {number}: no Job in the plan:\n{}",
            plan.transcript()
        );
        let applied = kubectl_with_input(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&plan.stdout),
        );
        assert!(
            applied.contains("created (server dry run)"),
            "example {number}: {applied}\nplan:\n{}",
            plan.stdout
        );
        assert!(
            objects_of(&id, "jobs,configmaps,secrets").is_empty(),
            "a dry run of example {number} left objects behind"
        );
    }
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn failed_pod_reports_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = modified_example(dir.path(), "01", |tool| {
        behaviour(tool, &[("behavior", "fail"), ("exit-code", "3")]);
        set_job(tool, "backoff_limit", "0");
    });
    let host = run(&playbook, &execution_id("fail3"), &[]);
    host.expect_code(1);
    let response = host.step_response();
    assert_eq!(response["status"], "error", "{}", host.transcript());
    assert_eq!(response["data"]["exit_code"], 3, "{}", host.transcript());
    let error = response["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Job failed"),
        "error should say the Job failed:\n{}",
        host.transcript()
    );
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn backoff_limit_two_runs_three_pods() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = modified_example(dir.path(), "01", |tool| {
        behaviour(tool, &[("behavior", "fail")]);
        set_job(tool, "backoff_limit", "2");
        set_job(tool, "ttl_seconds_after_finished", "3600");
    });
    let id = execution_id("backoff");
    let host = run(&playbook, &id, &[]);
    host.expect_code(1);
    let response = host.step_response();
    assert_eq!(response["data"]["failed"], 3, "{}", host.transcript());
    let pods = objects_of(&id, "pods");
    assert_eq!(
        pods.len(),
        3,
        "expected three pods (one try + two retries), found {pods:?}\n{}",
        host.transcript()
    );
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn timeout_is_reported_and_the_job_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = modified_example(dir.path(), "01", |tool| {
        behaviour(tool, &[("behavior", "hang")]);
        set_job(tool, "timeout", "5");
    });
    let id = execution_id("timeout");
    let host = run(&playbook, &id, &[]);
    host.expect_code(1);
    let data = host.step_response()["data"].clone();
    assert_eq!(data["status"], "timeout", "{}", host.transcript());
    assert_eq!(
        data["execution_time"].as_f64(),
        Some(5.0),
        "{}",
        host.transcript()
    );
    // The host deletes a timed-out Job (whether its deadline or the host's backstop ended
    // it), and with it its pods: nothing of the execution keeps running or lingers.
    let selector = format!("noetl.io/execution-id={id}");
    eventually("the timed-out Job and its pods are gone", Duration::from_secs(60), || {
        let left = kubectl(&["get", "jobs,pods", "-A", "-l", &selector, "-o", "name"]);
        if left.trim().is_empty() { Ok(()) } else { Err(left) }
    });
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn image_pull_failure_is_a_start_failure() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = modified_example(dir.path(), "01", |tool| {
        behaviour(tool, &[("behavior", "image-pull-fail")])
    });
    let host = run(
        &playbook,
        &execution_id("pull"),
        &["--start-grace-seconds", "5"],
    );
    host.expect_code(1);
    let response = host.step_response();
    assert_eq!(
        response["data"]["status"],
        "start_failed",
        "{}",
        host.transcript()
    );
    assert!(
        response.to_string().contains("ImagePullBackOff"),
        "the error should name ImagePullBackOff:\n{}",
        host.transcript()
    );
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn missing_namespace_is_reported_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = modified_example(dir.path(), "03", |tool| {
        set_job(tool, "namespace", "does-not-exist")
    });
    // Granted, so that the request reaches the cluster (the default grant is `noetl`).
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "plugins:\n  script:\n    jobs: { namespaces: [does-not-exist] }\n  template:\n    secrets: { names: [\"*\"] }\n",
    )
    .unwrap();
    let id = execution_id("nons");
    let policy_arg = policy.display().to_string();
    let mut command = run_command(&playbook, &id, &kubeconfig(), &["--policy", &policy_arg]);
    command.env(CANARY_ENV.0, CANARY_ENV.1);
    let host = run_with(command);
    assert!(
        host.code == 1 || host.code == 4,
        "expected exit code 1 or 4:\n{}",
        host.transcript()
    );
    let said = format!("{}{}", host.stdout, host.stderr);
    assert!(
        said.contains("namespace does-not-exist does not exist"),
        "the error should name the namespace:\n{}",
        host.transcript()
    );
    assert!(
        !said.contains(CANARY),
        "the secret leaked:\n{}",
        host.transcript()
    );
    let left = objects_of(&id, "jobs,pods,configmaps,secrets");
    assert!(left.is_empty(), "objects were created: {left:?}");
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn ttl_zero_lets_the_cluster_collect_everything() {
    let dir = tempfile::tempdir().unwrap();
    // Example 03: it has every kind of object (ConfigMap, Secret, Job, Pod).
    let playbook = modified_example(dir.path(), "03", |tool| {
        set_job(tool, "ttl_seconds_after_finished", "0")
    });
    let id = execution_id("ttl");
    let mut command = run_command(&playbook, &id, &kubeconfig(), &[]);
    command.env(CANARY_ENV.0, CANARY_ENV.1);
    run_with(command).expect_code(0);
    eventually(
        "the TTL controller and garbage collector remove every object",
        Duration::from_secs(60),
        || {
            let left = objects_of(&id, "jobs,pods,configmaps,secrets");
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn a_killed_host_reattaches_to_its_job() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = modified_example(dir.path(), "01", |tool| {
        behaviour(tool, &[("behavior", "succeed"), ("duration", "15s")])
    });
    let id = execution_id("reattach");
    let mut first = run_command(&playbook, &id, &kubeconfig(), &[])
        .spawn()
        .unwrap();
    eventually(
        "the first host submitted its Job",
        Duration::from_secs(60),
        || {
            if let Ok(Some(status)) = first.try_wait() {
                return Err(format!("the first host ended before submitting: {status}"));
            }
            let jobs = objects_of(&id, "jobs");
            if jobs.is_empty() {
                Err("no Job yet".into())
            } else {
                Ok(())
            }
        },
    );
    first.kill().unwrap(); // SIGKILL: no cleanup, no goodbye
    first.wait().unwrap();
    let host = run(&playbook, &id, &[]);
    host.expect_code(0);
    assert_eq!(
        host.step_response()["data"]["status"],
        "completed",
        "{}",
        host.transcript()
    );
    let jobs = objects_of(&id, "jobs");
    assert_eq!(
        jobs.len(),
        1,
        "the second run should reattach, not submit again: {jobs:?}\n{}",
        host.transcript()
    );
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn rbac_denial_names_verb_resource_and_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let account = execution_id("norole");
    let (limited, token) = unbound_account_kubeconfig(dir.path(), &account, "noetl");
    let (playbook, _) = example("01");
    let id = execution_id("rbac");
    let host = run_with(run_command(&playbook, &id, &limited, &[]));
    kubectl(&["delete", "serviceaccount", &account, "-n", "noetl"]);
    assert_ne!(host.code, 0, "{}", host.transcript());
    let said = format!("{}{}", host.stdout, host.stderr);
    assert!(
        !said.contains(token.trim()),
        "the token leaked:\n{}",
        host.transcript()
    );
    let error = host.step_response()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let said = format!("{error}\n{}", host.stderr);
    // The API server's 403, explained: which verb on which resource in which namespace.
    assert!(
        said.contains("forbids the host to"),
        "the error should say Kubernetes forbids it:\n{}",
        host.transcript()
    );
    let names_verb = ["list", "watch", "get", "create"]
        .iter()
        .any(|verb| said.contains(&format!("to {verb} ")));
    let names_resource = ["configmaps", "secrets", "jobs", "pods"]
        .iter()
        .any(|r| said.contains(&format!(" {r} in namespace")));
    assert!(
        names_verb && names_resource,
        "the error should name verb and resource:\n{}",
        host.transcript()
    );
    assert!(
        said.contains("namespace \"noetl\""),
        "the error should name the namespace:\n{}",
        host.transcript()
    );
    assert!(
        objects_of(&id, "jobs,pods,configmaps,secrets").is_empty(),
        "a denied run left objects behind"
    );
}

/// Without the cluster, the ignored tests above must fail loudly, not pass: run one of
/// them in a child test process with `NOETL_TEST_KUBECONFIG` unset.
#[test]
fn without_the_cluster_the_ignored_tests_fail_and_say_how_to_start_it() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "example_01_basic_python",
            "--test-threads",
            "1",
        ])
        .env_remove("NOETL_TEST_KUBECONFIG")
        .output()
        .unwrap();
    let run = HostRun::from_output(output);
    assert_ne!(
        run.code,
        0,
        "the test passed without a cluster:\n{}",
        run.transcript()
    );
    assert!(
        run.stdout.contains("1 failed") || run.stderr.contains("1 failed"),
        "{}",
        run.transcript()
    );
    assert!(
        format!("{}{}", run.stdout, run.stderr)
            .contains("start the test cluster with tests/run-all.sh"),
        "the failure should say how to start the cluster:\n{}",
        run.transcript()
    );
}
