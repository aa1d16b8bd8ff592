//! The WASM component: the native API behind the SDK's `Tool` trait.

use noetl_plugin_script::PlanContext;
use noetl_plugin_script::guest::{outcome_from_wit, run_job, tool_error};
use noetl_plugin_sdk::{self as sdk, Context, PlanResult, Tool, ToolError, ToolInfo, Value};

struct ShellTool;

impl Tool for ShellTool {
    fn describe() -> ToolInfo {
        ToolInfo::new(
            "shell",
            env!("CARGO_PKG_VERSION"),
            "Runs a shell command in a sandboxed job (local sandbox or Kubernetes)",
        )
        .with_schema(crate::config_schema())
    }

    fn plan(config: Value, context: &Context) -> Result<PlanResult, ToolError> {
        crate::plan(&config, &PlanContext::from_json(context.raw()))
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

sdk::export_tool!(ShellTool);
