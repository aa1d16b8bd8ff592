//! The WASM component: converts between the SDK's WIT types and the native API, and wires
//! the host's `files` and `fetch` capabilities in as [`ScriptSources`].

use noetl_plugin_sdk::{
    self as sdk, CapabilityError, Context, PlanResult, Tool, ToolError, ToolInfo, Value, capability,
};

use crate::{JobOutcome, JobStatus, PlanContext, PlanError, ScriptSources, SourceError};

struct ScriptTool;

impl Tool for ScriptTool {
    fn describe() -> ToolInfo {
        ToolInfo::new(
            "script",
            env!("CARGO_PKG_VERSION"),
            "Runs a Python, Node or shell script in a Kubernetes Job",
        )
        .with_schema(crate::config_schema())
    }

    fn plan(config: Value, context: &Context) -> Result<PlanResult, ToolError> {
        let bundle = crate::plan(
            &config,
            &PlanContext::from_json(context.raw()),
            &HostSources,
        )
        .map_err(tool_error)?;
        Ok(PlanResult::RunJob(sdk::JobBundle {
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
        }))
    }

    fn finish(
        config: Value,
        context: &Context,
        outcome: sdk::JobOutcome,
    ) -> Result<Value, ToolError> {
        Ok(crate::finish(
            &config,
            &PlanContext::from_json(context.raw()),
            &outcome_from_wit(outcome),
        ))
    }
}

sdk::export_tool!(ScriptTool);

struct HostSources;

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

fn tool_error(error: PlanError) -> ToolError {
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

fn outcome_from_wit(outcome: sdk::JobOutcome) -> JobOutcome {
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
