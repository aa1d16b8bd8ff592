//! `json-transform`: a third-party tool plugin built only from the SDK and the WIT.
//! It reshapes a JSON value without a job: pick fields by dotted path, rename keys, drop
//! keys, and filter arrays of objects.
//!
//! ```yaml
//! tool:
//!   kind: json-transform
//!   input: "{{ run_analysis.result }}"     # any JSON value
//!   pick: [input.items, count]             # keep only these paths (optional)
//!   rename: {count: total}                 # rename top-level keys (optional)
//!   drop: [processed]                      # remove top-level keys (optional)
//!   where: {path: items, field: ok, equals: true}   # keep array items matching (optional)
//! ```

mod transform;

use noetl_plugin_sdk::{Context, FieldError, PlanResult, Tool, ToolError, ToolInfo, Value, json};

struct JsonTransform;

impl Tool for JsonTransform {
    fn describe() -> ToolInfo {
        ToolInfo::new("json-transform", env!("CARGO_PKG_VERSION"), "Reshape JSON: pick, rename, drop, filter")
            .with_schema(transform::schema())
    }

    fn plan(config: Value, _context: &Context) -> Result<PlanResult, ToolError> {
        let spec = transform::Spec::parse(&config).map_err(|errors| {
            ToolError::InvalidConfig(errors.into_iter().map(|(f, m, fix)| FieldError::new(f, m, fix)).collect())
        })?;
        let data = spec.apply();
        Ok(PlanResult::Done(json!({"status": "success", "data": data}).to_string()))
    }
}

noetl_plugin_sdk::export_tool!(JsonTransform);
