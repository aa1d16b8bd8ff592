//! Reading a step's untyped `tool` config with field errors: every bad field is collected
//! (path, what is wrong, the fix) so an author fixes them all in one round trip. Shared by
//! every built-in tool plugin, so all of them word and locate their errors the same way.

pub use crate::did_you_mean;
pub mod reader;

use serde::{Deserialize, Serialize};

/// One invalid field: its dotted path from the step (`tool.job.timeout`), what is wrong,
/// and what to write instead. Mirrors the WIT `field-error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub fix: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.message, self.fix)
    }
}

/// A value that failed a check, before it is tied to a field path: what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub fix: String,
}

impl Invalid {
    pub fn new(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// Collects field errors while a config is read, so all of them are reported together.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, field: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(FieldError::new(field, message, fix));
    }

    pub fn invalid(&mut self, field: &str, invalid: Invalid) {
        self.push(field, invalid.message, invalid.fix);
    }

    /// Record `result`'s error, if any, against `field`.
    pub fn check(&mut self, field: &str, result: Result<(), Invalid>) -> bool {
        match result {
            Ok(()) => true,
            Err(invalid) => {
                self.invalid(field, invalid);
                false
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}
