//! A tool plugin built for contract 0.1.0 from the frozen `wit/legacy/0.1.0` with plain
//! wit-bindgen, as a third party built it before 0.2.0: the host must still load it, call
//! it through the 0.1.0 exports, serve its 0.1.0 imports, and render its configs with
//! strings only. `plan` echoes the config it received; with `read`, it also reads that file
//! through the 0.1.0 `files` import.

wit_bindgen::generate!({ path: "../../../wit/legacy/0.1.0", world: "tool" });

use exports::noetl::plugin::handler::Guest;
use noetl::plugin::log::{Level, log};
use noetl::plugin::types::{JobOutcome, PlanResult, ToolError, ToolInfo};
use serde_json::{Value, json};

struct Legacy;

impl Guest for Legacy {
    fn describe() -> ToolInfo {
        ToolInfo {
            kind: "legacy-echo".into(),
            version: "0.1.0".into(),
            description: "Echoes its config; built for contract 0.1.0".into(),
            config_schema: "{}".into(),
        }
    }

    fn plan(config: String, _context: String) -> Result<PlanResult, ToolError> {
        log(Level::Info, "legacy-echo plans");
        let config: Value = serde_json::from_str(&config).map_err(|e| ToolError::Failed(format!("config is not JSON: {e}")))?;
        let mut data = json!({"config": config});
        if let Some(path) = config.get("read").and_then(Value::as_str) {
            let bytes = noetl::plugin::files::read(path, 1 << 20).map_err(ToolError::Capability)?;
            data["read"] = json!(String::from_utf8_lossy(&bytes));
        }
        Ok(PlanResult::Done(json!({"status": "success", "data": data}).to_string()))
    }

    fn finish(_config: String, _context: String, _outcome: JobOutcome) -> Result<String, ToolError> {
        Err(ToolError::Failed("legacy-echo never plans a job".into()))
    }
}

export!(Legacy);
