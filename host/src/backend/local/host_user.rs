//! The host user a sandbox's processes are counted against.
//!
//! The sandbox's uid and gid map to the host's own (root's, on a root host). When the host
//! runs as root and no cgroup bounds the step, that would leave the step's process count
//! unbounded: the kernel never enforces `RLIMIT_NPROC` on processes whose *real* uid is
//! root (the initial user). So in that case the thread that forks the sandbox takes
//! [`FALLBACK_UID`], a uid no account uses, as its real uid for the fork (Linux keeps
//! credentials per thread; a raw syscall, because the libc wrapper changes every thread),
//! and takes root back right after. Every process of the sandbox inherits that real uid,
//! and `RLIMIT_NPROC` binds.
//!
//! Only the real uid changes: the effective, saved and filesystem ids stay the ones the
//! sandbox's uid maps to, so the sandbox reads and writes host files exactly as before (its
//! set-up can still reach a cache or runtime under root's home). The kernel counts
//! processes by real uid; nothing else in the sandbox uses it. One visible trace: inside,
//! `getuid()` reports the kernel's overflow uid (65534, as `FALLBACK_UID` is not mapped
//! there) while `geteuid()` is the pod's uid, and bash, seeing them differ, warns that it
//! cannot drop to it.

use anyhow::Context;

/// Real uid of the sandboxes of a root host without cgroups: far above the ranges
/// distributions give to accounts.
pub(super) const FALLBACK_UID: u32 = 0x7ff0_0000;

/// Whether a sandbox's processes are counted against [`FALLBACK_UID`] instead of root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CountedAs {
    fallback: bool,
}

impl CountedAs {
    /// [`FALLBACK_UID`] for a root host's step that no cgroup bounds; the host's own real
    /// uid otherwise.
    pub(super) fn for_run(bounded_by_cgroup: bool) -> Self {
        // SAFETY: plain syscall without arguments.
        let root = unsafe { libc::getuid() } == 0;
        CountedAs { fallback: root && !bounded_by_cgroup }
    }

    /// Runs `fork` (hakoniwa's spawn) on this thread with the real uid this says.
    pub(super) fn forking<T>(&self, fork: impl FnOnce() -> T) -> anyhow::Result<T> {
        if !self.fallback {
            return Ok(fork());
        }
        // SAFETY: raw syscall on this thread's own credentials: the real uid only; the
        // effective uid stays root, so capabilities and file access do not change.
        let switched = unsafe { libc::syscall(libc::SYS_setresuid, FALLBACK_UID, -1, -1) };
        if switched != 0 {
            return Err(std::io::Error::last_os_error())
                .context("cannot give the sandbox's forking thread its real uid for the process limit");
        }
        let forked = fork();
        // SAFETY: as above; the effective uid is root, so this is always allowed.
        if unsafe { libc::syscall(libc::SYS_setresuid, 0, -1, -1) } != 0 {
            // A host thread left with another real uid would break later work in odd ways.
            eprintln!(
                "noetl-host: cannot restore root on a sandbox-forking thread: {}",
                std::io::Error::last_os_error()
            );
            std::process::abort();
        }
        Ok(forked)
    }
}
