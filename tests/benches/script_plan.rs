//! Script plan in the sandbox vs natively (issue 3; goal: sandbox ≤ 2× native, per plan).
//!
//! Both sides start from the JSON text the host sends (the `tool` config of
//! examples/playbooks/01-basic-python.yaml and the plan context) and end with a job bundle:
//! - sandbox: `LoadedPlugin::plan` of the built-in script component, as the executor calls
//!   it (fresh `Store` from the `InstancePre`, CPU/memory limits, result lifted to host types);
//! - native: the same `noetl_plugin_script::plan` compiled for the host, on an already
//!   parsed config and context, as an in-process tool would be called: the JSON text round
//!   trip is part of what the sandbox costs.
//!
//! Run: `cargo bench -p noetl-tests --bench script_plan` (see BENCHMARKS.md).

use criterion::{Criterion, criterion_group, criterion_main};
use noetl_host::cache::ArtifactCache;
use noetl_host::engine::HostEngine;
use noetl_host::playbook::Document;
use noetl_host::plugin::{CallEnv, PluginRuntime};
use noetl_host::policy::Policy;
use noetl_plugin_script::{NoSources, PlanContext};
use noetl_tests::repo_root;

const CONTEXT: &str = r#"{"execution_id":"bench-0001","step":"run_analysis","name_seed":7}"#;

fn example_config() -> String {
    let playbook = Document::load(&repo_root().join("examples/playbooks/01-basic-python.yaml")).unwrap();
    playbook.steps_in_order().next().unwrap().tasks[0].config.to_string()
}

fn plan(c: &mut Criterion) {
    noetl_tests::warn_if_bench_knobs_ignored();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = example_config();
    let policy = Policy::default_policy();
    let cache_dir = tempfile::tempdir().unwrap();
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache_dir.path())).unwrap();
    let plugin = rt.block_on(runtime.load_built_in("script", &policy)).unwrap();
    let env = CallEnv::from_policy(&policy, &plugin);

    // Both sides must plan the same Job, or the comparison means nothing.
    let sandboxed = rt.block_on(plugin.plan(&env, &config, CONTEXT)).unwrap().unwrap();
    let config_value: serde_json::Value = serde_json::from_str(&config).unwrap();
    let context = PlanContext::from_json(&serde_json::from_str(CONTEXT).unwrap());
    let native = noetl_plugin_script::plan(&config_value, &context, &NoSources).unwrap();
    let noetl_host::bindings::types::PlanResult::RunJob(bundle) = sandboxed else { panic!("expected a job") };
    assert_eq!(bundle.job_name, native.job_name);

    let mut group = c.benchmark_group("script plan (01-basic-python)");
    group.bench_function("sandbox (LoadedPlugin::plan)", |b| {
        b.iter(|| rt.block_on(plugin.plan(&env, &config, CONTEXT)).unwrap().unwrap())
    });
    group.bench_function("native (noetl_plugin_script::plan)", |b| {
        b.iter(|| noetl_plugin_script::plan(&config_value, &context, &NoSources).unwrap())
    });
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
