//! What the core is shown of each step's result.
//!
//! The core copies its whole context (workload, every result it holds, `set` variables)
//! several times per evaluation, and once more per completed step on every evaluation
//! (`with_ctx_shims`), so each result it holds costs again on every later evaluation:
//! quadratic over a long playbook. The core reads results only to route: `when`, `set`,
//! `loop.in`. A result that no routing template can reach is held here instead, and
//! laid over the context the core hands out with each command, exactly where the core
//! would have put it (`<step>` and `steps.<step>`, shaped by the core's own
//! `build_context`).
//!
//! A template reads a variable only by writing its name (the template engines have no
//! call that lists or looks up the context), so "no routing template can reach it" is
//! decided on the text: a step's result goes to the core when its name appears in any
//! routing template, when its own templates use `output` (the core's name for the
//! completing step's result), and always when a routing template uses `ctx` or `steps`
//! (the whole context). Results of loop steps and of steps whose name something else in
//! the core's context could also take (a workload key, a `set` key, a loop iterator, one
//! of the core's own names) always go to the core, so laying the held ones over never
//! overrides anything the core put there.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use noetl_orchestrate_core::state::{StepInfo, WorkflowState};
use serde_json::{Map, Value};

use super::document::Document;
use super::events::call_done_result;

/// Names the core's context gives a value of its own (or the runner adds to it).
const CORE_NAMES: [&str; 17] = [
    "workload",
    "steps",
    "ctx",
    "execution_id",
    "catalog_id",
    "path",
    "version",
    "iter",
    "_index",
    "_total",
    "output",
    "event",
    "vars",
    "loop",
    "keychain",
    "secrets",
    "_context_updates",
];

/// A result the core was not given.
#[derive(Debug)]
pub struct HeldResult {
    /// `{{ step }}`: what the core would have put at the top level.
    top: Option<Value>,
    /// `{{ steps.step }}`: the envelope the core would have stored (also what it is sent
    /// if it must be given the result later).
    envelope: Value,
}

/// The results held from the core at one moment (a command's share, taken when the core
/// issued it: the core's own context for it is from that moment too).
#[derive(Debug, Clone, Default)]
pub struct HeldResults(Arc<BTreeMap<String, Arc<HeldResult>>>);

impl HeldResults {
    /// Put each held result where the core would have, for the names `wanted` accepts.
    pub fn lay_over(&self, context: &mut Map<String, Value>, wanted: &dyn Fn(&str) -> bool) {
        for (name, held) in self.0.iter() {
            if let Some(top) = &held.top
                && wanted(name)
            {
                context.entry(name.clone()).or_insert_with(|| top.clone());
            }
        }
        if !self.0.is_empty()
            && wanted("steps")
            && let Some(Value::Object(steps)) = context.get_mut("steps")
        {
            for (name, held) in self.0.iter() {
                steps.entry(name.clone()).or_insert_with(|| held.envelope.clone());
            }
        }
    }
}

/// Decides, step by step, whether the core is given a result, and holds the others.
pub struct ResultView {
    /// A routing template reads the whole context: the core gets every result.
    give_all: bool,
    /// Steps whose results the core always gets.
    given: BTreeSet<String>,
    /// Every routing template's text, one after the other.
    routing_text: String,
    held: HeldResults,
}

