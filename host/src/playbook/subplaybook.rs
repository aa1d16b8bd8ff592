//! `kind: playbook`: a step that runs another playbook file to completion, as a child
//! execution on the same plugins, backend and secrets. The file is found relative to the
//! calling playbook, else under each `--catalog DIR`; `.yaml` may be left out. The step's
//! `args` override the child's workload; its result is every child step's result by name.
//!
//! A playbook names the file, so the file is untrusted input: it is read only when it lies,
//! symlinks resolved, inside the [`CatalogRoots`] (the entry playbook's directory tree and
//! the `--catalog` directories). The roots are fixed when the entry playbook starts and
//! handed down unchanged to every child, so a child cannot widen them. A file that is not a
//! playbook is named with the parser's position only, never quoted.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Map, Value, json};

use super::check::check_text;
use super::{Document, Runner};

/// How deep playbooks may call playbooks (a cycle stops here with a clear error).
pub const MAX_DEPTH: usize = 8;

/// The directories `kind: playbook` files may be read from, canonical (symlinks resolved):
/// the directory of the playbook the user ran (with everything below it) and each
/// `--catalog` directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogRoots {
    roots: Vec<PathBuf>,
}

impl CatalogRoots {
    /// The roots for an entry playbook in `entry_dir` (none when it has no directory) and the
    /// `--catalog` directories; a catalog that cannot be opened is an error naming it.
    pub fn new(entry_dir: Option<&Path>, catalogs: &[PathBuf]) -> anyhow::Result<Self> {
        let mut roots = Vec::new();
        if let Some(dir) = entry_dir {
            roots.push(dir.canonicalize().with_context(|| format!("the playbook's directory {}", dir.display()))?);
        }
        for catalog in catalogs {
            let root = catalog
                .canonicalize()
                .ok()
                .filter(|root| root.is_dir())
                .with_context(|| format!("--catalog {}: not a directory that can be opened; give a directory of playbooks", catalog.display()))?;
            roots.push(root);
        }
        roots.dedup();
        Ok(CatalogRoots { roots })
    }

    /// Whether the canonical path `file` lies inside one of the roots.
    fn contain(&self, file: &Path) -> bool {
        self.roots.iter().any(|root| file.starts_with(root))
    }

    fn describe(&self) -> String {
        if self.roots.is_empty() {
            return "none (no playbook directory and no --catalog)".to_string();
        }
        self.roots.iter().map(|root| root.display().to_string()).collect::<Vec<_>>().join(", ")
    }
}

/// Where a `kind: playbook` step's `path` leads: the canonical file, looked for relative to
/// `base_dir` (the calling playbook's directory), then in each root. The first candidate
/// that exists decides: inside the roots it is the answer, outside it is refused (it is
/// never read, and no later candidate is tried in its place).
pub fn resolve(path: &str, base_dir: Option<&Path>, roots: &CatalogRoots) -> anyhow::Result<PathBuf> {
    let names = [PathBuf::from(path), PathBuf::from(format!("{path}.yaml")), PathBuf::from(format!("{path}.yml"))];
    let mut dirs: Vec<&Path> = Vec::new();
    for dir in base_dir.into_iter().chain(roots.roots.iter().map(PathBuf::as_path)) {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    let mut tried = Vec::new();
    for dir in &dirs {
        for name in &names {
            let candidate = dir.join(name);
            if !candidate.is_file() {
                tried.push(candidate.display().to_string());
                continue;
            }
            let real = candidate.canonicalize().with_context(|| format!("playbook `{path}`: resolving {}", candidate.display()))?;
            if roots.contain(&real) {
                return Ok(real);
            }
            let leads = if real == candidate { String::new() } else { format!(" (it leads to {})", real.display()) };
            anyhow::bail!(
                "playbook `{path}` was refused: {}{leads} is outside the catalog roots ({}); a sub-playbook is read only from \
                 the directory tree of the playbook that was run and from --catalog directories: move it there, or pass \
                 --catalog DIR for the directory that holds it",
                candidate.display(),
                roots.describe()
            );
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
        let file = resolve(path, self.base_dir.as_deref(), &self.catalog_roots)?;
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
            catalog_roots: self.catalog_roots.clone(),
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
