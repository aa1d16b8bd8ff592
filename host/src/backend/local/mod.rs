//! The embedded local backend: runs a planned Job bundle as sandboxed host processes, so
//! every example runs without a cluster.
//!
//! One run: read the manifests ([`pod`]); map the image to a host runtime ([`images`],
//! [`runtime`]); materialize ConfigMap volumes as files (under one temp dir removed at the
//! end, also on error, timeout or cancellation) and emptyDirs as private tmpfs mounts;
//! install dependencies once per environment ([`deps`]); run the `script` container up to
//! `backoffLimit + 1` times, each time in a fresh sandbox ([`sandbox`]).
//!
//! Pod names are `{job}-local-{attempt}` with attempts numbered from 1.
//!
//! Network: the dependency install shares the host network (it must reach the registry);
//! the script container gets a loopback-only network namespace, unless a
//! [`LocalConfig::network`] entry (the policy's `local.network`) grants its step of its
//! playbook file: the Job's `noetl.io/playbook-sha256` annotation must be the entry's
//! `playbook_sha256` and its `noetl.io/step` annotation one of the entry's `steps` (or the
//! entry lists none). The host stamps both annotations from what it knows (the bytes of the
//! playbook file it read, the step it ran), overriding whatever the plugin wrote; a call
//! with no playbook file (`exec`, an embedding worker that passes none) has no
//! `playbook-sha256` and so no network, unless the embedding code set
//! [`LocalConfig::network_without_playbook`] (no policy key does). That is the opt-in for
//! scripts that call an API (spec example 03); it is decided by the operator, never by the
//! playbook. A granted container shares the host's network namespace: any runtime and any
//! protocol reach whatever the host reaches (there is no egress proxy).
//!
//! Bounds, as a kubelet bounds a pod ([`cgroup`]): where the host can make cgroups (v2 in
//! a delegated subtree, else v1 memory and pids), each sandbox run gets its own, so the
//! whole process tree (tmpfs pages included) shares `resources.limits.memory`,
//! `resources.limits.cpu` becomes a CFS quota, and the tree has at most
//! [`LocalConfig::pids_limit`] processes. The kernel's OOM killer ends a tree over its
//! memory; the run is reported as `OOMKilled` with the real exit code (137 when PID 1 was
//! killed). Elsewhere, or with [`LocalConfig::cgroups`] off, the fallback bounds each
//! process: `RLIMIT_DATA` (limit plus [`sandbox::MEMORY_HEADROOM`]; `RLIMIT_AS` kills
//! `node` at start-up) and `RLIMIT_NPROC`, which binds a root host's steps too because
//! they then have a dedicated real uid ([`host_user`]).
//! Under an rlimit an allocation fails instead of the kernel killing the process, so a run
//! that fails with an out-of-memory message on stderr (`MemoryError`, `JavaScript heap out
//! of memory`, ...) or is killed by SIGKILL while a limit is set is reported as `OOMKilled`.
//! In both cases `/tmp` is a tmpfs sized to the memory limit.

mod cgroup;
mod deps;
mod expand;
mod gate;
mod host_user;
mod images;
mod pod;
mod probe_cache;
mod quantity;
mod runtime;
mod sandbox;
mod tail;

pub use images::{ImageRuntime, stock_image_runtimes};

