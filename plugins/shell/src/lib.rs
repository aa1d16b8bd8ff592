//! The NoETL `shell` tool: runs a step's command (`sh -c` by default) in the script tool's
//! sandboxed job, never as a subprocess of the worker. The command is written into a
//! generated script and planned with the script tool's checks and manifests, so it runs
//! on every backend (the local sandbox, Kubernetes).

mod config;
mod response;
mod schema;
mod wrapper;

#[cfg(target_arch = "wasm32")]
mod component;

use serde_json::{Value, json};

use noetl_plugin_script::generated::{self, GeneratedScript};
use noetl_plugin_script::runtime::Runtime;
use noetl_plugin_script::{JobBundle, PlanContext, PlanError};

pub use response::finish;
pub use schema::config_schema;

/// Validate the step and build its job bundle; nothing is created anywhere.
pub fn plan(config: &Value, context: &PlanContext) -> Result<JobBundle, PlanError> {
    let step = config::parse(config).map_err(PlanError::InvalidConfig)?;
    generated::plan(
        &GeneratedScript {
            tool: "shell",
            runtime: Runtime::Sh,
            content: wrapper::script(&step),
            content_field: "tool.command",
            args: json!({}),
            args_field: "tool",
            fields: step.fields,
        },
        context,
    )
}
