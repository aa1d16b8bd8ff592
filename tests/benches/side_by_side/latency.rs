//! Completion detection and cost at scale: `steps` concurrent script steps whose kwok pods
//! run `pod_seconds`, in one tool process per side, one side after the other, each in its
//! own namespace and behind its own counting proxy.

use std::time::Duration;

use serde_json::{Value, json};

use crate::child::{self, Report, Step};
use crate::counting;
use crate::tools::Side;
use crate::{Bench, percentile};

/// What kwok prints for a pod outside its special log namespaces.
const KWOK_LOG: &str = r#"{"result": "success", "count": 100}"#;

pub struct SideResult {
    pub side: Side,
    pub correct: usize,
    pub wrong: Vec<String>,
    /// From the recorder seeing `Complete=True` to the registry returning, ms.
    pub latencies: Vec<f64>,
    pub requests: u64,
    pub watches: u64,
    pub by_request: Vec<(String, u64)>,
    pub report: Report,
    pub wall_s: f64,
}

/// The step config: the same for both sides (upstream's field names, which ours accepts).
fn config(namespace: &str, pod_seconds: u64) -> Value {
    json!({
        "kind": "script",
        // `runtime`: the test images name no interpreter and ours refuses to guess;
        // upstream ignores the key.
        "script": {"type": "inline", "content": "print('kwok prints the result, not this')", "runtime": "python"},
        "args": {"bench": "side_by_side"},
        "job": {
            "image": format!("test.noetl.io/succeed:{pod_seconds}s"),
            "namespace": namespace,
            "timeout": pod_seconds + 600,
            "backoff_limit": 0,
        }
    })
}

pub async fn run(
    bench: &Bench,
    side: Side,
    steps: usize,
    pod_seconds: u64,
) -> anyhow::Result<SideResult> {
    let namespace = bench.namespace(&format!("lat-{side}")).await?;
    let proxy = bench.proxy(&format!("lat-{side}")).await?;
    let first_id = 100_000 + if side == Side::Upstream { 0 } else { 50_000 };
    let steps: Vec<Step> = (0..steps)
        .map(|i| {
            bench.step(
                format!("lat-{i}"),
                first_id + i as i64,
                config(&namespace, pod_seconds),
                json!({}),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let report = child::run(side, Some(&proxy.kubeconfig), &steps).await?;
    let wall_s = started.elapsed().as_secs_f64();
    let counted = proxy.counts.snapshot();
    let (mut correct, mut wrong, mut latencies) = (0, Vec::new(), Vec::new());
    for returned in &report.returned {
        let result = returned.result.clone().unwrap_or(Value::Null);
        let data = &result["data"];
        let ok = result["status"] == "success"
            && data["status"] == "completed"
            && data["output"]
                .as_str()
                .is_some_and(|o| o.trim_end().ends_with(KWOK_LOG));
        let Some(job) = data["job_name"].as_str().filter(|_| ok) else {
            wrong.push(format!(
                "{}: {}",
                returned.name,
                returned.error.clone().unwrap_or_else(|| result.to_string())
            ));
            continue;
        };
        correct += 1;
        match bench
            .recorder
            .job_condition(&namespace, job, "Complete", Duration::from_secs(10))
            .await
        {
            Some(seen_ms) => latencies.push(returned.returned_ms - seen_ms),
            None => wrong.push(format!(
                "{}: the recorder never saw Job {job} complete",
                returned.name
            )),
        }
    }
    let requests = counted
        .iter()
        .filter(|(k, _)| !counting::is_watch(k) && !k.starts_with("HTTP"))
        .map(|(_, n)| n)
        .sum();
    let watches = counted
        .iter()
        .filter(|(k, _)| counting::is_watch(k))
        .map(|(_, n)| n)
        .sum();
    Ok(SideResult {
        side,
        correct,
        wrong,
        latencies,
        requests,
        watches,
        by_request: counted.into_iter().collect(),
        report,
        wall_s,
    })
}

pub fn print(results: &[SideResult], steps: usize, pod_seconds: u64) {
    println!(
        "\n### {steps} concurrent script steps, kwok pods run {pod_seconds} s, one tool process per side\n"
    );
    println!("| measure | upstream `ScriptTool` | ours (`noetl-host-tools`) |");
    println!("|---|---:|---:|");
    let cell = |f: &dyn Fn(&SideResult) -> String| {
        Side::BOTH
            .iter()
            .map(|s| {
                results
                    .iter()
                    .find(|r| r.side == *s)
                    .map_or("not run".to_string(), f)
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!(
        "| steps correct (success, `data.output` ends with kwok's JSON) | {} |",
        cell(&|r| format!("{} / {steps}", r.correct))
    );
    for (label, p) in [("p50", 0.5), ("p95", 0.95), ("max", 1.0)] {
        println!(
            "| detection latency {label}: recorder sees `Complete=True` → registry returns | {} |",
            cell(&|r| percentile(&r.latencies, p).map_or("-".into(), |v| format!("{v:.1} ms")))
        );
    }
    println!(
        "| API requests per job (not watches) | {} |",
        cell(&|r| format!(
            "{:.2} ({} in all)",
            r.requests as f64 / steps as f64,
            r.requests
        ))
    );
    println!(
        "| watch requests in all | {} |",
        cell(&|r| r.watches.to_string())
    );
    println!(
        "| tool process RSS after setup / peak during the steps (VmHWM) | {} |",
        cell(&|r| format!(
            "{:.1} / {:.1} MiB",
            r.report.setup_rss_kib as f64 / 1024.0,
            r.report.peak_rss_kib as f64 / 1024.0
        ))
    );
    println!(
        "| wall time, process start to last return | {} |",
        cell(&|r| format!("{:.1} s", r.wall_s))
    );
    for r in results {
        println!(
            "\nRequests of the {} tool process (counting proxy):\n",
            r.side
        );
        println!("| request | count | per job |");
        println!("|---|---:|---:|");
        for (key, n) in &r.by_request {
            println!("| {key} | {n} | {:.2} |", *n as f64 / steps as f64);
        }
        for problem in r.wrong.iter().take(3) {
            println!(
                "\nwrong ({}): {}",
                r.side,
                problem.chars().take(400).collect::<String>()
            );
        }
    }
}
