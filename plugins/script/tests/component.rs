//! The real component (this crate built for wasm32-wasip2) run in wasmtime answers exactly
//! as the native API does: the WIT glue converts without losing anything.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use noetl_plugin_script::PlanContext;
use serde_json::{Value, json};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({ path: "../../wit", world: "tool" });

use exports::noetl::plugin::handler;
use noetl::plugin::types::{CapabilityError, JobOutcome, JobStatus, PlanResult, ToolError};
use noetl::plugin::{fetch, files, http, kubernetes, log, types};

/// Host state with stub capabilities: fetch serves the spec's http example (and refuses
/// everything else as the host's policy would), the cluster is never granted.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for State {}

impl log::Host for State {
    fn log(&mut self, _level: log::Level, _message: String) {}
}

impl kubernetes::Host for State {
    fn get(&mut self, kind: String, _: String, _: String) -> Result<String, CapabilityError> {
        Err(CapabilityError::Denied(format!(
            "kubernetes {kind} not granted"
        )))
    }
    fn list(&mut self, kind: String, _: String, _: String) -> Result<Vec<String>, CapabilityError> {
        Err(CapabilityError::Denied(format!(
            "kubernetes {kind} not granted"
        )))
    }
    fn create(&mut self, _: String, _: String) -> Result<String, CapabilityError> {
        Err(CapabilityError::Denied(
            "kubernetes create not granted".into(),
        ))
    }
    fn delete(&mut self, kind: String, _: String, _: String) -> Result<(), CapabilityError> {
        Err(CapabilityError::Denied(format!(
            "kubernetes {kind} not granted"
        )))
    }
}

impl fetch::Host for State {
    fn get(&mut self, uri: String, _max_bytes: u64) -> Result<fetch::Fetched, CapabilityError> {
        if uri == "https://raw.githubusercontent.com/org/repo/main/scripts/process.py" {
            // The plugin computes its own digest; this one is deliberately not checked.
            Ok(fetch::Fetched {
                body: common::REMOTE_SCRIPT.as_bytes().to_vec(),
                sha256: String::new(),
            })
        } else {
            Err(CapabilityError::Denied(format!(
                "fetch of {uri} is not granted to plugin script"
            )))
        }
    }
}

impl http::Host for State {
    fn send(&mut self, request: http::Request) -> Result<http::Response, CapabilityError> {
        Err(CapabilityError::Denied(format!("http to {} is not granted to plugin script", request.url)))
    }
}

impl files::Host for State {
    fn read(&mut self, path: String, _max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
        Err(CapabilityError::NotFound(format!("no file {path}")))
    }
}

fn component_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        noetl_guest_build::build_components(&["noetl-plugin-script"], &["plugins/script"]).remove(0)
    })
}

/// One fresh instance per call, as the host does.
fn instance() -> (Store<State>, Tool) {
    static ENGINE: OnceLock<(Engine, Component)> = OnceLock::new();
    let (engine, component) = ENGINE.get_or_init(|| {
        let engine = Engine::default();
        let component = Component::from_file(&engine, component_path()).expect("a valid component");
        (engine, component)
    });
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    Tool::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state).unwrap();
    let state = State {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, state);
    let tool = Tool::instantiate(&mut store, component, &linker).unwrap();
    (store, tool)
}

fn component_plan(config: &Value, context: &Value) -> Result<PlanResult, ToolError> {
    let (mut store, tool) = instance();
    tool.noetl_plugin_handler()
        .call_plan(&mut store, &config.to_string(), &context.to_string())
        .expect("no trap")
}

fn context_json(step: &str) -> Value {
    json!({"execution_id": common::EXECUTION_ID, "step": step, "name_seed": common::SEED})
}

#[test]
fn the_file_is_a_component() {
    let bytes = std::fs::read(component_path()).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\0asm\x0d\x00\x01\x00",
        "component-model header"
    );
}

#[test]
fn describe_names_the_tool_and_its_schema() {
    let (mut store, tool) = instance();
    let info: handler::ToolInfo = tool
        .noetl_plugin_handler()
        .call_describe(&mut store)
        .unwrap();
    assert_eq!(info.kind, "script");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    let schema: Value = serde_json::from_str(&info.config_schema).unwrap();
    assert_eq!(schema, noetl_plugin_script::config_schema());
}

