//! NoETL playbooks: the step model, template rendering of steps, and a sequential runner.

mod model;
mod render;
mod runner;

pub use model::{Playbook, Step};
pub use render::StepRenderer;
pub use runner::{Progress, RunReport, Runner, StepReport};