use super::{JobBundle, JobOutcome, JobStatus, conventions};
use crate::admission::ANNOTATION_PLAYBOOK_SHA256;
pub use crate::policy::NetworkGrant;
use anyhow::Context;
use deps::DepsCache;
use pod::{ContainerPlan, PodPlan, VolumeSource};
use probe_cache::ProbeCache;
use runtime::{HostEnv, Runtime};
use sandbox::{Bind, BindSource, Ended, SandboxRun, SandboxSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stderr lines that mean the process ran out of memory under its limit.
const OUT_OF_MEMORY_MARKERS: &[&str] =
    &["MemoryError", "JavaScript heap out of memory", "Cannot allocate memory", "std::bad_alloc", "out of memory"];
/// How much of a failed install's stderr goes into the outcome message.
const MESSAGE_TAIL_CHARS: usize = 2000;

/// Host environment variables handed to the dependency-install container only (never to
/// the script), so `pip`/`npm` reach their registry as they do on the host.
pub fn default_install_env_passthrough() -> Vec<String> {
    [
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_TRUSTED_HOST",
        "PIP_CERT",
        "PIP_DEFAULT_TIMEOUT",
        "NPM_CONFIG_REGISTRY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Image → runtime rules checked before [`stock_image_runtimes`].
    pub image_runtimes: Vec<ImageRuntime>,
    /// Root of the local backend's caches (dependency environments, runtime probes);
    /// default `deps` under [`crate::paths::cache_root`] (`$NOETL_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/noetl-host`, else `~/.cache/noetl-host`).
    pub cache_dir: Option<PathBuf>,
    /// Where per-run temp dirs are made; default the system temp dir.
    pub work_dir: Option<PathBuf>,
    /// Bytes of stdout and of stderr kept per run (the tail); more sets `output_truncated`.
    pub output_cap_bytes: usize,
    /// See [`default_install_env_passthrough`].
    pub install_env_passthrough: Vec<String>,
    /// Steps of pinned playbook files whose script container shares the host network
    /// (default: none, loopback only); see the module documentation.
    pub network: Vec<NetworkGrant>,
    /// Give the host network to every script container of a call without a playbook file
    /// (no `noetl.io/playbook-sha256`: `exec`, the `noetl-tools` adapter). Default `false`.
    /// Only Rust code embedding the host can set it (no policy key does): for a worker
    /// whose operator trusts every step it runs with the network.
    pub network_without_playbook: bool,
    /// Most processes (and threads) one container's tree may have at once
    /// (default [`DEFAULT_PIDS_LIMIT`]).
    pub pids_limit: u64,
    /// Bound each container's tree with cgroups where the host offers them (default
    /// `true`); `false` forces the rlimit fallback, as on a host without cgroups.
    pub cgroups: bool,
}

/// Default process limit of a local container: room for a build or a thread pool, far
/// below what a fork bomb needs to hurt the host.
pub const DEFAULT_PIDS_LIMIT: u64 = 1024;

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            image_runtimes: Vec::new(),
            cache_dir: None,
            work_dir: None,
            output_cap_bytes: 1 << 20,
            install_env_passthrough: default_install_env_passthrough(),
            network: Vec::new(),
            network_without_playbook: false,
            pids_limit: DEFAULT_PIDS_LIMIT,
            cgroups: true,
        }
    }
}

pub struct LocalBackend {
    rules: Vec<ImageRuntime>,
    cache: DepsCache,
    work_dir: PathBuf,
    output_cap: usize,
    install_env_passthrough: Vec<String>,
    network: Vec<NetworkGrant>,
    network_without_playbook: bool,
    pids_limit: u64,
    cgroups: bool,
    probes: Arc<ProbeCache>,
}

/// What the dependency step produced.
enum DepsOutcome {
    /// Volume name → installed tree to mount read-only in the script container.
    Ready(HashMap<String, PathBuf>),
    /// The install did not succeed; this is the job's outcome.
    Ended(JobOutcome),
}

impl LocalBackend {
    pub fn new(config: LocalConfig) -> anyhow::Result<Self> {
        // The same root as the compiled-plugin cache, so `NOETL_CACHE_DIR` moves both.
        let cache_root = config.cache_dir.unwrap_or_else(|| crate::paths::cache_root().join("deps"));
        let work_dir = config.work_dir.unwrap_or_else(std::env::temp_dir);
        if !work_dir.is_dir() {
            anyhow::bail!("LocalConfig.work_dir: {} is not a directory", work_dir.display());
        }
        let mut rules = config.image_runtimes;
        rules.extend(stock_image_runtimes());
        Ok(Self {
            rules,
            cache: DepsCache::open(&cache_root)?,
            probes: Arc::new(ProbeCache::new(&cache_root)),
            work_dir,
            output_cap: config.output_cap_bytes,
            install_env_passthrough: config.install_env_passthrough,
            network: config.network,
            network_without_playbook: config.network_without_playbook,
            pids_limit: config.pids_limit,
            cgroups: config.cgroups,
        })
    }

    /// Root of the dependency cache.
    pub fn cache_dir(&self) -> &Path {
        self.cache.root()
    }

