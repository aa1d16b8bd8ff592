//! Where the host keeps its own files.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Root of the host's caches: `$NOETL_CACHE_DIR`, else `$XDG_CACHE_HOME/noetl-host`,
/// else `~/.cache/noetl-host`, else a directory under the system temp dir.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("NOETL_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("noetl-host");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("noetl-host"),
        None => std::env::temp_dir().join("noetl-host-cache"),
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory renamed into place,
/// creating the directory first: a concurrent reader sees the old file or the whole new
/// one, never half of it (the caches rely on it).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a cache entry path has a parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path)?;
    Ok(())
}
