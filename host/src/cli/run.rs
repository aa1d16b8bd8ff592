//! `noetl-host run FILE`: run a DSL v2 playbook (routed by upstream's orchestrator core)
//! on the local backend (default) or a cluster, with progress on stderr and the results
//! on stdout. A playbook `check` rejects is refused before anything runs.

use std::path::PathBuf;

use serde_json::Value;

use noetl_host::playbook::{CatalogRoots, RunReport, Runner};

use super::progress::TerminalProgress;
use super::{Failure, GlobalArgs, OutputFormat, check, setup};

#[derive(clap::Args)]
pub struct RunArgs {
    /// A playbook (DSL v2 `Playbook`, or the spec's bare `workflow:` list).
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
    /// Check the playbook (as `noetl-host check` does) and stop; nothing runs.
    #[arg(long)]
    dry_run: bool,
    /// A directory `kind: playbook` steps may read playbooks from, besides the directory tree
    /// of FILE (where they are looked for first, relative to the caller); repeatable.
    #[arg(long = "catalog", value_name = "DIR")]
    catalogs: Vec<PathBuf>,
    /// Write the execution's event log here, one JSON event per line (secrets redacted).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

pub async fn run(global: &GlobalArgs, args: RunArgs) -> Result<u8, Failure> {
    let host = setup::load_for_playbook(global, &args.file).await?;
    let (document, problems, sha256) = check::check_file(&host, &args.file).await?;
    for problem in &problems {
        eprintln!("{problem}");
    }
    let Some(mut document) = document.filter(|_| problems.is_empty()) else {
        return Err(Failure::new(2, format!("{}: {} problem(s); nothing was run", args.file.display(), problems.len())));
    };
    if args.dry_run {
        println!("{}: ok (dry run: nothing was run)", args.file.display());
        return Ok(0);
    }
    for set in &args.sets {
        apply_set(&mut document.workload, set)?;
    }
    let secrets = setup::secrets(global, &host).await?;
    let executor = setup::executor(global, &host, &secrets).await?;
    let renderer = setup::renderer(&host, &secrets, args.strict)?;
    let progress = TerminalProgress::new();
    let base_dir = args.file.canonicalize().ok().and_then(|p| p.parent().map(|d| d.to_path_buf()));
    let catalog_roots = CatalogRoots::new(base_dir.as_deref(), &args.catalogs).map_err(|e| Failure::new(2, format!("{e:#}")))?;
    let runner = Runner {
        executor: &executor,
        renderer: &renderer,
        secrets: &secrets,
        execution_id: args.execution_id.unwrap_or_else(generated_execution_id),
        base_dir,
        playbook_sha256: Some(sha256),
        redactor: secrets.redactor().clone(),
        progress: &progress,
        keep_events: args.events.is_some(),
        catalog_roots,
        depth: 0,
    };
    let (report, log) = runner.run(&document).await.map_err(|e| Failure::new(2, secrets.redactor().redact(&format!("{e:#}")).into_owned()))?;
    if let Some(path) = &args.events {
        let lines = secrets.redactor().redact(&log.to_json_lines()).into_owned();
        std::fs::write(path, lines).map_err(|e| Failure::new(4, format!("--events {}: {e}", path.display())))?;
    }
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string(&report).map_err(|e| Failure::new(4, e.to_string()))?),
        OutputFormat::Text => print_text(&report),
    }
    Ok(exit_code(&report))
}

fn exit_code(report: &RunReport) -> u8 {
    match report.steps.iter().find(|s| s.status != "success") {
        None if report.succeeded() => 0,
        None => 1,
        Some(failed) if failed.response.get("errors").is_some() => 2,
        Some(_) => 1,
    }
}

fn print_text(report: &RunReport) {
    for step in &report.steps {
        let data = &step.response["data"];
        let item = step.iteration.map(|i| format!(" [item {i}]")).unwrap_or_default();
        println!("── {}{item} ({}) → {}", step.step, step.tool, step.status);
        if let Some(output) = data.get("output").and_then(Value::as_str).filter(|o| !o.is_empty()) {
            println!("{}", output.trim_end());
        } else if !data.is_null() && data.get("output").is_none() {
            println!("{}", serde_json::to_string_pretty(data).unwrap_or_default());
        }
        if let Some(error) = step.response.get("error").and_then(Value::as_str) {
            println!("error: {error}");
        }
    }
    if let Some(error) = &report.error {
        println!("error: {error}");
    }
    let ok = report.steps.iter().filter(|s| s.status == "success").count();
    println!(
        "playbook {}: {} ({ok} of {} tool calls succeeded, execution {})",
        report.playbook,
        report.status,
        report.steps.len(),
        report.execution_id
    );
}

/// `a.b=value`: the value parsed as YAML (so numbers stay numbers), set at the dotted path.
fn apply_set(workload: &mut Value, set: &str) -> Result<(), Failure> {
    let (key, raw) = set.split_once('=').ok_or_else(|| Failure::new(2, format!("--set `{set}` has no `=`; write --set key=value")))?;
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
