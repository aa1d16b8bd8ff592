//! Bounds a local step's whole process tree as a kubelet bounds a pod: total memory (page
//! cache and tmpfs pages included) within `resources.limits.memory`, CPU time within
//! `resources.limits.cpu`, and the number of processes, through one cgroup per sandbox run.
//!
//! Which hierarchy ([`hierarchy`]): cgroup v2 where the host's own cgroup delegates the
//! memory and pids controllers, else cgroup v1 where the host can make memory and pids
//! cgroups (a VM or a container that is root in its cgroups; a hybrid layout); else none,
//! and the sandbox falls back to per-process rlimits (see `sandbox.rs`). Both versions go
//! through the same steps here; only the names of the limit and event files differ
//! ([`Version`]).
//!
//! Placement: the sandbox's program waits at a gate before its `execve` (see `gate.rs`)
//! until the host has written its pid, and its supervisor's, to `cgroup.procs`; every
//! process of the tree is therefore born inside the bounds, with no window for an early
//! fork to escape, on v1 and v2 alike.
//!
//! Clean-up: whatever the run's end (exit, timeout, cancellation, a host error), every
//! process still in the cgroup is killed and the directories are removed.

mod hierarchy;

use hierarchy::{Homes, Version};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// CFS period used for `resources.limits.cpu` (the kubelet's default).
const CFS_PERIOD_US: u64 = 100_000;
/// Rounds of "kill what is left, then look again" before giving up on an empty cgroup;
/// processes killed by SIGKILL cannot fork, so a few rounds always suffice in practice.
const KILL_ROUNDS: u32 = 200;
const KILL_ROUND_PAUSE: Duration = Duration::from_millis(5);

/// What one step's process tree may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TreeLimits {
    pub memory: Option<u64>,
    pub cpu_millis: Option<u64>,
    pub pids: u64,
}

/// How a step's process tree was bounded, and what the bounds did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TreeReport {
    /// `cgroup v1`, `cgroup v2`, or `rlimits` for the fallback.
    pub mechanism: &'static str,
    /// Processes the kernel's OOM killer killed in the step's memory cgroup.
    pub oom_kills: u64,
    /// Forks refused because the process limit was reached.
    pub fork_refusals: u64,
}

impl TreeReport {
    pub(super) fn rlimits() -> Self {
        TreeReport { mechanism: "rlimits", ..Default::default() }
    }
}

/// The host's own cgroups, detected once per process.
fn homes() -> Option<&'static Homes> {
    static HOMES: OnceLock<Option<Homes>> = OnceLock::new();
    HOMES
        .get_or_init(|| {
            let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
            let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
            hierarchy::detect(&mountinfo, &membership)
        })
        .as_ref()
}

/// The cgroups of one sandbox run, per controller (one directory for all under v2);
/// dropping it kills what is left in them and removes them.
#[derive(Debug)]
pub(super) struct StepCgroup {
    version: Version,
    memory: PathBuf,
    pids: PathBuf,
    cpu: Option<PathBuf>,
}

impl StepCgroup {
    /// New cgroups bounded by `limits`, or `None` when this host offers no usable
    /// hierarchy (the caller then falls back to rlimits). `pod` (the sandbox's pod name)
    /// ends the cgroups' name, for people looking at them.
    pub(super) fn create(pod: &str, limits: TreeLimits) -> Option<Self> {
        let homes = homes()?;
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let name = format!("noetl-step-{}-{sequence}-{pod}", std::process::id());
        let cgroup = Self::make(homes, &name, limits.cpu_millis.is_some())
            .inspect_err(|e| tracing::debug!("cgroups not usable for local steps ({e}); bounding them with rlimits"))
            .ok()?;
        match cgroup.apply(limits) {
            Ok(()) => Some(cgroup),
            Err(error) => {
                tracing::warn!("cannot set the cgroup limits of a local step ({error}); bounding it with rlimits");
                None
            }
        }
    }

    /// Makes the directories `name` in `homes` (no limits yet). A cpu directory is made
    /// only when `with_cpu`; failing to make one leaves CPU unbounded, not the step.
    fn make(homes: &Homes, name: &str, with_cpu: bool) -> std::io::Result<Self> {
        let made = |home: &Path| {
            let dir = home.join(name);
            std::fs::create_dir(&dir).map(|()| dir)
        };
        let memory = made(&homes.memory)?;
        // From here on, dropping `cgroup` removes what was made.
        let mut cgroup = StepCgroup { version: homes.version, pids: memory.clone(), memory, cpu: None };
        if homes.pids != homes.memory {
            cgroup.pids = made(&homes.pids)?;
        }
        cgroup.cpu = match homes.cpu.as_deref().filter(|_| with_cpu) {
            Some(home) if home == homes.memory => Some(cgroup.memory.clone()),
            Some(home) => made(home)
                .inspect_err(|e| tracing::debug!("no cpu cgroup for a local step ({e}): its CPU is not bounded"))
                .ok(),
            None => None,
        };
        Ok(cgroup)
    }

