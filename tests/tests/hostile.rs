//! The hostile-plugin suite: real guest components that misbehave on purpose. Each call
//! must fail within its bound with a specific, readable error, and the same host instance
//! must then serve a normal call correctly.

use std::sync::Arc;

use noetl_host::bindings::types::{CapabilityError, PlanResult, ToolError};
use noetl_host::cache::ArtifactCache;
use noetl_host::engine::HostEngine;
use noetl_host::plugin::{CallEnv, LoadedPlugin, PluginError, PluginRuntime};
use noetl_host::policy::Policy;
use noetl_tests::guests;

const POLICY: &str = "
plugins:
  hostile:
    limits: {cpu_ms: 10000, memory_mib: 64, max_response_mib: 1}
";

struct Fixture {
    runtime: PluginRuntime,
    plugin: LoadedPlugin,
    policy: Policy,
    _cache: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let cache = tempfile::tempdir().unwrap();
    let runtime =
        PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache.path())).unwrap();
    let policy = Policy::parse(POLICY).unwrap();
    let bytes = std::fs::read(guests::HOSTILE).unwrap();
    let plugin = runtime.load(&bytes, "hostile.wasm", &policy).await.unwrap();
    Fixture {
        runtime,
        plugin,
        policy,
        _cache: cache,
    }
}

impl Fixture {
    async fn plan(
        &self,
        policy: &Policy,
        behavior: &str,
    ) -> Result<Result<PlanResult, ToolError>, PluginError> {
        let env = CallEnv::from_policy(policy, &self.plugin);
        let config = serde_json::json!({"kind": "hostile", "behavior": behavior}).to_string();
        self.plugin.plan(&env, &config, "{}").await
    }

    /// The normal call that must work after every hostile one.
    async fn assert_still_serves(&self) {
        match self.plan(&self.policy, "ok").await {
            Ok(Ok(PlanResult::Done(json))) => {
                assert!(json.contains("\"echo\""), "unexpected response {json}")
            }
            other => panic!("the host no longer serves normal calls: {other:?}"),
        }
    }

    /// The error of loading `bytes` as `name`, which must be refused.
    async fn load_error(&self, bytes: &[u8], name: &str, policy: &Policy) -> String {
        self.runtime
            .load(bytes, name, policy)
            .await
            .err()
            .expect("must be refused")
            .to_string()
    }

    async fn fault(&self, policy: &Policy, behavior: &str) -> String {
        match self.plan(policy, behavior).await {
            Err(error @ PluginError::Fault { .. }) => error.to_string(),
            other => panic!("behavior {behavior}: expected a plugin fault, got {other:?}"),
        }
    }
}

