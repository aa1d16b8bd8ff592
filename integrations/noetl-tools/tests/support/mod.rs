// Each test binary uses a part of these helpers.
#![allow(dead_code)]

//! Upstream's worker, as far as a tool sees it: `ToolConfig` and `ExecutionContext` built
//! the way `noetl/worker` builds them (src/executor/command.rs), and its default registry
//! with our tools registered over it.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use noetl_host::backend::local::LocalBackend;
use noetl_host::embed;
use noetl_host::policy::Policy;
use noetl_host_tools::WorkerHost;
use noetl_tools::{ExecutionContext, ToolConfig, ToolRegistry};
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

/// The spec's example `name` (examples/playbooks): its only step's name and `tool` mapping.
pub fn example(name: &str) -> (String, Value) {
    let path = noetl_tests::repo_root()
        .join("examples/playbooks")
        .join(name);
    let playbook: Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let step = &playbook["workflow"][0];
    (
        step["step"].as_str().unwrap().to_string(),
        step["tool"].clone(),
    )
}

/// The worker's `tool_config_value`: `kind` from the command when the config has none,
/// the step input as `args` when the config has none, then serde into `ToolConfig`.
pub fn tool_config(tool: &Value, step_input: Option<&Value>) -> ToolConfig {
    let mut config = tool.clone();
    let map = config.as_object_mut().expect("a tool mapping");
    if !map.contains_key("args")
        && let Some(args) = step_input
    {
        map.insert("args".into(), args.clone());
    }
    serde_json::from_value(config).expect("upstream's worker deserializes the tool config")
}

/// The worker's context: ids, `render_context` as the variables (with the `ctx` /
/// `workload` shims it rebuilds), and the secrets it resolved.
pub fn context(
    execution_id: i64,
    step: &str,
    variables: Value,
    secrets: &[(&str, &str)],
) -> ExecutionContext {
    let mut ctx = ExecutionContext::new(execution_id, step, "http://127.0.0.1:8082")
        .with_worker_id("worker-test-1")
        .with_command_id(format!("{execution_id}:{step}:1"));
    ctx.variables = serde_json::from_value::<HashMap<String, Value>>(variables).unwrap();
    if !ctx.variables.contains_key("ctx") {
        let flat = json!(ctx.variables);
        ctx.variables.insert("ctx".into(), flat.clone());
        ctx.variables.entry("workload".into()).or_insert(flat);
    }
    for (name, value) in secrets {
        ctx.set_secret(*name, *value);
    }
    ctx
}

/// An execution id no other test run uses (Jobs are found by it).
pub fn execution_id() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (nanos % 1_000_000_000_000) as i64
}

/// `<target>/local-examples-cache`, the dependency cache the tests crate's example runs use.
fn dependency_cache() -> PathBuf {
    noetl_tests::local::shared_cache().join("noetl-host/deps")
}

/// A host on the local backend under `policy` (YAML; empty: the built-in default).
pub async fn local_host(policy: &str) -> Arc<WorkerHost> {
    local_host_with(policy, false).await
}

/// [`local_host`], with `network_without_playbook`: the adapter's calls have no playbook
/// file, so only the embedding worker's own code can give their scripts the network.
pub async fn local_host_with(policy: &str, network_without_playbook: bool) -> Arc<WorkerHost> {
    let policy = if policy.is_empty() {
        Policy::default_policy()
    } else {
        Policy::parse(policy).unwrap()
    };
    let config = noetl_host::backend::local::LocalConfig {
        cache_dir: Some(dependency_cache()),
        network_without_playbook,
        ..embed::local_config(&policy)
    };
    let backend = Arc::new(LocalBackend::new(config).unwrap());
    Arc::new(WorkerHost::from_executor(
        embed::executor_on(policy, backend, None).await.unwrap(),
    ))
}

/// Upstream's default registry with `script` served by `host`.
pub fn registry(host: &Arc<WorkerHost>) -> ToolRegistry {
    let mut registry = noetl_tools::tools::create_default_registry();
    noetl_host_tools::register(&mut registry, host, noetl_host_tools::DEFAULT_KINDS).unwrap();
    registry
}

/// A tracing writer that appends every log line to a shared buffer.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}
