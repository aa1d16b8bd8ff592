//! The plan context the host sends with every call.

use serde_json::Value;

/// `{"execution_id": "...", "step": "...", "name_seed": <u64>, "playbook_dir": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContext {
    /// The NoETL execution id (`"local"` when the host has none, as in the SDK).
    pub execution_id: String,
    /// The step's name (`"step"` when the host has none).
    pub step: String,
    /// Makes the Job name's random suffix deterministic (golden tests, reproducible plans).
    pub name_seed: Option<u64>,
    /// Where the playbook lives; `script.path` is read relative to it by the host.
    pub playbook_dir: Option<String>,
}

impl PlanContext {
    pub fn new(execution_id: impl Into<String>, step: impl Into<String>) -> Self {
        PlanContext {
            execution_id: execution_id.into(),
            step: step.into(),
            name_seed: None,
            playbook_dir: None,
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.name_seed = Some(seed);
        self
    }

    /// Read the context JSON; missing or mistyped fields fall back to the defaults, because
    /// the context comes from the host, not from the playbook author.
    pub fn from_json(raw: &Value) -> Self {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
        PlanContext {
            execution_id: text("execution_id").unwrap_or_else(|| "local".into()),
            step: text("step").unwrap_or_else(|| "step".into()),
            name_seed: raw.get("name_seed").and_then(Value::as_u64),
            playbook_dir: text("playbook_dir"),
        }
    }
}
