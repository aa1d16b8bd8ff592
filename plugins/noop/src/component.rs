//! The WASM component: answers `plan` with the response (`done`), never with a job.

use noetl_plugin_sdk::{
    self as sdk, Context, FieldError, PlanResult, Tool, ToolError, ToolInfo, Value,
};

struct NoopTool;

impl Tool for NoopTool {
    fn describe() -> ToolInfo {
        ToolInfo::new(
            "noop",
            env!("CARGO_PKG_VERSION"),
            "Returns its args (or result) as the step's data",
        )
        .with_schema(crate::config_schema())
    }

    fn plan(config: Value, _context: &Context) -> Result<PlanResult, ToolError> {
        crate::respond(&config)
            .map(|response| PlanResult::Done(sdk::to_json_text(&response)))
            .map_err(|errors| {
                ToolError::InvalidConfig(
                    errors
                        .into_iter()
                        .map(|e| FieldError::new(e.field, e.message, e.fix))
                        .collect(),
                )
            })
    }
}

sdk::export_tool!(NoopTool);
