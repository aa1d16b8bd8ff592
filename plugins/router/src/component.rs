//! The WASM component: one [`Execution`] per instance, behind the WIT world `router`.

use std::cell::RefCell;

use crate::Execution;

wit_bindgen::generate!({ path: "../../wit/router", world: "router" });

use exports::noetl::router::routing::Guest;

thread_local! {
    /// The instance's execution; the host opens it first and never opens another.
    static EXECUTION: RefCell<Option<Execution>> = const { RefCell::new(None) };
}

const NOT_OPEN: &str = "the router was called before `open`";

struct Router;

impl Guest for Router {
    fn open(playbook: String, execution_id: i64, state: Option<String>) -> Result<(), String> {
        let execution = Execution::open(&playbook, execution_id, state.as_deref())?;
        EXECUTION.with(|slot| slot.replace(Some(execution)));
        Ok(())
    }

    fn advance(events: Vec<String>, latest: Option<String>, trigger: Option<String>) -> Result<String, String> {
        EXECUTION.with(|slot| match slot.borrow_mut().as_mut() {
            Some(execution) => execution.advance(&events, latest.as_deref(), trigger.as_deref()),
            None => Err(NOT_OPEN.into()),
        })
    }

    fn state() -> String {
        EXECUTION.with(|slot| slot.borrow().as_ref().map(Execution::state).unwrap_or_default())
    }
}

export!(Router);
