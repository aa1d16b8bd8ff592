//! Helpers shared by the template engine's native tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use noetl_plugin_template::{RenderError, RenderOptions, SecretLookup, render};
use serde_json::{Value, json};

/// A secret store that records every name the engine asks for, and answers a missing name
/// with the same kind of message the host's resolver produces.
pub struct RecordingSecrets {
    values: BTreeMap<String, String>,
    pub requested: Mutex<Vec<String>>,
}

impl RecordingSecrets {
    pub fn new(values: &[(&str, &str)]) -> Arc<Self> {
        Arc::new(RecordingSecrets {
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            requested: Mutex::new(Vec::new()),
        })
    }

    pub fn requested(&self) -> Vec<String> {
        self.requested.lock().unwrap().clone()
    }
}

impl SecretLookup for RecordingSecrets {
    fn get(&self, name: &str) -> Result<String, String> {
        self.requested.lock().unwrap().push(name.to_string());
        self.values.get(name).cloned().ok_or_else(|| {
            format!(
                "secret `{name}` was not found; tried, in order: environment variable NOETL_SECRET_{name}; \
                 Kubernetes Secret (not configured)"
            )
        })
    }
}

pub fn context() -> Value {
    json!({
        "workload": {"port": 8080, "name": "Alice", "enabled": true, "ratio": 0.5, "items": [1, 2, 3], "empty": ""},
        "execution_id": "exec-123",
        "step": "run_analysis",
        "fetch_data": {"status": "success", "data": {"rows": 3, "output": "{\"a\": [1, 2]}"}},
    })
}

/// Render `tree` leniently with [`context`] and no secrets.
pub fn render_lenient(tree: Value) -> Result<Value, RenderError> {
    render_with(tree, &RenderOptions::default(), RecordingSecrets::new(&[]))
}

pub fn render_with(
    tree: Value,
    options: &RenderOptions,
    secrets: Arc<RecordingSecrets>,
) -> Result<Value, RenderError> {
    render(&tree, &context(), options, secrets).map(|rendered| rendered.value)
}

/// Render one template string leniently and return its output.
pub fn render_str(template: &str) -> Result<String, RenderError> {
    render_lenient(Value::String(template.to_string()))
        .map(|value| value.as_str().unwrap().to_string())
}

pub fn strict() -> RenderOptions {
    RenderOptions {
        strict_undefined: true,
        ..RenderOptions::default()
    }
}