    /// Runs `bundle` to a terminal state. `Err` means the bundle cannot run here at all
    /// (malformed manifests, unmapped image, missing runtime); everything that happens once
    /// processes start is a [`JobOutcome`].
    pub async fn run(&self, bundle: &JobBundle) -> anyhow::Result<JobOutcome> {
        let started = Instant::now();
        let plan = pod::plan(bundle)?;
        let script_runtime = self.runtime_for(&plan.script.image).await?;
        let install_runtime = match &plan.install {
            Some(c) => Some(self.runtime_for(&c.image).await?),
            None => None,
        };
        let (timeout, timeout_source) = effective_timeout(plan.deadline_seconds, bundle.timeout_seconds);
        let deadline = timeout.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        let work = tempfile::Builder::new()
            .prefix("noetl-local-")
            .tempdir_in(&self.work_dir)
            .with_context(|| format!("cannot create a temp dir in {}", self.work_dir.display()))?;
        let files = materialize_file_volumes(&plan, work.path())?;
        let base = OutcomeBase { bundle, started, timeout };

        let deps = match (&plan.install, &install_runtime) {
            (Some(install), Some(rt)) => {
                match self.install_dependencies(&plan, install, rt, &files, deadline, &base).await? {
                    DepsOutcome::Ready(deps) => deps,
                    DepsOutcome::Ended(outcome) => return Ok(outcome),
                }
            }
            _ => HashMap::new(),
        };

        let script_network = self.script_has_network(bundle);
        let mut failed = 0;
        for attempt in 1..=plan.backoff_limit.saturating_add(1) {
            let pod_name = format!("{}-local-{attempt}", bundle.job_name);
            let binds = self.binds_for(&plan, &plan.script, &files, &deps, None);
            let spec = self.sandbox_spec(&plan.script, &script_runtime, &pod_name, binds, script_network)?;
            let run = sandbox::run(spec, deadline).await?;
            match &run.ended {
                Ended::Exited(0) => return Ok(base.outcome(JobStatus::Completed, &pod_name, &run, Some(0), 1, failed)),
                Ended::DeadlineExceeded => {
                    let mut outcome = base.timed_out(&pod_name, &run, failed + 1, timeout_source);
                    self.note_process_limit(&mut outcome, &run);
                    return Ok(outcome);
                }
                Ended::SandboxFailed(why) => return Ok(base.sandbox_failed(&pod_name, why)),
                Ended::Exited(code) | Ended::Signaled(code) => {
                    failed += 1;
                    if failed > plan.backoff_limit {
                        let mut outcome = base.outcome(JobStatus::Failed, &pod_name, &run, Some(*code), 0, failed);
                        match plan.script.memory_limit.filter(|_| ran_out_of_memory(&run)) {
                            Some(limit) => {
                                outcome.reason = Some("OOMKilled".into());
                                outcome.message = Some(format!(
                                    "container `{}` ran out of memory under its limit resources.limits.memory = {limit} \
                                     bytes ({}) and exited with code {code}",
                                    plan.script.name,
                                    memory_enforcement(&run)
                                ));
                            }
                            None => {
                                outcome.reason = Some("BackoffLimitExceeded".into());
                                outcome.message = Some(format!(
                                    "Job failed with {failed} failures (backoffLimit {}); the last attempt exited with code {code}",
                                    plan.backoff_limit
                                ));
                            }
                        }
                        self.note_process_limit(&mut outcome, &run);
                        return Ok(outcome);
                    }
                }
            }
        }
        unreachable!("the attempt loop returns on its last attempt")
    }

    /// A run that hit its process limit says so: failed forks explain most odd failures.
    fn note_process_limit(&self, outcome: &mut JobOutcome, run: &SandboxRun) {
        if run.tree.fork_refusals > 0 {
            let message = outcome.message.get_or_insert_default();
            message.push_str(&format!(
                "; it reached its process limit of {} ({} fork(s) refused; raise local.pids_limit in the policy \
                 file if this is expected)",
                self.pids_limit, run.tree.fork_refusals
            ));
        }
    }

    /// Whether the policy granted this Job's step of its playbook file the host network. The
    /// host stamped both on the Job as annotations: `noetl.io/playbook-sha256` and the full
    /// step name in `noetl.io/step` (the label of the same name is sanitised).
    fn script_has_network(&self, bundle: &JobBundle) -> bool {
        let annotation = |key: &str| {
            bundle.job().and_then(|job| Some(job.body.pointer("/metadata/annotations")?.get(key)?.as_str()?.to_string()))
        };
        match (annotation(ANNOTATION_PLAYBOOK_SHA256), annotation(conventions::LABEL_STEP)) {
            (Some(sha), Some(step)) => self.network.iter().any(|grant| grant.grants(&sha, &step)),
            (Some(_), None) => false,
            (None, _) => self.network_without_playbook,
        }
    }

