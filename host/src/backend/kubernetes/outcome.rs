//! Deciding from a Job and its pods whether the job has ended and how. Pure functions of
//! the observed objects and the current time, so every rule is testable without a cluster.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::backend::conventions::{INSTALL_CONTAINER, REASON_INSTALL_FAILED, SCRIPT_CONTAINER};
use crate::backend::{JobOutcome, JobStatus};

/// Waiting reasons that can never resolve by themselves: reported at once.
const HOPELESS_WAITING: &[&str] = &["InvalidImageName"];
/// Waiting reasons that may resolve (a registry hiccup, a Secret created a moment later):
/// reported only after the grace period.
const STUCK_WAITING: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// What the observed state means for a job still being watched.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The job ended. `output` is empty: logs are gathered separately.
    Ended(JobOutcome),
    /// Still running or retrying. When a pod is stuck in a state that becomes a start
    /// failure once the grace period runs out, `recheck_at` says when to look again even
    /// if no event arrives by then.
    Running { recheck_at: Option<Timestamp> },
}

/// The newest pod (latest creation time; name breaks ties): the one whose exit code, reason
/// and log describe the job, because earlier pods were retries Kubernetes gave up on.
pub fn newest_pod<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Option<&'a Pod> {
    pods.into_iter().max_by(|a, b| {
        let key = |p: &'a Pod| {
            (
                p.metadata.creation_timestamp.as_ref().map(|t| t.0),
                p.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    })
}

/// Judges a Job from its status and its pods' statuses at time `now`.
///
/// Only a terminal Job condition (Complete or Failed) ends a job that runs: a failed pod
/// while Kubernetes still retries does not. A pod that cannot start ends it early with
/// `StartFailed` (InvalidImageName at once, pull/config/scheduling problems after `grace`).
pub fn assess(job: &Job, pods: &[&Pod], now: Timestamp, grace: Duration) -> Verdict {
    let newest = newest_pod(pods.iter().copied());
    if let Some(ended) = terminal_condition(job) {
        return Verdict::Ended(ended_outcome(job, newest, ended));
    }
    let Some(pod) = newest else {
        return Verdict::Running { recheck_at: None };
    };
    match start_problem(pod) {
        None => Verdict::Running { recheck_at: None },
        Some(problem) => {
            let grace = SignedDuration::try_from(grace).unwrap_or(SignedDuration::MAX);
            let give_up_at = problem
                .since
                .map(|t| t.saturating_add(grace).unwrap_or(Timestamp::MAX));
            let expired = problem.immediate || give_up_at.is_none_or(|at| at <= now);
            if expired {
                let mut outcome = base_outcome(job, Some(pod), JobStatus::StartFailed);
                outcome.execution_seconds = seconds_between(job_start(job), Some(now));
                outcome.reason = Some(problem.reason);
                outcome.message = problem.message;
                Verdict::Ended(outcome)
            } else {
                Verdict::Running {
                    recheck_at: give_up_at,
                }
            }
        }
    }
}

/// Reason reported when the Job controller could not create a pod (the event's reason).
pub const REASON_FAILED_CREATE: &str = "FailedCreate";

/// The outcome of a Job whose pod the Job controller could not create; `message` is the
/// controller's `FailedCreate` event (for example a ResourceQuota refusal).
pub fn pod_creation_failed(job: &Job, message: &str, now: Timestamp) -> JobOutcome {
    let mut outcome = base_outcome(job, None, JobStatus::StartFailed);
    let created = job.metadata.creation_timestamp.as_ref().map(|t| t.0);
    outcome.execution_seconds = seconds_between(job_start(job).or(created), Some(now));
    outcome.reason = Some(REASON_FAILED_CREATE.to_string());
    outcome.message = Some(format!("the Job controller could not create a pod: {message}"));
    outcome
}

/// How a Job ended according to its conditions.
struct Terminal {
    completed: bool,
    reason: Option<String>,
    message: Option<String>,
    at: Option<Timestamp>,
}

