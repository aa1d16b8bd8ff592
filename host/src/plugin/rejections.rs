//! Plugin files whose `describe` hit a limit, remembered on disk by content hash.
//!
//! Every command that scans a plugin directory loads each file, and loading runs
//! `describe`. A file whose `describe` sleeps, spins or allocates without end would cost its
//! whole wall-clock (or CPU) budget on every `plugins list`, `run` and `exec`. The first
//! load that hits a limit records the verdict in the cache directory (each command is a new
//! process, so a memory-only record would never be read again); later loads of the same
//! bytes under the same limits and host version refuse the file at once with the recorded
//! reason. Changing the file, raising the limits, upgrading the host or deleting the entry
//! makes the next load try again.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::ContentHash;
use crate::policy::Limits;

#[derive(Debug, Clone)]
pub(super) struct RejectionMemory {
    dir: PathBuf,
}

impl RejectionMemory {
    /// Entries live in `rejected/` inside the compiled-component cache directory.
    pub(super) fn beside(cache_dir: &Path) -> Self {
        RejectionMemory { dir: cache_dir.join("rejected") }
    }

    /// The recorded reason why these bytes were rejected under these limits, if any.
    pub(super) fn recall(&self, content: &ContentHash, limits: &Limits) -> Option<String> {
        let entry = self.entry(content, limits);
        let reason = std::fs::read_to_string(&entry).ok()?;
        Some(format!(
            "{reason}\n(remembered from an earlier load: this exact file hit a limit in `describe` under the same \
             limits, so it is not run again until the file or its limits change; delete {} to retry now)",
            entry.display()
        ))
    }

    /// Record a rejection. A cache that cannot be written only costs the next load time.
    pub(super) fn remember(&self, content: &ContentHash, limits: &Limits, reason: &str) {
        if let Err(error) = crate::paths::write_atomically(&self.entry(content, limits), reason.as_bytes()) {
            tracing::warn!(cache = %self.dir.display(), "could not remember a rejected plugin: {error:#}");
        }
    }

    fn entry(&self, content: &ContentHash, limits: &Limits) -> PathBuf {
        let content = content.as_str();
        let verdict_inputs = format!("{limits:?} host {}", env!("CARGO_PKG_VERSION"));
        let inputs = hex::encode(&Sha256::digest(verdict_inputs.as_bytes())[..8]);
        self.dir.join(format!("{content}-{inputs}.txt"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_is_recalled_for_the_same_bytes_and_limits_only() {
        let cache = tempfile::tempdir().unwrap();
        let memory = RejectionMemory::beside(cache.path());
        let limits = Limits::BUILT_IN;
        let (plugin, other) = (ContentHash::of(b"plugin"), ContentHash::of(b"other plugin"));
        assert_eq!(memory.recall(&plugin, &limits), None);
        memory.remember(&plugin, &limits, "it was still running at its wall-clock limit");
        let recalled = memory.recall(&plugin, &limits).expect("remembered");
        assert!(recalled.starts_with("it was still running at its wall-clock limit\n(remembered"), "{recalled}");
        assert_eq!(memory.recall(&other, &limits), None, "another file is not rejected");
        let raised = Limits { wall_ms: limits.wall_ms * 2, ..limits };
        assert_eq!(memory.recall(&plugin, &raised), None, "raised limits give the file another try");
    }
}