    /// The host runtime for `image`. Looked up on every run, not kept per backend: the
    /// probe cache re-checks the version selection, so a long-lived worker follows a
    /// changed `.python-version` too.
    async fn runtime_for(&self, image: &str) -> anyhow::Result<Runtime> {
        let name = images::runtime_for_image(image, &self.rules)?.to_string();
        let (probes, probe_name) = (self.probes.clone(), name.clone());
        tokio::task::spawn_blocking(move || probes.runtime(&probe_name, &HostEnv::current()))
            .await
            .context("runtime probe panicked")?
            .with_context(|| format!("image `{image}` maps to runtime `{name}`"))
    }

    /// Runs the install container once per environment; later runs mount the cached tree.
    async fn install_dependencies(
        &self,
        plan: &PodPlan,
        install: &ContainerPlan,
        runtime: &Runtime,
        files: &HashMap<String, PathBuf>,
        deadline: Option<tokio::time::Instant>,
        base: &OutcomeBase<'_>,
    ) -> anyhow::Result<DepsOutcome> {
        let (volume, mount_path) = deps_volume(plan, install)?;
        let (key, description) = DepsCache::key(runtime, &install.argv, &mount_path);
        if let Some(tree) = self.cache.lookup(&key) {
            return Ok(DepsOutcome::Ready(HashMap::from([(volume, tree)])));
        }
        let staging = self.cache.stage(&key, description)?;
        let pod_name = format!("{}-local-1", base.bundle.job_name);
        let binds = self.binds_for(plan, install, files, &HashMap::new(), Some((&volume, &staging.deps_dir())));
        let spec = self.sandbox_spec(install, runtime, &pod_name, binds, true)?;
        let run = sandbox::run(spec, deadline).await?;
        let outcome = match &run.ended {
            Ended::Exited(0) => return Ok(DepsOutcome::Ready(HashMap::from([(volume, self.cache.commit(staging)?)]))),
            Ended::DeadlineExceeded => base.timed_out(&pod_name, &run, 1, "while installing dependencies"),
            Ended::SandboxFailed(why) => base.sandbox_failed(&pod_name, why),
            Ended::Exited(code) | Ended::Signaled(code) => {
                let mut outcome = base.outcome(JobStatus::Failed, &pod_name, &run, Some(*code), 0, 1);
                outcome.reason = Some(conventions::REASON_INSTALL_FAILED.into());
                outcome.message = Some(format!(
                    "init container `{}` exited with code {code}; the script was not run. stderr (tail):\n{}",
                    install.name,
                    tail_chars(&run.stderr, MESSAGE_TAIL_CHARS)
                ));
                outcome
            }
        };
        // `staging` drops here: the half-installed tree is removed and never trusted.
        drop(staging);
        Ok(DepsOutcome::Ended(outcome))
    }

    /// What to mount for `container`: ConfigMap files read-only, cached deps read-only,
    /// `install_target` (the deps volume being installed) writable, and every other emptyDir
    /// as a private tmpfs sized to the container's memory limit, counted in its memory as
    /// a kubelet counts a memory-backed emptyDir.
    fn binds_for(
        &self,
        plan: &PodPlan,
        container: &ContainerPlan,
        files: &HashMap<String, PathBuf>,
        deps: &HashMap<String, PathBuf>,
        install_target: Option<(&String, &PathBuf)>,
    ) -> Vec<Bind> {
        let mut binds = Vec::new();
        for m in &container.mounts {
            let (source, writable) = match (&plan.volumes[&m.volume], install_target) {
                (_, Some((name, dir))) if *name == m.volume => (BindSource::Host(dir.clone()), true),
                (VolumeSource::Files(_), _) => (BindSource::Host(files[&m.volume].clone()), false),
                (VolumeSource::EmptyDir, _) => match deps.get(&m.volume) {
                    Some(tree) => (BindSource::Host(tree.clone()), false),
                    None => (BindSource::Tmpfs, !m.read_only),
                },
            };
            binds.push(Bind { source, target: m.path.clone(), writable });
        }
        binds
    }

