//! Submission and run behaviour against a scripted fake API server (a tower service behind
//! a real `kube::Client`): every request the backend sends is recorded and answered.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use http_body_util::BodyExt as _;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

use super::api_error::RetryPolicy;
use super::submit::submit;
use super::{KubeOptions, KubernetesBackend};
use crate::backend::{JobBundle, JobStatus, Manifest};

#[derive(Debug, Clone)]
struct Sent {
    method: String,
    path: String,
    query: String,
    body: Value,
}

impl Sent {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

type Log = Arc<Mutex<Vec<Sent>>>;

/// Status that makes the fake never answer (an idle watch connection).
const HANG: u16 = 0;

/// A client whose every request is recorded and answered by `answer` (status, JSON body).
fn fake(answer: impl Fn(&Sent, &[Sent]) -> (u16, Value) + Send + Sync + 'static) -> (Client, Log) {
    let log: Log = Arc::default();
    let answer = Arc::new(answer);
    let recorded = log.clone();
    let service = tower::service_fn(move |req: Request<Body>| {
        let log = recorded.clone();
        let answer = answer.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or_default().to_string();
            let bytes = req.into_body().collect().await?.to_bytes();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let sent = Sent {
                method,
                path,
                query,
                body,
            };
            let (status, reply) = {
                let mut log = log.lock().unwrap();
                let earlier = log.clone();
                log.push(sent.clone());
                answer(&sent, &earlier)
            };
            if status == HANG {
                return std::future::pending().await;
            }
            let bytes = match reply {
                Value::String(text) => text.into_bytes(),
                other => serde_json::to_vec(&other).unwrap(),
            };
            Ok::<_, kube::Error>(
                Response::builder()
                    .status(status)
                    .body(Body::from(bytes))
                    .unwrap(),
            )
        }
    });
    (Client::new(service, "default"), log)
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().iter().map(Sent::line).collect()
}

const JOB: &str = "noetl-script-e1-abcde";
const CM_PATH: &str = "/api/v1/namespaces/noetl/configmaps";
const SECRET_PATH: &str = "/api/v1/namespaces/noetl/secrets";
const JOB_PATH: &str = "/apis/batch/v1/namespaces/noetl/jobs";

fn bundle() -> JobBundle {
    let labels = json!({"app.kubernetes.io/managed-by": "noetl-host", "noetl.io/execution-id": "e1", "noetl.io/step": "s1", "noetl.io/tool": "script"});
    JobBundle {
        namespace: "noetl".into(),
        job_name: JOB.into(),
        timeout_seconds: 600,
        manifests: vec![
            Manifest {
                kind: "ConfigMap".into(),
                name: format!("{JOB}-script"),
                body: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{JOB}-script"), "labels": labels},
                             "data": {"script.py": "print(1)", "args.json": "{}"}}),
            },
            Manifest {
                kind: "Secret".into(),
                name: format!("{JOB}-env"),
                body: json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("{JOB}-env"), "labels": labels},
                             "stringData": {"API_KEY": "canary-secret-value"}}),
            },
            Manifest {
                kind: "Job".into(),
                name: JOB.into(),
                body: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": JOB, "labels": labels},
                    "spec": {"template": {"metadata": {"labels": labels}, "spec": {"restartPolicy": "Never",
                        "volumes": [{"name": "script", "configMap": {"name": format!("{JOB}-script")}}],
                        "containers": [{"name": "script", "image": "python:3.11-slim",
                            "env": [{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": format!("{JOB}-env"), "key": "API_KEY"}}}]}]}}}}),
            },
        ],
    }
}

/// Echoes a created object back with a uid derived from its name.
fn created(sent: &Sent) -> (u16, Value) {
    let mut object = sent.body.clone();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    object["metadata"]["uid"] = json!(format!("uid-{name}"));
    object["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    (201, object)
}

fn status(code: u16, reason: &str, message: &str, details: Value) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message, "details": details}),
    )
}

/// A normal API server: creates and patches succeed, deletes succeed.
fn happy(sent: &Sent) -> (u16, Value) {
    match sent.method.as_str() {
        "POST" => created(sent),
        "PATCH" | "DELETE" => (
            200,
            json!({"kind": "Status", "status": "Success", "metadata": {}}),
        ),
        _ => (404, json!({})),
    }
}

fn no_delay() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: std::time::Duration::ZERO,
        max_delay: std::time::Duration::ZERO,
    }
}

