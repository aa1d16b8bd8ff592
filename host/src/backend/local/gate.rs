//! The sandbox's program waits at a gate between its sandbox set-up and its `execve`,
//! until the host has placed it in its cgroups (`cgroup.rs`). hakoniwa forks the sandbox
//! itself and offers no hook before the program runs, and cgroup v2 moves whole processes
//! only (so the host cannot move just the forking thread, as v1 allows); the gate makes a
//! placement after the fork race-free on both versions.
//!
//! The gate is the program's stdin: a pipe the host writes one byte to when the program
//! may go on, and closes. The program then puts `/dev/null` on its stdin, as a pod without
//! `stdin: true` has, and `execve`s. If the host closes the pipe without the byte (the run
//! was cancelled or timed out first), the program exits without running.

use hakoniwa::{Command, Container, Stdio};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The byte that opens the gate.
const GO: u8 = b'g';
/// Exit code and stderr prefix when the program cannot be executed after the gate; the
/// sandbox reports such a run as a sandbox failure, like hakoniwa's own (exit 125).
pub(super) const EXEC_FAILED_CODE: i32 = 125;
pub(super) const EXEC_FAILED_PREFIX: &str = "sandbox: ";
/// Exit code when the host abandoned the run before opening the gate (never reported).
const ABANDONED_CODE: i32 = 126;

/// The host's end of a gate.
pub(super) struct Gate(std::io::PipeWriter);

impl Gate {
    /// Lets the program run.
    pub(super) fn open(mut self) -> std::io::Result<()> {
        self.0.write_all(&[GO])
    }
}

/// What the program needs after the gate, prepared before the fork.
pub(super) struct Program<'a> {
    pub path: &'a Path,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
}

/// A command running `program` in `container` behind a gate, and the gate.
pub(super) fn command(container: &Container, program: &Program) -> anyhow::Result<(Command, Gate)> {
    let c_string = |bytes: &[u8]| CString::new(bytes).map_err(|_| anyhow::anyhow!("a NUL byte in the command or env"));
    let path = c_string(program.path.as_os_str().as_bytes())?;
    let argv = std::iter::once(Ok(path.clone()))
        .chain(program.args.iter().map(|a| c_string(a.as_bytes())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let envp =
        program.env.iter().map(|(k, v)| c_string(format!("{k}={v}").as_bytes())).collect::<anyhow::Result<Vec<_>>>()?;
    let (reader, writer) = std::io::pipe()?;
    // SAFETY: the closure runs in the sandbox's forked child; it only makes syscalls and
    // builds two pointer vectors (hakoniwa's own child code allocates as well).
    let mut command = unsafe { container.command_from_closure(move || exec_after_gate(&path, &argv, &envp)) };
    command.stdin(Stdio::from(std::fs::File::from(std::os::fd::OwnedFd::from(reader))));
    Ok((command, Gate(writer)))
}

/// In the sandbox, after its set-up (mounts, rlimits, no_new_privs): make `/dev` read-only,
/// wait for the gate, then `execve`. Returns only on failure, with the exit code.
fn exec_after_gate(path: &CString, argv: &[CString], envp: &[CString]) -> i32 {
    // SAFETY: plain syscalls on this process's own fds, with pointers that outlive them.
    unsafe {
        // hakoniwa's fresh `/dev` is a tmpfs without a size, writable by the pod's uid: make
        // it read-only (the device nodes, `/dev/pts` and the sized `/dev/shm` are mounts of
        // their own and stay as they are). This process still holds the sandbox's user
        // namespace capabilities here; the program loses them at `execve`, so cannot undo it.
        let flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID;
        if libc::mount(std::ptr::null(), c"/dev".as_ptr(), std::ptr::null(), flags, std::ptr::null()) != 0 {
            let error = std::io::Error::last_os_error();
            let _ = writeln!(std::io::stderr(), "{EXEC_FAILED_PREFIX}cannot make /dev read-only: {error}");
            return EXEC_FAILED_CODE;
        }
        let mut byte = 0u8;
        let read = loop {
            let n = libc::read(0, (&raw mut byte).cast(), 1);
            if n >= 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                break n;
            }
        };
        if read != 1 || byte != GO {
            return ABANDONED_CODE;
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 || libc::dup2(null, 0) < 0 {
            let _ = writeln!(std::io::stderr(), "{EXEC_FAILED_PREFIX}cannot open /dev/null as stdin");
            return EXEC_FAILED_CODE;
        }
        libc::close(null);
        let pointers = |strings: &[CString]| {
            strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect::<Vec<_>>()
        };
        let (argv, envp) = (pointers(argv), pointers(envp));
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    let error = std::io::Error::last_os_error();
    let _ = writeln!(std::io::stderr(), "{EXEC_FAILED_PREFIX}cannot execute {}: {error}", path.to_string_lossy());
    EXEC_FAILED_CODE
}

/// The host pid of the sandbox's program: the only child of its supervisor (`supervisor`,
/// what hakoniwa's `spawn` returns) while the program waits at its gate.
pub(super) fn program_pid(supervisor: u32) -> Option<u32> {
    match std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children")) {
        Ok(children) => children.split_whitespace().next()?.parse().ok(),
        // A kernel without CONFIG_PROC_CHILDREN: look for the process whose parent it is.
        Err(_) => std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == supervisor).then_some(pid)
        }),
    }
}
