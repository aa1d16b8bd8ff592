//! `check`: every problem of a playbook at once, before anything runs. This pass reads
//! the raw YAML itself (so one serde error does not hide the rest): structure, step
//! references, loops, template syntax, what this runner does not support, and secrets
//! that would reach routing. What needs the installed plugins (tool kinds, each tool's
//! own validation) is checked by the CLI on top of this.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::document::{Document, ENTRY_STEP, yaml_error_position};
use super::keychain;

/// One problem: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub step: Option<String>,
    /// Dotted path inside the step (or the document): `next.arcs[0].step`.
    pub field: String,
    pub message: String,
    pub fix: String,
}

impl Problem {
    pub fn new(step: Option<&str>, field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem { step: step.map(str::to_string), field: field.into(), message: message.into(), fix: fix.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(f, "step `{step}`, `{}`: {}; fix: {}", self.field, self.message, self.fix),
            None => write!(f, "`{}`: {}; fix: {}", self.field, self.message, self.fix),
        }
    }
}

const DOC_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "workload", "vars", "keychain", "workbook", "workflow"];
const STEP_KEYS: &[&str] = &["step", "desc", "spec", "when", "args", "input", "vars", "set", "loop", "tool", "next", "render_script"];
/// Tool-list task controls this runner does not execute (upstream's `task_sequence` has them).
const UNSUPPORTED_TASK_KEYS: &[&str] = &["eval", "set", "spec"];
/// Kinds the core knows but this runner cannot run as a step.
const UNSUPPORTED_KINDS: &[(&str, &str)] = &[
    ("workbook", "workbook tasks are not supported by this runner; write the task's tool in the step"),
    ("playbooks", "write one `kind: playbook` step per playbook (`path:` a file)"),
    ("task_sequence", "write a tool list (`tool: [...]`) instead of `kind: task_sequence`"),
];

/// Check playbook text. An empty list means it can run (as far as the document goes).
pub fn check_text(text: &str) -> Vec<Problem> {
    match serde_yaml::from_str::<Value>(text) {
        Ok(doc) => check_value(&doc),
        // The position only: the parser's message can quote the file, which may be anything.
        Err(e) => vec![Problem::new(None, "(file)", format!("not a valid playbook: {}", yaml_error_position(&e)), "fix the YAML syntax at that position")],
    }
}

/// Check a parsed document. A document that is not a playbook at all (not a mapping, or a
/// mapping with neither `workflow:` nor `kind: Playbook`) gets one problem that quotes
/// nothing of it: it may be any file a path pointed at.
pub fn check_value(doc: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(object) = doc.as_object() else {
        return vec![Problem::new(None, "(document)", "not a playbook: a playbook is a mapping", "write `workflow:` with a list of steps")];
    };
    if !object.contains_key("workflow") && object.get("kind").and_then(Value::as_str) != Some("Playbook") {
        return vec![Problem::new(
            None,
            "(document)",
            "not a playbook: it is a mapping with no `workflow:` list",
            "write `workflow:` with a list of steps (a DSL v2 playbook also has `apiVersion`, `kind: Playbook` and `metadata.name`)",
        )];
    }
    for key in object.keys().filter(|k| !DOC_KEYS.contains(&k.as_str())) {
        problems.push(Problem::new(None, key, "unknown top-level key", format!("remove it; a playbook has {}", DOC_KEYS.join(", "))));
    }
    let v2 = object.contains_key("apiVersion");
    if let Some(kind) = object.get("kind").filter(|k| k.as_str() != Some("Playbook")) {
        problems.push(Problem::new(None, "kind", format!("is {kind}"), "write `kind: Playbook`"));
    }
    if v2 {
        if object.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).is_none() {
            problems.push(Problem::new(None, "metadata.name", "missing", "name the playbook: `metadata: {name: my_playbook}`"));
        }
        if object.get("kind").is_none() {
            problems.push(Problem::new(None, "kind", "missing", "write `kind: Playbook`"));
        }
    }
    let declared = declared_keychain(object.get("keychain"), &mut problems);
    let Some(workflow) = object.get("workflow").and_then(Value::as_array).filter(|w| !w.is_empty()) else {
        problems.push(Problem::new(None, "workflow", "missing, empty or not a list", "list the steps under `workflow:`"));
        return problems;
    };
    let names = step_names(workflow, &mut problems);
    if v2 && !names.contains(ENTRY_STEP) {
        problems.push(Problem::new(None, "workflow", "no step is named `start`", "name the entry step `start` (a DSL v2 playbook starts there)"));
    }
    for (index, step) in workflow.iter().enumerate() {
        check_step(index, step, &names, &declared, &mut problems);
    }
    if let Some(vars) = object.get("vars") {
        routing_field(None, "vars", vars, &mut problems);
    }
    if problems.is_empty()
        && let Err(e) = Document::from_value(doc.clone(), "playbook")
    {
        problems.push(Problem::new(None, "(document)", format!("{e:#}"), "compare the step with the DSL v2 shapes in README.md"));
    }
    problems
}

