//! End-to-end runs against a real control plane (tests/cluster: kube-apiserver, Job
//! controller, garbage collector, scheduler, kwok node). Ignored by default; run with
//! `tests/run-all.sh` (which starts the cluster and exports `NOETL_TEST_KUBECONFIG`), or by hand
//! `NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh) cargo test -p noetl-host --lib kubernetes::e2e -- --ignored`.

use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use super::naming::random_suffix;
use super::{KubeOptions, KubernetesBackend};
use crate::backend::{JobBundle, JobOutcome, JobStatus, Manifest};

async fn backend() -> KubernetesBackend {
    let kubeconfig = std::env::var("NOETL_TEST_KUBECONFIG").expect(
        "NOETL_TEST_KUBECONFIG is not set: start the test cluster with tests/run-all.sh, or \
         `export NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh)`",
    );
    let options = KubeOptions {
        kubeconfig: Some(kubeconfig.into()),
        start_failure_grace: Duration::from_secs(2),
        ..KubeOptions::default()
    };
    KubernetesBackend::connect(options).await.unwrap()
}

/// A script Job bundle shaped like the script plugin's, with kwok behaviour annotations.
fn bundle(
    namespace: &str,
    annotations: Value,
    install: bool,
    backoff_limit: i32,
    timeout_seconds: u32,
) -> JobBundle {
    let exec = format!("e2e{}", random_suffix());
    let job = format!("noetl-script-{exec}-{}", random_suffix());
    let cm = format!("{job}-script");
    let labels = json!({"app.kubernetes.io/managed-by": "noetl-host", "noetl.io/execution-id": exec, "noetl.io/step": "s1", "noetl.io/tool": "script"});
    let script = json!({"name": "script", "image": "python:3.11-slim", "command": ["python3", "/scripts/script.py", "$(NOETL_ARGS)"],
        "env": [{"name": "NOETL_ARGS", "valueFrom": {"configMapKeyRef": {"name": cm, "key": "args.json"}}}],
        "volumeMounts": [{"name": "script", "mountPath": "/scripts", "readOnly": true}]});
    let mut pod_spec = json!({"restartPolicy": "Never", "containers": [script],
        "volumes": [{"name": "script", "configMap": {"name": cm}}]});
    if install {
        pod_spec["initContainers"] = json!([{"name": "install-dependencies", "image": "python:3.11-slim",
            "command": ["python3", "-m", "pip", "install", "--target", "/deps", "--", "pandas>=2"]}]);
    }
    JobBundle {
        namespace: namespace.into(),
        job_name: job.clone(),
        timeout_seconds,
        manifests: vec![
            Manifest {
                kind: "ConfigMap".into(),
                name: cm.clone(),
                body: json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": cm, "labels": labels}, "data": {"script.py": "print(1)", "args.json": "{}"}}),
            },
            Manifest {
                kind: "Job".into(),
                name: job.clone(),
                body: json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": job, "labels": labels},
                "spec": {"backoffLimit": backoff_limit, "ttlSecondsAfterFinished": 300,
                    "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod_spec}}}),
            },
        ],
    }
}

async fn run(backend: &KubernetesBackend, bundle: &JobBundle) -> (JobOutcome, Vec<String>) {
    let lines = Mutex::new(Vec::new());
    let outcome = backend
        .run(bundle, &|l| lines.lock().unwrap().push(l.to_string()))
        .await
        .unwrap();
    (outcome, lines.into_inner().unwrap())
}

/// By list, not get: examples/rbac.yaml grants the host list on jobs but not get, and
/// these tests also run with that service account's token.
async fn job_exists(backend: &KubernetesBackend, ns: &str, name: &str) -> bool {
    let api: Api<Job> = Api::namespaced(backend.client.clone(), ns);
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    api.list(&params)
        .await
        .unwrap()
        .items
        .iter()
        .any(|j| j.metadata.deletion_timestamp.is_none())
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn completed_job_with_owner_references_and_log() {
    let backend = backend().await;
    let bundle = bundle(
        "noetl",
        json!({"test.noetl.io/behavior": "succeed"}),
        true,
        0,
        120,
    );
    let (outcome, lines) = run(&backend, &bundle).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:?}");
    assert_eq!(
        (outcome.exit_code, outcome.succeeded, outcome.failed),
        (Some(0), 1, 0)
    );
    assert_eq!(
        outcome.output.trim(),
        "{\"result\": \"success\", \"count\": 100}"
    );
    assert_eq!(lines, ["{\"result\": \"success\", \"count\": 100}"]);
    let cm: Api<ConfigMap> = Api::namespaced(backend.client.clone(), "noetl");
    let cm = cm
        .get(&format!("{}-script", bundle.job_name))
        .await
        .unwrap();
    let owner = &cm.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Job", bundle.job_name.as_str())
    );
    // Running the same execution and step again reattaches instead of creating a twin.
    let (again, _) = run(&backend, &bundle).await;
    assert_eq!(again.job_name, outcome.job_name);
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn failed_job_reports_the_real_exit_code_and_traceback() {
    let backend = backend().await;
    let bundle = bundle(
        "noetl-log-traceback",
        json!({"test.noetl.io/behavior": "fail", "test.noetl.io/exit-code": "3"}),
        false,
        0,
        120,
    );
    let (outcome, _) = run(&backend, &bundle).await;
    assert_eq!(outcome.status, JobStatus::Failed, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!(outcome.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert!(
        outcome.output.contains("ValueError: record 3 is invalid"),
        "{}",
        outcome.output
    );
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn oom_killed_job() {
    let backend = backend().await;
    let bundle = bundle(
        "noetl",
        json!({"test.noetl.io/behavior": "oom"}),
        false,
        0,
        120,
    );
    let (outcome, _) = run(&backend, &bundle).await;
    assert_eq!(
        (outcome.status, outcome.exit_code, outcome.reason.as_deref()),
        (JobStatus::Failed, Some(137), Some("OOMKilled")),
        "{outcome:?}"
    );
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn failed_install_is_reported_with_the_pip_log() {
    let backend = backend().await;
    let bundle = bundle(
        "noetl-log-traceback",
        json!({"test.noetl.io/behavior": "install-fail"}),
        true,
        0,
        120,
    );
    let (outcome, _) = run(&backend, &bundle).await;
    assert_eq!(outcome.status, JobStatus::Failed, "{outcome:?}");
    assert_eq!(outcome.reason.as_deref(), Some("DependencyInstallFailed"));
    assert_eq!(outcome.exit_code, Some(1), "the installer's exit code (kwok's default)");
    assert!(outcome.output.contains("ERROR:"), "{}", outcome.output);
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn image_pull_failure_ends_after_grace_and_deletes_the_job() {
    let backend = backend().await;
    let bundle = bundle(
        "noetl",
        json!({"test.noetl.io/behavior": "image-pull-fail"}),
        false,
        0,
        120,
    );
    let (outcome, _) = run(&backend, &bundle).await;
    assert_eq!(outcome.status, JobStatus::StartFailed, "{outcome:?}");
    assert!(
        matches!(
            outcome.reason.as_deref(),
            Some("ImagePullBackOff" | "ErrImagePull")
        ),
        "{outcome:?}"
    );
    assert!(!job_exists(&backend, "noetl", &bundle.job_name).await);
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn timeout_stops_the_job() {
    let backend = backend().await;
    let bundle = bundle(
        "noetl",
        json!({"test.noetl.io/behavior": "hang"}),
        false,
        0,
        4,
    );
    let (outcome, _) = run(&backend, &bundle).await;
    assert_eq!(outcome.status, JobStatus::Timeout, "{outcome:?}");
    assert_eq!(outcome.execution_seconds, 4.0);
    assert!(!job_exists(&backend, "noetl", &bundle.job_name).await);
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn large_log_keeps_the_tail() {
    let backend = backend().await;
    let mut backend_small = backend;
    backend_small.options.log_cap_bytes = 64 * 1024;
    let bundle = bundle("noetl-log-large", json!({}), false, 0, 120);
    let (outcome, lines) = run(&backend_small, &bundle).await;
    assert_eq!(outcome.status, JobStatus::Completed, "{outcome:?}");
    assert!(outcome.output_truncated);
    assert!(outcome.output.len() <= 64 * 1024);
    assert!(
        outcome
            .output
            .trim_end()
            .ends_with("{\"result\": \"success\", \"count\": 52000}")
    );
    assert_eq!(lines.len(), 52001, "every line reached the callback");
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn unschedulable_pod_is_a_start_failure() {
    let backend = backend().await;
    let mut bundle = bundle("noetl", json!({}), false, 0, 120);
    let job = bundle.manifests.last_mut().unwrap();
    job.body["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "64"}});
    let (outcome, _) = run(&backend, &bundle).await;
    assert_eq!(outcome.status, JobStatus::StartFailed, "{outcome:?}");
    assert_eq!(outcome.reason.as_deref(), Some("Unschedulable"));
    assert!(
        outcome
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("Insufficient cpu"),
        "{outcome:?}"
    );
}

#[tokio::test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
async fn pod_refused_by_quota_is_a_start_failure_with_the_controllers_reason() {
    use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, ServiceAccount};
    use kube::api::{DeleteParams, PostParams};

    let backend = backend().await;
    let ns = format!("noetl-e2e-quota-{}", random_suffix());
    let namespaces: Api<Namespace> = Api::all(backend.client.clone());
    let body = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    namespaces.create(&PostParams::default(), &body).await.unwrap();
    let quotas: Api<ResourceQuota> = Api::namespaced(backend.client.clone(), &ns);
    let quota = serde_json::from_value(json!({"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})).unwrap();
    quotas.create(&PostParams::default(), &quota).await.unwrap();
    // Admission needs the quota's computed status and the namespace's default ServiceAccount,
    // or the pod is refused for another reason than the one this test is about.
    let accounts: Api<ServiceAccount> = Api::namespaced(backend.client.clone(), &ns);
    for _ in 0..100 {
        let counted = quotas.get("no-pods").await.unwrap().status.and_then(|s| s.hard).is_some();
        if counted && accounts.get_opt("default").await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let bundle = bundle(&ns, json!({}), false, 0, 120);
    let result = backend.run(&bundle, &|_| {}).await;
    let left_behind = job_exists(&backend, &ns, &bundle.job_name).await;
    let cleanup = namespaces.delete(&ns, &DeleteParams::default()).await;
    let outcome = result.unwrap();
    cleanup.unwrap();
    assert!(!left_behind, "the host deletes a Job it reports as start_failed");
    assert_eq!(outcome.status, JobStatus::StartFailed, "{outcome:?}");
    assert_eq!(outcome.reason.as_deref(), Some("FailedCreate"), "{outcome:?}");
    let message = outcome.message.unwrap_or_default();
    assert!(
        message.starts_with("the Job controller could not create a pod:") && message.contains("exceeded quota: no-pods"),
        "{message}"
    );
}
