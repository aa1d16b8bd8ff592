//! On-disk cache of runtime probes ([`runtime::probe`]).
//!
//! Asking a runtime where it really lives costs a process start on every run, and through a
//! version-manager shim (pyenv's is a bash script) about 100 ms. The answer can only change
//! when something the `PATH` lookup or the shim reads changes, so the key is a digest of all
//! of that, taken without running anything:
//! - the runtime name and [`KEY_VARS`] / [`KEY_VAR_PREFIXES`]: `PATH`, `HOME`, `PYTHONHOME`
//!   and every version manager's own variables (`PYENV_VERSION`, `PYENV_ROOT`, `PYENV_DIR`,
//!   `ASDF_*`, `NODENV_*`, `MISE_*`, ...);
//! - the file found on `PATH`: its path, the path its symlinks resolve to, and that file's
//!   state (a rehashed shim or a replaced binary is a new key);
//! - every [`VERSION_FILES`] name in the working directory and each parent up to `/` (and
//!   likewise from `PYENV_DIR`, which pyenv searches first), present or absent;
//! - the managers' global selection ([`global_state_paths`]): `$PYENV_ROOT/version`,
//!   `$PYENV_ROOT/versions` (installing a version can change what a prefix such as `3.11`
//!   selects), the same for nodenv, `~/.tool-versions`, mise's global config.
//!
//! A file's state is its device, inode, size, mtime and ctime, plus a digest of its contents
//! when it is small (version files and shim scripts): timestamps are only as fine as the
//! kernel tick, so a same-size edit right after a run is caught by content.
//!
//! An entry also records the state of the interpreter the probe found, and is trusted only
//! while that file is unchanged and its directories still exist: reinstalling a version
//! behind the same path re-probes.
//!
//! Layout: `<cache root>/runtimes/<first 32 hex digits of the key>.json`, holding
//! `{"key", "runtime", "executable"}`. An entry that cannot be read or parsed, or whose key
//! or interpreter does not match, is probed again and replaced. Entries are written to a
//! temp file and renamed into place, so a reader never sees half an entry. A cache dir that
//! cannot be written only costs the probe. Entries are small (about 300 bytes) and one is
//! made per (runtime, working directory, selection); nothing prunes them.

use super::runtime::{self, HostEnv, Runtime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped whenever the probe or the entry format changes meaning; old entries then miss.
const FORMAT: &[u8] = b"noetl-runtime-probe/1";
/// Environment variables that steer the `PATH` lookup or the selected version.
const KEY_VARS: &[&str] = &["PATH", "HOME", "XDG_CONFIG_HOME", "PYTHONHOME"];
/// Prefixes of version managers' own variables (pyenv, asdf, mise/rtx, nodenv, nvm, volta).
const KEY_VAR_PREFIXES: &[&str] = &["PYENV", "ASDF_", "MISE_", "RTX_", "NODENV", "NVM_", "VOLTA_"];
/// Per-directory files by which version managers select a version.
const VERSION_FILES: &[&str] =
    &[".python-version", ".node-version", ".nvmrc", ".tool-versions", "mise.toml", ".mise.toml", ".rtx.toml"];
/// Files up to this size are part of the key by content as well as by metadata.
const CONTENT_LIMIT: u64 = 64 * 1024;

pub(super) struct ProbeCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    runtime: Runtime,
    executable: FileState,
}

