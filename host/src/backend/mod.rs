//! Where planned jobs run. A backend takes the job bundle a tool plugin planned and runs it
//! to a terminal state. The same bundle runs unchanged on every backend.

use std::future::Future;
use std::pin::Pin;

pub mod kubernetes;
pub mod local;

/// Receives log lines of a running job.
pub type LogSink = dyn Fn(&str) + Send + Sync;

pub type BackendFuture<'a, T = JobOutcome> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// A job created by [`Backend::submit`] that nobody waits for yet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobRef {
    pub job_name: String,
    pub namespace: String,
    pub uid: String,
    /// The backend it runs on (`kubernetes`).
    pub backend: String,
}

/// A place where planned jobs run to a terminal state.
pub trait Backend: Send + Sync {
    /// `local` or `kubernetes`, for messages.
    fn name(&self) -> &'static str;

    /// Run `bundle` until the job completes, fails, times out or cannot start. An `Err` is
    /// a problem of the backend itself (cluster unreachable, sandbox unavailable), not of
    /// the job: a failing script is an `Ok` outcome with status `Failed`. Backends that can
    /// stream the job's log while it runs pass each line to `on_log`.
    fn run<'a>(&'a self, bundle: &'a JobBundle, on_log: &'a LogSink) -> BackendFuture<'a>;

    /// Create `bundle` and return at once (or return the job an earlier call created for
    /// the same execution and step). Only a backend whose jobs outlive this process can;
    /// the default refuses.
    fn submit<'a>(&'a self, _bundle: &'a JobBundle) -> BackendFuture<'a, JobRef> {
        Box::pin(std::future::ready(Err(detached_unsupported(self.name()))))
    }

    /// Wait for the job an earlier [`Backend::submit`] created for `bundle`'s execution and
    /// step, found by its labels; `Ok(None)` when there is none. Never creates a job.
    fn resume<'a>(&'a self, _bundle: &'a JobBundle, _on_log: &'a LogSink) -> BackendFuture<'a, Option<JobOutcome>> {
        Box::pin(std::future::ready(Err(detached_unsupported(self.name()))))
    }
}

fn detached_unsupported(backend: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {backend} backend cannot run a job detached from the call that started it (its jobs are \
         children of this process and end with it); wait for the job in the same call, or use the \
         kubernetes backend"
    )
}

pub use noetl_protocol::{JobBundle, JobOutcome, JobStatus, Manifest, conventions};
