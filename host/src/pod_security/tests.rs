//! Every Pod Security Standards control at every level: each row changes one thing in a
//! pod that meets `restricted` and says which level first refuses it (or that none does).

use serde_json::{Value, json};

use super::*;

/// A pod that meets `restricted`: what the script plugin plans, reduced to the essentials.
fn compliant() -> Value {
    json!({
        "spec": {
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "script",
                "image": "python:3.11-slim",
                "ports": [{"containerPort": 8080}],
                "securityContext": {
                    "runAsNonRoot": true, "runAsUser": 1000, "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
                }
            }],
            "initContainers": [{
                "name": "install-dependencies",
                "image": "python:3.11-slim",
                "securityContext": {
                    "runAsNonRoot": true, "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
                }
            }],
            "volumes": [{"name": "script", "configMap": {"name": "s"}}, {"name": "tmp", "emptyDir": {}}]
        },
        "metadata": {"annotations": {}}
    })
}

/// Sets `pointer` (parents created as objects; `~1` is a `/` in the last key); `null`
/// removes the field.
fn set(root: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let key = &key.replace("~1", "/");
    let mut at = root;
    for part in parent.split('/').skip(1) {
        at = match at {
            Value::Array(items) => &mut items[part.parse::<usize>().unwrap()],
            other => other.as_object_mut().unwrap().entry(part).or_insert_with(|| json!({})),
        };
    }
    match (at, value) {
        (Value::Array(items), value) => items[key.parse::<usize>().unwrap()] = value,
        (Value::Object(map), Value::Null) => drop(map.remove(key)),
        (Value::Object(map), value) => drop(map.insert(key.to_string(), value)),
        (other, _) => panic!("cannot set {pointer} in {other}"),
    }
}

const C0: &str = "/spec/containers/0/securityContext";
const I0: &str = "/spec/initContainers/0/securityContext";