fn declared_keychain(keychain: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<String> {
    let Some(keychain) = keychain else {
        return Vec::new();
    };
    let Some(entries) = keychain.as_array() else {
        problems.push(Problem::new(None, "keychain", "not a list", "write `keychain: [{name: ALIAS}]`"));
        return Vec::new();
    };
    let mut names = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match entry.get("name").and_then(Value::as_str) {
            Some(name) => names.push(name.to_string()),
            None => problems.push(Problem::new(None, format!("keychain[{i}].name"), "missing", "name the entry: `- name: ALIAS`")),
        }
    }
    names
}

fn step_names(workflow: &[Value], problems: &mut Vec<Problem>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (index, step) in workflow.iter().enumerate() {
        match step.get("step").and_then(Value::as_str) {
            Some(name) if !names.insert(name.to_string()) => {
                problems.push(Problem::new(Some(name), "step", "two steps have this name", "give every step a unique name"))
            }
            Some(_) => {}
            None => problems.push(Problem::new(None, format!("workflow[{index}].step"), "missing", "name the step: `- step: my_step`")),
        }
    }
    names
}

fn check_step(index: usize, step: &Value, names: &BTreeSet<String>, declared: &[String], problems: &mut Vec<Problem>) {
    let Some(object) = step.as_object() else {
        problems.push(Problem::new(None, format!("workflow[{index}]"), "not a mapping", "write a step as `- step: NAME` with `tool:`"));
        return;
    };
    let fallback = format!("workflow[{index}]");
    let name = object.get("step").and_then(Value::as_str).unwrap_or(&fallback);
    let at = Some(name);
    for key in object.keys().filter(|k| !STEP_KEYS.contains(&k.as_str())) {
        problems.push(Problem::new(at, key, "unknown key", format!("remove it; a step has {}", STEP_KEYS.join(", "))));
    }
    let render_script = object.get("render_script").and_then(Value::as_bool).unwrap_or(false);
    match object.get("tool") {
        Some(Value::Array(tasks)) if !tasks.is_empty() => {
            for (i, task) in tasks.iter().enumerate() {
                check_task(at, &format!("tool[{i}]"), task, true, render_script, declared, problems);
            }
        }
        Some(tool @ Value::Object(_)) => check_task(at, "tool", tool, false, render_script, declared, problems),
        _ => problems.push(Problem::new(at, "tool", "missing, empty or not a mapping/list", "give the step a tool: `tool: {kind: script, ...}`")),
    }
    check_next(at, object.get("next"), names, problems);
    if let Some(looped) = object.get("loop") {
        check_loop(at, looped, problems);
    }
    for field in ["when", "set", "vars"] {
        if let Some(value) = object.get(field) {
            routing_field(at, field, value, problems);
        }
    }
    // Step `args` go to the tool config (rendered in the sandbox), never to the core.
    for field in ["args", "input"] {
        if let Some(value) = object.get(field) {
            template_syntax(at, field, value, problems);
        }
    }
}

