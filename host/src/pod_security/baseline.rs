//! The `baseline` level: no known privilege escalation (host namespaces and processes,
//! privileged containers, extra capabilities, host paths and ports, weakened AppArmor,
//! SELinux, /proc or seccomp, unsafe sysctls).

use serde_json::Value;

use super::{Found, Level, Violation, containers, items, security_contexts, text};

/// Capabilities `baseline` lets a container add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
/// Sysctls `baseline` allows (the "safe" set, as of Kubernetes 1.33).
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
/// SELinux types `baseline` allows (besides unset and empty).
const SELINUX_TYPES: &[&str] = &["container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

pub(super) fn check(pod: &Value, metadata: Option<&Value>, found: &mut Found) {
    let b = Level::Baseline;
    for (path, sc) in security_contexts(pod) {
        found.unset_or_false(
            sc.pointer("/windowsOptions/hostProcess"),
            &format!("{path}.windowsOptions.hostProcess"),
            "HostProcess",
            b,
        );
        if let Some(kind) = sc.pointer("/appArmorProfile/type").filter(|v| !v.is_null())
            && !matches!(kind.as_str(), Some("RuntimeDefault" | "Localhost"))
        {
            found.push(
                &format!("{path}.appArmorProfile.type"),
                "AppArmor",
                b,
                format!("is {kind}; allowed: RuntimeDefault, Localhost"),
            );
        }
        if let Some(options) = sc.get("seLinuxOptions") {
            if let Some(kind) = options.get("type").filter(|v| !v.is_null() && v.as_str() != Some(""))
                && !text(Some(kind)).is_some_and(|t| SELINUX_TYPES.contains(&t))
            {
                let field = format!("{path}.seLinuxOptions.type");
                found.push(&field, "SELinux", b, format!("is {kind}; allowed: {}", SELINUX_TYPES.join(", ")));
            }
            for key in ["user", "role"] {
                if let Some(v) = options.get(key).filter(|v| !v.is_null() && v.as_str() != Some("")) {
                    found.push(
                        &format!("{path}.seLinuxOptions.{key}"),
                        "SELinux",
                        b,
                        format!("is {v}; it must be unset or empty"),
                    );
                }
            }
        }
        if let Some(kind) = sc.pointer("/seccompProfile/type").filter(|v| v.as_str() == Some("Unconfined")) {
            found.push(
                &format!("{path}.seccompProfile.type"),
                "Seccomp",
                b,
                format!("is {kind}; allowed: RuntimeDefault, Localhost"),
            );
        }
    }
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        found.unset_or_false(pod.get(key), key, "Host Namespaces", b);
    }
    for (path, c) in containers(pod) {
        let sc = c.get("securityContext");
        found.unset_or_false(
            sc.and_then(|sc| sc.get("privileged")),
            &format!("{path}.securityContext.privileged"),
            "Privileged Containers",
            b,
        );
        for (i, cap) in items(sc.and_then(|sc| sc.pointer("/capabilities/add"))).enumerate() {
            if !text(Some(cap)).is_some_and(|c| BASELINE_CAPABILITIES.contains(&c)) {
                let field = format!("{path}.securityContext.capabilities.add[{i}]");
                found.push(
                    &field,
                    "Capabilities",
                    b,
                    format!("adds {cap}; allowed: {}", BASELINE_CAPABILITIES.join(", ")),
                );
            }
        }
        for (i, port) in items(c.get("ports")).enumerate() {
            if let Some(host_port) = port.get("hostPort").filter(|p| !p.is_null() && p.as_i64() != Some(0)) {
                found.push(
                    &format!("{path}.ports[{i}].hostPort"),
                    "Host Ports",
                    b,
                    format!("is {host_port}; it must be unset or 0"),
                );
            }
        }
        if let Some(mount) =
            sc.and_then(|sc| sc.get("procMount")).filter(|v| !v.is_null() && v.as_str() != Some("Default"))
        {
            found.push(
                &format!("{path}.securityContext.procMount"),
                "/proc Mount Type",
                b,
                format!("is {mount}; it must be unset or Default"),
            );
        }
    }
    for (i, volume) in items(pod.get("volumes")).enumerate() {
        if volume.get("hostPath").is_some_and(|v| !v.is_null()) {
            found.push(
                &format!("volumes[{i}].hostPath"),
                "HostPath Volumes",
                b,
                "mounts a directory of the node; hostPath volumes are forbidden",
            );
        }
    }
    for (i, sysctl) in items(pod.pointer("/securityContext/sysctls")).enumerate() {
        let name = sysctl.get("name");
        if !text(name).is_some_and(|n| SAFE_SYSCTLS.contains(&n)) {
            let name = name.cloned().unwrap_or(Value::Null);
            found.push(
                &format!("securityContext.sysctls[{i}].name"),
                "Sysctls",
                b,
                format!("is {name}; allowed: {}", SAFE_SYSCTLS.join(", ")),
            );
        }
    }
    let annotations = metadata.and_then(|m| m.get("annotations")).and_then(Value::as_object);
    for (key, value) in annotations.into_iter().flatten().filter(|(k, _)| k.starts_with(APPARMOR_ANNOTATION)) {
        let allowed = text(Some(value)).is_some_and(|v| v == "runtime/default" || v.starts_with("localhost/"));
        if !allowed {
            // The annotation lives in the metadata next to the pod spec, not inside it.
            let field = format!("metadata.annotations[{key:?}]");
            let detail = format!("is {value}; allowed: runtime/default, localhost/<profile>");
            found.violations.push(Violation {
                field: metadata_path(found.at, &field),
                control: "AppArmor",
                level: b,
                detail,
            });
        }
    }
}

/// `spec.template.spec` + `metadata.x` → `spec.template.metadata.x`; `spec` → `metadata.x`.
fn metadata_path(spec_at: &str, field: &str) -> String {
    match spec_at.strip_suffix("spec") {
        Some(parent) => format!("{parent}{field}"),
        None => field.to_string(),
    }
}
