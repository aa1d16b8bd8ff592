//! A playbook file as the runner needs it: upstream's DSL v2 document for the core
//! (`noetl_orchestrate_core::playbook::Playbook`), and beside it the raw step configs the
//! runner renders and runs itself.
//!
//! Translation, so that the core accepts every playbook we can run:
//! - each step's `tool` reaches the core as `{kind}` only (a tool list as `[{name, kind}]`):
//!   the runner renders the raw config in the sandboxed template plugin, so the core has
//!   nothing of it to render (no script text it could choke on, no secret it could see);
//! - a kind the core's closed `ToolKind` list does not know (a third-party plugin such as
//!   `json-transform`) is presented as [`FOREIGN_KIND`];
//! - the spec's bare `workflow:` form (no `apiVersion`, `metadata` or `start` step) is
//!   wrapped into a `Playbook` with a synthetic `start` step that the runner completes
//!   itself, with no plugin call; its steps without `next` go on to the following step,
//!   as they always did.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail};
use noetl_orchestrate_core::playbook::{Playbook as CorePlaybook, ToolKind};
use serde_json::{Map, Value, json};

/// The kind a third-party tool is presented to the core as (the core's kind for a
/// compiled WASM plugin; the runner never reads it back).
pub const FOREIGN_KIND: &str = "wasm";

/// The core's fixed entry step.
pub const ENTRY_STEP: &str = "start";

/// A YAML error as it may be shown: the parser's line and column only. serde_yaml's own
/// message can quote the text (`invalid type: string "root:*:..."`, a duplicate key), and the
/// file may be anything a playbook path pointed at.
pub fn yaml_error_position(error: &serde_yaml::Error) -> String {
    match error.location() {
        Some(at) => format!("YAML error at line {}, column {}", at.line(), at.column()),
        None => "YAML error (no position given)".to_string(),
    }
}

/// A serde message with every double-quoted value replaced by `"…"`: `invalid type: string
/// "x", expected a sequence` keeps its shape and loses the value.
pub fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    out.push_str(parts.next().unwrap_or_default());
    let mut inside = true;
    for part in parts {
        out.push('"');
        out.push_str(if inside { "…" } else { part });
        inside = !inside;
    }
    out
}

/// One task of a step's tool: a single tool has one, named after the step.
#[derive(Debug, Clone)]
pub struct Task {
    pub label: String,
    /// The raw `tool` object (`kind` and the tool's fields), templates not yet rendered.
    pub config: Value,
}

/// A step as the runner runs it.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    /// One task for `tool: {kind, ...}`; several, in order, for a tool list.
    pub tasks: Vec<Task>,
    /// `tool: [...]`: the core packages it as one `task_sequence` command.
    pub is_sequence: bool,
    /// Step-level `args`/`input`, handed to a tool whose config has no `args`.
    pub args: Option<Value>,
    /// Step-level `vars`: rendered against the step's result after it succeeds.
    pub vars: Option<Map<String, Value>>,
    /// Render templates inside `tool.script.content` too (off by default, so a script
    /// that itself contains `{{` reaches the pod intact).
    pub render_script: bool,
}

impl Step {
    /// `script`, or `script+json-transform` for a tool list.
    pub fn tool_label(&self) -> String {
        self.tasks.iter().map(|t| t.config["kind"].as_str().unwrap_or("?")).collect::<Vec<_>>().join("+")
    }
}

/// A loaded playbook.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub workload: Value,
    /// Playbook-level `vars` (rendered once at the start).
    pub vars: Map<String, Value>,
    /// Aliases declared under `keychain:`.
    pub keychain: Vec<String>,
    pub steps: BTreeMap<String, Step>,
    /// Step names in file order (for reports and `check --graph`).
    pub order: Vec<String>,
    /// The bare `workflow:` form got a synthetic `start` step (the runner completes it).
    pub synthetic_entry: bool,
    /// What the core routes.
    pub core: CorePlaybook,
    /// [`Document::core`] as the JSON it was read from: what the router component parses
    /// (`plugins/router`), so that the sandboxed core reads exactly what this one did.
    pub core_json: String,
}

