//! Plugin runtime costs (issue: foundation benchmarks).
//! - load of the script plugin component: cold compile vs from the on-disk cache;
//! - instantiate + call of a trivial export: pooling allocator + InstancePre (what the
//!   host does) vs on-demand allocation + instantiating through the Linker every call.
//!
//! Run: `cargo bench -p noetl-tests --bench plugin_runtime`

use criterion::{Criterion, criterion_group, criterion_main};
use noetl_host::bindings::tool::Tool;
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::plugin::{CallEnv, HostState, PluginRuntime};
use noetl_host::policy::{Limits, Policy};
use noetl_tests::guests;
use wasmtime::component::{Component, HasSelf, Linker};

fn script_component() -> &'static [u8] {
    noetl_host::builtin::PLUGINS.iter().find(|(name, _)| *name == "script").expect("built-in script").1
}

fn load(c: &mut Criterion) {
    noetl_tests::warn_if_bench_knobs_ignored();
    let bytes = script_component();
    let engine = HostEngine::new().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::new(cache_dir.path());
    cache.load(&engine.engine, bytes).unwrap();
    let mut group = c.benchmark_group(format!("load script plugin ({} KiB)", bytes.len() >> 10));
    group.sample_size(10);
    group.bench_function("cold compile", |b| b.iter(|| Component::new(&engine.engine, bytes).unwrap()));
    group.bench_function("from cache", |b| b.iter(|| cache.load(&engine.engine, bytes).unwrap()));
    group.finish();
}

fn instantiate_and_call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let bytes = std::fs::read(guests::JSON_TRANSFORM).unwrap();
    let policy = Policy::default();
    let cache_dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("instantiate + call describe()");

    // What the host does: pooling allocator, one InstancePre, a fresh Store per call.
    let pooled = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache_dir.path())).unwrap();
    let plugin = rt.block_on(pooled.load(&bytes, "json-transform", &policy)).unwrap();
    let env = CallEnv::from_policy(&policy, &plugin);
    let config = r#"{"kind":"json-transform","input":1}"#;
    group.bench_function("pooled + InstancePre (host path, plan call)", |b| {
        b.iter(|| rt.block_on(plugin.plan(&env, config, "{}")).unwrap().unwrap())
    });

    // Baseline: on-demand allocation, linking and instantiating from scratch each call.
    let plain = HostEngine::on_demand().unwrap();
    let component = Component::new(&plain.engine, &bytes).unwrap();
    let mut linker = Linker::<HostState>::new(&plain.engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    Tool::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s).unwrap();
    let caps = std::sync::Arc::new(Capabilities::none("json-transform"));
    // The generated bindings take `&String`.
    let (config, context) = (config.to_string(), "{}".to_string());
    group.bench_function("on-demand + Linker::instantiate (plan call)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut store = wasmtime::Store::new(&plain.engine, HostState::new(caps.clone(), &Limits::BUILT_IN));
                store.set_epoch_deadline(u64::MAX / 2);
                let tool = Tool::instantiate_async(&mut store, &component, &linker).await.unwrap();
                tool.noetl_plugin_handler().call_plan(&mut store, &config, &context).await.unwrap().unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, load, instantiate_and_call);
criterion_main!(benches);
