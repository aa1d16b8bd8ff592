//! The `fetch` capability end to end: the real `hostile` component calls `fetch` with a
//! URL from its config; the host checks the grant, `HostFetcher` fetches from a server on
//! 127.0.0.1, and the guest gets the body and its sha256, or the error.

#[path = "fetch_support/http_server.rs"]
mod http_server;

use std::sync::Arc;

use noetl_host::bindings::types::{CapabilityError, PlanResult, ToolError};
use noetl_host::cache::ArtifactCache;
use noetl_host::engine::HostEngine;
use noetl_host::fetch::{FetchOptions, HostFetcher};
use noetl_host::plugin::{CallEnv, LoadedPlugin, PluginRuntime};
use noetl_host::policy::Policy;
use noetl_tests::guests;

/// The plugin may fetch from 127.0.0.1 only.
const POLICY: &str = "plugins:\n  hostile:\n    fetch: {hosts: [127.0.0.1]}\n";

struct Fixture {
    plugin: LoadedPlugin,
    env: CallEnv,
    _runtime: PluginRuntime,
    _cache: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let cache = tempfile::tempdir().unwrap();
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache.path())).unwrap();
    let policy = Policy::parse(POLICY).unwrap();
    let plugin = runtime.load(&std::fs::read(guests::HOSTILE).unwrap(), "hostile.wasm", &policy).await.unwrap();
    // The way a host wires it: the shared fetcher, scoped to the plugin's grant so that
    // redirects are checked against it too.
    let mut env = CallEnv::from_policy(&policy, &plugin);
    let caps = Arc::make_mut(&mut env.caps);
    let fetcher = HostFetcher::new(FetchOptions::with_environment(Vec::<(String, String)>::new()));
    caps.fetcher = Some(Arc::new(fetcher.with_redirect_grant(caps.grant.fetch.clone().unwrap())));
    Fixture { plugin, env, _runtime: runtime, _cache: cache }
}

impl Fixture {
    async fn fetch(&self, url: &str) -> Result<serde_json::Value, ToolError> {
        let config = serde_json::json!({"kind": "hostile", "behavior": "fetch-url", "url": url}).to_string();
        match self.plugin.plan(&self.env, &config, "{}").await.expect("no plugin fault")? {
            PlanResult::Done(json) => Ok(serde_json::from_str(&json).unwrap()),
            other => panic!("unexpected plan result {other:?}"),
        }
    }
}

fn capability_error(result: Result<serde_json::Value, ToolError>) -> CapabilityError {
    match result {
        Err(ToolError::Capability(error)) => error,
        other => panic!("expected a capability error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_granted_url_reaches_the_plugin_with_its_sha256() {
    let port = http_server::start().await;
    let f = fixture().await;
    let done = f.fetch(&format!("http://127.0.0.1:{port}/ok")).await.unwrap();
    assert_eq!(done["data"]["body"], http_server::SCRIPT);
    // sha256 of SCRIPT, computed independently (`printf '%s\n' "print('hello from the test server')" | sha256sum`).
    assert_eq!(done["data"]["sha256"], "2af3813a4352f0e9322f336b019c179db2ad75302129fa67f12cef91784314ba");
}

#[tokio::test]
async fn fetch_errors_reach_the_plugin_by_kind() {
    let port = http_server::start().await;
    let f = fixture().await;
    match capability_error(f.fetch(&format!("http://127.0.0.1:{port}/missing")).await) {
        CapabilityError::NotFound(message) => assert!(message.contains("HTTP 404") && message.contains("/missing"), "{message}"),
        other => panic!("expected not-found, got {other:?}"),
    }
    // Not granted: `localhost` is the same machine but not the granted host name.
    match capability_error(f.fetch(&format!("http://localhost:{port}/ok")).await) {
        CapabilityError::Denied(message) => assert!(message.contains("`localhost`") && message.contains("plugins.hostile.fetch.hosts"), "{message}"),
        other => panic!("expected a denial, got {other:?}"),
    }
    // Granted first host, redirect to a host the grant does not cover.
    match capability_error(f.fetch(&format!("http://127.0.0.1:{port}/to-localhost")).await) {
        CapabilityError::Denied(message) => assert!(message.contains("host `localhost` is not granted"), "{message}"),
        other => panic!("expected a denial, got {other:?}"),
    }
    match capability_error(f.fetch("ftp://127.0.0.1/x").await) {
        CapabilityError::Failed(message) => assert!(message.contains("unsupported URL scheme `ftp`"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