fn check_task(at: Option<&str>, field: &str, task: &Value, in_list: bool, render_script: bool, declared: &[String], problems: &mut Vec<Problem>) {
    // A list item is `{name, kind, ...}` or `{label: {kind, ...}}`.
    let config = match task.as_object() {
        Some(o) if in_list && !o.contains_key("kind") && o.len() == 1 => o.values().next().expect("one entry"),
        _ => task,
    };
    let Some(object) = config.as_object() else {
        problems.push(Problem::new(at, field, "not a mapping", "write the tool as `{kind: ..., ...}`"));
        return;
    };
    match object.get("kind").and_then(Value::as_str) {
        None => problems.push(Problem::new(at, format!("{field}.kind"), "missing", "name the tool, e.g. `kind: script`")),
        Some(kind) => {
            if let Some((_, fix)) = UNSUPPORTED_KINDS.iter().find(|(k, _)| *k == kind) {
                problems.push(Problem::new(at, format!("{field}.kind"), format!("`{kind}` is not supported"), *fix));
            }
            if kind == super::PLAYBOOK_KIND && !object.get("path").is_some_and(Value::is_string) {
                problems.push(Problem::new(at, format!("{field}.path"), "missing", "name the playbook file: `path: child.yaml` (relative to this playbook, or under --catalog)"));
            }
        }
    }
    if in_list {
        for key in UNSUPPORTED_TASK_KEYS.iter().filter(|k| object.contains_key(**k)) {
            problems.push(Problem::new(
                at,
                format!("{field}.{key}"),
                format!("tool-list `{key}` controls are not supported by this runner"),
                "remove it; a later task reads an earlier one's result as `{{ label }}` / `{{ label.data.x }}`",
            ));
        }
    }
    for (alias, key) in keychain::references(config) {
        if !declared.contains(&alias) {
            problems.push(Problem::new(
                at,
                field,
                format!("uses `keychain.{alias}.{key}` but no keychain entry is named `{alias}`"),
                format!("declare it: `keychain: [{{name: {alias}}}]`"),
            ));
        }
    }
    let mut templated = config.clone();
    if !render_script && let Some(content) = templated.get_mut("script").and_then(|s| s.get_mut("content")) {
        *content = Value::Null;
    }
    template_syntax(at, field, &templated, problems);
}

fn check_next(at: Option<&str>, next: Option<&Value>, names: &BTreeSet<String>, problems: &mut Vec<Problem>) {
    let target = |field: String, step: Option<&Value>, problems: &mut Vec<Problem>| match step.and_then(Value::as_str) {
        Some(name) if name == "end" || names.contains(name) => {}
        Some(name) => problems.push(Problem::new(
            at,
            field,
            format!("no step is named `{name}`"),
            format!("use one of: {}, end", names.iter().cloned().collect::<Vec<_>>().join(", ")),
        )),
        None => problems.push(Problem::new(at, field, "missing or not a step name", "name the next step")),
    };
    match next {
        None | Some(Value::Null) => {}
        Some(name @ Value::String(_)) => target("next".into(), Some(name), problems),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(_) => target(format!("next[{i}]"), Some(item), problems),
                    _ => target(format!("next[{i}].step"), item.get("step"), problems),
                }
            }
        }
        Some(Value::Object(router)) => {
            if let Some(mode) = router.get("spec").and_then(|s| s.get("mode"))
                && !matches!(mode.as_str(), Some("exclusive" | "inclusive"))
            {
                problems.push(Problem::new(
                    at,
                    "next.spec.mode",
                    format!("is {mode}"),
                    "write `exclusive` (first matching arc) or `inclusive` (every matching arc)",
                ));
            }
            match router.get("arcs").and_then(Value::as_array) {
                Some(arcs) => {
                    for (i, arc) in arcs.iter().enumerate() {
                        target(format!("next.arcs[{i}].step"), arc.get("step"), problems);
                    }
                }
                None => problems.push(Problem::new(at, "next.arcs", "missing or not a list", "write `next: {arcs: [{step: NAME, when: ...}]}`")),
            }
        }
        Some(other) => problems.push(Problem::new(at, "next", format!("is {other}"), "write a step name, a list, or `{arcs: [...]}`")),
    }
    if let Some(next) = next {
        routing_field(at, "next", next, problems);
    }
}

fn check_loop(at: Option<&str>, looped: &Value, problems: &mut Vec<Problem>) {
    if looped.get("iterator").and_then(Value::as_str).is_none() {
        problems.push(Problem::new(at, "loop.iterator", "missing", "name the loop variable: `iterator: item`"));
    }
    if looped.get("in").and_then(Value::as_str).is_none() {
        problems.push(Problem::new(at, "loop.in", "missing or not a string", "give the collection: `in: \"{{ workload.items }}\"`"));
    }
    let spec = looped.get("spec");
    match spec.and_then(|s| s.get("mode")).map(|m| m.as_str()) {
        None | Some(Some("sequential" | "parallel")) => {}
        Some(mode) => problems.push(Problem::new(
            at,
            "loop.spec.mode",
            format!("`{}` is not supported", mode.unwrap_or("?")),
            "write `sequential` or `parallel`",
        )),
    }
    if let Some(limit) = spec.and_then(|s| s.get("max_in_flight")).filter(|m| m.as_u64().is_none_or(|n| n == 0)) {
        problems.push(Problem::new(at, "loop.spec.max_in_flight", format!("is {limit}"), "give a positive whole number"));
    }
}