    /// Writes the limits, in the files of this cgroup's version.
    fn apply(&self, limits: TreeLimits) -> std::io::Result<()> {
        if let Some(bytes) = limits.memory {
            let (limit, swap) = match self.version {
                // memsw is memory plus swap: equal to the limit means no swap.
                Version::V1 => (("memory.limit_in_bytes", bytes), ("memory.memsw.limit_in_bytes", bytes)),
                Version::V2 => (("memory.max", bytes), ("memory.swap.max", 0)),
            };
            write(&self.memory, limit.0, limit.1)?;
            // Absent without swap accounting; the limit above then covers everything.
            let _ = write(&self.memory, swap.0, swap.1);
        }
        write(&self.pids, "pids.max", limits.pids)?;
        if let (Some(cpu), Some(millis)) = (&self.cpu, limits.cpu_millis) {
            let quota = millis * CFS_PERIOD_US / 1000;
            match self.version {
                Version::V1 => {
                    write(cpu, "cpu.cfs_period_us", CFS_PERIOD_US)?;
                    write(cpu, "cpu.cfs_quota_us", quota)?;
                }
                Version::V2 => write(cpu, "cpu.max", format!("{quota} {CFS_PERIOD_US}"))?,
            }
        }
        Ok(())
    }

    /// Each directory once (under v2 the controllers share one).
    fn dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = vec![&self.memory];
        for dir in std::iter::once(&self.pids).chain(&self.cpu) {
            if !dirs.contains(&dir.as_path()) {
                dirs.push(dir);
            }
        }
        dirs
    }

    /// Moves process `pid` (all its threads) into the step's cgroups; what it forks
    /// afterwards is born inside.
    pub(super) fn adopt(&self, pid: u32) -> std::io::Result<()> {
        self.dirs().into_iter().try_for_each(|dir| write(dir, "cgroup.procs", pid))
    }

    /// What the bounds did during the run (read before the cgroups are removed).
    pub(super) fn report(&self) -> TreeReport {
        let read = |dir: &Path, file: &str, key: &str| {
            let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok()).unwrap_or(0)
        };
        let (mechanism, oom_file) = match self.version {
            Version::V1 => ("cgroup v1", "memory.oom_control"),
            Version::V2 => ("cgroup v2", "memory.events"),
        };
        TreeReport {
            mechanism,
            oom_kills: read(&self.memory, oom_file, "oom_kill "),
            fork_refusals: read(&self.pids, "pids.events", "max "),
        }
    }
}

impl Drop for StepCgroup {
    fn drop(&mut self) {
        // The pids cgroup holds every process of the tree.
        for _ in 0..KILL_ROUNDS {
            let procs = std::fs::read_to_string(self.pids.join("cgroup.procs")).unwrap_or_default();
            let pids: Vec<libc::pid_t> = procs.lines().filter_map(|l| l.trim().parse().ok()).collect();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: plain syscall. The pid was just read from the step's own cgroup;
                // it could only name another process if it exited and its pid was reused in
                // between. Normally the tree is already gone (its PID namespace died with
                // PID 1) and this finds nothing.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(KILL_ROUND_PAUSE);
        }
        for dir in self.dirs() {
            remove_dir(dir);
        }
    }
}

/// For tests on a real kernel: an empty step cgroup `name` in this process's own cgroup of
/// the unified hierarchy, without limits (a hybrid host offers no controllers there), or
/// `None` (said on stderr) when there is no cgroup2 mount or it cannot be written.
#[cfg(test)]
pub(super) fn unbounded_v2_for_test(name: &str) -> Option<StepCgroup> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let Some(home) = hierarchy::v2_home(&mountinfo, &membership).filter(|h| h.is_dir()) else {
        eprintln!("no cgroup2 mount here");
        return None;
    };
    let homes = Homes { version: Version::V2, memory: home.clone(), pids: home.clone(), cpu: None };
    StepCgroup::make(&homes, &format!("noetl-step-{}-{name}", std::process::id()), false)
        .inspect_err(|e| eprintln!("cannot make a cgroup in {} ({e})", home.display()))
        .ok()
}

/// The step cgroup's directory, one for all controllers under v2 (for tests).
#[cfg(test)]
impl StepCgroup {
    pub(super) fn v2_dir(&self) -> &Path {
        assert_eq!(self.version, Version::V2);
        &self.pids
    }
}

fn write(dir: &Path, file: &str, value: impl std::fmt::Display) -> std::io::Result<()> {
    std::fs::write(dir.join(file), value.to_string())
        .map_err(|e| std::io::Error::new(e.kind(), format!("writing {}: {e}", dir.join(file).display())))
}

/// Removes an (empty) cgroup directory; the last processes may still be exiting.
fn remove_dir(dir: &Path) {
    for _ in 0..KILL_ROUNDS {
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(KILL_ROUND_PAUSE),
        }
    }
    tracing::warn!(cgroup = %dir.display(), "could not remove a local step's cgroup");
}

#[cfg(test)]
mod tests;
