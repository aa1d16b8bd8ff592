//! Runs one container of a pod as a sandboxed host process (hakoniwa: Linux namespaces,
//! no system packages needed).
//!
//! What the process gets:
//! - new user, mount, PID, IPC and UTS namespaces; a new network namespace (loopback only,
//!   so no network) unless the container is allowed the host network (dependency install);
//! - a read-only root holding only: the system dirs (`/usr`, `/lib*`, `/bin`, `/sbin`), the
//!   runtime's own install tree, a minimal `/etc` (generated `passwd`/`group`, `ld.so.cache`,
//!   CA certificates; DNS and package-manager config only with network), a fresh `/dev` and
//!   `/proc`, and the pod's volumes at their mount paths; `/tmp` is private;
//! - exactly the environment given (nothing from the host);
//! - the pod's uid/gid, mapped to the host user. It is never uid 0: the user namespace maps
//!   the host user to it, and root in there could remount the host bind mounts writable.
//!   After `execve` a non-root uid holds no capabilities, so the read-only mounts stay so.
//!   (A root host without cgroups gives the tree another real uid: [`super::host_user`].)
//!
//! Bounds: the whole process tree runs in its own cgroups when the host can make them
//! ([`super::cgroup`]: memory, CPU and process count, `/tmp` included; the program waits
//! at a gate until it is placed, [`super::gate`]); otherwise each process gets rlimits
//! (`RLIMIT_DATA` for memory, `RLIMIT_NPROC` for processes).
//!
//! Writable tmpfs mounts (memory the step fills with files): `/tmp`, every writable emptyDir
//! and `/dev/shm` are private tmpfs mounts, each sized ([`TmpfsSizes`]). Under a memory
//! cgroup their pages are charged to the step, so each may take the whole memory limit and
//! together they still stay within it. Under the rlimit fallback nothing counts their pages
//! (`RLIMIT_DATA` does not count shmem), so their sizes add up to at most the memory limit
//! (without a limit, [`DEFAULT_TMP_BYTES`]): `/dev/shm` gets an eighth of it, `/tmp` and the
//! writable emptyDirs share the rest evenly (with only `/tmp`: 7/8 of the limit). Such a
//! step can hold up to about twice its limit: its heap under `RLIMIT_DATA` plus its files.
//! `/dev` itself (hakoniwa's fresh tmpfs holding the device nodes) is made read-only before
//! the program runs ([`super::gate`]), so only its sized `/dev/shm` takes writes.
//!
//! Killing: the sandboxed program is PID 1 of its PID namespace, and dies with its
//! supervisor (parent-death signal); when PID 1 dies the kernel kills the whole namespace.
//! A timeout kills both the supervisor and PID 1 through pidfds (no pid-reuse race), which
//! ends the whole tree. The step's cgroups are emptied (SIGKILL to what is left) and
//! removed when the run ends.

use super::cgroup::{StepCgroup, TreeLimits, TreeReport};
use super::gate::{self, EXEC_FAILED_CODE, EXEC_FAILED_PREFIX};
use super::host_user::CountedAs;
use super::runtime::SYSTEM_DIRS;
use super::tail::read_tail;
use anyhow::Context;
use hakoniwa::{Container, MountOptions, Namespace, Rlimit, Runctl, Stdio};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// `/etc` files every container may read: dynamic loader cache, time zone, name-service
/// switch, CA certificates (Python's `ssl`, node's `--use-openssl-ca`).
const ETC_FILES: &[&str] =
    &["/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/hosts", "/etc/ssl/certs", "/etc/ssl/openssl.cnf"];
/// Extra `/etc` files for a container with network: DNS and package-manager configuration,
/// so `pip`/`npm` inside reach the registry exactly as they do on the host.
const ETC_NETWORK_FILES: &[&str] = &["/etc/resolv.conf", "/etc/gai.conf", "/etc/host.conf", "/etc/pip.conf", "/etc/npmrc"];

