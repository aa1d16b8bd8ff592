//! Where the host keeps its own files.

use std::path::PathBuf;

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
