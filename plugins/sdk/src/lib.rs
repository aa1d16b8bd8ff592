//! The NoETL plugin SDK: a tool plugin is a type implementing [`Tool`] plus one
//! [`export_tool!`] line. The WIT bindings, JSON plumbing and capability imports are
//! hidden here; see `PLUGINS.md` at the repository root for the whole guide.
//!
//! ```ignore
//! struct Echo;
//! impl noetl_plugin_sdk::Tool for Echo {
//!     fn describe() -> ToolInfo { ToolInfo::new("echo", "0.1.0", "Returns its config") }
//!     fn plan(config: Value, _ctx: &Context) -> Result<PlanResult, ToolError> {
//!         Ok(PlanResult::Done(serde_json::json!({"status": "success", "data": config}).to_string()))
//!     }
//! }
//! noetl_plugin_sdk::export_tool!(Echo);
//! ```

#[doc(hidden)]
#[cfg(not(feature = "preinit"))]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "tool",
        pub_export_macro: true,
        export_macro_name: "export_handler",
        default_bindings_module: "noetl_plugin_sdk::bindings",
    });
}

/// With the `preinit` feature the plugin also exports `init` (world `preinit-tool`): the
/// host runs [`Tool::init`] once when it loads the plugin and snapshots the result.
#[doc(hidden)]
#[cfg(feature = "preinit")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "preinit-tool",
        pub_export_macro: true,
        export_macro_name: "export_handler",
        default_bindings_module: "noetl_plugin_sdk::bindings",
    });
}

pub mod capability;
mod context;

pub use bindings::noetl::plugin::types::{
    CapabilityError, FieldError, JobBundle, JobOutcome, JobStatus, Manifest, PlanResult, ToolError, ToolInfo,
};
pub use context::Context;
pub use serde_json::{self, Map, Value, json};

/// The contract version this SDK builds plugins for (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// A tool plugin. `plan` is required; `finish` only for tools whose `plan` returns a job.
pub trait Tool {
    /// Name, version, description and config schema. Called once when the host loads the plugin.
    fn describe() -> ToolInfo;

    /// Validate the step's rendered `tool` config and return a job to run or a final response.
    fn plan(config: Value, context: &Context) -> Result<PlanResult, ToolError>;

    /// Shape the response from a finished job.
    fn finish(_config: Value, _context: &Context, _outcome: JobOutcome) -> Result<Value, ToolError> {
        Err(ToolError::Failed("this tool never returns a job from plan, so finish is not expected".into()))
    }

    /// Build, once, what every call would otherwise rebuild (tables, parsed static data),
    /// keeping it in a `static` (`OnceLock`) that the calls read. Only called when the
    /// plugin is built with the SDK's `preinit` feature: the host then runs it when it first
    /// loads the plugin and snapshots the memory it leaves, so every call starts from that
    /// state. It may not use WASI or any capability (the host refuses the plugin if it
    /// does), and what it stores is shared by every call: never a config or a secret.
    fn init() {}
}

impl ToolInfo {
    /// A tool description with an empty (`{}`, anything goes) config schema.
    pub fn new(kind: &str, version: &str, description: &str) -> Self {
        ToolInfo {
            kind: kind.into(),
            version: version.into(),
            description: description.into(),
            config_schema: "{}".into(),
        }
    }

    /// Attach a JSON Schema for the step's `tool` object.
    pub fn with_schema(mut self, schema: Value) -> Self {
        self.config_schema = to_json_text(&schema);
        self
    }
}

impl FieldError {
    /// An invalid field: its dotted path, what is wrong, and what to write instead.
    pub fn new(field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into(), fix: fix.into() }
    }
}

impl ToolError {
    /// A config error for a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        ToolError::InvalidConfig(vec![FieldError::new(field, message, fix)])
    }
}

impl From<CapabilityError> for ToolError {
    fn from(error: CapabilityError) -> Self {
        ToolError::Capability(error)
    }
}

/// JSON text of a value. `serde_json::to_string` writes straight into a byte buffer;
/// `Value::to_string` (`Display`) goes through `fmt::Formatter` for every fragment. In the
/// script plugin's `plan` (one JSON text per manifest) the switch cut the guest call from ~61 to ~47 µs.
#[doc(hidden)]
pub fn to_json_text(value: &Value) -> String {
    serde_json::to_string(value).expect("a serde_json::Value always serialises")
}

/// Glue between the generated `Guest` trait and [`Tool`]; called by [`export_tool!`].
#[doc(hidden)]
pub mod glue {
    use super::*;

    fn parse(what: &str, text: &str) -> Result<Value, ToolError> {
        serde_json::from_str(text).map_err(|e| ToolError::Failed(format!("host sent invalid JSON {what}: {e}")))
    }

    pub fn plan<T: Tool>(config: String, context: String) -> Result<PlanResult, ToolError> {
        let context = Context::new(parse("context", &context)?);
        T::plan(parse("config", &config)?, &context)
    }

    pub fn finish<T: Tool>(config: String, context: String, outcome: JobOutcome) -> Result<String, ToolError> {
        let context = Context::new(parse("context", &context)?);
        T::finish(parse("config", &config)?, &context, outcome).map(|response| to_json_text(&response))
    }
}

/// Export a [`Tool`] implementation as the plugin's `handler` interface.
#[macro_export]
macro_rules! export_tool {
    ($tool:ident) => {
        impl $crate::bindings::exports::noetl::plugin::handler::Guest for $tool {
            fn describe() -> $crate::ToolInfo {
                <$tool as $crate::Tool>::describe()
            }
            fn plan(config: String, context: String) -> Result<$crate::PlanResult, $crate::ToolError> {
                $crate::glue::plan::<$tool>(config, context)
            }
            fn finish(
                config: String,
                context: String,
                outcome: $crate::JobOutcome,
            ) -> Result<String, $crate::ToolError> {
                $crate::glue::finish::<$tool>(config, context, outcome)
            }
        }
        $crate::export_init!($tool);
        $crate::bindings::export_handler!($tool with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
#[cfg(feature = "preinit")]
#[macro_export]
macro_rules! export_init {
    ($tool:ident) => {
        impl $crate::bindings::exports::noetl::plugin::init::Guest for $tool {
            fn init() {
                <$tool as $crate::Tool>::init()
            }
        }
    };
}

#[doc(hidden)]
#[cfg(not(feature = "preinit"))]
#[macro_export]
macro_rules! export_init {
    ($tool:ident) => {};
}
