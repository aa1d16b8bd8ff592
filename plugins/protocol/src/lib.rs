//! The data the host and tool plugins exchange, as plain Rust types (the WIT contract's
//! `job-bundle` and `job-outcome`, serialised the same way on both sides), and the names
//! the script plugin writes into pod specs and the backends read back. One crate, so the
//! two sides cannot drift: it builds for the host and for `wasm32-wasip2` guests alike.

pub mod did_you_mean;
pub mod fields;
pub mod names;

use serde::{Deserialize, Serialize};

/// One Kubernetes object of a job bundle (the WIT `manifest`, with a parsed body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub name: String,
    pub body: serde_json::Value,
}

/// A planned job: supporting objects first, the Job last (the WIT `job-bundle`). They carry
/// no ownerReference yet: the host adds it once the Job exists and has a uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobBundle {
    pub namespace: String,
    pub job_name: String,
    pub manifests: Vec<Manifest>,
    /// Host-side backstop in seconds: past it the job is stopped and reported `Timeout`.
    pub timeout_seconds: u32,
}

impl JobBundle {
    /// The Job manifest (the last one, by contract).
    pub fn job(&self) -> Option<&Manifest> {
        self.manifests.iter().rev().find(|m| m.kind == "Job")
    }

    /// A supporting object by kind and name.
    pub fn object(&self, kind: &str, name: &str) -> Option<&Manifest> {
        self.manifests
            .iter()
            .find(|m| m.kind == kind && m.name == name)
    }
}

/// How a job ended (mirror of the WIT `job-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Completed,
    Failed,
    Timeout,
    StartFailed,
}

/// What a backend observed (mirror of the WIT `job-outcome`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub status: JobStatus,
    pub job_name: String,
    pub namespace: String,
    pub pod_name: Option<String>,
    pub execution_seconds: f64,
    pub succeeded: u32,
    pub failed: u32,
    pub exit_code: Option<i32>,
    /// `OOMKilled`, `BackoffLimitExceeded`, `DeadlineExceeded`, `ImagePullBackOff`,
    /// `DependencyInstallFailed`, ...
    pub reason: Option<String>,
    pub message: Option<String>,
    pub output: String,
    pub stderr: Option<String>,
    pub output_truncated: bool,
}

/// Names shared by the script plugin (which builds pod specs) and the backends (which read
/// them back): one place, so the two sides cannot drift.
pub mod conventions {
    /// The main container of a script Job.
    pub const SCRIPT_CONTAINER: &str = "script";
    /// The init container that installs dependencies; its failure is `DependencyInstallFailed`.
    pub const INSTALL_CONTAINER: &str = "install-dependencies";
    /// Reason reported when the dependency install (not the script) failed.
    pub const REASON_INSTALL_FAILED: &str = "DependencyInstallFailed";
    /// The ConfigMap key holding the step's `args` as JSON text.
    pub const ARGS_KEY: &str = "args.json";
    /// The container env var the args reach argv through (`$(NOETL_ARGS)`).
    pub const ARGS_ENV: &str = "NOETL_ARGS";
    /// Labels on every object the host creates.
    pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const MANAGED_BY: &str = "noetl-host";
    pub const LABEL_EXECUTION_ID: &str = "noetl.io/execution-id";
    pub const LABEL_STEP: &str = "noetl.io/step";
    pub const LABEL_TOOL: &str = "noetl.io/tool";
    /// `noetl.io/tool` of script Jobs.
    pub const TOOL_SCRIPT: &str = "script";
}
