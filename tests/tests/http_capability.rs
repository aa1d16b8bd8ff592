//! The `http` capability end to end: the real `hostile` component sends requests through
//! `noetl_plugin_sdk::capability::http`; the host checks the `http.hosts` grant and sends
//! them with the fetcher's client to a server on 127.0.0.1.

#[path = "fetch_support/http_server.rs"]
mod http_server;

use noetl_host::bindings::types::{CapabilityError, PlanResult, ToolError};
use noetl_host::cache::ArtifactCache;
use noetl_host::engine::HostEngine;
use noetl_host::execute::call_env;
use noetl_host::fetch::{FetchOptions, HostFetcher};
use noetl_host::plugin::{CallEnv, LoadedPlugin, PluginRuntime};
use noetl_host::policy::Policy;
use noetl_tests::guests;
use serde_json::{Value, json};

/// The plugin may send requests to 127.0.0.1 only, and take at most 1 MiB of response.
const POLICY: &str = "plugins:\n  hostile:\n    http: {hosts: [127.0.0.1]}\n    limits: {max_response_mib: 1}\n";
const CANARY: &str = "canary-http-4d1e";

struct Fixture {
    plugin: LoadedPlugin,
    env: CallEnv,
    port: u16,
    _runtime: PluginRuntime,
    _cache: tempfile::TempDir,
}

async fn fixture(policy: &str) -> Fixture {
    let port = http_server::start().await;
    let cache = tempfile::tempdir().unwrap();
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache.path())).unwrap();
    let policy = Policy::parse(policy).unwrap();
    let plugin = runtime.load(&std::fs::read(guests::HOSTILE).unwrap(), "hostile.wasm", &policy).await.unwrap();
    // Wired the way the executor wires every call.
    let fetcher = HostFetcher::new(FetchOptions::with_environment(Vec::<(String, String)>::new()));
    let env = call_env(&policy, &plugin, None, &Default::default(), Some(&fetcher));
    env.caps.redactor.remember(CANARY);
    Fixture { plugin, env, port, _runtime: runtime, _cache: cache }
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn send(&self, request: Value) -> Result<Value, ToolError> {
        let mut config = json!({"kind": "hostile", "behavior": "http", "method": "GET"});
        config.as_object_mut().unwrap().extend(request.as_object().unwrap().clone());
        match self.plugin.plan(&self.env, &config.to_string(), "{}").await.expect("no plugin fault")? {
            PlanResult::Done(json) => Ok(serde_json::from_str::<Value>(&json).unwrap()["data"].take()),
            other => panic!("unexpected plan result {other:?}"),
        }
    }
}

fn capability_error(result: Result<Value, ToolError>) -> CapabilityError {
    match result {
        Err(ToolError::Capability(error)) => error,
        other => panic!("expected a capability error, got {other:?}"),
    }
}

#[tokio::test]
async fn get_returns_status_headers_and_body() {
    let f = fixture(POLICY).await;
    let response = f.send(json!({"url": f.url("/ok")})).await.unwrap();
    assert_eq!(response["status"], 200);
    assert_eq!(response["body"], http_server::SCRIPT);
    assert_eq!(response["final_url"], f.url("/ok"));
    let length = response["headers"].as_array().unwrap().iter().find(|h| h[0] == "content-length").unwrap();
    assert_eq!(length[1], http_server::SCRIPT.len().to_string());
}