fn terminal_condition(job: &Job) -> Option<Terminal> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find(|c| c.type_ == "Complete" || c.type_ == "Failed")
        .map(|c| Terminal {
            completed: c.type_ == "Complete",
            reason: c.reason.clone().filter(|r| !r.is_empty()),
            message: c.message.clone().filter(|m| !m.is_empty()),
            at: c.last_transition_time.as_ref().map(|t| t.0),
        })
}

fn ended_outcome(job: &Job, newest: Option<&Pod>, ended: Terminal) -> JobOutcome {
    // The Job's `activeDeadlineSeconds` is the step's `timeout`: Kubernetes failing the Job
    // for it is the step timing out (the host's own deadline is only a later backstop).
    let status = match (ended.completed, ended.reason.as_deref()) {
        (true, _) => JobStatus::Completed,
        (false, Some("DeadlineExceeded")) => JobStatus::Timeout,
        (false, _) => JobStatus::Failed,
    };
    let mut outcome = base_outcome(job, newest, status);
    let completion = job
        .status
        .as_ref()
        .and_then(|s| s.completion_time.as_ref())
        .map(|t| t.0);
    outcome.execution_seconds = seconds_between(job_start(job), completion.or(ended.at));

    let script = newest.and_then(|p| terminated(p, SCRIPT_CONTAINER, false));
    outcome.exit_code = script.map(|t| t.exit_code);
    if ended.completed {
        return outcome;
    }

    let failed_install = newest
        .and_then(|p| terminated(p, INSTALL_CONTAINER, true))
        .filter(|t| t.exit_code != 0);
    if let Some(install) = failed_install {
        // The step failed with the installer's code (the script never ran), as the local
        // backend reports it: a caller that checks `exit_code` sees the failure, and
        // `reason` says which process it came from.
        outcome.exit_code = Some(install.exit_code);
        outcome.reason = Some(REASON_INSTALL_FAILED.to_string());
        outcome.message = Some(join_message(
            format!(
                "dependency install (container {INSTALL_CONTAINER}) exited with code {}",
                install.exit_code
            ),
            install.message.as_deref(),
        ));
        return outcome;
    }
    // A specific container reason (OOMKilled, ContainerCannotRun, ...) says more than the
    // Job's generic BackoffLimitExceeded; "Error" and "Completed" say nothing.
    let container_reason = script
        .and_then(|t| t.reason.clone())
        .filter(|r| r != "Error" && r != "Completed");
    outcome.reason = container_reason.clone().or(ended.reason.clone());
    outcome.message = match (container_reason, script) {
        (Some(reason), Some(t)) => Some(join_message(
            format!(
                "container {SCRIPT_CONTAINER} terminated: {reason} (exit code {})",
                t.exit_code
            ),
            ended.message.as_deref(),
        )),
        _ => ended.message,
    };
    outcome
}

fn join_message(head: String, tail: Option<&str>) -> String {
    match tail.map(str::trim).filter(|t| !t.is_empty()) {
        Some(tail) => format!("{head}; {tail}"),
        None => head,
    }
}

/// A pod problem that stops it from starting, and since when it has lasted.
struct StartProblem {
    reason: String,
    message: Option<String>,
    immediate: bool,
    since: Option<Timestamp>,
}

fn start_problem(pod: &Pod) -> Option<StartProblem> {
    let status = pod.status.as_ref()?;
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in containers {
        let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let Some(reason) = waiting.reason.as_deref() else {
            continue;
        };
        let immediate = HOPELESS_WAITING.contains(&reason);
        if immediate || STUCK_WAITING.contains(&reason) {
            let message = waiting.message.clone().filter(|m| !m.is_empty());
            return Some(StartProblem {
                reason: reason.to_string(),
                message: Some(join_message(
                    format!("container {}", container.name),
                    message.as_deref(),
                )),
                immediate,
                since: created,
            });
        }
    }
    let unschedulable = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    })?;
    Some(StartProblem {
        reason: "Unschedulable".to_string(),
        message: unschedulable.message.clone().filter(|m| !m.is_empty()),
        immediate: false,
        since: unschedulable
            .last_transition_time
            .as_ref()
            .map(|t| t.0)
            .or(created),
    })
}

