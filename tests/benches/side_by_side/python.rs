//! Issue 17's measure: the per-step cost of a trivial `python` step through this host
//! (the adapter's mapping and template rendering, the plugin's `plan`, the local backend's
//! sandbox, the plugin's `finish`) against upstream's `PythonTool` (a plain `python3`
//! subprocess of the worker), on the same config, both through a `ToolRegistry`, in one
//! process, interleaved call by call so both see the same machine load. Our local backend
//! is timed on its own for the breakdown.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use noetl_host::backend::local::{LocalBackend, LocalConfig};
use noetl_host::backend::{Backend, BackendFuture, JobBundle, LogSink};
use noetl_host::embed;
use noetl_host_tools::WorkerHost;
use noetl_tools::context::ExecutionContext;
use noetl_tools::registry::{ToolConfig, ToolRegistry};
use serde_json::{Value, json};

use crate::percentile;
use crate::tools::{Side, our_policy, our_registry};

/// The step: upstream's config shape, a value returned through the `result` global.
fn config() -> Value {
    json!({"kind": "python", "args": {"items": [1, 2, 3]}, "code": "result = {\"total\": sum(items)}"})
}

/// Upstream answers the value as `data`; ours as the spec's `data` with the value in `result`.
fn correct(data: &Value) -> bool {
    data == &json!({"total": 6}) || data["result"] == json!({"total": 6})
}

/// The local backend, remembering how long each `run` took.
struct TimedBackend {
    inner: LocalBackend,
    runs_ms: Mutex<Vec<f64>>,
}

impl Backend for TimedBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn run<'a>(&'a self, bundle: &'a JobBundle, on_log: &'a LogSink) -> BackendFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let outcome = Backend::run(&self.inner, bundle, on_log).await;
            self.runs_ms
                .lock()
                .unwrap()
                .push(started.elapsed().as_secs_f64() * 1e3);
            outcome
        })
    }
}

/// One timed call through `registry`; the data must be right.
async fn call(registry: &ToolRegistry, i: usize) -> anyhow::Result<f64> {
    let config: ToolConfig = serde_json::from_value(config())?;
    let context = ExecutionContext::new(900_000 + i as i64, "py", "http://127.0.0.1:0");
    let started = Instant::now();
    let result = registry.execute_from_config(&config, &context).await?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let data = result.data.clone().unwrap_or_default();
    anyhow::ensure!(
        result.is_success() && correct(&data),
        "wrong result: {result:?}"
    );
    Ok(ms)
}

pub async fn run(runs: usize) -> anyhow::Result<()> {
    const WARMUP: usize = 3;
    let upstream = Side::Upstream.registry().await?;
    let backend = Arc::new(TimedBackend {
        inner: LocalBackend::new(LocalConfig::default())?,
        runs_ms: Mutex::default(),
    });
    let ours = our_registry(WorkerHost::from_executor(
        embed::executor_on(our_policy()?, backend.clone(), None).await?,
    ))?;
    let (mut up, mut our) = (Vec::new(), Vec::new());
    for i in 0..runs + WARMUP {
        let (up_ms, our_ms) = (call(&upstream, i).await?, call(&ours, i).await?);
        if i >= WARMUP {
            up.push(up_ms);
            our.push(our_ms);
        }
    }
    let sandbox: Vec<f64> = backend.runs_ms.lock().unwrap().split_off(WARMUP);
    let rest: Vec<f64> = our
        .iter()
        .zip(&sandbox)
        .map(|(all, run)| all - run)
        .collect();
    let median = |v: &[f64]| percentile(v, 0.5).unwrap_or(f64::NAN);
    let up_median = median(&up);
    println!(
        "\n### A trivial `python` step through a `ToolRegistry`, {runs} calls each (after {WARMUP} warm-up calls), interleaved\n"
    );
    println!("| path | p50 | p90 | min | p50 − upstream's p50 |");
    println!("|---|---:|---:|---:|---:|");
    for (label, values) in [
        (
            "upstream `PythonTool` (unsandboxed `python3` subprocess)",
            &up,
        ),
        (
            "ours (`noetl-host-tools` → python plugin → local sandbox)",
            &our,
        ),
        (
            "… of which the local backend's `run` (sandbox, python, teardown)",
            &sandbox,
        ),
        (
            "… of which the rest (mapping, template render, `plan`, `finish`)",
            &rest,
        ),
    ] {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "| {label} | {:.1} ms | {:.1} ms | {min:.1} ms | {:+.1} ms |",
            median(values),
            percentile(values, 0.9).unwrap_or(f64::NAN),
            median(values) - up_median
        );
    }
    Ok(())
}
