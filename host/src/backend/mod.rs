//! Where planned jobs run. A backend takes the job bundle a tool plugin planned and runs it
//! to a terminal state. The same bundle runs unchanged on every backend.

use std::future::Future;
use std::pin::Pin;

pub mod kubernetes;
pub mod local;

/// Receives log lines of a running job.
pub type LogSink = dyn Fn(&str) + Send + Sync;

pub type BackendFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<JobOutcome>> + Send + 'a>>;

/// A place where planned jobs run to a terminal state.
pub trait Backend: Send + Sync {
    /// `local` or `kubernetes`, for messages.
    fn name(&self) -> &'static str;

    /// Run `bundle` until the job completes, fails, times out or cannot start. An `Err` is
    /// a problem of the backend itself (cluster unreachable, sandbox unavailable), not of
    /// the job: a failing script is an `Ok` outcome with status `Failed`. Backends that can
    /// stream the job's log while it runs pass each line to `on_log`.
    fn run<'a>(&'a self, bundle: &'a JobBundle, on_log: &'a LogSink) -> BackendFuture<'a>;
}

pub use noetl_protocol::{JobBundle, JobOutcome, JobStatus, Manifest, conventions};
