//! The NoETL `python` tool: runs a step's Python code the ways upstream NoETL does (a
//! `result` global, a `main(...)` called with the args, a top-level `return`), but inside
//! the script tool's sandboxed job instead of a subprocess of the worker. The code is
//! wrapped by a generated runner (`wrapper.py`) and planned with the script tool's checks
//! and manifests, so it runs on every backend (the local sandbox, Kubernetes).

mod config;
mod response;
mod schema;
mod wrapper;

#[cfg(target_arch = "wasm32")]
mod component;

use serde_json::Value;

use noetl_plugin_script::generated::{self, GeneratedScript};
use noetl_plugin_script::runtime::Runtime;
use noetl_plugin_script::{
    FieldError, JobBundle, PlanContext, PlanError, ScriptSources, load_script,
};

pub use response::finish;
pub use schema::config_schema;

/// Validate the step and build its job bundle. The code is only read (`sources`) once the
/// config is valid; nothing is created anywhere: the host submits the bundle.
pub fn plan(
    config: &Value,
    context: &PlanContext,
    sources: &dyn ScriptSources,
) -> Result<JobBundle, PlanError> {
    let step = config::parse(config).map_err(PlanError::InvalidConfig)?;
    let code = load_script(&step.source, &step.args.to_string(), sources)
        .map_err(|error| at_field(error, step.source_field))?;
    generated::plan(
        &GeneratedScript {
            tool: "python",
            runtime: Runtime::Python,
            content: wrapper::script(&code, step.cwd.as_deref()),
            content_field: step.source_field,
            args: step.args,
            args_field: step.args_field,
            fields: step.fields,
        },
        context,
    )
}

/// The script tool names its own fields (`tool.script.uri`); say the one the author wrote.
fn at_field(error: PlanError, field: &str) -> PlanError {
    match error {
        PlanError::InvalidConfig(errors) => PlanError::InvalidConfig(
            errors
                .into_iter()
                .map(|error| FieldError {
                    field: field.into(),
                    ..error
                })
                .collect(),
        ),
        other => other,
    }
}
