//! Rendering a step's `tool` config: sandboxed template plugin vs the same minijinja code
//! natively (issue 6; goals: sandboxed ≤ 2× native, and ≥ 10× faster than Python Jinja2,
//! which legacy NoETL uses: see template_render_jinja2.py, same trees, same context).
//!
//! Input: each of the six spec examples (examples/playbooks/*.yaml), its step's `tool`
//! object deep-merged with the `overlay` of tests/benches/template_fixture.json, because the
//! examples themselves hold a single template (example 03's `{{ secrets.EXTERNAL_API_KEY }}`).
//! The overlay adds six `{{ workload.x }}`-style templates to every tree (args, a label, an
//! annotation, an env var). `tool.script.content` is skipped, as the host does by default.
//! - sandboxed: `StepRenderer::render_tool` (host/src/playbook/render.rs), i.e.
//!   `LoadedPlugin::render` of the built-in template component with the secrets capability
//!   backed by a `SecretResolver` over `EnvironmentProvider::from_vars`; includes the JSON
//!   text round trip the host does;
//! - sandboxed, not pre-initialised: the same component loaded without the snapshot the
//!   host takes after its `init`, so every call builds the minijinja environment;
//! - native: `noetl_plugin_template::render` on the `serde_json::Value`s, with the secret
//!   from a closure, which is what an in-process renderer would do.
//!
//! Run: `cargo bench -p noetl-tests --bench template_render` (see BENCHMARKS.md).

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::playbook::{Document, StepRenderer};
use noetl_host::plugin::{CallEnv, PluginRuntime};
use noetl_host::policy::Policy;
use noetl_host::redact::Redactor;
use noetl_host::secrets::{EnvironmentProvider, SecretResolver};
use noetl_tests::repo_root;
use serde_json::{Value, json};

const EXAMPLES: &[&str] = &[
    "01-basic-python",
    "02-dependencies",
    "03-env-secrets",
    "04-http-source",
    "05-node",
    "06-resource-limits",
];

struct Fixture {
    context: Value,
    secrets: Value,
    overlay: Value,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(repo_root().join("tests/benches/template_fixture.json")).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    Fixture { context: value["context"].take(), secrets: value["secrets"].take(), overlay: value["overlay"].take() }
}

/// `overlay` merged into `base`: objects key by key, anything else replaced.
fn deep_merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                deep_merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The example's (only) step's `tool`, with `overlay` merged in.
fn templated_tool(example: &str, overlay: &Value) -> Value {
    let path = repo_root().join(format!("examples/playbooks/{example}.yaml"));
    let mut tool = Document::load(&path).unwrap().steps_in_order().next().unwrap().tasks[0].config.clone();
    deep_merge(&mut tool, overlay);
    tool
}

/// `preinit`: load the template component as the host does, from the snapshot taken after
/// its `init` (false: as built, so every call builds the minijinja environment itself).
fn sandboxed_renderer(rt: &tokio::runtime::Runtime, secrets: &Value, cache_dir: &std::path::Path, preinit: bool) -> StepRenderer {
    let policy = Policy::default_policy();
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache_dir)).unwrap();
    let runtime = if preinit { runtime } else { runtime.without_preinit() };
    let plugin = Arc::new(rt.block_on(runtime.load_built_in("template", &policy)).unwrap());
    let vars = secrets
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (EnvironmentProvider::variable(name), value.as_str().unwrap().to_string()));
    let resolver = Arc::new(SecretResolver::new(Redactor::new(), vec![Box::new(EnvironmentProvider::from_vars(vars))]));
    // As host/src/cli/setup.rs `renderer` does: the policy's grant plus the secret resolver.
    let mut env = CallEnv::from_policy(&policy, &plugin);
    env.caps = Arc::new(Capabilities {
        secrets: Some(resolver.clone()),
        redactor: resolver.redactor().clone(),
        ..(*env.caps).clone()
    });
    StepRenderer { plugin, env, strict: false }
}

fn render_natively(tool: &Value, context: &Value, secrets: &Arc<dyn noetl_plugin_template::SecretLookup>) -> Value {
    let options = noetl_plugin_template::RenderOptions {
        skip_paths: vec!["tool.script.content".into()],
        typed_values: true,
        ..Default::default()
    };
    let tree = json!({ "tool": tool });
    let mut rendered = noetl_plugin_template::render(&tree, context, &options, secrets.clone()).unwrap();
    rendered.value["tool"].take()
}

fn render(c: &mut Criterion) {
    noetl_tests::warn_if_bench_knobs_ignored();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let fixture = fixture();
    let cache_dir = tempfile::tempdir().unwrap();
    let renderer = sandboxed_renderer(&rt, &fixture.secrets, cache_dir.path(), true);
    let unsnapshotted = sandboxed_renderer(&rt, &fixture.secrets, cache_dir.path(), false);
    let secret_values = fixture.secrets.clone();
    let native_secrets: Arc<dyn noetl_plugin_template::SecretLookup> = Arc::new(move |name: &str| {
        secret_values[name].as_str().map(str::to_string).ok_or_else(|| format!("no secret {name}"))
    });

    for example in EXAMPLES {
        let tool = templated_tool(example, &fixture.overlay);
        let context = fixture.context.as_object().unwrap();
        // Both sides must produce the same tree (and actually render), or the comparison means nothing.
        let sandboxed = rt.block_on(renderer.render_tool("step", &tool, false, true, context)).unwrap();
        assert_eq!(sandboxed, render_natively(&tool, &fixture.context, &native_secrets), "{example}");
        assert_eq!(sandboxed, rt.block_on(unsnapshotted.render_tool("step", &tool, false, true, context)).unwrap(), "{example}");
        assert_eq!(sandboxed["job"]["labels"]["team"], "analytics", "{example}");

        let mut group = c.benchmark_group(format!("render {example}"));
        group.bench_function("sandboxed", |b| {
            b.iter(|| rt.block_on(renderer.render_tool("step", &tool, false, true, context)).unwrap())
        });
        group.bench_function("sandboxed, not pre-initialised", |b| {
            b.iter(|| rt.block_on(unsnapshotted.render_tool("step", &tool, false, true, context)).unwrap())
        });
        group.bench_function("native", |b| b.iter(|| render_natively(&tool, &fixture.context, &native_secrets)));
        group.finish();
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
