//! `noetl-host run FILE`: run a playbook's steps on the local backend (default) or a
//! cluster, with progress on stderr and the results on stdout.

use std::path::PathBuf;

use serde_json::Value;

use noetl_host::playbook::{Playbook, RunReport, Runner};

use super::progress::TerminalProgress;
use super::{Failure, GlobalArgs, OutputFormat, setup};

#[derive(clap::Args)]
pub struct RunArgs {
    /// A playbook (NoETL `Playbook` or a bare `workflow:` list).
    file: PathBuf,
    /// Override workload values: `--set key=value` (dotted keys, YAML values); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Execution id (default: generated).
    #[arg(long)]
    execution_id: Option<String>,
    /// Fail on undefined template variables instead of rendering them empty.
    #[arg(long)]
    strict: bool,
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

pub async fn run(global: &GlobalArgs, args: RunArgs) -> Result<u8, Failure> {
    let mut playbook = Playbook::load(&args.file).map_err(|e| Failure::new(2, format!("{e:#}")))?;
    for set in &args.sets {
        apply_set(&mut playbook.workload, set)?;
    }
    let host = setup::load(global).await?;
    let secrets = setup::secrets(global, &host).await?;
    let executor = setup::executor(global, &host, &secrets).await?;
    let renderer = setup::renderer(&host, &secrets, args.strict)?;
    let progress = TerminalProgress::new();
    let runner = Runner {
        executor: &executor,
        renderer: &renderer,
        execution_id: args.execution_id.unwrap_or_else(generated_execution_id),
        base_dir: args.file.canonicalize().ok().and_then(|p| p.parent().map(|d| d.to_path_buf())),
        redactor: secrets.redactor().clone(),
        progress: &progress,
    };
    let report = runner.run(&playbook).await.map_err(|e| Failure::new(2, format!("{e:#}")))?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string(&report).map_err(|e| Failure::new(4, e.to_string()))?),
        OutputFormat::Text => print_text(&report),
    }
    Ok(exit_code(&report))
}

fn exit_code(report: &RunReport) -> u8 {
    match report.steps.iter().find(|s| s.status != "success") {
        None => 0,
        Some(failed) if failed.response.get("errors").is_some() => 2,
        Some(_) => 1,
    }
}

fn print_text(report: &RunReport) {
    for step in &report.steps {
        let data = &step.response["data"];
        println!("── {} ({}) → {}", step.step, step.tool, step.status);
        if let Some(output) = data.get("output").and_then(Value::as_str).filter(|o| !o.is_empty()) {
            println!("{}", output.trim_end());
        } else if !data.is_null() && data.get("output").is_none() {
            println!("{}", serde_json::to_string_pretty(data).unwrap_or_default());
        }
        if let Some(error) = step.response.get("error").and_then(Value::as_str) {
            println!("error: {error}");
        }
    }
    let ok = report.steps.iter().filter(|s| s.status == "success").count();
    println!("playbook {}: {} of {} steps succeeded (execution {})", report.playbook, ok, report.steps.len(), report.execution_id);
}

/// `a.b=value`: the value parsed as YAML (so numbers stay numbers), set at the dotted path.
fn apply_set(workload: &mut Value, set: &str) -> Result<(), Failure> {
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| Failure::new(2, format!("--set `{set}` has no `=`; write --set key=value")))?;
    let value: Value = serde_yaml::from_str(raw).unwrap_or_else(|_| Value::String(raw.into()));
    let mut target = workload;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(Failure::new(2, format!("--set `{set}`: empty key segment")));
        }
        if !target.is_object() {
            *target = Value::Object(Default::default());
        }
        let slot = target.as_object_mut().expect("made an object above").entry(part.to_string()).or_insert(Value::Null);
        if i + 1 == parts.len() {
            *slot = value.clone();
        }
        target = slot;
    }
    Ok(())
}

/// `run-<unix seconds>-<4 hex>`: sortable, unique enough for a shell, DNS-label friendly.
fn generated_execution_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("run-{}-{:04x}", now.as_secs(), now.subsec_nanos() & 0xffff)
}
