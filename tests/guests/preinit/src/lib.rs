//! A tool built for world `preinit-tool` with plain wit-bindgen: it exports the optional
//! `init` next to `handler`, which the host's contract check must accept. `plan` answers
//! whether `init` ran before the call (only a host that snapshots after `init` makes it so).

wit_bindgen::generate!({ path: "../../../wit", world: "preinit-tool" });

use std::sync::atomic::{AtomicBool, Ordering};

use exports::noetl::plugin::handler::Guest as Handler;
use exports::noetl::plugin::init::Guest as Init;
use noetl::plugin::types::{JobOutcome, PlanResult, ToolError, ToolInfo};

static INITIALISED: AtomicBool = AtomicBool::new(false);

struct Preinit;

impl Init for Preinit {
    fn init() {
        INITIALISED.store(true, Ordering::Relaxed);
    }
}

impl Handler for Preinit {
    fn describe() -> ToolInfo {
        ToolInfo {
            kind: "preinit".into(),
            version: "0.1.0".into(),
            description: "Exports init; answers whether it ran".into(),
            config_schema: "{}".into(),
        }
    }

    fn plan(_config: String, _context: String) -> Result<PlanResult, ToolError> {
        let initialised = INITIALISED.load(Ordering::Relaxed);
        Ok(PlanResult::Done(format!("{{\"status\":\"success\",\"data\":{{\"initialised\":{initialised}}}}}")))
    }

    fn finish(_config: String, _context: String, _outcome: JobOutcome) -> Result<String, ToolError> {
        Err(ToolError::Failed("preinit never plans a job".into()))
    }
}

export!(Preinit);
