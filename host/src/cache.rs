//! On-disk cache of compiled components.
//!
//! Compiling a component takes about a second; loading the compiled artifact takes
//! milliseconds. An entry is keyed by the component's SHA-256 and the engine's
//! compatibility hash (wasmtime version + settings), so a new host version never loads an
//! old artifact. Each entry ends with a BLAKE3 digest of its contents: deserializing a
//! corrupted artifact would be unsound, so an entry whose digest does not match, or that
//! wasmtime refuses, is recompiled and replaced — never trusted, never a crash. Entries
//! are written to a temp file and renamed into place, so readers never see a half file.

use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

/// Where compiled components live; only the host writes here.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

/// How a component was obtained (reported in traces and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Not cached yet: compiled and stored.
    Compiled,
    /// An entry existed but was corrupt or foreign: recompiled and replaced.
    Replaced,
}

impl ArtifactCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ArtifactCache { dir: dir.into() }
    }

    /// `$NOETL_CACHE_DIR`, else `$XDG_CACHE_HOME/noetl-host`, else `~/.cache/noetl-host`,
    /// each with `/components` appended.
    pub fn default_dir() -> PathBuf {
        crate::paths::cache_root().join("components")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Load `bytes` as a component, from the cache when possible.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, CacheOutcome)> {
        self.load_keyed(engine, &EntryKey::new(engine, &ContentHash::of(bytes)), bytes)
    }

    /// [`ArtifactCache::load`] with the key already computed.
    pub fn load_keyed(&self, engine: &Engine, key: &EntryKey, bytes: &[u8]) -> anyhow::Result<(Component, CacheOutcome)> {
        let path = self.dir.join(format!("{}.cwasm", key.0));
        let existed = path.exists();
        if existed && let Some(component) = self.read_entry(engine, &path) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, bytes)?;
        self.keep(&path, &component);
        Ok((component, if existed { CacheOutcome::Replaced } else { CacheOutcome::Compiled }))
    }

    /// The stored `form` of the component `key` names (for example its pre-initialised
    /// snapshot), if any.
    pub fn lookup_form(&self, engine: &Engine, key: &EntryKey, form: &str) -> Option<Component> {
        let path = self.form_path(key, form);
        path.exists().then(|| self.read_entry(engine, &path)).flatten()
    }

    /// Compile `derived`, a form the host made of the component `key` names, and store it
    /// as that form, so the next load finds it with [`ArtifactCache::lookup_form`] without
    /// deriving it again.
    pub fn store_form(&self, engine: &Engine, key: &EntryKey, form: &str, derived: &[u8]) -> anyhow::Result<Component> {
        let component = Component::new(engine, derived)?;
        self.keep(&self.form_path(key, form), &component);
        Ok(component)
    }

    /// A derived form is keyed by the component it was made from. The engine hash covers
    /// the wasmtime version, and so the version of the Wizer that made a snapshot (the two
    /// are released together).
    fn form_path(&self, key: &EntryKey, form: &str) -> PathBuf {
        self.dir.join(format!("{}-{form}.cwasm", key.0))
    }

    /// The entry, if it is intact and wasmtime accepts it. The file is hashed through a
    /// small buffer and then mapped by wasmtime, not read into memory: copying a few MiB
    /// per plugin into fresh pages was the largest part of a command's start-up.
    fn read_entry(&self, engine: &Engine, path: &Path) -> Option<Component> {
        if !digest_matches(path)? {
            tracing::warn!(entry = %path.display(), "compiled component cache entry is corrupt; recompiling");
            return None;
        }
        // SAFETY: the artifact was produced by `Component::serialize` of this host (the
        // digest proves the bytes are the ones we wrote into our own cache directory), and
        // wasmtime itself checks that it matches this engine's version and settings. The
        // mapped file is never modified in place: entries are replaced by renaming a new
        // file over them, which leaves this one's contents intact for as long as it is mapped.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(entry = %path.display(), "cache entry refused by wasmtime ({error}); recompiling");
                None
            }
        }
    }

    /// Store an entry; a cache that cannot be written (read-only home, full disk) only costs speed.
    fn keep(&self, path: &Path, component: &Component) {
        if let Err(error) = self.write_entry(path, component) {
            tracing::warn!(cache = %self.dir.display(), "could not store compiled component: {error:#}");
        }
    }

    fn write_entry(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        let mut data = component.serialize()?;
        let digest = *blake3::hash(&data).as_bytes();
        data.extend_from_slice(&digest);
        crate::paths::write_atomically(path, &data)
    }
}

/// Whether the entry at `path` ends with the BLAKE3 digest of the rest (`None`: unreadable).
fn digest_matches(path: &Path) -> Option<bool> {
    let mut file = std::fs::File::open(path).ok()?;
    let artifact_len = file.metadata().ok()?.len().checked_sub(DIGEST_LEN as u64)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader((&mut file).take(artifact_len)).ok()?;
    let mut digest = [0u8; DIGEST_LEN];
    file.read_exact(&mut digest).ok()?;
    Some(hasher.finalize().as_bytes() == &digest)
}

/// A component's SHA-256, hex: what the artifact cache and the rejection memory key it by
/// (computed once per load: hashing a large component costs as much as loading it).
pub struct ContentHash(String);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(hex::encode(Sha256::digest(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What names a component's entries: `<component SHA-256>-<engine compatibility hash>`.
pub struct EntryKey(String);

impl EntryKey {
    pub fn new(engine: &Engine, content: &ContentHash) -> Self {
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut engine_hash);
        EntryKey(format!("{}-{:016x}", content.as_str(), engine_hash.finish()))
    }
}
