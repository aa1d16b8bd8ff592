//! The template context a step's tool config is rendered with: the context the core hands
//! out with each command (workload values bare and under `workload`, prior steps as
//! `{{ step }}` / `{{ step.data.x }}`, `set` variables, loop item and `iter.*`), plus the
//! runner's own names: `ctx`, `execution_id` (ours, not the core's number), `loop.*`,
//! `vars`, and `keychain` (resolved secrets, which never enter the core). Results the
//! core was not given ([`super::core_view`]) are laid over where it would have put them.

use noetl_orchestrate_core::commands::{Command, IteratorMetadata};
use serde_json::{Map, Value, json};

use super::core_view::{HeldResults, template_text};

/// The template text a render will read: a name it does not contain is no variable of
/// that render (a template reads a variable only by writing its name), so the context
/// can leave it out instead of copying and serialising it for every call.
pub struct Mentions(String);

impl Mentions {
    /// The templates in `values` (tool configs, step `args`, a loop item).
    pub fn of(values: &[&Value]) -> Self {
        let mut text = String::new();
        values.iter().for_each(|value| template_text(value, &mut text));
        Mentions(text)
    }

    pub fn names(&self, name: &str) -> bool {
        self.0.contains(name)
    }
}

/// The render context for `command`: the core's context, the results `held` from it,
/// and the runner's names, each only when `mentions` names it. `ctx` is the whole flat
/// context, so a template that uses it gets everything.
pub fn for_command(command: &Command, held: &HeldResults, execution_id: &str, keychain: Option<Value>, mentions: &Mentions) -> Map<String, Value> {
    let everything = mentions.names("ctx");
    let wanted = |name: &str| everything || mentions.names(name);
    let mut context: Map<String, Value> =
        command.context.iter().flatten().filter(|(name, _)| wanted(name)).map(|(name, value)| (name.clone(), value.clone())).collect();
    held.lay_over(&mut context, &wanted);
    // The core's `ctx` is the flat context itself (its `CommandBuilder` does the same).
    if everything && !context.contains_key("ctx") {
        let flat = Value::Object(context.clone());
        context.insert("ctx".into(), flat);
    }
    context.entry("workload").or_insert_with(|| json!({}));
    context.entry("vars").or_insert_with(|| json!({}));
    context.insert("execution_id".into(), json!(execution_id));
    if let Some(iterator) = &command.iterator {
        context.insert("loop".into(), loop_namespace(iterator));
    }
    if let Some(keychain) = keychain {
        context.insert("keychain".into(), keychain);
    }
    context
}

/// `loop.index`, `loop.total`, `loop.item`, `loop.first`, `loop.last`, `loop.iterator`.
fn loop_namespace(iterator: &IteratorMetadata) -> Value {
    json!({
        "index": iterator.index,
        "total": iterator.total,
        "item": iterator.item,
        "first": iterator.index == 0,
        "last": iterator.index + 1 == iterator.total,
        "iterator": iterator.item_var,
    })
}

/// A result as later templates see it: an object also answers `.data` (upstream's rule).
pub fn with_data_accessor(data: &Value) -> Value {
    match data {
        Value::Object(map) if !map.contains_key("data") => {
            let mut map = map.clone();
            map.insert("data".into(), data.clone());
            Value::Object(map)
        }
        other => other.clone(),
    }
}