impl Document {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading playbook {}", path.display()))?;
        let fallback = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Self::parse(&text, &fallback).with_context(|| format!("in playbook {}", path.display()))
    }

    pub fn parse(text: &str, fallback_name: &str) -> anyhow::Result<Self> {
        let raw: Value = serde_yaml::from_str(text).map_err(|e| anyhow::anyhow!("not a valid playbook: {}", yaml_error_position(&e)))?;
        Self::from_value(raw, fallback_name)
    }

    /// Translate a raw document (already checked by [`super::check`] when it comes from
    /// the CLI; errors here are the ones the core's own types raise).
    pub fn from_value(raw: Value, fallback_name: &str) -> anyhow::Result<Self> {
        let Value::Object(mut doc) = raw else { bail!("a playbook is a mapping with a `workflow:` list") };
        let bare = !doc.contains_key("apiVersion");
        let name = doc.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or(fallback_name).to_string();
        let workload = doc.get("workload").cloned().unwrap_or_else(|| json!({}));
        let vars = doc.get("vars").and_then(Value::as_object).cloned().unwrap_or_default();
        let keychain = doc
            .get("keychain")
            .and_then(Value::as_array)
            .map(|entries| entries.iter().filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string)).collect())
            .unwrap_or_default();
        let mut workflow = match doc.remove("workflow") {
            Some(Value::Array(steps)) => steps,
            _ => bail!("`workflow` is missing or not a list of steps"),
        };
        let mut steps = BTreeMap::new();
        let mut order = Vec::new();
        let synthetic_entry = bare && !workflow.iter().any(|s| s.get("step").and_then(Value::as_str) == Some(ENTRY_STEP));
        if bare {
            link_in_file_order(&mut workflow);
        }
        for raw_step in &mut workflow {
            let step = take_step(raw_step)?;
            order.push(step.name.clone());
            steps.insert(step.name.clone(), step);
        }
        if synthetic_entry {
            let first = order.first().cloned().context("`workflow` has no steps")?;
            workflow.insert(0, json!({"step": ENTRY_STEP, "tool": {"kind": "noop"}, "next": first}));
        }
        doc.insert("workflow".into(), Value::Array(workflow));
        // Secrets and reusable tasks are the runner's business; the core only routes.
        doc.remove("keychain");
        doc.remove("workbook");
        if bare {
            doc.insert("apiVersion".into(), json!("noetl.io/v2"));
            doc.insert("kind".into(), json!("Playbook"));
            doc.insert("metadata".into(), json!({"name": name}));
        }
        let doc = Value::Object(doc);
        let core_json = doc.to_string();
        let core: CorePlaybook =
            serde_json::from_value(doc).map_err(|e| anyhow::anyhow!("not a DSL v2 playbook: {}", without_quoted_values(&e.to_string())))?;
        Ok(Document { name, workload, vars, keychain, steps, order, synthetic_entry, core, core_json })
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.get(name)
    }

    /// Steps in file order.
    pub fn steps_in_order(&self) -> impl Iterator<Item = &Step> {
        self.order.iter().filter_map(|name| self.steps.get(name))
    }

    /// Every tool kind the steps name (`playbook` included).
    pub fn tool_kinds(&self) -> BTreeSet<String> {
        self.steps.values().flat_map(|step| &step.tasks).filter_map(|task| task.config["kind"].as_str()).map(str::to_string).collect()
    }
}

/// The bare form's rule: a step without `next` goes on to the following step.
fn link_in_file_order(workflow: &mut [Value]) {
    let names: Vec<Option<String>> = workflow.iter().map(|s| s.get("step").and_then(Value::as_str).map(str::to_string)).collect();
    for (i, step) in workflow.iter_mut().enumerate() {
        let Some(object) = step.as_object_mut() else {
            continue;
        };
        if object.get("next").is_none_or(Value::is_null)
            && let Some(Some(following)) = names.get(i + 1)
        {
            object.insert("next".into(), json!(following));
        }
    }
}

