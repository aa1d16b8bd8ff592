//! The NoETL `script` tool: turns a step's `tool` config into the ConfigMap, Secret and Job
//! that run the script on Kubernetes, and shapes the response from the outcome.
//!
//! Everything here is plain Rust callable natively ([`plan`], [`finish`]); the WASM
//! component is a thin adapter in `component` (compiled for wasm32 only).

pub mod config;
mod context;
mod error;
pub mod generated;
#[cfg(target_arch = "wasm32")]
pub mod guest;
pub mod manifests;
pub mod naming;
mod response;
pub mod runtime;
mod schema;
mod source;
mod validate;

// Gated by a feature so the tools built on this crate (python, shell) can link it without
// also exporting the script tool's handler.
#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;

use serde_json::Value;

pub use context::PlanContext;
pub use error::{FieldError, PlanError, SourceError};
pub use manifests::{JobBundle, Manifest};
pub use noetl_protocol::{JobOutcome, JobStatus, conventions};
pub use response::{finish, job_error};
pub use schema::config_schema;
pub use source::{CONFIG_MAP_CAP, NoSources, ScriptSources, load as load_script};

/// Validate the `tool` config and build the job bundle. Config errors are all reported at
/// once; the script is only read (`sources`) once the config is valid, and nothing is
/// created anywhere: the host submits the bundle.
pub fn plan(
    config: &Value,
    context: &PlanContext,
    sources: &dyn ScriptSources,
) -> Result<JobBundle, PlanError> {
    let config = config::parse(config).map_err(PlanError::InvalidConfig)?;
    let script = source::load(&config.script, &config.args_json, sources)?;
    let names = naming::JobNames::new(&context.execution_id, context.name_seed);
    Ok(manifests::bundle(
        conventions::TOOL_SCRIPT,
        &config,
        &script,
        &names,
        context,
    ))
}
