//! TEMPORARY placeholder until the script plugin branch lands.
#[cfg(target_arch = "wasm32")]
mod component {
    use noetl_plugin_sdk::{Context, PlanResult, Tool, ToolError, ToolInfo, Value};
    struct Script;
    impl Tool for Script {
        fn describe() -> ToolInfo { ToolInfo::new("script", "0.0.0", "placeholder") }
        fn plan(_c: Value, _x: &Context) -> Result<PlanResult, ToolError> { Err(ToolError::Failed("placeholder".into())) }
    }
    noetl_plugin_sdk::export_tool!(Script);
}