/// The terminated state of a container (or init container), current or previous.
fn terminated<'a>(pod: &'a Pod, name: &str, init: bool) -> Option<&'a ContainerStateTerminated> {
    let status = pod.status.as_ref()?;
    let list: &Option<Vec<ContainerStatus>> = if init {
        &status.init_container_statuses
    } else {
        &status.container_statuses
    };
    let container = list.iter().flatten().find(|c| c.name == name)?;
    container
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .or_else(|| {
            container
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
        })
}

/// True once the main container has started or finished, i.e. its log can be read.
pub fn script_log_available(pod: &Pod) -> bool {
    script_state(pod).is_some_and(|s| s.running.is_some() || s.terminated.is_some())
}

/// True once the main container has terminated: its log stream will not grow any more.
pub fn script_terminated(pod: &Pod) -> bool {
    script_state(pod).is_some_and(|s| s.terminated.is_some())
}

fn script_state(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerState> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses
        .iter()
        .find(|c| c.name == SCRIPT_CONTAINER)?
        .state
        .as_ref()
}

fn job_start(job: &Job) -> Option<Timestamp> {
    job.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .or(job.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

fn seconds_between(start: Option<Timestamp>, end: Option<Timestamp>) -> f64 {
    match (start, end) {
        (Some(start), Some(end)) => end.duration_since(start).as_secs_f64().max(0.0),
        _ => 0.0,
    }
}

/// The outcome fields every ending shares: names, counts and the newest pod.
pub fn base_outcome(job: &Job, newest: Option<&Pod>, status: JobStatus) -> JobOutcome {
    let counts = job.status.as_ref();
    let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    JobOutcome {
        status,
        job_name: job.metadata.name.clone().unwrap_or_default(),
        namespace: job.metadata.namespace.clone().unwrap_or_default(),
        pod_name: newest.and_then(|p| p.metadata.name.clone()),
        execution_seconds: 0.0,
        succeeded: count(counts.and_then(|s| s.succeeded)),
        failed: count(counts.and_then(|s| s.failed)),
        exit_code: None,
        reason: None,
        message: None,
        output: String::new(),
        stderr: None,
        output_truncated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GRACE: Duration = Duration::from_secs(30);

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn job(status: serde_json::Value) -> Job {
        serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "noetl-script-e1-abcde", "namespace": "noetl", "uid": "job-uid",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": status,
        }))
        .unwrap()
    }

    fn running_job() -> Job {
        job(json!({"startTime": "2026-01-01T00:00:00Z", "active": 1}))
    }

    fn pod(name: &str, created: &str, status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "noetl", "creationTimestamp": created},
            "status": status,
        }))
        .unwrap()
    }

    fn terminated_script(exit: i32, reason: &str) -> serde_json::Value {
        json!({"containerStatuses": [{"name": "script", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit, "reason": reason}}}]})
    }

    fn failed_job(reason: &str, message: &str) -> Job {
        job(
            json!({"startTime": "2026-01-01T00:00:00Z", "failed": 4, "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": reason},
            {"type": "Failed", "status": "True", "reason": reason, "message": message,
             "lastTransitionTime": "2026-01-01T00:01:00Z"}]}),
        )
    }

    fn ended(verdict: Verdict) -> JobOutcome {
        match verdict {
            Verdict::Ended(outcome) => outcome,
            other => panic!("expected an ending, got {other:?}"),
        }
    }

    #[test]
    fn completed_job_reports_exit_zero_and_duration() {
        let job = job(
            json!({"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:45Z",
            "succeeded": 1, "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        );
        let p = pod(
            "p1",
            "2026-01-01T00:00:01Z",
            terminated_script(0, "Completed"),
        );
        let out = ended(assess(&job, &[&p], ts("2026-01-01T00:01:00Z"), GRACE));
        assert_eq!(out.status, JobStatus::Completed);
        assert_eq!((out.succeeded, out.failed, out.exit_code), (1, 0, Some(0)));
        assert_eq!(out.pod_name.as_deref(), Some("p1"));
        assert_eq!(out.execution_seconds, 45.0);
        assert_eq!(out.reason, None);
    }

    #[test]
    fn failed_job_reads_the_newest_pods_real_exit_code() {
        let job = failed_job(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        );
        let old = pod(
            "p-old",
            "2026-01-01T00:00:01Z",
            terminated_script(1, "Error"),
        );
        let new = pod(
            "p-new",
            "2026-01-01T00:00:30Z",
            terminated_script(3, "Error"),
        );
        let out = ended(assess(
            &job,
            &[&new, &old],
            ts("2026-01-01T00:02:00Z"),
            GRACE,
        ));
        assert_eq!(out.status, JobStatus::Failed);
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.pod_name.as_deref(), Some("p-new"));
        assert_eq!(out.failed, 4);
        assert_eq!(out.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(
            out.message.as_deref(),
            Some("Job has reached the specified backoff limit")
        );
        assert_eq!(out.execution_seconds, 60.0);
    }

    #[test]
    fn a_job_past_its_active_deadline_timed_out() {
        let job = failed_job(
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        );
        let p = pod(
            "p1",
            "2026-01-01T00:00:01Z",
            terminated_script(143, "Error"),
        );
        let out = ended(assess(&job, &[&p], ts("2026-01-01T00:02:00Z"), GRACE));
        assert_eq!(out.status, JobStatus::Timeout);
        assert_eq!(out.reason.as_deref(), Some("DeadlineExceeded"));
    }

    #[test]
    fn a_failed_pod_while_kubernetes_retries_does_not_end_the_job() {
        let job = job(json!({"startTime": "2026-01-01T00:00:00Z", "failed": 1, "active": 1}));
        let p = pod("p1", "2026-01-01T00:00:01Z", terminated_script(3, "Error"));
        assert_eq!(
            assess(&job, &[&p], ts("2026-01-01T01:00:00Z"), GRACE),
            Verdict::Running { recheck_at: None }
        );
    }

    #[test]
    fn oom_killed_is_the_reason_with_exit_137() {
        let job = failed_job(
            "PodFailurePolicy",
            "Container script for pod noetl/p1 failed with exit code 137",
        );
        let p = pod(
            "p1",
            "2026-01-01T00:00:01Z",
            terminated_script(137, "OOMKilled"),
        );
        let out = ended(assess(&job, &[&p], ts("2026-01-01T00:02:00Z"), GRACE));
        assert_eq!(out.reason.as_deref(), Some("OOMKilled"));
        assert_eq!(out.exit_code, Some(137));
        assert!(
            out.message
                .unwrap()
                .starts_with("container script terminated: OOMKilled (exit code 137)")
        );
    }

    #[test]
    fn failed_dependency_install_is_reported_as_such() {
        let job = failed_job(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        );
        let p = pod(
            "p1",
            "2026-01-01T00:00:01Z",
            json!({
            "initContainerStatuses": [{"name": "install-dependencies", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}],
            "containerStatuses": [{"name": "script", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        );
        let out = ended(assess(&job, &[&p], ts("2026-01-01T00:02:00Z"), GRACE));
        assert_eq!(out.status, JobStatus::Failed);
        assert_eq!(out.reason.as_deref(), Some("DependencyInstallFailed"));
        assert_eq!(out.exit_code, Some(1), "the installer's code: the main container never ran");
        assert!(
            out.message
                .unwrap()
                .contains("install-dependencies) exited with code 1")
        );
    }

    fn waiting_pod(reason: &str, message: &str) -> Pod {
        pod(
            "p1",
            "2026-01-01T00:00:00Z",
            json!({"containerStatuses": [{"name": "script", "image": "i", "imageID": "",
            "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}}]}),
        )
    }

    #[test]
    fn image_pull_backoff_fails_only_after_the_grace_period() {
        let p = waiting_pod("ImagePullBackOff", "Back-off pulling image \"nope:1\"");
        let early = assess(&running_job(), &[&p], ts("2026-01-01T00:00:10Z"), GRACE);
        assert_eq!(
            early,
            Verdict::Running {
                recheck_at: Some(ts("2026-01-01T00:00:30Z"))
            }
        );
        let out = ended(assess(
            &running_job(),
            &[&p],
            ts("2026-01-01T00:00:30Z"),
            GRACE,
        ));
        assert_eq!(out.status, JobStatus::StartFailed);
        assert_eq!(out.reason.as_deref(), Some("ImagePullBackOff"));
        assert_eq!(
            out.message.as_deref(),
            Some("container script; Back-off pulling image \"nope:1\"")
        );
        assert_eq!(out.exit_code, None);
    }

    #[test]
    fn invalid_image_name_fails_at_once() {
        let p = waiting_pod(
            "InvalidImageName",
            "Failed to apply default image tag \"UPPER::bad\"",
        );
        let out = ended(assess(
            &running_job(),
            &[&p],
            ts("2026-01-01T00:00:01Z"),
            GRACE,
        ));
        assert_eq!(out.status, JobStatus::StartFailed);
        assert_eq!(out.reason.as_deref(), Some("InvalidImageName"));
    }

    #[test]
    fn init_container_image_pull_counts_too() {
        let p = pod(
            "p1",
            "2026-01-01T00:00:00Z",
            json!({"initContainerStatuses": [{"name": "install-dependencies",
            "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}]}),
        );
        let out = ended(assess(
            &running_job(),
            &[&p],
            ts("2026-01-01T00:05:00Z"),
            GRACE,
        ));
        assert_eq!(out.reason.as_deref(), Some("ErrImagePull"));
    }

    #[test]
    fn unschedulable_pod_fails_after_grace_with_the_scheduler_message() {
        let p = pod(
            "p1",
            "2026-01-01T00:00:00Z",
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "lastTransitionTime": "2026-01-01T00:00:02Z",
            "message": "0/3 nodes are available: 3 Insufficient memory."}]}),
        );
        assert_eq!(
            assess(&running_job(), &[&p], ts("2026-01-01T00:00:05Z"), GRACE),
            Verdict::Running {
                recheck_at: Some(ts("2026-01-01T00:00:32Z"))
            }
        );
        let out = ended(assess(
            &running_job(),
            &[&p],
            ts("2026-01-01T00:00:32Z"),
            GRACE,
        ));
        assert_eq!(out.status, JobStatus::StartFailed);
        assert_eq!(out.reason.as_deref(), Some("Unschedulable"));
        assert_eq!(
            out.message.as_deref(),
            Some("0/3 nodes are available: 3 Insufficient memory.")
        );
    }

    #[test]
    fn pod_creation_failure_is_a_start_failure_with_the_event_message() {
        let job: Job = serde_json::from_value(json!({"metadata": {"name": "j", "creationTimestamp": "2026-01-01T00:00:00Z"}})).unwrap();
        let out = pod_creation_failed(&job, "pods \"x\" is forbidden: exceeded quota: q", ts("2026-01-01T00:00:30Z"));
        assert_eq!(out.status, JobStatus::StartFailed);
        assert_eq!(out.reason.as_deref(), Some("FailedCreate"));
        assert_eq!(
            out.message.as_deref(),
            Some("the Job controller could not create a pod: pods \"x\" is forbidden: exceeded quota: q")
        );
        assert_eq!((out.pod_name, out.exit_code, out.execution_seconds), (None, None, 30.0));
    }

    #[test]
    fn a_job_without_pods_keeps_running() {
        assert_eq!(
            assess(&running_job(), &[], ts("2026-01-01T00:10:00Z"), GRACE),
            Verdict::Running { recheck_at: None }
        );
    }
}
