//! Conversions between WIT types and the host's backend types.

use crate::backend::{JobBundle, JobOutcome, JobStatus, Manifest};
use crate::bindings::types as wit;

/// Bytes of JSON a `plan` result carries (for the response-size limit).
pub(super) fn plan_size(planned: &Result<wit::PlanResult, wit::ToolError>) -> usize {
    match planned {
        Ok(wit::PlanResult::Done(json)) => json.len(),
        Ok(wit::PlanResult::RunJob(bundle)) => bundle.manifests.iter().map(|m| m.body.len()).sum(),
        Err(_) => 0,
    }
}

pub fn outcome_to_wit(outcome: &JobOutcome) -> wit::JobOutcome {
    wit::JobOutcome {
        status: match outcome.status {
            JobStatus::Completed => wit::JobStatus::Completed,
            JobStatus::Failed => wit::JobStatus::Failed,
            JobStatus::Timeout => wit::JobStatus::Timeout,
            JobStatus::StartFailed => wit::JobStatus::StartFailed,
        },
        job_name: outcome.job_name.clone(),
        namespace: outcome.namespace.clone(),
        pod_name: outcome.pod_name.clone(),
        execution_seconds: outcome.execution_seconds,
        succeeded: outcome.succeeded,
        failed: outcome.failed,
        exit_code: outcome.exit_code,
        reason: outcome.reason.clone(),
        message: outcome.message.clone(),
        output: outcome.output.clone(),
        stderr: outcome.stderr.clone(),
        output_truncated: outcome.output_truncated,
    }
}

/// A planned bundle as host types; a manifest body that is not JSON is the plugin's bug.
pub fn bundle_from_wit(bundle: wit::JobBundle) -> Result<JobBundle, String> {
    let manifests = bundle
        .manifests
        .into_iter()
        .map(|m| {
            let body = serde_json::from_str(&m.body).map_err(|e| format!("manifest {} {} is not JSON: {e}", m.kind, m.name))?;
            Ok(Manifest { kind: m.kind, name: m.name, body })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(JobBundle { namespace: bundle.namespace, job_name: bundle.job_name, manifests, timeout_seconds: bundle.timeout_seconds })
}
