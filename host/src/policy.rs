//! The policy file: which capabilities each plugin gets, and its limits. Deny by default:
//! a plugin not named here gets `log` and nothing else.
//!
//! ```yaml
//! backend: local                  # default backend for `run`/`exec`: local | kubernetes
//! defaults:
//!   limits: { memory_mib: 128, cpu_ms: 2000, wall_ms: 60000, max_response_mib: 16 }
//! plugins:
//!   script:
//!     kubernetes: { namespaces: [noetl], kinds: [ConfigMap, Secret, Job, Pod] }
//!     fetch: { hosts: [raw.githubusercontent.com, "*.example.com"] }
//!   http:                         # a plugin using the `http` capability (any method)
//!     http: { hosts: [api.example.com, "127.0.0.1:8765"] }   # HOST (any port) or HOST:PORT
//!   json-transform:
//!     sha256: 3f5a...             # 64 hex: only the plugin file with this digest is loaded as json-transform
//!     files: { dirs: ["."] }      # relative to the playbook's directory
//!     limits: { cpu_ms: 5000 }
//!     jobs:                       # where and as what its job bundles may run
//!       namespaces: [noetl]       # exact names; `*` matches any run of characters
//!       service_accounts: []      # accounts pods may run as and mount the token of
//!       pod_security: restricted  # restricted | baseline | privileged
//! local:
//!   runtimes: { "python:*": python3, "node:*": node }
//!   network:                            # script containers that may use the host network
//!     - playbook_sha256: 3f1c...e9        # `sha256sum FILE` of one playbook file (64 hex digits)
//!       steps: [api_integration]          # steps of that file; omitted: every step of it
//!   pids_limit: 1024                    # processes per local container (its whole tree)
//!   cgroups: true                       # false: the rlimit fallback even where cgroups work
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
    /// Grants the built-in plugins get when `plugins` has no entry for them (the policy used
    /// without a policy file sets these). Never given to a plugin file of the same name.
    #[serde(skip)]
    pub built_in_grants: BTreeMap<String, PluginGrant>,
}

/// Where a loaded plugin came from. The defaults the host has for its built-in plugins (a
/// job grant for the script tools, the grants of the policy used without a policy file)
/// follow the origin, never the name: a plugin file that calls itself `script` gets only
/// what the policy writes under `plugins.script`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginSource {
    /// Compiled into the host ([`crate::builtin::PLUGINS`]).
    BuiltIn,
    /// Loaded from a file (`--plugin-dir`, `--plugin`, or by an embedding host).
    File,
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
    /// Playbook files whose steps' script containers share the host network on the local
    /// backend, each pinned by the SHA-256 of the file's bytes. Default none: a local script
    /// gets loopback only (the dependency install always has network). The operator grants
    /// it here, not the playbook; a step name alone grants nothing, since the playbook's
    /// author picks its step names. The Kubernetes backend ignores this (the cluster's
    /// network policy applies).
    #[serde(default)]
    pub network: Vec<NetworkGrant>,
    /// The old name-only grant, refused by [`Policy::parse`] with a message naming
    /// `network`; kept here only to give that message instead of "unknown field".
    #[serde(default, skip_serializing)]
    pub network_steps: Option<serde_yaml::Value>,
    /// Most processes (and threads) one local container may have at once (default 1024).
    #[serde(default)]
    pub pids_limit: Option<u64>,
    /// `false` bounds local containers with the rlimit fallback even where the host offers
    /// cgroups (default `true`: cgroups where available). For tests and comparisons.
    #[serde(default)]
    pub cgroups: Option<bool>,
}

/// One `local.network` entry: steps of one playbook file that get the host network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkGrant {
    /// SHA-256 of the playbook file's bytes, 64 hex digits (`sha256sum FILE`; `noetl-host
    /// check FILE` prints it too). Any change to the file changes it and ends the grant.
    pub playbook_sha256: String,
    /// Names of that file's steps that get the network; omitted: every step of that file.
    /// Steps of a playbook it calls (`kind: playbook`) need their own file's entry.
    #[serde(default)]
    pub steps: Option<Vec<String>>,
}

