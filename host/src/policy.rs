//! The policy file: which capabilities each plugin gets, and its limits. Deny by default:
//! a plugin not named here gets `log` and nothing else.
//!
//! ```yaml
//! backend: local                  # default backend for `run`/`exec`: local | kubernetes
//! defaults:
//!   limits: { memory_mib: 128, cpu_ms: 2000, max_response_mib: 16 }
//! plugins:
//!   script:
//!     kubernetes: { namespaces: [noetl], kinds: [ConfigMap, Secret, Job, Pod] }
//!     fetch: { hosts: [raw.githubusercontent.com, "*.example.com"] }
//!   http:                         # a plugin using the `http` capability (any method)
//!     http: { hosts: [api.example.com] }
//!     files: { dirs: ["."] }      # relative to the playbook's directory
//!     limits: { cpu_ms: 5000 }
//! local:
//!   runtimes: { "python:*": python3, "node:*": node }
//!   network_steps: [api_integration]   # script containers that may use the host network
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::engine::MAX_PLUGIN_MEMORY_BYTES;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Backend used when the command line does not choose one.
    #[serde(default)]
    pub backend: BackendChoice,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginGrant>,
    /// Settings of the local backend (image → runtime mapping overrides).
    #[serde(default)]
    pub local: LocalSettings,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Local,
    Kubernetes,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub limits: LimitsSpec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// Image pattern (`python:*`, exact names, `*` wildcards) → local runtime command.
    #[serde(default)]
    pub runtimes: BTreeMap<String, String>,
    /// Steps whose script container shares the host network on the local backend. Default
    /// none: a local script gets loopback only (the dependency install always has network).
    /// The operator opts a step in here, not the playbook, so a playbook cannot grant itself
    /// network access. Steps are matched by name, and the playbook picks its step names, so
    /// list steps only in a policy used for playbooks you trust. The Kubernetes backend
    /// ignores this (the cluster's network policy applies).
    #[serde(default)]
    pub network_steps: Vec<String>,
}

/// What one plugin may do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginGrant {
    #[serde(default)]
    pub kubernetes: Option<KubernetesGrant>,
    #[serde(default)]
    pub fetch: Option<FetchGrant>,
    /// Hosts the `http` capability (any method, headers, body) may reach; patterns as in
    /// `fetch.hosts`. Separate from `fetch` so that reading documents does not also grant
    /// writes to an API.
    #[serde(default)]
    pub http: Option<FetchGrant>,
    #[serde(default)]
    pub files: Option<FilesGrant>,
    #[serde(default)]
    pub secrets: Option<SecretsGrant>,
    #[serde(default)]
    pub limits: LimitsSpec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesGrant {
    pub namespaces: Vec<String>,
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchGrant {
    /// Host names; `*.example.com` matches subdomains. For `gs://` and `s3://` the bucket.
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesGrant {
    /// Directories, relative to the playbook's directory unless absolute.
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsGrant {
    /// Secret names the plugin may read; `*` for all.
    pub names: Vec<String>,
}

/// Limits as written in the file; unset fields fall back to `defaults`, then built-ins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    pub memory_mib: Option<u64>,
    pub cpu_ms: Option<u64>,
    pub max_response_mib: Option<u64>,
}

/// Effective limits of one plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Linear memory cap (bytes) for the plugin instance.
    pub memory_bytes: u64,
    /// Guest CPU time per call; time inside host calls does not count.
    pub cpu_ms: u64,
    /// Largest JSON text a call may return.
    pub max_response_bytes: u64,
}

impl Limits {
    pub const BUILT_IN: Limits = Limits { memory_bytes: 128 << 20, cpu_ms: 2_000, max_response_bytes: 16 << 20 };
}

impl Policy {
    /// Read and validate a policy file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading policy file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in policy file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let policy: Policy = serde_yaml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The policy used when no file is given: `log` only, except that tool plugins may
    /// read files in the playbook's directory (the documented `script.type: local` path).
    pub fn default_policy() -> Self {
        let mut policy = Policy::default();
        policy.plugins.insert(
            "script".into(),
            PluginGrant { files: Some(FilesGrant { dirs: vec![PathBuf::from(".")] }), ..Default::default() },
        );
        policy.plugins.insert(
            "template".into(),
            PluginGrant { secrets: Some(SecretsGrant { names: vec!["*".into()] }), ..Default::default() },
        );
        policy
    }

    fn validate(&self) -> anyhow::Result<()> {
        let all_limits = std::iter::once(("defaults.limits".to_string(), &self.defaults.limits))
            .chain(self.plugins.iter().map(|(name, grant)| (format!("plugins.{name}.limits"), &grant.limits)));
        for (field, limits) in all_limits {
            if let Some(mib) = limits.memory_mib {
                anyhow::ensure!(
                    mib > 0 && mib << 20 <= MAX_PLUGIN_MEMORY_BYTES,
                    "{field}.memory_mib is {mib}; use a value from 1 to {}",
                    MAX_PLUGIN_MEMORY_BYTES >> 20
                );
            }
            anyhow::ensure!(limits.cpu_ms != Some(0), "{field}.cpu_ms is 0; use a positive number of milliseconds");
            anyhow::ensure!(
                limits.max_response_mib != Some(0),
                "{field}.max_response_mib is 0; use a positive number of MiB"
            );
        }
        Ok(())
    }

    /// The grant of a plugin (empty when the policy does not name it).
    pub fn grant(&self, plugin: &str) -> PluginGrant {
        self.plugins.get(plugin).cloned().unwrap_or_default()
    }

    /// Effective limits of a plugin: its own, else `defaults`, else built-in.
    pub fn limits(&self, plugin: &str) -> Limits {
        let own = self.plugins.get(plugin).map(|g| &g.limits);
        let pick = |get: fn(&LimitsSpec) -> Option<u64>| own.and_then(get).or_else(|| get(&self.defaults.limits));
        Limits {
            memory_bytes: pick(|l| l.memory_mib).map_or(Limits::BUILT_IN.memory_bytes, |m| m << 20),
            cpu_ms: pick(|l| l.cpu_ms).unwrap_or(Limits::BUILT_IN.cpu_ms),
            max_response_bytes: pick(|l| l.max_response_mib).map_or(Limits::BUILT_IN.max_response_bytes, |m| m << 20),
        }
    }
}

impl FetchGrant {
    /// Whether `host` is granted (exact, or `*.domain` for any subdomain of `domain`).
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => host == pattern,
            }
        })
    }
}

