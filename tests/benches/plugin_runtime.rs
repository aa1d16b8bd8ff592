//! Plugin runtime costs (issue: foundation benchmarks).
//! - load of the script plugin component: cold compile vs from the on-disk cache;
//! - instantiate + call of a trivial export: the host's path with its spare instance ready
//!   (made in the background after the previous call, issue 15 lever 4), the same pooled
//!   InstancePre instantiating inside the call (the host's path before the spare), and
//!   on-demand allocation + instantiating through the Linker every call;
//! - CPU time per call on the host's path, the background work (making the next spare,
//!   dropping the used store) included, printed after the criterion groups.
//!
//! Run: `cargo bench -p noetl-tests --bench plugin_runtime`

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};

use noetl_host::bindings::tool::{Tool, ToolPre};
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::plugin::{CallEnv, HostState, LoadedPlugin, PluginRuntime};
use noetl_host::policy::{Limits, Policy};
use noetl_tests::guests;
use wasmtime::component::{Component, HasSelf, Linker};

fn script_component() -> &'static [u8] {
    noetl_host::builtin::PLUGINS.iter().find(|(name, _)| *name == "script").expect("built-in script").1
}

fn load(c: &mut Criterion) {
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
    // A multi-threaded runtime, as the host's: the next spare is made on another worker
    // while the caller goes on.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let bytes = std::fs::read(guests::JSON_TRANSFORM).unwrap();
    let policy = Policy::default();
    let cache_dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("instantiate + call describe()");

    // What the host does: the call takes the plugin's spare instance (pooled, from one
    // InstancePre, in a fresh Store), made in the background since the previous call.
    let pooled = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache_dir.path())).unwrap();
    let plugin = rt.block_on(pooled.load(&bytes, "json-transform", &policy)).unwrap();
    let env = CallEnv::from_policy(&policy, "json-transform");
    let config = r#"{"kind":"json-transform","input":1}"#;
    group.bench_function("host path: spare instance ready (plan call)", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(spare_ready(&plugin));
                let started = Instant::now();
                rt.block_on(plugin.plan(&env, config, "{}")).unwrap().unwrap();
                spent += started.elapsed();
            }
            spent
        })
    });
    print_cpu_per_call(&rt, &plugin, &env, config);

    // The host's path before the spare: the same pooled InstancePre, instantiated inside the call.
    let component = Component::new(&pooled.engine().engine, &bytes).unwrap();
    let mut linker = Linker::<HostState>::new(&pooled.engine().engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    Tool::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s).unwrap();
    let pre = ToolPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    let caps = std::sync::Arc::new(Capabilities::none("json-transform"));
    // The generated bindings take `&String`.
    let (config_arg, context) = (config.to_string(), "{}".to_string());
    group.bench_function("pooled InstancePre, instantiated in the call (plan call)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut store = wasmtime::Store::new(&pooled.engine().engine, HostState::new(caps.clone(), &Limits::BUILT_IN));
                store.set_epoch_deadline(u64::MAX / 2);
                let tool = pre.instantiate_async(&mut store).await.unwrap();
                tool.noetl_plugin_handler().call_plan(&mut store, &config_arg, &context).await.unwrap().unwrap()
            })
        })
    });

    // Baseline: on-demand allocation, linking and instantiating from scratch each call.
    let plain = HostEngine::on_demand().unwrap();
    let component = Component::new(&plain.engine, &bytes).unwrap();
    let mut linker = Linker::<HostState>::new(&plain.engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    Tool::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s).unwrap();
    group.bench_function("on-demand + Linker::instantiate (plan call)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut store = wasmtime::Store::new(&plain.engine, HostState::new(caps.clone(), &Limits::BUILT_IN));
                store.set_epoch_deadline(u64::MAX / 2);
                let tool = Tool::instantiate_async(&mut store, &component, &linker).await.unwrap();
                tool.noetl_plugin_handler().call_plan(&mut store, &config_arg, &context).await.unwrap().unwrap()
            })
        })
    });
    group.finish();
}

/// Waits (sleeping, so the runtime makes the spare meanwhile) until the plugin's spare is ready.
async fn spare_ready(plugin: &LoadedPlugin) {
    while !plugin.spare_ready() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// CPU time per call on the host's path, everything the process does for it included: the
/// call, making the next spare and dropping the used store (on its own thread).
fn print_cpu_per_call(rt: &tokio::runtime::Runtime, plugin: &LoadedPlugin, env: &CallEnv, config: &str) {
    const CALLS: u32 = 2000;
    rt.block_on(spare_ready(plugin));
    let (cpu, served) = (noetl_tests::process_cpu(), plugin.spare_served());
    for _ in 0..CALLS {
        rt.block_on(plugin.plan(env, config, "{}")).unwrap().unwrap();
        rt.block_on(spare_ready(plugin));
    }
    // Let the dropping thread finish the last stores before reading the clock.
    std::thread::sleep(Duration::from_millis(50));
    let per_call = noetl_tests::process_cpu().saturating_sub(cpu) / CALLS;
    eprintln!(
        "host path, CPU per call (background work included): {:.1} µs over {CALLS} calls, {} on a spare",
        per_call.as_secs_f64() * 1e6,
        plugin.spare_served() - served
    );
}

criterion_group!(benches, load, instantiate_and_call);
criterion_main!(benches);
