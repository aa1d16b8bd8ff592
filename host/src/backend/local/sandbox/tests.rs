//! Real sandboxes: the gate, placement in a cgroup, and the host user of the fallback.

use super::*;
use crate::backend::local::cgroup::unbounded_v2_for_test;
use crate::backend::local::host_user::FALLBACK_UID;

fn shell(hostname: &str, script: &str) -> SandboxSpec {
    SandboxSpec {
        hostname: hostname.into(),
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        working_dir: None,
        runtime_tree: None,
        binds: Vec::new(),
        host_network: false,
        uid: 1000,
        gid: 1000,
        memory_limit: None,
        cpu_limit: None,
        pids_limit: 64,
        cgroups: true,
        output_cap: 1 << 16,
    }
}

/// The unified hierarchy of a hybrid host holds no controllers, so no limits can be set
/// there; but a cgroup made there takes the whole tree, placed through the gate before the
/// program runs, and is removed afterwards: the v2 path minus the limit files (those are
/// checked against a fake cgroupfs in `cgroup::tests`).
#[test]
fn the_program_and_its_children_run_inside_a_real_v2_cgroup_which_is_removed_after() {
    let Some(cgroup) = unbounded_v2_for_test("sandbox-test") else { return };
    let dir = cgroup.v2_dir().to_path_buf();
    let spec = shell("v2-placement", r#"grep '^0::' /proc/self/cgroup; sh -c "grep '^0::' /proc/self/cgroup""#);
    let run = run_in(&spec, Some(cgroup), &KillSwitch::default()).unwrap();
    assert_eq!(run.ended, Ended::Exited(0), "{run:#?}");
    assert_eq!(run.tree.mechanism, "cgroup v2");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    for line in lines {
        let name = dir.file_name().unwrap().to_string_lossy();
        assert!(line.ends_with(&format!("/{name}")), "PID 1 and its child are in the step's cgroup: {run:#?}");
    }
    assert!(!dir.exists(), "the step's cgroup is removed");
}

/// Without cgroups a root host gives the sandbox another real uid, so `RLIMIT_NPROC`
/// binds (inside it reads as the overflow uid, 65534, as it is not mapped there); the ids
/// that decide file access stay the pod's, mapped to the host's own.
#[test]
fn without_cgroups_a_root_hosts_sandbox_has_the_dedicated_real_uid() {
    let spec = shell("counted-as", "cat /proc/self/uid_map; grep '^Uid:' /proc/self/status; id -un");
    let run = run_in(&spec, None, &KillSwitch::default()).unwrap();
    assert_eq!(run.ended, Ended::Exited(0), "{run:#?}");
    // SAFETY: plain syscall without arguments.
    let host_uid = unsafe { libc::getuid() };
    let real = if host_uid == 0 { "65534" } else { "1000" };
    let words: Vec<&str> = run.stdout.split_whitespace().collect();
    assert_eq!(words, ["1000", &host_uid.to_string(), "1", "Uid:", real, "1000", "1000", "1000", "noetl"], "{run:#?}");
}

/// The same, from outside: the sandbox's processes have [`FALLBACK_UID`] as their real uid.
#[test]
fn from_outside_the_fallback_sandbox_runs_as_the_fallback_uid() {
    // SAFETY: plain syscall without arguments.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("not root: the sandbox keeps the host's real uid");
        return;
    }
    let spec = shell("counted-as-outside", "echo $$; exec sleep 1000");
    let switch = Arc::new(KillSwitch::default());
    let runner = {
        let switch = switch.clone();
        std::thread::spawn(move || run_in(&spec, None, &switch))
    };
    // PID 1 inside prints its own pid (1); find the sandbox's PID 1 from outside instead:
    // the kill switch is armed with it.
    let program = loop {
        if let Some(fd) = switch.state.lock().unwrap().pidfds.get(1) {
            break pidfd_pid(fd);
        }
        std::thread::yield_now();
    };
    let status = std::fs::read_to_string(format!("/proc/{program}/status")).unwrap();
    let real =
        status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap().split_whitespace().next().unwrap().to_string();
    switch.kill();
    let run = runner.join().unwrap().unwrap();
    assert_eq!(real, FALLBACK_UID.to_string(), "{status}\n{run:#?}");
}

/// The pid a pidfd names, from `/proc/self/fdinfo`.
fn pidfd_pid(fd: &OwnedFd) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines().find_map(|l| l.strip_prefix("Pid:")).unwrap().trim().parse().unwrap()
}

/// A program that cannot be executed behind the gate is a sandbox failure that says why.
#[test]
fn a_program_that_cannot_run_is_a_sandbox_failure_naming_it() {
    let mut spec = shell("no-such-program", "");
    spec.program = "/usr/bin/noetl-no-such-program".into();
    let run = run_in(&spec, None, &KillSwitch::default()).unwrap();
    match &run.ended {
        Ended::SandboxFailed(why) => assert!(why.contains("noetl-no-such-program"), "{why}"),
        other => panic!("expected a sandbox failure: {other:?} {run:#?}"),
    }
}

/// `/dev/shm` is the sandbox's own tmpfs, sized; `/dev` itself takes no writes. Under the
/// fallback `/dev/shm` and `/tmp` add up to the memory limit.
#[test]
fn dev_is_read_only_and_dev_shm_is_a_private_sized_tmpfs() {
    let script = "touch /dev/x 2>/dev/null && echo dev-writable; \
                  for m in /dev/shm /tmp; do echo \"$m $(stat -f -c '%T %b %S' $m)\"; done; \
                  echo x > /dev/shm/f && echo shm-writable; echo y > /dev/null && echo null-ok";
    let mut spec = shell("dev-shm", script);
    spec.memory_limit = Some(64 << 20);
    let run = run_in(&spec, None, &KillSwitch::default()).unwrap();
    assert_eq!(run.ended, Ended::Exited(0), "{run:#?}");
    assert!(!run.stdout.contains("dev-writable"), "{run:#?}");
    assert!(run.stdout.contains("shm-writable") && run.stdout.contains("null-ok"), "{run:#?}");
    let bytes = |mount: &str| -> u64 {
        let line = run.stdout.lines().find(|l| l.starts_with(&format!("{mount} "))).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[1], "tmpfs", "{line}");
        words[2].parse::<u64>().unwrap() * words[3].parse::<u64>().unwrap()
    };
    assert_eq!(bytes("/dev/shm"), 8 << 20, "{run:#?}");
    assert_eq!(bytes("/tmp"), 56 << 20, "{run:#?}");
}

#[test]
fn tmpfs_sizes_add_up_to_the_limit_unless_a_cgroup_counts_them() {
    let mib = 1u64 << 20;
    assert_eq!(TmpfsSizes::split(Some(256 * mib), true, 3, true), TmpfsSizes { shm: 256 * mib, each: 256 * mib });
    assert_eq!(TmpfsSizes::split(Some(256 * mib), false, 1, true), TmpfsSizes { shm: 32 * mib, each: 224 * mib });
    assert_eq!(TmpfsSizes::split(Some(256 * mib), false, 2, true), TmpfsSizes { shm: 32 * mib, each: 112 * mib });
    // An emptyDir at /dev/shm is one of the others.
    assert_eq!(TmpfsSizes::split(Some(256 * mib), false, 2, false).each, 128 * mib);
    // No limit: a cgroup has nothing to count against, so they share the default.
    let unlimited = TmpfsSizes::split(None, true, 1, true);
    assert_eq!(unlimited.shm + unlimited.each, DEFAULT_TMP_BYTES);
}
