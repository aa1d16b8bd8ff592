//! A tool's own process: the benchmark re-runs its own binary with [`ARG`] and a tool
//! name, writes the steps to its stdin as JSON, and reads one [`Report`] from its stdout.
//! All steps run at once through one `noetl_tools::registry::ToolRegistry`, the way a
//! worker runs concurrent commands, so the process's memory and API requests are the
//! tool's alone.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use noetl_tools::context::ExecutionContext;
use noetl_tools::registry::ToolConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::recorder::unix_ms;
use crate::tools::Side;

pub const ARG: &str = "--side-by-side-tool-process";

/// One step as the worker hands it to the registry.
#[derive(Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub config: Value,
    pub context: Value,
}

/// What the registry returned for one step, and when.
#[derive(Serialize, Deserialize, Clone)]
pub struct Returned {
    pub name: String,
    pub returned_ms: f64,
    pub elapsed_ms: f64,
    /// The `ToolResult`, serialised.
    pub result: Option<Value>,
    /// The `ToolError`, when the registry returned one.
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Report {
    pub returned: Vec<Returned>,
    /// `VmRSS` once the registry was built, and `VmHWM` over the steps (reset in between).
    pub setup_rss_kib: u64,
    pub peak_rss_kib: u64,
}

/// The child's `main`: never returns.
pub fn main(side: &str) -> ! {
    let code = match serve(side) {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serialises")
            );
            0
        }
        Err(err) => {
            eprintln!("tool process ({side}): {err:#}");
            1
        }
    };
    std::process::exit(code)
}

fn serve(side: &str) -> anyhow::Result<Report> {
    let side: Side = side.parse()?;
    let steps: Vec<Step> = serde_json::from_reader(std::io::stdin())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let registry = Arc::new(side.registry().await?);
        let setup_rss_kib = crate::cluster::vm_kib("VmRSS").unwrap_or(0);
        crate::cluster::reset_peak_rss()?;
        let mut tasks = tokio::task::JoinSet::new();
        for step in steps {
            let registry = registry.clone();
            let config: ToolConfig = serde_json::from_value(step.config)?;
            let context: ExecutionContext = serde_json::from_value(step.context)?;
            tasks.spawn(async move {
                let started = Instant::now();
                let outcome = registry.execute_from_config(&config, &context).await;
                let returned_ms = unix_ms(SystemTime::now());
                let (result, error) = match outcome {
                    Ok(result) => (
                        Some(serde_json::to_value(&result).expect("a ToolResult serialises")),
                        None,
                    ),
                    Err(err) => (None, Some(err.to_string())),
                };
                Returned {
                    name: step.name,
                    returned_ms,
                    elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
                    result,
                    error,
                }
            });
        }
        let mut returned = Vec::new();
        while let Some(done) = tasks.join_next().await {
            returned.push(done?);
        }
        Ok(Report {
            returned,
            setup_rss_kib,
            peak_rss_kib: crate::cluster::vm_kib("VmHWM").unwrap_or(0),
        })
    })
}

/// Runs `steps` in a fresh tool process for `side`, with `KUBECONFIG` set to `kubeconfig`.
pub async fn run(
    side: Side,
    kubeconfig: Option<&std::path::Path>,
    steps: &[Step],
) -> anyhow::Result<Report> {
    use tokio::io::AsyncWriteExt as _;
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg(ARG)
        .arg(side.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    match kubeconfig {
        Some(path) => command.env("KUBECONFIG", path),
        None => command.env_remove("KUBECONFIG"),
    };
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(&serde_json::to_vec(steps)?).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    anyhow::ensure!(
        output.status.success(),
        "the {side} tool process failed ({})",
        output.status
    );
    // The report is the last line; anything a tool printed before it is not ours to parse.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Ok(serde_json::from_str(last)?)
}
