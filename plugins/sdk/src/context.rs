use serde_json::Value;

/// What the host tells a plugin about the step being run: `execution_id`, `step`, and
/// whatever else the host adds (the playbook directory, the backend).
#[derive(Debug, Clone)]
pub struct Context {
    raw: Value,
}

impl Context {
    pub fn new(raw: Value) -> Self {
        Context { raw }
    }

    /// The NoETL execution id; `"local"` when the host was not given one.
    pub fn execution_id(&self) -> &str {
        self.str("execution_id").unwrap_or("local")
    }

    /// The step's name; `"step"` when the host was not given one.
    pub fn step(&self) -> &str {
        self.str("step").unwrap_or("step")
    }

    /// Any string field of the context.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.raw.get(key).and_then(Value::as_str)
    }

    /// The whole context as JSON.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}