/// Address space the runtime itself maps writable beyond what the script allocates
/// (interpreter heap, thread stacks, allocator arenas): added to `limits.memory`.
pub(super) const MEMORY_HEADROOM: u64 = 64 << 20;

/// What the writable tmpfs mounts of a container without a memory limit may hold together.
pub(super) const DEFAULT_TMP_BYTES: u64 = 1 << 30;

/// The share of the memory limit `/dev/shm` gets where its size is not counted by a cgroup
/// (1/8): shared memory is for IPC, files go to `/tmp`.
const SHM_SHARE_DIVISOR: u64 = 8;

/// Size of a read-only emptyDir tmpfs: nothing can be written there.
const READ_ONLY_TMPFS_BYTES: u64 = 4096;

const DEV_SHM: &str = "/dev/shm";

/// Sizes of a container's writable tmpfs mounts: `/tmp`, its writable emptyDirs and
/// `/dev/shm` (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TmpfsSizes {
    /// `/dev/shm` (unless an emptyDir is mounted there; then it is one of the others).
    pub shm: u64,
    /// `/tmp` and every writable emptyDir, each.
    pub each: u64,
}

impl TmpfsSizes {
    /// `counted`: a memory cgroup bounds the tree, so it charges tmpfs pages.
    pub(super) fn of(spec: &SandboxSpec, counted: bool) -> Self {
        let emptydirs = spec.binds.iter().filter(|b| matches!(b.source, BindSource::Tmpfs) && b.writable);
        let has = |target: &str| spec.binds.iter().any(|b| b.target == target);
        let others = emptydirs.count() as u64 + u64::from(!has("/tmp"));
        Self::split(spec.memory_limit, counted, others, !has(DEV_SHM))
    }

    /// Under a memory cgroup with a limit, every tmpfs may take the whole limit: the cgroup
    /// charges their pages to the step with everything else, so together they stay within
    /// it. Otherwise (the rlimit fallback, or no limit) nothing counts tmpfs pages
    /// (`RLIMIT_DATA` does not), so the sizes themselves must add up to at most the limit
    /// (or [`DEFAULT_TMP_BYTES`]): `/dev/shm` gets an eighth, the rest is split evenly
    /// over the `others` (`/tmp` and the writable emptyDirs).
    pub(super) fn split(memory_limit: Option<u64>, counted: bool, others: u64, own_shm: bool) -> Self {
        match memory_limit {
            Some(limit) if counted => TmpfsSizes { shm: limit, each: limit },
            _ => {
                let budget = memory_limit.unwrap_or(DEFAULT_TMP_BYTES);
                let shm = if own_shm { budget / SHM_SHARE_DIVISOR } else { 0 };
                // A tmpfs of size 0 is unlimited: never go below one page.
                let each = ((budget - shm) / others.max(1)).max(4096);
                TmpfsSizes { shm: shm.max(4096), each }
            }
        }
    }
}

