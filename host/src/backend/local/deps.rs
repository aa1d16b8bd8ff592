//! The dependency cache: one installed environment per (runtime binary + version, exact
//! install argv, mount path), so the second run of a step does not reinstall.
//!
//! Layout under the cache root:
//! ```text
//! envs/<key>/deps/            the tree mounted at the deps mount path (e.g. /deps)
//! envs/<key>/noetl-env.json   what the key was computed from (for people, not trusted)
//! staging/<key>.<random>/     an install in progress
//! ```
//! An install runs in `staging/` and is renamed into `envs/` only after it succeeded;
//! rename is atomic, so a failed or killed install never leaves an environment that a later
//! run trusts. Leftover staging dirs (host killed mid-install) are never read.

use super::runtime::Runtime;
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub(super) struct DepsCache {
    root: PathBuf,
}

/// An install in progress; removed on drop unless committed.
pub(super) struct Staging {
    dir: tempfile::TempDir,
    key: String,
    description: serde_json::Value,
}

impl Staging {
    /// What the install container gets mounted read-write at the deps path.
    pub(super) fn deps_dir(&self) -> PathBuf {
        self.dir.path().join("deps")
    }
}

impl DepsCache {
    pub(super) fn open(root: &Path) -> anyhow::Result<Self> {
        for sub in ["envs", "staging"] {
            std::fs::create_dir_all(root.join(sub))
                .with_context(|| format!("cannot create the dependency cache at {}", root.join(sub).display()))?;
        }
        Ok(Self { root: root.to_path_buf() })
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// The cache key and the description it was made from.
    pub(super) fn key(runtime: &Runtime, argv: &[String], mount_path: &str) -> (String, serde_json::Value) {
        let description = serde_json::json!({
            "runtime": runtime.executable,
            "runtime_version": runtime.version,
            "install_argv": argv,
            "mount_path": mount_path,
        });
        let digest = Sha256::digest(description.to_string().as_bytes());
        (hex::encode(&digest[..16]), description)
    }

    /// The installed deps tree for `key`, if a completed install exists.
    pub(super) fn lookup(&self, key: &str) -> Option<PathBuf> {
        let deps = self.root.join("envs").join(key).join("deps");
        deps.is_dir().then_some(deps)
    }

    pub(super) fn stage(&self, key: &str, description: serde_json::Value) -> anyhow::Result<Staging> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{key}."))
            .tempdir_in(self.root.join("staging"))
            .context("cannot create a staging dir in the dependency cache")?;
        std::fs::create_dir(dir.path().join("deps")).context("cannot create the staging deps dir")?;
        Ok(Staging { dir, key: key.to_string(), description })
    }

    /// Publishes a successful install and returns its deps tree. When another run published
    /// the same key first, that one is kept and ours is discarded.
    pub(super) fn commit(&self, staging: Staging) -> anyhow::Result<PathBuf> {
        let meta = serde_json::to_vec_pretty(&staging.description)?;
        std::fs::write(staging.dir.path().join("noetl-env.json"), meta).context("cannot write cache metadata")?;
        let target = self.root.join("envs").join(&staging.key);
        let staged = staging.dir.keep();
        if let Err(e) = std::fs::rename(&staged, &target) {
            let _ = std::fs::remove_dir_all(&staged);
            if !target.join("deps").is_dir() {
                return Err(e).with_context(|| format!("cannot publish the environment at {}", target.display()));
            }
        }
        Ok(target.join("deps"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(version: &str) -> Runtime {
        Runtime {
            executable: "/usr/bin/python3".into(),
            bin_dir: "/usr/bin".into(),
            extra_mount: None,
            version: version.into(),
        }
    }

    #[test]
    fn key_depends_on_runtime_version_and_exact_argv() {
        let argv = |spec: &str| vec!["python3".to_string(), "-m".into(), "pip".into(), spec.to_string()];
        let (a, _) = DepsCache::key(&runtime("3.11.7"), &argv("six==1.16.0"), "/deps");
        let (b, _) = DepsCache::key(&runtime("3.11.7"), &argv("six==1.16.0"), "/deps");
        let (c, _) = DepsCache::key(&runtime("3.12.0"), &argv("six==1.16.0"), "/deps");
        let (d, _) = DepsCache::key(&runtime("3.11.7"), &argv("six==1.17.0"), "/deps");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn only_committed_installs_are_found() {
        let root = tempfile::tempdir().unwrap();
        let cache = DepsCache::open(root.path()).unwrap();
        let failed = cache.stage("k1", serde_json::json!({})).unwrap();
        std::fs::write(failed.deps_dir().join("half"), "x").unwrap();
        drop(failed); // a failed install is dropped, never committed
        assert_eq!(cache.lookup("k1"), None);
        assert_eq!(std::fs::read_dir(root.path().join("staging")).unwrap().count(), 0);

        let ok = cache.stage("k1", serde_json::json!({"a": 1})).unwrap();
        std::fs::write(ok.deps_dir().join("mod.py"), "x").unwrap();
        let deps = cache.commit(ok).unwrap();
        assert_eq!(cache.lookup("k1"), Some(deps.clone()));
        assert!(deps.join("mod.py").is_file());

        // A concurrent second install of the same key loses the race and is discarded.
        let late = cache.stage("k1", serde_json::json!({"a": 1})).unwrap();
        assert_eq!(cache.commit(late).unwrap(), deps);
        assert!(deps.join("mod.py").is_file());
        assert_eq!(std::fs::read_dir(root.path().join("staging")).unwrap().count(), 0);
    }
}