#[tokio::test]
async fn creates_configmap_secret_job_then_sets_owner_references() {
    let (client, log) = fake(|sent, _| happy(sent));
    let job = submit(&client, &bundle(), &no_delay(), 3).await.unwrap();
    assert_eq!(
        job.metadata.uid.as_deref(),
        Some(format!("uid-{JOB}").as_str())
    );
    assert_eq!(
        lines(&log),
        [
            format!("POST {CM_PATH}"),
            format!("POST {SECRET_PATH}"),
            format!("POST {JOB_PATH}"),
            format!("PATCH {CM_PATH}/{JOB}-script"),
            format!("PATCH {SECRET_PATH}/{JOB}-env"),
        ]
    );
    let patch = log.lock().unwrap()[3].body.clone();
    let owner = &patch["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Job");
    assert_eq!(owner["name"], JOB);
    assert_eq!(owner["uid"], format!("uid-{JOB}"));
    assert_eq!(
        patch["metadata"]["uid"],
        format!("uid-{JOB}-script"),
        "the patch is guarded by the object's own uid"
    );
}

#[tokio::test]
async fn failed_job_create_deletes_only_what_this_call_created() {
    let (client, log) = fake(|sent, _| {
        if sent.method == "POST" && sent.path == JOB_PATH {
            return status(500, "InternalError", "etcd is sad", json!({}));
        }
        happy(sent)
    });
    let err = submit(&client, &bundle(), &no_delay(), 3)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("500") && err.contains("etcd is sad"), "{err}");
    assert_eq!(
        lines(&log),
        [
            format!("POST {CM_PATH}"),
            format!("POST {SECRET_PATH}"),
            // A create that may have been applied is not repeated (500 is ambiguous).
            format!("POST {JOB_PATH}"),
            format!("DELETE {SECRET_PATH}/{JOB}-env"),
            format!("DELETE {CM_PATH}/{JOB}-script"),
        ]
    );
    let deletes: Vec<Value> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "DELETE")
        .map(|s| s.body.clone())
        .collect();
    assert_eq!(deletes[0]["preconditions"]["uid"], format!("uid-{JOB}-env"));
    assert_eq!(
        deletes[1]["preconditions"]["uid"],
        format!("uid-{JOB}-script")
    );
    assert_eq!(deletes[0]["propagationPolicy"], "Background");
}