/// What identifies a file's current version without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileState {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileState {
    /// The state of `path` (symlinks followed), or `None` if it does not exist.
    fn of(path: &Path) -> Option<Self> {
        let m = std::fs::metadata(path).ok()?;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Some(Self {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }
}

impl ProbeCache {
    /// A cache under `root` (the local backend's cache root); nothing is created until a write.
    pub(super) fn new(root: &Path) -> Self {
        Self { dir: root.join("runtimes") }
    }

    /// The probe result for runtime `name` in `env`: from the cache when its key and
    /// interpreter still match, else probed now and stored.
    pub(super) fn runtime(&self, name: &str, env: &HostEnv) -> anyhow::Result<Runtime> {
        let found = runtime::locate(name, env)?;
        let key = key(name, &found, env);
        let entry_path = self.dir.join(format!("{}.json", &key[..32]));
        if let Some(runtime) = read_entry(&entry_path, &key) {
            tracing::debug!(runtime = name, entry = %entry_path.display(), "runtime probe cache hit");
            return Ok(runtime);
        }
        let runtime = runtime::probe(&found, env)?;
        if let Err(error) = self.write_entry(&entry_path, key, &runtime) {
            tracing::warn!(cache = %self.dir.display(), "could not store the runtime probe: {error:#}");
        }
        Ok(runtime)
    }

    fn write_entry(&self, path: &Path, key: String, runtime: &Runtime) -> anyhow::Result<()> {
        let Some(executable) = FileState::of(&runtime.executable) else {
            anyhow::bail!("{} vanished right after the probe", runtime.executable.display());
        };
        let json = serde_json::to_vec(&Entry { key, runtime: runtime.clone(), executable })?;
        crate::paths::write_atomically(path, &json)
    }
}

/// The cached runtime if the entry is intact, made for `key`, and its interpreter unchanged.
fn read_entry(path: &Path, key: &str) -> Option<Runtime> {
    let entry: Entry = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let rt = entry.runtime;
    let intact = entry.key == key
        && FileState::of(&rt.executable) == Some(entry.executable)
        && rt.bin_dir.is_dir()
        && rt.extra_mount.as_deref().is_none_or(Path::is_dir);
    intact.then_some(rt)
}

/// Digest of everything that decides what `found` resolves to (see the module docs).
fn key(name: &str, found: &Path, env: &HostEnv) -> String {
    let mut key = KeyBuilder(Sha256::new());
    key.field(FORMAT);
    key.field(name.as_bytes());
    for (var, value) in &env.vars {
        let var_name = var.to_string_lossy();
        let selects = KEY_VARS.contains(&var_name.as_ref()) || KEY_VAR_PREFIXES.iter().any(|p| var_name.starts_with(p));
        if selects {
            key.field(var.as_bytes());
            key.field(value.as_bytes());
        }
    }
    key.file(found);
    key.field(found.canonicalize().unwrap_or_default().as_os_str().as_bytes());
    for dir in version_file_dirs(env) {
        for file in VERSION_FILES {
            key.file(&dir.join(file));
        }
    }
    for path in global_state_paths(env) {
        key.file(&path);
    }
    hex::encode(key.0.finalize())
}

/// The working directory and `PYENV_DIR`, each with all its parents.
fn version_file_dirs(env: &HostEnv) -> Vec<PathBuf> {
    let pyenv_dir = env.var("PYENV_DIR").map(|d| env.cwd.join(d));
    let starts = std::iter::once(env.cwd.clone()).chain(pyenv_dir);
    starts.flat_map(|start| start.ancestors().map(Path::to_path_buf).collect::<Vec<_>>()).collect()
}

/// Files and dirs holding the version managers' global (not per-directory) selection.
fn global_state_paths(env: &HostEnv) -> Vec<PathBuf> {
    let home = env.var("HOME").map(PathBuf::from);
    let root = |var: &str, default: &str| env.var(var).map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(default)));
    let config = env.var("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut paths = Vec::new();
    for manager_root in [root("PYENV_ROOT", ".pyenv"), root("NODENV_ROOT", ".nodenv")].into_iter().flatten() {
        paths.push(manager_root.join("version"));
        paths.push(manager_root.join("versions"));
    }
    paths.extend(home.map(|h| h.join(".tool-versions")));
    paths.extend(config.map(|c| c.join("mise").join("config.toml")));
    paths
}

/// Feeds length-prefixed fields into the digest, so no two field sequences collide.
struct KeyBuilder(Sha256);

