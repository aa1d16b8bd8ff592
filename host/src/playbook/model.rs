//! The playbook document: the spec's bare `workflow:` list, or a NoETL `Playbook`
//! (`apiVersion`, `kind: Playbook`, `metadata`, `workload`, `workflow`).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub workload: Value,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub desc: Option<String>,
    /// The step's `tool` object, templates not yet rendered.
    pub tool: Value,
    /// Steps to go to next (`next:`); empty means the following step in the list.
    pub next: Vec<String>,
    /// Render templates inside `tool.script.content` too (off by default, so a script
    /// that itself contains `{{` reaches the pod intact).
    pub render_script: bool,
}

const STEP_KEYS: &[&str] = &["step", "desc", "tool", "next", "render_script"];
const PLAYBOOK_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "workload", "workflow"];

impl Playbook {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading playbook {}", path.display()))?;
        let fallback = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Self::parse(&text, &fallback).with_context(|| format!("in playbook {}", path.display()))
    }

    pub fn parse(text: &str, fallback_name: &str) -> anyhow::Result<Self> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| anyhow::anyhow!("not valid YAML: {e}"))?;
        let Some(object) = doc.as_object() else { bail!("a playbook is a mapping with a `workflow:` list") };
        if let Some(key) = object.keys().find(|k| !PLAYBOOK_KEYS.contains(&k.as_str())) {
            bail!("unknown top-level key `{key}`; a playbook has {}", PLAYBOOK_KEYS.join(", "));
        }
        if let Some(kind) = object.get("kind")
            && kind != "Playbook"
        {
            bail!("`kind` is {kind}; this runner reads `kind: Playbook` documents or a bare `workflow:` list");
        }
        let name = object
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(fallback_name)
            .to_string();
        let workload = object.get("workload").cloned().unwrap_or_else(|| Value::Object(Default::default()));
        let workflow = object.get("workflow").and_then(Value::as_array).context("`workflow` is missing or not a list of steps")?;
        let steps = workflow.iter().enumerate().map(|(i, step)| parse_step(i, step)).collect::<anyhow::Result<Vec<_>>>()?;
        check_names(&steps)?;
        Ok(Playbook { name, workload, steps })
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

fn parse_step(index: usize, value: &Value) -> anyhow::Result<Step> {
    let at = format!("workflow[{index}]");
    let object = value.as_object().with_context(|| format!("{at} is not a mapping"))?;
    if let Some(key) = object.keys().find(|k| !STEP_KEYS.contains(&k.as_str())) {
        bail!("{at}: unknown key `{key}`; a step has {}", STEP_KEYS.join(", "));
    }
    let name = object.get("step").and_then(Value::as_str).with_context(|| format!("{at}.step is missing; name the step"))?;
    let tool = object.get("tool").cloned().with_context(|| format!("{at} (`{name}`) has no `tool`"))?;
    if !tool.get("kind").is_some_and(Value::is_string) {
        bail!("{at}.tool.kind is missing; name the tool, e.g. `kind: script`");
    }
    Ok(Step {
        name: name.into(),
        desc: object.get("desc").and_then(Value::as_str).map(str::to_string),
        tool,
        next: parse_next(&at, object.get("next"))?,
        render_script: object.get("render_script").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// `next: b`, `next: [b, c]` or `next: [{step: b}]`. Conditional routing (`when`) is not
/// supported by this runner and is refused rather than ignored.
fn parse_next(at: &str, next: Option<&Value>) -> anyhow::Result<Vec<String>> {
    let entry = |v: &Value| -> anyhow::Result<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) if o.contains_key("when") => {
                bail!("{at}.next: conditional `when` routing is not supported by this runner; list steps without `when`")
            }
            Value::Object(o) => o.get("step").and_then(Value::as_str).map(str::to_string).with_context(|| format!("{at}.next entry has no `step`")),
            _ => bail!("{at}.next must be a step name or a list of `{{step: name}}`"),
        }
    };
    let next: Vec<String> = match next {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(entry).collect::<anyhow::Result<_>>()?,
        Some(other) => vec![entry(other)?],
    };
    if next.len() > 1 {
        bail!("{at}.next lists {} steps; fan-out is not supported by this runner, give one next step", next.len());
    }
    Ok(next)
}

fn check_names(steps: &[Step]) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for step in steps {
        if !seen.insert(step.name.as_str()) {
            bail!("two steps are named `{}`; step names must be unique", step.name);
        }
    }
    for step in steps {
        for next in &step.next {
            if next != "end" && !seen.contains(next.as_str()) {
                bail!("step `{}` has next `{next}`, but there is no such step", step.name);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bare_workflows_and_playbooks() {
        let bare = Playbook::parse("workflow:\n  - step: a\n    tool: {kind: script}\n", "file").unwrap();
        assert_eq!((bare.name.as_str(), bare.steps.len()), ("file", 1));
        let full = Playbook::parse(
            "apiVersion: noetl.io/v1\nkind: Playbook\nmetadata: {name: p}\nworkload: {x: 1}\nworkflow:\n  - step: a\n    tool: {kind: script}\n    next: [{step: b}]\n  - step: b\n    tool: {kind: script}\n",
            "file",
        )
        .unwrap();
        assert_eq!(full.name, "p");
        assert_eq!(full.workload["x"], 1);
        assert_eq!(full.steps[0].next, vec!["b"]);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("workflow:\n  - step: a\n    tool: {kind: script}\n    nxt: b\n", "workflow[0]: unknown key `nxt`"),
            ("workflow:\n  - tool: {kind: script}\n", "workflow[0].step is missing"),
            ("workflow:\n  - step: a\n    tool: {}\n", "workflow[0].tool.kind is missing"),
            ("workflow:\n  - step: a\n    tool: {kind: s}\n    next: zz\n", "no such step"),
            ("workflow:\n  - step: a\n    tool: {kind: s}\n  - step: a\n    tool: {kind: s}\n", "two steps are named `a`"),
            ("workflow:\n  - step: a\n    tool: {kind: s}\n    next: [{step: a, when: x}]\n", "`when` routing is not supported"),
            ("kind: Job\nworkflow: []\n", "`kind` is \"Job\""),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Playbook::parse(text, "f").unwrap_err());
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}
