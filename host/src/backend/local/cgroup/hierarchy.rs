//! Where a local step's cgroups go: inside the host process's own cgroups, found from
//! `/proc/self/mountinfo` (where each hierarchy is mounted) and `/proc/self/cgroup` (our
//! path in it).
//!
//! Order: the unified (v2) hierarchy first, when the host's cgroup there offers the memory
//! and pids controllers (a delegated subtree); else the v1 memory and pids hierarchies, when
//! the host can make directories in them. A controller is bound to one hierarchy at a time,
//! so at most one of the two can bound memory: on a hybrid layout whose unified hierarchy
//! holds no controllers (the common case), v1 is used.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    V1,
    V2,
}

/// The host's own cgroup per controller, where a step's cgroups are made; under v2 one
/// directory holds all controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Homes {
    pub version: Version,
    pub memory: PathBuf,
    pub pids: PathBuf,
    /// `None` when the cpu controller is not available: CPU is then not bounded.
    pub cpu: Option<PathBuf>,
}

/// The leaf a v2 host moves itself into when its own cgroup must hold no processes
/// before it can hand controllers to children (cgroup v2's "no internal processes" rule).
const V2_HOST_LEAF: &str = "noetl-host";

/// Which hierarchy bounds steps on this host, if any (see the module doc for the order).
/// May enable controllers in the host's v2 cgroup (see [`delegate_v2`]).
pub(super) fn detect(mountinfo: &str, membership: &str) -> Option<Homes> {
    v2_homes(mountinfo, membership).or_else(|| v1_homes(mountinfo, membership))
}

fn v2_homes(mountinfo: &str, membership: &str) -> Option<Homes> {
    let home = v2_home(mountinfo, membership)?;
    let available = std::fs::read_to_string(home.join("cgroup.controllers")).ok()?;
    let available: Vec<&str> = available.split_whitespace().collect();
    if !["memory", "pids"].iter().all(|c| available.contains(c)) {
        return None;
    }
    match delegate_v2(&home, available.contains(&"cpu")) {
        Ok(with_cpu) => Some(Homes {
            version: Version::V2,
            memory: home.clone(),
            pids: home.clone(),
            cpu: with_cpu.then_some(home),
        }),
        Err(error) => {
            tracing::debug!(cgroup = %home.display(), "cgroup v2 not usable for local steps: {error}");
            None
        }
    }
}

/// The host's cgroup in the unified hierarchy: the `cgroup2` mount joined with the `0::`
/// line of our membership.
pub(super) fn v2_home(mountinfo: &str, membership: &str) -> Option<PathBuf> {
    let (root, mount_point) = mount_of(mountinfo, |fstype, _| fstype == "cgroup2")?;
    let path = membership.lines().find_map(|line| line.strip_prefix("0::"))?;
    Some(join_relative(mount_point, root, path))
}

/// Lets the host's v2 cgroup hand the memory and pids controllers (and cpu when asked and
/// available) to the step cgroups made in it, by enabling them in its
/// `cgroup.subtree_control`. A cgroup with processes of its own cannot do that (EBUSY), so
/// then the host moves itself into a leaf [`V2_HOST_LEAF`] first, as systemd's `Delegate=`
/// and container entry points expect. Returns whether cpu is enabled.
fn delegate_v2(home: &Path, want_cpu: bool) -> std::io::Result<bool> {
    if let Err(error) = enable_controllers(home, &["memory", "pids"]) {
        if error.kind() != std::io::ErrorKind::ResourceBusy {
            return Err(error);
        }
        let leaf = home.join(V2_HOST_LEAF);
        match std::fs::create_dir(&leaf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        // "0" moves the writing process (all its threads).
        super::write(&leaf, "cgroup.procs", 0)?;
        if let Err(error) = enable_controllers(home, &["memory", "pids"]) {
            // Other processes share our cgroup: go back where we were and leave it alone.
            let _ = super::write(home, "cgroup.procs", 0);
            let _ = std::fs::remove_dir(&leaf);
            return Err(error);
        }
    }
    Ok(want_cpu && enable_controllers(home, &["cpu"]).is_ok())
}

/// Enables `controllers` in `home/cgroup.subtree_control`, writing only those not enabled.
fn enable_controllers(home: &Path, controllers: &[&str]) -> std::io::Result<()> {
    let enabled = std::fs::read_to_string(home.join("cgroup.subtree_control"))?;
    let enabled: Vec<&str> = enabled.split_whitespace().map(|c| c.trim_start_matches('+')).collect();
    let missing: Vec<String> = controllers.iter().filter(|c| !enabled.contains(c)).map(|c| format!("+{c}")).collect();
    if missing.is_empty() { Ok(()) } else { super::write(home, "cgroup.subtree_control", missing.join(" ")) }
}

fn v1_homes(mountinfo: &str, membership: &str) -> Option<Homes> {
    let home = |controller| v1_home(mountinfo, membership, controller).filter(|home| home.is_dir());
    Some(Homes { version: Version::V1, memory: home("memory")?, pids: home("pids")?, cpu: home("cpu") })
}

/// Where this process's cgroup of v1 `controller` is: the hierarchy's mount point joined
/// with our path in it, relative to the mount's root when only part of it is mounted.
fn v1_home(mountinfo: &str, membership: &str, controller: &str) -> Option<PathBuf> {
    let (root, mount_point) =
        mount_of(mountinfo, |fstype, options| fstype == "cgroup" && options.split(',').any(|o| o == controller))?;
    let path = membership.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == controller).then_some(path)
    })?;
    Some(join_relative(mount_point, root, path))
}

