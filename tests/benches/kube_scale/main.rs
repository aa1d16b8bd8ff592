//! Kubernetes backend at scale, on the real test control plane with kwok nodes (issue 4).
//!
//! Needs `NOETL_TEST_KUBECONFIG` (the cluster of tests/cluster). Steps run the way the
//! executor runs them: the built-in script plugin plans the Job, the Kubernetes backend
//! submits it, watches it through its shared namespace watches, reads its log, and the
//! plugin's `finish` shapes the response. Two measurements:
//!
//! 1. Completion-detection latency. An independent observer (its own client and its own
//!    watch on the Jobs) timestamps the first event in which a Job has `Complete=True`;
//!    the latency is from that moment to `Executor::execute` returning the response (and,
//!    separately, to the backend returning the outcome). Both watches are served by the
//!    same apiserver watch cache at about the same moment, so the difference is the host's
//!    own work: waking the waiter, assessing the Job and pods, the last log read, `finish`.
//!    The condition's `lastTransitionTime` has one-second resolution, so it only serves as
//!    a sanity check of the observer (it must not be later than the observer's receipt).
//! 2. Many concurrent steps in ONE host process: all outcomes checked (status completed,
//!    kwok's fixed log as the result), wall time, peak RSS (`VmHWM` after resetting it with
//!    `/proc/self/clear_refs`), API requests per job counted by a tower layer on the
//!    backend's kube client (watches separately), cross-checked with the apiserver's
//!    `apiserver_request_total` deltas (which include every client of the shared cluster).
//!
//! Setup and teardown: namespaces `kbench-*` and tainted kwok nodes `kbench-node-*`, made
//! here and deleted at the end. Knobs (environment): `KBENCH_LATENCY_JOBS` (40),
//! `KBENCH_LATENCY_IN_FLIGHT` (4), `KBENCH_SCALE_STEPS` (500), `KBENCH_SCALE_POD_SECONDS`
//! (5). With the test cluster's controller-manager creating about 7 pods a second, 5 s
//! pods keep ~40 running at once: kwok opens one inotify instance per follow log stream
//! and the machine allows 128 (`fs.inotify.max_user_instances`), so with 60 s pods most
//! streams fail inside kwok and their pods' logs carry kwok's error lines (measured:
//! tests/benches/runs/2026-11-29-issue4-kube-scale-kbench.md).

mod cluster;
mod counting;
mod observer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use noetl_host::backend::kubernetes::{KubeOptions, KubernetesBackend};
use noetl_host::backend::{Backend, BackendFuture, JobBundle, LogSink};
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::execute::Executor;
use noetl_host::plugin::{PluginRuntime, PluginSet};
use noetl_host::policy::{JobGrant, Policy};
use serde_json::{Value, json};

use cluster::NODE_KEY;
use counting::{CountingLayer, RequestCounts};
use observer::CompletionObserver;

/// What kwok prints for every pod outside its special log namespaces.
fn expected_result() -> Value {
    json!({"result": "success", "count": 100})
}

/// The backend, remembering when it returned each Job's outcome.
struct TimedBackend {
    inner: KubernetesBackend,
    returned: Mutex<HashMap<String, Instant>>,
}

impl Backend for TimedBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn run<'a>(&'a self, bundle: &'a JobBundle, on_log: &'a LogSink) -> BackendFuture<'a> {
        Box::pin(async move {
            let outcome = self.inner.run(bundle, on_log).await?;
            self.returned
                .lock()
                .unwrap()
                .insert(outcome.job_name.clone(), Instant::now());
            Ok(outcome)
        })
    }
}