/// (what, edits, first level that refuses it with (control, field)) — `None`: allowed everywhere.
type Row = (&'static str, Vec<(String, Value)>, Option<(Level, &'static str, &'static str)>);

fn e(pointer: &str, value: Value) -> (String, Value) {
    (pointer.to_string(), value)
}

fn table() -> Vec<Row> {
    use Level::{Baseline as B, Restricted as R};
    vec![
        ("unchanged", vec![], None),
        // --- baseline ---
        (
            "pod hostProcess",
            vec![e("/spec/securityContext/windowsOptions/hostProcess", json!(true))],
            Some((B, "HostProcess", "spec.securityContext.windowsOptions.hostProcess")),
        ),
        (
            "container hostProcess",
            vec![e(&format!("{C0}/windowsOptions/hostProcess"), json!(true))],
            Some((B, "HostProcess", "spec.containers[0].securityContext.windowsOptions.hostProcess")),
        ),
        ("hostNetwork", vec![e("/spec/hostNetwork", json!(true))], Some((B, "Host Namespaces", "spec.hostNetwork"))),
        ("hostPID", vec![e("/spec/hostPID", json!(true))], Some((B, "Host Namespaces", "spec.hostPID"))),
        ("hostIPC", vec![e("/spec/hostIPC", json!(true))], Some((B, "Host Namespaces", "spec.hostIPC"))),
        ("hostNetwork false", vec![e("/spec/hostNetwork", json!(false))], None),
        (
            "hostNetwork mistyped",
            vec![e("/spec/hostNetwork", json!("true"))],
            Some((B, "Host Namespaces", "spec.hostNetwork")),
        ),
        (
            "privileged",
            vec![e(&format!("{C0}/privileged"), json!(true))],
            Some((B, "Privileged Containers", "spec.containers[0].securityContext.privileged")),
        ),
        (
            "privileged init container",
            vec![e(&format!("{I0}/privileged"), json!(true))],
            Some((B, "Privileged Containers", "spec.initContainers[0].securityContext.privileged")),
        ),
        (
            "add SYS_ADMIN",
            vec![e(&format!("{C0}/capabilities/add"), json!(["SYS_ADMIN"]))],
            Some((B, "Capabilities", "spec.containers[0].securityContext.capabilities.add[0]")),
        ),
        (
            "add CHOWN (baseline allows)",
            vec![e(&format!("{C0}/capabilities/add"), json!(["CHOWN"]))],
            Some((R, "Capabilities", "spec.containers[0].securityContext.capabilities.add[0]")),
        ),
        ("add NET_BIND_SERVICE", vec![e(&format!("{C0}/capabilities/add"), json!(["NET_BIND_SERVICE"]))], None),
        (
            "hostPath volume",
            vec![e("/spec/volumes/1", json!({"name": "root", "hostPath": {"path": "/"}}))],
            Some((B, "HostPath Volumes", "spec.volumes[1].hostPath")),
        ),
        (
            "hostPort",
            vec![e("/spec/containers/0/ports/0/hostPort", json!(80))],
            Some((B, "Host Ports", "spec.containers[0].ports[0].hostPort")),
        ),
        ("hostPort 0", vec![e("/spec/containers/0/ports/0/hostPort", json!(0))], None),
        (
            "AppArmor unconfined",
            vec![e(&format!("{C0}/appArmorProfile/type"), json!("Unconfined"))],
            Some((B, "AppArmor", "spec.containers[0].securityContext.appArmorProfile.type")),
        ),
        (
            "pod AppArmor unconfined",
            vec![e("/spec/securityContext/appArmorProfile/type", json!("Unconfined"))],
            Some((B, "AppArmor", "spec.securityContext.appArmorProfile.type")),
        ),
        ("AppArmor RuntimeDefault", vec![e(&format!("{C0}/appArmorProfile/type"), json!("RuntimeDefault"))], None),
        (
            "AppArmor annotation unconfined",
            vec![e(
                "/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1script",
                json!("unconfined"),
            )],
            Some((B, "AppArmor", "metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/script\"]")),
        ),
        (
            "AppArmor annotation localhost",
            vec![e(
                "/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1script",
                json!("localhost/p"),
            )],
            None,
        ),
        (
            "SELinux type",
            vec![e(&format!("{C0}/seLinuxOptions/type"), json!("spc_t"))],
            Some((B, "SELinux", "spec.containers[0].securityContext.seLinuxOptions.type")),
        ),
        ("SELinux container_t", vec![e(&format!("{C0}/seLinuxOptions/type"), json!("container_t"))], None),
        (
            "SELinux user",
            vec![e("/spec/securityContext/seLinuxOptions/user", json!("system_u"))],
            Some((B, "SELinux", "spec.securityContext.seLinuxOptions.user")),
        ),
        (
            "SELinux role",
            vec![e(&format!("{C0}/seLinuxOptions/role"), json!("sysadm_r"))],
            Some((B, "SELinux", "spec.containers[0].securityContext.seLinuxOptions.role")),
        ),
        (
            "procMount Unmasked",
            vec![e(&format!("{C0}/procMount"), json!("Unmasked"))],
            Some((B, "/proc Mount Type", "spec.containers[0].securityContext.procMount")),
        ),
        ("procMount Default", vec![e(&format!("{C0}/procMount"), json!("Default"))], None),
        (
            "seccomp Unconfined",
            vec![e(&format!("{C0}/seccompProfile/type"), json!("Unconfined"))],
            Some((B, "Seccomp", "spec.containers[0].securityContext.seccompProfile.type")),
        ),
        (
            "pod seccomp Unconfined",
            vec![e("/spec/securityContext/seccompProfile/type", json!("Unconfined"))],
            Some((B, "Seccomp", "spec.securityContext.seccompProfile.type")),
        ),
        (
            "unsafe sysctl",
            vec![e("/spec/securityContext/sysctls", json!([{"name": "kernel.msgmax", "value": "1"}]))],
            Some((B, "Sysctls", "spec.securityContext.sysctls[0].name")),
        ),
        (
            "safe sysctl",
            vec![e("/spec/securityContext/sysctls", json!([{"name": "net.ipv4.tcp_syncookies", "value": "1"}]))],
            None,
        ),
        // --- restricted ---
        (
            "nfs volume",
            vec![e("/spec/volumes/1", json!({"name": "n", "nfs": {"server": "s", "path": "/"}}))],
            Some((R, "Volume Types", "spec.volumes[1].nfs")),
        ),
        (
            "secret, projected, PVC volumes",
            vec![e(
                "/spec/volumes",
                json!([
            {"name": "a", "secret": {"secretName": "s"}}, {"name": "b", "projected": {"sources": []}},
            {"name": "c", "persistentVolumeClaim": {"claimName": "c"}}, {"name": "d", "downwardAPI": {}}]),
            )],
            None,
        ),
        (
            "privilege escalation unset",
            vec![e(&format!("{C0}/allowPrivilegeEscalation"), Value::Null)],
            Some((R, "Privilege Escalation", "spec.containers[0].securityContext.allowPrivilegeEscalation")),
        ),
        (
            "privilege escalation true",
            vec![e(&format!("{I0}/allowPrivilegeEscalation"), json!(true))],
            Some((R, "Privilege Escalation", "spec.initContainers[0].securityContext.allowPrivilegeEscalation")),
        ),
        (
            "runAsNonRoot unset",
            vec![e(&format!("{C0}/runAsNonRoot"), Value::Null)],
            Some((R, "Running as Non-root", "spec.containers[0].securityContext.runAsNonRoot")),
        ),
        (
            "runAsNonRoot from the pod",
            vec![
                e(&format!("{C0}/runAsNonRoot"), Value::Null),
                e(&format!("{I0}/runAsNonRoot"), Value::Null),
                e("/spec/securityContext/runAsNonRoot", json!(true)),
            ],
            None,
        ),
        (
            "runAsNonRoot false overrides the pod",
            vec![e(&format!("{C0}/runAsNonRoot"), json!(false)), e("/spec/securityContext/runAsNonRoot", json!(true))],
            Some((R, "Running as Non-root", "spec.containers[0].securityContext.runAsNonRoot")),
        ),
        (
            "runAsUser 0",
            vec![e(&format!("{C0}/runAsUser"), json!(0))],
            Some((R, "Running as Non-root user", "spec.containers[0].securityContext.runAsUser")),
        ),
        (
            "pod runAsUser 0",
            vec![e("/spec/securityContext/runAsUser", json!(0))],
            Some((R, "Running as Non-root user", "spec.securityContext.runAsUser")),
        ),
        (
            "seccomp unset",
            vec![e(&format!("{C0}/seccompProfile"), Value::Null)],
            Some((R, "Seccomp", "spec.containers[0].securityContext.seccompProfile.type")),
        ),
        (
            "seccomp Localhost",
            vec![e(&format!("{C0}/seccompProfile"), json!({"type": "Localhost", "localhostProfile": "p.json"}))],
            None,
        ),
        (
            "seccomp from the pod",
            vec![
                e(&format!("{C0}/seccompProfile"), Value::Null),
                e(&format!("{I0}/seccompProfile"), Value::Null),
                e("/spec/securityContext/seccompProfile/type", json!("RuntimeDefault")),
            ],
            None,
        ),
        (
            "capabilities not dropped",
            vec![e(&format!("{C0}/capabilities/drop"), json!(["NET_RAW"]))],
            Some((R, "Capabilities", "spec.containers[0].securityContext.capabilities.drop")),
        ),
        (
            "no security context",
            vec![e("/spec/initContainers/0/securityContext", Value::Null)],
            Some((R, "Privilege Escalation", "spec.initContainers[0].securityContext.allowPrivilegeEscalation")),
        ),
    ]
}

#[test]
fn every_control_at_every_level() {
    for (what, edits, refused) in table() {
        let mut pod = compliant();
        for (pointer, value) in edits {
            set(&mut pod, &pointer, value);
        }
        for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
            let found = check(&pod["spec"], pod.get("metadata"), "spec", level);
            match refused {
                Some((first, control, field)) if level >= first => {
                    let hit = found.iter().find(|v| v.field == field);
                    let hit = hit.unwrap_or_else(|| panic!("{what} at {level}: expected {field}, found {found:?}"));
                    assert_eq!((hit.control, hit.level), (control, first), "{what} at {level}: {hit}");
                    assert!(hit.allowed_by() < first, "{what}: {hit}");
                }
                _ => assert!(found.is_empty(), "{what} at {level}: unexpected {found:?}"),
            }
        }
    }
}

#[test]
fn paths_start_at_the_manifest_root() {
    let pod = json!({"hostNetwork": true, "containers": []});
    let metadata = json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/x": "unconfined"}});
    let found = check(&pod, Some(&metadata), "spec.template.spec", Level::Baseline);
    let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.template.spec.hostNetwork",
            "spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/x\"]"
        ]
    );
    assert_eq!(
        found[0].to_string(),
        "spec.template.spec.hostNetwork: is true; it must be unset or false (baseline rule \"Host Namespaces\")"
    );
}

#[test]
fn levels_parse_and_order() {
    let level: Level = serde_yaml::from_str("baseline").unwrap();
    assert_eq!(level, Level::Baseline);
    assert_eq!(Level::default(), Level::Restricted);
    assert!(Level::Privileged < Level::Baseline && Level::Baseline < Level::Restricted);
}
