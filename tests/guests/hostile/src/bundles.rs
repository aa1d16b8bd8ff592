//! `behavior: bundle`: a job bundle the host must refuse (or, for `compliant`, run), as a
//! plugin author trying to get out of the bounds would write it. `config.bundle` picks it:
//! `privileged`, `host-network`, `host-path`, `kube-system`, `pod`, `service`, `token`, or
//! `compliant` (meets `restricted`, and carries no labels at all: the host must add its own
//! for its watch to see the Job end).

use noetl_plugin_sdk::{Context, JobBundle, JobOutcome, JobStatus, Manifest, PlanResult, ToolError, Value, json};

pub fn plan(config: &Value, context: &Context) -> Result<PlanResult, ToolError> {
    let which = config.get("bundle").and_then(Value::as_str).unwrap_or("compliant");
    let job_name = format!("hostile-{}", context.execution_id());
    let mut namespace = "noetl";
    let mut pod = compliant_pod();
    let mut extra = Vec::new();
    match which {
        "compliant" => {}
        "privileged" => pod["containers"][0]["securityContext"]["privileged"] = json!(true),
        "host-network" => pod["hostNetwork"] = json!(true),
        "host-path" => {
            pod["volumes"] = json!([{"name": "root", "hostPath": {"path": "/"}}]);
            pod["containers"][0]["volumeMounts"] = json!([{"name": "root", "mountPath": "/host"}]);
        }
        "token" => pod["automountServiceAccountToken"] = json!(true),
        "kube-system" => namespace = "kube-system",
        "pod" => extra.push(manifest(
            "Pod",
            &format!("{job_name}-pod"),
            json!({"apiVersion": "v1", "spec": compliant_pod()}),
        )),
        "service" => extra.push(manifest(
            "Service",
            &format!("{job_name}-svc"),
            json!({"apiVersion": "v1", "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}),
        )),
        other => {
            return Err(ToolError::field(
                "tool.bundle",
                format!("unknown bundle `{other}`"),
                "use compliant, privileged, ...",
            ));
        }
    }
    let job = json!({
        "apiVersion": "batch/v1",
        "spec": {"backoffLimit": 0, "template": {"spec": pod}},
    });
    extra.push(manifest("Job", &job_name, job));
    Ok(PlanResult::RunJob(JobBundle { namespace: namespace.into(), job_name, manifests: extra, timeout_seconds: 120 }))
}

pub fn finish(outcome: JobOutcome) -> Value {
    let status = match outcome.status {
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Timeout => "timeout",
        JobStatus::StartFailed => "start_failed",
    };
    json!({"status": "success", "data": {"job_status": status, "job_name": outcome.job_name}})
}

/// A pod that meets `restricted`.
fn compliant_pod() -> Value {
    json!({
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "script",
            "image": "busybox:1.36",
            "command": ["true"],
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
        }],
    })
}

/// A manifest whose body has its kind and name (and nothing else in its metadata).
fn manifest(kind: &str, name: &str, mut body: Value) -> Manifest {
    body["kind"] = json!(kind);
    body["metadata"] = json!({"name": name});
    Manifest { kind: kind.into(), name: name.into(), body: body.to_string() }
}
