//! The compiled-artifact cache: hits after the first load, and a corrupt or foreign entry
//! is recompiled and replaced, never trusted.

use noetl_host::cache::{ArtifactCache, CacheOutcome};
use noetl_host::engine::HostEngine;
use noetl_host::plugin::{CallEnv, PluginRuntime};
use noetl_host::policy::Policy;
use noetl_tests::guests;

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "cwasm")).collect()
}

async fn load(cache_dir: &std::path::Path) -> (PluginRuntime, noetl_host::plugin::LoadedPlugin) {
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache_dir)).unwrap();
    let bytes = std::fs::read(guests::JSON_TRANSFORM).unwrap();
    let plugin = runtime.load(&bytes, "json-transform.wasm", &Policy::default()).await.unwrap();
    (runtime, plugin)
}

async fn assert_works(plugin: &noetl_host::plugin::LoadedPlugin) {
    let env = CallEnv::from_policy(&Policy::default(), plugin);
    let config = r#"{"kind":"json-transform","input":{"a":1,"b":2},"drop":["b"]}"#;
    let planned = plugin.plan(&env, config, "{}").await.unwrap().unwrap();
    assert!(matches!(planned, noetl_host::bindings::types::PlanResult::Done(ref json) if json.contains(r#""data":{"a":1}"#)), "{planned:?}");
}

#[tokio::test]
async fn second_load_is_a_cache_hit() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = load(dir.path()).await;
    assert_eq!(first.cache, CacheOutcome::Compiled);
    assert_eq!(entries(dir.path()).len(), 1);
    let (_, second) = load(dir.path()).await;
    assert_eq!(second.cache, CacheOutcome::Hit);
    assert_works(&second).await;
}

#[tokio::test]
async fn corrupt_entries_are_recompiled_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    load(dir.path()).await;
    let entry = entries(dir.path()).pop().unwrap();
    let pristine = std::fs::read(&entry).unwrap();

    // One flipped bit in the compiled code.
    let mut flipped = pristine.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    // Truncated in the middle of a write; someone else's bytes entirely.
    let corruptions = [flipped, pristine[..pristine.len() / 3].to_vec(), b"not a compiled component at all".to_vec(), Vec::new()];
    for corrupt in corruptions {
        std::fs::write(&entry, &corrupt).unwrap();
        let (_, plugin) = load(dir.path()).await;
        assert_eq!(plugin.cache, CacheOutcome::Replaced);
        assert_works(&plugin).await;
        assert_eq!(std::fs::read(&entry).unwrap(), pristine, "the entry is rewritten with a good artifact");
    }
    assert_eq!(entries(dir.path()).len(), 1, "no temp files are left behind");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp files are left behind");
}

#[tokio::test]
async fn an_unwritable_cache_costs_speed_not_correctness() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let (_, plugin) = load(&not_a_dir).await;
    assert_eq!(plugin.cache, CacheOutcome::Compiled);
    assert_works(&plugin).await;
}
