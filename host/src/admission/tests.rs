use serde_json::{Value, json};

use super::*;
use crate::backend::Manifest;
use crate::pod_security::Level;

fn grant() -> JobGrant {
    JobGrant::built_in()
}

fn identity() -> JobIdentity {
    JobIdentity { execution_id: "exec 1/with spaces".into(), step: "load".into(), tool: "evil".into(), playbook_sha256: None }
}

fn container() -> Value {
    json!({"name": "main", "image": "busybox", "securityContext": {
        "runAsNonRoot": true, "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}})
}

fn job(pod: Value) -> Manifest {
    Manifest {
        kind: "Job".into(),
        name: "j".into(),
        body: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": pod}}}),
    }
}

fn compliant_pod() -> Value {
    json!({"automountServiceAccountToken": false, "restartPolicy": "Never", "containers": [container()]})
}

fn bundle(manifests: Vec<Manifest>) -> JobBundle {
    JobBundle { namespace: "noetl".into(), job_name: "j".into(), manifests, timeout_seconds: 60 }
}

fn refusal(grant: Option<&JobGrant>, bundle: JobBundle) -> String {
    admit("evil", grant, &identity(), bundle).unwrap_err().to_string()
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[test]
fn a_compliant_bundle_is_admitted_and_stamped_with_the_hosts_labels() {
    let mut job = job(compliant_pod());
    // The plugin's own labels claim to be another execution; the host's win.
    job.body["metadata"]["labels"] = json!({"noetl.io/execution-id": "someone-else", "team": "a"});
    let config_map =
        Manifest { kind: "ConfigMap".into(), name: "j-script".into(), body: json!({"metadata": {"name": "j-script"}}) };
    let admitted = admit("evil", Some(&grant()), &identity(), bundle(vec![config_map, job])).unwrap();
    let step_label = noetl_protocol::names::label_value("exec 1/with spaces");
    for (what, metadata) in [
        ("ConfigMap", &admitted.manifests[0].body["metadata"]),
        ("Job", &admitted.manifests[1].body["metadata"]),
        ("pod template", &admitted.manifests[1].body["spec"]["template"]["metadata"]),
    ] {
        let labels = &metadata["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "noetl-host", "{what}");
        assert_eq!(labels["noetl.io/execution-id"], step_label.as_str(), "{what}");
        assert_eq!(labels["noetl.io/step"], "load", "{what}");
        assert_eq!(labels["noetl.io/tool"], "evil", "{what}");
        assert_eq!(metadata["annotations"]["noetl.io/execution-id"], "exec 1/with spaces", "{what}");
    }
    assert_eq!(admitted.manifests[1].body["metadata"]["labels"]["team"], "a", "the plugin's other labels stay");
}

#[test]
fn the_playbook_sha256_annotation_is_the_hosts_alone() {
    let forged = "f".repeat(64);
    let mut job = job(compliant_pod());
    job.body["metadata"]["annotations"] = json!({ANNOTATION_PLAYBOOK_SHA256: forged, "note": "kept"});
    job.body["spec"]["template"]["metadata"] = json!({"annotations": {ANNOTATION_PLAYBOOK_SHA256: forged}});
    // No playbook file: the plugin's claim is removed, not kept.
    let admitted = admit("evil", Some(&grant()), &identity(), bundle(vec![job.clone()])).unwrap();
    let job_body = &admitted.manifests[0].body;
    assert_eq!(job_body["metadata"]["annotations"].get(ANNOTATION_PLAYBOOK_SHA256), None);
    assert_eq!(job_body["spec"]["template"]["metadata"]["annotations"].get(ANNOTATION_PLAYBOOK_SHA256), None);
    assert_eq!(job_body["metadata"]["annotations"]["note"], "kept");
    // A playbook file: the host's value replaces the plugin's.
    let real = "a".repeat(64);
    let identity = JobIdentity { playbook_sha256: Some(real.clone()), ..identity() };
    let admitted = admit("evil", Some(&grant()), &identity, bundle(vec![job])).unwrap();
    let job_body = &admitted.manifests[0].body;
    assert_eq!(job_body["metadata"]["annotations"][ANNOTATION_PLAYBOOK_SHA256], real.as_str());
    assert_eq!(job_body["spec"]["template"]["metadata"]["annotations"][ANNOTATION_PLAYBOOK_SHA256], real.as_str());
}

#[test]
fn only_config_maps_secrets_and_one_job() {
    let pod = Manifest { kind: "Pod".into(), name: "p".into(), body: json!({"metadata": {"name": "p"}}) };
    assert_contains(
        &refusal(Some(&grant()), bundle(vec![pod, job(compliant_pod())])),
        &["plugin `evil`", "Pod \"p\"", "only ConfigMap, Secret and one Job"],
    );
    let service = Manifest { kind: "Service".into(), name: "s".into(), body: json!({"metadata": {"name": "s"}}) };
    assert_contains(
        &refusal(Some(&grant()), bundle(vec![service, job(compliant_pod())])),
        &["Service \"s\"", "not a Service"],
    );
    assert_contains(
        &refusal(Some(&grant()), bundle(vec![job(compliant_pod()), job(compliant_pod())])),
        &["has 2 Job manifest(s)"],
    );
    let mut named_otherwise = job(compliant_pod());
    named_otherwise.body["metadata"]["name"] = json!("other");
    assert_contains(
        &refusal(Some(&grant()), bundle(vec![named_otherwise])),
        &["Job \"j\"", "metadata.name is \"other\""],
    );
    let mut owned = job(compliant_pod());
    owned.body["metadata"]["ownerReferences"] = json!([{"kind": "Deployment"}]);
    assert_contains(&refusal(Some(&grant()), bundle(vec![owned])), &["metadata.ownerReferences"]);
    let token = Manifest {
        kind: "Secret".into(),
        name: "t".into(),
        body: json!({"metadata": {"name": "t", "annotations": {"kubernetes.io/service-account.name": "admin"}},
            "type": "kubernetes.io/service-account-token"}),
    };
    assert_contains(
        &refusal(Some(&grant()), bundle(vec![token, job(compliant_pod())])),
        &["Secret \"t\"", "ServiceAccount's token"],
    );
}

#[test]
fn namespaces_outside_the_grant_name_the_key_to_add() {
    let mut b = bundle(vec![job(compliant_pod())]);
    b.namespace = "kube-system".into();
    assert_contains(
        &refusal(Some(&grant()), b),
        &["namespace `kube-system`", "([noetl])", "add `kube-system` to plugins.evil.jobs.namespaces"],
    );
    let mut b = bundle(vec![job(compliant_pod())]);
    b.manifests[0].body["metadata"]["namespace"] = json!("kube-system");
    assert_contains(
        &refusal(Some(&grant()), b),
        &["metadata.namespace \"kube-system\"", "targets namespace \"noetl\""],
    );
}

#[test]
fn no_grant_no_job() {
    assert_contains(
        &refusal(None, bundle(vec![job(compliant_pod())])),
        &["no job grant", "plugins.evil.jobs: {namespaces: [noetl]}"],
    );
}

#[test]
fn pod_security_refusals_name_field_rule_and_the_level_that_allows_it() {
    let mut pod = compliant_pod();
    pod["hostNetwork"] = json!(true);
    pod["volumes"] = json!([{"name": "root", "hostPath": {"path": "/"}}]);
    pod["containers"][0]["securityContext"]["privileged"] = json!(true);
    let text = refusal(Some(&grant()), bundle(vec![job(pod.clone())]));
    assert_contains(
        &text,
        &[
            "Job \"j\" spec.template.spec.hostNetwork: is true",
            "baseline rule \"Host Namespaces\"",
            "spec.template.spec.volumes[0].hostPath",
            "spec.template.spec.containers[0].securityContext.privileged",
            "set plugins.evil.jobs.pod_security: privileged",
            // restricted's own rule on the hostPath volume
            "restricted rule \"Volume Types\"",
        ],
    );
    let privileged = JobGrant { pod_security: Level::Privileged, ..grant() };
    admit("evil", Some(&privileged), &identity(), bundle(vec![job(pod)])).unwrap();
}

#[test]
fn service_accounts_and_their_tokens_need_a_grant() {
    let mut pod = compliant_pod();
    pod["serviceAccountName"] = json!("deployer");
    pod["automountServiceAccountToken"] = json!(true);
    let text = refusal(Some(&grant()), bundle(vec![job(pod.clone())]));
    assert_contains(
        &text,
        &[
            "spec.template.spec.serviceAccountName: runs as ServiceAccount `deployer`",
            "spec.template.spec.automountServiceAccountToken: is true",
            "add `deployer` to plugins.evil.jobs.service_accounts",
        ],
    );
    let granted = JobGrant { service_accounts: vec!["deployer".into()], ..grant() };
    admit("evil", Some(&granted), &identity(), bundle(vec![job(pod)])).unwrap();

    let mut unset = compliant_pod();
    unset.as_object_mut().unwrap().remove("automountServiceAccountToken");
    unset["volumes"] = json!([{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]);
    assert_contains(
        &refusal(Some(&grant()), bundle(vec![job(unset)])),
        &[
            "automountServiceAccountToken: is unset, so the pod would mount the token of ServiceAccount `default`",
            "volumes[0].projected.sources[0].serviceAccountToken",
            "add `default` to plugins.evil.jobs.service_accounts",
        ],
    );
}

#[test]
fn created_objects_with_a_pod_spec_are_checked_too() {
    let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostPID": true, "containers": [container()]}});
    let text = check_created_object("evil", None, &pod).unwrap_err().to_string();
    assert_contains(
        &text,
        &["kubernetes.create of Pod \"p\"", "spec.hostPID: is true", "spec.automountServiceAccountToken"],
    );
    let cron = json!({"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec":
        {"automountServiceAccountToken": false, "containers": [{"name": "x", "securityContext": {"privileged": true}}]}}}}}});
    let text = check_created_object("evil", Some(&grant()), &cron).unwrap_err().to_string();
    assert_contains(&text, &["spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"]);
    let secret = json!({"kind": "Secret", "metadata": {"name": "s"}});
    check_created_object("evil", None, &secret).unwrap();
    let fine = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": compliant_pod()});
    check_created_object("evil", None, &fine).unwrap();
}
