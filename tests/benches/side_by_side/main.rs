//! Upstream NoETL's own tools and ours, side by side, through the same
//! `noetl_tools::registry::ToolRegistry` type (issue 12, and issue 17's python measure).
//!
//! Three parts, chosen with `SBS_PARTS` (default `python,latency,rows`):
//!
//! - `python`: a trivial `python` step, upstream's `PythonTool` against our sandboxed
//!   python plugin, per-call times in one process (see `python.rs`). Needs no cluster.
//! - `latency`: `SBS_STEPS` (100) concurrent script steps whose kwok pods run
//!   `SBS_POD_SECONDS` (60), one tool process per side: completion-detection latency
//!   (from the benchmark's own watch seeing `Complete=True` to the registry returning),
//!   API requests per job (a counting proxy per tool process, see `proxy.rs`), and the
//!   process's peak RSS.
//! - `rows`: the correctness table (see `rows.rs`).
//!
//! The cluster parts need `NOETL_TEST_KUBECONFIG` (tests/cluster, with the image-driven
//! kwok behaviours: upstream's job config cannot set annotations) and say so without it.
//! They create namespaces `sbs-*` and delete them at the end, also after a failure. Upstream's
//! pods cannot be steered to other nodes (its job config has no node selector), so they use
//! the cluster's node `kwok-node-0` (110 pods): `SBS_STEPS` above ~100 needs a quiet cluster.

// kube_scale's helpers (namespaces, memory readings, the request counter), shared rather
// than copied; this bench uses only part of them.
#[path = "../kube_scale/cluster.rs"]
#[allow(dead_code)]
mod cluster;
#[path = "../kube_scale/counting.rs"]
#[allow(dead_code)]
mod counting;

mod child;
mod latency;
mod proxy;
mod python;
mod recorder;
mod rows;
mod tools;

use std::path::PathBuf;
use std::sync::Mutex;

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, DeleteParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use child::Step;
use proxy::CountingProxy;
use recorder::Recorder;
use tools::Side;

fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Nearest-rank percentile `p` (0..=1) of `values`; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(child::ARG) {
        child::main(args.get(2).map_or("", String::as_str));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Err(err) = runtime.block_on(run()) {
        eprintln!("side_by_side failed: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let parts = knob("SBS_PARTS", "python,latency,rows".to_string());
    let wants = |part: &str| parts.split(',').any(|p| p.trim() == part);
    if wants("python") {
        python::run(knob("SBS_PY_RUNS", 30)).await?;
    }
    if !wants("latency") && !wants("rows") {
        return Ok(());
    }
    let Some(kubeconfig) = std::env::var_os("NOETL_TEST_KUBECONFIG").filter(|v| !v.is_empty())
    else {
        eprintln!(
            "side_by_side: NOETL_TEST_KUBECONFIG is not set, so the cluster parts did NOT run. They need the \
             test cluster: `export NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh)` (see tests/cluster/README.md)."
        );
        return Ok(());
    };
    let bench = Bench::connect(PathBuf::from(kubeconfig)).await?;
    let phases = async {
        if wants("rows") {
            let (upstream, ours) = tokio::join!(
                rows::run(&bench, Side::Upstream),
                rows::run(&bench, Side::Ours)
            );
            let results: Vec<_> = [upstream, ours]
                .into_iter()
                .filter_map(|r| r.map_err(|err| eprintln!("rows: {err:#}")).ok())
                .collect();
            rows::print(&results);
        }
        if wants("latency") {
            let (steps, pod_seconds) = (knob("SBS_STEPS", 100), knob("SBS_POD_SECONDS", 60));
            let mut results = Vec::new();
            for side in Side::BOTH {
                match latency::run(&bench, side, steps, pod_seconds).await {
                    Ok(result) => results.push(result),
                    Err(err) => eprintln!("latency ({side}): {err:#}"),
                }
            }
            latency::print(&results, steps, pod_seconds);
        }
        anyhow::Ok(())
    };
    let outcome = phases.await;
    bench.cleanup().await;
    outcome
}

pub struct Bench {
    config: kube::Config,
    /// Uncounted client for setup, the recorder and cleanup.
    admin: Client,
    recorder: Recorder,
    run_id: String,
    dir: tempfile::TempDir,
    namespaces: Mutex<Vec<String>>,
}

impl Bench {
    async fn connect(kubeconfig: PathBuf) -> anyhow::Result<Self> {
        let file = Kubeconfig::read_from(&kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await?;
        let admin = Client::try_from(config.clone())?;
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        Ok(Self {
            recorder: Recorder::start(&admin).await?,
            config,
            admin,
            run_id: format!("{:06x}", millis & 0xff_ffff),
            dir: tempfile::tempdir()?,
            namespaces: Mutex::default(),
        })
    }

    /// Creates namespace `sbs-{run}-{suffix}` (deleted by `cleanup`).
    async fn namespace(&self, suffix: &str) -> anyhow::Result<String> {
        let name = format!("sbs-{}-{suffix}", self.run_id);
        self.namespaces.lock().unwrap().push(name.clone());
        cluster::create_namespace(&self.admin, &name).await?;
        Ok(name)
    }

    async fn proxy(&self, name: &str) -> anyhow::Result<CountingProxy> {
        CountingProxy::start(self.config.clone(), self.dir.path(), name).await
    }

    /// A step as upstream's worker hands it over: `ToolConfig` and `ExecutionContext`.
    fn step(&self, name: String, execution_id: i64, config: Value, secrets: Value) -> Step {
        let context = json!({
            "execution_id": execution_id,
            "step": name,
            "server_url": "http://127.0.0.1:0",
            "worker_id": "side-by-side",
            "secrets": secrets,
        });
        Step {
            name,
            config,
            context,
        }
    }

    /// Deletes the Jobs that executions `first_id..first_id + count` left in shared
    /// namespaces (the cluster's log namespaces outlive the benchmark).
    async fn delete_jobs_of(&self, namespaces: &[&str], first_id: i64, count: usize) {
        for namespace in namespaces {
            let api: Api<Job> = Api::namespaced(self.admin.clone(), namespace);
            let jobs = self.recorder.find(namespace, |s| {
                s.kind == "Job"
                    && s.deleted_ms.is_none()
                    && (first_id..first_id + count as i64).any(|id| s.of_execution(id))
            });
            for job in jobs {
                let _ = api.delete(&job.name, &DeleteParams::background()).await;
            }
        }
    }

    async fn cleanup(&self) {
        let namespaces = self.namespaces.lock().unwrap().clone();
        for namespace in &namespaces {
            if let Err(err) = cluster::delete_namespace(&self.admin, namespace).await {
                eprintln!("could not delete namespace {namespace}: {err:#}");
            }
        }
        eprintln!("deleted namespaces {}", namespaces.join(", "));
    }
}
