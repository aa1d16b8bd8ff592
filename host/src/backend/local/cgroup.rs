//! Bounds a local step's whole process tree as a kubelet bounds a pod: total memory (page
//! cache and tmpfs pages included) within `resources.limits.memory`, CPU time within
//! `resources.limits.cpu`, and the number of processes, through one cgroup per sandbox run.
//!
//! Mechanism: cgroup v1, when the host's own memory and pids cgroups accept a child
//! directory (a container that is root in its cgroup namespace, a VM, a root host on a v1
//! or hybrid layout); the cpu controller is used when it is writable too. The sandbox is
//! started by a fork inside hakoniwa, which offers no hook to place the child before it
//! runs, so the forking thread itself moves into the step's cgroups for the duration of the
//! spawn (v1 lets a single thread move through `tasks`) and back right after: every
//! process of the tree is born inside the bounds, with no window for an early fork to
//! escape. cgroup v2 does not allow that (a domain cgroup holds whole processes only),
//! and without `CLONE_INTO_CGROUP` support in hakoniwa a v2 placement after the spawn would
//! race the step's first forks, so on a v2-only host the sandbox falls back to per-process
//! rlimits (see `sandbox.rs`).
//!
//! Clean-up: whatever the run's end (exit, timeout, cancellation, a host error), every
//! process still in the cgroup is killed and the directories are removed.

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
    /// `cgroup v1`, or `rlimits` for the fallback.
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

/// The host process's own cgroups in the v1 hierarchies; a step's cgroups are made inside.
#[derive(Debug)]
struct Homes {
    memory: PathBuf,
    pids: PathBuf,
    cpu: Option<PathBuf>,
}

fn homes() -> Option<&'static Homes> {
    static HOMES: OnceLock<Option<Homes>> = OnceLock::new();
    HOMES
        .get_or_init(|| {
            let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
            let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
            let home = |controller| v1_home(&mountinfo, &membership, controller).filter(|home| home.is_dir());
            Some(Homes { memory: home("memory")?, pids: home("pids")?, cpu: home("cpu") })
        })
        .as_ref()
}

/// Where this process's cgroup of v1 `controller` is: the hierarchy's mount point (from
/// `/proc/self/mountinfo`) joined with our path in it (from `/proc/self/cgroup`), relative
/// to the mount's root when only part of the hierarchy is mounted.
fn v1_home(mountinfo: &str, membership: &str, controller: &str) -> Option<PathBuf> {
    let (root, mount_point) = mountinfo.lines().find_map(|line| {
        let (fields, fs) = line.split_once(" - ")?;
        let mut fs = fs.split(' ');
        let (fstype, options) = (fs.next()?, fs.nth(1)?);
        let has_controller = options.split(',').any(|o| o == controller);
        let fields: Vec<&str> = fields.split(' ').collect();
        (fstype == "cgroup" && has_controller).then(|| (fields.get(3).copied(), fields.get(4).copied()))
    })?;
    let path = membership.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == controller).then_some(path)
    })?;
    let relative = path.strip_prefix(root?).unwrap_or(path).trim_start_matches('/');
    let mount_point = Path::new(mount_point?);
    Some(if relative.is_empty() { mount_point.to_path_buf() } else { mount_point.join(relative) })
}

/// The cgroups of one sandbox run; dropping it kills what is left and removes them.
#[derive(Debug)]
pub(super) struct StepCgroup {
    memory: PathBuf,
    pids: PathBuf,
    cpu: Option<PathBuf>,
    homes: &'static Homes,
}

impl StepCgroup {
    /// New cgroups bounded by `limits`, or `None` when this host offers no writable v1
    /// memory and pids hierarchies (the caller then falls back to rlimits).
    /// `pod` (the sandbox's pod name) ends the cgroups' name, for people looking at them.
    pub(super) fn create(pod: &str, limits: TreeLimits) -> Option<Self> {
        let homes = homes()?;
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let name = format!("noetl-step-{}-{sequence}-{pod}", std::process::id());
        let made = |home: &Path| {
            let dir = home.join(&name);
            std::fs::create_dir(&dir).map(|()| dir)
        };
        let unavailable = |error: std::io::Error| {
            tracing::debug!("cgroup v1 not usable for local steps ({error}); bounding them with rlimits");
        };
        let memory = made(&homes.memory).map_err(unavailable).ok()?;
        let pids = match made(&homes.pids) {
            Ok(dir) => dir,
            Err(error) => {
                remove_dir(&memory);
                unavailable(error);
                return None;
            }
        };
        let cpu = homes.cpu.as_deref().filter(|_| limits.cpu_millis.is_some()).and_then(|home| {
            made(home)
                .inspect_err(|e| tracing::debug!("no cpu cgroup for a local step ({e}): its CPU is not bounded"))
                .ok()
        });
        let cgroup = StepCgroup { memory, pids, cpu, homes };
        match cgroup.apply(limits) {
            Ok(()) => Some(cgroup),
            Err(error) => {
                tracing::warn!("cannot set the cgroup limits of a local step ({error}); bounding it with rlimits");
                None
            }
        }
    }

