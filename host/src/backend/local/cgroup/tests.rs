use super::*;
use std::io::{BufRead, Write};

/// A directory laid out like a step cgroup of `version`, with the event files a kernel
/// would fill after one OOM kill and five refused forks.
fn fake_step(version: Version, with_cpu: bool) -> (tempfile::TempDir, StepCgroup) {
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        dir
    };
    let cgroup = match version {
        Version::V1 => {
            let (memory, pids) = (dir("memory"), dir("pids"));
            std::fs::write(memory.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n").unwrap();
            std::fs::write(pids.join("pids.events"), "max 5\n").unwrap();
            StepCgroup { version, memory, pids, cpu: with_cpu.then(|| dir("cpu")) }
        }
        Version::V2 => {
            let step = dir("step");
            std::fs::write(step.join("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n")
                .unwrap();
            std::fs::write(step.join("pids.events"), "max 5\n").unwrap();
            StepCgroup { version, memory: step.clone(), pids: step.clone(), cpu: with_cpu.then_some(step) }
        }
    };
    (root, cgroup)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// Empties the fake directories, so dropping the cgroup can remove them as on cgroupfs.
fn drop_fake(cgroup: StepCgroup) {
    for dir in cgroup.dirs() {
        for entry in std::fs::read_dir(dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    let dirs: Vec<PathBuf> = cgroup.dirs().into_iter().map(Path::to_path_buf).collect();
    drop(cgroup);
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

const LIMITS: TreeLimits = TreeLimits { memory: Some(64 << 20), cpu_millis: Some(500), pids: 16 };

#[test]
fn v2_limits_go_to_memory_max_swap_max_pids_max_and_cpu_max() {
    let (_root, cgroup) = fake_step(Version::V2, true);
    cgroup.apply(LIMITS).unwrap();
    assert_eq!(read(&cgroup.memory, "memory.max"), (64u64 << 20).to_string());
    assert_eq!(read(&cgroup.memory, "memory.swap.max"), "0");
    assert_eq!(read(&cgroup.pids, "pids.max"), "16");
    assert_eq!(read(&cgroup.memory, "cpu.max"), "50000 100000");
    assert_eq!(cgroup.report(), TreeReport { mechanism: "cgroup v2", oom_kills: 1, fork_refusals: 5 });
    assert_eq!(cgroup.dirs().len(), 1, "one directory for every controller");
    drop_fake(cgroup);
}

#[test]
fn v1_limits_go_to_each_controllers_own_files() {
    let (_root, cgroup) = fake_step(Version::V1, true);
    cgroup.apply(LIMITS).unwrap();
    assert_eq!(read(&cgroup.memory, "memory.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(read(&cgroup.memory, "memory.memsw.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(read(&cgroup.pids, "pids.max"), "16");
    let cpu = cgroup.cpu.clone().unwrap();
    assert_eq!((read(&cpu, "cpu.cfs_period_us"), read(&cpu, "cpu.cfs_quota_us")), ("100000".into(), "50000".into()));
    assert_eq!(cgroup.report(), TreeReport { mechanism: "cgroup v1", oom_kills: 1, fork_refusals: 5 });
    drop_fake(cgroup);
}

#[test]
fn without_a_memory_or_cpu_limit_only_the_process_limit_is_written() {
    let (_root, cgroup) = fake_step(Version::V2, false);
    cgroup.apply(TreeLimits { memory: None, cpu_millis: None, pids: 7 }).unwrap();
    assert_eq!(read(&cgroup.pids, "pids.max"), "7");
    assert!(!cgroup.memory.join("memory.max").exists() && !cgroup.memory.join("cpu.max").exists());
    drop_fake(cgroup);
}

/// Starts `sh` (stdin piped) that, once given a line, forks a child that says `forked`
/// and sleeps; returns when the child has said it.
fn start_then_fork(adopt: impl FnOnce(u32)) -> std::process::Child {
    let mut sh = std::process::Command::new("sh")
        .args(["-c", "read go; sh -c 'echo forked; exec sleep 1000' & exec sleep 1000"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    adopt(sh.id());
    writeln!(sh.stdin.take().unwrap(), "go").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(sh.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "forked");
    sh
}

/// Placement, a fork after it, the kill and the removal, on real cgroups: `homes` as given.
fn place_a_tree_and_drop(cgroup: StepCgroup) {
    let mut sh = start_then_fork(|pid| cgroup.adopt(pid).unwrap());
    let procs = read(&cgroup.pids, "cgroup.procs");
    let procs: Vec<&str> = procs.lines().collect();
    assert!(procs.contains(&sh.id().to_string().as_str()), "{procs:?}");
    assert_eq!(procs.len(), 2, "the adopted process and the child it forked afterwards: {procs:?}");
    let dirs: Vec<PathBuf> = cgroup.dirs().into_iter().map(Path::to_path_buf).collect();
    drop(cgroup);
    let status = sh.wait().unwrap();
    assert!(!status.success(), "the process left in the cgroup must be killed: {status}");
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

/// Real cgroups of the hierarchy this host would use: limits written, a tree placed.
/// Hosts without one use the rlimit fallback, which this does not cover.
#[test]
fn a_step_cgroup_bounds_what_is_adopted_and_its_forks_and_leaves_nothing() {
    let Some(cgroup) = StepCgroup::create("unit-test", LIMITS) else {
        eprintln!("no usable cgroup hierarchy here: the fallback applies");
        return;
    };
    let (memory_file, cpu_file) = match cgroup.version {
        Version::V1 => ("memory.limit_in_bytes", "cpu.cfs_quota_us"),
        Version::V2 => ("memory.max", "cpu.max"),
    };
    assert_eq!(read(&cgroup.memory, memory_file).trim(), (64u64 << 20).to_string());
    assert_eq!(read(&cgroup.pids, "pids.max").trim(), "16");
    if let Some(cpu) = &cgroup.cpu {
        assert!(read(cpu, cpu_file).starts_with("50000"));
    }
    place_a_tree_and_drop(cgroup);
}

/// The unified hierarchy, on a host where it holds no controllers (a hybrid layout, as on
/// the reference machine): the limits cannot be set there, but placement, forks born
/// inside, the kill and the removal are the same code as for a delegated v2 cgroup.
#[test]
fn a_tree_placed_in_a_real_v2_cgroup_is_killed_and_the_cgroup_removed() {
    let Some(cgroup) = unbounded_v2_for_test("v2-unit-test") else { return };
    assert_eq!(cgroup.dirs(), vec![cgroup.v2_dir()]);
    place_a_tree_and_drop(cgroup);
}
