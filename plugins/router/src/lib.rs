//! The host's router: upstream NoETL's orchestrator core (`noetl-orchestrate-core`) behind
//! the WIT world `router` (`wit/router/router.wit`), so that every routing template (`when`,
//! `set`, `loop.in`) is rendered inside a WASM sandbox with the host's CPU, memory and
//! wall-clock bounds, never in the host process.
//!
//! [`Execution`] is plain Rust and is tested natively; the component glue (`component`,
//! wasm32 only) keeps one [`Execution`] per instance: the host opens one instance per
//! execution and never shares it with another.

#[cfg(target_arch = "wasm32")]
mod component;

use chrono::{DateTime, Utc};
use noetl_orchestrate_core::event::Event;
use noetl_orchestrate_core::orchestrator::WorkflowOrchestrator;
use noetl_orchestrate_core::playbook::Playbook;
use noetl_orchestrate_core::state::WorkflowState;

/// One execution's routing: the playbook, the state built from its events so far, and
/// the core's orchestrator.
pub struct Execution {
    playbook: Playbook,
    state: WorkflowState,
    orchestrator: WorkflowOrchestrator,
}

impl Execution {
    /// Route `playbook` (the core's `Playbook` as JSON) for execution `execution_id`, from
    /// the start or from a `state` that [`Execution::state`] returned.
    pub fn open(playbook: &str, execution_id: i64, state: Option<&str>) -> Result<Self, String> {
        let playbook: Playbook = serde_json::from_str(playbook).map_err(|e| format!("the playbook is not the core's Playbook JSON: {e}"))?;
        let state = match state {
            Some(state) => serde_json::from_str(state).map_err(|e| format!("the state is not the core's WorkflowState JSON: {e}"))?,
            None => WorkflowState::new(execution_id, 0),
        };
        Ok(Execution { playbook, state, orchestrator: WorkflowOrchestrator::new() })
    }

    /// Apply `events` in order, then evaluate the state for `trigger`: the core's
    /// `OrchestrationResult` as JSON, or the core's error.
    pub fn advance(&mut self, events: &[String], latest: Option<&str>, trigger: Option<&str>) -> Result<String, String> {
        for (index, event) in events.iter().enumerate() {
            let event: Event = serde_json::from_str(event).map_err(|e| format!("event {index} is not the core's Event JSON: {e}"))?;
            self.state.apply_event(&event);
        }
        let latest = match latest {
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| format!("`latest` is not an RFC 3339 timestamp: {e}"))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let result = self.orchestrator.evaluate_state(&mut self.state, latest, &self.playbook, trigger).map_err(|e| e.to_string())?;
        serde_json::to_string(&result).map_err(|e| format!("the core's result does not serialise: {e}"))
    }

    /// The state as JSON.
    pub fn state(&self) -> String {
        serde_json::to_string(&self.state).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn playbook(next_when: &str) -> String {
        json!({
            "apiVersion": "noetl.io/v2",
            "kind": "Playbook",
            "metadata": {"name": "t"},
            "workflow": [
                {"step": "start", "tool": {"kind": "noop"}, "next": {"arcs": [{"step": "yes", "when": next_when}, {"step": "end"}]}},
                {"step": "yes", "tool": {"kind": "noop"}, "next": "end"},
                {"step": "end", "tool": {"kind": "noop"}},
            ]
        })
        .to_string()
    }

    fn event(id: i64, event_type: &str, step: Option<&str>, result: Option<Value>) -> String {
        let mut event = json!({
            "event_id": id, "execution_id": 7, "catalog_id": 0, "event_type": event_type,
            "node_name": step, "status": "COMPLETED", "context": null, "result": result, "meta": null,
            "timestamp": format!("2026-01-01T00:00:{id:02}Z"),
        });
        if event_type == "playbook_started" {
            event["status"] = json!("STARTED");
            event["context"] = json!({"workload": {}});
        }
        event.to_string()
    }

    fn steps(result: &str) -> Vec<String> {
        let result: Value = serde_json::from_str(result).unwrap();
        result["commands"].as_array().unwrap().iter().map(|c| c["step_name"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn the_entry_step_is_issued_first() {
        let mut execution = Execution::open(&playbook("{{ true }}"), 7, None).unwrap();
        let result = execution.advance(&[event(1, "playbook_started", None, None)], None, Some("playbook_started")).unwrap();
        assert_eq!(steps(&result), ["start"]);
    }

    #[test]
    fn a_state_carried_across_instances_routes_as_one_instance_does() {
        let done = |id| {
            let data = json!({"go": true});
            vec![
                event(id, "call.done", Some("start"), Some(json!({"status": "COMPLETED", "context": {"result": {"status": "success", "context": {"data": data, "status": "success"}}}}))),
                event(id + 1, "command.completed", Some("start"), Some(json!({"status": "COMPLETED"}))),
            ]
        };
        let book = playbook("{{ start.go }}");
        let mut one = Execution::open(&book, 7, None).unwrap();
        one.advance(&[event(1, "playbook_started", None, None)], None, Some("playbook_started")).unwrap();
        let mut carried = Execution::open(&book, 7, Some(&one.state())).unwrap();
        let a = one.advance(&done(2), None, Some("command.completed")).unwrap();
        let b = carried.advance(&done(2), None, Some("command.completed")).unwrap();
        assert_eq!(steps(&a), ["yes"]);
        assert_eq!(steps(&a), steps(&b));
    }

    #[test]
    fn bad_json_is_an_error_naming_what_it_is_not() {
        assert!(Execution::open("{", 1, None).err().unwrap().contains("Playbook JSON"));
        let mut execution = Execution::open(&playbook("{{ true }}"), 7, None).unwrap();
        assert!(execution.advance(&["nope".into()], None, None).unwrap_err().contains("event 0"));
    }
}
