//! `noetl-host check FILE`: every problem of a playbook at once, nothing run. The
//! document pass ([`noetl_host::playbook::check`]) plus what needs the installed plugins:
//! each tool kind must be provided by a plugin, and each tool config that no template
//! makes undecidable goes through its plugin's own validation (`plan`, no job created).
//! `--graph` prints the steps and arcs as a Mermaid flowchart.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use noetl_host::bindings::types::ToolError;
use noetl_host::capability::Capabilities;
use noetl_host::execute::call_env;
use noetl_host::playbook::Document;
use noetl_host::playbook::check::{Problem, check_text};

use super::setup::Loaded;
use super::{Failure, GlobalArgs, setup};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// A playbook (DSL v2 `Playbook`, or the spec's bare `workflow:` list).
    file: PathBuf,
    /// Print the steps and arcs (with their `when`) as a Mermaid flowchart.
    #[arg(long)]
    graph: bool,
}

pub async fn run(global: &GlobalArgs, args: CheckArgs) -> Result<u8, Failure> {
    let host = setup::load_for_playbook(global, &args.file).await?;
    let (document, problems, sha256) = check_file(&host, &args.file).await?;
    for problem in &problems {
        println!("{problem}");
    }
    if args.graph
        && let Some(document) = &document
    {
        print!("{}", noetl_host::playbook::graph::mermaid(document));
    }
    if !problems.is_empty() {
        return Err(Failure::new(2, format!("{}: {} problem(s); fix them and check again", args.file.display(), problems.len())));
    }
    if !args.graph {
        println!("{}: ok (sha256 {sha256}, for a local.network grant)", args.file.display());
    }
    Ok(0)
}

/// The playbook at `path`, every problem found in it (the document only when it
/// translates), and the SHA-256 of the bytes read (what `local.network` grants pin).
pub async fn check_file(host: &Loaded, path: &Path) -> Result<(Option<Document>, Vec<Problem>, String), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::new(2, format!("reading playbook {}: {e}", path.display())))?;
    let mut problems = check_text(&text);
    let fallback = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let document = if problems.is_empty() { Document::parse(&text, &fallback).ok() } else { None };
    if let Some(document) = &document {
        problems.extend(plugin_problems(host, document, path.parent()).await);
    }
    Ok((document, problems, noetl_host::execute::sha256_hex(text.as_bytes())))
}

/// Tool kinds without a plugin, and configs their plugin rejects.
async fn plugin_problems(host: &Loaded, document: &Document, base_dir: Option<&Path>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let installed = host.plugins.kinds();
    for step in document.steps_in_order() {
        for (index, task) in step.tasks.iter().enumerate() {
            let field = if step.is_sequence { format!("tool[{index}]") } else { "tool".to_string() };
            let kind = task.config["kind"].as_str().unwrap_or_default();
            if kind == noetl_host::playbook::PLAYBOOK_KIND {
                continue; // run by the runner itself; the file is found at run time
            }
            let Ok(plugin) = host.plugins.tool(kind) else {
                problems.push(Problem::new(
                    Some(&step.name),
                    format!("{field}.kind"),
                    format!("step `{}` uses tool kind `{kind}`; no plugin provides it; installed: {}", step.name, installed.join(", ")),
                    "install a plugin for it (--plugin FILE or --plugin-dir DIR) or use an installed kind",
                ));
                continue;
            };
            let mut config = task.config.clone();
            if let (Some(args), Some(object)) = (&step.args, config.as_object_mut()) {
                object.entry("args").or_insert_with(|| args.clone());
            }
            if has_template(&config) {
                continue; // decided only at run time
            }
            let env = call_env(&host.policy, plugin, base_dir.map(Path::to_path_buf), &Capabilities::default(), None);
            let context = json!({"execution_id": "check", "step": step.name});
            if let Ok(Err(ToolError::InvalidConfig(errors))) = plugin.plan(&env, &config.to_string(), &context.to_string()).await {
                for error in errors {
                    problems.push(Problem::new(
                        Some(&step.name),
                        format!("{field}.{}", error.field.trim_start_matches("tool.")),
                        error.message,
                        error.fix,
                    ));
                }
            }
        }
    }
    problems
}

fn has_template(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(items) => items.iter().any(has_template),
        Value::Object(map) => map.values().any(has_template),
        _ => false,
    }
}