impl KeyBuilder {
    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    /// `path`, whether it exists, its state, and its contents if small.
    fn file(&mut self, path: &Path) {
        self.field(path.as_os_str().as_bytes());
        let Some(state) = FileState::of(path) else {
            self.field(b"absent");
            return;
        };
        self.field(&serde_json::to_vec(&state).unwrap_or_default());
        if state.size <= CONTENT_LIMIT && path.is_file() {
            let mut contents = Vec::new();
            let read = std::fs::File::open(path).and_then(|f| f.take(CONTENT_LIMIT).read_to_end(&mut contents));
            self.field(if read.is_ok() { &contents } else { b"unreadable" });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt;

    /// A pyenv-like setup in a temp dir: a shim `bin/python3` that logs each run and reports
    /// the interpreter `root/versions/3.99/bin/python3.99`, and a project dir to run from.
    struct Fixture {
        tmp: tempfile::TempDir,
        env: HostEnv,
    }

    impl Fixture {
        fn new() -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let t = tmp.path();
            let prefix = t.join("root/versions/3.99");
            for dir in [t.join("bin"), prefix.join("bin"), t.join("home"), t.join("project/sub")] {
                std::fs::create_dir_all(dir).unwrap();
            }
            write_executable(&prefix.join("bin/python3.99"), "fake interpreter\n");
            let shim = format!(
                "#!/bin/sh\necho probed >> '{log}'\necho '[\"{exe}\", \"{prefix}\", \"3.99.0\"]'\n",
                log = t.join("probes.log").display(),
                exe = prefix.join("bin/python3.99").display(),
                prefix = prefix.display(),
            );
            write_executable(&t.join("bin/python3"), &shim);
            let vars = [
                ("PATH", format!("{}:/usr/bin:/bin", t.join("bin").display())),
                ("HOME", t.join("home").display().to_string()),
                ("PYENV_ROOT", t.join("root").display().to_string()),
                ("UNRELATED", "1".to_string()),
            ];
            let env = HostEnv {
                vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
                cwd: t.join("project/sub"),
            };
            Self { tmp, env }
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.tmp.path().join(rel)
        }

        fn cache(&self) -> ProbeCache {
            ProbeCache::new(&self.path("cache"))
        }

        /// How many times the shim has run.
        fn probes(&self) -> usize {
            std::fs::read_to_string(self.path("probes.log")).map(|s| s.lines().count()).unwrap_or(0)
        }

        /// Looks `python3` up twice with a fresh cache handle each time (as two host runs
        /// would) and returns how many probes that took.
        fn probes_for_two_lookups(&self) -> usize {
            let before = self.probes();
            for _ in 0..2 {
                let rt = self.cache().runtime("python3", &self.env).unwrap();
                assert_eq!(rt.executable, self.path("root/versions/3.99/bin/python3.99"));
                assert_eq!(rt.version, "3.99.0");
            }
            self.probes() - before
        }
    }

    fn write_executable(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn append(path: &Path, text: &str) {
        std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_second_run_reuses_the_probe() {
        let f = Fixture::new();
        assert_eq!(f.probes_for_two_lookups(), 1);
        assert_eq!(f.probes_for_two_lookups(), 0);
        let rt = f.cache().runtime("python3", &f.env).unwrap();
        assert_eq!(rt.extra_mount, Some(f.path("root/versions/3.99")));
        assert_eq!(rt.bin_dir, f.path("root/versions/3.99/bin"));
    }

    #[test]
    fn changing_the_version_selection_probes_again() {
        let mut f = Fixture::new();
        assert_eq!(f.probes_for_two_lookups(), 1);

        std::fs::write(f.path("project/.python-version"), "3.99\n").unwrap();
        assert_eq!(f.probes_for_two_lookups(), 1, "new .python-version in a parent dir");
        std::fs::write(f.path("project/.python-version"), "3.98\n").unwrap();
        assert_eq!(f.probes_for_two_lookups(), 1, "same-size edit of .python-version");
        std::fs::write(f.path("project/sub/.tool-versions"), "python 3.99\n").unwrap();
        assert_eq!(f.probes_for_two_lookups(), 1, "new .tool-versions in the working dir");
        std::fs::write(f.path("root/version"), "3.99\n").unwrap();
        assert_eq!(f.probes_for_two_lookups(), 1, "global $PYENV_ROOT/version");
        std::fs::create_dir(f.path("root/versions/3.99.1")).unwrap();
        assert_eq!(f.probes_for_two_lookups(), 1, "a version installed next to it");

        f.env.vars.insert("PYENV_VERSION".into(), "3.99".into());
        assert_eq!(f.probes_for_two_lookups(), 1, "PYENV_VERSION set");
        f.env.vars.insert("PYENV_VERSION".into(), "system".into());
        assert_eq!(f.probes_for_two_lookups(), 1, "PYENV_VERSION changed");
        f.env.cwd = f.path("project");
        assert_eq!(f.probes_for_two_lookups(), 1, "another working dir");

        f.env.vars.insert("UNRELATED".into(), "2".into());
        assert_eq!(f.probes_for_two_lookups(), 0, "a variable that selects nothing");
    }

    #[test]
    fn a_changed_shim_or_interpreter_probes_again() {
        let f = Fixture::new();
        assert_eq!(f.probes_for_two_lookups(), 1);
        append(&f.path("bin/python3"), "# rehashed\n");
        assert_eq!(f.probes_for_two_lookups(), 1, "shim changed");
        append(&f.path("root/versions/3.99/bin/python3.99"), "reinstalled\n");
        assert_eq!(f.probes_for_two_lookups(), 1, "interpreter changed behind the same path");
    }

    #[test]
    fn a_runtime_appearing_earlier_on_path_is_a_new_key() {
        let mut f = Fixture::new();
        std::fs::create_dir(f.path("bin0")).unwrap();
        let path = format!("{}:{}", f.path("bin0").display(), f.env.var("PATH").unwrap().to_string_lossy());
        f.env.vars.insert("PATH".into(), path.into());
        assert_eq!(f.probes_for_two_lookups(), 1);
        std::fs::copy(f.path("bin/python3"), f.path("bin0/python3")).unwrap();
        assert_eq!(f.probes_for_two_lookups(), 1);
    }

    #[test]
    fn corrupt_entries_are_replaced() {
        let f = Fixture::new();
        assert_eq!(f.probes_for_two_lookups(), 1);
        let entries: Vec<PathBuf> =
            std::fs::read_dir(f.path("cache/runtimes")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        for garbage in [&b"{not json"[..], b"", b"{\"key\": \"x\"}"] {
            std::fs::write(&entries[0], garbage).unwrap();
            assert_eq!(f.probes_for_two_lookups(), 1, "entry {:?}", String::from_utf8_lossy(garbage));
        }
        let names: Vec<_> = std::fs::read_dir(f.path("cache/runtimes")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(names, entries, "replaced in place, no temp files left");
    }

    #[test]
    fn an_unwritable_cache_dir_only_costs_the_probe() {
        let f = Fixture::new();
        // A regular file where the cache root should be: nothing can be created below it
        // (chmod would not stop root).
        std::fs::write(f.path("cache"), "not a dir").unwrap();
        assert_eq!(f.probes_for_two_lookups(), 2);
    }

    #[test]
    fn a_missing_runtime_is_still_reported() {
        let f = Fixture::new();
        let err = format!("{:#}", f.cache().runtime("no-such-runtime-xyz", &f.env).unwrap_err());
        assert!(err.contains("not on the host PATH"), "{err}");
    }
}
