//! The `restricted` level, on top of `baseline`: only ephemeral and API-backed volume types,
//! no privilege escalation, non-root, a seccomp profile, all capabilities dropped.

use serde_json::Value;

use super::{Found, Level, containers, items, text};

/// Volume sources `restricted` allows.
const RESTRICTED_VOLUMES: &[&str] =
    &["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

pub(super) fn check(pod: &Value, found: &mut Found) {
    let r = Level::Restricted;
    for (i, volume) in items(pod.get("volumes")).enumerate() {
        let sources = volume.as_object().into_iter().flatten().filter(|(k, v)| *k != "name" && !v.is_null());
        for (source, _) in sources.filter(|(k, _)| !RESTRICTED_VOLUMES.contains(&k.as_str())) {
            let detail = format!("is a {source} volume; allowed: {}", RESTRICTED_VOLUMES.join(", "));
            found.push(&format!("volumes[{i}].{source}"), "Volume Types", r, detail);
        }
    }
    let pod_sc = pod.get("securityContext");
    if let Some(user) = pod_sc.and_then(|sc| sc.get("runAsUser")).filter(|u| u.as_i64() == Some(0)) {
        found.push(
            "securityContext.runAsUser",
            "Running as Non-root user",
            r,
            format!("is {user}; it must be unset or non-zero"),
        );
    }
    let pod_non_root = pod_sc.and_then(|sc| sc.get("runAsNonRoot")).filter(|v| !v.is_null());
    let pod_seccomp = pod_sc.and_then(|sc| sc.pointer("/seccompProfile/type")).filter(|v| !v.is_null());
    for (path, c) in containers(pod) {
        let sc = c.get("securityContext");
        let field = |name: &str| format!("{path}.securityContext.{name}");
        let own = |pointer: &str| sc.and_then(|sc| sc.pointer(pointer)).filter(|v| !v.is_null());
        if own("/allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
            found.push(&field("allowPrivilegeEscalation"), "Privilege Escalation", r, "must be set to false");
        }
        if own("/runAsNonRoot").or(pod_non_root) != Some(&Value::Bool(true)) {
            let detail = "must be true, here or in the pod's securityContext";
            found.push(&field("runAsNonRoot"), "Running as Non-root", r, detail);
        }
        if let Some(user) = own("/runAsUser").filter(|u| u.as_i64() == Some(0)) {
            found.push(
                &field("runAsUser"),
                "Running as Non-root user",
                r,
                format!("is {user}; it must be unset or non-zero"),
            );
        }
        if !text(own("/seccompProfile/type").or(pod_seccomp)).is_some_and(|t| t == "RuntimeDefault" || t == "Localhost")
        {
            let detail = "must be RuntimeDefault or Localhost, here or in the pod's securityContext";
            found.push(&field("seccompProfile.type"), "Seccomp", r, detail);
        }
        if !items(own("/capabilities/drop")).any(|c| c.as_str() == Some("ALL")) {
            found.push(&field("capabilities.drop"), "Capabilities", r, "must include ALL");
        }
        for (i, cap) in items(own("/capabilities/add")).enumerate() {
            if cap.as_str() != Some("NET_BIND_SERVICE") {
                found.push(
                    &field(&format!("capabilities.add[{i}]")),
                    "Capabilities",
                    r,
                    format!("adds {cap}; only NET_BIND_SERVICE may be added"),
                );
            }
        }
    }
}
