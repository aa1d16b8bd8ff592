//! The WASM component: the native API behind the SDK's `Tool` trait, with the host's
//! `files` and `fetch` capabilities as [`crate::ScriptSources`] (see [`crate::guest`]).

use noetl_plugin_sdk::{self as sdk, Context, PlanResult, Tool, ToolError, ToolInfo, Value};

use crate::PlanContext;
use crate::guest::{HostSources, outcome_from_wit, run_job, tool_error};

struct ScriptTool;

impl Tool for ScriptTool {
    fn describe() -> ToolInfo {
        ToolInfo::new(
            "script",
            env!("CARGO_PKG_VERSION"),
            "Runs a Python, Node or shell script in a Kubernetes Job",
        )
        .with_schema(crate::config_schema())
    }

    fn plan(config: Value, context: &Context) -> Result<PlanResult, ToolError> {
        crate::plan(
            &config,
            &PlanContext::from_json(context.raw()),
            &HostSources,
        )
        .map(run_job)
        .map_err(tool_error)
    }

    fn finish(
        config: Value,
        context: &Context,
        outcome: sdk::JobOutcome,
    ) -> Result<Value, ToolError> {
        Ok(crate::finish(
            &config,
            &PlanContext::from_json(context.raw()),
            &outcome_from_wit(outcome),
        ))
    }
}

sdk::export_tool!(ScriptTool);