#[test]
fn the_component_plans_the_examples_like_the_native_code() {
    let sources = common::FakeSources::examples();
    for (name, step, tool) in common::examples() {
        let native = noetl_plugin_script::plan(&tool, &common::context(&step), &sources).unwrap();
        let Ok(PlanResult::RunJob(bundle)) = component_plan(&tool, &context_json(&step)) else {
            panic!("{name}: the component did not return a job");
        };
        assert_eq!(bundle.namespace, native.namespace, "{name}");
        assert_eq!(bundle.job_name, native.job_name, "{name}");
        assert_eq!(bundle.timeout_seconds, native.timeout_seconds, "{name}");
        let manifests: Vec<(String, String, Value)> = bundle
            .manifests
            .into_iter()
            .map(|m| (m.kind, m.name, serde_json::from_str(&m.body).unwrap()))
            .collect();
        let expected: Vec<(String, String, Value)> = native
            .manifests
            .into_iter()
            .map(|m| (m.kind, m.name, m.body))
            .collect();
        assert_eq!(manifests, expected, "{name}");
    }
}

#[test]
fn config_errors_cross_the_boundary_with_their_paths() {
    let config = json!({"script": {"type": "inline", "content": "x"}, "job": {"backof_limit": 1, "timeout": -1}});
    let Err(ToolError::InvalidConfig(errors)) = component_plan(&config, &context_json("s")) else {
        panic!("expected invalid-config");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["tool.job.backof_limit", "tool.job.timeout"]);
    assert_eq!(errors[0].fix, "did you mean `backoff_limit`?");
}

#[test]
fn a_denied_fetch_is_a_capability_error() {
    let config = json!({"script": {"type": "http", "uri": "https://evil.example.com/x.py"}});
    let result = component_plan(&config, &context_json("s"));
    assert!(
        matches!(&result, Err(ToolError::Capability(CapabilityError::Denied(m))) if m.contains("evil.example.com")),
        "{result:?}"
    );
}

#[test]
fn names_are_random_inside_the_sandbox_without_a_seed() {
    let config = json!({"script": {"type": "inline", "content": "print(1)"}});
    let context = json!({"execution_id": "e", "step": "s"});
    let names: std::collections::BTreeSet<String> = (0..4)
        .map(|_| match component_plan(&config, &context) {
            Ok(PlanResult::RunJob(bundle)) => bundle.job_name,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(names.len() > 1, "{names:?}");
}

#[test]
fn finish_in_the_component_matches_the_native_response() {
    let config =
        json!({"script": {"type": "inline", "content": "print(1)"}, "job": {"timeout": 60}});
    let native_outcome = noetl_plugin_script::JobOutcome {
        status: noetl_plugin_script::JobStatus::Failed,
        job_name: "noetl-script-e-abcde".into(),
        namespace: "noetl".into(),
        pod_name: Some("noetl-script-e-abcde-x1y2z".into()),
        execution_seconds: 3.5,
        succeeded: 0,
        failed: 1,
        exit_code: Some(2),
        reason: Some("BackoffLimitExceeded".into()),
        message: None,
        output: "Traceback\n{\"partial\": true}".into(),
        stderr: Some("Traceback".into()),
        output_truncated: true,
    };
    let wit_outcome = JobOutcome {
        status: JobStatus::Failed,
        job_name: native_outcome.job_name.clone(),
        namespace: native_outcome.namespace.clone(),
        pod_name: native_outcome.pod_name.clone(),
        execution_seconds: native_outcome.execution_seconds,
        succeeded: 0,
        failed: 1,
        exit_code: Some(2),
        reason: native_outcome.reason.clone(),
        message: None,
        output: native_outcome.output.clone(),
        stderr: native_outcome.stderr.clone(),
        output_truncated: true,
    };
    let (mut store, tool) = instance();
    let response = tool
        .noetl_plugin_handler()
        .call_finish(
            &mut store,
            &config.to_string(),
            &context_json("s").to_string(),
            &wit_outcome,
        )
        .unwrap()
        .unwrap();
    let response: Value = serde_json::from_str(&response).unwrap();
    let native = noetl_plugin_script::finish(&config, &PlanContext::new("e", "s"), &native_outcome);
    assert_eq!(response, native);
    assert_eq!(response["error"], "Job failed with 1 failures");
}
