//! A tool whose `init` reads an environment variable and the wall clock: what it would
//! store would differ from host to host and from load to load, and could carry a secret
//! from the environment into every call. The host must refuse to load it, naming the import.

wit_bindgen::generate!({ path: "../../../wit", world: "preinit-tool" });

use std::sync::OnceLock;

use exports::noetl::plugin::handler::Guest as Handler;
use exports::noetl::plugin::init::Guest as Init;
use noetl::plugin::types::{JobOutcome, PlanResult, ToolError, ToolInfo};

static CAPTURED: OnceLock<String> = OnceLock::new();

struct ImpureInit;

impl Init for ImpureInit {
    fn init() {
        let home = std::env::var("HOME").unwrap_or_default();
        let now = std::time::SystemTime::now();
        CAPTURED.get_or_init(|| format!("{home} at {now:?}"));
    }
}

impl Handler for ImpureInit {
    fn describe() -> ToolInfo {
        ToolInfo {
            kind: "impure-init".into(),
            version: "0.1.0".into(),
            description: "Reads the environment in init".into(),
            config_schema: "{}".into(),
        }
    }

    fn plan(_config: String, _context: String) -> Result<PlanResult, ToolError> {
        let captured = CAPTURED.get().cloned().unwrap_or_default();
        Ok(PlanResult::Done(format!("{{\"status\":\"success\",\"data\":{captured:?}}}")))
    }

    fn finish(_config: String, _context: String, _outcome: JobOutcome) -> Result<String, ToolError> {
        Err(ToolError::Failed("impure-init never plans a job".into()))
    }
}

export!(ImpureInit);