#[derive(Debug)]
pub(super) struct SandboxSpec {
    pub hostname: String,
    /// Absolute path of the program, valid both on the host and in the sandbox.
    pub program: PathBuf,
    /// `argv[1..]`.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    /// The runtime's install tree outside the system dirs, mounted read-only at its path.
    pub runtime_tree: Option<PathBuf>,
    pub binds: Vec<Bind>,
    /// Share the host network namespace (and DNS config); otherwise loopback only.
    pub host_network: bool,
    pub uid: u32,
    pub gid: u32,
    pub memory_limit: Option<u64>,
    /// `resources.limits.cpu` in millicores (bounded only under cgroups).
    pub cpu_limit: Option<u64>,
    /// Most processes (and threads) the tree may have at once.
    pub pids_limit: u64,
    /// Bound the tree with cgroups when the host offers them (`false`: the rlimit fallback).
    pub cgroups: bool,
    pub output_cap: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Bind {
    pub source: BindSource,
    pub target: String,
    pub writable: bool,
}

#[derive(Debug, Clone)]
pub(super) enum BindSource {
    /// A host directory, mounted at the same place.
    Host(PathBuf),
    /// A private tmpfs, sized as [`TmpfsSizes`] says.
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ended {
    Exited(i32),
    /// Killed by a signal; the value is `128 + signal`, as a container runtime reports it.
    Signaled(i32),
    /// The deadline passed and the whole process tree was killed.
    DeadlineExceeded,
    /// The sandbox could not be set up; the text says why.
    SandboxFailed(String),
}

#[derive(Debug)]
pub(super) struct SandboxRun {
    pub ended: Ended,
    pub stdout: String,
    pub stdout_truncated: bool,
    pub stderr: String,
    pub stderr_truncated: bool,
    /// How the tree was bounded and what the bounds did.
    pub tree: TreeReport,
}

/// Runs `spec` to its end, or kills it at `deadline`. Dropping the future kills it too.
pub(super) async fn run(spec: SandboxSpec, deadline: Option<tokio::time::Instant>) -> anyhow::Result<SandboxRun> {
    let switch = Arc::new(KillSwitch::default());
    let _kill_on_drop = KillOnDrop(switch.clone());
    let worker_switch = switch.clone();
    // Spawn and wait on the same thread: the sandbox dies with the thread that forked it.
    let mut handle = tokio::task::spawn_blocking(move || run_blocking(&spec, &worker_switch));
    let joined = match deadline {
        None => handle.await,
        Some(deadline) => tokio::select! {
            joined = &mut handle => joined,
            _ = tokio::time::sleep_until(deadline) => {
                switch.kill();
                handle.await
            }
        },
    };
    let mut run = joined.context("sandbox supervisor thread panicked")??;
    if switch.was_killed() {
        run.ended = Ended::DeadlineExceeded;
    }
    Ok(run)
}

fn run_blocking(spec: &SandboxSpec, switch: &KillSwitch) -> anyhow::Result<SandboxRun> {
    let limits = TreeLimits { memory: spec.memory_limit, cpu_millis: spec.cpu_limit, pids: spec.pids_limit };
    let cgroup = spec.cgroups.then(|| StepCgroup::create(&spec.hostname, limits)).flatten();
    run_in(spec, cgroup, switch)
}

/// Runs `spec` in `cgroup` (`None`: bounded by rlimits), which is dropped last: that kills
/// whatever is left of the tree and removes the cgroups.
fn run_in(spec: &SandboxSpec, cgroup: Option<StepCgroup>, switch: &KillSwitch) -> anyhow::Result<SandboxRun> {
    let counted_as = CountedAs::for_run(cgroup.is_some());
    let container = container_for(spec, cgroup.is_none());
    let program = gate::Program { path: &spec.program, args: &spec.args, env: &spec.env };
    let (mut command, gate) = gate::command(&container, &program)?;
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(dir) = &spec.working_dir {
        command.current_dir(dir);
    }
    if switch.was_killed() {
        return Ok(SandboxRun::empty(Ended::DeadlineExceeded));
    }
    let mut child = match counted_as.forking(|| command.spawn())? {
        Ok(child) => child,
        Err(e) => return Ok(SandboxRun::empty(Ended::SandboxFailed(e.to_string()))),
    };
    // The program is forked and waits at its gate: place it, then let it go.
    let program = gate::program_pid(child.id());
    switch.arm(child.id(), program);
    let placed = match (&cgroup, program) {
        (None, _) => Ok(()),
        (Some(cgroup), Some(program)) => cgroup.adopt(child.id()).and_then(|()| cgroup.adopt(program)),
        (Some(_), None) => Err(std::io::Error::other("its program is not among its supervisor's children")),
    };
    // Without the byte (placement failed), dropping the gate makes the program exit unrun.
    let opened = placed
        .map_err(|e| format!("placing the sandbox in its cgroups: {e}"))
        .and_then(|()| gate.open().map_err(|e| format!("letting the sandboxed program start: {e}")));
    let cap = spec.output_cap;
    let stdout = child.stdout.take().map(|r| std::thread::spawn(move || read_tail(r, cap)));
    let stderr = child.stderr.take().map(|r| std::thread::spawn(move || read_tail(r, cap)));
    let status = child.wait();
    switch.disarm();
    let collect = |h: Option<std::thread::JoinHandle<(String, bool)>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    let (stdout, stdout_truncated) = collect(stdout);
    let (stderr, stderr_truncated) = collect(stderr);
    let failure_lines = || {
        stderr.lines().filter(|l| l.starts_with("hakoniwa: ") || l.starts_with(EXEC_FAILED_PREFIX)).collect::<Vec<_>>()
    };
    let ended = match (opened, status) {
        // The program exited unrun (or had no gate to pass); its set-up may say why.
        (Err(why), _) if failure_lines().is_empty() => Ended::SandboxFailed(why),
        (_, Err(e)) => Ended::SandboxFailed(e.to_string()),
        (_, Ok(status)) => match status.exit_code {
            // hakoniwa reports its own failures after fork (mount, exec) as exit 125 plus
            // a `hakoniwa: ...` line on the program's stderr; the gate does the same.
            Some(EXEC_FAILED_CODE) if !failure_lines().is_empty() => Ended::SandboxFailed(failure_lines().join("; ")),
            Some(code) => Ended::Exited(code),
            None if status.reason.contains("received signal") => Ended::Signaled(status.code),
            None => Ended::SandboxFailed(status.reason),
        },
    };
    let tree = cgroup.as_ref().map_or_else(TreeReport::rlimits, StepCgroup::report);
    Ok(SandboxRun { ended, stdout, stdout_truncated, stderr, stderr_truncated, tree })
}

impl SandboxRun {
    pub(super) fn empty(ended: Ended) -> Self {
        Self {
            ended,
            stdout: String::new(),
            stdout_truncated: false,
            stderr: String::new(),
            stderr_truncated: false,
            tree: TreeReport::default(),
        }
    }
}

/// `with_rlimits`: no cgroup bounds the tree, so bound each process instead.
fn container_for(spec: &SandboxSpec, with_rlimits: bool) -> Container {
    let mut c = Container::new(); // mount + user + PID namespaces, fresh /proc
    c.unshare(Namespace::Ipc).unshare(Namespace::Uts);
    if !spec.host_network {
        c.unshare(Namespace::Network);
    }
    c.uidmap(spec.uid).gidmap(spec.gid);
    // Hosts without some of the flags of a bind source (nosuid, nodev) still mount.
    c.runctl(Runctl::MountFallback);
    // A hostname is at most 64 bytes; pod names may be longer.
    c.hostname(&spec.hostname.chars().take(63).collect::<String>());
    for dir in SYSTEM_DIRS {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(dir) {
                    c.symlink(&target.to_string_lossy(), dir);
                }
            }
            Ok(m) if m.is_dir() => {
                c.bindmount_ro(dir, dir);
            }
            _ => {}
        }
    }
    if let Some(tree) = &spec.runtime_tree {
        let tree = tree.to_string_lossy();
        c.bindmount_ro(&tree, &tree);
    }
    c.devfsmount("/dev");
    c.dir("/etc", 0o755);
    let network_files = if spec.host_network { ETC_NETWORK_FILES } else { &[] };
    for file in ETC_FILES.iter().chain(network_files).filter(|f| Path::new(f).exists()) {
        c.bindmount_ro(file, file);
    }
    // `nobody`: the kernel's overflow uid, what `getuid()` reports under `CountedAs`'s
    // fallback uid (not mapped in here), so user lookups of it still succeed.
    c.file(
        "/etc/passwd",
        &format!(
            "root:x:0:0:root:/root:/usr/sbin/nologin\nnoetl:x:{}:{}:noetl:/tmp:/usr/sbin/nologin\n\
             nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            spec.uid, spec.gid
        ),
    );
    c.file("/etc/group", &format!("root:x:0:\nnoetl:x:{}:\n", spec.gid));
    let sizes = TmpfsSizes::of(spec, !with_rlimits);
    let tmpfs_flags = |writable: bool| {
        let flags = MountOptions::NOSUID | MountOptions::NODEV;
        if writable { flags } else { flags | MountOptions::RDONLY }
    };
    for bind in &spec.binds {
        match (&bind.source, bind.writable) {
            (BindSource::Host(host), true) => c.bindmount_rw(&host.to_string_lossy(), &bind.target),
            (BindSource::Host(host), false) => c.bindmount_ro(&host.to_string_lossy(), &bind.target),
            (BindSource::Tmpfs, writable) => {
                let size = if writable { sizes.each } else { READ_ONLY_TMPFS_BYTES };
                c.mount("tmpfs", &bind.target, "tmpfs", tmpfs_flags(writable), Some(format!("size={size}")))
            }
        };
    }
    if !spec.binds.iter().any(|b| b.target == "/tmp") {
        c.mount("tmpfs", "/tmp", "tmpfs", tmpfs_flags(true), Some(format!("size={}", sizes.each)));
    }
    // Over the directory hakoniwa's `/dev` has there (in the unsized `/dev` tmpfs, which the
    // gate makes read-only before the program runs); mounted after `/dev`, as mounts go in
    // path order.
    if !spec.binds.iter().any(|b| b.target == DEV_SHM) {
        c.mount("tmpfs", DEV_SHM, "tmpfs", tmpfs_flags(true), Some(format!("size={}", sizes.shm)));
    }
    if with_rlimits {
        if let Some(limit) = spec.memory_limit {
            // RLIMIT_DATA counts private writable mappings (heap and anonymous mmap) but not
            // the PROT_NONE address-space reservations V8 and allocators make up front, which
            // RLIMIT_AS would count and so kill `node` at start-up.
            let limit = limit.saturating_add(MEMORY_HEADROOM);
            c.setrlimit(Rlimit::Data, limit, limit);
        }
        // Counted per real uid, and never enforced on root: hence `CountedAs` on a root host.
        c.setrlimit(Rlimit::Nproc, spec.pids_limit, spec.pids_limit);
    }
    c
}

