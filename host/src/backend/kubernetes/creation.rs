//! A Job that still has no pod well after it was created: the Job controller could not
//! create one (a ResourceQuota, an admission webhook, a PodSecurity level, a missing
//! ServiceAccount). The reason is only in the Job's `FailedCreate` events, which the shared
//! watches do not carry; they are read on demand, only while some Job is in that state, at
//! most once per namespace per interval, so a healthy job never pays a request for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The namespaces' `FailedCreate` events, listed at most once per namespace per
/// [`MIN_INTERVAL`] and shared by every waiting job of the backend: when hundreds of Jobs
/// wait for a throttled Job controller past the grace period, one list answers them all
/// instead of one request per Job.
pub struct FailedCreateEvents {
    client: Client,
    lists: tokio::sync::Mutex<HashMap<String, (Instant, Arc<Vec<Event>>)>>,
}

impl FailedCreateEvents {
    pub fn new(client: Client) -> Self {
        Self { client, lists: tokio::sync::Mutex::default() }
    }

    /// The message of the newest `FailedCreate` event of the Job with `job_uid`, if any.
    pub async fn message_for(&self, namespace: &str, job_uid: &str) -> Option<String> {
        let events = self.recent(namespace).await;
        newest_message(events.iter().filter(|e| e.involved_object.uid.as_deref() == Some(job_uid)))
    }

    /// The namespace's list, fetched again when older than the interval. The lock is held
    /// across the request so that waiters arriving together share one list. An API error is
    /// logged and counts as "no event" (the job then runs into its timeout as before); it is
    /// cached like a list, so a forbidden read is not retried by every waiter.
    async fn recent(&self, namespace: &str) -> Arc<Vec<Event>> {
        let mut lists = self.lists.lock().await;
        if let Some((at, events)) = lists.get(namespace)
            && at.elapsed() < MIN_INTERVAL
        {
            return events.clone();
        }
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let params = ListParams::default().fields("involvedObject.kind=Job,reason=FailedCreate");
        let events = match api.list(&params).await {
            Ok(list) => list.items,
            Err(err) => {
                tracing::warn!(
                    namespace,
                    error = %err,
                    "could not read the events of Jobs that have no pod (the host needs `list` on \
                     `events` to report why; examples/rbac.yaml has the rule)"
                );
                Vec::new()
            }
        };
        let events = Arc::new(events);
        lists.insert(namespace.to_string(), (Instant::now(), events.clone()));
        events
    }
}

fn newest_message<'a>(events: impl Iterator<Item = &'a Event>) -> Option<String> {
    let seen = |e: &Event| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
            .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
    };
    events.max_by_key(|e| seen(e)).and_then(|e| e.message.clone())
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
        assert_eq!(newest_message(events.iter()).as_deref(), Some("newer"));
        assert_eq!(newest_message([].iter()), None);
    }
}
