//! Conversions between the SDK's WIT types and this crate's native API, for every tool
//! component built on this crate (script, python, shell): the host's `files` and `fetch`
//! capabilities as [`ScriptSources`], plan errors, job bundles and outcomes.

/// The SDK, for [`crate::job_tool!`]'s expansion in the tools' crates.
pub use noetl_plugin_sdk as sdk;
use noetl_plugin_sdk::{CapabilityError, ToolError, capability};

use crate::{JobBundle, JobOutcome, JobStatus, PlanError, ScriptSources, SourceError};

/// Reads scripts through the host: files next to the playbook, and fetched URLs.
pub struct HostSources;

impl ScriptSources for HostSources {
    fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        capability::read_file(path, max_bytes).map_err(source_error)
    }
    fn fetch(&self, uri: &str, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        capability::fetch(uri, max_bytes)
            .map(|fetched| fetched.body)
            .map_err(source_error)
    }
}

fn source_error(error: CapabilityError) -> SourceError {
    match error {
        CapabilityError::Denied(m) => SourceError::Denied(m),
        CapabilityError::NotConfigured(m) => SourceError::NotConfigured(m),
        CapabilityError::NotFound(m) => SourceError::NotFound(m),
        CapabilityError::TooLarge(m) => SourceError::TooLarge(m),
        CapabilityError::Failed(m) => SourceError::Failed(m),
    }
}

pub fn tool_error(error: PlanError) -> ToolError {
    match error {
        PlanError::InvalidConfig(errors) => ToolError::InvalidConfig(
            errors
                .into_iter()
                .map(|e| sdk::FieldError::new(e.field, e.message, e.fix))
                .collect(),
        ),
        PlanError::Capability(error) => ToolError::Capability(match error {
            SourceError::Denied(m) => CapabilityError::Denied(m),
            SourceError::NotConfigured(m) => CapabilityError::NotConfigured(m),
            SourceError::NotFound(m) => CapabilityError::NotFound(m),
            SourceError::TooLarge(m) => CapabilityError::TooLarge(m),
            SourceError::Failed(m) => CapabilityError::Failed(m),
        }),
    }
}

/// The planned bundle as the `run-job` plan result.
pub fn run_job(bundle: JobBundle) -> sdk::PlanResult {
    sdk::PlanResult::RunJob(sdk::JobBundle {
        namespace: bundle.namespace,
        job_name: bundle.job_name,
        manifests: bundle
            .manifests
            .into_iter()
            .map(|m| sdk::Manifest {
                kind: m.kind,
                name: m.name,
                body: sdk::to_json_text(&m.body),
            })
            .collect(),
        timeout_seconds: bundle.timeout_seconds,
    })
}

pub fn outcome_from_wit(outcome: sdk::JobOutcome) -> JobOutcome {
    JobOutcome {
        status: match outcome.status {
            sdk::JobStatus::Completed => JobStatus::Completed,
            sdk::JobStatus::Failed => JobStatus::Failed,
            sdk::JobStatus::Timeout => JobStatus::Timeout,
            sdk::JobStatus::StartFailed => JobStatus::StartFailed,
        },
        job_name: outcome.job_name,
        namespace: outcome.namespace,
        pod_name: outcome.pod_name,
        execution_seconds: outcome.execution_seconds,
        succeeded: outcome.succeeded,
        failed: outcome.failed,
        exit_code: outcome.exit_code,
        reason: outcome.reason,
        message: outcome.message,
        output: outcome.output,
        stderr: outcome.stderr,
        output_truncated: outcome.output_truncated,
    }
}

/// Exports a tool built on this crate as the component's handler: `describe` from its
/// name, summary and config schema; `plan` and `finish` through its native functions (given
/// as closures without captures), with the conversions above. The glue of script, python
/// and shell, in one place.
#[macro_export]
macro_rules! job_tool {
    ($tool:ident {
        name: $name:expr,
        summary: $summary:expr,
        schema: $schema:expr,
        plan: $plan:expr,
        finish: $finish:expr $(,)?
    }) => {
        struct $tool;

        impl $crate::guest::sdk::Tool for $tool {
            fn describe() -> $crate::guest::sdk::ToolInfo {
                $crate::guest::sdk::ToolInfo::new($name, env!("CARGO_PKG_VERSION"), $summary)
                    .with_schema($schema)
            }

            fn plan(
                config: $crate::guest::sdk::Value,
                context: &$crate::guest::sdk::Context,
            ) -> Result<$crate::guest::sdk::PlanResult, $crate::guest::sdk::ToolError> {
                let plan: fn(
                    &$crate::guest::sdk::Value,
                    &$crate::PlanContext,
                ) -> Result<$crate::JobBundle, $crate::PlanError> = $plan;
                plan(&config, &$crate::PlanContext::from_json(context.raw()))
                    .map($crate::guest::run_job)
                    .map_err($crate::guest::tool_error)
            }

            fn finish(
                config: $crate::guest::sdk::Value,
                context: &$crate::guest::sdk::Context,
                outcome: $crate::guest::sdk::JobOutcome,
            ) -> Result<$crate::guest::sdk::Value, $crate::guest::sdk::ToolError> {
                let finish: fn(
                    &$crate::guest::sdk::Value,
                    &$crate::PlanContext,
                    &$crate::JobOutcome,
                ) -> $crate::guest::sdk::Value = $finish;
                Ok(finish(
                    &config,
                    &$crate::PlanContext::from_json(context.raw()),
                    &$crate::guest::outcome_from_wit(outcome),
                ))
            }
        }

        $crate::guest::sdk::export_tool!($tool);
    };
}
