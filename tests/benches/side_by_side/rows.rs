//! The correctness table: one case per row, the same step config for both sides, every
//! row of a side at once in one tool process, both sides at the same time. Each row
//! says what the tool reported and judges it against what a correct script tool reports,
//! using the recorder for what the tool cannot be trusted to say about itself (whether
//! it left the Job running, created objects, or delivered the secret).

use serde_json::{Value, json};

use crate::Bench;
use crate::child::{self, Returned, Step};
use crate::recorder::Seen;
use crate::tools::Side;

/// Value of the secret in the canary row; it must reach the pod's Secret and nowhere else.
const CANARY: &str = "sbs-canary-5f1d9c2e7b";
/// The ConfigMap limit is 1 MiB of data; one byte more must be refused before anything is created.
const OVERSIZED_SCRIPT: usize = 1024 * 1024 + 1;
/// The last line of kwok's 5 MiB log in `noetl-log-large`.
const LARGE_LOG_RESULT: &str = r#"{"result": "success", "count": 52000}"#;
const LARGE_LOG_BYTES: usize = 5_356_037;

struct Row {
    key: &'static str,
    title: &'static str,
    /// `None`: the side's own namespace; else one of the cluster's log namespaces.
    namespace: Option<&'static str>,
    job: Value,
    script: Option<String>,
    secret: bool,
    judge: fn(&Case) -> Verdict,
}

/// One row's run on one side, with what the recorder saw of its execution.
struct Case<'a> {
    returned: &'a Returned,
    result: Value,
    objects: Vec<Seen>,
}

struct Verdict {
    right: bool,
    why: String,
}