impl ResultView {
    pub fn new(doc: &Document) -> Self {
        let core = serde_json::to_value(&doc.core).unwrap_or(Value::Null);
        let mut routing_text = String::new();
        template_text(&core, &mut routing_text);
        let mut given: BTreeSet<String> = CORE_NAMES.iter().map(|n| n.to_string()).collect();
        // Every key in the core's document (`set` keys, `with` params, field names), and
        // what a scoped `set` key (`ctx.x`) writes.
        object_keys(&core, &mut given);
        if let Value::Object(workload) = &doc.workload {
            given.extend(workload.keys().cloned());
        }
        for step in &doc.core.workflow {
            let mut own = String::new();
            template_text(&serde_json::to_value(step).unwrap_or(Value::Null), &mut own);
            if own.contains("output") {
                given.insert(step.step.clone());
            }
            if let Some(looped) = &step.r#loop {
                given.insert(step.step.clone());
                given.insert(looped.iterator.clone());
            }
        }
        let give_all = ["ctx", "steps"].iter().any(|n| routing_text.contains(n)) || (!doc.workload.is_object() && routing_text.contains("workload"));
        ResultView { give_all, given, routing_text, held: HeldResults::default() }
    }

    /// Record a plain (not loop) step's successful result `data`. `true`: the core is
    /// given it; `false`: it is held here.
    pub fn admit(&mut self, step: &str, data: &Value) -> bool {
        if self.give_all || self.given.contains(step) || self.routing_text.contains(step) {
            return true;
        }
        let envelope = call_done_result(data);
        let mut scratch = WorkflowState::new(0, 0);
        let mut info = StepInfo::new(step);
        info.result = Some(envelope.clone());
        scratch.steps.insert(step.to_string(), info);
        let top = scratch.build_context().get(step).cloned();
        Arc::make_mut(&mut self.held.0).insert(step.to_string(), Arc::new(HeldResult { top, envelope }));
        false
    }

    /// From now on the core gets every result; returns the ones held so far (step name,
    /// the `call.done` result it would have had), for the caller to give it. For a
    /// result carrying `_context_updates`, which the core applies to its whole context.
    pub fn give_all(&mut self) -> Vec<(String, Value)> {
        self.give_all = true;
        let held = std::mem::take(&mut self.held);
        held.0.iter().map(|(name, held)| (name.clone(), held.envelope.clone())).collect()
    }

    /// The results held right now.
    pub fn held(&self) -> HeldResults {
        self.held.clone()
    }
}

/// Every string with template syntax in `value`, appended to `text`.
pub fn template_text(value: &Value, text: &mut String) {
    match value {
        Value::String(s) if s.contains("{{") || s.contains("{%") || s.contains("{#") => {
            text.push_str(s);
            text.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|item| template_text(item, text)),
        Value::Object(map) => map.values().for_each(|child| template_text(child, text)),
        _ => {}
    }
}

fn object_keys(value: &Value, keys: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| object_keys(item, keys)),
        Value::Object(map) => {
            for (key, child) in map {
                keys.insert(key.clone());
                if let Some((_, bare)) = key.split_once('.') {
                    keys.insert(bare.to_string());
                }
                object_keys(child, keys);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(yaml: &str) -> ResultView {
        ResultView::new(&Document::parse(yaml, "t").unwrap())
    }

    const HEAD: &str = "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: t}\n";

    #[test]
    fn the_core_gets_only_results_a_routing_template_names() {
        let mut view = view(&format!(
            "{HEAD}workload: {{wk: 1}}\nworkflow:\n  - step: start\n    tool: {{kind: noop, x: '{{{{ alpha }}}}'}}\n    next: [{{step: alpha, when: '{{{{ start.ok }}}}'}}]\n  - step: alpha\n    tool: {{kind: noop}}\n    next: {{arcs: [{{step: beta, set: {{ctx.counter: '{{{{ 1 }}}}'}}}}]}}\n  - step: beta\n    tool: {{kind: noop}}\n    next: [{{step: wk, when: '{{{{ output.go }}}}'}}]\n  - step: wk\n    tool: {{kind: noop}}\n    next: counter\n  - step: counter\n    tool: {{kind: noop}}\n"
        ));
        // Named by a `when`; its own `when` uses `output`; a workload key; a `set` key.
        for given in ["start", "beta", "wk", "counter"] {
            assert!(view.admit(given, &json!({"ok": true})), "{given}");
        }
        // Named only in a tool config (which the core never sees) and as an arc target.
        assert!(!view.admit("alpha", &json!({"ok": true})));
        let mut context = Map::new();
        context.insert("steps".into(), json!({}));
        view.held().lay_over(&mut context, &|_| true);
        assert_eq!(context["alpha"], json!({"ok": true, "data": {"ok": true}}));
        assert_eq!(context["steps"]["alpha"], call_done_result(&json!({"ok": true})));
        // Given everything later: the held ones are handed back for the core.
        assert_eq!(view.give_all(), vec![("alpha".to_string(), call_done_result(&json!({"ok": true})))]);
        assert!(view.admit("alpha", &json!({})));
    }

    #[test]
    fn a_routing_template_on_the_whole_context_gets_every_result() {
        let mut view = view(&format!(
            "{HEAD}workflow:\n  - step: start\n    tool: {{kind: noop}}\n    next: [{{step: alpha, when: '{{{{ ctx.x }}}}'}}]\n  - step: alpha\n    tool: {{kind: noop}}\n"
        ));
        assert!(view.admit("alpha", &json!({})));
    }
}
