//! Finds the host program that stands in for an image and asks it where it really lives,
//! so the sandbox can mount exactly its install tree. A `python3` on `PATH` is often a
//! shim (pyenv, asdf) that only works with the host's environment; the interpreter behind
//! it is what the sandbox must run.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Host directories every sandbox gets read-only; a runtime inside them needs no extra mount.
pub(super) const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Runtime {
    /// The real interpreter binary (symlinks and shims resolved).
    pub executable: PathBuf,
    /// Put first on the sandbox `PATH`, so `python3`/`pip`/`npm` in a command resolve here.
    pub bin_dir: PathBuf,
    /// Install tree outside the system dirs to mount read-only (pyenv prefix), if any.
    pub extra_mount: Option<PathBuf>,
    /// `--version`-like text; part of the dependency cache key.
    pub version: String,
}

/// The host environment a probe runs in: variables and working directory. Shims pick the
/// version from both, so the probe cache keys on them too. Passed explicitly (captured once
/// from the process in production) so tests never change the process environment.
#[derive(Debug, Clone)]
pub(super) struct HostEnv {
    pub vars: BTreeMap<OsString, OsString>,
    pub cwd: PathBuf,
}

impl HostEnv {
    pub(super) fn current() -> Self {
        Self {
            vars: std::env::vars_os().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }

    pub(super) fn var(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// `Command` for `program` with exactly this environment and working directory.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.env_clear().envs(&self.vars).current_dir(&self.cwd);
        command
    }
}

/// The file `name` denotes on the host `PATH` (an absolute name is taken as given).
pub(super) fn locate(name: &str, env: &HostEnv) -> anyhow::Result<PathBuf> {
    find_on_path(name, env).with_context(|| {
        format!(
            "runtime `{name}` is not on the host PATH; install it or map the image to another \
             runtime in `LocalConfig.image_runtimes`"
        )
    })
}

/// Runs the runtime `found` (from [`locate`]) and asks it where it really lives.
pub(super) fn probe(found: &Path, env: &HostEnv) -> anyhow::Result<Runtime> {
    let stem = found.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let (executable, prefix, version) = if stem.starts_with("python") {
        let [exe, prefix, version] = ask(
            found,
            env,
            &["-c", "import sys, json; print(json.dumps([sys.executable, sys.base_prefix, sys.version]))"],
        )?;
        (PathBuf::from(exe), PathBuf::from(prefix), version)
    } else if stem.starts_with("node") {
        let [exe, version] = ask(found, env, &["-p", "JSON.stringify([process.execPath, process.version])"])?;
        let exe = PathBuf::from(exe);
        let prefix = grandparent(&exe);
        (exe, prefix, version)
    } else {
        let out = env.command(found).arg("--version").output();
        let version = out.map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string());
        (found.to_path_buf(), grandparent(found), version.unwrap_or_default())
    };
    let bin_dir = executable.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/usr/bin"));
    let executable = executable.canonicalize().with_context(|| {
        format!("runtime {} reported executable {} which does not exist", found.display(), executable.display())
    })?;
    let prefix = prefix.canonicalize().unwrap_or(prefix);
    let home = env.var("HOME").map(PathBuf::from);
    Ok(Runtime { extra_mount: mount_for(&prefix, &executable, home.as_deref()), executable, bin_dir, version })
}

/// Where `name` would be found by a shell; absolute paths are taken as given.
fn find_on_path(name: &str, env: &HostEnv) -> anyhow::Result<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        if is_executable(&p) {
            return Ok(p);
        }
        bail!("{name} is not an executable file");
    }
    let path = env.var("PATH").unwrap_or_default();
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .with_context(|| format!("`{name}` not found in PATH"))
}

pub(super) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the runtime on the host (with the host env: shims need it) and parses a JSON array.
fn ask<const N: usize>(program: &Path, env: &HostEnv, args: &[&str]) -> anyhow::Result<[String; N]> {
    let out = env
        .command(program)
        .args(args)
        .output()
        .with_context(|| format!("could not run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed to report its location ({}): {}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let values: Vec<String> = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{} printed an unexpected location report", program.display()))?;
    values
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} printed an unexpected location report", program.display()))
}

fn grandparent(p: &Path) -> PathBuf {
    p.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"))
}

fn is_under_system_dir(p: &Path) -> bool {
    SYSTEM_DIRS.iter().any(|d| p.starts_with(d))
}

/// The tree to mount for a runtime outside the system dirs. A prefix that is too broad
/// (`/`, `/opt`, the home directory) would expose unrelated host files, so then only the
/// interpreter's own directory is mounted.
fn mount_for(prefix: &Path, executable: &Path, home: Option<&Path>) -> Option<PathBuf> {
    if is_under_system_dir(executable) && (is_under_system_dir(prefix) || prefix == Path::new("/")) {
        return None;
    }
    let too_broad = prefix.components().count() < 3 || home == Some(prefix);
    if !too_broad && executable.starts_with(prefix) && !is_under_system_dir(prefix) {
        Some(prefix.to_path_buf())
    } else {
        executable.parent().filter(|d| !is_under_system_dir(d)).map(Path::to_path_buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe_name(name: &str) -> anyhow::Result<Runtime> {
        let env = HostEnv::current();
        probe(&locate(name, &env)?, &env)
    }

    #[test]
    fn python3_resolves_to_the_real_interpreter() {
        let rt = probe_name("python3").unwrap();
        assert!(rt.executable.is_absolute());
        assert!(is_executable(&rt.executable));
        // A shim is a script; the real interpreter is an ELF binary.
        let head = std::fs::read(&rt.executable).unwrap();
        assert_eq!(&head[..4], b"\x7fELF", "{}", rt.executable.display());
        assert!(rt.version.starts_with('3'), "{}", rt.version);
        if let Some(m) = &rt.extra_mount {
            assert!(rt.executable.starts_with(m));
        }
    }

    #[test]
    fn node_resolves() {
        let rt = probe_name("node").unwrap();
        assert!(rt.version.starts_with('v'), "{}", rt.version);
        assert!(is_executable(&rt.executable));
    }

    #[test]
    fn missing_runtime_says_how_to_fix() {
        let err = format!("{:#}", probe_name("no-such-runtime-xyz").unwrap_err());
        assert!(err.contains("not on the host PATH"), "{err}");
        assert!(err.contains("LocalConfig.image_runtimes"), "{err}");
    }

    #[test]
    fn broad_prefixes_are_narrowed() {
        assert_eq!(mount_for(Path::new("/usr"), Path::new("/usr/bin/node"), None), None);
        assert_eq!(
            mount_for(Path::new("/root/.pyenv/versions/3.11.7"), Path::new("/root/.pyenv/versions/3.11.7/bin/python3.11"), None),
            Some(PathBuf::from("/root/.pyenv/versions/3.11.7"))
        );
        assert_eq!(mount_for(Path::new("/opt"), Path::new("/opt/bin/x"), None), Some(PathBuf::from("/opt/bin")));
    }
}