    fn sandbox_spec(
        &self,
        c: &ContainerPlan,
        runtime: &Runtime,
        pod_name: &str,
        binds: Vec<Bind>,
        host_network: bool,
    ) -> anyhow::Result<SandboxSpec> {
        let mut env = c.env.clone();
        // Images define PATH in their config; the local stand-in is the runtime's bin dir.
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), format!("{}:/usr/local/bin:/usr/bin:/bin", runtime.bin_dir.display())));
        }
        // Registry settings are for the install only, even when a script has network.
        if host_network && c.name == conventions::INSTALL_CONTAINER {
            for name in &self.install_env_passthrough {
                if let (Ok(value), false) = (std::env::var(name), env.iter().any(|(k, _)| k == name)) {
                    env.push((name.clone(), value));
                }
            }
        }
        let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone()).unwrap_or_default();
        let program = resolve_program(&c.argv[0], &path).with_context(|| {
            format!("container `{}` command `{}`: not found on its PATH `{path}`", c.name, c.argv[0])
        })?;
        Ok(SandboxSpec {
            hostname: pod_name.to_string(),
            program,
            args: c.argv[1..].to_vec(),
            env,
            working_dir: c.working_dir.clone(),
            runtime_tree: runtime.extra_mount.clone(),
            binds,
            host_network,
            uid: c.run_as_user,
            gid: c.run_as_group,
            memory_limit: c.memory_limit,
            cpu_limit: c.cpu_limit,
            pids_limit: self.pids_limit,
            cgroups: self.cgroups,
            output_cap: self.output_cap,
        })
    }
}

/// The tighter of the Job's `activeDeadlineSeconds` and the bundle's backstop (0 = none).
fn effective_timeout(deadline: Option<u64>, backstop: u32) -> (Option<u64>, &'static str) {
    let backstop = (backstop > 0).then_some(u64::from(backstop));
    match (deadline, backstop) {
        (Some(d), Some(b)) if b < d => (Some(b), "the host timeout"),
        (Some(d), _) => (Some(d), "activeDeadlineSeconds"),
        (None, Some(b)) => (Some(b), "the host timeout"),
        (None, None) => (None, ""),
    }
}

/// The emptyDir the install container fills: the one it mounts outside `/tmp`.
fn deps_volume(plan: &PodPlan, install: &ContainerPlan) -> anyhow::Result<(String, String)> {
    let candidates: Vec<_> = install
        .mounts
        .iter()
        .filter(|m| m.path != "/tmp" && matches!(plan.volumes[&m.volume], VolumeSource::EmptyDir))
        .collect();
    match candidates.as_slice() {
        [one] => Ok((one.volume.clone(), one.path.clone())),
        _ => anyhow::bail!(
            "initContainers[{}].volumeMounts: the local backend caches exactly one emptyDir volume (besides /tmp) \
             as the installed dependencies, found {}",
            install.name,
            candidates.len()
        ),
    }
}

/// Writes every ConfigMap volume's files under `work/volumes/<name>`.
fn materialize_file_volumes(plan: &PodPlan, work: &Path) -> anyhow::Result<HashMap<String, PathBuf>> {
    let mut dirs = HashMap::new();
    for (name, source) in &plan.volumes {
        if let VolumeSource::Files(files) = source {
            let dir = work.join("volumes").join(name);
            for (rel, bytes) in files {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
            }
            std::fs::create_dir_all(&dir)?;
            dirs.insert(name.clone(), dir);
        }
    }
    Ok(dirs)
}

/// `argv[0]` as the sandbox would find it: absolute as given, else the first executable
/// on the container's PATH (the sandbox mounts host paths at the same place).
fn resolve_program(argv0: &str, path: &str) -> Option<PathBuf> {
    if argv0.contains('/') {
        let p = PathBuf::from(argv0);
        return runtime::is_executable(&p).then_some(p);
    }
    path.split(':').filter(|d| d.starts_with('/')).map(|d| Path::new(d).join(argv0)).find(|p| runtime::is_executable(p))
}

/// Whether the run ended for lack of memory: the OOM killer acted in its cgroup, or (under
/// rlimits, where an allocation fails instead) it said so on stderr or was SIGKILLed.
fn ran_out_of_memory(run: &SandboxRun) -> bool {
    run.tree.oom_kills > 0
        || OUT_OF_MEMORY_MARKERS.iter().any(|m| run.stderr.contains(m))
        || (run.tree.mechanism == "rlimits" && matches!(run.ended, Ended::Signaled(137)))
}

