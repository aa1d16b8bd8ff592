//! Errors `plan` returns. Config problems are collected (every bad field at once) so a
//! playbook author fixes them in one round trip instead of one per run.

pub use noetl_protocol::fields::FieldError;
pub(crate) use noetl_protocol::fields::{Errors, Invalid};

/// Why a host capability (file read, fetch) could not deliver the script. Mirrors the WIT
/// `capability-error` so the component can hand it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    Denied(String),
    NotConfigured(String),
    NotFound(String),
    TooLarge(String),
    Failed(String),
}

/// Why `plan` produced no bundle. Nothing was created anywhere in either case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The step config is wrong; every bad field is listed.
    InvalidConfig(Vec<FieldError>),
    /// The host refused or failed to deliver the script (policy, network). Not the
    /// author's typo, so it is kept apart from config errors: the fix is in the host policy.
    Capability(SourceError),
}

impl PlanError {
    /// The field errors, or an empty slice for capability failures.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            PlanError::InvalidConfig(errors) => errors,
            PlanError::Capability(_) => &[],
        }
    }
}
