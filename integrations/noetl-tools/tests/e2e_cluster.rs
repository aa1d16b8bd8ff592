//! On the test control plane (tests/cluster: real apiserver and Job controller, kwok as the
//! kubelet with its canned log): every spec example through upstream's registry, and
//! `submit` + `resume` across a dropped and re-created host.
//! `NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh) cargo test -p noetl-host-tools --test e2e_cluster -- --ignored`

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use noetl_host::backend::kubernetes::KubeOptions;
use noetl_host::policy::Policy;
use noetl_host_tools::WorkerHost;
use noetl_tests::http::TestServer;
use noetl_tools::ToolStatus;
use serde_json::{Value, json};
use support::*;

/// kwok's canned log of a script container in namespace `noetl` (tests/cluster/README.md).
const CANNED_RESULT: &str = r#"{"result": "success", "count": 100}"#;

fn kubeconfig() -> PathBuf {
    let path = std::env::var_os("NOETL_TEST_KUBECONFIG")
        .expect("NOETL_TEST_KUBECONFIG is not set: `export NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh)` first");
    PathBuf::from(path)
}

async fn cluster_host(policy: &str) -> Arc<WorkerHost> {
    let policy = if policy.is_empty() {
        Policy::default_policy()
    } else {
        Policy::parse(policy).unwrap()
    };
    let options = KubeOptions {
        kubeconfig: Some(kubeconfig()),
        ..KubeOptions::default()
    };
    Arc::new(WorkerHost::kubernetes(policy, options).await.unwrap())
}

#[tokio::test]
#[ignore = "needs the test cluster (NOETL_TEST_KUBECONFIG)"]
async fn every_spec_example_runs_as_a_job_through_upstreams_registry() {
    let server = TestServer::start(|path, _| match path {
        "/scripts/process.py" => (200, "print('fetched')\n".into()),
        _ => (404, "{}".into()),
    });
    let uri = format!("{}/scripts/process.py", server.url());
    let policy = "plugins:\n  template: {secrets: {names: [EXTERNAL_API_KEY]}}\n  script:\n    fetch: {hosts: [127.0.0.1]}\n";
    let host = cluster_host(policy).await;
    let registry = registry(&host);
    for name in [
        "01-basic-python.yaml",
        "02-dependencies.yaml",
        "03-env-secrets.yaml",
        "04-http-source.yaml",
        "05-node.yaml",
        "06-resource-limits.yaml",
    ] {
        let (step, tool) = example(name);
        let tool: Value = serde_json::from_str(&tool.to_string().replace(
            "https://raw.githubusercontent.com/org/repo/main/scripts/process.py",
            &uri,
        ))
        .unwrap();
        let id = execution_id();
        let ctx = context(
            id,
            &step,
            json!({}),
            &[("EXTERNAL_API_KEY", "canary-e2e-4411")],
        );
        let result = registry
            .execute_from_config(&tool_config(&tool, None), &ctx)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(result.status, ToolStatus::Success, "{name}: {result:#?}");
        let data = result.data.clone().unwrap();
        assert_eq!(data["status"], "completed", "{name}");
        assert_eq!(data["namespace"], "noetl", "{name}");
        assert!(
            data["job_name"]
                .as_str()
                .unwrap()
                .starts_with(&format!("noetl-script-{id}")),
            "{name}: {data:#}"
        );
        assert_eq!(result.exit_code, Some(0), "{name}");
        assert_eq!(
            result.stdout.as_deref().map(str::trim),
            Some(CANNED_RESULT),
            "{name}"
        );
    }
    assert_eq!(
        server.seen_headers.lock().unwrap().len(),
        1,
        "example 04's script was fetched once"
    );
}

#[tokio::test]
#[ignore = "needs the test cluster (NOETL_TEST_KUBECONFIG)"]
async fn submit_returns_at_once_and_a_new_host_resumes_the_job_by_its_labels() {
    let (step, mut tool) = example("01-basic-python.yaml");
    // Long enough that the job is still running when the first host is gone.
    tool["job"]["annotations"] = json!({"test.noetl.io/duration": "4s"});
    let config = tool_config(&tool, None);
    let ctx = context(execution_id(), &step, json!({}), &[]);

    let first = cluster_host("").await;
    let submitted = first.submit(&config, &ctx).await.unwrap();
    assert_eq!(submitted.pending_callback, Some(true), "{submitted:#?}");
    let reference = submitted.data.clone().unwrap();
    assert_eq!(reference["status"], "submitted");
    assert_eq!(
        (reference["execution_id"].clone(), reference["step"].clone()),
        (json!(ctx.execution_id.to_string()), json!(step))
    );
    // Submitting again (a retried command) finds the same Job instead of a second one.
    assert_eq!(
        first.submit(&config, &ctx).await.unwrap().data.unwrap()["uid"],
        reference["uid"]
    );
    drop(first);

    let second = cluster_host("").await;
    let result = second.resume(&config, &ctx).await.unwrap();
    assert_eq!(result.status, ToolStatus::Success, "{result:#?}");
    let data = result.data.unwrap();
    assert_eq!(data["job_name"], reference["job_name"]);
    assert_eq!(data["status"], "completed");
    assert_eq!(result.stdout.as_deref().map(str::trim), Some(CANNED_RESULT));
    assert_eq!(result.pending_callback, None);
}

#[tokio::test]
#[ignore = "needs the test cluster (NOETL_TEST_KUBECONFIG)"]
async fn resume_without_a_submitted_job_creates_nothing_and_says_so() {
    let (step, tool) = example("01-basic-python.yaml");
    let ctx = context(execution_id(), &step, json!({}), &[]);
    let host = cluster_host("").await;
    let error = host
        .resume(&tool_config(&tool, None), &ctx)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no Job of execution") && error.contains("submit the step again"),
        "{error}"
    );
    // Still none: resume never creates one.
    let again = host
        .resume(&tool_config(&tool, None), &ctx)
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("no Job of execution"), "{again}");
}
