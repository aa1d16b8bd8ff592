//! The WASM component: the native API behind the SDK's `Tool` trait; code sources are
//! read through the host's `files` and `fetch` capabilities.

use noetl_plugin_script::PlanContext;
use noetl_plugin_script::guest::{HostSources, outcome_from_wit, run_job, tool_error};
use noetl_plugin_sdk::{self as sdk, Context, PlanResult, Tool, ToolError, ToolInfo, Value};

struct PythonTool;

impl Tool for PythonTool {
    fn describe() -> ToolInfo {
        ToolInfo::new(
            "python",
            env!("CARGO_PKG_VERSION"),
            "Runs a step's Python code in a sandboxed job (local sandbox or Kubernetes)",
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
        _context: &Context,
        outcome: sdk::JobOutcome,
    ) -> Result<Value, ToolError> {
        Ok(crate::finish(&config, &outcome_from_wit(outcome)))
    }
}

sdk::export_tool!(PythonTool);
