//! Sandboxed template evaluation through the real built-in template component, the way
//! the host renders steps: hostile templates stop within their bounds with a clear error
//! and the same host then renders normally; secrets are strict and redacted.

use std::sync::Arc;

use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::playbook::StepRenderer;
use noetl_host::plugin::{CallEnv, PluginRuntime, PluginSet};
use noetl_host::policy::Policy;
use noetl_host::redact::Redactor;
use noetl_host::secrets::{EnvironmentProvider, SecretResolver};
use serde_json::{Value, json};

const CANARY: &str = "canary-7f3a-not-for-logs";

struct Fixture {
    renderer: StepRenderer,
    redactor: Redactor,
    _cache: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let cache = tempfile::tempdir().unwrap();
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache.path())).unwrap();
    let policy = Policy::default_policy();
    let plugins = PluginSet::discover(&runtime, &policy, &[], &[]).await.unwrap();
    let redactor = Redactor::new();
    let provider = EnvironmentProvider::from_vars([("NOETL_SECRET_EXTERNAL_API_KEY".to_string(), CANARY.to_string())]);
    let secrets = Arc::new(SecretResolver::new(redactor.clone(), vec![Box::new(provider)]));
    let plugin = plugins.template_engine().unwrap().clone();
    let mut env = CallEnv::from_policy(&policy, &plugin);
    env.caps = Arc::new(Capabilities { secrets: Some(secrets), redactor: redactor.clone(), ..(*env.caps).clone() });
    Fixture { renderer: StepRenderer { plugin, env, strict: false }, redactor, _cache: cache }
}

impl Fixture {
    async fn render(&self, tool: Value) -> anyhow::Result<Value> {
        let context = json!({"workload": {"port": 8080, "name": "ada"}, "earlier": {"result": {"count": 5}}});
        self.renderer.render_tool("s", &tool, false, true, context.as_object().unwrap()).await
    }

    async fn assert_still_renders(&self) {
        let rendered = self.render(json!({"kind": "script", "args": {"port": "{{ workload.port }}"}})).await.unwrap();
        assert_eq!(rendered["args"]["port"], 8080, "a lone expression keeps its type");
    }
}

#[tokio::test]
async fn hostile_templates_stop_with_clear_errors_and_the_host_keeps_rendering() {
    let f = fixture().await;
    let cases = [
        ("{% for i in range(999999999) %}x{% endfor %}", "range has too many elements"),
        ("{{ range(10**9) | length }}", "range has too many elements"),
        ("{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}", "fuel"),
        ("{{ 'x' * 1000000000 }}", "fuel"),
        ("{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}", "recursion limit"),
        (
            "{% macro b(n) %}{% if n < 6 %}{% for i in range(10) %}{{ b(n + 1) }}{% endfor %}{% endif %}{% endmacro %}{{ b(0) }}",
            "fuel",
        ),
    ];
    for (template, expected) in cases {
        let error = format!("{:#}", f.render(json!({"kind": "script", "args": {"x": template}})).await.unwrap_err());
        assert!(error.contains("tool.args.x") && error.contains(expected), "{template}: {error}");
        f.assert_still_renders().await;
    }
}

#[tokio::test]
async fn secrets_are_strict_even_in_lenient_mode_and_never_leak() {
    let f = fixture().await;
    let rendered = f.render(json!({"kind": "script", "job": {"env": {"API_KEY": "{{ secrets.EXTERNAL_API_KEY }}"}}})).await.unwrap();
    assert_eq!(rendered["job"]["env"]["API_KEY"], CANARY, "the pod needs the real value");
    assert_eq!(f.redactor.redact_json(rendered.clone())["job"]["env"]["API_KEY"], "<redacted>");

    for template in ["{{ secrets.MISSING }}", "{{ secrets.MISSING | default('') }}", "{% if secrets.MISSING is defined %}x{% endif %}"] {
        let error = format!("{:#}", f.render(json!({"kind": "script", "job": {"env": {"K": template}}})).await.unwrap_err());
        assert!(error.contains("secret `MISSING` was not found") && error.contains("NOETL_SECRET_MISSING"), "{template}: {error}");
        assert!(!error.contains(CANARY));
    }
}

#[tokio::test]
async fn script_content_is_not_rendered_unless_the_step_opts_in() {
    let f = fixture().await;
    let tool = json!({"kind": "script", "script": {"type": "inline", "content": "print('{{ not a template }}')"}, "args": {"n": "{{ earlier.result.count }}"}});
    let rendered = f.render(tool).await.unwrap();
    assert_eq!(rendered["script"]["content"], "print('{{ not a template }}')");
    assert_eq!(rendered["args"]["n"], 5);
}

/// The host asks for typed values per tool: 0.2.x tools get a lone `{{ expr }}` as the
/// expression's JSON value, 0.1.x tools (`typed_values = false`) keep getting strings.
#[tokio::test]
async fn the_component_renders_typed_values_only_when_asked() {
    let f = fixture().await;
    let tool = json!({"kind": "x", "args": {"port": "{{ workload.port }}", "all": "{{ workload }}", "text": "port {{ workload.port }}", "code": "007"}});
    let context = json!({"workload": {"port": 8080, "name": "ada"}});
    let typed = f.renderer.render_tool("s", &tool, false, true, context.as_object().unwrap()).await.unwrap();
    assert_eq!(typed["args"], json!({"port": 8080, "all": {"port": 8080, "name": "ada"}, "text": "port 8080", "code": "007"}));
    let strings = f.renderer.render_tool("s", &tool, false, false, context.as_object().unwrap()).await.unwrap();
    assert_eq!(strings["args"]["port"], "8080");
    assert_eq!(strings["args"]["code"], "007");
    assert!(strings["args"]["all"].is_string(), "{strings}");
}