fn verdict(right: bool, why: impl Into<String>) -> Verdict {
    Verdict {
        right,
        why: why.into(),
    }
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            key: "exit7",
            title: "exit code 7 (`backoff_limit: 0`)",
            namespace: None,
            job: json!({"image": "test.noetl.io/fail:7", "backoff_limit": 0, "timeout": 120}),
            script: None,
            secret: false,
            judge: |c| {
                let code = c.exit_code();
                verdict(
                    c.is_error() && code == Some(7),
                    format!("needs an error with exit code 7; got {}", show(code)),
                )
            },
        },
        Row {
            key: "oom",
            title: "OOMKilled (`backoff_limit: 0`)",
            namespace: None,
            job: json!({"image": "test.noetl.io/oom", "backoff_limit": 0, "timeout": 120}),
            script: None,
            secret: false,
            judge: |c| {
                let (code, says) = (c.exit_code(), c.mentions("OOMKilled"));
                verdict(
                    c.is_error() && code == Some(137) && says,
                    format!(
                        "needs exit 137 and the reason OOMKilled; got {}, reason {}",
                        show(code),
                        if says { "named" } else { "not named" }
                    ),
                )
            },
        },
        Row {
            key: "backoff",
            title: "`backoff_limit: 2`, every attempt exits 7",
            namespace: None,
            job: json!({"image": "test.noetl.io/fail:7", "backoff_limit": 2, "timeout": 180}),
            script: None,
            secret: false,
            judge: |c| {
                let job = c.job();
                let failed_at = job.and_then(|j| j.conditions.get("Failed").map(|f| f.1));
                let waited = failed_at.is_some_and(|at| at <= c.returned.returned_ms);
                let failures = c.data()["failed"].as_i64();
                let script_gone_early = c.objects.iter().any(|o| {
                    o.kind == "ConfigMap"
                        && o.deleted_ms
                            .zip(failed_at)
                            .is_some_and(|(deleted, failed)| deleted < failed)
                });
                verdict(
                    c.is_error()
                        && waited
                        && failures == Some(3)
                        && c.exit_code() == Some(7)
                        && !script_gone_early,
                    format!(
                        "needs the Job's end (3 pods failed, exit 7); returned {} the Job failed, reported {} failures, exit {}{}",
                        if waited { "after" } else { "before" },
                        show(failures),
                        show(c.exit_code()),
                        if script_gone_early {
                            "; deleted the script ConfigMap while the Job was still retrying"
                        } else {
                            ""
                        }
                    ),
                )
            },
        },
        Row {
            key: "pull",
            title: "image pull failure (`timeout: 60`)",
            namespace: None,
            job: json!({"image": "test.noetl.io/image-pull-fail", "backoff_limit": 0, "timeout": 60}),
            script: None,
            secret: false,
            judge: |c| start_failure(c, &["ImagePullBackOff", "ErrImagePull"]),
        },
        Row {
            key: "unschedulable",
            title: "unschedulable pod, cpu 64 (`timeout: 60`)",
            namespace: None,
            job: json!({"backoff_limit": 0, "timeout": 60, "resources": {"requests": {"cpu": "64"}}}),
            script: None,
            secret: false,
            judge: |c| start_failure(c, &["Unschedulable", "Insufficient cpu"]),
        },
        Row {
            key: "timeout",
            title: "timeout: the pod hangs (`timeout: 15`)",
            namespace: None,
            job: json!({"image": "test.noetl.io/hang", "backoff_limit": 0, "timeout": 15}),
            script: None,
            secret: false,
            judge: |c| {
                let says_timeout =
                    c.result["status"] == "timeout" || c.data()["status"] == "timeout";
                let left = c.left_running_ms();
                verdict(
                    c.is_error() && says_timeout && left.is_none(),
                    format!(
                        "needs a timeout and no Job left running; reported {}, {}",
                        if says_timeout {
                            "a timeout"
                        } else {
                            "no timeout"
                        },
                        describe_left(left)
                    ),
                )
            },
        },
        Row {
            key: "install",
            title: "dependency install fails (`install_dependencies: [pandas==2.2.3]`, pip exits 1)",
            namespace: Some("noetl-log-traceback"),
            job: json!({"image": "test.noetl.io/install-fail:1", "backoff_limit": 0, "timeout": 120, "install_dependencies": ["pandas==2.2.3"]}),
            script: None,
            secret: false,
            judge: |c| {
                let named = c.mentions("dependency install") || c.mentions("install-dependencies");
                verdict(
                    c.is_error() && c.exit_code() == Some(1) && named,
                    format!(
                        "needs an error naming the dependency install, exit 1; got exit {}, install {}",
                        show(c.exit_code()),
                        if named { "named" } else { "not named" }
                    ),
                )
            },
        },
        Row {
            key: "large_log",
            title: "5 MiB log (5,356,037 bytes, result JSON on the last line)",
            namespace: Some("noetl-log-large"),
            job: json!({"backoff_limit": 0, "timeout": 120}),
            script: None,
            secret: false,
            judge: |c| {
                let output = c.data()["output"].as_str().unwrap_or_default();
                let tail_kept = output.trim_end().ends_with(LARGE_LOG_RESULT);
                let truncated = output.len() < LARGE_LOG_BYTES;
                let flagged = c.data()["output_truncated"] == true;
                verdict(
                    c.is_success() && tail_kept && (flagged || !truncated),
                    format!(
                        "needs success, the last line kept, truncation said if any; output {} bytes, last line {}, truncation {}",
                        output.len(),
                        if tail_kept { "kept" } else { "lost" },
                        if flagged {
                            "flagged"
                        } else if truncated {
                            "NOT flagged"
                        } else {
                            "none"
                        }
                    ),
                )
            },
        },
        Row {
            key: "canary",
            title: "secret canary: `job.env.API_KEY: \"{{ secrets.API_KEY }}\"`, the value in `ExecutionContext.secrets`",
            namespace: None,
            job: json!({"backoff_limit": 0, "timeout": 120, "env": {"API_KEY": "{{ secrets.API_KEY }}"}}),
            script: None,
            secret: true,
            judge: |c| {
                let delivered = c
                    .objects
                    .iter()
                    .any(|o| o.kind == "Secret" && o.secret_values.iter().any(|v| v == CANARY));
                let leaked = c.leaks_canary();
                verdict(
                    c.is_success() && delivered && !leaked,
                    format!(
                        "needs the value in the pod's Secret and nowhere in the result; {} the Secret, {} the result",
                        if delivered { "in" } else { "NOT in" },
                        if leaked { "LEAKED into" } else { "not in" }
                    ),
                )
            },
        },
        Row {
            key: "oversized",
            title: "script of 1 MiB + 1 byte",
            namespace: None,
            job: json!({"backoff_limit": 0, "timeout": 120}),
            script: Some(format!("# {}\n", "x".repeat(OVERSIZED_SCRIPT - 3))),
            secret: false,
            judge: |c| {
                let created: Vec<String> = c.objects.iter().map(|o| o.kind.to_string()).collect();
                verdict(
                    c.is_error() && created.is_empty(),
                    format!(
                        "needs a refusal with nothing created; created {}",
                        if created.is_empty() {
                            "nothing".to_string()
                        } else {
                            created.join(", ")
                        }
                    ),
                )
            },
        },
    ]
}