#[tokio::test]
async fn name_conflict_renames_the_whole_bundle_and_never_deletes_the_other_object() {
    let (client, log) = fake(|sent, _| {
        if sent.method == "POST" && sent.body["metadata"]["name"] == format!("{JOB}-env") {
            return status(
                409,
                "AlreadyExists",
                &format!("secrets \"{JOB}-env\" already exists"),
                json!({"name": format!("{JOB}-env"), "kind": "secrets"}),
            );
        }
        happy(sent)
    });
    let job = submit(&client, &bundle(), &no_delay(), 3).await.unwrap();
    let new_job = job.metadata.name.clone().unwrap();
    assert_ne!(new_job, JOB);
    assert!(
        new_job.starts_with("noetl-script-e1-") && new_job.len() == JOB.len(),
        "{new_job}"
    );
    let sent = lines(&log);
    assert_eq!(
        sent,
        [
            format!("POST {CM_PATH}"),
            format!("POST {SECRET_PATH}"),
            // Our own ConfigMap from the first attempt goes; the conflicting Secret stays.
            format!("DELETE {CM_PATH}/{JOB}-script"),
            format!("POST {CM_PATH}"),
            format!("POST {SECRET_PATH}"),
            format!("POST {JOB_PATH}"),
            format!("PATCH {CM_PATH}/{new_job}-script"),
            format!("PATCH {SECRET_PATH}/{new_job}-env"),
        ]
    );
    assert!(
        !sent
            .iter()
            .any(|l| l == &format!("DELETE {SECRET_PATH}/{JOB}-env"))
    );
    let job_body = log.lock().unwrap()[5].body.clone();
    assert_eq!(job_body["metadata"]["name"], new_job.as_str());
    assert_eq!(
        job_body["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
            ["name"],
        format!("{new_job}-env")
    );
}

#[tokio::test]
async fn forbidden_names_the_rule_and_creates_nothing_more() {
    let (client, log) = fake(|sent, _| {
        status(
            403,
            "Forbidden",
            &format!(
                "configmaps is forbidden: User \"system:serviceaccount:noetl:x\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"noetl\" ({})",
                sent.path
            ),
            json!({"kind": "configmaps"}),
        )
    });
    let err = submit(&client, &bundle(), &no_delay(), 3)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("forbids the host to create configmaps"),
        "{err}"
    );
    assert!(
        err.contains("{apiGroups: [\"\"], resources: [\"configmaps\"], verbs: [\"create\"]}"),
        "{err}"
    );
    assert!(err.contains("namespace \"noetl\""), "{err}");
    assert_eq!(lines(&log), [format!("POST {CM_PATH}")]);
}

#[tokio::test]
async fn invalid_job_reports_the_field_messages_and_rolls_back() {
    let (client, log) = fake(|sent, _| {
        if sent.method == "POST" && sent.path == JOB_PATH {
            return status(
                422,
                "Invalid",
                "Job.batch \"x\" is invalid",
                json!({"kind": "Job", "causes": [
                {"reason": "FieldValueInvalid", "message": "Invalid value: \"2Gb\": must match the regex", "field": "spec.template.spec.containers[0].resources.limits[memory]"}]}),
            );
        }
        happy(sent)
    });
    let err = submit(&client, &bundle(), &no_delay(), 3)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("rejected jobs"), "{err}");
    assert!(
        err.contains(
            "spec.template.spec.containers[0].resources.limits[memory]: Invalid value: \"2Gb\""
        ),
        "{err}"
    );
    assert!(
        !err.contains("canary-secret-value"),
        "no secret value in errors: {err}"
    );
    assert_eq!(
        lines(&log)
            .iter()
            .filter(|l| l.starts_with("DELETE"))
            .count(),
        2
    );
}

#[tokio::test]
async fn missing_namespace_says_how_to_fix_it() {
    let (client, log) = fake(|_, _| {
        status(
            404,
            "NotFound",
            "namespaces \"noetl\" not found",
            json!({"name": "noetl", "kind": "namespaces"}),
        )
    });
    let err = submit(&client, &bundle(), &no_delay(), 3)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "namespace noetl does not exist; create it with kubectl create namespace noetl or set tool.job.namespace"
    );
    assert_eq!(lines(&log).len(), 1);
}

#[tokio::test]
async fn throttled_create_is_retried() {
    let (client, log) = fake(|sent, earlier| {
        if sent.method == "POST" && earlier.is_empty() {
            return status(
                429,
                "TooManyRequests",
                "slow down",
                json!({"retryAfterSeconds": 0}),
            );
        }
        happy(sent)
    });
    submit(&client, &bundle(), &no_delay(), 3).await.unwrap();
    assert_eq!(
        lines(&log)[..2],
        [format!("POST {CM_PATH}"), format!("POST {CM_PATH}")]
    );
}