/// How the memory limit was enforced, for the `OOMKilled` message.
fn memory_enforcement(run: &SandboxRun) -> String {
    match run.tree.oom_kills {
        0 => format!("enforced per process as RLIMIT_DATA with {} MiB headroom", sandbox::MEMORY_HEADROOM >> 20),
        kills => format!(
            "enforced on its whole process tree, /tmp included, by a {} memory cgroup; the kernel killed {kills} process(es)",
            run.tree.mechanism
        ),
    }
}

fn tail_chars(text: &str, n: usize) -> &str {
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(n)) {
        Some((at, _)) => &text[at..],
        None => text,
    }
}

/// Fields every outcome of one run shares.
struct OutcomeBase<'a> {
    bundle: &'a JobBundle,
    started: Instant,
    timeout: Option<u64>,
}

impl OutcomeBase<'_> {
    fn outcome(&self, status: JobStatus, pod: &str, run: &SandboxRun, exit_code: Option<i32>, succeeded: u32, failed: u32) -> JobOutcome {
        JobOutcome {
            status,
            job_name: self.bundle.job_name.clone(),
            namespace: self.bundle.namespace.clone(),
            pod_name: Some(pod.to_string()),
            execution_seconds: self.started.elapsed().as_secs_f64(),
            succeeded,
            failed,
            exit_code,
            reason: None,
            message: None,
            output: run.stdout.clone(),
            stderr: Some(run.stderr.clone()),
            output_truncated: run.stdout_truncated || run.stderr_truncated,
        }
    }

    fn timed_out(&self, pod: &str, run: &SandboxRun, failed: u32, source: &str) -> JobOutcome {
        let timeout = self.timeout.unwrap_or_default();
        let mut outcome = self.outcome(JobStatus::Timeout, pod, run, None, 0, failed);
        outcome.execution_seconds = timeout as f64;
        outcome.reason = Some("DeadlineExceeded".into());
        outcome.message = Some(format!(
            "job exceeded its {timeout}s deadline ({source}); its whole process tree was killed"
        ));
        outcome
    }

    fn sandbox_failed(&self, pod: &str, why: &str) -> JobOutcome {
        let empty = SandboxRun::empty(Ended::SandboxFailed(why.to_string()));
        let mut outcome = self.outcome(JobStatus::StartFailed, pod, &empty, None, 0, 0);
        outcome.stderr = None;
        outcome.reason = Some("SandboxUnavailable".into());
        outcome.message = Some(format!(
            "the local sandbox could not be created: {why}. It needs Linux user namespaces: check \
             `sysctl user.max_user_namespaces` (> 0) and `kernel.unprivileged_userns_clone` (= 1 where it \
             exists), that AppArmor allows them (`kernel.apparmor_restrict_unprivileged_userns = 0`), and \
             that an outer container runtime does not block unshare/mount (seccomp); or run the job on \
             the kubernetes backend"
        ));
        outcome
    }
}

impl super::Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    /// The local backend reports output when the job ends; it does not stream lines.
    fn run<'a>(&'a self, bundle: &'a JobBundle, _on_log: &'a super::LogSink) -> super::BackendFuture<'a> {
        Box::pin(LocalBackend::run(self, bundle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_the_tighter_of_deadline_and_backstop() {
        assert_eq!(effective_timeout(Some(60), 600), (Some(60), "activeDeadlineSeconds"));
        assert_eq!(effective_timeout(Some(600), 60), (Some(60), "the host timeout"));
        assert_eq!(effective_timeout(None, 60), (Some(60), "the host timeout"));
        assert_eq!(effective_timeout(Some(5), 0), (Some(5), "activeDeadlineSeconds"));
        assert_eq!(effective_timeout(None, 0), (None, ""));
    }

    #[test]
    fn program_resolution_follows_path() {
        assert_eq!(resolve_program("sh", "/nonexistent:/usr/bin:/bin"), Some(PathBuf::from("/usr/bin/sh")));
        assert_eq!(resolve_program("/usr/bin/env", ""), Some(PathBuf::from("/usr/bin/env")));
        assert_eq!(resolve_program("no-such-program-xyz", "/usr/bin"), None);
        assert_eq!(resolve_program("sh", "relative/dir"), None);
    }

    #[test]
    fn tail_chars_keeps_the_end() {
        assert_eq!(tail_chars("abcdef", 3), "def");
        assert_eq!(tail_chars("ab", 3), "ab");
        assert_eq!(tail_chars("ééé", 2), "éé");
    }
}