/// Kills a sandbox from another thread without racing pid reuse: the pidfd is opened while
/// the supervisor is our unreaped child, so it can only ever name that process.
#[derive(Default)]
struct KillSwitch {
    state: Mutex<KillState>,
}

#[derive(Default)]
struct KillState {
    killed: bool,
    /// The supervisor's and, when found, the program's (PID 1 of the sandbox).
    pidfds: Vec<OwnedFd>,
}

impl KillSwitch {
    /// `supervisor` is our unreaped child; `program` its child, waiting at its gate (so
    /// alive and unreaped too): a pidfd opened now names each for good. Killing PID 1 as
    /// well does not rely on its parent-death signal to end the tree.
    fn arm(&self, supervisor: u32, program: Option<u32>) {
        let fd = pidfd_open(supervisor);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if fd.is_none() && state.killed {
            // No pidfd (kernel < 5.3): the child is unreaped, so its pid is still ours.
            unsafe { libc::kill(supervisor as libc::pid_t, libc::SIGKILL) };
        }
        state.pidfds = fd.into_iter().chain(program.and_then(pidfd_open)).collect();
        if state.killed {
            state.pidfds.iter().for_each(send_sigkill);
        }
    }

    fn disarm(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pidfds.clear();
    }

    fn kill(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.killed = true;
        state.pidfds.iter().for_each(send_sigkill);
    }

    fn was_killed(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).killed
    }
}

struct KillOnDrop(Arc<KillSwitch>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Only matters when the run future is dropped early (the sandbox must not outlive
        // its job); after a normal end the switch is disarmed and only the flag changes.
        self.0.kill();
    }
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: plain syscall; on success it returns a new fd that we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn send_sigkill(fd: &OwnedFd) {
    // SAFETY: plain syscall on a pidfd we own; a process that already exited gives ESRCH.
    unsafe {
        libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), libc::SIGKILL, std::ptr::null::<libc::siginfo_t>(), 0);
    }
}

#[cfg(test)]
mod tests;