/// A Job, its pod and its log as an API server that already ran it would serve them.
fn finished_cluster(sent: &Sent) -> (u16, Value) {
    let labels = json!({"app.kubernetes.io/managed-by": "noetl-host", "noetl.io/execution-id": "e1", "noetl.io/step": "s1"});
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": JOB, "namespace": "noetl", "uid": "job-uid", "labels": labels, "creationTimestamp": "2026-01-01T00:00:00Z", "resourceVersion": "5"},
        "status": {"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:07Z", "succeeded": 1,
                   "conditions": [{"type": "Complete", "status": "True"}]}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{JOB}-p1"), "namespace": "noetl", "uid": "pod-uid", "resourceVersion": "6",
                     "creationTimestamp": "2026-01-01T00:00:01Z",
                     "labels": {"batch.kubernetes.io/job-name": JOB, "app.kubernetes.io/managed-by": "noetl-host"},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": JOB, "uid": "job-uid"}]},
        "status": {"containerStatuses": [{"name": "script", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                   "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
    let watching = sent.query.contains("watch=true");
    match (sent.method.as_str(), sent.path.as_str()) {
        // Watches see nothing new: the connection stays open and idle.
        (_, JOB_PATH | "/api/v1/namespaces/noetl/pods") if watching => (HANG, Value::Null),
        ("GET", JOB_PATH) => (
            200,
            json!({"kind": "JobList", "apiVersion": "batch/v1", "metadata": {"resourceVersion": "10"}, "items": [job]}),
        ),
        ("GET", "/api/v1/namespaces/noetl/pods") => (
            200,
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"}, "items": [pod]}),
        ),
        ("GET", p) if p.ends_with("/log") => (
            200,
            Value::String(
                "2026-01-01T00:00:02.000000001Z {\"result\": 42}\n2026-01-01T00:00:03.5Z done\n"
                    .to_string(),
            ),
        ),
        _ => (
            404,
            json!({"kind": "Status", "code": 404, "reason": "NotFound", "message": "nope"}),
        ),
    }
}

/// The Job was created long before its 600 s timeout ran out: a reattaching host still
/// reports how it finished, not a timeout.
#[tokio::test]
async fn run_reattaches_to_an_existing_job_and_reads_its_outcome_and_log() {
    let (client, log) = fake(|sent, _| finished_cluster(sent));
    let backend = KubernetesBackend::from_client(
        client,
        KubeOptions {
            retry: no_delay(),
            ..KubeOptions::default()
        },
    );
    let seen = Mutex::new(Vec::new());
    let outcome = backend
        .run(&bundle(), &|line| {
            seen.lock().unwrap().push(line.to_string())
        })
        .await
        .unwrap();
    assert_eq!(outcome.status, JobStatus::Completed);
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(
        outcome.pod_name.as_deref(),
        Some(format!("{JOB}-p1").as_str())
    );
    assert_eq!(outcome.execution_seconds, 7.0);
    assert_eq!(outcome.output, "{\"result\": 42}\ndone\n");
    assert!(!outcome.output_truncated);
    assert_eq!(*seen.lock().unwrap(), ["{\"result\": 42}", "done"]);
    let sent = log.lock().unwrap().clone();
    assert!(
        !sent.iter().any(|s| s.method == "POST"),
        "reattached: nothing created"
    );
    let first = &sent[0];
    assert_eq!(first.line(), format!("GET {JOB_PATH}"));
    assert!(
        first.query.contains("noetl.io%2Fexecution-id%3De1")
            && first.query.contains("noetl.io%2Fstep%3Ds1"),
        "{}",
        first.query
    );
    let log_request = sent.iter().find(|s| s.path.ends_with("/log")).unwrap();
    assert!(
        log_request.query.contains("container=script")
            && log_request.query.contains("timestamps=true"),
        "{}",
        log_request.query
    );
}

#[tokio::test]
async fn ops_report_missing_objects_as_not_found() {
    let (client, _) = fake(|_, _| {
        status(
            404,
            "NotFound",
            "configmaps \"x\" not found",
            json!({"name": "x", "kind": "configmaps"}),
        )
    });
    let backend = KubernetesBackend::from_client(
        client,
        KubeOptions {
            retry: no_delay(),
            ..KubeOptions::default()
        },
    );
    let err = backend
        .ops()
        .get("ConfigMap", "noetl", "x")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        super::OpsError::NotFound("configmaps \"x\" not found in namespace \"noetl\"".into())
    );
    let err = backend
        .ops()
        .get("Deployment", "noetl", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, super::OpsError::Failed(m) if m.contains("unsupported Kubernetes kind \"Deployment\""))
    );
}

/// A Job that keeps running, its pod running, its log served anew on every request.
fn running_cluster(sent: &Sent, created: &str) -> (u16, Value) {
    let labels = json!({"app.kubernetes.io/managed-by": "noetl-host", "noetl.io/execution-id": "e1", "noetl.io/step": "s1"});
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": JOB, "namespace": "noetl", "uid": "job-uid", "labels": labels, "creationTimestamp": created, "resourceVersion": "5"},
        "status": {"startTime": created, "active": 1}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{JOB}-p1"), "namespace": "noetl", "uid": "pod-uid", "resourceVersion": "6",
                     "creationTimestamp": created, "labels": {"batch.kubernetes.io/job-name": JOB},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": JOB, "uid": "job-uid"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "script", "image": "i", "imageID": "", "ready": true,
                   "restartCount": 0, "state": {"running": {}}}]}});
    let watching = sent.query.contains("watch=true");
    match (sent.method.as_str(), sent.path.as_str()) {
        (_, JOB_PATH | "/api/v1/namespaces/noetl/pods") if watching => (HANG, Value::Null),
        ("GET", JOB_PATH) => (200, json!({"kind": "JobList", "apiVersion": "batch/v1", "metadata": {"resourceVersion": "10"}, "items": [job]})),
        ("GET", "/api/v1/namespaces/noetl/pods") => (200, json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"}, "items": [pod]})),
        // Every (re)connection replays from sinceTime, as the kubelet does.
        ("GET", p) if p.ends_with("/log") => (200, Value::String(
            "2026-01-01T00:00:02.000000001Z working\n2026-01-01T00:00:02.000000001Z still working\n".to_string())),
        ("DELETE", _) => (200, json!({"kind": "Status", "status": "Success", "metadata": {}})),
        _ => (404, json!({"kind": "Status", "code": 404, "reason": "NotFound", "message": "nope"})),
    }
}

