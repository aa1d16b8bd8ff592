//! NoETL DSL v2 playbooks, routed by upstream's orchestrator core
//! (`noetl-orchestrate-core`) and run through the host's plugins and backends.

pub mod check;
mod context;
mod core_view;
mod document;
mod drive;
mod events;
pub mod graph;
mod keychain;
mod render;
mod subplaybook;

pub use document::{Document, Step, Task};
pub use drive::{Progress, RunReport, Runner, StepReport};
pub use events::EventLog;
pub use render::StepRenderer;
pub use subplaybook::CatalogRoots;

/// The tool kind of a step that runs another playbook (the runner runs it, not a plugin).
pub const PLAYBOOK_KIND: &str = "playbook";