fn show<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or("none".to_string(), |v| v.to_string())
}

/// A pod that cannot start: reported as such, well before the step's timeout, no Job left.
fn start_failure(c: &Case, reasons: &[&str]) -> Verdict {
    let named = reasons.iter().any(|r| c.mentions(r));
    let early = c.returned.elapsed_ms < 55_000.0;
    let left = c.left_running_ms();
    verdict(
        c.is_error() && named && early && left.is_none(),
        format!(
            "needs the reason ({}) before the 60 s timeout, no Job left; returned after {:.1} s, reason {}, {}",
            reasons.join(" / "),
            c.returned.elapsed_ms / 1e3,
            if named { "named" } else { "not named" },
            describe_left(left)
        ),
    )
}

fn describe_left(left: Option<f64>) -> String {
    match left {
        None => "Job ended or deleted by the time the tool returned".to_string(),
        Some(ms) if ms.is_finite() => {
            format!("Job still running at return, ended {:.1} s later", ms / 1e3)
        }
        Some(_) => "Job still running at return and afterwards".to_string(),
    }
}

impl Case<'_> {
    fn data(&self) -> &Value {
        &self.result["data"]
    }

    /// A `ToolError` counts as an error report too (the registry's `Err`).
    fn is_error(&self) -> bool {
        self.returned.error.is_some()
            || matches!(self.result["status"].as_str(), Some("error" | "timeout"))
    }

    fn is_success(&self) -> bool {
        self.returned.error.is_none() && self.result["status"] == "success"
    }

    fn exit_code(&self) -> Option<i64> {
        self.data()["exit_code"]
            .as_i64()
            .or_else(|| self.result["exit_code"].as_i64())
    }

    /// Whether the result or the error says `needle` anywhere.
    fn mentions(&self, needle: &str) -> bool {
        self.text().contains(needle)
    }

    fn leaks_canary(&self) -> bool {
        self.text().contains(CANARY)
    }

    fn text(&self) -> String {
        format!(
            "{} {}",
            self.result,
            self.returned.error.clone().unwrap_or_default()
        )
    }

    fn job(&self) -> Option<&Seen> {
        self.objects.iter().find(|o| o.kind == "Job")
    }

    /// `None` when the Job had ended (or was gone) within 2 s of the tool returning;
    /// otherwise how long after the return it ended (infinite: not yet).
    fn left_running_ms(&self) -> Option<f64> {
        let job = self.job()?;
        let ended = job.ended_ms().unwrap_or(f64::INFINITY);
        let after = ended - self.returned.returned_ms;
        (after > 2_000.0).then_some(after)
    }
}

