//! A tool plugin whose `describe` never answers in time (a WASI clock wait of 900 s), so
//! the host's wall-clock limit and its memory of rejected files can be tested on load.

use noetl_plugin_sdk::{Context, PlanResult, Tool, ToolError, ToolInfo, Value};

struct SlowDescribe;

impl Tool for SlowDescribe {
    fn describe() -> ToolInfo {
        std::thread::sleep(std::time::Duration::from_secs(900));
        ToolInfo::new("slow-describe", "0.1.0", "Sleeps in describe on purpose for the host's tests")
    }

    fn plan(_config: Value, _context: &Context) -> Result<PlanResult, ToolError> {
        Err(ToolError::Failed("never loaded".into()))
    }
}

noetl_plugin_sdk::export_tool!(SlowDescribe);