impl KubernetesGrant {
    pub fn allows(&self, namespace: &str, kind: &str) -> bool {
        self.namespaces.iter().any(|n| n == namespace || n == "*") && self.kinds.iter().any(|k| k == kind || k == "*")
    }
}

impl SecretsGrant {
    pub fn allows(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name || n == "*")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let error = Policy::parse("plugins:\n  script:\n    fetchh: {hosts: []}\n").unwrap_err();
        assert!(format!("{error:#}").contains("unknown field `fetchh`"), "{error:#}");
    }

    #[test]
    fn limits_fall_back_from_plugin_to_defaults_to_built_in() {
        let policy = Policy::parse(
            "defaults: {limits: {cpu_ms: 500}}\nplugins:\n  a: {limits: {memory_mib: 16}}\n  b: {}\n",
        )
        .unwrap();
        assert_eq!(policy.limits("a"), Limits { memory_bytes: 16 << 20, cpu_ms: 500, ..Limits::BUILT_IN });
        assert_eq!(policy.limits("b").cpu_ms, 500);
        assert_eq!(policy.limits("unnamed").memory_bytes, Limits::BUILT_IN.memory_bytes);
    }

    #[test]
    fn zero_and_oversized_limits_name_the_field() {
        let error = Policy::parse("plugins:\n  a: {limits: {cpu_ms: 0}}\n").unwrap_err();
        assert!(error.to_string().contains("plugins.a.limits.cpu_ms"), "{error}");
        let error = Policy::parse("defaults: {limits: {memory_mib: 999999}}\n").unwrap_err();
        assert!(error.to_string().contains("defaults.limits.memory_mib"), "{error}");
    }

    #[test]
    fn host_patterns_match_exactly_or_by_subdomain() {
        let grant = FetchGrant { hosts: vec!["example.com".into(), "*.corp.net".into()] };
        assert!(grant.allows("EXAMPLE.com"));
        assert!(grant.allows("a.corp.net"));
        assert!(!grant.allows("corp.net"));
        assert!(!grant.allows("evil-example.com"));
        assert!(!grant.allows("example.com.evil.org"));
    }
}