    fn apply(&self, limits: TreeLimits) -> std::io::Result<()> {
        if let Some(bytes) = limits.memory {
            write(&self.memory, "memory.limit_in_bytes", bytes)?;
            // Without swap accounting this file is absent; the limit above then covers it.
            let _ = write(&self.memory, "memory.memsw.limit_in_bytes", bytes);
        }
        write(&self.pids, "pids.max", limits.pids)?;
        if let (Some(cpu), Some(millis)) = (&self.cpu, limits.cpu_millis) {
            write(cpu, "cpu.cfs_period_us", CFS_PERIOD_US)?;
            write(cpu, "cpu.cfs_quota_us", millis * CFS_PERIOD_US / 1000)?;
        }
        Ok(())
    }

    fn dirs(&self) -> impl Iterator<Item = (&Path, &Path)> {
        [(self.memory.as_path(), self.homes.memory.as_path()), (self.pids.as_path(), self.homes.pids.as_path())]
            .into_iter()
            .chain(self.cpu.as_deref().zip(self.homes.cpu.as_deref()))
    }

    /// Moves the calling thread into the step's cgroups until the guard drops: a process
    /// it forks meanwhile (the sandbox) starts inside the bounds, and so does its tree.
    pub(super) fn enter(&self) -> std::io::Result<Entered<'_>> {
        // SAFETY: plain syscall without arguments; it cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
        let entered = Entered { cgroup: self, tid };
        for (dir, _) in self.dirs() {
            write(dir, "tasks", tid)?;
        }
        Ok(entered)
    }

    /// What the bounds did during the run (read before the cgroups are removed).
    pub(super) fn report(&self) -> TreeReport {
        let read = |dir: &Path, file: &str, key: &str| {
            let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok()).unwrap_or(0)
        };
        TreeReport {
            mechanism: "cgroup v1",
            oom_kills: read(&self.memory, "memory.oom_control", "oom_kill "),
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
        let dirs: Vec<PathBuf> = self.dirs().map(|(dir, _)| dir.to_path_buf()).collect();
        for dir in dirs {
            remove_dir(&dir);
        }
    }
}

/// A thread inside a step's cgroups; dropping it moves the thread back to the host's own.
pub(super) struct Entered<'a> {
    cgroup: &'a StepCgroup,
    tid: libc::pid_t,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        for (_, home) in self.cgroup.dirs() {
            if let Err(error) = write(home, "tasks", self.tid) {
                tracing::warn!(cgroup = %home.display(), "cannot move a sandbox-spawning thread back: {error}");
            }
        }
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
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 /kubepods /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
";
    const MEMBERSHIP: &str = "8:pids:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n7:blkio:/kubepods/pod1\n0::/\n";

    #[test]
    fn v1_homes_join_the_mount_point_and_our_path() {
        let home = |c| v1_home(MOUNTINFO, MEMBERSHIP, c).map(|p| p.display().to_string());
        assert_eq!(home("memory").as_deref(), Some("/sys/fs/cgroup/memory/process_api/abc"));
        assert_eq!(home("pids").as_deref(), Some("/sys/fs/cgroup/pids"));
        assert_eq!(home("cpu").as_deref(), Some("/sys/fs/cgroup/cpu,cpuacct"));
        // A hierarchy mounted from its `/kubepods` cgroup: our path is relative to that.
        assert_eq!(home("blkio").as_deref(), Some("/sys/fs/cgroup/blkio/pod1"));
        assert_eq!(home("freezer"), None);
    }

    /// Real cgroups: limits written, a process spawned while inside lands in them, and
    /// dropping kills it and removes the directories. Hosts without writable v1 memory and
    /// pids hierarchies use the rlimit fallback, which this does not cover.
    #[test]
    fn a_step_cgroup_bounds_what_is_spawned_inside_and_leaves_nothing() {
        let limits = TreeLimits { memory: Some(64 << 20), cpu_millis: Some(500), pids: 16 };
        let Some(cgroup) = StepCgroup::create("unit-test", limits) else {
            eprintln!("no writable cgroup v1 memory+pids hierarchy here: the fallback applies");
            return;
        };
        let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).unwrap().trim().to_string();
        assert_eq!(read(&cgroup.memory, "memory.limit_in_bytes"), (64u64 << 20).to_string());
        assert_eq!(read(&cgroup.pids, "pids.max"), "16");
        if let Some(cpu) = &cgroup.cpu {
            assert_eq!(read(cpu, "cpu.cfs_quota_us"), "50000");
        }
        let mut child = {
            let _inside = cgroup.enter().unwrap();
            std::process::Command::new("sleep").arg("1000").spawn().unwrap()
        };
        let procs = read(&cgroup.pids, "cgroup.procs");
        assert!(procs.lines().any(|p| p == child.id().to_string()), "{procs}");
        // The spawning thread is back home: only the child is in the step's cgroup.
        assert_eq!(procs.lines().count(), 1, "{procs}");
        let dirs: Vec<PathBuf> = cgroup.dirs().map(|(dir, _)| dir.to_path_buf()).collect();
        drop(cgroup);
        let status = child.wait().unwrap();
        assert!(!status.success(), "the process left in the cgroup must be killed: {status}");
        for dir in dirs {
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
    }
}