impl NetworkGrant {
    /// Whether this entry grants step `step` of the playbook file whose SHA-256 is `sha256`.
    pub fn grants(&self, sha256: &str, step: &str) -> bool {
        self.playbook_sha256.eq_ignore_ascii_case(sha256) && self.steps.as_ref().is_none_or(|steps| steps.iter().any(|s| s == step))
    }
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
    /// Where and as what the plugin's job bundles may run; see [`Policy::job_grant`].
    #[serde(default)]
    pub jobs: Option<JobGrant>,
    /// The SHA-256 (64 hex digits) of the only plugin file that may be loaded under this
    /// name. Checked for plugin files, never for the built-in plugin; required for a file
    /// that takes a built-in's name (see [`crate::plugin::set`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Where and as what a plugin's job bundles (and the pods it creates through the
/// `kubernetes` capability) may run. Checked by `crate::admission` before anything is
/// created, on every backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobGrant {
    /// Namespaces the bundles may target: exact names, or patterns where `*` matches any
    /// run of characters (`team-*`, `*`).
    pub namespaces: Vec<String>,
    /// ServiceAccounts the pods may run as besides the namespace's `default`, and whose
    /// token they may mount. No token is mounted unless its account is listed here (list
    /// `default` to let pods mount the default account's token).
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// The Pod Security Standards level every pod template must meet.
    #[serde(default)]
    pub pod_security: crate::pod_security::Level,
}

/// Built-in plugins that get [`JobGrant::built_in`] when the policy gives them no `jobs`
/// entry: the script tool and its python and shell variants (the built-in ones only, see
/// [`PluginSource`]).
pub const BUILT_IN_JOB_PLUGINS: &[&str] = &["script", "python", "shell"];

impl JobGrant {
    /// The built-in tools' grant: namespace `noetl`, no ServiceAccount token, `restricted`.
    pub fn built_in() -> Self {
        JobGrant {
            namespaces: vec!["noetl".into()],
            service_accounts: Vec::new(),
            pod_security: crate::pod_security::Level::Restricted,
        }
    }

    /// Whether bundles may target `namespace`.
    pub fn allows_namespace(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|pattern| glob_matches(pattern, namespace))
    }
}

/// `pattern` with `*` matching any run of characters (none included) against `text`.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
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
    /// [`HostPattern`](crate::host_pattern::HostPattern)s: `HOST` (any port) or `HOST:PORT`;
    /// `*.example.com` matches subdomains; IPv6 as `[::1]:5432`. For `gs://` and `s3://` the
    /// bucket (no port). Checked when the policy is loaded.
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
    pub wall_ms: Option<u64>,
    pub max_response_mib: Option<u64>,
}

/// Effective limits of one plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Linear memory cap (bytes) for the plugin instance.
    pub memory_bytes: u64,
    /// Guest CPU time per call; time inside host calls and WASI waits does not count.
    pub cpu_ms: u64,
    /// Wall-clock time per call, waits included: no call outlives it.
    pub wall_ms: u64,
    /// Largest JSON text a call may return.
    pub max_response_bytes: u64,
}