#[tokio::test]
async fn timeout_deletes_the_job_and_dropped_log_streams_resume_without_duplicates() {
    let created = k8s_openapi::jiff::Timestamp::now().to_string();
    let (client, log) = fake(move |sent, _| running_cluster(sent, &created));
    let options = KubeOptions {
        retry: no_delay(),
        log_drain: std::time::Duration::from_millis(100),
        ..KubeOptions::default()
    };
    let backend = KubernetesBackend::from_client(client, options);
    let mut short = bundle();
    short.timeout_seconds = 2;
    let seen = Mutex::new(Vec::new());
    let outcome = backend
        .run(&short, &|line| seen.lock().unwrap().push(line.to_string()))
        .await
        .unwrap();
    assert_eq!(outcome.status, JobStatus::Timeout);
    assert_eq!(outcome.execution_seconds, 2.0);
    assert_eq!(
        outcome.pod_name.as_deref(),
        Some(format!("{JOB}-p1").as_str())
    );
    assert_eq!(outcome.output, "working\nstill working\n");
    assert_eq!(
        *seen.lock().unwrap(),
        ["working", "still working"],
        "replayed lines are not delivered twice"
    );
    let sent = log.lock().unwrap().clone();
    let log_requests: Vec<&Sent> = sent.iter().filter(|s| s.path.ends_with("/log")).collect();
    assert!(
        log_requests.len() >= 2,
        "the stream ended while the pod ran, so it was reopened"
    );
    assert!(
        log_requests[1]
            .query
            .contains("sinceTime=2026-01-01T00%3A00%3A02"),
        "{}",
        log_requests[1].query
    );
    let delete = sent
        .iter()
        .find(|s| s.method == "DELETE")
        .expect("the timed-out Job is deleted");
    assert_eq!(delete.path, format!("{JOB_PATH}/{JOB}"));
    assert_eq!(delete.body["propagationPolicy"], "Background");
    assert_eq!(delete.body["preconditions"]["uid"], "job-uid");
}
