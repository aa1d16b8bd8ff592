//! The execution's event log: every event is queued for the router as it is appended (the
//! router applies the queue to its state before its next evaluation: incremental, the core
//! never rebuilds state from the whole history), and kept for `--events FILE`.

use chrono::{DateTime, Utc};
use noetl_orchestrate_core::event::Event;
use noetl_orchestrate_core::orchestrator::EventToEmit;
use serde_json::{Value, json};

/// Appends events, stamps them with increasing ids and times, queues them for the router.
pub struct EventLog {
    execution_id: i64,
    next_id: i64,
    last_time: DateTime<Utc>,
    /// Every event so far, when the caller wants the log (`--events`).
    kept: Option<Vec<Event>>,
    /// Events (as the router reads them: JSON) appended since the router last took them.
    unrouted: Vec<String>,
}

impl EventLog {
    pub fn new(execution_id: i64, keep: bool) -> Self {
        EventLog {
            execution_id,
            next_id: 1,
            last_time: DateTime::<Utc>::MIN_UTC,
            kept: keep.then(Vec::new),
            unrouted: Vec::new(),
        }
    }

    pub fn execution_id(&self) -> i64 {
        self.execution_id
    }

    /// The events the router has not applied yet, oldest first; the queue is emptied.
    pub fn take_unrouted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unrouted)
    }

    fn route(&mut self, event: &Event) {
        self.unrouted.push(serde_json::to_string(event).expect("events serialise"));
    }

    /// The timestamp of the latest event.
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        (self.next_id > 1).then_some(self.last_time)
    }

    /// Strictly increasing: the core orders loop re-entries by completion time.
    fn now(&mut self) -> DateTime<Utc> {
        let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
        let wall = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(self.last_time);
        let next = if wall > self.last_time { wall } else { self.last_time + chrono::TimeDelta::microseconds(1) };
        self.last_time = next;
        next
    }

    /// Append one event for `step` and apply it.
    pub fn append(&mut self, event_type: &str, step: Option<&str>, status: &str, context: Option<Value>, result: Option<Value>, meta: Option<Value>) {
        let event = self.stamp(event_type, step, status, context, result, meta);
        self.route(&event);
        if let Some(kept) = &mut self.kept {
            kept.push(event);
        }
    }

    /// Append one event whose result the core is not shown (it is held from the core,
    /// [`super::core_view`]); the log keeps it whole.
    pub fn append_unshown(&mut self, event_type: &str, step: &str, status: &str, result: Value, meta: Option<Value>) {
        let mut event = self.stamp(event_type, Some(step), status, None, None, meta);
        self.route(&event);
        if let Some(kept) = &mut self.kept {
            event.result = Some(result);
            kept.push(event);
        }
    }

    /// Show the core a `call.done` result it was not shown when the step finished (the
    /// log has it already).
    pub fn show_late(&mut self, step: &str, result: Value) {
        let event = self.stamp("call.done", Some(step), "COMPLETED", None, Some(result), None);
        self.route(&event);
    }

    fn stamp(
        &mut self,
        event_type: &str,
        step: Option<&str>,
        status: &str,
        context: Option<Value>,
        result: Option<Value>,
        meta: Option<Value>,
    ) -> Event {
        let timestamp = self.now();
        let event = Event {
            event_id: self.next_id,
            execution_id: self.execution_id,
            catalog_id: 0,
            event_type: event_type.to_string(),
            node_name: step.map(str::to_string),
            status: status.to_string(),
            context,
            result,
            meta,
            timestamp,
            parent_execution_id: None,
            attempt: None,
        };
        self.next_id += 1;
        event
    }

    /// An event the core asked for (`step.enter`, `step.skipped`, `ctx.updated`, ...), in
    /// the `{status, context}` envelope its state reader expects.
    pub fn append_emitted(&mut self, emitted: EventToEmit) {
        let envelope = emitted.context.as_ref().map(|context| json!({"status": emitted.status, "context": context}));
        let result = emitted.result.or(envelope);
        self.append(&emitted.event_type, emitted.node_name.as_deref(), &emitted.status, emitted.context, result, None);
    }

    /// The kept events as JSON Lines.
    pub fn to_json_lines(&self) -> String {
        let mut text = String::new();
        for event in self.kept.iter().flatten() {
            text.push_str(&serde_json::to_string(event).unwrap_or_default());
            text.push('\n');
        }
        text
    }
}

/// `call.done`'s result: the tool's data in the worker envelope the core unwraps.
pub fn call_done_result(data: &Value) -> Value {
    json!({"status": "COMPLETED", "context": {"result": {"status": "success", "context": {"data": data, "status": "success"}}}})
}

/// `meta` naming the command, so the core counts each loop iteration once.
pub fn command_meta(command_id: u64) -> Value {
    json!({"command_id": command_id.to_string()})
}