/// Take the runner's part out of a raw step and leave the core's (the tool reduced to
/// its kind, our own `render_script` key removed).
fn take_step(raw: &mut Value) -> anyhow::Result<Step> {
    let object = raw.as_object_mut().context("a step is not a mapping")?;
    let name = object.get("step").and_then(Value::as_str).context("a step has no `step` name")?.to_string();
    let render_script = object.remove("render_script").and_then(|v| v.as_bool()).unwrap_or(false);
    // Step `args` go to the tool config, rendered in the sandbox: the core never sees them.
    let args = object.remove("args").or_else(|| object.remove("input"));
    object.remove("input");
    let vars = object.get("vars").and_then(Value::as_object).cloned();
    let (tasks, is_sequence, core_tool) = match object.get("tool") {
        Some(Value::Array(items)) => {
            let tasks = items.iter().enumerate().map(|(i, item)| task_of(&name, i, item)).collect::<anyhow::Result<Vec<_>>>()?;
            let core = tasks.iter().map(|t| json!({"name": t.label, "kind": core_kind(&t.config)})).collect();
            (tasks, true, Value::Array(core))
        }
        Some(tool @ Value::Object(_)) => {
            let core = json!({"kind": core_kind(tool)});
            (vec![Task { label: name.clone(), config: tool.clone() }], false, core)
        }
        _ => bail!("step `{name}` has no `tool` mapping"),
    };
    object.insert("tool".into(), core_tool);
    Ok(Step { name, tasks, is_sequence, args, vars, render_script })
}

/// A tool-list item: `{name: label, kind, ...}` or `{label: {kind, ...}}`.
fn task_of(step: &str, index: usize, item: &Value) -> anyhow::Result<Task> {
    let object = item.as_object().with_context(|| format!("step `{step}` tool[{index}] is not a mapping"))?;
    if object.contains_key("kind") {
        let label = object.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut config = item.clone();
        config.as_object_mut().expect("checked above").remove("name");
        return Ok(Task { label, config });
    }
    match object.iter().next() {
        Some((label, config)) if object.len() == 1 && config.is_object() => Ok(Task { label: label.clone(), config: config.clone() }),
        _ => bail!("step `{step}` tool[{index}] is neither `{{name, kind, ...}}` nor `{{label: {{kind, ...}}}}`"),
    }
}

/// The kind the core is shown: the tool's own when the core knows it, else [`FOREIGN_KIND`].
fn core_kind(tool: &Value) -> String {
    let kind = tool.get("kind").and_then(Value::as_str).unwrap_or_default();
    match serde_json::from_value::<ToolKind>(json!(kind)) {
        Ok(_) => kind.to_string(),
        Err(_) => FOREIGN_KIND.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noetl_orchestrate_core::playbook::{NextSpec, ToolDefinition};

    #[test]
    fn a_bare_workflow_gets_an_entry_step_and_file_order_links() {
        let doc =
            Document::parse("workflow:\n  - step: a\n    tool: {kind: script}\n  - step: b\n    tool: {kind: json-transform}\n", "file").unwrap();
        assert!(doc.synthetic_entry);
        assert_eq!(doc.name, "file");
        assert_eq!(doc.order, ["a", "b"]);
        let core = &doc.core;
        assert!(matches!(&core.get_step("start").unwrap().next, Some(NextSpec::Single(n)) if n == "a"));
        assert!(matches!(&core.get_step("a").unwrap().next, Some(NextSpec::Single(n)) if n == "b"));
        assert!(core.get_step("b").unwrap().next.is_none());
        // The third-party kind reaches the core as `wasm`, the runner keeps the real one.
        let ToolDefinition::Single(tool) = &core.get_step("b").unwrap().tool else { panic!("single tool") };
        assert_eq!(tool.kind, ToolKind::Wasm);
        assert_eq!(doc.step("b").unwrap().tasks[0].config["kind"], "json-transform");
    }

    #[test]
    fn the_core_sees_tool_kinds_only() {
        let doc = Document::parse(
            "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: p}\nworkflow:\n  - step: start\n    tool: {kind: script, script: {type: inline, content: 'x {{ y'}}\n    next: [{step: two}]\n  - step: two\n    tool:\n      - {name: first, kind: script}\n      - second: {kind: word-stats, text: hi}\n",
            "f",
        )
        .unwrap();
        assert!(!doc.synthetic_entry);
        let ToolDefinition::Single(tool) = &doc.core.get_step("start").unwrap().tool else { panic!() };
        assert!(tool.extra.is_empty() && tool.args.is_none());
        let two = doc.step("two").unwrap();
        assert!(two.is_sequence);
        assert_eq!(two.tasks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["first", "second"]);
        assert_eq!(two.tool_label(), "script+word-stats");
    }
}
