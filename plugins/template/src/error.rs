//! The error a failed render returns.

use std::fmt;

/// Why rendering failed: the dotted path of the string whose template failed (for example
/// `tool.job.env.API_KEY`, or `context` when the context itself is unusable) and a message
/// for a person, including the template line where minijinja reports one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub path: String,
    pub message: String,
}

impl RenderError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        RenderError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Wrap a minijinja error for the template at `path`. The template is named after its
    /// path, so minijinja's own "(in name:line)" suffix is replaced by the bare line.
    pub(crate) fn from_template(path: &str, error: &minijinja::Error, fuel_budget: u64) -> Self {
        let mut message = match error.kind() {
            minijinja::ErrorKind::OutOfFuel => format!(
                "the template ran out of fuel: rendering the whole config may use {fuel_budget} fuel \
                 (one per instruction and per 64 bytes of data created); a loop or an output this \
                 large does not belong in a step config, move the work into the script"
            ),
            kind => match error.detail() {
                Some(detail) => format!("{kind}: {detail}"),
                None => kind.to_string(),
            },
        };
        if let Some(line) = error.line() {
            message.push_str(&format!(" (template line {line})"));
        }
        // Errors raised inside macros and filters carry their cause as the source.
        let mut cause = std::error::Error::source(error);
        while let Some(inner) = cause {
            message.push_str(&format!("; caused by: {inner}"));
            cause = inner.source();
        }
        RenderError {
            path: path.to_string(),
            message,
        }
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for RenderError {}