impl Limits {
    pub const BUILT_IN: Limits =
        Limits { memory_bytes: 128 << 20, cpu_ms: 2_000, wall_ms: 60_000, max_response_bytes: 16 << 20 };
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
        // Built-in grants, not `plugins` entries: a plugin file named `script` or `template`
        // (which a pin would let in) gets none of them.
        policy.built_in_grants.insert(
            "script".into(),
            PluginGrant { files: Some(FilesGrant { dirs: vec![PathBuf::from(".")] }), ..Default::default() },
        );
        policy.built_in_grants.insert(
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
            anyhow::ensure!(limits.wall_ms != Some(0), "{field}.wall_ms is 0; use a positive number of milliseconds");
            anyhow::ensure!(
                limits.max_response_mib != Some(0),
                "{field}.max_response_mib is 0; use a positive number of MiB"
            );
        }
        for (name, jobs) in self.plugins.iter().filter_map(|(name, grant)| Some((name, grant.jobs.as_ref()?))) {
            for pattern in &jobs.namespaces {
                let literal = pattern.replace('*', "a");
                anyhow::ensure!(
                    noetl_protocol::names::is_dns1123_label(&literal) || pattern == "*",
                    "plugins.{name}.jobs.namespaces: {pattern:?} is not a namespace name or pattern; use a \
                     lowercase DNS-1123 label such as `noetl`, optionally with `*` wildcards (`team-*`)"
                );
            }
            for account in &jobs.service_accounts {
                anyhow::ensure!(
                    noetl_protocol::names::is_dns1123_subdomain(account),
                    "plugins.{name}.jobs.service_accounts: {account:?} is not a ServiceAccount name; use a \
                     lowercase DNS-1123 name such as `noetl-runner`"
                );
            }
        }
        for (name, grant) in &self.plugins {
            for (key, hosts) in [("fetch", &grant.fetch), ("http", &grant.http)] {
                if let Some(hosts) = hosts {
                    crate::host_pattern::parse_all(&format!("plugins.{name}.{key}.hosts"), &hosts.hosts)?;
                }
            }
            if let Some(digest) = &grant.sha256 {
                anyhow::ensure!(
                    digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
                    "plugins.{name}.sha256: {digest:?} is not a SHA-256 digest; write the plugin file's 64 hex digits \
                     (`sha256sum FILE`, or the digest a refusal names)"
                );
            }
        }
        anyhow::ensure!(self.local.pids_limit != Some(0), "local.pids_limit is 0; use a positive number of processes");
        anyhow::ensure!(
            self.local.network_steps.is_none(),
            "local.network_steps is no longer accepted: it matched step names, which any playbook's author can choose. \
             Grant the host network to steps of one playbook file instead: `local.network: [{{playbook_sha256: <sha256 of \
             the file>, steps: [NAME, ...]}}]` (omit `steps` for every step of that file); get the sha256 with \
             `sha256sum FILE` or `noetl-host check FILE`"
        );
        for (index, grant) in self.local.network.iter().enumerate() {
            let sha = &grant.playbook_sha256;
            anyhow::ensure!(
                sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "local.network[{index}].playbook_sha256: {sha:?} is not a SHA-256; give the 64 hex digits \
                 `sha256sum FILE` prints for the playbook file"
            );
            anyhow::ensure!(
                grant.steps.as_ref().is_none_or(|steps| !steps.is_empty()),
                "local.network[{index}].steps is empty, which grants nothing; list step names, or omit `steps` to \
                 grant every step of that playbook file"
            );
        }
        Ok(())
    }

    /// The digest `plugins.NAME.sha256` pins plugin files of `name` to (lowercase), if any.
    pub fn pinned_sha256(&self, name: &str) -> Option<String> {
        self.plugins.get(name).and_then(|grant| grant.sha256.as_ref()).map(|digest| digest.to_ascii_lowercase())
    }

    /// The job grant of a plugin: its own `jobs` entry; else [`JobGrant::built_in`] for the
    /// built-in tools ([`BUILT_IN_JOB_PLUGINS`], built-in origin only); else none, and its
    /// bundles are refused.
    pub fn job_grant(&self, plugin: &str, origin: PluginSource) -> Option<JobGrant> {
        match self.plugins.get(plugin).and_then(|g| g.jobs.clone()) {
            Some(own) => Some(own),
            None => (origin == PluginSource::BuiltIn && BUILT_IN_JOB_PLUGINS.contains(&plugin)).then(JobGrant::built_in),
        }
    }

    /// The grant of a plugin: its `plugins` entry; else, for a built-in plugin, its entry in
    /// [`Policy::built_in_grants`]; else empty.
    pub fn grant(&self, plugin: &str, origin: PluginSource) -> PluginGrant {
        let built_in = || self.built_in_grants.get(plugin).filter(|_| origin == PluginSource::BuiltIn);
        self.plugins.get(plugin).or_else(built_in).cloned().unwrap_or_default()
    }

    /// Effective limits of a plugin: its own, else `defaults`, else built-in.
    pub fn limits(&self, plugin: &str) -> Limits {
        let own = self.plugins.get(plugin).map(|g| &g.limits);
        let pick = |get: fn(&LimitsSpec) -> Option<u64>| own.and_then(get).or_else(|| get(&self.defaults.limits));
        Limits {
            memory_bytes: pick(|l| l.memory_mib).map_or(Limits::BUILT_IN.memory_bytes, |m| m << 20),
            cpu_ms: pick(|l| l.cpu_ms).unwrap_or(Limits::BUILT_IN.cpu_ms),
            wall_ms: pick(|l| l.wall_ms).unwrap_or(Limits::BUILT_IN.wall_ms),
            max_response_bytes: pick(|l| l.max_response_mib).map_or(Limits::BUILT_IN.max_response_bytes, |m| m << 20),
        }
    }
}