/// `when`, `set`, `vars`, `args`, `loop.in` and arcs are evaluated by the core (in the
/// router sandbox), whose context and results reach the event log and every later step:
/// secrets must never go there. And their template syntax must parse.
fn routing_field(at: Option<&str>, field: &str, value: &Value, problems: &mut Vec<Problem>) {
    let text = value.to_string();
    if !keychain::references(value).is_empty() || text.contains("secrets.") {
        problems.push(Problem::new(
            at,
            field,
            "refers to a secret, but routing and variables feed the execution's context and event log, where secrets never go",
            "use secrets only inside `tool` configs; route on a non-secret value the tool returns",
        ));
    }
    template_syntax(at, field, value, problems);
}

/// Every string of `value` must parse as a template. Parsed only, never compiled or
/// rendered: `check` (and `run` before it starts) evaluates nothing in the host process.
/// minijinja's code generator folds constant expressions (`{{ 'x' * 10**18 }}` would be
/// computed right here), so this stops at the parser's syntax tree; evaluation happens in
/// the sandbox (the template engine for tool configs, the router for routing). The parser
/// is the core's dialect (minijinja 2), with its own nesting limit.
fn template_syntax(at: Option<&str>, field: &str, value: &Value, problems: &mut Vec<Problem>) {
    use minijinja2::machinery::{WhitespaceConfig, parse};
    let mut strings = Vec::new();
    collect_strings(value, &mut strings);
    for text in strings.into_iter().filter(|s| s.contains("{{") || s.contains("{%")) {
        if let Err(e) = parse(text, "<template>", Default::default(), WhitespaceConfig::default()) {
            problems.push(Problem::new(
                at,
                field,
                format!("template does not parse: {e}"),
                "close every `{{ }}` / `{% %}` and check the expression",
            ));
        }
    }
}

fn collect_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        check_text(yaml).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let found = problems(
            "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: p}\nworkflow:\n  - step: start\n    tool: {kind: script}\n    nxt: a\n    next: {arcs: [{step: nowhere, when: '{{ x > }}'}]}\n  - step: b\n    tool: [{name: t, kind: script, eval: []}]\n    loop: {in: '{{ items }}', spec: {mode: cursor}}\n",
        );
        let expected = [
            "step `start`, `nxt`: unknown key",
            "step `start`, `next.arcs[0].step`: no step is named `nowhere`; fix: use one of: b, start, end",
            "step `start`, `next`: template does not parse",
            "step `b`, `tool[0].eval`: tool-list `eval` controls are not supported",
            "step `b`, `loop.iterator`: missing",
            "step `b`, `loop.spec.mode`: `cursor` is not supported",
        ];
        for expected in expected {
            assert!(found.iter().any(|p| p.contains(expected)), "{expected:?} not in {found:#?}");
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn secrets_in_routing_are_refused() {
        let found = problems(
            "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: p}\nkeychain: [{name: api}]\nworkflow:\n  - step: start\n    tool: {kind: script, env: {T: '{{ keychain.api.token }}'}}\n    next: {arcs: [{step: end, when: \"{{ keychain.api.token == 'x' }}\"}]}\n",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("step `start`, `next`: refers to a secret"), "{found:#?}");
    }

    #[test]
    fn a_yaml_error_is_one_problem_and_a_bare_workflow_needs_no_start() {
        assert!(problems("workflow: [").first().unwrap().contains("not a valid playbook: YAML error at line"));
        assert!(problems("workflow:\n  - step: a\n    tool: {kind: script}\n").is_empty());
        // Whatever a path pointed at, nothing of it is quoted back.
        for text in ["root:CANARY-SHADOW:20228:0:99999:7:::\n", "CANARY-KEY: 1\nCANARY-KEY: 2\n", "password: CANARY-PW\n", "- CANARY\n", "a: [CANARY\n"] {
            let all = problems(text).join("\n");
            assert!(!all.is_empty() && !all.contains("CANARY"), "{text:?} gave {all}");
        }
    }
}
