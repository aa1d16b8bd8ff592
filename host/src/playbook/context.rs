//! The template context a step's tool config is rendered with: the context the core hands
//! out with each command (workload values bare and under `workload`, prior steps as
//! `{{ step }}` / `{{ step.data.x }}`, `set` variables, loop item and `iter.*`), plus the
//! runner's own names: `ctx`, `execution_id` (ours, not the core's number), `loop.*`,
//! `vars`, and `keychain` (resolved secrets, which never enter the core).

use noetl_orchestrate_core::commands::{Command, IteratorMetadata};
use serde_json::{Map, Value, json};

/// The render context for `command`.
pub fn for_command(command: &Command, execution_id: &str, keychain: Option<Value>) -> Map<String, Value> {
    let mut context: Map<String, Value> =
        command.context.as_ref().map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    // The core's `ctx` is the flat context itself (its `CommandBuilder` does the same).
    if !context.contains_key("ctx") {
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
