//! Kubernetes kinds the host talks to, by kind name: one table, so the submit path, the
//! `kubernetes` capability and the RBAC example cannot disagree about group and plural.

use kube::api::ApiResource;
use kube::core::GroupVersionKind;

/// A kind the host knows: its API group/version and the plural resource name RBAC uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownKind {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
}

/// Every kind reachable by name. Namespaced kinds only: the capability is scoped to
/// granted namespaces, so cluster-scoped kinds are deliberately absent.
pub const KNOWN_KINDS: &[KnownKind] = &[
    KnownKind {
        kind: "ConfigMap",
        group: "",
        version: "v1",
        plural: "configmaps",
    },
    KnownKind {
        kind: "Secret",
        group: "",
        version: "v1",
        plural: "secrets",
    },
    KnownKind {
        kind: "Pod",
        group: "",
        version: "v1",
        plural: "pods",
    },
    KnownKind {
        kind: "Event",
        group: "",
        version: "v1",
        plural: "events",
    },
    KnownKind {
        kind: "Service",
        group: "",
        version: "v1",
        plural: "services",
    },
    KnownKind {
        kind: "PersistentVolumeClaim",
        group: "",
        version: "v1",
        plural: "persistentvolumeclaims",
    },
    KnownKind {
        kind: "Job",
        group: "batch",
        version: "v1",
        plural: "jobs",
    },
    KnownKind {
        kind: "CronJob",
        group: "batch",
        version: "v1",
        plural: "cronjobs",
    },
];

impl KnownKind {
    /// Look a kind up by its exact Kubernetes name (`ConfigMap`, not `configmap`).
    pub fn by_name(kind: &str) -> anyhow::Result<&'static KnownKind> {
        KNOWN_KINDS.iter().find(|k| k.kind == kind).ok_or_else(|| {
            let names: Vec<&str> = KNOWN_KINDS.iter().map(|k| k.kind).collect();
            anyhow::anyhow!(
                "unsupported Kubernetes kind {kind:?}; supported kinds: {}",
                names.join(", ")
            )
        })
    }

    /// `apiVersion` as written in manifests (`v1`, `batch/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The dynamic-API descriptor kube uses to build URLs for this kind.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, self.version, self.kind),
            self.plural,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_is_in_the_batch_group() {
        let job = KnownKind::by_name("Job").unwrap();
        assert_eq!(job.api_version(), "batch/v1");
        assert_eq!(job.api_resource().plural, "jobs");
    }

    #[test]
    fn unknown_kind_lists_the_supported_ones() {
        let err = KnownKind::by_name("configmap").unwrap_err().to_string();
        assert!(
            err.contains("\"configmap\"") && err.contains("ConfigMap"),
            "{err}"
        );
    }
}