/// What the tool reported, in one cell (the canary, if it leaked, shown as `[CANARY]`).
fn reported(c: &Case) -> String {
    if let Some(error) = &c.returned.error {
        return format!("`Err`: {}", clip(error, 160));
    }
    let d = c.data();
    let mut parts = vec![format!("`{}`", c.result["status"].as_str().unwrap_or("?"))];
    if let Some(error) = c.result["error"].as_str() {
        parts.push(format!("error \"{}\"", clip(error, 110)));
    }
    for key in ["status", "exit_code", "failed", "reason"] {
        if !d[key].is_null() {
            parts.push(format!("data.{key} {}", d[key]));
        }
    }
    if let Some(output) = d["output"].as_str() {
        parts.push(format!("output {} B", output.len()));
    }
    if d["output_truncated"] == true {
        parts.push("output_truncated".into());
    }
    parts.join(", ").replace(CANARY, "[CANARY]")
}

fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ⏎ ").replace('|', "\\|");
    match one_line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

pub struct SideRows {
    side: Side,
    cells: Vec<(String, Verdict)>,
}

pub async fn run(bench: &Bench, side: Side) -> anyhow::Result<SideRows> {
    let own = bench.namespace(&format!("rows-{side}")).await?;
    let proxy = bench.proxy(&format!("rows-{side}")).await?;
    let first_id = 200_000 + if side == Side::Upstream { 0 } else { 50_000 };
    let rows = rows();
    let steps: Vec<Step> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut job = row.job.clone();
            job["namespace"] = json!(row.namespace.unwrap_or(&own));
            let content = row.script.clone().unwrap_or_else(|| "print('kwok prints the log, not this')".into());
            // `runtime`: the test images name no interpreter and ours refuses to guess;
            // upstream ignores the key.
            let config = json!({"kind": "script", "script": {"type": "inline", "content": content, "runtime": "python"}, "job": job});
            let secrets = if row.secret { json!({"API_KEY": CANARY}) } else { json!({}) };
            bench.step(row.key.to_string(), first_id + i as i64, config, secrets)
        })
        .collect();
    let report = child::run(side, Some(&proxy.kubeconfig), &steps).await?;
    // Events right after a return (a Job the controller ends) reach the recorder late.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let mut cells = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let id = first_id + i as i64;
        let returned = report
            .returned
            .iter()
            .find(|r| r.name == row.key)
            .ok_or_else(|| anyhow::anyhow!("no result for row {}", row.key))?;
        let namespace = row.namespace.unwrap_or(&own);
        let case = Case {
            returned,
            result: returned.result.clone().unwrap_or(Value::Null),
            objects: bench.recorder.find(namespace, |s| s.of_execution(id)),
        };
        let verdict = (row.judge)(&case);
        cells.push((reported(&case), verdict));
    }
    bench
        .delete_jobs_of(
            &["noetl-log-traceback", "noetl-log-large"],
            first_id,
            rows.len(),
        )
        .await;
    Ok(SideRows { side, cells })
}

pub fn print(results: &[SideRows]) {
    println!("\n### Correctness, one row per case (same config for both; a ✔ is right, ✘ wrong)\n");
    println!("| case | upstream `ScriptTool` reports | | ours reports | |");
    println!("|---|---|---|---|---|");
    let find = |side: Side| results.iter().find(|r| r.side == side);
    for (i, row) in rows().iter().enumerate() {
        let cell = |side: Side| match find(side) {
            Some(r) => {
                let (reported, verdict) = &r.cells[i];
                format!(
                    "{reported} | {} {}",
                    if verdict.right { "✔" } else { "✘" },
                    verdict.why
                )
            }
            None => "not run | ".to_string(),
        };
        println!(
            "| {} | {} | {} |",
            row.title,
            cell(Side::Upstream),
            cell(Side::Ours)
        );
    }
    for r in results {
        let right = r.cells.iter().filter(|(_, v)| v.right).count();
        println!("\n{}: {right} / {} rows right", r.side, r.cells.len());
    }
}