struct Bench {
    kubeconfig: PathBuf,
    /// Uncounted client for setup, the observer and metrics.
    admin: Client,
    counts: RequestCounts,
    backend: Arc<TimedBackend>,
    executor: Executor,
    run_id: String,
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let Some(kubeconfig) = std::env::var_os("NOETL_TEST_KUBECONFIG").filter(|v| !v.is_empty())
    else {
        eprintln!(
            "kube_scale: NOETL_TEST_KUBECONFIG is not set, so this benchmark did NOT run. It needs the test \
             cluster: `export NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh)` (see tests/cluster/README.md)."
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Err(err) = runtime.block_on(run(PathBuf::from(kubeconfig))) {
        eprintln!("kube_scale failed: {err:#}");
        std::process::exit(1);
    }
}

async fn run(kubeconfig: PathBuf) -> anyhow::Result<()> {
    let latency_jobs = knob("KBENCH_LATENCY_JOBS", 40);
    let in_flight = knob("KBENCH_LATENCY_IN_FLIGHT", 4);
    let scale_steps = knob("KBENCH_SCALE_STEPS", 500);
    let pod_seconds = knob("KBENCH_SCALE_POD_SECONDS", 5);
    let bench = Arc::new(Bench::connect(kubeconfig).await?);
    let nodes =
        cluster::create_nodes(&bench.admin, "kbench-node", scale_steps.max(in_flight)).await?;
    eprintln!("created {} kwok nodes: {}", nodes.len(), nodes.join(", "));
    let namespaces = [
        format!("kbench-lat-{}", bench.run_id),
        format!("kbench-scale-{}", bench.run_id),
    ];
    // A panic, too, comes back here, so the cluster is cleaned up either way.
    let phases = std::panic::AssertUnwindSafe(async {
        bench
            .latency(&namespaces[0], latency_jobs, in_flight)
            .await?;
        bench.scale(&namespaces[1], scale_steps, pod_seconds).await
    })
    .catch_unwind()
    .await;
    for namespace in &namespaces {
        if let Err(err) = cluster::delete_namespace(&bench.admin, namespace).await {
            eprintln!("could not delete namespace {namespace}: {err:#}");
        }
    }
    cluster::delete_nodes(&bench.admin, &nodes).await?;
    eprintln!("deleted namespaces {} and the nodes", namespaces.join(", "));
    match phases {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

async fn client_config(path: &Path) -> anyhow::Result<kube::Config> {
    let file = Kubeconfig::read_from(path)?;
    Ok(kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await?)
}

/// `(p50, p90, max)` by nearest rank.
fn percentiles(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let rank =
        |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    (rank(0.5), rank(0.9), rank(1.0))
}

/// `later - earlier` in milliseconds, negative when `later` came first.
fn signed_ms(later: Instant, earlier: Instant) -> f64 {
    match later.checked_duration_since(earlier) {
        Some(d) => d.as_secs_f64() * 1e3,
        None => -(earlier - later).as_secs_f64() * 1e3,
    }
}

/// The `tool` object of one benchmark step: a succeeding kwok pod on the benchmark's nodes.
fn step(namespace: &str, pod_duration: &str) -> Value {
    json!({
        "kind": "script",
        "script": {"type": "inline", "content": "print('kwok prints the result, not this')"},
        "args": {"bench": "kube_scale"},
        "job": {
            "namespace": namespace,
            "timeout": 900,
            "annotations": {"test.noetl.io/behavior": "succeed", "test.noetl.io/duration": pod_duration},
            "node_selector": {NODE_KEY: "true"},
            "tolerations": [{"key": NODE_KEY, "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        }
    })
}

/// The Job name of a correct response, or what is wrong with it.
fn check(response: &Value) -> Result<String, String> {
    let data = &response["data"];
    let correct = response["status"] == "success"
        && data["status"] == "completed"
        && data["result"] == expected_result();
    match data["job_name"].as_str() {
        Some(job) if correct => Ok(job.to_string()),
        _ => Err(format!("unexpected response: {response}")),
    }
}

impl Bench {
    async fn connect(kubeconfig: PathBuf) -> anyhow::Result<Self> {
        let config = client_config(&kubeconfig).await?;
        let admin = Client::try_from(config.clone())?;
        let counts = RequestCounts::default();
        let counted = ClientBuilder::try_from(config)?
            .with_layer(&CountingLayer(counts.clone()))
            .build();
        let backend = Arc::new(TimedBackend {
            inner: KubernetesBackend::from_client(counted, KubeOptions::default()),
            returned: Mutex::default(),
        });
        // The benchmark's own namespaces (`kbench-*`) granted to the script tool, at the
        // default level (restricted, no ServiceAccount token).
        let mut policy = Policy::default_policy();
        policy.plugins.entry("script".into()).or_default().jobs =
            Some(JobGrant { namespaces: vec!["kbench-*".into()], ..JobGrant::built_in() });
        let plugin_runtime = PluginRuntime::new(
            HostEngine::new()?,
            ArtifactCache::new(ArtifactCache::default_dir()),
        )?;
        let plugins = PluginSet::discover(&plugin_runtime, &policy, &[], &[]).await?;
        let executor = Executor {
            plugins: Arc::new(plugins),
            policy: Arc::new(policy),
            backend: backend.clone(),
            providers: Capabilities::default(),
            fetcher: None,
        };
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        Ok(Self {
            kubeconfig,
            admin,
            counts,
            backend,
            executor,
            run_id: format!("{:06x}", millis & 0xff_ffff),
        })
    }

    async fn execute(
        &self,
        namespace: &str,
        pod_duration: &str,
        execution: String,
    ) -> (Result<String, String>, Instant) {
        let context = json!({"execution_id": execution, "step": "s"});
        let result = self
            .executor
            .execute(&step(namespace, pod_duration), &context, None)
            .await;
        let responded = Instant::now();
        (
            result.map_err(|e| e.to_string()).and_then(|r| check(&r)),
            responded,
        )
    }

    async fn latency(
        self: &Arc<Self>,
        namespace: &str,
        jobs: usize,
        in_flight: usize,
    ) -> anyhow::Result<()> {
        cluster::create_namespace(&self.admin, namespace).await?;
        let observer = CompletionObserver::start(self.admin.clone(), namespace).await?;
        let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..jobs {
            let (bench, permits, namespace) =
                (self.clone(), permits.clone(), namespace.to_string());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                bench
                    .execute(&namespace, "500ms", format!("kbench-lat-{i}"))
                    .await
            });
        }
        let (mut to_response, mut to_outcome, mut transition_lag) =
            (Vec::new(), Vec::new(), Vec::new());
        while let Some(done) = tasks.join_next().await {
            let (result, responded) = done?;
            let job = result.map_err(anyhow::Error::msg)?;
            let seen = observer
                .seen(&job, Duration::from_secs(10))
                .await
                .ok_or_else(|| anyhow::anyhow!("the observer never saw Job {job} complete"))?;
            let returned = self.backend.returned.lock().unwrap()[&job];
            to_response.push(signed_ms(responded, seen.at));
            to_outcome.push(signed_ms(returned, seen.at));
            if let Some(transition) = seen.transition {
                transition_lag.push(seen.wall.duration_since(transition).as_secs_f64() * 1e3);
            }
        }
        let late_transitions = transition_lag.iter().filter(|lag| **lag < 0.0).count();
        println!(
            "\n### Completion-detection latency: {jobs} jobs, {in_flight} in flight, pods run 500 ms\n"
        );
        println!("| from the observer seeing `Complete=True` to | p50 | p90 | max |");
        println!("|---|---:|---:|---:|");
        for (what, values) in [
            ("the backend returning the outcome", to_outcome),
            ("`Executor::execute` returning the response", to_response),
        ] {
            let (p50, p90, max) = percentiles(values);
            println!("| {what} | {p50:.1} ms | {p90:.1} ms | {max:.1} ms |");
        }
        let (p50, _, max) = percentiles(transition_lag);
        println!(
            "\nSanity check: observer receipt minus the condition's lastTransitionTime (1 s resolution, truncated): \
             p50 {p50:.0} ms, max {max:.0} ms; receipts before the transition time: {late_transitions} (must be 0)."
        );
        Ok(())
    }

    async fn scale(
        self: &Arc<Self>,
        namespace: &str,
        steps: usize,
        pod_seconds: usize,
    ) -> anyhow::Result<()> {
        cluster::create_namespace(&self.admin, namespace).await?;
        let throttled_before = cluster::controller_throttle_waits(&self.kubeconfig);
        let server_before = cluster::apiserver_requests(&self.admin).await?;
        let counted_before = self.counts.snapshot();
        let rss_before = cluster::vm_kib("VmRSS").unwrap_or(0);
        cluster::reset_peak_rss()?;
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let duration = format!("{pod_seconds}s");
        for i in 0..steps {
            let (bench, namespace, duration) =
                (self.clone(), namespace.to_string(), duration.clone());
            tasks.spawn(async move {
                bench
                    .execute(&namespace, &duration, format!("kbench-scale-{i}"))
                    .await
            });
        }
        let (mut correct, mut wrong) = (0usize, Vec::new());
        while let Some(done) = tasks.join_next().await {
            match done?.0 {
                Ok(_) => correct += 1,
                Err(problem) => wrong.push(problem),
            }
        }
        let wall = started.elapsed();
        let peak_kib = cluster::vm_kib("VmHWM").unwrap_or(0);
        let counted = counting::delta(&counted_before, &self.counts.snapshot());
        let server_after = cluster::apiserver_requests(&self.admin).await?;
        let throttled = throttled_before
            .zip(cluster::controller_throttle_waits(&self.kubeconfig))
            .map(|(b, a)| a - b);
        let spans = creation_spans(&self.admin, namespace).await?;
        self.report_scale(
            steps,
            pod_seconds,
            correct,
            &wrong,
            wall,
            rss_before,
            peak_kib,
            &counted,
            &server_before,
            &server_after,
            throttled,
            spans,
        );
        anyhow::ensure!(
            wrong.is_empty(),
            "{} of {steps} steps did not complete correctly",
            wrong.len()
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn report_scale(
        &self,
        steps: usize,
        pod_seconds: usize,
        correct: usize,
        wrong: &[String],
        wall: Duration,
        rss_before: u64,
        peak_kib: u64,
        counted: &BTreeMap<String, u64>,
        server_before: &BTreeMap<String, f64>,
        server_after: &BTreeMap<String, f64>,
        throttled: Option<usize>,
        spans: CreationSpans,
    ) {
        let requests: u64 = counted
            .iter()
            .filter(|(k, _)| !counting::is_watch(k) && !k.starts_with("HTTP"))
            .map(|(_, n)| n)
            .sum();
        let watches: u64 = counted
            .iter()
            .filter(|(k, _)| counting::is_watch(k))
            .map(|(_, n)| n)
            .sum();
        println!("\n### {steps} concurrent steps in one host process (pods run {pod_seconds} s)\n");
        println!("| measure | value |");
        println!("|---|---:|");
        println!("| steps completed correctly | {correct} / {steps} |");
        println!(
            "| wall time, first submit to last response | {:.1} s |",
            wall.as_secs_f64()
        );
        println!(
            "| Jobs created (host), first to last creationTimestamp | {} s |",
            spans.jobs
        );
        println!(
            "| Pods created (Job controller), first to last creationTimestamp | {} s |",
            spans.pods
        );
        println!(
            "| host RSS before / peak during (VmHWM) | {:.1} MiB / **{:.1} MiB** |",
            rss_before as f64 / 1024.0,
            peak_kib as f64 / 1024.0
        );
        println!(
            "| API requests (not watches), total / per job | {requests} / **{:.2}** |",
            requests as f64 / steps as f64
        );
        println!("| watch requests, total | {watches} |");
        if let Some(throttled) = throttled {
            println!("| controller-manager client-side throttling waits logged | {throttled} |");
        }
        println!("\nRequests by the backend's client (tower layer), this phase:\n");
        println!("| request | count | per job |");
        println!("|---|---:|---:|");
        for (key, n) in counted {
            println!("| {key} | {n} | {:.2} |", *n as f64 / steps as f64);
        }
        println!(
            "\nCross-check, `apiserver_request_total` deltas over the phase (every client of the shared cluster; \
             long-running requests, WATCH and CONNECT pods/log, are counted when they end):\n"
        );
        println!("| apiserver verb resource | delta |");
        println!("|---|---:|");
        for key in [
            "POST configmaps",
            "POST jobs",
            "PATCH configmaps",
            "CONNECT pods/log",
            "LIST jobs",
            "LIST pods",
            "WATCH jobs",
            "WATCH pods",
            "POST pods",
            "PUT jobs/status",
            "PATCH pods",
            "PATCH pods/status",
            "POST pods/binding",
        ] {
            let delta =
                server_after.get(key).unwrap_or(&0.0) - server_before.get(key).unwrap_or(&0.0);
            println!("| {key} | {delta:.0} |");
        }
        let controller: f64 = ["POST pods", "PUT jobs/status", "PATCH pods"]
            .iter()
            .map(|key| {
                server_after.get(*key).unwrap_or(&0.0) - server_before.get(*key).unwrap_or(&0.0)
            })
            .sum();
        println!(
            "\nJob controller's writes (POST pods + PUT jobs/status + PATCH pods): {controller:.0}, {:.1}/s over the wall time.",
            controller / wall.as_secs_f64()
        );
        for problem in wrong.iter().take(3) {
            println!("\nwrong: {}", problem.chars().take(600).collect::<String>());
        }
    }
}

struct CreationSpans {
    jobs: i64,
    pods: i64,
}

/// Seconds from the first to the last creation of the namespace's Jobs and Pods.
async fn creation_spans(client: &Client, namespace: &str) -> anyhow::Result<CreationSpans> {
    let span = |stamps: Vec<i64>| {
        stamps
            .iter()
            .max()
            .zip(stamps.iter().min())
            .map_or(0, |(max, min)| max - min)
    };
    let all = ListParams::default();
    let jobs = Api::<Job>::namespaced(client.clone(), namespace)
        .list(&all)
        .await?;
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&all)
        .await?;
    let seconds =
        |meta: &kube::api::ObjectMeta| meta.creation_timestamp.as_ref().map(|t| t.0.as_second());
    Ok(CreationSpans {
        jobs: span(
            jobs.items
                .iter()
                .filter_map(|j| seconds(&j.metadata))
                .collect(),
        ),
        pods: span(
            pods.items
                .iter()
                .filter_map(|p| seconds(&p.metadata))
                .collect(),
        ),
    })
}