/// A short CPU budget, for the infinite loop (other tests get a generous one, so that a
/// loaded machine cannot turn their memory or stack failure into a CPU-budget failure).
fn tight_cpu() -> Policy {
    Policy::parse("plugins:\n  hostile:\n    limits: {cpu_ms: 300, memory_mib: 64}\n").unwrap()
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[tokio::test]
async fn infinite_loop_is_stopped_by_the_cpu_budget() {
    let f = fixture().await;
    let error = f.fault(&tight_cpu(), "loop").await;
    assert_contains(
        &error,
        &[
            "plugin `hostile` failed in `plan`",
            "CPU budget of 300 ms",
            "plugins.hostile.limits.cpu_ms",
        ],
    );
    f.assert_still_serves().await;
}

#[tokio::test]
async fn unbounded_allocation_is_stopped_by_the_memory_cap() {
    let f = fixture().await;
    let error = f.fault(&f.policy, "allocate").await;
    assert_contains(
        &error,
        &[
            "over its limit of 64 MiB",
            "plugins.hostile.limits.memory_mib",
        ],
    );
    f.assert_still_serves().await;
}

#[tokio::test]
async fn runaway_recursion_is_a_stack_overflow_error() {
    let f = fixture().await;
    let error = f.fault(&f.policy, "recurse").await;
    assert_contains(&error, &["stack overflowed", "unbounded recursion"]);
    f.assert_still_serves().await;
}

#[tokio::test]
async fn panic_message_reaches_the_error() {
    let f = fixture().await;
    let error = f.fault(&f.policy, "panic").await;
    assert_contains(
        &error,
        &[
            "it panicked: hostile plugin panics on purpose: canary-panic-message",
            "src/lib.rs",
        ],
    );
    f.assert_still_serves().await;
}

#[tokio::test]
async fn oversized_output_is_refused() {
    let f = fixture().await;
    // Enough memory to build 100 MB, so the response-size limit is what stops it.
    let roomy = Policy::parse("plugins:\n  hostile:\n    limits: {cpu_ms: 20000, memory_mib: 1024, max_response_mib: 1}\n").unwrap();
    let error = f.fault(&roomy, "big-output").await;
    assert_contains(
        &error,
        &["more than the limit of 1048576 bytes", "max_response_mib"],
    );
    f.assert_still_serves().await;
}

#[tokio::test]
async fn ungranted_capabilities_are_denied_by_name() {
    let f = fixture().await;
    match f.plan(&f.policy, "kubernetes").await {
        Ok(Err(ToolError::Capability(CapabilityError::Denied(message)))) => assert_contains(
            &message,
            &[
                "plugin `hostile` may not use kubernetes",
                "`create Secret` in namespace `kube-system`",
                "plugins.hostile.kubernetes",
            ],
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
    match f.plan(&f.policy, "fetch").await {
        Ok(Err(ToolError::Capability(CapabilityError::Denied(message)))) => assert_contains(
            &message,
            &[
                "may not use fetch",
                "`example.com`",
                "plugins.hostile.fetch.hosts",
            ],
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
    // Granted by policy but no cluster behind it: a clear "not configured", not a hang.
    let granted = Policy::parse(
        "plugins:\n  hostile:\n    kubernetes: {namespaces: [kube-system], kinds: [Secret]}\n",
    )
    .unwrap();
    match f.plan(&granted, "kubernetes").await {
        Ok(Err(ToolError::Capability(CapabilityError::NotConfigured(message)))) => {
            assert_contains(&message, &["no Kubernetes cluster configured"])
        }
        other => panic!("expected not-configured, got {other:?}"),
    }
    f.assert_still_serves().await;
}

#[tokio::test]
async fn host_files_are_invisible_to_plugins() {
    let f = fixture().await;
    match f.plan(&f.policy, "host-file").await {
        Ok(Err(ToolError::Failed(message))) => {
            assert_contains(&message, &["cannot open /etc/passwd"]);
            assert!(!message.contains("root:"), "leaked file content: {message}");
        }
        other => panic!("expected the open to fail inside the sandbox, got {other:?}"),
    }
    f.assert_still_serves().await;
}

#[tokio::test]
async fn a_plugin_for_another_contract_version_is_refused_naming_both() {
    let f = fixture().await;
    let bytes = std::fs::read(guests::FUTURE_CONTRACT).unwrap();
    let error = f.load_error(&bytes, "future.wasm", &f.policy).await;
    assert_contains(
        &error,
        &[
            "future.wasm was built for contract noetl:plugin@1.0.0",
            "this host supports noetl:plugin@0.1.x and noetl:plugin@0.2.x",
        ],
    );
    f.assert_still_serves().await;
}

#[tokio::test]
async fn truncated_and_garbage_components_are_refused() {
    let f = fixture().await;
    let bytes = std::fs::read(guests::HOSTILE).unwrap();
    for (name, broken) in [
        ("truncated.wasm", bytes[..bytes.len() / 2].to_vec()),
        ("garbage.wasm", b"\0asm not really".to_vec()),
    ] {
        let error = f.load_error(&broken, name, &f.policy).await;
        assert_contains(&error, &[name, "is not a valid WebAssembly component"]);
    }
    f.assert_still_serves().await;
}

#[tokio::test]
async fn concurrent_hostile_and_normal_calls_do_not_interfere() {
    let f = Arc::new(fixture().await);
    let looping = {
        let f = f.clone();
        tokio::spawn(async move { f.fault(&tight_cpu(), "loop").await })
    };
    for _ in 0..5 {
        f.assert_still_serves().await;
    }
    assert_contains(&looping.await.unwrap(), &["CPU budget"]);
}

impl Fixture {
    /// `data` of a call that must succeed.
    async fn data(&self, behavior: &str) -> serde_json::Value {
        match self.plan(&self.policy, behavior).await {
            Ok(Ok(PlanResult::Done(json))) => {
                serde_json::from_str::<serde_json::Value>(&json).unwrap()["data"].take()
            }
            other => panic!("behavior {behavior}: expected a response, got {other:?}"),
        }
    }
}

/// A fresh `Store` per call, on a reused pooled slot, must not show one call's memory to
/// the next (how a slot is reset between calls: see engine.rs).
#[tokio::test]
async fn a_call_never_sees_memory_left_by_an_earlier_call() {
    let f = fixture().await;
    // The scanner works: it finds a canary planted in the same call.
    assert_eq!(f.data("plant-and-scan").await["found"], true);
    for _ in 0..3 {
        assert_eq!(f.data("plant").await["planted"], 24);
        assert_eq!(
            f.data("scan").await["found"],
            false,
            "a call found the canary an earlier call left in memory"
        );
    }
}

/// The hostile guest exports `init` (the SDK's `preinit` feature), so the host snapshots
/// it when it loads it: every call starts from what `init` built, and what a call writes
/// over that state (here the canary) never reaches the next call.
#[tokio::test]
async fn a_preinitialised_guest_starts_every_call_from_its_snapshot() {
    let f = fixture().await;
    let built_by_init = "built-by-init;".repeat(256);
    assert_eq!(f.data("init-state").await, built_by_init.as_str(), "init did not run before the calls");
    for _ in 0..3 {
        assert_eq!(f.data("clobber-init-state").await["clobbered"], built_by_init.len());
        assert_eq!(f.data("init-state").await, built_by_init.as_str(), "a call saw an earlier call's writes");
        assert_eq!(f.data("scan").await["found"], false, "the canary written over the snapshot's state survived");
    }
}

/// A WASI clock wait uses no CPU, so only the wall-clock limit can stop it; the error must
/// name that limit, not the CPU budget (here smaller than the wall-clock limit).
#[tokio::test]
async fn a_sleeping_plugin_is_stopped_at_its_wall_clock_limit() {
    let f = fixture().await;
    let policy =
        Policy::parse("plugins:\n  hostile:\n    limits: {cpu_ms: 300, wall_ms: 800}\n").unwrap();
    let error = f.fault(&policy, "sleep").await;
    assert_contains(
        &error,
        &[
            "plugin `hostile` failed in `plan`",
            "wall-clock limit of 800 ms",
            "of its 300 ms CPU budget",
            "plugins.hostile.limits.wall_ms",
        ],
    );
    assert!(
        !error.contains("used more than its CPU budget"),
        "a sleep must not be blamed on CPU: {error}"
    );
    f.assert_still_serves().await;
}

/// `describe` runs on every load; a file whose `describe` hit a limit is refused from then
/// on without running it, until the file or the limits change.
#[tokio::test]
async fn a_plugin_whose_describe_hits_a_limit_is_remembered_as_rejected() {
    let f = fixture().await;
    let bytes = std::fs::read(guests::SLOW_DESCRIBE).unwrap();
    let tight = Policy::parse("defaults:\n  limits: {wall_ms: 300}\n").unwrap();
    let first = f.load_error(&bytes, "slow.wasm", &tight).await;
    assert_contains(
        &first,
        &[
            "plugin `slow.wasm` failed in `describe`",
            "wall-clock limit of 300 ms",
            "defaults.limits.wall_ms",
        ],
    );
    assert!(
        !first.contains("remembered"),
        "the first load runs the plugin: {first}"
    );

    let again = f.load_error(&bytes, "slow.wasm", &tight).await;
    assert_contains(
        &again,
        &[
            "wall-clock limit of 300 ms",
            "remembered from an earlier load",
            "rejected",
        ],
    );

    // Other limits: the verdict does not apply; the plugin is run (and stopped) again.
    let other = Policy::parse("defaults:\n  limits: {wall_ms: 400}\n").unwrap();
    let fresh = f.load_error(&bytes, "slow.wasm", &other).await;
    assert_contains(&fresh, &["wall-clock limit of 400 ms"]);
    assert!(!fresh.contains("remembered"), "{fresh}");
    f.assert_still_serves().await;
}

/// Guests are linked with an initial memory that covers a typical call (plugins/guest-build),
/// and that initial memory counts against the plugin's memory limit: a limit below it refuses
/// the instance before any guest code runs, with the memory error naming the policy key.
#[tokio::test]
async fn the_initial_memory_counts_against_the_memory_limit() {
    let f = fixture().await;
    let initial = f
        .data("memory-size")
        .await
        .as_u64()
        .expect("a size in bytes");
    assert_eq!(
        initial,
        noetl_guest_build::INITIAL_MEMORY_BYTES,
        "the guest's memory as its call starts"
    );
    let below = (initial >> 20) - 1;
    let policy = Policy::parse(&format!(
        "plugins:\n  hostile:\n    limits: {{memory_mib: {below}}}\n"
    ))
    .unwrap();
    let error = f.fault(&policy, "ok").await;
    assert_contains(
        &error,
        &[
            &format!("over its limit of {below} MiB"),
            "plugins.hostile.limits.memory_mib",
        ],
    );
    f.assert_still_serves().await;
}

/// Calls back to back must not run the pooling allocator out of slots: every call's store
/// gives its slots back before the call returns.
#[tokio::test]
async fn thousands_of_calls_back_to_back_never_exhaust_the_instance_pool() {
    let f = fixture().await;
    for call in 0..3000 {
        match f.plan(&f.policy, "ok").await {
            Ok(Ok(PlanResult::Done(_))) => {}
            other => panic!("call {call} failed: {other:?}"),
        }
    }
}
