//! `kind: playbook`: a step that runs another playbook file to completion, as a child
//! execution on the same plugins, backend and secrets. The file is found relative to the
//! calling playbook, else under `--catalog DIR`; `.yaml` may be left out. The step's
//! `args` override the child's workload; its result is every child step's result by name.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Map, Value, json};

use super::check::check_text;
use super::{Document, Runner};

/// How deep playbooks may call playbooks (a cycle stops here with a clear error).
pub const MAX_DEPTH: usize = 8;

/// Where a `kind: playbook` step looks for `path`.
pub fn resolve(path: &str, base_dir: Option<&Path>, catalog: Option<&Path>) -> anyhow::Result<PathBuf> {
    let names = [PathBuf::from(path), PathBuf::from(format!("{path}.yaml")), PathBuf::from(format!("{path}.yml"))];
    let roots: Vec<&Path> = base_dir.into_iter().chain(catalog).collect();
    let mut tried = Vec::new();
    for root in &roots {
        for name in &names {
            let candidate = root.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
    }
    anyhow::bail!(
        "playbook `{path}` was not found; tried {}; give a path relative to the calling playbook or pass --catalog DIR",
        if tried.is_empty() { "nothing (no playbook directory and no --catalog)".to_string() } else { tried.join(", ") }
    )
}

impl Runner<'_> {
    /// Run the rendered `kind: playbook` config as a child execution; the response has
    /// the tool response shape (`status`, `data`, `error`).
    pub(super) async fn call_playbook(&self, step: &str, config: &Value) -> anyhow::Result<Value> {
        if self.depth >= MAX_DEPTH {
            anyhow::bail!("step `{step}`: playbooks call each other more than {MAX_DEPTH} deep; is there a cycle?");
        }
        let path = config.get("path").and_then(Value::as_str).with_context(|| format!("step `{step}`: `tool.path` is missing; name the playbook file"))?;
        let file = resolve(path, self.base_dir.as_deref(), self.catalog.as_deref())?;
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading playbook {}", file.display()))?;
        let problems = check_text(&text);
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::bail!("playbook {} (step `{step}`) has problems:\n  {}", file.display(), list.join("\n  "));
        }
        let fallback = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut child = Document::parse(&text, &fallback)?;
        if let (Some(args), Some(workload)) = (config.get("args").and_then(Value::as_object), child.workload.as_object_mut()) {
            workload.extend(args.clone());
        }
        let runner = Runner {
            execution_id: format!("{}.{step}", self.execution_id),
            base_dir: file.parent().map(Path::to_path_buf),
            playbook_sha256: Some(crate::execute::sha256_hex(text.as_bytes())),
            redactor: self.redactor.clone(),
            catalog: self.catalog.clone(),
            depth: self.depth + 1,
            keep_events: false,
            ..*self
        };
        let (report, _) = Box::pin(runner.run(&child)).await?;
        let mut steps = Map::new();
        for call in &report.steps {
            steps.insert(call.step.clone(), call.response.get("data").cloned().unwrap_or(Value::Null));
        }
        let data = json!({"playbook": report.playbook, "execution_id": report.execution_id, "steps": steps});
        Ok(match report.error {
            None => json!({"status": "success", "data": data}),
            Some(error) => json!({"status": "error", "error": format!("playbook {}: {error}", file.display()), "data": data}),
        })
    }
}
