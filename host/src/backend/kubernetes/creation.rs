//! A Job that still has no pod well after it was created: the Job controller could not
//! create one (a ResourceQuota, an admission webhook, a PodSecurity level, a missing
//! ServiceAccount). The reason is only in the Job's `FailedCreate` events, which the shared
//! watches do not carry; they are read on demand, at most once per grace period and only
//! for such Jobs, so a healthy job never pays a request for it.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, ListParams};

/// Never ask more often than this, whatever the grace period (tests use 2 s).
const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// When a pod-less Job's events are due to be read.
pub struct CreationCheck {
    grace: SignedDuration,
    interval: SignedDuration,
    next_at: Option<Timestamp>,
}

impl CreationCheck {
    pub fn new(grace: Duration) -> Self {
        let signed = |d: Duration| SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
        Self { grace: signed(grace), interval: signed(grace.max(MIN_INTERVAL)), next_at: None }
    }

    /// `Ok(next)`: read the events now, and again at `next` (one interval later) if the
    /// Job still has no pod; `Err(at)`: not before `at`. The first read is one grace period
    /// after the Job was created: the controller usually creates the pod within milliseconds.
    pub fn due(&mut self, job: &Job, now: Timestamp) -> Result<Timestamp, Timestamp> {
        let first = job
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, |t| t.0.saturating_add(self.grace).unwrap_or(Timestamp::MAX));
        let at = self.next_at.unwrap_or(first);
        if at > now {
            return Err(at);
        }
        let next = now.saturating_add(self.interval).unwrap_or(Timestamp::MAX);
        self.next_at = Some(next);
        Ok(next)
    }
}

/// The message of the newest `FailedCreate` event of the Job with `job_uid`, if any. An API
/// error is logged and treated as "no event": the job then runs into its timeout as before.
pub async fn failed_create(client: &Client, namespace: &str, job_uid: &str) -> Option<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().fields(&format!("involvedObject.uid={job_uid},reason=FailedCreate"));
    match events.list(&params).await {
        Ok(list) => newest_message(&list.items),
        Err(err) => {
            tracing::warn!(
                namespace,
                error = %err,
                "could not read the events of a Job that has no pod (the host needs `list` on \
                 `events` to report why; examples/rbac.yaml has the rule)"
            );
            None
        }
    }
}

fn newest_message(events: &[Event]) -> Option<String> {
    let seen = |e: &Event| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
            .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
    };
    events.iter().max_by_key(|e| seen(e)).and_then(|e| e.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn job_created(at: &str) -> Job {
        serde_json::from_value(json!({"metadata": {"name": "j", "creationTimestamp": at}})).unwrap()
    }

    #[test]
    fn first_read_one_grace_period_after_creation_then_once_per_interval() {
        let job = job_created("2026-01-01T00:00:00Z");
        let mut check = CreationCheck::new(Duration::from_secs(30));
        assert_eq!(check.due(&job, ts("2026-01-01T00:00:10Z")), Err(ts("2026-01-01T00:00:30Z")));
        assert_eq!(check.due(&job, ts("2026-01-01T00:00:30Z")), Ok(ts("2026-01-01T00:01:00Z")));
        assert_eq!(check.due(&job, ts("2026-01-01T00:00:31Z")), Err(ts("2026-01-01T00:01:00Z")));
        assert_eq!(check.due(&job, ts("2026-01-01T00:01:00Z")), Ok(ts("2026-01-01T00:01:30Z")));
    }

    #[test]
    fn short_grace_still_reads_at_most_every_five_seconds() {
        let job = job_created("2026-01-01T00:00:00Z");
        let mut check = CreationCheck::new(Duration::from_secs(2));
        assert_eq!(check.due(&job, ts("2026-01-01T00:00:02Z")), Ok(ts("2026-01-01T00:00:07Z")));
        assert_eq!(check.due(&job, ts("2026-01-01T00:00:03Z")), Err(ts("2026-01-01T00:00:07Z")));
    }

    #[test]
    fn the_newest_event_explains() {
        let event = |at: &str, message: &str| -> Event {
            serde_json::from_value(json!({"metadata": {"name": at}, "involvedObject": {},
                "lastTimestamp": at, "message": message}))
            .unwrap()
        };
        let events = [
            event("2026-01-01T00:00:05Z", "newer"),
            event("2026-01-01T00:00:01Z", "older"),
        ];
        assert_eq!(newest_message(&events).as_deref(), Some("newer"));
        assert_eq!(newest_message(&[]), None);
    }
}