#[tokio::test]
async fn post_sends_body_and_headers() {
    let f = fixture(POLICY).await;
    let request = json!({"method": "post", "url": f.url("/echo"), "headers": {"content-type": "application/json", "x-trace": "t-1"}, "body": "{\"a\":1}"});
    let response = f.send(request).await.unwrap();
    assert_eq!(response["status"], 200);
    let seen: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body"], "{\"a\":1}");
    assert_eq!(seen["headers"]["x-trace"], "t-1");
    assert_eq!(seen["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn redirects_follow_http_rules_and_can_be_left_alone() {
    let f = fixture(POLICY).await;
    // 303 after a POST: the next hop is a GET without the body.
    let response = f.send(json!({"method": "POST", "url": f.url("/see-other"), "body": "payload"})).await.unwrap();
    let seen: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!((seen["method"].as_str(), seen["body"].as_str()), (Some("GET"), Some("")));
    assert_eq!(response["final_url"], f.url("/echo"));
    // 307 keeps method and body.
    let response = f.send(json!({"method": "PUT", "url": f.url("/temporary"), "body": "payload"})).await.unwrap();
    let seen: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!((seen["method"].as_str(), seen["body"].as_str()), (Some("PUT"), Some("payload")));
    // Not following: the redirect itself is the response.
    let response = f.send(json!({"url": f.url("/see-other"), "follow_redirects": false})).await.unwrap();
    assert_eq!(response["status"], 303);
    assert_eq!(response["final_url"], f.url("/see-other"));
}

#[tokio::test]
async fn error_statuses_are_responses_not_errors() {
    let f = fixture(POLICY).await;
    for (path, status, body) in [("/missing", 404, "<html>a friendly not-found page</html>"), ("/error", 500, "<html>internal error page</html>"), ("/teapot", 418, "short and stout")] {
        let response = f.send(json!({"url": f.url(path)})).await.unwrap();
        assert_eq!(response["status"], status, "{path}");
        assert_eq!(response["body"], body, "{path}");
    }
}

#[tokio::test]
async fn hosts_outside_the_grant_are_denied_naming_the_policy_key() {
    let f = fixture(POLICY).await;
    // `localhost` is the same machine but not the granted host name.
    let url = format!("http://localhost:{}/ok", f.port);
    match capability_error(f.send(json!({"url": url})).await) {
        CapabilityError::Denied(message) => {
            assert!(message.contains("`localhost`") && message.contains("plugins.hostile.http.hosts"), "{message}")
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    // A `fetch` grant does not grant `http`.
    let fetch_only = fixture("plugins:\n  hostile:\n    fetch: {hosts: [127.0.0.1]}\n").await;
    match capability_error(fetch_only.send(json!({"url": fetch_only.url("/ok")})).await) {
        CapabilityError::Denied(message) => assert!(message.contains("plugins.hostile.http.hosts"), "{message}"),
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_out_of_the_grant_is_refused_naming_host_and_key() {
    let f = fixture(POLICY).await;
    match capability_error(f.send(json!({"url": f.url("/to-localhost")})).await) {
        CapabilityError::Denied(message) => assert!(
            message.contains("host `localhost` is not granted") && message.contains("plugins.hostile.http.hosts"),
            "{message}"
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn bodies_over_the_request_or_policy_cap_are_too_large() {
    let f = fixture(POLICY).await;
    match capability_error(f.send(json!({"url": f.url("/big"), "max_bytes": 1000})).await) {
        CapabilityError::TooLarge(message) => assert!(message.contains("2048 bytes") && message.contains("limit of 1000 bytes"), "{message}"),
        other => panic!("expected too-large, got {other:?}"),
    }
    // The request asks for more than the policy allows (1 MiB): the policy wins.
    let over = format!("/bytes/{}", (1 << 20) + 1);
    match capability_error(f.send(json!({"url": f.url(&over), "max_bytes": 1u64 << 30})).await) {
        CapabilityError::TooLarge(message) => {
            assert!(message.contains("limit of 1048576 bytes") && message.contains("plugins.hostile.limits.max_response_mib"), "{message}")
        }
        other => panic!("expected too-large, got {other:?}"),
    }
    // Exactly at the limit is fine.
    let exact = f.send(json!({"url": f.url("/bytes/1000"), "max_bytes": 1000})).await.unwrap();
    assert_eq!(exact["body"].as_str().unwrap().len(), 1000);
}

#[tokio::test]
async fn bad_requests_are_refused_without_echoing_header_values_or_secrets() {
    let f = fixture(POLICY).await;
    match capability_error(f.send(json!({"method": "BREW", "url": f.url("/ok")})).await) {
        CapabilityError::Failed(message) => assert!(message.contains("method `BREW` is not supported"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    match capability_error(f.send(json!({"url": f.url("/ok"), "headers": {"authorization": format!("Bearer {CANARY}\n")}})).await) {
        CapabilityError::Failed(message) => {
            assert!(message.contains("header `authorization`") && !message.contains(CANARY), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A secret value the host knows is redacted from errors, wherever it appears.
    let url = format!("http://localhost:{}/{CANARY}", f.port);
    match capability_error(f.send(json!({"url": url})).await) {
        CapabilityError::Denied(message) => assert!(!message.contains(CANARY) && message.contains("localhost"), "{message}"),
        other => panic!("expected a denial, got {other:?}"),
    }
    match capability_error(f.send(json!({"url": "ftp://127.0.0.1/x"})).await) {
        CapabilityError::Failed(message) => assert!(message.contains("unsupported URL scheme `ftp`"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