impl FetchGrant {
    /// Whether `host` on `port` is granted (`None`: no port, as for a bucket); see
    /// [`crate::host_pattern`].
    pub fn allows(&self, host: &str, port: Option<u16>) -> bool {
        crate::host_pattern::any_matches(&self.hosts, host, port)
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
            "defaults: {limits: {cpu_ms: 500}}\nplugins:\n  a: {limits: {memory_mib: 16, wall_ms: 900}}\n  b: {}\n",
        )
        .unwrap();
        assert_eq!(policy.limits("a"), Limits { memory_bytes: 16 << 20, cpu_ms: 500, wall_ms: 900, ..Limits::BUILT_IN });
        assert_eq!(policy.limits("b").cpu_ms, 500);
        assert_eq!(policy.limits("b").wall_ms, Limits::BUILT_IN.wall_ms);
        assert_eq!(policy.limits("unnamed").memory_bytes, Limits::BUILT_IN.memory_bytes);
    }

    #[test]
    fn zero_and_oversized_limits_name_the_field() {
        let error = Policy::parse("plugins:\n  a: {limits: {cpu_ms: 0}}\n").unwrap_err();
        assert!(error.to_string().contains("plugins.a.limits.cpu_ms"), "{error}");
        let error = Policy::parse("plugins:\n  a: {limits: {wall_ms: 0}}\n").unwrap_err();
        assert!(error.to_string().contains("plugins.a.limits.wall_ms"), "{error}");
        let error = Policy::parse("defaults: {limits: {memory_mib: 999999}}\n").unwrap_err();
        assert!(error.to_string().contains("defaults.limits.memory_mib"), "{error}");
    }

    #[test]
    fn job_grants_default_for_built_ins_only() {
        let policy = Policy::parse(
            "plugins:\n  script: {fetch: {hosts: [a.org]}}\n  shell:\n    jobs: {namespaces: [\"team-*\"], pod_security: baseline}\n",
        )
        .unwrap();
        assert_eq!(policy.job_grant("script", PluginSource::BuiltIn), Some(JobGrant::built_in()));
        assert_eq!(policy.job_grant("python", PluginSource::BuiltIn), Some(JobGrant::built_in()));
        let shell = policy.job_grant("shell", PluginSource::BuiltIn).unwrap();
        assert_eq!(shell.pod_security, crate::pod_security::Level::Baseline);
        assert!(shell.allows_namespace("team-a") && !shell.allows_namespace("noetl"));
        assert_eq!(policy.job_grant("third-party", PluginSource::File), None);
        // A plugin file named like a built-in gets what the policy writes, not the default.
        assert_eq!(policy.job_grant("script", PluginSource::File), None);
        assert_eq!(policy.job_grant("python", PluginSource::File), None);
        assert_eq!(policy.job_grant("shell", PluginSource::File), policy.job_grant("shell", PluginSource::BuiltIn));
    }

    #[test]
    fn built_in_grants_go_to_the_built_in_plugins_only() {
        let policy = Policy::default_policy();
        assert!(policy.grant("template", PluginSource::BuiltIn).secrets.is_some_and(|s| s.allows("ANY")));
        assert!(policy.grant("template", PluginSource::File).secrets.is_none());
        assert!(policy.grant("script", PluginSource::BuiltIn).files.is_some());
        assert!(policy.grant("script", PluginSource::File).files.is_none());
        // A written entry is what both get.
        let policy = Policy::parse("plugins:\n  template: {secrets: {names: [A]}}\n").unwrap();
        assert_eq!(policy.grant("template", PluginSource::File).secrets.unwrap().names, ["A"]);
    }

    #[test]
    fn pins_are_64_hex_digits() {
        let digest = "AB".repeat(32);
        let policy = Policy::parse(&format!("plugins:\n  script: {{sha256: {digest}}}\n")).unwrap();
        assert_eq!(policy.pinned_sha256("script"), Some("ab".repeat(32)));
        assert_eq!(policy.pinned_sha256("shell"), None);
        let error = Policy::parse("plugins:\n  script: {sha256: abc}\n").unwrap_err();
        assert!(error.to_string().contains("plugins.script.sha256") && error.to_string().contains("64 hex"), "{error}");
    }

    #[test]
    fn host_patterns_are_checked_at_load_naming_the_key() {
        let error = Policy::parse("plugins:\n  x:\n    http: {hosts: [\"127.0.0.1:http\"]}\n").unwrap_err();
        assert!(error.to_string().starts_with("plugins.x.http.hosts: `127.0.0.1:http`: the port `http`"), "{error}");
        let error = Policy::parse("plugins:\n  y:\n    fetch: {hosts: [\"[::1\"]}\n").unwrap_err();
        assert!(error.to_string().starts_with("plugins.y.fetch.hosts:"), "{error}");
        assert!(Policy::parse("plugins:\n  x:\n    http: {hosts: [\"127.0.0.1:8765\", \"[::1]:5432\", \"*.a.org\"]}\n").is_ok());
    }

    #[test]
    fn namespace_patterns_use_star_wildcards() {
        let grant = JobGrant { namespaces: vec!["kbench-*".into(), "a*z".into(), "exact".into()], ..JobGrant::built_in() };
        for yes in ["kbench-1", "kbench-", "az", "abcz", "exact"] {
            assert!(grant.allows_namespace(yes), "{yes}");
        }
        for no in ["kbench", "xkbench-1", "abc", "exact2", "zexact"] {
            assert!(!grant.allows_namespace(no), "{no}");
        }
        assert!(JobGrant { namespaces: vec!["*".into()], ..JobGrant::built_in() }.allows_namespace("kube-system"));
    }

    #[test]
    fn bad_job_grants_name_the_key() {
        let error = Policy::parse("plugins:\n  x:\n    jobs: {namespaces: [Kube_System]}\n").unwrap_err();
        assert!(error.to_string().contains("plugins.x.jobs.namespaces"), "{error}");
        let error = Policy::parse("plugins:\n  x:\n    jobs: {namespaces: [a], pod_security: open}\n").unwrap_err();
        assert!(format!("{error:#}").contains("unknown variant `open`"), "{error:#}");
        let error = Policy::parse("plugins:\n  x:\n    jobs: {namespaces: [a], service_accounts: [\"A B\"]}\n").unwrap_err();
        assert!(error.to_string().contains("plugins.x.jobs.service_accounts"), "{error}");
    }

    #[test]
    fn network_steps_is_refused_naming_its_replacement() {
        let error = Policy::parse("local:\n  network_steps: [call_api]\n").unwrap_err().to_string();
        for needle in ["local.network_steps", "local.network:", "playbook_sha256", "sha256sum FILE"] {
            assert!(error.contains(needle), "{needle}: {error}");
        }
    }

    #[test]
    fn network_grants_are_pinned_to_a_file_and_optionally_to_steps() {
        let (a, b) = ("a".repeat(64), "B".repeat(64));
        let policy = Policy::parse(&format!("local:\n  network:\n    - {{playbook_sha256: {a}, steps: [call]}}\n    - {{playbook_sha256: {b}}}\n")).unwrap();
        let granted = |sha: &str, step: &str| policy.local.network.iter().any(|g| g.grants(sha, step));
        assert!(granted(&a, "call"));
        assert!(!granted(&a, "other"), "only the listed steps of file a");
        assert!(granted(&b.to_lowercase(), "anything"), "every step of file b, hex in any case");
        assert!(!granted(&"c".repeat(64), "call"), "the step name alone grants nothing");
        let error = Policy::parse("local:\n  network: [{playbook_sha256: abc}]\n").unwrap_err();
        assert!(error.to_string().contains("local.network[0].playbook_sha256"), "{error}");
        let error = Policy::parse(&format!("local:\n  network: [{{playbook_sha256: {a}, steps: []}}]\n")).unwrap_err();
        assert!(error.to_string().contains("local.network[0].steps is empty"), "{error}");
    }

    #[test]
    fn host_patterns_match_exactly_or_by_subdomain_and_port() {
        let grant = FetchGrant { hosts: vec!["example.com".into(), "*.corp.net".into(), "127.0.0.1:8765".into()] };
        assert!(grant.allows("EXAMPLE.com", Some(443)));
        assert!(grant.allows("a.corp.net", None));
        assert!(!grant.allows("corp.net", None));
        assert!(!grant.allows("evil-example.com", None));
        assert!(!grant.allows("example.com.evil.org", None));
        assert!(grant.allows("127.0.0.1", Some(8765)));
        assert!(!grant.allows("127.0.0.1", Some(8766)));
    }
}