/// The first mount whose filesystem type and super options match: (its root, its mount point).
fn mount_of(mountinfo: &str, matches: impl Fn(&str, &str) -> bool) -> Option<(&str, &str)> {
    mountinfo.lines().find_map(|line| {
        let (fields, fs) = line.split_once(" - ")?;
        let mut fs = fs.split(' ');
        let (fstype, options) = (fs.next()?, fs.nth(1)?);
        let mut fields = fields.split(' ').skip(3);
        matches(fstype, options).then(|| Some((fields.next()?, fields.next()?))).flatten()
    })
}

fn join_relative(mount_point: &str, root: &str, path: &str) -> PathBuf {
    let relative = path.strip_prefix(root).unwrap_or(path).trim_start_matches('/');
    let mount_point = Path::new(mount_point);
    if relative.is_empty() { mount_point.to_path_buf() } else { mount_point.join(relative) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_MOUNTS: &str = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 /kubepods /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
";
    const MEMBERSHIP: &str =
        "8:pids:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n7:blkio:/kubepods/pod1\n0::/user.slice/x\n";

    #[test]
    fn v1_homes_join_the_mount_point_and_our_path() {
        let home = |c| v1_home(V1_MOUNTS, MEMBERSHIP, c).map(|p| p.display().to_string());
        assert_eq!(home("memory").as_deref(), Some("/sys/fs/cgroup/memory/process_api/abc"));
        assert_eq!(home("pids").as_deref(), Some("/sys/fs/cgroup/pids"));
        assert_eq!(home("cpu").as_deref(), Some("/sys/fs/cgroup/cpu,cpuacct"));
        // A hierarchy mounted from its `/kubepods` cgroup: our path is relative to that.
        assert_eq!(home("blkio").as_deref(), Some("/sys/fs/cgroup/blkio/pod1"));
        assert_eq!(home("freezer"), None);
    }

    #[test]
    fn the_v2_home_is_the_cgroup2_mount_and_our_0_line() {
        let mounts = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(v2_home(mounts, MEMBERSHIP), Some(PathBuf::from("/sys/fs/cgroup/user.slice/x")));
        assert_eq!(v2_home(V1_MOUNTS, MEMBERSHIP), None, "no cgroup2 mount");
    }

    /// A fake cgroupfs: `layout` lists (relative dir, file, content).
    fn fake_cgroupfs(layout: &[(&str, &str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (dir, file, content) in layout {
            let dir = root.path().join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(file), content).unwrap();
        }
        root
    }

    fn mounts(root: &Path) -> String {
        let r = root.display();
        format!(
            "41 31 0:38 / {r}/unified rw - cgroup2 cgroup2 rw\n\
             35 31 0:32 / {r}/memory rw - cgroup cgroup rw,memory\n\
             39 31 0:36 / {r}/pids rw - cgroup cgroup rw,pids\n"
        )
    }

    const OURS: &str = "8:pids:/\n4:memory:/host\n0::/host\n";

    #[test]
    fn a_hybrid_host_whose_unified_hierarchy_has_no_controllers_uses_v1() {
        // As on the reference machine: cgroup2 at .../unified offers no memory controller.
        let fs = fake_cgroupfs(&[
            ("unified/host", "cgroup.controllers", ""),
            ("unified/host", "cgroup.subtree_control", ""),
            ("memory/host", "memory.limit_in_bytes", "0"),
            ("pids", "pids.max", "max"),
        ]);
        let homes = detect(&mounts(fs.path()), OURS).unwrap();
        assert_eq!(homes.version, Version::V1);
        assert_eq!(homes.memory, fs.path().join("memory/host"));
        assert_eq!(homes.pids, fs.path().join("pids"));
        assert_eq!(homes.cpu, None, "no cpu hierarchy mounted");
    }

    #[test]
    fn a_delegated_v2_cgroup_comes_first_and_gets_its_controllers_enabled() {
        let fs = fake_cgroupfs(&[
            ("unified/host", "cgroup.controllers", "cpuset cpu io memory pids\n"),
            ("unified/host", "cgroup.subtree_control", "memory\n"),
            ("memory/host", "memory.limit_in_bytes", "0"),
            ("pids", "pids.max", "max"),
        ]);
        let homes = detect(&mounts(fs.path()), OURS).unwrap();
        let home = fs.path().join("unified/host");
        assert_eq!(
            homes,
            Homes { version: Version::V2, memory: home.clone(), pids: home.clone(), cpu: Some(home.clone()) }
        );
        // Only what was missing is written (a real kernel then lists all three).
        let written = std::fs::read_to_string(home.join("cgroup.subtree_control")).unwrap();
        assert_eq!(written, "+cpu");
    }

    #[test]
    fn neither_hierarchy_usable_means_no_cgroups() {
        let fs = fake_cgroupfs(&[("unified/host", "cgroup.controllers", "cpu io\n")]);
        // v2 lacks memory and pids; the v1 mount points exist in mountinfo but not on disk.
        assert_eq!(detect(&mounts(fs.path()), OURS), None);
    }
}
